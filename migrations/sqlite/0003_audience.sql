-- The audience's side: questions (their text already redacted; the
-- original never reaches the disk), votes, who joined the live channel,
-- pulses and feedback. Everything the audience gave survives a restart.

CREATE TABLE questions (
    id                TEXT PRIMARY KEY,
    session_id        TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    -- The question's place in its session's own order (1, 2, ...).
    number            INTEGER NOT NULL,
    author_sub        TEXT NOT NULL,
    author_name       TEXT NOT NULL,
    text              TEXT NOT NULL,
    redactions        TEXT NOT NULL,
    -- JSON list in order of appearance; question_tags indexes them.
    tags              TEXT NOT NULL,
    flagged           INTEGER NOT NULL,
    -- pending (held by the "hold" policy) | published | rejected
    status            TEXT NOT NULL,
    votes             INTEGER NOT NULL DEFAULT 0,
    pinned            INTEGER NOT NULL DEFAULT 0,
    hidden            INTEGER NOT NULL DEFAULT 0,
    answer            TEXT,
    answer_redactions TEXT,
    answered_by       TEXT,
    answered_at       TEXT,
    created_at        TEXT NOT NULL,
    -- Bumped on every change, so a client can drop a stale event.
    version           INTEGER NOT NULL DEFAULT 1,
    UNIQUE (session_id, number)
);

CREATE TABLE question_tags (
    question_id TEXT NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
    tag         TEXT NOT NULL,
    PRIMARY KEY (question_id, tag)
);
CREATE INDEX question_tags_by_tag ON question_tags (tag);

CREATE TABLE question_votes (
    question_id TEXT NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
    sub         TEXT NOT NULL,
    PRIMARY KEY (question_id, sub)
);

-- Who opened the session's live channel (feedback is for those who did).
CREATE TABLE session_joins (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    sub        TEXT NOT NULL,
    first_at   TEXT NOT NULL,
    PRIMARY KEY (session_id, sub)
);

CREATE TABLE pulses (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    sub        TEXT NOT NULL,
    value      TEXT NOT NULL,
    at_ms      INTEGER NOT NULL
);
CREATE INDEX pulses_by_session ON pulses (session_id, at_ms);

CREATE TABLE feedback (
    session_id         TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    sub                TEXT NOT NULL,
    rating             INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment            TEXT,
    comment_redactions TEXT,
    created_at         TEXT NOT NULL,
    PRIMARY KEY (session_id, sub)
);

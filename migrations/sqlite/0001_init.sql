CREATE TABLE users (
    sub           TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    id               TEXT PRIMARY KEY,
    title            TEXT NOT NULL,
    procedure        TEXT NOT NULL,
    owner            TEXT NOT NULL,
    state            TEXT NOT NULL,
    delay_seconds    INTEGER NOT NULL,
    audience         TEXT NOT NULL,
    redaction_policy TEXT NOT NULL,
    curtain          INTEGER NOT NULL DEFAULT 0,
    consent          TEXT,
    created_at       TEXT NOT NULL,
    started_at       TEXT,
    ended_at         TEXT
);

CREATE TABLE session_moderators (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    sub        TEXT NOT NULL,
    PRIMARY KEY (session_id, sub)
);

CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);

CREATE TABLE revoked_subjects (
    sub    TEXT PRIMARY KEY,
    before INTEGER NOT NULL
);

CREATE TABLE invites (
    code_hash  TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    max_uses   INTEGER NOT NULL,
    uses       INTEGER NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL
);

CREATE TABLE updates (
    session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    id          TEXT NOT NULL UNIQUE,
    body        TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);

CREATE TABLE media (
    id           TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    file         TEXT NOT NULL,
    released     INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL
);

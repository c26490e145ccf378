-- PostgreSQL twin of migrations/sqlite: the same tables, columns and
-- meaning, so one SQL text (src/store/sql.rs) serves both. Integers are
-- BIGINT (the store binds i64), timestamps stay RFC 3339 text in the "C"
-- collation, so they order and compare byte-wise exactly as in SQLite.
CREATE TABLE users (
    sub           TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL
);

CREATE TABLE sessions (
    id               TEXT PRIMARY KEY,
    title            TEXT NOT NULL,
    procedure        TEXT NOT NULL,
    owner            TEXT NOT NULL,
    state            TEXT NOT NULL,
    delay_seconds    BIGINT NOT NULL,
    audience         TEXT NOT NULL,
    redaction_policy TEXT NOT NULL,
    curtain          BIGINT NOT NULL DEFAULT 0,
    consent          TEXT,
    created_at       TEXT COLLATE "C" NOT NULL,
    started_at       TEXT COLLATE "C",
    ended_at         TEXT COLLATE "C"
);

CREATE TABLE session_moderators (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    sub        TEXT NOT NULL,
    PRIMARY KEY (session_id, sub)
);

CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

CREATE TABLE revoked_subjects (
    sub    TEXT PRIMARY KEY,
    before BIGINT NOT NULL
);

CREATE TABLE invites (
    code_hash  TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL,
    max_uses   BIGINT NOT NULL,
    uses       BIGINT NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL
);

CREATE TABLE updates (
    session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    id          TEXT NOT NULL UNIQUE,
    body        TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);

CREATE TABLE media (
    id           TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    file         TEXT NOT NULL,
    released     BIGINT NOT NULL DEFAULT 0,
    created_at   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX media_by_session ON media (session_id);

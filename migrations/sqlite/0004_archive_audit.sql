-- The hash-chained audit log (no foreign key: a purged session keeps its
-- audit trail), its signed checkpoints, and what became of each session's
-- archive (kept per consent, purged at the end, by retention or by an admin).
CREATE TABLE audit_events (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT,
    role      TEXT,
    action    TEXT NOT NULL,
    session   TEXT,
    address   TEXT,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_events_session ON audit_events (session, id);
CREATE INDEX audit_events_actor ON audit_events (actor, id);
CREATE INDEX audit_events_action ON audit_events (action, id);

CREATE TABLE audit_checkpoints (
    n         INTEGER PRIMARY KEY AUTOINCREMENT,
    head_id   INTEGER NOT NULL,
    head_hash TEXT NOT NULL,
    at        TEXT NOT NULL,
    signature TEXT NOT NULL
);

CREATE TABLE session_archive (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    archived   INTEGER NOT NULL,
    purged_at  TEXT,
    reason     TEXT
);

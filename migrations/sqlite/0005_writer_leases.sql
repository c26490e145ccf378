-- One writer per live session, fenced: the node holding the lease (owner,
-- epoch) until lease_until (milliseconds since the epoch, by the database's
-- clock) is the only one whose releases are stored; each release moves
-- last_seq by exactly one in the same transaction.
CREATE TABLE writer_leases (
    session_id  TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    owner       TEXT NOT NULL,
    epoch       INTEGER NOT NULL,
    lease_until INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL
);

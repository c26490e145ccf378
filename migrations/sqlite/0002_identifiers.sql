-- Patient identifiers survive a restart only encrypted (ChaCha20-Poly1305,
-- key in the data directory, the session id as associated data).
CREATE TABLE session_identifiers (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    nonce      BLOB NOT NULL,
    sealed     BLOB NOT NULL
);

//! Signed checkpoints of the chain head: `(head_id, head_hash, at)` signed
//! with Ed25519 by the key in `DATA/audit.key` (0600). They are stored in
//! the database and the latest is also kept in `DATA/audit-checkpoint.json`,
//! so removing events together with their checkpoint rows is still found.

use std::path::Path;

use serde::{Deserialize, Serialize};

pub const KEY_FILE: &str = "audit.key";
pub const HEAD_FILE: &str = "audit-checkpoint.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub head_id: u64,
    pub head_hash: String,
    pub at: String,
    pub signature: String,
}

impl Checkpoint {
    /// The signed bytes.
    pub fn message(head_id: u64, head_hash: &str, at: &str) -> Vec<u8> {
        format!("orgallery audit checkpoint\n{head_id}\n{head_hash}\n{at}").into_bytes()
    }

    pub fn sign(key: &crate::signing::KeyFile, head_id: u64, head_hash: &str, at: String) -> Self {
        let signature = key.sign(&Self::message(head_id, head_hash, &at));
        Self { head_id, head_hash: head_hash.to_string(), at, signature }
    }

    pub fn verifies(&self, public: &ed25519_dalek::VerifyingKey) -> bool {
        crate::signing::verify(public, &Self::message(self.head_id, &self.head_hash, &self.at), &self.signature)
    }
}

/// Replace the head file atomically (write aside, then rename).
pub fn write_head_file(data_dir: &Path, c: &Checkpoint) -> std::io::Result<()> {
    let text = serde_json::to_vec_pretty(c).map_err(std::io::Error::other)?;
    let tmp = data_dir.join(format!("{HEAD_FILE}.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, data_dir.join(HEAD_FILE))
}

pub fn read_head_file(data_dir: &Path) -> std::io::Result<Option<Checkpoint>> {
    match std::fs::read(data_dir.join(HEAD_FILE)) {
        Ok(b) => serde_json::from_slice(&b).map(Some).map_err(std::io::Error::other),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

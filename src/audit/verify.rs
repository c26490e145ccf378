//! `orgallery audit verify`: walk the whole chain in id order, check every
//! signed checkpoint against it, and require that it reaches the latest one.

use std::collections::BTreeMap;
use std::path::Path;

use super::chain::{Broken, ChainWalker};
use super::checkpoint::{read_head_file, Checkpoint, KEY_FILE};
use crate::store::{AuditQuery, Store};

const PAGE: u32 = 1000;

#[derive(Debug)]
pub struct Report {
    pub events: u64,
    pub head_hash: String,
    pub checkpoint: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("the audit chain is broken at {0}")]
    Broken(Broken),
    #[error("{0}")]
    Setup(String),
}

pub async fn verify(store: &dyn Store, data_dir: &Path) -> Result<Report, VerifyError> {
    // The current key and those a rotation retired: old checkpoints keep verifying.
    let publics = crate::signing::verifying_keys(&data_dir.join(KEY_FILE))
        .map_err(|e| VerifyError::Setup(format!("cannot read the audit key {KEY_FILE}: {e}")))?;
    let mut checkpoints: Vec<Checkpoint> =
        store.audit_checkpoints().await.map_err(|e| VerifyError::Setup(e.to_string()))?;
    if let Some(c) = read_head_file(data_dir).map_err(|e| VerifyError::Setup(format!("checkpoint file: {e}")))? {
        checkpoints.push(c);
    }
    let mut signed: BTreeMap<u64, String> = BTreeMap::new();
    for c in &checkpoints {
        if !publics.iter().any(|p| c.verifies(p)) {
            return Err(VerifyError::Broken(Broken {
                id: c.head_id,
                reason: "a checkpoint's signature does not verify".into(),
            }));
        }
        if signed.get(&c.head_id).is_some_and(|h| h != &c.head_hash) {
            return Err(VerifyError::Broken(Broken {
                id: c.head_id,
                reason: "two signed checkpoints disagree".into(),
            }));
        }
        signed.insert(c.head_id, c.head_hash.clone());
    }
    let mut walker = ChainWalker::default();
    loop {
        let q = AuditQuery { after: walker.last_id, ..Default::default() };
        let page = store.audit_events(&q, PAGE).await.map_err(|e| VerifyError::Setup(e.to_string()))?;
        let n = page.len();
        for e in &page {
            walker.push(e).map_err(VerifyError::Broken)?;
            if signed.get(&e.id).is_some_and(|h| h != &e.hash) {
                return Err(VerifyError::Broken(Broken {
                    id: e.id,
                    reason: "differs from a signed checkpoint".into(),
                }));
            }
        }
        if n < PAGE as usize {
            break;
        }
    }
    let last_signed = signed.keys().next_back().copied();
    match last_signed {
        Some(head) if head > walker.last_id => Err(VerifyError::Broken(Broken {
            id: walker.last_id + 1,
            reason: format!(
                "missing: the chain ends at #{} but a signed checkpoint covers #{head} (truncated tail)",
                walker.last_id
            ),
        })),
        None if walker.last_id > 0 => {
            Err(VerifyError::Setup("no signed checkpoint: the tail of the chain cannot be checked".into()))
        }
        _ => Ok(Report { events: walker.last_id, head_hash: walker.last_hash, checkpoint: last_signed.unwrap_or(0) }),
    }
}

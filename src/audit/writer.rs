//! The one writer of the audit log: numbers and chains each entry, writes
//! them in batches, and signs the head periodically and on request.

use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::chain::{AuditEvent, GENESIS};
use super::checkpoint::{write_head_file, Checkpoint};
use super::{format_at, AuditCounters, Entry, Msg};
use crate::signing::KeyFile;
use crate::store::{Store, StoreError};

const BATCH: usize = 256;

pub struct Writer {
    store: Arc<dyn Store>,
    key: KeyFile,
    data_dir: PathBuf,
    last_id: u64,
    last_hash: String,
    /// The head last signed.
    signed_id: u64,
    counters: Arc<AuditCounters>,
}

impl Writer {
    pub fn new(
        store: Arc<dyn Store>,
        key: KeyFile,
        data_dir: PathBuf,
        head: Option<(u64, String)>,
        counters: Arc<AuditCounters>,
    ) -> Self {
        let (last_id, last_hash) = head.unwrap_or((0, GENESIS.to_string()));
        Self { store, key, data_dir, last_id, last_hash, signed_id: u64::MAX, counters }
    }

    pub async fn run(mut self, mut rx: mpsc::Receiver<Msg>, every: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        let mut batch: Vec<Entry> = Vec::with_capacity(BATCH);
        loop {
            tokio::select! {
                msg = rx.recv() => {
                    let Some(msg) = msg else { break };
                    let mut pending = Some(msg);
                    while let Some(msg) = pending.take() {
                        match msg {
                            Msg::Event(e) => {
                                batch.push(e);
                                if batch.len() < BATCH {
                                    pending = rx.try_recv().ok();
                                }
                            }
                            Msg::Checkpoint(reply) => {
                                self.flush(&mut batch).await;
                                let _ = reply.send(self.sign().await);
                            }
                        }
                    }
                    self.flush(&mut batch).await;
                }
                _ = tick.tick() => {
                    if self.signed_id != self.last_id {
                        if let Err(e) = self.sign().await {
                            tracing::error!(error = %e, "audit checkpoint failed");
                        }
                    }
                }
            }
        }
        self.flush(&mut batch).await;
        let _ = self.sign().await;
    }

    /// Chain and store the batch; on a store error keep it and retry, so
    /// nothing accepted is lost and the chain never skips.
    async fn flush(&mut self, batch: &mut Vec<Entry>) {
        if batch.is_empty() {
            return;
        }
        let mut delay = Duration::from_millis(50);
        let (events, id, hash) = loop {
            let (events, id, hash) = self.seal(batch);
            match self.store.append_audit(&events).await {
                Ok(()) => break (events, id, hash),
                // Another node sharing the store appended first: the chain
                // goes on from the stored head (one chain for every node,
                // ordered by the primary key), and the batch is sealed again.
                Err(StoreError::Conflict(_)) => match self.store.audit_head().await {
                    Ok(Some((head_id, head_hash))) if head_id >= self.last_id => {
                        self.last_id = head_id;
                        self.last_hash = head_hash;
                    }
                    _ => {
                        self.counters.write_errors.fetch_add(1, Relaxed);
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(5));
                    }
                },
                Err(e) => {
                    self.counters.write_errors.fetch_add(1, Relaxed);
                    tracing::error!(error = %e, "audit write failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        };
        self.counters.appended.fetch_add(events.len() as u64, Relaxed);
        self.last_id = id;
        self.last_hash = hash;
        batch.clear();
    }

    /// The batch chained onto the head this writer knows: (events, last id, last hash).
    fn seal(&self, batch: &[Entry]) -> (Vec<AuditEvent>, u64, String) {
        let mut events = Vec::with_capacity(batch.len());
        let (mut id, mut hash) = (self.last_id, self.last_hash.clone());
        for e in batch {
            let mut ev = AuditEvent {
                id: 0,
                at: e.at.clone(),
                actor: e.actor.clone(),
                role: e.role.map(|r| r.as_str().to_string()),
                action: e.action.to_string(),
                session: e.session.clone(),
                address: e.address.clone(),
                detail: e.detail.clone(),
                prev_hash: String::new(),
                hash: String::new(),
            };
            ev.seal(id, &hash);
            id = ev.id;
            hash = ev.hash.clone();
            events.push(ev);
        }
        (events, id, hash)
    }

    async fn sign(&mut self) -> Result<Checkpoint, String> {
        let c = Checkpoint::sign(&self.key, self.last_id, &self.last_hash, format_at(chrono::Utc::now()));
        self.store.put_audit_checkpoint(&c).await.map_err(|e| e.to_string())?;
        let dir = self.data_dir.clone();
        let file = c.clone();
        tokio::task::spawn_blocking(move || write_head_file(&dir, &file))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        self.signed_id = self.last_id;
        self.counters.checkpoints.fetch_add(1, Relaxed);
        Ok(c)
    }
}

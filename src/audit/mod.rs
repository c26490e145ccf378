//! The tamper-evident audit log: who did what to which session, when, from
//! where. Events are chained (each carries `prev_hash` and `hash`, SHA-256
//! over its canonical encoding and the previous hash, see [`chain`]) and the
//! chain head is signed now and then ([`checkpoint`]), so that an altered,
//! inserted, deleted or reordered event and a truncated tail are all found
//! by [`verify`].
//!
//! Appending never blocks the caller: [`AuditLog::append`] puts the entry on
//! a bounded queue drained by one writer task ([`writer`]), the only place
//! that assigns ids and hashes. A full queue is counted, logged as an error,
//! and the entry waits in a spawned send: never dropped, never blocking.
//!
//! What goes in: actions and ids, never identifier values, tokens, passwords
//! or unredacted text (callers pass counts and ids in `detail`).

pub mod chain;
pub mod checkpoint;
pub mod verify;
mod writer;

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use chrono::{SecondsFormat, Utc};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

pub use chain::AuditEvent;
pub use checkpoint::Checkpoint;

use crate::auth::Principal;
use crate::model::Role;

/// Events waiting for the writer before the queue counts as full.
pub const QUEUE: usize = 8192;

/// One thing that happened, before the writer numbers and chains it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub at: String,
    pub actor: Option<String>,
    pub role: Option<Role>,
    pub action: &'static str,
    pub session: Option<String>,
    pub address: Option<String>,
    pub detail: Value,
}

/// The time format of `at`: fixed width, so strings sort as times.
pub fn format_at(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Entry {
    pub fn new(action: &'static str) -> Self {
        Self {
            at: format_at(Utc::now()),
            actor: None,
            role: None,
            action,
            session: None,
            address: None,
            detail: Value::Object(Default::default()),
        }
    }
    pub fn by(mut self, who: &Principal) -> Self {
        self.actor = Some(who.sub.clone());
        self.role = Some(who.role);
        self
    }
    pub fn by_sub(mut self, sub: &str, role: Option<Role>) -> Self {
        self.actor = Some(sub.to_string());
        self.role = role;
        self
    }
    pub fn session(mut self, id: &str) -> Self {
        self.session = Some(id.to_string());
        self
    }
    pub fn from(mut self, addr: Option<IpAddr>) -> Self {
        self.address = addr.map(|a| a.to_string());
        self
    }
    pub fn detail(mut self, v: Value) -> Self {
        self.detail = v;
        self
    }
}

#[derive(Default)]
pub struct AuditCounters {
    pub appended: AtomicU64,
    pub queue_full: AtomicU64,
    pub write_errors: AtomicU64,
    pub checkpoints: AtomicU64,
}

enum Msg {
    Event(Entry),
    Checkpoint(oneshot::Sender<Result<Checkpoint, String>>),
}

/// The handle every part of the server appends through.
pub struct AuditLog {
    tx: mpsc::Sender<Msg>,
    runtime: tokio::runtime::Handle,
    pub counters: Arc<AuditCounters>,
    public_key: String,
}

impl AuditLog {
    /// Start the writer task on the current runtime.
    pub async fn start(
        store: Arc<dyn crate::store::Store>,
        data_dir: &std::path::Path,
        every: std::time::Duration,
    ) -> Result<Self, String> {
        let key = crate::signing::KeyFile::open(&data_dir.join(checkpoint::KEY_FILE)).map_err(|e| e.to_string())?;
        let public_key = key.public_hex();
        let counters = Arc::new(AuditCounters::default());
        let (tx, rx) = mpsc::channel(QUEUE);
        let head = store.audit_head().await.map_err(|e| e.to_string())?;
        let w = writer::Writer::new(store, key, data_dir.to_path_buf(), head, counters.clone());
        tokio::spawn(w.run(rx, every));
        Ok(Self { tx, runtime: tokio::runtime::Handle::current(), counters, public_key })
    }

    /// Append an event; returns at once.
    pub fn append(&self, e: Entry) {
        match self.tx.try_send(Msg::Event(e)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(msg)) => {
                self.counters.queue_full.fetch_add(1, Relaxed);
                tracing::error!("audit queue full: the event waits for the writer");
                let tx = self.tx.clone();
                self.runtime.spawn(async move {
                    let _ = tx.send(msg).await;
                });
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.counters.write_errors.fetch_add(1, Relaxed);
                tracing::error!("audit writer stopped: event lost");
            }
        }
    }

    /// Write what is queued, then sign the chain head now.
    pub async fn checkpoint(&self) -> Result<Checkpoint, String> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Msg::Checkpoint(reply)).await.map_err(|_| "audit writer stopped".to_string())?;
        rx.await.map_err(|_| "audit writer stopped".to_string())?
    }

    /// The checkpoint key's public half (hex).
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    pub fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write;
        let c = &self.counters;
        for (name, help, v) in [
            ("orgallery_audit_events_total", "Audit events written.", c.appended.load(Relaxed)),
            ("orgallery_audit_queue_full_total", "Audit events that found the queue full.", c.queue_full.load(Relaxed)),
            ("orgallery_audit_write_errors_total", "Failed audit writes (retried).", c.write_errors.load(Relaxed)),
            ("orgallery_audit_checkpoints_total", "Signed audit checkpoints written.", c.checkpoints.load(Relaxed)),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_is_counted_and_never_drops_or_blocks() {
        let dir = tempfile::tempdir().expect("dir");
        let store: Arc<dyn crate::store::Store> =
            Arc::new(crate::store::SqlStore::open_sqlite(&dir.path().join("t.db")).await.expect("store"));
        let log = AuditLog::start(store.clone(), dir.path(), std::time::Duration::from_secs(3600)).await.expect("log");
        // On this single-threaded runtime the writer cannot run while we
        // append: every append past the queue's size finds it full.
        let total = QUEUE as u64 + 100;
        let started = std::time::Instant::now();
        for i in 0..total {
            log.append(Entry::new("publish").detail(serde_json::json!({"n": i})));
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "appending never waits for the writer");
        assert_eq!(log.counters.queue_full.load(Relaxed), 100);
        let mut head = 0;
        for _ in 0..100 {
            head = log.checkpoint().await.expect("checkpoint").head_id;
            if head == total {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(head, total, "every event was written");
        let report = verify::verify(store.as_ref(), dir.path()).await.expect("intact");
        assert_eq!(report.events, total);
    }
}

//! The bus between the nodes of a teaching network (`serve --nats-url`):
//! NATS, with a JetStream stream for released items. The store stays the
//! source of truth (every release is committed there first, and a node
//! fills any gap from it); the bus is the fast path that spares the nodes
//! from reading each other's releases from the store.
//!
//! Subjects, per session `S` (session ids are UUIDs: no `.`, `*`, `>`):
//! - `orgallery.released.S` (JetStream, `Nats-Msg-Id` = `S:seq`): the
//!   released update bodies, in `seq` order.
//! - `orgallery.events.S` (core NATS): frames for some viewers (questions,
//!   pulse, the held queue), the curtain and video status, viewer counts,
//!   and "the session changed, read it again".
//! - `orgallery.commands.S` (core NATS request/reply): publishes and gate
//!   controls for the writer's node, answered by it ([`forward`]).
//! - `orgallery.revoked` (core NATS): logouts and kicks, for every node's
//!   in-memory revocation list.

pub mod events;
pub mod forward;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use tokio::sync::mpsc;

pub use events::BusEvent;

/// The JetStream stream of released items.
pub const STREAM: &str = "ORGALLERY_RELEASED";
/// Subject of revocations (every node).
pub const REVOKED: &str = "orgallery.revoked";
/// Header carrying a released item's `seq`.
pub const SEQ_HEADER: &str = "Orgallery-Seq";

/// Released items waiting for the publisher task; past this the bus is
/// skipped (the other nodes fill the gap from the store).
const OUTBOX: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("cannot connect to NATS: {0}")]
    Connect(String),
    #[error("cannot set up the JetStream stream {STREAM}: {0}")]
    Stream(String),
    #[error("NATS: {0}")]
    Nats(String),
}

pub fn released_subject(session: &str) -> String {
    format!("orgallery.released.{session}")
}

pub fn events_subject(session: &str) -> String {
    format!("orgallery.events.{session}")
}

pub fn commands_subject(session: &str) -> String {
    format!("orgallery.commands.{session}")
}

/// May `id` be a subject token? (Anything else never reaches the bus.)
pub fn subject_token(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Counters of the bus, for `/metrics`.
#[derive(Default)]
pub struct BusStats {
    pub published: AtomicU64,
    pub publish_failures: AtomicU64,
    pub received: AtomicU64,
    /// Releases a node read from the store because the bus skipped them.
    pub gap_filled: AtomicU64,
}

struct Outgoing {
    session: String,
    seq: u64,
    body: Bytes,
}

pub struct Bus {
    pub client: async_nats::Client,
    js: jetstream::Context,
    pub node: String,
    outbox: mpsc::Sender<Outgoing>,
    pub stats: Arc<BusStats>,
    /// The server's main runtime: events are published from the gates'
    /// runtime and the media thread too.
    rt: tokio::runtime::Handle,
    /// Counts connections to NATS (the first, then every reconnection).
    connections: tokio::sync::watch::Sender<u64>,
}

fn stream_config() -> stream::Config {
    stream::Config {
        name: STREAM.to_string(),
        subjects: vec!["orgallery.released.>".to_string()],
        storage: stream::StorageType::File,
        // A node that was away longer reads the store instead.
        max_age: Duration::from_secs(3600),
        max_bytes: 1 << 30,
        duplicate_window: Duration::from_secs(120),
        discard: stream::DiscardPolicy::Old,
        ..Default::default()
    }
}

impl Bus {
    /// Connect (within 5 s) and make sure the stream exists. Once
    /// connected, a lost server is reconnected to for ever.
    pub async fn connect(url: &str, node: &str) -> Result<Arc<Bus>, BusError> {
        // Every (re)connection counts: followers recreate their consumers on
        // it, since a restarted server forgot the ephemeral ones.
        let (connections, _) = tokio::sync::watch::channel(0u64);
        let counter = connections.clone();
        let client = async_nats::ConnectOptions::new()
            .event_callback(move |event| {
                let counter = counter.clone();
                async move {
                    match event {
                        async_nats::Event::Connected => {
                            tracing::info!("connected to NATS");
                            counter.send_modify(|n| *n += 1);
                        }
                        async_nats::Event::Disconnected => {
                            tracing::warn!("disconnected from NATS; the store carries on")
                        }
                        _ => {}
                    }
                }
            })
            .name(format!("orgallery {node}"))
            .connection_timeout(Duration::from_secs(5))
            .request_timeout(Some(Duration::from_secs(5)))
            .max_reconnects(None)
            // Back soon after a restart of the server: at most 1 s apart.
            .reconnect_delay_callback(|n| Duration::from_millis((n as u64 * 100).min(1000)))
            .connect(url)
            .await
            .map_err(|e| BusError::Connect(e.to_string()))?;
        let js = jetstream::new(client.clone());
        js.get_or_create_stream(stream_config()).await.map_err(|e| BusError::Stream(e.to_string()))?;
        let (tx, rx) = mpsc::channel(OUTBOX);
        let stats = Arc::new(BusStats::default());
        tokio::spawn(publisher(js.clone(), rx, stats.clone()));
        let rt = tokio::runtime::Handle::current();
        Ok(Arc::new(Bus { client, js, node: node.to_string(), outbox: tx, stats, rt, connections }))
    }

    /// Changes on every reconnection to NATS.
    pub fn reconnections(&self) -> tokio::sync::watch::Receiver<u64> {
        self.connections.subscribe()
    }

    pub fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// `orgallery_bus_*` series for `/metrics`.
    pub fn render_metrics(&self, out: &mut String) {
        let s = &self.stats;
        crate::metrics::family(
            out,
            "counter",
            "orgallery_bus_releases_total",
            "Released items this node published to JetStream (acknowledged, failed), received from it, and gaps it filled from the store.",
            &[
                ("{event=\"published\"}", s.published.load(Ordering::Relaxed)),
                ("{event=\"failed\"}", s.publish_failures.load(Ordering::Relaxed)),
                ("{event=\"received\"}", s.received.load(Ordering::Relaxed)),
                ("{event=\"gap_filled\"}", s.gap_filled.load(Ordering::Relaxed)),
            ],
        );
        let up = u64::from(self.connected());
        crate::metrics::family(
            out,
            "gauge",
            "orgallery_bus_connected",
            "1 while this node is connected to NATS.",
            &[("", up)],
        );
    }

    /// Hand a committed release to the stream (never blocks the writer).
    pub fn publish_released(&self, session: &str, seq: u64, body: &str) {
        let out = Outgoing { session: session.to_string(), seq, body: Bytes::from(body.to_string()) };
        if self.outbox.try_send(out).is_err() {
            self.stats.publish_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Released items of `session` from now on, in stream order (an
    /// ordered consumer: it recreates itself after a gap or a restart).
    pub async fn released(&self, session: &str) -> Result<consumer::pull::Ordered, BusError> {
        let config = consumer::pull::OrderedConfig {
            filter_subject: released_subject(session),
            deliver_policy: consumer::DeliverPolicy::New,
            ..Default::default()
        };
        let c: consumer::Consumer<consumer::pull::OrderedConfig> =
            self.js.create_consumer_on_stream(config, STREAM).await.map_err(|e| BusError::Nats(e.to_string()))?;
        c.messages().await.map_err(|e| BusError::Nats(e.to_string()))
    }

    /// Tell the other nodes about `ev` of `session` (best effort: core NATS).
    pub fn publish_event(&self, session: &str, ev: &BusEvent) {
        let Some(payload) = events::encode(&self.node, ev) else { return };
        let client = self.client.clone();
        let subject = events_subject(session);
        self.rt.spawn(async move {
            let _ = client.publish(subject, payload).await;
        });
    }
}

/// Publishes released items in order; acknowledgements are awaited
/// beside, so one slow ack never holds the next item back.
async fn publisher(js: jetstream::Context, mut rx: mpsc::Receiver<Outgoing>, stats: Arc<BusStats>) {
    while let Some(o) = rx.recv().await {
        let msg = jetstream::message::PublishMessage::build()
            .payload(o.body)
            .message_id(format!("{}:{}", o.session, o.seq))
            .header(SEQ_HEADER, o.seq.to_string().as_str());
        match js.send_publish(released_subject(&o.session), msg).await {
            Ok(ack) => {
                let (stats, js) = (stats.clone(), js.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(Duration::from_secs(10), ack).await {
                        Ok(Ok(_)) => {
                            stats.published.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(Err(e)) => {
                            stats.publish_failures.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!(error = %e, "a release was not acknowledged by JetStream");
                            // A server that lost its store lost the stream too.
                            if e.kind() == jetstream::context::PublishErrorKind::StreamNotFound {
                                let _ = js.get_or_create_stream(stream_config()).await;
                            }
                        }
                        Err(_) => {
                            stats.publish_failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
            Err(e) => {
                stats.publish_failures.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(error = %e, "a release was not handed to JetStream");
            }
        }
    }
}

/// The `seq` and body of a released item from the stream.
pub fn released_item(msg: &async_nats::Message) -> Option<(u64, String)> {
    let seq = msg.headers.as_ref()?.get(SEQ_HEADER)?.as_str().parse().ok()?;
    let body = std::str::from_utf8(&msg.payload).ok()?.to_string();
    Some((seq, body))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SharedRevocation {
    node: String,
    #[serde(flatten)]
    revoked: crate::auth::revocation::Shared,
}

/// Logouts and kicks made on this node go to the others; theirs are
/// applied here (the store has them too: a node that starts loads them).
pub fn spawn_revocations(state: &crate::state::AppState) {
    let Some(bus) = state.bus.clone() else { return };
    let (tx, mut mine) = mpsc::unbounded_channel();
    state.revocations.share_with(tx);
    let out = bus.clone();
    tokio::spawn(async move {
        while let Some(r) = mine.recv().await {
            let msg = SharedRevocation { node: out.node.clone(), revoked: r };
            if let Ok(bytes) = serde_json::to_vec(&msg) {
                let _ = out.client.publish(REVOKED, bytes.into()).await;
            }
        }
    });
    let state = state.clone();
    tokio::spawn(async move {
        let mut sub = match bus.client.subscribe(REVOKED).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot hear the other nodes' revocations");
                return;
            }
        };
        while let Some(msg) = futures_util::StreamExt::next(&mut sub).await {
            match serde_json::from_slice::<SharedRevocation>(&msg.payload) {
                Ok(r) if r.node != bus.node => state.revocations.apply(r.revoked),
                Ok(_) => {}
                Err(e) => tracing::debug!(error = %e, "a malformed revocation on the bus"),
            }
        }
    });
}

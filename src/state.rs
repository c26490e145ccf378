//! The application state handed to every handler: one cloneable handle of
//! `Arc`s, built once at start.

use std::ops::Deref;
use std::sync::{Arc, Mutex};

use tokio_util_shim::Shutdown;

use crate::audience::Audience;
use crate::auth::jwt::TokenService;
use crate::auth::ratelimit::FailureLimiter;
use crate::auth::revocation::Revocations;
use crate::config::Config;
use crate::live::tickets::Tickets;
use crate::live::Registry;
use crate::media::MediaHandle;
use crate::metrics::Metrics;
use crate::redaction::Redactor;
use crate::session::identifiers::IdentifierVault;
use crate::store::Store;

pub struct Inner {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub tokens: TokenService,
    pub revocations: Revocations,
    /// (per user, per address). std Mutex: never held across `.await`.
    pub login_limits: Mutex<(FailureLimiter, FailureLimiter)>,
    pub identifiers: IdentifierVault,
    pub metrics: Metrics,
    pub shutdown: Shutdown,
    pub live: Registry,
    pub tickets: Tickets,
    pub redactor: Redactor,
    /// Tesseract engines for images (`None` with `--image-ocr off`).
    pub ocr: Option<Arc<orgallery_ocr::Pool>>,
    /// Bounds concurrent image decoding (CPU and memory heavy).
    pub image_permits: Arc<tokio::sync::Semaphore>,
    /// A single-threaded runtime on its own OS thread for the session
    /// writers, so release deadlines do not queue behind viewer tasks.
    pub gate_runtime: tokio::runtime::Handle,
    /// The WebRTC media engine (its own thread, one UDP socket).
    pub media: MediaHandle,
    /// Question boards of live sessions.
    pub audience: Audience,
    /// The hash-chained audit log (a writer task behind a bounded queue).
    pub audit: crate::audit::AuditLog,
    /// The Ed25519 key that signs export manifests (`DATA/archive.key`).
    pub archive_key: crate::signing::KeyFile,
    /// The bus to the other nodes (`--nats-url`), if any.
    pub bus: Option<Arc<crate::cluster::Bus>>,
    /// Open WHEP resources per client address (`edge.whep_per_address`).
    pub whep_places: Arc<crate::api::edge::AddrCounts>,
}

#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// The base URL users open, for links such as invites.
    pub fn public_base(&self) -> String {
        match &self.config.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => {
                let scheme = if self.config.tls { "https" } else { "http" };
                format!("{scheme}://{}", self.config.listen)
            }
        }
    }
}

/// A tiny shutdown signal: a watch channel that flips once.
pub mod tokio_util_shim {
    use tokio::sync::watch;

    #[derive(Clone)]
    pub struct Shutdown {
        tx: watch::Sender<bool>,
    }

    impl Default for Shutdown {
        fn default() -> Self {
            Self { tx: watch::channel(false).0 }
        }
    }

    impl Shutdown {
        pub fn trigger(&self) {
            self.tx.send_replace(true);
        }
        pub fn is_triggered(&self) -> bool {
            *self.tx.borrow()
        }
        /// Resolves once shutdown has been triggered.
        pub async fn wait(&self) {
            let mut rx = self.tx.subscribe();
            let _ = rx.wait_for(|v| *v).await;
        }
    }
}

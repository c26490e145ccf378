//! Building the state, binding the listener (HTTP or HTTPS) and serving until
//! shutdown. `main` and the tests both start servers through here.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::auth::jwt::TokenService;
use crate::auth::ratelimit::FailureLimiter;
use crate::auth::revocation::Revocations;
use crate::config::Config;
use crate::session::identifiers::IdentifierVault;
use crate::state::tokio_util_shim::Shutdown;
use crate::state::{AppState, Inner};
use crate::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("image OCR is on but Tesseract is not usable (install tesseract-ocr tesseract-ocr-eng, or start with --image-ocr off): {0}")]
    Ocr(orgallery_ocr::OcrError),
    #[error("cannot create the data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Keys(#[from] crate::auth::jwt::KeyError),
    #[error(transparent)]
    Cert(#[from] crate::certs::CertError),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("cannot start the gates' runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot resume live sessions: {0}")]
    Resume(String),
    #[error("cannot start the audit log: {0}")]
    Audit(String),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("cannot open the WebRTC UDP port {0}: {1}")]
    Rtc(SocketAddr, std::io::Error),
    #[error(transparent)]
    Bus(#[from] crate::cluster::BusError),
}

/// Open the store and keys and build the state (no listener yet).
pub async fn build_state(config: Config) -> Result<AppState, StartError> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| StartError::DataDir(config.data_dir.display().to_string(), e))?;
    let location = config.store_location()?;
    let store: Arc<dyn Store> = Arc::new(location.open().await?);
    match &location {
        crate::store::Location::Postgres(url) => {
            tracing::info!(store = %crate::store::redact_url(url), node = %config.cluster.node_id, "PostgreSQL store")
        }
        crate::store::Location::Sqlite(path) => tracing::info!(store = %path.display(), "SQLite store"),
    }
    let tokens = TokenService::load(&config.jwt, &config.data_dir)?;
    let revocations = Revocations::new();
    let now = chrono::Utc::now().timestamp();
    revocations.load(store.revoked_tokens(now).await?, store.revoked_subjects().await?);
    let limits = (
        FailureLimiter::new(config.login.per_user, config.login.window),
        FailureLimiter::new(config.login.per_address, config.login.window),
    );
    let identifiers = IdentifierVault::open(&config.data_dir)
        .map_err(|e| StartError::DataDir(config.data_dir.display().to_string(), e))?;
    let audit = crate::audit::AuditLog::start(store.clone(), &config.data_dir, config.audit_checkpoint)
        .await
        .map_err(StartError::Audit)?;
    let archive_key = crate::signing::KeyFile::open(&config.data_dir.join(crate::archive::KEY_FILE))
        .map_err(|e| StartError::DataDir(config.data_dir.display().to_string(), e))?;
    let rtc_bind = SocketAddr::new(config.listen.ip(), config.rtc.port);
    let (media, media_starter) = crate::media::spawn(&config).map_err(|e| StartError::Rtc(rtc_bind, e))?;
    let ocr = if config.image_ocr {
        let pool = orgallery_ocr::Pool::new(&orgallery_ocr::Config::default()).map_err(StartError::Ocr)?;
        tracing::info!(version = pool.version(), "image OCR on");
        Some(pool)
    } else {
        tracing::warn!("image OCR is off: text burned into images is not found or masked");
        None
    };
    let bus = match &config.cluster.nats_url {
        Some(url) => {
            let bus = crate::cluster::Bus::connect(url, &config.cluster.node_id).await?;
            tracing::info!(nats = %crate::store::redact_url(url), "NATS bus");
            Some(bus)
        }
        None => None,
    };
    let state = AppState(Arc::new(Inner {
        ocr,
        bus,
        config,
        store,
        tokens,
        revocations,
        login_limits: Mutex::new(limits),
        identifiers,
        metrics: Default::default(),
        shutdown: Shutdown::default(),
        live: Default::default(),
        tickets: Default::default(),
        redactor: crate::redaction::Redactor::new(),
        image_permits: Arc::new(tokio::sync::Semaphore::new(2)),
        gate_runtime: gate_runtime()?,
        media,
        audience: Default::default(),
        audit,
        archive_key,
        whep_places: Default::default(),
    }));
    media_starter.start(state.clone()).map_err(StartError::Runtime)?;
    tracing::info!(udp = %state.media.local_addr, candidate = %state.media.candidate_addr, "WebRTC media");
    Ok(state)
}

/// Start the gates' runtime on its own thread; it lives as long as the process.
fn gate_runtime() -> Result<tokio::runtime::Handle, StartError> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(StartError::Runtime)?;
    let handle = rt.handle().clone();
    std::thread::Builder::new()
        .name("orgallery-gates".into())
        .spawn(move || rt.block_on(std::future::pending::<()>()))
        .map_err(StartError::Runtime)?;
    Ok(handle)
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub url: String,
    pub state: AppState,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Bind and start serving in the background.
    pub async fn start(config: Config) -> Result<Server, StartError> {
        let listen = config.listen;
        let tls = config.tls;
        let state = build_state(config).await?;
        crate::live::spawn_relay(&state);
        crate::cluster::spawn_revocations(&state);
        crate::live::resume_live_sessions(&state).await.map_err(|e| StartError::Resume(e.to_string()))?;
        crate::live::spawn_takeover(&state);
        crate::archive::retention::spawn(&state);
        crate::api::auth::spawn_key_watch(&state);
        let router = crate::api::router(state.clone());
        let std_listener = std::net::TcpListener::bind(listen).map_err(|e| StartError::Bind(listen, e))?;
        std_listener.set_nonblocking(true).map_err(|e| StartError::Bind(listen, e))?;
        let addr = std_listener.local_addr().map_err(|e| StartError::Bind(listen, e))?;
        let acceptor = if tls {
            let (cert, key) = (state.config.cert.clone(), state.config.key.clone());
            if !cert.exists() || !key.exists() {
                let dir = cert.parent().unwrap_or(std::path::Path::new("certs")).to_path_buf();
                tracing::info!(dir = %dir.display(), "no certificate found: generating a development certificate");
                crate::certs::generate_dev_cert(&dir)?;
            }
            Some(crate::certs::tls_acceptor(&cert, &key).map_err(StartError::Tls)?)
        } else {
            None
        };
        let listener = tokio::net::TcpListener::from_std(std_listener).map_err(|e| StartError::Bind(listen, e))?;
        let task = tokio::spawn(crate::http1::serve(listener, router, state.clone(), acceptor));
        let scheme = if tls { "https" } else { "http" };
        Ok(Server { addr, url: format!("{scheme}://{addr}"), state, task })
    }

    /// Ask the server to stop: live viewers get 1001, accepted work is kept.
    pub fn shutdown(&self) {
        self.state.shutdown.trigger();
    }

    /// Wait until the server has stopped: the listener closed, then (bounded)
    /// every live socket said goodbye (1001) and every writer finished.
    pub async fn wait(self) -> std::io::Result<()> {
        let served = match self.task.await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        };
        let m = &self.state.metrics;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let media = &self.state.media.counters;
        while (m.viewers.load(Relaxed) > 0 || m.live_sessions.load(Relaxed) > 0 || !media.stopped.load(Relaxed))
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Sign the head last, so a tail cut off after shutdown is found.
        if let Err(e) = self.state.audit.checkpoint().await {
            tracing::error!(error = %e, "final audit checkpoint failed");
        }
        served
    }
}

/// Register for SIGTERM and Ctrl-C now (before announcing readiness, so an
/// early signal is never lost); the returned future resolves on either.
pub fn termination_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

//! Typed configuration. Precedence: command-line flag > `ORGALLERY_*`
//! environment variable > `--config FILE` (TOML) > built-in default.
//! Secrets are wrapped in [`Secret`] so that `Debug` never prints them.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde::Deserialize;

/// A value that must never appear in logs or debug output.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(v: T) -> Self {
        Self(v)
    }
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
pub enum JwtAlg {
    #[serde(rename = "HS256")]
    #[value(name = "HS256")]
    Hs256,
    #[serde(rename = "RS256")]
    #[value(name = "RS256")]
    Rs256,
    #[serde(rename = "ES256")]
    #[value(name = "ES256")]
    Es256,
    #[serde(rename = "EdDSA")]
    #[value(name = "EdDSA")]
    EdDsa,
}

/// Server flags shared by `serve` and `demo`. Every field is optional here so
/// that the TOML file can fill what neither flag nor environment set.
#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ORGALLERY_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Serve HTTPS with the certificate in certs/ (or --cert/--key).
    #[arg(long, env = "ORGALLERY_TLS", num_args = 0..=1, default_missing_value = "true")]
    pub tls: Option<bool>,
    #[arg(long, env = "ORGALLERY_CERT")]
    pub cert: Option<PathBuf>,
    #[arg(long, env = "ORGALLERY_KEY")]
    pub key: Option<PathBuf>,
    /// Origins allowed to open the live WebSocket besides the server's own.
    #[arg(long = "allow-origin", env = "ORGALLERY_ALLOW_ORIGIN", value_delimiter = ',')]
    pub allow_origin: Option<Vec<String>>,
    /// Public base URL (used in invite links), e.g. https://gallery.example.org
    #[arg(long, env = "ORGALLERY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Bearer token that may scrape /metrics (admins always may).
    #[arg(long, env = "ORGALLERY_METRICS_TOKEN", hide_env_values = true)]
    #[serde(skip)]
    pub metrics_token: Option<String>,
    /// Maximum JSON body size in bytes.
    #[arg(long, env = "ORGALLERY_BODY_LIMIT")]
    pub body_limit: Option<usize>,
    /// UDP port for every WebRTC peer (WHIP and WHEP); 0 picks a free port.
    #[arg(long = "rtc-port", env = "ORGALLERY_RTC_PORT")]
    pub rtc_port: Option<u16>,
    /// Address put in the ICE candidates (1:1 NAT); defaults to the listen
    /// address, or 127.0.0.1 when listening on all interfaces.
    #[arg(long = "rtc-public-ip", env = "ORGALLERY_RTC_PUBLIC_IP")]
    pub rtc_public_ip: Option<IpAddr>,
    /// STUN/TURN server handed to WebRTC clients in `Link: rel="ice-server"`
    /// headers (repeatable), e.g. stun:stun.example.org:3478
    #[arg(long = "ice-server", env = "ORGALLERY_ICE_SERVER", value_delimiter = ',')]
    pub ice_server: Option<Vec<String>>,
    /// Most WHEP viewers of one session at a time (then 429).
    #[arg(long = "rtc-max-viewers", env = "ORGALLERY_RTC_MAX_VIEWERS")]
    pub rtc_max_viewers: Option<usize>,
    /// Threads that write released media to viewers (SRTP and the send),
    /// the media engine's own included; 0 = the cores, at most 4.
    #[arg(long = "rtc-threads", env = "ORGALLERY_RTC_THREADS")]
    pub rtc_threads: Option<usize>,
    /// Write a WebM recording of the released media of each session.
    #[arg(long = "recording", env = "ORGALLERY_RECORDING", num_args = 0..=1, default_missing_value = "true")]
    pub recording: Option<bool>,
    /// Days an archived session is kept after its end, then purged.
    #[arg(long = "retention-days", env = "ORGALLERY_RETENTION_DAYS")]
    pub retention_days: Option<u32>,
    /// Seconds between signed checkpoints of the audit chain's head.
    #[arg(long = "audit-checkpoint-seconds", env = "ORGALLERY_AUDIT_CHECKPOINT_SECONDS")]
    pub audit_checkpoint_seconds: Option<u64>,
    /// OCR of text burned into images (Tesseract): on (default) or off.
    #[arg(long = "image-ocr", env = "ORGALLERY_IMAGE_OCR", value_parser = ["on", "off"])]
    pub image_ocr: Option<String>,
    /// Connections open at once (HTTP and live sockets); past it 503.
    #[arg(long = "max-connections", env = "ORGALLERY_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Live WebSockets open at once from one IP address (then 429).
    #[arg(long = "max-live-per-address", env = "ORGALLERY_MAX_LIVE_PER_ADDRESS")]
    pub max_live_per_address: Option<usize>,
    /// WHEP resources open at once from one IP address (then 429).
    #[arg(long = "max-whep-per-address", env = "ORGALLERY_MAX_WHEP_PER_ADDRESS")]
    pub max_whep_per_address: Option<usize>,
    /// This node's name among several sharing one PostgreSQL store (the
    /// owner of the writer leases it holds); default: the host name.
    #[arg(long = "node-id", env = "ORGALLERY_NODE_ID")]
    pub node_id: Option<String>,
    /// NATS server of a teaching network (JetStream enabled), e.g.
    /// nats://10.0.0.5:4222: released items, gate controls and events
    /// travel between the nodes through it. Without it nodes share only
    /// the store (slower: they read each other's releases from it).
    #[arg(long = "nats-url", env = "ORGALLERY_NATS_URL")]
    pub nats_url: Option<String>,
    #[command(flatten)]
    pub jwt: JwtArgs,
    /// Log filter (tracing EnvFilter syntax), e.g. "info,orgallery=debug".
    #[arg(long, env = "ORGALLERY_LOG")]
    pub log: Option<String>,
}

#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JwtArgs {
    #[arg(long = "jwt-alg", env = "ORGALLERY_JWT_ALG")]
    pub jwt_alg: Option<JwtAlg>,
    /// Private key (PEM) used to sign tokens for RS256/ES256/EdDSA.
    #[arg(long = "jwt-key", env = "ORGALLERY_JWT_KEY")]
    pub jwt_key: Option<PathBuf>,
    /// Public key (PEM) used to verify tokens for RS256/ES256/EdDSA.
    #[arg(long = "jwt-public-key", env = "ORGALLERY_JWT_PUBLIC_KEY")]
    pub jwt_public_key: Option<PathBuf>,
    /// JWKS URL of an external identity provider (verification only).
    #[arg(long = "jwks-url", env = "ORGALLERY_JWKS_URL")]
    pub jwks_url: Option<String>,
    #[arg(long = "jwt-issuer", env = "ORGALLERY_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    #[arg(long = "jwt-audience", env = "ORGALLERY_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// Access token lifetime in seconds.
    #[arg(long = "jwt-ttl", env = "ORGALLERY_JWT_TTL")]
    pub jwt_ttl: Option<u64>,
    /// Clock leeway in seconds for exp/nbf.
    #[arg(long = "jwt-leeway", env = "ORGALLERY_JWT_LEEWAY")]
    pub jwt_leeway: Option<u64>,
    /// Absolute session lifetime in seconds: `POST /api/auth/refresh` never
    /// extends a sign-in past this (default 12 h).
    #[arg(long = "session-lifetime", env = "ORGALLERY_SESSION_LIFETIME")]
    pub session_lifetime: Option<u64>,
}

/// Resolved JWT settings.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    pub alg: JwtAlg,
    pub key_file: Option<PathBuf>,
    pub public_key_file: Option<PathBuf>,
    pub jwks_url: Option<String>,
    pub issuer: String,
    pub audience: String,
    pub ttl: Duration,
    pub leeway: u64,
    /// Renewals stop this long after the sign-in (`auth_time`).
    pub session_lifetime: Duration,
}

/// Limits at the HTTP edge (see DECISIONS.md "Hardening").
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// A request's headers must arrive within this (slowloris); also how long
    /// an idle keep-alive connection waits for its next request.
    pub header_read_timeout: Duration,
    /// Connections open at once, upgraded WebSockets included; past it a new
    /// one gets 503 and is closed. Default: the process's descriptor limit
    /// less a reserve for the store, UDP, media files and logs.
    pub max_connections: usize,
    /// Live WebSockets open at once from one IP address (then 429).
    pub live_per_address: usize,
    /// WHEP resources open at once from one IP address (then 429).
    pub whep_per_address: usize,
}

/// Descriptors kept for everything that is not a client connection.
const FD_RESERVE: u64 = 256;

/// The open-file soft limit less `FD_RESERVE` (at least 64).
#[cfg(unix)]
fn default_max_connections() -> usize {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit only writes the struct we pass, which outlives the call.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0;
    let soft = if ok && lim.rlim_cur != libc::RLIM_INFINITY { lim.rlim_cur } else { 1 << 20 };
    soft.saturating_sub(FD_RESERVE).max(64) as usize
}

#[cfg(not(unix))]
fn default_max_connections() -> usize {
    20_000
}

/// Login throttling: failures allowed per window, per user and per address.
#[derive(Debug, Clone)]
pub struct LoginLimits {
    pub per_user: usize,
    pub per_address: usize,
    pub window: Duration,
}

/// The resolved configuration of one server.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub tls: bool,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub allowed_origins: Vec<String>,
    pub public_url: Option<String>,
    pub metrics_token: Option<Secret<String>>,
    pub body_limit: usize,
    pub jwt: JwtConfig,
    pub login: LoginLimits,
    pub log: String,
    /// Frames a viewer may fall behind before it is closed with 4008.
    pub viewer_queue: usize,
    pub rtc: RtcConfig,
    pub audience: AudienceLimits,
    /// Archived sessions are purged this many days after their end.
    pub retention_days: u32,
    /// How often the audit chain's head is signed (also at shutdown).
    pub audit_checkpoint: Duration,
    /// Find and mask identifying text in images with OCR (`--image-ocr`).
    pub image_ocr: bool,
    pub edge: EdgeConfig,
    /// `--database-url`: a PostgreSQL store instead of the SQLite file.
    pub database_url: Option<Secret<String>>,
    pub cluster: ClusterConfig,
}

/// This node among others sharing the store.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Owner name of the writer leases this node holds.
    pub node_id: String,
    /// How long a writer lease lasts without renewal (renewed every second):
    /// a node that dies stops writing its sessions this long after.
    pub lease: Duration,
    /// `--nats-url`: the bus between the nodes (none: store only).
    pub nats_url: Option<String>,
}

fn default_node_id() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "local".into())
}

/// Per-user limits on what the audience sends, and the pulse's bucket.
#[derive(Debug, Clone)]
pub struct AudienceLimits {
    /// Questions per user per session per minute.
    pub asks_per_minute: usize,
    /// Votes (and taken-back votes) per user per session per minute.
    pub votes_per_minute: usize,
    /// A viewer's minimum gap between two pulses.
    pub pulse_gap: Duration,
    /// Width of a pulse aggregate (whole seconds).
    pub pulse_bucket: Duration,
}

/// WebRTC media settings.
#[derive(Debug, Clone)]
pub struct RtcConfig {
    pub port: u16,
    pub public_ip: Option<IpAddr>,
    pub ice_servers: Vec<String>,
    pub max_viewers: usize,
    pub recording: bool,
    /// Fan-out threads including the engine's; 0 = automatic.
    pub threads: usize,
    /// Packet writes in one release batch from which it is spread over the
    /// fan-out threads (a tuning knob, no flag; tests set it to 1).
    pub spread_from: usize,
}

impl RtcConfig {
    /// The address put in ICE candidates for a socket bound to `bound`.
    pub fn candidate_ip(&self, listen: IpAddr) -> IpAddr {
        match self.public_ip {
            Some(ip) => ip,
            None if listen.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
            None => listen,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid config file {path}: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Defaults for a data directory: what `serve` uses with no flags.
    pub fn defaults(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_path_buf(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls: false,
            cert: PathBuf::from("certs/cert.pem"),
            key: PathBuf::from("certs/key.pem"),
            allowed_origins: Vec::new(),
            public_url: None,
            metrics_token: None,
            body_limit: 64 * 1024,
            jwt: JwtConfig {
                alg: JwtAlg::Hs256,
                key_file: None,
                public_key_file: None,
                jwks_url: None,
                issuer: "orgallery".into(),
                audience: "orgallery".into(),
                ttl: Duration::from_secs(15 * 60),
                leeway: 30,
                session_lifetime: Duration::from_secs(12 * 3600),
            },
            login: LoginLimits { per_user: 5, per_address: 20, window: Duration::from_secs(300) },
            log: "info".into(),
            viewer_queue: 256,
            rtc: RtcConfig {
                port: 0,
                public_ip: None,
                ice_servers: Vec::new(),
                max_viewers: 500,
                recording: true,
                threads: 0,
                spread_from: 16,
            },
            audience: AudienceLimits {
                asks_per_minute: 5,
                votes_per_minute: 60,
                pulse_gap: Duration::from_secs(30),
                pulse_bucket: Duration::from_secs(10),
            },
            retention_days: 365,
            audit_checkpoint: Duration::from_secs(60),
            image_ocr: true,
            edge: EdgeConfig {
                header_read_timeout: Duration::from_secs(30),
                max_connections: default_max_connections(),
                live_per_address: 1_000,
                whep_per_address: 100,
            },
            database_url: None,
            cluster: ClusterConfig { node_id: default_node_id(), lease: Duration::from_secs(3), nats_url: None },
        }
    }

    /// Merge flags/environment (already parsed by clap) over the TOML file over defaults.
    pub fn resolve(data_dir: &Path, file: Option<&Path>, args: &ServeArgs) -> Result<Self, ConfigError> {
        let text = match file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?,
            ),
            None => None,
        };
        Self::resolve_text(data_dir, file.zip(text.as_deref()), args)
    }

    /// `resolve` with the file already read: `(its path, its text)`.
    pub fn resolve_text(data_dir: &Path, file: Option<(&Path, &str)>, args: &ServeArgs) -> Result<Self, ConfigError> {
        let from_file = match file {
            Some((path, text)) => toml::from_str::<ServeArgs>(text)
                .map_err(|source| ConfigError::Parse { path: path.to_path_buf(), source })?,
            None => ServeArgs::default(),
        };
        let mut c = Self::defaults(data_dir);
        macro_rules! pick {
            ($($f:ident).+) => { args.$($f).+.clone().or_else(|| from_file.$($f).+.clone()) };
        }
        if let Some(v) = pick!(listen) {
            c.listen = v;
        }
        if let Some(v) = pick!(tls) {
            c.tls = v;
        }
        if let Some(v) = pick!(cert) {
            c.cert = v;
        }
        if let Some(v) = pick!(key) {
            c.key = v;
        }
        if let Some(v) = pick!(allow_origin) {
            c.allowed_origins = v;
        }
        c.public_url = pick!(public_url);
        c.metrics_token = args.metrics_token.clone().map(Secret::new);
        if let Some(v) = pick!(body_limit) {
            c.body_limit = v;
        }
        if let Some(v) = pick!(log) {
            c.log = v;
        }
        if let Some(v) = pick!(rtc_port) {
            c.rtc.port = v;
        }
        c.rtc.public_ip = pick!(rtc_public_ip);
        if let Some(v) = pick!(ice_server) {
            c.rtc.ice_servers = v;
        }
        if let Some(v) = pick!(rtc_max_viewers) {
            c.rtc.max_viewers = v;
        }
        if let Some(v) = pick!(recording) {
            c.rtc.recording = v;
        }
        if let Some(v) = pick!(rtc_threads) {
            c.rtc.threads = v;
        }
        if let Some(v) = pick!(retention_days) {
            c.retention_days = v;
        }
        if let Some(v) = pick!(image_ocr) {
            c.image_ocr = v != "off";
        }
        if let Some(v) = pick!(audit_checkpoint_seconds) {
            c.audit_checkpoint = Duration::from_secs(v);
        }
        if let Some(v) = pick!(node_id) {
            c.cluster.node_id = v;
        }
        c.cluster.nats_url = pick!(nats_url);
        if let Some(v) = pick!(max_connections) {
            c.edge.max_connections = v;
        }
        if let Some(v) = pick!(max_live_per_address) {
            c.edge.live_per_address = v;
        }
        if let Some(v) = pick!(max_whep_per_address) {
            c.edge.whep_per_address = v;
        }
        if let Some(v) = pick!(jwt.jwt_alg) {
            c.jwt.alg = v;
        }
        c.jwt.key_file = pick!(jwt.jwt_key);
        c.jwt.public_key_file = pick!(jwt.jwt_public_key);
        c.jwt.jwks_url = pick!(jwt.jwks_url);
        if let Some(v) = pick!(jwt.jwt_issuer) {
            c.jwt.issuer = v;
        }
        if let Some(v) = pick!(jwt.jwt_audience) {
            c.jwt.audience = v;
        }
        if let Some(v) = pick!(jwt.jwt_ttl) {
            c.jwt.ttl = Duration::from_secs(v);
        }
        if let Some(v) = pick!(jwt.jwt_leeway) {
            c.jwt.leeway = v;
        }
        if let Some(v) = pick!(jwt.session_lifetime) {
            c.jwt.session_lifetime = Duration::from_secs(v);
        }
        c.validate()?;
        Ok(c)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.jwt.ttl.is_zero() || self.jwt.ttl > Duration::from_secs(24 * 3600) {
            return Err(ConfigError::Invalid("--jwt-ttl must be between 1 s and 24 h".into()));
        }
        if self.jwt.session_lifetime < self.jwt.ttl {
            return Err(ConfigError::Invalid("--session-lifetime must be at least --jwt-ttl".into()));
        }
        if self.jwt.alg == JwtAlg::Hs256 && self.jwt.jwks_url.is_some() {
            return Err(ConfigError::Invalid("--jwks-url needs an asymmetric --jwt-alg".into()));
        }
        if !matches!(self.jwt.alg, JwtAlg::Hs256 | JwtAlg::EdDsa)
            && self.jwt.jwks_url.is_none()
            && self.jwt.public_key_file.is_none()
        {
            return Err(ConfigError::Invalid("an asymmetric --jwt-alg needs --jwt-public-key or --jwks-url".into()));
        }
        for url in &self.rtc.ice_servers {
            if !(url.starts_with("stun:") || url.starts_with("turn:") || url.starts_with("turns:")) {
                return Err(ConfigError::Invalid(format!("--ice-server {url:?} must be a stun:, turn: or turns: URL")));
            }
        }
        if self.rtc.max_viewers == 0 {
            return Err(ConfigError::Invalid("--rtc-max-viewers must be at least 1".into()));
        }
        if self.retention_days == 0 || self.retention_days > 36500 {
            return Err(ConfigError::Invalid("--retention-days must be 1..=36500".into()));
        }
        if self.audit_checkpoint.is_zero() || self.audit_checkpoint > Duration::from_secs(86400) {
            return Err(ConfigError::Invalid("--audit-checkpoint-seconds must be 1..=86400".into()));
        }
        if self.edge.max_connections == 0 || self.edge.max_connections > 1_000_000 {
            return Err(ConfigError::Invalid("--max-connections must be 1..=1000000".into()));
        }
        if self.edge.live_per_address == 0 || self.edge.live_per_address > 1_000_000 {
            return Err(ConfigError::Invalid("--max-live-per-address must be 1..=1000000".into()));
        }
        if self.edge.whep_per_address == 0 || self.edge.whep_per_address > 100_000 {
            return Err(ConfigError::Invalid("--max-whep-per-address must be 1..=100000".into()));
        }
        if self.body_limit < 1024 {
            return Err(ConfigError::Invalid("--body-limit must be at least 1024".into()));
        }
        Ok(())
    }

    /// The origin the server itself is served from, as browsers send it.
    pub fn own_origins(&self) -> Vec<String> {
        let scheme = if self.tls { "https" } else { "http" };
        let port = self.listen.port();
        let mut v = vec![
            format!("{scheme}://{}", self.listen),
            format!("{scheme}://localhost:{port}"),
            format!("{scheme}://127.0.0.1:{port}"),
        ];
        if let Some(u) = &self.public_url {
            v.push(u.trim_end_matches('/').to_string());
        }
        v.extend(self.allowed_origins.iter().cloned());
        v
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("orgallery.db")
    }

    /// Where the store is: `--database-url`, else the SQLite file.
    pub fn store_location(&self) -> Result<crate::store::Location, ConfigError> {
        crate::store::Location::parse(self.database_url.as_ref().map(|u| u.expose().as_str()), &self.db_path())
            .map_err(ConfigError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2".to_string());
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn flag_beats_file_and_file_beats_default() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\n[jwt]\njwt_issuer = \"from-file\"\n").expect("write");
        let args = ServeArgs { listen: Some("127.0.0.1:9100".parse().expect("addr")), ..Default::default() };
        let c = Config::resolve(dir.path(), Some(&file), &args).expect("resolve");
        assert_eq!(c.listen.port(), 9100);
        assert_eq!(c.jwt.issuer, "from-file");
        assert_eq!(c.jwt.audience, "orgallery");
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "lisen = \"x\"\n").expect("write");
        assert!(Config::resolve(dir.path(), Some(&file), &ServeArgs::default()).is_err());
    }

    #[test]
    fn asymmetric_alg_needs_a_key() {
        let args =
            ServeArgs { jwt: JwtArgs { jwt_alg: Some(JwtAlg::Rs256), ..Default::default() }, ..Default::default() };
        assert!(Config::resolve(Path::new("d"), None, &args).is_err());
    }

    #[test]
    fn edge_limits_are_configurable_and_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "max_connections = 60000\n").expect("write");
        let args =
            ServeArgs { max_live_per_address: Some(30_000), max_whep_per_address: Some(250), ..Default::default() };
        let c = Config::resolve(dir.path(), Some(&file), &args).expect("resolve");
        assert_eq!((c.edge.max_connections, c.edge.live_per_address, c.edge.whep_per_address), (60_000, 30_000, 250));
        for bad in [
            ServeArgs { max_connections: Some(0), ..Default::default() },
            ServeArgs { max_live_per_address: Some(0), ..Default::default() },
            ServeArgs { max_whep_per_address: Some(0), ..Default::default() },
        ] {
            assert!(Config::resolve(dir.path(), None, &bad).is_err());
        }
    }
}

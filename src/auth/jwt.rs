//! Access tokens: issue and verify JWTs with the one algorithm that the
//! configuration pins. Verification keys come from a key file, the generated
//! HS256 secret in the data directory, or an external issuer's JWKS (cached,
//! the token's `kid` must match a key of the configured algorithm).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::auth::keyring::{self, KeyAlg, KeyringError, Loaded};
use crate::config::{JwtAlg, JwtConfig};
use crate::model::Role;

/// The claims of an orgallery access token.
#[derive(Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: serde_json::Value,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub jti: String,
    pub role: Role,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<Vec<String>>,
    /// When the user signed in (OIDC `auth_time`): renewals keep it, and stop
    /// `session_lifetime` after it. Tokens without it count from `iat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
}

impl std::fmt::Debug for Claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claims").field("sub", &self.sub).field("role", &self.role).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("invalid key {path}: {reason}")]
    Invalid { path: String, reason: String },
    #[error("cannot create the HS256 secret: {0}")]
    Secret(std::io::Error),
    #[error("this server verifies tokens from an external issuer and has no signing key (--jwt-key)")]
    NoSigningKey,
    #[error("signing failed: {0}")]
    Sign(String),
    #[error(transparent)]
    Keyring(#[from] KeyringError),
}

/// Why a renewal was refused.
#[derive(Debug, thiserror::Error)]
pub enum RenewError {
    #[error("the session reached its absolute lifetime: sign in again")]
    SessionOver,
    #[error(transparent)]
    Key(KeyError),
}

/// Why a token was refused. Never echoes the token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("invalid token")]
    Invalid,
    #[error("token expired")]
    Expired,
    #[error("token revoked")]
    Revoked,
}

enum Verifier {
    Key(DecodingKey),
    Jwks(Jwks),
    Managed(Managed),
}

/// Keys from the data directory's key ring, re-read when the file changes.
struct Managed {
    data_dir: PathBuf,
    /// std locks: never held across `.await`.
    loaded: RwLock<Arc<Loaded>>,
    stamp: Mutex<Option<(SystemTime, u64)>>,
}

/// The signing key changed (seen by [`TokenService::reload_keys`]).
#[derive(Debug, Clone)]
pub struct KeyChange {
    pub previous: String,
    pub kid: String,
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// The key ring algorithm for a configuration, if this server manages its keys:
/// always for HS256, for EdDSA when no key file, public key or JWKS is configured.
pub fn managed_alg(cfg: &JwtConfig) -> Option<KeyAlg> {
    match cfg.alg {
        JwtAlg::Hs256 => Some(KeyAlg::HS256),
        JwtAlg::EdDsa if cfg.key_file.is_none() && cfg.public_key_file.is_none() && cfg.jwks_url.is_none() => {
            Some(KeyAlg::EdDSA)
        }
        _ => None,
    }
}

fn now_ts() -> i64 {
    chrono::Utc::now().timestamp()
}

struct Jwks {
    url: String,
    client: reqwest::Client,
    /// (fetched at, keys). std Mutex: never held across `.await`.
    cache: Mutex<Option<(Instant, JwkSet)>>,
    last_fetch: Mutex<Option<Instant>>,
}

const JWKS_TTL: Duration = Duration::from_secs(600);
const JWKS_MIN_REFETCH: Duration = Duration::from_secs(10);

pub struct TokenService {
    alg: Algorithm,
    encoding: Option<EncodingKey>,
    verifier: Verifier,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
    session_lifetime: Duration,
}

fn algorithm(a: JwtAlg) -> Algorithm {
    match a {
        JwtAlg::Hs256 => Algorithm::HS256,
        JwtAlg::Rs256 => Algorithm::RS256,
        JwtAlg::Es256 => Algorithm::ES256,
        JwtAlg::EdDsa => Algorithm::EdDSA,
    }
}

fn read(path: &Path) -> Result<Vec<u8>, KeyError> {
    std::fs::read(path).map_err(|source| KeyError::Read { path: path.display().to_string(), source })
}

fn invalid(path: &Path, e: impl std::fmt::Display) -> KeyError {
    KeyError::Invalid { path: path.display().to_string(), reason: e.to_string() }
}

/// Write a file readable by its owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

impl TokenService {
    pub fn load(cfg: &JwtConfig, data_dir: &Path) -> Result<Self, KeyError> {
        let alg = algorithm(cfg.alg);
        let (encoding, verifier) = match (managed_alg(cfg), cfg.alg) {
            (Some(kalg), _) => {
                let ring = keyring::open_or_create(data_dir, kalg, now_ts())?;
                let st = stamp(&keyring::path(data_dir));
                let loaded = keyring::load(data_dir, &ring)?;
                let m = Managed {
                    data_dir: data_dir.to_path_buf(),
                    loaded: RwLock::new(Arc::new(loaded)),
                    stamp: Mutex::new(st),
                };
                (None, Verifier::Managed(m))
            }
            (None, other) => {
                let encoding = match &cfg.key_file {
                    Some(p) => {
                        let pem = read(p)?;
                        Some(
                            match other {
                                JwtAlg::Rs256 => EncodingKey::from_rsa_pem(&pem),
                                JwtAlg::Es256 => EncodingKey::from_ec_pem(&pem),
                                _ => EncodingKey::from_ed_pem(&pem),
                            }
                            .map_err(|e| invalid(p, e))?,
                        )
                    }
                    None => None,
                };
                let verifier = match (&cfg.jwks_url, &cfg.public_key_file) {
                    (Some(url), _) => Verifier::Jwks(Jwks {
                        url: url.clone(),
                        client: reqwest::Client::builder()
                            .timeout(Duration::from_secs(5))
                            .build()
                            .map_err(|e| KeyError::Invalid { path: url.clone(), reason: e.to_string() })?,
                        cache: Mutex::new(None),
                        last_fetch: Mutex::new(None),
                    }),
                    (None, Some(p)) => {
                        let pem = read(p)?;
                        Verifier::Key(
                            match other {
                                JwtAlg::Rs256 => DecodingKey::from_rsa_pem(&pem),
                                JwtAlg::Es256 => DecodingKey::from_ec_pem(&pem),
                                _ => DecodingKey::from_ed_pem(&pem),
                            }
                            .map_err(|e| invalid(p, e))?,
                        )
                    }
                    (None, None) => {
                        return Err(KeyError::Invalid {
                            path: "--jwt-public-key".into(),
                            reason: "an asymmetric algorithm needs a public key or a JWKS URL".into(),
                        })
                    }
                };
                (encoding, verifier)
            }
        };
        let mut validation = Validation::new(alg);
        validation.leeway = cfg.leeway;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[cfg.issuer.as_str()]);
        validation.set_audience(&[cfg.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Ok(Self {
            alg,
            encoding,
            verifier,
            validation,
            issuer: cfg.issuer.clone(),
            audience: cfg.audience.clone(),
            ttl: cfg.ttl,
            session_lifetime: cfg.session_lifetime,
        })
    }

    pub fn default_ttl(&self) -> Duration {
        self.ttl
    }

    /// Re-read the key ring if its file changed (after `orgallery keys
    /// rotate`). Returns the change of signing key, if any. A ring that does
    /// not load keeps the keys in use and is reported as an error.
    pub fn reload_keys(&self) -> Result<Option<KeyChange>, KeyError> {
        let Verifier::Managed(m) = &self.verifier else { return Ok(None) };
        let now_stamp = stamp(&keyring::path(&m.data_dir));
        {
            let mut last = m.stamp.lock().map_err(|_| KeyError::Sign("key ring lock poisoned".into()))?;
            if *last == now_stamp {
                return Ok(None);
            }
            *last = now_stamp;
        }
        let Some(ring) = keyring::read(&m.data_dir)? else { return Ok(None) };
        let loaded = keyring::load(&m.data_dir, &ring)?;
        let mut guard = m.loaded.write().map_err(|_| KeyError::Sign("key ring lock poisoned".into()))?;
        let previous = guard.signing_kid.clone();
        let kid = loaded.signing_kid.clone();
        *guard = Arc::new(loaded);
        Ok((previous != kid).then_some(KeyChange { previous, kid }))
    }

    /// The public keys that verify this server's tokens now, as a JWK set
    /// (EdDSA key ring only; None for HS256 or externally managed keys).
    pub fn jwks(&self) -> Option<serde_json::Value> {
        let Verifier::Managed(m) = &self.verifier else { return None };
        if self.alg != Algorithm::EdDSA {
            return None;
        }
        let loaded = m.loaded.read().ok()?.clone();
        Some(loaded.jwks(now_ts()))
    }

    fn managed(&self) -> Option<Arc<Loaded>> {
        match &self.verifier {
            Verifier::Managed(m) => m.loaded.read().ok().map(|l| l.clone()),
            _ => None,
        }
    }

    /// Sign a new access token. Returns the token and its claims.
    pub fn issue(
        &self,
        sub: &str,
        role: Role,
        name: &str,
        sessions: Option<Vec<String>>,
        ttl: Option<Duration>,
    ) -> Result<(String, Claims), KeyError> {
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(ttl.unwrap_or(self.ttl).as_secs()).unwrap_or(i64::MAX / 2);
        self.sign(sub, role, name, sessions, now, now.saturating_add(ttl), now)
    }

    /// A new token for the holder of `p` (already verified and not revoked):
    /// same subject, role, name and session scope, the same `auth_time`, and
    /// an `exp` of now + ttl but never past `auth_time + session_lifetime`.
    pub fn renew(&self, p: &crate::auth::Principal) -> Result<(String, Claims), RenewError> {
        let now = chrono::Utc::now().timestamp();
        let lifetime = i64::try_from(self.session_lifetime.as_secs()).unwrap_or(i64::MAX / 2);
        let ends = p.auth_time.saturating_add(lifetime);
        if ends <= now {
            return Err(RenewError::SessionOver);
        }
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let exp = now.saturating_add(ttl).min(ends);
        self.sign(&p.sub, p.role, &p.name, p.sessions.clone(), now, exp, p.auth_time).map_err(RenewError::Key)
    }

    #[allow(clippy::too_many_arguments)]
    fn sign(
        &self,
        sub: &str,
        role: Role,
        name: &str,
        sessions: Option<Vec<String>>,
        now: i64,
        exp: i64,
        auth_time: i64,
    ) -> Result<(String, Claims), KeyError> {
        let managed = self.managed();
        let (key, kid) = match &managed {
            Some(l) => (&l.encoding, Some(l.signing_kid.clone())),
            None => (self.encoding.as_ref().ok_or(KeyError::NoSigningKey)?, None),
        };
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: serde_json::Value::String(self.audience.clone()),
            sub: sub.to_string(),
            exp,
            iat: now,
            nbf: Some(now),
            jti: uuid::Uuid::new_v4().to_string(),
            role,
            name: name.to_string(),
            sessions,
            auth_time: Some(auth_time),
        };
        let mut header = Header::new(self.alg);
        header.kid = kid;
        let token = jsonwebtoken::encode(&header, &claims, key).map_err(|e| KeyError::Sign(e.to_string()))?;
        Ok((token, claims))
    }

    /// Check signature, algorithm, `iss`, `aud`, `exp`, `nbf`. Revocation is
    /// checked by the caller (it needs the store's view).
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Invalid)?;
        if header.alg != self.alg {
            return Err(VerifyError::Invalid);
        }
        let key = match &self.verifier {
            Verifier::Key(k) => k.clone(),
            Verifier::Jwks(j) => j.key_for(header.kid.as_deref(), self.alg).await?,
            Verifier::Managed(m) => {
                let loaded = m.loaded.read().map_err(|_| VerifyError::Invalid)?.clone();
                // A retired key's tokens are refused even before their `exp`.
                loaded.verifier(header.kid.as_deref(), now_ts()).ok_or(VerifyError::Invalid)?.clone()
            }
        };
        match jsonwebtoken::decode::<Claims>(token, &key, &self.validation) {
            Ok(data) => Ok(data.claims),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
                Err(VerifyError::Expired)
            }
            Err(_) => Err(VerifyError::Invalid),
        }
    }
}

impl Jwks {
    fn cached(&self, kid: &str, alg: Algorithm, fresh_only: bool) -> Option<DecodingKey> {
        let guard = self.cache.lock().ok()?;
        let (at, set) = guard.as_ref()?;
        if fresh_only && at.elapsed() > JWKS_TTL {
            return None;
        }
        let jwk = set.find(kid)?;
        if let Some(ka) = jwk.common.key_algorithm {
            if ka.to_string() != format!("{alg:?}") {
                return None;
            }
        }
        DecodingKey::from_jwk(jwk).ok()
    }

    async fn key_for(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, VerifyError> {
        let kid = kid.ok_or(VerifyError::Invalid)?;
        if let Some(k) = self.cached(kid, alg, true) {
            return Ok(k);
        }
        let may_fetch = {
            let mut last = self.last_fetch.lock().map_err(|_| VerifyError::Invalid)?;
            let ok = last.is_none_or(|t| t.elapsed() >= JWKS_MIN_REFETCH);
            if ok {
                *last = Some(Instant::now());
            }
            ok
        };
        if may_fetch {
            match self.fetch().await {
                Ok(set) => {
                    if let Ok(mut c) = self.cache.lock() {
                        *c = Some((Instant::now(), set));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "JWKS fetch failed"),
            }
        }
        self.cached(kid, alg, false).ok_or(VerifyError::Invalid)
    }

    async fn fetch(&self) -> Result<JwkSet, reqwest::Error> {
        self.client.get(&self.url).send().await?.error_for_status()?.json::<JwkSet>().await
    }
}

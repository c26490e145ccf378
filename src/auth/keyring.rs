//! The JWT signing keys this server manages itself, in `jwt-keys.json` in the
//! data directory (mode 0600): HS256 secrets, or Ed25519 keys for EdDSA when
//! no key file is configured. Every key has a `kid`; the last one signs. A
//! rotation (`orgallery keys rotate`) appends a new key and gives the one
//! that signed until then a `retires_at`: it still verifies the tokens it
//! signed until that instant (by default its last token's latest possible
//! expiry: now + ttl + leeway), and is refused (and pruned) after it.

use std::path::{Path, PathBuf};

use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::{Deserialize, Serialize};
use sha2::Digest;

pub const FILE: &str = "jwt-keys.json";
/// The generated HS256 secret of servers before key rotation existed.
pub const LEGACY_SECRET: &str = "jwt-secret";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyAlg {
    HS256,
    EdDSA,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct StoredKey {
    pub kid: String,
    pub alg: KeyAlg,
    /// base64: the HS256 secret, or the Ed25519 seed.
    secret: String,
    pub created: i64,
    /// Refused from this instant (unix seconds). None: the signing key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retires_at: Option<i64>,
    /// Imported from `jwt-secret`: also verifies tokens without a `kid`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub legacy: bool,
}

#[derive(Default, Clone, Serialize, Deserialize)]
pub struct KeyringFile {
    pub keys: Vec<StoredKey>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("cannot read or write {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} is not a valid key ring: {reason}")]
    Invalid { path: String, reason: String },
    #[error("{path} holds {found:?} keys but the server is configured for {wanted:?}")]
    WrongAlg { path: String, found: KeyAlg, wanted: KeyAlg },
}

/// A key ready to use.
pub struct LiveKey {
    pub kid: String,
    pub decoding: DecodingKey,
    pub retires_at: Option<i64>,
    pub legacy: bool,
    /// The public JWK (EdDSA only).
    pub jwk: Option<serde_json::Value>,
}

pub struct Loaded {
    pub signing_kid: String,
    pub encoding: EncodingKey,
    pub keys: Vec<LiveKey>,
}

impl Loaded {
    /// The key that verifies a token with this `kid` at `now`, unless retired.
    pub fn verifier(&self, kid: Option<&str>, now: i64) -> Option<&DecodingKey> {
        let k = match kid {
            Some(kid) => self.keys.iter().find(|k| k.kid == kid)?,
            None => self.keys.iter().find(|k| k.legacy)?,
        };
        if k.retires_at.is_some_and(|r| now >= r) {
            return None;
        }
        Some(&k.decoding)
    }

    pub fn jwks(&self, now: i64) -> serde_json::Value {
        let keys: Vec<_> =
            self.keys.iter().filter(|k| k.retires_at.is_none_or(|r| now < r)).filter_map(|k| k.jwk.clone()).collect();
        serde_json::json!({ "keys": keys })
    }
}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn kid_of(alg: KeyAlg, secret: &[u8]) -> String {
    let mut h = sha2::Sha256::new();
    h.update(match alg {
        KeyAlg::HS256 => b"orgallery-hs256:".as_slice(),
        KeyAlg::EdDSA => b"orgallery-eddsa:".as_slice(),
    });
    h.update(secret);
    hex::encode(&h.finalize()[..8])
}

fn new_key(alg: KeyAlg, now: i64) -> StoredKey {
    let mut secret = vec![0u8; if alg == KeyAlg::HS256 { 48 } else { 32 }];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
    stored_key(alg, &secret, now, false)
}

fn stored_key(alg: KeyAlg, secret: &[u8], now: i64, legacy: bool) -> StoredKey {
    StoredKey { kid: kid_of(alg, secret), alg, secret: b64().encode(secret), created: now, retires_at: None, legacy }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyringError + '_ {
    move |source| KeyringError::Io { path: path.display().to_string(), source }
}

fn invalid(path: &Path, reason: impl std::fmt::Display) -> KeyringError {
    KeyringError::Invalid { path: path.display().to_string(), reason: reason.to_string() }
}

/// Read the ring; None if there is none yet.
pub fn read(data_dir: &Path) -> Result<Option<KeyringFile>, KeyringError> {
    let p = path(data_dir);
    match std::fs::read(&p) {
        Ok(bytes) => {
            let ring: KeyringFile = serde_json::from_slice(&bytes).map_err(|e| invalid(&p, e))?;
            if ring.keys.is_empty() {
                return Err(invalid(&p, "no keys"));
            }
            Ok(Some(ring))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&p)(e)),
    }
}

fn write(data_dir: &Path, ring: &KeyringFile) -> Result<(), KeyringError> {
    let p = path(data_dir);
    std::fs::create_dir_all(data_dir).map_err(io(&p))?;
    let bytes = serde_json::to_vec_pretty(ring).map_err(|e| invalid(&p, e))?;
    // Write beside and rename, so a running server never reads half a file.
    let tmp = data_dir.join(format!("{FILE}.tmp"));
    crate::auth::jwt::write_private(&tmp, &bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &p).map_err(io(&p))
}

/// The ring, created on first use (importing a legacy HS256 `jwt-secret`).
pub fn open_or_create(data_dir: &Path, alg: KeyAlg, now: i64) -> Result<KeyringFile, KeyringError> {
    let p = path(data_dir);
    if let Some(ring) = read(data_dir)? {
        if let Some(k) = ring.keys.iter().find(|k| k.alg != alg) {
            return Err(KeyringError::WrongAlg { path: p.display().to_string(), found: k.alg, wanted: alg });
        }
        return Ok(ring);
    }
    let legacy = data_dir.join(LEGACY_SECRET);
    let key = match (alg, std::fs::read_to_string(&legacy)) {
        (KeyAlg::HS256, Ok(text)) => {
            let secret = b64().decode(text.trim()).map_err(|e| invalid(&legacy, e))?;
            stored_key(alg, &secret, now, true)
        }
        _ => new_key(alg, now),
    };
    let ring = KeyringFile { keys: vec![key] };
    write(data_dir, &ring)?;
    Ok(ring)
}

/// What a rotation did.
#[derive(Debug, Clone, Serialize)]
pub struct Rotation {
    pub previous: String,
    pub kid: String,
    pub previous_retires_at: i64,
    pub pruned: Vec<String>,
}

/// Add a new signing key; the current one verifies until `now + retire_after`.
/// Keys already retired are removed.
pub fn rotate(data_dir: &Path, alg: KeyAlg, now: i64, retire_after: i64) -> Result<Rotation, KeyringError> {
    let mut ring = open_or_create(data_dir, alg, now)?;
    let retires_at = now.saturating_add(retire_after.max(0));
    let previous = ring.keys.last().map(|k| k.kid.clone()).unwrap_or_default();
    for k in &mut ring.keys {
        if k.retires_at.is_none_or(|r| r > retires_at) {
            k.retires_at = Some(retires_at);
        }
    }
    let pruned: Vec<String> =
        ring.keys.iter().filter(|k| k.retires_at.is_some_and(|r| r <= now)).map(|k| k.kid.clone()).collect();
    ring.keys.retain(|k| k.retires_at.is_none_or(|r| r > now));
    let key = new_key(alg, now);
    let kid = key.kid.clone();
    ring.keys.push(key);
    write(data_dir, &ring)?;
    Ok(Rotation { previous, kid, previous_retires_at: retires_at, pruned })
}

/// Where `orgallery keys rotate` leaves a note of each rotation for the
/// server to audit (the CLI cannot append to the audit chain the server's
/// writer holds): one file per rotation, written then renamed into place.
pub const NOTICES: &str = "key-rotations";

pub fn write_notice(data_dir: &Path, detail: &serde_json::Value) -> std::io::Result<()> {
    let dir = data_dir.join(NOTICES);
    std::fs::create_dir_all(&dir)?;
    let name = format!("{:020}-{}", chrono::Utc::now().timestamp_micros(), uuid::Uuid::new_v4().simple());
    let tmp = dir.join(format!("{name}.tmp"));
    crate::auth::jwt::write_private(&tmp, detail.to_string().as_bytes())?;
    std::fs::rename(&tmp, dir.join(format!("{name}.json")))
}

/// The notices waiting, oldest first, each removed as it is returned.
pub fn take_notices(data_dir: &Path) -> std::io::Result<Vec<serde_json::Value>> {
    let dir = data_dir.join(NOTICES);
    let mut names: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for p in names {
        let text = std::fs::read(&p)?;
        std::fs::remove_file(&p)?;
        match serde_json::from_slice(&text) {
            Ok(v) => out.push(v),
            Err(e) => tracing::warn!(file = %p.display(), error = %e, "unreadable key rotation notice"),
        }
    }
    Ok(out)
}

/// PKCS#8 v1 DER of an Ed25519 seed (RFC 8410).
fn ed25519_pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = vec![0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
    der.extend_from_slice(seed);
    der
}

/// Turn the stored ring into keys.
pub fn load(data_dir: &Path, ring: &KeyringFile) -> Result<Loaded, KeyringError> {
    let p = path(data_dir);
    let mut keys = Vec::with_capacity(ring.keys.len());
    let mut encoding = None;
    let last = ring.keys.len().saturating_sub(1);
    for (i, k) in ring.keys.iter().enumerate() {
        let secret = b64().decode(&k.secret).map_err(|e| invalid(&p, e))?;
        let (enc, dec, jwk) = match k.alg {
            KeyAlg::HS256 => (EncodingKey::from_secret(&secret), DecodingKey::from_secret(&secret), None),
            KeyAlg::EdDSA => {
                let seed: [u8; 32] =
                    secret.as_slice().try_into().map_err(|_| invalid(&p, "an Ed25519 seed is 32 bytes"))?;
                let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key().to_bytes();
                let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(public);
                let jwk = serde_json::json!({
                    "kty": "OKP", "crv": "Ed25519", "x": x, "kid": k.kid, "alg": "EdDSA", "use": "sig"
                });
                (EncodingKey::from_ed_der(&ed25519_pkcs8(&seed)), DecodingKey::from_ed_der(&public), Some(jwk))
            }
        };
        if i == last {
            encoding = Some(enc);
        }
        keys.push(LiveKey { kid: k.kid.clone(), decoding: dec, retires_at: k.retires_at, legacy: k.legacy, jwk });
    }
    let encoding = encoding.ok_or_else(|| invalid(&p, "no keys"))?;
    let signing_kid = ring.keys.last().map(|k| k.kid.clone()).unwrap_or_default();
    Ok(Loaded { signing_kid, encoding, keys })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_the_old_key_until_it_retires_then_prunes_it() {
        let dir = tempfile::tempdir().expect("dir");
        let d = dir.path();
        let ring = open_or_create(d, KeyAlg::EdDSA, 1000).expect("created");
        let first = ring.keys[0].kid.clone();
        let r = rotate(d, KeyAlg::EdDSA, 1100, 60).expect("rotated");
        assert_eq!(r.previous, first);
        assert_ne!(r.kid, first);
        let ring = read(d).expect("read").expect("some");
        let loaded = load(d, &ring).expect("load");
        assert_eq!(loaded.signing_kid, r.kid);
        assert!(loaded.verifier(Some(&first), 1159).is_some(), "old key verifies before it retires");
        assert!(loaded.verifier(Some(&first), 1160).is_none(), "and not after");
        assert!(loaded.verifier(Some(&r.kid), 99_999).is_some());
        assert!(loaded.verifier(None, 1100).is_none(), "no kid: only a legacy key");
        assert_eq!(loaded.jwks(1100)["keys"].as_array().map(Vec::len), Some(2));
        assert_eq!(loaded.jwks(1200)["keys"].as_array().map(Vec::len), Some(1));
        let r2 = rotate(d, KeyAlg::EdDSA, 1200, 60).expect("rotated again");
        assert_eq!(r2.pruned, vec![first]);
        assert!(matches!(open_or_create(d, KeyAlg::HS256, 1300), Err(KeyringError::WrongAlg { .. })));
    }

    #[test]
    fn a_legacy_secret_is_imported_and_verifies_tokens_without_kid() {
        let dir = tempfile::tempdir().expect("dir");
        let d = dir.path();
        std::fs::write(d.join(LEGACY_SECRET), b64().encode([7u8; 48])).expect("write");
        let ring = open_or_create(d, KeyAlg::HS256, 1000).expect("imported");
        assert!(ring.keys[0].legacy);
        let loaded = load(d, &ring).expect("load");
        assert!(loaded.verifier(None, 1000).is_some());
    }
}

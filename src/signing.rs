//! Ed25519 signing keys kept in the data directory (mode 0600), created on
//! first use: the audit log's checkpoint key and the archive key that signs
//! export manifests.

use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

pub struct KeyFile {
    key: SigningKey,
}

impl KeyFile {
    /// Load `path` (32 raw bytes), or create it with a fresh key.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let raw = match std::fs::read(path) {
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut k = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut k);
                crate::auth::jwt::write_private(path, &k)?;
                k.to_vec()
            }
            Err(e) => return Err(e),
        };
        Self::from_bytes(path, &raw)
    }

    /// Load an existing key file; never creates one (for the verifiers).
    pub fn load(path: &Path) -> std::io::Result<Self> {
        let raw = std::fs::read(path)?;
        Self::from_bytes(path, &raw)
    }

    fn from_bytes(path: &Path, raw: &[u8]) -> std::io::Result<Self> {
        let bytes: [u8; 32] = raw
            .try_into()
            .map_err(|_| std::io::Error::other(format!("{} is not a 32-byte Ed25519 key", path.display())))?;
        Ok(Self { key: SigningKey::from_bytes(&bytes) })
    }

    pub fn sign(&self, msg: &[u8]) -> String {
        hex::encode(self.key.sign(msg).to_bytes())
    }

    pub fn public(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    pub fn public_hex(&self) -> String {
        hex::encode(self.public().to_bytes())
    }
}

/// The file an old key of `path` is kept in after a rotation, for verification.
fn retired_path(path: &Path, id: &str) -> std::path::PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!("{name}.{id}.retired"))
}

/// Rotate a 32-byte key file: the current key moves to
/// `{file}.{id}.retired` (kept, mode 0600, to verify or open what it
/// protected) and a fresh key takes its place. `id` names a key (a public
/// key's or a hash's hex prefix). Returns (previous id, new id).
pub fn rotate_file(path: &Path, id: impl Fn(&[u8; 32]) -> String) -> std::io::Result<(String, String)> {
    let old = std::fs::read(path)?;
    let old: [u8; 32] = old
        .as_slice()
        .try_into()
        .map_err(|_| std::io::Error::other(format!("{} is not a 32-byte key", path.display())))?;
    let previous = id(&old);
    crate::auth::jwt::write_private(&retired_path(path, &previous), &old)?;
    let mut new = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut new);
    let tmp = path.with_extension("rotating");
    crate::auth::jwt::write_private(&tmp, &new)?;
    std::fs::rename(&tmp, path)?;
    Ok((previous, id(&new)))
}

/// The keys a rotation of `path` kept (`{file}.*.retired`), newest first.
pub fn retired_keys(path: &Path) -> std::io::Result<Vec<[u8; 32]>> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { return Ok(Vec::new()) };
    let prefix = format!("{}.", name.to_string_lossy());
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let n = entry.file_name().to_string_lossy().into_owned();
        if n.starts_with(&prefix) && n.ends_with(".retired") {
            let raw = std::fs::read(entry.path())?;
            if let Ok(k) = <[u8; 32]>::try_from(raw.as_slice()) {
                let at = entry.metadata()?.modified()?;
                found.push((at, k));
            }
        }
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    Ok(found.into_iter().map(|(_, k)| k).collect())
}

/// An Ed25519 key's id: the first 16 hex digits of its public key.
pub fn ed25519_id(seed: &[u8; 32]) -> String {
    hex::encode(SigningKey::from_bytes(seed).verifying_key().to_bytes())[..16].to_string()
}

/// The public keys that verify what `path` signed: the current key, then
/// every key a rotation retired.
pub fn verifying_keys(path: &Path) -> std::io::Result<Vec<VerifyingKey>> {
    let mut keys = vec![KeyFile::load(path)?.public()];
    keys.extend(retired_keys(path)?.iter().map(|k| SigningKey::from_bytes(k).verifying_key()));
    Ok(keys)
}

/// Does `signature_hex` sign `msg` under `public`?
pub fn verify(public: &VerifyingKey, msg: &[u8], signature_hex: &str) -> bool {
    let Ok(raw) = hex::decode(signature_hex.trim()) else { return false };
    let Ok(bytes) = <[u8; 64]>::try_from(raw.as_slice()) else { return false };
    public.verify(msg, &Signature::from_bytes(&bytes)).is_ok()
}

/// A public key from its hex form.
pub fn public_from_hex(s: &str) -> Option<VerifyingKey> {
    let raw = hex::decode(s.trim()).ok()?;
    let bytes = <[u8; 32]>::try_from(raw.as_slice()).ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_created_private_and_signs() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("k.key");
        let k = KeyFile::open(&path).expect("created");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let again = KeyFile::open(&path).expect("loaded");
        assert_eq!(k.public_hex(), again.public_hex());
        let sig = k.sign(b"hello");
        assert!(verify(&k.public(), b"hello", &sig));
        assert!(!verify(&k.public(), b"hellO", &sig));
        assert!(!verify(&k.public(), b"hello", "zz"));
        assert!(public_from_hex(&k.public_hex()).is_some());

        let (prev, new) = rotate_file(&path, ed25519_id).expect("rotated");
        assert_eq!(prev, k.public_hex()[..16]);
        let rotated = KeyFile::load(&path).expect("new key");
        assert_eq!(new, rotated.public_hex()[..16]);
        let keys = verifying_keys(&path).expect("keys");
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0], rotated.public());
        assert!(keys.iter().any(|p| verify(p, b"hello", &sig)), "the old signature still verifies");
    }
}

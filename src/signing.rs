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
    }
}

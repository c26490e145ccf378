//! Development TLS certificates: a self-signed certificate for localhost
//! written by `orgallery certs` (rcgen), and the rustls server config.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("cannot generate the certificate: {0}")]
    Generate(String),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// Write `cert.pem` and `key.pem` (mode 0600) for localhost into `dir`.
pub fn generate_dev_cert(dir: &Path) -> Result<(PathBuf, PathBuf), CertError> {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    let ck = rcgen::generate_simple_self_signed(names).map_err(|e| CertError::Generate(e.to_string()))?;
    std::fs::create_dir_all(dir).map_err(|source| CertError::Write { path: dir.to_path_buf(), source })?;
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).map_err(|source| CertError::Write { path: cert.clone(), source })?;
    crate::auth::jwt::write_private(&key, ck.key_pair.serialize_pem().as_bytes())
        .map_err(|source| CertError::Write { path: key.clone(), source })?;
    Ok((cert, key))
}

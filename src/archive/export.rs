//! The export: a zip streamed as it is read, never built in memory or in a
//! temporary file. A blocking task walks the files and feeds
//! `zip::ZipWriter::new_stream` (entries stored, with data descriptors),
//! whose output goes through a bounded channel to the response body, so
//! memory stays at a few chunks whatever the size of the recording, and a
//! client that stops reading stops the task.
//!
//! Layout: `timeline.json`, `media/<id>.<ext>` (released images),
//! `recording/recording-N.webm|mkv`, then `manifest.json`
//! `{"session","files":[{"path","bytes","sha256"}],"signed_by"}` (hashed
//! while streaming, so written last) and `manifest.sig`, the hex Ed25519
//! signature of `manifest.json`'s bytes by the archive key.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

use crate::signing::KeyFile;

const CHUNK: usize = 64 * 1024;
/// Chunks in flight between the zip task and the socket.
const IN_FLIGHT: usize = 8;
pub const MANIFEST: &str = "manifest.json";
pub const SIGNATURE: &str = "manifest.sig";

pub enum Source {
    Bytes(Vec<u8>),
    File(PathBuf),
}

/// One file of the export and where its bytes come from.
pub struct ExportFile {
    pub path: String,
    pub source: Source,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestFile {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub session: Value,
    pub files: Vec<ManifestFile>,
    #[serde(default)]
    pub signed_by: Option<String>,
}

/// `std::io::Write` into a bounded channel, a chunk at a time.
struct ChannelWriter {
    tx: mpsc::Sender<std::io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

fn options(len: u64) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .large_file(len >= u64::from(u32::MAX) - 1024)
}

/// Copy `r` into the open entry, hashing as it goes.
fn copy_hashed(r: &mut impl Read, w: &mut impl Write) -> std::io::Result<(u64, String)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut n = 0u64;
    loop {
        let got = r.read(&mut buf)?;
        if got == 0 {
            break;
        }
        h.update(&buf[..got]);
        w.write_all(&buf[..got])?;
        n += got as u64;
    }
    Ok((n, hex::encode(h.finalize())))
}

fn write_zip(
    out: ChannelWriter,
    session: Value,
    files: Vec<ExportFile>,
    key: &KeyFile,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut zip = zip::ZipWriter::new_stream(out);
    let mut listed = Vec::with_capacity(files.len());
    for f in files {
        let (bytes, sha256) = match f.source {
            Source::Bytes(b) => {
                zip.start_file(f.path.as_str(), options(b.len() as u64))?;
                copy_hashed(&mut b.as_slice(), &mut zip)?
            }
            Source::File(p) => {
                let mut file = std::fs::File::open(&p)?;
                let len = file.metadata()?.len();
                zip.start_file(f.path.as_str(), options(len))?;
                copy_hashed(&mut file, &mut zip)?
            }
        };
        listed.push(ManifestFile { path: f.path, bytes, sha256 });
    }
    let manifest = Manifest { session, files: listed, signed_by: Some(key.public_hex()) };
    let text = serde_json::to_vec_pretty(&manifest)?;
    zip.start_file(MANIFEST, options(text.len() as u64))?;
    zip.write_all(&text)?;
    zip.start_file(SIGNATURE, options(128))?;
    zip.write_all(key.sign(&text).as_bytes())?;
    let mut out = zip.finish()?.into_inner();
    out.flush()?;
    Ok(())
}

/// Start streaming the export; the stream ends (with an error item if
/// something failed midway) when the zip is complete.
pub fn stream(
    state: crate::state::AppState,
    session: Value,
    files: Vec<ExportFile>,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    let err_tx = tx.clone();
    tokio::task::spawn_blocking(move || {
        let out = ChannelWriter { tx, buf: Vec::with_capacity(CHUNK) };
        if let Err(e) = write_zip(out, session, files, &state.archive_key) {
            tracing::warn!(error = %e, "export stopped");
            let _ = err_tx.blocking_send(Err(std::io::Error::other("export stopped")));
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) })
}

/// What `orgallery archive verify` found.
#[derive(Debug)]
pub struct Verified {
    pub files: usize,
    pub bytes: u64,
}

/// Check every hash in the manifest, that nothing unlisted is in the zip,
/// and the manifest's signature under `public`.
pub fn verify_zip(path: &Path, public: &ed25519_dalek::VerifyingKey) -> Result<Verified, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| format!("not a readable zip: {e}"))?;
    let mut read_small = |name: &str| -> Result<Vec<u8>, String> {
        let mut entry = zip.by_name(name).map_err(|_| format!("{name} is missing"))?;
        let mut v = Vec::new();
        entry.by_ref().take(16 << 20).read_to_end(&mut v).map_err(|e| format!("{name}: {e}"))?;
        Ok(v)
    };
    let manifest_bytes = read_small(MANIFEST)?;
    let signature = read_small(SIGNATURE)?;
    let signature = std::str::from_utf8(&signature).map_err(|_| "manifest.sig is not text".to_string())?;
    if !crate::signing::verify(public, &manifest_bytes, signature) {
        return Err("the manifest's signature does not verify with the archive key".into());
    }
    let manifest: Manifest =
        serde_json::from_slice(&manifest_bytes).map_err(|e| format!("manifest.json is malformed: {e}"))?;
    let mut total = 0;
    for f in &manifest.files {
        let mut entry = zip.by_name(&f.path).map_err(|_| format!("{} is listed but missing", f.path))?;
        let (bytes, sha) = copy_hashed(&mut entry, &mut std::io::sink()).map_err(|e| format!("{}: {e}", f.path))?;
        if bytes != f.bytes || sha != f.sha256 {
            return Err(format!("{}: contents differ from the manifest", f.path));
        }
        total += bytes;
    }
    for name in zip.file_names() {
        let name = name.map_err(|e| format!("an entry name is unreadable: {e}"))?;
        let name = name.as_ref();
        if name != MANIFEST && name != SIGNATURE && !manifest.files.iter().any(|f| f.path == name) {
            return Err(format!("{name} is in the zip but not in the manifest"));
        }
    }
    Ok(Verified { files: manifest.files.len(), bytes: total })
}

//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz): each runs one
//! parser a client can reach exactly as the server runs it, on arbitrary
//! bytes. None may panic; errors are the parser's typed errors. The corpora
//! and every crash found are replayed by this module's tests, so CI checks
//! them without a fuzzer (see docs/FUZZING.md).

use std::io::{Read, Write};
use std::sync::OnceLock;

use futures_util::FutureExt;

/// A fuzz target's entry point.
pub type Target = fn(&[u8]);

/// Every target: its name (the directory under `fuzz/corpus/`) and entry.
pub const TARGETS: &[(&str, Target)] = &[
    ("sdp_offer", sdp_offer),
    ("sdp_fragment", sdp_fragment),
    ("client_frame", client_frame),
    ("ws_frames", ws_frames),
    ("ws_handshake", ws_handshake),
    ("jwt", jwt),
    ("config_toml", config_toml),
    ("multipart", multipart),
    ("image", image),
    ("redact", redact),
];

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// A WHIP/WHEP offer: our summary (codecs, directions, consent kinds), then
/// str0m's parser, as `media::engine` does.
pub fn sdp_offer(data: &[u8]) {
    let Some(offer) = text(data) else { return };
    if crate::media::sdp::summarize(offer).is_ok() {
        let _ = str0m::change::SdpOffer::from_sdp_string(offer);
    }
}

/// A trickle-ICE / ICE-restart `application/trickle-ice-sdpfrag` body.
pub fn sdp_fragment(data: &[u8]) {
    if let Some(frag) = text(data) {
        let _ = crate::media::sdp::parse_fragment(frag);
    }
}

/// A text frame a viewer sends on the live channel.
pub fn client_frame(data: &[u8]) {
    if let Some(t) = text(data) {
        let _ = crate::live::socket::parses_as_client_frame(t);
    }
}

/// Input from the client's side of a socket; what the server writes goes nowhere.
struct OneWay<'a>(&'a [u8]);

impl Read for OneWay<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for OneWay<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// WebSocket frames from a client, through tungstenite with the live
/// channel's limits (`live::socket::client_ws_config`), until the input ends
/// or the protocol fails.
pub fn ws_frames(data: &[u8]) {
    use tokio_tungstenite::tungstenite::protocol::{Role, WebSocket};
    let mut ws = WebSocket::from_raw_socket(OneWay(data), Role::Server, Some(crate::live::socket::client_ws_config()));
    for _ in 0..10_000 {
        match ws.read() {
            Ok(msg) => {
                if let Some(t) = msg.to_text().ok().filter(|_| msg.is_text()) {
                    let _ = crate::live::socket::parses_as_client_frame(t);
                }
            }
            Err(_) => return,
        }
    }
}

/// An HTTP/1.1 request head (parsed by `httparse`, hyper's parser) through
/// the WebSocket handshake's checks (`live::upgrade::WsUpgrade`).
pub fn ws_handshake(data: &[u8]) {
    use axum::extract::FromRequestParts;
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    let Ok(httparse::Status::Complete(_)) = req.parse(data) else { return };
    let mut b = axum::http::Request::builder().method(req.method.unwrap_or("GET")).uri(req.path.unwrap_or("/"));
    for h in req.headers.iter() {
        b = b.header(h.name, h.value);
    }
    let Ok(request) = b.body(()) else { return };
    let (mut parts, ()) = request.into_parts();
    let _ = crate::live::upgrade::WsUpgrade::from_request_parts(&mut parts, &()).now_or_never();
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| panic!("runtime: {e}"))
    })
}

fn tokens() -> &'static crate::auth::jwt::TokenService {
    static TOKENS: OnceLock<crate::auth::jwt::TokenService> = OnceLock::new();
    TOKENS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("orgallery-fuzz-keys-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let config = crate::config::Config::defaults(&dir);
        crate::auth::jwt::TokenService::load(&config.jwt, &dir).unwrap_or_else(|e| panic!("keys: {e}"))
    })
}

/// A bearer token: header and claims decoding and the signature check.
pub fn jwt(data: &[u8]) {
    if let Some(token) = text(data) {
        let _ = runtime().block_on(tokens().verify(token));
    }
}

/// A `--config` TOML file, through the same resolution `serve` does.
pub fn config_toml(data: &[u8]) {
    if let Some(t) = text(data) {
        let dir = std::path::Path::new("/nonexistent-orgallery-fuzz");
        let _ =
            crate::config::Config::resolve_text(dir, Some((std::path::Path::new("fuzz.toml"), t)), &Default::default());
    }
}

/// Boundary of the multipart target's body (the fuzzer writes the body).
pub const MULTIPART_BOUNDARY: &str = "orgalleryfuzz";

/// An image upload's `multipart/form-data` body through axum's extractor
/// (multer) and our field checks (`api::updates::read_image_form`).
pub fn multipart(data: &[u8]) {
    use axum::extract::{FromRequest, Multipart};
    let Ok(request) = axum::http::Request::builder()
        .method("POST")
        .uri("/")
        .header("content-type", format!("multipart/form-data; boundary={MULTIPART_BOUNDARY}"))
        .body(axum::body::Body::from(data.to_vec()))
    else {
        return;
    };
    runtime().block_on(async {
        if let Ok(form) = Multipart::from_request(request, &()).await {
            let _ = crate::api::updates::read_image_form(form).await;
        }
    });
}

/// An uploaded image: sniff, bounded decode, mask, re-encode, verify.
pub fn image(data: &[u8]) {
    let limits = orgallery_imaging::Limits { max_bytes: 1 << 20, max_pixels: 4_000_000 };
    let mask = orgallery_imaging::Mask { x: 1, y: 1, w: 8, h: 8 };
    if let Ok(clean) = orgallery_imaging::clean(data, &[mask], &limits) {
        if let Err(e) = orgallery_imaging::verify_clean(&clean.bytes, clean.format) {
            panic!("a cleaned image failed its own verification: {e}");
        }
    }
}

/// Text a surgeon publishes (or a question), through the redaction gate.
pub fn redact(data: &[u8]) {
    static REDACTOR: OnceLock<crate::redaction::Redactor> = OnceLock::new();
    if let Some(t) = text(data) {
        let r = REDACTOR.get_or_init(crate::redaction::Redactor::new);
        let _ = r.redact(t, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every committed corpus input and crash artifact, replayed.
    #[test]
    fn every_corpus_and_artifact_replays_without_a_panic() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let mut total = 0;
        for (name, run) in TARGETS {
            let corpus = root.join("corpus").join(name);
            let mut files = 0;
            for dir in [corpus.clone(), root.join("artifacts").join(name)] {
                let Ok(entries) = std::fs::read_dir(&dir) else { continue };
                for e in entries.flatten() {
                    let data = std::fs::read(e.path()).unwrap_or_else(|err| panic!("{}: {err}", e.path().display()));
                    run(&data);
                    files += 1;
                }
            }
            assert!(files > 0, "no corpus for fuzz target {name} in {}", corpus.display());
            total += files;
        }
        assert!(total >= TARGETS.len());
    }

    /// The CI's time-boxed run: every target on mutations of its corpus
    /// (bit flips, byte inserts and deletes, splices of two inputs,
    /// interesting bytes), for `ORGALLERY_FUZZ_MS` per target (default
    /// 1500 ms), from a fixed seed so a failure reproduces. Not coverage
    /// guided — that is `scripts/fuzz.sh` — but it runs with no extra build.
    #[test]
    fn mutated_corpora_for_a_short_time_box() {
        let budget = std::time::Duration::from_millis(
            std::env::var("ORGALLERY_FUZZ_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(1500),
        );
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join("corpus");
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for (name, run) in TARGETS {
            let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(root.join(name))
                .map(|d| d.flatten().filter_map(|e| std::fs::read(e.path()).ok()).collect())
                .unwrap_or_default();
            seeds.sort();
            assert!(!seeds.is_empty(), "no corpus for {name}");
            let started = std::time::Instant::now();
            let mut runs = 0u64;
            while started.elapsed() < budget {
                let mut input = seeds[(next() % seeds.len() as u64) as usize].clone();
                for _ in 0..1 + next() % 8 {
                    let at = if input.is_empty() { 0 } else { (next() % input.len() as u64) as usize };
                    match next() % 6 {
                        0 if !input.is_empty() => input[at] ^= 1 << (next() % 8),
                        1 => input.insert(at, next() as u8),
                        2 if !input.is_empty() => {
                            input.remove(at);
                        }
                        3 => {
                            let other = &seeds[(next() % seeds.len() as u64) as usize];
                            let from = (next() % (other.len() as u64 + 1)) as usize;
                            input.splice(at..at, other[from..].iter().copied().take(64));
                        }
                        4 if !input.is_empty() => {
                            input[at] =
                                [0, 0xff, 0x7f, 0x80, b'\r', b'\n', b'"', b':', b'=', b'-'][(next() % 10) as usize]
                        }
                        _ => input.truncate(at),
                    }
                }
                run(&input);
                runs += 1;
            }
            assert!(runs > 0, "{name} never ran");
            eprintln!("fuzz {name}: {runs} mutated inputs in {budget:?}");
        }
    }

    #[test]
    fn targets_reject_garbage_quietly() {
        for (_, run) in TARGETS {
            for input in [&b""[..], b"\xff\xfe\x00", b"{\"type\":\"ask\"", b"v=0\r\n", b"GET / HTTP/1.1\r\n\r\n"] {
                run(input);
            }
        }
    }
}

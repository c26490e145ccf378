//! Serving a stored file with HTTP range requests (RFC 9110 §14): one
//! `bytes=` range answers 206 with `Content-Range`, an unsatisfiable or
//! malformed one 416, no range (or another unit) the whole file; every
//! answer says `Accept-Ranges: bytes`. The file is streamed in chunks,
//! never read whole into memory.

use std::io::SeekFrom;
use std::path::Path;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::error::error_body;

const CHUNK: usize = 64 * 1024;

/// What a `Range` header asks of a file of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Want {
    Whole,
    /// Inclusive byte positions.
    Part(u64, u64),
    Unsatisfiable,
}

/// Parse one `Range` header value against a length.
pub fn parse(value: Option<&str>, len: u64) -> Want {
    let Some(v) = value else { return Want::Whole };
    let v = v.trim();
    let Some(spec) = v.strip_prefix("bytes=") else {
        // Another unit: ignored, as RFC 9110 allows.
        return if v.contains('=') { Want::Whole } else { Want::Unsatisfiable };
    };
    if spec.contains(',') {
        // Several ranges: served whole (a server may ignore Range).
        return Want::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else { return Want::Unsatisfiable };
    let num = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            None
        } else {
            s.parse().ok()
        }
    };
    match (a.trim(), b.trim()) {
        ("", suffix) => match num(suffix) {
            Some(0) | None => Want::Unsatisfiable,
            Some(_) if len == 0 => Want::Unsatisfiable,
            Some(n) => Want::Part(len.saturating_sub(n), len - 1),
        },
        (start, "") => match num(start) {
            Some(s) if s < len => Want::Part(s, len - 1),
            _ => Want::Unsatisfiable,
        },
        (start, end) => match (num(start), num(end)) {
            (Some(s), Some(e)) if s <= e && s < len => Want::Part(s, e.min(len - 1)),
            _ => Want::Unsatisfiable,
        },
    }
}

/// Answer a GET for `path` with ranges honoured.
pub async fn serve_file(
    path: &Path,
    content_type: &str,
    headers: &HeaderMap,
    extra: &[(header::HeaderName, &str)],
) -> std::io::Result<Response> {
    let mut file = tokio::fs::File::open(path).await?;
    let len = file.metadata().await?.len();
    let range = headers.get(header::RANGE).map(|v| v.to_str().unwrap_or("invalid"));
    let (status, start, end) = match parse(range, len) {
        Want::Whole => (StatusCode::OK, 0, len),
        Want::Part(s, e) => (StatusCode::PARTIAL_CONTENT, s, e + 1),
        Want::Unsatisfiable => {
            let mut r = error_body(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                "the requested range is malformed or outside the file",
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            r.headers_mut().insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            return Ok(r);
        }
    };
    file.seek(SeekFrom::Start(start)).await?;
    let body = Body::from_stream(chunks(file, end - start));
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{len}", end - 1)) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    for (k, v) in extra {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(k.clone(), v);
        }
    }
    Ok(resp)
}

/// `remaining` bytes of `file` from its position, a chunk at a time.
fn chunks(
    file: tokio::fs::File,
    remaining: u64,
) -> impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static {
    futures_util::stream::unfold((file, remaining), |(mut file, remaining)| async move {
        if remaining == 0 {
            return None;
        }
        let want = usize::try_from(remaining).unwrap_or(CHUNK).min(CHUNK);
        let mut buf = vec![0u8; want];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(bytes::Bytes::from(buf)), (file, remaining - n as u64)))
            }
            Err(e) => Some((Err(e), (file, 0))),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse(None, 10), Want::Whole);
        assert_eq!(parse(Some("bytes=0-3"), 10), Want::Part(0, 3));
        assert_eq!(parse(Some("bytes=5-"), 10), Want::Part(5, 9));
        assert_eq!(parse(Some("bytes=-4"), 10), Want::Part(6, 9));
        assert_eq!(parse(Some("bytes=-40"), 10), Want::Part(0, 9));
        assert_eq!(parse(Some("bytes=8-100"), 10), Want::Part(8, 9));
        assert_eq!(parse(Some("bytes=10-"), 10), Want::Unsatisfiable);
        assert_eq!(parse(Some("bytes=4-2"), 10), Want::Unsatisfiable);
        assert_eq!(parse(Some("bytes=x-2"), 10), Want::Unsatisfiable);
        assert_eq!(parse(Some("bytes=-0"), 10), Want::Unsatisfiable);
        assert_eq!(parse(Some("bytes=+1-2"), 10), Want::Unsatisfiable);
        assert_eq!(parse(Some("bytes=0-1,3-4"), 10), Want::Whole);
        assert_eq!(parse(Some("items=0-1"), 10), Want::Whole);
        assert_eq!(parse(Some("garbage"), 10), Want::Unsatisfiable);
    }
}

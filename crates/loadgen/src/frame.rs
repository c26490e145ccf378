//! Cheap reading of the live channel's server → client frames.
//!
//! An update frame carries the whole update (1 KiB of text or more) and at
//! 10,000 viewers × 10 updates/s the tool reads 100,000 of them a second, so
//! update frames are not parsed as JSON: `seq` and `released_at` are found by
//! byte search. That is sound because the server writes compact JSON and a
//! raw `"` can only appear in it as a string delimiter (inside string values
//! quotes are escaped as `\"`), so a match of `"seq":` or `"released_at":"`
//! is always a key. Other frames (state, rare) are parsed with serde_json.

use std::sync::LazyLock;

use memchr::memmem::{Finder, FinderRev};

/// What one text frame from the server says, as far as the tool cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A released update: its seq and its `released_at` in Unix nanoseconds
    /// (None when the field is missing or not RFC 3339).
    Update { seq: u64, released_at_ns: Option<i64> },
    /// A state frame; `viewers` as announced by the server.
    State { viewers: Option<u64> },
    /// Valid JSON of some other type (e.g. a pong).
    Other,
    /// Not what the contract says a frame is.
    Malformed,
}

const UPDATE_TYPE: &[u8] = b"\"type\":\"update\"";
const SEQ_KEY: &[u8] = b"\"seq\":";
const RELEASED_KEY: &[u8] = b"\"released_at\":\"";
/// How the server starts every update frame; checked first, searched for otherwise.
const UPDATE_PREFIX: &[u8] = b"{\"type\":\"update\",";

// Searchers are built once: building one per frame was a visible share of the tool's CPU.
static FIND_UPDATE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(UPDATE_TYPE));
static FIND_SEQ: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(SEQ_KEY));
static FIND_RELEASED: LazyLock<FinderRev<'static>> = LazyLock::new(|| FinderRev::new(RELEASED_KEY));

/// Classify one text frame.
pub fn classify(frame: &[u8]) -> Frame {
    if frame.starts_with(UPDATE_PREFIX) || FIND_UPDATE.find(frame).is_some() {
        let Some(seq) = FIND_SEQ.find(frame).and_then(|at| u64_after(&frame[at + SEQ_KEY.len()..])) else {
            return Frame::Malformed;
        };
        // `released_at` sits near the end of the update, after the text.
        // It sits near the end: look at the tail first, the whole frame only if needed.
        let tail = frame.len().saturating_sub(512);
        let found = FIND_RELEASED.rfind(&frame[tail..]).map(|at| at + tail).or_else(|| FIND_RELEASED.rfind(frame));
        let released_at_ns = found.and_then(|at| {
            let rest = &frame[at + RELEASED_KEY.len()..];
            let end = memchr::memchr(b'"', rest)?;
            parse_rfc3339_ns(&rest[..end])
        });
        return Frame::Update { seq, released_at_ns };
    }
    match serde_json::from_slice::<serde_json::Value>(frame) {
        Ok(v) => match v.get("type").and_then(|t| t.as_str()) {
            Some("state") => Frame::State { viewers: v.get("viewers").and_then(|n| n.as_u64()) },
            Some(_) => Frame::Other,
            None => Frame::Malformed,
        },
        Err(_) => Frame::Malformed,
    }
}

/// The unsigned integer at the start of `rest`, after optional whitespace.
fn u64_after(rest: &[u8]) -> Option<u64> {
    let start = rest.iter().position(|b| !b.is_ascii_whitespace())?;
    let digits = &rest[start..];
    let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 || len > 19 {
        return None;
    }
    let mut n: u64 = 0;
    for &d in &digits[..len] {
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(n)
}

fn digits(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parse an RFC 3339 timestamp (`2026-05-01T12:34:56.123456789Z`, fraction
/// optional, `Z` or `±HH:MM`) into Unix nanoseconds. Leap seconds (`:60`) are
/// folded into the next second, as the server's clock never makes them.
pub fn parse_rfc3339_ns(s: &[u8]) -> Option<i64> {
    if s.len() < 20 {
        return None;
    }
    if s[4] != b'-' || s[7] != b'-' || !matches!(s[10], b'T' | b't' | b' ') || s[13] != b':' || s[16] != b':' {
        return None;
    }
    let year = digits(&s[0..4])?;
    let month = digits(&s[5..7])?;
    let day = digits(&s[8..10])?;
    let hour = digits(&s[11..13])?;
    let minute = digits(&s[14..16])?;
    let second = digits(&s[17..19])?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut nanos: i64 = 0;
    if let Some(frac) = rest.strip_prefix(b".") {
        let len = frac.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        // Keep nanosecond precision; finer digits are dropped.
        for i in 0..9 {
            nanos = nanos * 10 + frac.get(i).filter(|_| i < len).map_or(0, |d| i64::from(d - b'0'));
        }
        rest = &frac[len..];
    }
    let offset_secs = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits(&[*h1, *h2])?;
            let m = digits(&[*m1, *m2])?;
            if h > 23 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            if *sign == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPDATE: &str = r#"{"seq":42,"type":"update","update":{"seq":42,"id":"0b6c","kind":"text","text":"suture \"seq\":7 \"released_at\":\"1999-01-01T00:00:00Z\" done","label":null,"caption":null,"image_url":null,"created_at":"2026-05-01T12:00:00.000000001Z","released_at":"2026-05-01T12:00:00.250000000Z","redactions":[]}}"#;

    #[test]
    fn update_fields_by_byte_search() {
        let f = classify(UPDATE.as_bytes());
        let expect = parse_rfc3339_ns(b"2026-05-01T12:00:00.25Z");
        assert!(expect.is_some());
        assert_eq!(f, Frame::Update { seq: 42, released_at_ns: expect });
    }

    #[test]
    fn type_first_key_order_and_whitespace() {
        let f = classify(br#"{"type":"update","seq": 7,"update":{"seq":7,"released_at":"1970-01-01T00:00:01Z"}}"#);
        assert_eq!(f, Frame::Update { seq: 7, released_at_ns: Some(1_000_000_000) });
    }

    #[test]
    fn update_without_seq_is_malformed_and_bad_timestamp_is_none() {
        assert_eq!(classify(br#"{"type":"update","update":{}}"#), Frame::Malformed);
        assert_eq!(
            classify(br#"{"type":"update","seq":3,"update":{"released_at":"yesterday"}}"#),
            Frame::Update { seq: 3, released_at_ns: None }
        );
        assert_eq!(classify(br#"{"type":"update","seq":-3}"#), Frame::Malformed);
        assert_eq!(classify(br#"{"type":"update","seq":99999999999999999999}"#), Frame::Malformed);
    }

    #[test]
    fn state_and_other_frames() {
        assert_eq!(
            classify(br#"{"type":"state","state":"live","curtain":false,"delay_seconds":0,"viewers":1000}"#),
            Frame::State { viewers: Some(1000) }
        );
        assert_eq!(classify(br#"{"type":"pong"}"#), Frame::Other);
        assert_eq!(classify(b"not json"), Frame::Malformed);
        assert_eq!(classify(br#"{"no":"type"}"#), Frame::Malformed);
    }

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(parse_rfc3339_ns(b"1970-01-01T00:00:00Z"), Some(0));
        // date -u -d 2000-03-01 +%s → 951868800
        assert_eq!(parse_rfc3339_ns(b"2000-03-01T00:00:00Z"), Some(951_868_800_000_000_000));
        // Leap day; date -u -d '2024-02-29 23:59:59' +%s → 1709251199
        assert_eq!(parse_rfc3339_ns(b"2024-02-29T23:59:59.5Z"), Some(1_709_251_199_500_000_000));
        // Nanoseconds kept, finer digits dropped.
        assert_eq!(
            parse_rfc3339_ns(b"2026-05-01T12:34:56.123456789123Z"),
            parse_rfc3339_ns(b"2026-05-01T12:34:56.123456789Z")
        );
        assert_eq!(parse_rfc3339_ns(b"2026-05-01T12:34:56.123456789Z").map(|n| n % 1_000_000_000), Some(123_456_789));
        // Offsets: the same instant three ways.
        let z = parse_rfc3339_ns(b"2026-05-01T12:00:00Z");
        assert_eq!(parse_rfc3339_ns(b"2026-05-01T14:30:00+02:30"), z);
        assert_eq!(parse_rfc3339_ns(b"2026-05-01T07:00:00-05:00"), z);
        // Before the epoch.
        assert_eq!(parse_rfc3339_ns(b"1969-12-31T23:59:59Z"), Some(-1_000_000_000));
    }

    #[test]
    fn rfc3339_rejects_garbage() {
        for bad in [
            &b""[..],
            b"2026-05-01",
            b"2026-05-01T12:00:00",
            b"2026-13-01T12:00:00Z",
            b"2026-05-01T24:00:00Z",
            b"2026-05-01T12:00:00.Z",
            b"2026-05-01T12:00:00+0200",
            b"2026/05/01T12:00:00Z",
            b"2026-05-01T12:00:00Zjunk",
            b"20x6-05-01T12:00:00Z",
        ] {
            assert_eq!(parse_rfc3339_ns(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}

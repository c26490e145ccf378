//! Server-to-client WebSocket frames, encoded once. A released update is
//! framed a single time and the same bytes are written to every viewer's
//! socket; server frames are never masked (RFC 6455 §5.1).

use bytes::Bytes;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{CloseFrame, Frame};

/// A complete, encoded WebSocket frame.
pub type Wire = Bytes;

fn encode(frame: Frame) -> Wire {
    let mut out = Vec::with_capacity(frame.len());
    // Formatting into a Vec cannot fail: the only error source is the writer.
    let _ = frame.format(&mut out);
    Bytes::from(out)
}

/// A text frame carrying `payload` (already valid UTF-8 JSON).
pub fn text(payload: impl Into<Bytes>) -> Wire {
    encode(Frame::message(payload, OpCode::Data(Data::Text), true))
}

/// A close frame with a code and a short reason (at most 123 bytes are sent).
pub fn close(code: u16, reason: &str) -> Wire {
    let mut cut = reason.len().min(123);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    encode(Frame::close(Some(CloseFrame { code: CloseCode::from(code), reason: reason[..cut].to_string().into() })))
}

/// The answer to a client's WebSocket ping.
pub fn pong(payload: Bytes) -> Wire {
    encode(Frame::pong(payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_text_frame_is_fin_text_unmasked() {
        let w = text("{}");
        assert_eq!(&w[..], &[0x81, 2, b'{', b'}']);
    }

    #[test]
    fn medium_and_large_lengths_use_extended_headers() {
        let w = text(vec![b'a'; 1024]);
        assert_eq!(&w[..4], &[0x81, 126, 4, 0]);
        assert_eq!(w.len(), 1028);
        let w = text(vec![b'a'; 70_000]);
        assert_eq!(w[1], 127);
        assert_eq!(w.len(), 70_010);
    }

    #[test]
    fn close_frame_carries_code_and_truncated_reason() {
        let w = close(4008, "too slow");
        assert_eq!(&w[..4], &[0x88, 10, 0x0f, 0xa8]);
        assert_eq!(&w[4..], b"too slow");
        let long = "é".repeat(100);
        let w = close(1000, &long);
        assert!(w.len() <= 2 + 125);
        assert!(std::str::from_utf8(&w[4..]).is_ok());
    }
}

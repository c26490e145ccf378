//! A lean WebSocket client for the viewers: the RFC 6455 handshake over a
//! plain `TcpStream`, then server frames parsed in place from one reused
//! buffer. At 100,000 frames a second the tool must cost much less per frame
//! than the server it measures; a general client (tokio-tungstenite) spent
//! most of its time on buffer zeroing, per-message allocation and wake-up
//! plumbing. Only what the live channel uses is supported: unmasked server
//! frames, text, close, ping, pong; the tool sends a close, and pings for
//! `orgallery-idle`.

use std::io;

use std::net::{IpAddr, SocketAddr};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// Largest frame the tool accepts (the server's updates are far smaller).
const MAX_FRAME: usize = 1 << 20;
const INITIAL_BUF: usize = 16 * 1024;
const MAX_HEADER: usize = 16 * 1024;

#[derive(Debug)]
pub enum ConnectError {
    /// The server answered with this HTTP status instead of 101.
    Status(u16),
    Io(io::Error),
    /// Not a valid handshake answer.
    Protocol(&'static str),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Status(s) => write!(f, "HTTP {s}"),
            ConnectError::Io(e) => write!(f, "io: {}", e.kind()),
            ConnectError::Protocol(m) => write!(f, "handshake: {m}"),
        }
    }
}

impl From<io::Error> for ConnectError {
    fn from(e: io::Error) -> Self {
        ConnectError::Io(e)
    }
}

/// One frame from the server, borrowed from the connection's buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Msg<'a> {
    Text(&'a [u8]),
    /// A close frame and its code, if it carried one.
    Close(Option<u16>),
    /// A pong and its payload (the answer to [`Conn::send_ping`]).
    Pong(&'a [u8]),
    /// Ping, binary or continuation: not used by the live channel.
    Other,
}

/// What the start of a buffer holds.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    /// Need more bytes.
    Incomplete,
    /// A whole frame: opcode, payload start and end, all relative to the buffer.
    Frame {
        opcode: u8,
        payload: (usize, usize),
    },
    Invalid(&'static str),
}

fn parse(buf: &[u8]) -> Parsed {
    if buf.len() < 2 {
        return Parsed::Incomplete;
    }
    let (b0, b1) = (buf[0], buf[1]);
    if b0 & 0x70 != 0 {
        return Parsed::Invalid("reserved bits set");
    }
    if b1 & 0x80 != 0 {
        return Parsed::Invalid("masked server frame");
    }
    let (len, header) = match b1 & 0x7f {
        126 if buf.len() < 4 => return Parsed::Incomplete,
        126 => (usize::from(u16::from_be_bytes([buf[2], buf[3]])), 4),
        127 if buf.len() < 10 => return Parsed::Incomplete,
        127 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[2..10]);
            (usize::try_from(u64::from_be_bytes(b)).unwrap_or(usize::MAX), 10)
        }
        n => (usize::from(n), 2),
    };
    if len > MAX_FRAME {
        return Parsed::Invalid("frame too large");
    }
    if buf.len() < header + len {
        return Parsed::Incomplete;
    }
    Parsed::Frame { opcode: b0 & 0x0f, payload: (header, header + len) }
}

pub struct Conn {
    tcp: TcpStream,
    buf: Vec<u8>,
    /// Unconsumed bytes are buf[start..end].
    start: usize,
    end: usize,
}

/// `ws://host:port/path` → (`host:port`, `/path`).
fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("ws://")?;
    let slash = rest.find('/')?;
    Some((&rest[..slash], &rest[slash..]))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// Open a viewer: `url` is `ws://host:port/path?query`, `auth` the
/// Authorization header value.
#[allow(dead_code)] // orgallery-load only
pub async fn connect(url: &str, auth: &str) -> Result<Conn, ConnectError> {
    connect_from(url, auth, None).await
}

/// [`connect`] from a chosen local address (e.g. 127.0.0.2, for more
/// source ports than one address has); `host` must then be an IP:port.
pub async fn connect_from(url: &str, auth: &str, source: Option<IpAddr>) -> Result<Conn, ConnectError> {
    let (host, path) = split_url(url).ok_or(ConnectError::Protocol("only ws:// URLs"))?;
    let mut tcp = match source {
        None => TcpStream::connect(host).await?,
        Some(ip) => {
            let to: SocketAddr =
                host.parse().map_err(|_| ConnectError::Protocol("--source-ips needs an IP:port URL"))?;
            let sock = if ip.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
            sock.bind(SocketAddr::new(ip, 0))?;
            sock.connect(to).await?
        }
    };
    tcp.set_nodelay(true)?;
    let key = generate_key();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: {auth}\r\n\r\n"
    );
    tcp.write_all(req.as_bytes()).await?;
    let mut buf = vec![0u8; INITIAL_BUF];
    let mut end = 0;
    let head_end = loop {
        if let Some(at) = find(&buf[..end], b"\r\n\r\n") {
            break at + 4;
        }
        if end >= MAX_HEADER {
            return Err(ConnectError::Protocol("response header too long"));
        }
        let n = tcp.read(&mut buf[end..]).await?;
        if n == 0 {
            return Err(ConnectError::Protocol("closed during the handshake"));
        }
        end += n;
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| ConnectError::Protocol("non-UTF-8 header"))?;
    let status: u16 = head
        .split_ascii_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(ConnectError::Protocol("no status line"))?;
    if status != 101 {
        return Err(ConnectError::Status(status));
    }
    let expected = derive_accept_key(key.as_bytes());
    let accepted = head.lines().any(|l| {
        l.split_once(':')
            .is_some_and(|(k, v)| k.trim().eq_ignore_ascii_case("sec-websocket-accept") && v.trim() == expected)
    });
    if !accepted {
        return Err(ConnectError::Protocol("wrong Sec-WebSocket-Accept"));
    }
    Ok(Conn { tcp, buf, start: head_end, end })
}

impl Conn {
    /// The next frame; None when the server closed the TCP connection.
    pub async fn next(&mut self) -> io::Result<Option<Msg<'_>>> {
        loop {
            match parse(&self.buf[self.start..self.end]) {
                Parsed::Frame { opcode, payload: (a, b) } => {
                    let (a, b) = (self.start + a, self.start + b);
                    self.start = b;
                    let payload = &self.buf[a..b];
                    return Ok(Some(match opcode {
                        0x1 => Msg::Text(payload),
                        0x8 if payload.len() >= 2 => Msg::Close(Some(u16::from_be_bytes([payload[0], payload[1]]))),
                        0x8 => Msg::Close(None),
                        0xA => Msg::Pong(payload),
                        _ => Msg::Other,
                    }));
                }
                Parsed::Invalid(m) => return Err(io::Error::new(io::ErrorKind::InvalidData, m)),
                Parsed::Incomplete => {}
            }
            // Make room: move the partial frame to the front, grow if it is big.
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                self.buf.resize((self.buf.len() * 2).min(MAX_FRAME + 16), 0);
            }
            let n = self.tcp.read(&mut self.buf[self.end..]).await?;
            if n == 0 {
                return Ok(None);
            }
            self.end += n;
        }
    }

    /// Send a (masked) ping carrying `payload` (at most 125 bytes).
    #[allow(dead_code)] // orgallery-idle only
    pub async fn send_ping(&mut self, payload: &[u8]) -> io::Result<()> {
        let mask = [0x5a, 0x13, 0xc4, 0x7e];
        let len = payload.len().min(125);
        let mut frame = Vec::with_capacity(6 + len);
        frame.extend_from_slice(&[0x89, 0x80 | len as u8]);
        frame.extend_from_slice(&mask);
        frame.extend(payload[..len].iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.tcp.write_all(&frame).await
    }

    /// Send a (masked) text frame.
    #[allow(dead_code)] // orgallery-load only
    pub async fn send_text(&mut self, text: &str) -> io::Result<()> {
        let mask = [0x21, 0x9c, 0x4e, 0xb7];
        let data = text.as_bytes();
        let mut frame = Vec::with_capacity(14 + data.len());
        frame.push(0x81);
        match data.len() {
            n @ 0..=125 => frame.push(0x80 | n as u8),
            n @ 126..=0xffff => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(data.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.tcp.write_all(&frame).await
    }

    /// Send a (masked) close frame with code 1000.
    pub async fn send_close(&mut self) -> io::Result<()> {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let code = 1000u16.to_be_bytes();
        let frame = [0x88, 0x82, mask[0], mask[1], mask[2], mask[3], code[0] ^ mask[0], code[1] ^ mask[1]];
        self.tcp.write_all(&frame).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lengths_and_needs_more() {
        assert_eq!(parse(&[0x81]), Parsed::Incomplete);
        assert_eq!(parse(&[0x81, 2, b'{', b'}']), Parsed::Frame { opcode: 1, payload: (2, 4) });
        assert_eq!(parse(&[0x81, 2, b'{']), Parsed::Incomplete);
        let mut f = vec![0x81, 126, 1, 0];
        f.extend(vec![b'a'; 256]);
        assert_eq!(parse(&f), Parsed::Frame { opcode: 1, payload: (4, 260) });
        assert_eq!(parse(&f[..100]), Parsed::Incomplete);
        let mut g = vec![0x88, 127, 0, 0, 0, 0, 0, 1, 0, 0];
        g.extend(vec![0; 65536]);
        assert_eq!(parse(&g), Parsed::Frame { opcode: 8, payload: (10, 65546) });
    }

    #[test]
    fn refuses_masked_reserved_and_huge_frames() {
        assert!(matches!(parse(&[0x81, 0x82, 0, 0, 0, 0, 0, 0]), Parsed::Invalid(_)));
        assert!(matches!(parse(&[0xc1, 0]), Parsed::Invalid(_)));
        assert!(matches!(parse(&[0x81, 127, 0, 0, 0, 1, 0, 0, 0, 0]), Parsed::Invalid(_)));
    }

    #[test]
    fn splits_ws_urls() {
        assert_eq!(split_url("ws://127.0.0.1:80/a/b?x=1"), Some(("127.0.0.1:80", "/a/b?x=1")));
        assert_eq!(split_url("wss://h/a"), None);
    }
}

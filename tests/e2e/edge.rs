//! The HTTP edge: slowloris cut off (plain and TLS), the global connection
//! limit (upgraded sockets included), the per-address cap on live sockets
//! (429 before the upgrade), oversized client frames (1009), CSRF on cookie
//! requests, the security headers, and TLS's `close_notify`.

use std::time::{Duration, Instant};

use orgallery::model::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{assert_error, TestServer};
use crate::ws::{connect_with, viewer, ws_url};

/// Read until EOF or error; true when the server closed within `wait`.
async fn closed_within(tcp: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn a_slowloris_client_is_cut_off_at_the_header_timeout() {
    let ts = TestServer::start_with(|c| c.edge.header_read_timeout = Duration::from_secs(1)).await;
    let mut tcp = TcpStream::connect(ts.server.addr).await.expect("connect");
    tcp.write_all(b"GET /api/healthz HTTP/1.1\r\nHost: x\r\n").await.expect("write");
    let started = Instant::now();
    // One header byte every 200 ms: it never finishes its headers.
    let mut cut = false;
    for _ in 0..25 {
        if tcp.write_all(b"X").await.is_err() {
            cut = true;
            break;
        }
        if closed_within(&mut tcp, Duration::from_millis(200)).await {
            cut = true;
            break;
        }
    }
    assert!(cut, "the slow client was never cut off");
    assert!(started.elapsed() < Duration::from_secs(4), "cut off late: {:?}", started.elapsed());
    // Control: a normal request on the same server is answered.
    let (s, _) = ts.call(reqwest::Method::GET, "/api/me", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // An idle keep-alive connection is closed after the same timeout.
    let mut idle = TcpStream::connect(ts.server.addr).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(5), idle.read(&mut buf)).await.expect("answer").expect("read");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert!(closed_within(&mut idle, Duration::from_secs(4)).await, "the idle keep-alive connection stayed open");
}

#[tokio::test]
async fn connections_over_the_global_limit_get_503() {
    let ts = TestServer::start_with(|c| c.edge.max_connections = 2).await;
    let _a = TcpStream::connect(ts.server.addr).await.expect("a");
    let _b = TcpStream::connect(ts.server.addr).await.expect("b");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut c = TcpStream::connect(ts.server.addr).await.expect("c");
    c.write_all(b"GET /api/me HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains(r#""code":"unavailable""#), "{text}");
    drop((_a, _b));
    // Places come back once those connections are gone.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (s, _) = ts.call(reqwest::Method::GET, "/api/me", None, None).await;
        if s == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(Instant::now() < deadline, "the limit never freed up: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn live_sockets_per_address_are_capped_with_429() {
    let ts = TestServer::start_with(|c| c.edge.live_per_address = 2).await;
    let (id, _, _) = ts.live().await;
    let (student, _) = ts.token(Role::Student).await;
    let mut a = viewer(&ts, &id, &student, 0).await;
    let _b = viewer(&ts, &id, &student, 0).await;
    let url = ws_url(&ts, &format!("/api/sessions/{id}/live"));
    let auth = format!("Bearer {student}");
    match connect_with(&url, &[("authorization", &auth)]).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 429),
        Err(e) => panic!("expected 429, got {e}"),
        Ok(_) => panic!("a third socket from the same address was accepted"),
    }
    a.ws.close(None).await.expect("close");
    drop(a);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if connect_with(&url, &[("authorization", &auth)]).await.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "the closed socket's place never came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_oversized_client_frame_closes_1009() {
    let ts = TestServer::start().await;
    let (id, _, _) = ts.live().await;
    let (student, _) = ts.token(Role::Student).await;
    let mut v = viewer(&ts, &id, &student, 0).await;
    let big = format!(r#"{{"type":"ask","text":"{}"}}"#, "a".repeat(70 * 1024));
    v.send(&big).await;
    assert_eq!(v.close_code(Duration::from_secs(5)).await, Some(1009));
}

async fn cookie_login(ts: &TestServer) -> String {
    let (u, p, _) = ts.user(Role::Student).await;
    let resp = ts.login(&u, &p).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("json");
    body["access_token"].as_str().expect("token").to_string()
}

#[tokio::test]
async fn cookie_requests_that_change_state_need_a_same_origin_origin() {
    let ts = TestServer::start().await;
    let token = cookie_login(&ts).await;
    let cookie = format!("orgallery_token={token}");
    let post = |origin: Option<&str>| {
        let mut rb = ts.http.post(ts.url("/api/auth/logout")).header("cookie", &cookie);
        if let Some(o) = origin {
            rb = rb.header("origin", o);
        }
        rb.send()
    };
    for origin in [None, Some("https://evil.example"), Some("null")] {
        let resp = post(origin).await.expect("post");
        let status = resp.status();
        let v: Value = resp.json().await.expect("json");
        assert_error(&(status, v), StatusCode::FORBIDDEN, "cross_origin");
    }
    // Nothing changed: the cookie still works.
    let me = ts.http.get(ts.url("/api/me")).header("cookie", &cookie).send().await.expect("me");
    assert_eq!(me.status(), StatusCode::OK, "GET needs no Origin");
    // Bearer requests are exempt; the same origin passes.
    let (s, v) = ts.post("/api/auth/refresh", &token, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let resp = post(Some(&ts.server.url)).await.expect("post");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let me = ts.http.get(ts.url("/api/me")).header("cookie", &cookie).send().await.expect("me");
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED, "the same-origin logout took effect");
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[tokio::test]
async fn security_headers_on_api_and_app_responses() {
    let ts = TestServer::start().await;
    let (token, _) = ts.token(Role::Student).await;
    for (path, auth) in [("/api/me", true), ("/api/me", false), ("/api/nowhere", true)] {
        let mut rb = ts.http.get(ts.url(path));
        if auth {
            rb = rb.bearer_auth(&token);
        }
        let r = rb.send().await.expect("get");
        assert_eq!(header(&r, "content-security-policy"), "default-src 'none'; frame-ancestors 'none'", "{path}");
        assert_eq!(header(&r, "x-content-type-options"), "nosniff");
        assert_eq!(header(&r, "referrer-policy"), "no-referrer");
        assert_eq!(header(&r, "cache-control"), "no-store", "{path}");
        assert_eq!(header(&r, "strict-transport-security"), "", "no HSTS over plain HTTP");
    }
    // The web app keeps its own CSP (set by its handler), still framed by no one.
    let r = ts.http.get(ts.url("/")).send().await.expect("get /");
    let csp = header(&r, "content-security-policy");
    assert!(!csp.is_empty() && csp != "default-src 'none'; frame-ancestors 'none'", "{csp}");
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");

    let tls = TestServer::start_with(|c| {
        c.tls = true;
        c.cert = c.data_dir.join("certs/cert.pem");
        c.key = c.data_dir.join("certs/key.pem");
    })
    .await;
    let r = tls.http.get(tls.url("/api/me")).send().await.expect("https get");
    assert!(header(&r, "strict-transport-security").starts_with("max-age="), "HSTS under TLS");
    assert_eq!(header(&r, "content-security-policy"), "default-src 'none'; frame-ancestors 'none'");
}

/// Send a bare GET on a fresh connection; the status line's code, or None.
async fn raw_status(addr: std::net::SocketAddr) -> Option<u16> {
    let mut tcp = TcpStream::connect(addr).await.ok()?;
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.ok()?;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).split(' ').nth(1)?.parse().ok()
}

#[tokio::test]
async fn upgraded_live_sockets_count_toward_the_connection_limit() {
    // A short header timeout closes the test client's idle keep-alive
    // connections, so only the sockets below hold places.
    let ts = TestServer::start_with(|c| {
        c.edge.max_connections = 3;
        c.edge.header_read_timeout = Duration::from_secs(1);
    })
    .await;
    let (id, _, _) = ts.live().await;
    let (student, _) = ts.token(Role::Student).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut viewers = Vec::new();
    for _ in 0..3 {
        viewers.push(viewer(&ts, &id, &student, 0).await);
    }
    assert_eq!(raw_status(ts.server.addr).await, Some(503), "three open sockets fill a limit of three");
    let mut first = viewers.remove(0);
    first.ws.close(None).await.expect("close");
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    while raw_status(ts.server.addr).await != Some(200) {
        assert!(Instant::now() < deadline, "a closed socket's place never came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn tls_client(ts: &TestServer) -> tokio_rustls::TlsConnector {
    let pem = std::fs::read(&ts.server.state.config.cert).expect("generated cert");
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut &pem[..]) {
        roots.add(cert.expect("pem")).expect("root");
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
}

#[tokio::test]
async fn tls_closes_with_close_notify_and_cuts_slow_handshakes_and_headers() {
    let ts = TestServer::start_with(|c| {
        c.tls = true;
        c.cert = c.data_dir.join("certs/cert.pem");
        c.key = c.data_dir.join("certs/key.pem");
        c.edge.header_read_timeout = Duration::from_secs(1);
    })
    .await;
    let name = || rustls::pki_types::ServerName::try_from("localhost").expect("name");
    // A request that asks to close: the answer, then close_notify (rustls
    // reports a bare TCP close as an UnexpectedEof error instead).
    let tcp = TcpStream::connect(ts.server.addr).await.expect("tcp");
    let mut tls = tls_client(&ts).connect(name(), tcp).await.expect("handshake");
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.expect("write");
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut out)).await.expect("closed in time");
    let text = String::from_utf8_lossy(&out);
    assert!(read.is_ok(), "no close_notify: {read:?} after {text}");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.to_ascii_lowercase().contains("strict-transport-security"), "{text}");
    // A TCP connection that never starts its handshake is closed.
    let mut silent = TcpStream::connect(ts.server.addr).await.expect("tcp");
    assert!(closed_within(&mut silent, Duration::from_secs(4)).await, "a silent TLS client stayed connected");
    // A slowloris after the handshake is cut off at the header timeout.
    let tcp = TcpStream::connect(ts.server.addr).await.expect("tcp");
    let mut slow = tls_client(&ts).connect(name(), tcp).await.expect("handshake");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n").await.expect("write");
    let started = Instant::now();
    let mut cut = false;
    let mut buf = [0u8; 256];
    for _ in 0..25 {
        if slow.write_all(b"X").await.is_err() {
            cut = true;
            break;
        }
        match tokio::time::timeout(Duration::from_millis(200), slow.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                cut = true;
                break;
            }
            _ => {}
        }
    }
    assert!(cut, "the slow TLS client was never cut off");
    assert!(started.elapsed() < Duration::from_secs(4), "cut off late: {:?}", started.elapsed());
    // Control: a normal client on the same listener is served.
    let (s, _) = ts.call(reqwest::Method::GET, "/api/me", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

//! The sharded fan-out under the edges it owns: viewers joining while items
//! are being released (catch-up, no gap or duplicate), WebSocket-level
//! client frames (ping, close, oversized), refused handshakes, and the live
//! channel over TLS (where the socket cannot be taken raw).

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use orgallery::model::Role;
use reqwest::StatusCode;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use crate::support::TestServer;
use crate::ws::{viewer, ws_url, Next, Viewer};

const WAIT: Duration = Duration::from_secs(10);

/// Every update seq a viewer receives until `last` arrives.
async fn seqs_until(v: &mut Viewer, last: u64) -> Vec<u64> {
    let mut out = Vec::new();
    loop {
        match v.next(WAIT).await {
            Next::Frame(f) if f["type"] == "update" => {
                let seq = f["seq"].as_u64().expect("seq");
                out.push(seq);
                if seq >= last {
                    return out;
                }
            }
            Next::Frame(_) => {}
            other => panic!("viewer stopped early after {out:?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn viewers_joining_during_releases_get_every_seq_exactly_once() {
    let ts = Arc::new(TestServer::start().await);
    let (id, surgeon, _) = ts.live().await;
    let (student, _) = ts.token(Role::Student).await;
    let total = 150u64;
    let publisher = {
        let (ts, id, surgeon) = (ts.clone(), id.clone(), surgeon.clone());
        tokio::spawn(async move {
            for i in 0..total {
                let (s, v) = ts
                    .post(
                        &format!("/api/sessions/{id}/updates"),
                        &surgeon,
                        json!({"kind": "text", "text": i.to_string()}),
                    )
                    .await;
                assert_eq!(s, StatusCode::ACCEPTED, "{v}");
                if i % 10 == 0 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        })
    };
    // Viewers join throughout the releases, from the start or resuming.
    let mut joined = Vec::new();
    for k in 0..24u64 {
        let after = if k % 3 == 2 { k } else { 0 };
        joined.push((after, viewer(&ts, &id, &student, after).await));
        tokio::time::sleep(Duration::from_millis(7)).await;
    }
    publisher.await.expect("publisher");
    for (after, mut v) in joined {
        let got = seqs_until(&mut v, total).await;
        assert_eq!(got, ((after + 1)..=total).collect::<Vec<_>>(), "viewer after={after}");
    }
}

#[tokio::test]
async fn websocket_ping_close_and_oversized_messages() {
    let ts = TestServer::start().await;
    let (id, _, _) = ts.live().await;
    let (student, _) = ts.token(Role::Student).await;
    let mut watcher = viewer(&ts, &id, &student, 0).await;

    // A WebSocket ping is answered with a pong carrying the same payload.
    let mut v = viewer(&ts, &id, &student, 0).await;
    v.ws.send(Message::Ping(b"are you there".to_vec().into())).await.expect("ping");
    let pong = loop {
        match tokio::time::timeout(WAIT, v.ws.next()).await.expect("in time") {
            Some(Ok(Message::Pong(p))) => break p,
            Some(Ok(_)) => continue,
            other => panic!("no pong: {other:?}"),
        }
    };
    assert_eq!(&pong[..], b"are you there");

    // A client close is answered with the same code, and the viewer count drops.
    v.ws.send(Message::Close(Some(CloseFrame { code: CloseCode::Away, reason: "bye".into() }))).await.expect("close");
    let echoed = loop {
        match tokio::time::timeout(WAIT, v.ws.next()).await.expect("in time") {
            Some(Ok(Message::Close(c))) => break c.map(|c| u16::from(c.code)),
            Some(Ok(_)) => continue,
            other => panic!("no close echo: {other:?}"),
        }
    };
    assert_eq!(echoed, Some(1001));

    // A message over the 64 KiB limit closes the socket with 1009.
    let mut big = viewer(&ts, &id, &student, 0).await;
    big.send(&format!(r#"{{"type":"ask","text":"{}"}}"#, "x".repeat(70 * 1024))).await;
    assert_eq!(big.close_code(WAIT).await, Some(1009));

    // The watcher sees the count come back down to itself.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let st = watcher.expect("state", deadline.saturating_duration_since(tokio::time::Instant::now())).await;
        if st["viewers"] == 1 {
            break;
        }
    }
}

#[tokio::test]
async fn requests_that_are_not_websocket_upgrades_get_400() {
    let ts = TestServer::start().await;
    let (id, _, _) = ts.live().await;
    let (student, _) = ts.token(Role::Student).await;
    let url = ts.url(&format!("/api/sessions/{id}/live"));
    let r = ts.http.get(&url).bearer_auth(&student).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "not_websocket");

    let r = ts
        .http
        .get(&url)
        .bearer_auth(&student)
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "8")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let r = ts
        .http
        .get(&url)
        .bearer_auth(&student)
        .header("connection", "keep-alive, Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "no key");
}

/// The next text frame of a socket of any transport, as JSON.
async fn next_json<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> serde_json::Value
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await.expect("in time") {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(t.as_str()).expect("json"),
            Some(Ok(_)) => continue,
            other => panic!("socket ended: {other:?}"),
        }
    }
}

#[tokio::test]
async fn live_channel_works_over_tls() {
    let ts = TestServer::start_with(|c| {
        c.tls = true;
        c.cert = c.data_dir.join("certs/cert.pem");
        c.key = c.data_dir.join("certs/key.pem");
    })
    .await;
    assert!(ts.server.url.starts_with("https://"));
    let (id, surgeon, _) = ts.live().await;
    let (student, _) = ts.token(Role::Student).await;

    let pem = std::fs::read(&ts.server.state.config.cert).expect("generated cert");
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut &pem[..]) {
        roots.add(cert.expect("pem")).expect("root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(ts.server.addr).await.expect("tcp");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.expect("tls");
    let url = ws_url(&ts, &format!("/api/sessions/{id}/live?after=0"))
        .replace("https://", "wss://")
        .replace("127.0.0.1", "localhost");
    let mut req = url.into_client_request().expect("request");
    req.headers_mut().insert("authorization", format!("Bearer {student}").parse().expect("header"));
    let (mut ws, _) = tokio_tungstenite::client_async(req, tls).await.expect("wss upgrade");
    assert_eq!(next_json(&mut ws).await["type"], "state");
    let (s, v) =
        ts.post(&format!("/api/sessions/{id}/updates"), &surgeon, json!({"kind": "text", "text": "over TLS"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let update = loop {
        let f = next_json(&mut ws).await;
        if f["type"] == "update" {
            break f;
        }
    };
    assert_eq!(update["seq"], 1);
    assert_eq!(update["update"]["text"], "over TLS");
    ws.send(Message::Text(r#"{"type":"ping"}"#.into())).await.expect("send");
    loop {
        if next_json(&mut ws).await["type"] == "pong" {
            break;
        }
    }
}

#[tokio::test]
async fn a_controller_reading_a_long_backlog_still_hears_of_every_held_item() {
    let ts = TestServer::start().await;
    let (id, surgeon, _) = ts.live().await;
    // A backlog of several MB, so the new viewer's backlog stays stuck in
    // the socket while it does not read.
    let big = "x".repeat(16 * 1024 - 64);
    for i in 0..300 {
        let (s, v) = ts
            .post(
                &format!("/api/sessions/{id}/updates"),
                &surgeon,
                json!({"kind": "text", "text": format!("{i} {big}")}),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    }
    let mut v = viewer(&ts, &id, &surgeon, 0).await;
    // The first frame (state) proves the server is now writing this viewer's backlog.
    assert_eq!(v.expect("state", WAIT).await["type"], "state");
    let mut published = Vec::new();
    for i in 0..20 {
        let (s, item) = ts
            .post(
                &format!("/api/sessions/{id}/updates"),
                &surgeon,
                json!({"kind": "text", "text": format!("late {i}")}),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{item}");
        published.push(item["id"].as_str().expect("id").to_string());
    }
    // Now read everything: the whole log in order, and a "held" for each late item.
    let (mut seqs, mut held) = (Vec::new(), Vec::new());
    while seqs.len() < 320 || held.len() < published.len() {
        match v.next(WAIT).await {
            Next::Frame(f) if f["type"] == "update" => seqs.push(f["seq"].as_u64().expect("seq")),
            Next::Frame(f) if f["type"] == "held" => held.push(f["item"]["id"].as_str().expect("id").to_string()),
            Next::Frame(_) => {}
            other => panic!("stopped after {} updates and {} held: {other:?}", seqs.len(), held.len()),
        }
    }
    assert_eq!(seqs, (1..=320).collect::<Vec<_>>());
    assert_eq!(held, published, "every item published while the backlog was being written was announced");
}

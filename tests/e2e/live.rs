//! The live channel's edges: slow viewers (4008 and resume with nothing
//! lost), origin checks, tickets, revocation (4003), bad client messages.

use std::time::Duration;

use orgallery::model::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::TestServer;
use crate::ws::{connect_with, viewer, ws_url, Next};

const WAIT: Duration = Duration::from_secs(10);

async fn live_session(ts: &TestServer) -> (String, String, String) {
    let (id, surgeon, _) = ts.live().await;
    let (student, _) = ts.token(Role::Student).await;
    (id, surgeon, student)
}

#[tokio::test]
async fn slow_viewer_is_closed_with_4008_and_resumes_without_loss_while_others_keep_up() {
    let ts = TestServer::start_with(|c| c.viewer_queue = 4).await;
    let (id, surgeon, student) = live_session(&ts).await;
    let mut slow = viewer(&ts, &id, &student, 0).await; // never reads while we publish
    let mut fast = viewer(&ts, &id, &student, 0).await;
    let text = "x".repeat(16 * 1024 - 64);
    let total = 400u64;
    let mut fast_seqs = Vec::new();
    for i in 0..total {
        let (s, v) = ts
            .post(
                &format!("/api/sessions/{id}/updates"),
                &surgeon,
                json!({"kind": "text", "text": format!("{i} {text}")}),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        // The fast viewer keeps up as we go.
        while let Next::Frame(f) = fast.next(Duration::from_millis(if i + 1 == total { 2000 } else { 1 })).await {
            if f["type"] == "update" {
                fast_seqs.push(f["seq"].as_u64().expect("seq"));
            }
            if fast_seqs.len() as u64 == total {
                break;
            }
        }
    }
    assert_eq!(fast_seqs, (1..=total).collect::<Vec<_>>(), "the fast viewer got everything, in order");

    // The slow one reads what was buffered, then the 4008 close.
    let mut last = 0;
    let code = loop {
        match slow.next(WAIT).await {
            Next::Frame(f) if f["type"] == "update" => {
                let seq = f["seq"].as_u64().expect("seq");
                assert_eq!(seq, last + 1, "no gap before the close");
                last = seq;
            }
            Next::Frame(_) => {}
            Next::Closed(c) => break c,
            Next::Timeout => panic!("the slow viewer was never closed (last {last})"),
        }
    };
    assert_eq!(code, Some(4008));
    assert!(last < total, "it really fell behind");
    let mut again = viewer(&ts, &id, &student, last).await;
    let rest: Vec<u64> = again
        .drain("update", Duration::from_millis(1500))
        .await
        .iter()
        .map(|f| f["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(rest, ((last + 1)..=total).collect::<Vec<_>>(), "resumed with nothing lost or repeated");
}

#[tokio::test]
async fn cross_origin_is_refused_and_cookie_needs_an_origin() {
    let ts = TestServer::start().await;
    let (id, _, student) = live_session(&ts).await;
    let url = ws_url(&ts, &format!("/api/sessions/{id}/live"));
    let cookie = format!("orgallery_token={student}");
    let err = connect_with(&url, &[("origin", "https://evil.example"), ("cookie", &cookie)]).await;
    match err {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 403),
        other => panic!("expected a 403 refusal, got {:?}", other.map(|_| "upgraded")),
    }
    let err =
        connect_with(&url, &[("origin", "https://evil.example"), ("authorization", &format!("Bearer {student}"))])
            .await;
    assert!(matches!(err, Err(tokio_tungstenite::tungstenite::Error::Http(ref r)) if r.status() == 403));
    // Same origin with the cookie: allowed.
    let origin = ts.server.url.clone();
    let mut ok = connect_with(&url, &[("origin", &origin), ("cookie", &cookie)]).await.expect("same origin");
    assert_eq!(ok.expect("state", WAIT).await["state"], "live");
    // The cookie alone, without Origin, is not enough.
    let mut no_origin = connect_with(&url, &[("cookie", &cookie)]).await.expect("upgrade");
    assert_eq!(no_origin.close_code(WAIT).await, Some(4001));
    // No credentials, or a forged token.
    let mut anon = connect_with(&url, &[]).await.expect("upgrade");
    assert_eq!(anon.close_code(WAIT).await, Some(4001));
    let mut forged = connect_with(&url, &[("authorization", "Bearer a.b.c")]).await.expect("upgrade");
    assert_eq!(forged.close_code(WAIT).await, Some(4001));
}

#[tokio::test]
async fn tickets_are_one_use_and_invisible_sessions_are_refused() {
    let ts = TestServer::start().await;
    let (id, _, student) = live_session(&ts).await;
    let (s, t) = ts.post("/api/ws-ticket", &student, json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(t["expires_in"], 30);
    let ticket = t["ticket"].as_str().expect("ticket");
    let url = ws_url(&ts, &format!("/api/sessions/{id}/live?ticket={ticket}"));
    let mut first = connect_with(&url, &[]).await.expect("upgrade");
    assert_eq!(first.expect("state", WAIT).await["type"], "state");
    let mut second = connect_with(&url, &[]).await.expect("upgrade");
    assert_eq!(second.close_code(WAIT).await, Some(4001), "a reused ticket is refused");
    assert_eq!(
        ts.call(reqwest::Method::POST, "/api/ws-ticket", None, Some(json!({}))).await.0,
        StatusCode::UNAUTHORIZED
    );
    // A session the caller may not see.
    let (draft, _, _) = ts.draft().await;
    let mut v = viewer(&ts, &draft, &student, 0).await;
    assert_eq!(v.close_code(WAIT).await, Some(4003));
    let mut v = viewer(&ts, "no-such-session", &student, 0).await;
    assert_eq!(v.close_code(WAIT).await, Some(4003));
}

#[tokio::test]
async fn logout_and_kick_close_live_sockets_with_4003() {
    let ts = TestServer::start().await;
    let (id, _, _) = live_session(&ts).await;
    let (u, p, sub) = ts.user(Role::Student).await;
    let body: Value = ts.login(&u, &p).await.json().await.expect("json");
    let token = body["access_token"].as_str().expect("t").to_string();
    let mut v = viewer(&ts, &id, &token, 0).await;
    v.expect("state", WAIT).await;
    let (s, _) = ts.post("/api/auth/logout", &token, json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(v.close_code(Duration::from_secs(1)).await, Some(4003), "closed within a second");
    // A kick closes every socket of the user.
    let (admin, _) = ts.token(Role::Admin).await;
    let (t2, _) = ts.server.state.tokens.issue(&sub, Role::Student, &u, None, None).expect("issue");
    let mut a = viewer(&ts, &id, &t2, 0).await;
    a.expect("state", WAIT).await;
    let (s, _) = ts.post(&format!("/api/users/{sub}/kick"), &admin, json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(a.close_code(Duration::from_secs(1)).await, Some(4003));
}

#[tokio::test]
async fn client_messages_ping_and_garbage() {
    let ts = TestServer::start().await;
    let (id, _, student) = live_session(&ts).await;
    let mut v = viewer(&ts, &id, &student, 0).await;
    v.send(r#"{"type":"ping"}"#).await;
    v.expect("pong", WAIT).await;
    v.send("not json").await;
    let e = v.expect("error", WAIT).await;
    assert_eq!(e["error"]["code"], "bad_message");
    v.send(r#"{"type":"ping"}"#).await;
    v.expect("pong", WAIT).await;
}

#[tokio::test]
async fn state_messages_count_viewers() {
    let ts = TestServer::start().await;
    let (id, _, student) = live_session(&ts).await;
    let mut a = viewer(&ts, &id, &student, 0).await;
    a.expect("state", WAIT).await;
    let _b = viewer(&ts, &id, &student, 0).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let st = a.expect("state", deadline.saturating_duration_since(tokio::time::Instant::now())).await;
        if st["viewers"] == 2 {
            break;
        }
    }
}

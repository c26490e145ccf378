//! Session lifecycle, consent before start, and every bad input changing nothing.

use orgallery::model::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, TestServer};

#[tokio::test]
async fn lifecycle_with_consent_before_start() {
    let ts = TestServer::start().await;
    let (id, t, sub) = ts.draft().await;
    let (_, s) = ts.get(&format!("/api/sessions/{id}"), &t).await;
    for key in [
        "id",
        "title",
        "procedure",
        "owner",
        "state",
        "delay_seconds",
        "audience",
        "curtain",
        "consent",
        "created_at",
        "started_at",
        "ended_at",
    ] {
        assert!(s.get(key).is_some(), "session object lacks {key}: {s}");
    }
    assert_eq!(s["owner"], sub.as_str());
    assert_eq!(s["state"], "draft");
    assert!(s["consent"].is_null());

    assert_error(
        &ts.post(&format!("/api/sessions/{id}/start"), &t, json!({})).await,
        StatusCode::CONFLICT,
        "consent_required",
    );
    assert_error(&ts.post(&format!("/api/sessions/{id}/end"), &t, json!({})).await, StatusCode::CONFLICT, "not_live");
    let scope = json!({"text": true, "images": false, "video": false, "audio": false, "archive": true});
    let (st, v) = ts
        .put(
            &format!("/api/sessions/{id}/consent"),
            &t,
            json!({"reference": "CONSENT-77", "scope": scope, "notes": "signed"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["consent"]["reference"], "CONSENT-77");
    assert_eq!(v["consent"]["scope"]["images"], false);

    let (st, v) = ts.post(&format!("/api/sessions/{id}/start"), &t, json!({})).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["state"], "live");
    assert!(v["started_at"].is_string());
    assert_error(
        &ts.post(&format!("/api/sessions/{id}/start"), &t, json!({})).await,
        StatusCode::CONFLICT,
        "already_live",
    );

    let (st, v) = ts.patch(&format!("/api/sessions/{id}"), &t, json!({"delay_seconds": 30})).await;
    assert_eq!((st, v["delay_seconds"].clone()), (StatusCode::OK, json!(30)));

    let (st, v) = ts.post(&format!("/api/sessions/{id}/end"), &t, json!({})).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["state"], "ended");
    assert_error(&ts.post(&format!("/api/sessions/{id}/end"), &t, json!({})).await, StatusCode::CONFLICT, "not_live");
    assert_error(
        &ts.post(&format!("/api/sessions/{id}/start"), &t, json!({})).await,
        StatusCode::CONFLICT,
        "session_ended",
    );
    assert_error(
        &ts.patch(&format!("/api/sessions/{id}"), &t, json!({"delay_seconds": 3})).await,
        StatusCode::CONFLICT,
        "session_ended",
    );
}

#[tokio::test]
async fn identifiers_are_never_returned() {
    let ts = TestServer::start().await;
    let (id, t, _) = ts.live().await;
    let ids = json!({"names": ["Zebedee Quarrington"], "mrns": ["MRN-99887766"], "dates": ["1957-03-14"], "other": []});
    let (st, v) = ts.put(&format!("/api/sessions/{id}/identifiers"), &t, ids).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["registered"], 3);
    let (_, one) = ts.get(&format!("/api/sessions/{id}"), &t).await;
    let (_, all) = ts.get("/api/sessions", &t).await;
    for body in [one.to_string(), all.to_string(), v.to_string()] {
        assert!(!body.contains("Quarrington") && !body.contains("99887766") && !body.contains("1957"), "{body}");
    }
    // Nothing of them reaches the database file either.
    let db = std::fs::read(ts.dir.path().join("orgallery.db")).expect("db");
    let wal = std::fs::read(ts.dir.path().join("orgallery.db-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        let hay = String::from_utf8_lossy(&bytes);
        assert!(!hay.contains("Quarrington") && !hay.contains("99887766"));
    }
}

/// Snapshot of what a caller can observe, to prove bad requests change nothing.
async fn snapshot(ts: &TestServer, token: &str) -> Value {
    ts.get("/api/sessions", token).await.1
}

#[tokio::test]
async fn bad_input_gets_the_contract_error_and_changes_nothing() {
    let ts = TestServer::start().await;
    let (id, t, _) = ts.draft().await;
    let before = snapshot(&ts, &t).await;
    let raw = |method: Method, path: String, ct: Option<&'static str>, body: Vec<u8>| {
        let mut rb = ts.http.request(method, ts.url(&path)).bearer_auth(&t).body(body);
        if let Some(ct) = ct {
            rb = rb.header("content-type", ct);
        }
        async move {
            let r = rb.send().await.expect("send");
            let s = r.status();
            (s, r.json::<Value>().await.expect("json error body"))
        }
    };
    let json_ct = Some("application/json");
    // malformed JSON, wrong types, unknown fields, missing fields
    assert_error(
        &raw(Method::POST, "/api/sessions".into(), json_ct, b"{\"title\":".to_vec()).await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
    );
    assert_error(
        &raw(Method::POST, "/api/sessions".into(), json_ct, br#"{"title": 7}"#.to_vec()).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    assert_error(
        &raw(Method::POST, "/api/sessions".into(), json_ct, br#"{"title":"t","delay_seconds":"ten"}"#.to_vec()).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    assert_error(
        &raw(Method::POST, "/api/sessions".into(), json_ct, br#"{"title":"t","colour":"red"}"#.to_vec()).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    assert_error(
        &raw(Method::POST, "/api/sessions".into(), json_ct, br#"{}"#.to_vec()).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    // wrong media type
    assert_error(
        &raw(Method::POST, "/api/sessions".into(), Some("text/plain"), br#"{"title":"t"}"#.to_vec()).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    // oversized body
    let big = format!(r#"{{"title":"{}"}}"#, "x".repeat(200 * 1024));
    assert_error(
        &raw(Method::POST, "/api/sessions".into(), json_ct, big.into_bytes()).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    // well-formed but invalid
    assert_error(
        &ts.post("/api/sessions", &t, json!({"title": "t", "delay_seconds": 601})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_delay",
    );
    assert_error(
        &ts.post("/api/sessions", &t, json!({"title": "  "})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_error(
        &ts.post("/api/sessions", &t, json!({"title": "t", "audience": ["surgeon"]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_audience",
    );
    assert_error(
        &ts.post("/api/sessions", &t, json!({"title": "t", "redaction_policy": "maybe"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    assert_error(
        &ts.patch(&format!("/api/sessions/{id}"), &t, json!({"delay_seconds": -1})).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    assert_error(
        &ts.put(&format!("/api/sessions/{id}/consent"), &t, json!({"reference": "", "scope": {}})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_consent",
    );
    assert_error(
        &ts.put(&format!("/api/sessions/{id}/consent"), &t, json!({"reference": "R", "scope": {"txt": true}})).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    assert_error(
        &ts.put(&format!("/api/sessions/{id}/moderators"), &t, json!({"users": ["no-such-user"]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_moderators",
    );
    let (student_tok, student_sub) = ts.token(Role::Student).await;
    drop(student_tok);
    assert_error(
        &ts.put(&format!("/api/sessions/{id}/moderators"), &t, json!({"users": [student_sub]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_moderators",
    );
    assert_error(
        &ts.put(&format!("/api/sessions/{id}/identifiers"), &t, json!({"names": "Jane"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    // unknown ids, unknown routes, wrong methods
    assert_error(
        &ts.get("/api/sessions/00000000-0000-0000-0000-000000000000", &t).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(&ts.post("/api/sessions/nope/start", &t, json!({})).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(&ts.get(&format!("/api/sessions/{}", "x".repeat(300)), &t).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(&ts.get("/api/no-such-thing", &t).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(
        &ts.call(Method::DELETE, "/api/sessions", Some(&t), None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );

    assert_eq!(snapshot(&ts, &t).await, before, "a bad request changed state");
}

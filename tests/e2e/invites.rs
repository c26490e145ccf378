//! Invites: a class joins without accounts; tokens are limited to the
//! session; used-up and expired invites answer 410.

use orgallery::model::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, TestServer};

async fn redeem(ts: &TestServer, code: &str, name: &str) -> (StatusCode, Value) {
    ts.call(Method::POST, "/api/auth/invite", None, Some(json!({"code": code, "name": name}))).await
}

#[tokio::test]
async fn invite_flow_limits_the_token_to_one_session() {
    let ts = TestServer::start().await;
    let (id, surgeon, _) = ts.live().await;
    let (other, _, _) = ts.live().await;
    let (s, inv) = ts
        .post(
            &format!("/api/sessions/{id}/invites"),
            &surgeon,
            json!({"role": "student", "ttl_seconds": 600, "max_uses": 2}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{inv}");
    let code = inv["code"].as_str().expect("code");
    assert!(inv["url"].as_str().expect("url").contains(code));
    assert!(inv["expires_at"].is_string());

    let (s, v) = redeem(&ts, code, "Alex Student").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["role"], "student");
    let token = v["access_token"].as_str().expect("token").to_string();
    let (_, me) = ts.get("/api/me", &token).await;
    assert_eq!(me["name"], "Alex Student");
    assert_eq!(me["sessions"], json!([id]));
    assert_eq!(ts.get(&format!("/api/sessions/{id}"), &token).await.0, StatusCode::OK);
    assert_error(&ts.get(&format!("/api/sessions/{other}"), &token).await, StatusCode::NOT_FOUND, "not_found");
    let (_, list) = ts.get("/api/sessions", &token).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));

    assert_eq!(redeem(&ts, code, "Second").await.0, StatusCode::OK);
    assert_error(&redeem(&ts, code, "Third").await, StatusCode::GONE, "invite_gone");
    assert_error(&redeem(&ts, "0123456789abcdef", "X").await, StatusCode::NOT_FOUND, "invite_not_found");
    assert_error(&redeem(&ts, code, "").await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_name");
}

#[tokio::test]
async fn expired_invites_are_gone_and_bad_requests_refused() {
    let ts = TestServer::start().await;
    let (id, surgeon, _) = ts.live().await;
    let (educator, _) = ts.token(Role::Educator).await;
    let (student, _) = ts.token(Role::Student).await;
    // Educators may invite too; students may not.
    assert_eq!(
        ts.post(&format!("/api/sessions/{id}/invites"), &educator, json!({"role": "clinician"})).await.0,
        StatusCode::CREATED
    );
    assert_error(
        &ts.post(&format!("/api/sessions/{id}/invites"), &student, json!({"role": "student"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &ts.post(&format!("/api/sessions/{id}/invites"), &surgeon, json!({"role": "surgeon"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_role",
    );
    assert_error(
        &ts.post(&format!("/api/sessions/{id}/invites"), &surgeon, json!({"role": "student", "ttl_seconds": 5})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_ttl",
    );
    assert_error(
        &ts.post(&format!("/api/sessions/{id}/invites"), &surgeon, json!({"role": "student", "max_uses": 0})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_max_uses",
    );

    // An invite whose expiry has passed (written through the store, as time would).
    let code = "feedfacecafebeef";
    let inv = orgallery::model::Invite {
        code_hash: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(code.as_bytes())),
        session_id: id.clone(),
        role: Role::Student,
        expires_at: chrono::Utc::now() - chrono::Duration::seconds(1),
        max_uses: 10,
        uses: 0,
        created_by: "x".into(),
    };
    ts.server.state.store.create_invite(&inv).await.expect("insert");
    assert_error(&redeem(&ts, code, "Late").await, StatusCode::GONE, "invite_gone");
}

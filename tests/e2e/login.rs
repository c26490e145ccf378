//! Login: one message for wrong user or password, throttling per user and per
//! address with Retry-After, the cookie, and account creation.

use orgallery::model::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{assert_error, TestServer};

async fn status_body(r: reqwest::Response) -> (StatusCode, Value, Option<String>) {
    let s = r.status();
    let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
    (s, r.json().await.expect("json"), retry)
}

#[tokio::test]
async fn login_sets_cookie_and_cookie_authenticates() {
    let ts = TestServer::start().await;
    let (u, p, sub) = ts.user(Role::Surgeon).await;
    let r = ts.login(&u, &p).await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers().get("set-cookie").and_then(|v| v.to_str().ok()).expect("cookie").to_string();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "orgallery_token="] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["role"], "surgeon");
    assert_eq!(body["expires_in"], 900);
    let token = body["access_token"].as_str().expect("token");
    assert!(cookie.contains(token));
    let pair = cookie.split(';').next().expect("pair").to_string();
    let me: Value =
        ts.http.get(ts.url("/api/me")).header("cookie", pair).send().await.expect("me").json().await.expect("json");
    assert_eq!(me["sub"], sub.as_str());
    assert_eq!(me["role"], "surgeon");
}

#[tokio::test]
async fn wrong_user_and_wrong_password_look_the_same() {
    let ts = TestServer::start().await;
    let (u, _, _) = ts.user(Role::Student).await;
    let (s1, b1, _) = status_body(ts.login(&u, "wrong-password").await).await;
    let (s2, b2, _) = status_body(ts.login("no-such-user", "wrong-password").await).await;
    assert_eq!((s1, s2), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(b1, b2);
    assert_error(&(s1, b1), StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn repeated_failures_are_throttled_per_user_and_per_address() {
    let ts = TestServer::start_with(|c| {
        c.login.per_user = 3;
        c.login.per_address = 6;
    })
    .await;
    let (u, p, _) = ts.user(Role::Student).await;
    for _ in 0..3 {
        assert_eq!(ts.login(&u, "nope-nope").await.status(), StatusCode::UNAUTHORIZED);
    }
    let (s, body, retry) = status_body(ts.login(&u, &p).await).await;
    assert_error(&(s, body), StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let secs: u64 = retry.expect("Retry-After").parse().expect("seconds");
    assert!((1..=300).contains(&secs), "{secs}");
    // Another user from the same address still gets in, until the address is throttled.
    let (u2, p2, _) = ts.user(Role::Student).await;
    assert_eq!(ts.login(&u2, &p2).await.status(), StatusCode::OK);
    for i in 0..3 {
        assert_eq!(ts.login(&format!("ghost{i}"), "nope-nope").await.status(), StatusCode::UNAUTHORIZED);
    }
    let (s, _, retry) = status_body(ts.login(&u2, &p2).await).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry.is_some());
}

#[tokio::test]
async fn admin_creates_accounts_with_validation() {
    let ts = TestServer::start().await;
    let (admin, _) = ts.token(Role::Admin).await;
    let (s, v) = ts
        .post(
            "/api/users",
            &admin,
            json!({"username": "dr.house", "password": "vicodin-123", "role": "surgeon", "name": "G. House"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v.get("password").is_none() && v.get("password_hash").is_none());
    assert_eq!(ts.login("dr.house", "vicodin-123").await.status(), StatusCode::OK);
    assert_error(
        &ts.post("/api/users", &admin, json!({"username": "dr.house", "password": "vicodin-123", "role": "surgeon"}))
            .await,
        StatusCode::CONFLICT,
        "username_taken",
    );
    assert_error(
        &ts.post("/api/users", &admin, json!({"username": "short", "password": "123", "role": "surgeon"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "weak_password",
    );
    assert_error(
        &ts.post("/api/users", &admin, json!({"username": "bad name!", "password": "longenough", "role": "surgeon"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_username",
    );
    assert_error(
        &ts.post("/api/users", &admin, json!({"username": "ok", "password": "longenough", "role": "janitor"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_role",
    );
}

//! Forged, expired, not-yet-valid, wrong-issuer, wrong-audience, revoked and
//! tampered tokens are refused with 401 and the contract's body.

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use orgallery::config::JwtAlg;
use orgallery::model::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{assert_error, fixture, TestServer};

fn b64(v: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
}

fn claims(sub: &str, iss: &str, aud: &str, exp_in: i64, nbf_in: i64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"iss": iss, "aud": aud, "sub": sub, "exp": now + exp_in, "iat": now, "nbf": now + nbf_in,
           "jti": uuid::Uuid::new_v4().to_string(), "role": "admin", "name": "Mallory"})
}

fn hs256(secret: &[u8], c: &Value) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), c, &EncodingKey::from_secret(secret)).expect("encode")
}

async fn me(ts: &TestServer, token: &str) -> (StatusCode, Value) {
    ts.get("/api/me", token).await
}

/// The server's signing secret and its `kid`, from its key ring.
struct ServerKey {
    kid: String,
    secret: Vec<u8>,
}

fn server_secret(ts: &TestServer) -> ServerKey {
    let text = std::fs::read_to_string(ts.dir.path().join("jwt-keys.json")).expect("key ring");
    let ring: Value = serde_json::from_str(&text).expect("json");
    let key = ring["keys"].as_array().and_then(|k| k.last()).expect("a key").clone();
    let secret =
        base64::engine::general_purpose::STANDARD.decode(key["secret"].as_str().expect("secret")).expect("b64");
    ServerKey { kid: key["kid"].as_str().expect("kid").to_string(), secret }
}

/// A token signed with the server's own key (so only the claims can be wrong).
fn signed(key: &ServerKey, c: &Value) -> String {
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&h, c, &EncodingKey::from_secret(&key.secret)).expect("encode")
}

#[tokio::test]
async fn hs256_default_accepts_good_and_refuses_every_forgery() {
    let ts = TestServer::start().await;
    let secret = server_secret(&ts);
    let (good, sub) = ts.token(Role::Student).await;
    assert_eq!(me(&ts, &good).await.0, StatusCode::OK);

    // The secret file is private to its owner.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(ts.dir.path().join("jwt-keys.json")).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let ok_claims = claims(&sub, "orgallery", "orgallery", 600, 0);
    assert_eq!(
        me(&ts, &signed(&secret, &ok_claims)).await.0,
        StatusCode::OK,
        "control: a correct forgery-free token works"
    );

    // alg: none
    let none = format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), b64(ok_claims.to_string().as_bytes()));
    assert_error(&me(&ts, &none).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    let none_upper = format!("{}.{}.", b64(br#"{"alg":"NONE","typ":"JWT"}"#), b64(ok_claims.to_string().as_bytes()));
    assert_error(&me(&ts, &none_upper).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    // another key
    assert_error(
        &me(&ts, &hs256(b"some-other-secret-of-decent-length", &ok_claims)).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    // expired beyond the 30 s leeway, not yet valid, wrong iss, wrong aud
    for bad in [
        claims(&sub, "orgallery", "orgallery", -120, -600),
        claims(&sub, "orgallery", "orgallery", 600, 300),
        claims(&sub, "someone-else", "orgallery", 600, 0),
        claims(&sub, "orgallery", "another-app", 600, 0),
    ] {
        assert_error(&me(&ts, &signed(&secret, &bad)).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    // missing exp
    let mut no_exp = ok_claims.clone();
    no_exp.as_object_mut().expect("obj").remove("exp");
    assert_error(&me(&ts, &signed(&secret, &no_exp)).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    // RS256 header on an HS256 server
    let rs = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &ok_claims,
        &EncodingKey::from_rsa_pem(&std::fs::read(fixture("rsa_private.pem")).expect("pem")).expect("key"),
    )
    .expect("encode");
    assert_error(&me(&ts, &rs).await, StatusCode::UNAUTHORIZED, "unauthenticated");

    // tampered payload: keep the signature, raise the role
    let parts: Vec<&str> = good.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).expect("b64"))
            .expect("json");
    payload["role"] = json!("admin");
    let tampered = format!("{}.{}.{}", parts[0], b64(payload.to_string().as_bytes()), parts[2]);
    assert_error(&me(&ts, &tampered).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    // garbage and an empty bearer
    assert_error(&me(&ts, "not.a.jwt").await, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_error(
        &ts.call(reqwest::Method::GET, "/api/me", None, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
}

#[tokio::test]
async fn logout_revokes_at_once_and_survives_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = {
        let ts = TestServer::start_with(|c| c.data_dir = dir.path().to_path_buf()).await;
        let (u, p, _) = ts.user(Role::Educator).await;
        let resp = ts.login(&u, &p).await;
        let body: Value = resp.json().await.expect("json");
        let token = body["access_token"].as_str().expect("token").to_string();
        assert_eq!(me(&ts, &token).await.0, StatusCode::OK);
        let (s, _) = ts.post("/api/auth/logout", &token, json!({})).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_error(&me(&ts, &token).await, StatusCode::UNAUTHORIZED, "unauthenticated");
        token
    };
    let ts = TestServer::start_with(|c| c.data_dir = dir.path().to_path_buf()).await;
    assert_error(&me(&ts, &token).await, StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn admin_kick_revokes_every_token_of_that_user() {
    let ts = TestServer::start().await;
    let (admin, _) = ts.token(Role::Admin).await;
    let (victim, sub) = ts.token(Role::Student).await;
    assert_eq!(me(&ts, &victim).await.0, StatusCode::OK);
    let (s, _) = ts.post(&format!("/api/users/{sub}/kick"), &admin, json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_error(&me(&ts, &victim).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    let (student, _) = ts.token(Role::Student).await;
    assert_error(
        &ts.post(&format!("/api/users/{sub}/kick"), &student, json!({})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
}

fn rs256_config(c: &mut orgallery::config::Config) {
    c.jwt.alg = JwtAlg::Rs256;
    c.jwt.key_file = Some(fixture("rsa_private.pem"));
    c.jwt.public_key_file = Some(fixture("rsa_public.pem"));
}

#[tokio::test]
async fn rs256_refuses_hs256_signed_with_the_public_key_and_other_keys() {
    let ts = TestServer::start_with(rs256_config).await;
    let (good, sub) = ts.token(Role::Clinician).await;
    assert_eq!(me(&ts, &good).await.0, StatusCode::OK);
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(good.split('.').next().expect("hdr")).expect("b64"),
    )
    .expect("json");
    assert_eq!(header["alg"], "RS256");

    let c = claims(&sub, "orgallery", "orgallery", 600, 0);
    let public_pem = std::fs::read(fixture("rsa_public.pem")).expect("pem");
    assert_error(&me(&ts, &hs256(&public_pem, &c)).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    let other = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &c,
        &EncodingKey::from_rsa_pem(&std::fs::read(fixture("rsa_other_private.pem")).expect("pem")).expect("key"),
    )
    .expect("encode");
    assert_error(&me(&ts, &other).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    let none = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(c.to_string().as_bytes()));
    assert_error(&me(&ts, &none).await, StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn es256_and_eddsa_key_files_work() {
    for (alg, private, public) in
        [(JwtAlg::Es256, "ec_private.pem", "ec_public.pem"), (JwtAlg::EdDsa, "ed_private.pem", "ed_public.pem")]
    {
        let ts = TestServer::start_with(|c| {
            c.jwt.alg = alg;
            c.jwt.key_file = Some(fixture(private));
            c.jwt.public_key_file = Some(fixture(public));
        })
        .await;
        let (t, _) = ts.token(Role::Student).await;
        assert_eq!(me(&ts, &t).await.0, StatusCode::OK, "{alg:?}");
        let secret_forgery = hs256(b"x", &claims("s", "orgallery", "orgallery", 600, 0));
        assert_eq!(me(&ts, &secret_forgery).await.0, StatusCode::UNAUTHORIZED, "{alg:?}");
    }
}

/// An external identity provider publishing its keys as a JWKS.
#[tokio::test]
async fn jwks_issuer_kid_must_match() {
    let jwks = std::fs::read_to_string(fixture("jwks.json")).expect("jwks");
    let app = axum::Router::new().route("/jwks.json", axum::routing::get(move || async move { jwks.clone() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let idp = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let ts = TestServer::start_with(|c| {
        c.jwt.alg = JwtAlg::Rs256;
        c.jwt.jwks_url = Some(format!("http://{idp}/jwks.json"));
        c.jwt.issuer = "https://idp.example".into();
    })
    .await;
    let key = EncodingKey::from_rsa_pem(&std::fs::read(fixture("rsa_private.pem")).expect("pem")).expect("key");
    let c = claims("ext-user-1", "https://idp.example", "orgallery", 600, 0);
    let sign = |kid: Option<&str>| {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = kid.map(str::to_string);
        jsonwebtoken::encode(&h, &c, &key).expect("encode")
    };
    let (s, v) = me(&ts, &sign(Some("test-key-1"))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["sub"], "ext-user-1");
    assert_error(&me(&ts, &sign(Some("unknown-kid"))).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_error(&me(&ts, &sign(None)).await, StatusCode::UNAUTHORIZED, "unauthenticated");
}

// ---- Renewal (`POST /api/auth/refresh`) and expiry on open connections ----

fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("payload part");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("b64");
    serde_json::from_slice(&bytes).expect("claims json")
}

async fn refresh(ts: &TestServer, token: &str) -> (StatusCode, Value) {
    ts.post("/api/auth/refresh", token, json!({})).await
}

#[tokio::test]
async fn refresh_extends_keeps_user_scope_and_auth_time_and_renews_the_cookie() {
    let ts = TestServer::start_with(|c| c.jwt.ttl = std::time::Duration::from_secs(60)).await;
    let (old, sub) = ts.token(Role::Student).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (s, v) = refresh(&ts, &old).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let new = v["access_token"].as_str().expect("token").to_string();
    assert_eq!(v["expires_in"], 60);
    let (a, b) = (payload(&old), payload(&new));
    assert!(b["exp"].as_i64() > a["exp"].as_i64(), "the new token lives longer: {a} {b}");
    assert_eq!(b["sub"], sub);
    assert_eq!(b["auth_time"], a["auth_time"], "renewal keeps the sign-in time");
    assert_ne!(b["jti"], a["jti"]);
    let (s, me_v) = me(&ts, &new).await;
    assert_eq!((s, me_v["sub"].as_str()), (StatusCode::OK, Some(sub.as_str())));

    // An invite-style token keeps its session scope.
    let (scoped, _) = ts
        .server
        .state
        .tokens
        .issue("invite-x", Role::Student, "Guest", Some(vec!["s-1".into()]), None)
        .expect("issue");
    let (s, v) = refresh(&ts, &scoped).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(payload(v["access_token"].as_str().expect("token"))["sessions"], json!(["s-1"]));

    // A cookie client (same origin) gets the cookie renewed.
    let resp = ts
        .http
        .post(ts.url("/api/auth/refresh"))
        .header("cookie", format!("orgallery_token={new}"))
        .header("origin", ts.server.url.clone())
        .send()
        .await
        .expect("refresh");
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let body: Value = resp.json().await.expect("json");
    assert!(cookie.starts_with(&format!("orgallery_token={}", body["access_token"].as_str().expect("t"))), "{cookie}");
}

#[tokio::test]
async fn refresh_refuses_expired_revoked_and_forged_tokens() {
    let ts = TestServer::start_with(|c| {
        c.jwt.ttl = std::time::Duration::from_secs(1);
        c.jwt.leeway = 0;
    })
    .await;
    let (short, _) = ts.token(Role::Student).await;
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    assert_error(&refresh(&ts, &short).await, StatusCode::UNAUTHORIZED, "unauthenticated");

    let ts = TestServer::start().await;
    let (t, _) = ts.token(Role::Student).await;
    assert_eq!(ts.post("/api/auth/logout", &t, json!({})).await.0, StatusCode::NO_CONTENT);
    assert_error(&refresh(&ts, &t).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    let forged = hs256(b"some-other-secret-of-decent-length", &claims("x", "orgallery", "orgallery", 600, 0));
    assert_error(&refresh(&ts, &forged).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    let (s, _) = ts.call(reqwest::Method::POST, "/api/auth/refresh", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_respects_the_absolute_session_lifetime() {
    let ts = TestServer::start_with(|c| c.jwt.session_lifetime = std::time::Duration::from_secs(3600)).await;
    let secret = server_secret(&ts);
    let (_, sub) = ts.token(Role::Student).await;
    let now = chrono::Utc::now().timestamp();
    // Signed in 1 h + 1 s ago, token still valid: the session is over.
    let mut over = claims(&sub, "orgallery", "orgallery", 600, 0);
    over["auth_time"] = json!(now - 3601);
    let (s, v) = refresh(&ts, &signed(&secret, &over)).await;
    assert_error(&(s, v.clone()), StatusCode::UNAUTHORIZED, "unauthenticated");
    assert!(v["error"]["message"].as_str().unwrap_or("").contains("lifetime"), "{v}");
    // Signed in 1 h - 20 s ago: renewed, but only up to the end of the session.
    let mut near = claims(&sub, "orgallery", "orgallery", 600, 0);
    near["auth_time"] = json!(now - 3580);
    let (s, v) = refresh(&ts, &signed(&secret, &near)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let exp = payload(v["access_token"].as_str().expect("token"))["exp"].as_i64().expect("exp");
    assert_eq!(exp, now - 3580 + 3600, "capped at auth_time + lifetime");
    assert!(v["expires_in"].as_u64().expect("n") <= 20);
}

async fn live_viewer(ts: &TestServer) -> (String, crate::ws::Viewer, String) {
    let (id, _, _) = ts.live().await;
    let (student, _) = ts.token(Role::Student).await;
    let v = crate::ws::viewer(ts, &id, &student, 0).await;
    (id, v, student)
}

#[tokio::test]
async fn a_live_socket_closes_with_4001_when_its_token_expires() {
    let ts = TestServer::start_with(|c| {
        c.jwt.ttl = std::time::Duration::from_secs(3);
        c.jwt.leeway = 0;
    })
    .await;
    let (_, mut v, _) = live_viewer(&ts).await;
    let started = std::time::Instant::now();
    assert_eq!(v.close_code(std::time::Duration::from_secs(8)).await, Some(4001));
    assert!(started.elapsed() >= std::time::Duration::from_millis(500), "not closed before expiry");
}

#[tokio::test]
async fn a_live_socket_renewed_with_an_auth_frame_stays_open_past_the_old_expiry() {
    use crate::ws::Next;
    let ts = TestServer::start_with(|c| {
        c.jwt.ttl = std::time::Duration::from_secs(7);
        c.jwt.leeway = 0;
    })
    .await;
    let (_, mut v, student) = live_viewer(&ts).await;
    let old_exp = payload(&student)["exp"].as_i64().expect("exp");
    // Renew well after the start, so the new `exp` (whole seconds) is at
    // least 3 s past the old one: room for the checks below on a slow box.
    while chrono::Utc::now().timestamp() < old_exp - 3 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (s, r) = refresh(&ts, &student).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let fresh = r["access_token"].as_str().expect("token").to_string();
    // Garbage is refused with an error frame and changes nothing.
    v.send(r#"{"type":"auth","token":"not-a-token"}"#).await;
    let e = v.expect("error", std::time::Duration::from_secs(5)).await;
    assert_eq!((e["of"].as_str(), e["error"]["code"].as_str()), (Some("auth"), Some("unauthenticated")));
    v.send(&json!({"type": "auth", "token": fresh}).to_string()).await;
    let ack = v.expect("ack", std::time::Duration::from_secs(5)).await;
    assert_eq!(ack["of"], "auth");
    assert!(ack["exp"].as_i64() >= Some(old_exp + 3), "{ack}");
    // Past the first token's expiry the socket still answers.
    while chrono::Utc::now().timestamp() <= old_exp + 1 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    v.send(r#"{"type":"ping"}"#).await;
    match v.next(std::time::Duration::from_secs(3)).await {
        Next::Frame(f) => assert_eq!(f["type"], "pong", "{f}"),
        other => panic!("the renewed socket was closed: {other:?}"),
    }
    // And it closes when the renewed token expires in turn.
    assert_eq!(v.close_code(std::time::Duration::from_secs(12)).await, Some(4001));
}

#[tokio::test]
async fn a_renewal_with_another_users_token_closes_the_socket_4003() {
    let ts = TestServer::start().await;
    let (_, mut v, _) = live_viewer(&ts).await;
    let (other, _) = ts.token(Role::Student).await;
    v.send(&json!({"type": "auth", "token": other}).to_string()).await;
    assert_eq!(v.close_code(std::time::Duration::from_secs(5)).await, Some(4003));
}

//! Key rotation through the real binary against a running server's data
//! directory: `orgallery keys rotate` adds a JWT signing key (new tokens carry
//! its `kid`), old tokens keep working until the old key retires and are
//! refused after; the EdDSA public keys are served at
//! `/.well-known/jwks.json`; each rotation is audited.

use std::time::{Duration, Instant};

use orgallery::config::JwtAlg;
use orgallery::model::Role;
use reqwest::Method;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::process::run;
use crate::support::{assert_error, TestServer};

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).expect("header").kid.expect("a kid")
}

async fn me(ts: &TestServer, token: &str) -> StatusCode {
    ts.get("/api/me", token).await.0
}

/// Wait (up to 10 s) until the server signs with a key other than `old`.
async fn new_signing_kid(ts: &TestServer, old: &str) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (t, _) = ts.token(Role::Admin).await;
        let k = kid(&t);
        if k != old {
            return (t, k);
        }
        assert!(Instant::now() < deadline, "the server never picked up the rotated key");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn audited_rotations(ts: &TestServer, admin: &str, want: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (s, v) = ts.get("/api/audit?action=key_rotated", admin).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let events = v["events"].as_array().cloned().unwrap_or_default();
        if events.len() >= want || Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn jwks_kids(v: &Value) -> Vec<String> {
    v["keys"].as_array().expect("keys").iter().map(|k| k["kid"].as_str().expect("kid").to_string()).collect()
}

#[tokio::test]
async fn eddsa_rotation_keeps_old_tokens_until_retired_and_serves_jwks() {
    let ts = TestServer::start_with(|c| {
        c.jwt.alg = JwtAlg::EdDsa;
        c.jwt.leeway = 0;
    })
    .await;
    let (old_token, _) = ts.token(Role::Admin).await;
    let old_kid = kid(&old_token);
    let jwks: Value =
        ts.http.get(ts.url("/.well-known/jwks.json")).send().await.expect("jwks").json().await.expect("json");
    assert_eq!(jwks_kids(&jwks), vec![old_kid.clone()]);
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
    assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
    assert!(jwks["keys"][0].get("d").is_none(), "never the private half");

    // The old token verifies against the served JWK (a third party can check it).
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwks["keys"][0].clone()).expect("jwk");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    v.set_audience(&[ts.server.state.config.jwt.audience.as_str()]);
    jsonwebtoken::decode::<Value>(&old_token, &jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("key"), &v)
        .expect("verifies with the published key");

    let (code, out, err) = run(ts.dir.path(), &["keys", "rotate", "--jwt-alg", "EdDSA", "--retire-after", "4s"], "");
    assert_eq!(code, 0, "{out}{err}");
    let rotated_at = Instant::now();
    let (new_token, new_kid) = new_signing_kid(&ts, &old_kid).await;
    assert!(out.contains(&format!("signing key {new_kid}")), "{out}");
    assert!(out.contains(&format!("previous {old_kid}")), "{out}");

    assert_eq!(me(&ts, &old_token).await, StatusCode::OK, "the old key still verifies");
    assert_eq!(me(&ts, &new_token).await, StatusCode::OK);
    let jwks: Value =
        ts.http.get(ts.url("/.well-known/jwks.json")).send().await.expect("jwks").json().await.expect("json");
    let kids = jwks_kids(&jwks);
    assert!(kids.contains(&old_kid) && kids.contains(&new_kid), "{jwks}");

    let events = audited_rotations(&ts, &new_token, 1).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail"]["key"], "jwt");
    assert_eq!(events[0]["detail"]["kid"], new_kid.as_str());
    assert_eq!(events[0]["detail"]["previous"], old_kid.as_str());

    // After the retirement instant the old key's token is refused (it has
    // not expired: its own exp is minutes away), the new one is not.
    let wait = Duration::from_secs(5).saturating_sub(rotated_at.elapsed());
    tokio::time::sleep(wait).await;
    assert_error(&ts.get("/api/me", &old_token).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_eq!(me(&ts, &new_token).await, StatusCode::OK);
    let jwks: Value =
        ts.http.get(ts.url("/.well-known/jwks.json")).send().await.expect("jwks").json().await.expect("json");
    assert_eq!(jwks_kids(&jwks), vec![new_kid.clone()], "a retired key is no longer published");

    // The next rotation removes the retired key from the ring.
    let (code, out, err) = run(ts.dir.path(), &["keys", "rotate", "--jwt-alg", "EdDSA"], "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("removed retired keys: {old_kid}")), "{out}");
    let (third, _) = new_signing_kid(&ts, &new_kid).await;
    assert_eq!(me(&ts, &new_token).await, StatusCode::OK, "default retirement: the token lifetime");
    assert_eq!(me(&ts, &third).await, StatusCode::OK);
    assert_eq!(audited_rotations(&ts, &third, 2).await.len(), 2);
}

#[tokio::test]
async fn hs256_rotation_and_immediate_retirement() {
    let ts = TestServer::start().await;
    let (old_token, _) = ts.token(Role::Admin).await;
    let old_kid = kid(&old_token);
    let (s, v) = ts.call(reqwest::Method::GET, "/.well-known/jwks.json", None, None).await;
    assert_error(&(s, v), StatusCode::NOT_FOUND, "not_found");

    let (code, out, err) = run(ts.dir.path(), &["keys", "rotate", "--retire-after", "0s"], "");
    assert_eq!(code, 0, "{out}{err}");
    let (new_token, _) = new_signing_kid(&ts, &old_kid).await;
    assert_error(&ts.get("/api/me", &old_token).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_eq!(me(&ts, &new_token).await, StatusCode::OK);

    // Bad input: a wrong algorithm for the ring, a bad duration; nothing changes.
    let (code, _, err) = run(ts.dir.path(), &["keys", "rotate", "--jwt-alg", "EdDSA"], "");
    assert_ne!(code, 0);
    assert!(err.contains("HS256"), "{err}");
    let (code, _, err) = run(ts.dir.path(), &["keys", "rotate", "--retire-after", "soon"], "");
    assert_ne!(code, 0);
    assert!(err.contains("duration"), "{err}");
    assert_eq!(me(&ts, &new_token).await, StatusCode::OK);
    let (t, _) = ts.token(Role::Admin).await;
    assert_eq!(kid(&t), kid(&new_token), "refused rotations changed nothing");
}

/// The identifiers vault key, the archive key and the audit checkpoint key
/// rotate by keeping the old key (`*.retired`): identifiers sealed before
/// stay readable, exports signed before still verify, old checkpoints too.
#[tokio::test]
async fn vault_archive_and_audit_keys_rotate_keeping_what_they_protected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_path_buf();
    let zip_path = data.join("before.zip");
    let (id, surgeon, ended, old_archive_key) = {
        let ts = TestServer::start_with(|c| c.data_dir = data.clone()).await;
        let (id, surgeon, _) = ts.live().await;
        let ids = json!({"names": ["Zebulon Quarshie"], "mrns": ["88120467"]});
        assert_eq!(ts.put(&format!("/api/sessions/{id}/identifiers"), &surgeon, ids).await.0, StatusCode::OK);
        let (ended, s2, _) = ts.live().await;
        let (s, v) =
            ts.post(&format!("/api/sessions/{ended}/updates"), &s2, json!({"kind": "text", "text": "closing"})).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        assert_eq!(ts.post(&format!("/api/sessions/{ended}/end"), &s2, json!({})).await.0, StatusCode::OK);
        let (educator, _) = ts.token(Role::Educator).await;
        let r = ts.http.get(ts.url(&format!("/api/sessions/{ended}/export"))).bearer_auth(&educator).send().await;
        let r = r.expect("export");
        assert_eq!(r.status(), StatusCode::OK);
        std::fs::write(&zip_path, r.bytes().await.expect("zip")).expect("write");
        let (_, key) = ts.call(Method::GET, "/api/archive/key", None, None).await;
        ts.server.state.audit.checkpoint().await.expect("a checkpoint under the old audit key");
        (id, surgeon, ended, key["public_key"].as_str().expect("key").to_string())
    };
    let vault_before = std::fs::read(data.join("identifiers.key")).expect("vault key");
    for kind in ["identifiers", "archive", "audit"] {
        let (code, out, err) = run(&data, &["keys", "rotate", kind], "");
        assert_eq!(code, 0, "{kind}: {out}{err}");
        assert!(out.contains("kept for verification"), "{out}");
    }
    assert_ne!(std::fs::read(data.join("identifiers.key")).expect("vault key"), vault_before);
    let (code, _, err) = run(&data, &["keys", "rotate", "archive", "--retire-after", "1h"], "");
    assert_ne!(code, 0, "--retire-after is for the jwt key");
    assert!(err.contains("jwt key only"), "{err}");

    // An archive signed before the rotation verifies with the data dir's keys.
    let zip = zip_path.to_str().expect("path");
    let (code, out, err) = run(&data, &["archive", "verify", zip], "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("signature valid"), "{out}");

    let ts = TestServer::start_with(|c| c.data_dir = data.clone()).await;
    // Identifiers sealed under the old vault key are read back and still mask.
    let (s, held) = ts
        .post(
            &format!("/api/sessions/{id}/updates"),
            &surgeon,
            json!({"kind": "text", "text": "quarshie stable, mrn 8812 0467"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{held}");
    let text = held["text"].as_str().expect("text");
    assert!(!text.to_lowercase().contains("quarshie") && !text.contains("8812"), "after vault rotation: {text}");

    // The server now signs exports with the new archive key.
    let (_, key) = ts.call(Method::GET, "/api/archive/key", None, None).await;
    let new_archive_key = key["public_key"].as_str().expect("key").to_string();
    assert_ne!(new_archive_key, old_archive_key);
    let (educator, _) = ts.token(Role::Educator).await;
    let r = ts.http.get(ts.url(&format!("/api/sessions/{ended}/export"))).bearer_auth(&educator).send().await;
    let after = data.join("after.zip");
    std::fs::write(&after, r.expect("export").bytes().await.expect("zip")).expect("write");
    let after = after.to_str().expect("path");
    let (code, out, err) = run(&data, &["archive", "verify", after, "--public-key", &new_archive_key], "");
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, _) = run(&data, &["archive", "verify", after, "--public-key", &old_archive_key], "");
    assert_ne!(code, 0, "the old key does not verify what the new one signed");

    // Each rotation is audited (noted by the CLI while the server was stopped).
    let (admin, _) = ts.token(Role::Admin).await;
    let events = audited_rotations(&ts, &admin, 3).await;
    let keys: Vec<&str> = events.iter().filter_map(|e| e["detail"]["key"].as_str()).collect();
    assert_eq!(keys, vec!["identifiers", "archive", "audit"], "{events:?}");
    // The chain verifies across checkpoints signed by the old and the new audit key.
    ts.server.state.audit.checkpoint().await.expect("a checkpoint under the new audit key");
    let (code, out, err) = run(&data, &["audit", "verify"], "");
    assert_eq!(code, 0, "{out}{err}");
}

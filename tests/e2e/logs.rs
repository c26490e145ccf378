//! Capture the logs of a whole flow, at the most verbose level, and prove that
//! no token, password, invite code or registered patient identifier is in them.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::process::{run, start};

#[tokio::test]
async fn no_secret_or_identifier_reaches_the_logs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let surgeon_pw = "Surgeon-Pa55word-QX7";
    let student_pw = "Student-Pa55word-ZK4";
    assert_eq!(run(d, &["user", "add", "--username", "sx", "--role", "surgeon"], &format!("{surgeon_pw}\n")).0, 0);
    assert_eq!(run(d, &["user", "add", "--username", "st", "--role", "student", "--password", student_pw], "").0, 0);
    let mut p = start(d, &["serve", "--listen", "127.0.0.1:0", "--log", "trace"], &[("RUST_LOG", "trace")]);
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", p.url);
    let login = |u: &'static str, pw: &'static str| {
        let req = http.post(url("/api/auth/login")).json(&json!({"username": u, "password": pw}));
        async move { req.send().await.expect("login").json::<Value>().await.expect("json") }
    };
    let surgeon = login("sx", surgeon_pw).await["access_token"].as_str().expect("token").to_string();
    let student = login("st", student_pw).await["access_token"].as_str().expect("token").to_string();
    let wrong_pw = "Wrong-Guess-Secret-991";
    let r = http
        .post(url("/api/auth/login"))
        .json(&json!({"username": "sx", "password": wrong_pw}))
        .send()
        .await
        .expect("x");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let call = |m: reqwest::Method, path: String, token: &str, body: Value| {
        let req = http.request(m, url(&path)).bearer_auth(token).json(&body);
        async move {
            let r = req.send().await.expect("send");
            let s = r.status();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    use reqwest::Method;
    let (s, sess) =
        call(Method::POST, "/api/sessions".into(), &surgeon, json!({"title": "Whipple", "delay_seconds": 0})).await;
    assert_eq!(s, StatusCode::CREATED);
    let id = sess["id"].as_str().expect("id").to_string();
    let names = ["Philomena Okonkwo-Tran"];
    let mrn = "MRN-55501234";
    let dob = "1941-07-23";
    let (s, _) = call(
        Method::PUT,
        format!("/api/sessions/{id}/identifiers"),
        &surgeon,
        json!({"names": names, "mrns": [mrn], "dates": [dob], "other": ["BAND-7781-XQ"]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let scope = json!({"text": true, "images": true, "video": true, "audio": true, "archive": true});
    assert_eq!(
        call(Method::PUT, format!("/api/sessions/{id}/consent"), &surgeon, json!({"reference": "R-1", "scope": scope}))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(call(Method::POST, format!("/api/sessions/{id}/start"), &surgeon, json!({})).await.0, StatusCode::OK);
    let (s, inv) =
        call(Method::POST, format!("/api/sessions/{id}/invites"), &surgeon, json!({"role": "student"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let code = inv["code"].as_str().expect("code").to_string();
    let redeemed: Value = http
        .post(url("/api/auth/invite"))
        .json(&json!({"code": code, "name": "Visiting Student"}))
        .send()
        .await
        .expect("redeem")
        .json()
        .await
        .expect("json");
    let invite_token = redeemed["access_token"].as_str().expect("token").to_string();
    assert_eq!(call(Method::GET, format!("/api/sessions/{id}"), &invite_token, Value::Null).await.0, StatusCode::OK);
    assert_eq!(call(Method::GET, format!("/api/sessions/{id}"), &student, Value::Null).await.0, StatusCode::OK);
    // Cookie-authenticated request and a logout.
    let r = http.get(url("/api/me")).header("cookie", format!("orgallery_token={student}")).send().await.expect("me");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(call(Method::POST, "/api/auth/logout".into(), &student, json!({})).await.0, StatusCode::NO_CONTENT);
    assert_eq!(call(Method::GET, "/api/me".into(), &student, Value::Null).await.0, StatusCode::UNAUTHORIZED);
    let mut live_secrets = crate::live_hooks::exercise_logged_flow(&http, &p.url, &id, &surgeon).await;
    live_secrets.extend(crate::live_hooks::exercise_audience(&http, &p.url, &id, &invite_token).await);
    assert_eq!(call(Method::POST, format!("/api/sessions/{id}/end"), &surgeon, json!({})).await.0, StatusCode::OK);
    assert_eq!(p.terminate(), Some(0));

    let logs = p.output();
    assert!(logs.contains("login"), "the logs were captured at all: {} bytes", logs.len());
    assert!(logs.contains(&id), "spans carry the session id");
    let ring: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("jwt-keys.json")).expect("key ring")).expect("json");
    let secret = ring["keys"][0]["secret"].as_str().expect("secret").to_string();
    let mut forbidden: Vec<String> = vec![
        surgeon_pw.into(),
        student_pw.into(),
        wrong_pw.into(),
        surgeon.clone(),
        student.clone(),
        invite_token.clone(),
        code.clone(),
        mrn.into(),
        "55501234".into(),
        dob.into(),
        "BAND-7781-XQ".into(),
        "Okonkwo".into(),
        "Philomena".into(),
        secret.trim().to_string(),
    ];
    // Also every token's signature alone (a log might print a part of a JWT).
    for t in [&surgeon, &student, &invite_token] {
        forbidden.push(t.rsplit('.').next().expect("sig").to_string());
    }
    forbidden.extend(live_secrets);
    for f in &forbidden {
        assert!(!logs.contains(f.as_str()), "the logs contain a secret ({} chars)", f.len());
    }
}

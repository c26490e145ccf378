//! The audit log: every event kind written by the real flows, never a
//! secret in it; `GET /api/audit` filters, pages and refuses bad input; and
//! `orgallery audit verify` passes on live data and fails, naming the first
//! bad event, on an altered, deleted, inserted or reordered row and on a
//! truncated tail.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use orgallery::model::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, TestServer};

/// Every event of the log, through the API, page by page.
pub async fn all_events(ts: &TestServer, admin: &str, filter: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/audit?limit=7{filter}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (s, v) = ts.get(&path, admin).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        out.extend(v["events"].as_array().expect("events").iter().cloned());
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

/// Wait until the writer has written `action` (appending is asynchronous).
pub async fn wait_for(ts: &TestServer, admin: &str, action: &str, filter: &str) -> Vec<Value> {
    for _ in 0..200 {
        let events = all_events(ts, admin, filter).await;
        if events.iter().any(|e| e["action"] == action) {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no {action} event");
}

fn png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(32, 24, |x, y| image::Rgb([x as u8 * 8, y as u8 * 8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("png");
    out.into_inner()
}

#[tokio::test]
async fn every_event_kind_is_written_by_the_real_flows_and_never_a_secret() {
    let ts = TestServer::start().await;
    let (admin, _) = ts.token(Role::Admin).await;
    // Sign-ins: one good, one wrong password of a real account, then logout.
    let (surgeon_name, surgeon_pw, surgeon_sub) = ts.user(Role::Surgeon).await;
    let bad = ts.login(&surgeon_name, "not-the-password-1234").await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let ok = ts.login(&surgeon_name, &surgeon_pw).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let body: Value = ok.json().await.expect("json");
    let surgeon = body["access_token"].as_str().expect("token").to_string();

    let (s, v) = ts.post("/api/sessions", &surgeon, json!({"title": "Audit", "delay_seconds": 30})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().expect("id").to_string();
    let scope = json!({"text": true, "images": true, "video": true, "audio": true, "archive": true});
    let consent_ref = "CONSENT-REF-7731";
    let (s, _) = ts
        .put(&format!("/api/sessions/{id}/consent"), &surgeon, json!({"reference": consent_ref, "scope": scope}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = ts
        .put(
            &format!("/api/sessions/{id}/identifiers"),
            &surgeon,
            json!({"names": ["Jane Quixote"], "mrns": ["MRN99117"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (mod_token, mod_sub) = ts.token(Role::Moderator).await;
    let (s, _) = ts.put(&format!("/api/sessions/{id}/moderators"), &surgeon, json!({"users": [mod_sub]})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ts.post(&format!("/api/sessions/{id}/start"), &surgeon, json!({})).await.0, StatusCode::OK);

    // The live channel: join, then leave.
    let (student, _) = ts.token(Role::Student).await;
    let viewer = crate::ws::viewer(&ts, &id, &student, 0).await;
    wait_for(&ts, &admin, "join", &format!("&session={id}")).await;
    drop(viewer);

    // WHEP: join, then leave (DELETE).
    let (_pc, offer) = crate::rtc_peer::viewer_offer().await;
    let (s, h, body) =
        crate::rtc_peer::post_offer(&ts, &format!("/api/sessions/{id}/whep"), &student, "application/sdp", &offer)
            .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let location = h["location"].to_str().expect("location").to_string();
    let r = ts.http.delete(ts.url(&location)).bearer_auth(&student).send().await.expect("delete");
    assert_eq!(r.status(), StatusCode::OK);

    // Every gate action.
    let secret_text = "Patient Jane Quixote MRN99117 is doing well";
    let (s, held) =
        ts.post(&format!("/api/sessions/{id}/updates"), &surgeon, json!({"kind": "text", "text": secret_text})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{held}");
    let uid = held["id"].as_str().expect("id").to_string();
    let (s, v) = ts
        .patch(
            &format!("/api/sessions/{id}/updates/{uid}"),
            &mod_token,
            json!({"text": "edited UNREDACTED-EDIT Jane Quixote"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        ts.post(&format!("/api/sessions/{id}/updates/{uid}/approve"), &surgeon, json!({})).await.0,
        StatusCode::OK
    );
    let (_, second) =
        ts.post(&format!("/api/sessions/{id}/updates"), &surgeon, json!({"kind": "marker", "label": "incision"})).await;
    let uid2 = second["id"].as_str().expect("id");
    assert_eq!(
        ts.post(&format!("/api/sessions/{id}/updates/{uid2}/retract"), &surgeon, json!({})).await.0,
        StatusCode::OK
    );
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(png()).file_name("p.png").mime_str("image/png").expect("mime"));
    let r = ts.http.post(ts.url(&format!("/api/sessions/{id}/images"))).bearer_auth(&surgeon).multipart(form);
    assert_eq!(r.send().await.expect("upload").status(), StatusCode::ACCEPTED);
    assert_eq!(
        ts.post(&format!("/api/sessions/{id}/curtain"), &surgeon, json!({"down": true})).await.0,
        StatusCode::OK
    );
    assert_eq!(
        ts.post(&format!("/api/sessions/{id}/curtain"), &surgeon, json!({"down": false})).await.0,
        StatusCode::OK
    );
    let (s, d) = ts.post(&format!("/api/sessions/{id}/dump"), &surgeon, json!({})).await;
    assert_eq!((s, d["dropped"].as_u64()), (StatusCode::OK, Some(1)));

    // An invite redeemed.
    let (educator, _) = ts.token(Role::Educator).await;
    let (s, inv) = ts.post(&format!("/api/sessions/{id}/invites"), &educator, json!({"role": "student"})).await;
    assert_eq!(s, StatusCode::CREATED, "{inv}");
    let (s, redeemed) =
        ts.call(Method::POST, "/api/auth/invite", None, Some(json!({"code": inv["code"], "name": "Student A"}))).await;
    assert_eq!(s, StatusCode::OK, "{redeemed}");
    let invite_token = redeemed["access_token"].as_str().expect("token").to_string();

    assert_eq!(ts.post(&format!("/api/sessions/{id}/end"), &surgeon, json!({})).await.0, StatusCode::OK);
    let r = ts.http.get(ts.url(&format!("/api/sessions/{id}/export"))).bearer_auth(&educator).send().await.expect("x");
    assert_eq!(r.status(), StatusCode::OK);
    let _ = r.bytes().await.expect("zip");

    // Accounts: kick, role change; logout; and an admin purge.
    let (_, _, victim) = ts.user(Role::Student).await;
    assert_eq!(ts.post(&format!("/api/users/{victim}/kick"), &admin, json!({})).await.0, StatusCode::NO_CONTENT);
    let (s, v) = ts.put(&format!("/api/users/{victim}/role"), &admin, json!({"role": "clinician"})).await;
    assert_eq!((s, v["role"].as_str()), (StatusCode::OK, Some("clinician")), "{v}");
    let r = ts.http.post(ts.url("/api/auth/logout")).bearer_auth(&surgeon).send().await.expect("logout");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        ts.call(Method::DELETE, &format!("/api/sessions/{id}"), Some(&admin), None).await.0,
        StatusCode::NO_CONTENT
    );

    let events = wait_for(&ts, &admin, "purge", "").await;
    let events = {
        // WHEP and live leaves may trail: wait for both.
        let mut ev = events;
        for _ in 0..200 {
            let leaves = ev.iter().filter(|e| e["action"] == "leave").count();
            if leaves >= 2 && ev.iter().any(|e| e["action"] == "logout") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
            ev = all_events(&ts, &admin, "").await;
        }
        ev
    };
    let actions: BTreeSet<&str> = events.iter().filter_map(|e| e["action"].as_str()).collect();
    for want in [
        "login",
        "login_failed",
        "logout",
        "invite_redeem",
        "join",
        "leave",
        "publish",
        "approve",
        "retract",
        "edit",
        "curtain",
        "dump",
        "consent",
        "identifiers_set",
        "start",
        "end",
        "export",
        "purge",
        "kick",
        "role_change",
    ] {
        assert!(actions.contains(want), "no {want} event in {actions:?}");
    }
    // Shapes and chain links.
    for (i, e) in events.iter().enumerate() {
        for k in ["id", "at", "actor", "role", "action", "session", "address", "detail", "prev_hash", "hash"] {
            assert!(e.get(k).is_some(), "{k} missing in {e}");
        }
        assert_eq!(e["id"].as_u64(), Some(i as u64 + 1));
        if i > 0 {
            assert_eq!(e["prev_hash"], events[i - 1]["hash"]);
        }
    }
    let failed = events.iter().find(|e| e["action"] == "login_failed").expect("failed");
    assert_eq!(failed["actor"], surgeon_sub.as_str());
    assert_eq!(failed["address"], "127.0.0.1");
    let leaves: Vec<&Value> = events.iter().filter(|e| e["action"] == "leave").collect();
    assert!(leaves.iter().any(|e| e["detail"]["channel"] == "whep" && e["detail"]["seconds"].is_u64()), "{leaves:?}");
    assert!(leaves.iter().any(|e| e["detail"]["channel"] == "live" && e["detail"]["seconds"].is_u64()), "{leaves:?}");
    let dump = events.iter().find(|e| e["action"] == "dump").expect("dump");
    assert_eq!((dump["actor"].as_str(), dump["detail"]["dropped"].as_u64()), (Some(surgeon_sub.as_str()), Some(1)));
    let edit = events.iter().find(|e| e["action"] == "edit").expect("edit");
    assert_eq!(edit["role"], "moderator");
    // The session's events outlive its purge.
    let of_session = all_events(&ts, &admin, &format!("&session={id}")).await;
    assert!(of_session.iter().all(|e| e["session"] == id.as_str()) && of_session.len() > 10);

    // No identifier, text, consent reference, password or token in the log.
    let text = serde_json::to_string(&events).expect("json");
    for secret in [
        "Jane",
        "Quixote",
        "MRN99117",
        "UNREDACTED",
        "doing well",
        consent_ref,
        &surgeon_pw,
        &surgeon,
        &invite_token,
        "not-the-password",
    ] {
        assert!(!text.contains(secret), "{secret} is in the audit log");
    }
}

#[tokio::test]
async fn the_audit_api_filters_pages_and_refuses_bad_input() {
    let ts = TestServer::start().await;
    let (admin, admin_sub) = ts.token(Role::Admin).await;
    let (a, _, _) = ts.live().await;
    let (b, _, _) = ts.live().await;
    wait_for(&ts, &admin, "start", &format!("&session={b}")).await;
    let of_a = all_events(&ts, &admin, &format!("&session={a}")).await;
    assert!(!of_a.is_empty() && of_a.iter().all(|e| e["session"] == a.as_str()));
    let starts = all_events(&ts, &admin, "&action=start").await;
    assert_eq!(starts.len(), 2);
    let first = &starts[0];
    let actor = first["actor"].as_str().expect("actor");
    let by = all_events(&ts, &admin, &format!("&actor={actor}")).await;
    assert!(by.iter().all(|e| e["actor"] == actor) && by.len() >= 3);
    // Time window: from the second start on, only that one.
    let at = starts[1]["at"].as_str().expect("at");
    let later = all_events(&ts, &admin, &format!("&action=start&from={}", at.replace('+', "%2B"))).await;
    assert_eq!(later.len(), 1);
    let none = all_events(&ts, &admin, "&to=2000-01-01T00:00:00Z").await;
    assert!(none.is_empty());
    // Paging gives every event once, in order.
    let all = all_events(&ts, &admin, "").await;
    let ids: Vec<u64> = all.iter().filter_map(|e| e["id"].as_u64()).collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());

    for bad in ["cursor=abc", "cursor=-1", "cursor=99999999999999999999999", "from=yesterday", "limit=0", "x=1"] {
        let got = ts.get(&format!("/api/audit?{bad}"), &admin).await;
        assert!(got.0 == StatusCode::BAD_REQUEST || got.0 == StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {got:?}");
        assert!(got.1["error"]["code"].is_string());
    }
    for role in [Role::Surgeon, Role::Moderator, Role::Clinician, Role::Student, Role::Educator] {
        let (t, _) = ts.token(role).await;
        assert_error(&ts.get("/api/audit", &t).await, StatusCode::FORBIDDEN, "forbidden");
    }
    assert_error(&ts.call(Method::GET, "/api/audit", None, None).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    let _ = admin_sub;
    let r = ts.http.get(ts.url("/metrics")).bearer_auth(&admin).send().await.expect("metrics");
    let metrics = r.text().await.expect("text");
    assert!(metrics.contains("orgallery_audit_queue_full_total 0"), "{metrics}");
    assert!(metrics.contains("# TYPE orgallery_audit_events_total counter"), "{metrics}");
    let (s, k) = ts.call(Method::GET, "/api/audit/key", None, None).await;
    assert_eq!((s, k["public_key"].as_str().map(str::len)), (StatusCode::OK, Some(64)));
}

fn copy_data(from: &Path, to: &Path) {
    for f in ["orgallery.db", "orgallery.db-wal", "orgallery.db-shm", "audit.key", "audit-checkpoint.json"] {
        let src = from.join(f);
        if src.exists() {
            std::fs::copy(&src, to.join(f)).expect("copy");
        }
    }
}

async fn tamper(dir: &Path, sql: &[&str]) {
    let url = format!("sqlite://{}", dir.join("orgallery.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("open copy");
    for q in sql {
        sqlx::query(q).execute(&pool).await.unwrap_or_else(|e| panic!("{q}: {e}"));
    }
    pool.close().await;
}

fn verify(dir: &Path) -> (i32, String) {
    let (code, out, err) = crate::process::run(dir, &["audit", "verify"], "");
    (code, format!("{out}{err}"))
}

#[tokio::test]
async fn audit_verify_passes_on_live_data_and_finds_every_kind_of_tampering() {
    let dir = tempfile::tempdir().expect("dir");
    let mut c = crate::support::config(dir.path());
    c.audit_checkpoint = Duration::from_secs(3600);
    let server = orgallery::server::Server::start(c).await.expect("start");
    let state = server.state.clone();
    let token = |role| state.tokens.issue("someone", role, "Someone", None, None).expect("issue").0;
    let http = reqwest::Client::new();
    let surgeon = token(Role::Surgeon);
    for i in 0..4 {
        let r = http
            .post(format!("{}/api/sessions", server.url))
            .bearer_auth(&surgeon)
            .json(&json!({"title": format!("s{i}")}))
            .send()
            .await
            .expect("create");
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    // On live data, while the server runs: checkpoint, then verify.
    let cp = state.audit.checkpoint().await.expect("checkpoint");
    assert_eq!(cp.head_id, 4);
    let (code, out) = verify(dir.path());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("4 events"), "{out}");
    // Two more events and a clean shutdown (which signs the head).
    for _ in 0..2 {
        http.post(format!("{}/api/sessions", server.url))
            .bearer_auth(&surgeon)
            .json(&json!({"title": "t"}))
            .send()
            .await
            .expect("c");
    }
    server.shutdown();
    server.wait().await.expect("stopped");
    let (code, out) = verify(dir.path());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("6 events") && out.contains("#6"), "{out}");

    let cases: &[(&str, &[&str], &str)] = &[
        ("altered", &["UPDATE audit_events SET detail = '{\"x\":1}' WHERE id = 3"], "event #3"),
        ("altered actor", &["UPDATE audit_events SET actor = 'mallory' WHERE id = 2"], "event #2"),
        ("deleted", &["DELETE FROM audit_events WHERE id = 3"], "event #3"),
        (
            "inserted",
            &[
                "UPDATE audit_events SET id = id + 100 WHERE id >= 3",
                "UPDATE audit_events SET id = id - 99 WHERE id >= 100",
                "INSERT INTO audit_events (id, at, actor, role, action, session, address, detail, prev_hash, hash) \
                 SELECT 3, at, actor, role, action, session, address, detail, hash, hash FROM audit_events WHERE id = 2",
            ],
            "event #3",
        ),
        (
            "reordered",
            &[
                "UPDATE audit_events SET id = 100 WHERE id = 2",
                "UPDATE audit_events SET id = 2 WHERE id = 3",
                "UPDATE audit_events SET id = 3 WHERE id = 100",
            ],
            "event #2",
        ),
        ("truncated tail", &["DELETE FROM audit_events WHERE id >= 5"], "event #5"),
        (
            "truncated tail and its checkpoints",
            &["DELETE FROM audit_events WHERE id >= 5", "DELETE FROM audit_checkpoints"],
            "event #5",
        ),
        ("appended", &["INSERT INTO audit_events SELECT 7, at, actor, role, 'login', session, address, detail, hash, hash FROM audit_events WHERE id = 6"], "event #7"),
    ];
    for (name, sql, want) in cases {
        let copy = tempfile::tempdir().expect("copy");
        copy_data(dir.path(), copy.path());
        tamper(copy.path(), sql).await;
        let (code, out) = verify(copy.path());
        assert_ne!(code, 0, "{name}: verify passed: {out}");
        assert!(out.contains(want), "{name}: expected {want}: {out}");
    }
}

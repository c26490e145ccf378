//! Walk every endpoint with every role and compare the answers with the
//! permission table the server publishes, and that table with API.md.

use std::collections::HashMap;

use orgallery::model::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::TestServer;

/// What API.md "Roles" says each permission allows (the strongest relation
/// each role can have: surgeon = owner, moderator = assigned).
fn contract() -> HashMap<&'static str, Vec<&'static str>> {
    let all = vec!["surgeon", "moderator", "clinician", "student", "educator", "admin"];
    HashMap::from([
        ("session_create", vec!["surgeon"]),
        ("session_read", all.clone()),
        ("session_patch", vec!["surgeon", "moderator"]),
        ("moderators_set", vec!["surgeon"]),
        ("consent_record", vec!["surgeon"]),
        ("identifiers_set", vec!["surgeon", "moderator"]),
        ("session_start", vec!["surgeon"]),
        ("session_end", vec!["surgeon"]),
        ("invite_create", vec!["surgeon", "educator"]),
        ("publish", vec!["surgeon", "moderator"]),
        ("media_publish", vec!["surgeon"]),
        ("gate_control", vec!["surgeon", "moderator"]),
        ("review_queue", vec!["surgeon", "moderator"]),
        ("watch", all.clone()),
        ("accounts_manage", vec!["admin"]),
        ("user_kick", vec!["admin"]),
        ("metrics_read", vec!["admin"]),
        // "Q&A and feedback", the issue for pulse and feedback readers.
        ("question_ask", vec!["clinician", "student"]),
        ("question_vote", vec!["student"]),
        ("question_moderate", vec!["surgeon", "moderator", "educator"]),
        ("question_review", vec!["surgeon", "moderator"]),
        ("pulse_send", vec!["clinician", "student"]),
        ("pulse_read", vec!["surgeon", "moderator", "educator"]),
        ("feedback_create", vec!["student"]),
        ("feedback_read", vec!["surgeon", "educator", "admin"]),
        ("archive_read", vec!["surgeon", "educator", "admin"]),
        ("archive_export", vec!["surgeon", "educator"]),
        ("session_purge", vec!["admin"]),
        ("audit_read", vec!["admin"]),
        ("role_change", vec!["admin"]),
    ])
}

struct Endpoint {
    permission: &'static str,
    method: Method,
    path: &'static str,
    body: Value,
}

fn endpoints(moderator_sub: &str) -> Vec<Endpoint> {
    let e = |permission, method, path, body| Endpoint { permission, method, path, body };
    let scope = json!({"text": true, "images": true, "video": false, "audio": false, "archive": true});
    vec![
        e("session_create", Method::POST, "/api/sessions", json!({"title": "t"})),
        e("session_read", Method::GET, "/api/sessions", Value::Null),
        e("session_read", Method::GET, "/api/sessions/{id}", Value::Null),
        e("session_patch", Method::PATCH, "/api/sessions/{id}", json!({"delay_seconds": 5})),
        e("moderators_set", Method::PUT, "/api/sessions/{id}/moderators", json!({"users": [moderator_sub]})),
        e("consent_record", Method::PUT, "/api/sessions/{id}/consent", json!({"reference": "F", "scope": scope})),
        e("identifiers_set", Method::PUT, "/api/sessions/{id}/identifiers", json!({"names": ["Jane Doe"]})),
        e("session_start", Method::POST, "/api/sessions/{id}/start", json!({})),
        e("invite_create", Method::POST, "/api/sessions/{id}/invites", json!({"role": "student"})),
        e(
            "accounts_manage",
            Method::POST,
            "/api/users",
            json!({"username": "x{n}", "password": "longenough", "role": "student"}),
        ),
        e("user_kick", Method::POST, "/api/users/nobody/kick", json!({})),
        e("metrics_read", Method::GET, "/metrics", Value::Null),
        e("publish", Method::POST, "/api/sessions/{id}/updates", json!({"kind": "text", "text": "hello"})),
        e("gate_control", Method::POST, "/api/sessions/{id}/curtain", json!({"down": false})),
        e("gate_control", Method::POST, "/api/sessions/{id}/dump", json!({})),
        e("review_queue", Method::GET, "/api/sessions/{id}/queue", Value::Null),
        e("watch", Method::GET, "/api/sessions/{id}/updates", Value::Null),
        e("watch", Method::POST, "/api/ws-ticket", json!({})),
        // Allowed callers get past authorization to 415 (the body is not SDP).
        e("media_publish", Method::POST, "/api/sessions/{id}/whip", json!({})),
        e("watch", Method::POST, "/api/sessions/{id}/whep", json!({})),
        // The audience: {qid} is a published question asked before the walk.
        e("question_ask", Method::POST, "/api/sessions/{id}/questions", json!({"text": "why?"})),
        e("watch", Method::GET, "/api/sessions/{id}/questions", Value::Null),
        e("question_vote", Method::POST, "/api/sessions/{id}/questions/{qid}/upvote", json!({})),
        e("question_vote", Method::DELETE, "/api/sessions/{id}/questions/{qid}/upvote", Value::Null),
        e("question_moderate", Method::POST, "/api/sessions/{id}/questions/{qid}/answer", json!({"text": "because"})),
        e("question_moderate", Method::POST, "/api/sessions/{id}/questions/{qid}/pin", json!({})),
        e("question_moderate", Method::POST, "/api/sessions/{id}/questions/{qid}/unpin", json!({})),
        e("question_moderate", Method::POST, "/api/sessions/{id}/questions/{qid}/hide", json!({})),
        e("question_moderate", Method::POST, "/api/sessions/{id}/questions/{qid}/unhide", json!({})),
        // Allowed callers get past authorization to 409 (the question is not held).
        e("question_review", Method::POST, "/api/sessions/{id}/questions/{qid}/approve", json!({})),
        e("question_review", Method::POST, "/api/sessions/{id}/questions/{qid}/reject", json!({})),
        e("question_review", Method::GET, "/api/sessions/{id}/questions/queue", Value::Null),
        e("pulse_send", Method::POST, "/api/sessions/{id}/pulse", json!({"value": "clear"})),
        e("pulse_read", Method::GET, "/api/sessions/{id}/pulse", Value::Null),
        // Every walker joined the live channel first, so feedback is theirs to give.
        e("feedback_create", Method::POST, "/api/sessions/{id}/feedback", json!({"rating": 4})),
        e("feedback_read", Method::GET, "/api/sessions/{id}/feedback", Value::Null),
        e("archive_read", Method::GET, "/api/sessions/{id}/timeline", Value::Null),
        e("archive_read", Method::GET, "/api/sessions/{id}/recordings/recording-1.webm", Value::Null),
        // Allowed callers get past authorization to 409 (the session is live).
        e("archive_export", Method::GET, "/api/sessions/{id}/export", Value::Null),
        e("session_purge", Method::DELETE, "/api/sessions/{id}", Value::Null),
        e("audit_read", Method::GET, "/api/audit", Value::Null),
        e("role_change", Method::PUT, "/api/users/{victim}/role", json!({"role": "clinician"})),
        e("session_end", Method::POST, "/api/sessions/{id}/end", json!({})),
    ]
}

#[tokio::test]
async fn every_endpoint_with_every_role_matches_the_table() {
    let ts = TestServer::start().await;
    let (s, table) = ts.call(Method::GET, "/api/permissions", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let contract = contract();
    let mut published: HashMap<String, Vec<String>> = HashMap::new();
    for row in table.as_array().expect("rows") {
        let p = row["permission"].as_str().expect("permission").to_string();
        let roles =
            row["roles"].as_array().expect("roles").iter().map(|r| r.as_str().expect("r").to_string()).collect();
        published.insert(p, roles);
    }
    assert_eq!(published.len(), contract.len(), "table rows: {table}");
    for (p, roles) in &contract {
        let mut want: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        let mut got = published.get(*p).cloned().unwrap_or_default();
        want.sort();
        got.sort();
        assert_eq!(got, want, "permission {p}: table differs from API.md");
    }

    let mut walked = 0;
    for (n, role) in Role::ALL.into_iter().enumerate() {
        // A fresh live session per role: owner S, assigned moderator M.
        let (id, owner_token, _) = ts.live().await;
        let (mod_token, mod_sub) = ts.token(Role::Moderator).await;
        let (s, v) = ts.put(&format!("/api/sessions/{id}/moderators"), &owner_token, json!({"users": [mod_sub]})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        // A recording to replay, and an account whose role may change.
        let rec = ts.dir.path().join("media").join(&id);
        std::fs::create_dir_all(&rec).expect("dir");
        std::fs::write(rec.join("recording-1.webm"), b"not really a recording").expect("recording");
        let (_, _, victim) = ts.user(Role::Student).await;
        let token = match role {
            Role::Surgeon => owner_token.clone(),
            Role::Moderator => mod_token.clone(),
            other => ts.token(other).await.0,
        };
        let (asker, _) = ts.token(Role::Student).await;
        let (s, q) = ts.post(&format!("/api/sessions/{id}/questions"), &asker, json!({"text": "walk"})).await;
        assert_eq!(s, StatusCode::CREATED, "{q}");
        let qid = q["id"].as_str().expect("qid").to_string();
        let mut joined = crate::ws::viewer(&ts, &id, &token, 0).await;
        joined.expect("state", std::time::Duration::from_secs(10)).await;
        for ep in endpoints(&mod_sub) {
            let path = ep.path.replace("{id}", &id).replace("{victim}", &victim).replace("{qid}", &qid);
            let body = if ep.body.is_null() {
                None
            } else {
                Some(serde_json::from_str(&ep.body.to_string().replace("{n}", &n.to_string())).expect("json"))
            };
            let (status, v) = ts.call(ep.method.clone(), &path, Some(&token), body).await;
            let allowed = published[ep.permission].iter().any(|r| r == role.as_str());
            if allowed {
                assert!(
                    ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&status),
                    "{role} {} {path}: expected allowed, got {status} {v}",
                    ep.method
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role} {} {path}: expected 403, got {v}", ep.method);
                assert_eq!(v["error"]["code"], "forbidden");
            }
            walked += 1;
        }
    }
    assert_eq!(walked, 6 * endpoints("x").len());
}

#[tokio::test]
async fn unrelated_surgeons_and_moderators_do_not_see_a_session() {
    let ts = TestServer::start().await;
    let (id, _, _) = ts.live().await;
    let (draft, _, _) = ts.draft().await;
    let (other_surgeon, _) = ts.token(Role::Surgeon).await;
    let (other_mod, _) = ts.token(Role::Moderator).await;
    let (student, _) = ts.token(Role::Student).await;
    for t in [&other_surgeon, &other_mod] {
        for path in [format!("/api/sessions/{id}"), format!("/api/sessions/{draft}")] {
            let got = ts.get(&path, t).await;
            crate::support::assert_error(&got, StatusCode::NOT_FOUND, "not_found");
        }
        let got = ts.post(&format!("/api/sessions/{id}/end"), t, json!({})).await;
        crate::support::assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    }
    // A student sees the live session but not the draft, and the list agrees.
    assert_eq!(ts.get(&format!("/api/sessions/{id}"), &student).await.0, StatusCode::OK);
    assert_eq!(ts.get(&format!("/api/sessions/{draft}"), &student).await.0, StatusCode::NOT_FOUND);
    let (_, list) = ts.get("/api/sessions", &student).await;
    let ids: Vec<&str> = list.as_array().expect("list").iter().filter_map(|s| s["id"].as_str()).collect();
    assert!(ids.contains(&id.as_str()) && !ids.contains(&draft.as_str()), "{list}");
}

//! The composer's pre-send preview (extension `POST /api/sessions/{id}/redact`):
//! the text as the gallery would see it, for the session's controllers only,
//! with the registered identifiers and the learned names read, never fed.

use orgallery::model::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{assert_error, TestServer};

#[tokio::test]
async fn preview_masks_a_registered_name_without_holding_or_learning() {
    let ts = TestServer::start().await;
    let (id, surgeon, _) = ts.live().await;
    let ids = json!({"names": ["Adaeze Okafor"], "mrns": [], "dates": [], "other": []});
    assert_eq!(ts.put(&format!("/api/sessions/{id}/identifiers"), &surgeon, ids).await.0, StatusCode::OK);
    let (s, v) =
        ts.post(&format!("/api/sessions/{id}/redact"), &surgeon, json!({"text": "Adaeze Okafor is asleep"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["text"], "[NAME] is asleep");
    assert_eq!(v["redactions"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["redactions"][0]["start"], 0, "{v}");
    // Nothing was held by a preview.
    let (s, q) = ts.get(&format!("/api/sessions/{id}/queue"), &surgeon).await;
    assert_eq!(s, StatusCode::OK, "{q}");
    assert_eq!(q["items"].as_array().map(Vec::len), Some(0), "{q}");
    // A name previewed is not learned: a later preview of it alone, in
    // lower case, where only the memory would catch it, stays readable;
    // once it is published, the memory masks it in the preview too.
    let lone = json!({"text": "tsitsinaia asked about parking"});
    let intro = json!({"text": "daughter Tsitsinaia is in the waiting room"});
    let (_, v) = ts.post(&format!("/api/sessions/{id}/redact"), &surgeon, intro.clone()).await;
    assert_eq!(v["text"], "daughter [NAME] is in the waiting room", "{v}");
    let (_, v) = ts.post(&format!("/api/sessions/{id}/redact"), &surgeon, lone.clone()).await;
    assert_eq!(v["text"], "tsitsinaia asked about parking", "the preview taught the memory: {v}");
    let publish = json!({"kind": "text", "text": intro["text"]});
    assert_eq!(ts.post(&format!("/api/sessions/{id}/updates"), &surgeon, publish).await.0, StatusCode::ACCEPTED);
    let (_, v) = ts.post(&format!("/api/sessions/{id}/redact"), &surgeon, lone).await;
    assert_eq!(v["text"], "[NAME] asked about parking", "{v}");
}

#[tokio::test]
async fn preview_in_a_draft_uses_the_registered_identifiers() {
    let ts = TestServer::start().await;
    let (id, surgeon, _) = ts.draft().await;
    let ids = json!({"names": ["Tavita Faleolo"], "mrns": [], "dates": [], "other": []});
    assert_eq!(ts.put(&format!("/api/sessions/{id}/identifiers"), &surgeon, ids).await.0, StatusCode::OK);
    let (s, v) = ts.post(&format!("/api/sessions/{id}/redact"), &surgeon, json!({"text": "Faleolo, prepped"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(!v["text"].as_str().unwrap_or("Faleolo").contains("Faleolo"), "{v}");
}

#[tokio::test]
async fn preview_refuses_students_unknown_sessions_and_bad_bodies() {
    let ts = TestServer::start().await;
    let (id, surgeon, _) = ts.live().await;
    let (student, _) = ts.token(Role::Student).await;
    let path = format!("/api/sessions/{id}/redact");
    assert_error(&ts.post(&path, &student, json!({"text": "hello"})).await, StatusCode::FORBIDDEN, "forbidden");
    let unknown = "/api/sessions/00000000-0000-0000-0000-000000000000/redact";
    assert_error(&ts.post(unknown, &surgeon, json!({"text": "hello"})).await, StatusCode::NOT_FOUND, "not_found");
    let big = "a".repeat(16 * 1024 + 1);
    assert_error(
        &ts.post(&path, &surgeon, json!({"text": big})).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    assert_error(
        &ts.post(&path, &surgeon, json!({"text": "  "})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "empty_text",
    );
    // A body that is not {"text": string}: the extractor's 400 invalid_body, as for updates.
    for bad in [json!({"words": "x"}), json!({"text": 7}), json!({})] {
        assert_error(&ts.post(&path, &surgeon, bad).await, StatusCode::BAD_REQUEST, "invalid_body");
    }
}

#[tokio::test]
async fn moderators_are_assigned_by_username() {
    let ts = TestServer::start().await;
    let (id, surgeon, _) = ts.draft().await;
    let (name, _, sub) = ts.user(Role::Moderator).await;
    let (student_name, _, _) = ts.user(Role::Student).await;
    let path = format!("/api/sessions/{id}/moderators");
    let (s, v) = ts.put(&path, &surgeon, json!({"usernames": [name]})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["moderators"], json!([sub]));
    for bad in [json!({"usernames": [student_name]}), json!({"usernames": ["nobody-here"]})] {
        assert_error(&ts.put(&path, &surgeon, bad).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_moderators");
    }
    let (_, v) = ts.get(&format!("/api/sessions/{id}"), &surgeon).await;
    assert_eq!(v["moderators"], json!([sub]), "a refused assignment changes nothing");
}

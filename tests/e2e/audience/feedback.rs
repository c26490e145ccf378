//! Feedback: once per viewer who joined, from the start until 7 days after
//! the end, its comment redacted; the summary for the owner, educators and
//! admins.

use orgallery::model::Role;
use reqwest::StatusCode;
use serde_json::json;

use super::{session, WAIT};
use crate::support::{assert_error, TestServer};
use crate::ws::viewer;

#[tokio::test]
async fn feedback_once_per_viewer_who_joined_with_the_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_path_buf();
    let ts = TestServer::start_with(|c| c.data_dir = data.clone()).await;
    let (id, surgeon, a) = session(&ts, "mask").await;
    let ids = json!({"names": ["Adaeze Okafor"]});
    assert_eq!(ts.put(&format!("/api/sessions/{id}/identifiers"), &surgeon, ids).await.0, StatusCode::OK);
    let (b, _) = ts.token(Role::Student).await;
    let (late, _) = ts.token(Role::Student).await;
    let (never, _) = ts.token(Role::Student).await;
    for t in [&a, &b, &late] {
        let mut v = viewer(&ts, &id, t, 0).await;
        v.expect("state", WAIT).await;
    }
    let path = format!("/api/sessions/{id}/feedback");

    let (s, f) = ts
        .post(
            &path,
            &a,
            json!({"rating": 5, "comment": "Great view; Mrs Okafor's family can reach me at 415-555-0142"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{f}");
    let comment = f["comment"].as_str().expect("comment");
    assert!(!comment.contains("Okafor") && !comment.contains("555-0142"), "{comment}");
    assert_error(&ts.post(&path, &a, json!({"rating": 4})).await, StatusCode::CONFLICT, "feedback_exists");
    // Bad input changes nothing.
    for (body, status, code) in [
        (json!({"rating": 0}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_rating"),
        (json!({"rating": 6}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_rating"),
        (json!({"rating": "5"}), StatusCode::BAD_REQUEST, "invalid_body"),
        (json!({"rating": 4.5}), StatusCode::BAD_REQUEST, "invalid_body"),
        (json!({"comment": "no rating"}), StatusCode::BAD_REQUEST, "invalid_body"),
        (json!({"rating": 3, "comment": "x".repeat(2001)}), StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
    ] {
        assert_error(&ts.post(&path, &b, body).await, status, code);
    }
    let (s, _) = ts.post(&path, &b, json!({"rating": 3})).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_error(&ts.post(&path, &never, json!({"rating": 1})).await, StatusCode::FORBIDDEN, "not_joined");
    let (clinician, _) = ts.token(Role::Clinician).await;
    assert_error(&ts.post(&path, &clinician, json!({"rating": 1})).await, StatusCode::FORBIDDEN, "forbidden");

    // After the end (and a restart) it is still open for those who joined.
    assert_eq!(ts.post(&format!("/api/sessions/{id}/end"), &surgeon, json!({})).await.0, StatusCode::OK);
    drop(ts);
    let ts = TestServer::start_with(|c| c.data_dir = data.clone()).await;
    let (s, _) = ts.post(&path, &late, json!({"rating": 4, "comment": "  "})).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_error(&ts.post(&path, &a, json!({"rating": 1})).await, StatusCode::CONFLICT, "feedback_exists");

    let (educator, _) = ts.token(Role::Educator).await;
    let (admin, _) = ts.token(Role::Admin).await;
    for t in [&surgeon, &educator, &admin] {
        let (s, sum) = ts.get(&path, t).await;
        assert_eq!(s, StatusCode::OK, "{sum}");
        assert_eq!(sum["count"], 3);
        assert_eq!(sum["average"], 4.0);
        assert_eq!(sum["distribution"], json!({"1": 0, "2": 0, "3": 1, "4": 1, "5": 1}));
        let comments = sum["comments"].as_array().expect("comments");
        assert_eq!(comments.len(), 1, "blank comments are no comments");
        assert_eq!(comments[0]["comment"], json!(comment));
        assert!(!sum.to_string().contains("Okafor"));
    }
    assert_error(&ts.get(&path, &a).await, StatusCode::FORBIDDEN, "forbidden");
    let (other_surgeon, _) = ts.token(Role::Surgeon).await;
    assert_error(&ts.get(&path, &other_surgeon).await, StatusCode::NOT_FOUND, "not_found");
}

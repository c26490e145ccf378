//! The audience's side end to end: questions over HTTP and the socket, tags,
//! votes, moderation, redaction and the hold policy, limits and bad input,
//! the pulse and feedback, against a real server with real clients.

mod feedback;
mod limits;
mod moderation;
mod pulse;
mod qa;

use std::time::Duration;

use orgallery::model::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::TestServer;
use crate::ws::{Next, Viewer};

pub const WAIT: Duration = Duration::from_secs(10);
pub const QUIET: Duration = Duration::from_millis(400);

/// A live session (delay 0, `policy`) and tokens: (id, surgeon, student).
pub async fn session(ts: &TestServer, policy: &str) -> (String, String, String) {
    let (id, surgeon, _) = ts.live().await;
    let (s, v) = ts.patch(&format!("/api/sessions/{id}"), &surgeon, json!({"redaction_policy": policy})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (student, _) = ts.token(Role::Student).await;
    (id, surgeon, student)
}

pub async fn ask(ts: &TestServer, id: &str, token: &str, text: &str) -> (StatusCode, Value) {
    ts.post(&format!("/api/sessions/{id}/questions"), token, json!({"text": text})).await
}

/// Ask and expect 201; the question.
pub async fn asked(ts: &TestServer, id: &str, token: &str, text: &str) -> Value {
    let (s, q) = ask(ts, id, token, text).await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    q
}

pub async fn questions(ts: &TestServer, id: &str, token: &str, query: &str) -> Vec<Value> {
    let (s, v) = ts.get(&format!("/api/sessions/{id}/questions{query}"), token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v.as_array().cloned().expect("array")
}

/// The next `question` frame about question `qid` (skipping everything else).
pub async fn question_frame(v: &mut Viewer, qid: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let f = v.expect("question", deadline.saturating_duration_since(tokio::time::Instant::now())).await;
        if f["question"]["id"] == qid {
            return f["question"].clone();
        }
    }
}

/// The first `question` frame about `qid` for which `pred` holds.
pub async fn question_frame_where(v: &mut Viewer, qid: &str, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        let q = question_frame(v, qid).await;
        if pred(&q) {
            return q;
        }
    }
}

/// No `question` frame about `qid` arrives within `QUIET`.
pub async fn no_question_frame(v: &mut Viewer, qid: &str) {
    loop {
        match v.next(QUIET).await {
            Next::Frame(f) if f["type"] == "question" && f["question"]["id"] == qid => {
                panic!("unexpected question frame {f}")
            }
            Next::Frame(_) => continue,
            Next::Timeout => return,
            Next::Closed(c) => panic!("closed {c:?}"),
        }
    }
}

/// The next frame of `kind` answering a client message (`ack` or `error`).
pub async fn reply(v: &mut Viewer) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match v.next(left).await {
            Next::Frame(f) if f["type"] == "ack" || f["type"] == "error" => return f,
            Next::Frame(_) => continue,
            other => panic!("expected an ack or error frame, got {other:?}"),
        }
    }
}

//! Every gate control end to end, watched by real WebSocket viewers.

use std::time::Duration;

use orgallery::model::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{assert_error, TestServer};
use crate::ws::{viewer, Next};

const WAIT: Duration = Duration::from_secs(10);
const QUIET: Duration = Duration::from_millis(400);

/// A live session with `delay` seconds, a student viewer token and the surgeon token.
async fn setup(ts: &TestServer, delay: u32, policy: &str) -> (String, String, String) {
    let (id, surgeon, _) = ts.live().await;
    let (s, v) = ts
        .patch(&format!("/api/sessions/{id}"), &surgeon, json!({"delay_seconds": delay, "redaction_policy": policy}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (student, _) = ts.token(Role::Student).await;
    (id, surgeon, student)
}

async fn publish(ts: &TestServer, id: &str, token: &str, text: &str) -> Value {
    let (s, v) = ts.post(&format!("/api/sessions/{id}/updates"), token, json!({"kind": "text", "text": text})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["state"], "held");
    v
}

async fn released(ts: &TestServer, id: &str, token: &str) -> Vec<Value> {
    let (s, v) = ts.get(&format!("/api/sessions/{id}/updates?after=0&limit=1000"), token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v.as_array().cloned().expect("array")
}

fn texts(updates: &[Value]) -> Vec<String> {
    updates.iter().map(|u| u["update"].get("text").unwrap_or(&u["text"]).as_str().unwrap_or("").to_string()).collect()
}

#[tokio::test]
async fn delay_releases_in_order_to_every_viewer_with_gap_free_seq() {
    let ts = TestServer::start().await;
    let (id, surgeon, student) = setup(&ts, 1, "mask").await;
    let mut a = viewer(&ts, &id, &student, 0).await;
    let state = a.expect("state", WAIT).await;
    assert_eq!(
        (state["state"].clone(), state["curtain"].clone(), state["delay_seconds"].clone()),
        (json!("live"), json!(false), json!(1))
    );
    let held = publish(&ts, &id, &surgeon, "incision at 09:14").await;
    assert!(held["release_at"].is_string());
    publish(&ts, &id, &surgeon, "gallbladder exposed").await;
    publish(&ts, &id, &surgeon, "cystic duct clipped").await;
    assert!(released(&ts, &id, &student).await.is_empty(), "nothing is released before the delay");
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(a.expect("update", WAIT).await);
    }
    let seqs: Vec<u64> = got.iter().map(|f| f["seq"].as_u64().expect("seq")).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    assert_eq!(texts(&got), vec!["incision at 09:14", "gallbladder exposed", "cystic duct clipped"]);
    let u = &got[0]["update"];
    for key in ["seq", "id", "kind", "text", "label", "caption", "image_url", "created_at", "released_at", "redactions"]
    {
        assert!(u.get(key).is_some(), "update lacks {key}: {u}");
    }
    assert_eq!(u["id"], held["id"]);
    // A viewer joining later gets the backlog, then resumes from `after`.
    let mut b = viewer(&ts, &id, &student, 0).await;
    let backlog: Vec<u64> = b.drain("update", QUIET).await.iter().map(|f| f["seq"].as_u64().expect("seq")).collect();
    assert_eq!(backlog, vec![1, 2, 3]);
    let mut c = viewer(&ts, &id, &student, 2).await;
    let rest: Vec<u64> = c.drain("update", QUIET).await.iter().map(|f| f["seq"].as_u64().expect("seq")).collect();
    assert_eq!(rest, vec![3]);
    assert_eq!(
        texts(&released(&ts, &id, &student).await),
        vec!["incision at 09:14", "gallbladder exposed", "cystic duct clipped"]
    );
    // Markers pass the same way.
    let (s, _) =
        ts.post(&format!("/api/sessions/{id}/updates"), &surgeon, json!({"kind": "marker", "label": "closure"})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let m = a.expect("update", WAIT).await;
    assert_eq!(
        (m["seq"].clone(), m["update"]["kind"].clone(), m["update"]["label"].clone()),
        (json!(4), json!("marker"), json!("closure"))
    );
}

#[tokio::test]
async fn approve_retract_edit_and_their_409s() {
    let ts = TestServer::start().await;
    let (id, surgeon, student) = setup(&ts, 600, "mask").await;
    let mut v = viewer(&ts, &id, &student, 0).await;
    let a = publish(&ts, &id, &surgeon, "retract me").await;
    let b = publish(&ts, &id, &surgeon, "first draft").await;
    let (aid, bid) = (a["id"].as_str().expect("id"), b["id"].as_str().expect("id"));

    let (s, q) = ts.get(&format!("/api/sessions/{id}/queue"), &surgeon).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(q["items"].as_array().map(Vec::len), Some(2), "{q}");
    assert!(q["items"][0]["release_at"].is_string());

    let (s, _) = ts.post(&format!("/api/sessions/{id}/updates/{aid}/retract"), &surgeon, json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = ts.patch(&format!("/api/sessions/{id}/updates/{bid}"), &surgeon, json!({"text": "edited text"})).await;
    assert_eq!((s, e["text"].clone()), (StatusCode::OK, json!("edited text")));
    assert_eq!(e["release_at"], b["release_at"], "the countdown keeps its deadline");
    let (s, _) = ts.post(&format!("/api/sessions/{id}/updates/{bid}/approve"), &surgeon, json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let f = v.expect("update", WAIT).await;
    assert_eq!((f["seq"].clone(), f["update"]["text"].clone()), (json!(1), json!("edited text")));
    assert!(v.drain("update", QUIET).await.is_empty(), "the retracted item never arrives");
    assert_eq!(texts(&released(&ts, &id, &student).await), vec!["edited text"]);

    let path = |uid: &str, op: &str| format!("/api/sessions/{id}/updates/{uid}/{op}");
    assert_error(&ts.post(&path(aid, "approve"), &surgeon, json!({})).await, StatusCode::CONFLICT, "already_dropped");
    assert_error(&ts.post(&path(bid, "retract"), &surgeon, json!({})).await, StatusCode::CONFLICT, "already_released");
    assert_error(
        &ts.patch(&format!("/api/sessions/{id}/updates/{bid}"), &surgeon, json!({"text": "late"})).await,
        StatusCode::CONFLICT,
        "already_released",
    );
    assert_error(
        &ts.post(&path("no-such-item", "approve"), &surgeon, json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    // Students may not touch the gates.
    let c = publish(&ts, &id, &surgeon, "held").await;
    assert_error(
        &ts.post(&path(c["id"].as_str().expect("id"), "approve"), &student, json!({})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(&ts.get(&format!("/api/sessions/{id}/queue"), &student).await, StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn curtain_holds_everything_and_approval_does_not_bypass_it() {
    let ts = TestServer::start().await;
    let (id, surgeon, student) = setup(&ts, 0, "mask").await;
    let mut v = viewer(&ts, &id, &student, 0).await;
    v.expect("state", WAIT).await;
    let (s, c) = ts.post(&format!("/api/sessions/{id}/curtain"), &surgeon, json!({"down": true})).await;
    assert_eq!((s, c["curtain"].clone()), (StatusCode::OK, json!(true)));
    let st = v.expect("state", WAIT).await;
    assert_eq!(st["curtain"], true);
    publish(&ts, &id, &surgeon, "one").await;
    let two = publish(&ts, &id, &surgeon, "two").await;
    let (s, ap) = ts
        .post(&format!("/api/sessions/{id}/updates/{}/approve", two["id"].as_str().expect("id")), &surgeon, json!({}))
        .await;
    assert_eq!((s, ap["state"].clone()), (StatusCode::OK, json!("approved")));
    assert!(v.drain("update", QUIET).await.is_empty(), "nothing passes the curtain");
    assert!(released(&ts, &id, &student).await.is_empty());
    let (_, sess) = ts.get(&format!("/api/sessions/{id}"), &surgeon).await;
    assert_eq!(sess["curtain"], true, "the curtain is part of the session object");
    ts.post(&format!("/api/sessions/{id}/curtain"), &surgeon, json!({"down": false})).await;
    let a = v.expect("update", WAIT).await;
    let b = v.expect("update", WAIT).await;
    assert_eq!(texts(&[a, b]), vec!["one", "two"], "released in order when the curtain goes up");
}

#[tokio::test]
async fn dump_drops_everything_held_and_only_controllers_hear_of_it() {
    let ts = TestServer::start().await;
    let (id, surgeon, student) = setup(&ts, 600, "mask").await;
    let mut ctl = viewer(&ts, &id, &surgeon, 0).await;
    let mut stu = viewer(&ts, &id, &student, 0).await;
    for t in ["a", "b", "c"] {
        publish(&ts, &id, &surgeon, t).await;
    }
    let held = ctl.drain("held", QUIET).await;
    assert_eq!(held.len(), 3, "controllers see held items");
    let (s, d) = ts.post(&format!("/api/sessions/{id}/dump"), &surgeon, json!({})).await;
    assert_eq!((s, d["dropped"].clone()), (StatusCode::OK, json!(3)));
    let dropped = ctl.drain("dropped", QUIET).await;
    assert_eq!(dropped.len(), 3);
    assert!(dropped.iter().all(|d| d["reason"] == "dumped"));
    let (_, q) = ts.get(&format!("/api/sessions/{id}/queue"), &surgeon).await;
    assert_eq!(q["items"].as_array().map(Vec::len), Some(0));
    // The student saw neither held nor dropped events, nor any update.
    let mut seen = Vec::new();
    while let Next::Frame(f) = stu.next(QUIET).await {
        seen.push(f["type"].as_str().unwrap_or("").to_string());
    }
    assert!(seen.iter().all(|t| t == "state"), "student frames: {seen:?}");
    assert!(released(&ts, &id, &student).await.is_empty());
}

#[tokio::test]
async fn end_drops_held_items_and_closes_viewers() {
    let ts = TestServer::start().await;
    let (id, surgeon, student) = setup(&ts, 600, "mask").await;
    let mut v = viewer(&ts, &id, &student, 0).await;
    publish(&ts, &id, &surgeon, "never shown").await;
    let (s, _) = ts.post(&format!("/api/sessions/{id}/end"), &surgeon, json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let st = v.expect("state", WAIT).await;
    let st = if st["state"] == "ended" { st } else { v.expect("state", WAIT).await };
    assert_eq!(st["state"], "ended");
    assert_eq!(v.close_code(WAIT).await, Some(1000));
    assert!(released(&ts, &id, &student).await.is_empty(), "held items are dropped at end, not released");
    // Joining an ended session: its state, its (empty) backlog, then 1000.
    let mut late = viewer(&ts, &id, &student, 0).await;
    assert_eq!(late.expect("state", WAIT).await["state"], "ended");
    assert_eq!(late.close_code(WAIT).await, Some(1000));
    assert_error(
        &ts.post(&format!("/api/sessions/{id}/updates"), &surgeon, json!({"kind": "text", "text": "x"})).await,
        StatusCode::CONFLICT,
        "not_live",
    );
    assert_error(
        &ts.post(&format!("/api/sessions/{id}/curtain"), &surgeon, json!({"down": true})).await,
        StatusCode::CONFLICT,
        "not_live",
    );
}

#[tokio::test]
async fn a_new_delay_applies_to_later_items_only() {
    let ts = TestServer::start().await;
    let (id, surgeon, student) = setup(&ts, 600, "mask").await;
    let mut v = viewer(&ts, &id, &student, 0).await;
    publish(&ts, &id, &surgeon, "long wait").await;
    ts.patch(&format!("/api/sessions/{id}"), &surgeon, json!({"delay_seconds": 0})).await;
    publish(&ts, &id, &surgeon, "no wait").await;
    let f = v.expect("update", WAIT).await;
    assert_eq!(f["update"]["text"], "no wait");
    assert!(v.drain("update", QUIET).await.is_empty(), "the earlier item keeps its 600 s deadline");
}

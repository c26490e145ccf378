//! The live pulse over the socket and HTTP: viewers send it, presenters
//! (controllers, educators) receive the aggregates, and the series is
//! aligned with the released timeline. (The aggregation itself is tested
//! as pure code with an injected clock in `src/audience/pulse.rs`.)

use std::time::Duration;

use orgallery::model::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{reply, session, WAIT};
use crate::support::{assert_error, TestServer};
use crate::ws::{viewer, Next};

fn count(frames: &[Value], mood: &str) -> u64 {
    frames.iter().map(|f| f["counts"][mood].as_u64().unwrap_or(0)).sum()
}

#[tokio::test]
async fn presenters_get_the_pulse_aggregates_and_its_series_on_the_timeline() {
    let ts = TestServer::start_with(|c| c.audience.pulse_bucket = Duration::from_secs(1)).await;
    let (id, surgeon, student) = session(&ts, "mask").await;
    let (s, _) =
        ts.post(&format!("/api/sessions/{id}/updates"), &surgeon, json!({"kind": "marker", "label": "incision"})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (educator, _) = ts.token(Role::Educator).await;
    let mut presenter = viewer(&ts, &id, &educator, 0).await;
    assert_eq!(presenter.expect("update", WAIT).await["update"]["label"], "incision");
    let mut controller = viewer(&ts, &id, &surgeon, 0).await;
    let mut a = viewer(&ts, &id, &student, 0).await;
    let (b_token, _) = ts.token(Role::Student).await;
    let mut b = viewer(&ts, &id, &b_token, 0).await;
    let (c_token, _) = ts.token(Role::Clinician).await;

    a.send(r#"{"type":"pulse","value":"confused"}"#).await;
    let ack = reply(&mut a).await;
    assert_eq!(
        (ack["type"].clone(), ack["of"].clone(), ack["value"].clone()),
        (json!("ack"), json!("pulse"), json!("confused")),
        "{ack}"
    );
    b.send(r#"{"type":"pulse","value":"confused"}"#).await;
    assert_eq!(reply(&mut b).await["type"], "ack");
    let (s, v) = ts.post(&format!("/api/sessions/{id}/pulse"), &c_token, json!({"value": "too_fast"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v["at"].is_string());

    // At most one per viewer per 30 s: 429 + Retry-After, or an error frame; not stored.
    a.send(r#"{"type":"pulse","value":"great"}"#).await;
    let e = reply(&mut a).await;
    assert_eq!(e["error"]["code"], "rate_limited", "{e}");
    assert!(e["retry_after"].as_u64().is_some_and(|s| (1..=30).contains(&s)));
    let r = ts
        .http
        .post(ts.url(&format!("/api/sessions/{id}/pulse")))
        .bearer_auth(&c_token)
        .json(&json!({"value": "great"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));

    // Presenters receive the per-bucket aggregates; viewers do not.
    let mut frames = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while frames.iter().map(|f: &Value| f["total"].as_u64().unwrap_or(0)).sum::<u64>() < 3 {
        let f = presenter.expect("pulse", deadline.saturating_duration_since(tokio::time::Instant::now())).await;
        assert!(f["start"].is_string() && f["end"].is_string(), "{f}");
        frames.push(f);
    }
    assert_eq!((count(&frames, "confused"), count(&frames, "too_fast"), count(&frames, "great")), (2, 1, 0));
    assert!(controller.expect("pulse", WAIT).await["total"].as_u64().is_some_and(|n| n >= 1));
    while let Next::Frame(f) = a.next(Duration::from_millis(1500)).await {
        assert_ne!(f["type"], "pulse", "a viewer got the pulse: {f}");
    }

    // The series, aligned with the released timeline: the phase is "incision".
    let (s, report) = ts.get(&format!("/api/sessions/{id}/pulse"), &educator).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["bucket_seconds"], 1);
    let series = report["series"].as_array().expect("series");
    assert_eq!((count(series, "confused"), count(series, "too_fast"), count(series, "great")), (2, 1, 0));
    assert!(series.iter().all(|b| b["marker"]["label"] == "incision" && b["seq"] == 1), "{report}");
    assert_eq!(report["markers"][0]["label"], "incision");
    assert_eq!(ts.server.state.store.pulses(&id).await.expect("store").len(), 3, "the refused ones are not stored");
    for t in [&student, &c_token] {
        assert_error(&ts.get(&format!("/api/sessions/{id}/pulse"), t).await, StatusCode::FORBIDDEN, "forbidden");
    }
    assert_error(
        &ts.post(&format!("/api/sessions/{id}/pulse"), &educator, json!({"value": "great"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
}

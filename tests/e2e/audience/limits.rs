//! Abuse: a flood from one user is throttled (429 + Retry-After, an error
//! frame on the socket) and not stored; bad input is refused with the
//! contract's error and changes nothing; questions only while live.

use orgallery::model::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{ask, asked, questions, reply, session};
use crate::support::{assert_error, TestServer};
use crate::ws::viewer;

async fn stored(ts: &TestServer, id: &str) -> usize {
    ts.server.state.store.questions(id, None).await.expect("store").len()
}

#[tokio::test]
async fn a_flood_from_one_user_is_throttled_and_not_stored() {
    let ts = TestServer::start_with(|c| c.audience.votes_per_minute = 3).await;
    let (id, _, flooder) = session(&ts, "mask").await;
    for i in 0..5 {
        asked(&ts, &id, &flooder, &format!("question {i}")).await;
    }
    let r = ts
        .http
        .post(ts.url(&format!("/api/sessions/{id}/questions")))
        .bearer_auth(&flooder)
        .json(&json!({"text": "one too many"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "rate_limited");
    // Over the socket: an error frame, and still nothing stored.
    let mut sock = viewer(&ts, &id, &flooder, 0).await;
    sock.send(r#"{"type":"ask","text":"and another"}"#).await;
    let e = reply(&mut sock).await;
    assert_eq!(
        (e["type"].clone(), e["of"].clone(), e["error"]["code"].clone()),
        (json!("error"), json!("ask"), json!("rate_limited")),
        "{e}"
    );
    assert!(e["retry_after"].as_u64().is_some_and(|s| s >= 1));
    assert_eq!(stored(&ts, &id).await, 5);
    assert!(questions(&ts, &id, &flooder, "").await.iter().all(|q| q["text"] != "one too many"));
    // Others are not throttled by it.
    let (other, _) = ts.token(Role::Student).await;
    let q = asked(&ts, &id, &other, "mine").await;

    // Votes: the limit counts every vote request; the throttled one changes nothing.
    let path = format!("/api/sessions/{id}/questions/{}/upvote", q["id"].as_str().expect("id"));
    for method in [Method::POST, Method::DELETE, Method::POST] {
        assert_eq!(ts.call(method, &path, Some(&flooder), None).await.0, StatusCode::OK);
    }
    let got = ts.call(Method::DELETE, &path, Some(&flooder), None).await;
    assert_error(&got, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    sock.send(&format!(r#"{{"type":"unvote","question_id":"{}"}}"#, q["id"].as_str().expect("id"))).await;
    assert_eq!(reply(&mut sock).await["error"]["code"], "rate_limited");
    let listed = questions(&ts, &id, &flooder, "").await;
    let mine = listed.iter().find(|x| x["id"] == q["id"]).expect("listed");
    assert_eq!((mine["votes"].clone(), mine["voted"].clone()), (json!(1), json!(true)), "the vote stayed");
}

#[tokio::test]
async fn bad_input_is_refused_with_the_contracts_error_and_changes_nothing() {
    let ts = TestServer::start().await;
    let (id, surgeon, student) = session(&ts, "mask").await;
    let path = format!("/api/sessions/{id}/questions");
    assert_error(&ask(&ts, &id, &student, "").await, StatusCode::UNPROCESSABLE_ENTITY, "empty_text");
    assert_error(&ask(&ts, &id, &student, " \n\t ").await, StatusCode::UNPROCESSABLE_ENTITY, "empty_text");
    assert_error(&ask(&ts, &id, &student, &"é".repeat(1001)).await, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert_error(&ts.post(&path, &student, json!({"text": 5})).await, StatusCode::BAD_REQUEST, "invalid_body");
    assert_error(
        &ts.post(&path, &student, json!({"text": "x", "author": "someone"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    assert_error(&ts.post(&path, &student, json!({})).await, StatusCode::BAD_REQUEST, "invalid_body");
    let r = ts
        .http
        .post(ts.url(&path))
        .bearer_auth(&student)
        .header("content-type", "application/json")
        .body("{\"text\":")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = ts.http.post(ts.url(&path)).bearer_auth(&student).body("{\"text\":\"x\"}").send().await.expect("send");
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_error(
        &ts.call(Method::POST, &path, None, Some(json!({"text": "x"}))).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    // Over the socket.
    let mut sock = viewer(&ts, &id, &student, 0).await;
    for (frame, code) in [
        (r#"{"type":"ask","text":5}"#, "bad_message"),
        (r#"{"type":"ask"}"#, "bad_message"),
        (r#"{"type":"ask","text":"   "}"#, "empty_text"),
        (r#"{"type":"upvote","question_id":"no-such-question"}"#, "not_found"),
        (r#"{"type":"pulse","value":"bored"}"#, "invalid_pulse"),
    ] {
        sock.send(frame).await;
        let e = reply(&mut sock).await;
        assert_eq!((e["type"].clone(), e["error"]["code"].clone()), (json!("error"), json!(code)), "{frame}: {e}");
    }
    sock.send(&format!(r#"{{"type":"ask","text":"{}"}}"#, "x".repeat(1001))).await;
    assert_eq!(reply(&mut sock).await["error"]["code"], "payload_too_large");
    // The longest question is fine; moderation input is checked too.
    let q = asked(&ts, &id, &student, &"é".repeat(1000)).await;
    let qid = q["id"].as_str().expect("id");
    let answer = format!("/api/sessions/{id}/questions/{qid}/answer");
    assert_error(
        &ts.post(&answer, &surgeon, json!({"text": ""})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "empty_text",
    );
    assert_error(
        &ts.post(&answer, &surgeon, json!({"text": "x".repeat(4001)})).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    assert_error(&ts.post(&answer, &surgeon, json!({"answer": "x"})).await, StatusCode::BAD_REQUEST, "invalid_body");
    let unknown = format!("/api/sessions/{id}/questions/{}/answer", "z".repeat(65));
    assert_error(&ts.post(&unknown, &surgeon, json!({"text": "x"})).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(
        &ts.post(&format!("/api/sessions/{id}/pulse"), &student, json!({"value": "bored"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_pulse",
    );
    assert_error(
        &ts.post(&format!("/api/sessions/{id}/pulse"), &student, json!({"value": 1})).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    let listed = questions(&ts, &id, &surgeon, "").await;
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0]["answered"].clone(), listed[0]["votes"].clone()), (json!(false), json!(0)));
    assert_eq!(stored(&ts, &id).await, 1);
    assert!(ts.server.state.store.pulses(&id).await.expect("store").is_empty());

    // Questions only while live: an ended session refuses them (and a
    // draft is not visible to viewers at all).
    assert_eq!(ts.post(&format!("/api/sessions/{id}/end"), &surgeon, json!({})).await.0, StatusCode::OK);
    assert_error(&ask(&ts, &id, &student, "too late?").await, StatusCode::CONFLICT, "not_live");
    assert_error(
        &ts.post(&format!("/api/sessions/{id}/questions/{qid}/upvote"), &student, json!({})).await,
        StatusCode::CONFLICT,
        "not_live",
    );
    assert_error(&ts.post(&answer, &surgeon, json!({"text": "later"})).await, StatusCode::CONFLICT, "not_live");
    assert_eq!(questions(&ts, &id, &student, "").await.len(), 1, "still readable after the end");
    let (draft, _, _) = ts.draft().await;
    assert_error(&ask(&ts, &draft, &student, "hello?").await, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(stored(&ts, &id).await + stored(&ts, &draft).await, 1);
}

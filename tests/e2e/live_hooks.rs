//! The live part of the log-capture flow: publish text carrying the
//! registered identifiers, watch it through a one-use ticket. Returns the
//! extra secrets that must not reach the logs; and the audience's part.

use serde_json::{json, Value};

pub async fn exercise_logged_flow(http: &reqwest::Client, base: &str, session: &str, surgeon: &str) -> Vec<String> {
    let r = http
        .patch(format!("{base}/api/sessions/{session}"))
        .bearer_auth(surgeon)
        .json(&json!({"delay_seconds": 0}))
        .send()
        .await
        .expect("patch");
    assert!(r.status().is_success());
    let t: Value = http
        .post(format!("{base}/api/ws-ticket"))
        .bearer_auth(surgeon)
        .json(&json!({}))
        .send()
        .await
        .expect("t")
        .json()
        .await
        .expect("j");
    let ticket = t["ticket"].as_str().expect("ticket").to_string();
    let url = format!("{}/api/sessions/{session}/live?ticket={ticket}", base.replace("http://", "ws://"));
    let mut v = crate::ws::connect_with(&url, &[]).await.expect("ws");
    let text = "Philomena Okonkwo-Tran (MRN-55501234, DOB 1941-07-23) tolerated induction; son at 415-555-0199";
    let r = http
        .post(format!("{base}/api/sessions/{session}/updates"))
        .bearer_auth(surgeon)
        .json(&json!({"kind": "text", "text": text}))
        .send()
        .await
        .expect("publish");
    assert_eq!(r.status().as_u16(), 202);
    let f = v.expect("update", std::time::Duration::from_secs(10)).await;
    assert!(!f.to_string().contains("Okonkwo"), "{f}");
    vec![ticket, "415-555-0199".into()]
}

/// The audience's part: a question over the socket and one over HTTP, both
/// with the registered identifiers and a phone number, a pulse and feedback
/// with a comment, by a viewer. Returns what must not reach the logs: the
/// question and comment words (no question text is ever logged).
pub async fn exercise_audience(http: &reqwest::Client, base: &str, session: &str, viewer: &str) -> Vec<String> {
    let url = format!("{}/api/sessions/{session}/live", base.replace("http://", "ws://"));
    let mut v = crate::ws::connect_with(&url, &[("authorization", &format!("Bearer {viewer}"))]).await.expect("ws");
    v.send(r#"{"type":"ask","text":"Is Philomena Okonkwo-Tran (MRN-55501234) the one? Quillwort question, call 415-555-0177"}"#)
        .await;
    let ack = v.expect("ack", std::time::Duration::from_secs(10)).await;
    assert!(!ack.to_string().contains("Okonkwo"), "{ack}");
    v.send(r#"{"type":"pulse","value":"confused"}"#).await;
    v.expect("ack", std::time::Duration::from_secs(10)).await;
    let r = http
        .post(format!("{base}/api/sessions/{session}/questions"))
        .bearer_auth(viewer)
        .json(&json!({"text": "Marrowfat question about Okonkwo-Tran, born 1941-07-23"}))
        .send()
        .await
        .expect("ask");
    assert_eq!(r.status().as_u16(), 201);
    let r = http
        .post(format!("{base}/api/sessions/{session}/feedback"))
        .bearer_auth(viewer)
        .json(&json!({"rating": 4, "comment": "Sassafras comment; Philomena looked well, ring 415-555-0188"}))
        .send()
        .await
        .expect("feedback");
    assert_eq!(r.status().as_u16(), 201);
    ["Quillwort", "Marrowfat", "Sassafras", "415-555-0177", "415-555-0188"].map(String::from).to_vec()
}

//! The live part of the log-capture flow: publish text carrying the
//! registered identifiers, watch it through a one-use ticket. Returns the
//! extra secrets that must not reach the logs.

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

//! Answer, pin, hide and unhide; redaction of what the audience writes
//! before anyone sees it; the hold policy for questions.

use orgallery::model::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{asked, no_question_frame, question_frame, question_frame_where, questions, reply, session};
use crate::support::{assert_error, TestServer};
use crate::ws::viewer;

fn id_of(q: &Value) -> String {
    q["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn answer_pin_hide_and_unhide_reach_every_panel_at_once() {
    let ts = TestServer::start().await;
    let (id, surgeon, student) = session(&ts, "mask").await;
    let (educator, _) = ts.token(Role::Educator).await;
    let (moderator, mod_sub) = ts.token(Role::Moderator).await;
    let (s, _) = ts.put(&format!("/api/sessions/{id}/moderators"), &surgeon, json!({"users": [mod_sub]})).await;
    assert_eq!(s, StatusCode::OK);
    let (other, _) = ts.token(Role::Student).await;
    let mut panel = viewer(&ts, &id, &other, 0).await; // a second viewer's panel
    let mut staff = viewer(&ts, &id, &educator, 0).await;
    let q = asked(&ts, &id, &student, "Why two clips on the cystic artery?").await;
    let qid = id_of(&q);
    let other_q = asked(&ts, &id, &student, "Another one").await;
    question_frame(&mut panel, &qid).await;
    let base = format!("/api/sessions/{id}/questions/{qid}");

    // Answer (an educator), redacted like any viewer-visible text.
    let (s, a) =
        ts.post(&format!("{base}/answer"), &educator, json!({"text": "Safety margin; call 415-555-0100 later"})).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["answered"], true);
    assert!(!a["answer"].as_str().expect("answer").contains("555-0100"), "{a}");
    // (A viewer may get a question twice, in its join replay and live: wait for the state.)
    let f = question_frame_where(&mut panel, &qid, |f| f["answered"] == true).await;
    assert_eq!(f["answer"], a["answer"]);
    assert!(f["answered_by"].as_str().is_some_and(|n| n.starts_with("educator-")));

    // Pin (the surgeon): first in the votes order.
    let (s, p) = ts.post(&format!("{base}/pin"), &surgeon, json!({})).await;
    assert_eq!((s, p["pinned"].clone()), (StatusCode::OK, json!(true)));
    question_frame_where(&mut panel, &qid, |f| f["pinned"] == true).await;
    let (_, voted) =
        ts.post(&format!("/api/sessions/{id}/questions/{}/upvote", id_of(&other_q)), &other, json!({})).await;
    assert_eq!(voted["votes"], 1);
    assert_eq!(questions(&ts, &id, &other, "").await[0]["id"], json!(qid), "pinned before more votes");

    // Hide (a moderator): gone from the other viewer's panel at once, staff still see it.
    let (s, h) = ts.post(&format!("{base}/hide"), &moderator, json!({})).await;
    assert_eq!((s, h["hidden"].clone()), (StatusCode::OK, json!(true)), "{h}");
    let stub = question_frame_where(&mut panel, &qid, |f| f["hidden"] == true).await;
    assert_eq!(stub["hidden"], true);
    assert!(stub.get("text").is_none() && stub.get("author").is_none(), "nothing of it is sent again: {stub}");
    let full = question_frame_where(&mut staff, &qid, |f| f["hidden"] == true).await;
    assert_eq!((full["hidden"].clone(), full["text"].clone()), (json!(true), q["text"].clone()));
    assert!(questions(&ts, &id, &other, "").await.iter().all(|x| x["id"] != json!(qid)), "gone from GET for viewers");
    assert!(questions(&ts, &id, &surgeon, "").await.iter().any(|x| x["id"] == json!(qid) && x["hidden"] == true));
    assert_error(&ts.post(&format!("{base}/upvote"), &other, json!({})).await, StatusCode::NOT_FOUND, "not_found");
    // A viewer joining now does not get it; an educator does.
    let mut late = viewer(&ts, &id, &other, 0).await;
    assert_eq!(question_frame(&mut late, &id_of(&other_q)).await["votes"], 1);
    no_question_frame(&mut late, &qid).await;
    let mut late_staff = viewer(&ts, &id, &educator, 0).await;
    assert_eq!(question_frame(&mut late_staff, &qid).await["hidden"], true);

    // Unhide: back on every panel.
    let (s, _) = ts.post(&format!("{base}/unhide"), &educator, json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let back = question_frame_where(&mut panel, &qid, |f| f["hidden"] == false).await;
    assert_eq!((back["hidden"].clone(), back["text"].clone()), (json!(false), q["text"].clone()));
    let (s, _) = ts.post(&format!("{base}/unpin"), &surgeon, json!({})).await;
    assert_eq!(s, StatusCode::OK);
    question_frame_where(&mut panel, &qid, |f| f["pinned"] == false).await;

    // Viewers may not moderate; unknown questions are 404.
    for action in ["answer", "pin", "hide", "unhide"] {
        let got = ts.post(&format!("{base}/{action}"), &student, json!({"text": "x"})).await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    }
    assert_error(
        &ts.post(&format!("/api/sessions/{id}/questions/nope/pin"), &surgeon, json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    // Moderation is audited: the action and the question's id, never its text.
    let (admin, _) = ts.token(Role::Admin).await;
    let events = crate::audit::wait_for(&ts, &admin, "question_unpin", &format!("&session={id}")).await;
    for action in ["question_answer", "question_pin", "question_hide", "question_unhide", "question_unpin"] {
        let e = events.iter().find(|e| e["action"] == action).unwrap_or_else(|| panic!("no {action} event"));
        assert_eq!(e["detail"]["question"], json!(qid));
    }
    assert!(!serde_json::to_string(&events).expect("json").contains("cystic"), "no question text in the audit log");
}

const LEAKS: [&str; 5] = ["Okafor", "OKAFOR", "Adaeze", "ADAEZE", "555-0142"];

fn assert_clean(v: &Value) {
    let s = v.to_string();
    for leak in LEAKS {
        assert!(!s.contains(leak), "{leak} leaked: {s}");
    }
}

#[tokio::test]
async fn a_phone_number_and_the_registered_patient_name_are_masked_before_anyone_sees_the_question() {
    let ts = TestServer::start().await;
    let (id, surgeon, student) = session(&ts, "mask").await;
    let ids = json!({"names": ["Adaeze Okafor"], "mrns": [], "dates": [], "other": []});
    assert_eq!(ts.put(&format!("/api/sessions/{id}/identifiers"), &surgeon, ids).await.0, StatusCode::OK);
    let mut controller = viewer(&ts, &id, &surgeon, 0).await;
    let (other, _) = ts.token(Role::Student).await;
    let mut panel = viewer(&ts, &id, &other, 0).await;

    let q =
        asked(&ts, &id, &student, "Is OKAFOR, Adaeze the patient? Her daughter waits at 415-555-0142 #consent").await;
    assert_clean(&q);
    let kinds: Vec<&str> =
        q["redactions"].as_array().expect("spans").iter().filter_map(|s| s["type"].as_str()).collect();
    assert!(kinds.contains(&"NAME") && kinds.contains(&"PHONE"), "{q}");
    assert_eq!(q["tags"], json!(["consent"]));
    let qid = id_of(&q);
    assert_clean(&question_frame(&mut panel, &qid).await);
    assert_clean(&question_frame(&mut controller, &qid).await);

    // Over the socket: the asker's own ack is masked too.
    let mut sock = viewer(&ts, &id, &student, 0).await;
    sock.send(r#"{"type":"ask","text":"Mrs adaeze okafor is how old? ring (415) 555-0142"}"#).await;
    let ack = reply(&mut sock).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_clean(&ack);
    assert!(!ack.to_string().to_lowercase().contains("okafor"), "{ack}");
    assert_clean(&question_frame(&mut panel, &id_of(&ack["question"])).await);
    for who in [&student, &surgeon] {
        let (_, list) = ts.get(&format!("/api/sessions/{id}/questions"), who).await;
        assert_clean(&list);
        assert!(!list.to_string().to_lowercase().contains("okafor"));
    }
    // Only the redacted text reaches the disk.
    drop(sock);
    for f in ["orgallery.db", "orgallery.db-wal"] {
        let bytes = std::fs::read(ts.dir.path().join(f)).unwrap_or_default();
        let hay = String::from_utf8_lossy(&bytes).to_lowercase();
        assert!(!hay.contains("okafor") && !hay.contains("555-0142"), "{f} holds the unmasked question");
    }
}

#[tokio::test]
async fn with_the_hold_policy_a_flagged_question_waits_for_a_controller() {
    let ts = TestServer::start().await;
    let (id, surgeon, student) = session(&ts, "hold").await;
    let ids = json!({"names": ["Adaeze Okafor"]});
    assert_eq!(ts.put(&format!("/api/sessions/{id}/identifiers"), &surgeon, ids).await.0, StatusCode::OK);
    let (educator, _) = ts.token(Role::Educator).await;
    let mut controller = viewer(&ts, &id, &surgeon, 0).await;
    let mut staff = viewer(&ts, &id, &educator, 0).await;
    let (other, _) = ts.token(Role::Student).await;
    let mut panel = viewer(&ts, &id, &other, 0).await;
    let raw = "Is that Mr Okafor? His wife asked me to call 415-555-0142";

    let held = asked(&ts, &id, &student, raw).await;
    assert_eq!(held["status"], "pending");
    assert_clean(&held);
    let qid = id_of(&held);
    let f = question_frame(&mut controller, &qid).await;
    assert_eq!(f["status"], "pending");
    assert_clean(&f);
    no_question_frame(&mut panel, &qid).await;
    no_question_frame(&mut staff, &qid).await;
    assert!(questions(&ts, &id, &other, "").await.is_empty());
    assert!(questions(&ts, &id, &educator, "").await.is_empty());
    // The controllers' queue has it in full; nobody else may read the queue.
    let (s, queue) = ts.get(&format!("/api/sessions/{id}/questions/queue"), &surgeon).await;
    assert_eq!(s, StatusCode::OK, "{queue}");
    let items = queue["items"].as_array().expect("items");
    assert_eq!((items.len(), items[0]["original"].clone()), (1, json!(raw)));
    assert!(!items[0]["findings"].as_array().expect("findings").is_empty());
    for t in [&student, &educator] {
        let got = ts.get(&format!("/api/sessions/{id}/questions/queue"), t).await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    }
    let got = ts.post(&format!("/api/sessions/{id}/questions/{qid}/answer"), &surgeon, json!({"text": "no"})).await;
    assert_error(&got, StatusCode::CONFLICT, "question_pending");

    // A question without findings is published at once.
    let clean = asked(&ts, &id, &student, "What does the cystic duct drain?").await;
    assert_eq!(clean["status"], "published");
    question_frame(&mut panel, &id_of(&clean)).await;

    // Approve: every panel gets the masked question; the queue is empty.
    let (s, ok) = ts.post(&format!("/api/sessions/{id}/questions/{qid}/approve"), &surgeon, json!({})).await;
    assert_eq!((s, ok["status"].clone()), (StatusCode::OK, json!("published")), "{ok}");
    let seen = question_frame(&mut panel, &qid).await;
    assert_eq!(seen["status"], "published");
    assert_clean(&seen);
    let (_, queue) = ts.get(&format!("/api/sessions/{id}/questions/queue"), &surgeon).await;
    assert_eq!(queue["items"], json!([]));
    let got = ts.post(&format!("/api/sessions/{id}/questions/{qid}/approve"), &surgeon, json!({})).await;
    assert_error(&got, StatusCode::CONFLICT, "not_pending");

    // Reject: it never reaches a viewer; the controllers' panel drops it.
    let bad = asked(&ts, &id, &student, "Is Okafor going to be OK?").await;
    assert_eq!(bad["status"], "pending");
    let bad_id = id_of(&bad);
    question_frame(&mut controller, &bad_id).await;
    let (s, r) = ts.post(&format!("/api/sessions/{id}/questions/{bad_id}/reject"), &surgeon, json!({})).await;
    assert_eq!((s, r["status"].clone()), (StatusCode::OK, json!("rejected")));
    question_frame_where(&mut controller, &bad_id, |f| f["status"] == "rejected").await;
    no_question_frame(&mut panel, &bad_id).await;
    assert!(questions(&ts, &id, &surgeon, "").await.iter().all(|x| x["id"] != json!(bad_id)));
}

//! Asking over HTTP and over the socket, tags and filtering, votes, the
//! replay for a viewer who joins, and nothing lost across a restart.

use orgallery::model::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{ask, asked, no_question_frame, question_frame, question_frame_where, questions, reply, session, WAIT};
use crate::support::{assert_error, TestServer};
use crate::ws::viewer;

#[tokio::test]
async fn asked_over_http_and_the_socket_every_viewer_sees_it_with_the_display_name() {
    let ts = TestServer::start().await;
    let (id, _, _) = session(&ts, "mask").await;
    let (a_user, _, a_sub) = ts.user(Role::Student).await;
    let (a, _) = ts.server.state.tokens.issue(&a_sub, Role::Student, "Ada Student", None, None).expect("token");
    let (b, b_sub) = ts.token(Role::Student).await;
    let (c, _) = ts.token(Role::Clinician).await;
    let mut watcher = viewer(&ts, &id, &c, 0).await;
    watcher.expect("state", WAIT).await;

    let q1 = asked(&ts, &id, &a, "What is the #Anatomy of Calot's triangle?").await;
    assert_eq!(q1["author"], "Ada Student", "the display name, not the account");
    assert_eq!(q1["tags"], json!(["anatomy"]));
    assert_eq!(
        (q1["votes"].clone(), q1["answered"].clone(), q1["answer"].clone()),
        (json!(0), json!(false), json!(null))
    );
    assert_eq!(
        (q1["pinned"].clone(), q1["hidden"].clone(), q1["status"].clone()),
        (json!(false), json!(false), json!("published"))
    );
    assert_eq!(q1["number"], 1);
    assert!(q1["created_at"].is_string());
    let f = question_frame(&mut watcher, q1["id"].as_str().expect("id")).await;
    assert_eq!(f["text"], "What is the #Anatomy of Calot's triangle?");
    assert_eq!(f["author"], "Ada Student");

    // Over the socket: an ack for the asker, a question frame for everyone.
    let mut bv = viewer(&ts, &id, &b, 0).await;
    bv.send(r#"{"type":"ask","text":"Why #clip twice? #Anatomy"}"#).await;
    let ack = reply(&mut bv).await;
    assert_eq!((ack["type"].clone(), ack["of"].clone()), (json!("ack"), json!("ask")), "{ack}");
    let q2 = ack["question"].clone();
    assert_eq!(q2["tags"], json!(["clip", "anatomy"]));
    assert_eq!(q2["number"], 2);
    let f = question_frame(&mut watcher, q2["id"].as_str().expect("id")).await;
    assert_eq!(f["text"], "Why #clip twice? #Anatomy");
    for sub in [&a_sub, &b_sub] {
        assert!(!f.to_string().contains(sub.as_str()) && !q1.to_string().contains(sub.as_str()), "no account id");
    }
    assert_ne!(a_user, "Ada Student");

    // A viewer who joins (or resumes with after=) gets the current state of each, in order.
    let mut late = viewer(&ts, &id, &c, 5).await;
    let first = late.expect("question", WAIT).await;
    let second = late.expect("question", WAIT).await;
    assert_eq!((first["question"]["number"].clone(), second["question"]["number"].clone()), (json!(1), json!(2)));
    let all = questions(&ts, &id, &c, "").await;
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|q| q["voted"] == false));
}

#[tokio::test]
async fn tags_filter_and_both_orders() {
    let ts = TestServer::start().await;
    let (id, _, student) = session(&ts, "mask").await;
    let q1 = asked(&ts, &id, &student, "#anatomy first").await;
    let q2 = asked(&ts, &id, &student, "#technique second").await;
    let q3 = asked(&ts, &id, &student, "third, #Anatomy and #technique").await;
    let ids =
        |v: &[serde_json::Value]| v.iter().map(|q| q["id"].as_str().unwrap_or("").to_string()).collect::<Vec<_>>();
    let id_of = |q: &serde_json::Value| q["id"].as_str().expect("id").to_string();
    // Two votes on q2, one on q3.
    for _ in 0..2 {
        let (voter, _) = ts.token(Role::Student).await;
        let (s, _) = ts.post(&format!("/api/sessions/{id}/questions/{}/upvote", id_of(&q2)), &voter, json!({})).await;
        assert_eq!(s, StatusCode::OK);
    }
    let (s, _) = ts.post(&format!("/api/sessions/{id}/questions/{}/upvote", id_of(&q3)), &student, json!({})).await;
    assert_eq!(s, StatusCode::OK);

    assert_eq!(ids(&questions(&ts, &id, &student, "?tag=anatomy").await), vec![id_of(&q3), id_of(&q1)]);
    assert_eq!(ids(&questions(&ts, &id, &student, "?tag=%23Anatomy&sort=recent").await), vec![id_of(&q3), id_of(&q1)]);
    assert_eq!(ids(&questions(&ts, &id, &student, "?tag=technique").await), vec![id_of(&q2), id_of(&q3)]);
    assert!(questions(&ts, &id, &student, "?tag=nothing").await.is_empty());
    assert_eq!(ids(&questions(&ts, &id, &student, "?sort=votes").await), vec![id_of(&q2), id_of(&q3), id_of(&q1)]);
    assert_eq!(ids(&questions(&ts, &id, &student, "?sort=recent").await), vec![id_of(&q3), id_of(&q2), id_of(&q1)]);
    let mine = questions(&ts, &id, &student, "").await;
    assert_eq!(mine.iter().map(|q| q["voted"] == true).collect::<Vec<_>>(), vec![false, true, false]);
    assert_error(
        &ts.get(&format!("/api/sessions/{id}/questions?sort=loud"), &student).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_sort",
    );
    assert_error(
        &ts.get(&format!("/api/sessions/{id}/questions?tag=two%20words"), &student).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_tag",
    );
}

#[tokio::test]
async fn an_upvote_counts_once_is_idempotent_and_can_be_taken_back() {
    let ts = TestServer::start().await;
    let (id, _, asker) = session(&ts, "mask").await;
    let (voter, _) = ts.token(Role::Student).await;
    let mut watcher = viewer(&ts, &id, &asker, 0).await;
    let q = asked(&ts, &id, &asker, "Is the duct clipped?").await;
    let qid = q["id"].as_str().expect("id");
    question_frame(&mut watcher, qid).await;
    let path = format!("/api/sessions/{id}/questions/{qid}/upvote");

    let (s, v) = ts.post(&path, &voter, json!({})).await;
    assert_eq!((s, v["votes"].clone(), v["voted"].clone()), (StatusCode::OK, json!(1), json!(true)), "{v}");
    // (The watcher may get the question twice: in its join replay and live; `version` orders them.)
    question_frame_where(&mut watcher, qid, |f| f["votes"] == 1).await;
    let (s, v) = ts.post(&path, &voter, json!({})).await;
    assert_eq!((s, v["votes"].clone()), (StatusCode::OK, json!(1)), "a second upvote changes nothing");
    no_question_frame(&mut watcher, qid).await;
    let listed = questions(&ts, &id, &voter, "").await;
    assert_eq!((listed[0]["votes"].clone(), listed[0]["voted"].clone()), (json!(1), json!(true)));

    // Over the socket too.
    let mut sock = viewer(&ts, &id, &asker, 0).await;
    sock.send(&format!(r#"{{"type":"upvote","question_id":"{qid}"}}"#)).await;
    let ack = reply(&mut sock).await;
    assert_eq!((ack["of"].clone(), ack["question"]["votes"].clone()), (json!("upvote"), json!(2)), "{ack}");
    question_frame_where(&mut watcher, qid, |f| f["votes"] == 2).await;
    sock.send(&format!(r#"{{"type":"unvote","question_id":"{qid}"}}"#)).await;
    assert_eq!(reply(&mut sock).await["question"]["votes"], 1);

    // DELETE takes it back, once.
    let (s, v) = ts.call(Method::DELETE, &path, Some(&voter), None).await;
    assert_eq!((s, v["votes"].clone(), v["voted"].clone()), (StatusCode::OK, json!(0), json!(false)), "{v}");
    let (s, v) = ts.call(Method::DELETE, &path, Some(&voter), None).await;
    assert_eq!((s, v["votes"].clone()), (StatusCode::OK, json!(0)));
    assert_eq!(questions(&ts, &id, &voter, "").await[0]["votes"], 0);

    // Unknown questions and roles the table does not allow.
    let got = ts.post(&format!("/api/sessions/{id}/questions/nope/upvote"), &voter, json!({})).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let (clinician, _) = ts.token(Role::Clinician).await;
    assert_error(&ts.post(&path, &clinician, json!({})).await, StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn questions_votes_and_their_order_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_path_buf();
    let (id, student, qid) = {
        let ts = TestServer::start_with(|c| c.data_dir = data.clone()).await;
        let (id, _, student) = session(&ts, "mask").await;
        let q = asked(&ts, &id, &student, "Before the restart #persist").await;
        let qid = q["id"].as_str().expect("id").to_string();
        let (s, _) = ts.post(&format!("/api/sessions/{id}/questions/{qid}/upvote"), &student, json!({})).await;
        assert_eq!(s, StatusCode::OK);
        (id, student, qid)
    };
    let ts = TestServer::start_with(|c| c.data_dir = data.clone()).await;
    let all = questions(&ts, &id, &student, "?tag=persist").await;
    assert_eq!(all.len(), 1);
    assert_eq!(
        (all[0]["id"].clone(), all[0]["votes"].clone(), all[0]["voted"].clone()),
        (json!(qid), json!(1), json!(true))
    );
    let q2 = asked(&ts, &id, &student, "After the restart").await;
    assert_eq!(q2["number"], 2, "the session's own order continues");
    let mut v = viewer(&ts, &id, &student, 0).await;
    assert_eq!(v.expect("question", WAIT).await["question"]["id"], json!(qid), "replayed after a restart");
    let (s, _) = ask(&ts, &id, &student, "").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

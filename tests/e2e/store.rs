//! The store's conformance suite: every case runs against SQLite (a file in
//! a fresh directory) and against PostgreSQL (a fresh database on the server
//! `ORGALLERY_TEST_POSTGRES` names; `scripts/test` starts one), through the
//! same `dyn Store` the server uses. A behaviour that differs between the
//! two engines fails here.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use orgallery::audience::{Answer, Feedback, Mood, Question, Status};
use orgallery::audit::chain::AuditEvent;
use orgallery::audit::checkpoint::Checkpoint;
use orgallery::model::{Consent, ConsentScope, Invite, RedactionPolicy, Role, Session, SessionState, User};
use orgallery::redaction::{PhiType, Span};
use orgallery::store::{ArchiveState, AuditQuery, Lease, Redeem, SqlStore, Store, StoreError, StoredUpdate};

/// A store of each kind, and what keeps it alive.
pub struct Backend {
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqlStore::open_sqlite(&dir.path().join("t.db")).await.expect("open sqlite");
    Backend { store: Arc::new(store), _dir: Some(dir) }
}

/// The PostgreSQL server of the tests (a superuser URL); the suite fails,
/// rather than passes, without one.
pub fn postgres_server() -> String {
    std::env::var("ORGALLERY_TEST_POSTGRES")
        .expect("ORGALLERY_TEST_POSTGRES is not set: run scripts/test (it starts PostgreSQL) or point it at a server")
}

/// A fresh, empty database on the tests' server; its URL.
pub async fn fresh_postgres_database() -> String {
    use sqlx::Connection;
    let server = postgres_server();
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&server).await.expect("connect to the tests' PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create database");
    let base = server.rsplit_once('/').map(|(b, _)| b.to_string()).expect("URL with a database");
    format!("{base}/{name}")
}

pub async fn postgres() -> Backend {
    let url = fresh_postgres_database().await;
    let store = SqlStore::open_postgres(&url).await.expect("open postgres");
    Backend { store: Arc::new(store), _dir: None }
}

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0).single().expect("time")
}

fn user(sub: &str, role: Role) -> User {
    User {
        sub: sub.into(),
        username: format!("u-{sub}"),
        name: format!("Name {sub}"),
        role,
        password_hash: "$argon2id$fake".into(),
        created_at: at(0),
    }
}

fn session(id: &str, created: i64) -> Session {
    Session {
        id: id.into(),
        title: format!("Session {id}"),
        procedure: "Laparoscopic cholecystectomy".into(),
        owner: "surgeon".into(),
        state: SessionState::Draft,
        delay_seconds: 10,
        audience: vec![Role::Student, Role::Clinician],
        redaction_policy: RedactionPolicy::Mask,
        curtain: false,
        consent: None,
        moderators: Vec::new(),
        created_at: at(created),
        started_at: None,
        ended_at: None,
    }
}

fn question(session_id: &str, id: &str, number: u64, tags: &[&str]) -> Question {
    Question {
        id: id.into(),
        session_id: session_id.into(),
        number,
        author_sub: "student".into(),
        author_name: "Student".into(),
        text: "Why clip the [NAME] artery?".into(),
        redactions: vec![Span { kind: PhiType::Name, start: 13, end: 19 }],
        flagged: true,
        status: Status::Published,
        votes: 0,
        pinned: false,
        hidden: false,
        answer: None,
        tags: tags.iter().map(|t| t.to_string()).collect(),
        created_at: at(number as i64),
        version: 1,
    }
}

fn event(id: u64, session: &str, actor: &str, action: &str, secs: i64) -> AuditEvent {
    AuditEvent {
        id,
        at: orgallery::audit::format_at(at(secs)),
        actor: Some(actor.into()),
        role: Some("surgeon".into()),
        action: action.into(),
        session: Some(session.into()),
        address: None,
        detail: serde_json::json!({"n": id, "nested": {"b": 2, "a": [1, "x"]}}),
        prev_hash: format!("h{}", id - 1),
        hash: format!("h{id}"),
    }
}

const TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// A live session `id` and its writer lease for node "n1".
async fn live_with_lease(s: &dyn Store, id: &str) -> Lease {
    let mut live = session(id, 0);
    s.create_session(&live).await.expect("create");
    live.state = SessionState::Live;
    s.save_session(&live).await.expect("live");
    s.acquire_writer(id, "n1", TTL).await.expect("acquire").expect("granted")
}

/// Append `seq` under `lease`, which then expects the next one.
async fn append(s: &dyn Store, id: &str, lease: &mut Lease, u: &StoredUpdate) -> Result<(), StoreError> {
    s.append_update(id, u, lease).await?;
    lease.last_seq = u.seq;
    Ok(())
}

fn update(seq: u64) -> StoredUpdate {
    StoredUpdate { seq, id: format!("u{seq}"), body: format!("{{\"seq\":{seq},\"text\":\"x\"}}") }
}

pub async fn users(s: &dyn Store) {
    s.ping().await.expect("ping");
    s.create_user(&user("a", Role::Student)).await.expect("create");
    let dup = User { sub: "other".into(), ..user("a", Role::Student) };
    assert!(matches!(s.create_user(&dup).await, Err(StoreError::Conflict(_))), "same username twice");
    let got = s.user_by_username("u-a").await.expect("read").expect("present");
    assert_eq!((got.sub.as_str(), got.role, got.created_at), ("a", Role::Student, at(0)));
    assert_eq!(got.password_hash, "$argon2id$fake");
    assert!(s.user_by_sub("nobody").await.expect("read").is_none());
    s.set_user_role("a", Role::Educator).await.expect("role");
    assert_eq!(s.user_by_sub("a").await.expect("read").expect("present").role, Role::Educator);
    assert!(matches!(s.set_user_role("nobody", Role::Admin).await, Err(StoreError::NotFound)));
}

pub async fn sessions(s: &dyn Store) {
    s.create_session(&session("s1", 10)).await.expect("create");
    s.create_session(&session("s2", 20)).await.expect("create");
    assert!(matches!(s.create_session(&session("s1", 30)).await, Err(StoreError::Conflict(_))));
    let ids: Vec<String> = s.sessions().await.expect("list").into_iter().map(|x| x.id).collect();
    assert_eq!(ids, ["s2", "s1"], "newest first");

    let mut live = session("s1", 10);
    live.state = SessionState::Live;
    live.delay_seconds = 30;
    live.redaction_policy = RedactionPolicy::Hold;
    live.started_at = Some(at(100));
    live.consent = Some(Consent {
        reference: "C-1".into(),
        scope: ConsentScope { text: true, images: true, video: false, audio: false, archive: true },
        notes: "ward 3".into(),
        recorded_by: "surgeon".into(),
        recorded_at: at(50),
    });
    s.save_session(&live).await.expect("save");
    s.set_curtain("s1", true).await.expect("curtain");
    s.set_moderators("s1", &["m2".into(), "m1".into(), "m1".into()]).await.expect("moderators");
    let got = s.session("s1").await.expect("read").expect("present");
    assert_eq!(got.state, SessionState::Live);
    assert_eq!((got.delay_seconds, got.redaction_policy, got.curtain), (30, RedactionPolicy::Hold, true));
    assert_eq!(got.consent, live.consent);
    assert_eq!(got.started_at, Some(at(100)));
    assert_eq!(got.moderators, ["m1", "m2"]);
    assert_eq!(got.audience, [Role::Student, Role::Clinician]);
    s.set_moderators("s1", &["m3".into()]).await.expect("moderators");
    assert_eq!(s.session("s1").await.expect("read").expect("present").moderators, ["m3"]);

    // Saving a state other than live lowers the curtain.
    live.state = SessionState::Ended;
    live.ended_at = Some(at(200));
    s.save_session(&live).await.expect("save");
    let got = s.session("s1").await.expect("read").expect("present");
    assert!(!got.curtain);
    assert_eq!(got.ended_at, Some(at(200)));
    assert!(matches!(s.save_session(&session("nope", 0)).await, Err(StoreError::NotFound)));
    assert!(s.session("nope").await.expect("read").is_none());
}

pub async fn revocations(s: &dyn Store) {
    let now = 1_800_000_000;
    s.revoke_token("j1", now + 60).await.expect("revoke");
    s.revoke_token("j1", now + 60).await.expect("revoking twice is fine");
    s.revoke_token("old", now - 7200).await.expect("revoke");
    let mut got = s.revoked_tokens(now).await.expect("list");
    got.sort();
    assert_eq!(got, [("j1".to_string(), now + 60)], "long-expired revocations are pruned");
    s.revoke_subject("kicked", 100).await.expect("kick");
    s.revoke_subject("kicked", 50).await.expect("an older kick does not move it back");
    s.revoke_subject("kicked", 300).await.expect("a newer one does");
    assert_eq!(s.revoked_subjects().await.expect("list"), [("kicked".to_string(), 300)]);
}

pub async fn invites(s: &dyn Store) {
    s.create_session(&session("s1", 0)).await.expect("create");
    let invite = |code: &str, expires: i64, max_uses: u32| Invite {
        code_hash: code.into(),
        session_id: "s1".into(),
        role: Role::Student,
        expires_at: at(expires),
        max_uses,
        uses: 0,
        created_by: "surgeon".into(),
    };
    s.create_invite(&invite("c3", 1000, 3)).await.expect("create");
    s.create_invite(&invite("old", 10, 5)).await.expect("create");
    assert!(matches!(s.create_invite(&invite("c3", 1, 1)).await, Err(StoreError::Conflict(_))));
    assert!(matches!(s.redeem_invite("old", at(20)).await.expect("redeem"), Redeem::Gone), "expired");
    assert!(matches!(s.redeem_invite("zzz", at(20)).await.expect("redeem"), Redeem::Unknown));
    // Ten at once against three uses: exactly three succeed.
    let tasks: Vec<_> = (0..10).map(|_| s.redeem_invite("c3", at(20))).collect();
    let mut ok = Vec::new();
    for r in futures_util::future::join_all(tasks).await {
        match r.expect("redeem") {
            Redeem::Ok(i) => ok.push(i.uses),
            Redeem::Gone => {}
            Redeem::Unknown => panic!("unknown"),
        }
    }
    ok.sort();
    assert_eq!(ok, [1, 2, 3]);
}

pub async fn updates(s: &dyn Store) {
    let mut l1 = live_with_lease(s, "s1").await;
    let mut l2 = live_with_lease(s, "s2").await;
    assert_eq!(s.last_seq("s1").await.expect("seq"), 0);
    for seq in 1..=5 {
        append(s, "s1", &mut l1, &update(seq)).await.expect("append");
    }
    let dup = StoredUpdate { id: "other".into(), ..update(5) };
    assert!(matches!(s.append_update("s1", &dup, &Lease { last_seq: 4, ..l1.clone() }).await, Err(StoreError::Fenced)));
    assert!(matches!(s.append_update("s1", &update(7), &l1).await, Err(StoreError::Fenced)), "no gap");
    assert!(s.append_update("missing", &update(1), &l1).await.is_err(), "no update without its session");
    append(s, "s2", &mut l2, &StoredUpdate { id: "s2u1".into(), ..update(1) }).await.expect("append");
    let same_id = StoredUpdate { id: "u1".into(), ..update(2) };
    assert!(matches!(append(s, "s2", &mut l2, &same_id).await, Err(StoreError::Conflict(_))), "an id is stored once");
    assert_eq!(s.last_seq("s1").await.expect("seq"), 5);
    let got = s.updates_after("s1", 2, 2).await.expect("read");
    assert_eq!(got.iter().map(|u| u.seq).collect::<Vec<_>>(), [3, 4]);
    assert_eq!(got[0].body, update(3).body);
    assert_eq!(got[0].id, "u3");
    assert!(s.updates_after("s1", u64::MAX, 10).await.expect("read").is_empty());
}

pub async fn writer_leases(s: &dyn Store) {
    let mut old = live_with_lease(s, "s1").await;
    assert_eq!((old.epoch, old.last_seq), (1, 0));
    append(s, "s1", &mut old, &update(1)).await.expect("append");
    assert!(s.acquire_writer("s1", "n2", TTL).await.expect("acquire").is_none(), "held and unexpired");
    assert!(s.unwritten_live_sessions().await.expect("read").is_empty());
    let info = s.writer_leases().await.expect("leases");
    assert_eq!((info.len(), info[0].owner.as_str(), info[0].epoch, info[0].last_seq), (1, "n1", 1, 1));
    assert!(info[0].remaining_ms > 20_000, "by the database's clock");

    // The lease runs out (a node frozen past it): another node takes it,
    // with a new epoch and the seq where the old writer stopped.
    assert!(s.renew_writer("s1", &old, std::time::Duration::ZERO).await.expect("renew"));
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(s.unwritten_live_sessions().await.expect("read"), ["s1"]);
    assert!(matches!(s.append_update("s1", &update(2), &old).await, Err(StoreError::Fenced)), "expired");
    let mut new = s.acquire_writer("s1", "n2", TTL).await.expect("acquire").expect("granted");
    assert_eq!((new.epoch, new.last_seq), (2, 1));
    // The old writer wakes up: it can neither store nor renew.
    assert!(matches!(s.append_update("s1", &update(2), &old).await, Err(StoreError::Fenced)), "stale epoch");
    assert!(!s.renew_writer("s1", &old, TTL).await.expect("renew"), "the lease was taken");
    append(s, "s1", &mut new, &update(2)).await.expect("the new writer goes on");
    assert_eq!(s.updates_after("s1", 0, 10).await.expect("read").len(), 2);

    // A restarted node takes its own lease back at once (a new epoch).
    let back = s.acquire_writer("s1", "n2", TTL).await.expect("acquire").expect("granted");
    assert_eq!((back.epoch, back.last_seq), (3, 2));
    assert!(matches!(s.append_update("s1", &update(3), &new).await, Err(StoreError::Fenced)));
    s.release_writer("s1", &back).await.expect("release");
    assert_eq!(s.unwritten_live_sessions().await.expect("read"), ["s1"], "released: anyone may take it");

    // Once the session ended (on whichever node), its writer can store
    // nothing more and its lease is not renewed: what it held is dropped.
    let mut last = live_with_lease(s, "s2").await;
    append(s, "s2", &mut last, &StoredUpdate { id: "s2u1".into(), ..update(1) }).await.expect("append");
    let mut ended = s.session("s2").await.expect("read").expect("exists");
    ended.state = SessionState::Ended;
    s.save_session(&ended).await.expect("end");
    let late = StoredUpdate { id: "s2u2".into(), ..update(2) };
    assert!(matches!(s.append_update("s2", &late, &last).await, Err(StoreError::Fenced)), "ended");
    assert!(!s.renew_writer("s2", &last, TTL).await.expect("renew"), "no writer for an ended session");
    assert_eq!(s.last_seq("s2").await.expect("seq"), 1);
}

/// Many nodes race for an expired lease: exactly one wins.
pub async fn one_writer_wins(s: &dyn Store) {
    let first = live_with_lease(s, "s1").await;
    s.release_writer("s1", &first).await.expect("release");
    let nodes: Vec<String> = (0..8).map(|i| format!("node{i}")).collect();
    let tries = nodes.iter().map(|n| s.acquire_writer("s1", n, TTL));
    let granted: Vec<Lease> =
        futures_util::future::join_all(tries).await.into_iter().filter_map(|r| r.expect("acquire")).collect();
    assert_eq!(granted.len(), 1, "{granted:?}");
    assert_eq!(granted[0].epoch, 2);
}

pub async fn identifiers_and_media(s: &dyn Store) {
    s.create_session(&session("s1", 0)).await.expect("create");
    assert!(s.sealed_identifiers("s1").await.expect("read").is_none());
    s.put_sealed_identifiers("s1", &[1, 2, 3], &[0, 255, 7]).await.expect("put");
    s.put_sealed_identifiers("s1", &[4; 12], &[9; 40]).await.expect("replace");
    assert_eq!(s.sealed_identifiers("s1").await.expect("read"), Some((vec![4; 12], vec![9; 40])));
    s.delete_sealed_identifiers("s1").await.expect("delete");
    assert!(s.sealed_identifiers("s1").await.expect("read").is_none());

    s.put_media("m1", "s1", "image/png", "media/s1/m1.png").await.expect("put");
    s.put_media("m2", "s1", "video/webm", "media/s1/m2.webm").await.expect("put");
    assert!(matches!(s.put_media("m1", "s1", "image/png", "x").await, Err(StoreError::Conflict(_))));
    assert_eq!(
        s.media("m1").await.expect("read"),
        Some(("s1".to_string(), "image/png".to_string(), "media/s1/m1.png".to_string()))
    );
    assert!(s.media("m9").await.expect("read").is_none());
    let files: Vec<String> = s.session_media("s1").await.expect("list").into_iter().map(|m| m.id).collect();
    assert_eq!(files.len(), 2);
    assert!(files.contains(&"m1".to_string()) && files.contains(&"m2".to_string()));
}

pub async fn questions(s: &dyn Store) {
    s.create_session(&session("s1", 0)).await.expect("create");
    assert_eq!(s.last_question_number("s1").await.expect("n"), 0);
    s.insert_question(&question("s1", "q1", 1, &["anatomy", "risk"])).await.expect("insert");
    s.insert_question(&question("s1", "q2", 2, &["risk"])).await.expect("insert");
    assert!(s.insert_question(&question("s1", "q3", 2, &[])).await.is_err(), "a number is used once");
    assert_eq!(s.last_question_number("s1").await.expect("n"), 2);
    assert_eq!(s.question("s1", "q1").await.expect("read"), Some(question("s1", "q1", 1, &["anatomy", "risk"])));
    assert!(s.question("other", "q1").await.expect("read").is_none(), "a question belongs to its session");
    let tagged: Vec<String> = s.questions("s1", Some("risk")).await.expect("list").into_iter().map(|q| q.id).collect();
    assert_eq!(tagged, ["q1", "q2"]);
    assert_eq!(s.questions("s1", Some("anatomy")).await.expect("list").len(), 1);
    assert_eq!(s.questions("s1", None).await.expect("list").len(), 2);

    let mut q = question("s1", "q1", 1, &["anatomy", "risk"]);
    q.status = Status::Rejected;
    q.pinned = true;
    q.hidden = true;
    q.version = 7;
    q.answer =
        Some(Answer { text: "To stop [DATE] bleeding".into(), redactions: vec![], by: "surgeon".into(), at: at(9) });
    s.save_question(&q).await.expect("save");
    assert_eq!(s.question("s1", "q1").await.expect("read"), Some(q.clone()));
    assert!(matches!(s.save_question(&question("s1", "q9", 9, &[])).await, Err(StoreError::NotFound)));

    assert!(s.set_vote("q2", "a", true).await.expect("vote"));
    assert!(!s.set_vote("q2", "a", true).await.expect("vote"), "a second upvote changes nothing");
    assert!(s.set_vote("q2", "b", true).await.expect("vote"));
    assert!(!s.set_vote("q2", "c", false).await.expect("vote"), "no vote to take back");
    let got = s.question("s1", "q2").await.expect("read").expect("present");
    assert_eq!((got.votes, got.version), (2, 3));
    assert_eq!(s.votes_of("s1", "a").await.expect("votes"), ["q2"]);
    assert!(s.set_vote("q2", "a", false).await.expect("unvote"));
    assert_eq!(s.question("s1", "q2").await.expect("read").expect("present").votes, 1);
    assert!(s.votes_of("s1", "a").await.expect("votes").is_empty());
}

pub async fn joins_pulses_feedback(s: &dyn Store) {
    s.create_session(&session("s1", 0)).await.expect("create");
    assert!(!s.has_joined("s1", "a").await.expect("joined"));
    s.record_join("s1", "a", at(1)).await.expect("join");
    s.record_join("s1", "a", at(2)).await.expect("joining again is fine");
    assert!(s.has_joined("s1", "a").await.expect("joined"));
    s.insert_pulse("s1", "a", Mood::Confused, 2_000).await.expect("pulse");
    s.insert_pulse("s1", "b", Mood::TooFast, 1_000).await.expect("pulse");
    s.insert_pulse("s1", "a", Mood::Confused, 3_000).await.expect("the same mood later is another pulse");
    assert_eq!(
        s.pulses("s1").await.expect("pulses"),
        [(Mood::TooFast, 1_000), (Mood::Confused, 2_000), (Mood::Confused, 3_000)]
    );
    let f = Feedback {
        session_id: "s1".into(),
        sub: "a".into(),
        rating: 4,
        comment: Some("Clear, thanks [NAME]".into()),
        redactions: vec![Span { kind: PhiType::Name, start: 14, end: 20 }],
        created_at: at(5),
    };
    s.insert_feedback(&f).await.expect("feedback");
    assert!(matches!(s.insert_feedback(&f).await, Err(StoreError::Conflict(_))), "once per viewer");
    let bad = Feedback { sub: "b".into(), rating: 9, ..f.clone() };
    assert!(s.insert_feedback(&bad).await.is_err(), "a rating outside 1..5 is refused by the schema");
    let got = s.feedback("s1").await.expect("feedback");
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].rating, got[0].comment.as_deref(), &got[0].redactions),
        (4, f.comment.as_deref(), &f.redactions)
    );
}

pub async fn audit(s: &dyn Store) {
    assert!(s.audit_head().await.expect("head").is_none());
    let events: Vec<AuditEvent> = (1..=6)
        .map(|i| event(i, if i % 2 == 0 { "s2" } else { "s1" }, if i < 4 { "ann" } else { "bob" }, "publish", i as i64))
        .collect();
    s.append_audit(&events[..3]).await.expect("append");
    s.append_audit(&events[3..]).await.expect("append");
    assert!(s.append_audit(&events[..1]).await.is_err(), "an id is used once");
    assert_eq!(s.audit_head().await.expect("head"), Some((6, "h6".to_string())));
    let all = s.audit_events(&AuditQuery::default(), 100).await.expect("read");
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6]);
    assert_eq!(all[0].detail, events[0].detail, "detail round-trips as JSON");
    assert_eq!(all[0].at, events[0].at);
    let ids = |q: AuditQuery, limit| async move {
        s.audit_events(&q, limit).await.expect("read").into_iter().map(|e| e.id).collect::<Vec<_>>()
    };
    assert_eq!(ids(AuditQuery { session: Some("s1".into()), ..Default::default() }, 100).await, [1, 3, 5]);
    assert_eq!(
        ids(AuditQuery { session: Some("s1".into()), actor: Some("bob".into()), ..Default::default() }, 100).await,
        [5]
    );
    assert_eq!(ids(AuditQuery { after: 4, ..Default::default() }, 100).await, [5, 6]);
    assert_eq!(ids(AuditQuery { after: 1, ..Default::default() }, 2).await, [2, 3]);
    assert!(ids(AuditQuery { action: Some("login".into()), ..Default::default() }, 100).await.is_empty());
    let from = Some(orgallery::audit::format_at(at(2)));
    let to = Some(orgallery::audit::format_at(at(4)));
    assert_eq!(ids(AuditQuery { from, to, ..Default::default() }, 100).await, [2, 3, 4]);

    assert!(s.audit_checkpoints().await.expect("list").is_empty());
    for (head_id, sig) in [(3, "sig3"), (6, "sig6")] {
        let c = Checkpoint {
            head_id,
            head_hash: format!("h{head_id}"),
            at: orgallery::audit::format_at(at(head_id as i64)),
            signature: sig.into(),
        };
        s.put_audit_checkpoint(&c).await.expect("checkpoint");
    }
    let cps = s.audit_checkpoints().await.expect("list");
    assert_eq!(cps.iter().map(|c| (c.head_id, c.signature.as_str())).collect::<Vec<_>>(), [(3, "sig3"), (6, "sig6")]);
}

pub async fn archive_purge_delete(s: &dyn Store) {
    let (mut l1, mut l2) = (live_with_lease(s, "s1").await, live_with_lease(s, "keep").await);
    assert!(s.archive_state("s1").await.expect("read").is_none());
    s.set_archive_state("s1", &ArchiveState { archived: true, purged_at: None, reason: None }).await.expect("set");
    let purged = ArchiveState { archived: false, purged_at: Some(at(99)), reason: Some("retention".into()) };
    s.set_archive_state("s1", &purged).await.expect("replace");
    assert_eq!(s.archive_state("s1").await.expect("read"), Some(purged));

    for (id, lease) in [("s1", &mut l1), ("keep", &mut l2)] {
        append(s, id, lease, &StoredUpdate { id: format!("{id}-u1"), ..update(1) }).await.expect("append");
        s.put_media(&format!("{id}-m"), id, "image/png", "f").await.expect("media");
        s.put_sealed_identifiers(id, &[1], &[2]).await.expect("identifiers");
        s.insert_question(&question(id, &format!("{id}-q"), 1, &["t"])).await.expect("question");
        s.insert_pulse(id, "a", Mood::Great, 1).await.expect("pulse");
        s.record_join(id, "a", at(1)).await.expect("join");
    }
    s.append_audit(&[event(1, "s1", "ann", "end", 1)]).await.expect("audit");
    s.purge_session_content("s1").await.expect("purge");
    assert!(s.updates_after("s1", 0, 10).await.expect("read").is_empty());
    assert!(s.media("s1-m").await.expect("read").is_none());
    assert!(s.sealed_identifiers("s1").await.expect("read").is_none());
    assert!(s.questions("s1", None).await.expect("read").is_empty());
    assert!(s.pulses("s1").await.expect("read").is_empty());
    assert!(s.has_joined("s1", "a").await.expect("joins stay"));
    assert!(s.session("s1").await.expect("read").is_some(), "the session row stays");
    assert_eq!(s.updates_after("keep", 0, 10).await.expect("read").len(), 1, "other sessions are untouched");

    s.delete_session("s1").await.expect("delete");
    assert!(s.session("s1").await.expect("read").is_none());
    assert!(s.archive_state("s1").await.expect("read").is_none(), "cascades");
    assert!(!s.has_joined("s1", "a").await.expect("read"), "cascades");
    assert!(matches!(s.delete_session("s1").await, Err(StoreError::NotFound)));
    assert_eq!(s.audit_head().await.expect("head"), Some((1, "h1".to_string())), "the audit log stays");
    assert_eq!(s.questions("keep", Some("t")).await.expect("read").len(), 1);
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test]
            async fn $case() {
                let b = super::sqlite().await;
                super::$case(b.store.as_ref()).await;
            })*
        }
        mod on_postgres {
            $(#[tokio::test]
            async fn $case() {
                let b = super::postgres().await;
                super::$case(b.store.as_ref()).await;
            })*
        }
    };
}

conformance!(
    users,
    sessions,
    revocations,
    invites,
    updates,
    writer_leases,
    one_writer_wins,
    identifiers_and_media,
    questions,
    joins_pulses_feedback,
    audit,
    archive_purge_delete
);

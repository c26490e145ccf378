//! `orgallery demo`: accounts for every role and a live demo session, so a
//! newcomer can sign in as each role at once. Idempotent across restarts.

use chrono::Utc;

use crate::error::ApiError;
use crate::model::{ConsentScope, Role};
use crate::session::lifecycle::{self, ConsentBody, NewSession};
use crate::state::AppState;
use crate::users::{self, NewUser};

/// (username, password, role) of every demo account.
pub const ACCOUNTS: [(&str, &str, Role); 6] = [
    ("surgeon", "surgeon-demo", Role::Surgeon),
    ("moderator", "moderator-demo", Role::Moderator),
    ("student", "student-demo", Role::Student),
    ("clinician", "clinician-demo", Role::Clinician),
    ("educator", "educator-demo", Role::Educator),
    ("admin", "admin-demo", Role::Admin),
];

pub const DEMO_TITLE: &str = "Demo: laparoscopic cholecystectomy";

/// Create what is missing; returns the demo session id.
pub async fn seed(state: &AppState) -> Result<String, ApiError> {
    let store = state.store.as_ref();
    for (username, password, role) in ACCOUNTS {
        if store.user_by_username(username).await?.is_none() {
            let name = format!("Demo {}", role.as_str());
            users::add(store, NewUser { username: username.into(), password: password.into(), role, name: Some(name) })
                .await?;
        }
    }
    let surgeon = store.user_by_username("surgeon").await?.ok_or_else(|| ApiError::internal("demo surgeon missing"))?;
    let moderator =
        store.user_by_username("moderator").await?.ok_or_else(|| ApiError::internal("demo moderator missing"))?;
    if let Some(s) = store.sessions().await?.into_iter().find(|s| s.title == DEMO_TITLE && s.owner == surgeon.sub) {
        if s.state == crate::model::SessionState::Live {
            crate::live::on_started(state, &s).await?;
        }
        return Ok(s.id);
    }
    let now = Utc::now();
    let req = NewSession {
        title: DEMO_TITLE.into(),
        procedure: "cholecystectomy".into(),
        delay_seconds: Some(10),
        audience: Some(vec!["student".into(), "clinician".into()]),
        redaction_policy: None,
    };
    let mut s = lifecycle::create(uuid::Uuid::new_v4().to_string(), &surgeon.sub, req, now)?;
    store.create_session(&s).await?;
    store.set_moderators(&s.id, std::slice::from_ref(&moderator.sub)).await?;
    s.moderators = vec![moderator.sub.clone()];
    let scope = ConsentScope { text: true, images: true, video: true, audio: true, archive: true };
    lifecycle::record_consent(
        &mut s,
        ConsentBody { reference: "DEMO-CONSENT-1".into(), scope, notes: String::new() },
        &surgeon.sub,
        now,
    )?;
    lifecycle::start(&mut s, now)?;
    store.save_session(&s).await?;
    crate::live::on_started(state, &s).await?;
    Ok(s.id)
}

pub fn banner(url: &str, session_id: &str) -> String {
    let mut out = String::new();
    out.push_str(&format!("\norgallery demo is running.\n\n  Open {url}/ in a browser.\n\n  Sign in as:\n"));
    for (u, p, r) in ACCOUNTS {
        out.push_str(&format!("    {:<10} username {u:<10} password {p}\n", r.as_str()));
    }
    out.push_str(&format!("\n  Demo session (live): {session_id}\n"));
    out.push_str(&format!(
        "\n  With curl:\n    curl -s -X POST {url}/api/auth/login -H 'content-type: application/json' \\\n         -d '{{\"username\":\"surgeon\",\"password\":\"surgeon-demo\"}}'\n    curl -s {url}/api/sessions -H \"Authorization: Bearer $TOKEN\"\n"
    ));
    out
}

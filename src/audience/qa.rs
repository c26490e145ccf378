//! The Q&A operations, shared by the HTTP handlers and the live channel's
//! client frames: validate, then hand the change to the session's board;
//! read lists and the join-time replay from the store.
//!
//! Callers have already checked the permission (the table's row for the
//! action) against the session.

use std::collections::HashSet;

use serde_json::{json, Value};

use super::board::{self, Action, Author, Cmd};
use super::pulse::Mood;
use super::question::{self, check_text, normalize_tag, Question, Sight, Sort, MAX_ANSWER_CHARS, MAX_QUESTION_CHARS};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::live::Wire;
use crate::model::{RedactionPolicy, Session, SessionState};
use crate::state::AppState;

/// Longest display name shown as a question's author or an answer's.
const MAX_NAME_CHARS: usize = 100;

/// The session is live (its row says so), and this node has its hub: the
/// board answers while the hub does, on the writer's node or any other.
fn require_live(state: &AppState, s: &Session) -> Result<(), ApiError> {
    if s.state != SessionState::Live {
        return Err(ApiError::conflict("not_live", "questions are open only while the session is live"));
    }
    state.live.hub(state, s);
    Ok(())
}

/// Question ids are UUIDs; anything longer is unknown without a lookup.
fn check_id(id: &str) -> Result<(), ApiError> {
    if id.is_empty() || id.len() > 64 {
        return Err(ApiError::not_found("question"));
    }
    Ok(())
}

/// The caller's display name (never the account id).
pub fn display_name(who: &Principal) -> String {
    let name: String = who.name.trim().chars().take(MAX_NAME_CHARS).collect();
    if name.is_empty() {
        who.role.as_str().to_string()
    } else {
        name
    }
}

pub async fn ask(state: &AppState, s: &Session, who: &Principal, text: String) -> Result<Question, ApiError> {
    require_live(state, s)?;
    check_text(&text, MAX_QUESTION_CHARS, "question")?;
    let author = Author { sub: who.sub.clone(), name: display_name(who) };
    let hold = s.redaction_policy == RedactionPolicy::Hold;
    board::call(state, &s.id, |reply| Cmd::Ask { author, text, hold, reply }).await
}

/// Upvote (`up`) or take the vote back; answers the question and whether
/// the caller's vote is now on it.
pub async fn vote(
    state: &AppState,
    s: &Session,
    who: &Principal,
    id: &str,
    up: bool,
) -> Result<(Question, bool), ApiError> {
    check_id(id)?;
    require_live(state, s)?;
    let (sub, id) = (who.sub.clone(), id.to_string());
    board::call(state, &s.id, |reply| Cmd::Vote { sub, id, up, reply }).await
}

pub async fn answer(
    state: &AppState,
    s: &Session,
    who: &Principal,
    id: &str,
    text: String,
) -> Result<Question, ApiError> {
    check_id(id)?;
    require_live(state, s)?;
    check_text(&text, MAX_ANSWER_CHARS, "answer")?;
    moderate(state, s, id, Action::Answer { text, by: display_name(who) }).await
}

/// Pin, unpin, hide or unhide.
pub async fn moderate(state: &AppState, s: &Session, id: &str, action: Action) -> Result<Question, ApiError> {
    check_id(id)?;
    require_live(state, s)?;
    let id = id.to_string();
    board::call(state, &s.id, |reply| Cmd::Moderate { id, action, reply }).await
}

/// Approve or reject a question held by the "hold" policy.
pub async fn review(state: &AppState, s: &Session, id: &str, approve: bool) -> Result<Question, ApiError> {
    check_id(id)?;
    require_live(state, s)?;
    let id = id.to_string();
    board::call(state, &s.id, |reply| Cmd::Review { id, approve, reply }).await
}

/// The held questions, each with its original text while it is in memory.
pub async fn queue(state: &AppState, s: &Session) -> Result<Value, ApiError> {
    require_live(state, s)?;
    let items = board::call(state, &s.id, |reply| Cmd::Queue { reply }).await?;
    Ok(json!({"items": items}))
}

/// A pulse; answers its time (Unix ms).
pub async fn pulse(state: &AppState, s: &Session, who: &Principal, value: &str) -> Result<i64, ApiError> {
    require_live(state, s)?;
    let mood = Mood::parse(value)
        .ok_or_else(|| ApiError::invalid("invalid_pulse", "value must be clear, confused, too_fast or great"))?;
    let sub = who.sub.clone();
    board::call(state, &s.id, |reply| Cmd::Pulse { sub, mood, reply }).await
}

/// `GET .../questions`: what the caller may see, filtered and sorted, each
/// with `voted` (the caller's own vote).
pub async fn list(
    state: &AppState,
    s: &Session,
    who: &Principal,
    tag: Option<&str>,
    sort: Option<&str>,
) -> Result<Value, ApiError> {
    let sort = Sort::parse(sort)?;
    let tag = tag
        .map(|t| normalize_tag(t).ok_or_else(|| ApiError::invalid("invalid_tag", "a tag is a word such as anatomy")))
        .transpose()?;
    let sight = super::sight(who, s);
    let mut qs: Vec<Question> =
        state.store.questions(&s.id, tag.as_deref()).await?.into_iter().filter(|q| q.visible_to(sight)).collect();
    question::sort(&mut qs, sort);
    let voted: HashSet<String> = state.store.votes_of(&s.id, &who.sub).await?.into_iter().collect();
    let out: Vec<Value> = qs
        .iter()
        .map(|q| {
            let mut v = q.json();
            v["voted"] = json!(voted.contains(&q.id));
            v
        })
        .collect();
    Ok(Value::Array(out))
}

/// The current state of every question a joining viewer may see, as
/// `question` frames in the session's question order.
pub async fn replay(state: &AppState, session_id: &str, sight: Sight) -> Result<Vec<Wire>, ApiError> {
    let qs = state.store.questions(session_id, None).await?;
    Ok(qs.iter().filter(|q| q.visible_to(sight)).map(|q| crate::live::wire::text(Question::frame(q.json()))).collect())
}

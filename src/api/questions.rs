//! `/api/sessions/{id}/questions`: ask, list (tags, sort), upvote and take
//! it back, answer, pin/unpin, hide/unhide, and the review of questions
//! held by the "hold" policy. Thin: parse, authorize, call the audience.
//! Moderation and review are audited (action and question id, never text).

use std::net::IpAddr;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;

use super::extract::{ClientAddr, Json, Path};
use super::load_session;
use crate::audience::board::Action;
use crate::audience::{qa, Question};
use crate::audit::Entry;
use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/sessions/{id}/questions", post(ask).get(list))
        .route("/api/sessions/{id}/questions/queue", get(queue))
        .route("/api/sessions/{id}/questions/{qid}/upvote", post(upvote).delete(unvote))
        .route("/api/sessions/{id}/questions/{qid}/answer", post(answer))
        .route("/api/sessions/{id}/questions/{qid}/pin", post(pin))
        .route("/api/sessions/{id}/questions/{qid}/unpin", post(unpin))
        .route("/api/sessions/{id}/questions/{qid}/hide", post(hide))
        .route("/api/sessions/{id}/questions/{qid}/unhide", post(unhide))
        .route("/api/sessions/{id}/questions/{qid}/approve", post(approve))
        .route("/api/sessions/{id}/questions/{qid}/reject", post(reject))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextBody {
    text: String,
}

fn question(q: &Question) -> Response {
    axum::Json(q.json()).into_response()
}

/// Audit a moderation step on question `qid` of session `id`.
fn audit(state: &AppState, who: &Principal, addr: Option<IpAddr>, action: &'static str, id: &str, qid: &str) {
    state.audit.append(Entry::new(action).by(who).from(addr).session(id).detail(json!({"question": qid})));
}

async fn ask(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Json(body): Json<TextBody>,
) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::QuestionAsk).await?;
    let q = qa::ask(&state, &s, &who, body.text).await?;
    Ok((StatusCode::CREATED, axum::Json(q.json())).into_response())
}

#[derive(Deserialize)]
struct ListQuery {
    tag: Option<String>,
    sort: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::Watch).await?;
    let v = qa::list(&state, &s, &who, q.tag.as_deref(), q.sort.as_deref()).await?;
    Ok(axum::Json(v).into_response())
}

async fn queue(State(state): State<AppState>, who: Principal, Path(id): Path<String>) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::QuestionReview).await?;
    Ok(axum::Json(qa::queue(&state, &s).await?).into_response())
}

async fn vote(state: AppState, who: Principal, id: String, qid: String, up: bool) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::QuestionVote).await?;
    let (q, voted) = qa::vote(&state, &s, &who, &qid, up).await?;
    let mut v = q.json();
    v["voted"] = json!(voted);
    Ok(axum::Json(v).into_response())
}

async fn upvote(
    State(state): State<AppState>,
    who: Principal,
    Path((id, qid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    vote(state, who, id, qid, true).await
}

async fn unvote(
    State(state): State<AppState>,
    who: Principal,
    Path((id, qid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    vote(state, who, id, qid, false).await
}

async fn answer(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path((id, qid)): Path<(String, String)>,
    Json(body): Json<TextBody>,
) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::QuestionModerate).await?;
    let q = qa::answer(&state, &s, &who, &qid, body.text).await?;
    audit(&state, &who, addr, "question_answer", &id, &q.id);
    Ok(question(&q))
}

/// Who asks for a moderation step, and from where (for the audit log).
type Caller = (Principal, Option<IpAddr>);

async fn moderate(
    state: AppState,
    (who, addr): Caller,
    id: String,
    qid: String,
    action: Action,
) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::QuestionModerate).await?;
    let name = match action {
        Action::Answer { .. } => "question_answer",
        Action::Pin(true) => "question_pin",
        Action::Pin(false) => "question_unpin",
        Action::Hide(true) => "question_hide",
        Action::Hide(false) => "question_unhide",
    };
    let q = qa::moderate(&state, &s, &qid, action).await?;
    audit(&state, &who, addr, name, &id, &q.id);
    Ok(question(&q))
}

async fn pin(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path((id, qid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    moderate(state, (who, addr), id, qid, Action::Pin(true)).await
}

async fn unpin(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path((id, qid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    moderate(state, (who, addr), id, qid, Action::Pin(false)).await
}

async fn hide(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path((id, qid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    moderate(state, (who, addr), id, qid, Action::Hide(true)).await
}

async fn unhide(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path((id, qid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    moderate(state, (who, addr), id, qid, Action::Hide(false)).await
}

async fn review(
    state: AppState,
    (who, addr): Caller,
    id: String,
    qid: String,
    approve: bool,
) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::QuestionReview).await?;
    let q = qa::review(&state, &s, &qid, approve).await?;
    audit(&state, &who, addr, if approve { "question_approve" } else { "question_reject" }, &id, &q.id);
    Ok(question(&q))
}

async fn approve(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path((id, qid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    review(state, (who, addr), id, qid, true).await
}

async fn reject(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path((id, qid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    review(state, (who, addr), id, qid, false).await
}

//! Feedback when a session ends: the rules (who, when, what) as pure
//! functions, storing one viewer's feedback, and the summary the owner,
//! educators and admins read.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::model::{Session, SessionState};
use crate::redaction::{Patient, Span};
use crate::state::AppState;
use crate::store::StoreError;

/// Longest comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 2000;
/// Feedback is open from the start until this long after the end.
pub const WINDOW_AFTER_END_DAYS: i64 = 7;

/// One viewer's feedback, its comment already redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    pub session_id: String,
    pub sub: String,
    pub rating: u8,
    pub comment: Option<String>,
    pub redactions: Vec<Span>,
    pub created_at: DateTime<Utc>,
}

/// Is feedback open for `s` at `now`?
pub fn check_window(s: &Session, now: DateTime<Utc>) -> Result<(), ApiError> {
    match (s.state, s.ended_at) {
        (SessionState::Draft, _) => Err(ApiError::conflict("not_started", "feedback opens when the session starts")),
        (SessionState::Ended, Some(end)) if now > end + Duration::days(WINDOW_AFTER_END_DAYS) => {
            Err(ApiError::conflict("feedback_closed", "feedback closed 7 days after the session's end"))
        }
        _ => Ok(()),
    }
}

/// Validate a rating and a comment (`None` or blank: no comment).
pub fn check_input(rating: i64, comment: Option<&str>) -> Result<(u8, Option<&str>), ApiError> {
    let rating = u8::try_from(rating)
        .ok()
        .filter(|r| (1..=5).contains(r))
        .ok_or_else(|| ApiError::invalid("invalid_rating", "rating must be an integer from 1 to 5"))?;
    let comment = comment.filter(|c| !c.trim().is_empty());
    if comment.is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS) {
        return Err(ApiError::TooLarge {
            message: format!("the comment is longer than {MAX_COMMENT_CHARS} characters"),
        });
    }
    Ok((rating, comment))
}

/// `{"count","average","distribution":{"1":n,…,"5":n},"comments":[…]}`;
/// comments carry no author (feedback is anonymous to its readers).
pub fn summary(all: &[Feedback]) -> Value {
    let mut distribution = [0u64; 5];
    for f in all {
        if let Some(slot) = distribution.get_mut(usize::from(f.rating.saturating_sub(1))) {
            *slot += 1;
        }
    }
    let count = all.len() as u64;
    let sum: u64 = all.iter().map(|f| u64::from(f.rating)).sum();
    let average = (count > 0).then(|| ((sum as f64 / count as f64) * 100.0).round() / 100.0);
    let comments: Vec<Value> = all
        .iter()
        .filter_map(|f| {
            f.comment.as_ref().map(
                |c| json!({"rating": f.rating, "comment": c, "redactions": f.redactions, "created_at": f.created_at}),
            )
        })
        .collect();
    json!({
        "count": count,
        "average": average,
        "distribution": {
            "1": distribution[0], "2": distribution[1], "3": distribution[2], "4": distribution[3], "5": distribution[4],
        },
        "comments": comments,
    })
}

/// Store `who`'s feedback on `s`, once; the comment is redacted first (with
/// the patient's identifiers while they exist: they are deleted when the
/// session ends).
pub async fn submit(
    state: &AppState,
    s: &Session,
    who: &Principal,
    rating: i64,
    comment: Option<String>,
) -> Result<Value, ApiError> {
    let (rating, comment) = check_input(rating, comment.as_deref())?;
    check_window(s, Utc::now())?;
    if !state.store.has_joined(&s.id, &who.sub).await? {
        return Err(ApiError::Forbidden {
            code: "not_joined",
            message: "only viewers who joined the session may leave feedback".into(),
        });
    }
    let patient = state.identifiers.get(&s.id).map(Patient::compile);
    let redacted = comment.map(|c| state.redactor.redact(c, patient.as_ref()));
    let f = Feedback {
        session_id: s.id.clone(),
        sub: who.sub.clone(),
        rating,
        redactions: redacted.as_ref().map(|r| r.spans.clone()).unwrap_or_default(),
        comment: redacted.map(|r| r.text),
        created_at: Utc::now(),
    };
    match state.store.insert_feedback(&f).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::conflict("feedback_exists", "you already left feedback on this session"))
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(rating, comment = f.comment.is_some(), "feedback");
    Ok(json!({"rating": f.rating, "comment": f.comment, "redactions": f.redactions, "created_at": f.created_at}))
}

pub async fn read(state: &AppState, s: &Session) -> Result<Value, ApiError> {
    Ok(summary(&state.store.feedback(&s.id).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fb(rating: u8, comment: Option<&str>) -> Feedback {
        Feedback {
            session_id: "s".into(),
            sub: format!("u{rating}"),
            rating,
            comment: comment.map(String::from),
            redactions: Vec::new(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn summary_counts_averages_and_lists_comments() {
        let s = summary(&[fb(5, Some("great view")), fb(4, None), fb(4, Some("audio low"))]);
        assert_eq!(s["count"], 3);
        assert_eq!(s["average"], 4.33);
        assert_eq!(s["distribution"], json!({"1": 0, "2": 0, "3": 0, "4": 2, "5": 1}));
        assert_eq!(s["comments"].as_array().map(Vec::len), Some(2));
        assert!(s["comments"][0].get("sub").is_none());
        let empty = summary(&[]);
        assert_eq!((empty["count"].clone(), empty["average"].clone()), (json!(0), Value::Null));
    }

    #[test]
    fn input_and_window() {
        assert!(check_input(0, None).is_err() && check_input(6, None).is_err() && check_input(-1, None).is_err());
        assert_eq!(check_input(3, Some("  ")).map(|(r, c)| (r, c.is_none())).ok(), Some((3, true)));
        let long = "x".repeat(MAX_COMMENT_CHARS + 1);
        assert_eq!(check_input(3, Some(&long)).expect_err("long").code(), "payload_too_large");

        let now = Utc::now();
        let mut s = crate::session::lifecycle::create(
            "s".into(),
            "o",
            serde_json::from_value(json!({"title": "t"})).expect("new session"),
            now,
        )
        .expect("session");
        assert_eq!(check_window(&s, now).expect_err("draft").code(), "not_started");
        s.state = SessionState::Live;
        assert!(check_window(&s, now).is_ok());
        s.state = SessionState::Ended;
        s.ended_at = Some(now);
        assert!(check_window(&s, now + Duration::days(7)).is_ok());
        assert_eq!(check_window(&s, now + Duration::days(8)).expect_err("late").code(), "feedback_closed");
    }
}

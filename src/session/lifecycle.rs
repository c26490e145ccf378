//! Session rules as pure functions: validation of new sessions and changes,
//! and the draft → live → ended state machine with its 409s.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::error::ApiError;
use crate::model::{Consent, ConsentScope, RedactionPolicy, Role, Session, SessionState};

pub const MAX_DELAY_SECONDS: u32 = 600;
pub const DEFAULT_DELAY_SECONDS: u32 = 10;
const MAX_TITLE: usize = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    pub title: String,
    #[serde(default)]
    pub procedure: String,
    pub delay_seconds: Option<u32>,
    pub audience: Option<Vec<String>>,
    pub redaction_policy: Option<RedactionPolicy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionPatch {
    pub delay_seconds: Option<u32>,
    pub redaction_policy: Option<RedactionPolicy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentBody {
    pub reference: String,
    pub scope: ConsentScope,
    #[serde(default)]
    pub notes: String,
}

fn check_delay(d: u32) -> Result<u32, ApiError> {
    if d > MAX_DELAY_SECONDS {
        return Err(ApiError::invalid("invalid_delay", format!("delay_seconds must be 0..={MAX_DELAY_SECONDS}")));
    }
    Ok(d)
}

fn check_text(field: &str, v: &str, required: bool) -> Result<String, ApiError> {
    let v = v.trim();
    if required && v.is_empty() {
        return Err(ApiError::invalid("invalid_field", format!("{field} must not be empty")));
    }
    if v.chars().count() > MAX_TITLE {
        return Err(ApiError::invalid("invalid_field", format!("{field} is longer than {MAX_TITLE} characters")));
    }
    Ok(v.to_string())
}

fn parse_audience(a: Option<Vec<String>>) -> Result<Vec<Role>, ApiError> {
    let raw = a.unwrap_or_else(|| vec!["student".into(), "clinician".into()]);
    let mut out = Vec::new();
    for r in raw {
        match Role::parse(&r) {
            Some(role) if role.is_viewer() => {
                if !out.contains(&role) {
                    out.push(role)
                }
            }
            _ => {
                return Err(ApiError::invalid(
                    "invalid_audience",
                    "audience may only contain \"student\" and \"clinician\"",
                ))
            }
        }
    }
    Ok(out)
}

/// Build a draft session owned by `owner` from a validated request.
pub fn create(id: String, owner: &str, req: NewSession, now: DateTime<Utc>) -> Result<Session, ApiError> {
    Ok(Session {
        id,
        title: check_text("title", &req.title, true)?,
        procedure: check_text("procedure", &req.procedure, false)?,
        owner: owner.to_string(),
        state: SessionState::Draft,
        delay_seconds: check_delay(req.delay_seconds.unwrap_or(DEFAULT_DELAY_SECONDS))?,
        audience: parse_audience(req.audience)?,
        redaction_policy: req.redaction_policy.unwrap_or_default(),
        curtain: false,
        consent: None,
        moderators: Vec::new(),
        created_at: now,
        started_at: None,
        ended_at: None,
    })
}

pub fn patch(s: &mut Session, p: SessionPatch) -> Result<(), ApiError> {
    if s.state == SessionState::Ended {
        return Err(ApiError::conflict("session_ended", "the session has ended"));
    }
    if let Some(d) = p.delay_seconds {
        s.delay_seconds = check_delay(d)?;
    }
    if let Some(pol) = p.redaction_policy {
        s.redaction_policy = pol;
    }
    Ok(())
}

pub fn record_consent(s: &mut Session, c: ConsentBody, by: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
    if s.state == SessionState::Ended {
        return Err(ApiError::conflict("session_ended", "the session has ended"));
    }
    let reference = c.reference.trim();
    if reference.is_empty() || reference.chars().count() > MAX_TITLE {
        return Err(ApiError::invalid("invalid_consent", "reference must be 1..=200 characters"));
    }
    if c.notes.chars().count() > 2000 {
        return Err(ApiError::invalid("invalid_consent", "notes must be at most 2000 characters"));
    }
    s.consent = Some(Consent {
        reference: reference.to_string(),
        scope: c.scope,
        notes: c.notes,
        recorded_by: by.to_string(),
        recorded_at: now,
    });
    Ok(())
}

pub fn start(s: &mut Session, now: DateTime<Utc>) -> Result<(), ApiError> {
    match s.state {
        SessionState::Draft => {}
        SessionState::Live => return Err(ApiError::conflict("already_live", "the session is already live")),
        SessionState::Ended => return Err(ApiError::conflict("session_ended", "the session has ended")),
    }
    if s.consent.is_none() {
        return Err(ApiError::conflict("consent_required", "record the patient's consent before starting"));
    }
    s.state = SessionState::Live;
    s.started_at = Some(now);
    Ok(())
}

pub fn end(s: &mut Session, now: DateTime<Utc>) -> Result<(), ApiError> {
    if s.state != SessionState::Live {
        return Err(ApiError::conflict("not_live", "only a live session can end"));
    }
    s.state = SessionState::Ended;
    s.ended_at = Some(now);
    s.curtain = false;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(delay: Option<u32>, audience: Option<Vec<&str>>) -> NewSession {
        NewSession {
            title: "Lap chole".into(),
            procedure: "cholecystectomy".into(),
            delay_seconds: delay,
            audience: audience.map(|a| a.into_iter().map(String::from).collect()),
            redaction_policy: None,
        }
    }

    #[test]
    fn defaults_and_limits() {
        let s = create("s1".into(), "u", new(None, None), Utc::now()).expect("valid");
        assert_eq!(s.delay_seconds, 10);
        assert_eq!(s.audience, vec![Role::Student, Role::Clinician]);
        assert!(create("s".into(), "u", new(Some(601), None), Utc::now()).is_err());
        assert!(create("s".into(), "u", new(Some(600), None), Utc::now()).is_ok());
        assert!(create("s".into(), "u", new(None, Some(vec!["surgeon"])), Utc::now()).is_err());
    }

    #[test]
    fn start_needs_consent_and_draft() {
        let now = Utc::now();
        let mut s = create("s".into(), "u", new(None, None), now).expect("valid");
        let e = start(&mut s, now).expect_err("no consent");
        assert_eq!(e.code(), "consent_required");
        let c = ConsentBody { reference: "F-1".into(), scope: ConsentScope::default(), notes: String::new() };
        record_consent(&mut s, c, "u", now).expect("consent");
        start(&mut s, now).expect("starts");
        assert_eq!(start(&mut s, now).expect_err("twice").code(), "already_live");
        end(&mut s, now).expect("ends");
        assert_eq!(end(&mut s, now).expect_err("twice").code(), "not_live");
    }
}

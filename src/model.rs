//! Domain records shared by the store, the API and the session owners.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Surgeon,
    Moderator,
    Clinician,
    Student,
    Educator,
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] =
        [Role::Surgeon, Role::Moderator, Role::Clinician, Role::Student, Role::Educator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Surgeon => "surgeon",
            Role::Moderator => "moderator",
            Role::Clinician => "clinician",
            Role::Student => "student",
            Role::Educator => "educator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Roles that may be in a session's audience (viewers).
    pub fn is_viewer(self) -> bool {
        matches!(self, Role::Student | Role::Clinician)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An account. `sub` is the stable id that tokens carry.
#[derive(Clone)]
pub struct User {
    pub sub: String,
    pub username: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User").field("sub", &self.sub).field("role", &self.role).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    Draft,
    Live,
    Ended,
}

impl SessionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Draft => "draft",
            SessionState::Live => "live",
            SessionState::Ended => "ended",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(Self::Draft),
            "live" => Some(Self::Live),
            "ended" => Some(Self::Ended),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RedactionPolicy {
    #[default]
    Mask,
    Hold,
}

/// What the patient's signed release allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ConsentScope {
    #[serde(default)]
    pub text: bool,
    #[serde(default)]
    pub images: bool,
    #[serde(default)]
    pub video: bool,
    #[serde(default)]
    pub audio: bool,
    #[serde(default)]
    pub archive: bool,
}

/// The recorded consent: a reference to the signed document, never the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub reference: String,
    pub scope: ConsentScope,
    #[serde(default)]
    pub notes: String,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// One procedure broadcast.
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    pub id: String,
    pub title: String,
    pub procedure: String,
    pub owner: String,
    pub state: SessionState,
    pub delay_seconds: u32,
    pub audience: Vec<Role>,
    pub redaction_policy: RedactionPolicy,
    pub curtain: bool,
    pub consent: Option<Consent>,
    pub moderators: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl Session {
    pub fn is_controller(&self, sub: &str) -> bool {
        self.owner == sub || self.moderators.iter().any(|m| m == sub)
    }
}

/// An invitation code (stored as its SHA-256, never in clear).
#[derive(Debug, Clone)]
pub struct Invite {
    pub code_hash: String,
    pub session_id: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
    pub max_uses: u32,
    pub uses: u32,
    pub created_by: String,
}

//! The one table of what each role may do (API.md "Roles"), and the one
//! function that enforces it together with the caller's relation to a session.

use serde::Serialize;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::model::{Role, Session, SessionState};

use Role::*;

/// Every action an endpoint can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    SessionCreate,
    SessionRead,
    SessionPatch,
    ModeratorsSet,
    ConsentRecord,
    IdentifiersSet,
    SessionStart,
    SessionEnd,
    InviteCreate,
    Publish,
    /// WHIP: send the operating room's video and audio.
    MediaPublish,
    GateControl,
    ReviewQueue,
    Watch,
    AccountsManage,
    UserKick,
    MetricsRead,
    /// Ask a question (HTTP or the `ask` frame).
    QuestionAsk,
    /// Upvote a question or take the vote back.
    QuestionVote,
    /// Answer, pin, hide and unhide questions; see hidden ones.
    QuestionModerate,
    /// Approve or reject questions held by the "hold" policy; their queue.
    QuestionReview,
    /// Send a pulse (how the audience is doing).
    PulseSend,
    /// Receive the pulse aggregates and read the series.
    PulseRead,
    FeedbackCreate,
    FeedbackRead,
    /// Replay: the timeline and the recordings.
    ArchiveRead,
    ArchiveExport,
    /// `DELETE /api/sessions/{id}`.
    SessionPurge,
    AuditRead,
    /// Change an account's role.
    RoleChange,
}

/// Which relation to the session a permission also needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// No session involved, or seeing it is enough.
    Any,
    /// The session's owner.
    Owner,
    /// The owner or an assigned moderator.
    Controller,
    /// A surgeon must own the session; the other roles need only see it.
    SurgeonOwns,
}

#[derive(Debug, Serialize)]
pub struct Rule {
    pub permission: Permission,
    pub roles: &'static [Role],
    pub relation: Relation,
}

const ALL: &[Role] = &Role::ALL;

/// The permission table.
pub static TABLE: &[Rule] = &[
    Rule { permission: Permission::SessionCreate, roles: &[Surgeon], relation: Relation::Any },
    Rule { permission: Permission::SessionRead, roles: ALL, relation: Relation::Any },
    Rule { permission: Permission::SessionPatch, roles: &[Surgeon, Moderator], relation: Relation::Controller },
    Rule { permission: Permission::ModeratorsSet, roles: &[Surgeon], relation: Relation::Owner },
    Rule { permission: Permission::ConsentRecord, roles: &[Surgeon], relation: Relation::Owner },
    Rule { permission: Permission::IdentifiersSet, roles: &[Surgeon, Moderator], relation: Relation::Controller },
    Rule { permission: Permission::SessionStart, roles: &[Surgeon], relation: Relation::Owner },
    Rule { permission: Permission::SessionEnd, roles: &[Surgeon], relation: Relation::Owner },
    Rule { permission: Permission::InviteCreate, roles: &[Surgeon, Educator], relation: Relation::Any },
    Rule { permission: Permission::Publish, roles: &[Surgeon, Moderator], relation: Relation::Controller },
    Rule { permission: Permission::MediaPublish, roles: &[Surgeon], relation: Relation::Owner },
    Rule { permission: Permission::GateControl, roles: &[Surgeon, Moderator], relation: Relation::Controller },
    Rule { permission: Permission::ReviewQueue, roles: &[Surgeon, Moderator], relation: Relation::Controller },
    Rule { permission: Permission::Watch, roles: ALL, relation: Relation::Any },
    Rule { permission: Permission::AccountsManage, roles: &[Admin], relation: Relation::Any },
    Rule { permission: Permission::UserKick, roles: &[Admin], relation: Relation::Any },
    Rule { permission: Permission::MetricsRead, roles: &[Admin], relation: Relation::Any },
    // Q&A, pulse, feedback. `Any` is enough where seeing the session already
    // narrows a role: a surgeon sees only their own sessions, a moderator
    // only those assigned.
    Rule { permission: Permission::QuestionAsk, roles: &[Clinician, Student], relation: Relation::Any },
    Rule { permission: Permission::QuestionVote, roles: &[Student], relation: Relation::Any },
    Rule { permission: Permission::QuestionModerate, roles: &[Surgeon, Moderator, Educator], relation: Relation::Any },
    Rule { permission: Permission::QuestionReview, roles: &[Surgeon, Moderator], relation: Relation::Controller },
    Rule { permission: Permission::PulseSend, roles: &[Clinician, Student], relation: Relation::Any },
    Rule { permission: Permission::PulseRead, roles: &[Surgeon, Moderator, Educator], relation: Relation::Any },
    Rule { permission: Permission::FeedbackCreate, roles: &[Student], relation: Relation::Any },
    Rule { permission: Permission::FeedbackRead, roles: &[Surgeon, Educator, Admin], relation: Relation::Any },
    Rule { permission: Permission::ArchiveRead, roles: &[Surgeon, Educator, Admin], relation: Relation::SurgeonOwns },
    Rule { permission: Permission::ArchiveExport, roles: &[Surgeon, Educator], relation: Relation::SurgeonOwns },
    Rule { permission: Permission::SessionPurge, roles: &[Admin], relation: Relation::Any },
    Rule { permission: Permission::AuditRead, roles: &[Admin], relation: Relation::Any },
    Rule { permission: Permission::RoleChange, roles: &[Admin], relation: Relation::Any },
];

pub fn rule(p: Permission) -> &'static Rule {
    // Every Permission has exactly one row; the table test proves it.
    TABLE.iter().find(|r| r.permission == p).unwrap_or(&TABLE[0])
}

/// May `who` see `session` at all? A session one may not see answers 404.
pub fn can_see(who: &Principal, s: &Session) -> bool {
    if let Some(limit) = &who.sessions {
        if !limit.iter().any(|id| id == &s.id) {
            return false;
        }
    }
    if s.is_controller(&who.sub) {
        return true;
    }
    match s.state {
        SessionState::Draft => false,
        SessionState::Live | SessionState::Ended => match who.role {
            Educator | Admin => true,
            r if r.is_viewer() => s.audience.contains(&r),
            _ => false,
        },
    }
}

/// Enforce `perm` for `who`, against `session` when the action concerns one.
pub fn authorize(who: &Principal, perm: Permission, session: Option<&Session>) -> Result<(), ApiError> {
    if let Some(s) = session {
        if !can_see(who, s) {
            return Err(ApiError::not_found("session"));
        }
    }
    let rule = rule(perm);
    if !rule.roles.contains(&who.role) {
        return Err(ApiError::forbidden(format!("a {} may not do this", who.role)));
    }
    if let Some(s) = session {
        let ok = match rule.relation {
            Relation::Any => true,
            Relation::Owner => s.owner == who.sub,
            Relation::Controller => s.is_controller(&who.sub),
            Relation::SurgeonOwns => who.role != Surgeon || s.owner == who.sub,
        };
        if !ok {
            return Err(ApiError::forbidden(match rule.relation {
                Relation::Owner | Relation::SurgeonOwns => "only the session's owner may do this",
                _ => "only the session's surgeon or its moderators may do this",
            }));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_has_exactly_one_rule() {
        for (i, r) in TABLE.iter().enumerate() {
            assert_eq!(TABLE.iter().filter(|o| o.permission == r.permission).count(), 1, "row {i}");
            assert!(std::ptr::eq(rule(r.permission), r));
        }
    }
}

//! The audience's side of a session: moderated questions with tags and
//! votes, the live pulse for the presenter, and feedback at the end.
//!
//! | module | owns |
//! | --- | --- |
//! | [`question`] | the question record, tags, limits, who sees what, list order, JSON shapes |
//! | [`board`] | one task per live session: every change to its questions and its pulse, stored then announced |
//! | [`qa`] | the operations HTTP handlers and socket frames share (ask, vote, moderate, review, list, replay) |
//! | [`pulse`] | the pulse meter and series, pure, with the clock passed in |
//! | [`pulse_timeline`] | the stored pulse series placed on the released timeline |
//! | [`feedback`] | feedback rules, storage and the summary |
//!
//! Every text a viewer can read — questions, answers, feedback comments —
//! passes the redaction gate with the session's registered patient
//! identifiers; only the redacted text is stored, sent or logged.

pub mod board;
pub mod feedback;
pub mod pulse;
pub mod pulse_timeline;
pub mod qa;
pub mod question;

pub use feedback::Feedback;
pub use pulse::Mood;
pub use question::{Answer, Question, Sight, Status};

use crate::auth::{authorize, Permission, Principal};
use crate::model::Session;

/// The audience's share of the application state.
#[derive(Default)]
pub struct Audience {
    pub boards: board::Boards,
}

/// What `who` may see of `s`'s questions, from the permission table.
pub fn sight(who: &Principal, s: &Session) -> Sight {
    Sight {
        staff: authorize(who, Permission::QuestionModerate, Some(s)).is_ok(),
        controller: authorize(who, Permission::QuestionReview, Some(s)).is_ok(),
    }
}

/// The session ended: its board stops once it has answered what it was asked.
pub fn on_ending(state: &crate::state::AppState, session_id: &str) {
    state.audience.boards.remove(session_id);
}

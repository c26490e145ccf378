//! A question as stored and as each reader sees it: its record, the rules
//! that are pure (tags, limits, who sees what, the order of a list) and the
//! JSON shapes of the GET answer and the live `question` frame.
//!
//! The stored text is always the redacted one; the asker's original exists
//! only in the session's board while the question is held for review.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::redaction::Span;

/// Longest question, in characters (Unicode code points).
pub const MAX_QUESTION_CHARS: usize = 1000;
/// Longest answer, in characters.
pub const MAX_ANSWER_CHARS: usize = 4000;
/// Tags per question.
pub const MAX_TAGS: usize = 5;
/// Longest tag, in characters; a longer `#word` is not a tag.
pub const MAX_TAG_CHARS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Held by the "hold" policy until a controller approves or rejects it.
    Pending,
    Published,
    Rejected,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Published => "published",
            Status::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Status::Pending),
            "published" => Some(Status::Published),
            "rejected" => Some(Status::Rejected),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Redacted.
    pub text: String,
    pub redactions: Vec<Span>,
    /// The answerer's display name.
    pub by: String,
    pub at: DateTime<Utc>,
}

/// One question. `author_sub` is kept for votes, limits and the audit
/// trail and never sent to anyone; `author_name` is the display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub id: String,
    pub session_id: String,
    /// Its place in the session's own order: 1, 2, ...
    pub number: u64,
    pub author_sub: String,
    pub author_name: String,
    /// Redacted.
    pub text: String,
    pub redactions: Vec<Span>,
    /// The redaction gate found something in it.
    pub flagged: bool,
    pub status: Status,
    pub votes: u64,
    pub pinned: bool,
    pub hidden: bool,
    pub answer: Option<Answer>,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// Bumped on every change: a client keeps the highest it has seen.
    pub version: u64,
}

/// What a reader may see of a session's questions, from the permission table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sight {
    /// May moderate (answer, pin, hide): sees hidden questions.
    pub staff: bool,
    /// May review held questions: sees pending ones.
    pub controller: bool,
}

impl Question {
    /// May a reader with `sight` see this question at all?
    pub fn visible_to(&self, sight: Sight) -> bool {
        match self.status {
            Status::Published => !self.hidden || sight.staff,
            Status::Pending => sight.controller,
            Status::Rejected => false,
        }
    }

    /// Open to the audience: published and not hidden (votes need this).
    pub fn is_open(&self) -> bool {
        self.status == Status::Published && !self.hidden
    }

    /// The question as its readers get it (GET, frames, 201).
    pub fn json(&self) -> Value {
        let answer = self.answer.as_ref();
        json!({
            "id": self.id,
            "number": self.number,
            "text": self.text,
            "redactions": self.redactions,
            "author": self.author_name,
            "votes": self.votes,
            "answered": answer.is_some(),
            "answer": answer.map(|a| a.text.as_str()),
            "answer_redactions": answer.map(|a| &a.redactions),
            "answered_by": answer.map(|a| a.by.as_str()),
            "answered_at": answer.map(|a| a.at),
            "tags": self.tags,
            "pinned": self.pinned,
            "hidden": self.hidden,
            "status": self.status,
            "created_at": self.created_at,
            "version": self.version,
        })
    }

    /// What a reader who may no longer see it gets: enough to remove it.
    pub fn hidden_stub(&self) -> Value {
        json!({"id": self.id, "number": self.number, "hidden": true, "status": self.status, "version": self.version})
    }

    /// A live `question` frame around `question`.
    pub fn frame(question: Value) -> String {
        json!({"type": "question", "question": question}).to_string()
    }
}

/// Reject empty and oversized text (what: "question" or "answer").
pub fn check_text(text: &str, max_chars: usize, what: &str) -> Result<(), ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::invalid("empty_text", format!("the {what} must not be empty")));
    }
    if text.chars().count() > max_chars {
        return Err(ApiError::TooLarge { message: format!("the {what} is longer than {max_chars} characters") });
    }
    Ok(())
}

/// The tags of a (redacted) text: words written `#anatomy`, lowercase, in
/// order of appearance, without repeats, at most [`MAX_TAGS`]. A tag starts
/// with a letter, follows the start of the text or a character that is not
/// part of a word, and continues with letters, digits, `_` or `-`.
pub fn parse_tags(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tags: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() && tags.len() < MAX_TAGS {
        let starts_tag = chars[i] == '#'
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_' || chars[i - 1] == '#'))
            && chars.get(i + 1).is_some_and(|c| c.is_alphabetic());
        if !starts_tag {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == '-') {
            j += 1;
        }
        let word: String = chars[i + 1..j].iter().collect::<String>().trim_end_matches('-').to_string();
        // Lowercasing may add characters (İ → i̇): keep only what is still a tag.
        if let Some(tag) = normalize_tag(&word).filter(|t| !tags.contains(t)) {
            tags.push(tag);
        }
        i = j;
    }
    tags
}

/// A tag as a filter (`?tag=Anatomy` or `?tag=%23anatomy`): lowercase, or
/// `None` when it could never be a tag.
pub fn normalize_tag(raw: &str) -> Option<String> {
    let t = raw.trim().trim_start_matches('#').to_lowercase();
    let ok = t.chars().next().is_some_and(char::is_alphabetic)
        && t.chars().count() <= MAX_TAG_CHARS
        && t.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    ok.then_some(t)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Pinned first, then most votes, then oldest.
    Votes,
    /// Newest first.
    Recent,
}

impl Sort {
    pub fn parse(s: Option<&str>) -> Result<Self, ApiError> {
        match s {
            None | Some("votes") => Ok(Sort::Votes),
            Some("recent") => Ok(Sort::Recent),
            Some(_) => Err(ApiError::invalid("invalid_sort", "sort must be \"votes\" or \"recent\"")),
        }
    }
}

pub fn sort(qs: &mut [Question], by: Sort) {
    match by {
        Sort::Votes => qs.sort_by(|a, b| {
            b.pinned
                .cmp(&a.pinned)
                .then(b.votes.cmp(&a.votes))
                .then(a.created_at.cmp(&b.created_at))
                .then(a.number.cmp(&b.number))
        }),
        Sort::Recent => qs.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.number.cmp(&a.number))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(number: u64, votes: u64, pinned: bool, secs: i64) -> Question {
        Question {
            id: format!("q{number}"),
            session_id: "s".into(),
            number,
            author_sub: "u".into(),
            author_name: "Ann".into(),
            text: "why?".into(),
            redactions: Vec::new(),
            flagged: false,
            status: Status::Published,
            votes,
            pinned,
            hidden: false,
            answer: None,
            tags: Vec::new(),
            created_at: DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap_or_default(),
            version: 1,
        }
    }

    #[test]
    fn tags_are_lowercase_distinct_words_at_most_five() {
        assert_eq!(parse_tags("Where is the #Anatomy of #CBD? #anatomy again"), vec!["anatomy", "cbd"]);
        assert_eq!(parse_tags("#a #b #c #d #e #f"), vec!["a", "b", "c", "d", "e"]);
        assert!(parse_tags("C# and issue #12 and a#b and ##x and #").is_empty());
        assert_eq!(parse_tags("(#calot-triangle-) #x_1, #Über"), vec!["calot-triangle", "x_1", "über"]);
        assert_eq!(parse_tags("#İstanbul #ok"), vec!["ok"]);
        let long = format!("#{}", "a".repeat(MAX_TAG_CHARS + 1));
        assert!(parse_tags(&long).is_empty());
        // A mask is never part of a tag.
        assert_eq!(parse_tags("#[NAME] #ok"), vec!["ok"]);
    }

    proptest::proptest! {
        #[test]
        fn tags_never_panic_and_obey_the_rules(text in "\\PC{0,200}") {
            let tags = parse_tags(&text);
            proptest::prop_assert!(tags.len() <= MAX_TAGS);
            for t in &tags {
                proptest::prop_assert!(t.chars().count() <= MAX_TAG_CHARS);
                let normalized = normalize_tag(t);
                proptest::prop_assert_eq!(normalized.as_deref(), Some(t.as_str()), "a tag is a valid filter");
                proptest::prop_assert_eq!(tags.iter().filter(|o| *o == t).count(), 1);
            }
        }
    }

    #[test]
    fn filter_tags_normalize_or_refuse() {
        assert_eq!(normalize_tag("#Anatomy").as_deref(), Some("anatomy"));
        assert_eq!(normalize_tag("1abc"), None);
        assert_eq!(normalize_tag("a b"), None);
        assert_eq!(normalize_tag(""), None);
    }

    #[test]
    fn text_limits_count_characters() {
        assert!(check_text(&"é".repeat(MAX_QUESTION_CHARS), MAX_QUESTION_CHARS, "question").is_ok());
        let e = check_text(&"é".repeat(MAX_QUESTION_CHARS + 1), MAX_QUESTION_CHARS, "question").expect_err("long");
        assert_eq!(e.code(), "payload_too_large");
        assert_eq!(check_text("  \n", MAX_QUESTION_CHARS, "question").expect_err("empty").code(), "empty_text");
    }

    #[test]
    fn votes_order_pins_then_votes_then_age() {
        let mut qs = vec![q(1, 1, false, 0), q(2, 3, false, 5), q(3, 3, false, 1), q(4, 0, true, 9)];
        sort(&mut qs, Sort::Votes);
        assert_eq!(qs.iter().map(|q| q.number).collect::<Vec<_>>(), vec![4, 3, 2, 1]);
        sort(&mut qs, Sort::Recent);
        assert_eq!(qs.iter().map(|q| q.number).collect::<Vec<_>>(), vec![4, 2, 3, 1]);
        assert!(Sort::parse(Some("loud")).is_err());
    }

    #[test]
    fn who_sees_what() {
        let viewer = Sight::default();
        let staff = Sight { staff: true, controller: false };
        let controller = Sight { staff: true, controller: true };
        let mut x = q(1, 0, false, 0);
        assert!(x.visible_to(viewer));
        x.hidden = true;
        assert!(!x.visible_to(viewer) && x.visible_to(staff));
        x.hidden = false;
        x.status = Status::Pending;
        assert!(!x.visible_to(staff) && x.visible_to(controller));
        x.status = Status::Rejected;
        assert!(!x.visible_to(controller));
        let stub = x.hidden_stub();
        assert!(stub.get("text").is_none() && stub.get("author").is_none());
    }
}

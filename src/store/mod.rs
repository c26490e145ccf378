//! Persistence behind one small interface. Handlers and session owners talk to
//! `dyn Store`; SQLite is the embedded default and PostgreSQL the shared store
//! of several nodes, both implemented by one SQL text in [`sql`].

mod sql;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::audience::{Feedback, Mood, Question};
use crate::audit::{AuditEvent, Checkpoint};
use crate::model::{Invite, Session, User};
pub use sql::{Dialect, SqlStore};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("store: {0}")]
    Backend(String),
    /// The store cannot take the operation now (disk full, locked by
    /// another process, I/O error, no connection within its timeout); the
    /// same operation may succeed later. The API answers 503.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A fenced write was refused: the writer's lease is expired or another
    /// node took it (a newer epoch).
    #[error("the session's writer lease is not held")]
    Fenced,
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Where the store lives: the data directory's SQLite file unless a
/// `--database-url` names a PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Location {
    /// `postgres://` or `postgresql://` URLs name PostgreSQL, `sqlite://`
    /// URLs (or none) a SQLite file; anything else is refused.
    pub fn parse(database_url: Option<&str>, default_sqlite: &std::path::Path) -> Result<Self, String> {
        match database_url {
            None => Ok(Self::Sqlite(default_sqlite.to_path_buf())),
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => Ok(Self::Postgres(u.into())),
            Some(u) => match u.strip_prefix("sqlite://") {
                Some(path) if !path.is_empty() => Ok(Self::Sqlite(path.into())),
                _ => Err("--database-url must be postgres://… (or sqlite://PATH)".into()),
            },
        }
    }

    /// Is there a store to read (a SQLite file that exists, or any PostgreSQL URL)?
    pub fn exists(&self) -> bool {
        match self {
            Self::Sqlite(p) => p.exists(),
            Self::Postgres(_) => true,
        }
    }

    pub async fn open(&self) -> StoreResult<SqlStore> {
        match self {
            Self::Sqlite(p) => SqlStore::open_sqlite(p).await,
            Self::Postgres(u) => SqlStore::open_postgres(u).await,
        }
    }
}

/// A database URL for logs and errors: the password replaced by `***`.
///
/// ```
/// assert_eq!(orgallery::store::redact_url("postgres://u:p@ss@db/x"), "postgres://u:***@db/x");
/// assert_eq!(orgallery::store::redact_url("postgres://db/x"), "postgres://db/x");
/// ```
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((auth, host)) => match auth.split_once(':') {
                Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
                None => url.to_string(),
            },
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Outcome of redeeming an invite code.
#[derive(Debug)]
pub enum Redeem {
    Ok(Invite),
    Unknown,
    Gone,
}

/// One released update as stored: its seq, id and the JSON that viewers got.
#[derive(Debug, Clone)]
pub struct StoredUpdate {
    pub seq: u64,
    pub id: String,
    pub body: String,
}

/// A session's writer lease as one node holds it: only releases carrying
/// the current `(owner, epoch)` under an unexpired lease are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub owner: String,
    pub epoch: u64,
    /// The last `seq` stored under any epoch: the next release is `last_seq + 1`.
    pub last_seq: u64,
}

/// A lease as the health endpoint reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseInfo {
    pub session_id: String,
    pub owner: String,
    pub epoch: u64,
    pub last_seq: u64,
    /// Milliseconds until it expires by the database's clock (negative: expired).
    pub remaining_ms: i64,
}

/// Filters and cursor of an audit read: events with `id > after`, in id order.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub after: u64,
    pub session: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Inclusive bounds on `at`, in the log's own format (`audit::format_at`).
    pub from: Option<String>,
    pub to: Option<String>,
}

/// What became of a session's archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveState {
    pub archived: bool,
    pub purged_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

/// One released media file of a session.
#[derive(Debug, Clone)]
pub struct MediaFile {
    pub id: String,
    pub content_type: String,
    /// Relative to the data directory.
    pub file: String,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Can the store take writes now (readiness)? Bounded by the store's
    /// timeouts; a store locked by another process answers `Unavailable`.
    async fn ping(&self) -> StoreResult<()>;

    async fn create_user(&self, user: &User) -> StoreResult<()>;
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    async fn user_by_sub(&self, sub: &str) -> StoreResult<Option<User>>;
    async fn set_user_role(&self, sub: &str, role: crate::model::Role) -> StoreResult<()>;

    async fn create_session(&self, s: &Session) -> StoreResult<()>;
    /// Write the session's state, delay, policy, consent and times (not the
    /// curtain, which only its live writer sets).
    async fn save_session(&self, s: &Session) -> StoreResult<()>;
    async fn set_curtain(&self, id: &str, down: bool) -> StoreResult<()>;
    async fn session(&self, id: &str) -> StoreResult<Option<Session>>;
    async fn sessions(&self) -> StoreResult<Vec<Session>>;
    async fn set_moderators(&self, session_id: &str, subs: &[String]) -> StoreResult<()>;

    async fn revoke_token(&self, jti: &str, expires_at: i64) -> StoreResult<()>;
    /// Every still-relevant revoked jti with its expiry (loaded at start).
    async fn revoked_tokens(&self, now: i64) -> StoreResult<Vec<(String, i64)>>;
    /// Revoke every token of `sub` issued before `before` (a kick).
    async fn revoke_subject(&self, sub: &str, before: i64) -> StoreResult<()>;
    async fn revoked_subjects(&self) -> StoreResult<Vec<(String, i64)>>;

    async fn create_invite(&self, invite: &Invite) -> StoreResult<()>;
    /// Atomically count one use of an invite if it is valid at `now`.
    async fn redeem_invite(&self, code_hash: &str, now: DateTime<Utc>) -> StoreResult<Redeem>;

    /// Take a live session's writer lease for `owner` (a node id) for `ttl`:
    /// granted when nobody holds it, when it expired, or when `owner`
    /// already held it (a restarted node); every grant is a new epoch, so
    /// the previous holder's writes are refused from then on.
    async fn acquire_writer(
        &self,
        session_id: &str,
        owner: &str,
        ttl: std::time::Duration,
    ) -> StoreResult<Option<Lease>>;
    /// Extend the lease if `lease` is still the current epoch (even if it
    /// expired meanwhile and nobody took it); false when it was taken.
    async fn renew_writer(&self, session_id: &str, lease: &Lease, ttl: std::time::Duration) -> StoreResult<bool>;
    /// Give the lease up now (the session ended, the node stops).
    async fn release_writer(&self, session_id: &str, lease: &Lease) -> StoreResult<()>;
    /// Live sessions whose writer lease is missing or expired.
    async fn unwritten_live_sessions(&self) -> StoreResult<Vec<String>>;
    async fn writer_leases(&self) -> StoreResult<Vec<LeaseInfo>>;
    /// Append a released update under the session's writer lease, in one
    /// transaction: refused with `Fenced` unless `lease` is the current,
    /// unexpired epoch and `seq` is exactly the lease's `last_seq + 1`.
    async fn append_update(&self, session_id: &str, update: &StoredUpdate, lease: &Lease) -> StoreResult<()>;
    async fn updates_after(&self, session_id: &str, after: u64, limit: u32) -> StoreResult<Vec<StoredUpdate>>;
    async fn last_seq(&self, session_id: &str) -> StoreResult<u64>;
    /// Sealed patient identifiers of a session: (nonce, ciphertext).
    async fn put_sealed_identifiers(&self, session_id: &str, nonce: &[u8], sealed: &[u8]) -> StoreResult<()>;
    async fn sealed_identifiers(&self, session_id: &str) -> StoreResult<Option<(Vec<u8>, Vec<u8>)>>;
    async fn delete_sealed_identifiers(&self, session_id: &str) -> StoreResult<()>;
    async fn put_media(&self, id: &str, session_id: &str, content_type: &str, file: &str) -> StoreResult<()>;
    /// (session_id, content_type, file) of a released media item.
    async fn media(&self, id: &str) -> StoreResult<Option<(String, String, String)>>;

    // The audience: questions (redacted text only), votes, joins, pulses, feedback.
    async fn insert_question(&self, q: &Question) -> StoreResult<()>;
    async fn question(&self, session_id: &str, id: &str) -> StoreResult<Option<Question>>;
    /// Every question of a session (with `tag` among its tags, if given), by number.
    async fn questions(&self, session_id: &str, tag: Option<&str>) -> StoreResult<Vec<Question>>;
    /// The highest question number of a session (0 without questions).
    async fn last_question_number(&self, session_id: &str) -> StoreResult<u64>;
    /// Write what moderation changes: status, pinned, hidden, answer, version.
    async fn save_question(&self, q: &Question) -> StoreResult<()>;
    /// Cast (`up`) or take back `sub`'s vote; true when that changed the
    /// count (which then moves by one and bumps the version).
    async fn set_vote(&self, question_id: &str, sub: &str, up: bool) -> StoreResult<bool>;
    /// Ids of the questions of a session that `sub` has upvoted.
    async fn votes_of(&self, session_id: &str, sub: &str) -> StoreResult<Vec<String>>;
    /// `sub` opened the session's live channel while it was live.
    async fn record_join(&self, session_id: &str, sub: &str, at: DateTime<Utc>) -> StoreResult<()>;
    async fn has_joined(&self, session_id: &str, sub: &str) -> StoreResult<bool>;
    async fn insert_pulse(&self, session_id: &str, sub: &str, mood: Mood, at_ms: i64) -> StoreResult<()>;
    /// Every pulse of a session, oldest first.
    async fn pulses(&self, session_id: &str) -> StoreResult<Vec<(Mood, i64)>>;
    /// `Conflict` when this viewer already gave feedback on the session.
    async fn insert_feedback(&self, f: &Feedback) -> StoreResult<()>;
    async fn feedback(&self, session_id: &str) -> StoreResult<Vec<Feedback>>;
    /// Every released media file of a session.
    async fn session_media(&self, session_id: &str) -> StoreResult<Vec<MediaFile>>;

    /// The last event's (id, hash).
    async fn audit_head(&self) -> StoreResult<Option<(u64, String)>>;
    /// Append chained events (in one transaction).
    async fn append_audit(&self, events: &[AuditEvent]) -> StoreResult<()>;
    async fn audit_events(&self, q: &AuditQuery, limit: u32) -> StoreResult<Vec<AuditEvent>>;
    async fn put_audit_checkpoint(&self, c: &Checkpoint) -> StoreResult<()>;
    async fn audit_checkpoints(&self) -> StoreResult<Vec<Checkpoint>>;

    async fn set_archive_state(&self, session_id: &str, st: &ArchiveState) -> StoreResult<()>;
    async fn archive_state(&self, session_id: &str) -> StoreResult<Option<ArchiveState>>;
    /// Remove a session's released content (updates, media rows, invites,
    /// sealed identifiers); the session row and its audit events stay.
    async fn purge_session_content(&self, session_id: &str) -> StoreResult<()>;
    /// Remove the session row and everything that refers to it (not the audit log).
    async fn delete_session(&self, session_id: &str) -> StoreResult<()>;
}

#[cfg(test)]
mod tests {
    use super::Location;
    use std::path::Path;

    #[test]
    fn database_urls_name_their_engine_or_are_refused() {
        let default = Path::new("data/orgallery.db");
        assert_eq!(Location::parse(None, default), Ok(Location::Sqlite(default.into())));
        for url in ["postgres://u@h/db", "postgresql://u:p@h:5432/db?sslmode=disable"] {
            assert_eq!(Location::parse(Some(url), default), Ok(Location::Postgres(url.into())));
        }
        assert_eq!(Location::parse(Some("sqlite:///srv/o.db"), default), Ok(Location::Sqlite("/srv/o.db".into())));
        for bad in ["mysql://h/db", "sqlite://", "db.internal", ""] {
            assert!(Location::parse(Some(bad), default).is_err(), "{bad}");
        }
    }
}

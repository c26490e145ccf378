//! The embedded store: one SQLite file in the data directory, WAL mode,
//! migrations embedded in the binary. The audience's tables are in
//! [`audience`].

mod audience;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Connection, Row, SqlitePool};

use super::{ArchiveState, AuditQuery, MediaFile, Redeem, Store, StoreError, StoreResult, StoredUpdate};
use crate::audience::{Feedback, Mood, Question};
use crate::audit::{AuditEvent, Checkpoint};
use crate::model::{Consent, Invite, RedactionPolicy, Role, Session, SessionState, User};

pub struct SqliteStore {
    pool: SqlitePool,
}

/// How long a statement waits for another connection's (or process's) write
/// lock before it fails with SQLITE_BUSY, and how long a request waits for a
/// pooled connection: together the bound on a request stuck on the store.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(2);
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// SQLite primary result codes that mean "not now" rather than "wrong".
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_NOMEM: i64 = 7;
const SQLITE_IOERR: i64 = 10;
const SQLITE_FULL: i64 = 13;
const SQLITE_CANTOPEN: i64 = 14;
const SQLITE_PROTOCOL: i64 = 15;

fn backend(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict("already exists".into()),
        sqlx::Error::Database(db) => {
            let primary = db.code().and_then(|c| c.parse::<i64>().ok()).map(|c| c & 0xff);
            match primary {
                Some(
                    SQLITE_BUSY | SQLITE_LOCKED | SQLITE_NOMEM | SQLITE_IOERR | SQLITE_FULL | SQLITE_CANTOPEN
                    | SQLITE_PROTOCOL,
                ) => StoreError::Unavailable(e.to_string()),
                _ => StoreError::Backend(e.to_string()),
            }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("corrupt row: {what}"))
}

fn ts(s: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).map_err(|_| corrupt("timestamp"))
}

impl SqliteStore {
    /// Open (creating if needed) the database file and run migrations.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        let url = format!("sqlite://{}", path.display());
        let opts = SqliteConnectOptions::from_str(&url)
            .map_err(backend)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: in WAL mode every commit fsyncs the WAL, so a release
            // that a viewer was sent survives a power loss, not only a crash
            // of the process (docs/DECISIONS.md, "Crash and faults").
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A transaction whose COMMIT failed (disk full, I/O error) may
            // leave its connection inside a transaction that will never
            // commit: later statements on it would seem to succeed and be
            // lost, and its reads would see an old snapshot. Such a
            // connection is closed (rolling back) instead of pooled.
            .after_release(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
            .before_acquire(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
            .connect_with(opts)
            .await
            .map_err(backend)?;
        sqlx::migrate!("./migrations").run(&pool).await.map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Self { pool })
    }

    fn user_row(r: &SqliteRow) -> StoreResult<User> {
        let role: String = r.try_get("role").map_err(backend)?;
        let created: String = r.try_get("created_at").map_err(backend)?;
        Ok(User {
            sub: r.try_get("sub").map_err(backend)?,
            username: r.try_get("username").map_err(backend)?,
            name: r.try_get("name").map_err(backend)?,
            role: Role::parse(&role).ok_or_else(|| corrupt("role"))?,
            password_hash: r.try_get("password_hash").map_err(backend)?,
            created_at: ts(&created)?,
        })
    }

    async fn session_row(&self, r: &SqliteRow) -> StoreResult<Session> {
        let id: String = r.try_get("id").map_err(backend)?;
        let state: String = r.try_get("state").map_err(backend)?;
        let audience: String = r.try_get("audience").map_err(backend)?;
        let policy: String = r.try_get("redaction_policy").map_err(backend)?;
        let consent: Option<String> = r.try_get("consent").map_err(backend)?;
        let created: String = r.try_get("created_at").map_err(backend)?;
        let started: Option<String> = r.try_get("started_at").map_err(backend)?;
        let ended: Option<String> = r.try_get("ended_at").map_err(backend)?;
        let delay: i64 = r.try_get("delay_seconds").map_err(backend)?;
        let curtain: i64 = r.try_get("curtain").map_err(backend)?;
        let moderators = sqlx::query("SELECT sub FROM session_moderators WHERE session_id = ? ORDER BY sub")
            .bind(&id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(|m| m.try_get::<String, _>("sub").map_err(backend))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Session {
            title: r.try_get("title").map_err(backend)?,
            procedure: r.try_get("procedure").map_err(backend)?,
            owner: r.try_get("owner").map_err(backend)?,
            state: SessionState::parse(&state).ok_or_else(|| corrupt("state"))?,
            delay_seconds: u32::try_from(delay).map_err(|_| corrupt("delay"))?,
            audience: serde_json::from_str::<Vec<Role>>(&audience).map_err(|_| corrupt("audience"))?,
            redaction_policy: serde_json::from_value::<RedactionPolicy>(serde_json::Value::String(policy))
                .map_err(|_| corrupt("policy"))?,
            curtain: curtain != 0,
            consent: match consent {
                Some(c) => Some(serde_json::from_str::<Consent>(&c).map_err(|_| corrupt("consent"))?),
                None => None,
            },
            moderators,
            created_at: ts(&created)?,
            started_at: started.as_deref().map(ts).transpose()?,
            ended_at: ended.as_deref().map(ts).transpose()?,
            id,
        })
    }
}

fn policy_str(p: RedactionPolicy) -> &'static str {
    match p {
        RedactionPolicy::Mask => "mask",
        RedactionPolicy::Hold => "hold",
    }
}

fn consent_json(s: &Session) -> StoreResult<Option<String>> {
    s.consent.as_ref().map(|c| serde_json::to_string(c).map_err(|e| StoreError::Backend(e.to_string()))).transpose()
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        // Take the write lock and give it back: in WAL mode reads go on while
        // another process holds the lock, but no release could be stored.
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        tx.rollback().await.map_err(backend)?;
        Ok(())
    }

    async fn create_user(&self, u: &User) -> StoreResult<()> {
        sqlx::query("INSERT INTO users (sub, username, name, role, password_hash, created_at) VALUES (?,?,?,?,?,?)")
            .bind(&u.sub)
            .bind(&u.username)
            .bind(&u.name)
            .bind(u.role.as_str())
            .bind(&u.password_hash)
            .bind(u.created_at.to_rfc3339())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(Self::user_row).transpose()
    }

    async fn user_by_sub(&self, sub: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE sub = ?")
            .bind(sub)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(Self::user_row).transpose()
    }

    async fn set_user_role(&self, sub: &str, role: Role) -> StoreResult<()> {
        let done = sqlx::query("UPDATE users SET role = ? WHERE sub = ?")
            .bind(role.as_str())
            .bind(sub)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn create_session(&self, s: &Session) -> StoreResult<()> {
        let audience = serde_json::to_string(&s.audience).map_err(|e| StoreError::Backend(e.to_string()))?;
        sqlx::query(
            "INSERT INTO sessions (id, title, procedure, owner, state, delay_seconds, audience, redaction_policy, \
             curtain, consent, created_at, started_at, ended_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        )
        .bind(&s.id)
        .bind(&s.title)
        .bind(&s.procedure)
        .bind(&s.owner)
        .bind(s.state.as_str())
        .bind(i64::from(s.delay_seconds))
        .bind(audience)
        .bind(policy_str(s.redaction_policy))
        .bind(i64::from(s.curtain))
        .bind(consent_json(s)?)
        .bind(s.created_at.to_rfc3339())
        .bind(s.started_at.map(|t| t.to_rfc3339()))
        .bind(s.ended_at.map(|t| t.to_rfc3339()))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn save_session(&self, s: &Session) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE sessions SET state = ?, delay_seconds = ?, redaction_policy = ?, consent = ?, \
             started_at = ?, ended_at = ?, curtain = CASE WHEN ? = 'live' THEN curtain ELSE 0 END WHERE id = ?",
        )
        .bind(s.state.as_str())
        .bind(i64::from(s.delay_seconds))
        .bind(policy_str(s.redaction_policy))
        .bind(consent_json(s)?)
        .bind(s.started_at.map(|t| t.to_rfc3339()))
        .bind(s.ended_at.map(|t| t.to_rfc3339()))
        .bind(s.state.as_str())
        .bind(&s.id)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn set_curtain(&self, id: &str, down: bool) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET curtain = ? WHERE id = ?")
            .bind(i64::from(down))
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn session(&self, id: &str) -> StoreResult<Option<Session>> {
        let row = sqlx::query("SELECT * FROM sessions WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        match row {
            Some(r) => Ok(Some(self.session_row(&r).await?)),
            None => Ok(None),
        }
    }

    async fn sessions(&self) -> StoreResult<Vec<Session>> {
        let rows = sqlx::query("SELECT * FROM sessions ORDER BY created_at DESC")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.session_row(r).await?);
        }
        Ok(out)
    }

    async fn set_moderators(&self, session_id: &str, subs: &[String]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("DELETE FROM session_moderators WHERE session_id = ?")
            .bind(session_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        for sub in subs {
            sqlx::query("INSERT OR IGNORE INTO session_moderators (session_id, sub) VALUES (?, ?)")
                .bind(session_id)
                .bind(sub)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn revoke_token(&self, jti: &str, expires_at: i64) -> StoreResult<()> {
        sqlx::query("INSERT OR IGNORE INTO revoked_tokens (jti, expires_at) VALUES (?, ?)")
            .bind(jti)
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn revoked_tokens(&self, now: i64) -> StoreResult<Vec<(String, i64)>> {
        sqlx::query("DELETE FROM revoked_tokens WHERE expires_at < ?")
            .bind(now - 3600)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        let rows =
            sqlx::query("SELECT jti, expires_at FROM revoked_tokens").fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter()
            .map(|r| Ok((r.try_get("jti").map_err(backend)?, r.try_get("expires_at").map_err(backend)?)))
            .collect()
    }

    async fn revoke_subject(&self, sub: &str, before: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO revoked_subjects (sub, before) VALUES (?, ?) \
             ON CONFLICT(sub) DO UPDATE SET before = max(before, excluded.before)",
        )
        .bind(sub)
        .bind(before)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn revoked_subjects(&self) -> StoreResult<Vec<(String, i64)>> {
        let rows =
            sqlx::query("SELECT sub, before FROM revoked_subjects").fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(|r| Ok((r.try_get("sub").map_err(backend)?, r.try_get("before").map_err(backend)?))).collect()
    }

    async fn create_invite(&self, i: &Invite) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO invites (code_hash, session_id, role, expires_at, max_uses, uses, created_by) \
             VALUES (?,?,?,?,?,?,?)",
        )
        .bind(&i.code_hash)
        .bind(&i.session_id)
        .bind(i.role.as_str())
        .bind(i.expires_at.to_rfc3339())
        .bind(i64::from(i.max_uses))
        .bind(i64::from(i.uses))
        .bind(&i.created_by)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn redeem_invite(&self, code_hash: &str, now: DateTime<Utc>) -> StoreResult<Redeem> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // Write first, so the transaction takes the write lock (waiting out
        // other writers) before it reads: a read-then-write transaction in
        // WAL mode fails with "database is locked" when another writer
        // committed in between, which the audit writer makes likely.
        sqlx::query("UPDATE invites SET uses = uses WHERE code_hash = ?")
            .bind(code_hash)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let row = sqlx::query("SELECT * FROM invites WHERE code_hash = ?")
            .bind(code_hash)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        let Some(r) = row else {
            return Ok(Redeem::Unknown);
        };
        let role: String = r.try_get("role").map_err(backend)?;
        let expires: String = r.try_get("expires_at").map_err(backend)?;
        let max_uses: i64 = r.try_get("max_uses").map_err(backend)?;
        let uses: i64 = r.try_get("uses").map_err(backend)?;
        let invite = Invite {
            code_hash: code_hash.to_string(),
            session_id: r.try_get("session_id").map_err(backend)?,
            role: Role::parse(&role).ok_or_else(|| corrupt("role"))?,
            expires_at: ts(&expires)?,
            max_uses: u32::try_from(max_uses).map_err(|_| corrupt("max_uses"))?,
            uses: u32::try_from(uses + 1).map_err(|_| corrupt("uses"))?,
            created_by: r.try_get("created_by").map_err(backend)?,
        };
        if invite.expires_at <= now || uses >= max_uses {
            return Ok(Redeem::Gone);
        }
        sqlx::query("UPDATE invites SET uses = uses + 1 WHERE code_hash = ?")
            .bind(code_hash)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(Redeem::Ok(invite))
    }

    async fn append_update(&self, session_id: &str, u: &StoredUpdate) -> StoreResult<()> {
        let seq = i64::try_from(u.seq).map_err(|_| StoreError::Backend("seq overflow".into()))?;
        sqlx::query("INSERT INTO updates (session_id, seq, id, body) VALUES (?, ?, ?, ?)")
            .bind(session_id)
            .bind(seq)
            .bind(&u.id)
            .bind(&u.body)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn updates_after(&self, session_id: &str, after: u64, limit: u32) -> StoreResult<Vec<StoredUpdate>> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let rows =
            sqlx::query("SELECT seq, id, body FROM updates WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?")
                .bind(session_id)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let seq: i64 = r.try_get("seq").map_err(backend)?;
                Ok(StoredUpdate {
                    seq: u64::try_from(seq).map_err(|_| corrupt("seq"))?,
                    id: r.try_get("id").map_err(backend)?,
                    body: r.try_get("body").map_err(backend)?,
                })
            })
            .collect()
    }

    async fn last_seq(&self, session_id: &str) -> StoreResult<u64> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS m FROM updates WHERE session_id = ?")
            .bind(session_id)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        let m: i64 = row.try_get("m").map_err(backend)?;
        u64::try_from(m).map_err(|_| corrupt("seq"))
    }

    async fn put_sealed_identifiers(&self, session_id: &str, nonce: &[u8], sealed: &[u8]) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO session_identifiers (session_id, nonce, sealed) VALUES (?, ?, ?) \
             ON CONFLICT(session_id) DO UPDATE SET nonce = excluded.nonce, sealed = excluded.sealed",
        )
        .bind(session_id)
        .bind(nonce)
        .bind(sealed)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn sealed_identifiers(&self, session_id: &str) -> StoreResult<Option<(Vec<u8>, Vec<u8>)>> {
        let row = sqlx::query("SELECT nonce, sealed FROM session_identifiers WHERE session_id = ?")
            .bind(session_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(|r| Ok((r.try_get("nonce").map_err(backend)?, r.try_get("sealed").map_err(backend)?))).transpose()
    }

    async fn delete_sealed_identifiers(&self, session_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM session_identifiers WHERE session_id = ?")
            .bind(session_id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn put_media(&self, id: &str, session_id: &str, content_type: &str, file: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO media (id, session_id, content_type, file, released, created_at) VALUES (?,?,?,?,1,?)",
        )
        .bind(id)
        .bind(session_id)
        .bind(content_type)
        .bind(file)
        .bind(Utc::now().to_rfc3339())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn media(&self, id: &str) -> StoreResult<Option<(String, String, String)>> {
        let row = sqlx::query("SELECT session_id, content_type, file FROM media WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(|r| {
            Ok((
                r.try_get("session_id").map_err(backend)?,
                r.try_get("content_type").map_err(backend)?,
                r.try_get("file").map_err(backend)?,
            ))
        })
        .transpose()
    }
    async fn insert_question(&self, q: &Question) -> StoreResult<()> {
        self.audience_insert_question(q).await
    }
    async fn question(&self, session_id: &str, id: &str) -> StoreResult<Option<Question>> {
        self.audience_question(session_id, id).await
    }
    async fn questions(&self, session_id: &str, tag: Option<&str>) -> StoreResult<Vec<Question>> {
        self.audience_questions(session_id, tag).await
    }
    async fn last_question_number(&self, session_id: &str) -> StoreResult<u64> {
        self.audience_last_question_number(session_id).await
    }
    async fn save_question(&self, q: &Question) -> StoreResult<()> {
        self.audience_save_question(q).await
    }
    async fn set_vote(&self, question_id: &str, sub: &str, up: bool) -> StoreResult<bool> {
        self.audience_set_vote(question_id, sub, up).await
    }
    async fn votes_of(&self, session_id: &str, sub: &str) -> StoreResult<Vec<String>> {
        self.audience_votes_of(session_id, sub).await
    }
    async fn record_join(&self, session_id: &str, sub: &str, at: DateTime<Utc>) -> StoreResult<()> {
        self.audience_record_join(session_id, sub, at).await
    }
    async fn has_joined(&self, session_id: &str, sub: &str) -> StoreResult<bool> {
        self.audience_has_joined(session_id, sub).await
    }
    async fn insert_pulse(&self, session_id: &str, sub: &str, mood: Mood, at_ms: i64) -> StoreResult<()> {
        self.audience_insert_pulse(session_id, sub, mood, at_ms).await
    }
    async fn pulses(&self, session_id: &str) -> StoreResult<Vec<(Mood, i64)>> {
        self.audience_pulses(session_id).await
    }
    async fn insert_feedback(&self, f: &Feedback) -> StoreResult<()> {
        self.audience_insert_feedback(f).await
    }
    async fn feedback(&self, session_id: &str) -> StoreResult<Vec<Feedback>> {
        self.audience_feedback(session_id).await
    }

    async fn session_media(&self, session_id: &str) -> StoreResult<Vec<MediaFile>> {
        let rows = sqlx::query("SELECT id, content_type, file FROM media WHERE session_id = ? ORDER BY created_at, id")
            .bind(session_id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(MediaFile {
                    id: r.try_get("id").map_err(backend)?,
                    content_type: r.try_get("content_type").map_err(backend)?,
                    file: r.try_get("file").map_err(backend)?,
                })
            })
            .collect()
    }

    async fn audit_head(&self) -> StoreResult<Option<(u64, String)>> {
        let row = sqlx::query("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(|r| {
            let id: i64 = r.try_get("id").map_err(backend)?;
            Ok((u64::try_from(id).map_err(|_| corrupt("audit id"))?, r.try_get("hash").map_err(backend)?))
        })
        .transpose()
    }

    async fn append_audit(&self, events: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        for e in events {
            let mut detail = String::new();
            crate::audit::chain::canonical_json(&e.detail, &mut detail);
            sqlx::query(
                "INSERT INTO audit_events (id, at, actor, role, action, session, address, detail, prev_hash, hash) \
                 VALUES (?,?,?,?,?,?,?,?,?,?)",
            )
            .bind(i64::try_from(e.id).map_err(|_| StoreError::Backend("audit id overflow".into()))?)
            .bind(&e.at)
            .bind(&e.actor)
            .bind(&e.role)
            .bind(&e.action)
            .bind(&e.session)
            .bind(&e.address)
            .bind(detail)
            .bind(&e.prev_hash)
            .bind(&e.hash)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn audit_events(&self, q: &AuditQuery, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        let mut sql = String::from("SELECT * FROM audit_events WHERE id > ?");
        for (cond, present) in [
            (" AND session = ?", q.session.is_some()),
            (" AND actor = ?", q.actor.is_some()),
            (" AND action = ?", q.action.is_some()),
            (" AND at >= ?", q.from.is_some()),
            (" AND at <= ?", q.to.is_some()),
        ] {
            if present {
                sql.push_str(cond);
            }
        }
        sql.push_str(" ORDER BY id LIMIT ?");
        let mut query = sqlx::query(&sql).bind(i64::try_from(q.after).unwrap_or(i64::MAX));
        for v in [&q.session, &q.actor, &q.action, &q.from, &q.to].into_iter().flatten() {
            query = query.bind(v);
        }
        let rows = query.bind(i64::from(limit)).fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get("id").map_err(backend)?;
                let detail: String = r.try_get("detail").map_err(backend)?;
                Ok(AuditEvent {
                    id: u64::try_from(id).map_err(|_| corrupt("audit id"))?,
                    at: r.try_get("at").map_err(backend)?,
                    actor: r.try_get("actor").map_err(backend)?,
                    role: r.try_get("role").map_err(backend)?,
                    action: r.try_get("action").map_err(backend)?,
                    session: r.try_get("session").map_err(backend)?,
                    address: r.try_get("address").map_err(backend)?,
                    // Unparseable detail stays visible as a string: the hash then fails.
                    detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
                    prev_hash: r.try_get("prev_hash").map_err(backend)?,
                    hash: r.try_get("hash").map_err(backend)?,
                })
            })
            .collect()
    }

    async fn put_audit_checkpoint(&self, c: &Checkpoint) -> StoreResult<()> {
        sqlx::query("INSERT INTO audit_checkpoints (head_id, head_hash, at, signature) VALUES (?,?,?,?)")
            .bind(i64::try_from(c.head_id).map_err(|_| StoreError::Backend("audit id overflow".into()))?)
            .bind(&c.head_hash)
            .bind(&c.at)
            .bind(&c.signature)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn audit_checkpoints(&self) -> StoreResult<Vec<Checkpoint>> {
        let rows = sqlx::query("SELECT head_id, head_hash, at, signature FROM audit_checkpoints ORDER BY n")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get("head_id").map_err(backend)?;
                Ok(Checkpoint {
                    head_id: u64::try_from(id).map_err(|_| corrupt("checkpoint"))?,
                    head_hash: r.try_get("head_hash").map_err(backend)?,
                    at: r.try_get("at").map_err(backend)?,
                    signature: r.try_get("signature").map_err(backend)?,
                })
            })
            .collect()
    }

    async fn set_archive_state(&self, session_id: &str, st: &ArchiveState) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO session_archive (session_id, archived, purged_at, reason) VALUES (?,?,?,?) \
             ON CONFLICT(session_id) DO UPDATE SET archived = excluded.archived, purged_at = excluded.purged_at, \
             reason = excluded.reason",
        )
        .bind(session_id)
        .bind(i64::from(st.archived))
        .bind(st.purged_at.map(|t| t.to_rfc3339()))
        .bind(&st.reason)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn archive_state(&self, session_id: &str) -> StoreResult<Option<ArchiveState>> {
        let row = sqlx::query("SELECT archived, purged_at, reason FROM session_archive WHERE session_id = ?")
            .bind(session_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(|r| {
            let archived: i64 = r.try_get("archived").map_err(backend)?;
            let purged: Option<String> = r.try_get("purged_at").map_err(backend)?;
            Ok(ArchiveState {
                archived: archived != 0,
                purged_at: purged.as_deref().map(ts).transpose()?,
                reason: r.try_get("reason").map_err(backend)?,
            })
        })
        .transpose()
    }

    async fn purge_session_content(&self, session_id: &str) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        for sql in [
            "DELETE FROM updates WHERE session_id = ?",
            "DELETE FROM media WHERE session_id = ?",
            "DELETE FROM invites WHERE session_id = ?",
            "DELETE FROM session_identifiers WHERE session_id = ?",
            // The audience's questions (tags and votes cascade) and pulses
            // are the session's content too; feedback and joins stay.
            "DELETE FROM questions WHERE session_id = ?",
            "DELETE FROM pulses WHERE session_id = ?",
        ] {
            sqlx::query(sql).bind(session_id).execute(&mut *tx).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn delete_session(&self, session_id: &str) -> StoreResult<()> {
        // Foreign keys cascade to every table that refers to the session.
        let done = sqlx::query("DELETE FROM sessions WHERE id = ?")
            .bind(session_id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

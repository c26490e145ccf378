//! The store in SQL, one text for both engines: SQLite (one file in the
//! data directory, WAL mode; the embedded default) and PostgreSQL (the
//! shared store of several nodes, `--database-url postgres://…`). Both run
//! through sqlx's `Any` driver with `$N` placeholders, which both engines
//! read; the few places where their SQL differs ask [`Dialect`]. Migrations
//! are embedded per engine (`migrations/sqlite`, `migrations/postgres`).
//! The audience's tables are in [`audience`].

mod audience;
mod leases;

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Connection, Executor, Row};

use super::{
    ArchiveState, AuditQuery, Lease, LeaseInfo, MediaFile, Redeem, Store, StoreError, StoreResult, StoredUpdate,
};
use crate::audience::{Feedback, Mood, Question};
use crate::audit::{AuditEvent, Checkpoint};
use crate::model::{Consent, Invite, RedactionPolicy, Role, Session, SessionState, User};

/// Which engine a [`SqlStore`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
    /// The lease statements, which read the database's clock, in this dialect.
    leases: leases::Statements,
}

/// How long a statement waits for another connection's (or process's) write
/// lock before it fails with SQLITE_BUSY, and how long a request waits for a
/// pooled connection: together the bound on a request stuck on the store.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(2);
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// PostgreSQL: the longest a statement may run, and the longest a
/// transaction may sit idle (a node that stalls mid-transaction must not
/// hold row locks for ever).
const PG_STATEMENT_TIMEOUT: &str = "10s";

/// SQLite primary result codes that mean "not now" rather than "wrong".
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_NOMEM: i64 = 7;
const SQLITE_IOERR: i64 = 10;
const SQLITE_FULL: i64 = 13;
const SQLITE_CANTOPEN: i64 = 14;
const SQLITE_PROTOCOL: i64 = 15;

/// Is this SQLSTATE PostgreSQL's "not now"? Connection exceptions (08),
/// insufficient resources such as a full disk (53), operator intervention
/// such as a shutdown or a statement timeout (57), lock not available
/// (55P03), serialization failure and deadlock (40001, 40P01).
fn pg_transient(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57")
        || matches!(code, "55P03" | "40001" | "40P01")
}

fn sqlite_transient(code: &str) -> bool {
    let primary = code.parse::<i64>().ok().map(|c| c & 0xff);
    matches!(
        primary,
        Some(
            SQLITE_BUSY | SQLITE_LOCKED | SQLITE_NOMEM | SQLITE_IOERR | SQLITE_FULL | SQLITE_CANTOPEN | SQLITE_PROTOCOL
        )
    )
}

pub(super) fn backend(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict("already exists".into()),
        sqlx::Error::Database(db) => {
            // Through `Any` the error is still the engine's own type.
            let code = db.code().unwrap_or_default();
            let transient = if db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some() {
                pg_transient(&code)
            } else {
                sqlite_transient(&code)
            };
            if transient {
                StoreError::Unavailable(e.to_string())
            } else {
                StoreError::Backend(e.to_string())
            }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed | sqlx::Error::PoolClosed => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

pub(super) fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("corrupt row: {what}"))
}

/// A count or id for the database (which stores signed 64-bit integers).
pub(super) fn int(v: u64, what: &str) -> StoreResult<i64> {
    i64::try_from(v).map_err(|_| StoreError::Backend(format!("{what} overflow")))
}

/// A count or id read back: never negative unless the row is corrupt.
pub(super) fn uint(v: i64, what: &str) -> StoreResult<u64> {
    u64::try_from(v).map_err(|_| corrupt(what))
}

pub(super) fn ts(s: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).map_err(|_| corrupt("timestamp"))
}

fn pool_options() -> AnyPoolOptions {
    sqlx::any::install_default_drivers();
    AnyPoolOptions::new()
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // A transaction whose COMMIT failed (disk full, I/O error, a lost
        // connection) may leave its connection inside a transaction that
        // will never commit: later statements on it would seem to succeed
        // and be lost, and its reads would see an old snapshot. Such a
        // connection is closed (rolling back) instead of pooled.
        .after_release(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
        .before_acquire(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
}

impl SqlStore {
    /// Open (creating if needed) the SQLite file and run its migrations.
    pub async fn open_sqlite(path: &Path) -> StoreResult<Self> {
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let opts: AnyConnectOptions = url.parse().map_err(backend)?;
        let pool = pool_options()
            .max_connections(8)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL with FULL sync: every commit fsyncs the WAL, so a
                    // release that a viewer was sent survives a power loss,
                    // not only a crash of the process (docs/DECISIONS.md,
                    // "Crash and faults").
                    let pragmas = format!(
                        "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; \
                         PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;",
                        BUSY_TIMEOUT.as_millis()
                    );
                    conn.execute(pragmas.as_str()).await?;
                    Ok(())
                })
            })
            .connect_with(opts)
            .await
            .map_err(backend)?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await.map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Self::new(pool, Dialect::Sqlite))
    }

    /// Connect to a PostgreSQL database (`postgres://user@host/db`) and run
    /// its migrations; several nodes may do this at once (the migrator
    /// holds an advisory lock).
    pub async fn open_postgres(url: &str) -> StoreResult<Self> {
        let opts: AnyConnectOptions = url.parse().map_err(backend)?;
        let pool = pool_options()
            .max_connections(16)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        format!(
                            "SET statement_timeout = '{PG_STATEMENT_TIMEOUT}'; \
                             SET idle_in_transaction_session_timeout = '{PG_STATEMENT_TIMEOUT}'"
                        )
                        .as_str(),
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect_with(opts)
            .await
            .map_err(backend)?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await.map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Self::new(pool, Dialect::Postgres))
    }

    fn new(pool: AnyPool, dialect: Dialect) -> Self {
        Self { pool, dialect, leases: leases::Statements::new(dialect) }
    }

    fn user_row(r: &AnyRow) -> StoreResult<User> {
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

    async fn session_row(&self, r: &AnyRow) -> StoreResult<Session> {
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
        let moderators = sqlx::query("SELECT sub FROM session_moderators WHERE session_id = $1 ORDER BY sub")
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
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        match self.dialect {
            // Take the write lock and give it back: in WAL mode reads go on
            // while another process holds the lock, but no release could be
            // stored.
            Dialect::Sqlite => {
                let tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
                tx.rollback().await.map_err(backend)?;
            }
            // A round trip on a pooled connection, under the statement timeout.
            Dialect::Postgres => {
                sqlx::query("SELECT 1").execute(&self.pool).await.map_err(backend)?;
            }
        }
        Ok(())
    }

    async fn create_user(&self, u: &User) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (sub, username, name, role, password_hash, created_at) VALUES ($1,$2,$3,$4,$5,$6)",
        )
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
        let row = sqlx::query("SELECT * FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(Self::user_row).transpose()
    }

    async fn user_by_sub(&self, sub: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE sub = $1")
            .bind(sub)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(Self::user_row).transpose()
    }

    async fn set_user_role(&self, sub: &str, role: Role) -> StoreResult<()> {
        let done = sqlx::query("UPDATE users SET role = $1 WHERE sub = $2")
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
             curtain, consent, created_at, started_at, ended_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
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
            "UPDATE sessions SET state = $1, delay_seconds = $2, redaction_policy = $3, consent = $4, \
             started_at = $5, ended_at = $6, curtain = CASE WHEN $7 = 'live' THEN curtain ELSE 0 END WHERE id = $8",
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
        sqlx::query("UPDATE sessions SET curtain = $1 WHERE id = $2")
            .bind(i64::from(down))
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn session(&self, id: &str) -> StoreResult<Option<Session>> {
        let row = sqlx::query("SELECT * FROM sessions WHERE id = $1")
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
        sqlx::query("DELETE FROM session_moderators WHERE session_id = $1")
            .bind(session_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        for sub in subs {
            sqlx::query("INSERT INTO session_moderators (session_id, sub) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(session_id)
                .bind(sub)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn revoke_token(&self, jti: &str, expires_at: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(jti)
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn revoked_tokens(&self, now: i64) -> StoreResult<Vec<(String, i64)>> {
        sqlx::query("DELETE FROM revoked_tokens WHERE expires_at < $1")
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
            "INSERT INTO revoked_subjects (sub, before) VALUES ($1, $2) \
             ON CONFLICT (sub) DO UPDATE SET before = CASE WHEN excluded.before > revoked_subjects.before \
             THEN excluded.before ELSE revoked_subjects.before END",
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
             VALUES ($1,$2,$3,$4,$5,$6,$7)",
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
        sqlx::query("UPDATE invites SET uses = uses WHERE code_hash = $1")
            .bind(code_hash)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let row = sqlx::query("SELECT * FROM invites WHERE code_hash = $1")
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
        sqlx::query("UPDATE invites SET uses = uses + 1 WHERE code_hash = $1")
            .bind(code_hash)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(Redeem::Ok(invite))
    }

    async fn acquire_writer(&self, session_id: &str, owner: &str, ttl: Duration) -> StoreResult<Option<Lease>> {
        self.lease_acquire(session_id, owner, ttl).await
    }
    async fn renew_writer(&self, session_id: &str, lease: &Lease, ttl: Duration) -> StoreResult<bool> {
        self.lease_renew(session_id, lease, ttl).await
    }
    async fn release_writer(&self, session_id: &str, lease: &Lease) -> StoreResult<()> {
        self.lease_release(session_id, lease).await
    }
    async fn unwritten_live_sessions(&self) -> StoreResult<Vec<String>> {
        self.lease_unwritten().await
    }
    async fn writer_leases(&self) -> StoreResult<Vec<LeaseInfo>> {
        self.lease_list().await
    }
    async fn append_update(&self, session_id: &str, u: &StoredUpdate, lease: &Lease) -> StoreResult<()> {
        self.fenced_append(session_id, u, lease).await
    }

    async fn updates_after(&self, session_id: &str, after: u64, limit: u32) -> StoreResult<Vec<StoredUpdate>> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let rows =
            sqlx::query("SELECT seq, id, body FROM updates WHERE session_id = $1 AND seq > $2 ORDER BY seq LIMIT $3")
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
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS m FROM updates WHERE session_id = $1")
            .bind(session_id)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        let m: i64 = row.try_get("m").map_err(backend)?;
        u64::try_from(m).map_err(|_| corrupt("seq"))
    }

    async fn put_sealed_identifiers(&self, session_id: &str, nonce: &[u8], sealed: &[u8]) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO session_identifiers (session_id, nonce, sealed) VALUES ($1, $2, $3) \
             ON CONFLICT (session_id) DO UPDATE SET nonce = excluded.nonce, sealed = excluded.sealed",
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
        let row = sqlx::query("SELECT nonce, sealed FROM session_identifiers WHERE session_id = $1")
            .bind(session_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(|r| Ok((r.try_get("nonce").map_err(backend)?, r.try_get("sealed").map_err(backend)?))).transpose()
    }

    async fn delete_sealed_identifiers(&self, session_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM session_identifiers WHERE session_id = $1")
            .bind(session_id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn put_media(&self, id: &str, session_id: &str, content_type: &str, file: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO media (id, session_id, content_type, file, released, created_at) VALUES ($1,$2,$3,$4,1,$5)",
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
        let row = sqlx::query("SELECT session_id, content_type, file FROM media WHERE id = $1")
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
        let rows =
            sqlx::query("SELECT id, content_type, file FROM media WHERE session_id = $1 ORDER BY created_at, id")
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
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
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
        let mut sql = String::from("SELECT * FROM audit_events WHERE id > $1");
        let mut n = 1;
        for (cond, present) in [
            (" AND session = $", q.session.is_some()),
            (" AND actor = $", q.actor.is_some()),
            (" AND action = $", q.action.is_some()),
            (" AND at >= $", q.from.is_some()),
            (" AND at <= $", q.to.is_some()),
        ] {
            if present {
                n += 1;
                sql.push_str(cond);
                sql.push_str(&n.to_string());
            }
        }
        sql.push_str(&format!(" ORDER BY id LIMIT ${}", n + 1));
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
        sqlx::query("INSERT INTO audit_checkpoints (head_id, head_hash, at, signature) VALUES ($1,$2,$3,$4)")
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
            "INSERT INTO session_archive (session_id, archived, purged_at, reason) VALUES ($1,$2,$3,$4) \
             ON CONFLICT (session_id) DO UPDATE SET archived = excluded.archived, purged_at = excluded.purged_at, \
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
        let row = sqlx::query("SELECT archived, purged_at, reason FROM session_archive WHERE session_id = $1")
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
            "DELETE FROM updates WHERE session_id = $1",
            "DELETE FROM media WHERE session_id = $1",
            "DELETE FROM invites WHERE session_id = $1",
            "DELETE FROM session_identifiers WHERE session_id = $1",
            // The audience's questions (tags and votes cascade) and pulses
            // are the session's content too; feedback and joins stay.
            "DELETE FROM questions WHERE session_id = $1",
            "DELETE FROM pulses WHERE session_id = $1",
        ] {
            sqlx::query(sql).bind(session_id).execute(&mut *tx).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn delete_session(&self, session_id: &str) -> StoreResult<()> {
        // Foreign keys cascade to every table that refers to the session.
        let done = sqlx::query("DELETE FROM sessions WHERE id = $1")
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

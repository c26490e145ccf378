//! Writer leases and the fenced append: the database, not the nodes,
//! decides who writes a session. Time is the database's clock in
//! milliseconds, so nodes whose clocks disagree still agree on expiry.

use std::time::Duration;

use sqlx::Row;

use sqlx::any::AnyRow;

use super::{backend, int, uint, Dialect, SqlStore};
use crate::store::{Lease, LeaseInfo, StoreError, StoreResult, StoredUpdate};

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

impl Dialect {
    /// The database's clock, in milliseconds since the Unix epoch.
    fn now_ms(self) -> &'static str {
        match self {
            Dialect::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
            Dialect::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        }
    }
}

/// The lease statements of one dialect, built once per store (they run
/// on every release and every second per live session).
pub(super) struct Statements {
    acquire: String,
    renew: String,
    unwritten: String,
    list: String,
    fence: String,
}

impl Statements {
    pub(super) fn new(d: Dialect) -> Self {
        let now = d.now_ms();
        Self {
            // A takeover keeps `last_seq`: the previous holder moved it in
            // the same transaction as each of its releases. A first lease
            // starts from what is stored.
            acquire: format!(
                "INSERT INTO writer_leases (session_id, owner, epoch, lease_until, last_seq) \
                 VALUES ($1, $2, 1, {now} + $3, (SELECT COALESCE(MAX(seq), 0) FROM updates WHERE session_id = $1)) \
                 ON CONFLICT (session_id) DO UPDATE SET owner = excluded.owner, epoch = writer_leases.epoch + 1, \
                 lease_until = excluded.lease_until \
                 WHERE writer_leases.lease_until < {now} OR writer_leases.owner = excluded.owner \
                 RETURNING epoch, last_seq"
            ),
            // A session that is no longer live has no writer: whichever
            // node ended it, the writer's renewal and releases are refused.
            renew: format!(
                "UPDATE writer_leases SET lease_until = {now} + $4 WHERE session_id = $1 AND owner = $2 AND epoch = $3 \
                 AND EXISTS (SELECT 1 FROM sessions s WHERE s.id = $1 AND s.state = 'live')"
            ),
            unwritten: format!(
                "SELECT s.id AS id FROM sessions s LEFT JOIN writer_leases l ON l.session_id = s.id \
                 WHERE s.state = 'live' AND (l.session_id IS NULL OR l.lease_until < {now}) ORDER BY s.id"
            ),
            list: format!(
                "SELECT l.session_id AS session_id, l.owner AS owner, l.epoch AS epoch, l.last_seq AS last_seq, \
                 l.lease_until - {now} AS remaining FROM writer_leases l JOIN sessions s ON s.id = l.session_id \
                 WHERE s.state = 'live' ORDER BY l.session_id"
            ),
            // The lease row first: it is the lock that orders a release
            // against a takeover, and the condition that fences a stale writer.
            fence: format!(
                "UPDATE writer_leases SET last_seq = $4 WHERE session_id = $1 AND owner = $2 AND epoch = $3 \
                 AND lease_until >= {now} AND last_seq = $4 - 1 \
                 AND EXISTS (SELECT 1 FROM sessions s WHERE s.id = $1 AND s.state = 'live')"
            ),
        }
    }
}

/// `epoch` and `last_seq` of a lease row.
fn epoch_and_seq(r: &AnyRow) -> StoreResult<(u64, u64)> {
    Ok((
        uint(r.try_get("epoch").map_err(backend)?, "epoch")?,
        uint(r.try_get("last_seq").map_err(backend)?, "last_seq")?,
    ))
}

impl SqlStore {
    pub(super) async fn lease_acquire(
        &self,
        session_id: &str,
        owner: &str,
        ttl: Duration,
    ) -> StoreResult<Option<Lease>> {
        let row = sqlx::query(&self.leases.acquire)
            .bind(session_id)
            .bind(owner)
            .bind(ms(ttl))
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(|r| {
            let (epoch, last_seq) = epoch_and_seq(&r)?;
            Ok(Lease { owner: owner.to_string(), epoch, last_seq })
        })
        .transpose()
    }

    pub(super) async fn lease_renew(&self, session_id: &str, lease: &Lease, ttl: Duration) -> StoreResult<bool> {
        let done = sqlx::query(&self.leases.renew)
            .bind(session_id)
            .bind(&lease.owner)
            .bind(int(lease.epoch, "epoch")?)
            .bind(ms(ttl))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn lease_release(&self, session_id: &str, lease: &Lease) -> StoreResult<()> {
        sqlx::query("UPDATE writer_leases SET lease_until = 0 WHERE session_id = $1 AND owner = $2 AND epoch = $3")
            .bind(session_id)
            .bind(&lease.owner)
            .bind(int(lease.epoch, "epoch")?)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn lease_unwritten(&self) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(&self.leases.unwritten).fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(|r| r.try_get("id").map_err(backend)).collect()
    }

    pub(super) async fn lease_list(&self) -> StoreResult<Vec<LeaseInfo>> {
        let rows = sqlx::query(&self.leases.list).fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter()
            .map(|r| {
                let (epoch, last_seq) = epoch_and_seq(r)?;
                Ok(LeaseInfo {
                    session_id: r.try_get("session_id").map_err(backend)?,
                    owner: r.try_get("owner").map_err(backend)?,
                    epoch,
                    last_seq,
                    remaining_ms: r.try_get("remaining").map_err(backend)?,
                })
            })
            .collect()
    }

    pub(super) async fn fenced_append(&self, session_id: &str, u: &StoredUpdate, lease: &Lease) -> StoreResult<()> {
        let seq = int(u.seq, "seq")?;
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let fenced = sqlx::query(&self.leases.fence)
            .bind(session_id)
            .bind(&lease.owner)
            .bind(int(lease.epoch, "epoch")?)
            .bind(seq)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if fenced.rows_affected() != 1 {
            return Err(StoreError::Fenced);
        }
        sqlx::query("INSERT INTO updates (session_id, seq, id, body) VALUES ($1, $2, $3, $4)")
            .bind(session_id)
            .bind(seq)
            .bind(&u.id)
            .bind(&u.body)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }
}

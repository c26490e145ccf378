//! The audience's tables: questions (redacted text only), their tags and
//! votes, who joined, pulses and feedback. Plain SQL that SQLite and
//! PostgreSQL both read.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{backend, corrupt, int, ts, uint, SqlStore};
use crate::audience::{Answer, Feedback, Mood, Question, Status};
use crate::redaction::Span;
use crate::store::{StoreError, StoreResult};

fn to_json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(e.to_string()))
}

fn spans(raw: &str) -> StoreResult<Vec<Span>> {
    serde_json::from_str(raw).map_err(|_| corrupt("redactions"))
}

fn question_row(r: &AnyRow) -> StoreResult<Question> {
    let get_s = |c: &str| r.try_get::<String, _>(c).map_err(backend);
    let get_i = |c: &str| r.try_get::<i64, _>(c).map_err(backend);
    let answer_text: Option<String> = r.try_get("answer").map_err(backend)?;
    let answer = match answer_text {
        Some(text) => {
            let red: Option<String> = r.try_get("answer_redactions").map_err(backend)?;
            let by: Option<String> = r.try_get("answered_by").map_err(backend)?;
            let at: Option<String> = r.try_get("answered_at").map_err(backend)?;
            Some(Answer {
                text,
                redactions: spans(red.as_deref().unwrap_or("[]"))?,
                by: by.unwrap_or_default(),
                at: ts(at.as_deref().ok_or_else(|| corrupt("answered_at"))?)?,
            })
        }
        None => None,
    };
    Ok(Question {
        id: get_s("id")?,
        session_id: get_s("session_id")?,
        number: uint(get_i("number")?, "number")?,
        author_sub: get_s("author_sub")?,
        author_name: get_s("author_name")?,
        text: get_s("text")?,
        redactions: spans(&get_s("redactions")?)?,
        tags: serde_json::from_str(&get_s("tags")?).map_err(|_| corrupt("tags"))?,
        flagged: get_i("flagged")? != 0,
        status: Status::parse(&get_s("status")?).ok_or_else(|| corrupt("status"))?,
        votes: uint(get_i("votes")?, "votes")?,
        pinned: get_i("pinned")? != 0,
        hidden: get_i("hidden")? != 0,
        answer,
        created_at: ts(&get_s("created_at")?)?,
        version: uint(get_i("version")?, "version")?,
    })
}

impl SqlStore {
    pub(super) async fn audience_insert_question(&self, q: &Question) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO questions (id, session_id, number, author_sub, author_name, text, redactions, tags, \
             flagged, status, votes, pinned, hidden, created_at, version) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)",
        )
        .bind(&q.id)
        .bind(&q.session_id)
        .bind(int(q.number, "number")?)
        .bind(&q.author_sub)
        .bind(&q.author_name)
        .bind(&q.text)
        .bind(to_json(&q.redactions)?)
        .bind(to_json(&q.tags)?)
        .bind(i64::from(q.flagged))
        .bind(q.status.as_str())
        .bind(int(q.votes, "votes")?)
        .bind(i64::from(q.pinned))
        .bind(i64::from(q.hidden))
        .bind(q.created_at.to_rfc3339())
        .bind(int(q.version, "version")?)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        for tag in &q.tags {
            sqlx::query("INSERT INTO question_tags (question_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(&q.id)
                .bind(tag)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    pub(super) async fn audience_question(&self, session_id: &str, id: &str) -> StoreResult<Option<Question>> {
        let row = sqlx::query("SELECT * FROM questions WHERE session_id = $1 AND id = $2")
            .bind(session_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(question_row).transpose()
    }

    pub(super) async fn audience_questions(&self, session_id: &str, tag: Option<&str>) -> StoreResult<Vec<Question>> {
        let rows = match tag {
            Some(tag) => {
                sqlx::query(
                    "SELECT q.* FROM questions q JOIN question_tags t ON t.question_id = q.id \
                 WHERE q.session_id = $1 AND t.tag = $2 ORDER BY q.number",
                )
                .bind(session_id)
                .bind(tag)
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query("SELECT * FROM questions WHERE session_id = $1 ORDER BY number")
                    .bind(session_id)
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(backend)?;
        rows.iter().map(question_row).collect()
    }

    pub(super) async fn audience_last_question_number(&self, session_id: &str) -> StoreResult<u64> {
        let row = sqlx::query("SELECT COALESCE(MAX(number), 0) AS n FROM questions WHERE session_id = $1")
            .bind(session_id)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        uint(row.try_get("n").map_err(backend)?, "number")
    }

    pub(super) async fn audience_save_question(&self, q: &Question) -> StoreResult<()> {
        let a = q.answer.as_ref();
        let done = sqlx::query(
            "UPDATE questions SET status = $1, pinned = $2, hidden = $3, answer = $4, answer_redactions = $5, \
             answered_by = $6, answered_at = $7, version = $8 WHERE id = $9 AND session_id = $10",
        )
        .bind(q.status.as_str())
        .bind(i64::from(q.pinned))
        .bind(i64::from(q.hidden))
        .bind(a.map(|a| a.text.as_str()))
        .bind(a.map(|a| to_json(&a.redactions)).transpose()?)
        .bind(a.map(|a| a.by.as_str()))
        .bind(a.map(|a| a.at.to_rfc3339()))
        .bind(int(q.version, "version")?)
        .bind(&q.id)
        .bind(&q.session_id)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub(super) async fn audience_set_vote(&self, question_id: &str, sub: &str, up: bool) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let (sql, delta) = if up {
            ("INSERT INTO question_votes (question_id, sub) VALUES ($1, $2) ON CONFLICT DO NOTHING", 1)
        } else {
            ("DELETE FROM question_votes WHERE question_id = $1 AND sub = $2", -1)
        };
        let changed = sqlx::query(sql).bind(question_id).bind(sub).execute(&mut *tx).await.map_err(backend)?;
        if changed.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE questions SET votes = CASE WHEN votes + $1 < 0 THEN 0 ELSE votes + $1 END, \
             version = version + 1 WHERE id = $2",
        )
        .bind(delta)
        .bind(question_id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    pub(super) async fn audience_votes_of(&self, session_id: &str, sub: &str) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT v.question_id AS id FROM question_votes v JOIN questions q ON q.id = v.question_id \
             WHERE q.session_id = $1 AND v.sub = $2",
        )
        .bind(session_id)
        .bind(sub)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(|r| r.try_get("id").map_err(backend)).collect()
    }

    pub(super) async fn audience_record_join(&self, session_id: &str, sub: &str, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("INSERT INTO session_joins (session_id, sub, first_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(session_id)
            .bind(sub)
            .bind(at.to_rfc3339())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn audience_has_joined(&self, session_id: &str, sub: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM session_joins WHERE session_id = $1 AND sub = $2")
            .bind(session_id)
            .bind(sub)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.is_some())
    }

    pub(super) async fn audience_insert_pulse(
        &self,
        session_id: &str,
        sub: &str,
        mood: Mood,
        at_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO pulses (session_id, sub, value, at_ms) VALUES ($1, $2, $3, $4)")
            .bind(session_id)
            .bind(sub)
            .bind(mood.as_str())
            .bind(at_ms)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn audience_pulses(&self, session_id: &str) -> StoreResult<Vec<(Mood, i64)>> {
        let rows = sqlx::query("SELECT value, at_ms FROM pulses WHERE session_id = $1 ORDER BY at_ms")
            .bind(session_id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let v: String = r.try_get("value").map_err(backend)?;
                Ok((Mood::parse(&v).ok_or_else(|| corrupt("pulse"))?, r.try_get("at_ms").map_err(backend)?))
            })
            .collect()
    }

    pub(super) async fn audience_insert_feedback(&self, f: &Feedback) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO feedback (session_id, sub, rating, comment, comment_redactions, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&f.session_id)
        .bind(&f.sub)
        .bind(i64::from(f.rating))
        .bind(f.comment.as_deref())
        .bind(to_json(&f.redactions)?)
        .bind(f.created_at.to_rfc3339())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn audience_feedback(&self, session_id: &str) -> StoreResult<Vec<Feedback>> {
        let rows = sqlx::query("SELECT * FROM feedback WHERE session_id = $1 ORDER BY created_at")
            .bind(session_id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let rating: i64 = r.try_get("rating").map_err(backend)?;
                let red: Option<String> = r.try_get("comment_redactions").map_err(backend)?;
                let created: String = r.try_get("created_at").map_err(backend)?;
                Ok(Feedback {
                    session_id: r.try_get("session_id").map_err(backend)?,
                    sub: r.try_get("sub").map_err(backend)?,
                    rating: u8::try_from(rating).map_err(|_| corrupt("rating"))?,
                    comment: r.try_get("comment").map_err(backend)?,
                    redactions: spans(red.as_deref().unwrap_or("[]"))?,
                    created_at: ts(&created)?,
                })
            })
            .collect()
    }
}

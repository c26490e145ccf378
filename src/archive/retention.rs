//! Retention: archived sessions are purged `retention_days` after their
//! end. The schedule is pure ([`due`], time passed in); [`spawn`] runs it
//! hourly and [`run_once`] is what it runs, with the clock handed in.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::SessionState;
use crate::state::AppState;

/// How often the schedule is checked.
pub const EVERY: Duration = Duration::from_secs(3600);

/// An ended session as the schedule sees it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: String,
    pub ended_at: DateTime<Utc>,
    /// Kept per consent and not purged yet.
    pub archived: bool,
}

/// The sessions whose retention has run out at `now`.
pub fn due(candidates: &[Candidate], now: DateTime<Utc>, retention_days: u32) -> Vec<String> {
    let keep = chrono::Duration::days(i64::from(retention_days));
    candidates.iter().filter(|c| c.archived && c.ended_at + keep <= now).map(|c| c.id.clone()).collect()
}

/// Purge what is due at `now`; returns the ids purged.
pub async fn run_once(state: &AppState, now: DateTime<Utc>) -> Result<Vec<String>, crate::error::ApiError> {
    let mut candidates = Vec::new();
    for s in state.store.sessions().await? {
        let (SessionState::Ended, Some(ended_at)) = (s.state, s.ended_at) else { continue };
        let consented = s.consent.as_ref().is_some_and(|c| c.scope.archive);
        let archived = match state.store.archive_state(&s.id).await? {
            Some(a) => a.archived && a.purged_at.is_none(),
            // Ended before archives were tracked, without consent: purge now.
            None if !consented => {
                let detail = serde_json::json!({"reason": "no_archive_consent"});
                super::purge_content(state, &s.id, "no_archive_consent", None, detail).await?;
                continue;
            }
            None => true,
        };
        candidates.push(Candidate { id: s.id.clone(), ended_at, archived });
    }
    let ids = due(&candidates, now, state.config.retention_days);
    for id in &ids {
        let detail = serde_json::json!({"reason": "retention", "retention_days": state.config.retention_days});
        super::purge_content(state, id, "retention", None, detail).await?;
    }
    Ok(ids)
}

/// Check the schedule now and then every [`EVERY`], until shutdown.
pub fn spawn(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let shutdown = state.shutdown.clone();
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.wait() => break,
                _ = tick.tick() => {
                    if let Err(e) = run_once(&state, Utc::now()).await {
                        tracing::error!(error = %e, "retention run failed");
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_700_000_000, 0).expect("time") + chrono::Duration::days(day)
    }

    #[test]
    fn archived_sessions_are_due_once_their_days_have_passed() {
        let c = vec![
            Candidate { id: "old".into(), ended_at: at(0), archived: true },
            Candidate { id: "young".into(), ended_at: at(10), archived: true },
            Candidate { id: "not-archived".into(), ended_at: at(0), archived: false },
        ];
        assert!(due(&c, at(364), 365).is_empty());
        assert_eq!(due(&c, at(365), 365), vec!["old".to_string()]);
        assert_eq!(due(&c, at(375), 365), vec!["old".to_string(), "young".to_string()]);
        assert_eq!(due(&c, at(1), 1), vec!["old".to_string()]);
    }
}

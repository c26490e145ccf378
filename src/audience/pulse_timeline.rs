//! `GET .../pulse`: the stored pulses as a series of buckets, each placed on
//! the released timeline (the last update and the marker, i.e. the
//! procedure phase, viewers had seen by the bucket's end).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::pulse::{align, series, Released};
use crate::error::ApiError;
use crate::model::Session;
use crate::state::AppState;

/// The parts of a stored update the timeline needs.
#[derive(Deserialize)]
struct StoredParts {
    seq: u64,
    kind: String,
    label: Option<String>,
    released_at: DateTime<Utc>,
}

/// Every released update of the session, in order (the archive's paged read).
async fn released(state: &AppState, session_id: &str) -> Result<Vec<Released>, ApiError> {
    let updates = crate::archive::timeline::released(state, session_id).await?;
    updates
        .into_iter()
        .map(|v| {
            let p: StoredParts = serde_json::from_value(v).map_err(ApiError::internal)?;
            Ok(Released {
                seq: p.seq,
                at_ms: p.released_at.timestamp_millis(),
                marker: if p.kind == "marker" { p.label } else { None },
            })
        })
        .collect()
}

pub async fn report(state: &AppState, s: &Session) -> Result<Value, ApiError> {
    let width = state.config.audience.pulse_bucket.as_millis().max(1) as i64;
    let buckets = series(&state.store.pulses(&s.id).await?, width);
    let timeline = released(state, &s.id).await?;
    let places = align(&buckets, &timeline);
    let points: Vec<Value> = buckets
        .iter()
        .zip(&places)
        .map(|(b, p)| {
            let mut v = b.json();
            v["seq"] = json!(p.seq);
            v["marker"] = match &p.marker {
                Some((seq, label)) => json!({"seq": seq, "label": label}),
                None => Value::Null,
            };
            v
        })
        .collect();
    let markers: Vec<Value> = timeline
        .iter()
        .filter_map(|r| {
            r.marker
                .as_ref()
                .map(|l| json!({"seq": r.seq, "label": l, "released_at": DateTime::from_timestamp_millis(r.at_ms)}))
        })
        .collect();
    Ok(json!({"bucket_seconds": width / 1000, "series": points, "markers": markers}))
}

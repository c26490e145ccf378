//! The hash chain, pure: the canonical encoding of an event, its hash over
//! the previous one, and the walk that finds the first bad event. No IO, no
//! clock: the verifier and the writer task both drive it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One event as stored and served (API.md "Details that clients rely on").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: u64,
    /// RFC 3339, UTC, milliseconds: hashed as this exact string.
    pub at: String,
    pub actor: Option<String>,
    pub role: Option<String>,
    pub action: String,
    pub session: Option<String>,
    pub address: Option<String>,
    pub detail: Value,
    pub prev_hash: String,
    pub hash: String,
}

/// Write `v` as JSON with object keys sorted at every depth and no spaces:
/// the same value always gives the same bytes.
pub fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                if let Some(inner) = map.get(*k) {
                    canonical_json(inner, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

impl AuditEvent {
    /// The canonical encoding: every field but the two hashes.
    pub fn canonical(&self) -> String {
        let v = serde_json::json!({
            "id": self.id,
            "at": self.at,
            "actor": self.actor,
            "role": self.role,
            "action": self.action,
            "session": self.session,
            "address": self.address,
            "detail": self.detail,
        });
        let mut out = String::with_capacity(256);
        canonical_json(&v, &mut out);
        out
    }

    /// SHA-256 over the previous hash and the canonical encoding, hex.
    pub fn compute_hash(&self, prev_hash: &str) -> String {
        let mut h = Sha256::new();
        h.update(prev_hash.as_bytes());
        h.update(b"\n");
        h.update(self.canonical().as_bytes());
        hex::encode(h.finalize())
    }

    /// Link this event after `prev` (id and hash): sets id, prev_hash and hash.
    pub fn seal(&mut self, prev_id: u64, prev_hash: &str) {
        self.id = prev_id + 1;
        self.prev_hash = prev_hash.to_string();
        self.hash = self.compute_hash(prev_hash);
    }
}

/// Why the chain is broken, at which event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The first event that does not fit (for a truncated tail: the first missing id).
    pub id: u64,
    pub reason: String,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "event #{}: {}", self.id, self.reason)
    }
}

/// Walks events in stored order, one at a time (so a verifier can page
/// through millions without holding them).
#[derive(Debug, Clone)]
pub struct ChainWalker {
    pub last_id: u64,
    pub last_hash: String,
}

impl Default for ChainWalker {
    fn default() -> Self {
        Self { last_id: 0, last_hash: GENESIS.to_string() }
    }
}

impl ChainWalker {
    pub fn push(&mut self, e: &AuditEvent) -> Result<(), Broken> {
        let expected = self.last_id + 1;
        if e.id != expected {
            let reason = if e.id > expected {
                format!("expected event #{expected} next, found #{} (deleted or reordered events)", e.id)
            } else {
                format!("expected event #{expected} next, found #{} (inserted or reordered events)", e.id)
            };
            return Err(Broken { id: expected.min(e.id), reason });
        }
        if e.prev_hash != self.last_hash {
            return Err(Broken { id: e.id, reason: "prev_hash does not match the previous event".into() });
        }
        if e.compute_hash(&e.prev_hash) != e.hash {
            return Err(Broken { id: e.id, reason: "hash does not match its contents (altered)".into() });
        }
        self.last_id = e.id;
        self.last_hash = e.hash.clone();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(n: u64) -> AuditEvent {
        AuditEvent {
            id: 0,
            at: format!("2026-01-01T00:00:{n:02}.000Z"),
            actor: Some(format!("u{n}")),
            role: Some("surgeon".into()),
            action: "publish".into(),
            session: Some("s".into()),
            address: None,
            detail: json!({"z": 1, "a": {"y": [1, 2], "b": null}}),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    fn chain(n: u64) -> Vec<AuditEvent> {
        let mut w = ChainWalker::default();
        (1..=n)
            .map(|i| {
                let mut e = event(i);
                e.seal(w.last_id, &w.last_hash);
                w.push(&e).expect("fits");
                e
            })
            .collect()
    }

    fn walk(events: &[AuditEvent]) -> Result<ChainWalker, Broken> {
        let mut w = ChainWalker::default();
        for e in events {
            w.push(e)?;
        }
        Ok(w)
    }

    #[test]
    fn canonical_sorts_keys_at_every_depth() {
        let mut out = String::new();
        canonical_json(&json!({"b": {"d": 1, "c": [true, "x"]}, "a": null}), &mut out);
        assert_eq!(out, r#"{"a":null,"b":{"c":[true,"x"],"d":1}}"#);
    }

    #[test]
    fn an_intact_chain_verifies_and_every_change_is_found() {
        let good = chain(5);
        assert_eq!(walk(&good).expect("intact").last_id, 5);

        let mut altered = good.clone();
        altered[2].detail = json!({"z": 2});
        assert_eq!(walk(&altered).expect_err("altered").id, 3);

        let mut deleted = good.clone();
        deleted.remove(1);
        assert_eq!(walk(&deleted).expect_err("deleted").id, 2);

        let mut reordered = good.clone();
        reordered.swap(1, 2);
        assert_eq!(walk(&reordered).expect_err("reordered").id, 2);

        // An inserted event renumbered into place breaks the link after it.
        let mut inserted = good.clone();
        let mut extra = event(9);
        extra.seal(1, &good[0].hash);
        inserted.insert(1, extra);
        for e in inserted.iter_mut().skip(2) {
            e.id += 1;
        }
        assert_eq!(walk(&inserted).expect_err("inserted").id, 3);
    }
}

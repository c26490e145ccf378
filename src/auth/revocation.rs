//! Revoked tokens: by `jti` (logout) and by subject (an admin's kick revokes
//! every token issued to that user before the kick). Persisted in the store,
//! mirrored in memory so that every request checks it without IO, and
//! broadcast so that live sockets opened with a revoked token close at once.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::broadcast;

use super::jwt::Claims;

#[derive(Debug, Clone)]
pub enum Revoked {
    Token(String),
    Subject { sub: String, before: i64 },
}

/// A revocation made on this node, for the other nodes (`serve --nats-url`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Shared {
    Token { jti: String, exp: i64 },
    Subject { sub: String, before: i64 },
}

pub struct Revocations {
    /// jti -> expiry. std Mutex: short critical sections, never across `.await`.
    tokens: Mutex<HashMap<String, i64>>,
    subjects: Mutex<HashMap<String, i64>>,
    events: broadcast::Sender<Revoked>,
    /// Where this node's own revocations go for the other nodes (set once
    /// the bus is up).
    shared: Mutex<Option<tokio::sync::mpsc::UnboundedSender<Shared>>>,
}

impl Default for Revocations {
    fn default() -> Self {
        Self::new()
    }
}

impl Revocations {
    pub fn new() -> Self {
        Self {
            tokens: Mutex::new(HashMap::new()),
            subjects: Mutex::new(HashMap::new()),
            events: broadcast::channel(256).0,
            shared: Mutex::new(None),
        }
    }

    pub fn load(&self, tokens: Vec<(String, i64)>, subjects: Vec<(String, i64)>) {
        if let Ok(mut t) = self.tokens.lock() {
            t.extend(tokens);
        }
        if let Ok(mut s) = self.subjects.lock() {
            s.extend(subjects);
        }
    }

    /// Revoke a token here and on every other node.
    pub fn revoke_token(&self, jti: &str, exp: i64) {
        self.share(Shared::Token { jti: jti.to_string(), exp });
        self.apply_token(jti, exp);
    }

    /// Revoke every token of `sub` issued up to `before`, here and on every other node.
    pub fn revoke_subject(&self, sub: &str, before: i64) {
        self.share(Shared::Subject { sub: sub.to_string(), before });
        self.apply_subject(sub, before);
    }

    /// A revocation made on another node.
    pub fn apply(&self, r: Shared) {
        match r {
            Shared::Token { jti, exp } => self.apply_token(&jti, exp),
            Shared::Subject { sub, before } => self.apply_subject(&sub, before),
        }
    }

    /// Send this node's revocations to `tx` from now on.
    pub fn share_with(&self, tx: tokio::sync::mpsc::UnboundedSender<Shared>) {
        if let Ok(mut s) = self.shared.lock() {
            *s = Some(tx);
        }
    }

    fn share(&self, r: Shared) {
        if let Some(tx) = self.shared.lock().ok().and_then(|s| s.clone()) {
            let _ = tx.send(r);
        }
    }

    fn apply_token(&self, jti: &str, exp: i64) {
        if let Ok(mut t) = self.tokens.lock() {
            let now = chrono::Utc::now().timestamp();
            if t.len() > 100_000 {
                t.retain(|_, e| *e + 3600 > now);
            }
            t.insert(jti.to_string(), exp);
        }
        let _ = self.events.send(Revoked::Token(jti.to_string()));
    }

    fn apply_subject(&self, sub: &str, before: i64) {
        if let Ok(mut s) = self.subjects.lock() {
            let e = s.entry(sub.to_string()).or_insert(before);
            *e = (*e).max(before);
        }
        let _ = self.events.send(Revoked::Subject { sub: sub.to_string(), before });
    }

    pub fn is_revoked(&self, c: &Claims) -> bool {
        self.is_revoked_parts(&c.jti, &c.sub, c.iat)
    }

    /// Revoked by its `jti`, or issued to `sub` before a kick.
    pub fn is_revoked_parts(&self, jti: &str, sub: &str, iat: i64) -> bool {
        let by_token = self.tokens.lock().map(|t| t.contains_key(jti)).unwrap_or(true);
        let by_subject = self.subjects.lock().map(|s| s.get(sub).is_some_and(|b| iat <= *b)).unwrap_or(true);
        by_token || by_subject
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Revoked> {
        self.events.subscribe()
    }
}

impl Revoked {
    /// Does this event revoke a connection opened with (jti, sub, iat)?
    pub fn hits(&self, jti: &str, sub: &str, iat: i64) -> bool {
        match self {
            Revoked::Token(j) => j == jti,
            Revoked::Subject { sub: s, before } => s == sub && iat <= *before,
        }
    }
}

//! One-use WebSocket tickets (`POST /api/ws-ticket`): 30 s, consumed on use,
//! for clients that can neither send a header nor rely on the cookie.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::Principal;

pub const TICKET_TTL: Duration = Duration::from_secs(30);
const MAX_TICKETS: usize = 100_000;

#[derive(Default)]
pub struct Tickets {
    /// std Mutex: short sections, never across `.await`.
    map: Mutex<HashMap<String, (Principal, Instant)>>,
}

impl Tickets {
    pub fn issue(&self, who: &Principal, now: Instant) -> Option<String> {
        let mut raw = [0u8; 24];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
        let ticket = hex::encode(raw);
        let mut m = self.map.lock().ok()?;
        if m.len() >= MAX_TICKETS {
            m.retain(|_, (_, exp)| *exp > now);
            if m.len() >= MAX_TICKETS {
                return None;
            }
        }
        m.insert(ticket.clone(), (who.clone(), now + TICKET_TTL));
        Some(ticket)
    }

    /// Consume a ticket: valid once, before its expiry.
    pub fn take(&self, ticket: &str, now: Instant) -> Option<Principal> {
        let mut m = self.map.lock().ok()?;
        let (who, exp) = m.remove(ticket)?;
        (exp > now).then_some(who)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;

    fn who() -> Principal {
        Principal {
            sub: "s".into(),
            role: Role::Student,
            name: "n".into(),
            jti: "j".into(),
            iat: 0,
            exp: 0,
            auth_time: 0,
            sessions: None,
        }
    }

    #[test]
    fn one_use_and_expiry() {
        let t = Tickets::default();
        let now = Instant::now();
        let a = t.issue(&who(), now).expect("ticket");
        assert!(t.take(&a, now).is_some());
        assert!(t.take(&a, now).is_none(), "second use refused");
        let b = t.issue(&who(), now).expect("ticket");
        assert!(t.take(&b, now + TICKET_TTL).is_none(), "expired");
        assert!(t.take("nope", now).is_none());
    }
}

//! Failure counting for logins: a sliding window per key (user or address).
//! Pure: time is passed in.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

pub struct FailureLimiter {
    window: Duration,
    max: usize,
    failures: HashMap<String, VecDeque<Instant>>,
}

/// Keys kept before stale ones are pruned.
const PRUNE_AT: usize = 10_000;

impl FailureLimiter {
    pub fn new(max: usize, window: Duration) -> Self {
        Self { window, max: max.max(1), failures: HashMap::new() }
    }

    /// `Err(retry_after)` when `key` has used up its failures in the window.
    pub fn check(&mut self, key: &str, now: Instant) -> Result<(), Duration> {
        let window = self.window;
        let Some(q) = self.failures.get_mut(key) else {
            return Ok(());
        };
        while q.front().is_some_and(|t| now.saturating_duration_since(*t) >= window) {
            q.pop_front();
        }
        if q.len() >= self.max {
            let oldest = q.front().copied().unwrap_or(now);
            return Err(window.saturating_sub(now.saturating_duration_since(oldest)));
        }
        Ok(())
    }

    pub fn fail(&mut self, key: &str, now: Instant) {
        if self.failures.len() >= PRUNE_AT {
            let window = self.window;
            self.failures.retain(|_, q| q.back().is_some_and(|t| now.saturating_duration_since(*t) < window));
        }
        self.failures.entry(key.to_string()).or_default().push_back(now);
    }

    pub fn clear(&mut self, key: &str) {
        self.failures.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_then_frees_after_window() {
        let t0 = Instant::now();
        let mut l = FailureLimiter::new(3, Duration::from_secs(60));
        for i in 0..3 {
            assert!(l.check("u", t0 + Duration::from_secs(i)).is_ok());
            l.fail("u", t0 + Duration::from_secs(i));
        }
        let retry = l.check("u", t0 + Duration::from_secs(10)).expect_err("blocked");
        assert_eq!(retry, Duration::from_secs(50));
        assert!(l.check("other", t0).is_ok());
        assert!(l.check("u", t0 + Duration::from_secs(60)).is_ok(), "oldest failure left the window");
    }

    #[test]
    fn clear_resets() {
        let t0 = Instant::now();
        let mut l = FailureLimiter::new(1, Duration::from_secs(60));
        l.fail("u", t0);
        assert!(l.check("u", t0).is_err());
        l.clear("u");
        assert!(l.check("u", t0).is_ok());
    }
}

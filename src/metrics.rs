//! Process counters rendered as Prometheus text. Plain atomics: no registry,
//! no locks on the hot path.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

#[derive(Default)]
pub struct Metrics {
    pub http_2xx: AtomicU64,
    pub http_3xx: AtomicU64,
    pub http_4xx: AtomicU64,
    pub http_5xx: AtomicU64,
    pub logins_ok: AtomicU64,
    pub logins_failed: AtomicU64,
    pub logins_throttled: AtomicU64,
    pub updates_published: AtomicU64,
    pub updates_released: AtomicU64,
    pub updates_dropped: AtomicU64,
    pub viewers: AtomicI64,
    pub viewers_too_slow: AtomicU64,
    pub live_sessions: AtomicI64,
    /// Writer leases this node took (a session started or resumed here, or
    /// taken over from a node that died), and lost to another node.
    pub writer_leases_taken: AtomicU64,
    pub writer_leases_lost: AtomicU64,
    /// Live writers holding released items they could not store yet.
    pub writers_store_blocked: AtomicI64,
    /// How late items leave the delay gate after their deadline.
    pub gate_lateness: Histogram,
}

/// Upper bounds (seconds) of the gate lateness histogram.
const LATENESS_BUCKETS: [f64; 9] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0];

/// A fixed-bucket Prometheus histogram on atomics.
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; 9],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: std::time::Duration) {
        let secs = d.as_secs_f64();
        for (i, le) in LATENESS_BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.buckets[i].fetch_add(1, Relaxed);
            }
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_micros.fetch_add(u64::try_from(d.as_micros()).unwrap_or(u64::MAX), Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (i, le) in LATENESS_BUCKETS.iter().enumerate() {
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {}", self.buckets[i].load(Relaxed));
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_micros.load(Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {count}");
    }
}

impl Metrics {
    pub fn count_status(&self, status: u16) {
        let c = match status {
            200..=299 => &self.http_2xx,
            300..=399 => &self.http_3xx,
            400..=499 => &self.http_4xx,
            _ => &self.http_5xx,
        };
        c.fetch_add(1, Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        counter(
            &mut out,
            "orgallery_http_responses_total",
            "HTTP responses by status class.",
            &[
                ("{class=\"2xx\"}", self.http_2xx.load(Relaxed)),
                ("{class=\"3xx\"}", self.http_3xx.load(Relaxed)),
                ("{class=\"4xx\"}", self.http_4xx.load(Relaxed)),
                ("{class=\"5xx\"}", self.http_5xx.load(Relaxed)),
            ],
        );
        counter(
            &mut out,
            "orgallery_logins_total",
            "Login attempts by result.",
            &[
                ("{result=\"ok\"}", self.logins_ok.load(Relaxed)),
                ("{result=\"failed\"}", self.logins_failed.load(Relaxed)),
                ("{result=\"throttled\"}", self.logins_throttled.load(Relaxed)),
            ],
        );
        counter(
            &mut out,
            "orgallery_updates_published_total",
            "Items accepted into the gates.",
            &[("", self.updates_published.load(Relaxed))],
        );
        counter(
            &mut out,
            "orgallery_updates_released_total",
            "Items released to viewers.",
            &[("", self.updates_released.load(Relaxed))],
        );
        counter(
            &mut out,
            "orgallery_updates_dropped_total",
            "Items retracted, dumped or dropped at end.",
            &[("", self.updates_dropped.load(Relaxed))],
        );
        counter(
            &mut out,
            "orgallery_writer_leases_total",
            "Session writer leases this node took, and lost to another node.",
            &[
                ("{event=\"taken\"}", self.writer_leases_taken.load(Relaxed)),
                ("{event=\"lost\"}", self.writer_leases_lost.load(Relaxed)),
            ],
        );
        counter(
            &mut out,
            "orgallery_viewers_too_slow_total",
            "Viewers closed with 4008.",
            &[("", self.viewers_too_slow.load(Relaxed))],
        );
        let _ = writeln!(
            out,
            "# HELP orgallery_viewers Open live connections.\n# TYPE orgallery_viewers gauge\norgallery_viewers {}",
            self.viewers.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP orgallery_live_sessions Sessions live on this node.\n# TYPE orgallery_live_sessions gauge\norgallery_live_sessions {}",
            self.live_sessions.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP orgallery_writers_store_blocked Live sessions whose released items wait for the store.\n# TYPE orgallery_writers_store_blocked gauge\norgallery_writers_store_blocked {}",
            self.writers_store_blocked.load(Relaxed)
        );
        self.gate_lateness.render(&mut out, "orgallery_gate_lateness_seconds", "Release time minus deadline.");
        out
    }
}

/// One Prometheus series family of `kind` ("counter", "gauge").
pub fn family(out: &mut String, kind: &str, name: &str, help: &str, series: &[(&str, u64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, v) in series {
        let _ = writeln!(out, "{name}{labels} {v}");
    }
}

fn counter(out: &mut String, name: &str, help: &str, series: &[(&str, u64)]) {
    family(out, "counter", name, help, series);
}

/// Process gauges for leak checks (soak runs, CI): resident memory and open
/// descriptors from /proc/self (Linux; absent elsewhere), and the tasks alive
/// on each named tokio runtime.
pub fn render_process(out: &mut String, runtimes: &[(&str, &tokio::runtime::Handle)]) {
    if let Some(kib) = std::fs::read_to_string("/proc/self/status").ok().and_then(|s| vm_rss_kib(&s)) {
        let _ = writeln!(
            out,
            "# HELP orgallery_process_resident_memory_bytes Resident set size (VmRSS).\n# TYPE orgallery_process_resident_memory_bytes gauge\norgallery_process_resident_memory_bytes {}",
            kib * 1024
        );
    }
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        // The directory handle itself is one entry while it is read.
        let n = dir.count().saturating_sub(1);
        let _ = writeln!(
            out,
            "# HELP orgallery_process_open_fds Open file descriptors.\n# TYPE orgallery_process_open_fds gauge\norgallery_process_open_fds {n}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP orgallery_runtime_alive_tasks Tasks alive on a tokio runtime.\n# TYPE orgallery_runtime_alive_tasks gauge"
    );
    for (name, h) in runtimes {
        let _ = writeln!(out, "orgallery_runtime_alive_tasks{{runtime=\"{name}\"}} {}", h.metrics().num_alive_tasks());
    }
}

/// The `VmRSS:` line of /proc/PID/status, in KiB.
pub fn vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod process_tests {
    #[test]
    fn vm_rss_is_read_in_kib() {
        assert_eq!(super::vm_rss_kib("Name:\tx\nVmRSS:\t   12345 kB\nVmData: 1 kB\n"), Some(12345));
        assert_eq!(super::vm_rss_kib("Name:\tx\n"), None);
    }

    #[tokio::test]
    async fn process_gauges_are_rendered() {
        let mut out = String::new();
        let h = tokio::runtime::Handle::current();
        super::render_process(&mut out, &[("main", &h)]);
        assert!(out.contains("orgallery_runtime_alive_tasks{runtime=\"main\"} "), "{out}");
        assert!(out.contains("orgallery_process_open_fds "), "{out}");
        assert!(out.contains("orgallery_process_resident_memory_bytes "), "{out}");
    }
}

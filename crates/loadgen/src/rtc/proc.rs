//! The server's side of the measurement: CPU of its threads (from
//! /proc/PID/task/*/schedstat, nanoseconds on the CPU) and its /metrics.

use std::collections::HashMap;

/// Nanoseconds a task has run, first field of its schedstat.
fn schedstat_ns(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.split_whitespace().next()?.parse().ok()
}

/// This thread's CPU time so far, in nanoseconds.
pub fn thread_self_ns() -> Option<u64> {
    schedstat_ns("/proc/thread-self/schedstat")
}

/// CPU of a process: its thread named `thread` and all of its threads.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerCpu {
    pub thread_ns: u64,
    pub process_ns: u64,
    pub found_thread: bool,
    /// Context switches of that thread (voluntary + involuntary).
    pub thread_switches: u64,
}

/// The process's own utime + stime (which, unlike the sum over live tasks,
/// keeps the CPU of threads that have exited), in nanoseconds; 10 ms ticks.
fn process_ns(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &text[text.rfind(')')? + 1..];
    let mut f = after.split_whitespace().skip(11);
    let utime: u64 = f.next()?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    // USER_HZ is 100 on every Linux ABI that matters.
    Some((utime + stime) * 10_000_000)
}

pub fn server_cpu(pid: u32, thread: &str) -> Option<ServerCpu> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut out = ServerCpu { process_ns: process_ns(pid)?, ..Default::default() };
    for e in dir.flatten() {
        let tid = e.file_name();
        let Some(tid) = tid.to_str() else { continue };
        let base = format!("/proc/{pid}/task/{tid}");
        let Some(ns) = schedstat_ns(&format!("{base}/schedstat")) else { continue };
        let comm = std::fs::read_to_string(format!("{base}/comm")).unwrap_or_default();
        if comm.trim() == thread {
            let status = std::fs::read_to_string(format!("{base}/status")).unwrap_or_default();
            out.thread_switches += status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>();
            out.thread_ns += ns;
            out.found_thread = true;
        }
    }
    Some(out)
}

/// Prometheus text → name → value (unlabelled samples only).
pub fn parse_metrics(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let name = it.next()?;
            let v: f64 = it.next()?.parse().ok()?;
            (!name.contains('{')).then(|| (name.to_string(), v))
        })
        .collect()
}

/// The media counters this tool reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct MediaCounters {
    pub packets_in: u64,
    pub released: u64,
    pub forwarded: u64,
    pub dropped_gate: u64,
    pub send_errors: u64,
}

impl MediaCounters {
    pub fn from_metrics(m: &HashMap<String, f64>) -> Option<Self> {
        let g = |k: &str| m.get(k).map(|v| *v as u64);
        Some(Self {
            packets_in: g("orgallery_media_packets_in_total")?,
            released: g("orgallery_media_packets_released_total")?,
            forwarded: g("orgallery_media_packets_forwarded_total")?,
            dropped_gate: g("orgallery_media_packets_dropped_gate_total").unwrap_or(0),
            send_errors: g("orgallery_media_send_errors_total").unwrap_or(0),
        })
    }

    pub fn minus(self, o: Self) -> Self {
        Self {
            packets_in: self.packets_in.saturating_sub(o.packets_in),
            released: self.released.saturating_sub(o.released),
            forwarded: self.forwarded.saturating_sub(o.forwarded),
            dropped_gate: self.dropped_gate.saturating_sub(o.dropped_gate),
            send_errors: self.send_errors.saturating_sub(o.send_errors),
        }
    }
}

pub async fn scrape(http: &reqwest::Client, base: &str, token: &str) -> Result<MediaCounters, String> {
    let url = format!("{}/metrics", base.trim_end_matches('/'));
    let resp = http.get(url).bearer_auth(token).send().await.map_err(|e| format!("/metrics: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| format!("/metrics: {e}"))?;
    if !status.is_success() {
        return Err(format!("/metrics: HTTP {status}"));
    }
    MediaCounters::from_metrics(&parse_metrics(&text)).ok_or_else(|| "/metrics: no media counters".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_and_cpu() {
        let text = "# HELP x y\norgallery_media_packets_in_total 10\norgallery_media_packets_released_total 9\n\
                    orgallery_media_packets_forwarded_total 1800\norgallery_media_send_errors_total 0\nfoo{a=\"b\"} 3\n";
        let m = MediaCounters::from_metrics(&parse_metrics(text)).expect("counters");
        assert_eq!((m.packets_in, m.released, m.forwarded, m.send_errors), (10, 9, 1800, 0));
        assert!(MediaCounters::from_metrics(&parse_metrics("foo 1\n")).is_none());
        assert!(thread_self_ns().is_some());
        let me = server_cpu(std::process::id(), "nonexistent").expect("own tasks");
        assert!(!me.found_thread);
    }
}

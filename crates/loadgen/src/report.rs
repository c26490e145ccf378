//! The run's report: aggregated from every viewer, printed for people or as
//! one JSON line.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::viewer::ViewerStats;
use crate::Args;

/// Milliseconds, from a histogram recorded in microseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

impl Percentiles {
    pub fn from_us(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            count: h.len(),
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Closes {
    pub slow_4008: u64,
    pub resumed_after_4008: u64,
    pub going_away_1001: u64,
    pub revoked_4003: u64,
    pub unauthenticated_4001: u64,
    pub normal_1000: u64,
    pub other: u64,
    pub dropped_without_close: u64,
    pub reconnects_other: u64,
    pub reconnect_failures: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub session: String,
    pub viewers_requested: u64,
    pub viewers_connected: u64,
    pub viewers_failed: u64,
    pub connect_failures: BTreeMap<String, u64>,
    pub connect_attempts: u64,
    pub connect_secs: f64,
    pub max_viewers_announced: u64,
    pub rate: f64,
    pub size_bytes: u32,
    pub duration_secs: f64,
    pub delay_seconds: u32,
    pub threads: u32,
    pub nofile_limit: Option<u64>,
    pub published_ok: u64,
    pub publish_errors: BTreeMap<String, u64>,
    pub publish_window_secs: f64,
    pub publish_rtt_ms: Percentiles,
    pub latency_ms: Percentiles,
    /// The same per viewer URL (`--viewer-url`), in the order given.
    pub latency_by_url_ms: Vec<(String, Percentiles)>,
    /// Per update: release to the first viewer's receipt.
    pub first_receipt_ms: Percentiles,
    /// Per update: first viewer's receipt to the last viewer's.
    pub fanout_spread_ms: Percentiles,
    pub expected_deliveries: u64,
    pub deliveries: u64,
    pub delivery_ratio: f64,
    pub deliveries_per_sec: f64,
    pub tail_wait_secs: f64,
    pub gaps: u64,
    pub viewers_with_gaps: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub unexpected_seqs: u64,
    pub beyond_published: u64,
    pub closes: Closes,
    pub state_frames: u64,
    pub malformed_frames: u64,
    pub bad_timestamps: u64,
    pub negative_latencies: u64,
    pub viewers_unfinished_at_close: u64,
    pub server_rss_before_kib: Option<u64>,
    pub server_rss_idle_kib: Option<u64>,
    pub server_rss_after_publish_kib: Option<u64>,
    pub server_hwm_kib: Option<u64>,
    pub server_kib_per_idle_viewer: Option<f64>,
    pub server_cpu_pct_publishing: Option<f64>,
    pub loadgen_cpu_pct_publishing: Option<f64>,
    pub loadgen_loop_lag_ms: Percentiles,
    pub machine_cpu_pct_publishing: Option<f64>,
    pub loadavg_1m: Option<f64>,
}

pub struct Inputs<'a> {
    pub args: &'a Args,
    pub nofile: Option<u64>,
    pub session: String,
    pub stats: &'a [ViewerStats],
    pub unfinished: usize,
    pub connect_secs: f64,
    pub published_ok: u64,
    pub publish_errors: BTreeMap<String, u64>,
    pub publish_window: Duration,
    pub publish_rtt: Percentiles,
    pub latency: Percentiles,
    pub latency_by_url: Vec<(String, Percentiles)>,
    pub loop_lag: Percentiles,
    pub first_receipt: Percentiles,
    pub fanout_spread: Percentiles,
    pub machine_cpu_pct: Option<f64>,
    pub loadavg: Option<f64>,
    pub tail_secs: f64,
    pub rss_before: Option<u64>,
    pub rss_idle: Option<u64>,
    pub rss_after_publish: Option<u64>,
    pub server_hwm: Option<u64>,
    pub server_cpu_pct: Option<f64>,
    pub self_cpu_pct: Option<f64>,
    pub max_viewers_announced: u64,
}

pub fn build(i: Inputs<'_>) -> Report {
    let expected = i.published_ok;
    let mut connect_failures = BTreeMap::new();
    let mut closes = Closes::default();
    let (mut connected, mut attempts, mut deliveries) = (0u64, 0u64, 0u64);
    let (mut gaps, mut viewers_with_gaps, mut dups, mut ooo, mut invalid, mut beyond) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut state_frames, mut malformed, mut bad_ts, mut negative) = (0u64, 0u64, 0u64, 0u64);
    for s in i.stats {
        attempts += u64::from(s.connect_attempts);
        if let Some(e) = &s.connect_error {
            *connect_failures.entry(e.clone()).or_insert(0) += 1;
        }
        if !s.connected {
            continue;
        }
        connected += 1;
        deliveries += s.update_frames;
        state_frames += s.state_frames;
        malformed += s.malformed_frames;
        bad_ts += s.bad_timestamps;
        negative += s.negative_latency;
        closes.slow_4008 += s.closes_4008;
        closes.resumed_after_4008 += s.resumes_ok;
        closes.going_away_1001 += s.closes_1001;
        closes.revoked_4003 += s.closes_4003;
        closes.unauthenticated_4001 += s.closes_4001;
        closes.normal_1000 += s.closes_1000;
        closes.other += s.closes_other;
        closes.dropped_without_close += s.drops;
        closes.reconnects_other += s.reconnects_other;
        closes.reconnect_failures += s.reconnect_failures;
        if let Some(t) = &s.tracker {
            let m = t.missing(expected);
            gaps += m;
            viewers_with_gaps += u64::from(m > 0);
            dups += t.duplicates();
            ooo += t.out_of_order();
            invalid += t.invalid();
            beyond += t.beyond(expected);
        }
    }
    // Viewers whose task did not report back (should be none) count as
    // connected-but-unknown: their deliveries are lost to the report.
    let requested = u64::from(i.args.viewers);
    let failed = i.stats.iter().filter(|s| !s.connected).count() as u64;
    let expected_deliveries = expected * connected;
    let window = i.publish_window.as_secs_f64();
    let kib_per_viewer = match (i.rss_before, i.rss_idle) {
        (Some(b), Some(a)) if connected > 0 => Some((a as f64 - b as f64) / connected as f64),
        _ => None,
    };
    Report {
        session: i.session,
        viewers_requested: requested,
        viewers_connected: connected,
        viewers_failed: failed,
        connect_failures,
        connect_attempts: attempts,
        connect_secs: i.connect_secs,
        max_viewers_announced: i.max_viewers_announced,
        rate: i.args.rate,
        size_bytes: i.args.size,
        duration_secs: i.args.duration.as_secs_f64(),
        delay_seconds: i.args.delay,
        threads: i.args.threads,
        nofile_limit: i.nofile,
        published_ok: expected,
        publish_errors: i.publish_errors,
        publish_window_secs: window,
        publish_rtt_ms: i.publish_rtt,
        latency_ms: i.latency,
        latency_by_url_ms: i.latency_by_url,
        first_receipt_ms: i.first_receipt,
        fanout_spread_ms: i.fanout_spread,
        expected_deliveries,
        deliveries,
        delivery_ratio: if expected_deliveries > 0 { deliveries as f64 / expected_deliveries as f64 } else { 0.0 },
        deliveries_per_sec: if window > 0.0 { deliveries as f64 / window } else { 0.0 },
        tail_wait_secs: i.tail_secs,
        gaps,
        viewers_with_gaps,
        duplicates: dups,
        out_of_order: ooo,
        unexpected_seqs: invalid,
        beyond_published: beyond,
        closes,
        state_frames,
        malformed_frames: malformed,
        bad_timestamps: bad_ts,
        negative_latencies: negative,
        viewers_unfinished_at_close: i.unfinished as u64,
        server_rss_before_kib: i.rss_before,
        server_rss_idle_kib: i.rss_idle,
        server_rss_after_publish_kib: i.rss_after_publish,
        server_hwm_kib: i.server_hwm,
        server_kib_per_idle_viewer: kib_per_viewer,
        server_cpu_pct_publishing: i.server_cpu_pct,
        loadgen_cpu_pct_publishing: i.self_cpu_pct,
        loadgen_loop_lag_ms: i.loop_lag,
        machine_cpu_pct_publishing: i.machine_cpu_pct,
        loadavg_1m: i.loadavg,
    }
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| v.to_string())
}

fn pct(p: &Percentiles) -> String {
    format!(
        "p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}  (n={})",
        p.p50, p.p90, p.p99, p.p999, p.max, p.count
    )
}

impl Report {
    /// No gap, duplicate, reordering or failed viewer, and every update published.
    pub fn clean(&self) -> bool {
        self.gaps == 0
            && self.duplicates == 0
            && self.out_of_order == 0
            && self.unexpected_seqs == 0
            && self.viewers_failed == 0
            && self.publish_errors.is_empty()
            && self.malformed_frames == 0
    }

    pub fn human(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "orgallery-load report (session {})", self.session);
        let _ = writeln!(
            o,
            "  viewers      {} connected / {} requested, {} failed {:?}; {} connect attempts in {:.1} s; server announced up to {} viewers",
            self.viewers_connected,
            self.viewers_requested,
            self.viewers_failed,
            self.connect_failures,
            self.connect_attempts,
            self.connect_secs,
            self.max_viewers_announced
        );
        let _ = writeln!(
            o,
            "  publishing   {} ok of {:.0} planned ({} B at {}/s for {:.1} s, delay {} s), errors {:?}, window {:.2} s",
            self.published_ok,
            (self.rate * self.duration_secs).round(),
            self.size_bytes,
            self.rate,
            self.duration_secs,
            self.delay_seconds,
            self.publish_errors,
            self.publish_window_secs
        );
        let _ = writeln!(o, "  publish RTT  ms: {}", pct(&self.publish_rtt_ms));
        let _ = writeln!(o, "  latency      release→receipt ms: {}", pct(&self.latency_ms));
        if self.latency_by_url_ms.len() > 1 {
            for (url, p) in &self.latency_by_url_ms {
                let _ = writeln!(o, "    viewers on {url}: {}", pct(p));
            }
        }
        let _ = writeln!(o, "  first copy   release→first viewer ms: {}", pct(&self.first_receipt_ms));
        let _ = writeln!(o, "  fan-out      first→last viewer ms: {}", pct(&self.fanout_spread_ms));
        let _ = writeln!(
            o,
            "  deliveries   {} of {} expected ({:.4}), {:.0}/s; tail wait {:.2} s",
            self.deliveries,
            self.expected_deliveries,
            self.delivery_ratio,
            self.deliveries_per_sec,
            self.tail_wait_secs
        );
        let _ = writeln!(
            o,
            "  integrity    gaps {} (in {} viewers), duplicates {}, out-of-order {}, unexpected seqs {}, beyond published {}, malformed {}, bad timestamps {}",
            self.gaps,
            self.viewers_with_gaps,
            self.duplicates,
            self.out_of_order,
            self.unexpected_seqs,
            self.beyond_published,
            self.malformed_frames,
            self.bad_timestamps
        );
        let c = &self.closes;
        let _ = writeln!(
            o,
            "  closes       4008 {} (resumed {}), 1001 {}, 4003 {}, 4001 {}, 1000 {}, other {}, dropped {}, other reconnects {}, reconnect failures {}",
            c.slow_4008,
            c.resumed_after_4008,
            c.going_away_1001,
            c.revoked_4003,
            c.unauthenticated_4001,
            c.normal_1000,
            c.other,
            c.dropped_without_close,
            c.reconnects_other,
            c.reconnect_failures
        );
        let _ = writeln!(
            o,
            "  server mem   VmRSS before {} KiB, idle {} KiB, after publishing {} KiB, VmHWM {} KiB → {} KiB per idle viewer",
            opt(self.server_rss_before_kib),
            opt(self.server_rss_idle_kib),
            opt(self.server_rss_after_publish_kib),
            opt(self.server_hwm_kib),
            opt(self.server_kib_per_idle_viewer.map(|v| format!("{v:.1}")))
        );
        let _ = writeln!(
            o,
            "  cpu          server {}% / load tool {}% / whole machine {}% (others {}%; 100 = one core) while publishing ({} tool thread(s)); load average {}",
            opt(self.server_cpu_pct_publishing.map(|v| format!("{v:.0}"))),
            opt(self.loadgen_cpu_pct_publishing.map(|v| format!("{v:.0}"))),
            opt(self.machine_cpu_pct_publishing.map(|v| format!("{v:.0}"))),
            opt(self.machine_cpu_pct_publishing.map(|m| {
                let own = self.server_cpu_pct_publishing.unwrap_or(0.0) + self.loadgen_cpu_pct_publishing.unwrap_or(0.0);
                format!("{:.0}", (m - own).max(0.0))
            })),
            self.threads,
            opt(self.loadavg_1m.map(|v| format!("{v:.2}")))
        );
        let _ = write!(o, "  tool lag     10 ms timer lateness ms: {}", pct(&self.loadgen_loop_lag_ms));
        if self.viewers_unfinished_at_close > 0 {
            let _ = write!(
                o,
                "\n  warning      {} viewers did not finish closing in time",
                self.viewers_unfinished_at_close
            );
        }
        if !self.clean() {
            let _ = write!(o, "\n  RESULT       integrity problems (see above)");
        }
        o
    }
}

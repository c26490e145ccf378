//! What the tool reads from /proc and the file-descriptor limit.

use std::time::Instant;

/// Raise the soft RLIMIT_NOFILE to the hard limit. Returns the new soft limit.
pub fn raise_nofile() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// `VmRSS` (or another `Vm*` line) of a process, in KiB.
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kib(&text, field)
}

pub fn parse_status_kib(text: &str, field: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// User + system CPU time of a process (or "self"), in seconds.
pub fn cpu_secs(pid: &str) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_cpu(&text)
}

/// utime and stime are fields 14 and 15 of /proc/PID/stat, counted after the
/// command name (which may contain spaces, so split after its last `)`).
/// Clock ticks are USER_HZ, which is 100 on every Linux ABI that matters.
pub fn parse_stat_cpu(text: &str) -> Option<f64> {
    let after = &text[text.rfind(')')? + 1..];
    let mut f = after.split_whitespace().skip(11);
    let utime: u64 = f.next()?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// CPU used by a process over a window, as a percentage of one core.
pub struct CpuMeter {
    pid: String,
    start_cpu: Option<f64>,
    start: Instant,
}

impl CpuMeter {
    pub fn start(pid: String) -> Self {
        let start_cpu = cpu_secs(&pid);
        Self { pid, start_cpu, start: Instant::now() }
    }

    pub fn percent(&self) -> Option<f64> {
        let now = cpu_secs(&self.pid)?;
        let wall = self.start.elapsed().as_secs_f64();
        let start = self.start_cpu?;
        (wall > 0.0).then(|| (now - start) / wall * 100.0)
    }
}

/// Busy and total jiffies of the whole machine (first line of /proc/stat).
pub fn machine_jiffies() -> Option<(u64, u64)> {
    parse_proc_stat(&std::fs::read_to_string("/proc/stat").ok()?)
}

pub fn parse_proc_stat(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line.split_whitespace().take(8).filter_map(|f| f.parse().ok()).collect();
    if v.len() < 5 {
        return None;
    }
    let total: u64 = v.iter().sum();
    // idle + iowait are not busy.
    Some((total - v[3] - v[4], total))
}

/// Machine-wide CPU over a window, in percent of one core (200 = two cores busy).
pub struct MachineMeter {
    start: Option<(u64, u64)>,
    cores: f64,
}

impl MachineMeter {
    pub fn start() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        Self { start: machine_jiffies(), cores }
    }

    pub fn percent(&self) -> Option<f64> {
        let (b0, t0) = self.start?;
        let (b1, t1) = machine_jiffies()?;
        (t1 > t0).then(|| (b1 - b0) as f64 / (t1 - t0) as f64 * 100.0 * self.cores)
    }
}

/// The 1-minute load average.
pub fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_stat_parsing() {
        let status = "Name:\torgallery\nVmPeak:\t  900000 kB\nVmHWM:\t  51200 kB\nVmRSS:\t   40960 kB\n";
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(40960));
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(51200));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
        let stat = "1234 (tokio (rt) x) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0";
        assert_eq!(parse_stat_cpu(stat), Some(3.0));
        assert!(cpu_secs("self").is_some());
        assert_eq!(parse_proc_stat("cpu  100 5 50 800 10 3 2 0 0 0\ncpu0 1 2 3 4 5\n"), Some((160, 970)));
        assert_eq!(parse_proc_stat("intr 1 2\n"), None);
    }
}

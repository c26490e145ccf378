//! Throughput in messages per CPU-second of the calling thread (robust on a shared machine,
//! where criterion's wall-clock numbers drop when other jobs compete for the cores).
//!
//! `cargo run --release -p orgallery-redact --example throughput_cpu [-- SECONDS]`
//! Messages: the dev corpus texts, concatenated to ~200 bytes each (synthetic if absent).
//!
//! For instruction counts (load-independent), run a fixed number of passes over the messages
//! under callgrind, once with `--passes 1` and once with `--passes 4`:
//! `valgrind --tool=callgrind throughput_cpu --passes 4 --only ids` (`--only none|ids`);
//! instructions per message = (Ir(4) − Ir(1)) / (3 × messages), which leaves out the setup and
//! the first pass (lazy DFA caches warming up).

use orgallery_redact::{Identifiers, PatientMatcher, Redactor};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Nanoseconds this thread has run on a CPU (Linux /proc/thread-self/schedstat), if available.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn messages() -> Vec<String> {
    let path = format!("{}/../../../shared/phi-dev/dev.jsonl", env!("CARGO_MANIFEST_DIR"));
    let mut base: Vec<String> = std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect();
    if base.is_empty() {
        base = vec![
            "Okay everyone, Yong Pan, 100-year-old, ACDF C5-6, with Dr. Whipple and Brian in the room.".into(),
            "Closing the fascia with 6-0 Prolene, skin with 5-0 Prolene. sharps 8/8.".into(),
        ];
    }
    let n = base.len();
    (0..n)
        .map(|i| {
            let mut s = base[i].clone();
            let mut j = i + 1;
            while s.len() < 200 {
                s.push(' ');
                s.push_str(&base[j % n]);
                j += 1;
            }
            let mut cut = 200.min(s.len());
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            s
        })
        .collect()
}

/// Exactly `passes` passes over the messages, no timing (for callgrind).
fn run_passes(r: &Redactor, msgs: &[String], pm: Option<&PatientMatcher>, passes: usize) {
    for _ in 0..passes {
        for m in msgs {
            black_box(r.redact(black_box(m), pm));
        }
    }
}

fn run(label: &str, r: &Redactor, msgs: &[String], pm: Option<&PatientMatcher>, secs: f64) {
    let wall = Instant::now();
    let cpu0 = cpu_ns();
    let mut n = 0u64;
    while wall.elapsed() < Duration::from_secs_f64(secs) {
        for m in msgs {
            black_box(r.redact(black_box(m), pm));
        }
        n += msgs.len() as u64;
    }
    let w = wall.elapsed().as_secs_f64();
    let cpu = match (cpu0, cpu_ns()) {
        (Some(a), Some(b)) if b > a => (b - a) as f64 / 1e9,
        _ => w,
    };
    println!(
        "{label}: {n} msgs, {:.0} msgs/s per CPU-second ({:.2} us/msg), {:.0} msgs/s wall",
        n as f64 / cpu,
        cpu * 1e6 / n as f64,
        n as f64 / w
    );
}

fn main() {
    let mut secs = 3.0f64;
    let mut passes: Option<usize> = None;
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--passes" => passes = args.next().and_then(|v| v.parse().ok()),
            "--only" => only = args.next(),
            _ => secs = a.parse().unwrap_or(secs),
        }
    }
    let r = Redactor::default();
    let msgs = messages();
    let avg = msgs.iter().map(String::len).sum::<usize>() / msgs.len().max(1);
    println!("{} messages, average {avg} bytes", msgs.len());
    let pm = PatientMatcher::new(&Identifiers {
        names: vec!["Ming Fan".into()],
        mrns: vec!["43111520".into()],
        dates: vec!["1957-03-14".into()],
        other: vec!["(415) 822-6155".into()],
    });
    let (none, ids) = match only.as_deref() {
        Some("none") => (true, false),
        Some("ids") => (false, true),
        _ => (true, true),
    };
    if let Some(p) = passes {
        if none {
            run_passes(&r, &msgs, None, p);
        }
        if ids {
            run_passes(&r, &msgs, Some(&pm), p);
        }
        println!("{} passes done", p);
        return;
    }
    if none {
        run("no identifiers  ", &r, &msgs, None, secs);
    }
    if ids {
        run("with identifiers", &r, &msgs, Some(&pm), secs);
    }
}

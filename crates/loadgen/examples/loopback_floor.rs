//! The floor under the live channel's fan-out on this machine: what it costs
//! the kernel to move one 1 KiB frame over loopback TCP to N sockets, with no
//! WebSocket, JSON or server logic at all. A writer thread writes one frame
//! to each of N sockets per round (10 rounds a second, like the load test);
//! a reader thread (current-thread tokio runtime, one task per socket, like
//! a minimal viewer) reads them. Reports CPU per frame for the writer and for
//! the whole process, and the wall time of a round.
//!
//!   cargo run --release -p orgallery-load --example loopback_floor -- 10000 50
//!
//! Needs `ulimit -n` above 2 × N + a few.

use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

/// CPU seconds (user + system) of the process or of the calling thread.
fn cpu_seconds(which: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{which}/stat")) else { return 0.0 };
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(50);
    let writer_rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let listener = writer_rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;

    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || -> std::io::Result<usize> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        rt.block_on(async move {
            let mut tasks = Vec::with_capacity(n);
            for _ in 0..n {
                let mut s = TcpStream::connect(addr).await?;
                tasks.push(tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut total = 0usize;
                    while let Ok(k) = s.read(&mut buf).await {
                        if k == 0 {
                            break;
                        }
                        total += k;
                    }
                    total
                }));
            }
            let _ = ready_tx.send(());
            let mut total = 0;
            for t in tasks {
                total += t.await.unwrap_or(0);
            }
            Ok(total)
        })
    });

    let mut sockets = Vec::with_capacity(n);
    writer_rt.block_on(async {
        for _ in 0..n {
            let (s, _) = listener.accept().await?;
            s.set_nodelay(true)?;
            sockets.push(s);
        }
        Ok::<_, std::io::Error>(())
    })?;
    let _ = ready_rx.recv();
    let frame = vec![b'x'; 1030];
    let (proc0, thread0) = (cpu_seconds("self"), cpu_seconds("thread-self"));
    let mut round_times = Vec::with_capacity(rounds);
    writer_rt.block_on(async {
        for _ in 0..rounds {
            let t = Instant::now();
            for s in &sockets {
                let _ = s.try_write(&frame);
            }
            let d = t.elapsed();
            round_times.push(d);
            tokio::time::sleep(Duration::from_millis(100).saturating_sub(d)).await;
        }
    });
    let (proc1, thread1) = (cpu_seconds("self"), cpu_seconds("thread-self"));
    drop(sockets);
    let bytes = reader.join().map_err(|_| std::io::Error::other("reader panicked"))??;
    round_times.sort();
    let frames = (n * rounds) as f64;
    println!("{n} sockets x {rounds} rounds of 1,030 B, {bytes} bytes read");
    println!("writer thread CPU per frame: {:.2} us", (thread1 - thread0) * 1e6 / frames);
    println!("writer + reader CPU per frame: {:.2} us", (proc1 - proc0) * 1e6 / frames);
    println!(
        "round wall time (one write per socket): p50 {:.1} ms, max {:.1} ms",
        round_times[round_times.len() / 2].as_secs_f64() * 1e3,
        round_times.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
    );
    Ok(())
}

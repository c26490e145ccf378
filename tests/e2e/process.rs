//! The `orgallery` binary as a user runs it: a child process on an ephemeral
//! port, its output captured.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_orgallery"))
}

pub struct Proc {
    pub child: Child,
    pub url: String,
    pub stdout: Arc<Mutex<String>>,
    pub stderr: Arc<Mutex<String>>,
}

fn pump(r: impl Read + Send + 'static, into: Arc<Mutex<String>>, tx: Option<std::sync::mpsc::Sender<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if let Some(tx) = &tx {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
            if let Ok(mut s) = into.lock() {
                s.push_str(&line);
                s.push('\n');
            }
        }
    });
}

/// Start `orgallery <args>` and wait for its "listening on" line.
pub fn start(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Proc {
    let mut cmd = bin();
    cmd.arg("--data").arg(data).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn orgallery");
    let (stdout, stderr) = (Arc::new(Mutex::new(String::new())), Arc::new(Mutex::new(String::new())));
    let (tx, rx) = std::sync::mpsc::channel();
    pump(child.stdout.take().expect("stdout"), stdout.clone(), Some(tx));
    pump(child.stderr.take().expect("stderr"), stderr.clone(), None);
    let url = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(u) => u,
        Err(_) => {
            let _ = child.kill();
            panic!("no 'listening on' line; stderr: {}", stderr.lock().map(|s| s.clone()).unwrap_or_default());
        }
    };
    Proc { child, url, stdout, stderr }
}

impl Proc {
    /// SIGTERM, then wait (bounded) for a clean exit; returns the exit status code.
    pub fn terminate(&mut self) -> Option<i32> {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100)); // let the pumps drain
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        None
    }

    pub fn output(&self) -> String {
        let a = self.stdout.lock().map(|s| s.clone()).unwrap_or_default();
        let b = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        format!("{a}\n{b}")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Run a command to completion, feeding `stdin`; returns (code, stdout, stderr).
pub fn run(data: &Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = bin()
        .arg("--data")
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    if let Some(mut i) = child.stdin.take() {
        let _ = i.write_all(stdin.as_bytes());
    }
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

//! Tracing setup: human-readable lines on stderr, filtered by `RUST_LOG` or
//! `--log`. What is logged never includes tokens, passwords, request bodies
//! or query strings (which may carry one-use tickets).

use tracing_subscriber::EnvFilter;

pub fn init(default_filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

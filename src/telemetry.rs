//! Tracing setup: human-readable lines on stderr, filtered by `RUST_LOG` or
//! `--log`. What is logged never includes tokens, passwords, request bodies
//! or query strings (which may carry one-use tickets), nor what viewers
//! send over the live channel: the WebSocket library's trace lines print
//! whole client messages (an unmasked question), so they are never emitted,
//! whatever the filter says.

use tracing::{Level, Metadata};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{fmt, EnvFilter};

/// Trace lines of the WebSocket parser carry client payloads.
fn carries_client_payload(m: &Metadata<'_>) -> bool {
    *m.level() == Level::TRACE && (m.target().starts_with("tungstenite") || m.target().starts_with("tokio_tungstenite"))
}

pub fn init(default_filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let layer = fmt::layer()
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_filter(filter)
        .with_filter(filter_fn(|m| !carries_client_payload(m)));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

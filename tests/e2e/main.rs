//! End-to-end tests: one binary (linking the server once), one module per area.
//! Every test starts a real server on an ephemeral port with a fresh data
//! directory and talks to it with real clients.

mod archive;
mod audience;
mod audit;
mod browser;
mod cli;
mod cluster;
mod cluster_bus;
mod edge;
mod fanout;
mod faults;
mod gates;
mod images;
mod invites;
mod keys;
mod live;
mod live_hooks;
mod login;
mod logs;
mod media;
mod media_errors;
mod ocr;
mod ops;
mod permissions;
mod process;
mod redact_preview;
mod redaction;
mod rtc_peer;
mod sessions;
mod soak;
mod store;
mod support;
mod tokens;
mod ws;

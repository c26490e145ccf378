//! # orgallery
//!
//! Streams live updates from the operating room to the people learning from
//! it. Everything a surgeon publishes passes a **redaction gate** (patient
//! identifiers masked) and a **delay gate** (held so it can be retracted)
//! before any viewer, log or archive sees it.
//!
//! ## Module map
//!
//! | module | owns |
//! | --- | --- |
//! | [`config`] | settings from flags, `ORGALLERY_*` variables and a TOML file; [`config::Secret`] |
//! | [`cli`] | the `orgallery` command line (`serve`, `demo`, `user add`, `token`, `certs`, `audit verify`, `archive verify`) |
//! | [`server`] | building the state, binding HTTP/HTTPS, graceful shutdown |
//! | [`http1`] | the plain-HTTP listener (hyper HTTP/1.1, bare sockets for WebSocket upgrades) |
//! | [`state`] | [`state::AppState`], the handle every handler gets |
//! | [`api`] | axum routers, one file per resource; error normalisation, request ids, spans |
//! | [`auth`] | passwords (Argon2id), JWTs, revocation, login throttling, the permission table |
//! | [`session`] | session rules (draft → live → ended, consent) and the patient's identifiers |
//! | [`live`] | live sessions: the writer task owning the gates, the sharded fan-out, viewer sockets, tickets |
//! | [`audience`] | questions, votes, moderation, the live pulse, feedback |
//! | [`media`] | WebRTC (str0m): WHIP ingest, WHEP egress, the media delay buffer, keyframes, recording |
//! | [`redaction`] | the `redact` interface every viewer-visible text passes |
//! | [`archive`] | replay timeline, streamed and signed export, archive per consent, retention, purge |
//! | [`audit`] | the hash-chained audit log, its writer task, signed checkpoints and verifier |
//! | [`signing`] | Ed25519 key files in the data directory (audit checkpoints, export manifests) |
//! | [`store`] | persistence behind the [`store::Store`] trait; SQLite by default |
//! | [`model`] | the domain records |
//! | [`users`] | account creation shared by API, CLI and demo |
//! | [`demo`] | demo accounts and session |
//! | [`metrics`] | Prometheus counters |
//! | [`certs`] | development certificates |
//! | [`error`] | [`error::ApiError`] and the contract's error body |
//! | [`fuzzing`] | entry points of the fuzz targets (`fuzz/`), and the corpus replay |
//!
//! Protocol logic with time in it lives in pure crates beside this one
//! (`crates/gate`, `crates/media-gate`, `crates/redact`, `crates/imaging`) and is driven from here.

pub mod api;
pub mod archive;
pub mod audience;
pub mod audit;
pub mod auth;
pub mod certs;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod demo;
pub mod error;
pub mod fuzzing;
pub mod http1;
pub mod live;
pub mod media;
pub mod metrics;
pub mod model;
pub mod redaction;
pub mod server;
pub mod session;
pub mod signing;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod users;

//! The `orgallery` command line: parse, resolve configuration, run.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::auth::jwt::TokenService;
use crate::config::{Config, ServeArgs};
use crate::model::Role;
use crate::server::{termination_signal, Server};

#[derive(Debug, Parser)]
#[command(
    name = "orgallery",
    version,
    about = "Live updates from the operating room, through a redaction gate and a delay gate."
)]
pub struct Cli {
    /// Data directory: the SQLite file, media, keys.
    #[arg(long, global = true, env = "ORGALLERY_DATA", default_value = "./data")]
    pub data: PathBuf,
    /// TOML configuration file.
    #[arg(long, global = true, env = "ORGALLERY_CONFIG")]
    pub config: Option<PathBuf>,
    /// The store: `postgres://user:password@host/db` for a PostgreSQL
    /// database shared by several nodes; without it, the data directory's
    /// SQLite file.
    #[arg(long = "database-url", global = true, env = "ORGALLERY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Run the server with demo accounts for every role and a demo session.
    Demo(ServeArgs),
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Print a JWT signed with the server's configured key.
    Token {
        #[arg(long)]
        sub: String,
        #[arg(long, value_enum)]
        role: Role,
        #[arg(long)]
        name: Option<String>,
        /// Limit the token to these sessions.
        #[arg(long = "session")]
        sessions: Vec<String>,
        /// Lifetime, e.g. 15m, 1h, 3600s.
        #[arg(long, default_value = "1h")]
        ttl: String,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Measure the redaction gate on a labelled corpus (phi-dev format):
    /// per-type recall and precision, as ../shared/phi-dev/score.py prints.
    RedactEval {
        corpus: PathBuf,
        /// Ignore the registered identifiers of each message.
        #[arg(long)]
        no_identifiers: bool,
        /// Also write predictions that score.py reads.
        #[arg(long)]
        predictions: Option<PathBuf>,
    },
    /// The audit log: `audit verify` checks its hash chain and checkpoints.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Exports: `archive verify FILE.zip` checks hashes and signature.
    Archive {
        #[command(subcommand)]
        command: ArchiveCommand,
    },
    /// Signing keys: `keys rotate` adds a new JWT signing key; the old one
    /// verifies until its last token can have expired.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Write a development certificate for localhost.
    Certs {
        #[arg(long, default_value = "certs")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password comes from --password or stdin.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long, value_enum)]
        role: Role,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, env = "ORGALLERY_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Exit 0 only if the chain is intact and reaches the last signed checkpoint.
    Verify,
}

/// How a rotated key file names its keys.
type KeyId = fn(&[u8; 32]) -> String;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyKind {
    Jwt,
    Identifiers,
    Archive,
    Audit,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new JWT signing key to the data directory's key ring. A running
    /// server signs with it within a second; the previous key verifies for
    /// --retire-after (default: the token lifetime plus leeway), then is refused.
    Rotate {
        /// Which key: the JWT signing key (default), the identifiers vault
        /// key, the archive signing key or the audit checkpoint key. The last
        /// three keep their old key (`*.retired`) to open or verify what it
        /// protected, and take effect when the server next starts.
        #[arg(value_enum, default_value = "jwt", value_name = "KEY")]
        which: KeyKind,
        /// JWT only: how long the previous key keeps verifying, e.g. 15m, 1h, 3600s
        /// (`0s` retires it at once: every token it signed is refused).
        #[arg(long)]
        retire_after: Option<String>,
        #[command(flatten)]
        serve: ServeArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Check every file's SHA-256 against manifest.json and the manifest's
    /// Ed25519 signature (key: --public-key, else the data dir's archive key).
    Verify {
        file: PathBuf,
        /// The archive key's public half in hex (`GET /api/archive/key`).
        #[arg(long)]
        public_key: Option<String>,
    },
}

pub fn parse_ttl(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().map_err(|_| format!("invalid duration {s:?}"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => return Err(format!("invalid duration unit in {s:?} (use s, m, h or d)")),
    };
    if secs == 0 || secs > 30 * 86400 {
        return Err("ttl must be between 1 s and 30 d".into());
    }
    Ok(Duration::from_secs(secs))
}

/// Run a parsed command line. Returns the process exit code.
pub async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let resolve = |args: &ServeArgs| -> Result<Config, Box<dyn std::error::Error>> {
        let mut config = Config::resolve(&cli.data, cli.config.as_deref(), args)?;
        config.database_url = cli.database_url.clone().map(crate::config::Secret::new);
        config.store_location()?;
        Ok(config)
    };
    match cli.command {
        Command::Serve(args) => {
            let config = resolve(&args)?;
            crate::telemetry::init(&config.log);
            serve(config, None).await
        }
        Command::Demo(args) => {
            let config = resolve(&args)?;
            crate::telemetry::init(&config.log);
            serve(config, Some(())).await
        }
        Command::User { command: UserCommand::Add { username, role, name, password } } => {
            let config = resolve(&ServeArgs::default())?;
            let password = match password {
                Some(p) => p,
                None => {
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let state = crate::server::build_state(config).await?;
            let user =
                crate::users::add(state.store.as_ref(), crate::users::NewUser { username, password, role, name })
                    .await
                    .map_err(|e| e.to_string())?;
            println!("created {} ({}) sub={}", user.username, user.role, user.sub);
            Ok(())
        }
        Command::Token { sub, role, name, sessions, ttl, serve } => {
            let config = resolve(&serve)?;
            let ttl = parse_ttl(&ttl)?;
            let tokens = TokenService::load(&config.jwt, &config.data_dir)?;
            let sessions = if sessions.is_empty() { None } else { Some(sessions) };
            let (token, _) = tokens.issue(&sub, role, name.as_deref().unwrap_or(&sub), sessions, Some(ttl))?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{token}")?;
            Ok(())
        }
        Command::RedactEval { corpus, no_identifiers, predictions } => {
            let text = std::fs::read_to_string(&corpus)?;
            let redactor = orgallery_redact::Redactor::new(orgallery_redact::RedactorConfig::default());
            let report =
                orgallery_redact::eval::evaluate(&text, &redactor, !no_identifiers).map_err(|e| e.to_string())?;
            if let Some(p) = predictions {
                std::fs::write(p, report.predictions_jsonl())?;
            }
            println!("{report}");
            Ok(())
        }
        Command::Audit { command: AuditCommand::Verify } => {
            let config = resolve(&ServeArgs::default())?;
            let location = config.store_location()?;
            if !location.exists() {
                return Err(format!("no database in {}", config.data_dir.display()).into());
            }
            let store = location.open().await?;
            let r = crate::audit::verify::verify(&store, &config.data_dir).await?;
            println!(
                "audit chain intact: {} events, head {}, signed checkpoint at #{}",
                r.events, r.head_hash, r.checkpoint
            );
            Ok(())
        }
        Command::Archive { command: ArchiveCommand::Verify { file, public_key } } => {
            let publics = match public_key {
                Some(hex) => {
                    vec![crate::signing::public_from_hex(&hex).ok_or("--public-key is not an Ed25519 key in hex")?]
                }
                None => {
                    // The current archive key, then those a rotation retired.
                    let path = cli.data.join(crate::archive::KEY_FILE);
                    crate::signing::verifying_keys(&path)
                        .map_err(|e| format!("no --public-key and cannot read {}: {e}", path.display()))?
                }
            };
            let mut last = String::from("no key");
            for public in &publics {
                match crate::archive::export::verify_zip(&file, public) {
                    Ok(v) => {
                        println!("export intact: {} files, {} bytes, signature valid", v.files, v.bytes);
                        return Ok(());
                    }
                    Err(e) => last = e,
                }
            }
            Err(last.into())
        }
        Command::Keys { command: KeysCommand::Rotate { which: key, retire_after, serve } } => {
            let config = resolve(&serve)?;
            let now = chrono::Utc::now().timestamp();
            let detail = if key == KeyKind::Jwt {
                let alg = crate::auth::jwt::managed_alg(&config.jwt).ok_or(
                    "the JWT keys are configured outside the data directory (--jwt-key / --jwks-url): rotate them there",
                )?;
                let retire_after = match retire_after.as_deref() {
                    Some("0") | Some("0s") => 0,
                    Some(s) => parse_ttl(s)?.as_secs(),
                    None => config.jwt.ttl.as_secs().saturating_add(config.jwt.leeway),
                };
                let r = crate::auth::keyring::rotate(
                    &config.data_dir,
                    alg,
                    now,
                    i64::try_from(retire_after).unwrap_or(i64::MAX / 2),
                )?;
                let retires = chrono::DateTime::from_timestamp(r.previous_retires_at, 0)
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default();
                println!("signing key {} (previous {} verifies until {retires})", r.kid, r.previous);
                if !r.pruned.is_empty() {
                    println!("removed retired keys: {}", r.pruned.join(", "));
                }
                serde_json::json!({"key": "jwt", "kid": r.kid, "previous": r.previous, "previous_retires_at": retires})
            } else {
                if retire_after.is_some() {
                    return Err("--retire-after applies to the jwt key only".into());
                }
                let (name, file, id): (&str, &str, KeyId) = match key {
                    KeyKind::Identifiers => {
                        ("identifiers", "identifiers.key", crate::session::identifiers::IdentifierVault::key_id)
                    }
                    KeyKind::Archive => ("archive", crate::archive::KEY_FILE, crate::signing::ed25519_id),
                    _ => ("audit", crate::audit::checkpoint::KEY_FILE, crate::signing::ed25519_id),
                };
                let path = config.data_dir.join(file);
                let (previous, kid) = crate::signing::rotate_file(&path, id)
                    .map_err(|e| format!("cannot rotate {}: {e}", path.display()))?;
                println!(
                    "{name} key {kid} (previous {previous} kept for verification); takes effect at the next start"
                );
                serde_json::json!({"key": name, "kid": kid, "previous": previous})
            };
            crate::auth::keyring::write_notice(&config.data_dir, &detail)?;
            Ok(())
        }
        Command::Certs { out } => {
            let (cert, key) = crate::certs::generate_dev_cert(&out)?;
            println!("wrote {} and {}", cert.display(), key.display());
            Ok(())
        }
    }
}

async fn serve(mut config: Config, demo: Option<()>) -> Result<(), Box<dyn std::error::Error>> {
    let signal = termination_signal()?;
    // `demo` is the try-it-out command on a fresh machine: without Tesseract
    // it runs with image OCR off and says so loudly. `serve` refuses to start.
    if demo.is_some() && config.image_ocr {
        if let Err(e) = orgallery_ocr::Pool::new(&orgallery_ocr::Config::default()) {
            eprintln!(
                "WARNING: image OCR is off for this demo ({e}); text burned into images is NOT masked. \
                 Install tesseract-ocr tesseract-ocr-eng to turn it on."
            );
            config.image_ocr = false;
        }
    }
    let server = Server::start(config).await?;
    if demo.is_some() {
        let lines = crate::demo::seed(&server.state).await.map_err(|e| e.to_string())?;
        println!("{}", crate::demo::banner(&server.url, &lines));
    }
    println!("listening on {}", server.url);
    let _ = std::io::stdout().flush();
    let stopper = server.state.shutdown.clone();
    tokio::spawn(async move {
        signal.await;
        tracing::info!("shutting down");
        stopper.trigger();
    });
    server.wait().await?;
    Ok(())
}

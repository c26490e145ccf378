//! The `orgallery` binary: parse the command line and hand over to the library.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = orgallery::cli::Cli::parse();
    match orgallery::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("orgallery: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

//! The `orgallery` binary: parse the command line and hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    // SAFETY: first thing in main, before the runtime or any other thread exists.
    unsafe { orgallery_ocr::limit_openmp_threads() };
    let cli = orgallery::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("orgallery: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(orgallery::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("orgallery: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

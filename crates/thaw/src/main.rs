//! `thaw`: parses the command line and hands over to [`thaw::cli::run`].

use clap::Parser;

/// mimalloc rather than the system's allocator: requests, decisions and search results are many
/// small short-lived allocations, which glibc's malloc serves slower (see BENCHMARKS.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = thaw::cli::Cli::parse();
    match thaw::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

//! The `vigil` binary: parses the command line and runs it.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = vigil::cli::Cli::parse();
    match vigil::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// mimalloc instead of glibc's malloc: ingestion allocates and frees many small label strings
/// per request, and glibc spent half the server's CPU on that in the benchmark (measured with
/// perf); mimalloc also returns freed memory to the system, which glibc did not do for the
/// 19 MiB argon2id buffers of password hashing.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

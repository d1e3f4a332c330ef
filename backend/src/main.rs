//! The `vigil` binary: parses the command line and runs it.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    return_large_allocations_to_the_system();
    let cli = vigil::cli::Cli::parse();
    match vigil::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// glibc raises its mmap threshold after each large free, so the 19 MiB argon2id buffers of
/// password hashing end up in per-thread arenas and stay resident: ~60 MB more after a few
/// logins (measured). A fixed threshold keeps large buffers mmapped, returned on free.
fn return_large_allocations_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[expect(
        unsafe_code,
        reason = "mallopt has no safe wrapper; called once, before any thread starts"
    )]
    // SAFETY: mallopt only changes allocator tuning; no other thread exists yet.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

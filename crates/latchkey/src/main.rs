use clap::Parser;
use std::process::ExitCode;

/// mimalloc: on the request path it measured faster than glibc's malloc,
/// which took a tenth of a token validation's instructions (bench/run.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    limit_c_malloc_arenas();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the runtime starts")
        .block_on(run())
}

/// SQLite allocates with the C library's malloc, not the allocator above,
/// from one thread per connection (17 on SQLite). glibc gives threads
/// arenas of their own, up to eight per core, and rarely returns their
/// free pages, so under a steady load the server's RSS kept creeping up
/// (reliability/soak.sh). Two arenas slowed the creep by half, and the
/// soak's p99 did not move. Must run before any thread starts.
fn limit_c_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tuning parameter; no thread exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

async fn run() -> ExitCode {
    latchkey::telemetry::init();
    match latchkey::cli::run(latchkey::cli::Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("latchkey: {err:#}");
            match err.downcast_ref::<latchkey::client::CliError>() {
                Some(client) => ExitCode::from(client.exit_code()),
                None => ExitCode::FAILURE,
            }
        }
    }
}

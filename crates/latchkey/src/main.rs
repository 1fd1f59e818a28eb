use clap::Parser;
use std::process::ExitCode;

/// mimalloc: on the request path it measured faster than glibc's malloc,
/// which took a tenth of a token validation's instructions (bench/run.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
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

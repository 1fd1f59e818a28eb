use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    latchkey::telemetry::init();
    match latchkey::cli::run(latchkey::cli::Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("latchkey: {err:#}");
            ExitCode::FAILURE
        }
    }
}

//! Structured logs to stderr: `LATCHKEY_LOG` filters, `LATCHKEY_LOG_FORMAT=json`
//! switches to one JSON object per line.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_env("LATCHKEY_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let json = std::env::var("LATCHKEY_LOG_FORMAT").is_ok_and(|f| f == "json");
    // A second init (tests start many servers) is harmless, so its error is ignored.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

//! The limit of this stack: axum with nothing but a `/healthcheck` route that
//! answers `{}` as JSON, like Latchkey's. `bench/run.sh` loads it in the same
//! run as Latchkey and reports Latchkey's throughput as a ratio to it.

use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

#[derive(Serialize)]
struct Empty {}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:19880".to_owned());
    let app = Router::new().route("/healthcheck", get(|| async { Json(Empty {}) }));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("baseline listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await
}

//! Latchkey: GitHub login, API tokens and fast token checks for a developer
//! platform. Layers: [`http`] → [`service`] → [`store`], over [`domain`] types.

pub mod app;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
// Panicking property checks: only in tests and fuzz builds, never in the server.
#[cfg(any(test, fuzzing))]
pub mod fuzzing;
pub mod github;
pub mod http;
pub mod metrics;
mod private_file;
pub mod service;
pub mod store;
pub mod telemetry;

//! The outbound adapter to GitHub: OAuth (device and web flows) and REST.
//! Sits beside the store, below the services; knows nothing of Latchkey's rules.

mod client;
mod error;
mod wire;

pub use client::{GithubClient, GithubConfig, TokenPoll};
pub use error::GithubError;
pub use wire::{DeviceCode, GithubUser};

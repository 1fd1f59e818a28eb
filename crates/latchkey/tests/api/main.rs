//! End-to-end tests: the real server on a random loopback port, driven over
//! HTTP, once on a fresh SQLite file and once on a fresh PostgreSQL schema.

#[macro_use]
mod helpers;

mod accounts;
mod audit;
mod auth;
mod cluster;
mod connections;
mod console_pages;
mod device_flow;
mod errors;
mod github_login;
mod last_use;
mod oauth_clients;
mod oauth_endpoints;
mod oauth_grants;
mod oauth_refresh;
mod oauth_scopes;
mod oauth_security;
mod oauth_support;
mod ops;
mod outages;
mod sweeper;
mod tokens;
mod upgrades;
mod web_flow;

//! The OAuth2 server's HTTP side: machine endpoints (JSON) here, browser
//! pages in `pages`.

pub mod endpoints;
pub mod error;
pub mod form;

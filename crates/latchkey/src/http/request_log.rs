//! Request ids, the per-request span and the access log.
//!
//! A client's `x-request-id` is kept only if it is at most 128 visible ASCII
//! characters without spaces; anything else could forge log lines, so it is
//! replaced. Our own ids are a per-process random prefix and a counter: unique
//! across nodes, and no random-number syscall per request.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tracing::{Instrument, Level};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const MAX_REQUEST_ID: usize = 128;

/// Where one line per request goes; `None` writes none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccessLog(pub Option<Level>);

impl AccessLog {
    /// `off`, `error`, `warn`, `info`, `debug` or `trace`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "off" | "none" => Some(Self(None)),
            level => level.parse().ok().map(|l| Self(Some(l))),
        }
    }
}

/// A header value a client may choose as its request id.
pub fn acceptable_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty() && bytes.len() <= MAX_REQUEST_ID && bytes.iter().all(u8::is_ascii_graphic)
}

fn generate_request_id() -> HeaderValue {
    static PREFIX: OnceLock<u32> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| u32::from_le_bytes(crate::crypto::random_bytes()));
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    HeaderValue::try_from(format!("{prefix:08x}-{n:x}")).expect("hex is a valid header value")
}

pub async fn request_context(
    State(log): State<Arc<AccessLog>>,
    mut req: Request,
    next: Next,
) -> Response {
    let id = match req.headers().get(&REQUEST_ID) {
        Some(sent) if acceptable_request_id(sent) => sent.clone(),
        _ => {
            let id = generate_request_id();
            req.headers_mut().insert(REQUEST_ID, id.clone());
            id
        }
    };
    let started = Instant::now();
    // The path only: query strings can carry credentials.
    let span = tracing::info_span!(
        "request",
        request_id = %id.to_str().unwrap_or("-"),
        method = %req.method(),
        path = %req.uri().path(),
    );
    let mut response = next.run(req).instrument(span.clone()).await;
    response.headers_mut().insert(REQUEST_ID, id);
    if let Some(level) = log.0 {
        let _entered = span.enter();
        let status = response.status().as_u16();
        let micros = started.elapsed().as_micros() as u64;
        match level {
            Level::ERROR => tracing::error!(status, micros, "finished processing request"),
            Level::WARN => tracing::warn!(status, micros, "finished processing request"),
            Level::INFO => tracing::info!(status, micros, "finished processing request"),
            Level::DEBUG => tracing::debug!(status, micros, "finished processing request"),
            Level::TRACE => tracing::trace!(status, micros, "finished processing request"),
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_visible_ids_are_kept() {
        let ok = |s: &str| acceptable_request_id(&HeaderValue::from_str(s).unwrap());
        assert!(ok("trace-me-123"));
        assert!(ok(&"a".repeat(128)));
        assert!(!ok(&"a".repeat(129)));
        assert!(!ok("two words"));
        assert!(!ok(""));
        assert!(!acceptable_request_id(
            &HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap()
        ));
    }

    #[test]
    fn generated_ids_are_distinct_and_acceptable() {
        let a = generate_request_id();
        let b = generate_request_id();
        assert_ne!(a, b);
        assert!(acceptable_request_id(&a));
    }

    #[test]
    fn access_log_levels_parse() {
        assert_eq!(AccessLog::parse("off"), Some(AccessLog(None)));
        assert_eq!(AccessLog::parse("INFO"), Some(AccessLog(Some(Level::INFO))));
        assert_eq!(AccessLog::parse("loud"), None);
    }
}

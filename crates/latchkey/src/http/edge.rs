//! What every request passes first, as one hand-written tower service around
//! the whole router: its request id, the whole-request timeout, panics turned
//! into a JSON 500, the body limit, the request metrics, and the log lines
//! (errors always, the access log when configured).
//!
//! One service instead of a stack of `from_fn` layers on the router, because
//! `Router::layer` wraps every route and axum then clones and boxes each of
//! those layers for every request: the profile showed that, with the
//! per-request span, at over half of a `/healthcheck`'s instructions.
//!
//! A client's `x-request-id` is kept only if it is at most 128 visible ASCII
//! characters without spaces; anything else could forge log lines, so it is
//! replaced. Our own ids are a per-process random prefix and a counter: unique
//! across nodes, and no random-number syscall per request.

use super::client_ip::TrustedProxies;
use super::error::{ApiError, ErrorNote};
use super::github_login::DEVICE_COMPLETE_PATHS;
use crate::metrics::Metrics;
use crate::service::{within, RequestContext};
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath};
use axum::http::{HeaderName, HeaderValue, Method, Request, Uri};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tower::{Layer, Service, ServiceExt};
use tracing::{Instrument, Level};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const MAX_REQUEST_ID: usize = 128;
/// Request bodies are small JSON or forms.
const BODY_LIMIT: usize = 64 * 1024;

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

/// How the edge treats requests.
#[derive(Clone)]
pub struct EdgeConfig {
    pub access_log: AccessLog,
    /// Bound on a whole request. The device completion waits for a person up
    /// to its own bound, so for it this bounds reading the body only.
    /// `None`: unbounded.
    pub request_timeout: Option<Duration>,
    /// Where request counts and latencies go, if anywhere.
    pub metrics: Option<Arc<Metrics>>,
    /// Whose `X-Forwarded-For` names the client, for the audit log.
    pub proxies: TrustedProxies,
}

/// Filled by the router's route layer with the matched route template, so
/// the edge can label the request's metrics whatever happens to its future
/// (an answer, a timeout or a panic).
#[derive(Clone, Default)]
pub struct RouteSlot(Arc<OnceLock<MatchedPath>>);

impl RouteSlot {
    pub fn fill(&self, route: &MatchedPath) {
        let _ = self.0.set(route.clone());
    }
}

/// Wraps `routes` (usually the whole router) in the edge.
pub fn edge<S>(
    routes: S,
    config: EdgeConfig,
) -> Edge<
    impl Service<Request<Body>, Response = Response, Error = Infallible, Future: Send + 'static>
        + Clone
        + Send
        + 'static,
>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    Edge {
        inner: DefaultBodyLimit::max(BODY_LIMIT).layer(routes),
        config: Arc::new(config),
    }
}

#[derive(Clone)]
pub struct Edge<S> {
    inner: S,
    /// Shared: cloned into every request's future.
    config: Arc<EdgeConfig>,
}

/// The JSON 500 for a handler that panicked; the server keeps serving.
fn panicked(panic: Box<dyn std::any::Any + Send>) -> Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    ApiError::Internal(format!("handler panicked: {what}").into()).into_response()
}

type EdgeFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S> Service<Request<Body>> for Edge<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = EdgeFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<Body>) -> EdgeFuture {
        let started = Instant::now();
        let id = match req.headers().get(&REQUEST_ID) {
            Some(sent) if acceptable_request_id(sent) => sent.clone(),
            _ => {
                let id = generate_request_id();
                req.headers_mut().insert(REQUEST_ID, id.clone());
                id
            }
        };
        // What the audit log records of this request, for the services it
        // reaches (task-local: set for the handler's task below).
        let context = RequestContext {
            request_id: Some(id.clone()),
            address: req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|peer| self.config.proxies.client(peer.0.ip(), req.headers())),
        };
        let route = RouteSlot::default();
        req.extensions_mut().insert(route.clone());
        let method = req.method().clone();
        let uri = req.uri().clone();
        let waits_for_a_person = DEVICE_COMPLETE_PATHS.contains(&uri.path());
        // A span costs a formatted allocation per request, so it is on only
        // when debug logging is; errors and the access log name the request
        // themselves.
        let span = tracing::debug_span!(
            "request",
            request_id = %id.to_str().unwrap_or("-"),
            method = %method,
            path = %uri.path(),
        );
        let inner = self.inner.clone();
        let config = self.config.clone();
        Box::pin(async move {
            let req = match (waits_for_a_person, config.request_timeout) {
                (true, Some(limit)) => match read_body_within(req, Some(limit)).await {
                    Ok(req) => Ok(req),
                    Err(refused) => Err(refused),
                },
                _ => Ok(req),
            };
            let timeout = match waits_for_a_person {
                true => None,
                false => config.request_timeout,
            };
            let mut response = match req {
                Err(refused) => refused,
                Ok(req) if method.is_safe() || waits_for_a_person => {
                    handle(
                        within(context, inner.oneshot(req)).instrument(span),
                        timeout,
                    )
                    .await
                }
                // A write runs to its end on its own task, even when the
                // client goes away or the timeout answers first: once its
                // change has committed, what follows (evicting caches,
                // telling the other nodes) must happen too.
                // (Its body is read here first, within the timeout, so the
                // task never outlives a client that stops sending.)
                Ok(req) => match read_body_within(req, timeout).await {
                    Err(refused) => refused,
                    Ok(req) => {
                        let task =
                            tokio::spawn(within(context, inner.oneshot(req)).instrument(span));
                        let joined = async move {
                            Ok(match task.await {
                                Ok(Ok(response)) => response,
                                Ok(Err(never)) => match never {},
                                Err(failed) if failed.is_panic() => panicked(failed.into_panic()),
                                Err(_) => {
                                    ApiError::Internal("handler cancelled".into()).into_response()
                                }
                            })
                        };
                        handle(joined, timeout).await
                    }
                },
            };
            let status = response.status().as_u16();
            let elapsed = started.elapsed();
            if let Some(metrics) = &config.metrics {
                let route = route.0.get().map_or("unmatched", MatchedPath::as_str);
                metrics.request(&method, route, status, elapsed);
            }
            let line = Line {
                id: &id,
                method: &method,
                uri: &uri,
                status,
                micros: elapsed.as_micros() as u64,
            };
            if let Some(note) = response.extensions_mut().remove::<ErrorNote>() {
                line.error(&note);
            }
            if let Some(level) = config.access_log.0 {
                line.access(level);
            }
            response.headers_mut().insert(REQUEST_ID, id);
            Ok(response)
        })
    }
}

/// Runs the handler, turning a panic into a JSON 500 and, with a `timeout`,
/// a slow request into a 408.
async fn handle<F>(handled: F, timeout: Option<Duration>) -> Response
where
    F: Future<Output = Result<Response, Infallible>>,
{
    let mut handled = std::pin::pin!(handled);
    let caught = std::future::poll_fn(|cx| {
        match std::panic::catch_unwind(AssertUnwindSafe(|| handled.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(Ok(response))) => Poll::Ready(response),
            Ok(Poll::Ready(Err(never))) => match never {},
            Err(panic) => Poll::Ready(panicked(panic)),
        }
    });
    match timeout {
        None => caught.await,
        Some(limit) => tokio::time::timeout(limit, caught)
            .await
            .unwrap_or_else(|_| ApiError::RequestTimeout.into_response()),
    }
}

/// Reads the whole body first, within `limit`: a request that may then wait
/// minutes for a person must not also hold its connection with a body that
/// never finishes arriving.
async fn read_body_within(
    req: Request<Body>,
    limit: Option<Duration>,
) -> Result<Request<Body>, Response> {
    let (parts, body) = req.into_parts();
    let limit = limit.unwrap_or(Duration::MAX);
    match tokio::time::timeout(limit, axum::body::to_bytes(body, BODY_LIMIT)).await {
        Ok(Ok(bytes)) => Ok(Request::from_parts(parts, Body::from(bytes))),
        Ok(Err(_)) => Err(ApiError::PayloadTooLarge.into_response()),
        Err(_) => Err(ApiError::RequestTimeout.into_response()),
    }
}

/// What a log line says about a request: never the query string, which can
/// carry credentials.
struct Line<'a> {
    id: &'a HeaderValue,
    method: &'a Method,
    uri: &'a Uri,
    status: u16,
    micros: u64,
}

impl Line<'_> {
    fn id(&self) -> &str {
        self.id.to_str().unwrap_or("-")
    }

    fn error(&self, note: &ErrorNote) {
        let (request_id, method, path, status) = (
            self.id(),
            self.method.as_str(),
            self.uri.path(),
            self.status,
        );
        match note {
            ErrorNote::Internal(error) => tracing::error!(
                request_id = %request_id, method = %method, path = %path, status, %error,
                "request failed"
            ),
            ErrorNote::External(error) => tracing::warn!(
                request_id = %request_id, method = %method, path = %path, status, %error,
                "external service call failed"
            ),
        }
    }

    fn access(&self, level: Level) {
        let (request_id, method, path, status, micros) = (
            self.id(),
            self.method.as_str(),
            self.uri.path(),
            self.status,
            self.micros,
        );
        macro_rules! log {
            ($macro:ident) => {
                tracing::$macro!(
                    request_id = %request_id, method = %method, path = %path, status, micros,
                    "finished processing request"
                )
            };
        }
        match level {
            Level::ERROR => log!(error),
            Level::WARN => log!(warn),
            Level::INFO => log!(info),
            Level::DEBUG => log!(debug),
            Level::TRACE => log!(trace),
        }
    }
}

/// A header value a client may choose as its request id.
pub fn acceptable_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty() && bytes.len() <= MAX_REQUEST_ID && bytes.iter().all(u8::is_ascii_graphic)
}

/// `pppppppp-nnnnnnnnnnnnnnnn`: the process prefix and the counter in hex.
fn generate_request_id() -> HeaderValue {
    static PREFIX: OnceLock<u32> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let prefix = *PREFIX.get_or_init(|| u32::from_le_bytes(crate::crypto::random_bytes()));
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut buf = [b'-'; 25];
    for i in 0..8 {
        buf[7 - i] = HEX[(prefix >> (4 * i)) as usize & 15];
    }
    for i in 0..16 {
        buf[24 - i] = HEX[(n >> (4 * i)) as usize & 15];
    }
    HeaderValue::from_bytes(&buf).expect("hex is a valid header value")
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

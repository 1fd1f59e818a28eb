//! Per-client limits on the login endpoints, keyed as [`TrustedProxies`] says.

use super::client_ip::TrustedProxies;
use super::error::ApiError;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

pub struct LoginLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
    proxies: TrustedProxies,
}

impl LoginLimiter {
    pub fn per_minute(n: u32, proxies: TrustedProxies) -> Self {
        let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(n)),
            clock: DefaultClock::default(),
            proxies,
        }
    }

    /// `Err(seconds to wait)` when `ip` is over its limit.
    fn check(&self, ip: IpAddr) -> Result<(), u64> {
        self.limiter
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()).as_secs().max(1))
    }

    /// `Err(seconds to wait)` when the request's client is over its limit.
    pub fn admit(&self, req: &Request) -> Result<(), u64> {
        self.check(client_of(
            req.extensions().get(),
            req.headers(),
            &self.proxies,
        ))
    }

    /// Forgets idle clients so the table stays small.
    pub fn shrink(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

pub async fn limit(State(limiter): State<Arc<LoginLimiter>>, req: Request, next: Next) -> Response {
    match limiter.admit(&req) {
        Ok(()) => next.run(req).await,
        Err(retry_after) => ApiError::TooManyRequests { retry_after }.into_response(),
    }
}

/// The client a request counts for, as the limits see it.
pub fn client_of(
    req_peer: Option<&ConnectInfo<SocketAddr>>,
    headers: &axum::http::HeaderMap,
    proxies: &TrustedProxies,
) -> IpAddr {
    let peer = req_peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    proxies.client_key(peer, headers)
}

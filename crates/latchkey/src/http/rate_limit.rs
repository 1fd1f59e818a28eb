//! Per-client limits on the login endpoints, keyed as [`TrustedProxies`] says.

use super::client_ip::TrustedProxies;
use super::error::ApiError;
use crate::domain::AuditKind;
use crate::service::{Audit, AuditEvent};
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
    /// Where refusals are recorded, at most once a minute per address (so a
    /// flood does not become a flood of audit rows).
    audit: Option<(Audit, DefaultKeyedRateLimiter<IpAddr>)>,
}

impl LoginLimiter {
    pub fn per_minute(n: u32, proxies: TrustedProxies) -> Self {
        let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(n)),
            clock: DefaultClock::default(),
            proxies,
            audit: None,
        }
    }

    /// Refusals go to the audit log.
    pub fn audited(mut self, audit: Audit) -> Self {
        self.audit = Some((
            audit,
            RateLimiter::keyed(Quota::per_minute(NonZeroU32::MIN)),
        ));
        self
    }

    /// `Err(seconds to wait)` when `ip` is over its limit.
    fn check(&self, ip: IpAddr) -> Result<(), u64> {
        self.limiter
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()).as_secs().max(1))
    }

    /// `Err(seconds to wait)` when the request's client is over its limit.
    /// `Err` holds the seconds to wait. (The request's parts, not the
    /// request: its body is not `Sync`, so a borrow of it could not be held
    /// across the audit write.)
    pub async fn admit(
        &self,
        peer: Option<&ConnectInfo<SocketAddr>>,
        headers: &axum::http::HeaderMap,
        path: &str,
    ) -> Result<(), u64> {
        let key = client_of(peer, headers, &self.proxies);
        let retry_after = match self.check(key) {
            Ok(()) => return Ok(()),
            Err(retry_after) => retry_after,
        };
        let report = match &self.audit {
            Some((audit, reported)) if reported.check_key(&key).is_ok() => Some((
                audit,
                AuditEvent::new(AuditKind::RateLimited)
                    .outcome("refused")
                    .target(path),
            )),
            _ => None,
        };
        if let Some((audit, event)) = report {
            audit.record(event).await;
        }
        Err(retry_after)
    }

    /// Forgets idle clients so the table stays small.
    pub fn shrink(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        if let Some((_, reported)) = &self.audit {
            reported.retain_recent();
            reported.shrink_to_fit();
        }
    }
}

pub async fn limit(State(limiter): State<Arc<LoginLimiter>>, req: Request, next: Next) -> Response {
    match limiter
        .admit(req.extensions().get(), req.headers(), req.uri().path())
        .await
    {
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

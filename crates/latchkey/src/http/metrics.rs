//! The router's side of the request metrics: a `route_layer`, so it runs
//! only once a route matched, and hands the route template to the edge, which
//! records every request (answered, timed out or panicked) in one place.
//! Templates, not paths, so ids in paths cannot blow up label cardinality.

use super::edge::RouteSlot;
use axum::extract::{MatchedPath, Request};
use std::task::{Context, Poll};
use tower::{Layer, Service};

#[derive(Clone, Copy)]
pub struct TrackLayer;

impl<S> Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Track<S> {
        Track { inner }
    }
}

#[derive(Clone)]
pub struct Track<S> {
    inner: S,
}

impl<S: Service<Request>> Service<Request> for Track<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> S::Future {
        if let (Some(slot), Some(route)) = (
            req.extensions().get::<RouteSlot>(),
            req.extensions().get::<MatchedPath>(),
        ) {
            slot.fill(route);
        }
        self.inner.call(req)
    }
}

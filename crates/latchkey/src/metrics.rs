//! Prometheus metrics of one server instance.
//!
//! Each instance owns its recorder (none is installed process-wide), so two
//! servers in one process, as in the tests, never mix their numbers. Handles
//! are registered once and cached: the request path does a hash lookup and
//! two atomic updates, with no allocation after a route's first request.

use axum::http::Method;
use metrics::{Counter, Histogram, Key, Label, Metadata, Recorder};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

const REQUESTS: &str = "http_requests_total";
const DURATION: &str = "http_request_duration_seconds";
const VALIDATIONS: &str = "latchkey_token_validations_total";
const JANITOR_LAST_RUN: &str = "latchkey_janitor_last_run_timestamp_seconds";
const JANITOR_LAST_RUN_ROWS: &str = "latchkey_janitor_last_run_rows_removed";
const JANITOR_ROWS: &str = "latchkey_janitor_rows_removed_total";

/// How a presented credential fared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validation {
    Valid,
    Missing,
    Malformed,
    Unknown,
    Expired,
    Error,
}

impl Validation {
    const ALL: [Validation; 6] = [
        Validation::Valid,
        Validation::Missing,
        Validation::Malformed,
        Validation::Unknown,
        Validation::Expired,
        Validation::Error,
    ];

    fn label(self) -> &'static str {
        match self {
            Validation::Valid => "valid",
            Validation::Missing => "missing",
            Validation::Malformed => "malformed",
            Validation::Unknown => "unknown",
            Validation::Expired => "expired",
            Validation::Error => "error",
        }
    }
}

struct RouteMetric {
    method: &'static str,
    status: u16,
    requests: Counter,
    duration: Histogram,
}

pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    validations: Vec<Counter>,
    routes: RwLock<HashMap<Box<str>, Vec<RouteMetric>>>,
}

fn metadata() -> Metadata<'static> {
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()))
}

/// Only methods we know become label values; anything a client invents
/// (`curl -X M1`, `M2`, …) is one value, so labels cannot grow without end.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

impl Metrics {
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(DURATION.to_owned()), LATENCY_BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        let validations = Validation::ALL
            .iter()
            .map(|v| {
                let key = Key::from_parts(VALIDATIONS, vec![Label::new("outcome", v.label())]);
                recorder.register_counter(&key, &metadata())
            })
            .collect();
        Self {
            recorder,
            handle,
            validations,
            routes: RwLock::new(HashMap::new()),
        }
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Folds recorded histogram samples into their buckets; call periodically
    /// so memory stays flat between scrapes.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    pub fn validation(&self, outcome: Validation) {
        let index = Validation::ALL
            .iter()
            .position(|v| *v == outcome)
            .unwrap_or(0);
        self.validations[index].increment(1);
    }

    /// A finished janitor run: when (Unix seconds) and what it removed, per
    /// kind of row.
    pub fn janitor_run(&self, finished_unix: f64, removed: &[(&'static str, u64)]) {
        self.recorder
            .register_gauge(&Key::from_name(JANITOR_LAST_RUN), &metadata())
            .set(finished_unix);
        let total: u64 = removed.iter().map(|(_, n)| n).sum();
        self.recorder
            .register_gauge(&Key::from_name(JANITOR_LAST_RUN_ROWS), &metadata())
            .set(total as f64);
        for (kind, n) in removed {
            let key = Key::from_parts(JANITOR_ROWS, vec![Label::new("kind", *kind)]);
            self.recorder
                .register_counter(&key, &metadata())
                .increment(*n);
        }
    }

    /// One answered request. `route` is a route template or `unmatched`.
    pub fn request(&self, method: &Method, route: &str, status: u16, elapsed: Duration) {
        let method = method_label(method);
        let seconds = elapsed.as_secs_f64();
        {
            let routes = self.routes.read().unwrap_or_else(|e| e.into_inner());
            if let Some(m) = routes
                .get(route)
                .and_then(|v| v.iter().find(|m| m.method == method && m.status == status))
            {
                m.requests.increment(1);
                m.duration.record(seconds);
                return;
            }
        }
        let labels = vec![
            Label::new("method", method),
            Label::new("route", route.to_owned()),
            Label::new("status", status.to_string()),
        ];
        let metric = RouteMetric {
            method,
            status,
            requests: self
                .recorder
                .register_counter(&Key::from_parts(REQUESTS, labels.clone()), &metadata()),
            duration: self
                .recorder
                .register_histogram(&Key::from_parts(DURATION, labels), &metadata()),
        };
        metric.requests.increment(1);
        metric.duration.record(seconds);
        let mut routes = self.routes.write().unwrap_or_else(|e| e.into_inner());
        let entries = routes.entry(route.into()).or_default();
        if !entries
            .iter()
            .any(|m| m.method == method && m.status == status)
        {
            entries.push(metric);
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_share_one_label() {
        let metrics = Metrics::new();
        for m in ["M1", "M2", "BREW"] {
            let method = Method::from_bytes(m.as_bytes()).unwrap();
            metrics.request(&method, "unmatched", 405, Duration::from_millis(1));
        }
        let text = metrics.render();
        assert!(
            text.contains(
                r#"http_requests_total{method="OTHER",route="unmatched",status="405"} 3"#
            ),
            "{text}"
        );
        assert!(!text.contains("M1"));
    }

    #[test]
    fn cached_handles_keep_counting() {
        let metrics = Metrics::new();
        for _ in 0..3 {
            metrics.request(&Method::GET, "/healthcheck", 200, Duration::from_micros(10));
        }
        metrics.validation(Validation::Expired);
        let text = metrics.render();
        assert!(text
            .contains(r#"http_requests_total{method="GET",route="/healthcheck",status="200"} 3"#));
        assert!(text.contains(r#"latchkey_token_validations_total{outcome="expired"} 1"#));
    }
}

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn health_and_version(app: TestApp) {
    let (status, body) = json_of(
        app.client
            .get(format!("{}/healthcheck", app.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    let (status, body) = json_of(
        app.client
            .get(format!("{}/version", app.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

async fn metrics_text(app: &TestApp, base: &str) -> String {
    let response = app
        .client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    response.text().await.unwrap()
}

/// The value of the sample whose line starts with `series`, 0 if absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn metrics_count_requests_and_validations(app: TestApp) {
    // Each server has its own recorder, so these numbers are this test's alone.
    for _ in 0..2 {
        app.get("/v1/login/token", &app.admin_secret).await;
    }
    app.get("/v1/login/token", "garbage").await;
    app.get("/v1/nowhere", "garbage").await;
    for method in ["M1", "M2", "BREW"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        app.client
            .request(method, format!("{}/healthcheck", app.base))
            .send()
            .await
            .unwrap();
        app.client
            .request(
                reqwest::Method::from_bytes(b"M3").unwrap(),
                format!("{}/nowhere", app.base),
            )
            .send()
            .await
            .unwrap();
    }
    let text = metrics_text(&app, &app.base).await;
    let count = |series: &str| sample(&text, series);
    assert_eq!(
        count(r#"http_requests_total{method="GET",route="/v1/login/token",status="200"}"#),
        2.0,
        "{text}"
    );
    assert_eq!(
        count(r#"http_requests_total{method="GET",route="/v1/login/token",status="401"}"#),
        1.0,
        "{text}"
    );
    assert_eq!(
        count(r#"http_requests_total{method="GET",route="unmatched",status="404"}"#),
        1.0,
        "{text}"
    );
    // Invented methods are one label value, however many a client sends.
    assert_eq!(
        count(r#"http_requests_total{method="OTHER",route="unmatched",status="404"}"#),
        3.0,
        "{text}"
    );
    // The 405s of invented methods on a real route are counted too.
    assert_eq!(
        count(r#"http_requests_total{method="OTHER",route="unmatched",status="405"}"#),
        3.0,
        "{text}"
    );
    for invented in ["M1", "M2", "M3", "BREW"] {
        assert!(!text.contains(invented), "{text}");
    }
    assert!(
        text.contains("http_request_duration_seconds_bucket{"),
        "{text}"
    );
    assert_eq!(
        count(r#"latchkey_token_validations_total{outcome="valid"}"#),
        2.0
    );
    assert_eq!(
        count(r#"latchkey_token_validations_total{outcome="malformed"}"#),
        1.0
    );
}

async fn metrics_can_move_to_their_own_listener_or_go(backend: Backend) {
    use latchkey::config::MetricsListen;
    let app = TestApp::spawn_with(backend, |s| {
        s.http.metrics_listen = MetricsListen::Own("127.0.0.1:0".parse().unwrap());
    })
    .await;
    app.get("/v1/login/token", &app.admin_secret).await;
    assert_error(
        app.request(reqwest::Method::GET, "/metrics", None, None)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let own = app.metrics_base.clone().expect("a metrics listener");
    let text = metrics_text(&app, &own).await;
    assert_eq!(
        sample(
            &text,
            r#"http_requests_total{method="GET",route="/v1/login/token",status="200"}"#
        ),
        1.0,
        "{text}"
    );
    let app = TestApp::spawn_with(backend, |s| s.http.metrics_listen = MetricsListen::Off).await;
    assert!(app.metrics_base.is_none());
    assert_error(
        app.request(reqwest::Method::GET, "/metrics", None, None)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn openapi_documents_every_route(app: TestApp) {
    let (status, doc) = json_of(
        app.client
            .get(format!("{}/openapi.json", app.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/v1/login/token", &["get"][..]),
        ("/v1/accounts/{accountId}/tokens", &["get", "post"]),
        (
            "/v1/accounts/{accountId}/tokens/{tokenId}",
            &["get", "delete"],
        ),
        ("/v1/accounts", &["get", "post"]),
        ("/v1/accounts/{accountId}", &["get", "put", "delete"]),
        ("/v1/accounts/{accountId}/plan", &["get"]),
        ("/v1/oauth2", &["post"]),
        ("/login/oauth2/device/start", &["post"]),
        ("/login/oauth2/device/complete", &["post"]),
        ("/v1/login/oauth2/web/authorize", &["get"]),
        ("/v1/login/oauth2/web/callback/github", &["get"]),
        ("/v1/login/oauth2/web/poll", &["get"]),
        ("/v1/logout", &["post"]),
        ("/healthcheck", &["get"]),
        ("/version", &["get"]),
    ] {
        for method in methods {
            assert!(
                paths[path][method].is_object(),
                "{method} {path} undocumented"
            );
        }
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["Token"]["scheme"],
        "bearer"
    );
    let token = &doc["components"]["schemas"]["Token"]["properties"];
    for field in ["id", "accountId", "createdAt", "expiresAt"] {
        assert!(token[field].is_object(), "Token.{field}");
    }

    let response = app
        .client
        .get(format!("{}/docs", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("/v1/accounts/{accountId}/tokens"));
    assert!(!html.contains("<script src"), "docs must work offline");
}

async fn request_ids_are_set_and_propagated(app: TestApp) {
    let response = app
        .client
        .get(format!("{}/healthcheck", app.base))
        .send()
        .await
        .unwrap();
    assert!(!response.headers()["x-request-id"].is_empty());
    let response = app
        .client
        .get(format!("{}/healthcheck", app.base))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-123");
    // Ids that could forge or flood log lines are replaced, not echoed.
    for bad in [
        "two words".to_owned(),
        "x".repeat(129),
        "caf\u{e9}".to_owned(),
    ] {
        let response = app
            .client
            .get(format!("{}/healthcheck", app.base))
            .header("x-request-id", bad.as_bytes())
            .send()
            .await
            .unwrap();
        let id = response.headers()["x-request-id"].as_bytes().to_vec();
        assert_ne!(id, bad.as_bytes());
        assert!(!id.is_empty() && id.len() <= 128 && id.iter().all(u8::is_ascii_graphic));
    }
}

async fn every_path_parameter_is_in_its_template(app: TestApp) {
    let (_, doc) = json_of(
        app.client
            .get(format!("{}/openapi.json", app.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut checked = 0;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        let in_template: std::collections::BTreeSet<String> = path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
            .collect();
        for (method, operation) in operations.as_object().unwrap() {
            let declared: std::collections::BTreeSet<String> = operation["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .map(|p| p["name"].as_str().unwrap().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(declared, in_template, "{method} {path}");
            // What the edge answers for any operation is documented on each.
            let responses = operation["responses"].as_object().unwrap();
            for status in ["408", "500", "503"] {
                assert!(responses.contains_key(status), "{method} {path}: {status}");
            }
            if operation.get("requestBody").is_some() {
                assert!(responses.contains_key("413"), "{method} {path}: 413");
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked}");
}

async fn the_document_states_the_rules_the_server_enforces(app: TestApp) {
    let (_, doc) = json_of(
        app.client
            .get(format!("{}/openapi.json", app.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let param = |path: &str, method: &str, name: &str| -> Value {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{method} {path} has no {name}"))
            .clone()
    };
    let email = param("/v1/accounts", "get", "email");
    assert_eq!(email["in"], "query");
    for (path, method, name) in [
        ("/v1/oauth2", "post", "provider"),
        ("/v1/oauth2", "post", "access-token"),
        ("/v1/login/oauth2/web/authorize", "get", "provider"),
        ("/v1/login/oauth2/web/callback/github", "get", "state"),
        ("/v1/login/oauth2/web/poll", "get", "state"),
    ] {
        assert_eq!(param(path, method, name)["required"], true, "{path} {name}");
    }
    let provider = &doc["components"]["schemas"]["Provider"];
    assert_eq!(provider["enum"], json!(["github"]), "{provider}");
    let name = &doc["components"]["schemas"]["AccountData"]["properties"]["name"];
    assert_eq!(name["minLength"], 1);
    assert_eq!(name["maxLength"], 200);
}

backend_tests!(
    health_and_version,
    metrics_count_requests_and_validations,
    openapi_documents_every_route,
    request_ids_are_set_and_propagated,
    every_path_parameter_is_in_its_template,
    the_document_states_the_rules_the_server_enforces,
);

backend_fns!(metrics_can_move_to_their_own_listener_or_go);

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

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

async fn metrics_count_requests_and_validations(app: TestApp) {
    app.get("/v1/login/token", &app.admin_secret).await;
    app.get("/v1/login/token", "garbage").await;
    app.get("/v1/nowhere", "garbage").await;
    let response = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = response.text().await.unwrap();
    let has = |needle: &str| text.lines().any(|l| l.contains(needle));
    assert!(
        has(r#"http_requests_total{method="GET",route="/v1/login/token",status="200"}"#),
        "{text}"
    );
    assert!(
        has(r#"http_requests_total{method="GET",route="/v1/login/token",status="401"}"#),
        "{text}"
    );
    assert!(has(r#"route="unmatched",status="404""#), "{text}");
    assert!(has("http_request_duration_seconds_bucket{"), "{text}");
    assert!(
        has(r#"latchkey_token_validations_total{outcome="valid"}"#),
        "{text}"
    );
    assert!(
        has(r#"latchkey_token_validations_total{outcome="malformed"}"#),
        "{text}"
    );
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
}

backend_tests!(
    health_and_version,
    metrics_count_requests_and_validations,
    openapi_documents_every_route,
    request_ids_are_set_and_propagated,
);

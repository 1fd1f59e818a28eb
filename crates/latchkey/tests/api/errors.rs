use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::{Connection, Executor};

async fn malformed_requests_get_json_400s(app: TestApp) {
    let tokens = format!("/v1/accounts/{}/tokens", app.admin_id);
    let raw = |body: &'static str, content_type: Option<&'static str>| {
        let mut req = app
            .client
            .post(format!("{}{}", app.base, tokens))
            .bearer_auth(&app.admin_secret)
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req.send()
    };
    assert_invalid(raw("{not json", Some("application/json")).await.unwrap()).await;
    assert_invalid(raw("", Some("application/json")).await.unwrap()).await;
    assert_invalid(
        raw(
            r#"{"expiresAt": "2100-01-01T00:00:00Z"}"#,
            Some("text/plain"),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_invalid(
        raw(r#"{"expiresAt": "2100-01-01T00:00:00Z"}"#, None)
            .await
            .unwrap(),
    )
    .await;
    // Nothing was created by any of them.
    let (_, listed) = json_of(app.get(&tokens, &app.admin_secret).await).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

async fn bad_ids_in_paths_get_400(app: TestApp) {
    for path in [
        "/v1/accounts/not-a-uuid".to_owned(),
        "/v1/accounts/123/tokens".to_owned(),
        format!("/v1/accounts/{}/tokens/nope", app.admin_id),
    ] {
        assert_invalid(app.get(&path, &app.admin_secret).await).await;
    }
}

async fn unknown_routes_and_methods_get_json(app: TestApp) {
    let body = assert_error(
        app.get("/v1/nowhere", &app.admin_secret).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(body["error"], "Not found");
    let response = app
        .request(
            reqwest::Method::PATCH,
            "/v1/login/token",
            Some(&app.admin_secret),
            None,
        )
        .await;
    assert_error(response, StatusCode::METHOD_NOT_ALLOWED).await;
    let response = app
        .request(reqwest::Method::POST, "/healthcheck", None, None)
        .await;
    assert_error(response, StatusCode::METHOD_NOT_ALLOWED).await;
}

async fn oversized_bodies_are_refused(app: TestApp) {
    let huge = "x".repeat(200 * 1024);
    let response = app
        .post(
            &format!("/v1/accounts/{}/tokens", app.admin_id),
            &app.admin_secret,
            json!({"expiresAt": huge}),
        )
        .await;
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE).await;
}

async fn internal_errors_leak_nothing(app: TestApp) {
    let (_, secret) = app.user_with_token("Z", "z@example.com").await;
    // Break the schema under the running server; the secret is not cached yet.
    let mut conn = sqlx::AnyConnection::connect(&app.settings.database.url.0)
        .await
        .unwrap();
    conn.execute("DROP TABLE tokens").await.unwrap();
    conn.close().await.ok();
    let response = app.get("/v1/login/token", &secret).await;
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, json!({"error": "Internal server error"}));
}

backend_tests!(
    malformed_requests_get_json_400s,
    bad_ids_in_paths_get_400,
    unknown_routes_and_methods_get_json,
    oversized_bodies_are_refused,
    internal_errors_leak_nothing,
);

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// Every protected route, with a body where one is needed.
fn protected_routes(account: &str, token: &str) -> Vec<(Method, String)> {
    vec![
        (Method::GET, "/v1/login/token".into()),
        (Method::GET, format!("/v1/accounts/{account}/tokens")),
        (Method::POST, format!("/v1/accounts/{account}/tokens")),
        (
            Method::GET,
            format!("/v1/accounts/{account}/tokens/{token}"),
        ),
        (
            Method::DELETE,
            format!("/v1/accounts/{account}/tokens/{token}"),
        ),
        (Method::GET, "/v1/accounts".into()),
        (Method::POST, "/v1/accounts".into()),
        (Method::GET, format!("/v1/accounts/{account}")),
        (Method::PUT, format!("/v1/accounts/{account}")),
        (Method::DELETE, format!("/v1/accounts/{account}")),
        (Method::GET, format!("/v1/accounts/{account}/plan")),
    ]
}

async fn every_protected_route_demands_a_valid_token(app: TestApp) {
    let listed = app.list_tokens(&app.admin_id, &app.admin_secret).await;
    let token = listed[0]["id"].as_str().unwrap().to_owned();
    let body = json!({"expiresAt": FAR_FUTURE, "name": "x", "email": "x@example.com"});
    let unknown = uuid::Uuid::new_v4().to_string();
    for (method, path) in protected_routes(&app.admin_id, &token) {
        // No credentials: a bare challenge.
        let response = app
            .request(method.clone(), &path, None, Some(body.clone()))
            .await;
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer realm="latchkey""#,
            "{method} {path}"
        );
        assert_unauthorized(response).await;
        for secret in ["not-a-uuid", unknown.as_str(), ""] {
            let response = app
                .request(method.clone(), &path, Some(secret), Some(body.clone()))
                .await;
            assert_unauthorized(response).await;
        }
        let response = app
            .client
            .request(method.clone(), format!("{}{}", app.base, path))
            .header("authorization", format!("Basic {}", app.admin_secret))
            .send()
            .await
            .unwrap();
        assert_unauthorized(response).await;
    }
    // Nothing above changed anything: the admin and its token are intact.
    assert_eq!(
        app.get("/v1/login/token", &app.admin_secret).await.status(),
        StatusCode::OK
    );
    let (_, accounts) = json_of(app.get("/v1/accounts", &app.admin_secret).await).await;
    assert_eq!(accounts["values"].as_array().unwrap().len(), 1);
}

async fn invalid_token_challenge_names_the_error(app: TestApp) {
    let response = app
        .get("/v1/login/token", &uuid::Uuid::new_v4().to_string())
        .await;
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer realm="latchkey", error="invalid_token""#
    );
    let (_, body) = json_of(response).await;
    assert_eq!(body["error"], "Invalid token");
}

async fn bearer_scheme_is_case_insensitive(app: TestApp) {
    let response = app
        .client
        .get(format!("{}/v1/login/token", app.base))
        .header("authorization", format!("bearer {}", app.admin_secret))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

async fn deleting_an_account_revokes_its_tokens_at_once(app: TestApp) {
    let (user, secret) = app.user_with_token("Hal", "hal@example.com").await;
    // Warm the validation cache first.
    for _ in 0..3 {
        assert_eq!(
            app.get("/v1/login/token", &secret).await.status(),
            StatusCode::OK
        );
    }
    let (status, body) = json_of(
        app.delete(&format!("/v1/accounts/{user}"), &app.admin_secret)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({}));
    assert_unauthorized(app.get("/v1/login/token", &secret).await).await;
    assert_error(
        app.get(&format!("/v1/accounts/{user}"), &app.admin_secret)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn deleted_tokens_fail_on_the_next_request_under_load(app: TestApp) {
    let (user, secret) = app.user_with_token("Ivy", "ivy@example.com").await;
    let (_, me) = json_of(app.get("/v1/login/token", &secret).await).await;
    let id = me["id"].as_str().unwrap().to_owned();
    // Validations race the deletion; once it has answered, none may succeed.
    let validated = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let hammer = {
        let client = app.client.clone();
        let url = format!("{}/v1/login/token", app.base);
        let secret = secret.clone();
        let validated = validated.clone();
        tokio::spawn(async move {
            for _ in 0..50 {
                let response = client.get(&url).bearer_auth(&secret).send().await;
                if response.is_ok_and(|r| r.status() == StatusCode::OK) {
                    validated.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        })
    };
    // The deletion goes in while validations are in flight.
    eventually("a validation under load", || {
        validated.load(std::sync::atomic::Ordering::SeqCst) > 0
    })
    .await;
    let response = app
        .delete(&format!("/v1/accounts/{user}/tokens/{id}"), &secret)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    for _ in 0..20 {
        assert_unauthorized(app.get("/v1/login/token", &secret).await).await;
    }
    hammer.await.unwrap();
    assert_unauthorized(app.get("/v1/login/token", &secret).await).await;
}

async fn the_header_wins_over_the_cookie(app: TestApp) {
    let (user, user_secret) = app.user_with_token("Una", "una@example.com").await;
    let as_cookie = format!("latchkey_session={}", app.admin_secret);
    // A valid cookie does not rescue a bad header.
    let response = app
        .client
        .get(format!("{}/v1/login/token", app.base))
        .header("cookie", &as_cookie)
        .bearer_auth(uuid::Uuid::new_v4().to_string())
        .send()
        .await
        .unwrap();
    assert_unauthorized(response).await;
    // With both valid, the header's account acts.
    let response = app
        .client
        .get(format!("{}/v1/login/token", app.base))
        .header("cookie", &as_cookie)
        .bearer_auth(&user_secret)
        .send()
        .await
        .unwrap();
    let (status, me) = json_of(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["accountId"], user.as_str());
}

async fn logout_with_a_bearer_token_ends_that_token(app: TestApp) {
    let (user, first) = app.user_with_token("Val", "val@example.com").await;
    let second = app.create_token(&app.admin_secret, &user, FAR_FUTURE).await;
    let second = second["secret"]["value"].as_str().unwrap();
    let response = app
        .request(Method::POST, "/v1/logout", Some(&first), None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_unauthorized(app.get("/v1/login/token", &first).await).await;
    // Only the token that logged out.
    assert_eq!(
        app.get("/v1/login/token", second).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.list_tokens(&user, second)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// `--token-cache-capacity` bounds the cache: at 0 every check reads the
/// table, so a row removed behind the server's back is refused at once,
/// where the default cache keeps the verdict until its TTL.
async fn the_token_cache_capacity_is_honoured(backend: Backend) {
    for (capacity, still_valid) in [(0, false), (100_000, true)] {
        let app = TestApp::spawn_with(backend, |s| s.token_cache.capacity = capacity).await;
        let (user, secret) = app.user_with_token("Cai", "cai@example.com").await;
        assert_eq!(
            app.get("/v1/login/token", &secret).await.status(),
            StatusCode::OK
        );
        app.sql(&format!("DELETE FROM tokens WHERE account_id = '{user}'"))
            .await;
        let status = app.get("/v1/login/token", &secret).await.status();
        assert_eq!(status == StatusCode::OK, still_valid, "capacity {capacity}");
    }
}

backend_fns!(the_token_cache_capacity_is_honoured);

backend_tests!(
    the_header_wins_over_the_cookie,
    logout_with_a_bearer_token_ends_that_token,
    every_protected_route_demands_a_valid_token,
    invalid_token_challenge_names_the_error,
    bearer_scheme_is_case_insensitive,
    deleting_an_account_revokes_its_tokens_at_once,
    deleted_tokens_fail_on_the_next_request_under_load,
);

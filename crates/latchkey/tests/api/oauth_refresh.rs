//! Refresh rotation at its edges, and revocation of what a user approved:
//! holes a review found, each replayed as the attack it describes.

use crate::helpers::*;
use crate::oauth_support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

/// hubot's first pair from `client` for `scope`.
async fn first_pair(app: &TestApp, client: &Client, scope: &str) -> Value {
    let mut browser = sign_in(app, "hubot").await;
    tokens_for(app, &mut browser, client, scope).await
}

async fn refresh(
    app: &TestApp,
    client: &Client,
    token: &Value,
    scope: Option<&str>,
) -> (StatusCode, Value) {
    let token = token.as_str().unwrap();
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    token_request(app, "/oauth/token", client, &form).await
}

async fn narrowing_keeps_the_refresh_tokens_scope(app: TestApp) {
    // RFC 6749 §6: the new refresh token's scope is identical to the old
    // one's; only the access token narrows.
    let client = register(&app, false, json!({})).await;
    let pair = first_pair(&app, &client, "profile email tokens:read").await;
    let (status, narrowed) = refresh(&app, &client, &pair["refresh_token"], Some("profile")).await;
    assert_eq!(status, StatusCode::OK, "{narrowed}");
    assert_eq!(narrowed["scope"], "profile");
    let (status, wide_again) = refresh(
        &app,
        &client,
        &narrowed["refresh_token"],
        Some("profile email"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{wide_again}");
    assert_eq!(wide_again["scope"], "profile email");
    let (status, all) = refresh(&app, &client, &wide_again["refresh_token"], None).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["scope"], "tokens:read profile email");
    // Never more than was granted.
    let (status, wider) =
        refresh(&app, &client, &all["refresh_token"], Some("account:write")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(wider["error"], "invalid_scope");
}

async fn a_narrowed_client_gets_narrower_tokens(app: TestApp) {
    let client = register(&app, false, json!({})).await;
    let pair = first_pair(&app, &client, "profile email tokens:read").await;
    let update = app
        .put(
            &format!("/v1/oauth/clients/{}", client.id),
            &app.admin_secret,
            json!({"name": "Test App", "redirectUris": [client.redirect], "scopes": ["profile"]}),
        )
        .await;
    assert_eq!(update.status(), StatusCode::OK);
    // Tokens issued under the wider scopes stop at once.
    assert_unauthorized(
        app.get("/oauth/userinfo", pair["access_token"].as_str().unwrap())
            .await,
    )
    .await;
    let (status, refreshed) = refresh(&app, &client, &pair["refresh_token"], None).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(refreshed["scope"], "profile");
    let access = refreshed["access_token"].as_str().unwrap();
    let (_, info) = json_of(app.get("/oauth/userinfo", access).await).await;
    assert!(info.get("email").is_none(), "{info}");
    // Nothing left that the client may ask for: refused.
    let update = app
        .put(
            &format!("/v1/oauth/clients/{}", client.id),
            &app.admin_secret,
            json!({"name": "Test App", "redirectUris": [client.redirect], "scopes": ["account:write"]}),
        )
        .await;
    assert_eq!(update.status(), StatusCode::OK);
    let (status, body) = refresh(&app, &client, &refreshed["refresh_token"], None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_scope");
}

async fn a_retry_never_returns_revoked_tokens(app: TestApp) {
    let client = register(&app, false, json!({})).await;
    let pair = first_pair(&app, &client, "profile").await;
    let (status, rotated) = refresh(&app, &client, &pair["refresh_token"], None).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let revoked = token_request(
        &app,
        "/oauth/revoke",
        &client,
        &[("token", rotated["access_token"].as_str().unwrap())],
    )
    .await;
    assert_eq!(revoked.0, StatusCode::OK);
    let (status, retried) = refresh(&app, &client, &pair["refresh_token"], None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{retried}");
    assert_eq!(retried["error"], "invalid_grant");
    // Not a theft: the rest of the family still works.
    let (status, next) = refresh(&app, &client, &rotated["refresh_token"], None).await;
    assert_eq!(status, StatusCode::OK, "{next}");
}

async fn revoking_stops_an_approved_device_that_has_not_polled(app: TestApp) {
    let client = register(&app, true, json!({})).await;
    let (status, started) = token_request(
        &app,
        "/oauth/device_authorization",
        &client,
        &[("scope", "profile")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let mut browser = sign_in(&app, "hubot").await;
    let user_code = started["user_code"].as_str().unwrap();
    let done = decide_device(&mut browser, user_code, "approve").await;
    assert_eq!(done.status(), StatusCode::OK);
    // The user changes their mind before the device polls (an admin may
    // act for them; the route is the same).
    assert_eq!(app.number("SELECT COUNT(*) FROM oauth_consents").await, 1);
    let mut db = app.db().await;
    let account: String = sqlx::query_scalar("SELECT account_id FROM oauth_consents")
        .fetch_one(&mut db)
        .await
        .unwrap();
    let response = app
        .delete(
            &format!("/v1/accounts/{account}/authorizations/{}", client.id),
            &app.admin_secret,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    app.settings.clock.advance(Duration::from_secs(6));
    let (status, body) = token_request(
        &app,
        "/oauth/token",
        &client,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", started["device_code"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.get("access_token").is_none(), "{body}");
    assert_eq!(
        app.number("SELECT COUNT(*) FROM oauth_access_tokens").await,
        0
    );
}

backend_tests!(
    narrowing_keeps_the_refresh_tokens_scope,
    a_narrowed_client_gets_narrower_tokens,
    a_retry_never_returns_revoked_tokens,
    revoking_stops_an_approved_device_that_has_not_polled,
);

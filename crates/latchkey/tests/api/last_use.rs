//! Last use: API tokens and OAuth grants record it, written in batches off
//! the request path and at most once a minute per token.

use crate::helpers::*;
use crate::oauth_support::{register, sign_in, tokens_for};
use serde_json::{json, Value};
use std::time::Duration;

async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |s| s.last_use_flush = Duration::from_millis(50)).await
}

/// The token's `lastUsedAt` once the writer has run, polling a little.
async fn last_used(app: &TestApp, user: &str, secret: &str, id: &str) -> Option<String> {
    for _ in 0..40 {
        let list = app.list_tokens(user, secret).await;
        let token = list
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .cloned()
            .unwrap_or(Value::Null);
        if let Some(at) = token["lastUsedAt"].as_str() {
            return Some(at.to_owned());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

async fn api_tokens_record_their_last_use(backend: Backend) {
    let app = spawn(backend).await;
    let (user, secret) = app.user_with_token("Lu", "lu@example.com").await;
    let other = app.create_token(&app.admin_secret, &user, FAR_FUTURE).await;
    let other_id = other["data"]["id"].as_str().unwrap().to_owned();
    // Never used: no field at all, so the Golem shape is unchanged.
    assert!(other["data"].get("lastUsedAt").is_none(), "{other}");
    let other_secret = other["secret"]["value"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("/v1/login/token", &other_secret).await.status(),
        reqwest::StatusCode::OK
    );
    let first = last_used(&app, &user, &secret, &other_id)
        .await
        .expect("lastUsedAt after a use");
    // Another use within the minute writes nothing new.
    tokio::time::sleep(Duration::from_millis(20)).await;
    app.get("/v1/login/token", &other_secret).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        last_used(&app, &user, &secret, &other_id).await.as_deref(),
        Some(first.as_str())
    );
    // A use a minute after the recorded one is written again.
    app.settings.clock.advance(Duration::from_secs(61));
    app.get("/v1/login/token", &other_secret).await;
    let mut later = first.clone();
    for _ in 0..40 {
        later = last_used(&app, &user, &secret, &other_id).await.unwrap();
        if later > first {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(later > first, "{later} after {first}");
}

async fn grants_record_their_last_use(backend: Backend) {
    let app = spawn(backend).await;
    let client = register(&app, false, json!({})).await;
    let mut browser = sign_in(&app, "hubot").await;
    let tokens = tokens_for(&app, &mut browser, &client, "account:read").await;
    let access = tokens["access_token"].as_str().unwrap();
    // Issuance counts as a use; make it old, before the token is validated.
    app.sql("UPDATE oauth_grants SET last_used_at = 1").await;
    let (_, me) = json_of(app.get("/v1/login/token", access).await).await;
    let account = me["accountId"].as_str().unwrap().to_owned();
    let mut last = Value::Null;
    for _ in 0..40 {
        let (_, apps) = json_of(
            app.get(
                &format!("/v1/accounts/{account}/authorizations"),
                &app.admin_secret,
            )
            .await,
        )
        .await;
        last = apps["values"][0]["lastUsedAt"].clone();
        if last.as_str().is_some_and(|at| at > "2000") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(last.as_str().is_some_and(|at| at > "2000"), "{last}");
}

backend_fns!(
    api_tokens_record_their_last_use,
    grants_record_their_last_use
);

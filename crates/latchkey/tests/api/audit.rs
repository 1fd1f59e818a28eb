//! The audit log: every kind of security event is recorded with who acted,
//! which account it concerns, the client's address and the request id, and
//! never a secret; admins read it in pages, filtered by account and time.

use crate::helpers::*;
use crate::oauth_support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const KINDS: [&str; 16] = [
    "login",
    "account.created",
    "account.updated",
    "account.deleted",
    "client.updated",
    "code.reuse_detected",
    "token.created",
    "token.deleted",
    "client.created",
    "client.deleted",
    "client.secret_rotated",
    "role.changed",
    "consent.granted",
    "consent.revoked",
    "refresh.reuse_detected",
    "rate_limit.refused",
];

async fn audit(app: &TestApp, query: &str) -> Value {
    let (status, page) = json_of(
        app.get(&format!("/v1/audit{query}"), &app.admin_secret)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

fn events<'a>(page: &'a Value, kind: &str) -> Vec<&'a Value> {
    page["values"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

async fn every_security_event_is_audited(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.login.rate_limit_per_minute = 20).await;
    // An API token made by the admin for a user, then deleted.
    let user = app.create_user("Aud", "aud@example.com").await;
    let response = app
        .post(
            &format!("/v1/accounts/{user}/tokens"),
            &app.admin_secret,
            json!({"expiresAt": FAR_FUTURE}),
        )
        .await;
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let (_, created) = json_of(response).await;
    let secret = created["secret"]["value"].as_str().unwrap().to_owned();
    let token_id = created["data"]["id"].as_str().unwrap().to_owned();
    // The user is made an admin and back.
    for role in ["admin", "user"] {
        let response = app
            .put(
                &format!("/v1/accounts/{user}/role"),
                &app.admin_secret,
                json!({ "role": role }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    // A browser login (web flow) and a failed access-token login.
    let mut browser = sign_in(&app, "octocat").await;
    let failed = app
        .request(
            Method::POST,
            "/v1/oauth2?provider=github&access-token=gho_made_up",
            None,
            None,
        )
        .await;
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    // A client: registered, its secret rotated, consented to, its refresh
    // token replayed after the grace window, the consent revoked, deleted.
    let mut client = register(&app, false, json!({})).await;
    let (_, rotated) = json_of(
        app.post(
            &format!("/v1/oauth/clients/{}/secret", client.id),
            &app.admin_secret,
            json!({}),
        )
        .await,
    )
    .await;
    let client_secret = rotated["clientSecret"].as_str().unwrap().to_owned();
    client.secret = Some(client_secret.clone());
    let tokens = tokens_for(&app, &mut browser, &client, "profile").await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
    ];
    assert_eq!(
        token_request(&app, "/oauth/token", &client, &form).await.0,
        StatusCode::OK
    );
    app.settings.clock.advance(Duration::from_secs(31));
    let (status, reused) = token_request(&app, "/oauth/token", &client, &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reused}");
    let logins = audit(&app, "").await;
    let octocat = events(&logins, "login")
        .iter()
        .find(|e| e["outcome"] == "success")
        .map(|e| e["accountId"].as_str().unwrap().to_owned())
        .expect("the browser login");
    // (Consent again: the reuse revoked the grant, and with it the consent.)
    tokens_for(&app, &mut browser, &client, "profile").await;
    // A silent re-approval of the same scopes is no new consent.
    let granted = events(&audit(&app, "?limit=500").await, "consent.granted").len();
    let (code, verifier) = code_for(&mut browser, &client, "profile").await;
    assert_eq!(
        events(&audit(&app, "?limit=500").await, "consent.granted").len(),
        granted
    );
    // That code, exchanged twice: the replay revokes the grant.
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", client.redirect.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    assert_eq!(
        token_request(&app, "/oauth/token", &client, &exchange)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        token_request(&app, "/oauth/token", &client, &exchange)
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    tokens_for(&app, &mut browser, &client, "profile").await;
    // The client's redirect URIs change; an account is renamed, then deleted.
    let changed = app
        .put(
            &format!("/v1/oauth/clients/{}", client.id),
            &app.admin_secret,
            json!({"name": "Test App", "redirectUris": [client.redirect]}),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let gone = app.create_user("Gone", "gone@example.com").await;
    let renamed = app
        .put(
            &format!("/v1/accounts/{gone}"),
            &app.admin_secret,
            json!({"name": "Gone Soon", "email": "gone@example.com"}),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    let deleted = app
        .delete(&format!("/v1/accounts/{gone}"), &app.admin_secret)
        .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    let revoked = app
        .delete(
            &format!("/v1/accounts/{octocat}/authorizations/{}", client.id),
            &app.admin_secret,
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    let deleted = app
        .delete(
            &format!("/v1/oauth/clients/{}", client.id),
            &app.admin_secret,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    let deleted = app
        .delete(
            &format!("/v1/accounts/{user}/tokens/{token_id}"),
            &app.admin_secret,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    // A flood past the login limit: refused, and recorded once, not per request.
    let mut refusals = 0;
    for _ in 0..30 {
        let response = app
            .request(Method::POST, "/login/oauth2/device/start", None, None)
            .await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refusals += 1;
        }
    }
    assert!(refusals >= 5, "{refusals}");

    let log = audit(&app, "?limit=500").await;
    for kind in KINDS {
        assert!(!events(&log, kind).is_empty(), "no {kind} event in {log}");
    }
    for event in log["values"].as_array().unwrap() {
        assert_eq!(event["address"], "127.0.0.1", "{event}");
        assert!(event["requestId"].is_string(), "{event}");
        assert!(event["at"].is_string(), "{event}");
    }
    let made = events(&log, "token.created")
        .into_iter()
        .find(|e| e["target"] == token_id.as_str())
        .expect("the token's creation");
    assert_eq!(made["actorId"], app.admin_id.as_str());
    assert_eq!(made["accountId"], user.as_str());
    assert_eq!(made["requestId"], request_id.as_str());
    let role_changes = events(&log, "role.changed");
    assert_eq!(role_changes.len(), 2);
    assert!(role_changes.iter().all(|e| e["accountId"] == user.as_str()));
    let logins = events(&log, "login");
    let web = logins.iter().find(|e| e["outcome"] == "success").unwrap();
    assert_eq!(web["detail"]["method"], "web_flow");
    assert_eq!(web["detail"]["githubId"], 1001);
    let refused = logins.iter().find(|e| e["outcome"] != "success").unwrap();
    assert_eq!(refused["detail"]["method"], "access_token");
    assert!(refused.get("accountId").is_none(), "{refused}");
    assert_eq!(events(&log, "rate_limit.refused").len(), 1);
    assert_eq!(
        events(&log, "rate_limit.refused")[0]["target"],
        "/login/oauth2/device/start"
    );
    let reuse = events(&log, "refresh.reuse_detected");
    assert_eq!(reuse[0]["accountId"], octocat.as_str());
    assert_eq!(reuse[0]["target"], client.id.as_str());
    // Never a secret.
    let text = log.to_string();
    for secret in [&secret, &client_secret, &refresh_token] {
        assert!(!text.contains(secret.as_str()), "a secret in the log");
    }
    let access = tokens["access_token"].as_str().unwrap();
    assert!(!text.contains(access));
}

async fn the_log_is_for_admins_in_pages(app: TestApp) {
    let (user, secret) = app.user_with_token("Pam", "pam@example.com").await;
    for _ in 0..3 {
        app.create_token(&app.admin_secret, &app.admin_id, FAR_FUTURE)
            .await;
    }
    assert_error(app.get("/v1/audit", &secret).await, StatusCode::FORBIDDEN).await;
    for bad in [
        "?limit=0",
        "?limit=501",
        "?limit=x",
        "?account=nope",
        "?since=yesterday",
        "?before=nope",
        "?surprise=1",
    ] {
        assert_invalid(app.get(&format!("/v1/audit{bad}"), &app.admin_secret).await).await;
    }
    // Pages of two, newest first, cover everything once.
    let all = audit(&app, "").await["values"].as_array().unwrap().clone();
    assert!(all.len() >= 4, "{all:?}");
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let page = audit(&app, &query).await;
        let values = page["values"].as_array().unwrap();
        assert!(values.len() <= 2);
        seen.extend(values.iter().map(|e| e["id"].clone()));
        match page["next"].as_str() {
            Some(next) => query = format!("?limit=2&before={next}"),
            None => break,
        }
    }
    let ids: Vec<Value> = all.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(seen, ids);
    // By account: the user's creation and their token (made for them), and
    // nothing of the admin's own tokens.
    let theirs = audit(&app, &format!("?account={user}")).await;
    let kinds: Vec<&str> = theirs["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["token.created", "account.created"]);
    // Since: nothing from the future.
    let later = audit(&app, "?since=2999-01-01T00:00:00Z").await;
    assert!(later["values"].as_array().unwrap().is_empty());
    assert!(later.get("next").is_none());
}

backend_fns!(every_security_event_is_audited);
backend_tests!(the_log_is_for_admins_in_pages);

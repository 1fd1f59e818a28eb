//! The token, revocation, introspection and metadata endpoints' rules and
//! error shapes (RFC 6749 §2.3.1, §5; RFC 7009; RFC 7662; RFC 8414).

use crate::helpers::*;
use crate::oauth_support::*;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

async fn post(
    app: &TestApp,
    path: &str,
    req: reqwest::RequestBuilder,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let _ = (app, path);
    let response = req.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

async fn client_authentication_rules(app: TestApp) {
    let client = register(&app, false, json!({})).await;
    let secret = client.secret.clone().unwrap();
    let url = format!("{}/oauth/token", app.base);
    let cc = [("grant_type", "client_credentials")];
    // Basic alone works; the answer is never cached.
    let (status, headers, body) = post(
        &app,
        "/oauth/token",
        app.client
            .post(&url)
            .header("authorization", basic(&client.id, &secret))
            .form(&cc),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    // Two methods at once: invalid_request.
    let (status, _, body) = post(
        &app,
        "",
        app.client
            .post(&url)
            .header("authorization", basic(&client.id, &secret))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_secret", secret.as_str()),
            ]),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    // A wrong secret by Basic: 401 with a challenge.
    let (status, headers, body) = post(
        &app,
        "",
        app.client
            .post(&url)
            .header("authorization", basic(&client.id, "lk_cs_wrong"))
            .form(&cc),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    assert!(body["error_description"].is_string());
    // A wrong secret posted: 401, no challenge.
    let (status, headers, body) = post(
        &app,
        "",
        app.client.post(&url).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client.id.as_str()),
            ("client_secret", "lk_cs_wrong"),
        ]),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    assert!(headers.get("www-authenticate").is_none());
    // A confidential client without its secret, or nobody at all.
    for form in [
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", client.id.as_str()),
        ],
        vec![("grant_type", "client_credentials")],
    ] {
        let (status, _, body) = post(&app, "", app.client.post(&url).form(&form)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_client"))
        );
    }
    // A public client sending a secret it cannot have.
    let public = register(&app, true, json!({})).await;
    let (status, _, body) = post(
        &app,
        "",
        app.client.post(&url).form(&[
            ("grant_type", "refresh_token"),
            ("client_id", public.id.as_str()),
            ("client_secret", secret.as_str()),
        ]),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
}

async fn malformed_token_requests(app: TestApp) {
    let client = register(&app, false, json!({})).await;
    let url = format!("{}/oauth/token", app.base);
    let secret = client.secret.clone().unwrap();
    for (req, expected) in [
        // JSON instead of a form.
        (
            app.client.post(&url).json(&json!({"grant_type": "client_credentials", "client_id": client.id, "client_secret": secret})),
            "invalid_request",
        ),
        // A parameter twice.
        (
            app.client
                .post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("grant_type=client_credentials&grant_type=password&client_id={}&client_secret={secret}", client.id)),
            "invalid_request",
        ),
        (
            app.client.post(&url).form(&[("grant_type", "password"), ("client_id", client.id.as_str()), ("client_secret", secret.as_str())]),
            "unsupported_grant_type",
        ),
        (
            app.client.post(&url).form(&[("client_id", client.id.as_str()), ("client_secret", secret.as_str())]),
            "invalid_request",
        ),
        (
            app.client.post(&url).form(&[("grant_type", "authorization_code"), ("code", "lk_ac_nonsense"), ("client_id", client.id.as_str()), ("client_secret", secret.as_str())]),
            "invalid_grant",
        ),
    ] {
        let (status, _, body) = post(&app, "", req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{expected}: {body}");
        assert_eq!(body["error"], expected);
        assert!(body["error_description"].is_string());
    }
}

/// GoCD's example (seed 004): `/go/oauth/token` and `grant_type=authorization-code`.
async fn gocd_token_path_and_spelling(app: TestApp) {
    let client = register(&app, false, json!({})).await;
    let mut browser = sign_in(&app, "hubot").await;
    let (code, verifier) = code_for(&mut browser, &client, "account:read").await;
    let (status, body) = token_request(
        &app,
        "/go/oauth/token",
        &client,
        &[
            ("grant_type", "authorization-code"),
            ("code", &code),
            ("redirect_uri", &client.redirect),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // GoCD's way of presenting it.
    let response = app
        .client
        .get(format!("{}/v1/login/token", app.base))
        .header(
            "authorization",
            format!("Token token=\"{}\"", body["access_token"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

async fn expired_codes_are_refused(app: TestApp) {
    let client = register(&app, false, json!({})).await;
    let mut browser = sign_in(&app, "hubot").await;
    let (code, verifier) = code_for(&mut browser, &client, "account:read").await;
    app.settings.clock.advance(Duration::from_secs(61));
    let (status, body) = token_request(
        &app,
        "/oauth/token",
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &client.redirect),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

async fn introspection(app: TestApp) {
    let client = register(&app, false, json!({"resourceServer": true})).await;
    let introspect = |token: &str| {
        let (app, client, token) = (&app, &client, token.to_owned());
        async move { token_request(app, "/oauth/introspect", client, &[("token", &token)]).await }
    };
    // A Token API token: active, with its account as sub and username.
    let (status, body) = introspect(&app.admin_secret).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], app.admin_id.as_str());
    assert_eq!(body["username"], "admin@localhost");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["iss"], app.base.as_str());
    assert!(body["exp"].as_i64().unwrap() > body["iat"].as_i64().unwrap());
    // Unknown, malformed, or a code: exactly {"active": false}.
    for token in [
        "nonsense",
        &uuid::Uuid::new_v4().to_string(),
        "lk_at_0000000000000000000000000000000000000000000000000",
    ] {
        let (status, body) = introspect(token).await;
        assert_eq!(
            (status, body),
            (StatusCode::OK, json!({"active": false})),
            "{token}"
        );
    }
    // Expired: inactive.
    let (user, _) = app.user_with_token("Ina", "ina@example.com").await;
    let soon = (chrono::Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339();
    let token = app.create_token(&app.admin_secret, &user, &soon).await;
    let secret = token["secret"]["value"].as_str().unwrap();
    assert_eq!(introspect(secret).await.1["active"], true);
    app.settings.clock.advance(Duration::from_secs(7200));
    assert_eq!(introspect(secret).await.1, json!({"active": false}));
    // Client authentication is required, and a public client has none.
    let public = register(&app, true, json!({})).await;
    let (status, body) = token_request(
        &app,
        "/oauth/introspect",
        &public,
        &[("token", &app.admin_secret)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let response = app
        .client
        .post(format!("{}/oauth/introspect", app.base))
        .form(&[("token", app.admin_secret.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

async fn introspection_is_limited_to_ones_own_tokens(app: TestApp) {
    // Review: any confidential client could introspect any token, the
    // admin's included, and read a user's email without the email scope.
    let app_a = register(&app, false, json!({})).await;
    let app_b = register(&app, false, json!({})).await;
    let introspect = |client: &Client, token: &str| {
        let (app, client, token) = (&app, client.clone(), token.to_owned());
        async move { token_request(app, "/oauth/introspect", &client, &[("token", &token)]).await }
    };
    let (_, a_token) = token_request(
        &app,
        "/oauth/token",
        &app_a,
        &[("grant_type", "client_credentials")],
    )
    .await;
    let a_token = a_token["access_token"].as_str().unwrap();
    assert_eq!(introspect(&app_a, a_token).await.1["active"], true);
    for token in [a_token, app.admin_secret.as_str()] {
        let (status, body) = introspect(&app_b, token).await;
        assert_eq!((status, body), (StatusCode::OK, json!({"active": false})));
    }
    // A user's token for app A: the email only with the email scope.
    let mut browser = sign_in(&app, "hubot").await;
    for (scope, shows_email) in [("profile", false), ("profile email", true)] {
        let pair = tokens_for(&app, &mut browser, &app_a, scope).await;
        for token in [&pair["access_token"], &pair["refresh_token"]] {
            let (_, body) = introspect(&app_a, token.as_str().unwrap()).await;
            assert_eq!(body["active"], true, "{body}");
            assert_eq!(
                body.get("username").is_some(),
                shows_email && token == &pair["access_token"],
                "{body}"
            );
            let (_, other) = introspect(&app_b, token.as_str().unwrap()).await;
            assert_eq!(other, json!({"active": false}));
        }
    }
}

async fn answers_with_secrets_are_never_cached(app: TestApp) {
    let no_store = |response: &reqwest::Response| {
        response
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let created = app
        .post(
            "/v1/oauth/clients",
            &app.admin_secret,
            json!({"name": "C", "redirectUris": ["https://c.example/cb"]}),
        )
        .await;
    assert_eq!(no_store(&created).as_deref(), Some("no-store"));
    let (_, client) = json_of(created).await;
    let id = client["clientId"].as_str().unwrap();
    let rotated = app
        .post(
            &format!("/v1/oauth/clients/{id}/secret"),
            &app.admin_secret,
            json!({}),
        )
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    assert_eq!(no_store(&rotated).as_deref(), Some("no-store"));
    let minted = app
        .post(
            &format!("/v1/accounts/{}/tokens", app.admin_id),
            &app.admin_secret,
            json!({"expiresAt": FAR_FUTURE}),
        )
        .await;
    assert_eq!(minted.status(), StatusCode::OK);
    assert_eq!(no_store(&minted).as_deref(), Some("no-store"));
}

async fn revocation(app: TestApp) {
    let client = register(&app, false, json!({})).await;
    let other = register(&app, false, json!({})).await;
    let (_, issued) = token_request(
        &app,
        "/oauth/token",
        &client,
        &[("grant_type", "client_credentials")],
    )
    .await;
    let access = issued["access_token"].as_str().unwrap();
    // Another client's revocation, an unknown token, garbage: 200, no effect.
    for (who, token) in [
        (&other, access),
        (&client, "lk_at_unknown"),
        (&client, "whatever"),
    ] {
        let (status, _) = token_request(&app, "/oauth/revoke", who, &[("token", token)]).await;
        assert_eq!(status, StatusCode::OK, "{token}");
    }
    assert_eq!(
        token_request(&app, "/oauth/introspect", &client, &[("token", access)])
            .await
            .1["active"],
        true
    );
    // The hint is only a hint.
    let (status, _) = token_request(
        &app,
        "/oauth/revoke",
        &client,
        &[("token", access), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        token_request(&app, "/oauth/introspect", &client, &[("token", access)])
            .await
            .1,
        json!({"active": false})
    );
}

async fn metadata_lists_everything(app: TestApp) {
    let (status, m) = json_of(
        app.client
            .get(format!(
                "{}/.well-known/oauth-authorization-server",
                app.base
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(m["issuer"], app.base.as_str());
    for (field, path) in [
        ("authorization_endpoint", "/oauth/authorize"),
        ("token_endpoint", "/oauth/token"),
        ("revocation_endpoint", "/oauth/revoke"),
        ("introspection_endpoint", "/oauth/introspect"),
        (
            "device_authorization_endpoint",
            "/oauth/device_authorization",
        ),
    ] {
        assert_eq!(m[field], format!("{}{path}", app.base), "{field}");
    }
    assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    assert_eq!(m["response_types_supported"], json!(["code"]));
    assert_eq!(
        m["grant_types_supported"],
        json!([
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code"
        ])
    );
    assert_eq!(
        m["scopes_supported"],
        json!([
            "account:read",
            "account:write",
            "tokens:read",
            "tokens:write",
            "profile",
            "email"
        ])
    );
    assert!(m["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("client_secret_basic")));
}

async fn device_polling_answers(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.oauth.device_interval = Duration::from_secs(1)
    })
    .await;
    let client = register(&app, true, json!({})).await;
    let start = || async {
        let (status, body) = token_request(
            &app,
            "/oauth/device_authorization",
            &client,
            &[("scope", "profile")],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    };
    let poll = |device_code: String| {
        let (app, client) = (&app, &client);
        async move {
            token_request(
                app,
                "/oauth/token",
                client,
                &[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                    ("device_code", &device_code),
                ],
            )
            .await
        }
    };
    let started = start().await;
    assert_eq!(started["interval"], 1);
    assert!(started["device_code"]
        .as_str()
        .unwrap()
        .starts_with("lk_dc_"));
    let code = started["device_code"].as_str().unwrap().to_owned();
    assert_eq!(poll(code.clone()).await.1["error"], "authorization_pending");
    // At once again: too fast.
    assert_eq!(poll(code.clone()).await.1["error"], "slow_down");
    // The person denies.
    let mut browser = sign_in(&app, "hubot").await;
    // Typed in lower case, without the dash.
    let typed = started["user_code"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .replace('-', "");
    let denied = decide_device(&mut browser, &typed, "deny").await;
    assert_eq!(denied.status(), StatusCode::OK);
    // The slowed interval (1 s + 5 s) passes.
    app.settings.clock.advance(Duration::from_secs(7));
    assert_eq!(poll(code).await.1["error"], "access_denied");
    // Expired.
    let late = start().await;
    app.settings.clock.advance(Duration::from_secs(601));
    assert_eq!(
        poll(late["device_code"].as_str().unwrap().to_owned())
            .await
            .1["error"],
        "expired_token"
    );
}

async fn wrong_user_codes_are_limited(app: TestApp) {
    let mut browser = sign_in(&app, "hubot").await;
    let entry = browser.page("/oauth/device", StatusCode::OK).await;
    let csrf = field(&form_fields(&entry), "csrf");
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let form = vec![
            ("csrf".to_owned(), csrf.clone()),
            ("user_code".to_owned(), "BCDF-GHJK".to_owned()),
        ];
        statuses.push(browser.post_form("/oauth/device", &form).await.status());
    }
    assert!(
        statuses[..10].iter().all(|s| *s == StatusCode::BAD_REQUEST),
        "{statuses:?}"
    );
    assert_eq!(statuses[10], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
}

async fn device_decisions_need_the_confirmation_page(app: TestApp) {
    // Review: the decision route took any user code with the entry form's
    // token, so codes could be guessed there without the rate limit.
    const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
    let client = register(&app, true, json!({})).await;
    let (status, started) = token_request(
        &app,
        "/oauth/device_authorization",
        &client,
        &[("scope", "profile")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let user_code = started["user_code"].as_str().unwrap().to_owned();
    let mut browser = sign_in(&app, "hubot").await;
    let entry = browser.page("/oauth/device", StatusCode::OK).await;
    let csrf = field(&form_fields(&entry), "csrf");
    let decide = |code: &str| {
        vec![
            ("csrf".to_owned(), csrf.clone()),
            ("user_code".to_owned(), code.to_owned()),
            ("decision".to_owned(), "approve".to_owned()),
        ]
    };
    let response = browser
        .post_form("/oauth/device/decision", &decide(&user_code))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let mut statuses = Vec::new();
    for _ in 0..11 {
        let response = browser
            .post_form("/oauth/device/decision", &decide("BCDF-GHJK"))
            .await;
        statuses.push(response.status());
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // Still waiting: nothing was approved.
    let (status, body) = token_request(
        &app,
        "/oauth/token",
        &client,
        &[
            ("grant_type", DEVICE_CODE_GRANT),
            ("device_code", started["device_code"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "authorization_pending");
}

/// Each device authorization stores a device code, and a public client's
/// id is all it takes: a flood from one address is cut off by the login
/// limit, stores nothing more and leaves one audit row.
async fn device_authorization_is_rate_limited(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.login.rate_limit_per_minute = 3).await;
    let client = register(&app, true, json!({})).await;
    let start = || token_request(&app, "/oauth/device_authorization", &client, &[]);
    let mut device_code = String::new();
    for _ in 0..3 {
        let (status, body) = start().await;
        assert_eq!(status, StatusCode::OK, "{body}");
        device_code = body["device_code"].as_str().unwrap().to_owned();
    }
    let refused = app
        .client
        .post(format!("{}/oauth/device_authorization", app.base))
        .form(&[("client_id", client.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after_secs(&refused) >= 1);
    let body: Value = refused.json().await.unwrap();
    assert!(body["error"].is_string(), "{body}");
    let (status, _) = start().await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        app.number("SELECT COUNT(*) FROM oauth_device_codes").await,
        3
    );
    assert_eq!(
        app.number(
            "SELECT COUNT(*) FROM audit_events WHERE kind = 'rate_limit.refused' \
             AND target = '/oauth/device_authorization'"
        )
        .await,
        1
    );
    // The login flows draw on the same budget.
    let login = app
        .request(Method::POST, "/login/oauth2/device/start", None, None)
        .await;
    assert_eq!(login.status(), StatusCode::TOO_MANY_REQUESTS);
    // The token endpoint, which the device then polls, is not limited.
    let (status, body) = token_request(
        &app,
        "/oauth/token",
        &client,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", &device_code),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "authorization_pending");
}

backend_tests!(
    client_authentication_rules,
    malformed_token_requests,
    gocd_token_path_and_spelling,
    expired_codes_are_refused,
    introspection,
    introspection_is_limited_to_ones_own_tokens,
    answers_with_secrets_are_never_cached,
    revocation,
    metadata_lists_everything,
    wrong_user_codes_are_limited,
    device_decisions_need_the_confirmation_page,
);
backend_fns!(device_polling_answers, device_authorization_is_rate_limited);

//! Every grant, driven by the `oauth2` crate: a client library we did not
//! write, which must work against Latchkey unchanged.

use crate::helpers::*;
use crate::oauth_support::*;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, DeviceAuthorizationUrl,
    IntrospectionUrl, PkceCodeChallenge, RedirectUrl, RevocationUrl, Scope,
    StandardDeviceAuthorizationResponse, TokenIntrospectionResponse, TokenResponse, TokenUrl,
};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

macro_rules! oauth_client {
    ($app:expr, $client:expr) => {{
        let base = &$app.base;
        let mut c = BasicClient::new(ClientId::new($client.id.clone()))
            .set_auth_uri(AuthUrl::new(format!("{base}/oauth/authorize")).unwrap())
            .set_token_uri(TokenUrl::new(format!("{base}/oauth/token")).unwrap())
            .set_redirect_uri(RedirectUrl::new($client.redirect.clone()).unwrap())
            .set_revocation_url(RevocationUrl::new(format!("{base}/oauth/revoke")).unwrap())
            .set_introspection_url(
                IntrospectionUrl::new(format!("{base}/oauth/introspect")).unwrap(),
            )
            .set_device_authorization_url(
                DeviceAuthorizationUrl::new(format!("{base}/oauth/device_authorization")).unwrap(),
            );
        if let Some(secret) = &$client.secret {
            c = c.set_client_secret(ClientSecret::new(secret.clone()));
        }
        c
    }};
}

async fn code_with_pkce_refresh_revoke_and_introspect(app: TestApp) {
    let client = register(&app, false, json!({})).await;
    let oauth = oauth_client!(app, client);
    let mut browser = sign_in(&app, "hubot").await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = oauth
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("account:read".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let consent = browser.page(url.as_str(), StatusCode::OK).await;
    assert!(consent.contains("Test App"), "{consent}");
    let back = decide(&mut browser, &consent, true).await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    let to = location(&back);
    assert_eq!(param(&to, "state").as_deref(), Some(csrf.secret().as_str()));
    assert_eq!(param(&to, "iss").as_deref(), Some(app.base.as_str()));
    let code = param(&to, "code").unwrap();
    assert!(code.starts_with("lk_ac_"), "{code}");

    let http = http();
    let token = oauth
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let access = token.access_token().secret().clone();
    assert!(access.starts_with("lk_at_"), "{access}");
    let refresh = token.refresh_token().expect("a refresh token").clone();
    assert!(refresh.secret().starts_with("lk_rt_"));
    let scopes: Vec<String> = token
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, ["account:read", "profile"]);
    assert!(token.expires_in().unwrap() > Duration::from_secs(3000));

    // The access token acts for the user, on Latchkey's own API.
    let (status, me) = json_of(app.get("/v1/login/token", &access).await).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let (_, info) = json_of(app.get("/oauth/userinfo", &access).await).await;
    assert_eq!(info["sub"], me["accountId"]);
    assert_eq!(info["name"], "hubot");
    assert!(info.get("email").is_none(), "no email scope: {info}");

    // Rotation: a new pair; the old access token keeps working until it expires.
    let refreshed = oauth
        .exchange_refresh_token(&refresh)
        .request_async(&http)
        .await
        .expect("refresh");
    assert_ne!(refreshed.access_token().secret(), &access);
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        refresh.secret()
    );
    assert_eq!(
        app.get("/v1/login/token", &access).await.status(),
        StatusCode::OK
    );

    // Introspection, with the library's own types.
    let introspected = oauth
        .introspect(refreshed.access_token())
        .request_async(&http)
        .await
        .expect("introspection");
    assert!(introspected.active());
    assert_eq!(introspected.client_id().unwrap().as_str(), client.id);
    assert_eq!(introspected.sub(), me["accountId"].as_str());

    // Revoking the refresh token ends the whole authorization (over plain
    // HTTP: the library refuses a revocation URL that is not https).
    let (status, _) = token_request(
        &app,
        "/oauth/revoke",
        &client,
        &[
            ("token", refreshed.refresh_token().unwrap().secret()),
            ("token_type_hint", "refresh_token"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for gone in [&access, refreshed.access_token().secret()] {
        assert_unauthorized(app.get("/v1/login/token", gone).await).await;
    }
    let after = oauth
        .introspect(refreshed.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(!after.active());
}

async fn client_credentials(app: TestApp) {
    let client = register(
        &app,
        false,
        json!({"scopes": ["account:read", "tokens:read"]}),
    )
    .await;
    let oauth = oauth_client!(app, client);
    let http = http();
    let token = oauth
        .exchange_client_credentials()
        .add_scope(Scope::new("tokens:read".into()))
        .request_async(&http)
        .await
        .expect("client credentials");
    assert!(token.refresh_token().is_none());
    assert_eq!(token.scopes().unwrap()[0].as_str(), "tokens:read");
    // It acts as the client, for no account: the account API refuses it.
    let secret = token.access_token().secret();
    assert_error(
        app.get("/v1/login/token", secret).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let seen = oauth
        .introspect(token.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(seen.active());
    assert_eq!(seen.sub(), Some(client.id.as_str()));
    // Beyond its registered scopes: refused.
    let wider = oauth
        .exchange_client_credentials()
        .add_scope(Scope::new("tokens:write".into()))
        .request_async(&http)
        .await;
    assert!(format!("{wider:?}").contains("invalid_scope"), "{wider:?}");
}

async fn device_grant(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.oauth.device_interval = Duration::from_secs(1);
    })
    .await;
    let client = register(&app, true, json!({})).await;
    let oauth = oauth_client!(app, client);
    let http = http();
    let details: StandardDeviceAuthorizationResponse = oauth
        .exchange_device_code()
        .add_scope(Scope::new("email".into()))
        .request_async(&http)
        .await
        .expect("device authorization");
    let user_code = details.user_code().secret().clone();
    assert!(
        user_code.len() == 9 && &user_code[4..5] == "-",
        "{user_code}"
    );
    assert!(user_code
        .chars()
        .all(|c| c == '-' || "BCDFGHJKLMNPQRSTVWXZ".contains(c)));
    let complete = details
        .verification_uri_complete()
        .unwrap()
        .secret()
        .clone();
    assert!(complete.starts_with(&format!("{}/oauth/device?user_code=", app.base)));

    let poll = {
        let (oauth, http, details) = (oauth.clone(), http.clone(), details.clone());
        tokio::spawn(async move {
            oauth
                .exchange_device_access_token(&details)
                .request_async(&http, tokio::time::sleep, None)
                .await
        })
    };
    // The person opens the link (the code is filled in), confirms, approves.
    let mut browser = sign_in(&app, "octocat").await;
    let entry = browser
        .page(&complete.replace(&app.base, ""), StatusCode::OK)
        .await;
    let fields = form_fields(&entry);
    assert_eq!(field(&fields, "user_code"), user_code);
    let confirm = browser.post_form("/oauth/device", &fields).await;
    assert_eq!(confirm.status(), StatusCode::OK);
    let confirm = confirm.text().await.unwrap();
    assert!(confirm.contains(&user_code), "{confirm}");
    let mut decision = form_fields(&confirm);
    decision.push(("decision".into(), "approve".into()));
    let done = browser.post_form("/oauth/device/decision", &decision).await;
    assert_eq!(done.status(), StatusCode::OK);

    let token = poll.await.unwrap().expect("the device gets its token");
    let (_, info) = json_of(
        app.get("/oauth/userinfo", token.access_token().secret())
            .await,
    )
    .await;
    assert_eq!(info["email"], "octocat@example.com");
    assert!(token.refresh_token().is_some());
}

backend_tests!(
    code_with_pkce_refresh_revoke_and_introspect,
    client_credentials
);
backend_fns!(device_grant);

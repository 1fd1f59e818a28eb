use crate::helpers::*;
use fake_github::{Failure, FakeUser};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn exchange(app: &TestApp, query: &str) -> reqwest::Response {
    app.request(Method::POST, &format!("/v1/oauth2?{query}"), None, None)
        .await
}

async fn login_as(app: &TestApp, login: &str) -> (StatusCode, Value) {
    let token = app.github.token_for(login);
    json_of(exchange(app, &format!("provider=github&access-token={token}")).await).await
}

async fn first_login_creates_the_account_and_later_ones_reuse_it(app: TestApp) {
    let (status, first) = login_as(&app, "octocat").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let secret = first["secret"]["value"].as_str().unwrap();
    let account = first["data"]["accountId"].as_str().unwrap();
    let (status, me) = json_of(app.get(&format!("/v1/accounts/{account}"), secret).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["name"], "The Octocat");
    assert_eq!(me["email"], "octocat@example.com");

    // The other spelling of the parameter, and a new token each time.
    let token = app.github.token_for("octocat");
    let (status, second) =
        json_of(exchange(&app, &format!("provider=github&access_token={token}")).await).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["data"]["accountId"], account);
    assert_ne!(second["data"]["id"], first["data"]["id"]);
    assert_ne!(second["secret"]["value"], first["secret"]["value"]);
    assert_eq!(
        app.get("/v1/login/token", secret).await.status(),
        StatusCode::OK
    );

    // How Latchkey talked to GitHub.
    let calls = app.github.calls();
    let user_call = calls.iter().find(|c| c.uri == "/user").expect("GET /user");
    assert_eq!(
        user_call.accept.as_deref(),
        Some("application/vnd.github+json")
    );
    assert_eq!(user_call.api_version.as_deref(), Some("2022-11-28"));
    assert!(user_call
        .user_agent
        .as_deref()
        .unwrap()
        .starts_with("latchkey/"));
    assert!(user_call
        .authorization
        .as_deref()
        .unwrap()
        .starts_with("Bearer gho_"));
    let check = calls
        .iter()
        .find(|c| c.uri == format!("/applications/{CLIENT_ID}/token"))
        .expect("the app check");
    assert!(check
        .authorization
        .as_deref()
        .unwrap()
        .starts_with("Basic "));
    assert!(
        calls.iter().all(|c| !c.uri.contains(CLIENT_SECRET)),
        "secret in a URL"
    );
    // A public email is used as is; /user/emails is not needed.
    assert!(!calls.iter().any(|c| c.uri.starts_with("/user/emails")));
}

async fn private_emails_come_from_the_primary_verified_address(app: TestApp) {
    let (status, body) = login_as(&app, "hubot").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let account = body["data"]["accountId"].as_str().unwrap();
    let (_, me) = json_of(
        app.get(&format!("/v1/accounts/{account}"), &app.admin_secret)
            .await,
    )
    .await;
    assert_eq!(me["email"], "hubot@example.com");
    assert_eq!(me["name"], "hubot", "the login stands in for a null name");
    assert!(app
        .github
        .calls()
        .iter()
        .any(|c| c.uri.starts_with("/user/emails")));
}

async fn users_without_a_verified_email_are_refused(app: TestApp) {
    let (status, body) = login_as(&app, "ghost").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"].is_string());
    let (_, all) = json_of(app.get("/v1/accounts", &app.admin_secret).await).await;
    assert_eq!(
        all["values"].as_array().unwrap().len(),
        1,
        "nothing was created"
    );
}

async fn identity_is_the_github_id_not_login_or_email(app: TestApp) {
    let (_, first) = login_as(&app, "octocat").await;
    app.github.update_user("octocat", |u| {
        u.login = "octo-renamed".into();
        u.email = Some("new-octo@example.com".into());
    });
    let (status, again) = login_as(&app, "octo-renamed").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["data"]["accountId"], first["data"]["accountId"]);
    // Someone else taking the old login on GitHub does not get the account.
    app.github
        .add_user(FakeUser::new(5005, "octocat").public_email("impostor@example.com"));
    let (_, impostor) = login_as(&app, "octocat").await;
    assert_ne!(impostor["data"]["accountId"], first["data"]["accountId"]);
}

async fn a_deleted_account_starts_over_on_the_next_login(app: TestApp) {
    let (_, first) = login_as(&app, "octocat").await;
    let account = first["data"]["accountId"].as_str().unwrap();
    let response = app
        .delete(&format!("/v1/accounts/{account}"), &app.admin_secret)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_unauthorized(
        app.get(
            "/v1/login/token",
            first["secret"]["value"].as_str().unwrap(),
        )
        .await,
    )
    .await;
    // The GitHub link went with the account: a fresh one is created.
    let (status, again) = login_as(&app, "octocat").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_ne!(again["data"]["accountId"], first["data"]["accountId"]);
}

async fn admin_created_accounts_are_linked_by_verified_email(app: TestApp) {
    let created = app.create_user("Hubot", "hubot@example.com").await;
    let (status, body) = login_as(&app, "hubot").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["accountId"], created.as_str());
    // A different GitHub user claiming the same email cannot take it over.
    app.github
        .add_user(FakeUser::new(6006, "hubot-twin").public_email("hubot@example.com"));
    let (status, body) = login_as(&app, "hubot-twin").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"].is_string());
}

async fn tokens_of_other_apps_are_refused(app: TestApp) {
    let foreign = app.github.token_for_app("octocat", "some-other-app");
    let (status, body) =
        json_of(exchange(&app, &format!("provider=github&access-token={foreign}")).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["error"].is_string());
    let (status, _) =
        json_of(exchange(&app, "provider=github&access-token=gho_made_up").await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn github_failures_map_to_401_and_500(app: TestApp) {
    app.github
        .script(|s| s.rest_failure = Some(Failure::Unauthorized));
    let (status, body) = login_as(&app, "octocat").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["error"].is_string());

    app.github
        .script(|s| s.rest_failure = Some(Failure::ServerError));
    let (status, body) = login_as(&app, "octocat").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("External service call failed"),
        "{body}"
    );

    // Slower than the configured 2 s timeout.
    app.github.script(|s| {
        s.rest_failure = None;
        s.latency = std::time::Duration::from_millis(2500);
    });
    let started = std::time::Instant::now();
    let (status, body) = login_as(&app, "octocat").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .starts_with("External service call failed"));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let (_, all) = json_of(app.get("/v1/accounts", &app.admin_secret).await).await;
    assert_eq!(all["values"].as_array().unwrap().len(), 1);
}

async fn unreachable_github_is_500(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        // Nothing listens on port 9 of loopback.
        s.login.github_api_url = "http://127.0.0.1:9".into();
        s.login.github_client_secret = None;
    })
    .await
    else {
        return;
    };
    let (status, body) = json_of(exchange(&app, "provider=github&access-token=gho_x").await).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .starts_with("External service call failed"));
}

async fn bad_parameters_are_400(app: TestApp) {
    for query in [
        "access-token=x",
        "provider=gitlab&access-token=x",
        "provider=github",
        "provider=github&access-token=",
        "",
    ] {
        let body = assert_invalid(exchange(&app, query).await).await;
        assert!(!body["errors"].as_array().unwrap().is_empty(), "{query}");
    }
    let body = assert_invalid(exchange(&app, "").await).await;
    assert_eq!(
        body["errors"].as_array().unwrap().len(),
        2,
        "every problem is listed"
    );
    assert!(app.github.calls().is_empty(), "nothing reached GitHub");
}

async fn login_token_lifetime_is_configurable(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.login.token_lifetime = std::time::Duration::from_secs(3600);
    })
    .await
    else {
        return;
    };
    let (_, body) = login_as(&app, "octocat").await;
    let expires =
        chrono::DateTime::parse_from_rfc3339(body["data"]["expiresAt"].as_str().unwrap()).unwrap();
    let delta = expires
        .signed_duration_since(chrono::Utc::now())
        .num_seconds();
    assert!((3500..=3600).contains(&delta), "{delta}");
}

async fn no_secret_no_app_check(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| s.login.github_client_secret = None).await
    else {
        return;
    };
    let foreign = app.github.token_for_app("octocat", "some-other-app");
    let (status, body) =
        json_of(exchange(&app, &format!("provider=github&access-token={foreign}")).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!app
        .github
        .calls()
        .iter()
        .any(|c| c.uri.starts_with("/applications/")));
}

async fn signup_policy_restricts_new_accounts_only(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.login.signup_allowed_logins = vec!["octocat".into()];
        s.login.signup_allowed_domains = vec!["corp.example".into()];
    })
    .await
    else {
        return;
    };
    let (status, _) = login_as(&app, "octocat").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = login_as(&app, "noname").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"].is_string());
    let (_, found) = json_of(
        app.get("/v1/accounts?email=noname@example.com", &app.admin_secret)
            .await,
    )
    .await;
    assert_eq!(
        found["values"],
        json!([]),
        "a refused login creates nothing"
    );

    app.github
        .add_user(FakeUser::new(7007, "worker").public_email("worker@corp.example"));
    assert_eq!(login_as(&app, "worker").await.0, StatusCode::OK);

    // Existing accounts can always log in.
    app.create_user("Hubot", "hubot@example.com").await;
    assert_eq!(login_as(&app, "hubot").await.0, StatusCode::OK);
    assert_eq!(login_as(&app, "hubot").await.0, StatusCode::OK);
}

async fn login_endpoints_are_rate_limited(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| s.login.rate_limit_per_minute = 3).await
    else {
        return;
    };
    for _ in 0..3 {
        assert_ne!(
            exchange(&app, "provider=github").await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    let response = exchange(&app, "provider=github").await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    assert_error(response, StatusCode::TOO_MANY_REQUESTS).await;
    let response = app
        .request(Method::POST, "/login/oauth2/device/start", None, None)
        .await;
    assert_error(response, StatusCode::TOO_MANY_REQUESTS).await;
    // Other routes are not limited.
    assert_eq!(
        app.get("/v1/login/token", &app.admin_secret).await.status(),
        StatusCode::OK
    );
}

backend_tests!(
    first_login_creates_the_account_and_later_ones_reuse_it,
    private_emails_come_from_the_primary_verified_address,
    users_without_a_verified_email_are_refused,
    identity_is_the_github_id_not_login_or_email,
    a_deleted_account_starts_over_on_the_next_login,
    admin_created_accounts_are_linked_by_verified_email,
    tokens_of_other_apps_are_refused,
    github_failures_map_to_401_and_500,
    bad_parameters_are_400,
);

backend_fns!(
    unreachable_github_is_500,
    login_token_lifetime_is_configurable,
    no_secret_no_app_check,
    signup_policy_restricts_new_accounts_only,
    login_endpoints_are_rate_limited,
);

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
    let user_call = calls.iter().find(|c| c.path == "/user").expect("GET /user");
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
        .find(|c| c.path == format!("/applications/{CLIENT_ID}/token"))
        .expect("the app check");
    assert!(check
        .authorization
        .as_deref()
        .unwrap()
        .starts_with("Basic "));
    assert!(
        calls.iter().all(|c| !c.path.contains(CLIENT_SECRET)
            && !c.query.as_deref().unwrap_or("").contains(CLIENT_SECRET)),
        "secret in a URL"
    );
    // A public email is used as is; /user/emails is not needed.
    assert!(!calls.iter().any(|c| c.path.starts_with("/user/emails")));
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
        .any(|c| c.path.starts_with("/user/emails")));
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
    let (status, impostor) = login_as(&app, "octocat").await;
    assert_eq!(status, StatusCode::OK, "{impostor}");
    let impostor_account = impostor["data"]["accountId"].as_str().unwrap();
    assert_ne!(
        impostor_account,
        first["data"]["accountId"].as_str().unwrap()
    );
    let (_, theirs) = json_of(
        app.get(
            &format!("/v1/accounts/{impostor_account}"),
            &app.admin_secret,
        )
        .await,
    )
    .await;
    assert_eq!(theirs["email"], "impostor@example.com");
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
    // While the login waits on GitHub, the rest of the API answers at once.
    let meanwhile = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let quick = std::time::Instant::now();
        let me = app.get("/v1/login/token", &app.admin_secret).await;
        (me.status(), quick.elapsed())
    };
    let ((status, body), (other, took)) = tokio::join!(login_as(&app, "octocat"), meanwhile);
    assert_eq!(other, StatusCode::OK);
    assert!(took < std::time::Duration::from_millis(500), "{took:?}");
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
    let app = TestApp::spawn_with(backend, |s| {
        // Nothing listens on port 9 of loopback.
        s.login.github_api_url = "http://127.0.0.1:9".into();
        s.login.github_web_url = "http://127.0.0.1:9".into();
    })
    .await;
    let started = std::time::Instant::now();
    let (status, body) = json_of(exchange(&app, "provider=github&access-token=gho_x").await).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .starts_with("External service call failed"));
    // The device flow's start asks GitHub for a code: the same fast 500.
    let (status, body) = json_of(
        app.request(Method::POST, "/login/oauth2/device/start", None, None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(body["error"].is_string(), "{body}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    // The rest of the API does not need GitHub.
    let (user, secret) = app.user_with_token("Uma", "uma@example.com").await;
    assert_eq!(
        app.get(&format!("/v1/accounts/{user}"), &secret)
            .await
            .status(),
        StatusCode::OK
    );
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
    let app = TestApp::spawn_with(backend, |s| {
        s.login.token_lifetime = std::time::Duration::from_secs(3600);
    })
    .await;
    let (_, body) = login_as(&app, "octocat").await;
    let expires =
        chrono::DateTime::parse_from_rfc3339(body["data"]["expiresAt"].as_str().unwrap()).unwrap();
    let delta = expires
        .signed_duration_since(chrono::Utc::now())
        .num_seconds();
    assert!((3500..=3600).contains(&delta), "{delta}");
}

async fn without_a_client_secret_only_the_device_flow_logs_in(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.login.github_client_secret = None).await;
    // A token of any other OAuth app, or a personal access token, would log
    // its owner in if it were not checked: no check possible, no exchange.
    for token in [
        app.github.token_for_app("octocat", "some-other-app"),
        app.github.token_for("octocat"),
    ] {
        let body = assert_error(
            exchange(&app, &format!("provider=github&access-token={token}")).await,
            StatusCode::NOT_IMPLEMENTED,
        )
        .await;
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("--github-client-secret"),
            "{body}"
        );
    }
    assert!(app.github.calls().is_empty(), "nothing reached GitHub");
    // The web flow needs the secret for its code exchange: refused up front.
    let body = assert_error(
        app.request(
            Method::GET,
            "/v1/login/oauth2/web/authorize?provider=github",
            None,
            None,
        )
        .await,
        StatusCode::NOT_IMPLEMENTED,
    )
    .await;
    assert!(body["error"].as_str().unwrap().contains("client secret"));
    // The device flow needs no secret and works.
    let started = device_start(&app, "/login/oauth2/device/start").await;
    let session = started["encodedSession"].clone();
    let (status, token) = device_complete(&app, "/login/oauth2/device/complete", session).await;
    assert_eq!(status, StatusCode::OK, "{token}");
}

/// The review's reproduction: Mallory points her own account's email at
/// octocat's address before octocat first logs in with GitHub; an admin then
/// edits her account (a rename) without confirming anything.
async fn a_self_chosen_email_never_captures_a_github_login(app: TestApp) {
    let (mallory, mallory_secret) = app.user_with_token("Mallory", "mallory@example.com").await;
    let (status, changed) = json_of(
        app.put(
            &format!("/v1/accounts/{mallory}"),
            &mallory_secret,
            json!({"name": "Mallory", "email": "octocat@example.com"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let (status, renamed) = json_of(
        app.put(
            &format!("/v1/accounts/{mallory}"),
            &app.admin_secret,
            json!({"name": "Mallory M.", "email": "octocat@example.com"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");

    let (status, login) = login_as(&app, "octocat").await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let octocat = login["data"]["accountId"].as_str().unwrap().to_owned();
    assert_ne!(octocat, mallory, "the login joined Mallory's account");
    let octocat_secret = login["secret"]["value"].as_str().unwrap();

    // Mallory's token still acts for Mallory alone and cannot reach octocat.
    let (_, me) = json_of(app.get("/v1/login/token", &mallory_secret).await).await;
    assert_eq!(me["accountId"], mallory.as_str());
    for path in [
        format!("/v1/accounts/{octocat}"),
        format!("/v1/accounts/{octocat}/tokens"),
    ] {
        assert_error(app.get(&path, &mallory_secret).await, StatusCode::NOT_FOUND).await;
    }
    let (_, theirs) = json_of(
        app.get(&format!("/v1/accounts/{octocat}"), octocat_secret)
            .await,
    )
    .await;
    assert_eq!(theirs["email"], "octocat@example.com");
    // Later logins keep going to octocat's own account.
    let (_, again) = login_as(&app, "octocat").await;
    assert_eq!(again["data"]["accountId"], octocat.as_str());
    assert_eq!(
        app.number(&format!(
            "SELECT email_verified FROM accounts WHERE id = '{mallory}'"
        ))
        .await,
        0
    );
}

async fn a_verified_email_already_linked_is_409(app: TestApp) {
    // An admin-made (verified) account that a GitHub user already linked.
    let created = app.create_user("Hubot", "hubot@example.com").await;
    assert_eq!(login_as(&app, "hubot").await.0, StatusCode::OK);
    app.github
        .add_user(FakeUser::new(6007, "hubot-clone").public_email("hubot@example.com"));
    let (status, body) = login_as(&app, "hubot-clone").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (_, found) = json_of(
        app.get("/v1/accounts?email=hubot@example.com", &app.admin_secret)
            .await,
    )
    .await;
    assert_eq!(found["values"].as_array().unwrap().len(), 1);
    assert_eq!(found["values"][0]["id"], created.as_str());
}

async fn the_second_page_of_emails_is_followed(app: TestApp) {
    // A hundred unverified addresses fill page one; the primary is on page two.
    let mut user = FakeUser::new(8008, "many");
    for i in 0..100 {
        user = user.with_email(&format!("old{i}@example.com"), false, false);
    }
    app.github
        .add_user(user.with_email("many@example.com", true, true));
    let (status, body) = login_as(&app, "many").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let account = body["data"]["accountId"].as_str().unwrap();
    let (_, me) = json_of(
        app.get(&format!("/v1/accounts/{account}"), &app.admin_secret)
            .await,
    )
    .await;
    assert_eq!(me["email"], "many@example.com");
    let pages: Vec<_> = app
        .github
        .calls()
        .into_iter()
        .filter(|c| c.path == "/user/emails")
        .map(|c| c.query.unwrap_or_default())
        .collect();
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert!(pages[1].contains("page=2"), "{pages:?}");
}

async fn signup_policy_restricts_new_accounts_only(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.login.signup_allowed_logins = vec!["octocat".into()];
        s.login.signup_allowed_domains = vec!["corp.example".into()];
    })
    .await;
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
    let app = TestApp::spawn_with(backend, |s| s.login.rate_limit_per_minute = 3).await;
    for _ in 0..3 {
        assert_ne!(
            exchange(&app, "provider=github").await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    let response = exchange(&app, "provider=github").await;
    assert!(retry_after_secs(&response) >= 1);
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
    a_self_chosen_email_never_captures_a_github_login,
    a_verified_email_already_linked_is_409,
    the_second_page_of_emails_is_followed,
);

/// A device-flow start as sent through a proxy that adds `X-Forwarded-For`.
async fn start_via_proxy(app: &TestApp, forwarded_for: &str) -> StatusCode {
    app.client
        .post(format!("{}/login/oauth2/device/start", app.base))
        .header("x-forwarded-for", forwarded_for)
        .send()
        .await
        .unwrap()
        .status()
}

async fn behind_a_trusted_proxy_limits_key_on_the_client(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.login.rate_limit_per_minute = 2;
        s.http.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    const LIMITED: StatusCode = StatusCode::TOO_MANY_REQUESTS;
    for _ in 0..2 {
        assert_ne!(start_via_proxy(&app, "198.51.100.1").await, LIMITED);
    }
    assert_eq!(start_via_proxy(&app, "198.51.100.1").await, LIMITED);
    // Another client behind the same proxy has a bucket of its own.
    assert_ne!(start_via_proxy(&app, "198.51.100.2").await, LIMITED);
    // Writing a fake hop in front does not give a fresh bucket: only the
    // right-most untrusted address counts.
    assert_eq!(
        start_via_proxy(&app, "203.0.113.99, 198.51.100.1").await,
        LIMITED
    );
    // IPv6 clients are keyed by their /64.
    for _ in 0..2 {
        assert_ne!(start_via_proxy(&app, "2001:db8:1:2::1").await, LIMITED);
    }
    assert_eq!(start_via_proxy(&app, "2001:db8:1:2:ffff::9").await, LIMITED);
    assert_ne!(start_via_proxy(&app, "2001:db8:1:3::1").await, LIMITED);
}

async fn an_untrusted_peer_cannot_spoof_forwarded_for(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.login.rate_limit_per_minute = 2).await;
    assert_ne!(
        start_via_proxy(&app, "198.51.100.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_ne!(
        start_via_proxy(&app, "198.51.100.2").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Every request came from this test's address, whatever the header says.
    assert_eq!(
        start_via_proxy(&app, "198.51.100.3").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

backend_fns!(
    behind_a_trusted_proxy_limits_key_on_the_client,
    an_untrusted_peer_cannot_spoof_forwarded_for,
    unreachable_github_is_500,
    login_token_lifetime_is_configurable,
    without_a_client_secret_only_the_device_flow_logs_in,
    signup_policy_restricts_new_accounts_only,
    login_endpoints_are_rate_limited,
);

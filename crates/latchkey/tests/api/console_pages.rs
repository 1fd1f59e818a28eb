//! The web console's pages over HTTP, as a browser without JavaScript uses
//! them: Tokens and Authorized apps.

use crate::helpers::*;
use crate::oauth_support::*;
use reqwest::StatusCode;
use serde_json::json;

async fn tokens_page_lists_creates_once_and_deletes(app: TestApp) {
    // Signed out: off to sign in, then back here.
    let mut stranger = Browser::new(&app);
    let to = stranger.get("/tokens").await;
    assert_eq!(to.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&to).starts_with("/login?next=%2Ftokens"),
        "{}",
        location(&to)
    );

    let mut browser = sign_in(&app, "hubot").await;
    let page = browser.page("/tokens", StatusCode::OK).await;
    assert!(page.contains("(this browser)"), "{page}");
    let form = form_fields(&page);
    let csrf = field(&form, "csrf");
    let post = |fields: &[(&str, &str)]| {
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<Vec<_>>()
    };
    // No CSRF token, or no expiry: refused, readably.
    let forged = browser
        .post_form("/tokens", &post(&[("expires", "30d"), ("name", "x")]))
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let bad = browser
        .post_form("/tokens", &post(&[("csrf", &csrf), ("expires", "forever")]))
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("Choose how long"));

    let created = browser
        .post_form(
            "/tokens",
            &post(&[("csrf", &csrf), ("expires", "7d"), ("name", "deploy bot")]),
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    assert_eq!(created.headers()["cache-control"], "no-store");
    let html = created.text().await.unwrap();
    assert!(html.contains("will not be shown again"), "{html}");
    let secret = field(&form_fields(&html), "secret");
    let (status, me) = json_of(app.get("/v1/login/token", &secret).await).await;
    assert_eq!(status, StatusCode::OK);
    let id = me["id"].as_str().unwrap().to_owned();
    // The list shows it, never its secret.
    let page = browser.page("/tokens", StatusCode::OK).await;
    assert!(page.contains("deploy bot") && page.contains(&id), "{page}");
    assert!(!page.contains(&secret));

    // Someone else's token is not there to delete.
    let (_, other) = app.user_with_token("Oona", "oona@example.com").await;
    let (_, theirs) = json_of(app.get("/v1/login/token", &other).await).await;
    let theirs = theirs["id"].as_str().unwrap();
    browser
        .page(&format!("/tokens/{theirs}/delete"), StatusCode::NOT_FOUND)
        .await;
    // Delete: a confirmation step, then it stops working at once.
    let confirm = browser
        .page(&format!("/tokens/{id}/delete"), StatusCode::OK)
        .await;
    assert!(confirm.contains("stops working at once"), "{confirm}");
    let done = browser
        .post_form(&format!("/tokens/{id}/delete"), &form_fields(&confirm))
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_unauthorized(app.get("/v1/login/token", &secret).await).await;
    assert_eq!(
        app.get("/v1/login/token", &other).await.status(),
        StatusCode::OK
    );
}

async fn authorized_apps_are_listed_and_revoked(app: TestApp) {
    let client = register(&app, false, json!({"name": "Planner"})).await;
    let mut browser = sign_in(&app, "hubot").await;
    let empty = browser.page("/apps", StatusCode::OK).await;
    assert!(empty.contains("No application may act for you"), "{empty}");
    let tokens = tokens_for(&app, &mut browser, &client, "profile").await;
    let access = tokens["access_token"].as_str().unwrap();
    let page = browser.page("/apps", StatusCode::OK).await;
    assert!(
        page.contains("Planner") && page.contains("Know your name"),
        "{page}"
    );
    let revoke = format!("/apps/{}/revoke", client.id);
    let forged = browser.post_form(&revoke, &[]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/oauth/userinfo", access).await.status(),
        StatusCode::OK
    );
    let csrf = field(&form_fields(&page), "csrf");
    let done = browser
        .post_form(&revoke, &[("csrf".to_owned(), csrf)])
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_unauthorized(app.get("/oauth/userinfo", access).await).await;
    let page = browser.page("/apps", StatusCode::OK).await;
    assert!(!page.contains("Planner"), "{page}");
}

async fn admins_manage_accounts_in_the_console(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.bootstrap_admin_email = latchkey::domain::Email::parse("hubot@example.com").unwrap();
    })
    .await;
    let mut user_browser = sign_in(&app, "octocat").await;
    user_browser
        .page("/admin/accounts", StatusCode::NOT_FOUND)
        .await;
    let (ada, ada_token) = app.user_with_token("Ada", "ada@example.com").await;

    let mut admin = sign_in(&app, "hubot").await;
    let page = admin.page("/admin/accounts", StatusCode::OK).await;
    assert!(
        page.contains("ada@example.com") && page.contains("(you)"),
        "{page}"
    );
    let found = admin
        .page("/admin/accounts?email=ada%40example.com", StatusCode::OK)
        .await;
    assert!(
        found.contains("ada@example.com") && !found.contains("(you)"),
        "{found}"
    );
    let bad = admin
        .page(
            "/admin/accounts?email=not-an-email",
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(bad.contains("role=\"alert\""), "{bad}");
    let csrf = field(&form_fields(&page), "csrf");
    let role = |to: &str| {
        vec![
            ("csrf".to_owned(), csrf.clone()),
            ("role".to_owned(), to.to_owned()),
        ]
    };

    // Forged: no CSRF token.
    let forged = admin
        .post_form(
            &format!("/admin/accounts/{ada}/role"),
            &[("role".to_owned(), "admin".to_owned())],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/v1/oauth/clients", &ada_token).await.status(),
        StatusCode::NOT_FOUND
    );
    // Make Ada an admin; at once her token has admin powers; then not.
    let made = admin
        .post_form(&format!("/admin/accounts/{ada}/role"), &role("admin"))
        .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/v1/oauth/clients", &ada_token).await.status(),
        StatusCode::OK
    );
    let unmade = admin
        .post_form(&format!("/admin/accounts/{ada}/role"), &role("user"))
        .await;
    assert_eq!(unmade.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/v1/oauth/clients", &ada_token).await.status(),
        StatusCode::NOT_FOUND
    );
    // The last admin keeps the role, and is told so on a page.
    let refused = admin
        .post_form(
            &format!("/admin/accounts/{}/role", app.admin_id),
            &role("user"),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("last admin") && html.contains("<html"),
        "{html}"
    );

    // Delete, after a confirmation step.
    let confirm = admin
        .page(&format!("/admin/accounts/{ada}/delete"), StatusCode::OK)
        .await;
    assert!(confirm.contains("ada@example.com"), "{confirm}");
    let done = admin
        .post_form(
            &format!("/admin/accounts/{ada}/delete"),
            &form_fields(&confirm),
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_unauthorized(app.get("/v1/login/token", &ada_token).await).await;
}

/// Review: `/login` wrote a row per call with no limit. It shares the login
/// flows' budget per client, and says so with a page.
async fn sign_ins_are_rate_limited(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.login.rate_limit_per_minute = 3).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = app
            .client
            .get(format!("{}/login?next=/", app.base))
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(response.headers().contains_key("retry-after"));
            let ct = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(ct.starts_with("text/html"), "{ct}");
        }
    }
    assert_eq!(
        statuses,
        [
            StatusCode::SEE_OTHER,
            StatusCode::SEE_OTHER,
            StatusCode::SEE_OTHER,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    assert_eq!(app.number("SELECT COUNT(*) FROM web_logins").await, 3);
}

/// Review: a cross-site form could post to `/logout` and strip the pages'
/// cookie without any session or CSRF token.
async fn logout_without_a_session_touches_no_cookie(app: TestApp) {
    let response = app
        .client
        .post(format!("{}/logout", app.base))
        .header("cookie", "latchkey_session_pages=whatever")
        .form(&[("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(response.headers().get("set-cookie").is_none());
    // Signed in, a wrong token changes nothing either.
    let mut browser = sign_in(&app, "octocat").await;
    let refused = browser
        .post_form("/logout", &[("csrf".to_owned(), "forged".to_owned())])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.headers().get("set-cookie").is_none());
    browser.page("/tokens", StatusCode::OK).await;
}

backend_fns!(
    admins_manage_accounts_in_the_console,
    sign_ins_are_rate_limited
);

/// Review: a browser that used a wrong method, an unknown address or a
/// malformed id got JSON or the framework's plain text, not a page.
async fn browsers_get_pages_for_every_error(app: TestApp) {
    let mut browser = sign_in(&app, "octocat").await;
    let html = "text/html,application/xhtml+xml,*/*;q=0.8";
    for (method, path, status) in [
        (
            reqwest::Method::GET,
            "/logout",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            reqwest::Method::PUT,
            "/tokens",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (reqwest::Method::GET, "/admin", StatusCode::NOT_FOUND),
        (
            reqwest::Method::GET,
            "/tokens/%FF/delete",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let response = app
            .client
            .request(method.clone(), format!("{}{path}", app.base))
            .header("accept", html)
            .header(
                "cookie",
                format!(
                    "latchkey_session_pages={}",
                    browser.cookies["latchkey_session_pages"]
                ),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{method} {path}");
        let headers = response.headers().clone();
        let ct = headers["content-type"].to_str().unwrap();
        assert!(ct.starts_with("text/html"), "{method} {path}: {ct}");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{method} {path}"
        );
        assert!(
            response.text().await.unwrap().contains("<h1>"),
            "{method} {path}"
        );
    }
    // API clients still get the documented JSON.
    let api = app
        .client
        .get(format!("{}/nowhere", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert!(api.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("json"));
    browser.page("/tokens", StatusCode::OK).await;
}

backend_tests!(
    browsers_get_pages_for_every_error,
    logout_without_a_session_touches_no_cookie,
    tokens_page_lists_creates_once_and_deletes,
    authorized_apps_are_listed_and_revoked,
);

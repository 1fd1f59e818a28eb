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

backend_tests!(
    tokens_page_lists_creates_once_and_deletes,
    authorized_apps_are_listed_and_revoked,
);

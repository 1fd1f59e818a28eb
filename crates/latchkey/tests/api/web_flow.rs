use crate::helpers::*;
use reqwest::{Response, StatusCode};
use serde_json::json;

fn query_param(url: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn authorize(app: &TestApp, redirect: Option<&str>) -> (String, String) {
    let mut path = "/v1/login/oauth2/web/authorize?provider=github".to_owned();
    if let Some(r) = redirect {
        path.push_str(&format!("&redirect={}", urlencode(r)));
    }
    let (status, body) = json_of(app.request(reqwest::Method::GET, &path, None, None).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (
        body["url"].as_str().unwrap().to_owned(),
        body["state"].as_str().unwrap().to_owned(),
    )
}

fn urlencode(s: &str) -> String {
    reqwest::Url::parse_with_params("http://x/", &[("v", s)])
        .unwrap()
        .query()
        .unwrap()
        .trim_start_matches("v=")
        .to_owned()
}

/// The browser's trip: GitHub's authorize page, then back to the callback.
async fn browser(app: &TestApp, authorize_url: &str) -> Response {
    let at_github = app.client.get(authorize_url).send().await.unwrap();
    assert_eq!(at_github.status(), StatusCode::SEE_OTHER);
    let back = at_github.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.starts_with(&app.base), "{back}");
    app.client.get(back).send().await.unwrap()
}

async fn poll(app: &TestApp, state: &str) -> Response {
    let path = format!("/v1/login/oauth2/web/poll?state={}", urlencode(state));
    app.request(reqwest::Method::GET, &path, None, None).await
}

async fn web_flow_end_to_end(app: TestApp) {
    app.github
        .script(|s| s.authorize_as = Some("octocat".into()));
    let (url, state) = authorize(&app, Some("http://app.test/done?tab=1")).await;
    assert!(url.starts_with(&format!("{}/login/oauth/authorize?", app.github.url())));
    assert_eq!(query_param(&url, "client_id").unwrap(), CLIENT_ID);
    assert_eq!(
        query_param(&url, "redirect_uri").unwrap(),
        format!("{}/v1/login/oauth2/web/callback/github", app.base)
    );
    assert_eq!(query_param(&url, "code_challenge_method").unwrap(), "S256");
    assert_eq!(query_param(&url, "code_challenge").unwrap().len(), 43);
    let github_state = query_param(&url, "state").unwrap();
    assert_ne!(
        github_state, state,
        "the poll state is not the one in GitHub's URL"
    );
    assert!(state.len() >= 22, "at least 128 bits");

    let (status, body) = json_of(poll(&app, &state).await).await;
    assert_eq!((status, body), (StatusCode::ACCEPTED, json!({})));
    // Seeing GitHub's URL is not enough to collect the token.
    assert_invalid(poll(&app, &github_state).await).await;

    let callback = browser(&app, &url).await;
    assert_eq!(callback.status(), StatusCode::FOUND);
    let location = callback.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, "http://app.test/done?tab=1");
    let cookie = callback.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("latchkey_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "http public URL");
    let cookie_secret = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("latchkey_session=")
        .to_owned();
    assert!(!location.contains(&cookie_secret));

    let answer = poll(&app, &state).await;
    assert_eq!(answer.headers()["cache-control"], "no-store");
    let (status, token) = json_of(answer).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let secret = token["secret"]["value"].as_str().unwrap();
    assert_ne!(secret, cookie_secret);
    assert_eq!(
        app.get("/v1/login/token", secret).await.status(),
        StatusCode::OK
    );
    // Exactly once.
    assert_invalid(poll(&app, &state).await).await;
    // The callback cannot be replayed.
    let replay = format!("/v1/login/oauth2/web/callback/github?code=x&state={github_state}");
    assert_invalid(app.request(reqwest::Method::GET, &replay, None, None).await).await;

    // The cookie authenticates like a bearer token; logout ends it.
    let with_cookie = |path: &str, method: reqwest::Method| {
        app.client
            .request(method, format!("{}{}", app.base, path))
            .header(
                "cookie",
                format!("other=1; latchkey_session={cookie_secret}"),
            )
            .send()
    };
    let (status, me) = json_of(
        with_cookie("/v1/login/token", reqwest::Method::GET)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["accountId"], token["data"]["accountId"]);
    let out = with_cookie("/v1/logout", reqwest::Method::POST)
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    assert!(out.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_unauthorized(
        with_cookie("/v1/login/token", reqwest::Method::GET)
            .await
            .unwrap(),
    )
    .await;
    // The poller's token is a separate login and survives the browser's logout.
    assert_eq!(
        app.get("/v1/login/token", secret).await.status(),
        StatusCode::OK
    );
}

async fn without_a_redirect_the_callback_answers_200(app: TestApp) {
    app.github.script(|s| s.authorize_as = Some("hubot".into()));
    let (url, state) = authorize(&app, None).await;
    // A malformed callback is refused without using up the state.
    let github_state = query_param(&url, "state").unwrap();
    let malformed = format!("/v1/login/oauth2/web/callback/github?state={github_state}");
    assert_invalid(
        app.request(reqwest::Method::GET, &malformed, None, None)
            .await,
    )
    .await;
    let callback = browser(&app, &url).await;
    assert!(callback.headers().contains_key("set-cookie"));
    let (status, body) = json_of(callback).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    assert_eq!(poll(&app, &state).await.status(), StatusCode::OK);
}

async fn only_allowed_redirects_are_accepted(app: TestApp) {
    for bad in [
        "https://evil.example/",
        "http://app.test.evil.example/",
        "not a url",
        "javascript:alert(1)",
    ] {
        let path = format!(
            "/v1/login/oauth2/web/authorize?provider=github&redirect={}",
            urlencode(bad)
        );
        assert_invalid(app.request(reqwest::Method::GET, &path, None, None).await).await;
    }
    for bad in [
        "/v1/login/oauth2/web/authorize",
        "/v1/login/oauth2/web/authorize?provider=gitlab",
    ] {
        assert_invalid(app.request(reqwest::Method::GET, bad, None, None).await).await;
    }
}

async fn unknown_states_are_400(app: TestApp) {
    for path in [
        "/v1/login/oauth2/web/callback/github?code=abc&state=nope",
        "/v1/login/oauth2/web/callback/github?code=abc",
        "/v1/login/oauth2/web/poll?state=nope",
        "/v1/login/oauth2/web/poll",
    ] {
        assert_invalid(app.request(reqwest::Method::GET, path, None, None).await).await;
    }
}

async fn expired_states_are_400(app: TestApp) {
    app.github
        .script(|s| s.authorize_as = Some("octocat".into()));
    let (url, state) = authorize(&app, None).await;
    // Ten minutes pass.
    app.sql("UPDATE web_logins SET expires_at = 0").await;
    assert_invalid(browser(&app, &url).await).await;
    assert_invalid(poll(&app, &state).await).await;
}

async fn racing_polls_get_the_token_once(app: TestApp) {
    app.github
        .script(|s| s.authorize_as = Some("octocat".into()));
    let (url, state) = authorize(&app, None).await;
    assert_eq!(browser(&app, &url).await.status(), StatusCode::OK);
    let url = format!(
        "{}/v1/login/oauth2/web/poll?state={}",
        app.base,
        urlencode(&state)
    );
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(8));
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (client, url, barrier) = (app.client.clone(), url.clone(), barrier.clone());
        racers.spawn(async move {
            barrier.wait().await;
            client.get(url).send().await.unwrap().status()
        });
    }
    let statuses = racers.join_all().await;
    let won = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(won, 1, "{statuses:?}");
    assert!(statuses
        .iter()
        .all(|s| *s == StatusCode::OK || *s == StatusCode::BAD_REQUEST));
    // Two tokens exist for octocat: the browser's cookie and one poll's.
    let minted = app
        .number("SELECT COUNT(*) FROM tokens t JOIN identities i ON i.account_id = t.account_id")
        .await;
    assert_eq!(minted, 2);
}

async fn states_are_stored_only_as_hashes(app: TestApp) {
    use sha2::{Digest, Sha256};
    use sqlx::{Connection, Row};
    let (url, poll_state) = authorize(&app, Some("http://app.test/x")).await;
    let github_state = query_param(&url, "state").unwrap();
    let mut db = app.db().await;
    let rows = sqlx::query("SELECT state_hash, poll_hash, redirect FROM web_logins")
        .fetch_all(&mut db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let state_hash: Vec<u8> = rows[0].try_get("state_hash").unwrap();
    let poll_hash: Vec<u8> = rows[0].try_get("poll_hash").unwrap();
    assert_eq!(
        state_hash,
        Sha256::digest(github_state.as_bytes()).as_slice()
    );
    assert_eq!(poll_hash, Sha256::digest(poll_state.as_bytes()).as_slice());
    let redirect: String = rows[0].try_get("redirect").unwrap();
    assert!(!redirect.contains(&github_state) && !redirect.contains(&poll_state));
    db.close().await.ok();
}

async fn redirects_are_bounded_and_checked_before_anything_is_stored(app: TestApp) {
    let long = format!("http://app.test/{}", "a".repeat(2048));
    for bad in [
        long.as_str(),
        "http://app.test/a\nLocation: evil",
        "http://app.test/é",
    ] {
        let path = format!(
            "/v1/login/oauth2/web/authorize?provider=github&redirect={}",
            urlencode(bad)
        );
        assert_invalid(app.request(reqwest::Method::GET, &path, None, None).await).await;
    }
    assert_eq!(app.number("SELECT COUNT(*) FROM web_logins").await, 0);
    // Exactly at the bound is fine.
    let fits = format!(
        "http://app.test/{}",
        "a".repeat(2048 - "http://app.test/".len())
    );
    authorize(&app, Some(&fits)).await;
}

async fn an_account_deleted_before_the_poll_is_a_clear_401(app: TestApp) {
    app.github
        .script(|s| s.authorize_as = Some("octocat".into()));
    let (url, state) = authorize(&app, None).await;
    let callback = browser(&app, &url).await;
    assert_eq!(callback.status(), StatusCode::OK);
    let account = app.number("SELECT COUNT(*) FROM identities").await;
    assert_eq!(account, 1);
    app.sql("DELETE FROM accounts WHERE role = 'user'").await;
    let (status, body) = json_of(poll(&app, &state).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("deleted"),
        "{body}"
    );
}

async fn the_code_exchange_keeps_the_secret_out_of_urls(app: TestApp) {
    app.github
        .script(|s| s.authorize_as = Some("octocat".into()));
    let (url, _) = authorize(&app, None).await;
    assert!(!url.contains(CLIENT_SECRET));
    assert_eq!(browser(&app, &url).await.status(), StatusCode::OK);
    let exchanges = app.token_endpoint_calls();
    assert_eq!(exchanges.len(), 1);
    let exchange = &exchanges[0];
    assert!(
        !exchange
            .query
            .as_deref()
            .unwrap_or("")
            .contains(CLIENT_SECRET),
        "{:?}",
        exchange.query
    );
    assert!(
        exchange
            .body
            .contains(&format!("client_secret={CLIENT_SECRET}")),
        "{}",
        exchange.body
    );
    assert!(exchange.body.contains("code_verifier="));
}

async fn denial_at_github_reaches_browser_and_poller(app: TestApp) {
    app.github.script(|s| s.authorize_deny = true);
    let (url, state) = authorize(&app, Some("http://app.test/")).await;
    let callback = browser(&app, &url).await;
    let (status, body) = json_of(callback).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["error"].as_str().unwrap().contains("access_denied"));
    let (status, body) = json_of(poll(&app, &state).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_invalid(poll(&app, &state).await).await;
}

async fn https_public_urls_get_secure_cookies(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.public_url = Some("https://login.example".into());
        s.login.session_cookie_name = "lk_custom".into();
    })
    .await;
    app.github
        .script(|s| s.authorize_as = Some("octocat".into()));
    let (url, _) = authorize(&app, None).await;
    assert_eq!(
        query_param(&url, "redirect_uri").unwrap(),
        "https://login.example/v1/login/oauth2/web/callback/github"
    );
    // GitHub would send the browser to the public URL; go to the server directly.
    let at_github = app.client.get(&url).send().await.unwrap();
    let back = at_github.headers()["location"].to_str().unwrap();
    let local = back.replace("https://login.example", &app.base);
    let callback = app.client.get(local).send().await.unwrap();
    let cookie = callback.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("lk_custom="), "{cookie}");
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    let secret = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("lk_custom=");
    let me = app
        .client
        .get(format!("{}/v1/login/token", app.base))
        .header("cookie", format!("lk_custom={secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
}

async fn the_fake_form_approves_as_the_chosen_user(app: TestApp) {
    // No script: the fake shows its form, as GitHub shows its consent page.
    let (url, state) = authorize(&app, None).await;
    let page = app
        .client
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<form") && page.contains("hubot"), "{page}");
    let mut form: Vec<(String, String)> = reqwest::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    form.push(("login".into(), "hubot".into()));
    form.push(("decision".into(), "approve".into()));
    let decided = app
        .client
        .post(format!("{}/login/oauth/authorize", app.github.url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    let back = decided.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        app.client.get(back).send().await.unwrap().status(),
        StatusCode::OK
    );
    let (_, token) = json_of(poll(&app, &state).await).await;
    let account = token["data"]["accountId"].as_str().unwrap();
    let (_, me) = json_of(
        app.get(&format!("/v1/accounts/{account}"), &app.admin_secret)
            .await,
    )
    .await;
    assert_eq!(me["email"], "hubot@example.com");
}

backend_tests!(
    web_flow_end_to_end,
    without_a_redirect_the_callback_answers_200,
    only_allowed_redirects_are_accepted,
    unknown_states_are_400,
    expired_states_are_400,
    racing_polls_get_the_token_once,
    denial_at_github_reaches_browser_and_poller,
    the_fake_form_approves_as_the_chosen_user,
    states_are_stored_only_as_hashes,
    redirects_are_bounded_and_checked_before_anything_is_stored,
    an_account_deleted_before_the_poll_is_a_clear_401,
    the_code_exchange_keeps_the_secret_out_of_urls,
);

backend_fns!(
    https_public_urls_get_secure_cookies,
    confirmation_stands_between_a_forwarded_link_and_the_token
);

/// `--web-flow-confirm`: a forwarded GitHub link no longer hands over a
/// session. The person who clicks it sees who started the sign-in, and only
/// their explicit "yes", posted from that page in that browser, completes it.
async fn confirmation_stands_between_a_forwarded_link_and_the_token(backend: Backend) {
    use crate::oauth_support::{form_fields, location, Browser};
    let app = TestApp::spawn_with(backend, |s| s.login.web_flow_confirm = true).await;
    app.github
        .script(|s| s.authorize_as = Some("octocat".into()));
    let start = || async {
        let (_, body) = json_of(
            app.client
                .get(format!(
                    "{}/v1/login/oauth2/web/authorize?provider=github&redirect={}",
                    app.base,
                    urlencode("http://app.test/done")
                ))
                .header("user-agent", "forwarder-cli/1.0")
                .send()
                .await
                .unwrap(),
        )
        .await;
        (
            body["url"].as_str().unwrap().to_owned(),
            body["state"].as_str().unwrap().to_owned(),
        )
    };
    let (url, poll_state) = start().await;
    // The victim clicks the forwarded link: GitHub, then the callback.
    let mut victim = Browser::new(&app);
    let at_github = victim.get(&url).await;
    let callback_url = location(&at_github);
    // A callback without GitHub's code is refused as before, and uses
    // nothing up.
    let no_code = callback_url.split("code=").next().unwrap().to_owned();
    assert_eq!(victim.get(&no_code).await.status(), StatusCode::BAD_REQUEST);
    let callback = victim.get(&callback_url).await;
    assert_eq!(callback.status(), StatusCode::SEE_OTHER);
    let confirm_at = location(&callback);
    assert!(confirm_at.starts_with("/login/confirm?"), "{confirm_at}");
    assert!(
        !confirm_at.contains("code"),
        "GitHub's code stays on the server: {confirm_at}"
    );
    assert!(!victim.cookies.contains_key("latchkey_session"));
    assert_eq!(poll(&app, &poll_state).await.status(), StatusCode::ACCEPTED);
    // The callback cannot run again for this state.
    assert_eq!(
        victim.get(&callback_url).await.status(),
        StatusCode::BAD_REQUEST
    );
    let page = victim.page(&confirm_at, StatusCode::OK).await;
    for shown in [
        "forwarder-cli/1.0",
        "127.0.0.1",
        "http://app.test/done",
        "not this browser",
    ] {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    let mut fields = form_fields(&page);
    // The confirmation address in another browser shows nothing and
    // offers no form.
    let mut elsewhere = Browser::new(&app);
    elsewhere.page(&confirm_at, StatusCode::FORBIDDEN).await;
    // Another page posting the form for them has no confirmation cookie.
    let mut forged = fields.clone();
    forged.push(("decision".into(), "confirm".into()));
    let response = elsewhere.post_form("/login/confirm", &forged).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // A token for another flow's state does not fit this one.
    let mut tampered = forged.clone();
    for (name, value) in tampered.iter_mut() {
        if name == "csrf" {
            *value = "A".repeat(43);
        }
    }
    let response = victim.post_form("/login/confirm", &tampered).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(poll(&app, &poll_state).await.status(), StatusCode::ACCEPTED);
    // The victim cancels: nobody is signed in, and the poller hears so.
    fields.push(("decision".into(), "cancel".into()));
    let cancelled = victim.post_form("/login/confirm", &fields).await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    assert!(!victim.cookies.contains_key("latchkey_session"));
    let (status, body) = json_of(poll(&app, &poll_state).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("refused"),
        "{body}"
    );

    // Someone who did start it confirms, and it completes as before.
    let (url, poll_state) = start().await;
    let mut owner = Browser::new(&app);
    let at_github = owner.get(&url).await;
    let callback = owner.get(&location(&at_github)).await;
    let page = owner.page(&location(&callback), StatusCode::OK).await;
    let mut fields = form_fields(&page);
    fields.push(("decision".into(), "confirm".into()));
    let confirmed = owner.post_form("/login/confirm", &fields).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&confirmed), "http://app.test/done");
    assert!(owner.cookies.contains_key("latchkey_session"));
    let (status, token) = json_of(poll(&app, &poll_state).await).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    // The confirmation cannot be replayed.
    let again = owner.post_form("/login/confirm", &fields).await;
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
}

//! Several nodes on one PostgreSQL database, as behind a load balancer:
//! a flow started on one node finishes on another, and what one node revokes
//! every other node refuses within a second (LISTEN/NOTIFY), even one whose
//! cache had just validated it.

use crate::helpers::*;
use crate::oauth_support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `refused` every 10 ms until it holds; fails after one second.
async fn within_a_second<F, Fut>(what: &str, mut refused: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        if refused().await {
            return start.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: still accepted after 1 s");
}

async fn status(node: &TestApp, path: &str, secret: &str) -> StatusCode {
    node.get(path, secret).await.status()
}

async fn spawn_cluster() -> (TestApp, TestApp) {
    // A TTL far beyond the test's second: only a notification can evict.
    let a = TestApp::spawn_with(Backend::Postgres, |s| {
        s.token_cache.ttl = Duration::from_secs(600);
        s.oauth.device_interval = Duration::from_secs(1);
    })
    .await;
    let b = a.another_node().await;
    (a, b)
}

async fn revocations_on_one_node_reach_the_others_within_a_second() {
    let (a, b) = spawn_cluster().await;

    // An API token that node B has validated (and cached), deleted on A.
    let (user, secret) = a.user_with_token("Ann", "ann@example.com").await;
    let (_, me) = json_of(b.get("/v1/login/token", &secret).await).await;
    assert_eq!(status(&b, "/v1/login/token", &secret).await, StatusCode::OK);
    let deleted = a
        .delete(
            &format!("/v1/accounts/{user}/tokens/{}", me["id"].as_str().unwrap()),
            &a.admin_secret,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    within_a_second("a deleted token", || async {
        status(&b, "/v1/login/token", &secret).await == StatusCode::UNAUTHORIZED
    })
    .await;

    // A whole account, deleted on A.
    let (user, secret) = a.user_with_token("Bo", "bo@example.com").await;
    assert_eq!(status(&b, "/v1/login/token", &secret).await, StatusCode::OK);
    let deleted = a
        .delete(&format!("/v1/accounts/{user}"), &a.admin_secret)
        .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    within_a_second("a deleted account's token", || async {
        status(&b, "/v1/login/token", &secret).await == StatusCode::UNAUTHORIZED
    })
    .await;

    // A role change on A: B's cached admin caller loses its powers.
    let (user, secret) = a.user_with_token("Cy", "cy@example.com").await;
    let role = format!("/v1/accounts/{user}/role");
    let made = a
        .put(&role, &a.admin_secret, json!({"role": "admin"}))
        .await;
    assert_eq!(made.status(), StatusCode::OK);
    assert_eq!(status(&b, "/v1/accounts", &secret).await, StatusCode::OK);
    let unmade = a.put(&role, &a.admin_secret, json!({"role": "user"})).await;
    assert_eq!(unmade.status(), StatusCode::OK);
    within_a_second("a demoted admin", || async {
        b.post(
            "/v1/accounts",
            &secret,
            json!({"name": "N", "email": "n@example.com"}),
        )
        .await
        .status()
            == StatusCode::FORBIDDEN
    })
    .await;

    // An authorization revoked on A: its access token, validated on B.
    let client = register(&a, false, json!({})).await;
    let mut browser = sign_in(&a, "hubot").await;
    let tokens = tokens_for(&a, &mut browser, &client, "account:read profile").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(status(&b, "/oauth/userinfo", &access).await, StatusCode::OK);
    let (_, hubot) = json_of(b.get("/v1/login/token", &access).await).await;
    let account = hubot["accountId"].as_str().unwrap().to_owned();
    let revoked = a
        .delete(
            &format!("/v1/accounts/{account}/authorizations/{}", client.id),
            &a.admin_secret,
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    within_a_second("a revoked authorization's token", || async {
        status(&b, "/oauth/userinfo", &access).await == StatusCode::UNAUTHORIZED
    })
    .await;

    // Review: an account deleted on A left its OAuth access tokens alive in
    // every cache (the cascade removed the rows without telling anyone).
    let client = register(&a, false, json!({})).await;
    let mut browser = sign_in(&a, "noname").await;
    let tokens = tokens_for(&a, &mut browser, &client, "account:read").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let (_, owner) = json_of(b.get("/v1/login/token", &access).await).await;
    assert_eq!(status(&a, "/v1/login/token", &access).await, StatusCode::OK);
    let deleted = a
        .delete(
            &format!("/v1/accounts/{}", owner["accountId"].as_str().unwrap()),
            &a.admin_secret,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    assert_eq!(
        status(&a, "/v1/login/token", &access).await,
        StatusCode::UNAUTHORIZED,
        "the deleting node itself"
    );
    within_a_second("a deleted account's OAuth token", || async {
        status(&b, "/v1/login/token", &access).await == StatusCode::UNAUTHORIZED
    })
    .await;

    // A client secret rotated on A: B had the client cached.
    let client = register(&a, false, json!({})).await;
    let grant = [("grant_type", "client_credentials")];
    let (ok, body) = token_request(&b, "/oauth/token", &client, &grant).await;
    assert_eq!(ok, StatusCode::OK, "{body}");
    let cc_token = body["access_token"].as_str().unwrap().to_owned();
    let rotated = a
        .request(
            Method::POST,
            &format!("/v1/oauth/clients/{}/secret", client.id),
            Some(&a.admin_secret),
            None,
        )
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    within_a_second("a rotated client secret", || async {
        token_request(&b, "/oauth/token", &client, &grant).await.0 == StatusCode::UNAUTHORIZED
    })
    .await;

    // The client deleted on A: its client-credentials token, validated on B.
    // A client's own token is not an account's: refused with 403 while it
    // is valid, 401 once it is gone.
    let before = status(&b, "/v1/login/token", &cc_token).await;
    assert_ne!(before, StatusCode::UNAUTHORIZED);
    let deleted = a
        .delete(&format!("/v1/oauth/clients/{}", client.id), &a.admin_secret)
        .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    within_a_second("a deleted client's token", || async {
        status(&b, "/v1/login/token", &cc_token).await == StatusCode::UNAUTHORIZED
    })
    .await;
}

async fn a_node_whose_listener_drops_forgets_what_it_cached() {
    let (a, b) = spawn_cluster().await;
    let (_, secret) = a.user_with_token("Di", "di@example.com").await;
    // A listener that has just connected empties the caches once (it may
    // have missed something before): let B's do so before caching.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(status(&b, "/v1/login/token", &secret).await, StatusCode::OK);
    // Deleted behind Latchkey's back, so no node tells the others: only a
    // cache emptied after the lost connection stops B from serving it.
    a.sql("DELETE FROM tokens WHERE account_id IN (SELECT id FROM accounts WHERE email = 'di@example.com')")
        .await;
    assert_eq!(
        status(&b, "/v1/login/token", &secret).await,
        StatusCode::OK,
        "B still serves its cached verdict"
    );
    a.sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE query LIKE 'LISTEN %latchkey_invalidate%' AND pid <> pg_backend_pid()",
    )
    .await;
    within_a_second("a token cached before the listener dropped", || async {
        status(&b, "/v1/login/token", &secret).await == StatusCode::UNAUTHORIZED
    })
    .await;
    // And B listens again: a later revocation still reaches it.
    let (user, secret) = a.user_with_token("Ed", "ed@example.com").await;
    assert_eq!(status(&b, "/v1/login/token", &secret).await, StatusCode::OK);
    let deleted = a
        .delete(&format!("/v1/accounts/{user}"), &a.admin_secret)
        .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    within_a_second("a revocation after the reconnect", || async {
        status(&b, "/v1/login/token", &secret).await == StatusCode::UNAUTHORIZED
    })
    .await;
}

/// `url` (which names node A, the shared public URL) sent to node `to`.
fn via(url: &str, a: &TestApp, to: &TestApp) -> String {
    url.replacen(&a.base, &to.base, 1)
}

async fn flows_started_on_one_node_finish_on_another() {
    let (a, b) = spawn_cluster().await;
    a.github
        .script(|s| s.authorize_as = Some("octocat".to_owned()));

    // Login API device flow: started on A, completed on B.
    let started = device_start(&a, "/login/oauth2/device/start").await;
    let session = started["encodedSession"].clone();
    let (status, done) = device_complete(&b, "/login/oauth2/device/complete", session).await;
    assert_eq!(status, StatusCode::OK, "{done}");

    // Login API web flow: authorize on A, GitHub's callback lands on B,
    // the poll is answered by A.
    let (status, authorize) = json_of(
        a.request(
            Method::GET,
            "/v1/login/oauth2/web/authorize?provider=github&redirect=http://app.test/done",
            None,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{authorize}");
    let at_github = a
        .client
        .get(authorize["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let callback = via(&location(&at_github), &a, &b);
    let back = b.client.get(callback).send().await.unwrap();
    assert!(back.status().is_redirection(), "{}", back.status());
    let poll = format!(
        "/v1/login/oauth2/web/poll?state={}",
        urlencode(authorize["state"].as_str().unwrap())
    );
    let (status, polled) = json_of(a.request(Method::GET, &poll, None, None).await).await;
    assert_eq!(status, StatusCode::OK, "{polled}");

    // Browser sign-in to the pages: /login on A, the callback on B, the
    // session then good on A.
    let mut browser = Browser::new(&a);
    let started = browser.get("/login?next=/tokens").await;
    let at_github = browser.get(&location(&started)).await;
    browser.on(&b);
    let callback = browser.get(&via(&location(&at_github), &a, &b)).await;
    assert_eq!(callback.status(), StatusCode::SEE_OTHER);
    browser.on(&a);
    browser.page("/tokens", StatusCode::OK).await;

    // Authorization code: the consent page from A, its form (and CSRF
    // token) posted to B, the code exchanged on A.
    let client = register(&a, false, json!({})).await;
    let (verifier, challenge) = pkce();
    let consent = browser
        .page(
            &authorize_path(&client, "profile", "st", &challenge),
            StatusCode::OK,
        )
        .await;
    browser.on(&b);
    let decided = decide(&mut browser, &consent, true).await;
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);
    let code = param(&location(&decided), "code").expect("a code");
    let (status, body) = token_request(
        &a,
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
    assert_eq!(status, StatusCode::OK, "{body}");

    // RFC 8628 device grant: started on A, approved in the browser on B,
    // polled on A.
    let public = register(&a, true, json!({})).await;
    let (status, device) = token_request(
        &a,
        "/oauth/device_authorization",
        &public,
        &[("scope", "profile")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{device}");
    let approved = decide_device(
        &mut browser,
        device["user_code"].as_str().unwrap(),
        "approve",
    )
    .await;
    assert!(approved.status().is_success(), "{}", approved.status());
    let device_code = device["device_code"].as_str().unwrap().to_owned();
    let mut answer: Value = Value::Null;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (status, body) = token_request(
            &a,
            "/oauth/token",
            &public,
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", &device_code),
            ],
        )
        .await;
        answer = body;
        if status == StatusCode::OK {
            break;
        }
    }
    assert!(answer["access_token"].is_string(), "{answer}");
}

postgres_fns!(
    revocations_on_one_node_reach_the_others_within_a_second,
    a_node_whose_listener_drops_forgets_what_it_cached,
    flows_started_on_one_node_finish_on_another,
);

//! One test per RFC 9700 item the issue names, each an attack.

use crate::helpers::*;
use crate::oauth_support::*;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

/// RFC 9700 §4.1: redirect URIs match as exact strings; only a loopback IP
/// literal's port may vary (RFC 8252 §7.3).
async fn exact_redirect_uri_matching(app: TestApp) {
    let client = register(
        &app,
        false,
        json!({"redirectUris": ["https://app.example/cb", "http://127.0.0.1/cb"]}),
    )
    .await;
    let mut browser = sign_in(&app, "hubot").await;
    let (_, challenge) = pkce();
    let with = |redirect: &str| {
        format!(
            "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&code_challenge={challenge}&code_challenge_method=S256",
            client.id,
            urlencode(redirect)
        )
    };
    for near in [
        "https://app.example/cb/",
        "https://app.example/cb?x=1",
        "https://APP.example/cb",
        "https://app.example:443/cb",
        "https://app.example/c%62",
        "https://app.example.evil.example/cb",
        "http://127.0.0.1:8080/other",
    ] {
        let response = browser.get(&with(near)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{near}");
        assert!(response.headers().get("location").is_none(), "{near}");
    }
    // The loopback literal may come back on any port.
    let consent = browser
        .page(&with("http://127.0.0.1:51234/cb"), StatusCode::OK)
        .await;
    let back = decide(&mut browser, &consent, true).await;
    assert!(location(&back).starts_with("http://127.0.0.1:51234/cb?code="));
}

/// RFC 9700 §4.1, RFC 6749 §4.1.2.1: with a bad client or redirect URI the
/// user sees an error page; only then-trusted requests go back by redirect.
async fn no_redirect_on_bad_client_or_redirect_uri(app: TestApp) {
    let client = register(&app, false, json!({})).await;
    let mut browser = sign_in(&app, "hubot").await;
    for path in [
        "/oauth/authorize?response_type=code&client_id=nonsense&redirect_uri=https%3A%2F%2Fevil.example%2F".to_owned(),
        format!(
            "/oauth/authorize?response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fevil.example%2F",
            uuid::Uuid::new_v4()
        ),
        format!(
            "/oauth/authorize?response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fevil.example%2F",
            client.id
        ),
        "/oauth/authorize?response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2F".to_owned(),
    ] {
        let response = browser.get(&path).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert!(response.headers().get("location").is_none());
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
    }
    // A trusted client and redirect URI, a bad scope: back to the client.
    let path = format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope=root&state=s1",
        client.id,
        urlencode(&client.redirect)
    );
    let response = browser.get(&path).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = location(&response);
    assert!(to.starts_with(&client.redirect), "{to}");
    assert_eq!(param(&to, "error").as_deref(), Some("invalid_scope"));
    assert_eq!(param(&to, "state").as_deref(), Some("s1"));
}

/// RFC 9700 §4.5, RFC 6749 §4.1.2: a code comes back a second time, so
/// someone else has it: refuse, and revoke what its first use issued.
async fn code_reuse_revokes_tokens(app: TestApp) {
    let client = register(&app, false, json!({})).await;
    let mut browser = sign_in(&app, "hubot").await;
    let (code, verifier) = code_for(&mut browser, &client, "account:read").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", client.redirect.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, first) = token_request(&app, "/oauth/token", &client, &form).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/v1/login/token", access).await.status(),
        StatusCode::OK
    );
    let (status, again) = token_request(&app, "/oauth/token", &client, &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(again["error"], "invalid_grant");
    assert_unauthorized(app.get("/v1/login/token", access).await).await;
    let refresh = first["refresh_token"].as_str().unwrap();
    let (_, refused) = token_request(
        &app,
        "/oauth/token",
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(refused["error"], "invalid_grant");
}

/// RFC 6749 §4.1.3: a code is bound to the client it was issued to.
async fn code_bound_to_its_client(app: TestApp) {
    let client = register(&app, false, json!({})).await;
    let other = register(&app, false, json!({})).await;
    let mut browser = sign_in(&app, "hubot").await;
    let (code, verifier) = code_for(&mut browser, &client, "account:read").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", client.redirect.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, stolen) = token_request(&app, "/oauth/token", &other, &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(stolen["error"], "invalid_grant");
    // The rightful client still can.
    let (status, body) = token_request(&app, "/oauth/token", &client, &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// RFC 9700 §4.8, RFC 7636: PKCE is S256 only; a verifier must match, a
/// challenge needs a verifier, and a verifier without a challenge is a
/// downgrade attempt.
async fn pkce_downgrade_and_mismatch(app: TestApp) {
    let client = register(&app, false, json!({})).await;
    let mut browser = sign_in(&app, "hubot").await;
    let exchange = |code: String, verifier: Option<String>| {
        let (app, client) = (&app, &client);
        async move {
            let mut form = vec![
                ("grant_type", "authorization_code".to_owned()),
                ("code", code),
                ("redirect_uri", client.redirect.clone()),
            ];
            if let Some(v) = verifier {
                form.push(("code_verifier", v));
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            token_request(app, "/oauth/token", client, &form).await
        }
    };
    // A challenge, and no verifier or the wrong one.
    let (code, _) = code_for(&mut browser, &client, "profile").await;
    assert_eq!(
        exchange(code.clone(), None).await.1["error"],
        "invalid_grant"
    );
    assert_eq!(
        exchange(code, Some(pkce().0)).await.1["error"],
        "invalid_grant"
    );
    // No challenge at authorize (a confidential client may omit PKCE), then
    // a verifier: refused.
    let path = format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope=profile",
        client.id,
        urlencode(&client.redirect)
    );
    let code = param(&approve(&mut browser, &path).await, "code").unwrap();
    let (status, body) = exchange(code, Some(pkce().0)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // `plain` is refused, back at the client.
    let plain = format!(
        "{path}&code_challenge={}&code_challenge_method=plain",
        "a".repeat(43)
    );
    let refused = browser.get(&plain).await;
    assert_eq!(
        param(&location(&refused), "error").as_deref(),
        Some("invalid_request")
    );
    // A public client must use PKCE.
    let public = register(&app, true, json!({})).await;
    let bare = format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}",
        public.id,
        urlencode(&public.redirect)
    );
    let refused = browser.get(&bare).await;
    assert_eq!(
        param(&location(&refused), "error").as_deref(),
        Some("invalid_request")
    );
}

/// RFC 9700 §4.14: rotation with reuse detection per family, and a grace
/// window in which a retry gets the same pair.
async fn refresh_reuse_revokes_the_family_only(app: TestApp) {
    let client = register(&app, false, json!({})).await;
    // Two authorizations of one user and client: two devices.
    let mut browser = sign_in(&app, "hubot").await;
    let mut pairs = Vec::new();
    for _ in 0..2 {
        let body = tokens_for(&app, &mut browser, &client, "account:read").await;
        pairs.push(body);
    }
    let refresh = |token: String| {
        let (app, client) = (&app, &client);
        async move {
            token_request(
                app,
                "/oauth/token",
                client,
                &[("grant_type", "refresh_token"), ("refresh_token", &token)],
            )
            .await
        }
    };
    let old = pairs[0]["refresh_token"].as_str().unwrap().to_owned();
    let (status, rotated) = refresh(old.clone()).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let live = app.number("SELECT COUNT(*) FROM oauth_access_tokens").await;
    // A lost answer: the retry within the window gets the very same pair.
    let (status, retried) = refresh(old.clone()).await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    assert_eq!(retried["access_token"], rotated["access_token"]);
    assert_eq!(retried["refresh_token"], rotated["refresh_token"]);
    assert_eq!(
        app.number("SELECT COUNT(*) FROM oauth_access_tokens").await,
        live
    );
    // The previous access token still works until its own expiry.
    let first_access = pairs[0]["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/v1/login/token", first_access).await.status(),
        StatusCode::OK
    );
    // After the window, the same replay means the token leaked.
    app.settings.clock.advance(Duration::from_secs(31));
    let (status, reused) = refresh(old).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(reused["error"], "invalid_grant");
    for revoked in [first_access, rotated["access_token"].as_str().unwrap()] {
        assert_unauthorized(app.get("/v1/login/token", revoked).await).await;
    }
    let (_, gone) = refresh(rotated["refresh_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(gone["error"], "invalid_grant");
    // The other device's family is untouched.
    let other = pairs[1]["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/v1/login/token", other).await.status(),
        StatusCode::OK
    );
    let (status, _) = refresh(pairs[1]["refresh_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(status, StatusCode::OK);
}

/// RFC 9207: `iss` on every authorization response, success or error,
/// equal to the metadata's issuer.
async fn iss_in_every_authorization_response(app: TestApp) {
    let (_, metadata) = json_of(
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
    let issuer = metadata["issuer"].as_str().unwrap().to_owned();
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
    let client = register(&app, false, json!({})).await;
    let mut browser = sign_in(&app, "hubot").await;
    let (_, challenge) = pkce();
    let consent = browser
        .page(
            &authorize_path(&client, "email", "s", &challenge),
            StatusCode::OK,
        )
        .await;
    for approve in [false, true] {
        let back = decide(&mut browser, &consent, approve).await;
        assert_eq!(
            param(&location(&back), "iss").as_deref(),
            Some(issuer.as_str())
        );
    }
    let bad = format!(
        "/oauth/authorize?response_type=token&client_id={}&redirect_uri={}",
        client.id,
        urlencode(&client.redirect)
    );
    let back = browser.get(&bad).await;
    let to = location(&back);
    assert_eq!(
        param(&to, "error").as_deref(),
        Some("unsupported_response_type")
    );
    assert_eq!(param(&to, "iss").as_deref(), Some(issuer.as_str()));
}

/// RFC 9700 §4.16: the consent page cannot be framed, and its URL (which
/// may carry codes) does not leak through Referer.
async fn clickjacking_headers_on_every_page(app: TestApp) {
    let client = register(&app, false, json!({})).await;
    let mut browser = sign_in(&app, "hubot").await;
    let (_, challenge) = pkce();
    for path in [
        authorize_path(&client, "email", "s", &challenge),
        "/oauth/device".to_owned(),
        "/".to_owned(),
        "/oauth/authorize?client_id=nope".to_owned(),
        "/tokens".to_owned(),
        "/apps".to_owned(),
    ] {
        let response = browser.get(&path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
    }
}

/// RFC 9700 §4.11: after the consent form's POST, 303, so the browser does
/// not post the form (and its CSRF token) on to the client.
async fn see_other_after_the_consent_post(app: TestApp) {
    let client = register(&app, false, json!({})).await;
    let mut browser = sign_in(&app, "hubot").await;
    let (_, challenge) = pkce();
    let consent = browser
        .page(
            &authorize_path(&client, "email", "s", &challenge),
            StatusCode::OK,
        )
        .await;
    for approve in [true, false] {
        let back = decide(&mut browser, &consent, approve).await;
        assert_eq!(back.status(), StatusCode::SEE_OTHER);
    }
    // Unticked box: a denial, by 303 as well.
    let mut form = form_fields(&consent);
    form.push(("decision".into(), "submit".into()));
    let back = browser.post_form("/oauth/authorize", &form).await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        param(&location(&back), "error").as_deref(),
        Some("access_denied")
    );
}

/// RFC 9700 §4.7: the consent form only counts with this session's token
/// for this form; another site cannot make a signed-in user approve.
async fn csrf_on_consent(app: TestApp) {
    let client = register(&app, false, json!({})).await;
    let mut victim = sign_in(&app, "hubot").await;
    let mut attacker = sign_in(&app, "octocat").await;
    let (_, challenge) = pkce();
    let path = authorize_path(&client, "email", "s", &challenge);
    let victims_page = victim.page(&path, StatusCode::OK).await;
    let attackers_page = attacker.page(&path, StatusCode::OK).await;
    let home = victim.page("/", StatusCode::OK).await;
    let logout_token = home
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let with_csrf = |csrf: Option<&str>| {
        let mut form: Vec<(String, String)> = form_fields(&victims_page)
            .into_iter()
            .filter(|(n, _)| n != "csrf")
            .collect();
        if let Some(csrf) = csrf {
            form.push(("csrf".into(), csrf.to_owned()));
        }
        form.push(("authorize".into(), "yes".into()));
        form.push(("decision".into(), "submit".into()));
        form
    };
    let attackers_token = field(&form_fields(&attackers_page), "csrf");
    for csrf in [
        None,
        Some(attackers_token.as_str()),
        Some(logout_token.as_str()),
        Some("forged"),
    ] {
        let response = victim.post_form("/oauth/authorize", &with_csrf(csrf)).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{csrf:?}");
        assert!(response.headers().get("location").is_none());
    }
    assert_eq!(app.number("SELECT COUNT(*) FROM oauth_codes").await, 0);
    assert_eq!(app.number("SELECT COUNT(*) FROM oauth_consents").await, 0);
}

/// RFC 9700 §4.7.1: sign-in that starts in a browser finishes only in that
/// browser, so an attacker cannot log a victim into the attacker's account.
async fn login_csrf_on_browser_sign_in(app: TestApp) {
    app.github
        .script(|s| s.authorize_as = Some("octocat".into()));
    // The attacker starts a sign-in and goes through GitHub as themselves…
    let mut attacker = Browser::new(&app);
    let started = attacker.get("/login?next=/").await;
    let at_github = attacker.get(&location(&started)).await;
    let callback = location(&at_github);
    // …then makes the victim's browser open the callback.
    let mut victim = Browser::new(&app);
    let planted = victim.get(&callback).await;
    assert_eq!(planted.status(), StatusCode::UNAUTHORIZED);
    assert!(!victim.cookies.contains_key("latchkey_session_pages"));
    // A victim mid-way through their own sign-in fares no better.
    app.github.script(|s| s.authorize_as = Some("hubot".into()));
    let mut busy_victim = Browser::new(&app);
    busy_victim.get("/login?next=/").await;
    let planted = busy_victim.get(&callback).await;
    assert_eq!(planted.status(), StatusCode::UNAUTHORIZED);
    assert!(!busy_victim.cookies.contains_key("latchkey_session_pages"));
    // Nothing was used up: the browser that started it still finishes.
    let finished = attacker.get(&callback).await;
    assert_eq!(finished.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&finished), "/");
    assert!(attacker.cookies.contains_key("latchkey_session_pages"));
    assert!(!attacker.cookies.contains_key("latchkey_session_prelogin"));
}

async fn login_csrf_through_the_golem_web_flow(app: TestApp) {
    // Review: the Login API's web flow is not bound to a browser (its wire
    // contract fixes the callback), so its cookie must not sign in to pages.
    app.github
        .script(|s| s.authorize_as = Some("octocat".into()));
    let (_, started) = json_of(
        app.client
            .get(format!(
                "{}/v1/login/oauth2/web/authorize?provider=github",
                app.base
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut attacker = Browser::new(&app);
    let at_github = attacker.get(started["url"].as_str().unwrap()).await;
    let callback = location(&at_github);
    let mut victim = Browser::new(&app);
    let planted = victim.get(&callback).await;
    assert_eq!(planted.status(), StatusCode::OK, "the Golem contract holds");
    assert!(victim.cookies.contains_key("latchkey_session"));
    assert!(!victim.cookies.contains_key("latchkey_session_pages"));
    // The pages see nobody signed in, and send the victim to sign in.
    let home = victim.page("/", StatusCode::OK).await;
    assert!(!home.contains("octocat@example.com"), "{home}");
    let client = register(&app, false, json!({})).await;
    let authorize = victim
        .get(&format!(
            "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope=profile&code_challenge={}&code_challenge_method=S256",
            client.id,
            urlencode(&client.redirect),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ))
        .await;
    assert_eq!(authorize.status(), StatusCode::SEE_OTHER);
    assert!(location(&authorize).starts_with("/login?next="));
}

backend_tests!(
    login_csrf_through_the_golem_web_flow,
    exact_redirect_uri_matching,
    no_redirect_on_bad_client_or_redirect_uri,
    code_reuse_revokes_tokens,
    code_bound_to_its_client,
    pkce_downgrade_and_mismatch,
    refresh_reuse_revokes_the_family_only,
    iss_in_every_authorization_response,
    clickjacking_headers_on_every_page,
    see_other_after_the_consent_post,
    csrf_on_consent,
    login_csrf_on_browser_sign_in,
);

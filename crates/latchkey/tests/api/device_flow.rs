use crate::helpers::*;
use fake_github::DeviceOutcome;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::{Duration, Instant};

async fn device_flow_logs_in_after_pending_polls(app: TestApp) {
    app.github.script(|s| s.device_pending_polls = 2);
    let started = device_start(&app, "/login/oauth2/device/start").await;
    assert_eq!(started["url"], format!("{}/login/device", app.github.url()));
    let code = started["userCode"].as_str().unwrap();
    assert!(code.len() == 9 && code.as_bytes()[4] == b'-', "{code}");
    let expires =
        chrono::DateTime::parse_from_rfc3339(started["expires"].as_str().unwrap()).unwrap();
    assert!(expires > chrono::Utc::now() + chrono::TimeDelta::minutes(14));
    let session = started["encodedSession"].clone();

    let (status, token) = device_complete(&app, "/login/oauth2/device/complete", session).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let secret = token["secret"]["value"].as_str().unwrap();
    let (_, me) = json_of(app.get("/v1/login/token", secret).await).await;
    assert_eq!(me, token["data"]);

    let calls = app.github.calls();
    let code_call = calls
        .iter()
        .find(|c| c.path == "/login/device/code")
        .unwrap();
    assert!(
        code_call.body.contains("scope=user%3Aemail"),
        "{}",
        code_call.body
    );
    let polls: Vec<_> = calls
        .iter()
        .filter(|c| c.path == "/login/oauth/access_token")
        .collect();
    assert_eq!(polls.len(), 3, "two pending answers, then the grant");
    // The sealed session reveals nothing of the device code.
    let device_code = polls[0]
        .body
        .split('&')
        .find_map(|kv| kv.strip_prefix("device_code="))
        .unwrap();
    assert!(!started["encodedSession"]
        .as_str()
        .unwrap()
        .contains(device_code));
}

async fn older_device_paths_work_too(app: TestApp) {
    for (start_path, complete_path) in [
        ("/oauth2/device/start", "/oauth2/device/complete"),
        (
            "/v1/login/oauth2/device/start",
            "/v1/login/oauth2/device/complete",
        ),
    ] {
        let started = device_start(&app, start_path).await;
        let (status, body) =
            device_complete(&app, complete_path, started["encodedSession"].clone()).await;
        assert_eq!(status, StatusCode::OK, "{complete_path}: {body}");
    }
}

/// The gaps between the fake's token-endpoint calls.
fn poll_gaps(app: &TestApp) -> Vec<Duration> {
    let polls = app.token_endpoint_calls();
    polls.windows(2).map(|w| w[1].at - w[0].at).collect()
}

async fn slow_down_adds_five_seconds(app: TestApp) {
    // GitHub's interval is 1 s, and this slow_down names no new one: the
    // rule alone (RFC 8628 §3.5: add 5 s) must make the next poll 6 s later.
    app.github.script(|s| {
        s.device_interval = 1;
        s.device_slow_down_on_poll = Some(1);
        s.device_slow_down_names_interval = false;
    });
    let started = device_start(&app, "/login/oauth2/device/start").await;
    let (status, body) = device_complete(
        &app,
        "/login/oauth2/device/complete",
        started["encodedSession"].clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Two polls only: the slowed one and the next, six seconds later.
    let gaps = poll_gaps(&app);
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert!(gaps[0] >= Duration::from_millis(5990), "{gaps:?}");
    assert!(gaps[0] < Duration::from_secs(9), "{gaps:?}");
}

async fn denied_and_expired_are_401(app: TestApp) {
    for outcome in [DeviceOutcome::Deny, DeviceOutcome::Expire] {
        app.github.script(|s| s.device_outcome = outcome.clone());
        let started = device_start(&app, "/login/oauth2/device/start").await;
        let (status, body) = device_complete(
            &app,
            "/login/oauth2/device/complete",
            started["encodedSession"].clone(),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{outcome:?}: {body}");
        assert!(body["error"].is_string());
    }
}

async fn tampered_sessions_are_400(app: TestApp) {
    let started = device_start(&app, "/login/oauth2/device/start").await;
    let session = started["encodedSession"].as_str().unwrap();
    let mut tampered = session.as_bytes().to_vec();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for body in [
        json!(tampered),
        json!("garbage"),
        json!(""),
        json!(42),
        json!({"s": session}),
    ] {
        assert_invalid(
            app.request(
                Method::POST,
                "/login/oauth2/device/complete",
                None,
                Some(body),
            )
            .await,
        )
        .await;
    }
    assert!(
        app.token_endpoint_calls().is_empty(),
        "no forged session reached GitHub"
    );
}

async fn pending_past_the_longest_wait_is_408(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.login.device_max_wait = Duration::from_secs(1)
    })
    .await;
    app.github.script(|s| s.device_pending_polls = u32::MAX);
    let started = device_start(&app, "/login/oauth2/device/start").await;
    let clock = Instant::now();
    let (status, body) = device_complete(
        &app,
        "/login/oauth2/device/complete",
        started["encodedSession"].clone(),
    )
    .await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT, "{body}");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("authorization_pending"));
    // It waited out the longest wait, polling, before giving up.
    assert!(
        clock.elapsed() >= Duration::from_millis(900),
        "{:?}",
        clock.elapsed()
    );
    assert!(
        clock.elapsed() < Duration::from_secs(3),
        "{:?}",
        clock.elapsed()
    );
    assert!(app.token_endpoint_calls().len() > 1);
}

fn polled(app: &TestApp) -> bool {
    !app.token_endpoint_calls().is_empty()
}

async fn concurrent_completions_are_bounded(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.login.device_max_concurrent_polls = 1;
        s.login.device_max_wait = Duration::from_secs(2);
    })
    .await;
    app.github.script(|s| s.device_pending_polls = u32::MAX);
    let a = device_start(&app, "/login/oauth2/device/start").await["encodedSession"].clone();
    let b = device_start(&app, "/login/oauth2/device/start").await["encodedSession"].clone();
    let first = device_complete(&app, "/login/oauth2/device/complete", a);
    let second = async {
        // Once the first completion polls, it holds the node's only slot.
        eventually("the first poll", || polled(&app)).await;
        let response = app
            .request(Method::POST, "/login/oauth2/device/complete", None, Some(b))
            .await;
        assert!(response.headers().contains_key("retry-after"));
        json_of(response).await
    };
    let ((s1, _), (s2, body)) = tokio::join!(first, second);
    assert_eq!(s1, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(s2, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body["error"].is_string());
}

async fn one_completion_per_device_code_at_a_time(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.login.device_max_concurrent_polls = 2;
        s.login.device_max_wait = Duration::from_secs(2);
    })
    .await;
    app.github.script(|s| s.device_pending_polls = u32::MAX);
    let session = device_start(&app, "/login/oauth2/device/start").await["encodedSession"].clone();
    let url = format!("{}/login/oauth2/device/complete", app.base);
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(64));
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let (client, url, session, barrier) = (
            app.client.clone(),
            url.clone(),
            session.clone(),
            barrier.clone(),
        );
        racers.spawn(async move {
            barrier.wait().await;
            let clock = Instant::now();
            let response = client.post(url).json(&session).send().await.unwrap();
            (response.status(), clock.elapsed())
        });
    }
    // The 63 losers answer at once, while the winner is still polling.
    let mut refused = 0;
    while refused < 63 {
        let (status, took) = racers.join_next().await.unwrap().unwrap();
        assert_eq!(status, StatusCode::CONFLICT, "a loser must get 409");
        assert!(took < Duration::from_secs(1), "{took:?}");
        refused += 1;
    }
    // Another user is not starved: the node's other slot serves them.
    let other = device_start(&app, "/login/oauth2/device/start").await["encodedSession"].clone();
    let (status, body) = device_complete(&app, "/login/oauth2/device/complete", other).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT, "{body}");
    let (status, _) = racers.join_next().await.unwrap().unwrap();
    assert_eq!(
        status,
        StatusCode::REQUEST_TIMEOUT,
        "the winner waited its time"
    );
    // Once it has answered, the session can be completed again.
    app.github.script(|s| s.device_pending_polls = 0);
    let (status, body) = device_complete(&app, "/login/oauth2/device/complete", session).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn the_lease_holds_across_nodes(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.login.device_max_wait = Duration::from_secs(2);
    })
    .await;
    app.github.script(|s| s.device_pending_polls = u32::MAX);
    let session = device_start(&app, "/login/oauth2/device/start").await["encodedSession"].clone();
    let (_other_stop, other) = second_node(&app).await;
    let first = device_complete(&app, "/login/oauth2/device/complete", session.clone());
    let second = async {
        eventually("the first node's poll", || polled(&app)).await;
        let response = app
            .client
            .post(format!("http://{other}/login/oauth2/device/complete"))
            .json(&session)
            .send()
            .await
            .unwrap();
        json_of(response).await
    };
    let ((s1, _), (s2, body)) = tokio::join!(first, second);
    assert_eq!(s1, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(s2, StatusCode::CONFLICT, "{body}");
    assert!(body["error"].as_str().unwrap().contains("already"));
}

async fn github_sees_one_poll_per_interval(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.login.device_max_wait = Duration::from_millis(1500);
    })
    .await;
    app.github.script(|s| {
        s.device_interval = 1;
        s.device_pending_polls = 2;
    });
    let session = device_start(&app, "/login/oauth2/device/start").await["encodedSession"].clone();
    // Polls at 0 s and 1 s, then gives up before the next one would be due.
    let (status, _) = device_complete(&app, "/login/oauth2/device/complete", session.clone()).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    // The client calls again at once; GitHub still hears from us no sooner
    // than one interval after the last poll.
    let (status, body) = device_complete(&app, "/login/oauth2/device/complete", session).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let gaps = poll_gaps(&app);
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(990)),
        "{gaps:?}"
    );
}

/// Another server on the same database: `(its shutdown handle, its address)`.
async fn second_node(app: &TestApp) -> (tokio::sync::oneshot::Sender<()>, std::net::SocketAddr) {
    let mut settings = app.settings.clone();
    settings.listen = "127.0.0.1:0".parse().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let other = latchkey::app::start(settings, async {
        let _ = rx.await;
    })
    .await
    .unwrap();
    let addr = other.addr;
    tokio::spawn(other.wait());
    (tx, addr)
}

async fn sessions_survive_a_restart_and_other_nodes(backend: Backend) {
    // Two servers on one database share the stored session key.
    let app = TestApp::spawn(backend).await;
    let started = device_start(&app, "/login/oauth2/device/start").await;
    let (_stop, other) = second_node(&app).await;
    let response = app
        .client
        .post(format!("http://{other}/login/oauth2/device/complete"))
        .json(&started["encodedSession"])
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

backend_tests!(
    device_flow_logs_in_after_pending_polls,
    older_device_paths_work_too,
    slow_down_adds_five_seconds,
    denied_and_expired_are_401,
    tampered_sessions_are_400,
);

async fn an_abandoned_completion_frees_its_lease(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.github.script(|s| s.device_pending_polls = u32::MAX);
    let session = device_start(&app, "/login/oauth2/device/start").await["encodedSession"].clone();
    // The client gives up while the server waits for the user.
    let hasty = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let gave_up = hasty
        .post(format!("{}/login/oauth2/device/complete", app.base))
        .json(&session)
        .send()
        .await;
    assert!(gave_up.is_err(), "{gave_up:?}");
    // The server notices the hang-up and gives the lease back.
    let mut held = 1;
    for _ in 0..500 {
        held = app
            .number("SELECT COUNT(*) FROM device_polls WHERE leased_until > 0")
            .await;
        if held == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(held, 0, "the lease is still held");
    app.github.script(|s| s.device_pending_polls = 0);
    let (status, body) = device_complete(&app, "/login/oauth2/device/complete", session).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn one_client_cannot_take_every_polling_slot(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.login.device_max_wait = Duration::from_secs(2);
    })
    .await;
    app.github.script(|s| s.device_pending_polls = u32::MAX);
    let mut sessions = Vec::new();
    for _ in 0..5 {
        sessions
            .push(device_start(&app, "/login/oauth2/device/start").await["encodedSession"].clone());
    }
    let mut waiting = tokio::task::JoinSet::new();
    for session in sessions.drain(..4) {
        let (client, url) = (
            app.client.clone(),
            format!("{}/login/oauth2/device/complete", app.base),
        );
        waiting.spawn(async move {
            client
                .post(url)
                .json(&session)
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    eventually("four completions polling", || {
        let codes: std::collections::BTreeSet<String> = app
            .token_endpoint_calls()
            .iter()
            .filter_map(|c| {
                c.body
                    .split('&')
                    .find(|kv| kv.starts_with("device_code="))
                    .map(str::to_owned)
            })
            .collect();
        codes.len() >= 4
    })
    .await;
    let fifth = app
        .request(
            Method::POST,
            "/login/oauth2/device/complete",
            None,
            Some(sessions.pop().unwrap()),
        )
        .await;
    assert!(fifth.headers().contains_key("retry-after"));
    assert_error(fifth, StatusCode::TOO_MANY_REQUESTS).await;
    for status in waiting.join_all().await {
        assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    }
}

backend_fns!(
    an_abandoned_completion_frees_its_lease,
    one_client_cannot_take_every_polling_slot,
    pending_past_the_longest_wait_is_408,
    concurrent_completions_are_bounded,
    one_completion_per_device_code_at_a_time,
    the_lease_holds_across_nodes,
    github_sees_one_poll_per_interval,
    sessions_survive_a_restart_and_other_nodes,
    a_configured_session_key_is_used,
);

async fn a_configured_session_key_is_used(backend: Backend) {
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let app = TestApp::spawn_with(backend, |s| {
        s.login.session_key = Some(latchkey::config::Secret(key.clone()));
    })
    .await;
    let started = device_start(&app, "/login/oauth2/device/start").await;
    // Readable with the configured key, not with any other.
    let configured = latchkey::crypto::ServerKey::from_base64(&key).unwrap();
    let session = started["encodedSession"].as_str().unwrap();
    assert!(configured.open("device-session-v1", session).is_some());
    let (status, _) = device_complete(
        &app,
        "/login/oauth2/device/complete",
        started["encodedSession"].clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let mut bad = app.settings.clone();
    bad.login.session_key = Some(latchkey::config::Secret("too-short".into()));
    let refused = latchkey::app::start(bad, async {}).await;
    assert!(refused.is_err());
}

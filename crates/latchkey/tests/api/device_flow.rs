use crate::helpers::*;
use fake_github::DeviceOutcome;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn start(app: &TestApp, path: &str) -> Value {
    let (status, body) = json_of(app.request(Method::POST, path, None, None).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn complete(app: &TestApp, path: &str, session: Value) -> (StatusCode, Value) {
    json_of(app.request(Method::POST, path, None, Some(session)).await).await
}

async fn device_flow_logs_in_after_pending_polls(app: TestApp) {
    app.github.script(|s| s.device_pending_polls = 2);
    let started = start(&app, "/login/oauth2/device/start").await;
    assert_eq!(started["url"], format!("{}/login/device", app.github.url()));
    let code = started["userCode"].as_str().unwrap();
    assert!(code.len() == 9 && code.as_bytes()[4] == b'-', "{code}");
    let expires =
        chrono::DateTime::parse_from_rfc3339(started["expires"].as_str().unwrap()).unwrap();
    assert!(expires > chrono::Utc::now() + chrono::TimeDelta::minutes(14));
    let session = started["encodedSession"].clone();

    let (status, token) = complete(&app, "/login/oauth2/device/complete", session).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let secret = token["secret"]["value"].as_str().unwrap();
    let (_, me) = json_of(app.get("/v1/login/token", secret).await).await;
    assert_eq!(me, token["data"]);

    let calls = app.github.calls();
    let code_call = calls
        .iter()
        .find(|c| c.uri == "/login/device/code")
        .unwrap();
    assert!(
        code_call.body.contains("scope=user%3Aemail"),
        "{}",
        code_call.body
    );
    let polls: Vec<_> = calls
        .iter()
        .filter(|c| c.uri == "/login/oauth/access_token")
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
        let started = start(&app, start_path).await;
        let (status, body) = complete(&app, complete_path, started["encodedSession"].clone()).await;
        assert_eq!(status, StatusCode::OK, "{complete_path}: {body}");
    }
}

async fn slow_down_adds_five_seconds(app: TestApp) {
    app.github.script(|s| s.device_slow_down_on_poll = Some(1));
    let started = start(&app, "/login/oauth2/device/start").await;
    let clock = Instant::now();
    let (status, body) = complete(
        &app,
        "/login/oauth2/device/complete",
        started["encodedSession"].clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        clock.elapsed() >= Duration::from_secs(5),
        "{:?}",
        clock.elapsed()
    );
    // Two polls only: the slowed one and the next, five seconds later.
    let polls = app
        .github
        .calls()
        .iter()
        .filter(|c| c.uri == "/login/oauth/access_token")
        .count();
    assert_eq!(polls, 2);
}

async fn denied_and_expired_are_401(app: TestApp) {
    for outcome in [DeviceOutcome::Deny, DeviceOutcome::Expire] {
        app.github.script(|s| s.device_outcome = outcome.clone());
        let started = start(&app, "/login/oauth2/device/start").await;
        let (status, body) = complete(
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
    let started = start(&app, "/login/oauth2/device/start").await;
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
    let polls = app
        .github
        .calls()
        .iter()
        .filter(|c| c.uri == "/login/oauth/access_token")
        .count();
    assert_eq!(polls, 0, "no forged session reached GitHub");
}

async fn pending_past_the_longest_wait_is_408(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.login.device_max_wait = Duration::from_secs(1)
    })
    .await
    else {
        return;
    };
    app.github.script(|s| s.device_pending_polls = u32::MAX);
    let started = start(&app, "/login/oauth2/device/start").await;
    let clock = Instant::now();
    let (status, body) = complete(
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
    assert!(clock.elapsed() < Duration::from_secs(3));
}

async fn concurrent_completions_are_bounded(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.login.device_max_concurrent_polls = 1;
        s.login.device_max_wait = Duration::from_secs(2);
    })
    .await
    else {
        return;
    };
    app.github.script(|s| s.device_pending_polls = u32::MAX);
    let a = start(&app, "/login/oauth2/device/start").await["encodedSession"].clone();
    let b = start(&app, "/login/oauth2/device/start").await["encodedSession"].clone();
    let first = complete(&app, "/login/oauth2/device/complete", a);
    let second = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
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

async fn sessions_survive_a_restart_and_other_nodes(backend: Backend) {
    // Two servers on one database share the stored session key.
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let started = start(&app, "/login/oauth2/device/start").await;
    let mut settings = app.settings.clone();
    settings.listen = "127.0.0.1:0".parse().unwrap();
    let (_tx, rx) = tokio::sync::oneshot::channel::<()>();
    let other = latchkey::app::start(settings, async {
        let _ = rx.await;
    })
    .await
    .unwrap();
    let response = app
        .client
        .post(format!(
            "http://{}/login/oauth2/device/complete",
            other.addr
        ))
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

backend_fns!(
    pending_past_the_longest_wait_is_408,
    concurrent_completions_are_bounded,
    sessions_survive_a_restart_and_other_nodes,
    a_configured_session_key_is_used,
);

async fn a_configured_session_key_is_used(backend: Backend) {
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.login.session_key = Some(latchkey::config::Secret(key.clone()));
    })
    .await
    else {
        return;
    };
    let started = start(&app, "/login/oauth2/device/start").await;
    // Readable with the configured key, not with any other.
    let configured = latchkey::crypto::ServerKey::from_base64(&key).unwrap();
    let session = started["encodedSession"].as_str().unwrap();
    assert!(configured.open("device-session-v1", session).is_some());
    let (status, _) = complete(
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

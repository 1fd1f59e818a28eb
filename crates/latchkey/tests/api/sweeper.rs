//! The janitor removes exactly what has expired, and nothing else, in
//! bounded batches, and reports its runs in `/metrics`.

use crate::helpers::*;
use crate::oauth_support::{register, token_request};
use latchkey::domain::Timestamp;
use latchkey::store::Expiring;
use reqwest::StatusCode;
use serde_json::json;

async fn the_sweeper_removes_what_it_should(app: TestApp) {
    let (user, secret) = app.user_with_token("Sam", "sam@example.com").await;
    // Three tokens that expired two days ago (more than one batch), one that
    // expired an hour ago (still listed, so its owner sees it expired), and
    // the live one.
    for expired_micros_ago in [
        2 * 86_400_000_000i64,
        3 * 86_400_000_000,
        4 * 86_400_000_000,
        3_600_000_000,
    ] {
        let token = app.create_token(&app.admin_secret, &user, FAR_FUTURE).await;
        let token_id = token["data"]["id"].as_str().unwrap();
        let at = Timestamp::now().as_micros() - expired_micros_ago;
        app.sql(&format!(
            "UPDATE tokens SET expires_at = {at} WHERE id = '{token_id}'"
        ))
        .await;
    }
    // A browser login abandoned past its lifetime, and one still in flight.
    for _ in 0..2 {
        let response = app
            .request(
                reqwest::Method::GET,
                "/v1/login/oauth2/web/authorize?provider=github",
                None,
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    app.sql(
        "UPDATE web_logins SET expires_at = 1 WHERE created_at = (SELECT MIN(created_at) FROM web_logins)",
    )
    .await;
    assert_eq!(app.number("SELECT COUNT(*) FROM tokens").await, 6);
    // Client-credentials tokens: one lapsed, one live.
    let client = register(&app, false, json!({})).await;
    for _ in 0..2 {
        let grant = [("grant_type", "client_credentials")];
        let (status, body) = token_request(&app, "/oauth/token", &client, &grant).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    app.sql(
        "UPDATE oauth_access_tokens SET expires_at = 1 \
         WHERE id = (SELECT MIN(id) FROM oauth_access_tokens)",
    )
    .await;
    // An audit event past the 90-day retention; the others are recent.
    let old = Timestamp::now().as_micros() - 91 * 86_400_000_000;
    app.sql(&format!(
        "UPDATE audit_events SET at = {old} WHERE id = (SELECT MIN(id) FROM audit_events)"
    ))
    .await;
    let audited = app.number("SELECT COUNT(*) FROM audit_events").await;
    assert!(audited > 1, "{audited}");
    // A device-flow lease whose session expired, and one still live.
    let now = Timestamp::now().as_micros();
    let blob = |b: u8| match app.settings.database.url.0.starts_with("sqlite") {
        true => format!("x'{}'", format!("{b:02x}").repeat(32)),
        false => format!("'\\x{}'::bytea", format!("{b:02x}").repeat(32)),
    };
    for (b, expires) in [(1u8, now - 1_000_000), (2, now + 600_000_000)] {
        app.sql(&format!(
            "INSERT INTO device_polls VALUES ({}, 'h', 0, 5, 0, {expires})",
            blob(b)
        ))
        .await;
    }

    let store = latchkey::store::Store::connect(
        &app.settings.database.url.0,
        latchkey::store::StoreOptions::default(),
    )
    .await
    .unwrap();
    // One row per statement: every kind still goes, batch after batch.
    let config = latchkey::service::SweepConfig {
        batch: 1,
        ..Default::default()
    };
    let swept = latchkey::service::sweep(&store, Timestamp::now(), &config)
        .await
        .unwrap();
    store.close().await;
    assert_eq!(
        [
            Expiring::Tokens,
            Expiring::WebLogins,
            Expiring::DevicePolls,
            Expiring::AccessTokens,
            Expiring::AuditEvents
        ]
        .map(|kind| swept.of(kind)),
        [3, 1, 1, 1, 1],
        "{swept:?}"
    );
    assert_eq!(swept.total(), 7, "{swept:?}");
    assert_eq!(
        app.number("SELECT COUNT(*) FROM audit_events").await,
        audited - 1
    );
    assert_eq!(
        app.number("SELECT COUNT(*) FROM oauth_access_tokens").await,
        1
    );
    assert_eq!(app.number("SELECT COUNT(*) FROM device_polls").await, 1);
    // Admin's token, the user's live one and the recently expired one remain.
    assert_eq!(app.number("SELECT COUNT(*) FROM tokens").await, 3);
    assert_eq!(app.number("SELECT COUNT(*) FROM web_logins").await, 1);
    assert_eq!(
        app.list_tokens(&user, &secret)
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// The janitor runs at start and then every interval; `/metrics` says when
/// it last ran and what it removed.
async fn janitor_runs_show_in_metrics(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.janitor_interval = Some(std::time::Duration::from_millis(200));
    })
    .await;
    let (user, _) = app.user_with_token("Jan", "jan@example.com").await;
    let token = app.create_token(&app.admin_secret, &user, FAR_FUTURE).await;
    let id = token["data"]["id"].as_str().unwrap().to_owned();
    app.sql(&format!(
        "UPDATE tokens SET expires_at = 1 WHERE id = '{id}'"
    ))
    .await;
    let mut text = String::new();
    for _ in 0..50 {
        text = app
            .request(reqwest::Method::GET, "/metrics", None, None)
            .await
            .text()
            .await
            .unwrap();
        if text.contains("latchkey_janitor_rows_removed_total{kind=\"tokens\"} 1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        text.contains("latchkey_janitor_rows_removed_total{kind=\"tokens\"} 1"),
        "{text}"
    );
    let last_run = text
        .lines()
        .find_map(|l| l.strip_prefix("latchkey_janitor_last_run_timestamp_seconds "))
        .expect("last run gauge")
        .parse::<f64>()
        .unwrap();
    let now = Timestamp::now().as_micros() as f64 / 1e6;
    assert!((now - last_run).abs() < 10.0, "{last_run} vs {now}");
    assert_eq!(
        app.number("SELECT COUNT(*) FROM tokens WHERE expires_at = 1")
            .await,
        0
    );
}

backend_tests!(the_sweeper_removes_what_it_should);
backend_fns!(janitor_runs_show_in_metrics);

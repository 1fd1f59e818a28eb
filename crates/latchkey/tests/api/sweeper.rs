//! The background sweep removes exactly what has expired, and nothing else.

use crate::helpers::*;
use latchkey::domain::Timestamp;
use reqwest::StatusCode;

async fn the_sweeper_removes_what_it_should(app: TestApp) {
    let (user, secret) = app.user_with_token("Sam", "sam@example.com").await;
    // A token that expired two days ago, one that expired an hour ago (still
    // listed, so its owner sees it expired), and the live one.
    for expired_micros_ago in [2 * 86_400_000_000i64, 3_600_000_000] {
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
    assert_eq!(app.number("SELECT COUNT(*) FROM tokens").await, 4);
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
    let swept = latchkey::service::sweep(&store, Timestamp::now())
        .await
        .unwrap();
    store.close().await;
    assert_eq!(
        (swept.tokens, swept.web_logins, swept.device_polls),
        (1, 1, 1),
        "{swept:?}"
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

backend_tests!(the_sweeper_removes_what_it_should);

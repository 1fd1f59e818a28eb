use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::{Connection, Row};

async fn creating_returns_token_and_secret_once(app: TestApp) {
    let (user, _) = app.user_with_token("Ada", "ada@example.com").await;
    let created = app
        .create_token(&app.admin_secret, &user, "2100-01-01T01:00:00+01:00")
        .await;
    let data = &created["data"];
    assert_eq!(data["accountId"], user.as_str());
    assert_eq!(data["expiresAt"], "2100-01-01T00:00:00Z");
    assert!(data["createdAt"].as_str().unwrap().ends_with('Z'));
    let secret = created["secret"]["value"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(secret).unwrap().get_version_num(), 4);
    assert_eq!(data.as_object().unwrap().len(), 4, "{data}");

    let listed = app.list_tokens(&user, &app.admin_secret).await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(data));
    assert!(
        !listed.iter().any(|t| t.to_string().contains(secret)),
        "listing leaks a secret"
    );

    let id = data["id"].as_str().unwrap();
    let (status, got) = json_of(
        app.get(
            &format!("/v1/accounts/{user}/tokens/{id}"),
            &app.admin_secret,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&got, data);

    let (status, me) = json_of(app.get("/v1/login/token", secret).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&me, data);
}

async fn users_manage_their_own_tokens(app: TestApp) {
    let (user, secret) = app.user_with_token("Bob", "bob@example.com").await;
    let created = app.create_token(&secret, &user, FAR_FUTURE).await;
    let id = created["data"]["id"].as_str().unwrap();
    let new_secret = created["secret"]["value"].as_str().unwrap();
    assert_eq!(
        app.get("/v1/login/token", new_secret).await.status(),
        StatusCode::OK
    );

    let (status, body) = json_of(
        app.delete(&format!("/v1/accounts/{user}/tokens/{id}"), &secret)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({}));

    // The very next request with the deleted secret fails.
    assert_unauthorized(app.get("/v1/login/token", new_secret).await).await;
    let body = assert_error(
        app.get(&format!("/v1/accounts/{user}/tokens/{id}"), &secret)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(body["error"], "Token not found");
    assert_error(
        app.delete(&format!("/v1/accounts/{user}/tokens/{id}"), &secret)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn bad_expiry_is_rejected_and_changes_nothing(app: TestApp) {
    let (user, secret) = app.user_with_token("Cy", "cy@example.com").await;
    let path = format!("/v1/accounts/{user}/tokens");
    for body in [
        json!({"expiresAt": "2001-01-01T00:00:00Z"}),
        json!({"expiresAt": "next tuesday"}),
        json!({"expiresAt": 42}),
        json!({"expiresAt": "2100-13-01T00:00:00Z"}),
        json!({}),
        json!([]),
    ] {
        assert_invalid(app.post(&path, &secret, body).await).await;
    }
    let (_, listed) = json_of(app.get(&path, &secret).await).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
}

async fn unknown_tokens_and_accounts_are_404(app: TestApp) {
    let (user, secret) = app.user_with_token("Di", "di@example.com").await;
    let missing = uuid::Uuid::new_v4();
    let body = assert_error(
        app.get(&format!("/v1/accounts/{user}/tokens/{missing}"), &secret)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(body["error"], "Token not found");
    let body = assert_error(
        app.get(&format!("/v1/accounts/{missing}/tokens"), &app.admin_secret)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(body["error"], "Account not found");
    assert_error(
        app.post(
            &format!("/v1/accounts/{missing}/tokens"),
            &app.admin_secret,
            json!({"expiresAt": FAR_FUTURE}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // A token of one account cannot be reached through another account's path.
    let (other, _) = app.user_with_token("Ed", "ed@example.com").await;
    let mine = app.list_tokens(&user, &secret).await;
    let mine = mine[0]["id"].as_str().unwrap();
    assert_error(
        app.get(
            &format!("/v1/accounts/{other}/tokens/{mine}"),
            &app.admin_secret,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_error(
        app.delete(
            &format!("/v1/accounts/{other}/tokens/{mine}"),
            &app.admin_secret,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(
        app.get("/v1/login/token", &secret).await.status(),
        StatusCode::OK
    );
}

const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

async fn expired_tokens_stop_working(app: TestApp) {
    let (user, _) = app.user_with_token("Flo", "flo@example.com").await;
    let expires = chrono::Utc::now() + chrono::TimeDelta::hours(1);
    let created = app
        .create_token(&app.admin_secret, &user, &expires.to_rfc3339())
        .await;
    let secret = created["secret"]["value"].as_str().unwrap();
    // Validated once, so it sits in the cache when it expires.
    assert_eq!(
        app.get("/v1/login/token", secret).await.status(),
        StatusCode::OK
    );
    app.settings.clock.advance(2 * HOUR);
    let (status, body) = json_of(app.get("/v1/login/token", secret).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "Token expired");
}

async fn an_expired_token_not_in_the_cache_is_refused(app: TestApp) {
    let (user, _) = app.user_with_token("Fay", "fay@example.com").await;
    let expires = chrono::Utc::now() + chrono::TimeDelta::hours(1);
    let created = app
        .create_token(&app.admin_secret, &user, &expires.to_rfc3339())
        .await;
    let secret = created["secret"]["value"].as_str().unwrap();
    // Never validated before it expired: the database row decides.
    app.settings.clock.advance(2 * HOUR);
    let (status, body) = json_of(app.get("/v1/login/token", secret).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "Token expired");
}

async fn secrets_are_stored_only_as_hashes(app: TestApp) {
    let (user, secret) = app.user_with_token("Gus", "gus@example.com").await;
    let mut conn = sqlx::AnyConnection::connect(&app.settings.database.url.0)
        .await
        .unwrap();
    let rows = sqlx::query("SELECT id, account_id, secret_hash, created_at, expires_at FROM tokens WHERE account_id = $1")
        .bind(&user)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let hash: Vec<u8> = rows[0].try_get("secret_hash").unwrap();
    let expected = Sha256::digest(uuid::Uuid::parse_str(&secret).unwrap().as_bytes());
    assert_eq!(hash, expected.as_slice());
    for col in ["id", "account_id"] {
        let v: String = rows[0].try_get(col).unwrap();
        assert_ne!(v, secret);
    }
    conn.close().await.ok();
}

async fn bootstrap_admin_token_is_listed(app: TestApp) {
    let (status, me) = json_of(app.get("/v1/login/token", &app.admin_secret).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["accountId"], app.admin_id.as_str());
    let listed = app.list_tokens(&app.admin_id, &app.admin_secret).await;
    assert_eq!(listed, Value::Array(vec![me]));
}

backend_tests!(
    creating_returns_token_and_secret_once,
    users_manage_their_own_tokens,
    bad_expiry_is_rejected_and_changes_nothing,
    unknown_tokens_and_accounts_are_404,
    expired_tokens_stop_working,
    an_expired_token_not_in_the_cache_is_refused,
    secrets_are_stored_only_as_hashes,
    bootstrap_admin_token_is_listed,
);

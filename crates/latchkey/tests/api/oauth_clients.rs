//! The client registry: its API, and the admins' OAuth Clients pages.

use crate::helpers::*;
use crate::oauth_support::*;
use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest, Sha256};

async fn admins_register_and_manage_clients(app: TestApp) {
    let (status, created) = json_of(
        app.post(
            "/v1/oauth/clients",
            &app.admin_secret,
            json!({"name": "CI Dashboard", "redirectUris": ["https://dash.example/cb"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["clientId"].as_str().unwrap().to_owned();
    let secret = created["clientSecret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("lk_cs_") && secret.len() == 55,
        "{secret}"
    );
    assert_eq!(created["public"], false);
    assert_eq!(created["scopes"].as_array().unwrap().len(), 6);
    assert_eq!(
        created["grantTypes"],
        json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    assert!(created["createdAt"].is_string());
    // Only the hash is stored.
    let stored = app
        .number(&format!(
            "SELECT COUNT(*) FROM oauth_clients WHERE id = '{id}' AND secret_hash IS NOT NULL"
        ))
        .await;
    assert_eq!(stored, 1);
    {
        use sqlx::{Connection, Row};
        let mut db = app.db().await;
        let row =
            sqlx::query("SELECT secret_hash, name, redirect_uris FROM oauth_clients WHERE id = $1")
                .bind(&id)
                .fetch_one(&mut db)
                .await
                .unwrap();
        let hash: Vec<u8> = row.try_get("secret_hash").unwrap();
        assert_eq!(hash, Sha256::digest(secret.as_bytes()).as_slice());
        db.close().await.ok();
    }
    // Listed and read without the secret.
    let (_, listed) = json_of(app.get("/v1/oauth/clients", &app.admin_secret).await).await;
    assert_eq!(listed["values"].as_array().unwrap().len(), 1);
    assert!(listed["values"][0].get("clientSecret").is_none());
    let (_, got) = json_of(
        app.get(&format!("/v1/oauth/clients/{id}"), &app.admin_secret)
            .await,
    )
    .await;
    assert_eq!(got["name"], "CI Dashboard");
    assert!(got.get("clientSecret").is_none());
    // Changed.
    let (status, updated) = json_of(
        app.put(
            &format!("/v1/oauth/clients/{id}"),
            &app.admin_secret,
            json!({"name": "CI", "redirectUris": ["https://dash.example/cb2"], "scopes": ["account:read"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["scopes"], json!(["account:read"]));
    // A new secret; the old one stops working.
    let client = Client {
        id: id.clone(),
        secret: Some(secret.clone()),
        redirect: "https://dash.example/cb2".into(),
    };
    let cc = [("grant_type", "client_credentials")];
    assert_eq!(
        token_request(&app, "/oauth/token", &client, &cc).await.0,
        StatusCode::OK
    );
    let (_, rotated) = json_of(
        app.post(
            &format!("/v1/oauth/clients/{id}/secret"),
            &app.admin_secret,
            json!({}),
        )
        .await,
    )
    .await;
    let new_secret = rotated["clientSecret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    assert_eq!(
        token_request(&app, "/oauth/token", &client, &cc).await.0,
        StatusCode::UNAUTHORIZED
    );
    let client = Client {
        secret: Some(new_secret),
        ..client
    };
    let (_, issued) = token_request(&app, "/oauth/token", &client, &cc).await;
    let access = issued["access_token"].as_str().unwrap().to_owned();
    // Deleting the client revokes what it was issued, at once.
    let (status, _) = json_of(
        app.delete(&format!("/v1/oauth/clients/{id}"), &app.admin_secret)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        token_request(&app, "/oauth/introspect", &client, &[("token", &access)])
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.number("SELECT COUNT(*) FROM oauth_access_tokens").await,
        0
    );
    assert_error(
        app.get(&format!("/v1/oauth/clients/{id}"), &app.admin_secret)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn deleting_a_client_ends_its_users_sessions_at_once(app: TestApp) {
    let client = register(&app, false, json!({})).await;
    let mut browser = sign_in(&app, "hubot").await;
    let tokens = tokens_for(&app, &mut browser, &client, "account:read").await;
    let access = tokens["access_token"].as_str().unwrap();
    // Cached by a first use.
    assert_eq!(
        app.get("/v1/login/token", access).await.status(),
        StatusCode::OK
    );
    app.delete(
        &format!("/v1/oauth/clients/{}", client.id),
        &app.admin_secret,
    )
    .await;
    assert_unauthorized(app.get("/v1/login/token", access).await).await;
    assert_eq!(app.number("SELECT COUNT(*) FROM oauth_grants").await, 0);
    assert_eq!(
        app.number("SELECT COUNT(*) FROM oauth_refresh_tokens")
            .await,
        0
    );
    assert_eq!(app.number("SELECT COUNT(*) FROM oauth_consents").await, 0);
}

async fn public_clients_and_bad_registrations(app: TestApp) {
    let (status, public) = json_of(
        app.post(
            "/v1/oauth/clients",
            &app.admin_secret,
            json!({"name": "CLI", "redirectUris": ["http://127.0.0.1/cb"], "public": true}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{public}");
    assert!(public.get("clientSecret").is_none());
    assert_eq!(
        public["grantTypes"],
        json!([
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code"
        ])
    );
    let id = public["clientId"].as_str().unwrap();
    let (status, _) = json_of(
        app.post(
            &format!("/v1/oauth/clients/{id}/secret"),
            &app.admin_secret,
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for bad in [
        json!({"name": "", "redirectUris": ["https://a.example/cb"]}),
        json!({"name": "x", "redirectUris": ["http://a.example/cb"]}),
        json!({"name": "x", "redirectUris": ["https://a.example/cb#frag"]}),
        json!({"name": "x", "redirectUris": ["/relative"]}),
        json!({"name": "x", "redirectUris": ["https://a.example/cb"], "scopes": ["root"]}),
        json!({"name": "x", "redirectUris": ["https://a.example/cb"], "public": true, "grantTypes": ["client_credentials"]}),
        json!({"name": "x", "redirectUris": [], "grantTypes": ["authorization_code"]}),
        json!({"name": "x", "redirectUris": ["https://a.example/cb"], "grantTypes": ["password"]}),
        json!({"name": "x", "redirectUris": ["https://a.example/cb"], "grantTypes": ["refresh_token", "refresh_token"]}),
        json!({"name": "x", "redirectUris": ["https://a.example/cb"], "scopes": ["email", "email"]}),
        json!({"name": "x", "redirectUris": ["https://a.example/cb"], "surprise": 1}),
    ] {
        assert_invalid(
            app.post("/v1/oauth/clients", &app.admin_secret, bad.clone())
                .await,
        )
        .await;
    }
    // Public cannot change.
    let (status, _) = json_of(
        app.put(
            &format!("/v1/oauth/clients/{id}"),
            &app.admin_secret,
            json!({"name": "CLI", "redirectUris": ["http://127.0.0.1/cb"], "public": false}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(app.number("SELECT COUNT(*) FROM oauth_clients").await, 1);
}

async fn only_admins_see_clients(app: TestApp) {
    let client = register(&app, false, json!({})).await;
    let (_, user) = app.user_with_token("Ursula", "ursula@example.com").await;
    for (method, path) in [
        (reqwest::Method::GET, "/v1/oauth/clients".to_owned()),
        (reqwest::Method::POST, "/v1/oauth/clients".to_owned()),
        (
            reqwest::Method::GET,
            format!("/v1/oauth/clients/{}", client.id),
        ),
        (
            reqwest::Method::PUT,
            format!("/v1/oauth/clients/{}", client.id),
        ),
        (
            reqwest::Method::DELETE,
            format!("/v1/oauth/clients/{}", client.id),
        ),
        (
            reqwest::Method::POST,
            format!("/v1/oauth/clients/{}/secret", client.id),
        ),
    ] {
        let body = json!({"name": "x", "redirectUris": ["https://a.example/cb"]});
        let response = app
            .request(method.clone(), &path, Some(&user), Some(body))
            .await;
        assert_error(response, StatusCode::NOT_FOUND).await;
    }
    assert_eq!(app.number("SELECT COUNT(*) FROM oauth_clients").await, 1);
}

/// The seed's admin pages, driven as a browser: list, New OAuth Client
/// (then its ID and Secret once), Edit and Update, Destroy with a
/// confirmation step.
async fn admin_pages_create_edit_and_destroy(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        // octocat's verified GitHub email: their first sign-in is the admin's.
        s.bootstrap_admin_email = latchkey::domain::Email::parse("octocat@example.com").unwrap();
    })
    .await;
    let mut admin = sign_in(&app, "octocat").await;
    let list = admin.page("/admin/oauth/clients", StatusCode::OK).await;
    assert!(list.contains("New OAuth Client"), "{list}");
    let form = admin.page("/admin/oauth/clients/new", StatusCode::OK).await;
    let csrf = field(&form_fields(&form), "csrf");
    let post = |fields: &[(&str, &str)]| {
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    // Without the CSRF token nothing happens.
    let forged = admin
        .post_form(
            "/admin/oauth/clients",
            &post(&[
                ("name", "Evil"),
                ("redirect_uris", "https://evil.example/cb"),
                ("scope", "email"),
            ]),
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // A bad redirect URL shows the form again, with the problem.
    let bad = admin
        .post_form(
            "/admin/oauth/clients",
            &post(&[
                ("csrf", &csrf),
                ("name", "Gadget"),
                ("redirect_uris", "http://gadget.example/cb"),
                ("scope", "email"),
            ]),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("https"));
    let created = admin
        .post_form(
            "/admin/oauth/clients",
            &post(&[
                ("csrf", &csrf),
                ("name", "Gadget"),
                (
                    "redirect_uris",
                    "https://gadget.example/cb\nhttp://127.0.0.1/cb",
                ),
                ("scope", "account:read"),
                ("scope", "email"),
            ]),
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    let page = created.text().await.unwrap();
    let id = page
        .split("id=\"client-id\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap()
        .to_owned();
    let secret = page
        .split("id=\"client-secret\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap()
        .to_owned();
    assert!(secret.starts_with("lk_cs_"), "{page}");
    assert!(page.contains("shown only this once"));
    // The secret works, and is not shown again anywhere.
    let client = Client {
        id: id.clone(),
        secret: Some(secret.clone()),
        redirect: "https://gadget.example/cb".into(),
    };
    let (status, _) = token_request(
        &app,
        "/oauth/token",
        &client,
        &[("grant_type", "client_credentials"), ("scope", "email")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let list = admin.page("/admin/oauth/clients", StatusCode::OK).await;
    assert!(list.contains("Gadget") && list.contains(&id) && !list.contains(&secret));
    // Edit and Update.
    let edit = admin
        .page(&format!("/admin/oauth/clients/{id}/edit"), StatusCode::OK)
        .await;
    assert!(edit.contains("https://gadget.example/cb"));
    let csrf = field(&form_fields(&edit), "csrf");
    let updated = admin
        .post_form(
            &format!("/admin/oauth/clients/{id}"),
            &post(&[
                ("csrf", &csrf),
                ("name", "Gadget Pro"),
                ("redirect_uris", "https://gadget.example/new"),
                ("scope", "profile"),
            ]),
        )
        .await;
    assert_eq!(updated.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&updated), "/admin/oauth/clients");
    let (_, api_view) = json_of(
        app.get(&format!("/v1/oauth/clients/{id}"), &app.admin_secret)
            .await,
    )
    .await;
    assert_eq!(api_view["name"], "Gadget Pro");
    assert_eq!(
        api_view["redirectUris"],
        json!(["https://gadget.example/new"])
    );
    assert_eq!(api_view["scopes"], json!(["profile"]));
    // Destroy, after confirming.
    let confirm = admin
        .page(&format!("/admin/oauth/clients/{id}/delete"), StatusCode::OK)
        .await;
    assert!(confirm.contains("Destroy Gadget Pro"));
    let csrf = field(&form_fields(&confirm), "csrf");
    let destroyed = admin
        .post_form(
            &format!("/admin/oauth/clients/{id}/delete"),
            &post(&[("csrf", &csrf)]),
        )
        .await;
    assert_eq!(destroyed.status(), StatusCode::SEE_OTHER);
    let list = admin.page("/admin/oauth/clients", StatusCode::OK).await;
    assert!(!list.contains("Gadget"));
    assert_eq!(app.number("SELECT COUNT(*) FROM oauth_clients").await, 0);
    // A signed-in user who is not an admin finds nothing there.
    let mut user = sign_in(&app, "hubot").await;
    user.page("/admin/oauth/clients", StatusCode::NOT_FOUND)
        .await;
    user.page("/admin/oauth/clients/new", StatusCode::NOT_FOUND)
        .await;
    // Signed out: off to sign-in.
    let mut stranger = Browser::new(&app);
    let response = stranger.get("/admin/oauth/clients").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        "/login?next=%2Fadmin%2Foauth%2Fclients"
    );
}

backend_tests!(
    admins_register_and_manage_clients,
    deleting_a_client_ends_its_users_sessions_at_once,
    public_clients_and_bad_registrations,
    only_admins_see_clients,
);
backend_fns!(admin_pages_create_edit_and_destroy);

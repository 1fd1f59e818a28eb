//! What a token may do: scopes checked at the edge, the two header forms,
//! recognisable secrets, named and narrowed API tokens, and the
//! authorizations a user can see and take back.

use crate::helpers::*;
use crate::oauth_support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// An access token for hubot with `scope`, and hubot's account id.
async fn access_token(app: &TestApp, scope: &str) -> (String, String) {
    let client = register(app, false, json!({})).await;
    let mut browser = sign_in(app, "hubot").await;
    let body = tokens_for(app, &mut browser, &client, scope).await;
    let access = body["access_token"].as_str().unwrap().to_owned();
    let (_, me) = json_of(app.get("/v1/login/token", &access).await).await;
    (access, me["accountId"].as_str().unwrap().to_owned())
}

async fn scopes_are_enforced_at_the_edge(app: TestApp) {
    let (access, account) = access_token(&app, "tokens:read profile").await;
    assert_eq!(
        app.get(&format!("/v1/accounts/{account}/tokens"), &access)
            .await
            .status(),
        StatusCode::OK
    );
    for (method, path, scope) in [
        (
            Method::POST,
            format!("/v1/accounts/{account}/tokens"),
            "tokens:write",
        ),
        (
            Method::GET,
            format!("/v1/accounts/{account}"),
            "account:read",
        ),
        (
            Method::PUT,
            format!("/v1/accounts/{account}"),
            "account:write",
        ),
        (
            Method::DELETE,
            format!("/v1/accounts/{account}"),
            "account:write",
        ),
        (
            Method::GET,
            format!("/v1/accounts/{account}/authorizations"),
            "account:read",
        ),
    ] {
        let response = app
            .request(
                method.clone(),
                &path,
                Some(&access),
                Some(json!({"expiresAt": FAR_FUTURE, "name": "x", "email": "x@example.com"})),
            )
            .await;
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            challenge,
            format!(r#"Bearer realm="latchkey", error="insufficient_scope", scope="{scope}""#),
            "{method} {path}"
        );
        assert_error(response, StatusCode::FORBIDDEN).await;
    }
    // The account is untouched, and an OAuth token is never an admin's.
    let (status, _) = json_of(
        app.get(&format!("/v1/accounts/{account}"), &app.admin_secret)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn oauth_tokens_never_carry_the_admin_role(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.bootstrap_admin_email = latchkey::domain::Email::parse("hubot@example.com").unwrap();
    })
    .await;
    let (access, account) = access_token(&app, "account:read account:write").await;
    assert_eq!(account, app.admin_id, "hubot is the admin");
    let (_, found) = json_of(app.get("/v1/accounts", &access).await).await;
    assert_eq!(
        found["values"].as_array().unwrap().len(),
        1,
        "only their own: {found}"
    );
    let (_, other) = app.user_with_token("Olga", "olga@example.com").await;
    let _ = other;
    let response = app
        .post(
            "/v1/accounts",
            &access,
            json!({"name": "N", "email": "n@example.com"}),
        )
        .await;
    assert_error(response, StatusCode::FORBIDDEN).await;
}

async fn both_header_forms_and_recognisable_secrets(app: TestApp) {
    let (access, _) = access_token(&app, "profile").await;
    let with = |header: String| {
        let app = &app;
        async move {
            app.client
                .get(format!("{}/oauth/userinfo", app.base))
                .header("authorization", header)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        with(format!("Bearer {access}")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        with(format!("Token token=\"{access}\"")).await.status(),
        StatusCode::OK
    );
    assert_unauthorized(with(format!("Basic {access}")).await).await;
    assert_unauthorized(with(format!("MAC {access}")).await).await;
    // A typo breaks the checksum: refused as malformed, before any lookup.
    let mut typo = access.clone().into_bytes();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    let (status, body) = json_of(with(format!("Bearer {typo}")).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("Malformed token"))
    );
    // Every OAuth secret is stored only as its hash.
    for (table, column) in [
        ("oauth_access_tokens", "secret_hash"),
        ("oauth_refresh_tokens", "secret_hash"),
        ("oauth_codes", "code_hash"),
    ] {
        use sqlx::{Connection, Row};
        let mut db = app.db().await;
        let rows = sqlx::query(&format!("SELECT {column} FROM {table}"))
            .fetch_all(&mut db)
            .await
            .unwrap();
        assert!(!rows.is_empty(), "{table}");
        for row in rows {
            let hash: Vec<u8> = row.try_get(column).unwrap();
            assert_eq!(hash.len(), 32, "{table}");
        }
        db.close().await.ok();
    }
    let dump = table_text(&app, "oauth_access_tokens").await;
    assert!(!dump.contains(&access[6..]));
}

/// Every column of every row of `table` as text, to look for secrets.
async fn table_text(app: &TestApp, table: &str) -> String {
    use sqlx::{Column, Connection, Row};
    let mut db = app.db().await;
    let rows = sqlx::query(&format!("SELECT * FROM {table}"))
        .fetch_all(&mut db)
        .await
        .unwrap();
    let mut text = String::new();
    for row in &rows {
        for column in row.columns() {
            if let Ok(Some(v)) = row.try_get::<Option<String>, _>(column.ordinal()) {
                text.push_str(&v);
            }
        }
    }
    db.close().await.ok();
    text
}

async fn named_and_narrowed_api_tokens(app: TestApp) {
    let (user, full) = app.user_with_token("Nora", "nora@example.com").await;
    let (status, narrowed) = json_of(
        app.post(
            &format!("/v1/accounts/{user}/tokens"),
            &full,
            json!({"expiresAt": FAR_FUTURE, "name": "read-only CI", "scopes": ["tokens:read"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{narrowed}");
    assert_eq!(narrowed["data"]["name"], "read-only CI");
    assert_eq!(narrowed["data"]["scopes"], json!(["tokens:read"]));
    let secret = narrowed["secret"]["value"].as_str().unwrap();
    // Narrowed: may list, may not create.
    let listed = app.list_tokens(&user, secret).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let response = app
        .post(
            &format!("/v1/accounts/{user}/tokens"),
            secret,
            json!({"expiresAt": FAR_FUTURE}),
        )
        .await;
    assert_error(response, StatusCode::FORBIDDEN).await;
    // A token without them keeps the Golem shape exactly.
    let plain = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t.get("name").is_none())
        .unwrap()
        .clone();
    let keys: Vec<&str> = plain
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["accountId", "createdAt", "expiresAt", "id"]);
    for bad in [
        json!({"expiresAt": FAR_FUTURE, "scopes": []}),
        json!({"expiresAt": FAR_FUTURE, "scopes": ["root"]}),
        // The schema says uniqueItems; a repeat is refused, not merged.
        json!({"expiresAt": FAR_FUTURE, "scopes": ["email", "email"]}),
        json!({"expiresAt": FAR_FUTURE, "name": ""}),
        json!({"expiresAt": FAR_FUTURE, "name": "x".repeat(101)}),
    ] {
        assert_invalid(
            app.post(&format!("/v1/accounts/{user}/tokens"), &full, bad)
                .await,
        )
        .await;
    }
}

async fn a_delegated_token_cannot_mint_api_tokens(app: TestApp) {
    // Review: an application granted tokens:write minted itself an API
    // token that outlived the user's revocation (and carried an admin's role).
    let (access, account) = access_token(&app, "tokens:write tokens:read").await;
    let path = format!("/v1/accounts/{account}/tokens");
    for body in [
        json!({"expiresAt": FAR_FUTURE}),
        json!({"expiresAt": FAR_FUTURE, "scopes": ["tokens:read"]}),
    ] {
        let response = app.post(&path, &access, body).await;
        assert_error(response, StatusCode::FORBIDDEN).await;
    }
    // It may list and delete them, as its scopes say.
    let (_, full) = json_of(
        app.post(&path, &app.admin_secret, json!({"expiresAt": FAR_FUTURE}))
            .await,
    )
    .await;
    let listed = app.list_tokens(&account, &access).await;
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .all(|t| !t.to_string().contains("lk_at_")));
    let (_, me) = json_of(app.get("/v1/login/token", &access).await).await;
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["id"] != me["id"]));
    let id = full["data"]["id"].as_str().unwrap();
    let (status, _) = json_of(app.delete(&format!("{path}/{id}"), &access).await).await;
    assert_eq!(status, StatusCode::OK);
}

async fn a_narrowed_api_token_cannot_outgrow_itself(app: TestApp) {
    let (user, full) = app.user_with_token("Nils", "nils@example.com").await;
    let path = format!("/v1/accounts/{user}/tokens");
    let soon = "2090-01-01T00:00:00Z";
    let (status, narrowed) = json_of(
        app.post(
            &path,
            &full,
            json!({"expiresAt": soon, "scopes": ["tokens:write", "tokens:read"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{narrowed}");
    let secret = narrowed["secret"]["value"].as_str().unwrap();
    // Unnarrowed request: it inherits the caller's scopes.
    let (status, minted) = json_of(app.post(&path, secret, json!({"expiresAt": soon})).await).await;
    assert_eq!(status, StatusCode::OK, "{minted}");
    assert_eq!(
        minted["data"]["scopes"],
        json!(["tokens:read", "tokens:write"])
    );
    let minted_secret = minted["secret"]["value"].as_str().unwrap();
    let response = app
        .get(&format!("/v1/accounts/{user}"), minted_secret)
        .await;
    assert_error(response, StatusCode::FORBIDDEN).await;
    // More scopes than it has, or a longer life: refused.
    for body in [
        json!({"expiresAt": soon, "scopes": ["account:write"]}),
        json!({"expiresAt": FAR_FUTURE, "scopes": ["tokens:read"]}),
    ] {
        let response = app.post(&path, secret, body).await;
        assert_error(response, StatusCode::FORBIDDEN).await;
    }
}

async fn an_admins_narrowed_token_has_no_admin_powers(app: TestApp) {
    let (status, narrowed) = json_of(
        app.post(
            &format!("/v1/accounts/{}/tokens", app.admin_id),
            &app.admin_secret,
            json!({"expiresAt": FAR_FUTURE, "scopes": ["tokens:write", "tokens:read", "account:read", "account:write"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{narrowed}");
    let secret = narrowed["secret"]["value"].as_str().unwrap();
    let (other, _) = app.user_with_token("Ola", "ola@example.com").await;
    assert_error(
        app.post(
            &format!("/v1/accounts/{other}/tokens"),
            secret,
            json!({"expiresAt": FAR_FUTURE}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_error(
        app.get("/v1/oauth/clients", secret).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let response = app
        .post(
            "/v1/accounts",
            secret,
            json!({"name": "N", "email": "n@example.com"}),
        )
        .await;
    assert_error(response, StatusCode::FORBIDDEN).await;
    // Its own account is still its own.
    let (status, _) = json_of(
        app.get(&format!("/v1/accounts/{}", app.admin_id), secret)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn users_see_and_revoke_their_authorizations(app: TestApp) {
    let client = register(&app, false, json!({"name": "Planner"})).await;
    let mut browser = sign_in(&app, "hubot").await;
    let tokens = tokens_for(&app, &mut browser, &client, "account:read profile").await;
    let access = tokens["access_token"].as_str().unwrap();
    let (_, me) = json_of(app.get("/v1/login/token", access).await).await;
    let account = me["accountId"].as_str().unwrap().to_owned();
    let (status, list) = json_of(
        app.get(
            &format!("/v1/accounts/{account}/authorizations"),
            &app.admin_secret,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let values = list["values"].as_array().unwrap();
    assert_eq!(values.len(), 1);
    assert_eq!(values[0]["clientId"], client.id.as_str());
    assert_eq!(values[0]["clientName"], "Planner");
    assert_eq!(values[0]["scopes"], json!(["account:read", "profile"]));
    assert!(values[0]["grantedAt"].is_string() && values[0]["lastUsedAt"].is_string());
    // Others see nothing.
    let (_, stranger) = app.user_with_token("Stan", "stan@example.com").await;
    assert_error(
        app.get(&format!("/v1/accounts/{account}/authorizations"), &stranger)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_error(
        app.delete(
            &format!("/v1/accounts/{account}/authorizations/{}", client.id),
            &stranger,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Revoking ends every token at once, and the next authorize asks again.
    assert_eq!(
        app.get("/v1/login/token", access).await.status(),
        StatusCode::OK
    );
    let (status, _) = json_of(
        app.delete(
            &format!("/v1/accounts/{account}/authorizations/{}", client.id),
            access,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "account:write is needed");
    let (status, _) = json_of(
        app.delete(
            &format!("/v1/accounts/{account}/authorizations/{}", client.id),
            &app.admin_secret,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_unauthorized(app.get("/v1/login/token", access).await).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (_, refused) = token_request(
        &app,
        "/oauth/token",
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(refused["error"], "invalid_grant");
    let (_, challenge) = pkce();
    let again = browser
        .get(&authorize_path(&client, "account:read", "s", &challenge))
        .await;
    assert_eq!(again.status(), StatusCode::OK, "consent is asked again");
    let (_, list) = json_of(
        app.get(
            &format!("/v1/accounts/{account}/authorizations"),
            &app.admin_secret,
        )
        .await,
    )
    .await;
    assert_eq!(list["values"], json!([]));
    assert_error(
        app.delete(
            &format!("/v1/accounts/{account}/authorizations/{}", client.id),
            &app.admin_secret,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn more_scopes_ask_again(app: TestApp) {
    let client = register(&app, false, json!({})).await;
    let mut browser = sign_in(&app, "hubot").await;
    code_for(&mut browser, &client, "profile").await;
    let (_, challenge) = pkce();
    // The same scopes (or fewer): no page.
    let same = browser
        .get(&authorize_path(&client, "profile", "s", &challenge))
        .await;
    assert_eq!(same.status(), StatusCode::SEE_OTHER);
    // More: the page again.
    let more = browser
        .get(&authorize_path(&client, "profile email", "s", &challenge))
        .await;
    assert_eq!(more.status(), StatusCode::OK);
    assert!(more
        .text()
        .await
        .unwrap()
        .contains("Know your email address"));
}

/// A route added later without a declared requirement would not start;
/// this walks every documented operation that needs a caller and proves
/// each refuses a request without one.
async fn every_protected_operation_demands_credentials(app: TestApp) {
    let (_, doc) = json_of(
        app.client
            .get(format!("{}/openapi.json", app.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut checked = 0;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let security = operation["security"]
                .as_array()
                .expect("every operation declares security");
            let public = security.iter().all(|s| s.as_object().unwrap().is_empty());
            if public {
                continue;
            }
            let concrete = path
                .replace("{accountId}", &app.admin_id)
                .replace("{tokenId}", &uuid::Uuid::new_v4().to_string())
                .replace("{clientId}", &uuid::Uuid::new_v4().to_string());
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = app
                .request(
                    method.clone(),
                    &concrete,
                    None,
                    Some(Value::Object(Default::default())),
                )
                .await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked}");
}

backend_tests!(
    scopes_are_enforced_at_the_edge,
    both_header_forms_and_recognisable_secrets,
    named_and_narrowed_api_tokens,
    a_delegated_token_cannot_mint_api_tokens,
    a_narrowed_api_token_cannot_outgrow_itself,
    an_admins_narrowed_token_has_no_admin_powers,
    users_see_and_revoke_their_authorizations,
    more_scopes_ask_again,
    every_protected_operation_demands_credentials,
);
backend_fns!(oauth_tokens_never_carry_the_admin_role);

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

async fn admins_create_and_read_accounts(app: TestApp) {
    let (status, account) = json_of(
        app.post(
            "/v1/accounts",
            &app.admin_secret,
            json!({"name": " Ada Lovelace ", "email": "Ada@Example.com"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{account}");
    assert_eq!(account["name"], "Ada Lovelace");
    assert_eq!(account["email"], "ada@example.com");
    assert!(uuid::Uuid::parse_str(account["id"].as_str().unwrap()).is_ok());
    assert!(uuid::Uuid::parse_str(account["planId"].as_str().unwrap()).is_ok());
    assert_eq!(account.as_object().unwrap().len(), 4);
    let id = account["id"].as_str().unwrap();
    let (status, got) = json_of(
        app.get(&format!("/v1/accounts/{id}"), &app.admin_secret)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, account);
}

async fn emails_are_unique_ignoring_case(app: TestApp) {
    app.create_user("A", "same@example.com").await;
    let body = assert_error(
        app.post(
            "/v1/accounts",
            &app.admin_secret,
            json!({"name": "B", "email": "SAME@example.com"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(body["error"].as_str().unwrap().contains("Email"));
    let other = app.create_user("C", "other@example.com").await;
    assert_error(
        app.put(
            &format!("/v1/accounts/{other}"),
            &app.admin_secret,
            json!({"name": "C", "email": "same@example.com"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    let (_, got) = json_of(
        app.get(&format!("/v1/accounts/{other}"), &app.admin_secret)
            .await,
    )
    .await;
    assert_eq!(got["email"], "other@example.com");
}

async fn users_cannot_create_accounts(app: TestApp) {
    let (_, secret) = app.user_with_token("U", "u@example.com").await;
    let body = assert_error(
        app.post(
            "/v1/accounts",
            &secret,
            json!({"name": "V", "email": "v@example.com"}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(!body["error"].as_str().unwrap().is_empty());
    let (_, found) = json_of(
        app.get("/v1/accounts?email=v@example.com", &app.admin_secret)
            .await,
    )
    .await;
    assert_eq!(found["values"], json!([]));
}

async fn other_accounts_are_invisible_to_users(app: TestApp) {
    let (_, secret) = app.user_with_token("Mal", "mal@example.com").await;
    let (victim, victim_secret) = app.user_with_token("Vic", "vic@example.com").await;
    let victim_tokens = app.list_tokens(&victim, &victim_secret).await;
    let victim_token = victim_tokens[0]["id"].as_str().unwrap();
    let paths = [
        format!("/v1/accounts/{victim}"),
        format!("/v1/accounts/{victim}/plan"),
        format!("/v1/accounts/{victim}/tokens"),
        format!("/v1/accounts/{victim}/tokens/{victim_token}"),
    ];
    for path in &paths {
        let body = assert_error(app.get(path, &secret).await, StatusCode::NOT_FOUND).await;
        assert_eq!(body["error"], "Account not found", "{path}");
    }
    let missing = uuid::Uuid::new_v4();
    let body = assert_error(
        app.get(&format!("/v1/accounts/{missing}"), &secret).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(body["error"], "Account not found");
    let changes = [
        app.put(
            &format!("/v1/accounts/{victim}"),
            &secret,
            json!({"name": "pwned", "email": "p@example.com"}),
        )
        .await,
        app.delete(&format!("/v1/accounts/{victim}"), &secret).await,
        app.post(
            &format!("/v1/accounts/{victim}/tokens"),
            &secret,
            json!({"expiresAt": FAR_FUTURE}),
        )
        .await,
        app.delete(
            &format!("/v1/accounts/{victim}/tokens/{victim_token}"),
            &secret,
        )
        .await,
    ];
    for response in changes {
        let body = assert_error(response, StatusCode::NOT_FOUND).await;
        assert_eq!(body["error"], "Account not found");
    }
    // The victim is untouched.
    let (_, got) = json_of(
        app.get(&format!("/v1/accounts/{victim}"), &victim_secret)
            .await,
    )
    .await;
    assert_eq!(got["name"], "Vic");
    let tokens = app.list_tokens(&victim, &victim_secret).await;
    assert_eq!(tokens.as_array().unwrap().len(), 1);
}

async fn users_update_their_own_account(app: TestApp) {
    let (id, secret) = app.user_with_token("Old", "old@example.com").await;
    let (status, updated) = json_of(
        app.put(
            &format!("/v1/accounts/{id}"),
            &secret,
            json!({"name": "New", "email": "new@example.com"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["name"], "New");
    assert_eq!(updated["email"], "new@example.com");
    assert_eq!(updated["id"], id.as_str());
    for bad in [
        json!({"name": "", "email": "x@example.com"}),
        json!({"name": "X", "email": "not-an-email"}),
        json!({"name": "X"}),
        json!({"email": "x@example.com"}),
        json!({"name": 5, "email": "x@example.com"}),
    ] {
        assert_invalid(app.put(&format!("/v1/accounts/{id}"), &secret, bad).await).await;
    }
    let (_, got) = json_of(app.get(&format!("/v1/accounts/{id}"), &secret).await).await;
    assert_eq!(got, updated);
}

async fn users_can_delete_themselves(app: TestApp) {
    let (id, secret) = app.user_with_token("Gone", "gone@example.com").await;
    let (status, body) = json_of(app.delete(&format!("/v1/accounts/{id}"), &secret).await).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    assert_unauthorized(app.get("/v1/login/token", &secret).await).await;
    let (_, found) = json_of(
        app.get("/v1/accounts?email=gone@example.com", &app.admin_secret)
            .await,
    )
    .await;
    assert_eq!(found["values"], json!([]));
}

async fn the_last_admin_cannot_be_deleted(app: TestApp) {
    let body = assert_error(
        app.delete(&format!("/v1/accounts/{}", app.admin_id), &app.admin_secret)
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(body["error"].as_str().unwrap().contains("admin"));
    assert_eq!(
        app.get("/v1/login/token", &app.admin_secret).await.status(),
        StatusCode::OK
    );
}

async fn plans_have_the_documented_shape(app: TestApp) {
    let (id, secret) = app.user_with_token("P", "p@example.com").await;
    let (status, plan) = json_of(app.get(&format!("/v1/accounts/{id}/plan"), &secret).await).await;
    assert_eq!(status, StatusCode::OK);
    let (_, account) = json_of(app.get(&format!("/v1/accounts/{id}"), &secret).await).await;
    assert_eq!(plan["planId"], account["planId"]);
    let data = plan["planData"].as_object().unwrap();
    for field in [
        "projectLimit",
        "componentLimit",
        "workerLimit",
        "storageLimit",
        "monthlyGasLimit",
        "monthlyUploadLimit",
    ] {
        assert!(data[field].is_i64(), "{field} in {plan}");
    }
    assert_eq!(data.len(), 6);
    let missing = uuid::Uuid::new_v4();
    assert_error(
        app.get(&format!("/v1/accounts/{missing}/plan"), &app.admin_secret)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn search_by_email_respects_visibility(app: TestApp) {
    let (me, secret) = app.user_with_token("Me", "me@example.com").await;
    app.create_user("You", "you@example.com").await;
    let (status, found) = json_of(
        app.get("/v1/accounts?email=you@example.com", &app.admin_secret)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["values"].as_array().unwrap().len(), 1);
    assert_eq!(found["values"][0]["email"], "you@example.com");
    let (_, all) = json_of(app.get("/v1/accounts", &app.admin_secret).await).await;
    assert_eq!(all["values"].as_array().unwrap().len(), 3);

    let (_, found) = json_of(app.get("/v1/accounts?email=you@example.com", &secret).await).await;
    assert_eq!(found, json!({"values": []}));
    let (_, found) = json_of(app.get("/v1/accounts?email=ME@example.com", &secret).await).await;
    assert_eq!(found["values"][0]["id"], me.as_str());
    let (_, found) = json_of(app.get("/v1/accounts", &secret).await).await;
    assert_eq!(found["values"].as_array().unwrap().len(), 1);
    assert_invalid(app.get("/v1/accounts?email=nonsense", &secret).await).await;
}

async fn admins_manage_other_accounts_tokens(app: TestApp) {
    let (user, secret) = app.user_with_token("T", "t@example.com").await;
    let minted = app.create_token(&app.admin_secret, &user, FAR_FUTURE).await;
    let id = minted["data"]["id"].as_str().unwrap();
    let listed = app.list_tokens(&user, &secret).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let response = app
        .delete(
            &format!("/v1/accounts/{user}/tokens/{id}"),
            &app.admin_secret,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_unauthorized(
        app.get(
            "/v1/login/token",
            minted["secret"]["value"].as_str().unwrap(),
        )
        .await,
    )
    .await;
}

async fn only_admin_set_emails_are_verified(app: TestApp) {
    let (id, secret) = app.user_with_token("Wes", "wes@example.com").await;
    let flag_sql = format!("SELECT email_verified FROM accounts WHERE id = '{id}'");
    let path = format!("/v1/accounts/{id}");
    assert_eq!(app.number(&flag_sql).await, 1, "an admin set it");
    let put = |secret: &str, body: serde_json::Value| {
        let (path, secret) = (path.clone(), secret.to_owned());
        let app = &app;
        async move { app.put(&path, &secret, body).await.status() }
    };
    // Renaming alone keeps the flag.
    let same = json!({"name": "Wesley", "email": "wes@example.com"});
    assert_eq!(put(&secret, same).await, StatusCode::OK);
    assert_eq!(app.number(&flag_sql).await, 1);
    let moved = json!({"name": "Wesley", "email": "wes@elsewhere.example"});
    assert_eq!(put(&secret, moved.clone()).await, StatusCode::OK);
    assert_eq!(
        app.number(&flag_sql).await,
        0,
        "the account chose it itself"
    );
    // An admin editing the account without touching the email confirms nothing.
    let renamed = json!({"name": "Wes S.", "email": "wes@elsewhere.example"});
    assert_eq!(put(&app.admin_secret, renamed).await, StatusCode::OK);
    assert_eq!(
        app.number(&flag_sql).await,
        0,
        "a rename is no confirmation"
    );
    // Only saying so does.
    let confirmed =
        json!({"name": "Wes S.", "email": "wes@elsewhere.example", "emailVerified": true});
    assert_eq!(put(&app.admin_secret, confirmed).await, StatusCode::OK);
    assert_eq!(app.number(&flag_sql).await, 1, "an admin confirmed it");
    // An admin setting a new address verifies it unless told otherwise.
    let unconfirmed = json!({"name": "Wes", "email": "wes@third.example", "emailVerified": false});
    assert_eq!(put(&app.admin_secret, unconfirmed).await, StatusCode::OK);
    assert_eq!(app.number(&flag_sql).await, 0);
    // Nobody else may claim verification.
    let claimed = json!({"name": "Wes", "email": "wes@third.example", "emailVerified": true});
    assert_error(
        app.put(&path, &secret, claimed).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(app.number(&flag_sql).await, 0);
    // A user may not pick an address another account shows, verified or not.
    app.create_user("Xena", "xena@example.com").await;
    assert_error(
        app.put(
            &path,
            &secret,
            json!({"name": "W", "email": "xena@example.com"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
}

/// Makes `account` an admin behind the API's back (no role API yet).
async fn make_admin(app: &TestApp, account: &str) {
    app.sql(&format!(
        "UPDATE accounts SET role = 'admin' WHERE id = '{account}'"
    ))
    .await;
}

/// Two admins each try to remove the other's admin powers (by `attack`) at
/// the same moment, five rounds over, the winner going on: one admin is always
/// left, and at least one of each pair of requests succeeds.
async fn race_two_admins(
    app: &TestApp,
    attack: fn(&reqwest::Client, &str, &str) -> reqwest::RequestBuilder,
) {
    // Made up front, while the bootstrap admin surely is one.
    let mut others = Vec::new();
    for round in 0..5 {
        let email = format!("other{round}@example.com");
        others.push(app.user_with_token("Other", &email).await);
    }
    let mut admin = (app.admin_id.clone(), app.admin_secret.clone());
    for (round, other) in others.into_iter().enumerate() {
        make_admin(app, &other.0).await;
        let admins = || app.number("SELECT COUNT(*) FROM accounts WHERE role = 'admin'");
        assert_eq!(admins().await, 2);
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let strike = |secret: String, target: String| {
            let (client, base, barrier) = (app.client.clone(), app.base.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                attack(&client, &base, &target)
                    .bearer_auth(secret)
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        };
        let a = strike(admin.1.clone(), other.0.clone());
        let b = strike(other.1.clone(), admin.0.clone());
        let statuses = [a.await.unwrap(), b.await.unwrap()];
        assert_eq!(admins().await, 1, "round {round}: {statuses:?}");
        assert!(statuses.contains(&StatusCode::OK), "{statuses:?}");
        let still_admin = app
            .number(&format!(
                "SELECT COUNT(*) FROM accounts WHERE id = '{}' AND role = 'admin'",
                admin.0
            ))
            .await;
        if still_admin == 0 {
            admin = other;
        }
    }
}

async fn racing_admin_deletions_leave_an_admin(app: TestApp) {
    race_two_admins(&app, |client, base, target| {
        client.delete(format!("{base}/v1/accounts/{target}"))
    })
    .await;
}

async fn racing_admin_demotions_leave_an_admin(app: TestApp) {
    race_two_admins(&app, |client, base, target| {
        client
            .put(format!("{base}/v1/accounts/{target}/role"))
            .json(&json!({"role": "user"}))
    })
    .await;
}

async fn admins_make_and_unmake_admins(app: TestApp) {
    let (user, secret) = app.user_with_token("Rae", "rae@example.com").await;
    let role = |id: &str| format!("/v1/accounts/{id}/role");
    // A user cannot promote themselves, or see anyone else's role route.
    assert_error(
        app.put(&role(&user), &secret, json!({"role": "admin"}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_error(
        app.put(&role(&app.admin_id), &secret, json!({"role": "user"}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    for bad in [
        json!({"role": "root"}),
        json!({}),
        json!({"role": "admin", "x": 1}),
    ] {
        assert_invalid(app.put(&role(&user), &app.admin_secret, bad).await).await;
    }
    // The user's token is cached as a user's; promotion holds at once.
    assert_eq!(
        app.get("/v1/accounts", &secret).await.status(),
        StatusCode::OK
    );
    let (status, body) = json_of(
        app.put(&role(&user), &app.admin_secret, json!({"role": "admin"}))
            .await,
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"role": "admin"})));
    let (_, all) = json_of(app.get("/v1/accounts", &secret).await).await;
    assert!(all["values"].as_array().unwrap().len() >= 2, "{all}");
    // Two admins: the first may step down, then the other is the last.
    let (status, _) = json_of(
        app.put(&role(&app.admin_id), &secret, json!({"role": "user"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_error(
        app.post(
            "/v1/accounts",
            &app.admin_secret,
            json!({"name": "N", "email": "n@example.com"}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_error(
        app.put(&role(&user), &secret, json!({"role": "user"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_error(
        app.put(
            &role(&uuid::Uuid::new_v4().to_string()),
            &secret,
            json!({"role": "admin"}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

backend_tests!(
    admins_make_and_unmake_admins,
    only_admin_set_emails_are_verified,
    racing_admin_deletions_leave_an_admin,
    racing_admin_demotions_leave_an_admin,
    admins_create_and_read_accounts,
    emails_are_unique_ignoring_case,
    users_cannot_create_accounts,
    other_accounts_are_invisible_to_users,
    users_update_their_own_account,
    users_can_delete_themselves,
    the_last_admin_cannot_be_deleted,
    plans_have_the_documented_shape,
    search_by_email_respects_visibility,
    admins_manage_other_accounts_tokens,
);

async fn racing_starts_bootstrap_once(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(backend, &dir).await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
    let mut nodes = tokio::task::JoinSet::new();
    for node in 0..2 {
        let mut settings = latchkey::config::Settings::with_database(&url);
        settings.listen = "127.0.0.1:0".parse().unwrap();
        // Different emails, so a unique email alone cannot be what saves us.
        settings.bootstrap_admin_email =
            latchkey::domain::Email::parse(&format!("admin{node}@example.com")).unwrap();
        let barrier = barrier.clone();
        nodes.spawn(async move {
            barrier.wait().await;
            let running = latchkey::app::start(settings, std::future::pending())
                .await
                .expect("both nodes start");
            running.bootstrapped.is_some()
        });
    }
    let bootstrapped = nodes.join_all().await;
    assert_eq!(
        bootstrapped.iter().filter(|b| **b).count(),
        1,
        "{bootstrapped:?}"
    );
    sqlx::any::install_default_drivers();
    let mut db = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let (admins, tokens): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM accounts WHERE role = 'admin'), (SELECT COUNT(*) FROM tokens)",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!((admins, tokens), (1, 1));
}

backend_fns!(racing_starts_bootstrap_once);

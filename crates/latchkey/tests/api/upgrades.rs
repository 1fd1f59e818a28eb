//! Upgrades never log anyone out: a database made by an older schema, holding
//! tokens of every kind, is migrated by today's code, and every token still
//! works. `tests/fixtures/<version>/` holds one such database per schema
//! version (a SQLite file and a PostgreSQL dump, with the secrets to try);
//! each schema change adds the fixture of the schema before it, made by
//! `make_upgrade_fixture` below on the commit before the change.

use crate::helpers::*;
use crate::oauth_support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Connection;
use std::path::PathBuf;

/// The schema versions that have a fixture, oldest first.
const FIXTURES: &[&str] = &["0008"];

fn fixture(version: &str, file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(version)
        .join(file)
}

fn name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// A copy of the fixture: a SQLite file in `dir`, or a fresh PostgreSQL
/// schema loaded from the dump. The fixture itself is never touched.
async fn restore(backend: Backend, version: &str, dir: &tempfile::TempDir) -> String {
    match backend {
        Backend::Sqlite => {
            let path = dir.path().join("latchkey.db");
            std::fs::copy(fixture(version, "sqlite.db"), &path).unwrap();
            format!("sqlite://{}", path.display())
        }
        Backend::Postgres => {
            let url = postgres_url();
            let schema = format!("lk_{}", uuid::Uuid::new_v4().simple());
            let dump = std::fs::read_to_string(fixture(version, "postgres.sql"))
                .unwrap()
                .replace("__schema__", &schema);
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(&dump).execute(&mut conn).await.unwrap();
            conn.close().await.ok();
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}options[search_path]={schema}")
        }
    }
}

async fn every_token_survives_the_upgrade(backend: Backend) {
    for version in FIXTURES {
        let dir = tempfile::tempdir().unwrap();
        let url = restore(backend, version, &dir).await;
        let secrets: Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(version, &format!("secrets-{}.json", name(backend))))
                .unwrap(),
        )
        .unwrap();
        let secret = |key: &str| secrets[key].as_str().unwrap().to_owned();
        let app = TestApp::spawn_existing(&url, dir, secret("apiToken"), secret("adminId")).await;
        // Migrated to today's schema (0009 added the audit log).
        assert_eq!(app.number("SELECT COUNT(*) FROM audit_events").await, 0);

        // API tokens: the admin's, and a narrowed one that keeps its scopes.
        let (status, me) = json_of(app.get("/v1/login/token", &secret("apiToken")).await).await;
        assert_eq!(status, StatusCode::OK, "{version}: {me}");
        assert_eq!(me["accountId"], secrets["adminId"]);
        let narrowed = secret("narrowedToken");
        let (status, me) = json_of(app.get("/v1/login/token", &narrowed).await).await;
        assert_eq!(status, StatusCode::OK, "{version}: {me}");
        assert_eq!(me["scopes"], json!(["tokens:read"]), "{version}");
        let tokens = format!("/v1/accounts/{}/tokens", secret("narrowedAccount"));
        assert_eq!(app.get(&tokens, &narrowed).await.status(), StatusCode::OK);
        assert_error(
            app.post(&tokens, &narrowed, json!({"expiresAt": FAR_FUTURE}))
                .await,
            StatusCode::FORBIDDEN,
        )
        .await;

        // The OAuth client, its secret and its tokens.
        let client = Client {
            id: secret("clientId"),
            secret: Some(secret("clientSecret")),
            redirect: "http://127.0.0.1/cb".into(),
        };
        let access = secret("accessToken");
        let (status, info) = json_of(app.get("/oauth/userinfo", &access).await).await;
        assert_eq!(status, StatusCode::OK, "{version}: {info}");
        let (status, seen) = token_request(
            &app,
            "/oauth/introspect",
            &client,
            &[("token", &secret("clientCredentialsToken"))],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{version}: {seen}");
        assert_eq!(seen["active"], true, "{version}: {seen}");
        let refresh = secret("refreshToken");
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ];
        let (status, rotated) = token_request(&app, "/oauth/token", &client, &form).await;
        assert_eq!(status, StatusCode::OK, "{version}: {rotated}");
        let fresh = rotated["access_token"].as_str().unwrap();
        assert_eq!(
            app.get("/oauth/userinfo", fresh).await.status(),
            StatusCode::OK
        );
        let grant = [("grant_type", "client_credentials")];
        let (status, body) = token_request(&app, "/oauth/token", &client, &grant).await;
        assert_eq!(status, StatusCode::OK, "{version}: {body}");
    }
}

backend_fns!(every_token_survives_the_upgrade);

/// Writes the fixture of the current schema to `LATCHKEY_FIXTURE_OUT`. Run
/// it on the commit before a schema change, with both databases:
///
/// ```sh
/// LATCHKEY_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/latchkey_dev \
/// LATCHKEY_FIXTURE_OUT=$PWD/crates/latchkey/tests/fixtures/NNNN \
///   cargo test -p latchkey --test api make_upgrade_fixture -- --ignored
/// ```
///
/// Tokens and grants get a century to live, so the fixture keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes a fixture; run by hand before a schema change"]
async fn make_upgrade_fixture() {
    let out = PathBuf::from(std::env::var("LATCHKEY_FIXTURE_OUT").expect("LATCHKEY_FIXTURE_OUT"));
    std::fs::create_dir_all(&out).unwrap();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        make_fixture(backend, &out).await;
    }
}

async fn make_fixture(backend: Backend, out: &std::path::Path) {
    const CENTURY: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 86_400);
    let app = TestApp::spawn_with(backend, |s| {
        s.oauth.access_token_ttl = CENTURY;
        s.oauth.refresh_token_ttl = CENTURY;
    })
    .await;
    let admin = app
        .create_token(&app.admin_secret, &app.admin_id, FAR_FUTURE)
        .await;
    let (user, _) = app.user_with_token("Fix", "fix@example.com").await;
    let (status, narrowed) = json_of(
        app.post(
            &format!("/v1/accounts/{user}/tokens"),
            &app.admin_secret,
            json!({"expiresAt": FAR_FUTURE, "name": "ci", "scopes": ["tokens:read"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{narrowed}");
    let grants =
        json!({"grantTypes": ["authorization_code", "refresh_token", "client_credentials"]});
    let client = register(&app, false, grants).await;
    let grant = [("grant_type", "client_credentials")];
    let (status, cc) = token_request(&app, "/oauth/token", &client, &grant).await;
    assert_eq!(status, StatusCode::OK, "{cc}");
    let mut browser = sign_in(&app, "octocat").await;
    let tokens = tokens_for(&app, &mut browser, &client, "profile account:read").await;
    let secrets = json!({
        "adminId": app.admin_id,
        "apiToken": admin["secret"]["value"],
        "narrowedToken": narrowed["secret"]["value"],
        "narrowedAccount": user,
        "clientId": client.id,
        "clientSecret": client.secret,
        "clientCredentialsToken": cc["access_token"],
        "accessToken": tokens["access_token"],
        "refreshToken": tokens["refresh_token"],
    });
    let file = out.join(format!("secrets-{}.json", name(backend)));
    std::fs::write(file, serde_json::to_string_pretty(&secrets).unwrap()).unwrap();
    match backend {
        Backend::Sqlite => {
            let path = out.join("sqlite.db");
            let _ = std::fs::remove_file(&path);
            app.sql(&format!("VACUUM INTO '{}'", path.display())).await;
        }
        Backend::Postgres => {
            let url = app.settings.database.url.0.clone();
            let (base, schema) = url.split_once("?options[search_path]=").unwrap();
            let dump = std::process::Command::new("pg_dump")
                .args([
                    "--inserts",
                    "--no-owner",
                    "--no-privileges",
                    "--no-comments",
                    "-n",
                ])
                .args([schema, base])
                .output()
                .expect("pg_dump runs");
            assert!(dump.status.success());
            // psql's meta-commands (\restrict) and comments go; the schema
            // gets a placeholder that the test replaces with a fresh one.
            let text: String = String::from_utf8(dump.stdout)
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with('\\') && !l.starts_with("--") && !l.is_empty())
                .map(|l| format!("{}\n", l.replace(schema, "__schema__")))
                .collect();
            std::fs::write(out.join("postgres.sql"), text).unwrap();
        }
    }
}

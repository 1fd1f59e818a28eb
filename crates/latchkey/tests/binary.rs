//! The real `latchkey` binary: configuration layering, first-start bootstrap,
//! offline commands, logs and shutdown on SIGTERM.

mod support;

use std::time::Duration;
use support::{call, get, latchkey, Server};
/// The banner's secret: the indented line after "shown once".
fn banner_secret(lines: &[String]) -> String {
    let at = lines
        .iter()
        .position(|l| l.contains("shown once"))
        .expect("bootstrap banner");
    lines[at + 2].trim().to_owned()
}

#[test]
fn first_start_prints_the_admin_token_once_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(latchkey(dir.path()).args(["serve", "--listen", "127.0.0.1:0"]));
    let secret = banner_secret(&server.seen);
    assert!(server.seen.iter().any(|l| l.contains("LATCHKEY BOOTSTRAP")));
    let (status, token) = get(&server.addr, "/v1/login/token", Some(&secret));
    assert_eq!(status, 200, "{token}");
    let logged = server.wait_for("finished processing request");
    assert!(
        logged.contains("request_id="),
        "request logs carry the request id: {logged}"
    );
    // Query strings never reach the logs: they can carry credentials.
    for path in [
        "/v1/oauth2?provider=github&access-token=QUERYSECRET1",
        "/healthcheck?x=QUERYSECRET2",
        "/nowhere?QUERYSECRET3",
    ] {
        call("POST", &format!("http://{}{path}", server.addr), None, None);
        call("GET", &format!("http://{}{path}", server.addr), None, None);
    }
    // Without a GitHub client secret the server said what access-token login needs.
    assert!(
        server
            .seen
            .iter()
            .any(|l| l.contains("WARN") && l.contains("--github-client-secret")),
        "{:#?}",
        server.seen
    );
    // While it runs: the database and SQLite's side files are the owner's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in ["latchkey.db", "latchkey.db-wal", "latchkey.db-shm"] {
            let mode = std::fs::metadata(dir.path().join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }
    let lines = server.stop();
    assert!(
        lines.iter().any(|l| l.contains("path=/v1/oauth2")),
        "the requests were logged: {lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("QUERYSECRET")),
        "{lines:#?}"
    );
    // The default database is ./latchkey.db, created on first start, readable
    // by its owner only: it holds the server key.
    let db = dir.path().join("latchkey.db");
    assert!(db.exists());

    // Apart from the banner itself, the secret never reaches the log.
    let leaks = lines.iter().filter(|l| l.contains(&secret)).count();
    assert_eq!(leaks, 2, "secret appears outside the banner: {lines:#?}");

    // A second start on the same database does not bootstrap again.
    let server = Server::start(latchkey(dir.path()).args(["serve", "--listen", "127.0.0.1:0"]));
    assert!(!server.seen.iter().any(|l| l.contains("BOOTSTRAP")));
    assert_eq!(get(&server.addr, "/v1/login/token", Some(&secret)).0, 200);
    server.stop();
}

#[test]
fn bootstrap_token_can_go_to_a_private_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("admin-token");
    let server = Server::start(latchkey(dir.path()).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--bootstrap-token-file",
        file.to_str().unwrap(),
    ]));
    let secret = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert!(!server.seen.iter().any(|l| l.contains(&secret)));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(get(&server.addr, "/v1/login/token", Some(&secret)).0, 200);
    server.stop();
}

#[test]
fn an_existing_token_file_or_link_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::write(&elsewhere, "precious\n").unwrap();
    let existing = dir.path().join("existing");
    std::fs::write(&existing, "old contents\n").unwrap();
    let link = dir.path().join("link");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let dangling = dir.path().join("dangling");
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    for file in [&existing, &link, &dangling] {
        let db = dir.path().join("t.db");
        let _ = std::fs::remove_file(&db);
        let out = latchkey(dir.path())
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                &format!("sqlite://{}", db.display()),
                "--bootstrap-token-file",
                file.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{}", file.display());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("already exists"), "{stderr}");
    }
    assert_eq!(
        std::fs::read_to_string(&existing).unwrap(),
        "old contents\n"
    );
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "precious\n");
    assert!(!dir.path().join("nowhere").exists());
}

#[test]
fn flags_beat_environment_beat_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("latchkey.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.2:0\"\ndatabase_url = \"sqlite://from-file.db\"\n",
    )
    .unwrap();
    let file_only =
        Server::start(latchkey(dir.path()).args(["serve", "--config", config.to_str().unwrap()]));
    assert!(
        file_only.addr.starts_with("127.0.0.2:"),
        "{}",
        file_only.addr
    );
    file_only.stop();
    assert!(dir.path().join("from-file.db").exists());

    let env_wins = Server::start(
        latchkey(dir.path())
            .args(["serve", "--config", config.to_str().unwrap()])
            .env("LATCHKEY_LISTEN", "127.0.0.3:0"),
    );
    assert!(env_wins.addr.starts_with("127.0.0.3:"), "{}", env_wins.addr);
    env_wins.stop();

    let flag_wins = Server::start(
        latchkey(dir.path())
            .args([
                "serve",
                "--config",
                config.to_str().unwrap(),
                "--listen",
                "127.0.0.4:0",
            ])
            .env("LATCHKEY_LISTEN", "127.0.0.3:0"),
    );
    assert!(
        flag_wins.addr.starts_with("127.0.0.4:"),
        "{}",
        flag_wins.addr
    );
    flag_wins.stop();
}

#[test]
fn bad_configuration_fails_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "lisen = \"127.0.0.1:0\"\n").unwrap();
    let out = latchkey(dir.path())
        .args(["serve", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("lisen"));
    let out = latchkey(dir.path())
        .args(["serve", "--database-url", "mysql://x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sqlite: or postgres://"));
}

#[test]
fn migrate_and_offline_token_minting() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("offline.db").display());
    let out = latchkey(dir.path())
        .args(["migrate", "--database-url", &db])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The schema is there, every migration recorded, and nobody bootstrapped.
    let (tables, migrations, accounts) = schema_of(&db);
    for table in [
        "accounts",
        "tokens",
        "identities",
        "web_logins",
        "device_polls",
    ] {
        assert!(tables.iter().any(|t| t == table), "{table} in {tables:?}");
    }
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .count() as i64;
    assert_eq!(migrations, files);
    assert_eq!(accounts, 0);

    let server = Server::start(
        latchkey(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("LATCHKEY_DATABASE_URL", &db),
    );
    let secret = banner_secret(&server.seen);
    let (_, me) = get(&server.addr, "/v1/login/token", Some(&secret));
    let account = me["accountId"].as_str().unwrap().to_owned();

    // Recovery: mint a token straight against the database.
    let out = latchkey(dir.path())
        .args([
            "admin",
            "token",
            "create",
            "--account",
            &account,
            "--database-url",
            &db,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let minted: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let recovered = minted["secret"]["value"].as_str().unwrap();
    let (status, token) = get(&server.addr, "/v1/login/token", Some(recovered));
    assert_eq!(status, 200);
    assert_eq!(token["accountId"], account.as_str());

    let out = latchkey(dir.path())
        .args([
            "admin",
            "token",
            "create",
            "--account",
            &uuid::Uuid::new_v4().to_string(),
            "--database-url",
            &db,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no account"));
    server.stop();
}

#[test]
fn sigterm_lets_an_in_flight_request_finish() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(latchkey(dir.path()).args(["serve", "--listen", "127.0.0.1:0"]));
    let secret = banner_secret(&server.seen);
    let (_, me) = get(&server.addr, "/v1/login/token", Some(&secret));
    let account = me["accountId"].as_str().unwrap().to_owned();

    // Send the headers and half the body, then signal, then the rest.
    let body = br#"{"expiresAt": "2100-01-01T00:00:00Z"}"#;
    let mut conn = std::net::TcpStream::connect(&server.addr).unwrap();
    write!(
        conn,
        "POST /v1/accounts/{account}/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {secret}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    conn.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.terminate();
    server.wait_for("shutdown signal received");
    conn.write_all(&body[10..]).unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""secret":{"value":""#), "{response}");
    let exit = server.child.wait().unwrap();
    assert!(exit.success(), "{exit}");
}

/// The tables of a SQLite database, its applied migrations and its accounts.
fn schema_of(url: &str) -> (Vec<String>, i64, i64) {
    use sqlx::Connection;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let mut db = sqlx::AnyConnection::connect(url).await.unwrap();
        let tables: Vec<(String,)> =
            sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table'")
                .fetch_all(&mut db)
                .await
                .unwrap();
        let (migrations,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(&mut db)
                .await
                .unwrap();
        let (accounts,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM accounts")
            .fetch_one(&mut db)
            .await
            .unwrap();
        (
            tables.into_iter().map(|t| t.0).collect(),
            migrations,
            accounts,
        )
    })
}

#[test]
fn dev_mode_runs_every_login_flow_offline() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        Server::start(latchkey(dir.path()).args(["serve", "--dev", "--listen", "127.0.0.1:0"]));
    assert!(
        server.seen.iter().any(|l| l.contains("DEV MODE")),
        "{:#?}",
        server.seen
    );
    let base = format!("http://{}", server.addr);

    // Device flow: the fake approves as octocat after one pending poll.
    let (status, _, body) = call(
        "POST",
        &format!("{base}/login/oauth2/device/start"),
        None,
        None,
    );
    assert_eq!(status, 200, "{body}");
    let started: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (status, _, body) = call(
        "POST",
        &format!("{base}/login/oauth2/device/complete"),
        None,
        Some(started["encodedSession"].clone()),
    );
    assert_eq!(status, 200, "{body}");
    let token: serde_json::Value = serde_json::from_str(&body).unwrap();
    let secret = token["secret"]["value"].as_str().unwrap();
    assert_eq!(get(&server.addr, "/v1/login/token", Some(secret)).0, 200);

    // Web flow: authorize, the fake's redirect, the callback, then the poll.
    let (status, _, body) = call("GET", &format!("{base}/v1/login/oauth2/web/authorize?provider=github&redirect=http://localhost:3000/done"), None, None);
    assert_eq!(status, 200, "{body}");
    let authorize: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (status, back, _) = call("GET", authorize["url"].as_str().unwrap(), None, None);
    assert_eq!(status, 303);
    let (status, to_app, _) = call("GET", &back.unwrap(), None, None);
    assert_eq!(status, 302);
    assert_eq!(to_app.as_deref(), Some("http://localhost:3000/done"));
    let poll = format!(
        "{base}/v1/login/oauth2/web/poll?state={}",
        authorize["state"].as_str().unwrap()
    );
    let (status, _, body) = call("GET", &poll, None, None);
    assert_eq!(status, 200, "{body}");
    let web_secret: serde_json::Value = serde_json::from_str(&body).unwrap();
    let web_secret = web_secret["secret"]["value"].as_str().unwrap().to_owned();
    // Each login is an audit line in the log, with its method; no secret is.
    let lines = server.stop();
    let audited: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("audit event") && l.contains("login"))
        .collect();
    for method in ["device_flow", "web_flow"] {
        assert!(
            audited
                .iter()
                .any(|l| l.contains(method) && l.contains("githubId")),
            "{audited:#?}"
        );
    }
    for secret in [secret, web_secret.as_str()] {
        assert!(
            !lines.iter().any(|l| l.contains(secret)),
            "a secret in the log"
        );
    }
}

#[test]
fn dev_mode_refuses_anything_but_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let out = latchkey(dir.path())
        .args(["serve", "--dev", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}

#[test]
fn janitor_runs_once_and_reports_each_kind() {
    let dir = tempfile::tempdir().unwrap();
    // It never migrates: on a database without the schema it fails.
    let unmigrated = latchkey(dir.path())
        .args(["janitor", "--database-url", "sqlite://j.db"])
        .output()
        .unwrap();
    assert!(!unmigrated.status.success(), "{unmigrated:?}");
    let migrated = latchkey(dir.path())
        .args(["migrate", "--database-url", "sqlite://j.db"])
        .status()
        .unwrap();
    assert!(migrated.success());
    let out = latchkey(dir.path())
        .args([
            "janitor",
            "--database-url",
            "sqlite://j.db",
            "--batch",
            "10",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    for kind in [
        "tokens",
        "web_logins",
        "device_polls",
        "oauth_access_tokens",
        "oauth_refresh_tokens",
        "oauth_codes",
        "oauth_device_codes",
    ] {
        assert!(text.contains(&format!("{kind}\t0\n")), "{text}");
    }
    let bad = latchkey(dir.path())
        .args(["janitor", "--database-url", "mysql://x"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

/// Review: SIGTERM aborted the last-use writer, losing the uses it had
/// queued. It now writes them before the process exits.
#[test]
fn last_use_is_written_before_sigterm_exits() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(latchkey(dir.path()).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--bootstrap-token-file",
        "admin-token",
        "--last-use-flush-secs",
        "3600",
    ]));
    let admin = std::fs::read_to_string(dir.path().join("admin-token")).unwrap();
    assert_eq!(
        get(&server.addr, "/v1/login/token", Some(admin.trim())).0,
        200
    );
    server.stop();
    let url = format!("sqlite://{}", dir.path().join("latchkey.db").display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let recorded: i64 = rt.block_on(async {
        sqlx::any::install_default_drivers();
        let mut db = sqlx::AnyConnection::connect(&url).await.unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM tokens WHERE last_used_at IS NOT NULL")
            .fetch_one(&mut db)
            .await
            .unwrap()
    });
    assert_eq!(recorded, 1);
}

//! The real `latchkey` binary: configuration layering, first-start bootstrap,
//! offline commands, logs and shutdown on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_latchkey");

struct Server {
    child: Child,
    addr: String,
    /// Every stderr line so far, collected by a reader thread.
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Server {
    fn start(cmd: &mut Command) -> Server {
        let mut child = cmd
            .env("LATCHKEY_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("binary starts");
        let lines = pipe_lines(child.stderr.take().unwrap());
        let mut server = Server {
            child,
            addr: String::new(),
            lines,
            seen: Vec::new(),
        };
        let line = server.wait_for("latchkey listening on ");
        server.addr = line.rsplit(' ').next().unwrap().to_owned();
        server
    }

    fn wait_for(&mut self, needle: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("no line containing {needle:?}; saw {:#?}", self.seen));
            self.seen.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn stop(mut self) -> Vec<String> {
        self.terminate();
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "SIGTERM must shut down cleanly, got {exit}");
        self.seen.extend(self.lines.try_iter());
        self.seen
    }
}

fn pipe_lines(stderr: ChildStderr) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn latchkey(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("LATCHKEY_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

fn get(addr: &str, path: &str, secret: Option<&str>) -> (u16, serde_json::Value) {
    let (status, _, body) = call("GET", &format!("http://{addr}{path}"), secret, None);
    (status, serde_json::from_str(&body).unwrap())
}

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

/// One HTTP request, redirects not followed: (status, location, body).
fn call(
    method: &str,
    url: &str,
    secret: Option<&str>,
    body: Option<serde_json::Value>,
) -> (u16, Option<String>, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut req = client.request(method.parse().unwrap(), url);
        if let Some(secret) = secret {
            req = req.bearer_auth(secret);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let response = req.send().await.unwrap();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        (
            response.status().as_u16(),
            location,
            response.text().await.unwrap(),
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
    server.stop();
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

/// The CLI client against a real server in dev mode: the device-flow login
/// (the fake GitHub approves by itself), the saved 0600 login, tokens, the
/// exit codes scripts rely on, and logout ending the token on the server.
#[test]
fn cli_client_signs_in_manages_tokens_and_signs_out() {
    let dir = tempfile::tempdir().unwrap();
    // A one-second longest wait: the fake GitHub stays pending for its
    // first poll and then an interval, so `login` meets 408s and calls
    // `complete` again.
    let mut server = Server::start(latchkey(dir.path()).args([
        "serve",
        "--dev",
        "--listen",
        "127.0.0.1:0",
        "--bootstrap-token-file",
        "admin-token",
        "--device-max-wait-secs",
        "1",
        "--access-log",
        "info",
    ]));
    let base = format!("http://{}", server.addr);
    let config = dir.path().join("config");
    let cli = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = latchkey(dir.path());
        cmd.env("XDG_CONFIG_HOME", &config).env("HOME", dir.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.args(args).output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    // Not signed in: exit 3, one clear line.
    let (code, _, err) = cli(&["whoami", "--server", &base], &[]);
    assert_eq!(code, 3, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // Usage: clap's own and ours are both 2.
    assert_eq!(cli(&["frobnicate"], &[]).0, 2);
    assert_eq!(cli(&["whoami"], &[]).0, 2, "no server named");

    let (code, out, err) = cli(&["login", "--server", &base], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("/login/device") && err.contains("enter the code"),
        "{err}"
    );
    let saved = config.join("latchkey/login.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&saved).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    server.wait_for("path=/login/oauth2/device/complete status=200");
    let timeouts = server
        .seen
        .iter()
        .filter(|l| l.contains("path=/login/oauth2/device/complete status=408"))
        .count();
    assert!(timeouts >= 1, "{:#?}", server.seen);
    let login: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    let login_token = login["token"].as_str().unwrap().to_owned();

    // The saved login names the server; no --server needed now.
    let (code, out, _) = cli(&["whoami"], &[]);
    assert_eq!(code, 0);
    assert!(out.contains("octocat@example.com"), "{out}");
    let (code, out, _) = cli(&["whoami", "--json"], &[]);
    assert_eq!(code, 0);
    let me: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(me["account"]["email"], "octocat@example.com");

    let (code, out, _) = cli(
        &[
            "token",
            "create",
            "--expires",
            "12h",
            "--name",
            "ci",
            "--json",
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    let created: serde_json::Value = serde_json::from_str(&out).unwrap();
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let secret = created["secret"]["value"].as_str().unwrap().to_owned();
    assert_eq!(get(&server.addr, "/v1/login/token", Some(&secret)).0, 200);
    let (code, out, _) = cli(&["token", "list"], &[]);
    assert_eq!(code, 0);
    assert!(out.starts_with("ID"), "{out}");
    assert!(
        out.contains(&id) && out.contains("(this one)") && out.contains(" ci "),
        "{out}"
    );
    assert_eq!(cli(&["token", "create", "--expires", "soon"], &[]).0, 2);
    assert_eq!(
        cli(
            &["token", "delete", "00000000-0000-4000-8000-000000000000"],
            &[]
        )
        .0,
        4
    );
    let (code, _, _) = cli(&["token", "delete", &id], &[]);
    assert_eq!(code, 0);
    assert_eq!(get(&server.addr, "/v1/login/token", Some(&secret)).0, 401);

    // LATCHKEY_TOKEN wins over the saved login.
    let admin = std::fs::read_to_string(dir.path().join("admin-token")).unwrap();
    let (code, out, _) = cli(&["whoami"], &[("LATCHKEY_TOKEN", admin.trim())]);
    assert_eq!(code, 0);
    assert!(out.contains("admin@localhost"), "{out}");
    // A refused token is an auth failure; an unreachable server is 5.
    assert_eq!(
        cli(
            &["whoami"],
            &[("LATCHKEY_TOKEN", "00000000-0000-4000-8000-000000000000")]
        )
        .0,
        3
    );
    let (code, _, err) = cli(
        &["whoami", "--server", "http://127.0.0.1:1"],
        &[("LATCHKEY_TOKEN", admin.trim())],
    );
    assert_eq!(code, 5, "{err}");

    // Logout deletes the token on the server and the saved login.
    let (code, _, err) = cli(&["logout"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(!saved.exists());
    assert_eq!(
        get(&server.addr, "/v1/login/token", Some(&login_token)).0,
        401
    );
    assert_eq!(cli(&["whoami", "--server", &base], &[]).0, 3);

    let (code, out, _) = cli(&["completions", "bash"], &[]);
    assert_eq!(code, 0);
    assert!(out.contains("_latchkey()"), "{out}");

    // --web: the CLI prints GitHub's URL and polls; a browser (here, plain
    // requests) goes through GitHub and the callback.
    let mut login = latchkey(dir.path());
    let mut child = login
        .env("XDG_CONFIG_HOME", &config)
        .env("HOME", dir.path())
        .args(["login", "--web", "--server", &base])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = pipe_lines(child.stderr.take().unwrap());
    let open = lines.recv_timeout(Duration::from_secs(30)).unwrap();
    let url = open
        .strip_prefix("Open ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("{open}"))
        .to_owned();
    let (status, back, _) = call("GET", &url, None, None);
    assert_eq!(status, 303);
    let (status, _, _) = call("GET", &back.unwrap(), None, None);
    assert_eq!(status, 200);
    assert!(child.wait().unwrap().success());
    let (code, out, _) = cli(&["whoami"], &[]);
    assert_eq!(code, 0);
    assert!(out.contains("octocat@example.com"), "{out}");
    server.stop();
}

/// The admin commands, as the bootstrap admin and as a user.
#[test]
fn cli_admin_commands_manage_accounts_and_clients() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(latchkey(dir.path()).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--bootstrap-token-file",
        "admin-token",
    ]));
    let base = format!("http://{}", server.addr);
    let admin = std::fs::read_to_string(dir.path().join("admin-token")).unwrap();
    let cli = |token: &str, args: &[&str]| {
        let out = latchkey(dir.path())
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("LATCHKEY_SERVER", &base)
            .env("LATCHKEY_TOKEN", token)
            .args(args)
            .output()
            .unwrap();
        let out_text = String::from_utf8(out.stdout).unwrap();
        (out.status.code().unwrap(), out_text)
    };
    let admin = admin.trim();
    let (code, out) = cli(
        admin,
        &[
            "account",
            "create",
            "--name",
            "Ada",
            "--email",
            "ada@example.com",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let ada: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ada_id = ada["id"].as_str().unwrap().to_owned();
    let (code, out) = cli(admin, &["account", "list"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("ada@example.com") && out.contains("admin@localhost"),
        "{out}"
    );
    let (code, out) = cli(
        admin,
        &["account", "list", "--email", "ada@example.com", "--json"],
    );
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["values"][0]["id"],
        ada_id.as_str()
    );
    assert_eq!(cli(admin, &["account", "set-role", &ada_id, "root"]).0, 2);
    assert_eq!(cli(admin, &["account", "show", "not-an-id"]).0, 2);

    let (code, out) = cli(
        admin,
        &[
            "client",
            "create",
            "--name",
            "App",
            "--redirect-uri",
            "https://app.example/cb",
            "--scope",
            "profile",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let client: serde_json::Value = serde_json::from_str(&out).unwrap();
    let client_id = client["clientId"].as_str().unwrap().to_owned();
    assert!(client["clientSecret"]
        .as_str()
        .unwrap()
        .starts_with("lk_cs_"));
    assert_eq!(client["scopes"], serde_json::json!(["profile"]));
    let (code, out) = cli(admin, &["client", "rotate-secret", &client_id]);
    assert_eq!(code, 0);
    assert!(out.contains("shown this once: lk_cs_"), "{out}");
    let (code, out) = cli(
        admin,
        &[
            "client",
            "update",
            &client_id,
            "--name",
            "App 2",
            "--redirect-uri",
            "https://app.example/cb",
        ],
    );
    assert_eq!(code, 0);
    assert!(out.contains("App 2"), "{out}");
    let (code, out) = cli(admin, &["client", "list"]);
    assert!(code == 0 && out.contains(&client_id), "{out}");
    assert_eq!(
        cli(
            admin,
            &[
                "client",
                "create",
                "--name",
                "Bad",
                "--redirect-uri",
                "ftp://x/cb"
            ]
        )
        .0,
        2
    );

    // Ada, made an admin, can list clients; made a user again, she cannot.
    let (code, out) = cli(admin, &["token", "list"]);
    assert_eq!(code, 0, "{out}");
    let ada_token = {
        let (status, _, body) = call(
            "POST",
            &format!("{base}/v1/accounts/{ada_id}/tokens"),
            Some(admin),
            Some(serde_json::json!({"expiresAt": "2100-01-01T00:00:00Z"})),
        );
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["secret"]["value"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(cli(&ada_token, &["client", "list"]).0, 4);
    assert_eq!(cli(admin, &["account", "set-role", &ada_id, "admin"]).0, 0);
    assert_eq!(cli(&ada_token, &["client", "list"]).0, 0);
    assert_eq!(cli(admin, &["account", "set-role", &ada_id, "user"]).0, 0);
    assert_eq!(cli(&ada_token, &["client", "list"]).0, 4);

    assert_eq!(cli(admin, &["client", "delete", &client_id]).0, 0);
    assert_eq!(cli(admin, &["client", "show", &client_id]).0, 4);
    assert_eq!(cli(admin, &["account", "delete", &ada_id]).0, 0);
    assert_eq!(cli(admin, &["account", "show", &ada_id]).0, 4);
    server.stop();
}

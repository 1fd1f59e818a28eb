//! The `latchkey` CLI client run as a user would, against a real server.

mod support;

use std::process::Stdio;
use std::time::Duration;
use support::{call, get, latchkey, pipe_lines, Server};

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

/// A hostile or broken server: `answer` gives the bytes for each request's
/// head; the heads are kept.
fn fake_server(
    answer: impl Fn(&str) -> Vec<u8> + Send + 'static,
) -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let _ = stream.write_all(&answer(&head));
            let _ = tx.send(head);
        }
    });
    (base, rx)
}

fn http_answer(status: &str, body: &[u8]) -> Vec<u8> {
    let mut answer = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(body);
    answer
}

/// Review: server text reached the terminal raw (newlines, escapes), huge
/// answers were held in memory, an instant 408 was retried in a tight loop,
/// and `login` sent LATCHKEY_TOKEN to whatever server it was pointed at.
#[test]
fn cli_survives_a_hostile_server() {
    let dir = tempfile::tempdir().unwrap();
    let run = |base: &str, args: &[&str]| {
        let out = latchkey(dir.path())
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("LATCHKEY_TOKEN", "PROD-SECRET")
            .args(args)
            .args(["--server", base])
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let (base, heads) = fake_server(|_| {
        http_answer(
            "500 Internal Server Error",
            br#"{"error":"line1\nline2\u001b[31m red"}"#,
        )
    });
    let (code, err) = run(&base, &["login", "--no-browser"]);
    assert_eq!(code, 5, "{err}");
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
    let head = heads.recv().unwrap();
    assert!(
        !head.to_ascii_lowercase().contains("authorization"),
        "{head}"
    );

    let (base, _) = fake_server(|_| http_answer("200 OK", &vec![b' '; 3 << 20]));
    let (code, err) = run(&base, &["whoami"]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("larger than 1 MiB"), "{err}");

    // A start that works, then a completion that answers 408 at once.
    let (base_408, heads) = fake_server(|head| {
        match head.contains("/device/start") {
        true => http_answer(
            "200 OK",
            br#"{"url":"http://x/","userCode":"ABCD-EFGH","expires":"2100-01-01T00:00:00Z","encodedSession":"s"}"#,
        ),
        false => http_answer("408 Request Timeout", b"{}"),
    }
    });
    let mut child = latchkey(dir.path())
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .args(["login", "--no-browser", "--server", &base_408])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    child.kill().unwrap();
    let _ = child.wait();
    let calls = heads.try_iter().count();
    assert!(calls <= 5, "{calls} calls in 3 s");
}

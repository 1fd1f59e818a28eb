//! Running the real `latchkey` binary for tests: a server process whose
//! stderr lines are collected, and plain HTTP calls to it.
// Each test crate that includes this module uses a different part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_latchkey");

pub struct Server {
    pub child: Child,
    pub addr: String,
    /// Every stderr line so far, collected by a reader thread.
    pub lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Server {
    pub fn start(cmd: &mut Command) -> Server {
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

    pub fn wait_for(&mut self, needle: &str) -> String {
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

    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub fn stop(mut self) -> Vec<String> {
        self.terminate();
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "SIGTERM must shut down cleanly, got {exit}");
        self.seen.extend(self.lines.try_iter());
        self.seen
    }
}

pub fn pipe_lines(stderr: ChildStderr) -> mpsc::Receiver<String> {
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

pub fn latchkey(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("LATCHKEY_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

pub fn get(addr: &str, path: &str, secret: Option<&str>) -> (u16, serde_json::Value) {
    let (status, _, body) = call("GET", &format!("http://{addr}{path}"), secret, None);
    (status, serde_json::from_str(&body).unwrap())
}

/// One HTTP request, redirects not followed: (status, location, body).
pub fn call(
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

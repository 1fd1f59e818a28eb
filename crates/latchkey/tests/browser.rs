//! The web console in a real browser (issue 13): `e2e/console.test.mjs`,
//! Debian's headless Chromium driven by playwright-core, against a real
//! `latchkey serve --dev`. Chromium and `e2e/node_modules` are installed by
//! `.ci/run`; without `LATCHKEY_TEST_BROWSER` set at build time the test
//! compiles as ignored, so a run without a browser never passes it off as ok.

mod support;

use std::path::PathBuf;
use std::process::Command;
use support::{latchkey, Server};

#[test]
#[cfg_attr(
    not(latchkey_browser_tests),
    ignore = "set LATCHKEY_TEST_BROWSER=1 (needs chromium and `npm ci --prefix e2e`)"
)]
fn console_in_headless_chromium() {
    let e2e = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../e2e");
    assert!(
        e2e.join("node_modules/playwright-core").is_dir(),
        "run `npm ci --prefix e2e` first"
    );
    let artifacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-screenshots");
    let dir = tempfile::tempdir().unwrap();
    // octocat (the fake GitHub's approving user) is the bootstrap admin.
    let server = Server::start(latchkey(dir.path()).args([
        "serve",
        "--dev",
        "--listen",
        "127.0.0.1:0",
        "--bootstrap-admin-email",
        "octocat@example.com",
        "--bootstrap-token-file",
        "admin-token",
    ]));
    let status = Command::new("node")
        .args(["--test", "--test-reporter=spec", "console.test.mjs"])
        .current_dir(&e2e)
        .env("LATCHKEY_URL", format!("http://{}", server.addr))
        .env("LATCHKEY_E2E_ARTIFACTS", &artifacts)
        .status()
        .expect("node runs");
    let lines = server.stop();
    assert!(
        status.success(),
        "browser tests failed ({status}); screenshots in {}; server log:\n{}",
        artifacts.display(),
        lines.join("\n")
    );
    println!("screenshots in {}", artifacts.display());
}

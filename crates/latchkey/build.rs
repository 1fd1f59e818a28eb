//! PostgreSQL end-to-end tests compile as ignored (libtest prints "ignored")
//! unless `LATCHKEY_TEST_POSTGRES_URL` is set when the tests are built, so a
//! run without PostgreSQL can never pass them off as "ok". The browser test
//! does the same with `LATCHKEY_TEST_BROWSER`.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(latchkey_pg_tests)");
    println!("cargo::rustc-check-cfg=cfg(latchkey_browser_tests)");
    // cargo-fuzz builds every crate with `--cfg fuzzing` (src/fuzzing.rs).
    println!("cargo::rustc-check-cfg=cfg(fuzzing)");
    println!("cargo::rerun-if-env-changed=LATCHKEY_TEST_BROWSER");
    if std::env::var("LATCHKEY_TEST_BROWSER").is_ok_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=latchkey_browser_tests");
    }
    println!("cargo::rerun-if-env-changed=LATCHKEY_TEST_POSTGRES_URL");
    if std::env::var("LATCHKEY_TEST_POSTGRES_URL").is_ok_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=latchkey_pg_tests");
    }
}

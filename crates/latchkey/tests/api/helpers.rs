use fake_github::{FakeGithub, FakeUser};
use latchkey::config::{Secret, Settings};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use sqlx::{Connection, Executor};
use std::sync::Arc;
use tokio::sync::oneshot;

/// Runs each listed `async fn(TestApp)` on SQLite and on PostgreSQL, on a
/// multi-threaded runtime as the server runs in production. The PostgreSQL
/// variants compile as ignored unless `LATCHKEY_TEST_POSTGRES_URL` was set
/// at build time (see build.rs), so libtest reports them as skipped, never "ok".
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::helpers::TestApp::spawn(crate::helpers::Backend::Sqlite).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(latchkey_pg_tests), ignore = "set LATCHKEY_TEST_POSTGRES_URL to run the PostgreSQL variant")]
                async fn $name() {
                    super::$name(crate::helpers::TestApp::spawn(crate::helpers::Backend::Postgres).await).await;
                }
            )*
        }
    };
}

/// Like `backend_tests!`, for tests that start their own, specially
/// configured app: each listed `async fn(Backend)` runs on both backends.
macro_rules! backend_fns {
    ($($name:ident),* $(,)?) => {
        mod sqlite_custom {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::helpers::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres_custom {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(latchkey_pg_tests), ignore = "set LATCHKEY_TEST_POSTGRES_URL to run the PostgreSQL variant")]
                async fn $name() {
                    super::$name(crate::helpers::Backend::Postgres).await;
                }
            )*
        }
    };
}

/// Tests of several nodes on one database, which only PostgreSQL serves:
/// each listed `async fn()` runs once. They compile as ignored without
/// `LATCHKEY_TEST_POSTGRES_URL`, and CI fails if any of them is skipped.
macro_rules! postgres_fns {
    ($($name:ident),* $(,)?) => {
        mod postgres_only {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(latchkey_pg_tests), ignore = "set LATCHKEY_TEST_POSTGRES_URL to run the PostgreSQL tests")]
                async fn $name() {
                    super::$name().await;
                }
            )*
        }
    };
}

pub const CLIENT_ID: &str = "test-client";
pub const CLIENT_SECRET: &str = "test-client-secret-value";

/// The fake's standard cast.
fn standard_users() -> Vec<FakeUser> {
    vec![
        FakeUser::new(1001, "octocat")
            .name("The Octocat")
            .public_email("octocat@example.com"),
        FakeUser::new(1002, "hubot")
            .with_email("hubot@old.example.com", false, false)
            .with_email("hubot@example.com", true, true),
        FakeUser::new(1003, "ghost").with_email("ghost@example.com", true, false),
        FakeUser::new(1004, "noname").public_email("noname@example.com"),
    ]
}

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server to test against. The variants that call this only
/// run when the variable was set at build time; unset now is a failure.
pub fn postgres_url() -> String {
    match std::env::var("LATCHKEY_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "LATCHKEY_TEST_POSTGRES_URL was set when the tests were built but is not set now"
        ),
    }
}

/// A new, empty database for one test: a SQLite file in `dir`, or a fresh
/// PostgreSQL schema.
pub async fn fresh_database(backend: Backend, dir: &tempfile::TempDir) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("latchkey.db").display()),
        Backend::Postgres => fresh_postgres_schema(&postgres_url()).await,
    }
}

/// A fresh schema per test, selected through the connection's search_path.
async fn fresh_postgres_schema(url: &str) -> String {
    sqlx::any::install_default_drivers();
    let schema = format!("lk_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .expect("connect to PostgreSQL");
    conn.execute(format!("CREATE SCHEMA {schema}").as_str())
        .await
        .expect("create schema");
    conn.close().await.ok();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options[search_path]={schema}")
}

pub struct TestApp {
    pub github: Arc<FakeGithub>,
    pub base: String,
    /// `http://…` of /metrics' own listener, when it has one.
    pub metrics_base: Option<String>,
    pub client: reqwest::Client,
    pub admin_secret: String,
    pub admin_id: String,
    pub settings: Settings,
    _dir: tempfile::TempDir,
    _shutdown: oneshot::Sender<()>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// A fresh database and fake GitHub; `configure` may change any setting.
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = fresh_database(backend, &dir).await;
        let github = Self::fake_github().await;
        let mut settings = Self::settings(&url, &github);
        configure(&mut settings);
        Self::boot(github, settings, dir, None).await
    }

    /// A server on a database that already has its admin (an upgrade
    /// fixture): nothing is bootstrapped, so the caller names the admin.
    pub async fn spawn_existing(
        url: &str,
        dir: tempfile::TempDir,
        admin_secret: String,
        admin_id: String,
    ) -> Self {
        let github = Self::fake_github().await;
        let settings = Self::settings(url, &github);
        Self::boot(github, settings, dir, Some((admin_secret, admin_id))).await
    }

    /// Another node on this app's database and fake GitHub, as behind a load
    /// balancer: the same public URL (this node's). It shares the admin.
    pub async fn another_node(&self) -> TestApp {
        let mut settings = self.settings.clone();
        settings.public_url.get_or_insert_with(|| self.base.clone());
        let admin = (self.admin_secret.clone(), self.admin_id.clone());
        Self::boot(
            self.github.clone(),
            settings,
            tempfile::tempdir().unwrap(),
            Some(admin),
        )
        .await
    }

    async fn fake_github() -> Arc<FakeGithub> {
        let github = Arc::new(FakeGithub::start(CLIENT_ID, CLIENT_SECRET).await.unwrap());
        for user in standard_users() {
            github.add_user(user);
        }
        github.script(|s| s.device_interval = 0);
        github
    }

    /// The tests' settings: loopback, a small pool, the fake GitHub.
    fn settings(url: &str, github: &FakeGithub) -> Settings {
        let mut settings = Settings::with_database(url);
        settings.listen = "127.0.0.1:0".parse().unwrap();
        settings.database.max_connections = 4;
        let login = &mut settings.login;
        login.github_web_url = github.url();
        login.github_api_url = github.url();
        login.github_client_id = Some(CLIENT_ID.to_owned());
        login.github_client_secret = Some(Secret(CLIENT_SECRET.to_owned()));
        login.github_timeout = std::time::Duration::from_secs(2);
        login.allowed_redirects = vec!["http://app.test".to_owned()];
        login.rate_limit_per_minute = 10_000;
        login.device_max_wait = std::time::Duration::from_secs(30);
        settings
    }

    /// Starts a node. `admin` (secret, id) names the admin of a database
    /// that already has one; without it the database must be fresh, and the
    /// admin is the one it bootstraps.
    async fn boot(
        github: Arc<FakeGithub>,
        settings: Settings,
        dir: tempfile::TempDir,
        admin: Option<(String, String)>,
    ) -> Self {
        let (shutdown, stopped) = oneshot::channel::<()>();
        let running = latchkey::app::start(settings.clone(), async {
            let _ = stopped.await;
        })
        .await
        .expect("server starts");
        let (admin_secret, admin_id) = match (admin, running.bootstrapped.as_ref()) {
            (None, Some(boot)) => (boot.token.secret.expose(), boot.admin.id.to_string()),
            (Some(known), None) => known,
            (None, None) => panic!("a fresh database bootstraps its admin"),
            (Some(_), Some(_)) => panic!("a database with an admin bootstraps none"),
        };
        let base = format!("http://{}", running.addr);
        let metrics_base = running.metrics_addr.map(|a| format!("http://{a}"));
        tokio::spawn(running.wait());
        Self {
            github,
            base,
            metrics_base,
            // Redirects are part of what the tests look at.
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            admin_secret,
            admin_id,
            settings,
            _dir: dir,
            _shutdown: shutdown,
        }
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        secret: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(secret) = secret {
            req = req.bearer_auth(secret);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str, secret: &str) -> Response {
        self.request(Method::GET, path, Some(secret), None).await
    }

    pub async fn post(&self, path: &str, secret: &str, body: Value) -> Response {
        self.request(Method::POST, path, Some(secret), Some(body))
            .await
    }

    pub async fn put(&self, path: &str, secret: &str, body: Value) -> Response {
        self.request(Method::PUT, path, Some(secret), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, secret: &str) -> Response {
        self.request(Method::DELETE, path, Some(secret), None).await
    }

    /// Creates a user account as the admin; returns its id.
    pub async fn create_user(&self, name: &str, email: &str) -> String {
        let (status, body) = json_of(
            self.post(
                "/v1/accounts",
                &self.admin_secret,
                json!({"name": name, "email": email}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Mints a token for `account` as `secret`; returns the whole UnsafeToken.
    pub async fn create_token(&self, secret: &str, account: &str, expires_at: &str) -> Value {
        let (status, body) = json_of(
            self.post(
                &format!("/v1/accounts/{account}/tokens"),
                secret,
                json!({"expiresAt": expires_at}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// The account's tokens as `secret` sees them; the listing must succeed.
    pub async fn list_tokens(&self, account: &str, secret: &str) -> Value {
        let (status, body) = json_of(
            self.get(&format!("/v1/accounts/{account}/tokens"), secret)
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// A connection to the server's database, for looking under the hood.
    pub async fn db(&self) -> sqlx::AnyConnection {
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(&self.settings.database.url.0)
            .await
            .expect("connect to the test database")
    }

    /// Runs one statement against the server's database.
    pub async fn sql(&self, statement: &str) {
        let mut db = self.db().await;
        db.execute(statement).await.expect("statement runs");
        db.close().await.ok();
    }

    /// The single integer a query answers.
    pub async fn number(&self, query: &str) -> i64 {
        use sqlx::Row;
        let mut db = self.db().await;
        let row = sqlx::query(query)
            .fetch_one(&mut db)
            .await
            .expect("query runs");
        db.close().await.ok();
        row.try_get(0).expect("an integer")
    }

    /// The fake's calls to its token endpoint, in order.
    pub fn token_endpoint_calls(&self) -> Vec<fake_github::Call> {
        self.github
            .calls()
            .into_iter()
            .filter(|c| c.path == "/login/oauth/access_token")
            .collect()
    }

    /// A user account with a token of its own: `(account id, secret)`.
    pub async fn user_with_token(&self, name: &str, email: &str) -> (String, String) {
        let id = self.create_user(name, email).await;
        let token = self.create_token(&self.admin_secret, &id, FAR_FUTURE).await;
        (id, token["secret"]["value"].as_str().unwrap().to_owned())
    }
}

pub const FAR_FUTURE: &str = "2100-01-01T00:00:00Z";

/// Waits until `condition` holds, checking every 10 ms, for at most 10 s.
/// For waiting on something the server does in the background, never for
/// deciding an order.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Starts a Login API device flow at `path`: the start answer, which must be 200.
pub async fn device_start(app: &TestApp, path: &str) -> Value {
    let (status, body) = json_of(app.request(Method::POST, path, None, None).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Completes a device flow at `path` with its `encodedSession`.
pub async fn device_complete(app: &TestApp, path: &str, session: Value) -> (StatusCode, Value) {
    json_of(app.request(Method::POST, path, None, Some(session)).await).await
}

pub async fn json_of(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("status {status}: body is not JSON: {text:?}"));
    (status, value)
}

/// Asserts a 401 of the documented shape with a Bearer challenge.
pub async fn assert_unauthorized(response: Response) {
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["error"].is_string(), "{body}");
    assert!(challenge.unwrap_or_default().starts_with("Bearer"));
}

/// The whole seconds a refusal's `Retry-After` asks for; panics without one.
pub fn retry_after_secs(response: &Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

pub async fn assert_error(response: Response, expected: StatusCode) -> Value {
    let (status, body) = json_of(response).await;
    assert_eq!(status, expected, "{body}");
    assert!(body["error"].is_string(), "{body}");
    body
}

pub async fn assert_invalid(response: Response) -> Value {
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let errors = body["errors"].as_array().expect("errors array");
    assert!(
        !errors.is_empty() && errors.iter().all(Value::is_string),
        "{body}"
    );
    body
}

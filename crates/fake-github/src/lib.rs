//! A fake GitHub: a real HTTP server on loopback that answers GitHub's OAuth
//! (web and device flows) and REST (`/user`, `/user/emails`, token check)
//! endpoints the way GitHub documents them, quirks included: OAuth errors with
//! HTTP 200, form-encoded answers unless JSON is asked for, comma-separated
//! scopes, `slow_down`, 403 without a User-Agent. Tests script it; dev mode
//! runs it in-process. Web and API share one host here.

mod oauth;
mod params;
mod rest;
mod state;

pub use state::{Call, DeviceOutcome, Failure, FakeEmail, FakeUser, Script};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use state::State as Inner;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// Shared handle on the fake's state.
#[derive(Clone)]
pub struct Shared {
    inner: Arc<Mutex<Inner>>,
    base_url: Arc<OnceLock<String>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test must not wedge the others that share the fake.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn base_url(&self) -> String {
        self.base_url.get().cloned().unwrap_or_default()
    }
}

/// A running fake GitHub.
pub struct FakeGithub {
    shared: Shared,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl FakeGithub {
    /// Starts on a random loopback port with one OAuth app registered.
    pub async fn start(client_id: &str, client_secret: &str) -> std::io::Result<Self> {
        Self::start_on(
            "127.0.0.1:0".parse().expect("loopback"),
            client_id,
            client_secret,
        )
        .await
    }

    pub async fn start_on(
        addr: SocketAddr,
        client_id: &str,
        client_secret: &str,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Shared {
            inner: Arc::new(Mutex::new(Inner::new(client_id, client_secret))),
            base_url: Arc::new(OnceLock::new()),
        };
        let _ = shared.base_url.set(format!("http://{addr}"));
        let app = router(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { shared, addr, task })
    }

    /// Base URL for both the web and the API endpoints.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn add_user(&self, user: FakeUser) {
        self.shared.lock().users.push(user);
    }

    /// An access token for `login`, issued to the registered app.
    pub fn token_for(&self, login: &str) -> String {
        let client_id = self.shared.lock().client_id.clone();
        self.token_for_app(login, &client_id)
    }

    /// An access token for `login` issued to some other OAuth app.
    pub fn token_for_app(&self, login: &str, client_id: &str) -> String {
        let mut state = self.shared.lock();
        let id = state
            .user_by_login(login)
            .map(|u| u.id)
            .expect("known user");
        state.issue_token(id, client_id)
    }

    /// Changes a user on the fake, as a person would on GitHub.
    pub fn update_user(&self, login: &str, change: impl FnOnce(&mut FakeUser)) {
        let mut state = self.shared.lock();
        if let Some(user) = state.users.iter_mut().find(|u| u.login == login) {
            change(user);
        }
    }

    pub fn script(&self, change: impl FnOnce(&mut Script)) {
        change(&mut self.shared.lock().script);
    }

    /// How many of the latest calls `calls` returns at least (10,000 unless
    /// set). Where nothing reads them (dev mode), 0: a long run under load
    /// would otherwise hold up to twice that many, a sawtooth of megabytes.
    pub fn keep_calls(&self, latest: usize) {
        let mut state = self.shared.lock();
        state.calls_kept = latest;
        state.calls.clear();
        state.calls.shrink_to_fit();
    }

    /// The requests received so far (the latest ones; see `keep_calls`).
    pub fn calls(&self) -> Vec<Call> {
        self.shared.lock().calls.clone()
    }
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Users for dev mode and the standalone binary.
pub fn demo_users() -> Vec<FakeUser> {
    vec![
        FakeUser::new(1001, "octocat")
            .name("The Octocat")
            .public_email("octocat@example.com"),
        FakeUser::new(1002, "hubot")
            .with_email("hubot-private@example.com", true, true)
            .with_email("hubot@old.example.com", false, false),
    ]
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/login/device/code", post(oauth::device_code))
        .route("/login/device", get(oauth::device_page))
        .route("/login/oauth/access_token", post(oauth::access_token))
        .route(
            "/login/oauth/authorize",
            get(oauth::authorize).post(oauth::authorize_form),
        )
        .route("/user", get(rest::user))
        .route("/user/emails", get(rest::emails))
        .route("/applications/{client_id}/token", post(rest::check_token))
        .layer(axum::middleware::from_fn_with_state(shared.clone(), record))
        .with_state(shared)
}

/// Logs each call for tests and applies the scripted latency.
async fn record(State(shared): State<Shared>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let latency = {
        let mut state = shared.lock();
        // Built only when kept: under a soak this runs for every login.
        if state.calls_kept > 0 {
            state.record(Call {
                method: parts.method.to_string(),
                path: parts.uri.path().to_owned(),
                query: parts.uri.query().map(str::to_owned),
                at: std::time::Instant::now(),
                user_agent: header("user-agent"),
                accept: header("accept"),
                api_version: header("x-github-api-version"),
                authorization: header("authorization"),
                body: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
        state.script.latency
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

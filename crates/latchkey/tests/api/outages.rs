//! Dependency outages: PostgreSQL unreachable mid-run, GitHub unreachable or
//! slow. Requests fail fast with a JSON error instead of hanging, the rest
//! keeps serving, `/healthcheck` tells, and service comes back by itself.
//!
//! PostgreSQL is cut with a TCP proxy in front of the real server, so other
//! tests running against that server are not disturbed.

use crate::helpers::*;
use crate::oauth_support::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// A loopback proxy to `upstream` that can drop every connection and refuse
/// new ones (accepted, then closed at once), like a database that went away.
struct Proxy {
    addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (accepting, tracked) = (up.clone(), open.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    continue;
                }
                let upstream = upstream.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tracked.lock().unwrap().push(pipe.abort_handle());
            }
        });
        Self { addr, up, open }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for pipe in self.open.lock().unwrap().drain(..) {
            pipe.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

async fn postgresql_outage_is_503_at_once_and_heals_itself() {
    let url = reqwest::Url::parse(&postgres_url()).unwrap();
    let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let proxy = Proxy::start(upstream.clone()).await;
    let app = TestApp::spawn_with(Backend::Postgres, |s| {
        s.database.url.0 = s
            .database
            .url
            .0
            .replacen(&upstream, &proxy.addr.to_string(), 1);
    })
    .await;
    assert!(app
        .settings
        .database
        .url
        .0
        .contains(&proxy.addr.to_string()));
    let (user, secret) = app.user_with_token("Ola", "ola@example.com").await;
    let client = register(
        &app,
        false,
        json!({"grantTypes": ["authorization_code", "client_credentials"]}),
    )
    .await;
    let mut browser = sign_in(&app, "octocat").await;
    assert_eq!(
        app.get("/v1/login/token", &secret).await.status(),
        StatusCode::OK
    );
    let tokens = format!("/v1/accounts/{user}/tokens");

    proxy.cut();
    // Writes and reads that need the database: a 503 with a JSON error and
    // Retry-After, within the 2 s connection wait, not a hang.
    for attempt in 0..3 {
        let started = Instant::now();
        let response = app
            .post(&tokens, &secret, json!({"expiresAt": FAR_FUTURE}))
            .await;
        let retry_after = response.headers().get("retry-after").cloned();
        let body = assert_error(response, StatusCode::SERVICE_UNAVAILABLE).await;
        assert_eq!(retry_after.unwrap(), "1", "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "attempt {attempt}"
        );
        let started = Instant::now();
        assert_error(
            app.get("/v1/accounts", &app.admin_secret).await,
            StatusCode::SERVICE_UNAVAILABLE,
        )
        .await;
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "attempt {attempt}"
        );
    }
    // A token is not called invalid because it cannot be checked: the node
    // emptied its cache when its LISTEN connection dropped (a revocation
    // may be missed meanwhile), so validation answers 503, never 401.
    assert_error(
        app.get("/v1/login/token", &secret).await,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    // The OAuth endpoints say so in their own terms; the consent page too.
    let (status, body) = token_request(
        &app,
        "/oauth/token",
        &client,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");
    let (_, challenge) = pkce();
    let page = browser
        .get(&authorize_path(&client, "profile", "st", &challenge))
        .await;
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    // What needs no database keeps serving.
    let version = app.request(Method::GET, "/version", None, None).await;
    assert_eq!(version.status(), StatusCode::OK);
    // The health check tells within its one-second probe (plus its wait).
    let started = Instant::now();
    loop {
        let response = app.request(Method::GET, "/healthcheck", None, None).await;
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            assert_error(response, StatusCode::SERVICE_UNAVAILABLE).await;
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "healthcheck still 200"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    proxy.restore();
    let started = Instant::now();
    let created = loop {
        let response = app
            .post(&tokens, &secret, json!({"expiresAt": FAR_FUTURE}))
            .await;
        if response.status() == StatusCode::OK {
            break response;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no recovery");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (_, created) = json_of(created).await;
    // The refused creations left nothing behind: the first token and this one.
    let listed = app.list_tokens(&user, &secret).await;
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert!(created["secret"]["value"].is_string());
    let started = Instant::now();
    while app
        .request(Method::GET, "/healthcheck", None, None)
        .await
        .status()
        != StatusCode::OK
    {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "healthcheck still 503"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

postgres_fns!(postgresql_outage_is_503_at_once_and_heals_itself);

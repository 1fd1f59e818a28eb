//! Connection-level defences against slow and greedy clients.

use crate::helpers::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Reads until the server closes the connection or `limit` passes; returns
/// what arrived and how long it took.
fn read_until_closed(conn: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let clock = Instant::now();
    conn.set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("still open after {:?}: {e}", clock.elapsed()),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), clock.elapsed())
}

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

async fn a_half_sent_request_line_is_cut_off(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.http.header_read_timeout = Duration::from_secs(1);
    })
    .await;
    let addr = addr(&app);
    let (_, took) = tokio::task::spawn_blocking(move || {
        let mut conn = TcpStream::connect(addr).unwrap();
        conn.write_all(b"GET /healthch").unwrap();
        read_until_closed(&mut conn, Duration::from_secs(10))
    })
    .await
    .unwrap();
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

async fn a_request_slower_than_the_timeout_gets_408(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.http.request_timeout = Duration::from_secs(1);
    })
    .await;
    let (addr, secret, account) = (addr(&app), app.admin_secret.clone(), app.admin_id.clone());
    let (response, took) = tokio::task::spawn_blocking(move || {
        let mut conn = TcpStream::connect(addr).unwrap();
        // The head in full, then a body that never finishes.
        write!(
            conn,
            "POST /v1/accounts/{account}/tokens HTTP/1.1\r\nHost: x\r\n\
             Authorization: Bearer {secret}\r\nContent-Type: application/json\r\n\
             Content-Length: 100\r\n\r\n{{\"expiresAt\""
        )
        .unwrap();
        read_until_closed(&mut conn, Duration::from_secs(10))
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains(r#"{"error":"#), "{response}");
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert_eq!(
        app.list_tokens(&app.admin_id, &app.admin_secret)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn open_connections_are_capped(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.http.max_connections = 1).await;
    let addr = addr(&app);
    tokio::task::spawn_blocking(move || {
        let request = b"GET /healthcheck HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        // The one slot, held by a connection that stays open.
        let mut holder = TcpStream::connect(&addr).unwrap();
        holder.write_all(b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut first = [0u8; 12];
        holder.read_exact(&mut first).unwrap();
        assert_eq!(&first, b"HTTP/1.1 200");
        // A second client waits in the backlog: no answer while the slot is taken.
        let mut waiting = TcpStream::connect(&addr).unwrap();
        waiting.write_all(request).unwrap();
        waiting
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut buf = [0u8; 1];
        let early = waiting.read(&mut buf);
        assert!(
            matches!(&early, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut),
            "answered while the only slot was taken: {early:?}"
        );
        // Once the slot frees, it is served.
        drop(holder);
        let (response, _) = read_until_closed(&mut waiting, Duration::from_secs(10));
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    })
    .await
    .unwrap();
}

async fn a_device_completion_with_a_slow_body_gets_408(backend: Backend) {
    // The completion may wait minutes for a person, but its body must arrive
    // within the request timeout like any other.
    let app = TestApp::spawn_with(backend, |s| {
        s.http.request_timeout = Duration::from_secs(1);
    })
    .await;
    let addr = addr(&app);
    let (response, took) = tokio::task::spawn_blocking(move || {
        let mut conn = TcpStream::connect(addr).unwrap();
        conn.write_all(
            b"POST /login/oauth2/device/complete HTTP/1.1\r\nHost: x\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n\"",
        )
        .unwrap();
        read_until_closed(&mut conn, Duration::from_secs(10))
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

async fn a_client_that_stops_reading_is_cut_off(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.http.request_timeout = Duration::from_secs(1);
    })
    .await;
    let addr: std::net::SocketAddr = addr(&app).parse().unwrap();
    // A tiny receive window, hundreds of pipelined requests for a large
    // answer, and no reading: the server's writes stall.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(1024).unwrap();
    let mut conn = socket.connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n".repeat(300);
    let _ = tokio::time::timeout(Duration::from_secs(2), conn.write_all(&request)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Now read: a closed connection ends before all 300 answers arrive.
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the connection stayed open");
    let answers = got.windows(12).filter(|w| w == b"HTTP/1.1 200").count();
    assert!(answers < 300, "all {answers} answers were delivered");
}

backend_fns!(
    a_half_sent_request_line_is_cut_off,
    a_request_slower_than_the_timeout_gets_408,
    open_connections_are_capped,
    a_device_completion_with_a_slow_body_gets_408,
    a_client_that_stops_reading_is_cut_off,
);

/// Serves `routes` behind the real edge and accept loop, on a random port.
async fn serve_behind_the_edge(routes: axum::Router) -> std::net::SocketAddr {
    let app = latchkey::http::edge(
        routes,
        latchkey::http::EdgeConfig {
            access_log: latchkey::http::AccessLog(None),
            request_timeout: None,
            metrics: None,
            proxies: Default::default(),
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = latchkey::http::server::ConnectionLimits {
        header_read_timeout: Duration::from_secs(5),
        max_connections: 16,
        write_timeout: Duration::from_secs(5),
    };
    tokio::spawn(latchkey::http::server::serve(
        listener,
        app,
        limits,
        std::future::pending(),
    ));
    addr
}

/// A panic in a handler, behind the real edge layers, is a JSON 500 with a
/// request id, and the server keeps serving.
#[tokio::test]
async fn a_panic_becomes_a_json_500() {
    use axum::routing::get;
    let routes = axum::Router::new()
        .route(
            "/panic",
            get(|| async { panic!("boom") as &'static str })
                .post(|| async { panic!("boom") as &'static str }),
        )
        .route("/fine", get(|| async { "fine" }));
    let addr = serve_behind_the_edge(routes).await;
    let client = reqwest::Client::new();
    let response = client
        .get(format!("http://{addr}/panic"))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("x-request-id"));
    let (status, body) = json_of(response).await;
    assert_eq!(status, reqwest::StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, serde_json::json!({"error": "Internal server error"}));
    // A write runs on its own task; its panic is the same JSON 500.
    let response = client
        .post(format!("http://{addr}/panic"))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, reqwest::StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, serde_json::json!({"error": "Internal server error"}));
    let fine = client
        .get(format!("http://{addr}/fine"))
        .send()
        .await
        .unwrap();
    assert_eq!(fine.status(), reqwest::StatusCode::OK);
}

/// Review: a write whose client went away was dropped midway, so a
/// revocation could commit without evicting or telling the other nodes.
/// Writes now run to their end; reads are still dropped with their client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_finishes_after_its_client_leaves() {
    use axum::routing::post;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let finished = Arc::new(AtomicBool::new(false));
    let done = finished.clone();
    let routes = axum::Router::new().route(
        "/write",
        post(move || async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            done.store(true, Ordering::SeqCst);
            "written"
        }),
    );
    let addr = serve_behind_the_edge(routes).await;
    let gave_up = reqwest::Client::new()
        .post(format!("http://{addr}/write"))
        .timeout(Duration::from_millis(50))
        .send()
        .await;
    assert!(gave_up.is_err(), "the client left before the answer");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(finished.load(Ordering::SeqCst), "the write ran to its end");
}

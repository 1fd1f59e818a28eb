//! The HTTP side of the CLI: one client for one server, errors mapped to
//! exit codes from the API's status codes and `{"error"}` bodies.

use super::error::CliError;
use super::output::printable;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;

pub struct Api {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// An answer the caller handles itself (the device flow's 408).
pub enum Answer {
    Ok(Value),
    Status(StatusCode),
}

impl Api {
    pub fn new(base: &str, token: Option<String>) -> Result<Self, CliError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // Longer than any device-flow wait the server holds a request
            // for (120 s by default); a server that stalls fails the command.
            .timeout(Duration::from_secs(300))
            .user_agent(concat!("latchkey-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError::Server(format!("cannot make an HTTP client: {e}")))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn get(&self, path: &str) -> Result<Value, CliError> {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Result<Value, CliError> {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Result<Value, CliError> {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value, CliError> {
        self.call(Method::DELETE, path, None).await
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, CliError> {
        match self.send(method, path, body, &[]).await? {
            Answer::Ok(value) => Ok(value),
            Answer::Status(status) => Err(CliError::Server(format!("unexpected answer {status}"))),
        }
    }

    /// Like `post`, but the statuses in `own` come back to the caller.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        own: &[StatusCode],
    ) -> Result<Answer, CliError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| CliError::Server(format!("cannot reach {}: {}", self.base, root(&e))))?;
        let status = response.status();
        if own.contains(&status) {
            return Ok(Answer::Status(status));
        }
        let text = read_capped(response).await?;
        let value: Value = serde_json::from_slice(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(Answer::Ok(value));
        }
        Err(error_for(status, &value))
    }
}

/// Any answer of ours is small; a bigger one is refused, not held in memory.
const MAX_ANSWER: usize = 1 << 20;

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, CliError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| CliError::Server(format!("reading the answer failed: {}", root(&e))))?
    {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(CliError::Server(
                "the server's answer is larger than 1 MiB".to_owned(),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The server's own words where it gave some: `{"error"}` or `{"errors"}`.
fn error_for(status: StatusCode, body: &Value) -> CliError {
    let said = match (&body["error"], &body["errors"]) {
        (Value::String(one), _) => one.clone(),
        (_, Value::Array(many)) => many
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("; "),
        _ => status.to_string(),
    };
    let said = printable(&said);
    match status {
        StatusCode::UNAUTHORIZED => {
            CliError::Auth(format!("{said} (sign in again with `latchkey login`)"))
        }
        StatusCode::FORBIDDEN => CliError::Auth(said),
        StatusCode::NOT_FOUND => CliError::NotFound(said),
        s if s.is_client_error() && s != StatusCode::TOO_MANY_REQUESTS => CliError::Usage(said),
        s => CliError::Server(format!("the server answered {s}: {said}")),
    }
}

/// reqwest's outermost message says little ("error sending request");
/// the innermost cause says why.
fn root(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

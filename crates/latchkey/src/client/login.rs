//! `latchkey login`, `whoami` and `logout`. Login runs the Login API's
//! device flow: show the URL and code, open a browser where there is one,
//! and wait (calling `complete` again after each 408) until the person
//! approves at GitHub.

use super::api::{Answer, Api};
use super::error::CliError;
use super::output::printable;
use super::{output, profile};
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::io::IsTerminal;
use std::time::Duration;

pub async fn login(api: &Api, as_json: bool, no_browser: bool, web: bool) -> Result<(), CliError> {
    let token = match web {
        true => web_flow(api, no_browser).await?,
        false => device_flow(api, no_browser).await?,
    };
    let secret = token["secret"]["value"]
        .as_str()
        .ok_or_else(|| CliError::Server("the login answer has no token".to_owned()))?;
    let saved = profile::save(&profile::Profile {
        server: api.base().to_owned(),
        token: secret.to_owned(),
    })?;
    match as_json {
        true => output::json(&json!({"token": token["data"], "savedTo": saved})),
        false => println!(
            "Signed in to {}. The token is saved in {} and expires {}.",
            api.base(),
            saved.display(),
            output::text(&token["data"], "expiresAt")
        ),
    }
    Ok(())
}

/// The device flow: a URL and a code for the person; `complete` waits.
async fn device_flow(api: &Api, no_browser: bool) -> Result<Value, CliError> {
    let started = api.post("/login/oauth2/device/start", json!({})).await?;
    let (Some(url), Some(code), Some(session)) = (
        started["url"].as_str(),
        started["userCode"].as_str(),
        started["encodedSession"].as_str(),
    ) else {
        return Err(CliError::Server(
            "the device flow's start answer is incomplete".to_owned(),
        ));
    };
    let (url, code) = (printable(url), printable(code));
    eprintln!("Open {url} and enter the code {code}");
    open_browser(&url, no_browser);
    let expires = started["expires"]
        .as_str()
        .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok());
    let spinner = spinner(expires);
    let result = loop {
        let asked = std::time::Instant::now();
        let answer = api
            .send(
                Method::POST,
                "/login/oauth2/device/complete",
                Some(json!(session)),
                &[StatusCode::REQUEST_TIMEOUT],
            )
            .await;
        match answer {
            Ok(Answer::Ok(token)) => break Ok(token),
            // The server waited its longest; the person may still approve.
            // One that answers at once (a proxy, say) is not asked in a loop.
            Ok(Answer::Status(_)) => {
                if asked.elapsed() < Duration::from_secs(1) {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                continue;
            }
            Err(err) => break Err(err),
        }
    };
    spinner.finish_and_clear();
    result
}

/// The web flow: the person signs in in a browser; we poll for the token.
async fn web_flow(api: &Api, no_browser: bool) -> Result<Value, CliError> {
    let started = api
        .get("/v1/login/oauth2/web/authorize?provider=github")
        .await?;
    let (Some(url), Some(state)) = (started["url"].as_str(), started["state"].as_str()) else {
        return Err(CliError::Server(
            "the web flow's authorize answer is incomplete".to_owned(),
        ));
    };
    let url = printable(url);
    eprintln!("Open {url} to sign in with GitHub");
    open_browser(&url, no_browser);
    let poll = format!(
        "/v1/login/oauth2/web/poll?state={}",
        url::form_urlencoded::byte_serialize(state.as_bytes()).collect::<String>()
    );
    // The state lives ten minutes; the server says when it is gone.
    let spinner = spinner(Some(
        chrono::Utc::now().fixed_offset() + chrono::TimeDelta::minutes(10),
    ));
    let result = loop {
        match api
            .send(Method::GET, &poll, None, &[StatusCode::ACCEPTED])
            .await
        {
            Ok(Answer::Ok(token)) => break Ok(token),
            Ok(Answer::Status(_)) => tokio::time::sleep(Duration::from_secs(2)).await,
            Err(err) => break Err(err),
        }
    };
    spinner.finish_and_clear();
    result
}

/// Only where a person is watching a terminal.
fn open_browser(url: &str, no_browser: bool) {
    // Only web pages: a server's answer never makes us open a file or app.
    let web = url.starts_with("https://") || url.starts_with("http://");
    if web && !no_browser && std::io::stdout().is_terminal() && webbrowser::open(url).is_ok() {
        eprintln!("(a browser was opened for you)");
    }
}

/// A spinner with the time left, on a terminal only.
fn spinner(expires: Option<chrono::DateTime<chrono::FixedOffset>>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("a valid template"));
    bar.enable_steady_tick(Duration::from_millis(120));
    let ticking = bar.clone();
    tokio::spawn(async move {
        while !ticking.is_finished() {
            let left = expires.map(|e| (e.timestamp() - chrono::Utc::now().timestamp()).max(0));
            ticking.set_message(match left {
                Some(s) => format!("Waiting for you to approve… {}:{:02} left", s / 60, s % 60),
                None => "Waiting for you to approve…".to_owned(),
            });
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    bar
}

pub async fn whoami(api: &Api, as_json: bool) -> Result<(), CliError> {
    let token = api.get("/v1/login/token").await?;
    let account_id = output::text(&token, "accountId");
    let account = api.get(&format!("/v1/accounts/{account_id}")).await?;
    match as_json {
        true => output::json(&json!({"token": token, "account": account})),
        false => println!(
            "{} <{}> (account {account_id}) on {}; this token expires {}",
            output::text(&account, "name"),
            output::text(&account, "email"),
            api.base(),
            output::text(&token, "expiresAt"),
        ),
    }
    Ok(())
}

/// Deletes the token on the server, then the saved login. A token the
/// server no longer knows is logged out already.
pub async fn logout(api: &Api) -> Result<(), CliError> {
    match api.post("/v1/logout", Value::Null).await {
        Ok(_) | Err(CliError::Auth(_)) => {}
        Err(err) => return Err(err),
    }
    profile::forget()?;
    eprintln!("Signed out of {}", api.base());
    Ok(())
}

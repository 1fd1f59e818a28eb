//! What the OAuth tests share: a browser that keeps cookies and never
//! follows redirects on its own, signing in through the fake GitHub,
//! registering clients, reading forms out of pages, and PKCE.

use crate::helpers::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A browser: cookies kept per name, redirects left to the test.
pub struct Browser {
    client: reqwest::Client,
    base: String,
    pub cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self {
            client: app.client.clone(),
            base: app.base.clone(),
            cookies: BTreeMap::new(),
        }
    }

    /// From now on, relative targets go to `node` (another node behind the
    /// same load balancer); cookies stay.
    pub fn on(&mut self, node: &TestApp) {
        self.base = node.base.clone();
    }

    fn url(&self, target: &str) -> String {
        match target.starts_with("http") {
            true => target.to_owned(),
            false => format!("{}{}", self.base, target),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, response: &Response) {
        for set in response.headers().get_all("set-cookie") {
            let text = set.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub async fn get(&mut self, target: &str) -> Response {
        let mut req = self.client.get(self.url(target));
        if !self.cookies.is_empty() {
            req = req.header("cookie", self.cookie_header());
        }
        let response = req.send().await.unwrap();
        self.keep_cookies(&response);
        response
    }

    pub async fn post_form(&mut self, target: &str, form: &[(String, String)]) -> Response {
        let mut req = self.client.post(self.url(target)).form(form);
        if !self.cookies.is_empty() {
            req = req.header("cookie", self.cookie_header());
        }
        let response = req.send().await.unwrap();
        self.keep_cookies(&response);
        response
    }

    /// A page's HTML, which must answer `expected`.
    pub async fn page(&mut self, target: &str, expected: StatusCode) -> String {
        let response = self.get(target).await;
        let status = response.status();
        let html = response.text().await.unwrap();
        assert_eq!(status, expected, "{target}: {html}");
        html
    }
}

pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on a {}", response.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// Signs `login` in through `/login` and the fake GitHub; the browser then
/// holds a session cookie.
pub async fn sign_in(app: &TestApp, login: &str) -> Browser {
    let mut browser = Browser::new(app);
    sign_in_with(app, &mut browser, login, "/").await;
    browser
}

pub async fn sign_in_with(
    app: &TestApp,
    browser: &mut Browser,
    login: &str,
    next: &str,
) -> Response {
    app.github
        .script(|s| s.authorize_as = Some(login.to_owned()));
    let started = browser
        .get(&format!("/login?next={}", urlencode(next)))
        .await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let at_github = browser.get(&location(&started)).await;
    assert_eq!(at_github.status(), StatusCode::SEE_OTHER);
    let callback = browser.get(&location(&at_github)).await;
    assert_eq!(callback.status(), StatusCode::SEE_OTHER, "callback");
    assert_eq!(location(&callback), next);
    assert!(browser.cookies.contains_key("latchkey_session_pages"));
    callback
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The hidden and text inputs of the page's own form (in `<main>`, not the
/// header's sign-out form), unescaped.
pub fn form_fields(html: &str) -> Vec<(String, String)> {
    let main = html.split_once("<main>").map_or(html, |(_, m)| m);
    let mut fields = Vec::new();
    for part in main.split("<input").skip(1) {
        let tag = &part[..part.find('>').unwrap_or(part.len())];
        let attr = |name: &str| {
            let key = format!("{name}=\"");
            tag.find(&key).map(|at| {
                let rest = &tag[at + key.len()..];
                unescape(&rest[..rest.find('"').unwrap()])
            })
        };
        let kind = attr("type").unwrap_or_default();
        if kind == "hidden" || kind == "text" {
            if let Some(name) = attr("name") {
                fields.push((name, attr("value").unwrap_or_default()));
            }
        }
    }
    fields
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

pub fn field(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no field {name} in {fields:?}"))
}

/// `(verifier, challenge)` for PKCE S256.
pub fn pkce() -> (String, String) {
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

#[derive(Clone)]
pub struct Client {
    pub id: String,
    pub secret: Option<String>,
    pub redirect: String,
}

/// Registers a client as the admin; `extra` is merged into the body.
pub async fn register(app: &TestApp, public: bool, extra: Value) -> Client {
    let redirect = "http://127.0.0.1/cb".to_owned();
    let mut body = json!({"name": "Test App", "redirectUris": [redirect], "public": public});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, created) = json_of(
        app.post("/v1/oauth/clients", &app.admin_secret, body.clone())
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    Client {
        id: created["clientId"].as_str().unwrap().to_owned(),
        secret: created["clientSecret"].as_str().map(str::to_owned),
        redirect: created["redirectUris"][0].as_str().unwrap().to_owned(),
    }
}

/// `/oauth/authorize?…` for `client`, with PKCE.
pub fn authorize_path(client: &Client, scope: &str, state: &str, challenge: &str) -> String {
    format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&state={}&code_challenge={}&code_challenge_method=S256",
        client.id,
        urlencode(&client.redirect),
        urlencode(scope),
        urlencode(state),
        challenge
    )
}

/// The consent page's form, posted with `authorize` ticked (or not):
/// returns the 303 answer.
pub async fn decide(browser: &mut Browser, consent_html: &str, approve: bool) -> Response {
    let mut form = form_fields(consent_html);
    if approve {
        form.push(("authorize".into(), "yes".into()));
        form.push(("decision".into(), "submit".into()));
    } else {
        form.push(("decision".into(), "deny".into()));
    }
    browser.post_form("/oauth/authorize", &form).await
}

/// A query parameter of an absolute URL.
pub fn param(url: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The signed-in browser authorizes `client` for `scope` (on the consent
/// page, or at once when it consented before): the code and the PKCE verifier.
pub async fn code_for(browser: &mut Browser, client: &Client, scope: &str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let to = approve(browser, &authorize_path(client, scope, "st", &challenge)).await;
    assert!(to.starts_with(&client.redirect), "{to}");
    (param(&to, "code").expect("a code"), verifier)
}

/// The signed-in browser authorizes `client` for `scope` and the client
/// exchanges the code: the token endpoint's successful answer.
pub async fn tokens_for(
    app: &TestApp,
    browser: &mut Browser,
    client: &Client,
    scope: &str,
) -> Value {
    let (code, verifier) = code_for(browser, client, scope).await;
    let (status, body) = token_request(
        app,
        "/oauth/token",
        client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &client.redirect),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The signed-in browser types `user_code` at `/oauth/device`, confirms it,
/// and answers `decision` (`approve` or `deny`): the decision's response.
pub async fn decide_device(browser: &mut Browser, user_code: &str, decision: &str) -> Response {
    let entry = browser.page("/oauth/device", StatusCode::OK).await;
    let mut fields = form_fields(&entry);
    fields.retain(|(n, _)| n != "user_code");
    fields.push(("user_code".into(), user_code.into()));
    let confirm = browser.post_form("/oauth/device", &fields).await;
    assert_eq!(confirm.status(), StatusCode::OK);
    let mut answer = form_fields(&confirm.text().await.unwrap());
    answer.push(("decision".into(), decision.into()));
    browser.post_form("/oauth/device/decision", &answer).await
}

/// Follows an authorization request through consent (if asked) to where it
/// sends the browser back.
pub async fn approve(browser: &mut Browser, path: &str) -> String {
    let response = browser.get(path).await;
    let decided = match response.status() {
        StatusCode::SEE_OTHER => response,
        StatusCode::OK => {
            let consent = response.text().await.unwrap();
            decide(browser, &consent, true).await
        }
        other => panic!("{path}: {other}"),
    };
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);
    location(&decided)
}

/// POSTs a form to the token endpoint (or another OAuth endpoint).
pub async fn token_request(
    app: &TestApp,
    path: &str,
    client: &Client,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    fields.push(("client_id", &client.id));
    if let Some(secret) = &client.secret {
        fields.push(("client_secret", secret));
    }
    let response = app
        .client
        .post(format!("{}{path}", app.base))
        .form(&fields)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

//! The browser cookies: the Golem web flow's session cookie, the pages'
//! own session cookie, and the pre-login cookie of a browser sign-in.
//!
//! The pages never accept the Golem cookie. Its web flow is poll-based and
//! not bound to a browser (the wire contract fixes its callback), so anyone
//! can finish one as themselves and send the callback link to someone else,
//! whose browser then holds the sender's session (login CSRF). The pages'
//! cookie is set only by a sign-in that started in the same browser.

use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct CookieConfig {
    pub name: String,
    /// Set when the public URL is https.
    pub secure: bool,
    pub max_age: Duration,
}

/// How long a browser sign-in may take, from `/login` to GitHub's callback,
/// and a person to confirm a web flow.
const SHORT_LIVED_MAX_AGE: u64 = 600;
const PRELOGIN: &str = "prelogin";
const CONFIRM: &str = "confirm";

impl CookieConfig {
    pub fn set(&self, secret: &str) -> HeaderValue {
        self.header(&self.name, secret, self.max_age.as_secs())
    }

    pub fn clear(&self) -> HeaderValue {
        self.header(&self.name, "", 0)
    }

    /// The session secret from the request's cookies, if any.
    pub fn read<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        read(headers, &self.name)
    }

    /// The pages' session: set only at the end of a browser sign-in.
    pub fn set_pages(&self, secret: &str) -> HeaderValue {
        self.header(&self.pages_name(), secret, self.max_age.as_secs())
    }

    pub fn clear_pages(&self) -> HeaderValue {
        self.header(&self.pages_name(), "", 0)
    }

    pub fn read_pages<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        read(headers, &self.pages_name())
    }

    fn pages_name(&self) -> String {
        self.suffixed("pages")
    }

    /// The pre-login cookie that binds a browser sign-in to its browser.
    pub fn set_prelogin(&self, nonce: &str) -> HeaderValue {
        self.set_short_lived(PRELOGIN, nonce)
    }

    pub fn clear_prelogin(&self) -> HeaderValue {
        self.header(&self.suffixed(PRELOGIN), "", 0)
    }

    pub fn read_prelogin<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        read(headers, &self.suffixed(PRELOGIN))
    }

    /// The cookie that binds a web flow's confirmation (`--web-flow-confirm`)
    /// to the browser that was shown the page.
    pub fn set_confirm(&self, nonce: &str) -> HeaderValue {
        self.set_short_lived(CONFIRM, nonce)
    }

    pub fn clear_confirm(&self) -> HeaderValue {
        self.header(&self.suffixed(CONFIRM), "", 0)
    }

    pub fn read_confirm<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        read(headers, &self.suffixed(CONFIRM))
    }

    fn set_short_lived(&self, suffix: &str, nonce: &str) -> HeaderValue {
        self.header(&self.suffixed(suffix), nonce, SHORT_LIVED_MAX_AGE)
    }

    fn suffixed(&self, suffix: &str) -> String {
        format!("{}_{suffix}", self.name)
    }

    fn header(&self, name: &str, value: &str, max_age: u64) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let text =
            format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
        HeaderValue::from_str(&text).expect("cookie names and values are header-safe")
    }
}

fn read<'h>(headers: &'h HeaderMap, wanted: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(secure: bool) -> CookieConfig {
        CookieConfig {
            name: "lk".into(),
            secure,
            max_age: Duration::from_secs(60),
        }
    }

    #[test]
    fn cookie_attributes() {
        let set = config(false).set("abc");
        assert_eq!(set, "lk=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Lax");
        assert!(config(true)
            .set("abc")
            .to_str()
            .unwrap()
            .ends_with("; Secure"));
        assert!(config(false)
            .clear()
            .to_str()
            .unwrap()
            .contains("Max-Age=0"));
    }

    #[test]
    fn reads_the_named_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=1; lk=secret; b=2"));
        assert_eq!(config(false).read(&headers), Some("secret"));
        headers.insert(COOKIE, HeaderValue::from_static("lkx=1"));
        assert_eq!(config(false).read(&headers), None);
    }
}

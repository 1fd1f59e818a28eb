//! The browser session cookie set by the web flow's callback.

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

impl CookieConfig {
    pub fn set(&self, secret: &str) -> HeaderValue {
        self.header(secret, self.max_age.as_secs())
    }

    pub fn clear(&self) -> HeaderValue {
        self.header("", 0)
    }

    fn header(&self, value: &str, max_age: u64) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let text = format!(
            "{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
            self.name
        );
        HeaderValue::from_str(&text).expect("cookie name and secret are header-safe")
    }

    /// The session secret from the request's cookies, if any.
    pub fn read<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.name)
            .map(|(_, value)| value.trim())
    }
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

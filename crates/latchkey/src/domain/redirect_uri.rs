//! A registered OAuth redirect URI, and the one rule for matching what a
//! client sends against it: the exact string (RFC 6749 §3.1.2, RFC 9700
//! §2.1), except that a loopback IP literal may use any port (RFC 8252 §7.3),
//! because native apps get theirs from the operating system at run time.

use serde::{de, Deserialize, Deserializer, Serialize};
use std::fmt;

const MAX_LEN: usize = 2048;

#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// Absolute, no fragment, no credentials, visible ASCII; `https`, or
    /// `http` on a loopback host.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() || raw.len() > MAX_LEN {
            return Err(format!("redirect URI must be 1 to {MAX_LEN} characters"));
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("redirect URI must be visible ASCII without spaces".to_owned());
        }
        let url = reqwest::Url::parse(raw)
            .map_err(|_| format!("redirect URI {raw:?} is not an absolute URL"))?;
        if url.fragment().is_some() || raw.contains('#') {
            return Err(format!("redirect URI {raw:?} must not have a fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("redirect URI {raw:?} must not carry credentials"));
        }
        match url.scheme() {
            "https" if url.host().is_some() => Ok(Self(raw.to_owned())),
            "http" if is_loopback(&url) => Ok(Self(raw.to_owned())),
            "http" => Err(format!(
                "redirect URI {raw:?} must use https (http only for loopback hosts)"
            )),
            _ => Err(format!("redirect URI {raw:?} must use https")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host people are shown on the consent page.
    pub fn host(&self) -> String {
        reqwest::Url::parse(&self.0)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Whether `sent` (as a client sent it) names this registered URI.
    pub fn matches(&self, sent: &str) -> bool {
        if sent == self.0 {
            return true;
        }
        let (Ok(registered), Ok(sent_url)) =
            (reqwest::Url::parse(&self.0), reqwest::Url::parse(sent))
        else {
            return false;
        };
        if !is_loopback_ip(&registered) || registered.scheme() != "http" {
            return false;
        }
        // The same string once the port is taken out of both; a URI whose
        // text its parse does not reproduce (`HTTP://`, `127.000.0.1`)
        // matches only exactly, or any two such would match each other.
        let (Some(registered_text), Some(sent_text)) = (
            without_port(&self.0, &registered),
            without_port(sent, &sent_url),
        ) else {
            return false;
        };
        registered_text == sent_text
            && sent_url.scheme() == "http"
            && sent_url.host() == registered.host()
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    is_loopback_ip(url) || url.host_str() == Some("localhost")
}

fn is_loopback_ip(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

/// `raw` with its `:port` after the host removed, compared as text so no
/// other normalisation sneaks in.
fn without_port(raw: &str, url: &reqwest::Url) -> Option<String> {
    let port = match url.port() {
        Some(port) => format!(":{port}"),
        None => return Some(raw.to_owned()),
    };
    let host = match url.host()? {
        url::Host::Ipv6(ip) => format!("[{ip}]"),
        other => other.to_string(),
    };
    let with_port = format!("{}://{host}{port}", url.scheme());
    let rest = raw.strip_prefix(&with_port)?;
    Some(format!("{}://{host}{rest}", url.scheme()))
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedirectUri({})", self.0)
    }
}

impl<'de> Deserialize<'de> for RedirectUri {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        RedirectUri::parse(&raw).map_err(de::Error::custom)
    }
}

impl utoipa::PartialSchema for RedirectUri {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{SchemaFormat, Type};
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("uri".to_owned())))
            .max_length(Some(MAX_LEN))
            .pattern(Some(
                r"^(https://|http://(127\.0\.0\.1|\[::1\]|localhost)[:/])[!-~]*$",
            ))
            .description(Some(
                "Absolute, without a fragment; https, or http on a loopback host. \
                 Matched as the exact string (a loopback IP literal may use any port).",
            ))
            .into()
    }
}

impl utoipa::ToSchema for RedirectUri {}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> RedirectUri {
        RedirectUri::parse(s).unwrap()
    }

    #[test]
    fn only_safe_uris_register() {
        for good in [
            "https://app.example/cb",
            "https://app.example/cb?x=1",
            "http://127.0.0.1/cb",
            "http://127.0.0.1:8080/cb",
            "http://[::1]:5000/",
            "http://localhost:3000/done",
        ] {
            assert!(RedirectUri::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "/relative",
            "http://app.example/cb",
            "https://app.example/cb#frag",
            "https://user:pw@app.example/",
            "javascript:alert(1)",
            "myapp://callback",
            "https://app.example/a b",
            "http://127.0.0.2.evil.example/",
        ] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn matching_is_exact_except_loopback_ports() {
        let https = uri("https://app.example/cb");
        assert!(https.matches("https://app.example/cb"));
        for near in [
            "https://app.example/cb/",
            "https://app.example/cb?x=1",
            "https://APP.example/cb",
            "https://app.example:443/cb",
            "https://app.example/cb#x",
            "https://app.example/c%62",
        ] {
            assert!(!https.matches(near), "{near}");
        }
        let loopback = uri("http://127.0.0.1/cb");
        assert!(loopback.matches("http://127.0.0.1:51234/cb"));
        assert!(loopback.matches("http://127.0.0.1/cb"));
        assert!(!loopback.matches("http://127.0.0.1:51234/other"));
        assert!(!loopback.matches("http://localhost:51234/cb"));
        assert!(!loopback.matches("https://127.0.0.1:51234/cb"));
        let v6 = uri("http://[::1]:8000/cb?a=1");
        assert!(v6.matches("http://[::1]:9000/cb?a=1"));
        assert!(!v6.matches("http://[::1]:9000/cb?a=2"));
        // A hostname never varies, even localhost.
        let named = uri("http://localhost:3000/done");
        assert!(!named.matches("http://localhost:3001/done"));
        // Exposed by the redirect_uri fuzz property: a registered URI whose
        // text its parse does not reproduce accepted any path a client sent
        // in such a form.
        let upper = uri("HTTP://127.0.0.1:8080/cb");
        assert!(upper.matches("HTTP://127.0.0.1:8080/cb"));
        assert!(!upper.matches("HTTP://127.0.0.1:1/elsewhere"));
        assert!(!uri("http://127.000.000.001:8080/cb").matches("http://127.1:9/elsewhere"));
    }
}

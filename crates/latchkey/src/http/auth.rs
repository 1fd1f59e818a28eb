//! Authentication and scopes, checked once at the edge of every API route.
//!
//! Each operation declares what it needs in its `#[utoipa::path]`, next to
//! its route: `security(())` for a public route, `("Token" = [])` and
//! `("Cookie" = [])` for any caller, and `("OAuth2" = ["scope"])` for the
//! scope an OAuth access token (or a narrowed API token) must carry. The
//! requirements are read from the generated OpenAPI document when the router
//! is built; an operation that declares nothing stops the server from
//! starting, so a new route cannot be forgotten. The route layer below
//! authenticates, checks the scope and hands the handler its [`Caller`].

use super::edge::RouteSlot;
use super::error::ApiError;
use super::AppState;
use crate::domain::Scope;
use crate::service::{AuthFailure, Authenticator, Caller, Principal};
use axum::extract::{FromRequestParts, MatchedPath, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

use super::session_cookie::CookieConfig;

/// What an operation needs from its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    Public,
    /// Any valid token of an account, whatever its scopes.
    Authenticated,
    /// A token of an account that carries this scope (or is not narrowed).
    Scope(Scope),
}

/// Requirements by route template, then method; looked up by `&str` on
/// every request, so without allocating.
#[derive(Clone, Debug, Default)]
pub struct Requirements(HashMap<String, Vec<(Method, Requirement)>>);

impl Requirements {
    /// Reads every operation's `security` from the OpenAPI document. `Err`
    /// names the operations that declare none.
    pub fn from_openapi(doc: &Value) -> Result<Self, String> {
        let mut map: HashMap<String, Vec<(Method, Requirement)>> = HashMap::new();
        let mut undeclared = Vec::new();
        for (path, operations) in doc["paths"].as_object().into_iter().flatten() {
            for (method, operation) in operations.as_object().into_iter().flatten() {
                let Ok(method) = Method::from_bytes(method.to_uppercase().as_bytes()) else {
                    continue;
                };
                match requirement_of(&operation["security"]) {
                    Some(requirement) => {
                        map.entry(path.clone())
                            .or_default()
                            .push((method, requirement));
                    }
                    None => undeclared.push(format!("{method} {path}")),
                }
            }
        }
        match undeclared.is_empty() {
            true => Ok(Self(map)),
            false => Err(format!(
                "these operations declare no security (use security(()) for public ones): {}",
                undeclared.join(", ")
            )),
        }
    }

    /// `alias` (an older path of the same operation) needs what `canonical` needs.
    pub fn alias(&mut self, method: Method, alias: &str, canonical: &str) {
        let requirement = self.get(&method, canonical).unwrap_or(Requirement::Public);
        self.0
            .entry(alias.to_owned())
            .or_default()
            .push((method, requirement));
    }

    pub fn get(&self, method: &Method, route: &str) -> Option<Requirement> {
        self.0
            .get(route)?
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, r)| *r)
    }
}

fn requirement_of(security: &Value) -> Option<Requirement> {
    let alternatives = security.as_array()?;
    if alternatives
        .iter()
        .all(|a| a.as_object().is_some_and(|o| o.is_empty()))
    {
        return (!alternatives.is_empty()).then_some(Requirement::Public);
    }
    let scope = alternatives.iter().find_map(|a| {
        a["OAuth2"]
            .as_array()
            .and_then(|scopes| scopes.first())
            .and_then(Value::as_str)
            .and_then(Scope::parse)
    });
    Some(scope.map_or(Requirement::Authenticated, Requirement::Scope))
}

/// The credential of a request: `Authorization: Bearer <secret>` (RFC 6750
/// §2.1), GoCD's `Authorization: Token token="<secret>"`, else the session
/// cookie. A header that is present but of another scheme counts as a bad
/// credential, never as "no header" falling back to the cookie.
pub fn presented<'h>(headers: &'h HeaderMap, cookie: &CookieConfig) -> Option<&'h str> {
    match headers.get(AUTHORIZATION) {
        None => cookie.read(headers),
        Some(value) => Some(credential(value.as_bytes()).unwrap_or("")),
    }
}

pub(crate) fn credential(header: &[u8]) -> Option<&str> {
    let value = std::str::from_utf8(header).ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest);
    }
    if scheme.eq_ignore_ascii_case("token") {
        let quoted = rest.strip_prefix("token=")?.trim();
        return quoted
            .strip_prefix('"')
            .and_then(|q| q.strip_suffix('"'))
            .or(Some(quoted));
    }
    None
}

/// What the auth layer needs.
pub struct AuthContext {
    pub auth: Authenticator,
    pub cookie: CookieConfig,
    pub requirements: Requirements,
}

#[derive(Clone)]
pub struct AuthLayer(pub Arc<AuthContext>);

impl<S> Layer<S> for AuthLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Authenticate<S> {
        Authenticate {
            inner,
            context: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Authenticate<S> {
    inner: S,
    context: Arc<AuthContext>,
}

type Boxed = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S> Service<Request> for Authenticate<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Boxed;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Boxed {
        let route = req.extensions().get::<MatchedPath>().cloned();
        if let (Some(slot), Some(route)) = (req.extensions().get::<RouteSlot>(), &route) {
            slot.fill(route);
        }
        // A route the document does not describe gets nothing: fail closed.
        let requirement = route
            .as_ref()
            .and_then(|r| self.context.requirements.get(req.method(), r.as_str()));
        let context = self.context.clone();
        let mut inner = self.inner.clone();
        std::mem::swap(&mut inner, &mut self.inner);
        Box::pin(async move {
            let requirement = match requirement {
                Some(Requirement::Public) => return inner.call(req).await,
                Some(requirement) => requirement,
                None => {
                    return Ok(
                        ApiError::Internal("route declares no requirement".into()).into_response()
                    )
                }
            };
            let presented = presented(req.headers(), &context.cookie);
            let caller = match context.auth.authenticate(presented).await {
                Ok(Principal::Account(caller)) => caller,
                Ok(Principal::Client(_)) => {
                    return Ok(ApiError::Forbidden(
                        "This token acts for an application, not for an account",
                    )
                    .into_response())
                }
                Err(err) => return Ok(ApiError::from(err).into_response()),
            };
            if let Requirement::Scope(scope) = requirement {
                if !caller.allows(scope) {
                    return Ok(ApiError::InsufficientScope(scope).into_response());
                }
            }
            req.extensions_mut().insert(caller);
            inner.call(req).await
        })
    }
}

/// A handler that takes a [`Caller`] runs only behind the auth layer, after
/// its route's requirement was met.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, ApiError> {
        parts
            .extensions
            .remove::<Caller>()
            .ok_or(ApiError::Unauthorized(AuthFailure::Missing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_bearer_and_token_credentials() {
        assert_eq!(credential(b"Bearer abc"), Some("abc"));
        assert_eq!(credential(b"bearer  abc "), Some("abc"));
        assert_eq!(credential(br#"Token token="abc""#), Some("abc"));
        assert_eq!(credential(b"token token=abc"), Some("abc"));
        assert_eq!(credential(b"Token abc"), None);
        assert_eq!(credential(b"Basic abc"), None);
        assert_eq!(credential(b"Bearer"), None);
        assert_eq!(credential(&[0xff, 0xfe]), None);
    }

    #[test]
    fn requirements_come_from_the_document_and_must_be_declared() {
        let doc = json!({"paths": {
            "/open": {"get": {"security": [{}]}},
            "/any": {"get": {"security": [{"Token": []}, {"Cookie": []}]}},
            "/scoped": {"post": {"security": [{"Token": []}, {"OAuth2": ["tokens:write"]}]}},
        }});
        let r = Requirements::from_openapi(&doc).unwrap();
        assert_eq!(r.get(&Method::GET, "/open"), Some(Requirement::Public));
        assert_eq!(
            r.get(&Method::GET, "/any"),
            Some(Requirement::Authenticated)
        );
        assert_eq!(
            r.get(&Method::POST, "/scoped"),
            Some(Requirement::Scope(Scope::TokensWrite))
        );
        assert_eq!(r.get(&Method::GET, "/scoped"), None);
        let forgotten = json!({"paths": {"/new": {"delete": {}}}});
        let err = Requirements::from_openapi(&forgotten).unwrap_err();
        assert!(err.contains("DELETE /new"), "{err}");
    }
}

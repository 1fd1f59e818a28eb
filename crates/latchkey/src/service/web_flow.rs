use super::{GithubLogin, LoginMethod, ServiceError};
use crate::crypto::{self, ServerKey};
use crate::domain::{SignInOrigin, Timestamp, UnsafeToken};
use crate::github::GithubClient;
use crate::store::{Store, WebLogin, WebLoginClaim};
use chrono::TimeDelta;
use subtle::ConstantTimeEq;

/// How long a browser login may take from authorize to poll.
const STATE_LIFETIME: TimeDelta = TimeDelta::minutes(10);
const SCOPE: &str = "read:user user:email";
/// Longest `redirect` accepted: it is stored, then sent back as a header.
pub const MAX_REDIRECT_LEN: usize = 2048;

/// What `authorize` hands the client: GitHub's URL, and a *different* state
/// to poll with, so whoever sees the URL still cannot collect the token.
pub struct WebAuthorize {
    pub url: String,
    pub poll_state: String,
}

/// What `begin_browser_sign_in` hands the browser: GitHub's URL, and the
/// nonce for its pre-login cookie.
pub struct BrowserSignIn {
    pub url: String,
    pub nonce: String,
}

/// The callback's result for the browser.
pub struct WebCallback {
    pub redirect: Option<String>,
    /// A browser sign-in: `redirect` is a path here, and the pre-login
    /// cookie has done its job.
    pub browser: bool,
    /// The browser's own login token, for the session cookie.
    pub session: UnsafeToken,
}

/// A Login API web flow waiting at its callback for the person to confirm
/// it (`--web-flow-confirm`): what the confirmation page shows.
pub struct PendingConfirmation {
    pub started_at: Timestamp,
    pub origin: SignInOrigin,
    pub redirect: Option<String>,
}

/// What the callback did: completed, or (`--web-flow-confirm`) stopped to
/// ask the person, whose browser gets a cookie holding `nonce`.
pub enum CallbackOutcome {
    Done(WebCallback),
    Confirm { nonce: String },
}

pub enum WebPoll {
    Pending,
    Ready(UnsafeToken),
}

/// GitHub's browser redirect flow, with PKCE.
#[derive(Clone)]
pub struct WebFlow {
    store: Store,
    github: GithubClient,
    login: GithubLogin,
    key: ServerKey,
    callback_url: String,
    allowed_redirects: Vec<String>,
    /// `--web-flow-confirm`: the Login API's web flow completes only after
    /// the person confirms it at the callback.
    confirm: bool,
}

impl WebFlow {
    pub fn new(
        store: Store,
        github: GithubClient,
        login: GithubLogin,
        key: ServerKey,
        public_url: &str,
        allowed_redirects: Vec<String>,
        confirm: bool,
    ) -> Self {
        Self {
            store,
            github,
            login,
            key,
            callback_url: format!(
                "{}/v1/login/oauth2/web/callback/github",
                public_url.trim_end_matches('/')
            ),
            allowed_redirects,
            confirm,
        }
    }

    /// `origin` is who asked, kept for the confirmation page.
    pub async fn authorize(
        &self,
        redirect: Option<&str>,
        origin: &SignInOrigin,
    ) -> Result<WebAuthorize, ServiceError> {
        if let Some(redirect) = redirect {
            check_redirect(redirect, &self.allowed_redirects)?;
        }
        self.begin(redirect, None, origin).await
    }

    /// Sign-in for Latchkey's own pages (`/login?next=…`), bound to the
    /// browser that starts it: the returned nonce goes into a short-lived
    /// cookie, and the callback proceeds only if that cookie comes back.
    /// Otherwise someone could finish their own sign-in in another person's
    /// browser and plant their session there (login CSRF).
    pub async fn begin_browser_sign_in(&self, next: &str) -> Result<BrowserSignIn, ServiceError> {
        if !is_local_path(next) {
            return Err(ServiceError::invalid("next must be a path on this server"));
        }
        let nonce = crypto::random_token();
        let started = self
            .begin(
                Some(next),
                Some(&crypto::sha256(nonce.as_bytes())),
                &SignInOrigin::default(),
            )
            .await?;
        Ok(BrowserSignIn {
            url: started.url,
            nonce,
        })
    }

    async fn begin(
        &self,
        redirect: Option<&str>,
        prelogin_hash: Option<&[u8; 32]>,
        origin: &SignInOrigin,
    ) -> Result<WebAuthorize, ServiceError> {
        if !self.github.has_client_secret() {
            // The callback could not exchange GitHub's code: refuse up front.
            return Err(crate::github::GithubError::NotConfigured("client secret").into());
        }
        let state = crypto::random_token();
        let poll_state = crypto::random_token();
        let challenge = crypto::base64url(&crypto::sha256(self.verifier(&state).as_bytes()));
        let url = self
            .github
            .authorize_url(&self.callback_url, SCOPE, &state, &challenge)?;
        self.store
            .insert_web_login(
                &crypto::sha256(state.as_bytes()),
                &crypto::sha256(poll_state.as_bytes()),
                redirect,
                Timestamp::now().plus(STATE_LIFETIME),
                prelogin_hash,
                origin,
            )
            .await?;
        Ok(WebAuthorize { url, poll_state })
    }

    /// The PKCE verifier follows from the state under the server key, so it
    /// never has to be stored.
    fn verifier(&self, state: &str) -> String {
        crypto::base64url(&self.key.derive("pkce-verifier", state.as_bytes()))
    }

    /// The web login `state` names, if it is still in flight.
    async fn in_flight(&self, state_hash: &[u8; 32]) -> Result<WebLogin, ServiceError> {
        let pending = self
            .store
            .find_web_login(state_hash)
            .await?
            .filter(|l| !l.expires_at.is_past(Timestamp::now()))
            .ok_or_else(|| ServiceError::invalid("state is unknown or expired"))?;
        match pending.done {
            true => Err(ServiceError::invalid("state has already been used")),
            false => Ok(pending),
        }
    }

    /// `--web-flow-confirm`: the sign-in waiting for the answer of the
    /// browser that holds `nonce` (the cookie the callback set there).
    pub async fn awaiting_confirmation(
        &self,
        state: &str,
        nonce: Option<&str>,
    ) -> Result<PendingConfirmation, ServiceError> {
        let pending = self.in_flight(&crypto::sha256(state.as_bytes())).await?;
        let bound = match (pending.confirm_hash, nonce) {
            (Some(expected), Some(nonce)) => {
                bool::from(crypto::sha256(nonce.as_bytes()).ct_eq(&expected))
            }
            _ => false,
        };
        if !bound || pending.awaiting_account.is_none() {
            return Err(ServiceError::Forbidden(
                "There is no sign-in waiting for this browser's confirmation",
            ));
        }
        Ok(PendingConfirmation {
            started_at: pending.created_at,
            origin: pending.origin,
            redirect: pending.redirect,
        })
    }

    /// The person confirmed from the browser that holds `nonce`: the
    /// sign-in completes as the callback would have completed it.
    pub async fn confirm(&self, state: &str, nonce: &str) -> Result<WebCallback, ServiceError> {
        let confirmation = self.awaiting_confirmation(state, Some(nonce)).await?;
        let account = self
            .store
            .confirm_web_login(
                &crypto::sha256(state.as_bytes()),
                &crypto::sha256(nonce.as_bytes()),
            )
            .await?
            .ok_or_else(|| ServiceError::invalid("state has already been used"))?;
        Ok(WebCallback {
            redirect: confirmation.redirect,
            browser: false,
            session: self.login.mint(account).await?,
        })
    }

    /// The person said no: the poller learns it.
    pub async fn refuse(&self, state: &str, nonce: &str) -> Result<(), ServiceError> {
        self.awaiting_confirmation(state, Some(nonce)).await?;
        let refused = "The sign-in was refused in the browser that received it";
        let state_hash = crypto::sha256(state.as_bytes());
        match self
            .store
            .finish_web_login(&state_hash, Err(refused))
            .await?
        {
            true => Ok(()),
            false => Err(ServiceError::invalid("state has already been used")),
        }
    }

    /// GitHub sent the browser back. `error` is GitHub's `error` parameter;
    /// `prelogin` the browser's pre-login cookie, if it sent one. With
    /// `--web-flow-confirm`, a Login API flow (not a browser sign-in) stops
    /// after GitHub's code is used: the account waits for the person's
    /// answer, bound to a nonce for this browser's cookie, and no code or
    /// token leaves the server meanwhile.
    pub async fn callback(
        &self,
        code: Option<&str>,
        state: &str,
        error: Option<&str>,
        prelogin: Option<&str>,
    ) -> Result<CallbackOutcome, ServiceError> {
        let state_hash = crypto::sha256(state.as_bytes());
        let pending = self.in_flight(&state_hash).await?;
        if pending.awaiting_account.is_some() {
            return Err(ServiceError::invalid("state has already been used"));
        }
        // Checked before GitHub's code is exchanged, and without using up
        // the state: the browser that started this sign-in may still finish it.
        if let Some(expected) = pending.prelogin_hash {
            let matches = prelogin
                .is_some_and(|nonce| bool::from(crypto::sha256(nonce.as_bytes()).ct_eq(&expected)));
            if !matches {
                return Err(ServiceError::LoginFailed(
                    "This sign-in was started in another browser; start it again here".to_owned(),
                ));
            }
        }
        let outcome = match (error, code) {
            (Some(error), _) => Err(ServiceError::LoginFailed(format!(
                "GitHub authorization failed: {}",
                oauth_code(error)
            ))),
            // A malformed callback does not use up the state.
            (None, None | Some("")) => return Err(ServiceError::invalid("code is required")),
            (None, Some(code)) => self.log_in(code, state).await,
        };
        if let (Ok(account), true) = (&outcome, self.confirm && pending.prelogin_hash.is_none()) {
            let nonce = crypto::random_token();
            let nonce_hash = crypto::sha256(nonce.as_bytes());
            return match self
                .store
                .await_web_login_confirmation(&state_hash, *account, &nonce_hash)
                .await?
            {
                true => Ok(CallbackOutcome::Confirm { nonce }),
                false => Err(ServiceError::invalid("state has already been used")),
            };
        }
        let recorded = match &outcome {
            Ok(account) => {
                self.store
                    .finish_web_login(&state_hash, Ok(*account))
                    .await?
            }
            Err(err) => {
                self.store
                    .finish_web_login(&state_hash, Err(&public_message(err)))
                    .await?
            }
        };
        let account = outcome?;
        if !recorded {
            return Err(ServiceError::invalid("state has already been used"));
        }
        Ok(CallbackOutcome::Done(WebCallback {
            redirect: pending.redirect,
            browser: pending.prelogin_hash.is_some(),
            session: self.login.mint(account).await?,
        }))
    }

    async fn log_in(
        &self,
        code: &str,
        state: &str,
    ) -> Result<crate::domain::AccountId, ServiceError> {
        let access_token = self
            .github
            .exchange_code(code, &self.callback_url, &self.verifier(state))
            .await?;
        self.login
            .account_for(&access_token, LoginMethod::WebFlow)
            .await
    }

    /// Pending until the callback has run; then the token, exactly once.
    pub async fn poll(&self, poll_state: &str) -> Result<WebPoll, ServiceError> {
        let hash = crypto::sha256(poll_state.as_bytes());
        match self.store.claim_web_login(&hash, Timestamp::now()).await? {
            WebLoginClaim::Pending => Ok(WebPoll::Pending),
            WebLoginClaim::LoggedIn(account) => match self.login.mint(account).await {
                Ok(token) => Ok(WebPoll::Ready(token)),
                Err(ServiceError::NotFound(_)) => Err(ServiceError::LoginFailed(
                    "The account that signed in has since been deleted".to_owned(),
                )),
                Err(err) => Err(err),
            },
            WebLoginClaim::Failed(why) => Err(ServiceError::LoginFailed(why)),
            WebLoginClaim::Unknown => Err(ServiceError::invalid(
                "state is unknown, expired or already claimed",
            )),
        }
    }
}

/// GitHub's error codes are short snake_case words; anything else in the
/// parameter is not GitHub's and is not echoed back.
fn oauth_code(raw: &str) -> &str {
    let plausible = !raw.is_empty()
        && raw.len() <= 64
        && raw.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if plausible {
        raw
    } else {
        "unknown_error"
    }
}

/// What the poller may learn of a failed callback: never internals.
fn public_message(err: &ServiceError) -> String {
    match err {
        ServiceError::Internal(_) => "Internal server error".to_owned(),
        other => other.to_string(),
    }
}

/// Everything `redirect` must be, checked before anything is stored: short,
/// a valid header value as it stands (it goes back in `Location`), and an
/// allowed URL.
fn check_redirect(redirect: &str, allowed: &[String]) -> Result<(), ServiceError> {
    if redirect.len() > MAX_REDIRECT_LEN {
        return Err(ServiceError::invalid(format!(
            "redirect must be at most {MAX_REDIRECT_LEN} bytes"
        )));
    }
    if !redirect.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ServiceError::invalid(
            "redirect must be visible ASCII without spaces (percent-encode the rest)",
        ));
    }
    if !redirect_allowed(redirect, allowed) {
        return Err(ServiceError::invalid(
            "redirect is not an allowed redirect URL",
        ));
    }
    Ok(())
}

/// A path on this server: `/…`, but not `//host` or `/\\host`, which
/// browsers read as another origin; visible ASCII, at most 2 KiB.
pub fn is_local_path(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= MAX_REDIRECT_LEN
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
}

/// `redirect` must be an http(s) URL that starts with an allowed prefix at a
/// boundary: `https://app.example` allows `https://app.example/x` and
/// `https://app.example:8443/x` but not `https://app.example.evil.com`.
pub fn redirect_allowed(redirect: &str, prefixes: &[String]) -> bool {
    let Ok(url) = reqwest::Url::parse(redirect) else {
        return false;
    };
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return false;
    }
    prefixes.iter().any(|prefix| {
        let Some(rest) = redirect.strip_prefix(prefix.as_str()) else {
            return false;
        };
        // A port after the host is a boundary too; the URL parsed, so it is numeric.
        prefix.ends_with('/') || rest.is_empty() || rest.starts_with(['/', '?', '#', ':'])
    })
}

#[cfg(test)]
mod tests {
    use super::redirect_allowed;

    #[test]
    fn next_paths_stay_on_this_server() {
        for good in [
            "/",
            "/oauth/authorize?client_id=x&scope=a%20b",
            "/admin/oauth/clients",
        ] {
            assert!(super::is_local_path(good), "{good}");
        }
        for bad in [
            "",
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "/a\\b",
            "/a b",
            "relative",
        ] {
            assert!(!super::is_local_path(bad), "{bad}");
        }
    }

    #[test]
    fn only_plausible_oauth_codes_are_echoed() {
        assert_eq!(super::oauth_code("access_denied"), "access_denied");
        assert_eq!(super::oauth_code("<script>"), "unknown_error");
        assert_eq!(super::oauth_code(""), "unknown_error");
    }

    #[test]
    fn redirects_are_bounded_and_header_safe() {
        let allowed = vec!["https://app.example".to_owned()];
        assert!(super::check_redirect("https://app.example/ok", &allowed).is_ok());
        let long = format!(
            "https://app.example/{}",
            "a".repeat(super::MAX_REDIRECT_LEN)
        );
        assert!(super::check_redirect(&long, &allowed).is_err());
        // The URL parser would drop the newline; the header would not take it.
        assert!(super::check_redirect("https://app.example/a\nb", &allowed).is_err());
        assert!(super::check_redirect("https://app.example/é", &allowed).is_err());
        assert!(super::check_redirect("https://app.example/a b", &allowed).is_err());
    }

    #[test]
    fn redirects_match_prefixes_at_boundaries() {
        let allowed = vec![
            "https://app.example".to_owned(),
            "http://127.0.0.1:3000/cb/".to_owned(),
        ];
        assert!(redirect_allowed("https://app.example", &allowed));
        assert!(redirect_allowed("https://app.example/done?x=1", &allowed));
        assert!(redirect_allowed("http://127.0.0.1:3000/cb/ok", &allowed));
        assert!(redirect_allowed("https://app.example:8443/x", &allowed));
        assert!(!redirect_allowed("https://app.example.evil.com/", &allowed));
        assert!(!redirect_allowed("https://app.examplex", &allowed));
        assert!(!redirect_allowed("http://127.0.0.1:3000/other", &allowed));
        assert!(!redirect_allowed(
            "https://evil.com/?https://app.example",
            &allowed
        ));
        assert!(!redirect_allowed("javascript:alert(1)", &allowed));
        assert!(!redirect_allowed("https://app.example@evil.com/", &allowed));
        assert!(!redirect_allowed("https://app.example", &[]));
    }
}

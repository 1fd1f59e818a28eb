use super::{AuditEvent, ServiceError, SignupPolicy, TokenService};
use crate::domain::{
    name_problems, Account, AccountId, AuditKind, Email, Role, Timestamp, UnsafeToken,
};
use crate::github::{GithubClient, GithubUser};
use crate::store::{Identity, Store, StoreError, DEFAULT_PLAN_ID};
use chrono::TimeDelta;

const PROVIDER: &str = "github";

pub const ACCESS_TOKEN_EXCHANGE_DISABLED: &str =
    "Access-token login is disabled: this server has no GitHub client secret to check \
     that the token was issued to its OAuth app. Set --github-client-secret \
     (LATCHKEY_GITHUB_CLIENT_SECRET); the device flow works without it";

/// How a person signed in with GitHub, as the audit log names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginMethod {
    /// `POST /v1/oauth2` with a GitHub access token.
    AccessToken,
    DeviceFlow,
    /// The browser redirect flow (the Login API's and the console's).
    WebFlow,
}

impl LoginMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginMethod::AccessToken => "access_token",
            LoginMethod::DeviceFlow => "device_flow",
            LoginMethod::WebFlow => "web_flow",
        }
    }
}

/// Turns a GitHub access token into a Latchkey account and a fresh token.
#[derive(Clone)]
pub struct GithubLogin {
    store: Store,
    github: GithubClient,
    tokens: TokenService,
    policy: SignupPolicy,
    token_lifetime: TimeDelta,
}

impl GithubLogin {
    pub fn new(
        store: Store,
        github: GithubClient,
        tokens: TokenService,
        policy: SignupPolicy,
        token_lifetime: TimeDelta,
    ) -> Self {
        Self {
            store,
            github,
            tokens,
            policy,
            token_lifetime,
        }
    }

    /// `POST /v1/oauth2`: a token the client got from GitHub itself. Only
    /// tokens issued to our own app count, and checking that takes the
    /// client secret: without one the exchange is off, or any OAuth app's
    /// token (or a personal access token) would log its owner in.
    pub async fn with_access_token(&self, access_token: &str) -> Result<UnsafeToken, ServiceError> {
        if !self.github.has_client_secret() {
            return Err(ServiceError::Disabled(
                ACCESS_TOKEN_EXCHANGE_DISABLED.to_owned(),
            ));
        }
        let method = LoginMethod::AccessToken;
        let ours = match self.github.token_belongs_to_app(access_token).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(ServiceError::LoginFailed(
                "The access token was not issued to this application".to_owned(),
            )),
            Err(err) => Err(err.into()),
        };
        if let Err(err) = ours {
            self.audit_login(method, None, Err(&err)).await;
            return Err(err);
        }
        let account = self.account_for(access_token, method).await?;
        self.mint(account).await
    }

    /// Every login mints a new token; no secret is ever handed out twice.
    pub async fn mint(&self, account: AccountId) -> Result<UnsafeToken, ServiceError> {
        self.tokens
            .mint(account, Timestamp::now().plus(self.token_lifetime))
            .await
    }

    /// The account of the GitHub user behind `access_token`, created or linked
    /// on first login; the attempt goes to the audit log either way.
    pub async fn account_for(
        &self,
        access_token: &str,
        method: LoginMethod,
    ) -> Result<AccountId, ServiceError> {
        let mut github_id = None;
        let result = self.resolve(access_token, &mut github_id).await;
        self.audit_login(method, github_id, result.as_ref().map(|a| *a))
            .await;
        result
    }

    async fn audit_login(
        &self,
        method: LoginMethod,
        github_id: Option<u64>,
        result: Result<AccountId, &ServiceError>,
    ) {
        let event = AuditEvent::new(AuditKind::Login)
            .detail(serde_json::json!({"method": method.as_str(), "githubId": github_id}));
        let event = match result {
            Ok(account) => event.account(account).actor_is_account(),
            Err(err) => event.outcome(err.to_string()),
        };
        event.record(&self.store).await;
    }

    /// Identity is GitHub's numeric id, never login or email.
    async fn resolve(
        &self,
        access_token: &str,
        github_id: &mut Option<u64>,
    ) -> Result<AccountId, ServiceError> {
        let user = self.github.user(access_token).await?;
        *github_id = Some(user.id);
        let subject = user.id.to_string();
        if let Some(account) = self.store.find_identity(PROVIDER, &subject).await? {
            return Ok(account);
        }
        let email = self.verified_email(access_token, &user).await?;
        let identity = Identity {
            provider: PROVIDER,
            subject: &subject,
            login: &user.login,
        };
        // Only an account whose email is verified (set by an admin, or from
        // GitHub) is linked, and only if it has no GitHub user yet. A
        // self-chosen, unverified address never joins anyone to an account.
        let holders = self.store.find_accounts(Some(&email)).await?;
        if let Some(owner) = holders.iter().find(|r| r.email_verified) {
            return self.link_existing(owner.account.id, &identity).await;
        }
        if !self.policy.permits(&user.login, &email) {
            return Err(ServiceError::Forbidden(
                "Sign-up is restricted: this GitHub user may not create an account",
            ));
        }
        let account = Account {
            id: AccountId::generate(),
            name: display_name(&user),
            email,
            plan_id: DEFAULT_PLAN_ID,
        };
        match self
            .store
            .create_account_with_identity(&account, Role::User, &identity)
            .await
        {
            Ok(()) => Ok(account.id),
            // A concurrent first login of the same user won the race, or an
            // admin just gave another account this verified email.
            Err(StoreError::Conflict) => self
                .store
                .find_identity(PROVIDER, &subject)
                .await?
                .ok_or(ServiceError::EMAIL_TAKEN),
            Err(err) => Err(err.into()),
        }
    }

    /// An account with this verified email and no GitHub user yet: link it.
    async fn link_existing(
        &self,
        account: AccountId,
        identity: &Identity<'_>,
    ) -> Result<AccountId, ServiceError> {
        const TAKEN: ServiceError =
            ServiceError::Conflict("The account with this email is linked to another GitHub user");
        if self
            .store
            .identity_of_account(PROVIDER, account)
            .await?
            .is_some()
        {
            return Err(TAKEN);
        }
        match self.store.link_identity(account, identity).await {
            Ok(()) => Ok(account),
            Err(StoreError::Conflict) => {
                match self.store.find_identity(PROVIDER, identity.subject).await? {
                    Some(linked) if linked == account => Ok(account),
                    _ => Err(TAKEN),
                }
            }
            Err(StoreError::MissingReference) => Err(ServiceError::ACCOUNT_NOT_FOUND),
            Err(err) => Err(err.into()),
        }
    }

    /// The public email (GitHub only allows verified ones there), else the
    /// primary verified address. Unverified addresses are never used.
    async fn verified_email(
        &self,
        access_token: &str,
        user: &GithubUser,
    ) -> Result<Email, ServiceError> {
        const NONE: ServiceError =
            ServiceError::Forbidden("The GitHub account has no verified primary email address");
        let raw = match &user.email {
            Some(email) => email.clone(),
            None => self
                .github
                .primary_verified_email(access_token)
                .await?
                .ok_or(NONE)?,
        };
        Email::parse(&raw).map_err(|_| NONE)
    }
}

/// GitHub's name when it makes a valid account name, else the login.
fn display_name(user: &GithubUser) -> String {
    user.name
        .as_deref()
        .filter(|name| name_problems(name).is_empty())
        .map(|name| name.trim().to_owned())
        .unwrap_or_else(|| user.login.clone())
}

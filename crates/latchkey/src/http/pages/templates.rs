//! The pages' templates and the data each needs.

use askama::Template;

/// The header of a signed-in page.
pub struct Nav {
    pub email: String,
    pub admin: bool,
    pub logout_csrf: String,
}

#[derive(Template)]
#[template(path = "pages/error.html")]
pub struct ErrorPage {
    pub nav: Option<Nav>,
    pub title: String,
    pub message: String,
}

impl ErrorPage {
    pub fn new(title: String, message: String) -> Self {
        Self {
            nav: None,
            title,
            message,
        }
    }
}

#[derive(Template)]
#[template(path = "pages/message.html")]
pub struct MessagePage {
    pub nav: Option<Nav>,
    pub title: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "pages/home.html")]
pub struct HomePage {
    pub nav: Option<Nav>,
    pub email: String,
    pub admin: bool,
}

/// `/` for a browser that is not signed in.
#[derive(Template)]
#[template(path = "pages/signed_out.html")]
pub struct SignedOutPage {
    pub nav: Option<Nav>,
}

#[derive(Template)]
#[template(path = "pages/consent.html")]
pub struct ConsentPage {
    pub nav: Option<Nav>,
    pub client_name: String,
    pub redirect_host: String,
    /// Each scope in words.
    pub scopes: Vec<String>,
    pub csrf: String,
    /// The authorization request, carried to the POST unchanged.
    pub hidden: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "pages/device_entry.html")]
pub struct DeviceEntryPage {
    pub nav: Option<Nav>,
    pub csrf: String,
    pub user_code: String,
    pub problem: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/device_confirm.html")]
pub struct DeviceConfirmPage {
    pub nav: Option<Nav>,
    pub csrf: String,
    pub client_name: String,
    pub user_code: String,
    pub scopes: Vec<String>,
}

/// `--web-flow-confirm`: who started the sign-in waiting at its callback.
#[derive(Template)]
#[template(path = "pages/web_confirm.html")]
pub struct WebConfirmPage {
    pub nav: Option<Nav>,
    pub csrf: String,
    pub state: String,
    pub started_at: String,
    /// As the server saw the request that started it; the user agent is
    /// whatever that client claimed.
    pub address: String,
    pub user_agent: String,
    /// This browser's address, for comparison.
    pub here: String,
    pub same_address: bool,
    pub same_agent: bool,
    pub destination: String,
}

pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub scopes: String,
    pub created: String,
    pub expires: String,
    /// To within a minute; "never" until its first recorded use.
    pub last_used: String,
    /// The token this browser's session uses.
    pub current: bool,
}

#[derive(Template)]
#[template(path = "pages/tokens.html")]
pub struct TokensPage {
    pub nav: Option<Nav>,
    pub csrf: String,
    pub tokens: Vec<TokenRow>,
    pub lifetimes: Vec<(&'static str, &'static str)>,
    pub problems: Vec<String>,
}

#[derive(Template)]
#[template(path = "pages/token_created.html")]
pub struct TokenCreatedPage {
    pub nav: Option<Nav>,
    pub name: String,
    pub expires: String,
    pub secret: String,
}

#[derive(Template)]
#[template(path = "pages/token_delete.html")]
pub struct TokenDeletePage {
    pub nav: Option<Nav>,
    pub csrf: String,
    pub id: String,
    pub name: String,
    pub current: bool,
}

pub struct AppRow {
    pub client_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub granted: String,
    pub last_used: String,
}

#[derive(Template)]
#[template(path = "pages/apps.html")]
pub struct AppsPage {
    pub nav: Option<Nav>,
    pub csrf: String,
    pub apps: Vec<AppRow>,
}

pub struct AccountRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub admin: bool,
    /// The signed-in admin's own account.
    pub you: bool,
}

#[derive(Template)]
#[template(path = "pages/admin_accounts.html")]
pub struct AccountsPage {
    pub nav: Option<Nav>,
    pub csrf: String,
    pub search: String,
    pub problem: Option<String>,
    pub accounts: Vec<AccountRow>,
}

#[derive(Template)]
#[template(path = "pages/admin_account_delete.html")]
pub struct AccountDeletePage {
    pub nav: Option<Nav>,
    pub csrf: String,
    pub id: String,
    pub name: String,
    pub email: String,
}

pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub public: bool,
    pub redirect_uris: Vec<String>,
}

#[derive(Template)]
#[template(path = "pages/admin_clients.html")]
pub struct ClientsPage {
    pub nav: Option<Nav>,
    pub clients: Vec<ClientRow>,
}

#[derive(Template)]
#[template(path = "pages/admin_client_form.html")]
pub struct ClientFormPage {
    pub nav: Option<Nav>,
    pub heading: String,
    pub action: String,
    pub submit: &'static str,
    pub creating: bool,
    pub csrf: String,
    pub name: String,
    pub redirect_uris: String,
    pub public: bool,
    /// Name, description, checked.
    pub scopes: Vec<(&'static str, &'static str, bool)>,
    pub problems: Vec<String>,
}

#[derive(Template)]
#[template(path = "pages/admin_client_created.html")]
pub struct ClientCreatedPage {
    pub nav: Option<Nav>,
    pub name: String,
    pub client_id: String,
    pub secret: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/admin_client_delete.html")]
pub struct ClientDeletePage {
    pub nav: Option<Nav>,
    pub name: String,
    pub client_id: String,
    pub csrf: String,
}

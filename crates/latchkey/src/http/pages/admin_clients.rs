//! The OAuth Clients tab of a signed-in admin (seed 004): list, New OAuth
//! Client (then its Client ID and Secret, once), Edit and Update, Destroy
//! after a confirmation step. Anyone else finds nothing here.

use super::form::PageForm;
use super::templates::{
    ClientCreatedPage, ClientDeletePage, ClientFormPage, ClientRow, ClientsPage,
};
use super::{path_id, render, PageError, Session};
use crate::domain::{OAuthClient, RedirectUri, Scope, ScopeSet};
use crate::http::AppState;
use crate::service::oauth::ClientInput;
use crate::service::ServiceError;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};

const CSRF: &str = "admin-clients";

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, PageError> {
    let session = Session::require_admin(&state, &headers, &uri).await?;
    let clients = state.services.oauth.clients.list(&session.caller).await?;
    let clients = clients
        .into_iter()
        .map(|c| ClientRow {
            id: c.client_id.to_string(),
            name: c.name,
            public: c.public,
            redirect_uris: c.redirect_uris.iter().map(|r| r.to_string()).collect(),
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &ClientsPage {
            nav: Some(session.nav(&state)),
            clients,
        },
    ))
}

fn form_page(
    state: &AppState,
    session: &Session,
    existing: Option<&OAuthClient>,
    values: (&str, &str, bool, ScopeSet),
    problems: Vec<String>,
) -> ClientFormPage {
    let (name, redirect_uris, public, scopes) = values;
    ClientFormPage {
        nav: Some(session.nav(state)),
        heading: match existing {
            Some(c) => format!("Edit {}", c.name),
            None => "New OAuth Client".to_owned(),
        },
        action: match existing {
            Some(c) => format!("/admin/oauth/clients/{}", c.client_id),
            None => "/admin/oauth/clients".to_owned(),
        },
        submit: if existing.is_some() {
            "Update"
        } else {
            "Create"
        },
        creating: existing.is_none(),
        csrf: session.csrf(state, CSRF),
        name: name.to_owned(),
        redirect_uris: redirect_uris.to_owned(),
        public,
        scopes: Scope::ALL
            .iter()
            .map(|s| (s.as_str(), s.description(), scopes.contains(*s)))
            .collect(),
        problems,
    }
}

pub async fn new_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, PageError> {
    let session = Session::require_admin(&state, &headers, &uri).await?;
    let page = form_page(
        &state,
        &session,
        None,
        ("", "", false, ScopeSet::all()),
        vec![],
    );
    Ok(render(StatusCode::OK, &page))
}

/// The form's fields, and what is wrong with them.
struct Posted {
    name: String,
    redirect_text: String,
    redirect_uris: Vec<RedirectUri>,
    public: bool,
    scopes: ScopeSet,
    problems: Vec<String>,
}

fn read(form: &PageForm) -> Posted {
    let mut problems = Vec::new();
    let redirect_text = form.get("redirect_uris").unwrap_or_default().to_owned();
    let redirect_uris = redirect_text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter_map(|line| match RedirectUri::parse(line) {
            Ok(uri) => Some(uri),
            Err(problem) => {
                problems.push(problem);
                None
            }
        })
        .collect();
    let scopes: ScopeSet = form.all("scope").filter_map(Scope::parse).collect();
    if scopes.is_empty() {
        problems.push("choose at least one scope".to_owned());
    }
    Posted {
        name: form.get("name").unwrap_or_default().to_owned(),
        redirect_text,
        redirect_uris,
        public: form.get("public") == Some("yes"),
        scopes,
        problems,
    }
}

impl Posted {
    /// The form again, as posted, with what is wrong; `editing` is the
    /// client being changed (whose public flag cannot change).
    fn again(
        &self,
        state: &AppState,
        session: &Session,
        editing: Option<&OAuthClient>,
        problems: Vec<String>,
    ) -> Response {
        let public = editing.map_or(self.public, |c| c.public);
        let values = (
            self.name.as_str(),
            self.redirect_text.as_str(),
            public,
            self.scopes,
        );
        render(
            StatusCode::BAD_REQUEST,
            &form_page(state, session, editing, values, problems),
        )
    }

    /// What the service gets. The form has no fields for grant types or
    /// the resource-server flag: a new client gets the defaults, an edited
    /// one keeps its own.
    fn input(&self, editing: Option<&OAuthClient>) -> ClientInput {
        ClientInput {
            name: self.name.clone(),
            redirect_uris: self.redirect_uris.clone(),
            public: editing.map_or(self.public, |c| c.public),
            scopes: Some(self.scopes),
            grant_types: editing.map(|c| c.grant_types),
            resource_server: editing.is_some_and(|c| c.resource_server),
        }
    }
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    form: PageForm,
) -> Result<Response, PageError> {
    let session = Session::require_admin(&state, &headers, &uri).await?;
    session.check_csrf(&state, CSRF, form.get("csrf"))?;
    let posted = read(&form);
    if !posted.problems.is_empty() {
        return Ok(posted.again(&state, &session, None, posted.problems.clone()));
    }
    match state
        .services
        .oauth
        .clients
        .create(&session.caller, posted.input(None))
        .await
    {
        Ok(created) => Ok(render(
            StatusCode::OK,
            &ClientCreatedPage {
                nav: Some(session.nav(&state)),
                name: created.client.name,
                client_id: created.client.client_id.to_string(),
                secret: created.secret.map(|s| s.expose().to_owned()),
            },
        )),
        Err(ServiceError::Invalid(problems)) => Ok(posted.again(&state, &session, None, problems)),
        Err(err) => Err(err.into()),
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let session = Session::require_admin(&state, &headers, &uri).await?;
    let client = state
        .services
        .oauth
        .clients
        .get(&session.caller, path_id(&id)?)
        .await?;
    let uris = client
        .redirect_uris
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let values = (
        client.name.as_str(),
        uris.as_str(),
        client.public,
        client.scopes,
    );
    let page = form_page(&state, &session, Some(&client), values, vec![]);
    Ok(render(StatusCode::OK, &page))
}

pub async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    form: PageForm,
) -> Result<Response, PageError> {
    let session = Session::require_admin(&state, &headers, &uri).await?;
    session.check_csrf(&state, CSRF, form.get("csrf"))?;
    let clients = &state.services.oauth.clients;
    let current = clients.get(&session.caller, path_id(&id)?).await?;
    let posted = read(&form);
    if !posted.problems.is_empty() {
        return Ok(posted.again(&state, &session, Some(&current), posted.problems.clone()));
    }
    match clients
        .update(
            &session.caller,
            current.client_id,
            posted.input(Some(&current)),
        )
        .await
    {
        Ok(_) => Ok(Redirect::to("/admin/oauth/clients").into_response()),
        Err(ServiceError::Invalid(problems)) => {
            Ok(posted.again(&state, &session, Some(&current), problems))
        }
        Err(err) => Err(err.into()),
    }
}

pub async fn confirm_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let session = Session::require_admin(&state, &headers, &uri).await?;
    let client = state
        .services
        .oauth
        .clients
        .get(&session.caller, path_id(&id)?)
        .await?;
    Ok(render(
        StatusCode::OK,
        &ClientDeletePage {
            nav: Some(session.nav(&state)),
            name: client.name,
            client_id: client.client_id.to_string(),
            csrf: session.csrf(&state, CSRF),
        },
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    form: PageForm,
) -> Result<Response, PageError> {
    let session = Session::require_admin(&state, &headers, &uri).await?;
    session.check_csrf(&state, CSRF, form.get("csrf"))?;
    state
        .services
        .oauth
        .clients
        .delete(&session.caller, path_id(&id)?)
        .await?;
    Ok(Redirect::to("/admin/oauth/clients").into_response())
}

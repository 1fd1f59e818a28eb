//! A form posted by a browser, as pairs: checkboxes repeat their name, and
//! a rejected body is an error page, never a framework default.

use super::PageError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};

pub struct PageForm(Vec<(String, String)>);

impl PageForm {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> FromRequest<S> for PageForm {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, PageError> {
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| PageError::bad_request("The form could not be read."))?;
        Ok(Self(
            url::form_urlencoded::parse(&body)
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

/// One parameter of a query string, if present (the first, if repeated).
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

//! The OpenAPI document and a server-rendered page that reads it. The page
//! needs no JavaScript and no assets from elsewhere, so it works offline.

use askama::Template;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;

/// The rendered document and page, built once at start-up.
pub struct Docs {
    json: String,
    html: String,
}

impl Docs {
    pub fn new(api: &utoipa::openapi::OpenApi) -> Self {
        let value = serde_json::to_value(api).unwrap_or_default();
        let page = DocsPage::from_openapi(&value);
        Self {
            json: serde_json::to_string_pretty(&value).unwrap_or_default(),
            html: page
                .render()
                .unwrap_or_else(|e| format!("<p>documentation failed to render: {e}</p>")),
        }
    }

    pub fn json_response(&self) -> Response {
        (
            [(header::CONTENT_TYPE, "application/json")],
            self.json.clone(),
        )
            .into_response()
    }

    pub fn html_response(&self) -> Response {
        Html(self.html.clone()).into_response()
    }
}

#[derive(Template)]
#[template(path = "docs.html")]
struct DocsPage {
    title: String,
    version: String,
    operations: Vec<Operation>,
    schemas: Vec<(String, String)>,
}

struct Operation {
    method: String,
    path: String,
    summary: String,
    protected: bool,
    parameters: Vec<String>,
    request: Option<String>,
    responses: Vec<(String, String)>,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// `#/components/schemas/Token` → `Token`; inline schemas are summarised.
fn schema_name(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_owned();
    }
    if schema.get("type").and_then(Value::as_str) == Some("array") {
        return format!("[{}]", schema_name(&schema["items"]));
    }
    schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("object")
        .to_owned()
}

fn json_schema_of(content: &Value) -> Option<String> {
    content
        .get("content")?
        .get("application/json")?
        .get("schema")
        .map(schema_name)
}

impl DocsPage {
    fn from_openapi(api: &Value) -> Self {
        let mut operations = Vec::new();
        if let Some(paths) = api["paths"].as_object() {
            for (path, item) in paths {
                for method in ["get", "post", "put", "delete", "patch"] {
                    let Some(op) = item.get(method) else { continue };
                    operations.push(Operation {
                        method: method.to_uppercase(),
                        path: path.clone(),
                        summary: text(op.get("summary").unwrap_or(&Value::Null)),
                        protected: op["security"].as_array().is_some_and(|alternatives| {
                            alternatives
                                .iter()
                                .any(|a| a.as_object().is_some_and(|o| !o.is_empty()))
                        }),
                        parameters: op["parameters"]
                            .as_array()
                            .map(|ps| {
                                ps.iter()
                                    .map(|p| format!("{} ({})", text(&p["name"]), text(&p["in"])))
                                    .collect()
                            })
                            .unwrap_or_default(),
                        request: op.get("requestBody").and_then(json_schema_of),
                        responses: op["responses"]
                            .as_object()
                            .map(|rs| {
                                rs.iter()
                                    .map(|(status, r)| {
                                        (status.clone(), json_schema_of(r).unwrap_or_default())
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    });
                }
            }
        }
        let schemas = api["components"]["schemas"]
            .as_object()
            .map(|s| {
                s.iter()
                    .map(|(name, schema)| {
                        (
                            name.clone(),
                            serde_json::to_string_pretty(schema).unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            title: text(&api["info"]["title"]),
            version: text(&api["info"]["version"]),
            operations,
            schemas,
        }
    }
}

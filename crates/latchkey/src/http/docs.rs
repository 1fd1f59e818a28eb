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
        let mut value = serde_json::to_value(api).unwrap_or_default();
        add_edge_responses(&mut value);
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

/// What the edge may answer for any operation, whatever its handler
/// declares: a request slower than the timeout (408), a body over the limit
/// (413, where there is a body), the database unreachable (503), and a fault
/// (500). Added here once instead of on every handler.
fn add_edge_responses(api: &mut Value) {
    let error = |description: &str| {
        serde_json::json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        })
    };
    let Some(paths) = api.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for operation in item.values_mut().filter_map(Value::as_object_mut) {
            let has_body = operation.contains_key("requestBody");
            let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            let mut add = |status: &str, description: &str| {
                responses
                    .entry(status)
                    .or_insert_with(|| error(description));
            };
            add("408", "The request took longer than the server allows");
            if has_body {
                add("413", "The request body is over 64 KiB");
            }
            add("500", "Internal error");
            add("503", "The database is unreachable; retry later");
        }
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

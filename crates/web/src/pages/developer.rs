//! For the people who connect other systems (F32): one's API tokens (made, shown once, revoked)
//! and the API documentation, rendered from the same OpenAPI document as
//! `/api/v1/openapi.json`.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use reqloop_store::{ApiToken, NewToken, TokenScope};
use serde_json::Value;

use super::{error_page, field_messages, render, Chrome, FormData};
use crate::auth::PageUser;
use crate::AppState;

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    c: Chrome,
    tokens: Vec<ApiToken>,
    /// A token just made: shown this once.
    fresh: Option<String>,
    errors: std::collections::HashMap<String, String>,
    name: String,
}

impl TokensPage {
    fn err(&self, f: &str) -> String {
        self.errors.get(f).cloned().unwrap_or_default()
    }
    fn day(&self, s: &str) -> String {
        s.get(..10).unwrap_or(s).to_string()
    }
}

async fn tokens_view(
    s: &AppState,
    u: &PageUser,
    fresh: Option<String>,
    errors: std::collections::HashMap<String, String>,
    name: String,
    status: StatusCode,
) -> Response {
    let tokens = match s.store.api_tokens(&u.actor).await {
        Ok(t) => t,
        Err(e) => return error_page(u, e.into()),
    };
    let p = TokensPage {
        c: Chrome::new(u, "", u.t.t("token.title").to_string()),
        tokens,
        fresh,
        errors,
        name,
    };
    (status, render(&p)).into_response()
}

/// `/tokens`
pub async fn tokens(State(s): State<AppState>, u: PageUser) -> Response {
    tokens_view(
        &s,
        &u,
        None,
        Default::default(),
        String::new(),
        StatusCode::OK,
    )
    .await
}

/// `POST /tokens`: makes one and shows it once.
pub async fn create_token(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    let t = NewToken {
        name: form.get("name"),
        scope: TokenScope::parse(&form.get("scope")).unwrap_or(TokenScope::Read),
        expires_in_days: form.get("expires_in_days").trim().parse().unwrap_or(0),
    };
    match s.store.create_api_token(&u.actor, t, s.clock.now()).await {
        Ok(c) => {
            tokens_view(
                &s,
                &u,
                Some(c.token),
                Default::default(),
                String::new(),
                StatusCode::CREATED,
            )
            .await
        }
        Err(reqloop_store::Error::Invalid(e)) => {
            let errors = field_messages(&u.t, &e);
            tokens_view(
                &s,
                &u,
                None,
                errors,
                form.get("name"),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => error_page(&u, e.into()),
    }
}

/// `POST /tokens/{id}/revoke`
pub async fn revoke_token(State(s): State<AppState>, u: PageUser, Path(id): Path<i64>) -> Response {
    match s.store.revoke_api_token(&u.actor, id, s.clock.now()).await {
        Ok(_) => Redirect::to("/tokens").into_response(),
        Err(e) => error_page(&u, e.into()),
    }
}

/// One operation of the API for the page.
struct Operation {
    method: String,
    path: String,
    summary: String,
    description: String,
    /// (name, where, required, description)
    params: Vec<(String, String, bool, String)>,
    request: String,
    /// (status, description, example)
    responses: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct ApiDocsPage {
    c: Chrome,
    title: String,
    version: String,
    /// Operations by tag.
    groups: Vec<(String, Vec<Operation>)>,
    count: usize,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or("").to_string()
}

fn example(content: &Value) -> String {
    content
        .as_object()
        .and_then(|m| m.values().next())
        .and_then(|c| c.get("example"))
        .map(|e| serde_json::to_string_pretty(e).unwrap_or_default())
        .unwrap_or_default()
}

/// `/api-docs`: every route of `/api/v1` with its parameters and examples.
pub async fn api_docs(u: PageUser) -> Response {
    let doc = match serde_json::to_value(crate::api::openapi_document()) {
        Ok(d) => d,
        Err(e) => {
            return error_page(
                &u,
                crate::error::AppError::from(reqloop_store::Error::Other(e.to_string())),
            )
        }
    };
    let mut groups: BTreeMap<String, Vec<Operation>> = BTreeMap::new();
    let mut count = 0;
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for method in ["get", "post", "put", "patch", "delete"] {
                let Some(op) = item.get(method) else { continue };
                let params = op["parameters"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .map(|p| {
                                (
                                    text(&p["name"]),
                                    text(&p["in"]),
                                    p["required"].as_bool().unwrap_or(false),
                                    text(&p["description"]),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let responses = op["responses"]
                    .as_object()
                    .map(|rs| {
                        rs.iter()
                            .map(|(code, r)| {
                                (
                                    code.clone(),
                                    text(&r["description"]),
                                    example(&r["content"]),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let tag = op["tags"][0].as_str().unwrap_or("other").to_string();
                count += 1;
                groups.entry(tag).or_default().push(Operation {
                    method: method.to_uppercase(),
                    path: path.clone(),
                    summary: text(&op["summary"]),
                    description: text(&op["description"]),
                    params,
                    request: example(&op["requestBody"]["content"]),
                    responses,
                });
            }
        }
    }
    let p = ApiDocsPage {
        c: Chrome::new(&u, "", u.t.t("apidoc.title").to_string()),
        title: text(&doc["info"]["title"]),
        version: text(&doc["info"]["version"]),
        groups: groups.into_iter().collect(),
        count,
    };
    render(&p)
}

//! The search page (F30): the search box of every page's top bar leads here; hits of every kind
//! the reader may see, most relevant first, the matched words in bold.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use reqloop_domain::search::{self as text, Kind};
use reqloop_store::{Hit, SearchQuery, SearchResult};

use super::{choices, render, report_or_notice, Chrome, Opt, Pager};
use crate::auth::PageUser;
use crate::AppState;

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    c: Chrome,
    q: String,
    notice: String,
    kinds: Vec<Opt>,
    r: Option<SearchResult>,
    pager: Pager,
}

impl SearchPage {
    /// The text cut into (piece, matched) for bolding.
    fn marked(&self, s: &str) -> Vec<(String, bool)> {
        match text::parse(&self.q) {
            Ok(q) => text::highlight(s, &q),
            Err(_) => vec![(s.to_string(), false)],
        }
    }
    fn link(&self, h: &Hit) -> String {
        let base = match h.kind {
            Kind::Customer => "/customers",
            Kind::Requirement => "/requirements",
            Kind::Complaint => "/complaints",
            Kind::Contract => "/contracts",
        };
        format!("{base}/{}", h.id)
    }
    fn status(&self, h: &Hit) -> String {
        let set = match h.kind {
            Kind::Customer => "grade",
            Kind::Requirement => "stage",
            Kind::Complaint => "kstate",
            Kind::Contract => "kind_contract",
        };
        self.c.t.label(set, &h.status)
    }
}

/// `/search?q=&kind=&page=`
pub async fn page(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let text = q.get("q").cloned().unwrap_or_default();
    let kind = q.get("kind").and_then(|k| Kind::parse(k));
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let query = SearchQuery {
        q: Some(text.clone()),
        kind,
        page: Some(page),
        per_page: Some(20),
    };
    // An empty box is an empty page, not an error.
    let (r, notice, status) = if text.trim().is_empty() {
        (None, String::new(), axum::http::StatusCode::OK)
    } else {
        match report_or_notice(&u, s.store.search(&u.actor, &query).await) {
            Ok(v) => v,
            Err(page) => return *page,
        }
    };
    let t = u.t;
    let keep: Vec<(String, String)> = q.into_iter().collect();
    let total = r.as_ref().map_or(0, |r| r.total);
    let p = SearchPage {
        c: Chrome::new(&u, "", t.t("search.title").to_string()),
        q: text,
        notice,
        kinds: choices(&Kind::ALL, Kind::as_str, &t, "search_kind", kind),
        r,
        pager: Pager::new(page, 20, total, "/search", &keep),
    };
    (status, render(&p)).into_response()
}

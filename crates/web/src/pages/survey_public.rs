//! The public survey link `/s/{token}` (F20): the customer answers without signing in, on a
//! phone too; the link works once. A used or unknown link gets a friendly page (404).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use reqloop_domain::access::Action;
use reqloop_domain::survey::{Response as Filled, Score};
use reqloop_store::OpenInvitation;

use super::{field_messages, render, FormData};
use crate::auth::{self, Session};
use crate::i18n::Tr;
use crate::AppState;

#[derive(Template)]
#[template(path = "survey_public.html")]
struct SurveyPage {
    t: Tr,
    csrf: String,
    token: String,
    /// `None`: the link is unknown, used or closed; `Some` with `done`: thanks.
    open: Option<OpenInvitation>,
    done: bool,
    error: String,
    /// The scores given so far (kept when the form comes back): (question, score).
    given: Vec<(String, i64)>,
}

impl SurveyPage {
    fn checked(&self, question: &str, score: &i64) -> bool {
        self.given.iter().any(|(q, s)| q == question && s == score)
    }
}

fn csrf_of(s: &AppState, headers: &HeaderMap, session: &Session) -> (String, Option<String>) {
    match &session.0 {
        Some(info) => (info.csrf.clone(), None),
        None => {
            let token = auth::cookie(headers, auth::PRE_COOKIE)
                .map(str::to_owned)
                .unwrap_or_else(reqloop_store::random_token);
            let cookie = auth::set_cookie(s, auth::PRE_COOKIE, &token, 3600);
            (token, Some(cookie))
        }
    }
}

fn respond(status: StatusCode, cookie: Option<String>, page: &SurveyPage) -> Response {
    match cookie {
        Some(c) => (status, [(header::SET_COOKIE, c)], render(page)).into_response(),
        None => (status, render(page)).into_response(),
    }
}

pub async fn show(
    State(s): State<AppState>,
    headers: HeaderMap,
    Extension(session): Extension<Session>,
    Path(token): Path<String>,
) -> Response {
    let t = auth::lang_of(&headers);
    let (csrf, cookie) = csrf_of(&s, &headers, &session);
    let open = s.store.open_invitation(&token).await.ok();
    let status = if open.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let page = SurveyPage {
        t,
        csrf,
        token,
        open,
        done: false,
        error: String::new(),
        given: vec![],
    };
    respond(status, cookie, &page)
}

pub async fn submit(
    State(s): State<AppState>,
    headers: HeaderMap,
    Extension(session): Extension<Session>,
    Path(token): Path<String>,
    form: FormData,
) -> Response {
    let t = auth::lang_of(&headers);
    let (csrf, cookie) = csrf_of(&s, &headers, &session);
    let Ok(open) = s.store.open_invitation(&token).await else {
        let page = SurveyPage {
            t,
            csrf,
            token,
            open: None,
            done: false,
            error: String::new(),
            given: vec![],
        };
        return respond(StatusCode::NOT_FOUND, cookie, &page);
    };
    let given: Vec<(String, i64)> = open
        .questionnaire
        .questions
        .iter()
        .filter_map(|q| {
            form.get(&format!("score_{}", q.code))
                .parse()
                .ok()
                .map(|v| (q.code.clone(), v))
        })
        .collect();
    let filled = Filled {
        scores: given
            .iter()
            .map(|(q, v)| Score {
                question: q.clone(),
                score: *v,
                comment: form.get(&format!("comment_{q}")),
            })
            .collect(),
        comment: form.get("comment"),
    };
    let staff = session
        .0
        .as_ref()
        .map(|s| s.actor.clone())
        .filter(|a| a.require(Action::SurveyManage).is_ok());
    let result = s
        .store
        .answer_invitation(&token, filled, staff.as_ref(), s.clock.now())
        .await;
    let (status, done, error, open) = match result {
        Ok(()) => (StatusCode::OK, true, String::new(), Some(open)),
        Err(reqloop_store::Error::Invalid(e)) => {
            let first = field_messages(&t, &e)
                .into_values()
                .next()
                .unwrap_or_default();
            (StatusCode::BAD_REQUEST, false, first, Some(open))
        }
        Err(_) => (StatusCode::NOT_FOUND, false, String::new(), None),
    };
    let page = SurveyPage {
        t,
        csrf,
        token,
        open,
        done,
        error,
        given,
    };
    respond(status, cookie, &page)
}

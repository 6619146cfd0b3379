//! The customer portal (F17): customers sign in apart from staff, see their own company's
//! complaints and feedback, and submit new ones from a phone with a photo. Staff are sent back
//! to the staff pages.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use reqloop_domain::access::Action;
use reqloop_domain::complaint::{ComplaintChannel, ComplaintKind};
use reqloop_domain::user::Role;
use reqloop_domain::FieldErrors;
use reqloop_store::{Complaint, ComplaintFilter};

use super::requirements::refusal;
use super::{choices, field_messages, filters, render, FormData, Opt};
use crate::auth::PageUser;
use crate::error::AppError;
use crate::i18n::Tr;
use crate::AppState;

#[derive(Template)]
#[template(path = "portal.html")]
struct HomePage {
    t: Tr,
    csrf: String,
    user: String,
    company: String,
    notice: String,
    rows: Vec<Complaint>,
    kinds: Vec<Opt>,
    v: HashMap<String, String>,
    errors: HashMap<String, String>,
}

impl HomePage {
    fn err(&self, f: &str) -> &str {
        self.errors.get(f).map(String::as_str).unwrap_or("")
    }
    fn val(&self, f: &str) -> &str {
        self.v.get(f).map(String::as_str).unwrap_or("")
    }
}

/// Staff have their own pages.
fn staff_elsewhere(u: &PageUser) -> Option<Response> {
    (u.actor.role != Role::Portal).then(|| Redirect::to("/complaints").into_response())
}

async fn home_view(
    s: &AppState,
    u: &PageUser,
    form: &FormData,
    notice: String,
    errors: HashMap<String, String>,
    status: StatusCode,
) -> Response {
    let now = s.clock.now();
    let loaded = async {
        let list = s
            .store
            .list_complaints(
                &u.actor,
                &ComplaintFilter {
                    per_page: Some(50),
                    ..Default::default()
                },
                now,
            )
            .await?;
        let company = match u.actor.customer_id {
            Some(c) => s
                .store
                .customer_names(&u.actor, &[c.0])
                .await?
                .remove(&c.0)
                .unwrap_or_default(),
            None => String::new(),
        };
        Ok::<_, AppError>((list, company))
    }
    .await;
    let (list, company) = match loaded {
        Ok(v) => v,
        Err(e) => return (e.status, e.message).into_response(),
    };
    let page = HomePage {
        t: u.t,
        csrf: u.csrf.clone(),
        user: u.display_name.clone(),
        company,
        notice,
        rows: list.items,
        kinds: choices(
            ComplaintKind::ALL,
            ComplaintKind::as_str,
            &u.t,
            "kkind",
            form.get("kind").parse().ok(),
        ),
        v: ["title", "content", "product"]
            .iter()
            .map(|k| (k.to_string(), form.get(k)))
            .collect(),
        errors,
    };
    (status, render(&page)).into_response()
}

pub async fn home(State(s): State<AppState>, u: PageUser) -> Response {
    if let Some(r) = staff_elsewhere(&u) {
        return r;
    }
    let empty = FormData(vec![]);
    home_view(
        &s,
        &u,
        &empty,
        String::new(),
        HashMap::new(),
        StatusCode::OK,
    )
    .await
}

/// The text fields and the optional photo of a portal submission.
async fn read_submission(
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(FormData, Option<(String, Vec<u8>)>), FieldErrors> {
    let fail = |code| {
        let mut e = FieldErrors::default();
        e.add("file", code);
        e
    };
    let mut multipart = multipart.map_err(|_| fail("file_empty"))?;
    let mut fields = Vec::new();
    let mut file = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|_| fail("file_too_large"))?
    {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("").to_string();
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(|_| fail("file_too_large"))? {
                if bytes.len() + chunk.len() > reqloop_domain::attachment::MAX_BYTES {
                    return Err(fail("file_too_large"));
                }
                bytes.extend_from_slice(&chunk);
            }
            if !file_name.is_empty() || !bytes.is_empty() {
                file = Some((file_name, bytes));
            }
        } else if fields.len() < 20 {
            let text = field.text().await.map_err(|_| fail("file_too_large"))?;
            fields.push((name, text));
        }
    }
    Ok((FormData(fields), file))
}

/// A complaint or feedback from the portal, with an optional photo or video: the file is
/// checked before anything is written.
pub async fn submit(
    State(s): State<AppState>,
    u: PageUser,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    if let Some(r) = staff_elsewhere(&u) {
        return r;
    }
    if let Err(e) = u.actor.require(Action::ComplaintRegister) {
        return super::error_page(&u, e.into());
    }
    let (form, file) = match read_submission(multipart).await {
        Ok(v) => v,
        Err(e) => {
            let errors = field_messages(&u.t, &e);
            let notice = u.t.t("form.fix_errors").to_string();
            let empty = FormData(vec![]);
            return home_view(&s, &u, &empty, notice, errors, StatusCode::BAD_REQUEST).await;
        }
    };
    let mut with_channel = form.0.clone();
    with_channel.push(("channel".into(), ComplaintChannel::Portal.as_str().into()));
    let fields = super::complaints::fields_of(&FormData(with_channel));
    let checked = match (&fields, &file) {
        (Ok(_), Some((name, bytes))) => {
            reqloop_domain::attachment::check_evidence(name, bytes).map(|_| ())
        }
        (Ok(_), None) => Ok(()),
        (Err(e), _) => Err(e.clone()),
    };
    let result = match (fields, checked) {
        (Ok(f), Ok(())) => match s.store.register_complaint(&u.actor, f, s.clock.now()).await {
            Ok(k) => {
                if let Some((name, bytes)) = file {
                    s.store
                        .add_complaint_file(&u.actor, k.id, &name, bytes, s.clock.now())
                        .await
                        .map(|_| k)
                } else {
                    Ok(k)
                }
            }
            Err(e) => Err(e),
        },
        (Err(e), _) | (_, Err(e)) => Err(reqloop_store::Error::Invalid(e)),
    };
    let (status, notice, errors) = match result {
        Ok(k) => return Redirect::to(&format!("/portal/complaints/{}", k.id)).into_response(),
        Err(reqloop_store::Error::Invalid(errors)) => (
            StatusCode::BAD_REQUEST,
            u.t.t("form.fix_errors").to_string(),
            field_messages(&u.t, &errors),
        ),
        Err(e) => {
            let e = AppError::from(e);
            (e.status, refusal(&u.t, &e), HashMap::new())
        }
    };
    home_view(&s, &u, &form, notice, errors, status).await
}

#[derive(Template)]
#[template(path = "portal_complaint.html")]
struct CasePage {
    t: Tr,
    csrf: String,
    user: String,
    notice: String,
    k: Complaint,
}

async fn case_view(
    s: &AppState,
    u: &PageUser,
    id: i64,
    notice: String,
    status: StatusCode,
) -> Response {
    let k = match s.store.get_complaint(&u.actor, id, s.clock.now()).await {
        Ok(k) => k,
        Err(e) => {
            let e = AppError::from(e);
            return (e.status, render(&NotFound { t: u.t })).into_response();
        }
    };
    let page = CasePage {
        t: u.t,
        csrf: u.csrf.clone(),
        user: u.display_name.clone(),
        notice,
        k,
    };
    (status, render(&page)).into_response()
}

#[derive(Template)]
#[template(path = "portal_missing.html")]
struct NotFound {
    t: Tr,
}

pub async fn case(State(s): State<AppState>, u: PageUser, Path(id): Path<i64>) -> Response {
    if let Some(r) = staff_elsewhere(&u) {
        return r;
    }
    case_view(&s, &u, id, String::new(), StatusCode::OK).await
}

/// Where a portal upload lands: the case page, with the refusal above it when refused.
pub(crate) async fn land(
    s: &AppState,
    u: &PageUser,
    id: i64,
    result: Result<(), reqloop_store::Error>,
) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/portal/complaints/{id}")).into_response(),
        Err(reqloop_store::Error::Invalid(errors)) => {
            let messages: Vec<String> = field_messages(&u.t, &errors).into_values().collect();
            case_view(s, u, id, messages.join("；"), StatusCode::BAD_REQUEST).await
        }
        Err(e) => {
            let e = AppError::from(e);
            case_view(s, u, id, refusal(&u.t, &e), e.status).await
        }
    }
}

//! Notification pages (F31): the reader's inbox with their choices per event, and for
//! administrators the mail server, the webhooks and the delivery log.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use reqloop_domain::notify::{Event, Format};
use reqloop_store::{
    Delivery, DeliveryFilter, MarkRead, Notification, NotificationFilter, Pref, SmtpSettings,
    Webhook, WebhookFields,
};

use super::{error_page, field_messages, render, Chrome, FormData, Pager};
use crate::auth::PageUser;
use crate::error::AppError;
use crate::AppState;

#[derive(Template)]
#[template(path = "notifications.html")]
struct InboxPage {
    c: Chrome,
    unread_only: bool,
    items: Vec<Notification>,
    pager: Pager,
    prefs: Vec<Pref>,
}

impl InboxPage {
    fn title(&self, n: &Notification) -> String {
        if self.c.t.is_en() {
            n.title_en.clone()
        } else {
            n.title_zh.clone()
        }
    }
}

/// `/notifications?unread=1&page=`
pub async fn inbox(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let unread_only = q.get("unread").is_some_and(|v| v == "1");
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let f = NotificationFilter {
        unread: unread_only,
        page: Some(page),
        per_page: Some(30),
    };
    let list = match s.store.notifications(&u.actor, &f).await {
        Ok(l) => l,
        Err(e) => return error_page(&u, e.into()),
    };
    let prefs = match s.store.notification_prefs(&u.actor).await {
        Ok(p) => p,
        Err(e) => return error_page(&u, e.into()),
    };
    let keep: Vec<(String, String)> = q.into_iter().collect();
    let p = InboxPage {
        c: Chrome::new(&u, "", u.t.t("notify.title").to_string()),
        unread_only,
        pager: Pager::new(page, 30, list.total, "/notifications", &keep),
        items: list.items,
        prefs,
    };
    render(&p)
}

/// `POST /notifications/read`: `id` (one entry, then to its page) or `all`.
pub async fn read(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    let id = form.get("id").parse::<i64>().ok();
    let m = MarkRead {
        ids: id.into_iter().collect(),
        all: id.is_none(),
    };
    if let Err(e) = s
        .store
        .mark_notifications_read(&u.actor, &m, s.clock.now())
        .await
    {
        return error_page(&u, e.into());
    }
    let next = form.get("next");
    // Only paths of this server.
    if next.starts_with('/') && !next.starts_with("//") {
        Redirect::to(&next).into_response()
    } else {
        Redirect::to("/notifications").into_response()
    }
}

/// `POST /notifications/prefs`: a checkbox `in_app.<event>` / `email.<event>` per choice.
pub async fn save_prefs(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    let on = |k: String| !form.get(&k).is_empty();
    let prefs: Vec<Pref> = Event::PERSONAL
        .into_iter()
        .map(|event| Pref {
            event,
            in_app: on(format!("in_app.{}", event.as_str())),
            email: on(format!("email.{}", event.as_str())),
        })
        .collect();
    match s
        .store
        .save_notification_prefs(&u.actor, &prefs, s.clock.now())
        .await
    {
        Ok(_) => Redirect::to("/notifications#prefs").into_response(),
        Err(e) => error_page(&u, e.into()),
    }
}

#[derive(Template)]
#[template(path = "notification_admin.html")]
struct AdminPage {
    c: Chrome,
    notice: String,
    errors: HashMap<String, String>,
    smtp: SmtpSettings,
    hooks: Vec<Webhook>,
    /// The webhook form as typed when it was refused.
    draft: Option<(String, String, String, Vec<String>)>,
    deliveries: Vec<Delivery>,
    status: String,
    pager: Pager,
}

impl AdminPage {
    fn err(&self, field: &str) -> String {
        self.errors.get(field).cloned().unwrap_or_default()
    }
    fn formats(&self) -> [Format; 3] {
        Format::ALL
    }
    fn events(&self) -> [Event; 10] {
        Event::ALL
    }
    fn draft_has(&self, e: &Event) -> bool {
        self.draft
            .as_ref()
            .is_some_and(|d| d.3.iter().any(|x| x == e.as_str()))
    }
    fn draft_field(&self, i: usize) -> String {
        self.draft
            .as_ref()
            .map(|d| match i {
                0 => d.0.clone(),
                1 => d.1.clone(),
                _ => d.2.clone(),
            })
            .unwrap_or_default()
    }
    fn event_names(&self, h: &Webhook) -> String {
        h.events
            .iter()
            .map(|e| self.c.t.label("event", e.as_str()))
            .collect::<Vec<_>>()
            .join("、")
    }
}

struct Shown {
    notice: String,
    errors: HashMap<String, String>,
    smtp: Option<SmtpSettings>,
    draft: Option<(String, String, String, Vec<String>)>,
    status: StatusCode,
}

async fn admin_view(
    s: &AppState,
    u: &PageUser,
    q: &HashMap<String, String>,
    shown: Shown,
) -> Response {
    let smtp = match shown.smtp {
        Some(v) => Ok(v),
        None => s.store.smtp_settings(&u.actor).await,
    };
    let smtp = match smtp {
        Ok(v) => v,
        Err(e) => return error_page(u, e.into()),
    };
    let hooks = match s.store.list_webhooks(&u.actor).await {
        Ok(h) => h,
        Err(e) => return error_page(u, e.into()),
    };
    let status = q.get("status").cloned().unwrap_or_default();
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let f = DeliveryFilter {
        status: (!status.is_empty()).then(|| status.clone()),
        channel: None,
        page: Some(page),
        per_page: Some(30),
    };
    let log = match s.store.list_deliveries(&u.actor, &f).await {
        Ok(l) => l,
        Err(e) => return error_page(u, e.into()),
    };
    let keep: Vec<(String, String)> = q.clone().into_iter().collect();
    let p = AdminPage {
        c: Chrome::new(u, "", u.t.t("notify.admin").to_string()),
        notice: shown.notice,
        errors: shown.errors,
        smtp,
        hooks,
        draft: shown.draft,
        pager: Pager::new(page, 30, log.total, "/admin/notifications", &keep),
        deliveries: log.items,
        status,
    };
    (shown.status, render(&p)).into_response()
}

fn refused(u: &PageUser, e: reqloop_store::Error) -> (String, HashMap<String, String>, StatusCode) {
    match e {
        reqloop_store::Error::Invalid(f) => (
            u.t.t("form.fix_errors").to_string(),
            field_messages(&u.t, &f),
            StatusCode::BAD_REQUEST,
        ),
        e => {
            let e = AppError::from(e);
            (
                super::requirements::refusal(&u.t, &e),
                HashMap::new(),
                e.status,
            )
        }
    }
}

/// `/admin/notifications?status=&page=`
pub async fn admin(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    admin_view(
        &s,
        &u,
        &q,
        Shown {
            notice: String::new(),
            errors: HashMap::new(),
            smtp: None,
            draft: None,
            status: StatusCode::OK,
        },
    )
    .await
}

/// `POST /admin/notifications/smtp`
pub async fn save_smtp(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    let v = SmtpSettings {
        host: form.get("host"),
        port: form.get("port").trim().parse().unwrap_or(0),
        security: form.get("security"),
        from: form.get("from"),
        username: form.get("username"),
        password: form.get("password"),
        base_url: form.get("base_url"),
    };
    match s
        .store
        .save_smtp_settings(&u.actor, v.clone(), s.clock.now())
        .await
    {
        Ok(_) => Redirect::to("/admin/notifications#smtp").into_response(),
        Err(e) => {
            let (notice, errors, status) = refused(&u, e);
            let mut v = v;
            v.password.clear();
            let shown = Shown {
                notice,
                errors,
                smtp: Some(v),
                draft: None,
                status,
            };
            admin_view(&s, &u, &HashMap::new(), shown).await
        }
    }
}

/// `POST /admin/webhooks`: adds one.
pub async fn create_webhook(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    save_webhook(s, u, None, form).await
}

/// `POST /admin/webhooks/{id}`: switches one on or off.
pub async fn toggle_webhook(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    save_webhook(s, u, Some(id), form).await
}

async fn save_webhook(s: AppState, u: PageUser, id: Option<i64>, form: FormData) -> Response {
    let now = s.clock.now();
    let result = match id {
        Some(id) => {
            let hooks = match s.store.list_webhooks(&u.actor).await {
                Ok(h) => h,
                Err(e) => return error_page(&u, e.into()),
            };
            let Some(h) = hooks.into_iter().find(|h| h.id == id) else {
                return error_page(&u, reqloop_store::Error::NotFound.into());
            };
            let f = WebhookFields {
                name: h.name,
                format: h.format,
                url: h.url,
                secret: String::new(),
                events: h.events,
                active: form.get("active") == "1",
                version: form.get("version").parse().ok(),
            };
            s.store.save_webhook(&u.actor, Some(id), f, now).await
        }
        None => {
            let events: Vec<Event> = form
                .all("events")
                .iter()
                .filter_map(|e| Event::parse(e))
                .collect();
            let f = WebhookFields {
                name: form.get("name"),
                format: Format::parse(&form.get("format")).unwrap_or(Format::Generic),
                url: form.get("url"),
                secret: form.get("secret"),
                events,
                active: true,
                version: None,
            };
            s.store.save_webhook(&u.actor, None, f, now).await
        }
    };
    match result {
        Ok(_) => Redirect::to("/admin/notifications#webhooks").into_response(),
        Err(e) => {
            let (notice, errors, status) = refused(&u, e);
            let shown = Shown {
                notice,
                errors,
                smtp: None,
                draft: Some((
                    form.get("name"),
                    form.get("format"),
                    form.get("url"),
                    form.all("events"),
                )),
                status,
            };
            admin_view(&s, &u, &HashMap::new(), shown).await
        }
    }
}

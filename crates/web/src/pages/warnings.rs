//! Early warnings (F24): the dashboard by customer tier and level, the list with its filters, a
//! warning's page with its next step, and the rules page (warning thresholds and the F22
//! response-time rules).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use reqloop_domain::access::Action;
use reqloop_domain::customer::Tier;
use reqloop_domain::sla::{Allowance, SlaRules, SlaUnit};
use reqloop_domain::warning::{Level, RuleFields, Subject, WarningState, WarningStep};
use reqloop_store::{
    RuleUpdate, TierLevels, Warning, WarningFilter, WarningRule, WarningStepRequest,
};

use super::requirements::refusal;
use super::{
    choices, error_page, field_messages, filters, may, render, Chrome, FormData, Opt, Pager,
};
use crate::auth::PageUser;
use crate::error::AppError;
use crate::export::{self, ListFormat};
use crate::AppState;

#[derive(Template)]
#[template(path = "warnings.html")]
struct ListPage {
    c: Chrome,
    notice: String,
    dashboard: Vec<TierLevels>,
    rows: Vec<Warning>,
    pager: Pager,
    levels: Vec<Opt>,
    states: Vec<Opt>,
    tiers: Vec<Opt>,
    subjects: Vec<Opt>,
    open_only: bool,
    can_manage: bool,
}

fn parse<T: std::str::FromStr>(q: &HashMap<String, String>, k: &str) -> Option<T> {
    q.get(k).and_then(|v| v.parse().ok())
}

/// The dashboard and the list; `?level=&state=&tier=&subject=&open=1`.
pub async fn list(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    list_view(&s, &u, &q, String::new(), StatusCode::OK).await
}

/// The warnings as they are filtered, page after page.
async fn export_list(
    s: AppState,
    u: &PageUser,
    filter: WarningFilter,
    format: ListFormat,
) -> Response {
    let t = u.t;
    let headers = export::headers(
        t,
        &[
            "warning.level",
            "warning.rule",
            "warning.subject",
            "req.customer",
            "warning.value",
            "warning.state",
            "warning.assignee",
            "warning.raised_at",
        ],
    );
    let actor = u.actor.clone();
    export::paged(format, "warnings", headers, move |page| {
        let (s, actor, mut filter) = (s.clone(), actor.clone(), filter.clone());
        async move {
            filter.page = Some(page);
            filter.per_page = Some(export::MAX_PAGE);
            let list = s.store.list_warnings(&actor, &filter).await?;
            let rows = list
                .items
                .into_iter()
                .map(|w| {
                    vec![
                        t.label("level", &w.level),
                        w.rule_name,
                        format!("{} {}", t.label("wsubject", &w.subject), w.subject_label),
                        w.customer_name,
                        w.value.to_string(),
                        t.label("wstate", &w.state),
                        w.assignee_name.unwrap_or_default(),
                        reqloop_domain::time::display_local(&w.raised_at),
                    ]
                })
                .collect();
            Ok((rows, export::next_page(page, list.total)))
        }
    })
    .await
}

async fn list_view(
    s: &AppState,
    u: &PageUser,
    q: &HashMap<String, String>,
    notice: String,
    status: StatusCode,
) -> Response {
    let page = parse(q, "page").unwrap_or(1);
    let open_only = q.get("open").is_none_or(|v| v == "1");
    let f = WarningFilter {
        level: parse(q, "level"),
        state: parse(q, "state"),
        tier: parse(q, "tier"),
        subject: parse(q, "subject"),
        customer_id: parse(q, "customer_id"),
        open: open_only.then_some(true),
        page: Some(page),
        per_page: Some(20),
        ..Default::default()
    };
    if let Some(format) = ListFormat::in_map(q) {
        return export_list(s.clone(), u, f, format).await;
    }
    let loaded = async {
        let list = s.store.list_warnings(&u.actor, &f).await?;
        let dashboard = s.store.warning_dashboard(&u.actor).await?;
        Ok::<_, AppError>((list, dashboard))
    }
    .await;
    let (list, dashboard) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let t = u.t;
    let keep: Vec<(String, String)> = ["level", "state", "tier", "subject", "customer_id", "open"]
        .iter()
        .filter_map(|k| q.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect();
    let page = ListPage {
        c: Chrome::new(u, "warnings", t.t("nav.warnings").to_string()),
        notice,
        dashboard,
        pager: Pager::new(page, 20, list.total, "/warnings", &keep).exportable(),
        rows: list.items,
        levels: choices(Level::ALL, Level::as_str, &t, "level", f.level),
        states: choices(
            WarningState::ALL,
            WarningState::as_str,
            &t,
            "wstate",
            f.state,
        ),
        tiers: choices(Tier::ALL, Tier::as_str, &t, "tier", f.tier),
        subjects: choices(Subject::ALL, Subject::as_str, &t, "wsubject", f.subject),
        open_only,
        can_manage: may(&u.actor, Action::WarningManage),
    };
    (status, render(&page)).into_response()
}

/// Runs the breach and warning passes now (managers), then shows the dashboard.
pub async fn run(State(s): State<AppState>, u: PageUser, _form: FormData) -> Response {
    if let Err(e) = u.actor.require(Action::WarningManage) {
        return error_page(&u, e.into());
    }
    let now = s.clock.now();
    let r = async {
        s.store.record_breaches(now).await?;
        s.store.raise_warnings(now).await
    }
    .await;
    match r {
        Ok(p) => {
            let notice =
                u.t.t("warning.ran")
                    .replace("{raised}", &p.raised.to_string())
                    .replace("{escalated}", &p.escalated.to_string());
            list_view(&s, &u, &HashMap::new(), notice, StatusCode::OK).await
        }
        Err(e) => error_page(&u, e.into()),
    }
}

#[derive(Template)]
#[template(path = "warning.html")]
struct DetailPage {
    c: Chrome,
    notice: String,
    w: Warning,
    /// The steps this user may take now.
    steps: Vec<WarningStep>,
    people: Vec<Opt>,
    note: String,
    errors: HashMap<String, String>,
}

impl DetailPage {
    fn err(&self, f: &str) -> &str {
        self.errors.get(f).map(String::as_str).unwrap_or("")
    }
    fn subject_link(&self) -> String {
        match self.w.subject.as_str() {
            "requirement" => format!("/requirements/{}", self.w.subject_id),
            "order" => format!("/orders/{}", self.w.subject_id),
            _ => format!("/customers/{}", self.w.customer_id),
        }
    }
}

async fn detail_view(
    s: &AppState,
    u: &PageUser,
    id: i64,
    notice: String,
    note: String,
    errors: HashMap<String, String>,
    status: StatusCode,
) -> Response {
    let loaded = async {
        let w = s.store.get_warning(&u.actor, id).await?;
        let users = s.store.list_users().await?;
        Ok::<_, AppError>((w, users))
    }
    .await;
    let (w, users) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let manager = may(&u.actor, Action::WarningManage);
    let mine = w.assignee_id == Some(u.actor.user_id.0);
    let resolved_by_me = w.resolved_by.as_deref() == Some(u.actor.username.as_str());
    let steps = match w.state.parse::<WarningState>() {
        Ok(WarningState::Raised) if manager => vec![WarningStep::Assign],
        Ok(WarningState::Assigned) => {
            let mut v = Vec::new();
            if manager || mine {
                v.push(WarningStep::Resolve);
            }
            if manager {
                v.push(WarningStep::Assign);
            }
            v
        }
        Ok(WarningState::Resolved) if manager && !resolved_by_me => {
            vec![WarningStep::Verify, WarningStep::Reopen]
        }
        _ => vec![],
    };
    let page = DetailPage {
        c: Chrome::new(
            u,
            "warnings",
            format!("{} · {}", w.rule_name, w.subject_label),
        ),
        notice,
        steps,
        people: users
            .iter()
            .filter(|x| x.active && x.role != reqloop_domain::user::Role::Portal)
            .map(|x| {
                let sel = w.assignee_id == Some(x.id.0);
                (x.id.0.to_string(), x.display_name.clone(), sel)
            })
            .collect(),
        w,
        note,
        errors,
    };
    (status, render(&page)).into_response()
}

pub async fn detail(State(s): State<AppState>, u: PageUser, Path(id): Path<i64>) -> Response {
    detail_view(
        &s,
        &u,
        id,
        String::new(),
        String::new(),
        HashMap::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn step(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    let Ok(step) = form.get("step").parse::<WarningStep>() else {
        let e = AppError::from(reqloop_store::Error::field("step", "choice"));
        return detail_view(
            &s,
            &u,
            id,
            refusal(&u.t, &e),
            String::new(),
            HashMap::new(),
            e.status,
        )
        .await;
    };
    let r = WarningStepRequest {
        version: form.get("version").parse().unwrap_or(-1),
        step,
        note: form.get("note"),
        assignee_id: form.get("assignee_id").parse().ok(),
    };
    let note = r.note.clone();
    let (status, notice, errors) = match s.store.step_warning(&u.actor, id, r, s.clock.now()).await
    {
        Ok(_) => return Redirect::to(&format!("/warnings/{id}")).into_response(),
        Err(reqloop_store::Error::Invalid(e)) => (
            StatusCode::BAD_REQUEST,
            u.t.t("form.fix_errors").to_string(),
            field_messages(&u.t, &e),
        ),
        Err(e) => {
            let e = AppError::from(e);
            (e.status, refusal(&u.t, &e), HashMap::new())
        }
    };
    detail_view(&s, &u, id, notice, note, errors, status).await
}

#[derive(Template)]
#[template(path = "warning_rules.html")]
struct RulesPage {
    c: Chrome,
    notice: String,
    rules: Vec<WarningRule>,
    /// The rule whose form failed, with its messages.
    failed: Option<i64>,
    errors: HashMap<String, String>,
    sla: SlaRules,
    sla_errors: HashMap<String, String>,
    can_manage: bool,
}

impl RulesPage {
    fn err(&self, rule: &i64, f: &str) -> &str {
        if self.failed != Some(*rule) {
            return "";
        }
        self.errors.get(f).map(String::as_str).unwrap_or("")
    }
    fn sla_err(&self, f: &str) -> &str {
        self.sla_errors.get(f).map(String::as_str).unwrap_or("")
    }
    fn has_tier(&self, r: &WarningRule, t: &&Tier) -> bool {
        r.fields.tiers.contains(t)
    }
    fn sla_rows(&self) -> Vec<(&'static str, Allowance)> {
        vec![
            ("urgent", self.sla.urgent),
            ("important", self.sla.important),
            ("general", self.sla.general),
            ("complaint_confirm", self.sla.complaint_confirm),
            ("complaint_fix", self.sla.complaint_fix),
        ]
    }
    fn thresholds(&self, r: &WarningRule) -> [(&'static str, i64); 3] {
        [
            ("yellow", r.fields.yellow),
            ("orange", r.fields.orange),
            ("red", r.fields.red),
        ]
    }
    fn units(&self) -> &'static [SlaUnit] {
        SlaUnit::ALL
    }
    fn tiers(&self) -> &'static [Tier] {
        Tier::ALL
    }
}

#[allow(clippy::too_many_arguments)]
async fn rules_view(
    s: &AppState,
    u: &PageUser,
    notice: String,
    failed: Option<i64>,
    errors: HashMap<String, String>,
    sla_form: Option<SlaRules>,
    sla_errors: HashMap<String, String>,
    status: StatusCode,
) -> Response {
    let loaded = async {
        u.actor.require(Action::WarningRead)?;
        let rules = s.store.warning_rules().await?;
        let sla = s.store.sla_rules().await?;
        Ok::<_, AppError>((rules, sla))
    }
    .await;
    let (rules, sla) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let page = RulesPage {
        c: Chrome::new(u, "warnings", u.t.t("warning.rules").to_string()),
        notice,
        rules,
        failed,
        errors,
        sla: sla_form.unwrap_or(sla),
        sla_errors,
        can_manage: may(&u.actor, Action::WarningManage),
    };
    (status, render(&page)).into_response()
}

pub async fn rules(State(s): State<AppState>, u: PageUser) -> Response {
    rules_view(
        &s,
        &u,
        String::new(),
        None,
        HashMap::new(),
        None,
        HashMap::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn update_rule(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    let current = match s.store.warning_rule(id).await {
        Ok(r) => r,
        Err(e) => return error_page(&u, e.into()),
    };
    let int = |k: &str| form.get(k).trim().parse::<i64>().unwrap_or(-1);
    let update = RuleUpdate {
        version: int("version"),
        fields: RuleFields {
            name: form.get("name"),
            metric: current.fields.metric,
            yellow: int("yellow"),
            orange: int("orange"),
            red: int("red"),
            window_days: if current.fields.metric.windowed() {
                int("window_days")
            } else {
                current.fields.window_days
            },
            tiers: form
                .all("tiers")
                .iter()
                .filter_map(|t| t.parse().ok())
                .collect(),
            enabled: form.get("enabled") == "on",
        },
    };
    let (status, notice, errors) = match s
        .store
        .update_warning_rule(&u.actor, id, update, s.clock.now())
        .await
    {
        Ok(_) => return Redirect::to(&format!("/warning-rules#rule-{id}")).into_response(),
        Err(reqloop_store::Error::Invalid(e)) => (
            StatusCode::BAD_REQUEST,
            u.t.t("form.fix_errors").to_string(),
            field_messages(&u.t, &e),
        ),
        Err(e) => {
            let e = AppError::from(e);
            (e.status, refusal(&u.t, &e), HashMap::new())
        }
    };
    rules_view(
        &s,
        &u,
        notice,
        Some(id),
        errors,
        None,
        HashMap::new(),
        status,
    )
    .await
}

pub async fn save_sla(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    let allowance = |k: &str| Allowance {
        value: form.get(&format!("{k}_value")).trim().parse().unwrap_or(0),
        unit: form
            .get(&format!("{k}_unit"))
            .parse()
            .unwrap_or(SlaUnit::WorkingDays),
    };
    let rules = SlaRules {
        urgent: allowance("urgent"),
        important: allowance("important"),
        general: allowance("general"),
        complaint_confirm: allowance("complaint_confirm"),
        complaint_fix: allowance("complaint_fix"),
    };
    let (status, notice, errors) = match s.store.set_sla_rules(&u.actor, rules, s.clock.now()).await
    {
        Ok(_) => return Redirect::to("/warning-rules#sla").into_response(),
        Err(reqloop_store::Error::Invalid(e)) => (
            StatusCode::BAD_REQUEST,
            u.t.t("form.fix_errors").to_string(),
            field_messages(&u.t, &e),
        ),
        Err(e) => {
            let e = AppError::from(e);
            (e.status, refusal(&u.t, &e), HashMap::new())
        }
    };
    rules_view(
        &s,
        &u,
        notice,
        None,
        HashMap::new(),
        Some(rules),
        errors,
        status,
    )
    .await
}

/// How a clock reads: "3 h 20 min left (working hours)", "overdue by …", or "waiting for the
/// customer".
pub(crate) fn clock_text(t: &crate::i18n::Tr, c: &reqloop_store::ClockView) -> String {
    if c.waiting {
        return t.t("clock.waiting").to_string();
    }
    let unit = t.label("sla_unit", c.unit.as_str());
    format!("{}（{unit}）", minutes_text(t, c.remaining_minutes))
}

/// Minutes left (negative: overdue) as "3 h 20 min left" or "overdue by 3 h 20 min".
pub(crate) fn minutes_text(t: &crate::i18n::Tr, remaining: i64) -> String {
    let m = remaining.abs();
    let span = if m >= 60 {
        format!(
            "{} {} {} {}",
            m / 60,
            t.t("clock.hours"),
            m % 60,
            t.t("clock.minutes")
        )
    } else {
        format!("{m} {}", t.t("clock.minutes"))
    };
    if remaining < 0 {
        format!("{} {span}", t.t("clock.overdue_by"))
    } else {
        format!("{} {span}", t.t("clock.left"))
    }
}

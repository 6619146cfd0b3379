//! Customer pages (F1): list with filters, detail with contacts and history, create and edit.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use reqloop_domain::access::Action;
use reqloop_domain::customer::{
    BusinessStatus, CompanySize, Confidential, ContactFields, CreditRating, Customer,
    CustomerFields, CustomerPatch, Grade, RiskFlag, Tier,
};
use reqloop_domain::ids::{ContactId, CustomerId, UserId};
use reqloop_domain::region::PROVINCES;
use reqloop_domain::time::display_local;
use reqloop_domain::user::{Role, User};
use reqloop_domain::FieldErrors;
use reqloop_store::{CustomerFilter, HistoryEntry};

use super::{
    choices, error_page, field_messages, filters, may, render, Chrome, FormData, Opt, Pager,
};
use crate::auth::PageUser;
use crate::error::AppError;
use crate::export::{self, ListFormat};
use crate::i18n::Tr;
use crate::AppState;

const PER_PAGE: i64 = 20;

/// A drop-down option: (value, label, selected).
fn text_choices(values: impl IntoIterator<Item = String>, selected: &str) -> Vec<Opt> {
    values
        .into_iter()
        .map(|v| (v.clone(), v.clone(), v == selected))
        .collect()
}

/// Staff who can be account managers, by id → display name.
async fn staff(s: &AppState) -> Result<Vec<User>, AppError> {
    Ok(s.store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| u.role != Role::Portal && u.active)
        .collect())
}

fn names(users: &[User]) -> HashMap<UserId, String> {
    users
        .iter()
        .map(|u| (u.id, u.display_name.clone()))
        .collect()
}

// ---- list ----

/// One row of the list, ready to show.
pub struct Row {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub grade: String,
    pub tier: String,
    pub tier_label: String,
    pub industry: String,
    pub region: String,
    pub manager: String,
    pub revenue: String,
    pub flagged: bool,
    pub archived: bool,
}

#[derive(Template)]
#[template(path = "customers.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<Row>,
    pager: Pager,
    q: String,
    grades: Vec<Opt>,
    tiers: Vec<Opt>,
    industries: Vec<Opt>,
    provinces: Vec<Opt>,
    managers: Vec<Opt>,
    /// Column header links: (label, link, arrow).
    headers: Vec<(String, Option<String>, &'static str)>,
    can_create: bool,
    filtered: bool,
    error: String,
}

/// A closed-set filter from the query; an unknown value is ignored with a message.
fn choice_filter<T: std::str::FromStr>(
    v: &str,
    field: &str,
    t: &Tr,
    error: &mut String,
) -> Option<T> {
    if v.is_empty() {
        return None;
    }
    let parsed = v.parse().ok();
    if parsed.is_none() {
        *error = format!(
            "{}: {}",
            t.t(&format!("customer.{field}")),
            t.t("err.choice")
        );
    }
    parsed
}

/// Thousands-separated yuan.
pub fn yuan(v: i64) -> String {
    let s = v.abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{}¥{out}", if v < 0 { "-" } else { "" })
}

/// The list as it is filtered and sorted, page after page.
async fn export_list(
    s: AppState,
    u: &PageUser,
    filter: CustomerFilter,
    format: ListFormat,
) -> Response {
    let who = match staff(&s).await {
        Ok(staff) => std::sync::Arc::new(names(&staff)),
        Err(e) => return error_page(u, e),
    };
    let (headers, next) = export::customers(s.store.clone(), u.actor.clone(), filter, who, u.t);
    export::list_download(format, "customers", headers, next).await
}

pub async fn list(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| {
        q.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let t = u.t;
    let mut error = String::new();
    let grade: Option<Grade> = choice_filter(&get("grade"), "grade", &t, &mut error);
    let tier: Option<Tier> = choice_filter(&get("tier"), "tier", &t, &mut error);
    let manager: Option<i64> = get("account_manager_id").parse().ok();
    let page: i64 = get("page").parse().unwrap_or(1);
    let sort = get("sort");
    let filter = CustomerFilter {
        q: Some(get("q")),
        grade,
        tier,
        industry: Some(get("industry")),
        province: Some(get("province")),
        city: None,
        account_manager_id: manager,
        archived: Some(get("archived") == "1"),
        sort: Some(sort.clone()),
        page: Some(page),
        per_page: Some(PER_PAGE),
    };
    if let Some(format) = ListFormat::of(&q) {
        return export_list(s, &u, filter, format).await;
    }
    let result = async {
        let list = s.store.list_customers(&u.actor, &filter).await?;
        let staff = staff(&s).await?;
        let industries = s.store.customer_industries().await?;
        Ok::<_, AppError>((list, staff, industries))
    }
    .await;
    let (list, staff, industries) = match result {
        Ok(v) => v,
        Err(e) if e.code == "invalid" => {
            // An unknown sort key: show the default order with a message rather than fail.
            return Redirect::to("/customers").into_response();
        }
        Err(e) => return error_page(&u, e),
    };
    let who = names(&staff);
    let rows = list
        .items
        .iter()
        .map(|c| Row {
            id: c.id.0,
            code: c.code.clone(),
            name: c.fields.name.clone(),
            short_name: c.fields.short_name.clone(),
            grade: c.fields.grade.as_str().to_string(),
            tier: c.fields.tier.as_str().to_string(),
            tier_label: t.label("tier", c.fields.tier.as_str()),
            industry: c.fields.industry.clone(),
            region: format!("{} {}", c.fields.province, c.fields.city)
                .trim()
                .to_string(),
            manager: c
                .fields
                .account_manager_id
                .and_then(|m| who.get(&m).cloned())
                .unwrap_or_default(),
            revenue: yuan(c.fields.annual_revenue),
            flagged: c.tightened_control(),
            archived: c.archived,
        })
        .collect();
    let keep: Vec<(String, String)> = q.iter().filter(|(k, _)| k != "page").cloned().collect();
    let pager = Pager::new(page, PER_PAGE, list.total, "/customers", &keep).exportable();
    let headers = [
        ("code", "code"),
        ("name", "name"),
        ("grade", "grade"),
        ("tier", "tier"),
        ("industry", "industry"),
        ("region", ""),
        ("account_manager", ""),
        ("annual_revenue", "annual_revenue"),
    ]
    .iter()
    .map(|(label, key)| {
        let label = t.t(&format!("customer.{label}")).to_string();
        if key.is_empty() {
            return (label, None, "");
        }
        let (next, arrow) = if sort == *key {
            (format!("-{key}"), "▲")
        } else if sort == format!("-{key}") {
            (key.to_string(), "▼")
        } else {
            (key.to_string(), "")
        };
        let mut qs = form_urlencoded::Serializer::new(String::new());
        for (k, v) in keep.iter().filter(|(k, v)| k != "sort" && !v.is_empty()) {
            qs.append_pair(k, v);
        }
        qs.append_pair("sort", &next);
        (label, Some(format!("/customers?{}", qs.finish())), arrow)
    })
    .collect();
    let filtered = [
        "q",
        "grade",
        "tier",
        "industry",
        "province",
        "account_manager_id",
    ]
    .iter()
    .any(|k| !get(k).is_empty());
    let page = ListPage {
        c: Chrome::new(&u, "customers", t.t("nav.customers").to_string()),
        rows,
        pager,
        q: get("q"),
        grades: choices(Grade::ALL, Grade::as_str, &t, "grade", grade),
        tiers: choices(Tier::ALL, Tier::as_str, &t, "tier", tier),
        industries: text_choices(industries, &get("industry")),
        provinces: text_choices(PROVINCES.iter().map(|p| p.0.to_string()), &get("province")),
        managers: staff
            .iter()
            .filter(|m| m.role == Role::AccountManager || m.role == Role::MarketingManager)
            .map(|m| {
                (
                    m.id.0.to_string(),
                    m.display_name.clone(),
                    Some(m.id.0) == manager,
                )
            })
            .collect(),
        headers,
        can_create: may(&u.actor, Action::CustomerCreate),
        filtered,
        error,
    };
    render(&page)
}

// ---- detail ----

/// A history entry with its local time, action label and (field, before, after) labels.
type ShownHistory = (HistoryEntry, String, String, Vec<(String, String, String)>);

#[derive(Template)]
#[template(path = "customer.html")]
struct DetailPage {
    c: Chrome,
    cu: Customer,
    manager: String,
    team: String,
    size: String,
    status: String,
    grade: String,
    tier_label: String,
    revenue: String,
    risks: Vec<String>,
    credit: Option<(String, String)>,
    contacts: Vec<reqloop_domain::customer::Contact>,
    history: Vec<ShownHistory>,
    /// F2: each change of grade or tier, newest first.
    grades: Vec<reqloop_store::GradeChange>,
    /// F25: the latest visits and the open contact tasks.
    visits: Vec<reqloop_store::Visit>,
    tasks: Vec<reqloop_store::ContactTask>,
    created: String,
    can_edit: bool,
    can_archive: bool,
    can_contact: bool,
    contact: ContactFields,
    contact_errors: HashMap<String, String>,
}

impl DetailPage {
    fn err(&self, field: &str) -> &str {
        self.contact_errors
            .get(field)
            .map(String::as_str)
            .unwrap_or("")
    }
}

fn show_value(t: &Tr, field: &str, v: &serde_json::Value) -> String {
    use serde_json::Value;
    let set = match field {
        "grade" => Some("grade"),
        "tier" => Some("tier"),
        "company_size" => Some("size"),
        "business_status" => Some("status"),
        "confidential.credit_rating" => Some("credit"),
        _ => None,
    };
    match (v, set) {
        (Value::Null, _) => "—".into(),
        (Value::String(s), Some(set)) => t.label(set, s),
        (Value::String(s), None) if s.is_empty() => "—".into(),
        (Value::String(s), None) => s.clone(),
        (Value::Array(items), _) if field == "risk_flags" => items
            .iter()
            .filter_map(Value::as_str)
            .map(|f| t.label("risk", f))
            .collect::<Vec<_>>()
            .join("、"),
        (Value::Array(items), _) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| i.to_string())
            })
            .collect::<Vec<_>>()
            .join("、"),
        (other, _) => other.to_string(),
    }
}

async fn detail_page(
    s: &AppState,
    u: &PageUser,
    id: CustomerId,
    contact: ContactFields,
    contact_errors: HashMap<String, String>,
) -> Response {
    let t = u.t;
    let loaded = async {
        let cu = s.store.get_customer(&u.actor, id).await?;
        let contacts = s.store.list_contacts(&u.actor, id).await?;
        let history = s.store.customer_history(&u.actor, id).await?;
        let grades = s.store.grade_history(&u.actor, id).await?;
        let visits = s
            .store
            .list_visits(
                &u.actor,
                &reqloop_store::VisitFilter {
                    customer_id: Some(id.0),
                    per_page: Some(10),
                    ..Default::default()
                },
            )
            .await?
            .items;
        let tasks = s
            .store
            .list_contact_tasks(
                &u.actor,
                &reqloop_store::TaskFilter {
                    customer_id: Some(id.0),
                    ..Default::default()
                },
                s.clock.now(),
            )
            .await?
            .items;
        let staff = staff(s).await?;
        Ok::<_, AppError>((cu, contacts, (history, grades, visits, tasks), staff))
    }
    .await;
    let (cu, contacts, (history, grades, visits, tasks), staff) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let who = names(&staff);
    let f = &cu.fields;
    let history = history
        .into_iter()
        .map(|h| {
            let at = display_local(&h.at);
            let changes = h
                .changes
                .iter()
                .map(|c| {
                    let label_key = format!("customer.{}", c.field.replace("confidential.", ""));
                    let label = t.t(&label_key).to_string();
                    (
                        label,
                        show_value(&t, &c.field, &c.before),
                        show_value(&t, &c.field, &c.after),
                    )
                })
                .collect();
            let action = t.t(&format!("history.{}", h.action)).to_string();
            (h, at, action, changes)
        })
        .collect();
    let page = DetailPage {
        c: Chrome::new(u, "customers", f.name.clone()),
        manager: f
            .account_manager_id
            .and_then(|m| who.get(&m).cloned())
            .unwrap_or_else(|| "—".into()),
        team: f
            .team
            .iter()
            .filter_map(|m| who.get(m).cloned())
            .collect::<Vec<_>>()
            .join("、"),
        size: f
            .company_size
            .map(|v| t.label("size", v.as_str()))
            .unwrap_or_else(|| "—".into()),
        status: t.label("status", f.business_status.as_str()),
        grade: f.grade.as_str().to_string(),
        tier_label: t.label("tier", f.tier.as_str()),
        revenue: yuan(f.annual_revenue),
        risks: f
            .risk_flags
            .iter()
            .map(|r| t.label("risk", r.as_str()))
            .collect(),
        credit: f.confidential.as_ref().map(|c| {
            (
                c.credit_rating
                    .map(|r| t.label("credit", r.as_str()))
                    .unwrap_or_else(|| "—".into()),
                c.financial_status.clone(),
            )
        }),
        contacts,
        history,
        grades,
        visits,
        tasks,
        created: display_local(&cu.created_at),
        can_edit: may(&u.actor, Action::CustomerUpdate) && !cu.archived,
        can_archive: may(&u.actor, Action::CustomerArchive) && !cu.archived,
        can_contact: may(&u.actor, Action::ContactWrite) && !cu.archived,
        contact,
        contact_errors,
        cu,
    };
    render(&page)
}

pub async fn detail(State(s): State<AppState>, u: PageUser, Path(id): Path<i64>) -> Response {
    detail_page(
        &s,
        &u,
        CustomerId(id),
        ContactFields::default(),
        HashMap::new(),
    )
    .await
}

// ---- create / edit ----

#[derive(Template)]
#[template(path = "customer_form.html")]
struct FormPage {
    c: Chrome,
    action: String,
    cancel: String,
    version: i64,
    v: HashMap<String, String>,
    errors: HashMap<String, String>,
    notice: String,
    grades: Vec<Opt>,
    tiers: Vec<Opt>,
    sizes: Vec<Opt>,
    statuses: Vec<Opt>,
    credits: Vec<Opt>,
    provinces: Vec<Opt>,
    managers: Vec<Opt>,
    team: Vec<Opt>,
    risks: Vec<Opt>,
    confidential: bool,
}

impl FormPage {
    fn val(&self, field: &str) -> &str {
        self.v.get(field).map(String::as_str).unwrap_or("")
    }

    fn err(&self, field: &str) -> &str {
        self.errors.get(field).map(String::as_str).unwrap_or("")
    }
}

const TEXT_FIELDS: [&str; 10] = [
    "name",
    "short_name",
    "industry",
    "application",
    "city",
    "address",
    "phone",
    "remarks",
    "annual_revenue",
    "tags",
];

/// The form's values from a stored customer.
fn values_of(c: &Customer) -> FormData {
    let f = &c.fields;
    let mut v = vec![
        ("name", f.name.clone()),
        ("short_name", f.short_name.clone()),
        ("industry", f.industry.clone()),
        ("application", f.application.clone()),
        ("province", f.province.clone()),
        ("city", f.city.clone()),
        ("address", f.address.clone()),
        ("phone", f.phone.clone()),
        ("remarks", f.remarks.clone()),
        ("annual_revenue", f.annual_revenue.to_string()),
        ("tags", f.tags.join("，")),
        ("grade", f.grade.as_str().into()),
        ("tier", f.tier.as_str().into()),
        (
            "company_size",
            f.company_size
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
        ),
        ("business_status", f.business_status.as_str().into()),
        (
            "account_manager_id",
            f.account_manager_id
                .map(|m| m.0.to_string())
                .unwrap_or_default(),
        ),
    ];
    v.extend(f.team.iter().map(|m| ("team", m.0.to_string())));
    v.extend(
        f.risk_flags
            .iter()
            .map(|r| ("risk_flags", r.as_str().to_string())),
    );
    if let Some(conf) = &f.confidential {
        v.push((
            "credit_rating",
            conf.credit_rating
                .map(|r| r.as_str().to_string())
                .unwrap_or_default(),
        ));
        v.push(("financial_status", conf.financial_status.clone()));
    }
    FormData(v.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// Reads the form into customer fields, collecting a message per bad field.
fn parse_form(form: &FormData, with_confidential: bool) -> Result<CustomerFields, FieldErrors> {
    let mut e = FieldErrors::default();
    fn choice<T: std::str::FromStr>(
        e: &mut FieldErrors,
        form: &FormData,
        field: &str,
    ) -> Option<T> {
        let v = form.get(field);
        if v.is_empty() {
            return None;
        }
        let parsed = v.parse().ok();
        if parsed.is_none() {
            e.add(field, "choice");
        }
        parsed
    }
    let revenue_text = form.get("annual_revenue").replace([',', '，', ' '], "");
    let annual_revenue = if revenue_text.is_empty() {
        0
    } else {
        revenue_text.parse().unwrap_or_else(|_| {
            e.add("annual_revenue", "number");
            0
        })
    };
    let id_of = |v: String, field: &str, e: &mut FieldErrors| -> Option<UserId> {
        if v.is_empty() {
            return None;
        }
        v.parse()
            .map(UserId)
            .map_err(|_| e.add(field, "choice"))
            .ok()
    };
    let account_manager_id = id_of(form.get("account_manager_id"), "account_manager_id", &mut e);
    let team = form
        .all("team")
        .into_iter()
        .filter_map(|v| id_of(v, "team", &mut e))
        .collect();
    let risk_flags = form
        .all("risk_flags")
        .iter()
        .filter_map(|v| {
            v.parse::<RiskFlag>()
                .map_err(|_| e.add("risk_flags", "choice"))
                .ok()
        })
        .collect();
    let fields = CustomerFields {
        name: form.get("name"),
        short_name: form.get("short_name"),
        industry: form.get("industry"),
        application: form.get("application"),
        province: form.get("province"),
        city: form.get("city"),
        address: form.get("address"),
        phone: form.get("phone"),
        company_size: choice(&mut e, form, "company_size"),
        business_status: choice(&mut e, form, "business_status")
            .unwrap_or(BusinessStatus::Operating),
        annual_revenue,
        grade: choice(&mut e, form, "grade").unwrap_or(Grade::C),
        tier: choice(&mut e, form, "tier").unwrap_or(Tier::General),
        account_manager_id,
        team,
        tags: form
            .get("tags")
            .split([',', '，', '、'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        risk_flags,
        remarks: form.get("remarks"),
        confidential: with_confidential.then(|| Confidential {
            credit_rating: choice::<CreditRating>(&mut e, form, "credit_rating"),
            financial_status: form.get("financial_status"),
        }),
    };
    e.finish().map(|_| fields)
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    s: &AppState,
    u: &PageUser,
    title: String,
    action: String,
    cancel: String,
    version: i64,
    form: &FormData,
    errors: HashMap<String, String>,
    notice: String,
) -> Response {
    let t = u.t;
    let staff = match staff(s).await {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let single = |k: &str| form.get(k);
    let selected = |k: &str| form.all(k);
    let v: HashMap<String, String> = TEXT_FIELDS
        .iter()
        .map(|k| (k.to_string(), single(k)))
        .chain([("financial_status".to_string(), single("financial_status"))])
        .collect();
    let pick = |all: Vec<(&'static str, String)>, current: String| -> Vec<Opt> {
        all.into_iter()
            .map(|(id, label)| (id.to_string(), label, id == current))
            .collect()
    };
    let labels = |ids: Vec<&'static str>, set: &str| -> Vec<(&'static str, String)> {
        ids.into_iter().map(|i| (i, t.label(set, i))).collect()
    };
    let team_sel = selected("team");
    let risk_sel = selected("risk_flags");
    let page = FormPage {
        c: Chrome::new(u, "customers", title),
        action,
        cancel,
        version,
        errors,
        notice,
        grades: pick(
            labels(Grade::ALL.iter().map(|g| g.as_str()).collect(), "grade"),
            single("grade"),
        ),
        tiers: pick(
            labels(Tier::ALL.iter().map(|g| g.as_str()).collect(), "tier"),
            single("tier"),
        ),
        sizes: pick(
            labels(
                CompanySize::ALL.iter().map(|g| g.as_str()).collect(),
                "size",
            ),
            single("company_size"),
        ),
        statuses: pick(
            labels(
                BusinessStatus::ALL.iter().map(|g| g.as_str()).collect(),
                "status",
            ),
            single("business_status"),
        ),
        credits: pick(
            labels(
                CreditRating::ALL.iter().map(|g| g.as_str()).collect(),
                "credit",
            ),
            single("credit_rating"),
        ),
        provinces: text_choices(
            PROVINCES.iter().map(|p| p.0.to_string()),
            &single("province"),
        ),
        managers: staff
            .iter()
            .map(|m| {
                (
                    m.id.0.to_string(),
                    m.display_name.clone(),
                    m.id.0.to_string() == single("account_manager_id"),
                )
            })
            .collect(),
        team: staff
            .iter()
            .map(|m| {
                (
                    m.id.0.to_string(),
                    m.display_name.clone(),
                    team_sel.contains(&m.id.0.to_string()),
                )
            })
            .collect(),
        risks: RiskFlag::ALL
            .iter()
            .map(|r| {
                (
                    r.as_str().to_string(),
                    t.label("risk", r.as_str()),
                    risk_sel.iter().any(|x| x == r.as_str()),
                )
            })
            .collect(),
        confidential: reqloop_domain::access::sees_confidential(&u.actor),
        v,
    };
    render(&page)
}

pub async fn new_form(State(s): State<AppState>, u: PageUser) -> Response {
    if let Err(e) = u.actor.require(Action::CustomerCreate) {
        return error_page(&u, e.into());
    }
    let defaults = FormData(vec![
        ("grade".into(), "C".into()),
        ("tier".into(), "general".into()),
        ("business_status".into(), "operating".into()),
        (
            "account_manager_id".into(),
            if u.actor.role == Role::AccountManager {
                u.actor.user_id.0.to_string()
            } else {
                String::new()
            },
        ),
    ]);
    let title = u.t.t("customer.new").to_string();
    form_page(
        &s,
        &u,
        title,
        "/customers".into(),
        "/customers".into(),
        0,
        &defaults,
        HashMap::new(),
        String::new(),
    )
    .await
}

pub async fn create(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    if let Err(e) = u.actor.require(Action::CustomerCreate) {
        return error_page(&u, e.into());
    }
    let conf = reqloop_domain::access::sees_confidential(&u.actor);
    let result = match parse_form(&form, conf) {
        Ok(fields) => s
            .store
            .create_customer(&u.actor, fields, s.clock.now())
            .await
            .map_err(AppError::from),
        Err(errors) => Err(AppError::invalid(&errors)),
    };
    match result {
        Ok(c) => Redirect::to(&format!("/customers/{}", c.id)).into_response(),
        Err(e) => {
            let (errors, notice) = form_errors(&u, e);
            let title = u.t.t("customer.new").to_string();
            let resp = form_page(
                &s,
                &u,
                title,
                "/customers".into(),
                "/customers".into(),
                0,
                &form,
                errors,
                notice,
            )
            .await;
            (axum::http::StatusCode::BAD_REQUEST, resp).into_response()
        }
    }
}

/// Splits an error into messages next to fields and one notice above the form.
fn form_errors(u: &PageUser, e: AppError) -> (HashMap<String, String>, String) {
    let t = u.t;
    if e.code == "invalid" {
        let items: Vec<(String, &'static str)> = e
            .details
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|d| {
                        let field = d.get("field")?.as_str()?.to_string();
                        let code = d.get("code")?.as_str()?;
                        let code: &'static str = ERROR_CODES
                            .iter()
                            .find(|c| **c == code)
                            .copied()
                            .unwrap_or("invalid");
                        Some((field, code))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let errors = FieldErrors(
            items
                .into_iter()
                .map(|(field, code)| reqloop_domain::FieldError { field, code })
                .collect(),
        );
        return (
            field_messages(&t, &errors),
            t.t("form.fix_errors").to_string(),
        );
    }
    let notice = match e.code {
        "stale_version" => t.t("form.stale"),
        "forbidden" => t.t("error.forbidden"),
        "not_found" => t.t("error.not_found"),
        "duplicate" => t.t("err.duplicate"),
        "archived" => t.t("rule.archived"),
        _ => t.t("error.unavailable"),
    };
    (HashMap::new(), notice.to_string())
}

/// Every validation code the domain uses (so a page error keeps its message key).
const ERROR_CODES: &[&str] = &[
    "required",
    "too_long",
    "phone",
    "email",
    "province",
    "range",
    "too_many",
    "choice",
    "number",
    "unknown_user",
    "invalid",
    "username",
    "password_short",
    "portal_only",
    "code_rule",
    "sort",
];

pub async fn edit_form(State(s): State<AppState>, u: PageUser, Path(id): Path<i64>) -> Response {
    if let Err(e) = u.actor.require(Action::CustomerUpdate) {
        return error_page(&u, e.into());
    }
    match s.store.get_customer(&u.actor, CustomerId(id)).await {
        Ok(c) => {
            let title = format!("{} · {}", u.t.t("action.edit"), c.fields.name);
            form_page(
                &s,
                &u,
                title,
                format!("/customers/{id}"),
                format!("/customers/{id}"),
                c.version,
                &values_of(&c),
                HashMap::new(),
                String::new(),
            )
            .await
        }
        Err(e) => error_page(&u, e.into()),
    }
}

pub async fn update(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::CustomerUpdate) {
        return error_page(&u, e.into());
    }
    let version: i64 = form.get("version").parse().unwrap_or(-1);
    let conf = reqloop_domain::access::sees_confidential(&u.actor);
    let result = match parse_form(&form, conf) {
        Ok(f) => {
            let patch = patch_from(version, f);
            s.store
                .update_customer(&u.actor, CustomerId(id), patch, s.clock.now())
                .await
                .map_err(AppError::from)
        }
        Err(errors) => Err(AppError::invalid(&errors)),
    };
    match result {
        Ok(_) => Redirect::to(&format!("/customers/{id}")).into_response(),
        Err(e) => {
            let status = e.status;
            let (errors, notice) = form_errors(&u, e);
            let title = u.t.t("action.edit").to_string();
            let resp = form_page(
                &s,
                &u,
                title,
                format!("/customers/{id}"),
                format!("/customers/{id}"),
                version,
                &form,
                errors,
                notice,
            )
            .await;
            (status, resp).into_response()
        }
    }
}

/// A full form is a patch of every field.
fn patch_from(version: i64, f: CustomerFields) -> CustomerPatch {
    CustomerPatch {
        version,
        name: Some(f.name),
        short_name: Some(f.short_name),
        industry: Some(f.industry),
        application: Some(f.application),
        province: Some(f.province),
        city: Some(f.city),
        address: Some(f.address),
        phone: Some(f.phone),
        company_size: Some(f.company_size),
        business_status: Some(f.business_status),
        annual_revenue: Some(f.annual_revenue),
        grade: Some(f.grade),
        tier: Some(f.tier),
        account_manager_id: Some(f.account_manager_id),
        team: Some(f.team),
        tags: Some(f.tags),
        risk_flags: Some(f.risk_flags),
        remarks: Some(f.remarks),
        confidential: f.confidential.map(Some),
    }
}

pub async fn archive(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::CustomerArchive) {
        return error_page(&u, e.into());
    }
    let version = form.get("version").parse().unwrap_or(-1);
    match s
        .store
        .archive_customer(&u.actor, CustomerId(id), version, s.clock.now())
        .await
    {
        Ok(_) => Redirect::to(&format!("/customers/{id}")).into_response(),
        Err(e) => error_page(&u, e.into()),
    }
}

pub async fn add_contact(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::ContactWrite) {
        return error_page(&u, e.into());
    }
    let fields = ContactFields {
        name: form.get("name"),
        title: form.get("title"),
        phone: form.get("phone"),
        email: form.get("email"),
        wechat: form.get("wechat"),
        primary: form.get("primary") == "1",
    };
    match s
        .store
        .add_contact(&u.actor, CustomerId(id), fields.clone(), s.clock.now())
        .await
    {
        Ok(_) => Redirect::to(&format!("/customers/{id}#contacts")).into_response(),
        Err(reqloop_store::Error::Invalid(errors)) => {
            let resp = detail_page(
                &s,
                &u,
                CustomerId(id),
                fields,
                field_messages(&u.t, &errors),
            )
            .await;
            (axum::http::StatusCode::BAD_REQUEST, resp).into_response()
        }
        Err(e) => error_page(&u, e.into()),
    }
}

pub async fn delete_contact(
    State(s): State<AppState>,
    u: PageUser,
    Path((id, contact)): Path<(i64, i64)>,
) -> Response {
    if let Err(e) = u.actor.require(Action::ContactWrite) {
        return error_page(&u, e.into());
    }
    match s
        .store
        .delete_contact(&u.actor, CustomerId(id), ContactId(contact), s.clock.now())
        .await
    {
        Ok(()) => Redirect::to(&format!("/customers/{id}#contacts")).into_response(),
        Err(e) => error_page(&u, e.into()),
    }
}

//! Contract pages (F13): the list with the entry form, a contract's CBC response table (answer,
//! ask for and record deviation permits; print; CSV for Excel), new versions, and the list of
//! what is still open across contracts.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use reqloop_domain::access::Action;
use reqloop_domain::contract::{
    ClauseFields, ContractFields, ContractKind, NewVersion, PermitDecision, Response as Answer,
    ResponseFields,
};
use reqloop_domain::ids::CustomerId;
use reqloop_domain::FieldErrors;
use reqloop_store::{Contract, ContractFilter, ContractVersion, CustomerFilter, PendingClause};

use super::requirements::refusal;
use super::{choices, error_page, field_messages, may, render, Chrome, FormData, Opt, Pager};
use crate::auth::PageUser;
use crate::error::AppError;
use crate::export::{self, ListFormat};
use crate::AppState;

const PER_PAGE: i64 = 20;

#[derive(Template)]
#[template(path = "contracts.html")]
struct ListPage {
    c: Chrome,
    notice: String,
    contracts: Vec<(Contract, String)>,
    pager: Pager,
    can_write: bool,
    customers: Vec<Opt>,
    /// Visible customers matching the search, when more than the drop-down shows.
    customer_total: i64,
    customer_q: String,
    projects: Vec<Opt>,
    /// The list's filters: (customer options, project options).
    filter_customers: Vec<Opt>,
    filter_projects: Vec<Opt>,
    kinds: Vec<Opt>,
    v: HashMap<String, String>,
    errors: HashMap<String, String>,
}

impl ListPage {
    fn err(&self, f: &str) -> &str {
        self.errors.get(f).map(String::as_str).unwrap_or("")
    }
    fn val(&self, f: &str) -> &str {
        self.v.get(f).map(String::as_str).unwrap_or("")
    }
}

#[allow(clippy::too_many_arguments)]
async fn list_view(
    s: &AppState,
    u: &PageUser,
    page: i64,
    query: &HashMap<String, String>,
    form: &FormData,
    notice: String,
    errors: HashMap<String, String>,
    status: StatusCode,
) -> Response {
    let num = |k: &str| query.get(k).and_then(|v| v.parse::<i64>().ok());
    let filter = ContractFilter {
        customer_id: num("customer_id"),
        project_id: num("project_id"),
        page: Some(page),
        per_page: Some(PER_PAGE),
    };
    let customer_q = query.get("customer_q").cloned().unwrap_or_default();
    let loaded = async {
        let list = s.store.list_contracts(&u.actor, &filter).await?;
        // The customers to choose from: those matching the search (200 at most in the list).
        let customers = s
            .store
            .list_customers(
                &u.actor,
                &CustomerFilter {
                    q: Some(customer_q.clone()).filter(|q| !q.trim().is_empty()),
                    per_page: Some(200),
                    ..Default::default()
                },
            )
            .await?;
        let projects = s.store.list_projects().await?;
        let mut ids: Vec<i64> = list.items.iter().map(|c| c.fields.customer_id.0).collect();
        ids.extend(filter.customer_id);
        let names = s.store.customer_names(&u.actor, &ids).await?;
        Ok::<_, AppError>((list, customers, projects, names))
    }
    .await;
    let (list, customers, projects, names) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let t = u.t;
    let chosen = form.get("customer_id");
    let chosen_project = form.get("project_id");
    let keep: Vec<(String, String)> = query.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let project_opts = |selected: &str| -> Vec<Opt> {
        projects
            .iter()
            .map(|p| {
                let id = p.id.to_string();
                let sel = id == selected;
                (id, format!("{} {}", p.fields.code, p.fields.name), sel)
            })
            .collect()
    };
    let filter_customer = filter
        .customer_id
        .map(|c| c.to_string())
        .unwrap_or_default();
    let mut filter_customers: Vec<Opt> = customers
        .items
        .iter()
        .map(|c| {
            let id = c.id.0.to_string();
            let sel = id == filter_customer;
            (id, format!("{} {}", c.code, c.fields.name), sel)
        })
        .collect();
    if let Some(id) = filter.customer_id {
        if !filter_customers.iter().any(|o| o.2) {
            let name = names.get(&id).cloned().unwrap_or_default();
            filter_customers.insert(0, (id.to_string(), name, true));
        }
    }
    let page = ListPage {
        c: Chrome::new(u, "contracts", t.t("nav.contracts").to_string()),
        notice,
        pager: Pager::new(page, PER_PAGE, list.total, "/contracts", &keep).exportable(),
        customer_total: customers.total,
        customer_q,
        projects: project_opts(&chosen_project),
        filter_projects: project_opts(
            &filter.project_id.map(|p| p.to_string()).unwrap_or_default(),
        ),
        filter_customers,
        contracts: list
            .items
            .into_iter()
            .map(|c| {
                let name = names
                    .get(&c.fields.customer_id.0)
                    .cloned()
                    .unwrap_or_default();
                (c, name)
            })
            .collect(),
        can_write: may(&u.actor, Action::ContractWrite),
        customers: customers
            .items
            .iter()
            .map(|c| {
                let id = c.id.0.to_string();
                let selected = id == chosen;
                (id, format!("{} {}", c.code, c.fields.name), selected)
            })
            .collect(),
        kinds: choices(
            ContractKind::ALL,
            ContractKind::as_str,
            &t,
            "kind_contract",
            form.get("kind").parse().ok(),
        ),
        v: ["number", "title", "signed_on"]
            .iter()
            .map(|k| (k.to_string(), form.get(k)))
            .collect(),
        errors,
    };
    (status, render(&page)).into_response()
}

/// The contracts as they are filtered, page after page.
async fn export_list(
    s: AppState,
    u: &PageUser,
    query: &HashMap<String, String>,
    format: ListFormat,
) -> Response {
    let t = u.t;
    let num = |k: &str| query.get(k).and_then(|v| v.parse::<i64>().ok());
    let filter = ContractFilter {
        customer_id: num("customer_id"),
        project_id: num("project_id"),
        page: None,
        per_page: None,
    };
    let headers = export::headers(
        t,
        &[
            "contract.number",
            "contract.title",
            "req.customer",
            "contract.kind",
            "standard.version",
            "contract.signed_on",
        ],
    );
    let actor = u.actor.clone();
    export::paged(format, "contracts", headers, move |page| {
        let (s, actor, mut filter) = (s.clone(), actor.clone(), filter.clone());
        async move {
            filter.page = Some(page);
            filter.per_page = Some(export::MAX_PAGE);
            let list = s.store.list_contracts(&actor, &filter).await?;
            let ids: Vec<i64> = list.items.iter().map(|c| c.fields.customer_id.0).collect();
            let names = s.store.customer_names(&actor, &ids).await?;
            let rows = list
                .items
                .into_iter()
                .map(|k| {
                    let f = k.fields;
                    vec![
                        f.number,
                        f.title,
                        names.get(&f.customer_id.0).cloned().unwrap_or_default(),
                        t.label("kind_contract", f.kind.as_str()),
                        k.current_version.to_string(),
                        f.signed_on,
                    ]
                })
                .collect();
            Ok((rows, export::next_page(page, list.total)))
        }
    })
    .await
}

pub async fn list(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(format) = ListFormat::in_map(&q) {
        return export_list(s, &u, &q, format).await;
    }
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let form = FormData(vec![]);
    list_view(
        &s,
        &u,
        page,
        &q,
        &form,
        String::new(),
        HashMap::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn create(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    if let Err(e) = u.actor.require(Action::ContractWrite) {
        return error_page(&u, e.into());
    }
    let mut e = FieldErrors::default();
    let customer = form.get("customer_id").parse().ok().map(CustomerId);
    let kind = form.get("kind").parse().ok();
    if customer.is_none() {
        e.add("customer_id", "required");
    }
    let result = match (customer, kind) {
        (Some(customer_id), Some(kind)) if e.is_empty() => {
            let f = ContractFields {
                customer_id,
                project_id: form.get("project_id").parse().ok(),
                number: form.get("number"),
                title: form.get("title"),
                kind,
                signed_on: form.get("signed_on"),
            };
            s.store.create_contract(&u.actor, f, s.clock.now()).await
        }
        _ => {
            if kind.is_none() {
                e.add("kind", "choice");
            }
            Err(reqloop_store::Error::Invalid(e))
        }
    };
    let (status, notice, errors) = match result {
        Ok(c) => return Redirect::to(&format!("/contracts/{}", c.id)).into_response(),
        Err(reqloop_store::Error::Invalid(errors)) => (
            StatusCode::BAD_REQUEST,
            u.t.t("form.fix_errors").to_string(),
            field_messages(&u.t, &errors),
        ),
        Err(reqloop_store::Error::Duplicate(field)) => {
            let mut errors = HashMap::new();
            errors.insert(field.to_string(), u.t.t("err.duplicate").to_string());
            (
                StatusCode::CONFLICT,
                u.t.t("form.fix_errors").to_string(),
                errors,
            )
        }
        Err(e) => {
            let e = AppError::from(e);
            (e.status, refusal(&u.t, &e), HashMap::new())
        }
    };
    list_view(&s, &u, 1, &HashMap::new(), &form, notice, errors, status).await
}

// ---- one contract: its CBC table ----

#[derive(Template)]
#[template(path = "contract.html")]
struct DetailPage {
    c: Chrome,
    notice: String,
    contract: Contract,
    customer: String,
    table: Option<ContractVersion>,
    versions: Vec<i64>,
    responses: Vec<Opt>,
    can_write: bool,
    can_respond: bool,
    /// The clauses of the version shown, one per line, to start a new version from.
    draft: String,
    orders: Vec<reqloop_store::Order>,
}

impl DetailPage {
    fn label(&self, response: &Option<Answer>) -> String {
        response
            .map(|r| self.c.t.label("cbc", r.as_str()))
            .unwrap_or_else(|| self.c.t.t("cbc.unanswered").to_string())
    }
}

async fn detail_view(
    s: &AppState,
    u: &PageUser,
    id: i64,
    version: Option<i64>,
    notice: String,
    status: StatusCode,
) -> Response {
    let loaded = async {
        let contract = s.store.get_contract(&u.actor, id).await?;
        let table = if contract.current_version == 0 {
            None
        } else {
            Some(s.store.contract_version(&u.actor, id, version).await?)
        };
        let names = s
            .store
            .customer_names(&u.actor, &[contract.fields.customer_id.0])
            .await?;
        let orders = s.store.contract_orders(&u.actor, id).await?;
        Ok::<_, AppError>((contract, table, names, orders))
    }
    .await;
    let (contract, table, names, orders) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let t = u.t;
    let page = DetailPage {
        c: Chrome::new(
            u,
            "contracts",
            format!("{} {}", contract.fields.number, contract.fields.title),
        ),
        notice,
        customer: names
            .get(&contract.fields.customer_id.0)
            .cloned()
            .unwrap_or_default(),
        versions: (1..=contract.current_version).rev().collect(),
        responses: choices(Answer::ALL, Answer::as_str, &t, "cbc", None),
        can_write: may(&u.actor, Action::ContractWrite),
        can_respond: may(&u.actor, Action::ContractRespond)
            && table.as_ref().is_some_and(|v| v.current),
        draft: table
            .as_ref()
            .map(|v| {
                v.lines
                    .iter()
                    .map(|l| format!("{} {}", l.number, l.text))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default(),
        contract,
        table,
        orders,
    };
    (status, render(&page)).into_response()
}

pub async fn detail(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let version = q.get("version").and_then(|v| v.parse().ok());
    detail_view(&s, &u, id, version, String::new(), StatusCode::OK).await
}

/// Where a contract action lands: the contract page, with the refusal above it when refused.
async fn land<T>(
    s: &AppState,
    u: &PageUser,
    id: i64,
    result: Result<T, reqloop_store::Error>,
) -> Response {
    match result {
        Ok(_) => Redirect::to(&format!("/contracts/{id}#cbc")).into_response(),
        Err(reqloop_store::Error::Invalid(errors)) => {
            let messages: Vec<String> = field_messages(&u.t, &errors).into_values().collect();
            detail_view(s, u, id, None, messages.join("；"), StatusCode::BAD_REQUEST).await
        }
        Err(e) => {
            let e = AppError::from(e);
            detail_view(s, u, id, None, refusal(&u.t, &e), e.status).await
        }
    }
}

/// Reads "number text" lines into clauses (the first space separates them).
fn parse_clauses(text: &str) -> Vec<ClauseFields> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (number, text) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            ClauseFields {
                number: number.to_string(),
                text: text.trim().to_string(),
            }
        })
        .collect()
}

pub async fn add_version(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::ContractWrite) {
        return error_page(&u, e.into());
    }
    let v = NewVersion {
        base_version: form.get("base_version").parse().unwrap_or(-1),
        note: form.get("note"),
        clauses: parse_clauses(&form.get("clauses")),
    };
    let result = s
        .store
        .add_contract_version(&u.actor, id, v, s.clock.now())
        .await;
    land(&s, &u, id, result).await
}

pub async fn respond(
    State(s): State<AppState>,
    u: PageUser,
    Path((id, clause)): Path<(i64, i64)>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::ContractRespond) {
        return error_page(&u, e.into());
    }
    let Ok(response) = form.get("response").parse() else {
        let notice = u.t.t("err.choice").to_string();
        return detail_view(&s, &u, id, None, notice, StatusCode::BAD_REQUEST).await;
    };
    let r = ResponseFields {
        response,
        note: form.get("note"),
        responsible_id: None,
    };
    let version = form.get("version").parse().unwrap_or(-1);
    let result = s
        .store
        .respond_to_clause(&u.actor, clause, version, r, s.clock.now())
        .await;
    land(&s, &u, id, result).await
}

pub async fn request_permit(
    State(s): State<AppState>,
    u: PageUser,
    Path((id, clause)): Path<(i64, i64)>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::ContractRespond) {
        return error_page(&u, e.into());
    }
    let result = s
        .store
        .request_permit(&u.actor, clause, &form.get("note"), s.clock.now())
        .await;
    land(&s, &u, id, result).await
}

pub async fn decide_permit(
    State(s): State<AppState>,
    u: PageUser,
    Path((id, permit)): Path<(i64, i64)>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::ContractWrite) {
        return error_page(&u, e.into());
    }
    let d = PermitDecision {
        approved: form.get("approved") == "1",
        decided_on: form.get("decided_on"),
        evidence: form.get("evidence"),
    };
    let result = s
        .store
        .decide_permit(&u.actor, permit, d, s.clock.now())
        .await;
    land(&s, &u, id, result).await
}

/// The CBC table of a version as header and rows (what both exports write).
fn cbc_rows(t: &crate::i18n::Tr, table: &ContractVersion) -> (Vec<String>, Vec<Vec<String>>) {
    let header = [
        "cbc.clause",
        "cbc.text",
        "cbc.response",
        "cbc.note",
        "cbc.permit",
        "cbc.pending",
    ]
    .iter()
    .map(|k| t.t(k).to_string())
    .collect();
    let rows = table
        .lines
        .iter()
        .map(|l| {
            let permit = l
                .permits
                .last()
                .map(|p| t.label("permit", &p.status))
                .unwrap_or_default();
            vec![
                l.number.clone(),
                l.text.clone(),
                l.response
                    .map(|r| t.label("cbc", r.as_str()))
                    .unwrap_or_else(|| t.t("cbc.unanswered").to_string()),
                l.note.clone(),
                permit,
                if l.pending {
                    t.t("cbc.pending").to_string()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    (header, rows)
}

/// The CBC table of a version as CSV (UTF-8 with BOM, opens in Excel).
pub async fn cbc_csv(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let version = q.get("version").and_then(|v| v.parse().ok());
    let table = match s.store.contract_version(&u.actor, id, version).await {
        Ok(t) => t,
        Err(e) => return error_page(&u, e.into()),
    };
    let (header, rows) = cbc_rows(&u.t, &table);
    let mut out = String::from("\u{feff}");
    out.push_str(&export::csv_line(&header));
    for r in &rows {
        out.push_str(&export::csv_line(r));
    }
    let name = format!(
        "attachment; filename=\"cbc-{id}-v{}.csv\"",
        table.version_no
    );
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, name),
        ],
        out,
    )
        .into_response()
}

/// The CBC table of a version as an Excel workbook.
pub async fn cbc_xlsx(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let version = q.get("version").and_then(|v| v.parse().ok());
    let table = match s.store.contract_version(&u.actor, id, version).await {
        Ok(t) => t,
        Err(e) => return error_page(&u, e.into()),
    };
    let (header, rows) = cbc_rows(&u.t, &table);
    match crate::export::xlsx("CBC", &header, &rows) {
        Ok(bytes) => {
            crate::export::download(&format!("cbc-{id}-v{}.xlsx", table.version_no), bytes)
        }
        Err(e) => {
            tracing::error!(error = %e, "cbc workbook");
            error_page(
                &u,
                AppError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "export",
                    "导出失败 / export failed",
                ),
            )
        }
    }
}

#[derive(Template)]
#[template(path = "cbc_pending.html")]
struct PendingPage {
    c: Chrome,
    rows: Vec<PendingClause>,
    pager: Pager,
}

pub async fn pending(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let list = match s
        .store
        .pending_clauses(&u.actor, Some(page), Some(50))
        .await
    {
        Ok(l) => l,
        Err(e) => return error_page(&u, e.into()),
    };
    render(&PendingPage {
        c: Chrome::new(&u, "contracts", u.t.t("cbc.pending_title").to_string()),
        pager: Pager::new(page, 50, list.total, "/cbc-pending", &[]),
        rows: list.items,
    })
}

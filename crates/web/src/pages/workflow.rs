//! Work pages (F9–F11): "my work" (hand-offs to receive, reviews to answer, the department's
//! work plan), the hand-off list, review rounds with their printable report, and the work
//! standard with its versions (editable by administrators).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use reqloop_domain::access::Action;
use reqloop_domain::ids::DepartmentId;
use reqloop_domain::requirement::Stage;
use reqloop_domain::review::{Answer, AnswerFields, Aspect, RoundStatus};
use reqloop_domain::standard::{ControlPointFields, DeadlineUnit, NewStandard, WorkStandard};
use reqloop_domain::time::display_local;
use reqloop_domain::user::{Department, Role};
use reqloop_domain::FieldErrors;
use reqloop_store::{HandoffFilter, ReviewFilter, ReviewRound, StandardVersion, WorkPlanEntry};

use super::requirements::{dept_label, land, refusal, HandoffView};
use super::{error_page, field_messages, filters, may, render, Chrome, FormData, Opt, Pager};
use crate::auth::PageUser;
use crate::error::AppError;
use crate::export::{self, ListFormat};
use crate::AppState;

const PER_PAGE: i64 = 20;

// ---- my work and the hand-off list ----

#[derive(Template)]
#[template(path = "my_work.html")]
struct MyWorkPage {
    c: Chrome,
    notice: String,
    handoffs: Vec<HandoffView>,
    overdue: usize,
    /// Open rounds with an aspect of the viewer's department: (round, aspect labels).
    reviews: Vec<(ReviewRound, String)>,
    plan: Vec<WorkPlanEntry>,
    department: String,
    /// Survey tasks left by closed serious complaints: (task, customer name).
    surveys: Vec<(reqloop_store::SurveyTask, String)>,
    /// Complaints waiting past their 4-hour confirmation.
    unconfirmed: Vec<reqloop_store::Complaint>,
    /// Survey invitations of my customers still unanswered after a reminder.
    reminders: Vec<reqloop_store::Reminder>,
    /// Rectification actions I own that are not evaluated yet.
    actions: Vec<reqloop_store::SurveyAction>,
}

async fn my_work_view(s: &AppState, u: &PageUser, notice: String, status: StatusCode) -> Response {
    let now = s.clock.now();
    let loaded = async {
        let handoffs = s
            .store
            .list_handoffs(
                &u.actor,
                &HandoffFilter {
                    mine: true,
                    per_page: Some(100),
                    ..Default::default()
                },
                now,
            )
            .await?;
        let rounds = s
            .store
            .list_reviews(
                &u.actor,
                &ReviewFilter {
                    status: Some(RoundStatus::Open),
                    // Administrators answer any aspect: all open rounds.
                    department_id: match u.actor.role {
                        Role::Admin => None,
                        _ => Some(u.actor.department_id.map_or(0, |d| d.0)),
                    },
                    per_page: Some(100),
                    ..Default::default()
                },
            )
            .await?;
        let plan = match u.actor.department_id {
            Some(d) => {
                s.store
                    .work_plan(&u.actor, d.0, None, Some(20))
                    .await?
                    .items
            }
            None => vec![],
        };
        let departments = s.store.departments().await?;
        let surveys = if u
            .actor
            .require(reqloop_domain::access::Action::ComplaintHandle)
            .is_ok()
        {
            s.store.survey_tasks(&u.actor).await?
        } else {
            vec![]
        };
        let ids: Vec<i64> = surveys.iter().map(|t| t.customer_id).collect();
        let names = s.store.customer_names(&u.actor, &ids).await?;
        let unconfirmed = s
            .store
            .list_complaints(
                &u.actor,
                &reqloop_store::ComplaintFilter {
                    overdue: Some(true),
                    per_page: Some(20),
                    ..Default::default()
                },
                now,
            )
            .await?
            .items;
        let surveys = surveys
            .into_iter()
            .map(|t| {
                let name = names.get(&t.customer_id).cloned().unwrap_or_default();
                (t, name)
            })
            .collect();
        let reminders = s.store.survey_reminders(&u.actor).await?;
        let mut actions = Vec::new();
        for status in [
            reqloop_domain::rectification::ActionState::Published,
            reqloop_domain::rectification::ActionState::Rectifying,
            reqloop_domain::rectification::ActionState::Replied,
        ] {
            actions.extend(
                s.store
                    .list_survey_actions(&reqloop_store::ActionFilter {
                        status: Some(status),
                        owner_id: Some(u.actor.user_id.0),
                        per_page: Some(20),
                        ..Default::default()
                    })
                    .await?
                    .items,
            );
        }
        Ok::<_, AppError>((
            handoffs,
            rounds,
            plan,
            departments,
            (surveys, unconfirmed, reminders, actions),
        ))
    }
    .await;
    let (handoffs, rounds, plan, departments, (surveys, unconfirmed, reminders, actions)) =
        match loaded {
            Ok(v) => v,
            Err(e) => return error_page(u, e),
        };
    let mine = |a: &Aspect| my_aspect(&u.actor, &departments, *a);
    let reviews = rounds
        .items
        .into_iter()
        .map(|r| {
            let labels: Vec<String> = r
                .aspects
                .iter()
                .filter(|a| mine(a))
                .map(|a| u.t.label("aspect", a.as_str()))
                .collect();
            (r, labels.join("、"))
        })
        .collect();
    let handoffs: Vec<HandoffView> = handoffs
        .items
        .into_iter()
        .map(|h| HandoffView::new(h, u, &departments))
        .collect();
    let page = MyWorkPage {
        c: Chrome::new(u, "my_work", u.t.t("nav.my_work").to_string()),
        notice,
        overdue: handoffs.iter().filter(|h| h.h.overdue).count(),
        handoffs,
        reviews,
        plan,
        department: u
            .actor
            .department_id
            .map(|d| dept_label(&u.t, &departments, d))
            .unwrap_or_default(),
        surveys,
        unconfirmed,
        reminders,
        actions,
    };
    (status, render(&page)).into_response()
}

/// Whether the actor answers the aspect (`review::answers`, the rule answering checks).
fn my_aspect(actor: &reqloop_domain::access::Actor, departments: &[Department], a: Aspect) -> bool {
    let aspect_department = departments
        .iter()
        .find(|d| d.code == a.department_code())
        .map(|d| d.id);
    reqloop_domain::review::answers(
        aspect_department,
        actor.department_id,
        actor.role == Role::Admin,
    )
}

pub async fn my_work(State(s): State<AppState>, u: PageUser) -> Response {
    my_work_view(&s, &u, String::new(), StatusCode::OK).await
}

#[derive(Template)]
#[template(path = "handoffs.html")]
struct HandoffsPage {
    c: Chrome,
    handoffs: Vec<HandoffView>,
    pager: Pager,
    mine: bool,
    overdue: bool,
    statuses: Vec<Opt>,
    departments: Vec<Opt>,
}

/// The hand-offs as they are filtered, page after page.
async fn export_handoffs(
    s: AppState,
    u: &PageUser,
    filter: HandoffFilter,
    format: ListFormat,
) -> Response {
    let t = u.t;
    let headers = export::headers(
        t,
        &[
            "req.code",
            "req.title",
            "req.stage",
            "handoff.station",
            "handoff.work",
            "handoff.receiver",
            "handoff.output",
            "handoff.due",
            "handoff.status",
            "ledger.overdue",
        ],
    );
    let actor = u.actor.clone();
    export::paged(format, "handoffs", headers, move |page| {
        let (s, actor, mut filter) = (s.clone(), actor.clone(), filter.clone());
        async move {
            filter.page = Some(page);
            filter.per_page = Some(export::MAX_PAGE);
            let list = s
                .store
                .list_handoffs(&actor, &filter, s.clock.now())
                .await?;
            let rows = list
                .items
                .into_iter()
                .map(|h| {
                    vec![
                        h.requirement_code,
                        h.requirement_title,
                        t.label("stage", h.stage.as_str()),
                        h.station,
                        h.work_content,
                        h.receiver_name.unwrap_or_default(),
                        h.output_record,
                        display_local(&h.due_at),
                        t.label("handoff", h.status.as_str()),
                        if h.overdue {
                            t.t("ledger.overdue").to_string()
                        } else {
                            String::new()
                        },
                    ]
                })
                .collect();
            Ok((rows, export::next_page(page, list.total)))
        }
    })
    .await
}

pub async fn handoffs(
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
    let page: i64 = get("page").parse().unwrap_or(1);
    let status = match get("status").as_str() {
        "" => "pending".to_string(),
        other => other.to_string(),
    };
    let filter = HandoffFilter {
        mine: get("mine") == "1",
        overdue: get("overdue") == "1",
        department_id: get("department_id").parse().ok(),
        status: Some(status.clone()),
        page: Some(page),
        per_page: Some(PER_PAGE),
        requirement_id: None,
    };
    if let Some(format) = ListFormat::of(&q) {
        return export_handoffs(s, &u, filter, format).await;
    }
    let loaded = async {
        let list = s
            .store
            .list_handoffs(&u.actor, &filter, s.clock.now())
            .await?;
        let departments = s.store.departments().await?;
        Ok::<_, AppError>((list, departments))
    }
    .await;
    let (list, departments) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(&u, e),
    };
    let keep: Vec<(String, String)> = q.iter().filter(|(k, _)| k != "page").cloned().collect();
    let t = u.t;
    let statuses = [
        "pending",
        "open",
        "acknowledged",
        "completed",
        "cancelled",
        "all",
    ]
    .iter()
    .map(|v| (v.to_string(), t.label("handoff", v), *v == status))
    .collect();
    let page = HandoffsPage {
        c: Chrome::new(&u, "handoffs", t.t("nav.handoffs").to_string()),
        pager: Pager::new(page, PER_PAGE, list.total, "/handoffs", &keep).exportable(),
        mine: filter.mine,
        overdue: filter.overdue,
        statuses,
        departments: departments
            .iter()
            .map(|d| {
                (
                    d.id.0.to_string(),
                    dept_label(&t, &departments, d.id),
                    Some(d.id.0) == filter.department_id,
                )
            })
            .collect(),
        handoffs: list
            .items
            .into_iter()
            .map(|h| HandoffView::new(h, &u, &departments))
            .collect(),
    };
    render(&page)
}

/// Where a hand-off action lands: back on the requirement page it came from, else "my work".
async fn land_handoff<T>(
    s: &AppState,
    u: &PageUser,
    form: &FormData,
    result: Result<T, reqloop_store::Error>,
) -> Response {
    if let Ok(rid) = form.get("requirement_id").parse::<i64>() {
        let to = format!("/requirements/{rid}#handoffs");
        return land(s, u, rid, result, &to, "form.fix_errors").await;
    }
    match result {
        Ok(_) => Redirect::to("/my-work").into_response(),
        Err(e) => {
            let (status, notice) = refused(u, e);
            my_work_view(s, u, notice, status).await
        }
    }
}

/// A refused action as the notice above the page (field messages joined) and its status.
fn refused(u: &PageUser, e: reqloop_store::Error) -> (StatusCode, String) {
    match e {
        reqloop_store::Error::Invalid(errors) => {
            let messages: Vec<String> = field_messages(&u.t, &errors).into_values().collect();
            (StatusCode::BAD_REQUEST, messages.join("；"))
        }
        e => {
            let e = AppError::from(e);
            (e.status, refusal(&u.t, &e))
        }
    }
}

fn version_of(form: &FormData) -> Option<i64> {
    form.get("version").parse().ok()
}

pub async fn acknowledge(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    let result = s
        .store
        .acknowledge_handoff(&u.actor, id, version_of(&form), s.clock.now())
        .await;
    land_handoff(&s, &u, &form, result).await
}

pub async fn complete(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    let note = form.get("output_note");
    let result = s
        .store
        .complete_handoff(&u.actor, id, version_of(&form), &note, s.clock.now())
        .await;
    land_handoff(&s, &u, &form, result).await
}

// ---- review rounds ----

#[derive(Template)]
#[template(path = "reviews.html")]
struct ReviewsPage {
    c: Chrome,
    rounds: Vec<ReviewRound>,
    pager: Pager,
    statuses: Vec<Opt>,
}

pub async fn reviews(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let page: i64 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let status: Option<RoundStatus> = q.get("status").and_then(|v| v.parse().ok());
    let filter = ReviewFilter {
        status,
        page: Some(page),
        per_page: Some(PER_PAGE),
        ..Default::default()
    };
    let list = match s.store.list_reviews(&u.actor, &filter).await {
        Ok(l) => l,
        Err(e) => return error_page(&u, e.into()),
    };
    let keep: Vec<(String, String)> = q
        .iter()
        .filter(|(k, _)| *k != "page")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let t = u.t;
    let page = ReviewsPage {
        c: Chrome::new(&u, "reviews", t.t("nav.reviews").to_string()),
        pager: Pager::new(page, PER_PAGE, list.total, "/reviews", &keep),
        statuses: super::choices(RoundStatus::ALL, RoundStatus::as_str, &t, "round", status),
        rounds: list.items,
    };
    render(&page)
}

/// One cell of the review matrix: an item × an aspect.
pub struct Cell {
    pub aspect: String,
    /// The answer given: (answer, label, note, by, at).
    pub answer: Option<(String, String, String, String, String)>,
    /// The viewer may answer it now.
    pub can_answer: bool,
}

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage {
    c: Chrome,
    notice: String,
    round: ReviewRound,
    conclusion_label: String,
    aspect_labels: Vec<String>,
    /// Per item: (number, description, acceptance criterion, cells).
    rows: Vec<(usize, i64, String, String, Vec<Cell>)>,
    answers: Vec<Opt>,
    /// Time nodes: (when, what).
    nodes: Vec<(String, String)>,
    can_quality: bool,
    can_approve: bool,
}

async fn review_view(
    s: &AppState,
    u: &PageUser,
    id: i64,
    notice: String,
    status: StatusCode,
) -> Response {
    let loaded = async {
        let round = s.store.review_round(&u.actor, id).await?;
        let departments = s.store.departments().await?;
        Ok::<_, AppError>((round, departments))
    }
    .await;
    let (round, departments) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let t = u.t;
    let open = round.status == RoundStatus::Open;
    let may_answer = may(&u.actor, Action::ReviewAnswer) && open;
    let rows = round
        .items
        .iter()
        .enumerate()
        .map(|(n, item)| {
            let cells = round
                .aspects
                .iter()
                .map(|a| {
                    let given = round
                        .answers
                        .iter()
                        .find(|x| x.item_id == item.id && x.aspect == *a);
                    Cell {
                        aspect: a.as_str().into(),
                        can_answer: given.is_none()
                            && may_answer
                            && my_aspect(&u.actor, &departments, *a),
                        answer: given.map(|x| {
                            (
                                x.answer.as_str().to_string(),
                                t.label("answer", x.answer.as_str()),
                                x.note.clone(),
                                x.answered_by.clone(),
                                display_local(&x.answered_at),
                            )
                        }),
                    }
                })
                .collect();
            (
                n + 1,
                item.id,
                item.fields.description.clone(),
                item.fields.acceptance_criterion.clone(),
                cells,
            )
        })
        .collect();
    let mut nodes = vec![(
        display_local(&round.created_at),
        format!("{} · {}", t.t("review.node_started"), round.created_by),
    )];
    if let Some(last) = round.answers.iter().map(|a| a.answered_at.as_str()).max() {
        nodes.push((
            display_local(last),
            t.t("review.node_last_answer").to_string(),
        ));
    }
    if let (Some(at), Some(by)) = (&round.quality_at, &round.quality_by) {
        nodes.push((
            display_local(at),
            format!(
                "{} · {by} · {}",
                t.t("review.node_quality"),
                round.quality_note
            ),
        ));
    }
    if let (Some(at), Some(by)) = (&round.approved_at, &round.approved_by) {
        nodes.push((
            display_local(at),
            format!("{} · {by}", t.t("review.node_approved")),
        ));
    }
    let page = ReviewPage {
        c: Chrome::new(
            u,
            "reviews",
            format!("{} {}", t.t("review.report_title"), round.requirement_code),
        ),
        notice,
        conclusion_label: t.label("conclusion", round.conclusion.as_str()),
        aspect_labels: round
            .aspects
            .iter()
            .map(|a| t.label("aspect", a.as_str()))
            .collect(),
        rows,
        answers: super::choices(Answer::ALL, Answer::as_str, &t, "answer", None),
        nodes,
        can_quality: open && round.quality_required && may(&u.actor, Action::QualityReview),
        can_approve: open && may(&u.actor, Action::ReviewApprove),
        round,
    };
    (status, render(&page)).into_response()
}

pub async fn review_page(State(s): State<AppState>, u: PageUser, Path(id): Path<i64>) -> Response {
    review_view(&s, &u, id, String::new(), StatusCode::OK).await
}

/// Where a review action lands: the review page, with the refusal above it when refused.
async fn land_review<T>(
    s: &AppState,
    u: &PageUser,
    id: i64,
    result: Result<T, reqloop_store::Error>,
) -> Response {
    match result {
        Ok(_) => Redirect::to(&format!("/reviews/{id}")).into_response(),
        Err(e) => {
            let (status, notice) = refused(u, e);
            review_view(s, u, id, notice, status).await
        }
    }
}

/// Starts a round from the requirement page (aspects ticked; all when none).
pub async fn start_review(
    State(s): State<AppState>,
    u: PageUser,
    Path(rid): Path<i64>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::ReviewStart) {
        return error_page(&u, e.into());
    }
    let aspects = form
        .all("aspects")
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect();
    let new = reqloop_store::NewReview {
        requirement_id: rid,
        aspects,
    };
    match s.store.start_review(&u.actor, new, s.clock.now()).await {
        Ok(round) => Redirect::to(&format!("/reviews/{}", round.id)).into_response(),
        Err(e) => land::<()>(&s, &u, rid, Err(e), "", "form.fix_errors").await,
    }
}

pub async fn answer(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::ReviewAnswer) {
        return error_page(&u, e.into());
    }
    let (Ok(item_id), Ok(aspect), Ok(answer)) = (
        form.get("item_id").parse::<i64>(),
        form.get("aspect").parse::<Aspect>(),
        form.get("answer").parse::<Answer>(),
    ) else {
        let notice = u.t.t("err.choice").to_string();
        return review_view(&s, &u, id, notice, StatusCode::BAD_REQUEST).await;
    };
    let a = AnswerFields {
        item_id,
        aspect,
        answer,
        note: form.get("note"),
    };
    let result = s.store.answer_review(&u.actor, id, a, s.clock.now()).await;
    land_review(&s, &u, id, result).await
}

pub async fn quality_review(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::QualityReview) {
        return error_page(&u, e.into());
    }
    let result = s
        .store
        .quality_review(&u.actor, id, &form.get("note"), s.clock.now())
        .await;
    land_review(&s, &u, id, result).await
}

pub async fn approve(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::ReviewApprove) {
        return error_page(&u, e.into());
    }
    let result = s
        .store
        .approve_review(&u.actor, id, version_of(&form), s.clock.now())
        .await;
    land_review(&s, &u, id, result).await
}

// ---- the work standard ----

/// A control point row of the page: the fields as text, for display and for the edit form.
pub struct PointRow {
    pub stage: String,
    pub stage_label: String,
    pub v: ControlPointFields,
    pub department: String,
    pub input_department: String,
    pub receiver: String,
    pub unit_label: String,
}

#[derive(Template)]
#[template(path = "standard.html")]
struct StandardPage {
    c: Chrome,
    notice: String,
    standard: WorkStandard,
    current: bool,
    versions: Vec<StandardVersion>,
    rows: Vec<PointRow>,
    can_edit: bool,
    stages: Vec<Opt>,
    departments: Vec<Opt>,
    units: Vec<Opt>,
    errors: HashMap<String, String>,
    /// The rows of the edit form: the points as submitted when a save was refused, else the
    /// standard's points; and one blank row to add a point.
    form_rows: Vec<ControlPointFields>,
}

impl StandardPage {
    fn err(&self, i: &usize, field: &str) -> &str {
        self.errors
            .get(&format!("points[{i}].{field}"))
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// The edit form's rows: `draft` or the standard's points, then a blank row.
fn form_rows(
    standard: &WorkStandard,
    draft: Option<Vec<ControlPointFields>>,
) -> Vec<ControlPointFields> {
    let mut rows =
        draft.unwrap_or_else(|| standard.points.iter().map(|p| p.fields.clone()).collect());
    rows.push(ControlPointFields {
        stage: Stage::Identification,
        department_id: DepartmentId(0),
        station: String::new(),
        work_content: String::new(),
        deadline_value: 1,
        deadline_unit: DeadlineUnit::WorkingDays,
        input_record: String::new(),
        input_department_id: None,
        output_record: String::new(),
        receiver_department_id: DepartmentId(0),
        plan_conversion: String::new(),
    });
    rows
}

async fn standard_view(
    s: &AppState,
    u: &PageUser,
    version: Option<i64>,
    notice: String,
    errors: HashMap<String, String>,
    draft: Option<Vec<ControlPointFields>>,
    status: StatusCode,
) -> Response {
    let loaded = async {
        let standard = s.store.work_standard(version).await?;
        let versions = s.store.standard_versions().await?;
        let departments = s.store.departments().await?;
        Ok::<_, AppError>((standard, versions, departments))
    }
    .await;
    let (standard, versions, departments) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let t = u.t;
    let name = |d: DepartmentId| dept_label(&t, &departments, d);
    let rows = standard
        .points
        .iter()
        .map(|p| PointRow {
            stage: p.fields.stage.as_str().into(),
            stage_label: t.label("stage", p.fields.stage.as_str()),
            department: name(p.fields.department_id),
            input_department: p
                .fields
                .input_department_id
                .map(name)
                .unwrap_or_else(|| t.t("standard.from_customer").to_string()),
            receiver: name(p.fields.receiver_department_id),
            unit_label: t.label("unit", p.fields.deadline_unit.as_str()),
            v: p.fields.clone(),
        })
        .collect();
    let current = versions.first().map(|v| v.version_no) == Some(standard.version_no);
    let page = StandardPage {
        c: Chrome::new(u, "standard", t.t("nav.standard").to_string()),
        notice,
        current,
        can_edit: current && may(&u.actor, Action::SettingsManage),
        stages: Stage::ALL
            .iter()
            .filter(|s| **s != Stage::Closed)
            .map(|s| (s.as_str().into(), t.label("stage", s.as_str()), false))
            .collect(),
        departments: departments
            .iter()
            .map(|d| (d.id.0.to_string(), name(d.id), false))
            .collect(),
        units: super::choices(DeadlineUnit::ALL, DeadlineUnit::as_str, &t, "unit", None),
        rows,
        versions,
        form_rows: form_rows(&standard, draft),
        standard,
        errors,
    };
    (status, render(&page)).into_response()
}

pub async fn standard_page(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let version = q.get("version").and_then(|v| v.parse().ok());
    standard_view(
        &s,
        &u,
        version,
        String::new(),
        HashMap::new(),
        None,
        StatusCode::OK,
    )
    .await
}

/// Reads the edit form: rows `points[i].field`; a row without station and work content is
/// skipped (the blank row), a row with `points[i].remove` ticked is dropped.
fn parse_points(form: &FormData) -> (Vec<ControlPointFields>, FieldErrors) {
    let mut e = FieldErrors::default();
    let mut points = Vec::new();
    for i in 0..=200 {
        let get = |f: &str| form.get(&format!("points[{i}].{f}"));
        if form
            .0
            .iter()
            .all(|(k, _)| !k.starts_with(&format!("points[{i}].")))
        {
            break;
        }
        if get("remove") == "1"
            || (get("station").trim().is_empty() && get("work_content").trim().is_empty())
        {
            continue;
        }
        let n = points.len();
        let mut pick = |f: &str| -> Option<i64> {
            let v = get(f).parse().ok();
            if v.is_none() {
                e.add(format!("points[{n}].{f}"), "choice");
            }
            v
        };
        let department = pick("department_id");
        let receiver = pick("receiver_department_id");
        let value = pick("deadline_value");
        let (Ok(stage), Ok(unit), Some(department), Some(receiver), Some(value)) = (
            get("stage").parse::<Stage>(),
            get("deadline_unit").parse::<DeadlineUnit>(),
            department,
            receiver,
            value,
        ) else {
            e.add(format!("points[{n}].stage"), "choice");
            continue;
        };
        points.push(ControlPointFields {
            stage,
            department_id: DepartmentId(department),
            station: get("station"),
            work_content: get("work_content"),
            deadline_value: value,
            deadline_unit: unit,
            input_record: get("input_record"),
            input_department_id: get("input_department_id").parse().ok().map(DepartmentId),
            output_record: get("output_record"),
            receiver_department_id: DepartmentId(receiver),
            plan_conversion: get("plan_conversion"),
        });
    }
    (points, e)
}

pub async fn save_standard(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    if let Err(e) = u.actor.require(Action::SettingsManage) {
        return error_page(&u, e.into());
    }
    let (points, parse_errors) = parse_points(&form);
    let new = NewStandard {
        base_version: form.get("base_version").parse().unwrap_or(0),
        note: form.get("note"),
        points: points.clone(),
    };
    let result = if parse_errors.is_empty() {
        s.store.save_standard(&u.actor, new, s.clock.now()).await
    } else {
        Err(reqloop_store::Error::Invalid(parse_errors))
    };
    let (notice, errors, status) = match result {
        Ok(_) => return Redirect::to("/work-standard").into_response(),
        Err(reqloop_store::Error::Invalid(errors)) => (
            u.t.t("form.fix_errors").to_string(),
            field_messages(&u.t, &errors),
            StatusCode::BAD_REQUEST,
        ),
        Err(e) => {
            let e = AppError::from(e);
            (refusal(&u.t, &e), HashMap::new(), e.status)
        }
    };
    standard_view(&s, &u, None, notice, errors, Some(points), status).await
}

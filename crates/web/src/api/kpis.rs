//! `/api/v1/kpis` (F23): the KPIs of a period — response timeliness, completion and
//! satisfaction — by department, person or customer with the twelve-month trend, and the weekly
//! check list (003§5.3).

use axum::extract::State;
use axum::Json;
use reqloop_store::{KpiQuery, KpiReport, WeekQuery, WeeklyCheck};

use super::ApiQuery;
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

/// The KPIs of a period in the reader's scope (an account manager: their own; a department
/// reviewer: their department). `items` are the rows by `by` (a page of them), `total` how many
/// rows there are; `totals` the period as a whole; `trend` the twelve months to its end. Each
/// row carries its counts and the rates: `timeliness` = on_time ÷ (on_time + late), `completion`
/// = completed ÷ received (of the requirements received in the period), `satisfied` = answers
/// scoring 4–5 ÷ answers, with `scores` (the distribution) and `mean` beside it.
#[utoipa::path(get, path = "/api/v1/kpis", tag = "kpis", params(KpiQuery),
    responses((status = 200, body = KpiReport), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn report(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(q): ApiQuery<KpiQuery>,
) -> Result<Json<KpiReport>, AppError> {
    Ok(Json(s.store.kpis(&actor, &q, s.clock.now()).await?))
}

/// The weekly check of requirement progress: the week's intake and closures, requirements whose
/// response time ran out, those running out this week, those waiting for the customer (up to 50
/// each, grade A first) and overdue hand-offs per department.
#[utoipa::path(get, path = "/api/v1/kpis/weekly", tag = "kpis", params(WeekQuery),
    responses((status = 200, body = WeeklyCheck), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn weekly(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(q): ApiQuery<WeekQuery>,
) -> Result<Json<WeeklyCheck>, AppError> {
    Ok(Json(s.store.weekly_check(&actor, &q, s.clock.now()).await?))
}

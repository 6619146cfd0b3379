//! `/api/v1/calendar` (F22): the working calendar — business hours and each year's statutory
//! holidays and make-up working days (built in from the State Council's notices; administrators
//! save or import a year) — and working-time arithmetic on it.

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use reqloop_domain::access::Action;
use reqloop_domain::calendar::BusinessHours;
use reqloop_store::{CalendarYear, CalendarYearFields};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiJson, ApiQuery};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

#[derive(Serialize, ToSchema)]
pub struct CalendarOverview {
    /// `[start, end)` minutes after local midnight.
    #[schema(value_type = Vec<Vec<u32>>)]
    pub hours: BusinessHours,
    pub years: Vec<CalendarYear>,
}

#[utoipa::path(get, path = "/api/v1/calendar", tag = "calendar",
    responses((status = 200, body = CalendarOverview)))]
pub async fn overview(
    State(s): State<AppState>,
    ApiUser(_actor): ApiUser,
) -> Result<Json<CalendarOverview>, AppError> {
    Ok(Json(CalendarOverview {
        hours: s.store.business_hours().await?,
        years: s.store.calendar_years().await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/calendar/{year}", tag = "calendar", params(("year" = i32, Path)),
    responses((status = 200, body = CalendarYear)))]
pub async fn year(
    State(s): State<AppState>,
    ApiUser(_actor): ApiUser,
    Path(year): Path<i32>,
) -> Result<Json<CalendarYear>, AppError> {
    Ok(Json(s.store.calendar_year(year).await?))
}

/// Saves or imports a year (administrators): every date in the year, none both a holiday and
/// a working day; `version` 0 replaces the built-in year. Stale: 409.
#[utoipa::path(put, path = "/api/v1/calendar/{year}", tag = "calendar", params(("year" = i32, Path)),
    request_body = CalendarYearFields,
    responses((status = 200, body = CalendarYear), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn save_year(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(year): Path<i32>,
    ApiJson(f): ApiJson<CalendarYearFields>,
) -> Result<Json<CalendarYear>, AppError> {
    actor.require(Action::SettingsManage)?;
    Ok(Json(
        s.store
            .save_calendar_year(&actor, year, f, s.clock.now())
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoursRequest {
    /// `[[510, 720], [780, 1050]]`: 08:30–12:00 and 13:00–17:30.
    #[schema(value_type = Vec<Vec<u32>>)]
    pub hours: BusinessHours,
}

#[utoipa::path(put, path = "/api/v1/calendar-hours", tag = "calendar", request_body = HoursRequest,
    responses((status = 200, body = CalendarOverview), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn save_hours(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(r): ApiJson<HoursRequest>,
) -> Result<Json<CalendarOverview>, AppError> {
    actor.require(Action::SettingsManage)?;
    let hours = s
        .store
        .set_business_hours(&actor, r.hours, s.clock.now())
        .await?;
    Ok(Json(CalendarOverview {
        hours,
        years: s.store.calendar_years().await?,
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WorkingTimeQuery {
    /// RFC 3339.
    #[param(value_type = String)]
    pub start: DateTime<Utc>,
    /// Working minutes to add.
    #[serde(default)]
    pub minutes: Option<i64>,
    /// RFC 3339: measure the working minutes from `start` to here instead.
    #[serde(default)]
    #[param(value_type = Option<String>)]
    pub end: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct WorkingTime {
    #[schema(value_type = String)]
    pub start: DateTime<Utc>,
    /// The due instant (or the `end` asked about); none when the calendar has no working time.
    #[schema(value_type = Option<String>)]
    pub end: Option<DateTime<Utc>>,
    pub minutes: i64,
}

/// Working-time arithmetic on the configured calendar: `start` + `minutes` (the due instant),
/// or the working minutes between `start` and `end`.
#[utoipa::path(get, path = "/api/v1/working-time", tag = "calendar", params(WorkingTimeQuery),
    responses((status = 200, body = WorkingTime), (status = 400, body = super::ErrorBody)))]
pub async fn working_time(
    State(s): State<AppState>,
    ApiUser(_actor): ApiUser,
    ApiQuery(q): ApiQuery<WorkingTimeQuery>,
) -> Result<Json<WorkingTime>, AppError> {
    let c = s.store.working_calendar().await?;
    let field = |f: &'static str, code: &'static str| -> AppError {
        reqloop_store::Error::field(f, code).into()
    };
    match (q.minutes, q.end) {
        (Some(m), None) if (0..=1_000_000).contains(&m) => Ok(Json(WorkingTime {
            start: q.start,
            end: c.add_minutes(q.start, m),
            minutes: m,
        })),
        (None, Some(end)) => Ok(Json(WorkingTime {
            start: q.start,
            end: Some(end),
            minutes: c.minutes_between(q.start, end),
        })),
        (Some(_), None) => Err(field("minutes", "range")),
        _ => Err(field("minutes", "minutes_or_end")),
    }
}

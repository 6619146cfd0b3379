//! The working calendar page (F22): a year's months with its holidays and make-up working days,
//! the business hours, and for administrators the forms that save or import a year (days typed
//! as the notice lists them, ranges allowed) and set the hours.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate};
use reqloop_domain::access::Action;
use reqloop_domain::calendar::{parse_days, BusinessHours, Calendar};
use reqloop_store::{CalendarYear, CalendarYearFields};

use super::requirements::refusal;
use super::{error_page, field_messages, filters, may, render, Chrome, FormData};
use crate::auth::PageUser;
use crate::error::AppError;
use crate::AppState;

/// One day cell: (day of month or 0 for padding, kind: `work`, `off`, `holiday`, `makeup`).
type Cell = (u32, &'static str);

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage {
    c: Chrome,
    notice: String,
    year: i32,
    y: CalendarYear,
    years: Vec<i32>,
    hours: String,
    /// Per month: its number and its weeks of cells (Monday first).
    months: Vec<(u32, Vec<Vec<Cell>>)>,
    can_edit: bool,
    holidays_text: String,
    workdays_text: String,
    source: String,
    errors: HashMap<String, String>,
}

impl CalendarPage {
    fn err(&self, f: &str) -> &str {
        self.errors.get(f).map(String::as_str).unwrap_or("")
    }
}

fn hours_text(h: &BusinessHours) -> String {
    h.0.iter()
        .map(|(a, b)| format!("{:02}:{:02}-{:02}:{:02}", a / 60, a % 60, b / 60, b % 60))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `08:30-12:00, 13:00-17:30` → minutes; `None` when unreadable.
fn parse_hours(text: &str) -> Option<BusinessHours> {
    let minutes = |s: &str| {
        let (h, m) = s.trim().split_once(':')?;
        Some(h.trim().parse::<u32>().ok()? * 60 + m.trim().parse::<u32>().ok()?)
    };
    text.split([',', '，', ';'])
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (a, b) = p.split_once(['-', '–', '~'])?;
            Some((minutes(a)?, minutes(b)?))
        })
        .collect::<Option<Vec<_>>>()
        .map(BusinessHours)
}

fn months(c: &Calendar, y: &CalendarYear) -> Vec<(u32, Vec<Vec<Cell>>)> {
    (1..=12)
        .filter_map(|m| {
            let first = NaiveDate::from_ymd_opt(y.year, m, 1)?;
            let mut weeks = vec![];
            let mut week: Vec<Cell> =
                vec![(0, ""); first.weekday().num_days_from_monday() as usize];
            for d in first.iter_days().take_while(|d| d.month() == m) {
                let s = d.to_string();
                let kind = if y.workdays.contains(&s) {
                    "makeup"
                } else if y.holidays.contains(&s) {
                    "holiday"
                } else if c.is_working_day(d) {
                    "work"
                } else {
                    "off"
                };
                week.push((d.day(), kind));
                if week.len() == 7 {
                    weeks.push(std::mem::take(&mut week));
                }
            }
            if !week.is_empty() {
                week.resize(7, (0, ""));
                weeks.push(week);
            }
            Some((m, weeks))
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn view(
    s: &AppState,
    u: &PageUser,
    year: i32,
    notice: String,
    typed: Option<(String, String, String)>,
    errors: HashMap<String, String>,
    status: StatusCode,
) -> Response {
    let loaded = async {
        let y = s.store.calendar_year(year).await?;
        let years = s.store.calendar_years().await?;
        let c = s.store.working_calendar().await?;
        Ok::<_, AppError>((y, years, c))
    }
    .await;
    let (y, years, c) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let (holidays_text, workdays_text, source) = typed.unwrap_or_else(|| {
        (
            y.holidays.join("\n"),
            y.workdays.join("\n"),
            y.source.clone(),
        )
    });
    let mut list: Vec<i32> = years.iter().map(|y| y.year).collect();
    if !list.contains(&year) {
        list.push(year);
        list.sort();
    }
    let page = CalendarPage {
        c: Chrome::new(u, "calendar", u.t.t("nav.calendar").to_string()),
        notice,
        year,
        months: months(&c, &y),
        hours: hours_text(&c.hours),
        y,
        years: list,
        can_edit: may(&u.actor, Action::SettingsManage),
        holidays_text,
        workdays_text,
        source,
        errors,
    };
    (status, render(&page)).into_response()
}

fn year_of(s: &AppState, q: &HashMap<String, String>) -> i32 {
    q.get("year")
        .and_then(|y| y.parse().ok())
        .filter(|y| (2000..=2100).contains(y))
        .unwrap_or_else(|| reqloop_domain::time::shanghai_date(s.clock.now()).year())
}

pub async fn show(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let year = year_of(&s, &q);
    view(
        &s,
        &u,
        year,
        String::new(),
        None,
        HashMap::new(),
        StatusCode::OK,
    )
    .await
}

/// Saves (imports) the year typed in the form.
pub async fn save(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    if let Err(e) = u.actor.require(Action::SettingsManage) {
        return error_page(&u, e.into());
    }
    let year: i32 = form.get("year").parse().unwrap_or(0);
    let typed = (
        form.get("holidays"),
        form.get("workdays"),
        form.get("source"),
    );
    let parsed = parse_days(&typed.0, "holidays")
        .and_then(|h| parse_days(&typed.1, "workdays").map(|w| (h, w)));
    let result = match parsed {
        Ok((holidays, workdays)) => {
            s.store
                .save_calendar_year(
                    &u.actor,
                    year,
                    CalendarYearFields {
                        version: form.get("version").parse().unwrap_or(-1),
                        holidays,
                        workdays,
                        source: typed.2.clone(),
                    },
                    s.clock.now(),
                )
                .await
        }
        Err(e) => Err(reqloop_store::Error::Invalid(e)),
    };
    let (status, notice, errors) = match result {
        Ok(_) => return Redirect::to(&format!("/calendar?year={year}")).into_response(),
        Err(reqloop_store::Error::Invalid(e)) => (
            StatusCode::BAD_REQUEST,
            u.t.t("form.fix_errors").to_string(),
            // `holidays[3]` / `holidays.line2` show beside the holidays box.
            field_messages(&u.t, &e)
                .into_iter()
                .map(|(k, v)| {
                    let field = k.split(['[', '.']).next().unwrap_or("").to_string();
                    (field, format!("{k}: {v}"))
                })
                .collect(),
        ),
        Err(e) => {
            let e = AppError::from(e);
            (e.status, refusal(&u.t, &e), HashMap::new())
        }
    };
    view(&s, &u, year, notice, Some(typed), errors, status).await
}

pub async fn save_hours(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    if let Err(e) = u.actor.require(Action::SettingsManage) {
        return error_page(&u, e.into());
    }
    let year: i32 = form.get("year").parse().unwrap_or(2026);
    let result = match parse_hours(&form.get("hours")) {
        Some(h) => s.store.set_business_hours(&u.actor, h, s.clock.now()).await,
        None => Err(reqloop_store::Error::field("hours", "hours")),
    };
    match result {
        Ok(_) => Redirect::to(&format!("/calendar?year={year}")).into_response(),
        Err(e) => {
            let mut errors = HashMap::new();
            errors.insert("hours".to_string(), u.t.t("err.hours").to_string());
            let status = AppError::from(e).status;
            view(
                &s,
                &u,
                year,
                u.t.t("form.fix_errors").to_string(),
                None,
                errors,
                status,
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hours_read_as_typed() {
        let h = super::parse_hours("08:30-12:00, 13:00–17:30").unwrap();
        assert_eq!(h.0, vec![(510, 720), (780, 1050)]);
        assert_eq!(super::hours_text(&h), "08:30-12:00, 13:00-17:30");
        assert!(super::parse_hours("8点到12点").is_none());
    }
}

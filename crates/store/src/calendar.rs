//! The working calendar as configured (F22): the built-in years of the State Council's notices,
//! overlaid by the years an administrator saved or imported, and the business hours. Deadlines
//! are counted on `working_calendar()`.

use chrono::{DateTime, Utc};
use reqloop_domain::access::Actor;
use reqloop_domain::calendar::{self, BusinessHours, Calendar, YearDays};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

use crate::{Error, Result, Store, Who};

/// One year of the calendar.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarYear {
    pub year: i32,
    /// 0 while the year is the built-in one (save with version 0 to replace it).
    pub version: i64,
    pub holidays: Vec<String>,
    pub workdays: Vec<String>,
    /// Where the days come from, e.g. the notice's number.
    pub source: String,
    /// No saved year: the built-in notice data (or, for a year without any, weekends only).
    pub built_in: bool,
    pub updated_by: String,
    pub updated_at: String,
}

/// A year as saved or imported.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarYearFields {
    /// The version read (0 for a year not saved yet).
    pub version: i64,
    pub holidays: Vec<String>,
    pub workdays: Vec<String>,
    #[serde(default)]
    pub source: String,
}

#[derive(FromRow)]
struct YearRow {
    year: i64,
    version: i64,
    holidays: String,
    workdays: String,
    source: String,
    updated_by: String,
    updated_at: String,
}

impl YearRow {
    fn into_year(self) -> CalendarYear {
        let list = |s: &str| serde_json::from_str::<Vec<String>>(s).unwrap_or_default();
        CalendarYear {
            year: self.year as i32,
            version: self.version,
            holidays: list(&self.holidays),
            workdays: list(&self.workdays),
            source: self.source,
            built_in: false,
            updated_by: self.updated_by,
            updated_at: self.updated_at,
        }
    }
}

fn built_in(year: i32) -> CalendarYear {
    let days = calendar::built_in_years()
        .into_iter()
        .find(|y| y.year == year)
        .unwrap_or(YearDays {
            year,
            holidays: vec![],
            workdays: vec![],
        });
    CalendarYear {
        year,
        version: 0,
        source: if days.holidays.is_empty() {
            String::new()
        } else {
            "国务院办公厅节假日安排通知".into()
        },
        holidays: days.holidays,
        workdays: days.workdays,
        built_in: true,
        updated_by: String::new(),
        updated_at: String::new(),
    }
}

const COLUMNS: &str = "year, version, holidays, workdays, source, updated_by, updated_at";

impl Store {
    /// Every year with data: saved ones and the built-in ones, in order.
    pub async fn calendar_years(&self) -> Result<Vec<CalendarYear>> {
        let saved: Vec<YearRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM calendar_years ORDER BY year"
        ))
        .fetch_all(&self.pool)
        .await?;
        let mut years: Vec<CalendarYear> = saved.into_iter().map(YearRow::into_year).collect();
        for y in calendar::built_in_years() {
            if !years.iter().any(|s| s.year == y.year) {
                years.push(built_in(y.year));
            }
        }
        years.sort_by_key(|y| y.year);
        Ok(years)
    }

    pub async fn calendar_year(&self, year: i32) -> Result<CalendarYear> {
        let row: Option<YearRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM calendar_years WHERE year = $1"
        ))
        .bind(i64::from(year))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .map(YearRow::into_year)
            .unwrap_or_else(|| built_in(year)))
    }

    /// Saves (or imports) a year's holidays and make-up working days; the version read must
    /// still be current (0 for a year not saved yet).
    pub async fn save_calendar_year(
        &self,
        actor: &Actor,
        year: i32,
        mut f: CalendarYearFields,
        now: DateTime<Utc>,
    ) -> Result<CalendarYear> {
        let days = YearDays {
            year,
            holidays: std::mem::take(&mut f.holidays),
            workdays: std::mem::take(&mut f.workdays),
        };
        let (holidays, workdays) = days.validate()?;
        let mut e = reqloop_domain::fields::FieldErrors::default();
        e.optional("source", &mut f.source, 200);
        e.finish()?;
        let list = |v: Vec<chrono::NaiveDate>| {
            let mut v: Vec<String> = v.into_iter().map(|d| d.to_string()).collect();
            v.sort();
            v.dedup();
            v
        };
        let (holiday_list, workday_list) = (list(holidays), list(workdays));
        let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        let (holidays, workdays) = (json(&holiday_list), json(&workday_list));
        let before = self.calendar_year(year).await?;
        if before.version != f.version {
            return Err(Error::Stale);
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let n = if f.version == 0 {
            sqlx::query(
                "INSERT INTO calendar_years (year, version, holidays, workdays, source, updated_by, updated_at) \
                 VALUES ($1, 1, $2, $3, $4, $5, $6) ON CONFLICT (year) DO NOTHING",
            )
            .bind(i64::from(year))
            .bind(&holidays)
            .bind(&workdays)
            .bind(&f.source)
            .bind(&actor.username)
            .bind(&at)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected()
        } else {
            sqlx::query(
                "UPDATE calendar_years SET holidays = $1, workdays = $2, source = $3, updated_by = $4, \
                 updated_at = $5, version = version + 1 WHERE year = $6 AND version = $7",
            )
            .bind(&holidays)
            .bind(&workdays)
            .bind(&f.source)
            .bind(&actor.username)
            .bind(&at)
            .bind(i64::from(year))
            .bind(f.version)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected()
        };
        if n == 0 {
            return Err(Error::Stale);
        }
        tx.audit(
            "calendar_year",
            year,
            "save",
            Some(&serde_json::json!({"holidays": before.holidays, "workdays": before.workdays, "source": before.source})),
            Some(&serde_json::json!({"holidays": holiday_list, "workdays": workday_list, "source": f.source})),
        )
        .await?;
        tx.commit().await?;
        self.calendar_year(year).await
    }

    pub async fn business_hours(&self) -> Result<BusinessHours> {
        Ok(self
            .setting("business_hours")
            .await?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    pub async fn set_business_hours(
        &self,
        actor: &Actor,
        hours: BusinessHours,
        now: DateTime<Utc>,
    ) -> Result<BusinessHours> {
        hours.validate()?;
        let value = serde_json::to_string(&hours).map_err(|e| Error::Other(e.to_string()))?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let before = self.setting_in(&mut tx, "business_hours").await?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ('business_hours', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(&value)
        .execute(&mut *tx.tx)
        .await?;
        tx.audit(
            "setting",
            "business_hours",
            "update",
            before.as_deref(),
            Some(value.as_str()),
        )
        .await?;
        tx.commit().await?;
        Ok(hours)
    }

    /// The calendar deadlines count on: built-in years, saved years over them, the hours.
    pub async fn working_calendar(&self) -> Result<Calendar> {
        let mut c = Calendar::built_in();
        c.hours = self.business_hours().await?;
        let saved: Vec<YearRow> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM calendar_years"))
            .fetch_all(&self.pool)
            .await?;
        for y in saved.into_iter().map(YearRow::into_year) {
            // Saved years were validated on the way in.
            let _ = c.set_year(&YearDays {
                year: y.year,
                holidays: y.holidays,
                workdays: y.workdays,
            });
        }
        Ok(c)
    }
}

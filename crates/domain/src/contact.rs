//! Contact plans (F25; 003§2.3 "收集频率", 000§5, 004§4): how often each tier of customer is
//! visited to collect requirements (key customers monthly, general ones quarterly —
//! configurable), the return visit after a delivery, the visit records that close those tasks,
//! and the yearly end-user symposium per product line (004§4 "分品种每年召开一次最终用户座谈会").

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customer::Tier;
use crate::fields::FieldErrors;

closed_set!(
    /// What a contact task is for.
    TaskKind { Collection => "collection", ReturnVisit => "return_visit" }
);

closed_set!(
    TaskState { Open => "open", Done => "done", Cancelled => "cancelled" }
);

closed_set!(
    /// How a customer was contacted (003§2.1: 拜访、电话、邮件).
    VisitMethod { Visit => "visit", Phone => "phone", Video => "video", Email => "email" }
);

closed_set!(
    SymposiumState { Planned => "planned", Held => "held" }
);

/// Months between collection visits per tier (0: no plan), and the days after a delivery by
/// which the customer is visited again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactRules {
    pub strategic: u32,
    pub key: u32,
    pub general: u32,
    pub potential: u32,
    pub return_visit_days: u32,
}

impl Default for ContactRules {
    /// 003§2.3: key customers at least monthly, general customers quarterly; strategic ones
    /// as key ones; potential ones twice a year; a return visit within 15 days of a delivery.
    fn default() -> Self {
        ContactRules {
            strategic: 1,
            key: 1,
            general: 3,
            potential: 6,
            return_visit_days: 15,
        }
    }
}

impl ContactRules {
    pub fn months(&self, tier: Tier) -> u32 {
        match tier {
            Tier::Strategic => self.strategic,
            Tier::Key => self.key,
            Tier::General => self.general,
            Tier::Potential => self.potential,
        }
    }

    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        for (field, m) in [
            ("strategic", self.strategic),
            ("key", self.key),
            ("general", self.general),
            ("potential", self.potential),
        ] {
            if m > 24 {
                e.add(field, "range");
            }
        }
        if !(1..=180).contains(&self.return_visit_days) {
            e.add("return_visit_days", "range");
        }
        e.finish()
    }
}

/// When the next collection visit is due: `months` after the last contact, or today when
/// there was none (or it is overdue already).
pub fn next_due(last: Option<NaiveDate>, months: u32, today: NaiveDate) -> NaiveDate {
    last.and_then(|d| d.checked_add_months(Months::new(months)))
        .map_or(today, |d| d.max(today))
}

/// The day before which a contact counts as recent enough: no task is planned while the last
/// contact is on or after it.
pub fn recent_since(months: u32, today: NaiveDate) -> NaiveDate {
    today
        .checked_sub_months(Months::new(months))
        .unwrap_or(today)
}

/// A visit record (拜访记录): who was met, how, what was heard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitFields {
    pub customer_id: i64,
    /// The task the visit fulfils (a collection visit closes the customer's open collection
    /// task in any case).
    #[serde(default)]
    pub task_id: Option<i64>,
    /// `YYYY-MM-DD`
    pub visited_on: String,
    pub method: VisitMethod,
    #[serde(default)]
    pub contact_person: String,
    #[serde(default)]
    pub attendees: String,
    pub summary: String,
    /// Requirements heard (recorded as requirements through the collection form).
    #[serde(default)]
    pub needs: String,
}

impl VisitFields {
    pub fn validate(&mut self, today: NaiveDate) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        match NaiveDate::parse_from_str(self.visited_on.trim(), "%Y-%m-%d") {
            Ok(d) if d > today => e.add("visited_on", "future"),
            Ok(d) if d.year() < 2000 => e.add("visited_on", "date"),
            Ok(d) => self.visited_on = d.to_string(),
            Err(_) => e.add("visited_on", "date"),
        }
        e.optional("contact_person", &mut self.contact_person, 50);
        e.optional("attendees", &mut self.attendees, 500);
        e.required("summary", &mut self.summary, 4000);
        e.optional("needs", &mut self.needs, 4000);
        e.finish()
    }
}

/// A yearly end-user symposium of one product line (004§4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SymposiumFields {
    pub year: i32,
    pub product_line: String,
    /// `YYYY-MM-DD`, planned.
    pub planned_on: String,
    #[serde(default)]
    pub place: String,
    /// 004§4: the year's operation, the previous agreements, next year's plan, the satisfaction
    /// results and rectification, the users' questions.
    #[serde(default)]
    pub agenda: String,
}

impl SymposiumFields {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        if !(2000..=2100).contains(&self.year) {
            e.add("year", "range");
        }
        e.required("product_line", &mut self.product_line, 60);
        match NaiveDate::parse_from_str(self.planned_on.trim(), "%Y-%m-%d") {
            Ok(d) if d.year() != self.year => e.add("planned_on", "other_year"),
            Ok(d) => self.planned_on = d.to_string(),
            Err(_) => e.add("planned_on", "date"),
        }
        e.optional("place", &mut self.place, 100);
        e.optional("agenda", &mut self.agenda, 4000);
        e.finish()
    }
}

/// The minutes that record a held symposium: when, and what was said and promised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Minutes {
    pub version: i64,
    /// `YYYY-MM-DD`
    pub held_on: String,
    pub minutes: String,
}

impl Minutes {
    pub fn validate(&mut self, today: NaiveDate) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        match NaiveDate::parse_from_str(self.held_on.trim(), "%Y-%m-%d") {
            Ok(d) if d > today => e.add("held_on", "future"),
            Ok(d) => self.held_on = d.to_string(),
            Err(_) => e.add("held_on", "date"),
        }
        e.required("minutes", &mut self.minutes, 20_000);
        e.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn key_customers_monthly_general_quarterly() {
        let r = ContactRules::default();
        assert_eq!(r.months(Tier::Key), 1);
        assert_eq!(r.months(Tier::General), 3);
        let today = d("2026-11-30");
        assert_eq!(next_due(Some(d("2026-11-10")), 1, today), d("2026-12-10"));
        assert_eq!(next_due(Some(d("2026-08-31")), 3, today), d("2026-11-30"));
        assert_eq!(
            next_due(Some(d("2026-01-05")), 3, today),
            today,
            "overdue: now"
        );
        assert_eq!(next_due(None, 1, today), today, "never visited: now");
        assert_eq!(recent_since(3, today), d("2026-08-30"));
        assert!(ContactRules { general: 30, ..r }.validate().is_err());
    }

    #[test]
    fn a_visit_needs_a_past_date_and_a_summary() {
        let today = d("2026-11-30");
        let mut v = VisitFields {
            customer_id: 1,
            task_id: None,
            visited_on: "2026-12-01".into(),
            method: VisitMethod::Visit,
            contact_person: String::new(),
            attendees: String::new(),
            summary: " ".into(),
            needs: String::new(),
        };
        let e = v.validate(today).unwrap_err();
        assert_eq!(e.for_field("visited_on"), Some("future"));
        assert_eq!(e.for_field("summary"), Some("required"));
        v.visited_on = " 2026-11-29 ".into();
        v.summary = "了解明年扩产计划".into();
        assert!(v.validate(today).is_ok());
        assert_eq!(v.visited_on, "2026-11-29");
    }

    #[test]
    fn a_symposium_is_planned_in_its_year_and_its_minutes_need_content() {
        let mut s = SymposiumFields {
            year: 2026,
            product_line: "牵引变压器".into(),
            planned_on: "2027-01-10".into(),
            place: String::new(),
            agenda: String::new(),
        };
        assert_eq!(
            s.validate().unwrap_err().for_field("planned_on"),
            Some("other_year")
        );
        s.planned_on = "2026-12-10".into();
        assert!(s.validate().is_ok());
        let mut m = Minutes {
            version: 1,
            held_on: "2026-12-10".into(),
            minutes: String::new(),
        };
        let e = m.validate(d("2026-11-30")).unwrap_err();
        assert_eq!(e.for_field("held_on"), Some("future"));
        assert_eq!(e.for_field("minutes"), Some("required"));
    }
}

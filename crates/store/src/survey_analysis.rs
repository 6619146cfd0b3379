//! Satisfaction analysis (F21; 002§4.5.2–4.5.3): the distribution of scores per aspect and
//! customer category for a period, read from the daily roll-up `survey_daily` (kept in the
//! transaction that stores the answers), the same for the periods before it (the trend), the
//! strengths and weaknesses of each category, and which customers no survey has reached this
//! year. Never an average without its distribution.

use std::collections::HashMap;

use chrono::NaiveDate;
use reqloop_domain::access::Actor;
use reqloop_domain::survey::{self, Histogram};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::db::{customer_scope, Arg, Conditions};
use crate::{Error, Result, Store};

/// The distribution of one aspect's scores in one category.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AspectDistribution {
    /// The category value (grade, tier, industry or province); empty for all customers.
    pub category: String,
    pub aspect: String,
    /// `[n(1) … n(5)]`.
    #[schema(value_type = Vec<i64>)]
    pub histogram: Histogram,
    pub count: i64,
    pub mean: Option<f64>,
    /// Share of scores ≤ 2.
    pub dissatisfied: Option<f64>,
}

/// One period's distributions (the analysed period or one before it).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PeriodDistributions {
    pub from: String,
    pub to: String,
    pub invited: i64,
    pub answered: i64,
    pub response_rate: Option<f64>,
    pub aspects: Vec<AspectDistribution>,
}

/// Where one category's customers are most and least satisfied (002§4.5.3).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryRanking {
    pub category: String,
    /// Aspect codes, strongest first.
    pub strengths: Vec<String>,
    /// Aspect codes, weakest first.
    pub weaknesses: Vec<String>,
}

/// The analysis of a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Analysis {
    pub from: String,
    pub to: String,
    pub by: String,
    pub invited: i64,
    pub answered: i64,
    pub response_rate: Option<f64>,
    pub aspects: Vec<AspectDistribution>,
    /// The periods of the same length before this one, oldest first.
    pub trend: Vec<PeriodDistributions>,
    pub rankings: Vec<CategoryRanking>,
}

/// The period and the category of an analysis.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AnalysisQuery {
    /// `YYYY-MM-DD`, inclusive.
    pub from: String,
    /// `YYYY-MM-DD`, inclusive.
    pub to: String,
    /// `grade`, `tier`, `industry`, `province`, or none for all customers.
    #[serde(default)]
    pub by: Option<String>,
    /// How many earlier periods the trend shows (0–8, default 3).
    #[serde(default)]
    pub periods: Option<u32>,
}

/// The customers answering an on-site survey between `$1` and `$2` (few campaigns: read through
/// the campaign index, not per customer).
const ON_SITE: &str = "SELECT i.customer_id FROM survey_invitations i WHERE i.campaign_id IN \
    (SELECT id FROM survey_campaigns WHERE kind = 'on_site') AND i.answered_at >= $1 AND i.answered_at < $2";

/// The categories analyses group by.
pub const DIMENSIONS: [&str; 4] = ["grade", "tier", "industry", "province"];

/// The UTC instant (as stored) at which a Shanghai day starts.
pub(crate) fn day_start(d: NaiveDate) -> String {
    reqloop_domain::time::to_db(
        d.and_hms_opt(0, 0, 0).expect("midnight").and_utc() - chrono::Duration::hours(8),
    )
}

pub(crate) fn parse_day(s: &str, field: &'static str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| Error::field(field, "date"))
}

fn distributions(rows: Vec<(String, String, i64, i64)>) -> Vec<AspectDistribution> {
    let mut out: Vec<AspectDistribution> = Vec::new();
    for (category, aspect, score, n) in rows {
        let idx = match out
            .iter()
            .position(|d| d.category == category && d.aspect == aspect)
        {
            Some(i) => i,
            None => {
                out.push(AspectDistribution {
                    category,
                    aspect,
                    histogram: [0; 5],
                    count: 0,
                    mean: None,
                    dissatisfied: None,
                });
                out.len() - 1
            }
        };
        if (1..=5).contains(&score) {
            out[idx].histogram[(score - 1) as usize] += n;
        }
    }
    for d in &mut out {
        d.count = survey::count(&d.histogram);
        d.mean = survey::mean(&d.histogram);
        d.dissatisfied = survey::dissatisfied(&d.histogram);
    }
    out
}

/// Strengths and weaknesses of each category of a period's distributions.
pub fn rankings(aspects: &[AspectDistribution]) -> Vec<CategoryRanking> {
    let mut categories: Vec<&str> = aspects.iter().map(|d| d.category.as_str()).collect();
    categories.dedup();
    categories
        .into_iter()
        .map(|cat| {
            let of: Vec<(String, Histogram)> = aspects
                .iter()
                .filter(|d| d.category == cat)
                .map(|d| (d.aspect.clone(), d.histogram))
                .collect();
            let (s, w) = survey::strengths_weaknesses(&of, 2);
            CategoryRanking {
                category: cat.to_string(),
                strengths: s.iter().map(|(a, _)| a.clone()).collect(),
                weaknesses: w.iter().map(|(a, _)| a.clone()).collect(),
            }
        })
        .collect()
}

/// A customer's survey coverage for a year.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct CoverageRow {
    pub customer_id: i64,
    pub code: String,
    pub name: String,
    pub grade: String,
    pub account_manager_id: Option<i64>,
    pub manager_name: Option<String>,
}

/// One account manager's coverage: of their customers, how many answered a survey this year
/// and how many had one on site (002§4.5.2: each at least once a year).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ManagerCoverage {
    pub manager_id: i64,
    pub manager_name: String,
    pub customers: i64,
    pub surveyed: i64,
    pub on_site: i64,
}

/// A manager (or none), their name, customers, surveyed and surveyed on site.
type ManagerGroup = (Option<i64>, Option<String>, i64, i64, i64);

/// The coverage of a year: per manager, and the customers not surveyed yet.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Coverage {
    pub year: i32,
    pub managers: Vec<ManagerCoverage>,
    pub uncovered: Vec<CoverageRow>,
    pub uncovered_total: i64,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CoverageQuery {
    pub year: i32,
    /// Only this account manager's customers.
    #[serde(default)]
    pub manager_id: Option<i64>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

impl Store {
    /// The distributions of the answers given in `from..=to` grouped by `dim` (empty: all).
    pub(crate) async fn period_distributions(
        &self,
        dim: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<PeriodDistributions> {
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT category, aspect, score, CAST(SUM(n) AS BIGINT) FROM survey_daily \
             WHERE dim = $1 AND day >= $2 AND day <= $3 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        )
        .bind(dim)
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?;
        let (invited, answered): (i64, i64) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(invited), 0) AS BIGINT), CAST(COALESCE(SUM(answered), 0) AS BIGINT) \
             FROM survey_campaigns WHERE period_start <= $2 AND period_end >= $1",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_one(&self.pool)
        .await?;
        Ok(PeriodDistributions {
            from: from.to_string(),
            to: to.to_string(),
            invited,
            answered,
            response_rate: survey::response_rate(invited, answered),
            aspects: distributions(rows),
        })
    }

    /// The analysis of the answers given in a period (F21): a histogram per aspect, per
    /// category when asked, the response rate of the campaigns of the period, the trend over
    /// the periods before it and each category's strengths and weaknesses.
    pub async fn survey_analysis(&self, q: &AnalysisQuery) -> Result<Analysis> {
        let from = parse_day(&q.from, "from")?;
        let to = parse_day(&q.to, "to")?;
        if to < from {
            return Err(Error::field("to", "before_start"));
        }
        let by = q.by.clone().unwrap_or_default();
        if !by.is_empty() && !DIMENSIONS.contains(&by.as_str()) {
            return Err(Error::field("by", "choice"));
        }
        let periods = q.periods.unwrap_or(3);
        if periods > 8 {
            return Err(Error::field("periods", "range"));
        }
        let now = self.period_distributions(&by, from, to).await?;
        let mut trend = Vec::new();
        let (mut a, mut b) = (from, to);
        for _ in 0..periods {
            (a, b) = survey::previous_period(a, b);
            trend.push(self.period_distributions(&by, a, b).await?);
        }
        trend.reverse();
        Ok(Analysis {
            from: now.from,
            to: now.to,
            by,
            invited: now.invited,
            answered: now.answered,
            response_rate: now.response_rate,
            rankings: rankings(&now.aspects),
            aspects: now.aspects,
            trend,
        })
    }

    /// The same distributions counted from every stored answer (with the customers' current
    /// categories): what the roll-up must equal while no category changed.
    pub async fn survey_recount(
        &self,
        dim: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<AspectDistribution>> {
        let category = match dim {
            "" => "''",
            "grade" => "c.grade",
            "tier" => "c.tier",
            "industry" => "c.industry",
            "province" => "c.province",
            _ => return Err(Error::field("by", "choice")),
        };
        let end = to.succ_opt().unwrap_or(to);
        let rows = sqlx::query_as(&format!(
            "SELECT {category} AS category, a.aspect, a.score, COUNT(*) FROM survey_answers a \
             JOIN customers c ON c.id = a.customer_id \
             WHERE a.answered_at >= $1 AND a.answered_at < $2 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        ))
        .bind(day_start(from))
        .bind(day_start(end))
        .fetch_all(&self.pool)
        .await?;
        Ok(distributions(rows))
    }

    /// Which customers (in the actor's scope) a survey reached in a year, per account manager,
    /// and a page of those not reached yet.
    pub async fn survey_coverage(&self, actor: &Actor, q: &CoverageQuery) -> Result<Coverage> {
        let start = NaiveDate::from_ymd_opt(q.year, 1, 1)
            .filter(|_| (2000..=2100).contains(&q.year))
            .ok_or(Error::field("year", "range"))?;
        let end = NaiveDate::from_ymd_opt(q.year + 1, 1, 1).ok_or(Error::field("year", "range"))?;
        let (start, end) = (day_start(start), day_start(end));
        // `$1`/`$2` (the year) come first: the SELECT list uses them before the WHERE's. One
        // pass over the customers counts them per manager (no manager: one more group) and gives
        // the number not reached; the page of those reads on only until it is full.
        let managers_sql = format!(
            "SELECT c.account_manager_id, u.display_name, COUNT(*), \
             SUM(CASE WHEN EXISTS (SELECT 1 FROM survey_invitations i WHERE i.customer_id = c.id \
                 AND i.answered_at >= $1 AND i.answered_at < $2) THEN 1 ELSE 0 END), \
             SUM(CASE WHEN c.id IN ({ON_SITE}) THEN 1 ELSE 0 END) \
             FROM customers c LEFT JOIN users u ON u.id = c.account_manager_id"
        );
        let mut cond = Conditions {
            sql: Vec::new(),
            args: vec![Arg::Text(start.clone()), Arg::Text(end.clone())],
        };
        cond.push("c.archived = ?", [Arg::Int(0)]);
        customer_scope(&mut cond, actor, "c.id");
        if let Some(m) = q.manager_id {
            cond.push("c.account_manager_id = ?", [Arg::Int(m)]);
        }
        let sql = format!(
            "{managers_sql}{} GROUP BY c.account_manager_id, u.display_name ORDER BY u.display_name, c.account_manager_id",
            cond.where_clause()
        );
        let groups: Vec<ManagerGroup> = crate::db::bind_all(sqlx::query_as(&sql), &cond.args)
            .fetch_all(&self.pool)
            .await?;
        let uncovered_total = groups.iter().map(|g| g.2 - g.3).sum();
        let managers = groups
            .into_iter()
            .filter_map(|(id, name, customers, surveyed, on_site)| {
                Some(ManagerCoverage {
                    manager_id: id?,
                    manager_name: name.unwrap_or_default(),
                    customers,
                    surveyed,
                    on_site,
                })
            })
            .collect();
        cond.push(
            "NOT EXISTS (SELECT 1 FROM survey_invitations i WHERE i.customer_id = c.id \
             AND i.answered_at >= $1 AND i.answered_at < $2)",
            [],
        );
        let (limit, offset) = crate::db::paging(q.page, q.per_page);
        let n = cond.next();
        let mut args = cond.args.clone();
        args.extend([Arg::Int(limit), Arg::Int(offset)]);
        // Everyone reached: no need to read the customers again for an empty page.
        let uncovered = if uncovered_total == 0 {
            Vec::new()
        } else {
            crate::db::bind_all(
            sqlx::query_as(&format!(
                "SELECT c.id AS customer_id, c.code, c.name, c.grade, c.account_manager_id, u.display_name AS manager_name \
                 FROM customers c LEFT JOIN users u ON u.id = c.account_manager_id{} \
                 ORDER BY c.grade, c.code LIMIT ${n} OFFSET ${}",
                cond.where_clause(),
                n + 1
            )),
            &args,
            )
            .fetch_all(&self.pool)
            .await?
        };
        Ok(Coverage {
            year: q.year,
            managers,
            uncovered,
            uncovered_total,
        })
    }
}

/// The semiannual satisfaction report to top management (002§4.5.2–4.5.3).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SatisfactionReport {
    pub year: i32,
    pub half: u32,
    pub from: String,
    pub to: String,
    /// 1. The survey activities of the half-year.
    pub campaigns: Vec<crate::Campaign>,
    pub active_customers: i64,
    /// Customers who answered a survey in the half-year.
    pub surveyed_customers: i64,
    /// Of those, on site.
    pub on_site_customers: i64,
    /// 2–3. All customers, then by grade, tier and industry: distributions, the share
    /// dissatisfied, the trend over the three half-years before, strengths and weaknesses.
    pub overall: Analysis,
    pub by_category: Vec<Analysis>,
    /// 4. The rectification actions published in the half-year or still open.
    pub actions: Vec<crate::SurveyAction>,
}

impl Store {
    pub async fn satisfaction_report(&self, year: i32, half: u32) -> Result<SatisfactionReport> {
        if !(2000..=2100).contains(&year) {
            return Err(Error::field("year", "range"));
        }
        let (from, to) = survey::half_year(year, half).ok_or(Error::field("half", "choice"))?;
        let query = |by: &str| AnalysisQuery {
            from: from.to_string(),
            to: to.to_string(),
            by: Some(by.to_string()).filter(|b| !b.is_empty()),
            periods: Some(3),
        };
        let overall = self.survey_analysis(&query("")).await?;
        let mut by_category = Vec::new();
        for dim in ["grade", "tier", "industry"] {
            by_category.push(self.survey_analysis(&query(dim)).await?);
        }
        let campaigns = sqlx::query_as(&format!(
            "SELECT {} FROM survey_campaigns g WHERE g.period_start <= $2 AND g.period_end >= $1 ORDER BY g.period_start, g.id",
            crate::surveys::CAMPAIGN_COLUMNS
        ))
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?;
        let (start, end) = (day_start(from), day_start(to.succ_opt().unwrap_or(to)));
        let (active_customers, surveyed_customers, on_site_customers): (i64, i64, i64) =
            sqlx::query_as(&format!(
                "SELECT COUNT(*), \
                 SUM(CASE WHEN EXISTS (SELECT 1 FROM survey_invitations i WHERE i.customer_id = c.id \
                     AND i.answered_at >= $1 AND i.answered_at < $2) THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN c.id IN ({ON_SITE}) THEN 1 ELSE 0 END) \
                 FROM customers c WHERE c.archived = 0"
            ))
            .bind(&start)
            .bind(&end)
            .fetch_one(&self.pool)
            .await
            .map(|(a, b, c): (i64, Option<i64>, Option<i64>)| (a, b.unwrap_or(0), c.unwrap_or(0)))?;
        Ok(SatisfactionReport {
            year,
            half,
            from: from.to_string(),
            to: to.to_string(),
            campaigns,
            active_customers,
            surveyed_customers,
            on_site_customers,
            overall,
            by_category,
            actions: self.actions_for_period(from, to).await?,
        })
    }
}

/// Aspect code → (Chinese, English) label, from every questionnaire version (the latest wins).
pub(crate) fn labels_from(definitions: &[String]) -> HashMap<String, (String, String)> {
    let mut out = HashMap::new();
    for d in definitions {
        if let Ok(q) = serde_json::from_str::<survey::Questionnaire>(d) {
            for a in q.aspects {
                out.insert(a.code, (a.name_zh, a.name_en));
            }
        }
    }
    out
}

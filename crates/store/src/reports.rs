//! Management reports (F26; 001§3.1(3), 002§4.6.3, 003§6.3) over the customers in the reader's
//! scope: the business structure (customers, yearly transaction volume and orders by industry,
//! region or grade), customer management (new, lost, upgraded and downgraded customers per
//! quarter), and requirement trends (count by category and month, recurring topics).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use futures_util::TryStreamExt;
use reqloop_domain::access::Actor;
use reqloop_domain::report::{self, TopicCounter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::{bind_all, customer_scope, Arg, Conditions};
use crate::survey_analysis::{day_start, parse_day};
use crate::{Error, Result, Store};

/// A period and the category a report groups by.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `YYYY-MM-DD`, inclusive.
    pub from: String,
    /// `YYYY-MM-DD`, inclusive.
    pub to: String,
    /// Business structure: `industry` (default), `province` or `grade`.
    #[serde(default)]
    pub by: Option<String>,
}

/// One category of the business structure.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StructureRow {
    pub category: String,
    pub customers: i64,
    /// The customers' yearly transaction volume with us, in yuan.
    pub revenue: i64,
    pub revenue_share: Option<f64>,
    /// Orders placed in the period.
    pub orders: i64,
    pub order_share: Option<f64>,
    /// Quantity promised in those orders' delivery batches.
    pub quantity: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BusinessStructure {
    pub from: String,
    pub to: String,
    pub by: String,
    pub rows: Vec<StructureRow>,
    pub customers: i64,
    pub revenue: i64,
    pub orders: i64,
}

/// A customer that moved in the period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MovedCustomer {
    pub customer_id: i64,
    pub code: String,
    pub name: String,
    /// For upgrades and downgrades: `B → A`.
    pub change: String,
    pub at: String,
}

/// New, lost (archived), upgraded and downgraded customers of one period.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Movement {
    pub label: String,
    pub from: String,
    pub to: String,
    pub new: i64,
    pub lost: i64,
    pub upgraded: i64,
    pub downgraded: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerManagement {
    pub year: i32,
    /// Q1–Q4, then the whole year.
    pub periods: Vec<Movement>,
    /// The customers behind the year's numbers (up to 200 of each kind).
    pub new: Vec<MovedCustomer>,
    pub lost: Vec<MovedCustomer>,
    pub upgraded: Vec<MovedCustomer>,
    pub downgraded: Vec<MovedCustomer>,
    /// Active customers at the end of the year, by grade.
    pub by_grade: Vec<(String, i64)>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonthCount {
    /// `YYYY-MM` (Shanghai).
    pub month: String,
    pub category: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequirementTrends {
    pub from: String,
    pub to: String,
    pub total: i64,
    pub months: Vec<MonthCount>,
    /// Sub-categories, most frequent first.
    pub sub_categories: Vec<(String, i64)>,
    /// Terms that recur in requirement titles, with how many titles mention them.
    pub topics: Vec<(String, i64)>,
    /// How many titles the topics were counted over (the latest of the period).
    pub topics_over: i64,
}

/// The most recent titles read for the recurring topics.
const TOPIC_TITLES: i64 = 20_000;

fn period(q: &ReportQuery) -> Result<(NaiveDate, NaiveDate)> {
    let from = parse_day(&q.from, "from")?;
    let to = parse_day(&q.to, "to")?;
    if to < from {
        return Err(Error::field("to", "before_start"));
    }
    Ok((from, to))
}

fn bounds(from: NaiveDate, to: NaiveDate) -> (String, String) {
    (day_start(from), day_start(to.succ_opt().unwrap_or(to)))
}

/// Conditions that start with the period as `$1`, `$2`, then the customer scope on `column`.
fn scoped(actor: &Actor, start: &str, end: &str, column: &str) -> Conditions {
    let mut c = Conditions {
        sql: Vec::new(),
        args: vec![Arg::Text(start.into()), Arg::Text(end.into())],
    };
    customer_scope(&mut c, actor, column);
    c
}

fn and_where(c: &Conditions) -> String {
    c.sql.iter().map(|s| format!(" AND {s}")).collect()
}

fn grade_of(v: &serde_json::Value) -> Option<&str> {
    v.get("grade")
        .or_else(|| v.get("fields").and_then(|f| f.get("grade")))
        .and_then(|g| g.as_str())
}

impl Store {
    pub async fn business_structure(
        &self,
        actor: &Actor,
        q: &ReportQuery,
    ) -> Result<BusinessStructure> {
        let (from, to) = period(q)?;
        let by = q.by.clone().unwrap_or_else(|| "industry".into());
        let column = match by.as_str() {
            "industry" => "c.industry",
            "province" => "c.province",
            "grade" => "c.grade",
            _ => return Err(Error::field("by", "choice")),
        };
        let (start, end) = bounds(from, to);
        let c = scoped(actor, &start, &end, "c.id");
        let w = and_where(&c);
        let mut active = Conditions::default();
        active.push("c.archived = ?", [Arg::Int(0)]);
        customer_scope(&mut active, actor, "c.id");
        let customers: Vec<(String, i64, i64)> = bind_all(
            sqlx::query_as(&format!(
                "SELECT {column}, COUNT(*), CAST(COALESCE(SUM(c.annual_revenue), 0) AS BIGINT) FROM customers c{} GROUP BY 1",
                active.where_clause()
            )),
            &active.args,
        )
        .fetch_all(&self.pool)
        .await?;
        let orders: Vec<(String, i64, i64)> = bind_all(
            sqlx::query_as(&format!(
                "SELECT {column}, COUNT(*), CAST(COALESCE(SUM((SELECT COALESCE(SUM(b.quantity), 0) FROM delivery_batches b \
                 WHERE b.order_id = o.id)), 0) AS BIGINT) FROM orders o JOIN contracts k ON k.id = o.contract_id \
                 JOIN customers c ON c.id = k.customer_id WHERE o.created_at >= $1 AND o.created_at < $2{w} GROUP BY 1"
            )),
            &c.args,
        )
        .fetch_all(&self.pool)
        .await?;
        let mut rows: BTreeMap<String, StructureRow> = BTreeMap::new();
        let row = |rows: &mut BTreeMap<String, StructureRow>, cat: &str| {
            rows.entry(cat.to_string())
                .or_insert_with(|| StructureRow {
                    category: cat.to_string(),
                    customers: 0,
                    revenue: 0,
                    revenue_share: None,
                    orders: 0,
                    order_share: None,
                    quantity: 0,
                })
                .category
                .clone()
        };
        for (cat, n, revenue) in customers {
            row(&mut rows, &cat);
            let r = rows.get_mut(&cat).expect("inserted");
            r.customers = n;
            r.revenue = revenue;
        }
        for (cat, n, quantity) in orders {
            row(&mut rows, &cat);
            let r = rows.get_mut(&cat).expect("inserted");
            r.orders = n;
            r.quantity = quantity;
        }
        let mut rows: Vec<StructureRow> = rows.into_values().collect();
        let revenue: i64 = rows.iter().map(|r| r.revenue).sum();
        let orders: i64 = rows.iter().map(|r| r.orders).sum();
        for r in &mut rows {
            r.revenue_share = report::share(r.revenue, revenue);
            r.order_share = report::share(r.orders, orders);
        }
        rows.sort_by(|a, b| b.revenue.cmp(&a.revenue).then(a.category.cmp(&b.category)));
        Ok(BusinessStructure {
            from: from.to_string(),
            to: to.to_string(),
            by,
            customers: rows.iter().map(|r| r.customers).sum(),
            rows,
            revenue,
            orders,
        })
    }

    /// New (created), lost (archived), upgraded and downgraded customers of a year, per quarter
    /// (from the audit trail of customer changes).
    pub async fn customer_management(
        &self,
        actor: &Actor,
        year: i32,
    ) -> Result<CustomerManagement> {
        if !(2000..=2100).contains(&year) {
            return Err(Error::field("year", "range"));
        }
        let quarters: Vec<(NaiveDate, NaiveDate)> =
            (1..=4).filter_map(|q| report::quarter(year, q)).collect();
        let (start, end) = bounds(quarters[0].0, quarters[3].1);
        let c = scoped(actor, &start, &end, "c.id");
        let w = and_where(&c);
        let new: Vec<(i64, String, String, String)> = bind_all(
            sqlx::query_as(&format!(
                "SELECT c.id, c.code, c.name, c.created_at FROM customers c \
                 WHERE c.created_at >= $1 AND c.created_at < $2{w} ORDER BY c.created_at, c.id"
            )),
            &c.args,
        )
        .fetch_all(&self.pool)
        .await?;
        // Customer changes of the year, read as a stream (the scope applies to the customer).
        let sql = format!(
            "SELECT c.id, c.code, c.name, a.at, a.action, a.before_json, a.after_json FROM audit_log a \
             JOIN customers c ON a.entity_id = CAST(c.id AS TEXT) \
             WHERE a.entity = 'customer' AND a.action IN ('update', 'archive', 'grade') AND a.at >= $1 AND a.at < $2{w} \
             ORDER BY a.seq"
        );
        let mut changes = bind_all(
            sqlx::query_as::<
                _,
                (
                    i64,
                    String,
                    String,
                    String,
                    String,
                    Option<String>,
                    Option<String>,
                ),
            >(&sql),
            &c.args,
        )
        .fetch(&self.pool);
        let mut lost = Vec::new();
        let mut upgraded = Vec::new();
        let mut downgraded = Vec::new();
        while let Some((id, code, name, at, action, before, after)) = changes.try_next().await? {
            let moved = |change: String| MovedCustomer {
                customer_id: id,
                code: code.clone(),
                name: name.clone(),
                change,
                at: at.clone(),
            };
            if action == "archive" {
                lost.push(moved(String::new()));
                continue;
            }
            let parse = |s: Option<String>| {
                s.and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            };
            let (b, a) = (parse(before), parse(after));
            let (Some(gb), Some(ga)) =
                (b.as_ref().and_then(grade_of), a.as_ref().and_then(grade_of))
            else {
                continue;
            };
            match report::grade_move(gb, ga) {
                1 => upgraded.push(moved(format!("{gb} → {ga}"))),
                -1 => downgraded.push(moved(format!("{gb} → {ga}"))),
                _ => {}
            }
        }
        let in_quarter = |at: &str, (a, b): (NaiveDate, NaiveDate)| {
            let (s, e) = bounds(a, b);
            at >= s.as_str() && at < e.as_str()
        };
        let count =
            |v: &[MovedCustomer], q| v.iter().filter(|m| in_quarter(&m.at, q)).count() as i64;
        let new_moved: Vec<MovedCustomer> = new
            .into_iter()
            .map(|(customer_id, code, name, at)| MovedCustomer {
                customer_id,
                code,
                name,
                change: String::new(),
                at,
            })
            .collect();
        let mut periods: Vec<Movement> = quarters
            .iter()
            .enumerate()
            .map(|(i, q)| Movement {
                label: format!("Q{}", i + 1),
                from: q.0.to_string(),
                to: q.1.to_string(),
                new: count(&new_moved, *q),
                lost: count(&lost, *q),
                upgraded: count(&upgraded, *q),
                downgraded: count(&downgraded, *q),
            })
            .collect();
        periods.push(Movement {
            label: year.to_string(),
            from: quarters[0].0.to_string(),
            to: quarters[3].1.to_string(),
            new: new_moved.len() as i64,
            lost: lost.len() as i64,
            upgraded: upgraded.len() as i64,
            downgraded: downgraded.len() as i64,
        });
        let mut g = Conditions::default();
        g.push("c.archived = ?", [Arg::Int(0)]);
        customer_scope(&mut g, actor, "c.id");
        let by_grade = bind_all(
            sqlx::query_as(&format!(
                "SELECT c.grade, COUNT(*) FROM customers c{} GROUP BY 1 ORDER BY 1",
                g.where_clause()
            )),
            &g.args,
        )
        .fetch_all(&self.pool)
        .await?;
        let cap = |mut v: Vec<MovedCustomer>| {
            v.truncate(200);
            v
        };
        Ok(CustomerManagement {
            year,
            periods,
            new: cap(new_moved),
            lost: cap(lost),
            upgraded: cap(upgraded),
            downgraded: cap(downgraded),
            by_grade,
        })
    }

    /// Requirements of a period by category and month (Shanghai), by sub-category, and the
    /// topics that recur in their titles.
    pub async fn requirement_trends(
        &self,
        actor: &Actor,
        q: &ReportQuery,
    ) -> Result<RequirementTrends> {
        let (from, to) = period(q)?;
        let (start, end) = bounds(from, to);
        let mut c = Conditions {
            sql: Vec::new(),
            args: vec![Arg::Text(start.clone()), Arg::Text(end.clone())],
        };
        crate::db::requirement_scope(&mut c, actor, "r.");
        let w = and_where(&c);
        // Hour buckets (UTC) keep the month exact in Shanghai time on both databases.
        let hours: Vec<(String, String, i64)> = bind_all(
            sqlx::query_as(&format!(
                "SELECT substr(r.created_at, 1, 13), r.category, COUNT(*) FROM requirements r \
                 WHERE r.created_at >= $1 AND r.created_at < $2{w} GROUP BY 1, 2"
            )),
            &c.args,
        )
        .fetch_all(&self.pool)
        .await?;
        let mut months: BTreeMap<(String, String), i64> = BTreeMap::new();
        let mut total = 0;
        for (hour, category, n) in hours {
            let month = chrono::NaiveDateTime::parse_from_str(
                &format!("{hour}:00:00"),
                "%Y-%m-%dT%H:%M:%S",
            )
            .map(|t| (t + chrono::Duration::hours(8)).format("%Y-%m").to_string())
            .unwrap_or_else(|_| hour.chars().take(7).collect());
            *months.entry((month, category)).or_default() += n;
            total += n;
        }
        let sub_categories = bind_all(
            sqlx::query_as(&format!(
                "SELECT COALESCE(r.sub_category, ''), COUNT(*) FROM requirements r \
                 WHERE r.created_at >= $1 AND r.created_at < $2{w} GROUP BY 1 ORDER BY 2 DESC, 1"
            )),
            &c.args,
        )
        .fetch_all(&self.pool)
        .await?;
        let n = c.next();
        let mut args = c.args.clone();
        args.push(Arg::Int(TOPIC_TITLES));
        let sql = format!(
            "SELECT r.title FROM requirements r WHERE r.created_at >= $1 AND r.created_at < $2{w} \
             ORDER BY r.created_at DESC LIMIT ${n}"
        );
        let mut titles = bind_all(sqlx::query_as::<_, (String,)>(&sql), &args).fetch(&self.pool);
        let mut topics = TopicCounter::default();
        while let Some((title,)) = titles.try_next().await? {
            topics.add(&title);
        }
        Ok(RequirementTrends {
            from: from.to_string(),
            to: to.to_string(),
            total,
            months: months
                .into_iter()
                .map(|((month, category), count)| MonthCount {
                    month,
                    category,
                    count,
                })
                .collect(),
            sub_categories,
            topics: topics.top(20),
            topics_over: topics.titles,
        })
    }
}

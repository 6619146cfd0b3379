//! Customer segmentation (F3) over the reader's active customers: the rule set of
//! `segment::place` applied to each customer's yearly volume, orders and urgent requirements of
//! the last twelve months; segment sizes, segments by macro-region, the scatter of volume against
//! orders (each customer while they are few, a density grid beyond) and the customer pyramid
//! (001§4) by tier and grade.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use reqloop_domain::access::{Action, Actor};
use reqloop_domain::customer::{Grade, Tier};
use reqloop_domain::segment::{self, Facts, MacroRegion, Segment};
use reqloop_domain::time::to_db;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::{bind_all, customer_scope_sql, Arg, Conditions};
use crate::{Error, Result, Store};

/// Up to this many customers the scatter shows each one; beyond, a density grid.
pub const MAX_POINTS: usize = 1500;
/// The density grid's columns (orders) and rows (volume), on log scales.
pub const GRID: (usize, usize) = (24, 16);

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SegmentQuery {
    /// Only customers of this macro-region.
    pub region: Option<MacroRegion>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SegmentRow {
    pub segment: Segment,
    pub customers: i64,
    pub share: f64,
    /// Their yearly volume together (yuan) and orders of the last twelve months.
    pub volume: i64,
    pub orders: i64,
    /// How many of them are deadline-strict.
    pub strict: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegionRow {
    pub region: MacroRegion,
    /// Customers per segment, in `Segment::ALL` order.
    pub counts: Vec<i64>,
    pub total: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Point {
    pub customer_id: i64,
    pub name: String,
    pub volume: i64,
    pub orders: i64,
    pub segment: Segment,
    pub strict: bool,
}

/// Customers per cell: `cells[row][col]`, row 0 the highest volume; the axes' upper bounds as
/// powers of ten (`log10(value + 1)`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Grid {
    pub cells: Vec<Vec<i64>>,
    pub max_log_orders: f64,
    pub max_log_volume: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SegmentReport {
    pub customers: i64,
    /// The rules as applied: the value threshold (the median volume), the frequent order count
    /// and the urgent share that makes a customer strict.
    pub value_threshold: i64,
    pub frequent_orders: i64,
    pub strict_share: f64,
    pub segments: Vec<SegmentRow>,
    pub regions: Vec<RegionRow>,
    /// Each customer, while there are at most `MAX_POINTS`.
    pub points: Vec<Point>,
    /// The density of customers over orders × volume, beyond that.
    pub grid: Option<Grid>,
    /// The pyramid (001§4): customers per tier, strategic at the top, and per grade.
    pub tiers: Vec<(Tier, i64)>,
    pub grades: Vec<(Grade, i64)>,
}

type CustomerRow = (i64, String, String, i64, String, String, String);

impl Store {
    pub async fn segments(
        &self,
        actor: &Actor,
        q: &SegmentQuery,
        now: DateTime<Utc>,
    ) -> Result<SegmentReport> {
        actor
            .require(Action::ReportRead)
            .map_err(|_| Error::Forbidden("segments"))?;
        let since = to_db(now - Duration::days(365));
        let scoped = |column: &str| {
            let mut c = Conditions::default();
            if let Some((sql, args)) = customer_scope_sql(actor, column) {
                c.push(&sql, args);
            }
            c
        };
        let mut c = scoped("c.id");
        c.push("c.archived = 0", []);
        let customers: Vec<CustomerRow> = bind_all(
            sqlx::query_as(&format!(
                "SELECT c.id, c.name, c.province, c.annual_revenue, c.tier, c.grade, c.risk_flags FROM customers c{}",
                c.where_clause()
            )),
            &c.args,
        )
        .fetch_all(&self.pool)
        .await?;
        let mut c = scoped("k.customer_id");
        c.push("o.created_at >= ?", [Arg::Text(since.clone())]);
        let orders: HashMap<i64, i64> = bind_all(
            sqlx::query_as::<_, (i64, i64)>(&format!(
                "SELECT k.customer_id, COUNT(*) FROM orders o JOIN contracts k ON k.id = o.contract_id{} \
                 GROUP BY k.customer_id",
                c.where_clause()
            )),
            &c.args,
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .collect();
        let mut c = scoped("r.customer_id");
        c.push("r.created_at >= ?", [Arg::Text(since)]);
        // `+r.customer_id` keeps SQLite from walking the whole (customer, …) index to group: the
        // last year's rows come from the created_at index and are grouped in a temporary b-tree.
        let requirements: HashMap<i64, (i64, i64)> = bind_all(
            sqlx::query_as::<_, (i64, i64, i64)>(&format!(
                "SELECT +r.customer_id, COUNT(*), CAST(SUM(CASE WHEN r.urgency = 'urgent' THEN 1 ELSE 0 END) AS BIGINT) \
                 FROM requirements r{} GROUP BY 1",
                c.where_clause()
            )),
            &c.args,
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|(id, n, urgent)| (id, (n, urgent)))
        .collect();

        let customers: Vec<(CustomerRow, MacroRegion)> = customers
            .into_iter()
            .map(|c| {
                let region = segment::macro_region(&c.2);
                (c, region)
            })
            .filter(|(_, region)| q.region.is_none_or(|r| r == *region))
            .collect();
        let threshold = segment::value_threshold(customers.iter().map(|(c, _)| c.3));
        let mut rows: Vec<SegmentRow> = Segment::ALL
            .iter()
            .map(|s| SegmentRow {
                segment: *s,
                customers: 0,
                share: 0.0,
                volume: 0,
                orders: 0,
                strict: 0,
            })
            .collect();
        let mut regions: Vec<RegionRow> = MacroRegion::ALL
            .iter()
            .map(|r| RegionRow {
                region: *r,
                counts: vec![0; Segment::ALL.len()],
                total: 0,
            })
            .collect();
        let mut tiers: Vec<(Tier, i64)> = Tier::ALL.iter().map(|t| (*t, 0)).collect();
        let mut grades: Vec<(Grade, i64)> = Grade::ALL.iter().map(|g| (*g, 0)).collect();
        let mut points = Vec::with_capacity(customers.len().min(MAX_POINTS + 1));
        let (cols, lines) = GRID;
        let log = |v: i64| ((v.max(0) + 1) as f64).log10();
        let facts: Vec<(Facts, segment::Placed)> = customers
            .iter()
            .map(|((id, _, _, volume, _, _, flags), _)| {
                let (requirements, urgent) = requirements.get(id).copied().unwrap_or_default();
                let f = Facts {
                    volume: *volume,
                    orders: orders.get(id).copied().unwrap_or(0),
                    requirements,
                    urgent,
                    tight_flag: flags.contains("\"tight_deadline\""),
                };
                (f, segment::place(&f, threshold))
            })
            .collect();
        let max_orders = facts.iter().map(|(f, _)| log(f.orders)).fold(1.0, f64::max);
        let max_volume = facts.iter().map(|(f, _)| log(f.volume)).fold(1.0, f64::max);
        let mut cells = vec![vec![0i64; cols]; lines];
        let index = |s: Segment| Segment::ALL.iter().position(|x| *x == s).unwrap_or(0);
        for (((id, name, _, _, tier, grade, _), region), (f, placed)) in
            customers.iter().zip(&facts)
        {
            let k = index(placed.segment);
            let row = &mut rows[k];
            row.customers += 1;
            row.volume += f.volume;
            row.orders += f.orders;
            row.strict += i64::from(placed.strict);
            if let Some(r) = regions.iter_mut().find(|r| r.region == *region) {
                r.counts[k] += 1;
                r.total += 1;
            }
            if let Some(t) = tiers.iter_mut().find(|(t, _)| t.as_str() == tier) {
                t.1 += 1;
            }
            if let Some(g) = grades.iter_mut().find(|(g, _)| g.as_str() == grade) {
                g.1 += 1;
            }
            let col = ((log(f.orders) / max_orders) * (cols as f64 - 1.0)).round() as usize;
            let line = ((1.0 - log(f.volume) / max_volume) * (lines as f64 - 1.0)).round() as usize;
            cells[line.min(lines - 1)][col.min(cols - 1)] += 1;
            if customers.len() <= MAX_POINTS {
                points.push(Point {
                    customer_id: *id,
                    name: name.clone(),
                    volume: f.volume,
                    orders: f.orders,
                    segment: placed.segment,
                    strict: placed.strict,
                });
            }
        }
        let total = customers.len() as i64;
        for r in &mut rows {
            r.share = if total > 0 {
                r.customers as f64 / total as f64
            } else {
                0.0
            };
        }
        regions.retain(|r| r.total > 0);
        Ok(SegmentReport {
            customers: total,
            value_threshold: threshold,
            frequent_orders: segment::FREQUENT_ORDERS,
            strict_share: segment::STRICT_SHARE,
            segments: rows,
            regions,
            grid: (customers.len() > MAX_POINTS).then_some(Grid {
                cells,
                max_log_orders: max_orders,
                max_log_volume: max_volume,
            }),
            points,
            tiers,
            grades,
        })
    }
}

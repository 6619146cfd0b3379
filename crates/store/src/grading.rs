//! Grading runs (F2; 004§1.3 "年度确定、半年调整", 001§4): a run ranks every active customer by
//! the year's transaction volume (`grading::grade`), adds the evidence the committee reads (the
//! three-year rank, long-term agreement, government tasks, influence, growth) and proposes a
//! grade and tier each; the committee adjusts candidates and approves the run — which gives the
//! changed customers their new grade, tier and code and writes their grade history — or rejects
//! it. An approved annual run records the year's volumes for later three-year ranks.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use reqloop_domain::access::{Action, Actor};
use reqloop_domain::customer::{Grade, Tier};
use reqloop_domain::grading::{self, Evidence, GradeRules, RunKind, RunState};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::db::{bind_all, Arg, Conditions, WriteTx};
use crate::{Error, Page, Result, Store, Who};

/// Start a run: the annual determination of `year`, or the adjustment of its `half` (1 or 2).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRun {
    pub kind: RunKind,
    pub year: i32,
    #[serde(default)]
    pub half: Option<u32>,
}

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct GradingRun {
    pub id: i64,
    pub version: i64,
    pub kind: String,
    pub year: i64,
    /// 1 or 2 for a semiannual adjustment; 0 for an annual determination.
    pub half: i64,
    pub state: String,
    /// The rules the run applied (JSON of `GradeRules`).
    pub rules: String,
    pub customers: i64,
    /// Candidates whose outcome differs from their grade or tier now.
    pub changes: i64,
    pub created_by: i64,
    pub created_by_name: String,
    pub created_at: String,
    pub decided_by_name: Option<String>,
    pub decided_at: Option<String>,
    pub decision: String,
}

/// How many customers are in each grade and tier now and after the run.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct RunSummary {
    /// `(grade, now, after)`
    pub grades: Vec<(String, i64, i64)>,
    /// `(tier, now, after)`
    pub tiers: Vec<(String, i64, i64)>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Candidate {
    pub customer_id: i64,
    pub code: String,
    pub name: String,
    pub volume: i64,
    pub share: f64,
    pub rank: i64,
    pub rank_3y: i64,
    pub growth: Option<f64>,
    pub long_term: bool,
    pub government: bool,
    pub influential: bool,
    pub current_grade: String,
    pub current_tier: String,
    pub proposed_grade: String,
    pub proposed_tier: String,
    pub decided_grade: Option<String>,
    pub decided_tier: Option<String>,
    pub note: String,
    pub changed: bool,
}

#[derive(FromRow)]
struct CandidateRow {
    customer_id: i64,
    code: String,
    name: String,
    volume: i64,
    share: f64,
    rank: i64,
    rank_3y: i64,
    growth: Option<f64>,
    long_term: i64,
    government: i64,
    influential: i64,
    current_grade: String,
    current_tier: String,
    proposed_grade: String,
    proposed_tier: String,
    decided_grade: Option<String>,
    decided_tier: Option<String>,
    note: String,
    changed: i64,
}

impl From<CandidateRow> for Candidate {
    fn from(r: CandidateRow) -> Candidate {
        Candidate {
            customer_id: r.customer_id,
            code: r.code,
            name: r.name,
            volume: r.volume,
            share: r.share,
            rank: r.rank,
            rank_3y: r.rank_3y,
            growth: r.growth,
            long_term: r.long_term == 1,
            government: r.government == 1,
            influential: r.influential == 1,
            current_grade: r.current_grade,
            current_tier: r.current_tier,
            proposed_grade: r.proposed_grade,
            proposed_tier: r.proposed_tier,
            decided_grade: r.decided_grade,
            decided_tier: r.decided_tier,
            note: r.note,
            changed: r.changed == 1,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CandidateFilter {
    /// Only candidates whose grade or tier would change.
    pub changed: Option<bool>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// The committee's adjustment of one candidate (the run's `version` as read).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Adjustment {
    pub version: i64,
    pub grade: Grade,
    pub tier: Tier,
    #[serde(default)]
    pub note: String,
}

/// Approve or reject a run (the run's `version` as read).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunDecision {
    pub version: i64,
    pub approve: bool,
    #[serde(default)]
    pub note: String,
}

/// What an approval did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Applied {
    pub run: GradingRun,
    /// Customers given a new grade or tier.
    pub applied: i64,
    /// Customers left as they are because they were edited or archived after the run.
    pub skipped: i64,
}

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct GradeChange {
    pub id: i64,
    pub run_id: Option<i64>,
    pub from_grade: String,
    pub to_grade: String,
    pub from_tier: String,
    pub to_tier: String,
    pub from_code: String,
    pub to_code: String,
    pub note: String,
    pub by_name: String,
    pub at: String,
}

const RUN_COLUMNS: &str = "r.id, r.version, r.kind, r.year, r.half, r.state, r.rules, r.customers, \
    r.changes, r.created_by, cu.display_name AS created_by_name, r.created_at, du.display_name AS decided_by_name, \
    r.decided_at, r.decision";
const RUN_FROM: &str = "grading_runs r JOIN users cu ON cu.id = r.created_by \
    LEFT JOIN users du ON du.id = r.decided_by";

const CANDIDATE_COLUMNS: &str = "g.customer_id, c.code, c.name, g.volume, g.share, g.rank, g.rank_3y, \
    g.growth, g.long_term, g.government, g.influential, g.current_grade, g.current_tier, g.proposed_grade, \
    g.proposed_tier, g.decided_grade, g.decided_tier, g.note, g.changed";

/// Rows per multi-row INSERT of candidates (18 values each).
const BATCH: usize = crate::db::MAX_PARAMS / 18;

fn readable(actor: &Actor) -> Result<()> {
    if actor.require(Action::GradingManage).is_ok() || actor.require(Action::GradingApprove).is_ok()
    {
        Ok(())
    } else {
        Err(Error::Forbidden("grading"))
    }
}

/// One computed candidate, before it is written.
struct Computed {
    customer_id: i64,
    graded: grading::Graded,
    evidence: Evidence,
    current: (String, String),
    tier: Tier,
}

impl Store {
    /// The grading rules in force (the defaults until an administrator saves others).
    pub async fn grading_rules(&self) -> Result<GradeRules> {
        Ok(self
            .setting("grading_rules")
            .await?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    pub async fn set_grading_rules(
        &self,
        actor: &Actor,
        mut rules: GradeRules,
        now: DateTime<Utc>,
    ) -> Result<GradeRules> {
        actor
            .require(Action::GradingManage)
            .map_err(|_| Error::Forbidden("grading_rules"))?;
        rules.validate()?;
        let value = serde_json::to_string(&rules).map_err(|e| Error::Other(e.to_string()))?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let before = self.setting_in(&mut tx, "grading_rules").await?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ('grading_rules', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(&value)
        .execute(&mut *tx.tx)
        .await?;
        tx.audit("setting", 0, "grading_rules", before.as_ref(), Some(&value))
            .await?;
        tx.commit().await?;
        Ok(rules)
    }

    /// Computes a run's candidate list over every active customer and stores it as a draft.
    pub async fn start_grading_run(
        &self,
        actor: &Actor,
        r: NewRun,
        now: DateTime<Utc>,
    ) -> Result<GradingRun> {
        actor
            .require(Action::GradingManage)
            .map_err(|_| Error::Forbidden("grading"))?;
        let mut e = reqloop_domain::FieldErrors::default();
        if !(2000..=2100).contains(&r.year) {
            e.add("year", "range");
        }
        let half = match (r.kind, r.half) {
            (RunKind::Annual, None | Some(0)) => 0,
            (RunKind::Semiannual, Some(h @ (1 | 2))) => h,
            _ => {
                e.add("half", "range");
                0
            }
        };
        e.finish()?;
        let rules = self.grading_rules().await?;
        let year = i64::from(r.year);
        let customers: Vec<(i64, i64, String, String, String)> = sqlx::query_as(
            "SELECT id, annual_revenue, grade, tier, tags FROM customers WHERE archived = 0 ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        let past: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT customer_id, year, volume FROM customer_volumes WHERE year IN ($1, $2)",
        )
        .bind(year - 1)
        .bind(year - 2)
        .fetch_all(&self.pool)
        .await?;
        let mut before: HashMap<(i64, i64), i64> = HashMap::with_capacity(past.len());
        for (c, y, v) in past {
            before.insert((c, y), v);
        }
        let volumes: Vec<(i64, i64)> = customers.iter().map(|c| (c.0, c.1)).collect();
        let three_years: Vec<(i64, i64)> = customers
            .iter()
            .map(|c| {
                let past = |y| before.get(&(c.0, y)).copied().unwrap_or(0);
                (c.0, c.1 + past(year - 1) + past(year - 2))
            })
            .collect();
        let rank_3y: HashMap<i64, u32> = grading::grade(&three_years, &rules)
            .into_iter()
            .map(|g| (g.customer_id, if g.volume > 0 { g.rank } else { 0 }))
            .collect();
        let rows: HashMap<i64, &(i64, i64, String, String, String)> =
            customers.iter().map(|c| (c.0, c)).collect();
        let computed: Vec<Computed> = grading::grade(&volumes, &rules)
            .into_iter()
            .map(|g| {
                let c = rows[&g.customer_id];
                let tags: Vec<String> = serde_json::from_str(&c.4).unwrap_or_default();
                let has = |t: &str| tags.iter().any(|x| x == t);
                let evidence = Evidence {
                    rank_3y: rank_3y.get(&g.customer_id).copied().unwrap_or(0),
                    long_term: has(&rules.long_term_tag),
                    government: has(&rules.government_tag),
                    influential: has(&rules.influence_tag),
                    growth: grading::growth(c.1, before.get(&(c.0, year - 1)).copied()),
                };
                let tier = grading::propose_tier(g.grade, g.volume, &evidence, &rules);
                Computed {
                    customer_id: g.customer_id,
                    evidence,
                    current: (c.2.clone(), c.3.clone()),
                    tier,
                    graded: g,
                }
            })
            .collect();
        let changes = computed
            .iter()
            .filter(|c| c.graded.grade.as_str() != c.current.0 || c.tier.as_str() != c.current.1)
            .count() as i64;
        let rules_json = serde_json::to_string(&rules).map_err(|e| Error::Other(e.to_string()))?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO grading_runs (kind, year, half, state, rules, customers, changes, created_by, created_at) \
             VALUES ($1, $2, $3, 'draft', $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(r.kind.as_str())
        .bind(year)
        .bind(i64::from(half))
        .bind(&rules_json)
        .bind(computed.len() as i64)
        .bind(changes)
        .bind(actor.user_id.0)
        .bind(&at)
        .fetch_one(&mut *tx.tx)
        .await
        .map_err(|e| match crate::db::unique("run")(e) {
            Error::Duplicate(_) => Error::Rule(grading::RunError::DraftOpen.code()),
            other => other,
        })?;
        for chunk in computed.chunks(BATCH) {
            insert_candidates(&mut tx, id, chunk).await?;
        }
        tx.audit(
            "grading_run",
            id,
            "compute",
            None,
            Some(&serde_json::json!({
                "kind": r.kind, "year": year, "half": half, "customers": computed.len(),
                "changes": changes, "rules": rules,
            })),
        )
        .await?;
        tx.commit().await?;
        self.get_grading_run(actor, id).await
    }

    pub async fn list_grading_runs(
        &self,
        actor: &Actor,
        page: Option<i64>,
        per_page: Option<i64>,
    ) -> Result<Page<GradingRun>> {
        readable(actor)?;
        let (items, total) = self
            .fetch_page_counting(
                RUN_FROM,
                "grading_runs r",
                RUN_COLUMNS,
                &Conditions::default(),
                "r.id DESC",
                page,
                per_page,
            )
            .await?;
        Ok(Page { items, total })
    }

    pub async fn get_grading_run(&self, actor: &Actor, id: i64) -> Result<GradingRun> {
        readable(actor)?;
        sqlx::query_as(&format!(
            "SELECT {RUN_COLUMNS} FROM {RUN_FROM} WHERE r.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)
    }

    /// How the grades and tiers stand now and after the run (with the committee's adjustments).
    pub async fn grading_summary(&self, actor: &Actor, id: i64) -> Result<RunSummary> {
        self.get_grading_run(actor, id).await?;
        let grades = self
            .now_and_after(
                id,
                "current_grade",
                "COALESCE(decided_grade, proposed_grade)",
            )
            .await?;
        let tiers = self
            .now_and_after(id, "current_tier", "COALESCE(decided_tier, proposed_tier)")
            .await?;
        let ordered = |all: Vec<&str>, rows: Vec<(String, i64, i64)>| {
            all.into_iter()
                .map(|v| {
                    rows.iter()
                        .find(|r| r.0 == v)
                        .map_or((v.to_string(), 0, 0), |r| r.clone())
                })
                .collect()
        };
        Ok(RunSummary {
            grades: ordered(Grade::ALL.iter().map(|g| g.as_str()).collect(), grades),
            tiers: ordered(Tier::ALL.iter().map(|t| t.as_str()).collect(), tiers),
        })
    }

    /// `(value, candidates with it now, candidates with it after)` of one column pair.
    async fn now_and_after(
        &self,
        run: i64,
        now: &str,
        after: &str,
    ) -> Result<Vec<(String, i64, i64)>> {
        let sql = format!(
            "SELECT v, CAST(SUM(now_n) AS BIGINT), CAST(SUM(after_n) AS BIGINT) FROM (\
             SELECT {now} AS v, COUNT(*) AS now_n, 0 AS after_n FROM grading_candidates WHERE run_id = $1 GROUP BY {now} \
             UNION ALL SELECT {after} AS v, 0, COUNT(*) FROM grading_candidates WHERE run_id = $1 GROUP BY {after}\
             ) x GROUP BY v"
        );
        Ok(sqlx::query_as(&sql).bind(run).fetch_all(&self.pool).await?)
    }

    /// A page of a run's candidates by rank (changes only when asked).
    pub async fn grading_candidates(
        &self,
        actor: &Actor,
        id: i64,
        f: &CandidateFilter,
    ) -> Result<Page<Candidate>> {
        self.get_grading_run(actor, id).await?;
        let mut c = Conditions::default();
        c.push("g.run_id = ?", [Arg::Int(id)]);
        if let Some(changed) = f.changed {
            c.push("g.changed = ?", [Arg::Int(i64::from(changed))]);
        }
        let (rows, total) = self
            .fetch_page_counting::<CandidateRow>(
                "grading_candidates g JOIN customers c ON c.id = g.customer_id",
                "grading_candidates g",
                CANDIDATE_COLUMNS,
                &c,
                "g.rank, g.customer_id",
                f.page,
                f.per_page,
            )
            .await?;
        Ok(Page {
            items: rows.into_iter().map(Candidate::from).collect(),
            total,
        })
    }

    async fn candidate(&self, run: i64, customer: i64) -> Result<Candidate> {
        let mut c = Conditions::default();
        c.push(
            "g.run_id = ? AND g.customer_id = ?",
            [Arg::Int(run), Arg::Int(customer)],
        );
        let row: CandidateRow = bind_all(
            sqlx::query_as(&format!(
                "SELECT {CANDIDATE_COLUMNS} FROM grading_candidates g JOIN customers c ON c.id = g.customer_id{}",
                c.where_clause()
            )),
            &c.args,
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        Ok(row.into())
    }

    /// The committee sets a candidate's grade and tier (a note says why it departs from the
    /// proposal). Each adjustment moves the run's version on.
    pub async fn adjust_candidate(
        &self,
        actor: &Actor,
        run_id: i64,
        customer_id: i64,
        mut a: Adjustment,
        now: DateTime<Utc>,
    ) -> Result<Candidate> {
        if actor.require(Action::GradingManage).is_err()
            && actor.require(Action::GradingApprove).is_err()
        {
            return Err(Error::Forbidden("grading"));
        }
        let run = self.get_grading_run(actor, run_id).await?;
        if run.state != RunState::Draft.as_str() {
            return Err(Error::Rule(grading::RunError::Decided.code()));
        }
        if run.version != a.version {
            return Err(Error::Stale);
        }
        let before = self.candidate(run_id, customer_id).await?;
        let departs =
            a.grade.as_str() != before.proposed_grade || a.tier.as_str() != before.proposed_tier;
        let mut e = reqloop_domain::FieldErrors::default();
        if departs {
            e.required("note", &mut a.note, 500);
        } else {
            e.optional("note", &mut a.note, 500);
        }
        e.finish()?;
        let (grade, tier) = if departs {
            (Some(a.grade.as_str()), Some(a.tier.as_str()))
        } else {
            (None, None)
        };
        let changed =
            a.grade.as_str() != before.current_grade || a.tier.as_str() != before.current_tier;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let n = sqlx::query(
            "UPDATE grading_runs SET version = version + 1, changes = changes + $1 WHERE id = $2 AND version = $3 \
             AND state = 'draft'",
        )
        .bind(i64::from(changed) - i64::from(before.changed))
        .bind(run_id)
        .bind(a.version)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        sqlx::query(
            "UPDATE grading_candidates SET decided_grade = $1, decided_tier = $2, note = $3, changed = $4 \
             WHERE run_id = $5 AND customer_id = $6",
        )
        .bind(grade)
        .bind(tier)
        .bind(&a.note)
        .bind(i64::from(changed))
        .bind(run_id)
        .bind(customer_id)
        .execute(&mut *tx.tx)
        .await?;
        tx.audit(
            "grading_candidate",
            format!("{run_id}:{customer_id}"),
            "adjust",
            Some(&serde_json::json!({"grade": before.decided_grade, "tier": before.decided_tier})),
            Some(&serde_json::json!({"grade": grade, "tier": tier, "note": a.note})),
        )
        .await?;
        tx.commit().await?;
        self.candidate(run_id, customer_id).await
    }

    /// The committee approves (the changed customers get their new grade, tier and code, and a
    /// line of grade history; an annual run records the year's volumes) or rejects a run.
    pub async fn decide_grading_run(
        &self,
        actor: &Actor,
        id: i64,
        mut d: RunDecision,
        now: DateTime<Utc>,
    ) -> Result<Applied> {
        actor
            .require(Action::GradingApprove)
            .map_err(|_| Error::Forbidden("grading_approve"))?;
        let run = self.get_grading_run(actor, id).await?;
        let state: RunState = run
            .state
            .parse()
            .map_err(|_| Error::Other("stored run state is invalid".into()))?;
        grading::check_decision(state, run.created_by, actor.user_id.0)
            .map_err(|e| Error::Rule(e.code()))?;
        if run.version != d.version {
            return Err(Error::Stale);
        }
        let mut e = reqloop_domain::FieldErrors::default();
        if d.approve {
            e.optional("note", &mut d.note, 2000);
        } else {
            // A rejection says why.
            e.required("note", &mut d.note, 2000);
        }
        e.finish()?;
        let rule = self
            .setting("customer_code_rule")
            .await?
            .unwrap_or_else(|| reqloop_domain::coding::DEFAULT_RULE.to_string());
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let n = sqlx::query(
            "UPDATE grading_runs SET state = $1, decided_by = $2, decided_at = $3, decision = $4, version = version + 1 \
             WHERE id = $5 AND version = $6 AND state = 'draft'",
        )
        .bind(if d.approve { "approved" } else { "rejected" })
        .bind(actor.user_id.0)
        .bind(&at)
        .bind(&d.note)
        .bind(id)
        .bind(d.version)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        let (mut applied, mut skipped) = (0, 0);
        if d.approve {
            let changes: Vec<(i64, String, String, String, String, String, String)> =
                sqlx::query_as(
                    "SELECT g.customer_id, g.current_grade, g.current_tier, COALESCE(g.decided_grade, g.proposed_grade), \
                     COALESCE(g.decided_tier, g.proposed_tier), c.code, c.province FROM grading_candidates g \
                     JOIN customers c ON c.id = g.customer_id WHERE g.run_id = $1 AND g.changed = 1 ORDER BY g.rank",
                )
                .bind(id)
                .fetch_all(&mut *tx.tx)
                .await?;
            let note = format!("grading_run:{id}");
            for (customer, from_g, from_t, to_g, to_t, from_code, province) in changes {
                let (Ok(grade), Ok(tier)) = (to_g.parse::<Grade>(), to_t.parse::<Tier>()) else {
                    continue;
                };
                let code =
                    crate::customers::code_in(&mut tx, &rule, grade, tier, &province, now).await?;
                // Only customers as the run saw them: an edit or archive since leaves them be.
                let n = sqlx::query(
                    "UPDATE customers SET grade = $1, tier = $2, code = $3, updated_at = $4, version = version + 1 \
                     WHERE id = $5 AND grade = $6 AND tier = $7 AND archived = 0",
                )
                .bind(grade.as_str())
                .bind(tier.as_str())
                .bind(&code)
                .bind(&at)
                .bind(customer)
                .bind(&from_g)
                .bind(&from_t)
                .execute(&mut *tx.tx)
                .await
                .map_err(crate::db::unique("code"))?
                .rows_affected();
                if n == 0 {
                    skipped += 1;
                    continue;
                }
                let change = GradeChangeRow {
                    customer,
                    run: Some(id),
                    from: (&from_g, &from_t, &from_code),
                    to: (grade.as_str(), tier.as_str(), &code),
                    note: &note,
                };
                record_grade_change(&mut tx, &change, &actor.username).await?;
                // The customer's history (履历) shows it as a grading (F1, F2).
                tx.audit(
                    "customer",
                    customer,
                    "grade",
                    Some(&serde_json::json!({"grade": from_g, "tier": from_t, "code": from_code})),
                    Some(&serde_json::json!({"grade": grade, "tier": tier, "code": code})),
                )
                .await?;
                applied += 1;
            }
            if run.kind == RunKind::Annual.as_str() {
                sqlx::query(
                    "INSERT INTO customer_volumes (customer_id, year, volume) \
                     SELECT customer_id, $1, volume FROM grading_candidates WHERE run_id = $2 \
                     ON CONFLICT (year, customer_id) DO UPDATE SET volume = excluded.volume",
                )
                .bind(run.year)
                .bind(id)
                .execute(&mut *tx.tx)
                .await?;
            }
        }
        tx.audit(
            "grading_run",
            id,
            if d.approve { "approve" } else { "reject" },
            Some(&serde_json::json!({"state": run.state})),
            Some(&serde_json::json!({
                "state": if d.approve { "approved" } else { "rejected" },
                "note": d.note, "applied": applied, "skipped": skipped,
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(Applied {
            run: self.get_grading_run(actor, id).await?,
            applied,
            skipped,
        })
    }

    /// A customer's grade history, newest first.
    pub async fn grade_history(
        &self,
        actor: &Actor,
        customer: reqloop_domain::ids::CustomerId,
    ) -> Result<Vec<GradeChange>> {
        self.get_customer(actor, customer).await?;
        Ok(sqlx::query_as(
            "SELECT id, run_id, from_grade, to_grade, from_tier, to_tier, from_code, to_code, note, by_name, at \
             FROM grade_history WHERE customer_id = $1 ORDER BY id DESC",
        )
        .bind(customer.0)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A customer's recorded yearly volumes (`year`, `volume`), oldest first.
    pub async fn customer_volumes(&self, customer: i64) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT year, volume FROM customer_volumes WHERE customer_id = $1 ORDER BY year",
        )
        .bind(customer)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records the volumes of a year (data from before ReqLoop: an import, the demo).
    pub async fn record_volumes(
        &self,
        who: &Who,
        year: i64,
        volumes: &[(i64, i64)],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.write(who, now).await?;
        for chunk in volumes.chunks(BATCH) {
            let marks: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, $1, ${})", i * 2 + 2, i * 2 + 3))
                .collect();
            let sql = format!(
                "INSERT INTO customer_volumes (customer_id, year, volume) VALUES {} \
                 ON CONFLICT (year, customer_id) DO UPDATE SET volume = excluded.volume",
                marks.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(year);
            for (c, v) in chunk {
                q = q.bind(*c).bind(*v);
            }
            q.execute(&mut *tx.tx).await?;
        }
        tx.audit(
            "customer_volumes",
            year,
            "record",
            None,
            Some(&serde_json::json!({"customers": volumes.len()})),
        )
        .await?;
        tx.commit().await
    }
}

/// One line of grade history to write: from (grade, tier, code) to (grade, tier, code).
pub(crate) struct GradeChangeRow<'a> {
    pub customer: i64,
    pub run: Option<i64>,
    pub from: (&'a str, &'a str, &'a str),
    pub to: (&'a str, &'a str, &'a str),
    pub note: &'a str,
}

/// Writes a line of grade history (a run's approval, or an edit — whose audit entry the caller
/// writes).
pub(crate) async fn record_grade_change(
    tx: &mut WriteTx,
    c: &GradeChangeRow<'_>,
    by: &str,
) -> Result<()> {
    let at = tx.at.clone();
    sqlx::query(
        "INSERT INTO grade_history (customer_id, run_id, from_grade, to_grade, from_tier, to_tier, from_code, to_code, \
         note, by_name, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(c.customer)
    .bind(c.run)
    .bind(c.from.0)
    .bind(c.to.0)
    .bind(c.from.1)
    .bind(c.to.1)
    .bind(c.from.2)
    .bind(c.to.2)
    .bind(c.note)
    .bind(by)
    .bind(&at)
    .execute(&mut *tx.tx)
    .await?;
    Ok(())
}

async fn insert_candidates(tx: &mut WriteTx, run: i64, rows: &[Computed]) -> Result<()> {
    const COLS: usize = 17;
    let marks: Vec<String> = (0..rows.len())
        .map(|i| {
            let p: Vec<String> = (0..COLS)
                .map(|k| format!("${}", i * COLS + k + 2))
                .collect();
            format!("($1, {})", p.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO grading_candidates (run_id, customer_id, volume, share, rank, rank_3y, growth, long_term, \
         government, influential, current_grade, current_tier, proposed_grade, proposed_tier, decided_grade, \
         decided_tier, note, changed) VALUES {}",
        marks.join(", ")
    );
    let mut q = sqlx::query(&sql).bind(run);
    for c in rows {
        let changed = c.graded.grade.as_str() != c.current.0 || c.tier.as_str() != c.current.1;
        q = q
            .bind(c.customer_id)
            .bind(c.graded.volume)
            .bind(c.graded.share)
            .bind(i64::from(c.graded.rank))
            .bind(i64::from(c.evidence.rank_3y))
            .bind(c.evidence.growth)
            .bind(i64::from(c.evidence.long_term))
            .bind(i64::from(c.evidence.government))
            .bind(i64::from(c.evidence.influential))
            .bind(c.current.0.clone())
            .bind(c.current.1.clone())
            .bind(c.graded.grade.as_str())
            .bind(c.tier.as_str())
            .bind(None::<String>)
            .bind(None::<String>)
            .bind("")
            .bind(i64::from(changed));
    }
    q.execute(&mut *tx.tx).await?;
    Ok(())
}

//! Review rounds (F11): the identification items × the aspects under review, each answered by
//! the aspect's department; the conclusion is derived (`review::conclusion`); an approver signs
//! it, after a quality review when the customer is under tightened control. The approved round
//! is the review stage's output record.

use chrono::{DateTime, Utc};
use reqloop_domain::access::Actor;
use reqloop_domain::requirement::Stage;
use reqloop_domain::review::{
    self, Answer, AnswerFields, Aspect, Conclusion, ReviewError, RoundStatus,
};
use reqloop_domain::user::Role;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::db::{requirement_scope, Arg, Conditions};
use crate::{changes, handoffs, requirements, Error, Item, Page, Result, Store, Who};

/// One answer of a round.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewAnswer {
    pub id: i64,
    pub item_id: i64,
    pub aspect: Aspect,
    pub answer: Answer,
    pub note: String,
    pub answered_by: String,
    pub answered_at: String,
}

/// A review round with its answers and derived conclusion.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewRound {
    pub id: i64,
    pub version: i64,
    pub requirement_id: i64,
    pub requirement_code: String,
    pub requirement_title: String,
    /// The requirement's customer (its grade puts the round in the queue, F2).
    pub customer_id: i64,
    pub round_no: i64,
    /// Set for the re-review of a change (F14): the round covers the change's items, as the
    /// change would make them.
    pub change_id: Option<i64>,
    pub aspects: Vec<Aspect>,
    pub quality_required: bool,
    pub quality_by: Option<String>,
    pub quality_at: Option<String>,
    pub quality_note: String,
    pub status: RoundStatus,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    pub created_by: String,
    pub created_at: String,
    /// Items × aspects.
    pub expected: i64,
    pub answered: i64,
    pub conclusion: Conclusion,
    /// Only in the single-round view.
    pub answers: Vec<ReviewAnswer>,
    pub items: Vec<Item>,
}

#[derive(FromRow)]
struct RoundRow {
    id: i64,
    version: i64,
    requirement_id: i64,
    requirement_code: String,
    requirement_title: String,
    customer_id: i64,
    round_no: i64,
    change_id: Option<i64>,
    aspects: String,
    quality_required: i64,
    quality_by: Option<String>,
    quality_at: Option<String>,
    quality_note: String,
    status: String,
    approved_by: Option<String>,
    approved_at: Option<String>,
    created_by: String,
    created_at: String,
    items: i64,
    answered: i64,
    cannot: i64,
    conditional: i64,
}

const COLUMNS: &str = "v.id, v.version, v.requirement_id, r.code AS requirement_code, r.title AS requirement_title, \
    r.customer_id, \
    v.round_no, v.change_id, v.aspects, v.quality_required, v.quality_by, v.quality_at, v.quality_note, v.status, v.approved_by, \
    v.approved_at, v.created_by, v.created_at, \
    CASE WHEN v.change_id IS NULL \
        THEN (SELECT COUNT(*) FROM requirement_items i WHERE i.requirement_id = v.requirement_id) \
        ELSE (SELECT COUNT(*) FROM change_items ci WHERE ci.change_id = v.change_id) END AS items, \
    (SELECT COUNT(*) FROM review_answers a WHERE a.round_id = v.id) AS answered, \
    (SELECT COUNT(*) FROM review_answers a WHERE a.round_id = v.id AND a.answer = 'cannot_meet') AS cannot, \
    (SELECT COUNT(*) FROM review_answers a WHERE a.round_id = v.id AND a.answer = 'with_conditions') AS conditional";

const FROM: &str =
    "review_rounds v JOIN requirements r ON r.id = v.requirement_id JOIN customers c ON c.id = r.customer_id";

fn aspects_of(s: &str) -> Result<Vec<Aspect>> {
    s.split(',')
        .filter(|a| !a.is_empty())
        .map(|a| {
            a.parse()
                .map_err(|_| Error::Other("stored review round has an invalid aspect".into()))
        })
        .collect()
}

impl RoundRow {
    fn into_round(self) -> Result<ReviewRound> {
        let aspects = aspects_of(&self.aspects)?;
        let expected = self.items * aspects.len() as i64;
        Ok(ReviewRound {
            id: self.id,
            version: self.version,
            requirement_id: self.requirement_id,
            requirement_code: self.requirement_code,
            requirement_title: self.requirement_title,
            customer_id: self.customer_id,
            round_no: self.round_no,
            change_id: self.change_id,
            conclusion: review::conclusion_of_counts(
                expected as usize,
                self.answered as usize,
                self.cannot as usize,
                self.conditional as usize,
            ),
            aspects,
            quality_required: self.quality_required != 0,
            quality_by: self.quality_by,
            quality_at: self.quality_at,
            quality_note: self.quality_note,
            status: self
                .status
                .parse()
                .map_err(|_| Error::Other("stored review round has an invalid status".into()))?,
            approved_by: self.approved_by,
            approved_at: self.approved_at,
            created_by: self.created_by,
            created_at: self.created_at,
            expected,
            answered: self.answered,
            answers: vec![],
            items: vec![],
        })
    }
}

/// Filters of `/reviews`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReviewFilter {
    pub requirement_id: Option<i64>,
    /// The re-review rounds of a change.
    pub change_id: Option<i64>,
    /// Only rounds with an aspect this department answers.
    pub department_id: Option<i64>,
    pub status: Option<RoundStatus>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// A round to start: the aspects under review (all seven when left out).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReview {
    pub requirement_id: i64,
    #[serde(default)]
    pub aspects: Vec<Aspect>,
}

impl Store {
    pub async fn list_reviews(&self, actor: &Actor, f: &ReviewFilter) -> Result<Page<ReviewRound>> {
        let mut c = Conditions::default();
        requirement_scope(&mut c, actor, "r.");
        if let Some(r) = f.requirement_id {
            c.push("v.requirement_id = ?", [Arg::Int(r)]);
        }
        if let Some(g) = f.change_id {
            c.push("v.change_id = ?", [Arg::Int(g)]);
        }
        if let Some(s) = f.status {
            c.push("v.status = ?", [Arg::Text(s.as_str().into())]);
        }
        if let Some(d) = f.department_id {
            let code: Option<String> =
                sqlx::query_scalar("SELECT code FROM departments WHERE id = $1")
                    .bind(d)
                    .fetch_optional(&self.pool)
                    .await?;
            let aspects: Vec<Arg> = code
                .as_deref()
                .map(|code| {
                    Aspect::answered_by(code)
                        .map(|a| Arg::Text(format!("%,{a},%")))
                        .collect()
                })
                .unwrap_or_default();
            if aspects.is_empty() {
                c.push("1 = 0", []);
            } else {
                let each = vec!["(',' || v.aspects || ',') LIKE ?"; aspects.len()];
                c.push(&format!("({})", each.join(" OR ")), aspects);
            }
        }
        // The open rounds are a queue: grade A first (F2).
        let order = if f.status == Some(RoundStatus::Open) {
            "c.grade, v.id DESC"
        } else {
            "v.id DESC"
        };
        let (rows, total) = self
            .fetch_page::<RoundRow>(FROM, COLUMNS, &c, order, f.page, f.per_page)
            .await?;
        let items = rows
            .into_iter()
            .map(RoundRow::into_round)
            .collect::<Result<_>>()?;
        Ok(Page { items, total })
    }

    /// One round with its items and answers (the review report).
    pub async fn review_round(&self, actor: &Actor, id: i64) -> Result<ReviewRound> {
        let mut c = Conditions::default();
        c.push("v.id = ?", [Arg::Int(id)]);
        requirement_scope(&mut c, actor, "r.");
        let sql = format!("SELECT {COLUMNS} FROM {FROM}{}", c.where_clause());
        let row: RoundRow = crate::db::bind_all(sqlx::query_as(&sql), &c.args)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(Error::NotFound)?;
        let mut round = row.into_round()?;
        let answers: Vec<(i64, i64, String, String, String, String, String)> = sqlx::query_as(
            "SELECT id, item_id, aspect, answer, note, answered_by, answered_at FROM review_answers \
             WHERE round_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let bad = || Error::Other("stored review answer is invalid".into());
        round.answers = answers
            .into_iter()
            .map(|(id, item_id, aspect, answer, note, by, at)| {
                Ok(ReviewAnswer {
                    id,
                    item_id,
                    aspect: aspect.parse().map_err(|_| bad())?,
                    answer: answer.parse().map_err(|_| bad())?,
                    note,
                    answered_by: by,
                    answered_at: at,
                })
            })
            .collect::<Result<_>>()?;
        round.items = match round.change_id {
            None => self.list_items(actor, round.requirement_id).await?,
            Some(change) => changes::items_as_changed(&self.pool, change).await?,
        };
        Ok(round)
    }

    /// Starts a round for a requirement in the review stage (one open round at a time).
    pub async fn start_review(
        &self,
        actor: &Actor,
        new: NewReview,
        now: DateTime<Utc>,
    ) -> Result<ReviewRound> {
        let r = self.get_requirement(actor, new.requirement_id).await?;
        let rule = |e: ReviewError| Error::Rule(e.code());
        if r.stage != Stage::Review {
            return Err(rule(ReviewError::NotInReview));
        }
        let mut aspects = if new.aspects.is_empty() {
            Aspect::ALL.to_vec()
        } else {
            new.aspects
        };
        aspects.sort();
        aspects.dedup();
        let (items,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM requirement_items WHERE requirement_id = $1")
                .bind(r.id)
                .fetch_one(&self.pool)
                .await?;
        if items == 0 {
            return Err(rule(ReviewError::NoItems));
        }
        let flags: String = sqlx::query_scalar("SELECT risk_flags FROM customers WHERE id = $1")
            .bind(r.fields.customer_id.0)
            .fetch_one(&self.pool)
            .await?;
        let tightened = flags.trim() != "[]" && !flags.trim().is_empty();
        let departments = self.departments().await?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let (open, last): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(CASE WHEN status = 'open' THEN 1 END), MAX(round_no) FROM review_rounds WHERE requirement_id = $1",
        )
        .bind(r.id)
        .fetch_one(&mut *tx.tx)
        .await?;
        if open > 0 {
            return Err(rule(ReviewError::RoundOpen));
        }
        let wire: Vec<&str> = aspects.iter().map(|a| a.as_str()).collect();
        let at = tx.at.clone();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO review_rounds (requirement_id, round_no, aspects, quality_required, status, created_by, created_at) \
             VALUES ($1, $2, $3, $4, 'open', $5, $6) RETURNING id",
        )
        .bind(r.id)
        .bind(last.unwrap_or(0) + 1)
        .bind(wire.join(","))
        .bind(i64::from(tightened))
        .bind(&actor.username)
        .bind(&at)
        .fetch_one(&mut *tx.tx)
        .await?;
        let answering: Vec<_> = departments
            .iter()
            .filter(|d| aspects.iter().any(|a| a.department_code() == d.code))
            .map(|d| d.id)
            .collect();
        handoffs::take_part(&mut tx, r.id, &answering).await?;
        tx.audit(
            "review_round",
            id,
            "create",
            None,
            Some(&serde_json::json!({"requirement_id": r.id, "aspects": wire, "quality_required": tightened})),
        )
        .await?;
        tx.commit().await?;
        self.review_round(actor, id).await
    }

    /// One department's answer on one item (F11). Answering an item and aspect twice is refused.
    pub async fn answer_review(
        &self,
        actor: &Actor,
        round_id: i64,
        mut a: AnswerFields,
        now: DateTime<Utc>,
    ) -> Result<ReviewRound> {
        a.validate()?;
        let round = self.review_round(actor, round_id).await?;
        if !round.items.iter().any(|i| i.id == a.item_id) {
            return Err(Error::field("item_id", "unknown_item"));
        }
        let aspect_dept: Option<i64> =
            sqlx::query_scalar("SELECT id FROM departments WHERE code = $1")
                .bind(a.aspect.department_code())
                .fetch_optional(&self.pool)
                .await?;
        let answered = round
            .answers
            .iter()
            .any(|x| x.item_id == a.item_id && x.aspect == a.aspect);
        review::check_answer(
            round.status,
            &round.aspects,
            a.aspect,
            answered,
            actor.department_id,
            aspect_dept.map(reqloop_domain::ids::DepartmentId),
            actor.role == Role::Admin,
        )
        .map_err(|e| Error::Rule(e.code()))?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let status: String = sqlx::query_scalar("SELECT status FROM review_rounds WHERE id = $1")
            .bind(round_id)
            .fetch_one(&mut *tx.tx)
            .await?;
        if status != RoundStatus::Open.as_str() {
            return Err(Error::Rule(ReviewError::RoundClosed.code()));
        }
        let at = tx.at.clone();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO review_answers (round_id, item_id, aspect, answer, note, answered_by, answered_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(round_id)
        .bind(a.item_id)
        .bind(a.aspect.as_str())
        .bind(a.answer.as_str())
        .bind(&a.note)
        .bind(&actor.username)
        .bind(&at)
        .fetch_one(&mut *tx.tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                Error::Rule(ReviewError::AlreadyAnswered.code())
            }
            _ => Error::Db(e),
        })?;
        tx.audit("review_answer", id, "create", None, Some(&a))
            .await?;
        tx.commit().await?;
        self.review_round(actor, round_id).await
    }

    /// The extra quality review of a round whose customer is under tightened control.
    pub async fn quality_review(
        &self,
        actor: &Actor,
        round_id: i64,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<ReviewRound> {
        let note = note.trim();
        if note.is_empty() {
            return Err(Error::field("note", "required"));
        }
        if note.chars().count() > 2000 {
            return Err(Error::field("note", "too_long"));
        }
        let round = self.review_round(actor, round_id).await?;
        if round.status != RoundStatus::Open {
            return Err(Error::Rule(ReviewError::RoundClosed.code()));
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let n = sqlx::query(
            "UPDATE review_rounds SET quality_by = $1, quality_at = $2, quality_note = $3, version = version + 1 \
             WHERE id = $4 AND version = $5 AND status = 'open'",
        )
        .bind(&actor.username)
        .bind(&at)
        .bind(note)
        .bind(round_id)
        .bind(round.version)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        tx.audit(
            "review_round",
            round_id,
            "quality_review",
            None,
            Some(&serde_json::json!({"note": note})),
        )
        .await?;
        tx.commit().await?;
        self.review_round(actor, round_id).await
    }

    /// The approver signs the round's conclusion; the review stage's output is filed with it.
    pub async fn approve_review(
        &self,
        actor: &Actor,
        round_id: i64,
        version: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<ReviewRound> {
        let round = self.review_round(actor, round_id).await?;
        if version.is_some_and(|v| v != round.version) {
            return Err(Error::Stale);
        }
        review::check_approve(
            round.status,
            round.conclusion,
            round.quality_required,
            round.quality_at.is_some(),
        )
        .map_err(|e| Error::Rule(e.code()))?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let n = sqlx::query(
            "UPDATE review_rounds SET status = 'approved', approved_by = $1, approved_at = $2, version = version + 1 \
             WHERE id = $3 AND version = $4 AND status = 'open'",
        )
        .bind(&actor.username)
        .bind(&at)
        .bind(round_id)
        .bind(round.version)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        tx.audit(
            "review_round",
            round_id,
            "approve",
            None,
            Some(&serde_json::json!({"conclusion": round.conclusion})),
        )
        .await?;
        let stage: String = sqlx::query_scalar("SELECT stage FROM requirements WHERE id = $1")
            .bind(round.requirement_id)
            .fetch_one(&mut *tx.tx)
            .await?;
        if let Some(change) = round.change_id {
            changes::rereviewed(&mut tx, change, round.round_no).await?;
        } else if stage == Stage::Review.as_str() {
            let note = format!(
                "第{}轮评审结论：{}（审批人 {}）",
                round.round_no,
                conclusion_zh(round.conclusion),
                actor.username
            );
            requirements::file_output(
                &mut tx,
                round.requirement_id,
                Stage::Review,
                &note,
                &actor.username,
            )
            .await?;
        }
        tx.commit().await?;
        self.review_round(actor, round_id).await
    }
}

/// The conclusion as written into the stage output record (stored text, read by people).
fn conclusion_zh(c: Conclusion) -> &'static str {
    match c {
        Conclusion::Pending => "评审中",
        Conclusion::Met => "能满足",
        Conclusion::Conditional => "有条件满足",
        Conclusion::NotMet => "不能满足",
    }
}

//! Rectification actions (F21; 002§4.5.2, 004§3): a weakness found in the satisfaction analysis
//! published as an action with an owner and a due date, then rectified, replied to the
//! customers and its effect evaluated (`rectification::next`); an ineffective one returns to
//! rectification for another round.

use chrono::{DateTime, NaiveDate, Utc};
use reqloop_domain::access::{Action, Actor};
use reqloop_domain::rectification::{self, ActionFields, ActionState, ActionStep};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::db::{Arg, Conditions};
use crate::{Error, Page, Result, Store, Who};

#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct SurveyAction {
    pub id: i64,
    pub version: i64,
    pub title: String,
    pub aspect: String,
    pub category_by: String,
    pub category: String,
    pub finding: String,
    pub owner_id: i64,
    pub owner_name: String,
    pub due_on: String,
    pub status: String,
    /// What was done (the latest round).
    pub rectification: String,
    /// What the customers were told.
    pub reply: String,
    /// The evaluation of the effect (of the latest round).
    pub evaluation: String,
    /// 1, and one more each time the effect was found wanting.
    pub rounds: i64,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

impl SurveyAction {
    /// Past its due date and not evaluated as effective.
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.status != ActionState::Evaluated.as_str()
            && NaiveDate::parse_from_str(&self.due_on, "%Y-%m-%d").is_ok_and(|d| d < today)
    }
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActionFilter {
    pub status: Option<ActionState>,
    pub owner_id: Option<i64>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// One step of an action: its note, and for `evaluate` whether the effect is there.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionStepRequest {
    pub version: i64,
    pub step: ActionStep,
    pub note: String,
    #[serde(default)]
    pub effective: Option<bool>,
}

const COLUMNS: &str = "a.id, a.version, a.title, a.aspect, a.category_by, a.category, a.finding, \
    a.owner_id, u.display_name AS owner_name, a.due_on, a.status, a.rectification, a.reply, \
    a.evaluation, a.rounds, a.created_by, a.created_at, a.updated_at";
const FROM: &str = "survey_actions a JOIN users u ON u.id = a.owner_id";

impl Store {
    pub async fn create_survey_action(
        &self,
        actor: &Actor,
        mut f: ActionFields,
        now: DateTime<Utc>,
    ) -> Result<SurveyAction> {
        f.validate()?;
        let owner: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM users WHERE id = $1 AND active = 1")
                .bind(f.owner_id)
                .fetch_optional(&self.pool)
                .await?;
        if owner.is_none() {
            return Err(Error::field("owner_id", "unknown"));
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO survey_actions (title, aspect, category_by, category, finding, owner_id, due_on, status, \
             created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
        )
        .bind(&f.title)
        .bind(&f.aspect)
        .bind(&f.category_by)
        .bind(&f.category)
        .bind(&f.finding)
        .bind(f.owner_id)
        .bind(&f.due_on)
        .bind(ActionState::Published.as_str())
        .bind(&actor.username)
        .bind(&at)
        .fetch_one(&mut *tx.tx)
        .await?;
        tx.audit("survey_action", id, "publish", None, Some(&f))
            .await?;
        tx.commit().await?;
        self.get_survey_action(id).await
    }

    pub async fn get_survey_action(&self, id: i64) -> Result<SurveyAction> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM {FROM} WHERE a.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Actions, the open ones by due date first.
    pub async fn list_survey_actions(&self, f: &ActionFilter) -> Result<Page<SurveyAction>> {
        let mut c = Conditions::default();
        if let Some(s) = f.status {
            c.push("a.status = ?", [Arg::Text(s.as_str().into())]);
        }
        if let Some(o) = f.owner_id {
            c.push("a.owner_id = ?", [Arg::Int(o)]);
        }
        let (items, total) = self
            .fetch_page_counting(
                FROM,
                "survey_actions a",
                COLUMNS,
                &c,
                "CASE WHEN a.status = 'evaluated' THEN 1 ELSE 0 END, a.due_on, a.id",
                f.page,
                f.per_page,
            )
            .await?;
        Ok(Page { items, total })
    }

    /// Rectify, reply or evaluate: by the owner or a survey manager, with a note; an
    /// evaluation that finds no effect sends the action back to rectification.
    pub async fn step_survey_action(
        &self,
        actor: &Actor,
        id: i64,
        mut r: ActionStepRequest,
        now: DateTime<Utc>,
    ) -> Result<SurveyAction> {
        let a = self.get_survey_action(id).await?;
        if a.owner_id != actor.user_id.0 && actor.require(Action::SurveyManage).is_err() {
            return Err(Error::Forbidden("not_owner"));
        }
        if a.version != r.version {
            return Err(Error::Stale);
        }
        let mut e = reqloop_domain::fields::FieldErrors::default();
        e.required("note", &mut r.note, 4000);
        if r.step == ActionStep::Evaluate && r.effective.is_none() {
            e.add("effective", "required");
        }
        e.finish()?;
        let from: ActionState = a
            .status
            .parse()
            .map_err(|_| Error::Other("stored action state is invalid".into()))?;
        let to = rectification::next(from, r.step, r.effective.unwrap_or(false))
            .ok_or(Error::Rule("action_state"))?;
        let column = match r.step {
            ActionStep::Rectify => "rectification",
            ActionStep::Reply => "reply",
            ActionStep::Evaluate => "evaluation",
        };
        let again = i64::from(r.step == ActionStep::Evaluate && to == ActionState::Rectifying);
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let n = sqlx::query(&format!(
            "UPDATE survey_actions SET status = $1, {column} = $2, rounds = rounds + $3, updated_at = $4, \
             version = version + 1 WHERE id = $5 AND version = $6"
        ))
        .bind(to.as_str())
        .bind(&r.note)
        .bind(again)
        .bind(&at)
        .bind(id)
        .bind(r.version)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        tx.audit(
            "survey_action",
            id,
            r.step.as_str(),
            Some(&serde_json::json!({"status": a.status})),
            Some(&serde_json::json!({"status": to.as_str(), "note": r.note, "effective": r.effective})),
        )
        .await?;
        tx.commit().await?;
        self.get_survey_action(id).await
    }

    /// The actions a report of `from..=to` accounts for: published before its end and not
    /// evaluated before its start.
    pub(crate) async fn actions_for_period(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<SurveyAction>> {
        let end = to.succ_opt().unwrap_or(to);
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE a.created_at < $2 \
             AND (a.status <> 'evaluated' OR a.updated_at >= $1) ORDER BY a.due_on, a.id LIMIT 500"
        ))
        .bind(crate::survey_analysis::day_start(from))
        .bind(crate::survey_analysis::day_start(end))
        .fetch_all(&self.pool)
        .await?)
    }
}

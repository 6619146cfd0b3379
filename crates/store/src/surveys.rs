//! Satisfaction surveys (F20, F21): campaigns of invitations over a questionnaire version, the
//! public single-use link (`/s/{token}`), answers stored one row per scored question, and the
//! analysis aggregated in SQL (a histogram per aspect and category, never only an average).

use chrono::{DateTime, Utc};
use reqloop_domain::access::Actor;
use reqloop_domain::survey::{
    self, CampaignFields, CampaignKind, CampaignStatus, Questionnaire, Response, TemplateFields,
};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::db::{customer_scope, Arg, Conditions};
use crate::{users::random_token, Error, Page, Result, Store, Who};

/// A campaign with how many were invited and how many answered.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Campaign {
    pub id: i64,
    pub version: i64,
    pub kind: String,
    pub title: String,
    pub template_id: i64,
    pub template_version: i64,
    pub period_start: String,
    pub period_end: String,
    pub status: String,
    pub account_manager_id: Option<i64>,
    pub created_by: String,
    pub created_at: String,
    pub invited: i64,
    pub answered: i64,
}

/// One invitation: its customer, its public token and whether it was answered.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Invitation {
    pub id: i64,
    pub campaign_id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub token: String,
    pub answered_at: Option<String>,
    pub answered_by: Option<String>,
    pub reminders: i64,
}

/// What the public page needs to show an open invitation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpenInvitation {
    pub invitation_id: i64,
    pub campaign_title: String,
    pub customer_name: String,
    pub questionnaire: Questionnaire,
}

/// A questionnaire template.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct TemplateSummary {
    pub id: i64,
    pub version: i64,
    pub name: String,
    /// The questionnaire version new campaigns use.
    pub current_version: i64,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct TemplateVersionInfo {
    pub version_no: i64,
    pub created_by: String,
    pub created_at: String,
}

/// A template with its current questionnaire and its versions, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Template {
    pub id: i64,
    pub version: i64,
    pub name: String,
    pub current_version: i64,
    pub created_at: String,
    pub questionnaire: Questionnaire,
    pub versions: Vec<TemplateVersionInfo>,
}

/// A reminded invitation still waiting for its answer.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Reminder {
    pub invitation_id: i64,
    pub campaign_id: i64,
    pub campaign_title: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub token: String,
    pub reminders: i64,
    pub reminded_at: Option<String>,
}

/// Filters of `/surveys`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CampaignFilter {
    pub status: Option<CampaignStatus>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

pub(crate) const CAMPAIGN_COLUMNS: &str =
    "g.id, g.version, g.kind, g.title, g.template_id, g.template_version, \
    g.period_start, g.period_end, g.status, g.account_manager_id, g.created_by, g.created_at, \
    g.invited, g.answered";

impl Store {
    /// The default questionnaire's template, created on first use.
    async fn default_template(&self, now: DateTime<Utc>) -> Result<(i64, i64)> {
        let found: Option<(i64, i64)> =
            sqlx::query_as("SELECT id, current_version FROM survey_templates ORDER BY id LIMIT 1")
                .fetch_optional(&self.pool)
                .await?;
        if let Some(t) = found {
            return Ok(t);
        }
        let definition = serde_json::to_string(&survey::default_questionnaire())
            .map_err(|e| Error::Other(e.to_string()))?;
        let mut tx = self.write(&Who::system(), now).await?;
        let at = tx.at.clone();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO survey_templates (name, current_version, created_at) VALUES ($1, 1, $2) RETURNING id",
        )
        .bind("顾客满意度调查表")
        .bind(&at)
        .fetch_one(&mut *tx.tx)
        .await?;
        sqlx::query(
            "INSERT INTO survey_template_versions (template_id, version_no, definition, created_by, created_at) \
             VALUES ($1, 1, $2, 'system', $3)",
        )
        .bind(id)
        .bind(&definition)
        .bind(&at)
        .execute(&mut *tx.tx)
        .await?;
        tx.audit("survey_template", id, "create", None, Some(&definition))
            .await?;
        tx.commit().await?;
        Ok((id, 1))
    }

    pub async fn questionnaire(&self, template: i64, version: i64) -> Result<Questionnaire> {
        let definition: String = sqlx::query_scalar(
            "SELECT definition FROM survey_template_versions WHERE template_id = $1 AND version_no = $2",
        )
        .bind(template)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        serde_json::from_str(&definition)
            .map_err(|_| Error::Other("stored questionnaire is invalid".into()))
    }

    /// Starts a campaign and invites the customers its kind covers (each with its own token).
    pub async fn create_campaign(
        &self,
        actor: &Actor,
        mut f: CampaignFields,
        now: DateTime<Utc>,
    ) -> Result<Campaign> {
        f.validate()?;
        let (template, version) = match f.template_id {
            None => self.default_template(now).await?,
            Some(t) => {
                sqlx::query_as("SELECT id, current_version FROM survey_templates WHERE id = $1")
                    .bind(t)
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or(Error::field("template_id", "unknown"))?
            }
        };
        let mut c = Conditions::default();
        customer_scope(&mut c, actor, "id");
        c.push("archived = ?", [Arg::Int(0)]);
        match f.kind {
            CampaignKind::Annual | CampaignKind::Quarterly => {}
            CampaignKind::AccountManager => c.push(
                "account_manager_id = ?",
                [Arg::Int(f.account_manager_id.unwrap_or_default())],
            ),
            CampaignKind::OnSite | CampaignKind::PostComplaint => {
                let marks = vec!["?"; f.customer_ids.len()].join(", ");
                c.push(
                    &format!("id IN ({marks})"),
                    f.customer_ids.iter().map(|id| Arg::Int(*id)),
                );
            }
        }
        let sql = format!("SELECT id FROM customers{} ORDER BY id", c.where_clause());
        let customers: Vec<i64> = crate::db::bind_all(sqlx::query_as(&sql), &c.args)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|(id,): (i64,)| id)
            .collect();
        if customers.is_empty() {
            return Err(Error::field("customer_ids", "no_customers"));
        }
        if matches!(f.kind, CampaignKind::OnSite | CampaignKind::PostComplaint)
            && customers.len() != f.customer_ids.len()
        {
            return Err(Error::field("customer_ids", "unknown_customer"));
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO survey_campaigns (kind, title, template_id, template_version, period_start, period_end, \
             status, account_manager_id, created_by, created_at, invited) \
             VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9, $10) RETURNING id",
        )
        .bind(f.kind.as_str())
        .bind(&f.title)
        .bind(template)
        .bind(version)
        .bind(f.period_start.trim())
        .bind(f.period_end.trim())
        .bind(f.account_manager_id)
        .bind(&actor.username)
        .bind(&at)
        .bind(customers.len() as i64)
        .fetch_one(&mut *tx.tx)
        .await?;
        for customer in &customers {
            sqlx::query(
                "INSERT INTO survey_invitations (campaign_id, customer_id, token, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(customer)
            .bind(random_token())
            .bind(&at)
            .execute(&mut *tx.tx)
            .await?;
        }
        if f.kind == CampaignKind::PostComplaint {
            // The survey tasks of closed serious complaints are done by this campaign.
            for customer in &customers {
                sqlx::query(
                    "UPDATE survey_tasks SET status = 'done' WHERE customer_id = $1 AND status = 'open'",
                )
                .bind(customer)
                .execute(&mut *tx.tx)
                .await?;
            }
        }
        tx.audit(
            "survey_campaign",
            id,
            "create",
            None,
            Some(&serde_json::json!({"fields": f, "invited": customers.len()})),
        )
        .await?;
        tx.commit().await?;
        self.get_campaign(id).await
    }

    pub async fn get_campaign(&self, id: i64) -> Result<Campaign> {
        sqlx::query_as(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM survey_campaigns g WHERE g.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)
    }

    pub async fn list_campaigns(&self, f: &CampaignFilter) -> Result<Page<Campaign>> {
        let mut c = Conditions::default();
        if let Some(s) = f.status {
            c.push("g.status = ?", [Arg::Text(s.as_str().into())]);
        }
        let (items, total) = self
            .fetch_page_counting(
                "survey_campaigns g",
                "survey_campaigns g",
                CAMPAIGN_COLUMNS,
                &c,
                "g.id DESC",
                f.page,
                f.per_page,
            )
            .await?;
        Ok(Page { items, total })
    }

    /// The invitations of a campaign the actor's customers have (a page of them).
    pub async fn invitations(
        &self,
        actor: &Actor,
        campaign: i64,
        page: Option<i64>,
        per_page: Option<i64>,
    ) -> Result<Page<Invitation>> {
        let mut c = Conditions::default();
        c.push("i.campaign_id = ?", [Arg::Int(campaign)]);
        customer_scope(&mut c, actor, "i.customer_id");
        let (items, total) = self
            .fetch_page_counting(
                "survey_invitations i JOIN customers c ON c.id = i.customer_id",
                "survey_invitations i",
                "i.id, i.campaign_id, i.customer_id, c.name AS customer_name, i.token, i.answered_at, \
                 i.answered_by, i.reminders",
                &c,
                "i.answered_at IS NOT NULL, i.id",
                page,
                per_page,
            )
            .await?;
        Ok(Page { items, total })
    }

    /// An invitation still waiting for its answer, by its public token (`NotFound` for an
    /// unknown or used token, or a closed campaign).
    pub async fn open_invitation(&self, token: &str) -> Result<OpenInvitation> {
        let row: Option<(i64, String, String, i64, i64)> = sqlx::query_as(
            "SELECT i.id, g.title, c.name, g.template_id, g.template_version FROM survey_invitations i \
             JOIN survey_campaigns g ON g.id = i.campaign_id JOIN customers c ON c.id = i.customer_id \
             WHERE i.token = $1 AND i.answered_at IS NULL AND g.status = 'open'",
        )
        .bind(token)
        .fetch_optional(&self.pool)
        .await?;
        let (invitation_id, campaign_title, customer_name, template, version) =
            row.ok_or(Error::NotFound)?;
        Ok(OpenInvitation {
            invitation_id,
            campaign_title,
            customer_name,
            questionnaire: self.questionnaire(template, version).await?,
        })
    }

    /// Answers an invitation once (the customer through the link, or staff entering answers
    /// taken on site: `by`); a used token is `NotFound` and nothing is written.
    pub async fn answer_invitation(
        &self,
        token: &str,
        mut r: Response,
        by: Option<&Actor>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let open = self.open_invitation(token).await?;
        r.validate(&open.questionnaire)?;
        let who = by.map(Who::from).unwrap_or_else(|| Who {
            id: None,
            name: "customer".into(),
        });
        let mut tx = self.write(&who, now).await?;
        let at = tx.at.clone();
        let n = sqlx::query(
            "UPDATE survey_invitations SET answered_at = $1, answered_by = $2, comment = $3 \
             WHERE token = $4 AND answered_at IS NULL \
             AND campaign_id IN (SELECT id FROM survey_campaigns WHERE status = 'open')",
        )
        .bind(&at)
        .bind(by.map(|a| a.username.clone()))
        .bind(&r.comment)
        .bind(token)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::NotFound);
        }
        let (campaign, customer): (i64, i64) =
            sqlx::query_as("SELECT campaign_id, customer_id FROM survey_invitations WHERE id = $1")
                .bind(open.invitation_id)
                .fetch_one(&mut *tx.tx)
                .await?;
        sqlx::query("UPDATE survey_campaigns SET answered = answered + 1 WHERE id = $1")
            .bind(campaign)
            .execute(&mut *tx.tx)
            .await?;
        for s in &r.scores {
            let aspect = open
                .questionnaire
                .questions
                .iter()
                .find(|q| q.code == s.question)
                .map(|q| q.aspect.clone())
                .unwrap_or_default();
            sqlx::query(
                "INSERT INTO survey_answers (invitation_id, campaign_id, customer_id, question, aspect, score, comment, answered_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(open.invitation_id)
            .bind(campaign)
            .bind(customer)
            .bind(&s.question)
            .bind(&aspect)
            .bind(s.score)
            .bind(&s.comment)
            .bind(&at)
            .execute(&mut *tx.tx)
            .await?;
        }
        // The roll-up the analysis reads: one row per day, category, aspect and score.
        let (grade, tier, industry, province): (String, String, String, String) =
            sqlx::query_as("SELECT grade, tier, industry, province FROM customers WHERE id = $1")
                .bind(customer)
                .fetch_one(&mut *tx.tx)
                .await?;
        let mut counts = std::collections::BTreeMap::<(&str, i64), i64>::new();
        for s in &r.scores {
            let aspect = open
                .questionnaire
                .questions
                .iter()
                .find(|q| q.code == s.question)
                .map(|q| q.aspect.as_str())
                .unwrap_or_default();
            *counts.entry((aspect, s.score)).or_default() += 1;
        }
        let day = reqloop_domain::time::shanghai_date(now).to_string();
        for (dim, category) in [
            ("", ""),
            ("grade", grade.as_str()),
            ("tier", tier.as_str()),
            ("industry", industry.as_str()),
            ("province", province.as_str()),
        ] {
            for ((aspect, score), n) in &counts {
                sqlx::query(
                    "INSERT INTO survey_daily (dim, day, category, aspect, score, n) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (dim, day, category, aspect, score) DO UPDATE SET n = survey_daily.n + excluded.n",
                )
                .bind(dim)
                .bind(&day)
                .bind(category)
                .bind(*aspect)
                .bind(*score)
                .bind(*n)
                .execute(&mut *tx.tx)
                .await?;
            }
        }
        // F23: satisfaction counts for the customer's account manager (and department) of now.
        let (manager, department): (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT c.account_manager_id, u.department_id FROM customers c \
             LEFT JOIN users u ON u.id = c.account_manager_id WHERE c.id = $1",
        )
        .bind(customer)
        .fetch_one(&mut *tx.tx)
        .await?;
        let scores: Vec<i64> = r.scores.iter().map(|s| s.score).collect();
        let answered = reqloop_domain::kpi::Counts {
            scores: reqloop_domain::survey::histogram(&scores),
            ..Default::default()
        };
        let owner = crate::kpis::Owner {
            person: manager.unwrap_or(0),
            department: department.unwrap_or(0),
            customer,
        };
        crate::kpis::bump(
            &mut tx,
            &reqloop_domain::kpi::month_of(now),
            owner,
            &answered,
        )
        .await?;
        tx.audit(
            "survey_invitation",
            open.invitation_id,
            "answer",
            None,
            Some(&r),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Closes a campaign: its links stop working.
    pub async fn close_campaign(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        now: DateTime<Utc>,
    ) -> Result<Campaign> {
        let g = self.get_campaign(id).await?;
        if g.version != version {
            return Err(Error::Stale);
        }
        if g.status == CampaignStatus::Closed.as_str() {
            return Err(Error::Rule("campaign_closed"));
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let n = sqlx::query(
            "UPDATE survey_campaigns SET status = 'closed', version = version + 1 WHERE id = $1 AND version = $2",
        )
        .bind(id)
        .bind(version)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        tx.audit("survey_campaign", id, "close", None, Some(&"closed"))
            .await?;
        tx.commit().await?;
        self.get_campaign(id).await
    }

    /// Every questionnaire template (the default one is created on first use).
    pub async fn list_templates(&self, now: DateTime<Utc>) -> Result<Vec<TemplateSummary>> {
        self.default_template(now).await?;
        Ok(sqlx::query_as(
            "SELECT id, version, name, current_version, created_at FROM survey_templates ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// A template with its current questionnaire and the list of its versions.
    pub async fn get_template(&self, id: i64) -> Result<Template> {
        let t: TemplateSummary = sqlx::query_as(
            "SELECT id, version, name, current_version, created_at FROM survey_templates WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        let versions = sqlx::query_as(
            "SELECT version_no, created_by, created_at FROM survey_template_versions \
             WHERE template_id = $1 ORDER BY version_no DESC",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Template {
            questionnaire: self.questionnaire(id, t.current_version).await?,
            id: t.id,
            version: t.version,
            name: t.name,
            current_version: t.current_version,
            created_at: t.created_at,
            versions,
        })
    }

    pub async fn create_template(
        &self,
        actor: &Actor,
        mut f: TemplateFields,
        now: DateTime<Utc>,
    ) -> Result<Template> {
        f.validate()?;
        let definition = to_json(&f.questionnaire)?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO survey_templates (name, current_version, created_at) VALUES ($1, 1, $2) RETURNING id",
        )
        .bind(&f.name)
        .bind(&at)
        .fetch_one(&mut *tx.tx)
        .await?;
        insert_version(&mut tx, id, 1, &definition, &actor.username).await?;
        tx.audit("survey_template", id, "create", None, Some(&f))
            .await?;
        tx.commit().await?;
        self.get_template(id).await
    }

    /// Saves an edited questionnaire as the template's next version; campaigns started later
    /// use it, answers already given keep theirs. Stale `version`: `Stale`.
    pub async fn update_template(
        &self,
        actor: &Actor,
        id: i64,
        mut f: TemplateFields,
        now: DateTime<Utc>,
    ) -> Result<Template> {
        f.validate()?;
        let old = self.get_template(id).await?;
        if old.version != f.version {
            return Err(Error::Stale);
        }
        if old.name == f.name && old.questionnaire == f.questionnaire {
            return Err(Error::Rule("unchanged"));
        }
        let definition = to_json(&f.questionnaire)?;
        let next = old.current_version + 1;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let n = sqlx::query(
            "UPDATE survey_templates SET name = $1, current_version = $2, version = version + 1 \
             WHERE id = $3 AND version = $4",
        )
        .bind(&f.name)
        .bind(next)
        .bind(id)
        .bind(f.version)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        insert_version(&mut tx, id, next, &definition, &actor.username).await?;
        tx.audit(
            "survey_template",
            id,
            "update",
            Some(&serde_json::json!({"name": old.name, "questionnaire": old.questionnaire})),
            Some(&serde_json::json!({"name": f.name, "questionnaire": f.questionnaire})),
        )
        .await?;
        tx.commit().await?;
        self.get_template(id).await
    }

    /// Aspect code → (Chinese, English) label over every questionnaire version.
    pub async fn aspect_labels(
        &self,
    ) -> Result<std::collections::HashMap<String, (String, String)>> {
        let mut definitions = vec![to_json(&survey::default_questionnaire())?];
        definitions.extend(
            sqlx::query_scalar::<_, String>(
                "SELECT definition FROM survey_template_versions ORDER BY created_at, template_id, version_no",
            )
            .fetch_all(&self.pool)
            .await?,
        );
        Ok(crate::survey_analysis::labels_from(&definitions))
    }

    /// Reminds the customers (in the actor's scope) who have not answered an open campaign
    /// yet; each reminder is counted on the invitation and shown to the customer's account
    /// manager. Returns how many were reminded.
    pub async fn remind_unanswered(
        &self,
        actor: &Actor,
        campaign: i64,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let g = self.get_campaign(campaign).await?;
        if g.status != CampaignStatus::Open.as_str() {
            return Err(Error::Rule("campaign_closed"));
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let mut c = Conditions::default();
        c.push("campaign_id = ?", [Arg::Int(campaign)]);
        c.push("answered_at IS NULL", []);
        customer_scope(&mut c, actor, "customer_id");
        let n = c.next();
        let sql = format!(
            "UPDATE survey_invitations SET reminders = reminders + 1, reminded_at = ${n}{} RETURNING id",
            c.where_clause()
        );
        let mut args = c.args.clone();
        args.push(Arg::Text(tx.at.clone()));
        let reminded: Vec<(i64,)> = crate::db::bind_all(sqlx::query_as(&sql), &args)
            .fetch_all(&mut *tx.tx)
            .await?;
        let count = reminded.len() as i64;
        if count > 0 {
            tx.audit(
                "survey_campaign",
                campaign,
                "remind",
                None,
                Some(&serde_json::json!({ "reminded": count })),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(count)
    }

    /// Reminded invitations still unanswered, of the customers the user manages (my work).
    pub async fn survey_reminders(&self, actor: &Actor) -> Result<Vec<Reminder>> {
        Ok(sqlx::query_as(
            "SELECT i.id AS invitation_id, g.id AS campaign_id, g.title AS campaign_title, i.customer_id, \
             c.name AS customer_name, i.token, i.reminders, i.reminded_at FROM survey_invitations i \
             JOIN survey_campaigns g ON g.id = i.campaign_id JOIN customers c ON c.id = i.customer_id \
             WHERE c.account_manager_id = $1 AND g.status = 'open' AND i.answered_at IS NULL AND i.reminders > 0 \
             ORDER BY i.reminded_at DESC, i.id LIMIT 50",
        )
        .bind(actor.user_id.0)
        .fetch_all(&self.pool)
        .await?)
    }
}

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Other(e.to_string()))
}

async fn insert_version(
    tx: &mut crate::db::WriteTx,
    template: i64,
    version_no: i64,
    definition: &str,
    by: &str,
) -> Result<()> {
    let at = tx.at.clone();
    sqlx::query(
        "INSERT INTO survey_template_versions (template_id, version_no, definition, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(template)
    .bind(version_no)
    .bind(definition)
    .bind(by)
    .bind(&at)
    .execute(&mut *tx.tx)
    .await?;
    Ok(())
}

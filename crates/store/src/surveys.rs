//! Satisfaction surveys (F20, F21): campaigns of invitations over a questionnaire version, the
//! public single-use link (`/s/{token}`), answers stored one row per scored question, and the
//! analysis aggregated in SQL (a histogram per aspect and category, never only an average).

use chrono::{DateTime, Utc};
use reqloop_domain::access::Actor;
use reqloop_domain::survey::{
    self, CampaignFields, CampaignKind, CampaignStatus, Histogram, Questionnaire, Response,
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

/// The distribution of one aspect's scores in one category.
#[derive(Debug, Clone, Serialize, ToSchema)]
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
}

const CAMPAIGN_COLUMNS: &str = "g.id, g.version, g.kind, g.title, g.template_id, g.template_version, \
    g.period_start, g.period_end, g.status, g.account_manager_id, g.created_by, g.created_at, \
    (SELECT COUNT(*) FROM survey_invitations i WHERE i.campaign_id = g.id) AS invited, \
    (SELECT COUNT(*) FROM survey_invitations i WHERE i.campaign_id = g.id AND i.answered_at IS NOT NULL) AS answered";

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
        let (template, version) = self.default_template(now).await?;
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
             status, account_manager_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9) RETURNING id",
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

    /// The analysis of the answers given in a period (F21): a histogram per aspect, per
    /// category when asked, and the response rate of the campaigns of the period.
    pub async fn survey_analysis(&self, q: &AnalysisQuery) -> Result<Analysis> {
        let date = |s: &str, f: &'static str| {
            chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| Error::field(f, "date"))
        };
        let from = date(&q.from, "from")?;
        let to = date(&q.to, "to")?;
        if to < from {
            return Err(Error::field("to", "before_start"));
        }
        let by = q.by.clone().unwrap_or_default();
        let category = match by.as_str() {
            "" => "''",
            "grade" => "c.grade",
            "tier" => "c.tier",
            "industry" => "c.industry",
            "province" => "c.province",
            _ => return Err(Error::field("by", "choice")),
        };
        // Stored UTC timestamps; the period is whole Shanghai days.
        let start = reqloop_domain::time::to_db(
            from.and_hms_opt(0, 0, 0).expect("midnight").and_utc() - chrono::Duration::hours(8),
        );
        let end = reqloop_domain::time::to_db(
            to.succ_opt()
                .unwrap_or(to)
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                - chrono::Duration::hours(8),
        );
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(&format!(
            "SELECT {category} AS category, a.aspect, a.score, COUNT(*) FROM survey_answers a \
             JOIN customers c ON c.id = a.customer_id \
             WHERE a.answered_at >= $1 AND a.answered_at < $2 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        ))
        .bind(&start)
        .bind(&end)
        .fetch_all(&self.pool)
        .await?;
        let mut aspects: Vec<AspectDistribution> = Vec::new();
        for (cat, aspect, score, n) in rows {
            let idx = match aspects
                .iter()
                .position(|d| d.category == cat && d.aspect == aspect)
            {
                Some(i) => i,
                None => {
                    aspects.push(AspectDistribution {
                        category: cat.clone(),
                        aspect: aspect.clone(),
                        histogram: [0; 5],
                        count: 0,
                        mean: None,
                        dissatisfied: None,
                    });
                    aspects.len() - 1
                }
            };
            if (1..=5).contains(&score) {
                aspects[idx].histogram[(score - 1) as usize] += n;
            }
        }
        for d in &mut aspects {
            d.count = survey::count(&d.histogram);
            d.mean = survey::mean(&d.histogram);
            d.dissatisfied = survey::dissatisfied(&d.histogram);
        }
        let (invited, answered): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COUNT(i.answered_at) FROM survey_invitations i \
             JOIN survey_campaigns g ON g.id = i.campaign_id \
             WHERE g.period_start <= $2 AND g.period_end >= $1",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_one(&self.pool)
        .await?;
        Ok(Analysis {
            from: from.to_string(),
            to: to.to_string(),
            by,
            invited,
            answered,
            response_rate: survey::response_rate(invited, answered),
            aspects,
        })
    }
}

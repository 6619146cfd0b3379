//! Notifications (F31). The notifier reads each event's source from its own cursor — new
//! hand-offs, recorded breaches, review rounds, complaints, warnings, survey answers — works out
//! who it concerns and, in one transaction with the cursor's move, writes their inbox rows and
//! the deliveries: an e-mail for each person who wants one, a call for each webhook that
//! follows the event. The sender (reqloop-jobs) claims due deliveries, sends them and reports
//! back; failures are retried with backoff and every attempt is in the delivery log.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use reqloop_domain::access::{Action, Actor};
use reqloop_domain::notify::{self, Event, Format, Message};
use reqloop_domain::time::to_db;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::{id_list, Arg, Conditions};
use crate::{Error, Page, Result, Store, Who};

/// Source rows read per transaction.
const BATCH: i64 = 200;
/// How long a claimed delivery is left to its sender before another may take it.
const LEASE_MINUTES: i64 = 2;
const SMTP_KEY: &str = "smtp";

/// One inbox entry.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Notification {
    pub id: i64,
    pub event: String,
    pub record_type: String,
    pub record_id: i64,
    pub title_zh: String,
    pub title_en: String,
    pub link: String,
    pub created_at: String,
    pub read_at: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationFilter {
    /// Only the unread ones.
    #[serde(default)]
    pub unread: bool,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// Marks entries read: the listed ones, or all of the reader's.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    #[serde(default)]
    pub ids: Vec<i64>,
    #[serde(default)]
    pub all: bool,
}

/// How a person wants to hear of an event.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Pref {
    pub event: Event,
    pub in_app: bool,
    pub email: bool,
}

/// The outgoing mail server and the address links point at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    /// Empty: no e-mails are sent.
    pub host: String,
    pub port: u16,
    /// `none`, `starttls` or `tls`.
    pub security: String,
    pub from: String,
    #[serde(default)]
    pub username: String,
    /// Write-only: reads return "" (and an empty one on save keeps the stored password).
    #[serde(default)]
    pub password: String,
    /// The server's address as users reach it, for links (`https://reqloop.example.cn`).
    pub base_url: String,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            host: String::new(),
            port: 25,
            security: "none".into(),
            from: String::new(),
            username: String::new(),
            password: String::new(),
            base_url: "http://127.0.0.1:8080".into(),
        }
    }
}

/// A webhook as shown (the secret is never read back).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Webhook {
    pub id: i64,
    pub version: i64,
    pub name: String,
    pub format: Format,
    pub url: String,
    pub has_secret: bool,
    pub events: Vec<Event>,
    pub active: bool,
    pub created_by: String,
    pub created_at: String,
}

/// A new webhook, or the new state of one (`version` then required; an empty `secret`
/// keeps the stored one).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookFields {
    pub name: String,
    pub format: Format,
    pub url: String,
    #[serde(default)]
    pub secret: String,
    pub events: Vec<Event>,
    #[serde(default = "yes")]
    pub active: bool,
    pub version: Option<i64>,
}

fn yes() -> bool {
    true
}

/// One e-mail or webhook call in the delivery log.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    /// `email` or `webhook`.
    pub channel: String,
    pub webhook_id: Option<i64>,
    pub target: String,
    pub event: String,
    pub subject: String,
    /// `pending`, `sent` or `failed` (given up).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: String,
    pub created_at: String,
    pub sent_at: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilter {
    pub status: Option<String>,
    pub channel: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// A delivery claimed for sending, with what the sender needs.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub id: i64,
    pub channel: String,
    pub target: String,
    pub subject: String,
    pub payload: String,
    pub format: Option<Format>,
    pub secret: String,
}

/// What one notifier pass wrote.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct NotifyPass {
    pub notifications: u64,
    pub deliveries: u64,
}

/// A source row: an event about a record, with whom it may concern.
#[derive(sqlx::FromRow)]
struct Source {
    key: i64,
    at: String,
    record_type: String,
    record_id: i64,
    subject: String,
    link: String,
    user_id: Option<i64>,
    department_id: Option<i64>,
    customer_id: Option<i64>,
    requirement_id: Option<i64>,
    /// For a stage move: `from>to`.
    detail: String,
}

/// Each event's source after the cursor (`$1`: the last key read; survey answers also `$2`,
/// the last answer time), in key order. Columns as [`Source`].
fn source_sql(event: Event) -> &'static str {
    match event {
        Event::HandoffAssigned => {
            "SELECT h.id AS key, h.created_at AS at, 'handoff' AS record_type, h.id AS record_id, \
             r.code || ' ' || r.title AS subject, '/requirements/' || r.id AS link, h.receiver_id AS user_id, \
             h.department_id, r.customer_id, r.id AS requirement_id, '' AS detail \
             FROM handoffs h JOIN requirements r ON r.id = h.requirement_id WHERE h.id > $1 ORDER BY h.id"
        }
        Event::HandoffOverdue => {
            "SELECT b.id AS key, b.recorded_at AS at, 'handoff' AS record_type, h.id AS record_id, \
             r.code || ' ' || r.title AS subject, '/requirements/' || r.id AS link, h.receiver_id AS user_id, \
             h.department_id, r.customer_id, r.id AS requirement_id, '' AS detail \
             FROM sla_breaches b JOIN handoffs h ON h.id = b.record_id JOIN requirements r ON r.id = h.requirement_id \
             WHERE b.record_type = 'handoff' AND b.id > $1 ORDER BY b.id"
        }
        Event::ReviewRequested => {
            "SELECT v.id AS key, v.created_at AS at, 'review_round' AS record_type, v.id AS record_id, \
             r.code || ' ' || r.title AS subject, '/reviews/' || v.id AS link, CAST(NULL AS BIGINT) AS user_id, \
             CAST(NULL AS BIGINT) AS department_id, r.customer_id, r.id AS requirement_id, '' AS detail \
             FROM review_rounds v JOIN requirements r ON r.id = v.requirement_id WHERE v.id > $1 ORDER BY v.id"
        }
        Event::ComplaintRegistered => {
            "SELECT k.id AS key, k.registered_at AS at, 'complaint' AS record_type, k.id AS record_id, \
             c.name || ' ' || k.title AS subject, '/complaints/' || k.id AS link, CAST(NULL AS BIGINT) AS user_id, \
             CAST(NULL AS BIGINT) AS department_id, k.customer_id, CAST(NULL AS BIGINT) AS requirement_id, '' AS detail \
             FROM complaints k JOIN customers c ON c.id = k.customer_id WHERE k.id > $1 ORDER BY k.id"
        }
        Event::ComplaintOverdue => {
            "SELECT b.id AS key, b.recorded_at AS at, 'complaint' AS record_type, k.id AS record_id, \
             c.name || ' ' || k.title AS subject, '/complaints/' || k.id AS link, k.investigator_id AS user_id, \
             k.department_id, k.customer_id, CAST(NULL AS BIGINT) AS requirement_id, '' AS detail \
             FROM sla_breaches b JOIN complaints k ON k.id = b.record_id JOIN customers c ON c.id = k.customer_id \
             WHERE b.record_type = 'complaint' AND b.id > $1 ORDER BY b.id"
        }
        Event::WarningRaised => {
            "SELECT w.id AS key, w.raised_at AS at, 'warning' AS record_type, w.id AS record_id, \
             COALESCE(c.name || ' ', '') || w.cause AS subject, '/warnings/' || w.id AS link, w.assignee_id AS user_id, \
             CAST(NULL AS BIGINT) AS department_id, w.customer_id, CAST(NULL AS BIGINT) AS requirement_id, '' AS detail \
             FROM warnings w LEFT JOIN customers c ON c.id = w.customer_id WHERE w.id > $1 ORDER BY w.id"
        }
        Event::SurveyAnswered => {
            "SELECT i.id AS key, i.answered_at AS at, 'survey_invitation' AS record_type, i.id AS record_id, \
             c.name AS subject, '/surveys/' || i.campaign_id AS link, CAST(NULL AS BIGINT) AS user_id, \
             CAST(NULL AS BIGINT) AS department_id, i.customer_id, CAST(NULL AS BIGINT) AS requirement_id, '' AS detail \
             FROM survey_invitations i JOIN customers c ON c.id = i.customer_id \
             WHERE i.answered_at IS NOT NULL AND (i.answered_at > $2 OR (i.answered_at = $2 AND i.id > $1)) \
             ORDER BY i.answered_at, i.id"
        }
        Event::RequirementCreated => {
            "SELECT r.id AS key, r.created_at AS at, 'requirement' AS record_type, r.id AS record_id, \
             r.code || ' ' || r.title AS subject, '/requirements/' || r.id AS link, CAST(NULL AS BIGINT) AS user_id, \
             CAST(NULL AS BIGINT) AS department_id, r.customer_id, r.id AS requirement_id, '' AS detail \
             FROM requirements r WHERE r.id > $1 ORDER BY r.id"
        }
        Event::RequirementStageChanged | Event::RequirementClosed => {
            "SELECT t.id AS key, t.at, 'requirement' AS record_type, r.id AS record_id, \
             r.code || ' ' || r.title AS subject, '/requirements/' || r.id AS link, CAST(NULL AS BIGINT) AS user_id, \
             CAST(NULL AS BIGINT) AS department_id, r.customer_id, r.id AS requirement_id, \
             t.from_stage || '>' || t.to_stage AS detail \
             FROM requirement_transitions t JOIN requirements r ON r.id = t.requirement_id WHERE t.id > $1 ORDER BY t.id"
        }
    }
}

/// Up to `limit` rows of an event's source past `cursor`.
async fn read_source<'e, E>(ex: E, event: Event, cursor: &str, limit: i64) -> Result<Vec<Source>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let (key, at) = parse_cursor(cursor);
    let sql = format!("{} LIMIT {limit}", source_sql(event));
    let mut q = sqlx::query_as::<_, Source>(&sql).bind(key);
    if event == Event::SurveyAnswered {
        q = q.bind(at);
    }
    Ok(q.fetch_all(ex).await?)
}

/// Where a source starts when the notifier first meets it: after everything there is (nobody
/// is told about the past).
fn start_sql(event: Event) -> &'static str {
    match event {
        Event::HandoffAssigned => "SELECT COALESCE(MAX(id), 0), '' FROM handoffs",
        Event::HandoffOverdue => {
            "SELECT COALESCE(MAX(id), 0), '' FROM sla_breaches WHERE record_type = 'handoff'"
        }
        Event::ComplaintOverdue => {
            "SELECT COALESCE(MAX(id), 0), '' FROM sla_breaches WHERE record_type = 'complaint'"
        }
        Event::ReviewRequested => "SELECT COALESCE(MAX(id), 0), '' FROM review_rounds",
        Event::ComplaintRegistered => "SELECT COALESCE(MAX(id), 0), '' FROM complaints",
        Event::WarningRaised => "SELECT COALESCE(MAX(id), 0), '' FROM warnings",
        Event::SurveyAnswered => {
            "SELECT COALESCE(MAX(id), 0), COALESCE(MAX(answered_at), '') FROM survey_invitations \
             WHERE answered_at = (SELECT MAX(answered_at) FROM survey_invitations)"
        }
        Event::RequirementCreated => "SELECT COALESCE(MAX(id), 0), '' FROM requirements",
        Event::RequirementStageChanged | Event::RequirementClosed => {
            "SELECT COALESCE(MAX(id), 0), '' FROM requirement_transitions"
        }
    }
}

/// What a record event tells other systems beyond its title.
fn record_data(event: Event, s: &Source) -> serde_json::Value {
    let detail = s.detail.as_str();
    match event {
        Event::RequirementCreated => serde_json::json!({"customer_id": s.customer_id}),
        Event::RequirementStageChanged | Event::RequirementClosed => {
            let (from, to) = detail.split_once('>').unwrap_or(("", detail));
            serde_json::json!({"from_stage": from, "to_stage": to})
        }
        _ => serde_json::Value::Null,
    }
}

/// The cursor as stored: `key` or `key|answered_at`.
fn parse_cursor(s: &str) -> (i64, String) {
    let (k, at) = s.split_once('|').unwrap_or((s, ""));
    (k.parse().unwrap_or(0), at.to_string())
}

/// Who hears of what, from what the batch looked up.
struct Lookups {
    members: HashMap<i64, Vec<i64>>,
    managers: HashMap<i64, i64>,
    quality: Vec<i64>,
    marketing: Vec<i64>,
    reviewers: HashMap<i64, Vec<i64>>,
}

fn recipients(event: Event, s: &Source, l: &Lookups) -> Vec<i64> {
    let direct_or_department = || match (s.user_id, s.department_id) {
        (Some(u), _) => vec![u],
        (None, Some(d)) => l.members.get(&d).cloned().unwrap_or_default(),
        (None, None) => vec![],
    };
    let manager = || s.customer_id.and_then(|c| l.managers.get(&c).copied());
    let mut out: Vec<i64> = match event {
        Event::HandoffAssigned | Event::HandoffOverdue => direct_or_department(),
        Event::ReviewRequested => s
            .requirement_id
            .and_then(|r| l.reviewers.get(&r).cloned())
            .unwrap_or_default(),
        Event::ComplaintRegistered => l.quality.iter().copied().chain(manager()).collect(),
        Event::ComplaintOverdue => {
            let v = direct_or_department();
            if v.is_empty() {
                l.quality.clone()
            } else {
                v
            }
        }
        Event::WarningRaised => match s.user_id.or_else(manager) {
            Some(u) => vec![u],
            None => l.marketing.clone(),
        },
        Event::SurveyAnswered => manager().into_iter().collect(),
        // Record events go to webhooks only.
        Event::RequirementCreated | Event::RequirementStageChanged | Event::RequirementClosed => {
            vec![]
        }
    };
    out.sort_unstable();
    out.dedup();
    out
}

fn admin_only(actor: &Actor) -> Result<()> {
    actor
        .require(Action::SettingsManage)
        .map_err(|_| Error::Forbidden("notifications"))
}

#[derive(sqlx::FromRow)]
struct WebhookRow {
    id: i64,
    version: i64,
    name: String,
    format: String,
    url: String,
    secret: String,
    events: String,
    active: i64,
    created_by: String,
    created_at: String,
}

impl WebhookRow {
    fn events(&self) -> Vec<Event> {
        serde_json::from_str::<Vec<String>>(&self.events)
            .unwrap_or_default()
            .iter()
            .filter_map(|e| Event::parse(e))
            .collect()
    }

    fn into_webhook(self) -> Webhook {
        Webhook {
            events: self.events(),
            id: self.id,
            version: self.version,
            format: Format::parse(&self.format).unwrap_or(Format::Generic),
            has_secret: !self.secret.is_empty(),
            name: self.name,
            url: self.url,
            active: self.active == 1,
            created_by: self.created_by,
            created_at: self.created_at,
        }
    }
}

impl Store {
    /// Turns what happened since the last pass into inbox entries and deliveries.
    pub async fn notify(&self, now: DateTime<Utc>) -> Result<NotifyPass> {
        let smtp = self.smtp().await?;
        let hooks: Vec<WebhookRow> =
            sqlx::query_as("SELECT * FROM webhooks WHERE active = 1 ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        let mut pass = NotifyPass::default();
        for event in Event::ALL {
            if !event.personal() && !hooks.iter().any(|h| h.events().contains(&event)) {
                // No webhook follows this record event: it starts from then when one does.
                self.forget_cursor(event).await?;
                continue;
            }
            loop {
                let (n, d, more) = self.notify_batch(event, &smtp, &hooks, now).await?;
                pass.notifications += n;
                pass.deliveries += d;
                if !more {
                    break;
                }
            }
        }
        Ok(pass)
    }

    async fn forget_cursor(&self, event: Event) -> Result<()> {
        let kept: Option<(String,)> =
            sqlx::query_as("SELECT cursor FROM notify_cursors WHERE event = $1")
                .bind(event.as_str())
                .fetch_optional(&self.pool)
                .await?;
        if kept.is_some() {
            let _turn = self.turn().await;
            sqlx::query("DELETE FROM notify_cursors WHERE event = $1")
                .bind(event.as_str())
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// One batch of an event's source in one transaction; whether more may follow.
    async fn notify_batch(
        &self,
        event: Event,
        smtp: &SmtpSettings,
        hooks: &[WebhookRow],
        now: DateTime<Utc>,
    ) -> Result<(u64, u64, bool)> {
        // Nothing past the cursor (most ticks): two reads, no write.
        let kept: Option<(String,)> =
            sqlx::query_as("SELECT cursor FROM notify_cursors WHERE event = $1")
                .bind(event.as_str())
                .fetch_optional(&self.pool)
                .await?;
        if let Some((cursor,)) = kept {
            if read_source(&self.pool, event, &cursor, 1).await?.is_empty() {
                return Ok((0, 0, false));
            }
        }
        let _turn = self.turn().await;
        let mut tx = self.pool.begin().await?;
        // Taking the cursor's row first makes notifiers on several nodes take turns.
        let locked = sqlx::query("UPDATE notify_cursors SET cursor = cursor WHERE event = $1")
            .bind(event.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if locked == 0 {
            let (key, at): (i64, String) =
                sqlx::query_as(start_sql(event)).fetch_one(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO notify_cursors (event, cursor) VALUES ($1, $2) ON CONFLICT (event) DO NOTHING",
            )
            .bind(event.as_str())
            .bind(format!("{key}|{at}"))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok((0, 0, false));
        }
        let (cursor,): (String,) =
            sqlx::query_as("SELECT cursor FROM notify_cursors WHERE event = $1")
                .bind(event.as_str())
                .fetch_one(&mut *tx)
                .await?;
        let rows = read_source(&mut *tx, event, &cursor, BATCH).await?;
        let Some(last) = rows.last() else {
            return Ok((0, 0, false));
        };
        let next = format!("{}|{}", last.key, last.at);
        let more = rows.len() as i64 == BATCH;

        // Who: department members, account managers, roles, requirement reviewers — a query
        // each for the whole batch.
        let departments: HashSet<i64> = rows.iter().filter_map(|r| r.department_id).collect();
        let mut members: HashMap<i64, Vec<i64>> = HashMap::new();
        if !departments.is_empty() {
            let found: Vec<(i64, i64)> = sqlx::query_as(&format!(
                "SELECT department_id, id FROM users WHERE active = 1 AND role <> 'portal' AND department_id IN ({}) ORDER BY id",
                id_list(departments)
            ))
            .fetch_all(&mut *tx)
            .await?;
            for (d, u) in found {
                members.entry(d).or_default().push(u);
            }
        }
        let customers: HashSet<i64> = rows.iter().filter_map(|r| r.customer_id).collect();
        let managers: HashMap<i64, i64> = if customers.is_empty() {
            HashMap::new()
        } else {
            let found: Vec<(i64, Option<i64>)> = sqlx::query_as(&format!(
                "SELECT c.id, c.account_manager_id FROM customers c JOIN users u ON u.id = c.account_manager_id \
                 WHERE u.active = 1 AND c.id IN ({})",
                id_list(customers)
            ))
            .fetch_all(&mut *tx)
            .await?;
            found
                .into_iter()
                .filter_map(|(c, m)| m.map(|m| (c, m)))
                .collect()
        };
        let role = |r: &'static str| {
            sqlx::query_scalar::<_, i64>(
                "SELECT id FROM users WHERE active = 1 AND role = $1 ORDER BY id",
            )
            .bind(r)
        };
        let quality = match event {
            Event::ComplaintRegistered | Event::ComplaintOverdue => {
                role("quality_engineer").fetch_all(&mut *tx).await?
            }
            _ => vec![],
        };
        let marketing = match event {
            Event::WarningRaised => role("marketing_manager").fetch_all(&mut *tx).await?,
            _ => vec![],
        };
        let mut reviewers: HashMap<i64, Vec<i64>> = HashMap::new();
        if event == Event::ReviewRequested {
            let found: Vec<(i64, i64)> = sqlx::query_as(&format!(
                "SELECT rd.requirement_id, u.id FROM requirement_departments rd \
                 JOIN users u ON u.department_id = rd.department_id \
                 WHERE u.active = 1 AND u.role = 'reviewer' AND rd.requirement_id IN ({}) ORDER BY u.id",
                id_list(rows.iter().filter_map(|r| r.requirement_id))
            ))
            .fetch_all(&mut *tx)
            .await?;
            for (r, u) in found {
                reviewers.entry(r).or_default().push(u);
            }
        }
        let l = Lookups {
            members,
            managers,
            quality,
            marketing,
            reviewers,
        };
        let told: Vec<(&Source, Vec<i64>)> =
            rows.iter().map(|s| (s, recipients(event, s, &l))).collect();

        // Their choices and addresses.
        let people: HashSet<i64> = told.iter().flat_map(|(_, u)| u.iter().copied()).collect();
        let prefs: HashMap<i64, (bool, bool)> = if people.is_empty() {
            HashMap::new()
        } else {
            let found: Vec<(i64, i64, i64)> = sqlx::query_as(&format!(
                "SELECT user_id, in_app, email FROM notification_prefs WHERE event = $1 AND user_id IN ({})",
                id_list(people.iter().copied())
            ))
            .bind(event.as_str())
            .fetch_all(&mut *tx)
            .await?;
            found
                .into_iter()
                .map(|(u, a, e)| (u, (a == 1, e == 1)))
                .collect()
        };
        let emails: HashMap<i64, String> = if people.is_empty() || smtp.host.is_empty() {
            HashMap::new()
        } else {
            let found: Vec<(i64, String)> = sqlx::query_as(&format!(
                "SELECT id, email FROM users WHERE email <> '' AND id IN ({})",
                id_list(people.iter().copied())
            ))
            .fetch_all(&mut *tx)
            .await?;
            found.into_iter().collect()
        };

        let created = to_db(now);
        let mut written = (0u64, 0u64);
        for (s, users) in &told {
            if event == Event::RequirementClosed && !s.detail.ends_with(">closed") {
                continue;
            }
            let m = Message {
                event,
                record_type: s.record_type.clone(),
                record_id: s.record_id,
                subject: s.subject.clone(),
                link: s.link.clone(),
                data: record_data(event, s),
            };
            let (zh, en) = m.title();
            for u in users {
                let (in_app, email) = prefs.get(u).copied().unwrap_or((true, true));
                if in_app {
                    sqlx::query(
                        "INSERT INTO notifications (user_id, event, record_type, record_id, title_zh, title_en, link, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(u)
                    .bind(event.as_str())
                    .bind(&m.record_type)
                    .bind(m.record_id)
                    .bind(&zh)
                    .bind(&en)
                    .bind(&m.link)
                    .bind(&created)
                    .execute(&mut *tx)
                    .await?;
                    written.0 += 1;
                }
                if let (true, Some(address)) = (email, emails.get(u)) {
                    insert_delivery(
                        &mut tx,
                        "email",
                        None,
                        Some(*u),
                        address,
                        event,
                        &zh,
                        &m.email_body(&smtp.base_url),
                        &created,
                    )
                    .await?;
                    written.1 += 1;
                }
            }
            for h in hooks.iter().filter(|h| h.events().contains(&event)) {
                let format = Format::parse(&h.format).unwrap_or(Format::Generic);
                let body = notify::webhook_body(format, &m, &smtp.base_url, &created);
                insert_delivery(
                    &mut tx,
                    "webhook",
                    Some(h.id),
                    None,
                    &h.url,
                    event,
                    &zh,
                    &body.to_string(),
                    &created,
                )
                .await?;
                written.1 += 1;
            }
        }
        sqlx::query("UPDATE notify_cursors SET cursor = $1 WHERE event = $2")
            .bind(&next)
            .bind(event.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((written.0, written.1, more))
    }

    /// The reader's inbox, newest first.
    pub async fn notifications(
        &self,
        actor: &Actor,
        f: &NotificationFilter,
    ) -> Result<Page<Notification>> {
        let mut c = Conditions::default();
        c.push("user_id = ?", [Arg::Int(actor.user_id.0)]);
        if f.unread {
            c.push("read_at IS NULL", []);
        }
        let (items, total) = self
            .fetch_page::<Notification>(
                "notifications",
                "id, event, record_type, record_id, title_zh, title_en, link, created_at, read_at",
                &c,
                "id DESC",
                f.page,
                f.per_page,
            )
            .await?;
        Ok(Page { items, total })
    }

    /// How many of the reader's entries are unread (the bell in the top bar).
    pub async fn unread_notifications(&self, actor: &Actor) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL",
        )
        .bind(actor.user_id.0)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Marks the reader's entries read; how many changed.
    pub async fn mark_notifications_read(
        &self,
        actor: &Actor,
        m: &MarkRead,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        if !m.all && m.ids.is_empty() {
            return Err(Error::field("ids", "required"));
        }
        if m.ids.len() > 500 {
            return Err(Error::field("ids", "too_many"));
        }
        let only = if m.all {
            String::new()
        } else {
            format!(" AND id IN ({})", id_list(m.ids.iter().copied()))
        };
        let _turn = self.turn().await;
        Ok(sqlx::query(&format!(
            "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL{only}"
        ))
        .bind(to_db(now))
        .bind(actor.user_id.0)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// The reader's choice for every event (defaults where none was made).
    pub async fn notification_prefs(&self, actor: &Actor) -> Result<Vec<Pref>> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT event, in_app, email FROM notification_prefs WHERE user_id = $1",
        )
        .bind(actor.user_id.0)
        .fetch_all(&self.pool)
        .await?;
        let set: HashMap<String, (i64, i64)> =
            rows.into_iter().map(|(e, a, m)| (e, (a, m))).collect();
        Ok(Event::PERSONAL
            .into_iter()
            .map(|event| {
                let (a, m) = set.get(event.as_str()).copied().unwrap_or((1, 1));
                Pref {
                    event,
                    in_app: a == 1,
                    email: m == 1,
                }
            })
            .collect())
    }

    pub async fn save_notification_prefs(
        &self,
        actor: &Actor,
        prefs: &[Pref],
        now: DateTime<Utc>,
    ) -> Result<Vec<Pref>> {
        if let Some(p) = prefs.iter().find(|p| !p.event.personal()) {
            return Err(Error::field(
                &format!("event.{}", p.event.as_str()),
                "choice",
            ));
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        for p in prefs {
            sqlx::query(
                "INSERT INTO notification_prefs (user_id, event, in_app, email) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (user_id, event) DO UPDATE SET in_app = excluded.in_app, email = excluded.email",
            )
            .bind(actor.user_id.0)
            .bind(p.event.as_str())
            .bind(i64::from(p.in_app))
            .bind(i64::from(p.email))
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.audit(
            "notification_prefs",
            actor.user_id.0,
            "save",
            None,
            Some(prefs),
        )
        .await?;
        tx.commit().await?;
        self.notification_prefs(actor).await
    }

    async fn smtp(&self) -> Result<SmtpSettings> {
        let v: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(SMTP_KEY)
            .fetch_optional(&self.pool)
            .await?;
        Ok(v.and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or_default())
    }

    /// The mail server settings, without the password.
    pub async fn smtp_settings(&self, actor: &Actor) -> Result<SmtpSettings> {
        admin_only(actor)?;
        let mut s = self.smtp().await?;
        s.password.clear();
        Ok(s)
    }

    /// The full settings, for the sender.
    pub async fn smtp_for_sending(&self) -> Result<SmtpSettings> {
        self.smtp().await
    }

    pub async fn save_smtp_settings(
        &self,
        actor: &Actor,
        mut s: SmtpSettings,
        now: DateTime<Utc>,
    ) -> Result<SmtpSettings> {
        admin_only(actor)?;
        let mut e = reqloop_domain::FieldErrors::default();
        s.host = s.host.trim().to_string();
        s.from = s.from.trim().to_string();
        s.base_url = s.base_url.trim().trim_end_matches('/').to_string();
        if !matches!(s.security.as_str(), "none" | "starttls" | "tls") {
            e.add("security", "choice");
        }
        if !s.host.is_empty() && (s.port == 0 || !s.from.contains('@')) {
            e.add(if s.port == 0 { "port" } else { "from" }, "invalid");
        }
        if !(s.base_url.starts_with("http://") || s.base_url.starts_with("https://")) {
            e.add("base_url", "invalid");
        }
        e.finish()?;
        let before = self.smtp().await?;
        if s.password.is_empty() {
            s.password = before.password.clone();
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let value = serde_json::to_string(&s).map_err(|e| Error::Other(e.to_string()))?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(SMTP_KEY)
        .bind(&value)
        .execute(&mut *tx.tx)
        .await?;
        let shown = |mut s: SmtpSettings| {
            s.password = if s.password.is_empty() { "" } else { "***" }.into();
            s
        };
        tx.audit(
            "setting",
            0,
            SMTP_KEY,
            Some(&shown(before)),
            Some(&shown(s.clone())),
        )
        .await?;
        tx.commit().await?;
        s.password.clear();
        Ok(s)
    }

    pub async fn list_webhooks(&self, actor: &Actor) -> Result<Vec<Webhook>> {
        admin_only(actor)?;
        let rows: Vec<WebhookRow> = sqlx::query_as("SELECT * FROM webhooks ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(WebhookRow::into_webhook).collect())
    }

    async fn webhook(&self, id: i64) -> Result<WebhookRow> {
        sqlx::query_as("SELECT * FROM webhooks WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Adds a webhook (`id` None) or changes one (its `version` must be current).
    pub async fn save_webhook(
        &self,
        actor: &Actor,
        id: Option<i64>,
        mut f: WebhookFields,
        now: DateTime<Utc>,
    ) -> Result<Webhook> {
        admin_only(actor)?;
        let mut e = reqloop_domain::FieldErrors::default();
        f.name = f.name.trim().to_string();
        f.url = f.url.trim().to_string();
        if f.name.is_empty() {
            e.add("name", "required");
        } else if f.name.chars().count() > 100 {
            e.add("name", "too_long");
        }
        if !(f.url.starts_with("http://") || f.url.starts_with("https://")) || f.url.len() > 2000 {
            e.add("url", "invalid");
        }
        if f.events.is_empty() {
            e.add("events", "required");
        }
        if id.is_some() && f.version.is_none() {
            e.add("version", "required");
        }
        e.finish()?;
        f.events.sort();
        f.events.dedup();
        let events =
            serde_json::to_string(&f.events.iter().map(|e| e.as_str()).collect::<Vec<_>>())
                .map_err(|e| Error::Other(e.to_string()))?;
        let before = match id {
            Some(id) => Some(self.webhook(id).await?),
            None => None,
        };
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let id = match (&before, id) {
            (Some(b), Some(id)) => {
                let secret = if f.secret.is_empty() {
                    b.secret.clone()
                } else {
                    f.secret.clone()
                };
                let n = sqlx::query(
                    "UPDATE webhooks SET name = $1, format = $2, url = $3, secret = $4, events = $5, active = $6, \
                     version = version + 1 WHERE id = $7 AND version = $8",
                )
                .bind(&f.name)
                .bind(f.format.as_str())
                .bind(&f.url)
                .bind(&secret)
                .bind(&events)
                .bind(i64::from(f.active))
                .bind(id)
                .bind(f.version.unwrap_or(0))
                .execute(&mut *tx.tx)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(Error::Stale);
                }
                id
            }
            _ => {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO webhooks (name, format, url, secret, events, active, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(&f.name)
                .bind(f.format.as_str())
                .bind(&f.url)
                .bind(&f.secret)
                .bind(&events)
                .bind(i64::from(f.active))
                .bind(&actor.username)
                .bind(&at)
                .fetch_one(&mut *tx.tx)
                .await?;
                id
            }
        };
        let shown = |w: &WebhookRow| {
            serde_json::json!({"name": w.name, "format": w.format, "url": w.url, "events": w.events,
                "active": w.active == 1, "has_secret": !w.secret.is_empty()})
        };
        tx.audit(
            "webhook",
            id,
            if before.is_some() { "update" } else { "create" },
            before.as_ref().map(shown).as_ref(),
            Some(
                &serde_json::json!({"name": f.name, "format": f.format, "url": f.url,
                "events": f.events, "active": f.active}),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(self.webhook(id).await?.into_webhook())
    }

    /// The delivery log, newest first.
    pub async fn list_deliveries(
        &self,
        actor: &Actor,
        f: &DeliveryFilter,
    ) -> Result<Page<Delivery>> {
        admin_only(actor)?;
        let mut c = Conditions::default();
        if let Some(s) = &f.status {
            if !matches!(s.as_str(), "pending" | "sent" | "failed") {
                return Err(Error::field("status", "choice"));
            }
            c.push("status = ?", [Arg::Text(s.clone())]);
        }
        if let Some(ch) = &f.channel {
            if !matches!(ch.as_str(), "email" | "webhook") {
                return Err(Error::field("channel", "choice"));
            }
            c.push("channel = ?", [Arg::Text(ch.clone())]);
        }
        let (items, total) = self
            .fetch_page::<Delivery>(
                "deliveries",
                "id, channel, webhook_id, target, event, subject, status, attempts, next_attempt_at, last_error, \
                 created_at, sent_at",
                &c,
                "id DESC",
                f.page,
                f.per_page,
            )
            .await?;
        Ok(Page { items, total })
    }

    /// Claims up to `limit` due deliveries for this sender for a couple of minutes.
    pub async fn claim_deliveries(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<Outgoing>> {
        let now_s = to_db(now);
        let lease = to_db(now + Duration::minutes(LEASE_MINUTES));
        // Nothing due (most ticks): one read, no write.
        let due: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1 LIMIT 1",
        )
        .bind(&now_s)
        .fetch_optional(&self.pool)
        .await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let _turn = self.turn().await;
        let rows: Vec<(i64, String, String, String, String, Option<i64>)> = sqlx::query_as(
            "UPDATE deliveries SET next_attempt_at = $1 WHERE id IN \
             (SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $2 ORDER BY next_attempt_at, id LIMIT $3) \
             AND status = 'pending' AND next_attempt_at <= $2 \
             RETURNING id, channel, target, subject, payload, webhook_id",
        )
        .bind(&lease)
        .bind(&now_s)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        drop(_turn);
        let hooks: HashMap<i64, (String, String)> = if rows.iter().any(|r| r.5.is_some()) {
            let found: Vec<(i64, String, String)> = sqlx::query_as(&format!(
                "SELECT id, format, secret FROM webhooks WHERE id IN ({})",
                id_list(rows.iter().filter_map(|r| r.5))
            ))
            .fetch_all(&self.pool)
            .await?;
            found.into_iter().map(|(i, f, s)| (i, (f, s))).collect()
        } else {
            HashMap::new()
        };
        Ok(rows
            .into_iter()
            .map(|(id, channel, target, subject, payload, hook)| {
                let h = hook.and_then(|h| hooks.get(&h));
                Outgoing {
                    id,
                    channel,
                    target,
                    subject,
                    payload,
                    format: h.and_then(|h| Format::parse(&h.0)),
                    secret: h.map(|h| h.1.clone()).unwrap_or_default(),
                }
            })
            .collect())
    }

    /// Records an attempt: sent, or failed and retried later (given up after the last one).
    pub async fn finish_delivery(
        &self,
        id: i64,
        outcome: std::result::Result<(), String>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let _turn = self.turn().await;
        let (attempts,): (i64,) = sqlx::query_as("SELECT attempts FROM deliveries WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        let attempts = attempts + 1;
        match outcome {
            Ok(()) => {
                sqlx::query(
                    "UPDATE deliveries SET status = 'sent', attempts = $1, sent_at = $2, last_error = '' WHERE id = $3",
                )
                .bind(attempts)
                .bind(to_db(now))
                .bind(id)
                .execute(&self.pool)
                .await?;
            }
            Err(e) => {
                let error: String = e.chars().take(500).collect();
                let (status, next) = match notify::retry_after(attempts) {
                    Some(d) => ("pending", to_db(now + d)),
                    None => ("failed", to_db(now)),
                };
                sqlx::query(
                    "UPDATE deliveries SET status = $1, attempts = $2, next_attempt_at = $3, last_error = $4 WHERE id = $5",
                )
                .bind(status)
                .bind(attempts)
                .bind(next)
                .bind(error)
                .bind(id)
                .execute(&self.pool)
                .await?;
            }
        }
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
async fn insert_delivery(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    channel: &str,
    webhook: Option<i64>,
    user: Option<i64>,
    target: &str,
    event: Event,
    subject: &str,
    payload: &str,
    at: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO deliveries (channel, webhook_id, user_id, target, event, subject, payload, status, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8)",
    )
    .bind(channel)
    .bind(webhook)
    .bind(user)
    .bind(target)
    .bind(event.as_str())
    .bind(subject)
    .bind(payload)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

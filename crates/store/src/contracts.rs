//! Contracts and technical agreements (F13): versions of clauses, the CBC response table and
//! deviation permits. A contract is visible exactly when its customer is.

use chrono::{DateTime, Utc};
use reqloop_domain::access::Actor;
use reqloop_domain::contract::{
    self, CbcError, ContractFields, NewVersion, PermitDecision, PermitStatus, Response,
    ResponseFields,
};
use reqloop_domain::ids::CustomerId;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::db::{bind_all, customer_scope, unique, Arg, Conditions};
use crate::{Error, Page, Result, Store, Who};

/// A contract with the number of its version in force.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Contract {
    pub id: i64,
    pub version: i64,
    #[serde(flatten)]
    pub fields: ContractFields,
    pub current_version: i64,
    pub created_by: String,
    pub created_at: String,
}

#[derive(FromRow)]
struct ContractRow {
    id: i64,
    version: i64,
    customer_id: i64,
    project_id: Option<i64>,
    number: String,
    title: String,
    kind: String,
    signed_on: String,
    current_version: i64,
    created_by: String,
    created_at: String,
}

const COLUMNS: &str =
    "id, version, customer_id, project_id, number, title, kind, signed_on, current_version, \
    created_by, created_at";

impl ContractRow {
    fn into_contract(self) -> Result<Contract> {
        Ok(Contract {
            id: self.id,
            version: self.version,
            fields: ContractFields {
                customer_id: CustomerId(self.customer_id),
                project_id: self.project_id,
                number: self.number,
                title: self.title,
                kind: self
                    .kind
                    .parse()
                    .map_err(|_| Error::Other("stored contract has an invalid kind".into()))?,
                signed_on: self.signed_on,
            },
            current_version: self.current_version,
            created_by: self.created_by,
            created_at: self.created_at,
        })
    }
}

/// One line of the CBC response table: the clause, its response and its permits.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CbcLine {
    pub clause_id: i64,
    pub number: String,
    pub text: String,
    pub response: Option<Response>,
    pub note: String,
    pub responsible_id: Option<i64>,
    /// The response's row version (0 while unanswered), for optimistic updates.
    pub response_version: i64,
    pub permits: Vec<Permit>,
    /// No answer, answered open, or a deviation without an approved permit.
    pub pending: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Permit {
    pub id: i64,
    pub clause_id: i64,
    pub status: String,
    pub note: String,
    pub requested_by: String,
    pub requested_at: String,
    pub decided_on: Option<String>,
    pub evidence: String,
    pub decided_by: Option<String>,
}

/// A version with its CBC table.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContractVersion {
    pub contract_id: i64,
    pub version_no: i64,
    pub note: String,
    pub created_by: String,
    pub created_at: String,
    /// Whether this is the version in force (only it takes responses).
    pub current: bool,
    pub lines: Vec<CbcLine>,
}

/// Filters of `/contracts`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContractFilter {
    pub customer_id: Option<i64>,
    pub project_id: Option<i64>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// A permit request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermitRequest {
    /// What deviates and why the customer should accept it.
    pub note: String,
}

type ClauseRow = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

impl Store {
    pub async fn list_contracts(
        &self,
        actor: &Actor,
        f: &ContractFilter,
    ) -> Result<Page<Contract>> {
        let mut c = Conditions::default();
        customer_scope(&mut c, actor, "customer_id");
        if let Some(id) = f.customer_id {
            c.push("customer_id = ?", [Arg::Int(id)]);
        }
        if let Some(p) = f.project_id {
            c.push("project_id = ?", [Arg::Int(p)]);
        }
        let (rows, total) = self
            .fetch_page::<ContractRow>("contracts", COLUMNS, &c, "id DESC", f.page, f.per_page)
            .await?;
        let items = rows
            .into_iter()
            .map(ContractRow::into_contract)
            .collect::<Result<_>>()?;
        Ok(Page { items, total })
    }

    pub async fn get_contract(&self, actor: &Actor, id: i64) -> Result<Contract> {
        let mut c = Conditions::default();
        c.push("id = ?", [Arg::Int(id)]);
        customer_scope(&mut c, actor, "customer_id");
        let sql = format!("SELECT {COLUMNS} FROM contracts{}", c.where_clause());
        let row: ContractRow = bind_all(sqlx::query_as(&sql), &c.args)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(Error::NotFound)?;
        row.into_contract()
    }

    pub async fn create_contract(
        &self,
        actor: &Actor,
        mut f: ContractFields,
        now: DateTime<Utc>,
    ) -> Result<Contract> {
        f.validate()?;
        self.get_customer(actor, f.customer_id)
            .await
            .map_err(|e| match e {
                Error::NotFound => Error::field("customer_id", "unknown_customer"),
                other => other,
            })?;
        if let Some(p) = f.project_id {
            if !self.project_exists(p).await? {
                return Err(Error::field("project_id", "unknown_project"));
            }
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO contracts (customer_id, project_id, number, title, kind, signed_on, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(f.customer_id.0)
        .bind(f.project_id)
        .bind(&f.number)
        .bind(&f.title)
        .bind(f.kind.as_str())
        .bind(&f.signed_on)
        .bind(&actor.username)
        .bind(&at)
        .fetch_one(&mut *tx.tx)
        .await
        .map_err(unique("number"))?;
        let contract = Contract {
            id,
            version: 1,
            fields: f,
            current_version: 0,
            created_by: actor.username.clone(),
            created_at: at,
        };
        tx.audit("contract", id, "create", None, Some(&contract))
            .await?;
        tx.commit().await?;
        Ok(contract)
    }

    /// Saves a new version of the clauses; the previous version stays readable but takes no more
    /// responses. `base_version` must be the version in force (`Stale` otherwise).
    pub async fn add_contract_version(
        &self,
        actor: &Actor,
        id: i64,
        mut v: NewVersion,
        now: DateTime<Utc>,
    ) -> Result<ContractVersion> {
        v.validate()?;
        let c = self.get_contract(actor, id).await?;
        if c.current_version != v.base_version {
            return Err(Error::Stale);
        }
        let version_no = v.base_version + 1;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let n = sqlx::query(
            "UPDATE contracts SET current_version = $1, version = version + 1 WHERE id = $2 AND current_version = $3",
        )
        .bind(version_no)
        .bind(id)
        .bind(v.base_version)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        sqlx::query(
            "INSERT INTO contract_versions (contract_id, version_no, note, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(version_no)
        .bind(&v.note)
        .bind(&actor.username)
        .bind(&at)
        .execute(&mut *tx.tx)
        .await?;
        for clause in &v.clauses {
            sqlx::query(
                "INSERT INTO contract_clauses (contract_id, version_no, number, text) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(version_no)
            .bind(&clause.number)
            .bind(&clause.text)
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.audit(
            "contract_version",
            format!("{id}/{version_no}"),
            "create",
            None,
            Some(&v.clauses),
        )
        .await?;
        tx.commit().await?;
        self.contract_version(actor, id, Some(version_no)).await
    }

    /// A version with its CBC table (the version in force when `None`): one query for the
    /// clauses with their responses, one for their permits.
    pub async fn contract_version(
        &self,
        actor: &Actor,
        id: i64,
        version_no: Option<i64>,
    ) -> Result<ContractVersion> {
        let c = self.get_contract(actor, id).await?;
        let version_no = version_no.unwrap_or(c.current_version);
        let head: (String, String, String) = sqlx::query_as(
            "SELECT note, created_by, created_at FROM contract_versions WHERE contract_id = $1 AND version_no = $2",
        )
        .bind(id)
        .bind(version_no)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        let clauses: Vec<ClauseRow> = sqlx::query_as(
            "SELECT k.id, k.number, k.text, r.response, r.note, r.responsible_id, r.version \
             FROM contract_clauses k LEFT JOIN clause_responses r ON r.clause_id = k.id \
             WHERE k.contract_id = $1 AND k.version_no = $2 ORDER BY k.id",
        )
        .bind(id)
        .bind(version_no)
        .fetch_all(&self.pool)
        .await?;
        let permits: Vec<Permit> = sqlx::query_as(
            "SELECT p.id, p.clause_id, p.status, p.note, p.requested_by, p.requested_at, p.decided_on, p.evidence, p.decided_by \
             FROM deviation_permits p JOIN contract_clauses k ON k.id = p.clause_id \
             WHERE k.contract_id = $1 AND k.version_no = $2 ORDER BY p.id",
        )
        .bind(id)
        .bind(version_no)
        .fetch_all(&self.pool)
        .await?;
        let mut lines = Vec::with_capacity(clauses.len());
        for (clause_id, number, text, response, note, responsible_id, version) in clauses {
            let response: Option<Response> = response
                .map(|r| r.parse())
                .transpose()
                .map_err(|_| Error::Other("stored response is invalid".into()))?;
            let mine: Vec<Permit> = permits
                .iter()
                .filter(|p| p.clause_id == clause_id)
                .cloned()
                .collect();
            let statuses = statuses(&mine)?;
            lines.push(CbcLine {
                clause_id,
                number,
                text,
                pending: contract::clause_pending(response, &statuses),
                response,
                note: note.unwrap_or_default(),
                responsible_id,
                response_version: version.unwrap_or(0),
                permits: mine,
            });
        }
        Ok(ContractVersion {
            contract_id: id,
            version_no,
            note: head.0,
            created_by: head.1,
            created_at: head.2,
            current: version_no == c.current_version,
            lines,
        })
    }

    /// The contract and version a clause belongs to, when the actor sees the contract.
    async fn clause_of(&self, actor: &Actor, clause: i64) -> Result<(Contract, i64)> {
        let found: Option<(i64, i64)> =
            sqlx::query_as("SELECT contract_id, version_no FROM contract_clauses WHERE id = $1")
                .bind(clause)
                .fetch_optional(&self.pool)
                .await?;
        let (contract, version_no) = found.ok_or(Error::NotFound)?;
        Ok((self.get_contract(actor, contract).await?, version_no))
    }

    /// Answers a clause of the version in force (422 `superseded_version` for an older one).
    /// `version` is the response's version the client read (0 for a first answer).
    pub async fn respond_to_clause(
        &self,
        actor: &Actor,
        clause: i64,
        version: i64,
        mut r: ResponseFields,
        now: DateTime<Utc>,
    ) -> Result<CbcLine> {
        r.validate()?;
        let (c, version_no) = self.clause_of(actor, clause).await?;
        contract::check_response(version_no, c.current_version)
            .map_err(|e| Error::Rule(e.code()))?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let n = if version == 0 {
            sqlx::query(
                "INSERT INTO clause_responses (clause_id, response, note, responsible_id, updated_by, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (clause_id) DO NOTHING",
            )
            .bind(clause)
            .bind(r.response.as_str())
            .bind(&r.note)
            .bind(r.responsible_id.map(|u| u.0))
            .bind(&actor.username)
            .bind(&at)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected()
        } else {
            sqlx::query(
                "UPDATE clause_responses SET response = $1, note = $2, responsible_id = $3, updated_by = $4, \
                 updated_at = $5, version = version + 1 WHERE clause_id = $6 AND version = $7",
            )
            .bind(r.response.as_str())
            .bind(&r.note)
            .bind(r.responsible_id.map(|u| u.0))
            .bind(&actor.username)
            .bind(&at)
            .bind(clause)
            .bind(version)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected()
        };
        if n == 0 {
            return Err(Error::Stale);
        }
        tx.audit("clause_response", clause, "set", None, Some(&r))
            .await?;
        tx.commit().await?;
        self.cbc_line(actor, c.id, clause).await
    }

    async fn cbc_line(&self, actor: &Actor, contract: i64, clause: i64) -> Result<CbcLine> {
        let (_, version_no) = self.clause_of(actor, clause).await?;
        self.contract_version(actor, contract, Some(version_no))
            .await?
            .lines
            .into_iter()
            .find(|l| l.clause_id == clause)
            .ok_or(Error::NotFound)
    }

    /// Asks the customer for a deviation permit on a deviating clause of the version in force.
    pub async fn request_permit(
        &self,
        actor: &Actor,
        clause: i64,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Permit> {
        let note = note.trim();
        if note.is_empty() {
            return Err(Error::field("note", "required"));
        }
        let (c, version_no) = self.clause_of(actor, clause).await?;
        let line = self.cbc_line(actor, c.id, clause).await?;
        let statuses = statuses(&line.permits)?;
        contract::check_permit_request(line.response, version_no, c.current_version, &statuses)
            .map_err(|e| Error::Rule(e.code()))?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO deviation_permits (clause_id, status, note, requested_by, requested_at) \
             VALUES ($1, 'requested', $2, $3, $4) RETURNING id",
        )
        .bind(clause)
        .bind(note)
        .bind(&actor.username)
        .bind(&at)
        .fetch_one(&mut *tx.tx)
        .await?;
        let permit = Permit {
            id,
            clause_id: clause,
            status: PermitStatus::Requested.as_str().into(),
            note: note.into(),
            requested_by: actor.username.clone(),
            requested_at: at,
            decided_on: None,
            evidence: String::new(),
            decided_by: None,
        };
        tx.audit("deviation_permit", id, "request", None, Some(&permit))
            .await?;
        tx.commit().await?;
        Ok(permit)
    }

    /// Records the customer's decision on a requested permit, with its date and evidence.
    pub async fn decide_permit(
        &self,
        actor: &Actor,
        permit: i64,
        mut d: PermitDecision,
        now: DateTime<Utc>,
    ) -> Result<Permit> {
        d.validate()?;
        let clause: Option<i64> =
            sqlx::query_scalar("SELECT clause_id FROM deviation_permits WHERE id = $1")
                .bind(permit)
                .fetch_optional(&self.pool)
                .await?;
        let clause = clause.ok_or(Error::NotFound)?;
        self.clause_of(actor, clause).await?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let status = if d.approved {
            PermitStatus::Approved
        } else {
            PermitStatus::Rejected
        };
        let n = sqlx::query(
            "UPDATE deviation_permits SET status = $1, decided_on = $2, evidence = $3, decided_by = $4, decided_at = $5 \
             WHERE id = $6 AND status = 'requested'",
        )
        .bind(status.as_str())
        .bind(&d.decided_on)
        .bind(&d.evidence)
        .bind(&actor.username)
        .bind(&at)
        .bind(permit)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Rule(CbcError::PermitDecided.code()));
        }
        tx.audit("deviation_permit", permit, "decide", None, Some(&d))
            .await?;
        tx.commit().await?;
        let found: Permit = sqlx::query_as(
            "SELECT id, clause_id, status, note, requested_by, requested_at, decided_on, evidence, decided_by \
             FROM deviation_permits WHERE id = $1",
        )
        .bind(permit)
        .fetch_one(&self.pool)
        .await?;
        Ok(found)
    }
}

/// A clause of a version in force that still needs work, across contracts.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct PendingClause {
    pub contract_id: i64,
    pub contract_number: String,
    pub contract_title: String,
    pub customer_id: i64,
    pub clause_id: i64,
    pub number: String,
    pub text: String,
    pub response: Option<String>,
    pub note: String,
}

impl Store {
    /// The open CBC clauses and pending deviation permits of every visible contract, until they
    /// close. The condition is `contract::clause_pending` in SQL (a test holds the two together).
    pub async fn pending_clauses(
        &self,
        actor: &Actor,
        page: Option<i64>,
        per_page: Option<i64>,
    ) -> Result<Page<PendingClause>> {
        let mut c = Conditions::default();
        customer_scope(&mut c, actor, "c.customer_id");
        c.push(
            "(r.response IS NULL OR r.response = 'open' OR (r.response = 'deviate' AND NOT EXISTS \
             (SELECT 1 FROM deviation_permits p WHERE p.clause_id = k.id AND p.status = 'approved')))",
            [],
        );
        let (items, total) = self
            .fetch_page(
                "contract_clauses k JOIN contracts c ON c.id = k.contract_id AND k.version_no = c.current_version \
                 LEFT JOIN clause_responses r ON r.clause_id = k.id",
                "c.id AS contract_id, c.number AS contract_number, c.title AS contract_title, c.customer_id, \
                 k.id AS clause_id, k.number, k.text, r.response, COALESCE(r.note, '') AS note",
                &c,
                "c.id DESC, k.id",
                page,
                per_page,
            )
            .await?;
        Ok(Page { items, total })
    }
}

fn statuses(permits: &[Permit]) -> Result<Vec<PermitStatus>> {
    permits
        .iter()
        .map(|p| {
            p.status
                .parse()
                .map_err(|_| Error::Other("stored permit status is invalid".into()))
        })
        .collect()
}

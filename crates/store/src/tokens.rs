//! API tokens (F32): another system (ERP, MES) acts as the user who made the token, within the
//! token's scope, until it expires or is revoked. The token is shown once; only its SHA-256 is
//! kept. Reading needs `read`; anything else `write`.

use chrono::{DateTime, Duration, Utc};
use reqloop_domain::access::{Action, Actor};
use reqloop_domain::time::to_db;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::users::{hash_token, random_token};
use crate::{Error, Result, Store, Who};

/// Every API token starts so (sessions' tokens are plain hex).
pub const PREFIX: &str = "rlk_";
/// The longest a token may live.
pub const MAX_DAYS: i64 = 366;

/// What a token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    /// GET only.
    Read,
    /// Everything the user may do.
    Write,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Write => "write",
        }
    }

    pub fn parse(s: &str) -> Option<TokenScope> {
        match s {
            "read" => Some(TokenScope::Read),
            "write" => Some(TokenScope::Write),
            _ => None,
        }
    }
}

/// A token as listed (never the token itself).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    /// `read` or `write`.
    pub scope: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    pub scope: TokenScope,
    /// 1 … 366.
    pub expires_in_days: i64,
}

/// A new token: the only time it is shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: ApiToken,
    /// Send as `Authorization: Bearer …`.
    pub token: String,
}

const COLUMNS: &str = "id, name, scope, expires_at, revoked_at, last_used_at, created_at";

impl Store {
    /// The reader's own tokens, newest first.
    pub async fn api_tokens(&self, actor: &Actor) -> Result<Vec<ApiToken>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id DESC"
        ))
        .bind(actor.user_id.0)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn create_api_token(
        &self,
        actor: &Actor,
        t: NewToken,
        now: DateTime<Utc>,
    ) -> Result<CreatedToken> {
        if actor.role == reqloop_domain::user::Role::Portal {
            return Err(Error::Forbidden("api_tokens"));
        }
        let mut e = reqloop_domain::FieldErrors::default();
        let name = t.name.trim().to_string();
        if name.is_empty() {
            e.add("name", "required");
        } else if name.chars().count() > 100 {
            e.add("name", "too_long");
        }
        if !(1..=MAX_DAYS).contains(&t.expires_in_days) {
            e.add("expires_in_days", "range");
        }
        e.finish()?;
        let token = format!("{PREFIX}{}", random_token());
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO api_tokens (user_id, name, token_hash, scope, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(actor.user_id.0)
        .bind(&name)
        .bind(hash_token(&token))
        .bind(t.scope.as_str())
        .bind(to_db(now + Duration::days(t.expires_in_days)))
        .bind(&at)
        .fetch_one(&mut *tx.tx)
        .await?;
        tx.audit(
            "api_token",
            id,
            "create",
            None,
            Some(&serde_json::json!({"name": name, "scope": t.scope, "expires_in_days": t.expires_in_days})),
        )
        .await?;
        tx.commit().await?;
        let info = self.api_token(id).await?;
        Ok(CreatedToken { info, token })
    }

    async fn api_token(&self, id: i64) -> Result<ApiToken> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Revokes a token at once: one's own, or anyone's for an administrator.
    pub async fn revoke_api_token(
        &self,
        actor: &Actor,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<ApiToken> {
        let owner: Option<(i64,)> = sqlx::query_as("SELECT user_id FROM api_tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match owner {
            None => return Err(Error::NotFound),
            Some((u,)) if u != actor.user_id.0 && actor.require(Action::UserManage).is_err() => {
                return Err(Error::NotFound)
            }
            Some(_) => {}
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(&at)
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit("api_token", id, "revoke", None, None::<&()>)
            .await?;
        tx.commit().await?;
        self.api_token(id).await
    }
}

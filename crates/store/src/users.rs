//! Users, departments, password login and database-held sessions (F27), so that several
//! nodes share sessions.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use reqloop_domain::access::Actor;
use reqloop_domain::ids::{CustomerId, DepartmentId, UserId};
use reqloop_domain::time::to_db;
use reqloop_domain::user::{DataScope, Department, NewUser, Role, User};
use sha2::{Digest, Sha256};
use sqlx::FromRow;

use crate::db::unique;
use crate::{Error, Result, Store, Who};

/// How long a session lives without being renewed.
pub const SESSION_HOURS: i64 = 12;
/// Failed logins per account within the window before further attempts are refused.
pub const MAX_FAILURES_PER_USER: i64 = 5;
/// Failed logins per client address within the window.
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;
pub const FAILURE_WINDOW_MINUTES: i64 = 15;

const USER_COLUMNS: &str =
    "u.id, u.version, u.username, u.display_name, u.role, u.department_id, u.customer_id, \
    u.data_scope, u.email, u.active, u.must_change_password";

#[derive(FromRow)]
struct UserRow {
    id: i64,
    version: i64,
    username: String,
    display_name: String,
    role: String,
    department_id: Option<i64>,
    customer_id: Option<i64>,
    data_scope: String,
    email: String,
    active: i64,
    must_change_password: i64,
}

impl UserRow {
    fn into_user(self) -> Result<User> {
        Ok(User {
            id: UserId(self.id),
            version: self.version,
            username: self.username,
            display_name: self.display_name,
            role: self
                .role
                .parse()
                .map_err(|_| Error::Other("stored user has an invalid role".into()))?,
            department_id: self.department_id.map(DepartmentId),
            customer_id: self.customer_id.map(CustomerId),
            data_scope: self
                .data_scope
                .parse()
                .map_err(|_| Error::Other("stored user has an invalid scope".into()))?,
            email: self.email,
            active: self.active != 0,
            must_change_password: self.must_change_password != 0,
        })
    }
}

/// The result of a login attempt. Unknown user and wrong password look the same.
#[derive(Debug)]
pub enum LoginOutcome {
    Ok(User),
    Invalid,
    /// Too many recent failures for this account or address.
    Throttled,
}

/// A live session: who, and the token forms must echo (CSRF).
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub actor: Actor,
    pub display_name: String,
    pub csrf: String,
    pub must_change_password: bool,
    /// Set when the request came with an API token (F32): what the token allows.
    pub token_scope: Option<crate::TokenScope>,
}

pub(crate) fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh random token: 32 bytes from the OS generator, hex.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| Error::Other(e.to_string()))?
    .map_err(|e| Error::Other(format!("password hashing: {e}")))
}

/// A valid hash of a random password, checked against when the user does not exist so that
/// both failures take the same time.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Yq9zpuJVnJ6rIJ2R3zHh4cBq8g0cOtX4m7Y9mpUo3cY";

async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

impl Store {
    pub async fn create_user(&self, who: &Who, mut u: NewUser, now: DateTime<Utc>) -> Result<User> {
        u.validate()?;
        if let Some(d) = u.department_id {
            let found: Option<i64> = sqlx::query_scalar("SELECT id FROM departments WHERE id = $1")
                .bind(d.0)
                .fetch_optional(&self.pool)
                .await?;
            if found.is_none() {
                return Err(Error::field("department_id", "unknown_department"));
            }
        }
        if let Some(c) = u.customer_id {
            let found: Option<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE id = $1")
                .bind(c.0)
                .fetch_optional(&self.pool)
                .await?;
            if found.is_none() {
                return Err(Error::field("customer_id", "unknown_customer"));
            }
        }
        let hash = hash_password(std::mem::take(&mut u.password)).await?;
        let scope = u.data_scope.unwrap_or(u.role.default_scope());
        let mut tx = self.write(who, now).await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO users (username, display_name, password_hash, role, department_id, customer_id, data_scope, email, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(&u.username)
        .bind(&u.display_name)
        .bind(&hash)
        .bind(u.role.as_str())
        .bind(u.department_id.map(|d| d.0))
        .bind(u.customer_id.map(|c| c.0))
        .bind(scope.as_str())
        .bind(&u.email)
        .bind(&tx.at)
        .fetch_one(&mut *tx.tx)
        .await
        .map_err(unique("username"))?;
        let user = User {
            id: UserId(id),
            version: 1,
            username: u.username,
            display_name: u.display_name,
            role: u.role,
            department_id: u.department_id,
            customer_id: u.customer_id,
            data_scope: scope,
            email: u.email,
            active: true,
            must_change_password: false,
        };
        tx.audit("user", id, "create", None, Some(&user)).await?;
        tx.commit().await?;
        Ok(user)
    }

    pub async fn list_users(&self) -> Result<Vec<User>> {
        let rows: Vec<UserRow> =
            sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.id"))
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(UserRow::into_user).collect()
    }

    pub(crate) async fn users_after(&self, after_id: i64, limit: i64) -> Result<Vec<User>> {
        let rows: Vec<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.id > $1 ORDER BY u.id LIMIT $2"
        ))
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(UserRow::into_user).collect()
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.map(UserRow::into_user).transpose()
    }

    pub async fn departments(&self) -> Result<Vec<Department>> {
        let rows: Vec<(i64, String, String, String, Option<i64>)> = sqlx::query_as(
            "SELECT id, code, name_zh, name_en, head_id FROM departments ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, code, name_zh, name_en, head)| Department {
                id: DepartmentId(id),
                code,
                name_zh,
                name_en,
                head_id: head.map(UserId),
            })
            .collect())
    }

    /// Names the head of a department (or none).
    pub async fn set_department_head(
        &self,
        who: &Who,
        department: DepartmentId,
        head: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<Department> {
        if let Some(h) = head {
            let found: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
                .bind(h.0)
                .fetch_optional(&self.pool)
                .await?;
            if found.is_none() {
                return Err(Error::field("head_id", "unknown_user"));
            }
        }
        let mut tx = self.write(who, now).await?;
        let n = sqlx::query("UPDATE departments SET head_id = $1 WHERE id = $2")
            .bind(head.map(|h| h.0))
            .bind(department.0)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(Error::NotFound);
        }
        tx.audit(
            "department",
            department.0,
            "head",
            None,
            Some(&serde_json::json!({"head_id": head.map(|h| h.0)})),
        )
        .await?;
        tx.commit().await?;
        self.departments()
            .await?
            .into_iter()
            .find(|d| d.id == department)
            .ok_or(Error::NotFound)
    }

    pub async fn department_by_code(&self, code: &str) -> Result<Option<DepartmentId>> {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM departments WHERE code = $1")
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        Ok(id.map(DepartmentId))
    }

    pub async fn create_department(
        &self,
        who: &Who,
        code: &str,
        name_zh: &str,
        name_en: &str,
        now: DateTime<Utc>,
    ) -> Result<DepartmentId> {
        let mut tx = self.write(who, now).await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO departments (code, name_zh, name_en) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(code)
        .bind(name_zh)
        .bind(name_en)
        .fetch_one(&mut *tx.tx)
        .await
        .map_err(unique("code"))?;
        let dept = Department {
            id: DepartmentId(id),
            code: code.into(),
            name_zh: name_zh.into(),
            name_en: name_en.into(),
            head_id: None,
        };
        tx.audit("department", id, "create", None, Some(&dept))
            .await?;
        tx.commit().await?;
        Ok(DepartmentId(id))
    }

    /// Checks a password; failures are recorded and, past the limits, refused outright.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
        address: &str,
        now: DateTime<Utc>,
    ) -> Result<LoginOutcome> {
        let since = to_db(now - Duration::minutes(FAILURE_WINDOW_MINUTES));
        let (by_user,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM login_failures WHERE username = $1 AND at > $2")
                .bind(username)
                .bind(&since)
                .fetch_one(&self.pool)
                .await?;
        let (by_address,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM login_failures WHERE address = $1 AND at > $2")
                .bind(address)
                .bind(&since)
                .fetch_one(&self.pool)
                .await?;
        if by_user >= MAX_FAILURES_PER_USER || by_address >= MAX_FAILURES_PER_ADDRESS {
            return Ok(LoginOutcome::Throttled);
        }
        let found: Option<(String, i64)> =
            sqlx::query_as("SELECT password_hash, active FROM users WHERE username = $1")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?;
        let (hash, active) = found.clone().unwrap_or((DUMMY_HASH.to_string(), 0));
        let ok =
            verify_password(password.to_string(), hash).await && found.is_some() && active != 0;
        let _turn = self.turn().await;
        if !ok {
            sqlx::query("INSERT INTO login_failures (username, address, at) VALUES ($1, $2, $3)")
                .bind(username)
                .bind(address)
                .bind(to_db(now))
                .execute(&self.pool)
                .await?;
            return Ok(LoginOutcome::Invalid);
        }
        sqlx::query("DELETE FROM login_failures WHERE username = $1")
            .bind(username)
            .execute(&self.pool)
            .await?;
        let user = self
            .user_by_username(username)
            .await?
            .ok_or(Error::NotFound)?;
        Ok(LoginOutcome::Ok(user))
    }

    /// Opens a session; returns the token (cookie value and Bearer token). Only its hash is stored.
    pub async fn create_session(&self, user: &User, now: DateTime<Utc>) -> Result<String> {
        let token = random_token();
        let mut tx = self
            .write(
                &Who {
                    id: Some(user.id.0),
                    name: user.username.clone(),
                },
                now,
            )
            .await?;
        sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(hash_token(&token))
            .bind(user.id.0)
            .bind(random_token())
            .bind(to_db(now))
            .bind(to_db(now + Duration::hours(SESSION_HOURS)))
            .execute(&mut *tx.tx)
            .await?;
        tx.audit::<str>("user", user.id, "login", None, None)
            .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The session of a token, if it is live and its user active.
    pub async fn session(&self, token: &str, now: DateTime<Utc>) -> Result<Option<SessionInfo>> {
        if token.starts_with(crate::tokens::PREFIX) {
            return self.token_session(token, now).await;
        }
        let row: Option<(String, UserRow)> = sqlx::query_as::<_, SessionRow>(&format!(
            "SELECT s.csrf, {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active = 1"
        ))
        .bind(hash_token(token))
        .bind(to_db(now))
        .fetch_optional(&self.pool)
        .await?
        .map(|r| (r.csrf.clone(), r.user));
        let Some((csrf, row)) = row else {
            return Ok(None);
        };
        session_info(row, csrf, None).map(Some)
    }

    /// The user an API token acts for (F32), while it is neither expired nor revoked; its last
    /// use is written at most hourly.
    async fn token_session(&self, token: &str, now: DateTime<Utc>) -> Result<Option<SessionInfo>> {
        let row: Option<TokenRow> = sqlx::query_as(&format!(
            "SELECT t.id AS token_id, t.scope, t.last_used_at, {USER_COLUMNS} FROM api_tokens t \
             JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2 AND u.active = 1"
        ))
        .bind(hash_token(token))
        .bind(to_db(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(t) = row else {
            return Ok(None);
        };
        let hour_ago = to_db(now - chrono::Duration::hours(1));
        if t.last_used_at
            .as_deref()
            .is_none_or(|at| at < hour_ago.as_str())
        {
            let _turn = self.turn().await;
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(to_db(now))
                .bind(t.token_id)
                .execute(&self.pool)
                .await?;
        }
        let scope = crate::TokenScope::parse(&t.scope)
            .ok_or_else(|| Error::Other("stored token has an invalid scope".into()))?;
        session_info(t.user, String::new(), Some(scope)).map(Some)
    }
}

fn session_info(
    row: UserRow,
    csrf: String,
    token_scope: Option<crate::TokenScope>,
) -> Result<SessionInfo> {
    let user = row.into_user()?;
    {
        Ok(SessionInfo {
            actor: Actor {
                user_id: user.id,
                username: user.username,
                role: user.role,
                department_id: user.department_id,
                customer_id: user.customer_id,
                scope: if user.role == Role::Portal {
                    DataScope::Own
                } else {
                    user.data_scope
                },
            },
            display_name: user.display_name,
            csrf,
            must_change_password: user.must_change_password,
            token_scope,
        })
    }
}

impl Store {
    pub async fn delete_session(&self, token: &str) -> Result<()> {
        let _turn = self.turn().await;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(hash_token(token))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes expired sessions and old login failures; returns how many rows went.
    pub async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        let _turn = self.turn().await;
        let a = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(to_db(now))
            .execute(&self.pool)
            .await?
            .rows_affected();
        let b = sqlx::query("DELETE FROM login_failures WHERE at <= $1")
            .bind(to_db(now - Duration::minutes(FAILURE_WINDOW_MINUTES)))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(a + b)
    }
}

struct SessionRow {
    csrf: String,
    user: UserRow,
}

struct TokenRow {
    token_id: i64,
    scope: String,
    last_used_at: Option<String>,
    user: UserRow,
}

impl<'r> FromRow<'r, sqlx::any::AnyRow> for TokenRow {
    fn from_row(row: &'r sqlx::any::AnyRow) -> sqlx::Result<Self> {
        use sqlx::Row;
        Ok(TokenRow {
            token_id: row.try_get("token_id")?,
            scope: row.try_get("scope")?,
            last_used_at: row.try_get("last_used_at")?,
            user: UserRow::from_row(row)?,
        })
    }
}

impl<'r> FromRow<'r, sqlx::any::AnyRow> for SessionRow {
    fn from_row(row: &'r sqlx::any::AnyRow) -> sqlx::Result<Self> {
        use sqlx::Row;
        Ok(SessionRow {
            csrf: row.try_get("csrf")?,
            user: UserRow::from_row(row)?,
        })
    }
}

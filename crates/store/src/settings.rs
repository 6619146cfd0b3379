//! Settings: small configuration values kept in the database so every node sees the same.

use chrono::{DateTime, Utc};
use reqloop_domain::coding;

use crate::db::WriteTx;
use crate::{Error, Result, Store, Who};

impl Store {
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub(crate) async fn setting_in(&self, tx: &mut WriteTx, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(&mut *tx.tx)
                .await?,
        )
    }

    /// The customer coding rule in force.
    pub async fn customer_code_rule(&self) -> Result<String> {
        Ok(self
            .setting("customer_code_rule")
            .await?
            .unwrap_or_else(|| coding::DEFAULT_RULE.to_string()))
    }

    /// Sets the customer coding rule after checking it renders.
    pub async fn set_customer_code_rule(
        &self,
        who: &Who,
        rule: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        coding::validate(rule).map_err(|_| Error::field("customer_code_rule", "code_rule"))?;
        let mut tx = self.write(who, now).await?;
        let before = self.setting_in(&mut tx, "customer_code_rule").await?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ('customer_code_rule', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(rule)
        .execute(&mut *tx.tx)
        .await?;
        tx.audit(
            "setting",
            "customer_code_rule",
            "update",
            before.as_deref(),
            Some(rule),
        )
        .await?;
        tx.commit().await
    }
}

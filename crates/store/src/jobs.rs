//! Claiming background jobs: a conditional update that exactly one node wins per run.

use chrono::{DateTime, Duration, Utc};
use reqloop_domain::time::to_db;

use crate::{Result, Store};

impl Store {
    /// Claims job `name` when it is due and not held by a live claim; `true` when this node won.
    /// The row is created on first use. Works the same on SQLite and PostgreSQL, and between
    /// several nodes on one PostgreSQL: the update is atomic, so two nodes cannot both win.
    pub async fn claim_job(
        &self,
        name: &str,
        node: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<bool> {
        let _turn = self.turn().await;
        sqlx::query(
            "INSERT INTO jobs (name, next_run_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(to_db(now))
        .execute(&self.pool)
        .await?;
        let n = sqlx::query(
            "UPDATE jobs SET locked_by = $1, locked_until = $2 \
             WHERE name = $3 AND next_run_at <= $4 AND (locked_until IS NULL OR locked_until < $4)",
        )
        .bind(node)
        .bind(to_db(now + lease))
        .bind(name)
        .bind(to_db(now))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Records a finished run and when the job is next due; releases the claim.
    pub async fn finish_job(
        &self,
        name: &str,
        node: &str,
        now: DateTime<Utc>,
        next: DateTime<Utc>,
        result: &str,
    ) -> Result<()> {
        let _turn = self.turn().await;
        sqlx::query(
            "UPDATE jobs SET locked_by = NULL, locked_until = NULL, last_run_at = $1, next_run_at = $2, last_result = $3 \
             WHERE name = $4 AND locked_by = $5",
        )
        .bind(to_db(now))
        .bind(to_db(next))
        .bind(result)
        .bind(name)
        .bind(node)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

//! Projects (F12) with their manager and team.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use reqloop_domain::access::Actor;
use reqloop_domain::ids::{CustomerId, UserId};
use reqloop_domain::project::{Project, ProjectFields};

use crate::db::unique;
use crate::{Error, Result, Store, Who};

/// id, version, code, name, customer, manager, created_at
type ProjectRow = (i64, i64, String, String, Option<i64>, i64, String);

impl Store {
    pub async fn list_projects(&self) -> Result<Vec<Project>> {
        let rows: Vec<ProjectRow> = sqlx::query_as(
            "SELECT id, version, code, name, customer_id, manager_id, created_at FROM projects ORDER BY code LIMIT 1000",
        )
        .fetch_all(&self.pool)
        .await?;
        let members: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT project_id, user_id FROM project_members ORDER BY project_id, user_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut teams: HashMap<i64, Vec<UserId>> = HashMap::new();
        for (p, u) in members {
            teams.entry(p).or_default().push(UserId(u));
        }
        Ok(rows
            .into_iter()
            .map(
                |(id, version, code, name, customer, manager, created_at)| Project {
                    id,
                    version,
                    fields: ProjectFields {
                        code,
                        name,
                        customer_id: customer.map(CustomerId),
                        manager_id: UserId(manager),
                        team: teams.remove(&id).unwrap_or_default(),
                    },
                    created_at,
                },
            )
            .collect())
    }

    pub async fn create_project(
        &self,
        actor: &Actor,
        mut f: ProjectFields,
        now: DateTime<Utc>,
    ) -> Result<Project> {
        f.validate()?;
        for (field, user) in
            std::iter::once(("manager_id", f.manager_id)).chain(f.team.iter().map(|u| ("team", *u)))
        {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT id FROM users WHERE id = $1 AND role <> 'portal'")
                    .bind(user.0)
                    .fetch_optional(&self.pool)
                    .await?;
            if found.is_none() {
                return Err(Error::field(field, "unknown_user"));
            }
        }
        if let Some(c) = f.customer_id {
            self.get_customer(actor, c)
                .await
                .map_err(|_| Error::field("customer_id", "unknown_customer"))?;
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO projects (code, name, customer_id, manager_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&f.code)
        .bind(&f.name)
        .bind(f.customer_id.map(|c| c.0))
        .bind(f.manager_id.0)
        .bind(&at)
        .fetch_one(&mut *tx.tx)
        .await
        .map_err(unique("code"))?;
        for u in &f.team {
            sqlx::query("INSERT INTO project_members (project_id, user_id) VALUES ($1, $2)")
                .bind(id)
                .bind(u.0)
                .execute(&mut *tx.tx)
                .await?;
        }
        let p = Project {
            id,
            version: 1,
            fields: f,
            created_at: at,
        };
        tx.audit("project", id, "create", None, Some(&p)).await?;
        tx.commit().await?;
        Ok(p)
    }

    pub(crate) async fn project_exists(&self, id: i64) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM projects WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }
}

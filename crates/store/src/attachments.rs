//! Attachments of requirements (F5). The bytes are checked (`domain::attachment`), written under
//! a generated name in the files directory, and reached only through their row: downloading
//! needs the same permission as the requirement.

use chrono::{DateTime, Utc};
use reqloop_domain::access::Actor;
use reqloop_domain::attachment;
use reqloop_domain::requirement::Stage;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::FromRow;
use utoipa::ToSchema;

use crate::{users::random_token, Error, Result, Store, Who};

#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Attachment {
    pub id: i64,
    pub requirement_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_by: String,
    pub created_at: String,
}

const COLUMNS: &str =
    "id, requirement_id, file_name, content_type, size, sha256, created_by, created_at";

impl Store {
    pub async fn attachments(&self, actor: &Actor, requirement: i64) -> Result<Vec<Attachment>> {
        self.get_requirement(actor, requirement).await?;
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM attachments WHERE requirement_id = $1 ORDER BY id"
        ))
        .bind(requirement)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Stores an upload: the file is written first under a fresh name, then the row in one
    /// transaction; if the row cannot be written, the file is removed again.
    pub async fn add_attachment(
        &self,
        actor: &Actor,
        requirement: i64,
        file_name: &str,
        bytes: Vec<u8>,
        now: DateTime<Utc>,
    ) -> Result<Attachment> {
        let content_type = attachment::check(file_name, &bytes)?;
        let r = self.get_requirement(actor, requirement).await?;
        if r.stage == Stage::Closed {
            return Err(Error::Rule("closed"));
        }
        let key = random_token();
        let sha = hex::encode(Sha256::digest(&bytes));
        let size = bytes.len() as i64;
        let path = self.write_file(&key, &bytes).await?;
        let stored = async {
            let mut tx = self.write(&Who::from(actor), now).await?;
            let at = tx.at.clone();
            let a = Attachment {
                id: 0,
                requirement_id: requirement,
                file_name: attachment::clean_name(file_name),
                content_type: content_type.into(),
                size,
                sha256: sha,
                created_by: actor.username.clone(),
                created_at: at,
            };
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO attachments (requirement_id, file_name, content_type, size, sha256, storage_key, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(requirement)
            .bind(&a.file_name)
            .bind(&a.content_type)
            .bind(size)
            .bind(&a.sha256)
            .bind(&key)
            .bind(&a.created_by)
            .bind(&a.created_at)
            .fetch_one(&mut *tx.tx)
            .await?;
            let a = Attachment { id, ..a };
            tx.audit("attachment", id, "create", None, Some(&a)).await?;
            tx.commit().await?;
            Ok::<_, Error>(a)
        }
        .await;
        if stored.is_err() {
            let _ = tokio::fs::remove_file(&path).await;
        }
        stored
    }

    /// An attachment and its bytes, when the actor may see its requirement.
    pub async fn read_attachment(&self, actor: &Actor, id: i64) -> Result<(Attachment, Vec<u8>)> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT requirement_id, storage_key FROM attachments WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let (requirement, key) = row.ok_or(Error::NotFound)?;
        self.get_requirement(actor, requirement).await?;
        let a: Attachment =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM attachments WHERE id = $1"))
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
        Ok((a, self.read_file(&key).await?))
    }

    /// Writes uploaded bytes under a generated key (to a temporary name first, so a crash never
    /// leaves half a file under the real one); the path, to remove it if the row fails.
    pub(crate) async fn write_file(&self, key: &str, bytes: &[u8]) -> Result<std::path::PathBuf> {
        let path = self.files.join(&key[..2]).join(key);
        let io = |e: std::io::Error| Error::Other(format!("storing the file: {e}"));
        let dir = path.parent().map(ToOwned::to_owned).unwrap_or_default();
        let tmp = path.with_extension("part");
        tokio::fs::create_dir_all(&dir).await.map_err(io)?;
        tokio::fs::write(&tmp, bytes).await.map_err(io)?;
        tokio::fs::rename(&tmp, &path).await.map_err(io)?;
        Ok(path)
    }

    /// The bytes stored under `key`.
    pub(crate) async fn read_file(&self, key: &str) -> Result<Vec<u8>> {
        // The key is ours (hex), never a user-chosen path.
        if key.len() < 3 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::Other("stored file key is invalid".into()));
        }
        tokio::fs::read(self.files.join(&key[..2]).join(key))
            .await
            .map_err(|e| Error::Other(format!("reading file {key}: {e}")))
    }
}

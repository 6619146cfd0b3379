//! Projects (F12, 000§3(3)): the project manager leads a team that pulls the requirement loop.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::fields::FieldErrors;
use crate::ids::{CustomerId, UserId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectFields {
    /// Short unique code, e.g. `GT-2026-01`.
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    pub manager_id: UserId,
    #[serde(default)]
    pub team: Vec<UserId>,
}

impl ProjectFields {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.required("code", &mut self.code, 40);
        e.required("name", &mut self.name, 200);
        self.team.sort();
        self.team.dedup();
        if self.team.len() > 50 {
            e.add("team", "too_many");
        }
        e.finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Project {
    pub id: i64,
    pub version: i64,
    #[serde(flatten)]
    pub fields: ProjectFields,
    pub created_at: String,
}

//! Users, roles and data scopes (F27, 001§3.1).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::fields::FieldErrors;
use crate::ids::{CustomerId, DepartmentId, UserId};

closed_set!(
    /// What a user does in the company; decides permissions in `access`.
    Role {
        Admin => "admin",
        MarketingManager => "marketing_manager",
        AccountManager => "account_manager",
        Reviewer => "reviewer",
        QualityEngineer => "quality_engineer",
        ProjectManager => "project_manager",
        Executive => "executive",
        Portal => "portal",
    }
);

closed_set!(
    /// Which customers' records a user sees (001§3.1: "nobody sees more than their role allows").
    DataScope { Own => "own", Department => "department", All => "all" }
);

impl Role {
    /// The data scope a new user of this role gets unless told otherwise.
    pub fn default_scope(self) -> DataScope {
        match self {
            Role::Admin | Role::MarketingManager | Role::QualityEngineer | Role::Executive => {
                DataScope::All
            }
            Role::Reviewer | Role::ProjectManager => DataScope::Department,
            Role::AccountManager | Role::Portal => DataScope::Own,
        }
    }
}

/// A user as shown (never with the password hash).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct User {
    pub id: UserId,
    pub version: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub department_id: Option<DepartmentId>,
    pub customer_id: Option<CustomerId>,
    pub data_scope: DataScope,
    pub email: String,
    pub active: bool,
    pub must_change_password: bool,
}

/// A user to create.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    pub password: String,
    pub role: Role,
    #[serde(default)]
    pub department_id: Option<DepartmentId>,
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    #[serde(default)]
    pub data_scope: Option<DataScope>,
    #[serde(default)]
    pub email: String,
}

pub const MIN_PASSWORD_LEN: usize = 8;

impl NewUser {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.required("username", &mut self.username, 40);
        if !self
            .username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            e.add("username", "username");
        }
        if self.display_name.trim().is_empty() {
            self.display_name = self.username.clone();
        }
        e.required("display_name", &mut self.display_name, 40);
        if self.password.chars().count() < MIN_PASSWORD_LEN {
            e.add("password", "password_short");
        } else if self.password.len() > 256 {
            e.add("password", "too_long");
        }
        e.email("email", &mut self.email);
        match (self.role, self.customer_id) {
            (Role::Portal, None) => e.add("customer_id", "required"),
            (Role::Portal, Some(_)) => {}
            (_, Some(_)) => e.add("customer_id", "portal_only"),
            (_, None) => {}
        }
        e.finish()
    }
}

/// A department (部门).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Department {
    pub id: DepartmentId,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// The head (负责人): recused from the department's complaints (001§2(3)).
    pub head_id: Option<UserId>,
}

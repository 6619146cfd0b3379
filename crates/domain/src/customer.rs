//! The customer archive (F1; 002§4.6.1, 004§2.2, 001§3.1).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::fields::{double_option, FieldErrors};
use crate::ids::{CustomerId, UserId};
use crate::region;

closed_set!(
    /// ABC classification by yearly transaction share (F2, 002§4.6.2).
    Grade { A => "A", B => "B", C => "C" }
);
closed_set!(
    /// Tier (004§1.1): strategic / key / general / potential.
    Tier { Strategic => "strategic", Key => "key", General => "general", Potential => "potential" }
);
closed_set!(
    /// Company size (规模).
    CompanySize { Micro => "micro", Small => "small", Medium => "medium", Large => "large" }
);
closed_set!(
    /// Business status (经营状况).
    BusinessStatus { Operating => "operating", Abnormal => "abnormal", Suspended => "suspended", Deregistered => "deregistered" }
);
closed_set!(
    /// Credit standing (资信), confidential.
    CreditRating { Excellent => "excellent", Good => "good", Fair => "fair", Poor => "poor" }
);
closed_set!(
    /// Risk flags of 001§3.1(2); a flagged customer is under tightened control (F4).
    RiskFlag { Litigation => "litigation", TightDeadline => "tight_deadline", Dishonest => "dishonest", Dominant => "dominant" }
);

/// Credit and financial status: shown only to roles cleared for them (001§3.1),
/// decided by `access::sees_confidential`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Confidential {
    pub credit_rating: Option<CreditRating>,
    #[serde(default)]
    pub financial_status: String,
}

/// A customer as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Customer {
    pub id: CustomerId,
    pub version: i64,
    pub code: String,
    /// Its id in the system it was imported from (F29), when it came from a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_key: Option<String>,
    #[serde(flatten)]
    pub fields: CustomerFields,
    pub archived: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl Customer {
    /// Under tightened control (F4) as soon as any risk flag is set.
    pub fn tightened_control(&self) -> bool {
        !self.fields.risk_flags.is_empty()
    }
}

/// The editable fields of a customer, shared by create, update and the stored record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerFields {
    pub name: String,
    #[serde(default)]
    pub short_name: String,
    #[serde(default)]
    pub industry: String,
    /// Application / usage of our products (用途).
    #[serde(default)]
    pub application: String,
    #[serde(default)]
    pub province: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub company_size: Option<CompanySize>,
    #[serde(default = "default_status")]
    pub business_status: BusinessStatus,
    /// Yearly transaction volume with us, in yuan.
    #[serde(default)]
    pub annual_revenue: i64,
    #[serde(default = "default_grade")]
    pub grade: Grade,
    #[serde(default = "default_tier")]
    pub tier: Tier,
    #[serde(default)]
    pub account_manager_id: Option<UserId>,
    /// Key-account team (大客户团队) besides the account manager.
    #[serde(default)]
    pub team: Vec<UserId>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub risk_flags: Vec<RiskFlag>,
    #[serde(default)]
    pub remarks: String,
    /// Credit and financial status; absent for roles not cleared for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidential: Option<Confidential>,
}

fn default_status() -> BusinessStatus {
    BusinessStatus::Operating
}
fn default_grade() -> Grade {
    Grade::C
}
fn default_tier() -> Tier {
    Tier::General
}

/// A partial update: only the fields sent change; `version` is the one the client read.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    pub version: i64,
    pub name: Option<String>,
    pub short_name: Option<String>,
    pub industry: Option<String>,
    pub application: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub company_size: Option<Option<CompanySize>>,
    pub business_status: Option<BusinessStatus>,
    pub annual_revenue: Option<i64>,
    pub grade: Option<Grade>,
    pub tier: Option<Tier>,
    #[serde(default, deserialize_with = "double_option")]
    pub account_manager_id: Option<Option<UserId>>,
    pub team: Option<Vec<UserId>>,
    pub tags: Option<Vec<String>>,
    pub risk_flags: Option<Vec<RiskFlag>>,
    pub remarks: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub confidential: Option<Option<Confidential>>,
}

/// `null` means "clear it", absence means "leave it".
impl CustomerPatch {
    /// The fields after this patch.
    pub fn apply(self, mut f: CustomerFields) -> CustomerFields {
        macro_rules! set {
            ($($field:ident),+) => { $(if let Some(v) = self.$field { f.$field = v; })+ };
        }
        set!(
            name,
            short_name,
            industry,
            application,
            province,
            city,
            address,
            phone,
            company_size,
            business_status,
            annual_revenue,
            grade,
            tier,
            account_manager_id,
            team,
            tags,
            risk_flags,
            remarks,
            confidential
        );
        f
    }
}

pub const MAX_TAGS: usize = 10;

impl CustomerFields {
    /// Normalises (trims, de-duplicates) and checks every field; all problems at once.
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.required("name", &mut self.name, 100);
        e.optional("short_name", &mut self.short_name, 40);
        e.optional("industry", &mut self.industry, 40);
        e.optional("application", &mut self.application, 200);
        e.optional("province", &mut self.province, 20);
        if !self.province.is_empty() && region::province(&self.province).is_none() {
            e.add("province", "province");
        }
        e.optional("city", &mut self.city, 40);
        e.optional("address", &mut self.address, 200);
        e.phone("phone", &mut self.phone);
        if !(0..=1_000_000_000_000).contains(&self.annual_revenue) {
            e.add("annual_revenue", "range");
        }
        for tag in &mut self.tags {
            let mut t = std::mem::take(tag);
            e.required("tags", &mut t, 20);
            *tag = t;
        }
        dedup_keep_order(&mut self.tags);
        if self.tags.len() > MAX_TAGS {
            e.add("tags", "too_many");
        }
        self.team.sort();
        self.team.dedup();
        if self.team.len() > 20 {
            e.add("team", "too_many");
        }
        self.risk_flags.sort();
        self.risk_flags.dedup();
        e.optional("remarks", &mut self.remarks, 2000);
        if let Some(c) = &mut self.confidential {
            e.optional(
                "confidential.financial_status",
                &mut c.financial_status,
                1000,
            );
        }
        e.finish()
    }
}

fn dedup_keep_order<T: PartialEq + Clone>(v: &mut Vec<T>) {
    let mut seen: Vec<T> = Vec::with_capacity(v.len());
    v.retain(|x| {
        if seen.contains(x) {
            false
        } else {
            seen.push(x.clone());
            true
        }
    });
}

/// A contact person at a customer.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Contact {
    pub id: crate::ids::ContactId,
    pub customer_id: CustomerId,
    pub version: i64,
    /// Its id in the system it was imported from (F29), when it came from a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_key: Option<String>,
    #[serde(flatten)]
    pub fields: ContactFields,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactFields {
    pub name: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub wechat: String,
    #[serde(default)]
    pub primary: bool,
}

impl ContactFields {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.required("name", &mut self.name, 50);
        e.optional("title", &mut self.title, 50);
        e.phone("phone", &mut self.phone);
        e.email("email", &mut self.email);
        e.optional("wechat", &mut self.wechat, 50);
        e.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(name: &str) -> CustomerFields {
        serde_json::from_value(serde_json::json!({ "name": name })).unwrap()
    }

    #[test]
    fn defaults_are_operating_general_c() {
        let f = fields("恒远轨道");
        assert_eq!(
            (f.grade, f.tier, f.business_status),
            (Grade::C, Tier::General, BusinessStatus::Operating)
        );
    }

    #[test]
    fn validation_reports_every_bad_field() {
        let mut f = fields("  ");
        f.province = "火星".into();
        f.phone = "abc".into();
        f.annual_revenue = -1;
        f.tags = vec!["长期协议".into(); 3];
        let errs = f.validate().unwrap_err();
        assert_eq!(errs.for_field("name"), Some("required"));
        assert_eq!(errs.for_field("province"), Some("province"));
        assert_eq!(errs.for_field("phone"), Some("phone"));
        assert_eq!(errs.for_field("annual_revenue"), Some("range"));
        assert_eq!(
            f.tags,
            vec!["长期协议".to_string()],
            "duplicate tags collapse"
        );
    }

    #[test]
    fn unknown_fields_and_values_are_refused() {
        let bad_enum = serde_json::from_value::<CustomerFields>(
            serde_json::json!({"name": "x", "grade": "D"}),
        );
        assert!(bad_enum
            .unwrap_err()
            .to_string()
            .contains("unknown variant"));
        let unknown =
            serde_json::from_value::<CustomerPatch>(serde_json::json!({"version": 1, "nmae": "x"}));
        assert!(unknown.is_err());
    }

    #[test]
    fn patch_changes_only_what_it_names() {
        let before = fields("恒远轨道");
        let patch: CustomerPatch = serde_json::from_value(
            serde_json::json!({"version": 1, "grade": "A", "account_manager_id": null}),
        )
        .unwrap();
        let after = patch.apply(before.clone());
        assert_eq!(after.grade, Grade::A);
        assert_eq!(after.name, before.name);
        assert_eq!(after.account_manager_id, None);
    }

    #[test]
    fn contact_email_and_phone_are_checked() {
        let mut c = ContactFields {
            name: "王丽".into(),
            email: "wang@".into(),
            phone: "x".into(),
            ..Default::default()
        };
        let errs = c.validate().unwrap_err();
        assert_eq!(errs.for_field("email"), Some("email"));
        assert_eq!(errs.for_field("phone"), Some("phone"));
    }
}

//! Customer property (F19, 002§4.4, 004§2.3): registered on receipt, inspected for quality and
//! quantity, stored, issued for use and brought back, reported on to the customer, returned
//! (which closes it). Losses, damage and leaks are incidents that must be reported to the
//! customer; documents and software get a controlled number and the "外来文件" mark.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::fields::FieldErrors;

closed_set!(
    /// What the customer entrusted to us.
    PropertyKind {
        Goods => "goods",
        Tooling => "tooling",
        Material => "material",
        Sample => "sample",
        Document => "document",
        Software => "software",
    }
);

closed_set!(
    /// Where the property stands.
    PropertyState { Received => "received", Stored => "stored", Issued => "issued", Returned => "returned" }
);

closed_set!(
    /// 丢失、损坏、泄密、不适用.
    IncidentKind { Loss => "loss", Damage => "damage", Leak => "leak", Unsuitable => "unsuitable" }
);

closed_set!(
    /// What can happen to it.
    PropertyStep { Inspect => "inspect", Issue => "issue", Back => "back", Return => "return" }
);

impl PropertyKind {
    /// 002§4.4B: documents and software are numbered by document control and marked external.
    pub fn controlled(self) -> bool {
        matches!(self, PropertyKind::Document | PropertyKind::Software)
    }
}

/// Why a property step is refused (422).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PropertyError {
    #[error("not possible in the property's current state")]
    WrongState,
    #[error("an incident has not been reported to the customer")]
    IncidentUnreported,
    #[error("the property is returned")]
    Returned,
}

impl PropertyError {
    pub fn code(self) -> &'static str {
        match self {
            PropertyError::WrongState => "property_state",
            PropertyError::IncidentUnreported => "incident_unreported",
            PropertyError::Returned => "property_returned",
        }
    }
}

/// The state a step leads to: inspected into storage, issued and brought back, returned to the
/// customer once every incident has been reported to them.
pub fn next(
    from: PropertyState,
    step: PropertyStep,
    unreported_incidents: usize,
) -> Result<PropertyState, PropertyError> {
    use PropertyState as S;
    use PropertyStep as T;
    match (step, from) {
        (_, S::Returned) => Err(PropertyError::Returned),
        (T::Inspect, S::Received) => Ok(S::Stored),
        (T::Issue, S::Stored) => Ok(S::Issued),
        (T::Back, S::Issued) => Ok(S::Stored),
        (T::Return, S::Received | S::Stored) if unreported_incidents > 0 => {
            Err(PropertyError::IncidentUnreported)
        }
        (T::Return, S::Received | S::Stored) => Ok(S::Returned),
        _ => Err(PropertyError::WrongState),
    }
}

/// A receipt as registered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptFields {
    pub customer_id: i64,
    pub name: String,
    pub kind: PropertyKind,
    pub quantity: i64,
    #[serde(default)]
    pub unit: String,
    /// `YYYY-MM-DD`.
    pub received_on: String,
    /// Only cleared roles see confidential property.
    #[serde(default)]
    pub confidential: bool,
    #[serde(default)]
    pub note: String,
}

impl ReceiptFields {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.required("name", &mut self.name, 200);
        e.optional("unit", &mut self.unit, 20);
        e.optional("note", &mut self.note, 2000);
        if !(1..=1_000_000).contains(&self.quantity) {
            e.add("quantity", "range");
        }
        self.received_on = self.received_on.trim().to_string();
        if chrono::NaiveDate::parse_from_str(&self.received_on, "%Y-%m-%d").is_err() {
            e.add("received_on", "date");
        }
        e.finish()
    }
}

/// The controlled number of an external document or software (`WL-2026-0007`).
pub fn control_number(year: i32, id: i64) -> String {
    format!("WL-{year}-{id:04}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use PropertyState as S;
    use PropertyStep as T;

    #[test]
    fn property_is_inspected_stored_issued_and_returned() {
        let s = next(S::Received, T::Inspect, 0).unwrap();
        assert_eq!(s, S::Stored);
        let s = next(s, T::Issue, 0).unwrap();
        assert_eq!(
            next(s, T::Return, 0),
            Err(PropertyError::WrongState),
            "bring it back first"
        );
        let s = next(s, T::Back, 0).unwrap();
        assert_eq!(next(s, T::Return, 0), Ok(S::Returned));
        for step in PropertyStep::ALL {
            assert_eq!(next(S::Returned, *step, 0), Err(PropertyError::Returned));
        }
    }

    #[test]
    fn an_unreported_incident_holds_the_return() {
        assert_eq!(
            next(S::Stored, T::Return, 1),
            Err(PropertyError::IncidentUnreported)
        );
    }

    #[test]
    fn documents_and_software_are_controlled() {
        assert!(PropertyKind::Document.controlled() && PropertyKind::Software.controlled());
        assert!(!PropertyKind::Tooling.controlled());
        assert_eq!(control_number(2026, 7), "WL-2026-0007");
        let mut r: ReceiptFields = serde_json::from_value(serde_json::json!({
            "customer_id": 1, "name": " ", "kind": "tooling", "quantity": 0, "received_on": "x"
        }))
        .unwrap();
        let e = r.validate().unwrap_err();
        assert_eq!(e.for_field("name"), Some("required"));
        assert_eq!(e.for_field("quantity"), Some("range"));
        assert_eq!(e.for_field("received_on"), Some("date"));
    }
}

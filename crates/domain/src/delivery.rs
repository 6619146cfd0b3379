//! The pre-delivery check (F15, 000§5(3) 交付前检查核对): a checklist per order. Items the data can
//! decide are decided from the data; the others are recorded by people. Delivery is refused
//! until every item passes, unless an authorised user records a waiver with a reason.

use serde::Serialize;
use utoipa::ToSchema;

closed_set!(
    /// One item of the pre-delivery checklist.
    CheckItem {
        AgreementCurrent => "agreement_current",
        CbcClosed => "cbc_closed",
        PermitsApproved => "permits_approved",
        ChangesImplemented => "changes_implemented",
        BatchesConsistent => "batches_consistent",
        PurchasedParts => "purchased_parts",
        CustomerParts => "customer_parts",
        Concessions => "concessions",
        Packaging => "packaging",
        Certificates => "certificates",
    }
);

impl CheckItem {
    /// Whether the data decides this item (people record the others).
    pub fn decided_by_data(self) -> bool {
        matches!(
            self,
            CheckItem::AgreementCurrent
                | CheckItem::CbcClosed
                | CheckItem::PermitsApproved
                | CheckItem::ChangesImplemented
                | CheckItem::BatchesConsistent
        )
    }
}

/// The facts the data-decided items are computed from.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFacts {
    /// The agreement version the order was placed under, and the version in force.
    pub order_version: i64,
    pub current_version: i64,
    /// Clauses of the version in force still open (unanswered, open, or unpermitted deviation).
    pub open_clauses: usize,
    /// Deviation permits of the version in force still waiting for the customer.
    pub pending_permits: usize,
    /// Changes of the contract not yet implemented (requested, under review, approved, notified).
    pub open_changes: usize,
    pub batches_consistent: bool,
}

/// An item's state on the checklist.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Check {
    pub item: CheckItem,
    pub by_data: bool,
    /// `None` while a person has not recorded it.
    pub passed: Option<bool>,
    pub note: String,
}

/// The checklist: the data-decided items from `facts`, the others from what people recorded.
pub fn checklist(facts: &DeliveryFacts, recorded: &[(CheckItem, bool, String)]) -> Vec<Check> {
    CheckItem::ALL
        .iter()
        .map(|&item| {
            if item.decided_by_data() {
                let passed = match item {
                    CheckItem::AgreementCurrent => {
                        facts.current_version > 0 && facts.order_version == facts.current_version
                    }
                    CheckItem::CbcClosed => facts.open_clauses == 0,
                    CheckItem::PermitsApproved => facts.pending_permits == 0,
                    CheckItem::ChangesImplemented => facts.open_changes == 0,
                    _ => facts.batches_consistent,
                };
                Check {
                    item,
                    by_data: true,
                    passed: Some(passed),
                    note: String::new(),
                }
            } else {
                let found = recorded.iter().find(|(i, _, _)| *i == item);
                Check {
                    item,
                    by_data: false,
                    passed: found.map(|(_, p, _)| *p),
                    note: found.map(|(_, _, n)| n.clone()).unwrap_or_default(),
                }
            }
        })
        .collect()
}

/// The items that do not pass (failed or not yet recorded).
pub fn failing(checks: &[Check]) -> Vec<CheckItem> {
    checks
        .iter()
        .filter(|c| c.passed != Some(true))
        .map(|c| c.item)
        .collect()
}

/// Whether the order may be marked delivered: every item passes, or a waiver with a reason.
pub fn may_deliver(checks: &[Check], waiver: Option<&str>) -> Result<(), Vec<CheckItem>> {
    let failing = failing(checks);
    if failing.is_empty() || waiver.is_some_and(|w| !w.trim().is_empty()) {
        Ok(())
    } else {
        Err(failing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> DeliveryFacts {
        DeliveryFacts {
            order_version: 2,
            current_version: 2,
            open_clauses: 0,
            pending_permits: 0,
            open_changes: 0,
            batches_consistent: true,
        }
    }

    fn all_recorded() -> Vec<(CheckItem, bool, String)> {
        CheckItem::ALL
            .iter()
            .filter(|i| !i.decided_by_data())
            .map(|i| (*i, true, "已核对".to_string()))
            .collect()
    }

    #[test]
    fn data_decides_its_items_and_people_the_rest() {
        let checks = checklist(&good(), &[]);
        assert!(checks
            .iter()
            .filter(|c| c.by_data)
            .all(|c| c.passed == Some(true)));
        assert_eq!(failing(&checks).len(), 5, "five items wait for people");
        assert!(failing(&checklist(&good(), &all_recorded())).is_empty());
        let mut stale = good();
        stale.current_version = 3;
        stale.open_clauses = 1;
        stale.open_changes = 1;
        assert_eq!(
            failing(&checklist(&stale, &all_recorded())),
            vec![
                CheckItem::AgreementCurrent,
                CheckItem::CbcClosed,
                CheckItem::ChangesImplemented
            ]
        );
    }

    #[test]
    fn delivery_needs_every_item_or_a_waiver_with_a_reason() {
        let mut facts = good();
        facts.batches_consistent = false;
        let checks = checklist(&facts, &all_recorded());
        assert_eq!(
            may_deliver(&checks, None),
            Err(vec![CheckItem::BatchesConsistent])
        );
        assert!(may_deliver(&checks, Some("  ")).is_err());
        assert_eq!(may_deliver(&checks, Some("客户同意分批交付")), Ok(()));
        assert_eq!(
            may_deliver(&checklist(&good(), &all_recorded()), None),
            Ok(())
        );
    }
}

//! Orders under a contract (F13): delivery batches (quantity, promised date) and production
//! batches (quantity, planned and actual date), and whether production covers delivery — an item
//! of the pre-delivery check (000§5(3) "生产计划批次与合同订单交付一致性") decided from the data.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::fields::FieldErrors;

/// A delivery batch promised to the customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryBatch {
    pub quantity: i64,
    /// `YYYY-MM-DD`.
    pub promised_on: String,
}

/// A production batch planned (and, once made, its actual date).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductionBatch {
    pub quantity: i64,
    pub planned_on: String,
    #[serde(default)]
    pub actual_on: Option<String>,
}

/// An order as entered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderFields {
    pub number: String,
    pub delivery: Vec<DeliveryBatch>,
    #[serde(default)]
    pub production: Vec<ProductionBatch>,
}

fn is_date(s: &str) -> bool {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

impl OrderFields {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.required("number", &mut self.number, 50);
        if self.delivery.is_empty() {
            e.add("delivery", "required");
        }
        for (i, b) in self.delivery.iter_mut().enumerate() {
            b.promised_on = b.promised_on.trim().to_string();
            if !(1..=10_000_000).contains(&b.quantity) {
                e.add(format!("delivery[{i}].quantity"), "range");
            }
            if !is_date(&b.promised_on) {
                e.add(format!("delivery[{i}].promised_on"), "date");
            }
        }
        for (i, b) in self.production.iter_mut().enumerate() {
            b.planned_on = b.planned_on.trim().to_string();
            if !(1..=10_000_000).contains(&b.quantity) {
                e.add(format!("production[{i}].quantity"), "range");
            }
            if !is_date(&b.planned_on) {
                e.add(format!("production[{i}].planned_on"), "date");
            }
            if b.actual_on.as_deref().is_some_and(|d| !is_date(d)) {
                e.add(format!("production[{i}].actual_on"), "date");
            }
        }
        e.finish()
    }
}

/// Whether production covers delivery: by every promised date, the quantity produced (actual
/// date, else planned) reaches the quantity promised up to then, and the totals match.
pub fn batches_consistent(delivery: &[DeliveryBatch], production: &[ProductionBatch]) -> bool {
    let delivered: i64 = delivery.iter().map(|b| b.quantity).sum();
    let produced: i64 = production.iter().map(|b| b.quantity).sum();
    if delivered != produced || delivered == 0 {
        return false;
    }
    let ready_on =
        |b: &ProductionBatch| b.actual_on.clone().unwrap_or_else(|| b.planned_on.clone());
    delivery.iter().all(|d| {
        let promised: i64 = delivery
            .iter()
            .filter(|x| x.promised_on <= d.promised_on)
            .map(|x| x.quantity)
            .sum();
        let ready: i64 = production
            .iter()
            .filter(|p| ready_on(p) <= d.promised_on)
            .map(|p| p.quantity)
            .sum();
        ready >= promised
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(q: i64, on: &str) -> DeliveryBatch {
        DeliveryBatch {
            quantity: q,
            promised_on: on.into(),
        }
    }

    fn p(q: i64, planned: &str, actual: Option<&str>) -> ProductionBatch {
        ProductionBatch {
            quantity: q,
            planned_on: planned.into(),
            actual_on: actual.map(Into::into),
        }
    }

    #[test]
    fn production_must_cover_every_promise_in_time() {
        let delivery = [d(10, "2026-12-01"), d(20, "2026-12-20")];
        assert!(batches_consistent(
            &delivery,
            &[p(10, "2026-11-25", None), p(20, "2026-12-15", None)]
        ));
        // Too late for the first promise.
        assert!(!batches_consistent(
            &delivery,
            &[p(10, "2026-12-05", None), p(20, "2026-12-15", None)]
        ));
        // Made late although planned in time: the actual date counts.
        assert!(!batches_consistent(
            &delivery,
            &[
                p(10, "2026-11-25", Some("2026-12-03")),
                p(20, "2026-12-15", None)
            ]
        ));
        // Totals differ.
        assert!(!batches_consistent(&delivery, &[p(25, "2026-11-25", None)]));
        assert!(!batches_consistent(&delivery, &[]));
    }

    #[test]
    fn orders_need_a_number_and_valid_batches() {
        let mut o = OrderFields {
            number: " ".into(),
            delivery: vec![d(0, "2026-13-01")],
            production: vec![p(5, "x", Some("2026-12-01"))],
        };
        let e = o.validate().unwrap_err();
        assert_eq!(e.for_field("number"), Some("required"));
        assert_eq!(e.for_field("delivery[0].quantity"), Some("range"));
        assert_eq!(e.for_field("delivery[0].promised_on"), Some("date"));
        assert_eq!(e.for_field("production[0].planned_on"), Some("date"));
    }
}

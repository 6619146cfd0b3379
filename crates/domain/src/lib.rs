//! ReqLoop's pure domain core: the rules, with no I/O.
//!
//! Everything here is a function of data. Storage loads the facts, calls these functions and
//! writes the outcome; the web layer only translates.

#[macro_use]
mod closed_set;

pub mod access;
pub mod attachment;
pub mod audit;
pub mod calendar;
pub mod change;
pub mod coding;
pub mod complaint;
pub mod contact;
pub mod contract;
pub mod customer;
pub mod deadline;
pub mod delivery;
pub mod fields;
pub mod grading;
pub mod handoff;
pub mod ids;
pub mod import;
pub mod kpi;
pub mod notify;
pub mod order;
pub mod process_audit;
pub mod project;
pub mod property;
pub mod rectification;
pub mod region;
pub mod report;
pub mod requirement;
pub mod review;
pub mod search;
pub mod segment;
pub mod similarity;
pub mod sla;
pub mod standard;
pub mod survey;
pub mod time;
pub mod user;
pub mod warning;

pub use fields::{FieldError, FieldErrors};

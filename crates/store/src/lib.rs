//! ReqLoop storage on SQLite (embedded default) and PostgreSQL: one set of migrations per
//! dialect, one module per aggregate, every write one transaction with its audit entry.

mod attachments;
mod audit;
mod backup;
mod calendar;
mod changes;
mod complaints;
mod contacts;
mod contracts;
mod customers;
mod db;
pub mod demo;
mod grading;
mod handoffs;
mod import;
mod jobs;
mod kpis;
mod notify;
mod orders;
mod process_audits;
mod projects;
mod property;
mod reports;
mod requirements;
mod reviews;
mod search;
mod segments;
mod settings;
mod sla;
mod standard;
mod survey_actions;
mod survey_analysis;
mod surveys;
#[doc(hidden)]
pub mod testing;
mod tokens;
mod users;
mod warnings;

pub use attachments::Attachment;
pub use audit::{AuditFilter, VerifyReport};
pub use calendar::{CalendarYear, CalendarYearFields};
pub use changes::{
    Change, ChangeFilter, ChangeItem, ChangeReview, Notice, NotifyRequest, Revision,
};
pub use complaints::{
    Assignment, CapaDraft, Complaint, ComplaintFile, ComplaintFilter, ComplaintNote, Declaration,
    RecusedPerson, Reply, SurveyTask, Verification,
};
pub use contacts::{
    Attendee, ContactPass, ContactTask, NewAttendee, Symposium, TaskFilter, Visit, VisitFilter,
};
pub use contracts::{
    CbcLine, Contract, ContractFilter, ContractVersion, PendingClause, Permit, PermitRequest,
};
pub use customers::{CustomerFilter, HistoryEntry};
pub use db::{Backend, Page, Store, Who};
pub use grading::{
    Adjustment, Applied, Candidate, CandidateFilter, GradeChange, GradingRun, NewRun, RunDecision,
    RunSummary,
};
pub use handoffs::{HandoffFilter, WorkPlanEntry};
pub use import::{read_file, Feed, Format, ImportReport, Problem, MAX_REPORTED};
pub use kpis::{
    CheckItem, CheckList, KpiMonth, KpiQuery, KpiReport, KpiRow, WeekQuery, WeeklyCheck,
};
pub use notify::{
    Delivery, DeliveryFilter, MarkRead, Notification, NotificationFilter, NotifyPass, Outgoing,
    Pref, SmtpSettings, Webhook, WebhookFields,
};
pub use orders::{Order, OrderFilter, OrderSummary};
pub use process_audits::{AuditItem, AuditReport, Practice, ProcessAudit, ProcessAuditFilter};
pub use property::{
    Incident, Inspection, NewIncident, Property, PropertyFilter, PropertyMove, PropertyReport,
    PropertyUse,
};
pub use reports::{
    BusinessStructure, CustomerManagement, MonthCount, MovedCustomer, Movement, ReportQuery,
    RequirementTrends, StructureRow,
};
pub use requirements::{
    FeedbackEntry, Item, LedgerRow, RequirementFilter, Responsible, SimilarRequirement,
    StageOutput, Transition,
};
pub use reviews::{NewReview, ReviewAnswer, ReviewFilter, ReviewRound};
pub use search::{Hit, IndexPass, SearchQuery, SearchResult, CANDIDATES as SEARCH_CANDIDATES};
pub use segments::{Grid, Point, RegionRow, SegmentQuery, SegmentReport, SegmentRow};
pub use sla::{
    deadline_clock, requirement_clock, Breach, BreachFilter, BreachPass, ClockView, WaitRequest,
};
pub use standard::StandardVersion;
pub use survey_actions::{ActionFilter, ActionStepRequest, SurveyAction};
pub use survey_analysis::{
    rankings, Analysis, AnalysisQuery, AspectDistribution, CategoryRanking, Coverage,
    CoverageQuery, CoverageRow, ManagerCoverage, PeriodDistributions, SatisfactionReport,
    DIMENSIONS,
};
pub use surveys::{
    Campaign, CampaignFilter, Invitation, OpenInvitation, Reminder, Template, TemplateSummary,
    TemplateVersionInfo,
};
pub use tokens::{ApiToken, CreatedToken, NewToken, TokenScope};
pub use users::{random_token, LoginOutcome, SessionInfo, SESSION_HOURS};
pub use warnings::{
    RuleUpdate, TierLevels, Warning, WarningFilter, WarningPass, WarningRule, WarningStepRequest,
};

use reqloop_domain::FieldErrors;

/// What can go wrong in storage, in terms the web edge maps to statuses once.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not found")]
    NotFound,
    /// The version the client read is no longer current (optimistic locking).
    #[error("the record was changed by someone else")]
    Stale,
    /// A unique value is taken; names the field.
    #[error("already exists: {0}")]
    Duplicate(&'static str),
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// The role or the data scope does not allow it.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// A business rule refuses it (422).
    #[error("rule violated: {0}")]
    Rule(&'static str),
    /// A refused stage move (422, with the missing outputs).
    #[error("stage move refused: {0}")]
    Stage(reqloop_domain::requirement::StageError),
    /// The person may not investigate or verify the case (422, with who and why).
    #[error("recused: {user}")]
    Recused {
        user: String,
        why: reqloop_domain::complaint::Recusal,
    },
    /// Delivery refused by the pre-delivery check (422, with the failing items).
    #[error("delivery blocked by the pre-delivery check")]
    DeliveryBlocked(Vec<reqloop_domain::delivery::CheckItem>),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Other(String),
}

impl From<FieldErrors> for Error {
    fn from(e: FieldErrors) -> Self {
        Error::Invalid(e)
    }
}

impl Error {
    /// A single field error.
    pub fn field(field: &str, code: &'static str) -> Self {
        let mut e = FieldErrors::default();
        e.add(field, code);
        Error::Invalid(e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

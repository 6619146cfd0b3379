//! The one authorization module (F27, 001§3.1). Every handler asks here: role permissions,
//! data scope and confidential fields are decided in this file and nowhere else.

use crate::customer::{Customer, CustomerFields};
use crate::ids::{CustomerId, DepartmentId, UserId};
use crate::user::{DataScope, Role};

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub username: String,
    pub role: Role,
    pub department_id: Option<DepartmentId>,
    /// The company of a portal user.
    pub customer_id: Option<CustomerId>,
    pub scope: DataScope,
}

/// Things an actor may try to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    CustomerRead,
    CustomerCreate,
    CustomerUpdate,
    CustomerArchive,
    ContactWrite,
    RequirementRead,
    /// Collect, edit and itemise requirements.
    RequirementWrite,
    /// Move a requirement between stages and file stage outputs.
    RequirementTransition,
    /// Create projects and name their team.
    ProjectManage,
    /// Start a review round (F11).
    ReviewStart,
    /// Answer review items for one's own department.
    ReviewAnswer,
    /// Sign a review conclusion (the approver permission).
    ReviewApprove,
    /// The extra quality review of a customer under tightened control.
    QualityReview,
    /// Enter contracts and agreements, their versions, and the customer's permit decisions.
    ContractWrite,
    /// Answer clauses in the CBC response table and ask for deviation permits.
    ContractRespond,
    /// Deliver an order although pre-delivery items fail, recording a waiver with a reason.
    DeliveryWaive,
    /// Read change records (confidential, 002§4.2C: only cleared roles; department reviewers
    /// see the changes their department was notified of).
    ChangeRead,
    /// Raise a change, re-determine it, start its re-review, issue its notices and close it.
    ChangeRequest,
    /// Approve or reject a re-reviewed change.
    ChangeApprove,
    /// Verify the effect of an implemented change.
    ChangeVerify,
    /// Read complaints and feedback (portal users: their own company's).
    ComplaintRead,
    /// Register a complaint or a positive feedback (portal users too, for their company).
    ComplaintRegister,
    /// Confirm, decide, assign, correct, write the CAPA report, reply and close.
    ComplaintHandle,
    /// Verify the effect of a correction or CAPA (the quality department, 002§3.2).
    ComplaintVerify,
    /// Read the customer property register (confidential items only for cleared roles).
    PropertyRead,
    /// Register, inspect, issue, report on and return customer property.
    PropertyWrite,
    /// Read survey campaigns and their analysis.
    SurveyRead,
    /// Start and close campaigns, enter answers taken on site.
    SurveyManage,
    /// Read the management reports (F26) over the customers in one's scope.
    ReportRead,
    /// Read process audits, their reports and the shared excellent practices (F16).
    ProcessAuditRead,
    /// Plan process audits, grade their checklists and report them.
    ProcessAuditWrite,
    /// Read early warnings (F24) of the customers in one's scope.
    WarningRead,
    /// Read the KPIs (F23) of one's scope: oneself, one's department or everyone.
    KpiRead,
    /// Start grading runs (F2), adjust their candidates, edit the grading rules.
    GradingManage,
    /// Approve or reject a grading run: the evaluation committee (004§1.3 "用户动态评价领导小组").
    GradingApprove,
    /// Record visits to the customers in one's scope (F25).
    VisitWrite,
    /// Set the contact plan's frequencies; plan symposia and record their minutes (F25).
    ContactPlanManage,
    /// Assign and verify warnings, edit the warning and response-time rules, run a pass now.
    WarningManage,
    AuditRead,
    UserManage,
    SettingsManage,
}

/// What importing a kind of record (F29) needs: the right to create such records by hand.
pub fn import_action(kind: crate::import::ImportKind) -> Action {
    use crate::import::ImportKind;
    match kind {
        ImportKind::Customers => Action::CustomerCreate,
        ImportKind::Contacts => Action::ContactWrite,
        ImportKind::Requirements => Action::RequirementWrite,
        ImportKind::Orders => Action::ContractWrite,
    }
}

/// The actor may not do this at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("forbidden")]
pub struct Denied;

/// Whether a role may perform an action on records inside its data scope.
pub fn permits(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    match action {
        CustomerRead => true,
        CustomerCreate | CustomerUpdate | ContactWrite => {
            matches!(role, Admin | MarketingManager | AccountManager)
        }
        CustomerArchive => matches!(role, Admin | MarketingManager),
        RequirementRead => true,
        RequirementWrite => matches!(
            role,
            Admin | MarketingManager | AccountManager | ProjectManager
        ),
        RequirementTransition => {
            matches!(
                role,
                Admin | MarketingManager | AccountManager | ProjectManager | QualityEngineer
            )
        }
        ProjectManage => matches!(role, Admin | MarketingManager | ProjectManager),
        ReviewStart => matches!(role, Admin | MarketingManager | ProjectManager),
        ReviewAnswer => !matches!(role, Portal | Executive),
        ReviewApprove => matches!(role, Admin | MarketingManager | Executive),
        QualityReview => matches!(role, Admin | QualityEngineer),
        ContractWrite => matches!(role, Admin | MarketingManager | AccountManager),
        DeliveryWaive => matches!(role, Admin | MarketingManager),
        ContractRespond => matches!(
            role,
            Admin | MarketingManager | AccountManager | Reviewer | QualityEngineer | ProjectManager
        ),
        ChangeRead => !matches!(role, Portal),
        ChangeRequest => matches!(
            role,
            Admin | MarketingManager | AccountManager | ProjectManager
        ),
        ChangeApprove => matches!(role, Admin | MarketingManager | Executive),
        ChangeVerify => matches!(role, Admin | QualityEngineer),
        ComplaintRead | ComplaintRegister => true,
        ComplaintHandle => !matches!(role, Portal | Executive),
        ComplaintVerify => matches!(role, Admin | QualityEngineer),
        PropertyRead => !matches!(role, Portal),
        PropertyWrite => matches!(
            role,
            Admin | MarketingManager | AccountManager | QualityEngineer | ProjectManager | Reviewer
        ),
        SurveyRead => !matches!(role, Portal),
        SurveyManage => matches!(role, Admin | MarketingManager | AccountManager),
        ReportRead => !matches!(role, Portal),
        ProcessAuditRead => !matches!(role, Portal),
        ProcessAuditWrite => matches!(role, Admin | QualityEngineer | MarketingManager),
        WarningRead | KpiRead => !matches!(role, Portal),
        GradingManage => matches!(role, Admin | MarketingManager),
        GradingApprove => matches!(role, Admin | MarketingManager | Executive),
        VisitWrite => matches!(
            role,
            Admin | MarketingManager | AccountManager | ProjectManager
        ),
        ContactPlanManage => matches!(role, Admin | MarketingManager),
        WarningManage => matches!(role, Admin | MarketingManager | QualityEngineer),
        AuditRead | UserManage | SettingsManage => role == Admin,
    }
}

impl Actor {
    /// `Ok` when the role may perform the action; the handler's first line.
    pub fn require(&self, action: Action) -> Result<(), Denied> {
        if permits(self.role, action) {
            Ok(())
        } else {
            Err(Denied)
        }
    }
}

/// Which customers an actor sees; storage turns it into a SQL condition, so lists are filtered
/// in the database, never after loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerScope {
    All,
    /// Customers whose account manager or key-account team includes this user.
    Managed(UserId),
    /// Customers whose account manager belongs to this department.
    Department(DepartmentId),
    /// Exactly one customer (portal users).
    One(CustomerId),
    Nothing,
}

pub fn customer_scope(actor: &Actor) -> CustomerScope {
    if actor.role == Role::Portal {
        return actor
            .customer_id
            .map_or(CustomerScope::Nothing, CustomerScope::One);
    }
    match actor.scope {
        DataScope::All => CustomerScope::All,
        DataScope::Own => CustomerScope::Managed(actor.user_id),
        DataScope::Department => actor.department_id.map_or(
            CustomerScope::Managed(actor.user_id),
            CustomerScope::Department,
        ),
    }
}

/// The department whose requirements a department-scoped actor sees beyond its customer scope:
/// those its department takes part in (identification items, hand-offs, review aspects), so a
/// design reviewer reads what is routed to design. Own-scoped users (account managers) and
/// portal users keep to their customers.
pub fn task_department(actor: &Actor) -> Option<DepartmentId> {
    match (actor.role, actor.scope) {
        (Role::Portal, _) | (_, DataScope::Own | DataScope::All) => None,
        (_, DataScope::Department) => actor.department_id,
    }
}

/// Whether the actor may act for a department (confirm its change notices): its members, and
/// administrators for any.
pub fn acts_for_department(actor: &Actor, department: DepartmentId) -> bool {
    actor.role == Role::Admin || actor.department_id == Some(department)
}

/// Whether the actor sees every change record in its requirement scope; others (department
/// reviewers) see only the changes notified to their department (002§4.2C "严格保留和保密").
pub fn cleared_for_changes(actor: &Actor) -> bool {
    matches!(
        actor.role,
        Role::Admin
            | Role::MarketingManager
            | Role::AccountManager
            | Role::ProjectManager
            | Role::QualityEngineer
            | Role::Executive
    )
}

/// Whether the actor sees confidential customer property (002§4.4C: customers' technical
/// data is not passed on without their permission).
pub fn sees_confidential_property(actor: &Actor) -> bool {
    matches!(
        actor.role,
        Role::Admin | Role::MarketingManager | Role::Executive | Role::QualityEngineer
    )
}

/// Whether the actor may see and write credit and financial status (001§3.1 confidential).
pub fn sees_confidential(actor: &Actor) -> bool {
    matches!(
        actor.role,
        Role::Admin | Role::MarketingManager | Role::Executive
    )
}

/// The one function every customer response and export passes through.
pub fn redact_customer(actor: &Actor, mut c: Customer) -> Customer {
    if !sees_confidential(actor) {
        c.fields.confidential = None;
    }
    c
}

/// Whether a field of a history (履历) entry may be shown to the actor.
pub fn history_field_visible(actor: &Actor, field: &str) -> bool {
    sees_confidential(actor) || !field.starts_with("confidential")
}

/// Why a customer write is refused by scope rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AssignmentError {
    /// The actor would hand the customer out of their own scope.
    #[error("out_of_scope")]
    OutOfScope,
    /// Confidential fields were sent by a role not cleared for them.
    #[error("confidential")]
    Confidential,
}

/// Checks the fields a customer write would store against the actor's scope:
/// someone scoped to their own customers must stay the account manager or on the team,
/// someone scoped to a department must keep the account manager in that department.
/// `manager_department` is the department of `fields.account_manager_id`.
pub fn check_customer_write(
    actor: &Actor,
    fields: &CustomerFields,
    confidential_sent: bool,
    manager_department: Option<DepartmentId>,
) -> Result<(), AssignmentError> {
    if confidential_sent && !sees_confidential(actor) {
        return Err(AssignmentError::Confidential);
    }
    let inside = match customer_scope(actor) {
        CustomerScope::All => true,
        CustomerScope::Managed(me) => {
            fields.account_manager_id == Some(me) || fields.team.contains(&me)
        }
        CustomerScope::Department(d) => manager_department == Some(d),
        CustomerScope::One(_) | CustomerScope::Nothing => false,
    };
    if inside {
        Ok(())
    } else {
        Err(AssignmentError::OutOfScope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, scope: DataScope) -> Actor {
        Actor {
            user_id: UserId(7),
            username: "u".into(),
            role,
            department_id: Some(DepartmentId(3)),
            customer_id: None,
            scope,
        }
    }

    fn fields(manager: Option<i64>) -> CustomerFields {
        let mut f: CustomerFields =
            serde_json::from_value(serde_json::json!({"name": "恒远"})).unwrap();
        f.account_manager_id = manager.map(UserId);
        f
    }

    #[test]
    fn only_admin_reads_the_audit_trail() {
        for role in Role::ALL {
            assert_eq!(
                permits(*role, Action::AuditRead),
                *role == Role::Admin,
                "{role}"
            );
        }
    }

    #[test]
    fn viewers_cannot_write_customers() {
        for role in [
            Role::Reviewer,
            Role::QualityEngineer,
            Role::ProjectManager,
            Role::Executive,
            Role::Portal,
        ] {
            assert!(
                actor(role, DataScope::All)
                    .require(Action::CustomerUpdate)
                    .is_err(),
                "{role}"
            );
        }
    }

    #[test]
    fn scopes_map_to_sql_conditions() {
        assert_eq!(
            customer_scope(&actor(Role::AccountManager, DataScope::Own)),
            CustomerScope::Managed(UserId(7))
        );
        assert_eq!(
            customer_scope(&actor(Role::Reviewer, DataScope::Department)),
            CustomerScope::Department(DepartmentId(3))
        );
        let mut portal = actor(Role::Portal, DataScope::All);
        assert_eq!(
            customer_scope(&portal),
            CustomerScope::Nothing,
            "a portal user without a company sees nothing"
        );
        portal.customer_id = Some(CustomerId(5));
        assert_eq!(customer_scope(&portal), CustomerScope::One(CustomerId(5)));
    }

    #[test]
    fn own_scope_cannot_hand_a_customer_to_someone_else() {
        let me = actor(Role::AccountManager, DataScope::Own);
        assert!(check_customer_write(&me, &fields(Some(7)), false, None).is_ok());
        assert_eq!(
            check_customer_write(&me, &fields(Some(8)), false, None),
            Err(AssignmentError::OutOfScope)
        );
        let mut on_team = fields(Some(8));
        on_team.team.push(UserId(7));
        assert!(check_customer_write(&me, &on_team, false, None).is_ok());
    }

    #[test]
    fn confidential_fields_need_clearance() {
        let am = actor(Role::AccountManager, DataScope::Own);
        assert_eq!(
            check_customer_write(&am, &fields(Some(7)), true, None),
            Err(AssignmentError::Confidential)
        );
        assert!(!history_field_visible(&am, "confidential.credit_rating"));
        let mm = actor(Role::MarketingManager, DataScope::All);
        assert!(check_customer_write(&mm, &fields(None), true, None).is_ok());
        assert!(history_field_visible(&mm, "confidential.credit_rating"));
    }
}

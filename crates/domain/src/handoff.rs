//! Point-to-point hand-offs (F10, 000§2 "点对点", 000§5(2)): entering a stage gives each of its
//! control points a task for one receiver in the responsible department, due by the control
//! point's deadline. The receiver acknowledges, attaches the output record and completes it; the
//! output then enters the work plan of the department that receives it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::access::Actor;
use crate::ids::{DepartmentId, UserId};
use crate::requirement::Stage;

closed_set!(
    /// Where a hand-off is.
    HandoffStatus {
        Open => "open",
        Acknowledged => "acknowledged",
        Completed => "completed",
        Cancelled => "cancelled",
    }
);

impl HandoffStatus {
    /// Still waiting for its receiver.
    pub fn is_pending(self) -> bool {
        matches!(self, HandoffStatus::Open | HandoffStatus::Acknowledged)
    }
}

/// A hand-off as listed.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Handoff {
    pub id: i64,
    pub version: i64,
    pub requirement_id: i64,
    pub requirement_code: String,
    pub requirement_title: String,
    /// The requirement's customer and its grade (the queue puts grade A first, F2).
    pub customer_id: i64,
    pub customer_grade: String,
    pub stage: Stage,
    pub control_point_id: i64,
    pub station: String,
    pub work_content: String,
    pub input_record: String,
    pub output_record: String,
    pub plan_conversion: String,
    pub sender_name: String,
    /// The responsible department; the receiver belongs to it.
    pub department_id: DepartmentId,
    pub receiver_id: Option<UserId>,
    pub receiver_name: Option<String>,
    /// The department the output record goes to (its work plan gets an entry).
    pub output_department_id: DepartmentId,
    pub status: HandoffStatus,
    pub due_at: String,
    pub created_at: String,
    pub acknowledged_at: Option<String>,
    pub completed_at: Option<String>,
    pub output_note: String,
    pub overdue: bool,
    /// While pending: working minutes left to its due time, negative once overdue (F22).
    pub remaining_minutes: Option<i64>,
}

/// Why a hand-off step is refused (422).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HandoffError {
    #[error("only the receiver may do this")]
    NotReceiver,
    #[error("the hand-off was acknowledged already")]
    AlreadyAcknowledged,
    #[error("the hand-off must be acknowledged first")]
    NotAcknowledged,
    #[error("the hand-off is completed or cancelled")]
    Finished,
}

impl HandoffError {
    pub fn code(self) -> &'static str {
        match self {
            HandoffError::NotReceiver => "not_receiver",
            HandoffError::AlreadyAcknowledged => "already_acknowledged",
            HandoffError::NotAcknowledged => "not_acknowledged",
            HandoffError::Finished => "handoff_finished",
        }
    }
}

/// Whether the actor is the hand-off's receiver: the named one, or, while none is named, any
/// member of the responsible department (who then becomes the receiver).
fn is_receiver(actor: &Actor, receiver: Option<UserId>, department: DepartmentId) -> bool {
    match receiver {
        Some(r) => r == actor.user_id,
        None => actor.department_id == Some(department),
    }
}

/// The receiver acknowledges an open hand-off.
pub fn check_acknowledge(
    actor: &Actor,
    status: HandoffStatus,
    receiver: Option<UserId>,
    department: DepartmentId,
) -> Result<(), HandoffError> {
    if !is_receiver(actor, receiver, department) {
        return Err(HandoffError::NotReceiver);
    }
    match status {
        HandoffStatus::Open => Ok(()),
        HandoffStatus::Acknowledged => Err(HandoffError::AlreadyAcknowledged),
        HandoffStatus::Completed | HandoffStatus::Cancelled => Err(HandoffError::Finished),
    }
}

/// The receiver completes an acknowledged hand-off (with its output record).
pub fn check_complete(
    actor: &Actor,
    status: HandoffStatus,
    receiver: Option<UserId>,
    department: DepartmentId,
) -> Result<(), HandoffError> {
    if !is_receiver(actor, receiver, department) {
        return Err(HandoffError::NotReceiver);
    }
    match status {
        HandoffStatus::Acknowledged => Ok(()),
        HandoffStatus::Open => Err(HandoffError::NotAcknowledged),
        HandoffStatus::Completed | HandoffStatus::Cancelled => Err(HandoffError::Finished),
    }
}

/// Whether a pending hand-off is past its due time.
pub fn is_overdue(status: HandoffStatus, due: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    status.is_pending() && now > due
}

/// Who receives a hand-off among the responsible department's active members: a member of the
/// requirement's project team first, else the longest-standing member (lowest id).
pub fn pick_receiver(candidates: &[(UserId, bool)]) -> Option<UserId> {
    candidates
        .iter()
        .min_by_key(|(id, in_team)| (!in_team, id.0))
        .map(|(id, _)| *id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::{DataScope, Role};
    use chrono::{Duration, TimeZone};

    fn actor(id: i64, dept: i64) -> Actor {
        Actor {
            user_id: UserId(id),
            username: format!("u{id}"),
            role: Role::Reviewer,
            department_id: Some(DepartmentId(dept)),
            customer_id: None,
            scope: DataScope::Department,
        }
    }

    #[test]
    fn only_the_receiver_acknowledges_and_only_once() {
        use HandoffStatus::*;
        let d = DepartmentId(3);
        let me = actor(7, 3);
        let colleague = actor(8, 3);
        assert_eq!(check_acknowledge(&me, Open, Some(UserId(7)), d), Ok(()));
        assert_eq!(
            check_acknowledge(&colleague, Open, Some(UserId(7)), d),
            Err(HandoffError::NotReceiver)
        );
        assert_eq!(
            check_acknowledge(&me, Acknowledged, Some(UserId(7)), d),
            Err(HandoffError::AlreadyAcknowledged)
        );
        assert_eq!(
            check_acknowledge(&me, Cancelled, Some(UserId(7)), d),
            Err(HandoffError::Finished)
        );
        // Unassigned: any member of the responsible department, nobody else.
        assert_eq!(check_acknowledge(&colleague, Open, None, d), Ok(()));
        assert_eq!(
            check_acknowledge(&actor(9, 4), Open, None, d),
            Err(HandoffError::NotReceiver)
        );
    }

    #[test]
    fn completing_needs_an_acknowledged_hand_off() {
        use HandoffStatus::*;
        let d = DepartmentId(3);
        let me = actor(7, 3);
        assert_eq!(
            check_complete(&me, Open, Some(UserId(7)), d),
            Err(HandoffError::NotAcknowledged)
        );
        assert_eq!(
            check_complete(&me, Acknowledged, Some(UserId(7)), d),
            Ok(())
        );
        assert_eq!(
            check_complete(&me, Completed, Some(UserId(7)), d),
            Err(HandoffError::Finished)
        );
        assert_eq!(
            check_complete(&actor(8, 3), Acknowledged, Some(UserId(7)), d),
            Err(HandoffError::NotReceiver)
        );
    }

    #[test]
    fn overdue_is_pending_past_due() {
        let due = Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap();
        let later = due + Duration::seconds(1);
        assert!(is_overdue(HandoffStatus::Open, due, later));
        assert!(is_overdue(HandoffStatus::Acknowledged, due, later));
        assert!(!is_overdue(HandoffStatus::Completed, due, later));
        assert!(!is_overdue(HandoffStatus::Open, due, due));
    }

    #[test]
    fn the_project_team_member_receives_first() {
        assert_eq!(pick_receiver(&[]), None);
        assert_eq!(
            pick_receiver(&[(UserId(9), false), (UserId(4), false)]),
            Some(UserId(4))
        );
        assert_eq!(
            pick_receiver(&[(UserId(4), false), (UserId(9), true)]),
            Some(UserId(9))
        );
    }
}

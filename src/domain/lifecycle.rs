//! The assessment lifecycle:
//! `draft → sent → in_progress → submitted → in_review ⇄ clarification_requested → completed`,
//! plus `cancelled` and `expired`. Every allowed move is listed in [`Status::apply`]; anything else
//! is rejected with a message that says why.

use serde::Serialize;

use super::string_enum;

string_enum! {
    /// Where an assessment stands.
    pub enum Status ("assessment status") {
        Draft => "draft",
        /// Sent to the vendor; nobody has answered yet.
        Sent => "sent",
        /// The vendor has saved at least one answer.
        InProgress => "in_progress",
        /// The vendor submitted; no analyst has started the review.
        Submitted => "submitted",
        InReview => "in_review",
        /// The analyst asked the vendor about some answers.
        ClarificationRequested => "clarification_requested",
        Completed => "completed",
        Cancelled => "cancelled",
        /// The vendor did not submit in time.
        Expired => "expired",
    }
}

/// Something that moves an assessment from one status to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Send,
    /// The vendor saved an answer.
    StartAnswering,
    Submit,
    StartReview,
    RequestClarification,
    /// The vendor answered the clarification requests and submitted again.
    AnswerClarifications,
    Complete,
    Reopen,
    Cancel,
    Expire,
}

/// Whom an open assessment waits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitingOn {
    Vendor,
    Analyst,
    Nobody,
}

impl Status {
    /// Returns the status after `action`.
    ///
    /// # Errors
    /// Returns a message for an action the current status does not allow.
    pub fn apply(self, action: Action) -> Result<Status, String> {
        use Action as A;
        use Status as S;
        let next = match (self, action) {
            (S::Draft, A::Send) => S::Sent,
            (S::Sent, A::StartAnswering) => S::InProgress,
            (S::Sent | S::InProgress, A::Submit) => S::Submitted,
            (S::Submitted, A::StartReview) => S::InReview,
            (S::InReview, A::RequestClarification) => S::ClarificationRequested,
            (S::ClarificationRequested, A::AnswerClarifications) => S::InReview,
            (S::InReview, A::Complete) => S::Completed,
            (S::Completed, A::Reopen) => S::InReview,
            (
                S::Draft
                | S::Sent
                | S::InProgress
                | S::Submitted
                | S::InReview
                | S::ClarificationRequested,
                A::Cancel,
            ) => S::Cancelled,
            (S::Sent | S::InProgress | S::ClarificationRequested, A::Expire) => S::Expired,
            (status, action) => {
                return Err(format!(
                    "An assessment that is {} cannot be {}.",
                    status.label().to_lowercase(),
                    action.past_tense()
                ));
            }
        };
        Ok(next)
    }

    /// Returns whether the vendor may still change answers.
    pub fn vendor_can_edit(self) -> bool {
        matches!(self, Status::Sent | Status::InProgress)
    }

    /// Returns whether no further work is expected.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            Status::Completed | Status::Cancelled | Status::Expired
        )
    }

    pub fn waiting_on(self) -> WaitingOn {
        match self {
            Status::Sent | Status::InProgress | Status::ClarificationRequested => WaitingOn::Vendor,
            Status::Submitted | Status::InReview => WaitingOn::Analyst,
            Status::Draft => WaitingOn::Nobody,
            Status::Completed | Status::Cancelled | Status::Expired => WaitingOn::Nobody,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Draft => "Draft",
            Status::Sent => "Sent",
            Status::InProgress => "In progress",
            Status::Submitted => "Submitted",
            Status::InReview => "In review",
            Status::ClarificationRequested => "Clarification requested",
            Status::Completed => "Completed",
            Status::Cancelled => "Cancelled",
            Status::Expired => "Expired",
        }
    }
}

impl Action {
    fn past_tense(self) -> &'static str {
        match self {
            Action::Send => "sent",
            Action::StartAnswering => "answered",
            Action::Submit => "submitted",
            Action::StartReview => "reviewed",
            Action::RequestClarification => "sent back for clarification",
            Action::AnswerClarifications => "resubmitted",
            Action::Complete => "completed",
            Action::Reopen => "reopened",
            Action::Cancel => "cancelled",
            Action::Expire => "expired",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_path_with_clarification_round() {
        let mut status = Status::Draft;
        for action in [
            Action::Send,
            Action::StartAnswering,
            Action::Submit,
            Action::StartReview,
            Action::RequestClarification,
            Action::AnswerClarifications,
            Action::Complete,
        ] {
            status = status.apply(action).unwrap();
        }
        assert_eq!(status, Status::Completed);
    }

    #[test]
    fn closed_assessments_reject_vendor_actions() {
        for status in [Status::Completed, Status::Cancelled, Status::Expired] {
            assert!(status.apply(Action::Submit).is_err(), "{status:?}");
            assert!(status.apply(Action::Cancel).is_err(), "{status:?}");
            assert!(!status.vendor_can_edit());
        }
    }

    #[test]
    fn invalid_move_explains_itself() {
        let message = Status::Submitted.apply(Action::Complete).unwrap_err();
        assert_eq!(
            message,
            "An assessment that is submitted cannot be completed."
        );
    }

    #[test]
    fn waiting_on_follows_status() {
        assert_eq!(
            Status::ClarificationRequested.waiting_on(),
            WaitingOn::Vendor
        );
        assert_eq!(Status::Submitted.waiting_on(), WaitingOn::Analyst);
        assert_eq!(Status::Completed.waiting_on(), WaitingOn::Nobody);
    }
}

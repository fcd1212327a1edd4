//! Risk register vocabulary: statuses and treatments.

use super::string_enum;

string_enum! {
    /// Where a risk stands.
    pub enum RiskStatus ("risk status") {
        Open => "open",
        /// A treatment is being carried out.
        InTreatment => "in_treatment",
        /// Accepted by an approver, possibly until an exception expires.
        Accepted => "accepted",
        Closed => "closed",
    }
}

string_enum! {
    /// How a risk is handled.
    pub enum Treatment ("treatment") {
        /// Reduce it, for example by asking the vendor to fix a control.
        Mitigate => "mitigate",
        /// Live with it, with an approver's rationale.
        Accept => "accept",
        /// Shift it, for example to insurance or a contract clause.
        Transfer => "transfer",
        /// Stop the activity that causes it.
        Avoid => "avoid",
    }
}

impl RiskStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::InTreatment => "In treatment",
            Self::Accepted => "Accepted",
            Self::Closed => "Closed",
        }
    }
}

impl Treatment {
    pub fn label(self) -> &'static str {
        match self {
            Self::Mitigate => "Mitigate",
            Self::Accept => "Accept",
            Self::Transfer => "Transfer",
            Self::Avoid => "Avoid",
        }
    }

    /// Returns whether this treatment needs an approver's rationale.
    pub fn needs_approval(self) -> bool {
        self == Self::Accept
    }
}

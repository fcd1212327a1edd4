//! Staff roles and what each may do.

use super::string_enum;

string_enum! {
    /// The role of a staff account within its tenant.
    pub enum Role ("role") {
        /// Manages users, roles, API tokens and the questionnaire library; may do everything.
        Admin => "admin",
        /// Registers vendors and requests assessments.
        Procurement => "procurement",
        /// Reviews answers and evidence and manages risks.
        Analyst => "analyst",
        /// Reads dashboards, vendors and the register.
        Viewer => "viewer",
    }
}

/// An action that only some roles may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Create, edit, import, archive vendors and their contacts.
    ManageVendors,
    /// Override a vendor's tier (with a rationale).
    OverrideTier,
    /// Invite and deactivate users, manage API tokens and questionnaires.
    Administer,
    /// Send assessments, resend or revoke vendor links, cancel assessments.
    SendAssessments,
    /// Review answers and evidence, request clarification, complete reviews.
    Review,
    /// Edit entries of the risk register.
    ManageRisks,
}

impl Role {
    /// Returns whether this role may take `permission`. Every role may read.
    pub fn allows(self, permission: Permission) -> bool {
        match permission {
            Permission::ManageVendors => {
                matches!(self, Role::Admin | Role::Procurement | Role::Analyst)
            }
            Permission::OverrideTier => {
                matches!(self, Role::Admin | Role::Analyst | Role::Procurement)
            }
            Permission::Administer => self == Role::Admin,
            Permission::SendAssessments => {
                matches!(self, Role::Admin | Role::Procurement | Role::Analyst)
            }
            Permission::Review | Permission::ManageRisks => {
                matches!(self, Role::Admin | Role::Analyst)
            }
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Administrator",
            Role::Procurement => "Procurement",
            Role::Analyst => "Risk analyst",
            Role::Viewer => "Viewer",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewer_may_not_change_anything() {
        for permission in [
            Permission::ManageVendors,
            Permission::OverrideTier,
            Permission::Administer,
        ] {
            assert!(!Role::Viewer.allows(permission), "{permission:?}");
        }
    }

    #[test]
    fn only_admin_administers() {
        assert!(Role::Admin.allows(Permission::Administer));
        assert!(!Role::Procurement.allows(Permission::Administer));
        assert!(!Role::Analyst.allows(Permission::Administer));
    }

    #[test]
    fn procurement_sends_but_does_not_review() {
        assert!(Role::Procurement.allows(Permission::SendAssessments));
        assert!(!Role::Procurement.allows(Permission::Review));
        assert!(Role::Analyst.allows(Permission::Review));
        assert!(Role::Analyst.allows(Permission::ManageRisks));
    }

    #[test]
    fn role_parses_any_case() {
        assert_eq!("Procurement".parse::<Role>().unwrap(), Role::Procurement);
        let message = "owner".parse::<Role>().unwrap_err();
        assert!(
            message.contains("admin, procurement, analyst, viewer"),
            "{message}"
        );
    }
}

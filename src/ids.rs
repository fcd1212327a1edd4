//! Typed identifiers. Public ids are random UUIDs, never row numbers, and each kind of id has its
//! own type so that a vendor id cannot be passed where a tenant id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// Creates a new random id.
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(value: Uuid) -> Self {
                Self(value)
            }
        }

        impl From<$name> for Uuid {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl From<$name> for sea_orm::Value {
            fn from(value: $name) -> Self {
                sea_orm::Value::from(value.0)
            }
        }
    };
}

typed_id!(
    /// One customer organization. Every row of customer data carries one.
    TenantId
);
typed_id!(
    /// A staff account within one tenant.
    UserId
);
typed_id!(
    /// A supplier being assessed.
    VendorId
);
typed_id!(
    /// A person at a vendor who receives questionnaires.
    ContactId
);
typed_id!(
    /// A bearer token for the JSON API.
    ApiTokenId
);
typed_id!(
    /// A questionnaire uploaded by a tenant.
    QuestionnaireId
);
typed_id!(
    /// One questionnaire sent to one vendor.
    AssessmentId
);
typed_id!(
    /// An uploaded evidence file.
    EvidenceId
);
typed_id!(
    /// A clarification request on one question.
    ClarificationId
);
typed_id!(
    /// An entry of the risk register.
    RiskId
);
typed_id!(
    /// One e-mailed access link of a vendor contact.
    LinkId
);

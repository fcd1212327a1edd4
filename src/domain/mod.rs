//! Pure rules of the portal: no HTTP and no SQL. Routes parse input into these types, call these
//! rules and hand the results to the store.

pub mod answers;
pub mod cycle_time;
pub mod email;
pub mod import;
pub mod lifecycle;
pub mod questionnaire;
pub mod reassessment;
pub mod risk;
pub mod role;
pub mod schedule;
pub mod scoring;
pub mod tracker;
pub mod vendor;

/// Declares an enum stored and sent as a lowercase string, with `as_str`, `ALL`, `FromStr`
/// (whose error lists the accepted values) and serde support.
macro_rules! string_enum {
    (
        $(#[$doc:meta])*
        pub enum $name:ident ($what:literal) {
            $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                let normalized = value.trim().to_lowercase().replace([' ', '-'], "_");
                match normalized.as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "{:?} is not a valid {}; use one of: {}",
                        value,
                        $what,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

pub(crate) use string_enum;

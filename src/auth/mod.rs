//! Passwords, sessions, API tokens, CSRF and the extractors that resolve the caller.

pub mod extract;
pub mod password;
pub mod token;

pub use extract::{ApiClient, Member, StaffForm};

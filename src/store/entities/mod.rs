//! sea-orm entities, one per table, kept apart from the hand-written query functions in
//! `src/store/`. Columns mirror `migrations/`.

pub mod api_token;
pub mod audit_event;
pub mod questionnaire;
pub mod session;
pub mod setup_token;
pub mod tenant;
pub mod user;
pub mod user_token;
pub mod vendor;
pub mod vendor_contact;

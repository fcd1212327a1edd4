//! sea-orm entities, one per table, kept apart from the hand-written query functions in
//! `src/store/`. Columns mirror `migrations/`.

pub mod access_link;
pub mod answer;
pub mod api_token;
pub mod assessment;
pub mod assessment_event;
pub mod audit_event;
pub mod clarification;
pub mod evidence;
pub mod job;
pub mod questionnaire;
pub mod risk;
pub mod score_override;
pub mod session;
pub mod setup_token;
pub mod tenant;
pub mod tenant_setting;
pub mod user;
pub mod user_token;
pub mod vendor;
pub mod vendor_contact;

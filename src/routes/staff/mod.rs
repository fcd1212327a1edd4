//! Staff pages, by resource.

mod admin;
pub mod assessments;
mod home;
pub mod metrics;
mod questionnaires;
pub mod risks;
pub mod settings;
pub mod tracker;
mod vendor_import;
pub mod vendors;

pub use vendors::ListQuery;

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(home::router())
        .merge(assessments::router())
        .merge(vendors::router())
        .merge(vendor_import::router())
        .merge(questionnaires::router())
        .merge(risks::router())
        .merge(admin::router())
        .merge(settings::router())
        .merge(tracker::router())
        .merge(metrics::router())
}

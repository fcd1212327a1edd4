//! Staff pages, by resource.

mod admin;
mod home;
mod questionnaires;
mod vendor_import;
mod vendors;

pub use vendors::ListQuery;

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(home::router())
        .merge(vendors::router())
        .merge(vendor_import::router())
        .merge(questionnaires::router())
        .merge(admin::router())
}

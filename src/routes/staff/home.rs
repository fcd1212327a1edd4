//! The start page after sign-in.

use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use minijinja::context;

use crate::app::AppState;
use crate::auth::Member;
use crate::error::AppError;
use crate::routes::pages::render;
use crate::store::vendors;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

async fn home(State(state): State<AppState>, member: Member) -> Result<Html<String>, AppError> {
    let counts = vendors::count_by_tier(state.db().reader(), member.tenant_id).await?;
    let total: i64 = counts.iter().map(|(_, count)| count).sum();
    let tiers: Vec<_> = counts
        .iter()
        .map(|(tier, count)| context! { tier => tier.as_str(), label => tier.label(), count => count })
        .collect();
    render(
        &state,
        Some(&member),
        "pages/home.html",
        context! { tiers => tiers, total => total },
    )
}

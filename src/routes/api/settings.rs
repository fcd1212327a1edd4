//! `/api/v1/settings/schedule`: the tenant's schedule settings.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::ApiJson;
use crate::app::AppState;
use crate::auth::ApiClient;
use crate::domain::role::Permission;
use crate::domain::schedule::ScheduleSettings;
use crate::error::AppError;
use crate::routes::staff::settings;

pub fn router() -> Router<AppState> {
    Router::new().route("/settings/schedule", get(show).put(update))
}

#[derive(Serialize)]
struct Body {
    data: ScheduleSettings,
}

async fn show(State(state): State<AppState>, client: ApiClient) -> Result<Json<Body>, AppError> {
    let data = crate::store::settings::load(state.db().reader(), client.tenant_id).await?;
    Ok(Json(Body { data }))
}

async fn update(
    State(state): State<AppState>,
    client: ApiClient,
    ApiJson(new): ApiJson<ScheduleSettings>,
) -> Result<Json<Body>, AppError> {
    client.require(Permission::Administer)?;
    let data = settings::save(&state, client.tenant_id, &client.actor(), new).await?;
    Ok(Json(Body { data }))
}

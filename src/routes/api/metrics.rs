//! `/api/v1/metrics/cycle-time`: the cycle-time dashboard's figures as JSON.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::app::AppState;
use crate::auth::ApiClient;
use crate::domain::cycle_time::Report;
use crate::error::AppError;
use crate::routes::QueryParams;
use crate::routes::staff::metrics::{PeriodQuery, report};

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics/cycle-time", get(cycle_time))
}

#[derive(Serialize)]
struct Response {
    data: Report,
}

async fn cycle_time(
    State(state): State<AppState>,
    client: ApiClient,
    QueryParams(query): QueryParams<PeriodQuery>,
) -> Result<Json<Response>, AppError> {
    let data = report(&state, client.tenant_id, &query).await?;
    Ok(Json(Response { data }))
}

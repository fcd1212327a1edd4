//! `/api/v1/risks`: the risk register as JSON, or as CSV with `Accept: text/csv`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::app::AppState;
use crate::auth::ApiClient;
use crate::error::AppError;
use crate::ids::RiskId;
use crate::routes::QueryParams;
use crate::routes::parse_path_id;
use crate::routes::staff::risks::{RiskQuery, all_matching, csv_response, to_csv};
use crate::store::risks::{self, Risk};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/risks", get(list))
        .route("/risks/{id}", get(show))
}

#[derive(Serialize)]
struct ListResponse {
    data: Vec<Risk>,
    /// Pass as `after` to get the next page; absent on the last page.
    next: Option<String>,
}

fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("text/csv"))
}

async fn list(
    State(state): State<AppState>,
    client: ApiClient,
    headers: HeaderMap,
    QueryParams(query): QueryParams<RiskQuery>,
) -> Result<Response, AppError> {
    let (filter, after) = query.parse()?;
    if wants_csv(&headers) {
        let items = all_matching(&state, client.tenant_id, &filter).await?;
        return Ok(csv_response(to_csv(&items)?));
    }
    let page = risks::list(
        state.db().reader(),
        client.tenant_id,
        &filter,
        after,
        query.limit.unwrap_or(100),
    )
    .await?;
    Ok(Json(ListResponse {
        data: page.items,
        next: page.next,
    })
    .into_response())
}

async fn show(
    State(state): State<AppState>,
    client: ApiClient,
    Path(id): Path<String>,
) -> Result<Json<Risk>, AppError> {
    let id: RiskId = parse_path_id(&id)?;
    Ok(Json(
        risks::get(state.db().reader(), client.tenant_id, id)
            .await?
            .ok_or(AppError::NotFound)?,
    ))
}

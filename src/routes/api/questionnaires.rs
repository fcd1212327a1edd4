//! `/api/v1/questionnaires`: the tenant's questionnaire library.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::ApiClient;
use crate::domain::questionnaire::Questionnaire;
use crate::domain::vendor::Tier;
use crate::error::AppError;
use crate::routes::QueryParams;
use crate::store::questionnaires::{self, Origin};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/questionnaires", get(list))
        .route("/questionnaires/{key}", get(show))
}

#[derive(Serialize)]
struct Summary {
    key: String,
    /// The newest version.
    version: u32,
    /// Every version, newest first.
    versions: Vec<u32>,
    title: String,
    question_count: usize,
    tiers: Vec<Tier>,
    origin: Origin,
}

#[derive(Serialize)]
struct ListResponse {
    data: Vec<Summary>,
}

async fn list(
    State(state): State<AppState>,
    client: ApiClient,
) -> Result<Json<ListResponse>, AppError> {
    let entries = questionnaires::library(state.db().reader(), client.tenant_id).await?;
    let mut data: Vec<Summary> = Vec::new();
    // Entries come sorted by key and then newest version first.
    for entry in entries {
        let questionnaire = entry.questionnaire;
        if let Some(summary) = data
            .last_mut()
            .filter(|summary| summary.key == questionnaire.key)
        {
            summary.versions.push(questionnaire.version);
            continue;
        }
        data.push(Summary {
            key: questionnaire.key.clone(),
            version: questionnaire.version,
            versions: vec![questionnaire.version],
            title: questionnaire.title.clone(),
            question_count: questionnaire.question_count(),
            tiers: questionnaire.tiers.clone(),
            origin: entry.origin,
        });
    }
    Ok(Json(ListResponse { data }))
}

#[derive(Deserialize)]
struct ShowQuery {
    version: Option<u32>,
}

#[derive(Serialize)]
struct ShowResponse {
    #[serde(flatten)]
    questionnaire: Questionnaire,
    origin: Origin,
}

async fn show(
    State(state): State<AppState>,
    client: ApiClient,
    Path(key): Path<String>,
    QueryParams(query): QueryParams<ShowQuery>,
) -> Result<Json<ShowResponse>, AppError> {
    let entry = questionnaires::find(state.db().reader(), client.tenant_id, &key, query.version)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(ShowResponse {
        questionnaire: entry.questionnaire,
        origin: entry.origin,
    }))
}

//! Procurement's tracker lists every open assessment with whom it waits on, how long it has been
//! in its current stage, its due date and its progress. The list is filtered, sorted and paged,
//! and it downloads as CSV.

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono_tz::Tz;
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::Member;
use crate::domain::answers::{self, Progress};
use crate::domain::cycle_time::local_date;
use crate::domain::lifecycle::{Status, WaitingOn};
use crate::domain::tracker::{self, Cursor, Filter, Row, Sort, SortKey};
use crate::domain::vendor::Tier;
use crate::error::{AppError, FieldErrors};
use crate::ids::{QuestionnaireId, TenantId};
use crate::routes::QueryParams;
use crate::routes::pages::{render, urlencode};
use crate::store::assessments::{answers as stored_answers, review};
use crate::store::{metrics, settings, users};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tracker", get(list))
        .route("/tracker.csv", get(export))
}

/// Rows per tracker page when the query sets no `limit`.
const PAGE_SIZE: usize = 50;
/// Maximum rows per tracker page.
const MAX_PAGE_SIZE: usize = 500;

/// The tracker's query string, shared with its CSV export.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct TrackerQuery {
    pub status: Option<String>,
    pub tier: Option<String>,
    pub waiting_on: Option<String>,
    pub overdue: Option<String>,
    pub owner_id: Option<String>,
    pub sort: Option<String>,
    pub after: Option<String>,
    /// Rows per page, 1 to [`MAX_PAGE_SIZE`]; [`PAGE_SIZE`] by default.
    pub limit: Option<String>,
}

fn present(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

impl TrackerQuery {
    /// Parses the filters, the sort order and the page position.
    ///
    /// # Errors
    /// [`AppError::Invalid`] naming each bad value and what to use instead.
    pub fn parse(&self) -> Result<(Filter, Sort, Option<Cursor>, usize), AppError> {
        let mut errors = FieldErrors::default();
        let mut filter = Filter::default();
        if let Some(value) = present(&self.status) {
            let open: Vec<&str> = Status::ALL
                .iter()
                .filter(|status| !status.is_closed())
                .map(|status| status.as_str())
                .collect();
            filter.status = match value.parse::<Status>() {
                Ok(status) if !status.is_closed() => Some(status),
                Ok(_) => {
                    errors.add(
                        "status",
                        format!("The tracker lists open assessments only, and {value:?} is a closed status; use the assessments list for closed ones."),
                    );
                    None
                }
                Err(_) => {
                    errors.add(
                        "status",
                        format!(
                            "{value:?} is not an open assessment status; use one of: {}.",
                            open.join(", ")
                        ),
                    );
                    None
                }
            };
        }
        if let Some(value) = present(&self.tier) {
            filter.tier = value
                .parse::<Tier>()
                .map_err(|message| errors.add("tier", message))
                .ok();
        }
        if let Some(value) = present(&self.waiting_on) {
            filter.waiting_on = match value {
                "vendor" => Some(WaitingOn::Vendor),
                "analyst" => Some(WaitingOn::Analyst),
                "nobody" => Some(WaitingOn::Nobody),
                other => {
                    errors.add(
                        "waiting_on",
                        format!(
                            "{other:?} is not a side to wait on; use vendor, analyst or nobody."
                        ),
                    );
                    None
                }
            };
        }
        if let Some(value) = present(&self.overdue) {
            filter.overdue = match value {
                "yes" | "true" => Some(true),
                "no" | "false" => Some(false),
                other => {
                    errors.add(
                        "overdue",
                        format!("{other:?} is not a choice for overdue; use yes or no."),
                    );
                    None
                }
            };
        }
        if let Some(value) = present(&self.owner_id) {
            filter.owner = if value == "none" {
                Some(None)
            } else {
                value
                    .parse::<Uuid>()
                    .map(|id| Some(Some(id)))
                    .map_err(|_| {
                        errors.add(
                            "owner_id",
                            format!("{value:?} is not a user id; use a user's id or \"none\"."),
                        )
                    })
                    .ok()
                    .flatten()
            };
        }
        let sort = match present(&self.sort) {
            None => Sort::default(),
            Some(value) => SortKey::parse(value)
                .map_err(|message| errors.add("sort", message))
                .unwrap_or_default(),
        };
        let after = present(&self.after).and_then(|value| {
            let cursor = Cursor::decode(value).filter(|cursor| cursor.sort == sort.param());
            if cursor.is_none() {
                errors.add(
                    "after",
                    format!("{value:?} is not a page position of this sort order; open the tracker's first page and follow its \"Next page\" link."),
                );
            }
            cursor
        });
        let limit = match present(&self.limit) {
            None => PAGE_SIZE,
            Some(value) => value
                .parse::<usize>()
                .ok()
                .filter(|limit| (1..=MAX_PAGE_SIZE).contains(limit))
                .unwrap_or_else(|| {
                    errors.add(
                        "limit",
                        format!("{value:?} is not a page size; use a whole number from 1 to {MAX_PAGE_SIZE}."),
                    );
                    PAGE_SIZE
                }),
        };
        errors.into_result()?;
        Ok((filter, sort, after, limit))
    }

    /// Builds the query string with the same filters, a given sort and page position.
    fn with(&self, sort: Option<String>, after: Option<String>) -> String {
        [
            ("status", self.status.clone()),
            ("tier", self.tier.clone()),
            ("waiting_on", self.waiting_on.clone()),
            ("overdue", self.overdue.clone()),
            ("owner_id", self.owner_id.clone()),
            ("sort", sort),
            ("limit", self.limit.clone()),
            ("after", after),
        ]
        .into_iter()
        .filter_map(|(name, value)| {
            value
                .filter(|value| !value.is_empty())
                .map(|value| format!("{name}={}", urlencode(&value)))
        })
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// Loads the tenant's open assessments as tracker rows, with ages counted to today in the
/// tenant's time zone.
///
/// # Errors
/// Fails when a query fails.
pub async fn rows(state: &AppState, tenant: TenantId) -> Result<(Vec<Row>, Tz), AppError> {
    let zone = settings::load(state.db().reader(), tenant).await?.time_zone;
    let today = local_date(state.clock().now(), zone);
    let rows = metrics::open_rows(state.db().reader(), tenant, zone, today).await?;
    Ok((rows, zone))
}

/// Computes the progress of each row as the vendor's page shows it.
///
/// # Errors
/// Fails when a query fails or a questionnaire cannot be loaded.
pub async fn progress(
    state: &AppState,
    tenant: TenantId,
    rows: &[Row],
) -> Result<HashMap<Uuid, Progress>, AppError> {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let mut stored = stored_answers::load_many(state.db().reader(), tenant, &ids).await?;
    let mut figures = HashMap::with_capacity(rows.len());
    for row in rows {
        let questionnaire = state
            .questionnaire(tenant, QuestionnaireId(row.questionnaire_id))
            .await?;
        let answers_of = stored.remove(&row.id).unwrap_or_default();
        let values = review::parse_answers(&questionnaire, &answers_of);
        let carried = stored_answers::carried_over(&answers_of);
        figures.insert(row.id, answers::progress(&questionnaire, &values, &carried));
    }
    Ok(figures)
}

fn waiting_label(side: WaitingOn) -> &'static str {
    match side {
        WaitingOn::Vendor => "Vendor",
        WaitingOn::Analyst => "Analyst",
        WaitingOn::Nobody => "Approval",
    }
}

/// Returns the value of `waiting_on` in filters, the CSV export and the API.
fn waiting_value(side: WaitingOn) -> &'static str {
    match side {
        WaitingOn::Vendor => "vendor",
        WaitingOn::Analyst => "analyst",
        WaitingOn::Nobody => "nobody",
    }
}

fn row_view(row: &Row, progress: Option<&Progress>) -> Value {
    context! {
        id => row.id,
        vendor_id => row.vendor_id,
        vendor_name => row.vendor_name,
        tier => row.tier.as_str(),
        tier_label => row.tier.label(),
        questionnaire => format!("{} v{}", row.questionnaire_key, row.questionnaire_version),
        status_label => row.status.label(),
        waiting_on => waiting_label(row.waiting_on),
        days_in_stage => row.days_in_stage,
        stage_started_at => row.stage_started_at,
        due_on => row.due_on,
        overdue => row.is_overdue(),
        days_overdue => row.days_overdue,
        answered => progress.map(|progress| progress.answered),
        shown => progress.map(|progress| progress.shown),
        last_vendor_activity_at => row.last_vendor_activity_at,
        owner_name => row.owner_name,
    }
}

async fn list(
    State(state): State<AppState>,
    member: Member,
    QueryParams(query): QueryParams<TrackerQuery>,
) -> Result<Response, AppError> {
    let (filter, sort, after, limit) = query.parse()?;
    let (all, zone) = rows(&state, member.tenant_id).await?;
    let page = tracker::page(all, &filter, sort, after.as_ref(), limit);
    let figures = progress(&state, member.tenant_id, &page.rows).await?;
    let items: Vec<Value> = page
        .rows
        .iter()
        .map(|row| row_view(row, figures.get(&row.id)))
        .collect();
    let current = sort.param();
    // Each column header links to its ascending order, or to descending when it is the
    // current ascending order.
    let sort_links: HashMap<&str, Value> = SortKey::ALL
        .iter()
        .map(|(key, name)| {
            let target = if sort.key == *key && !sort.descending {
                format!("-{name}")
            } else {
                (*name).to_owned()
            };
            let state = if sort.key == *key {
                if sort.descending { "descending" } else { "ascending" }
            } else {
                "none"
            };
            (
                *name,
                context! { url => format!("/tracker?{}", query.with(Some(target), None)), state => state },
            )
        })
        .collect();
    let members = users::list(state.db().reader(), member.tenant_id).await?;
    let html = render(
        &state,
        Some(&member),
        "pages/tracker/list.html",
        context! {
            items => items,
            total => page.total,
            time_zone => zone.name(),
            next_url => page.next.map(|next| format!("/tracker?{}", query.with(Some(current.clone()), Some(next.encode())))),
            first_url => after.map(|_| format!("/tracker?{}", query.with(Some(current.clone()), None))),
            csv_url => format!("/tracker.csv?{}", query.with(Some(current.clone()), None)),
            sort_links => sort_links,
            query => query,
            choices => context! {
                statuses => Status::ALL.iter().filter(|status| !status.is_closed()).map(|status| context! { value => status.as_str(), label => status.label() }).collect::<Vec<_>>(),
                tiers => Tier::ALL.iter().map(|tier| context! { value => tier.as_str(), label => tier.label() }).collect::<Vec<_>>(),
                owners => members.iter().map(|member| context! { value => member.id, label => member.name }).collect::<Vec<_>>(),
            },
        },
    )?;
    Ok(html.into_response())
}

/// Columns of the tracker's CSV export.
const CSV_COLUMNS: [&str; 16] = [
    "assessment_id",
    "vendor",
    "tier",
    "questionnaire",
    "status",
    "waiting_on",
    "days_in_stage",
    "stage_started_at",
    "due_on",
    "overdue",
    "days_overdue",
    "answered",
    "shown",
    "last_vendor_activity_at",
    "owner",
    "vendor_id",
];

async fn export(
    State(state): State<AppState>,
    member: Member,
    QueryParams(query): QueryParams<TrackerQuery>,
) -> Result<Response, AppError> {
    let (filter, sort, _, _) = query.parse()?;
    let (all, _) = rows(&state, member.tenant_id).await?;
    let page = tracker::page(all, &filter, sort, None, usize::MAX);
    let figures = progress(&state, member.tenant_id, &page.rows).await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let internal = |error: csv::Error| AppError::Internal(error.into());
    writer.write_record(CSV_COLUMNS).map_err(internal)?;
    for row in &page.rows {
        let progress = figures.get(&row.id);
        writer
            .write_record([
                row.id.to_string(),
                row.vendor_name.clone(),
                row.tier.as_str().to_owned(),
                format!("{} v{}", row.questionnaire_key, row.questionnaire_version),
                row.status.as_str().to_owned(),
                waiting_value(row.waiting_on).to_owned(),
                row.days_in_stage.to_string(),
                row.stage_started_at.to_rfc3339(),
                row.due_on.to_string(),
                if row.is_overdue() { "yes" } else { "no" }.to_owned(),
                row.days_overdue.to_string(),
                progress.map_or(String::new(), |progress| progress.answered.to_string()),
                progress.map_or(String::new(), |progress| progress.shown.to_string()),
                row.last_vendor_activity_at
                    .map(|at| at.to_rfc3339())
                    .unwrap_or_default(),
                row.owner_name.clone().unwrap_or_default(),
                row.vendor_id.to_string(),
            ])
            .map_err(internal)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|error| AppError::Internal(anyhow::anyhow!("{error}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"assessment-tracker.csv\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

//! The risk register pages: the filtered list (also as CSV), and one entry with its trace and
//! the form that edits owner, treatment, due date, status and approval.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::NaiveDate;
use minijinja::{Value, context};
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::{Member, StaffForm};
use crate::domain::risk::{RiskStatus, Treatment};
use crate::domain::role::Permission;
use crate::domain::scoring::{RatingLevel, RiskRating};
use crate::error::{AppError, FieldErrors};
use crate::ids::{RiskId, TenantId, UserId};
use crate::routes::QueryParams;
use crate::routes::pages::{render, urlencode};
use crate::routes::parse_path_id;
use crate::store::audit;
use crate::store::risks::{self, Cursor, Risk, RiskFilter, RiskUpdate};
use crate::store::{StoreError, users, vendors};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/risks", get(list))
        .route("/risks.csv", get(export))
        .route("/risks/{id}", get(show).post(update))
}

/// Query of the register list, shared with `GET /api/v1/risks`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct RiskQuery {
    pub vendor_id: Option<String>,
    pub level: Option<String>,
    pub status: Option<String>,
    pub owner_id: Option<String>,
    pub after: Option<String>,
    pub limit: Option<u64>,
}

fn present(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

impl RiskQuery {
    /// Parses the filters and the page position.
    ///
    /// # Errors
    /// [`AppError::Invalid`] naming each bad value.
    pub fn parse(&self) -> Result<(RiskFilter, Option<Cursor>), AppError> {
        let mut errors = FieldErrors::default();
        let mut filter = RiskFilter::default();
        if let Some(value) = present(&self.vendor_id) {
            filter.vendor = value
                .parse()
                .map_err(|_| errors.add("vendor_id", format!("{value:?} is not a vendor id.")))
                .ok();
        }
        if let Some(value) = present(&self.level) {
            filter.level = RatingLevel::parse(value);
            if filter.level.is_none() {
                errors.add(
                    "level",
                    format!("{value:?} is not a rating level; use low, medium, high or critical."),
                );
            }
        }
        if let Some(value) = present(&self.status) {
            filter.status = value
                .parse()
                .map_err(|message| errors.add("status", message))
                .ok();
        }
        if let Some(value) = present(&self.owner_id) {
            filter.owner = value
                .parse()
                .map_err(|_| errors.add("owner_id", format!("{value:?} is not a user id.")))
                .ok();
        }
        let cursor = match present(&self.after) {
            None => None,
            Some(value) => {
                let cursor = Cursor::decode(value);
                if cursor.is_none() {
                    errors.add(
                        "after",
                        format!("{value:?} is not a page position from a previous response."),
                    );
                }
                cursor
            }
        };
        errors.into_result()?;
        Ok((filter, cursor))
    }

    /// Returns the list's address with the same filters, starting after `after` or at the top.
    fn page_link(&self, after: Option<&str>) -> String {
        let pairs: Vec<String> = [
            ("vendor_id", self.vendor_id.clone()),
            ("level", self.level.clone()),
            ("status", self.status.clone()),
            ("owner_id", self.owner_id.clone()),
            ("after", after.map(str::to_owned)),
        ]
        .into_iter()
        .filter_map(|(name, value)| {
            value
                .filter(|value| !value.is_empty())
                .map(|value| format!("{name}={}", urlencode(&value)))
        })
        .collect();
        format!("/risks?{}", pairs.join("&"))
    }

    fn csv_link(&self) -> String {
        let pairs: Vec<String> = [
            ("vendor_id", self.vendor_id.clone()),
            ("level", self.level.clone()),
            ("status", self.status.clone()),
            ("owner_id", self.owner_id.clone()),
        ]
        .into_iter()
        .filter_map(|(name, value)| {
            value
                .filter(|value| !value.is_empty())
                .map(|value| format!("{name}={}", urlencode(&value)))
        })
        .collect();
        format!("/risks.csv?{}", pairs.join("&"))
    }
}

/// Page size of the register list.
const PAGE_SIZE: u64 = 50;

async fn choices(state: &AppState, tenant: TenantId) -> Result<Value, AppError> {
    let vendors = vendors::list(
        state.db().reader(),
        tenant,
        &vendors::VendorFilter {
            status: vendors::StatusFilter::All,
            ..Default::default()
        },
        Default::default(),
        1,
        200,
    )
    .await?;
    let members = users::list(state.db().reader(), tenant).await?;
    Ok(context! {
        vendors => vendors.items.iter().map(|vendor| context! { value => vendor.id, label => vendor.name }).collect::<Vec<_>>(),
        owners => members.iter().map(|member| context! { value => member.id, label => member.name }).collect::<Vec<_>>(),
        statuses => RiskStatus::ALL.iter().map(|status| context! { value => status.as_str(), label => status.label() }).collect::<Vec<_>>(),
        treatments => Treatment::ALL.iter().map(|treatment| context! { value => treatment.as_str(), label => treatment.label() }).collect::<Vec<_>>(),
        levels => ["critical", "high", "medium", "low"],
    })
}

async fn list(
    State(state): State<AppState>,
    member: Member,
    QueryParams(query): QueryParams<RiskQuery>,
) -> Result<Response, AppError> {
    let (filter, after) = query.parse()?;
    let page = risks::list(
        state.db().reader(),
        member.tenant_id,
        &filter,
        after,
        PAGE_SIZE,
    )
    .await?;
    let html = render(
        &state,
        Some(&member),
        "pages/risks/list.html",
        context! {
            risks => page.items,
            next_url => page.next.as_deref().map(|next| query.page_link(Some(next))),
            first_url => after.map(|_| query.page_link(None)),
            csv_url => query.csv_link(),
            query => query,
            choices => choices(&state, member.tenant_id).await?,
        },
    )?;
    Ok(html.into_response())
}

/// Renders entries as CSV, with the header row.
pub fn to_csv(items: &[Risk]) -> Result<String, AppError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(risks::CSV_COLUMNS)
        .map_err(|error| AppError::Internal(error.into()))?;
    for risk in items {
        writer
            .write_record(risks::csv_row(risk))
            .map_err(|error| AppError::Internal(error.into()))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|error| AppError::Internal(anyhow::anyhow!("{error}")))?;
    String::from_utf8(bytes).map_err(|error| AppError::Internal(error.into()))
}

/// Loads every entry that matches the filter, page by page.
///
/// # Errors
/// Fails when a query fails.
pub async fn all_matching(
    state: &AppState,
    tenant: TenantId,
    filter: &RiskFilter,
) -> Result<Vec<Risk>, AppError> {
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let page = risks::list(state.db().reader(), tenant, filter, after, 1000).await?;
        items.extend(page.items);
        match page.next.as_deref().and_then(Cursor::decode) {
            Some(next) => after = Some(next),
            None => return Ok(items),
        }
    }
}

/// Returns a CSV response with a download file name.
pub fn csv_response(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"risk-register.csv\"",
            ),
        ],
        body,
    )
        .into_response()
}

async fn export(
    State(state): State<AppState>,
    member: Member,
    QueryParams(query): QueryParams<RiskQuery>,
) -> Result<Response, AppError> {
    let (filter, _) = query.parse()?;
    let items = all_matching(&state, member.tenant_id, &filter).await?;
    Ok(csv_response(to_csv(&items)?))
}

async fn render_risk(
    state: &AppState,
    member: &Member,
    risk: &Risk,
    form: &RiskForm,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let history = audit::list_for_object(
        state.db().reader(),
        member.tenant_id,
        "risk",
        risk.id.0,
        100,
    )
    .await?;
    let html = render(
        state,
        Some(member),
        "pages/risks/show.html",
        context! {
            risk => risk,
            form => form,
            errors => errors,
            history => history,
            choices => choices(state, member.tenant_id).await?,
            can_edit => member.can(Permission::ManageRisks),
        },
    )?;
    Ok((status, html).into_response())
}

async fn show(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: RiskId = parse_path_id(&id)?;
    let risk = risks::get(state.db().reader(), member.tenant_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    render_risk(
        &state,
        &member,
        &risk,
        &RiskForm::from_risk(&risk),
        &FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// The edit form as posted.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct RiskForm {
    status: String,
    owner_id: String,
    treatment: String,
    due_on: String,
    compensating_controls: String,
    residual_likelihood: String,
    residual_impact: String,
    approval_rationale: String,
    exception_expires_on: String,
}

impl RiskForm {
    fn from_risk(risk: &Risk) -> Self {
        Self {
            status: risk.status.clone(),
            owner_id: risk
                .owner_user_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            treatment: risk.treatment.clone().unwrap_or_default(),
            due_on: risk.due_on.map(|date| date.to_string()).unwrap_or_default(),
            compensating_controls: risk.compensating_controls.clone().unwrap_or_default(),
            residual_likelihood: risk.residual_likelihood.to_string(),
            residual_impact: risk.residual_impact.to_string(),
            approval_rationale: risk.approval_rationale.clone().unwrap_or_default(),
            exception_expires_on: risk
                .exception_expires_on
                .map(|date| date.to_string())
                .unwrap_or_default(),
        }
    }

    fn parse(&self) -> Result<RiskUpdate, FieldErrors> {
        let mut errors = FieldErrors::default();
        let text = |value: &str| Some(value.trim().to_owned()).filter(|value| !value.is_empty());
        let date = |errors: &mut FieldErrors, field: &str, value: &str| -> Option<NaiveDate> {
            text(value).and_then(|value| {
                crate::domain::import::parse_date(&value)
                    .map_err(|message| errors.add(field, message))
                    .ok()
            })
        };
        let status = self
            .status
            .parse::<RiskStatus>()
            .map_err(|message| errors.add("status", message))
            .ok();
        let owner = text(&self.owner_id).and_then(|value| {
            value
                .parse::<UserId>()
                .map_err(|_| errors.add("owner_id", "Choose an owner from the list."))
                .ok()
        });
        let treatment = text(&self.treatment).and_then(|value| {
            value
                .parse::<Treatment>()
                .map_err(|message| errors.add("treatment", message))
                .ok()
        });
        let due_on = date(&mut errors, "due_on", &self.due_on);
        let exception_expires_on = date(
            &mut errors,
            "exception_expires_on",
            &self.exception_expires_on,
        );
        let figure = |errors: &mut FieldErrors, field: &str, value: &str| -> Option<u8> {
            value
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|value| (1..=5).contains(value))
                .or_else(|| {
                    errors.add(
                        field,
                        format!("{value:?} is not a whole number from 1 to 5."),
                    );
                    None
                })
        };
        let likelihood = figure(
            &mut errors,
            "residual_likelihood",
            &self.residual_likelihood,
        );
        let impact = figure(&mut errors, "residual_impact", &self.residual_impact);
        let approval_rationale = text(&self.approval_rationale);
        let accepting = treatment.is_some_and(Treatment::needs_approval)
            || status == Some(RiskStatus::Accepted);
        if accepting
            && approval_rationale
                .as_ref()
                .is_none_or(|rationale| rationale.chars().count() < 10)
        {
            errors.add(
                "approval_rationale",
                "Accepting a risk needs the approver's rationale in at least a sentence.",
            );
        }
        if exception_expires_on.is_some() && !accepting {
            errors.add(
                "exception_expires_on",
                "An exception expiry only applies to an accepted risk.",
            );
        }
        match (status, likelihood, impact, errors.is_empty()) {
            (Some(status), Some(likelihood), Some(impact), true) => Ok(RiskUpdate {
                status,
                owner,
                treatment,
                due_on,
                compensating_controls: text(&self.compensating_controls),
                residual: RiskRating::new(likelihood, impact).expect("checked above"),
                approval_rationale,
                exception_expires_on,
            }),
            _ => Err(errors),
        }
    }
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { member, form }: StaffForm<RiskForm>,
) -> Result<Response, AppError> {
    member.require(Permission::ManageRisks)?;
    let id: RiskId = parse_path_id(&id)?;
    let risk = risks::get(state.db().reader(), member.tenant_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let change = match form.parse() {
        Ok(change) => change,
        Err(errors) => {
            return render_risk(
                &state,
                &member,
                &risk,
                &form,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let tx = state.db().writer().begin().await?;
    match risks::update(
        &tx,
        member.tenant_id,
        id,
        &change,
        member.user_id,
        &member.actor(),
        state.clock().now(),
    )
    .await
    {
        Ok(Some(_)) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/risks/{id}")).into_response())
        }
        Ok(None) => Err(AppError::NotFound),
        Err(StoreError::Conflict(message)) => {
            let mut errors = FieldErrors::default();
            errors.add("owner_id", message);
            render_risk(
                &state,
                &member,
                &risk,
                &form,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => Err(error.into()),
    }
}

//! Administration: staff accounts (invite, change role, deactivate, send a new sign-in link) and
//! API tokens.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use lettre::message::Mailbox;
use minijinja::context;
use sea_orm::TransactionTrait;
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::{Member, StaffForm};
use crate::domain::email::EmailAddress;
use crate::domain::role::{Permission, Role};
use crate::error::{AppError, FieldErrors};
use crate::ids::{ApiTokenId, UserId};
use crate::routes::pages::render;
use crate::routes::{QueryParams, parse_path_id};
use crate::store::audit::{self, Change};
use crate::store::entities::user;
use crate::store::users::{self, LinkPurpose, STATUS_ACTIVE, STATUS_DEACTIVATED, STATUS_INVITED};
use crate::store::{api_tokens, is_unique_violation, jobs, sessions};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users_page).post(invite))
        .route("/admin/users/{id}", post(update_user))
        .route("/admin/users/{id}/link", post(send_link))
        .route("/admin/api-tokens", get(tokens_page).post(create_token))
        .route("/admin/api-tokens/{id}/revoke", post(revoke_token))
        .route("/admin/jobs", get(jobs_page))
        .route("/admin/jobs/{id}/retry", post(retry_job))
}

fn roles() -> Vec<minijinja::Value> {
    Role::ALL
        .iter()
        .map(|role| context! { value => role.as_str(), label => role.label() })
        .collect()
}

async fn render_users(
    state: &AppState,
    member: &Member,
    form: &InviteForm,
    errors: &FieldErrors,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let accounts = users::list(state.db().reader(), member.tenant_id).await?;
    let accounts: Vec<_> = accounts
        .into_iter()
        .map(|account| {
            context! {
                id => account.id,
                name => account.name,
                email => account.email,
                role => account.role,
                status => account.status,
                                last_sign_in_at => account.last_sign_in_at,
                locked_until => account.locked_until.filter(|until| *until > state.clock().now()),
                is_self => account.id == member.user_id.0,
            }
        })
        .collect();
    let html = render(
        state,
        Some(member),
        "pages/admin/users.html",
        context! { accounts => accounts, roles => roles(), form => form, errors => errors, notice => notice },
    )?;
    Ok((status, html).into_response())
}

async fn users_page(State(state): State<AppState>, member: Member) -> Result<Response, AppError> {
    member.require(Permission::Administer)?;
    render_users(
        &state,
        &member,
        &InviteForm::default(),
        &FieldErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Clone, Debug, Default, Deserialize, serde::Serialize)]
#[serde(default)]
struct InviteForm {
    name: String,
    email: String,
    role: String,
}

/// E-mails a one-time sign-in link to an account.
async fn email_link(
    state: &AppState,
    member: &Member,
    account: &user::Model,
    purpose: LinkPurpose,
) -> Result<(), AppError> {
    let now = state.clock().now();
    let secret = users::create_link(state.db().writer(), account, purpose, now).await?;
    let link = state.config().link(&format!("/welcome/{secret}"));
    let role_label = account
        .role
        .parse::<Role>()
        .map(Role::label)
        .unwrap_or("member");
    let content = state
        .templates()
        .render_email(
            "invitation",
            context! {
                tenant_name => member.tenant_name,
                inviter_name => member.name,
                name => account.name,
                role_label => role_label,
                link => link,
                expires_on => (now + users::LINK_LIFETIME).date_naive(),
                is_reset => purpose == LinkPurpose::PasswordReset,
            },
        )
        .map_err(|error| AppError::Internal(error.into()))?;
    let address = account.email.parse().map_err(|_| {
        AppError::Internal(anyhow::anyhow!(
            "stored e-mail address of user {} does not parse",
            account.id
        ))
    })?;
    let to = Mailbox::new(Some(account.name.clone()), address);
    state
        .mailer()
        .send(&state.config().mail_from, to, content)
        .await
        .map_err(AppError::Internal)
}

async fn invite(
    State(state): State<AppState>,
    StaffForm { member, form }: StaffForm<InviteForm>,
) -> Result<Response, AppError> {
    member.require(Permission::Administer)?;
    let mut errors = FieldErrors::default();
    let name = form.name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        errors.add("name", "Enter the person's name.");
    }
    let email = EmailAddress::parse(&form.email)
        .map_err(|message| errors.add("email", message))
        .ok();
    let role = form
        .role
        .parse::<Role>()
        .map_err(|message| errors.add("role", message))
        .ok();
    let (Some(email), Some(role), true) = (email, role, errors.is_empty()) else {
        return render_users(
            &state,
            &member,
            &form,
            &errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let now = state.clock().now();
    let tx = state.db().writer().begin().await?;
    let account = match users::create_invited(&tx, member.tenant_id, &email, &name, role, now).await
    {
        Ok(account) => account,
        Err(error) if is_unique_violation(&error) => {
            errors.add("email", format!("{email} already has an account here. Use \"Send sign-in link\" in the list below."));
            return render_users(&state, &member, &form, &errors, None, StatusCode::CONFLICT).await;
        }
        Err(error) => return Err(error.into()),
    };
    audit::record(
        &tx,
        member.tenant_id,
        &member.actor(),
        Change {
            action: "user.invited",
            object_type: "user",
            object_id: account.id,
            before: None,
            after: Some(serde_json::json!({ "name": name, "role": role })),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    let notice = match email_link(&state, &member, &account, LinkPurpose::Invitation).await {
        Ok(()) => format!("Invitation sent to {name}."),
        Err(error) => {
            tracing::error!(error = %error, user_id = %account.id, "failed to send an invitation");
            format!(
                "The account for {name} was created, but the invitation e-mail could not be sent. Use \"Send sign-in link\" to try again."
            )
        }
    };
    render_users(
        &state,
        &member,
        &InviteForm::default(),
        &FieldErrors::default(),
        Some(notice),
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
struct UpdateUserForm {
    role: String,
    status: String,
}

async fn update_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { member, form }: StaffForm<UpdateUserForm>,
) -> Result<Response, AppError> {
    member.require(Permission::Administer)?;
    let id: UserId = parse_path_id(&id)?;
    let account = users::get(state.db().reader(), member.tenant_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let role = form
        .role
        .parse::<Role>()
        .map_err(|message| AppError::invalid("role", message))?;
    let status = match form.status.as_str() {
        STATUS_ACTIVE | STATUS_DEACTIVATED => {
            if form.status == STATUS_ACTIVE && account.status == STATUS_INVITED {
                STATUS_INVITED
            } else {
                form.status.as_str()
            }
        }
        other => {
            return Err(AppError::invalid(
                "status",
                format!("{other:?} is not a valid status; use active or deactivated"),
            ));
        }
    };
    let removes_admin = account.role == Role::Admin.as_str()
        && account.status == STATUS_ACTIVE
        && (role != Role::Admin || status != STATUS_ACTIVE);
    if removes_admin
        && users::count_active_admins(state.db().reader(), member.tenant_id).await? <= 1
    {
        return Err(AppError::Conflict(
            "This is the last active administrator. Make another member an administrator first."
                .to_owned(),
        ));
    }
    let now = state.clock().now();
    let tx = state.db().writer().begin().await?;
    let before = serde_json::json!({ "role": account.role, "status": account.status });
    let updated = users::update(&tx, account, role, status, now).await?;
    if status == STATUS_DEACTIVATED {
        sessions::delete_for_user(&tx, member.tenant_id, id).await?;
    }
    audit::record(
        &tx,
        member.tenant_id,
        &member.actor(),
        Change {
            action: "user.updated",
            object_type: "user",
            object_id: updated.id,
            before: Some(before),
            after: Some(serde_json::json!({ "role": updated.role, "status": updated.status })),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/users").into_response())
}

#[derive(Deserialize)]
struct NoFields {}

async fn send_link(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { member, .. }: StaffForm<NoFields>,
) -> Result<Response, AppError> {
    member.require(Permission::Administer)?;
    let id: UserId = parse_path_id(&id)?;
    let account = users::get(state.db().reader(), member.tenant_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if account.status == STATUS_DEACTIVATED {
        return Err(AppError::Conflict(
            "This account is deactivated. Reactivate it before sending a sign-in link.".to_owned(),
        ));
    }
    let purpose = if account.status == STATUS_INVITED {
        LinkPurpose::Invitation
    } else {
        LinkPurpose::PasswordReset
    };
    email_link(&state, &member, &account, purpose).await?;
    let notice = format!("A new sign-in link was sent to {}.", account.name);
    render_users(
        &state,
        &member,
        &InviteForm::default(),
        &FieldErrors::default(),
        Some(notice),
        StatusCode::OK,
    )
    .await
}

#[derive(Clone, Debug, Default, Deserialize, serde::Serialize)]
#[serde(default)]
struct TokenForm {
    name: String,
    role: String,
}

async fn render_tokens(
    state: &AppState,
    member: &Member,
    new_secret: Option<String>,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let tokens = api_tokens::list(state.db().reader(), member.tenant_id).await?;
    let tokens: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            context! {
                id => token.id,
                name => token.name,
                                role => token.role.parse::<Role>().map(Role::label).unwrap_or("Unknown"),
                created_at => token.created_at,
                last_used_at => token.last_used_at,
                revoked_at => token.revoked_at,
            }
        })
        .collect();
    let html = render(
        state,
        Some(member),
        "pages/admin/api_tokens.html",
        context! { tokens => tokens, roles => roles(), new_secret => new_secret, errors => errors },
    )?;
    Ok((status, html).into_response())
}

async fn tokens_page(State(state): State<AppState>, member: Member) -> Result<Response, AppError> {
    member.require(Permission::Administer)?;
    render_tokens(
        &state,
        &member,
        None,
        &FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

async fn create_token(
    State(state): State<AppState>,
    StaffForm { member, form }: StaffForm<TokenForm>,
) -> Result<Response, AppError> {
    member.require(Permission::Administer)?;
    let mut errors = FieldErrors::default();
    let name = form.name.trim().to_owned();
    if name.is_empty() {
        errors.add(
            "name",
            "Name the token after the system that will use it, such as \"Contract database\".",
        );
    }
    let role = form
        .role
        .parse::<Role>()
        .map_err(|message| errors.add("role", message))
        .ok();
    let (Some(role), true) = (role, errors.is_empty()) else {
        return render_tokens(
            &state,
            &member,
            None,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let now = state.clock().now();
    let tx = state.db().writer().begin().await?;
    let (token, secret) = api_tokens::create(
        &tx,
        member.tenant_id,
        &name,
        role,
        Some(member.user_id),
        now,
    )
    .await?;
    audit::record(
        &tx,
        member.tenant_id,
        &member.actor(),
        Change {
            action: "api_token.created",
            object_type: "api_token",
            object_id: token.id,
            before: None,
            after: Some(serde_json::json!({ "name": name, "role": role })),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    render_tokens(
        &state,
        &member,
        Some(secret),
        &FieldErrors::default(),
        StatusCode::CREATED,
    )
    .await
}

async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { member, .. }: StaffForm<NoFields>,
) -> Result<Response, AppError> {
    member.require(Permission::Administer)?;
    let id: ApiTokenId = parse_path_id(&id)?;
    let now = state.clock().now();
    let tx = state.db().writer().begin().await?;
    if !api_tokens::revoke(&tx, member.tenant_id, id, now).await? {
        return Err(AppError::NotFound);
    }
    audit::record(
        &tx,
        member.tenant_id,
        &member.actor(),
        Change {
            action: "api_token.revoked",
            object_type: "api_token",
            object_id: id.0,
            before: None,
            after: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/api-tokens").into_response())
}

#[derive(Deserialize, Default)]
struct JobsQuery {
    status: Option<String>,
}

/// Shows the tenant's background jobs (e-mails), newest first, with their errors.
async fn jobs_page(
    State(state): State<AppState>,
    member: Member,
    QueryParams(query): QueryParams<JobsQuery>,
) -> Result<Response, AppError> {
    member.require(Permission::Administer)?;
    let status = query.status.as_deref().filter(|status| !status.is_empty());
    if let Some(status) =
        status.filter(|status| !["queued", "running", "done", "failed"].contains(status))
    {
        return Err(AppError::invalid(
            "status",
            format!("{status:?} is not a job status; use queued, running, done or failed."),
        ));
    }
    let jobs = jobs::list(state.db().reader(), member.tenant_id, status, 500).await?;
    let html = render(
        &state,
        Some(&member),
        "pages/admin/jobs.html",
        context! { jobs => jobs, status => status.unwrap_or("") },
    )?;
    Ok(html.into_response())
}

async fn retry_job(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StaffForm { member, .. }: StaffForm<NoFields>,
) -> Result<Response, AppError> {
    member.require(Permission::Administer)?;
    let id: uuid::Uuid = parse_path_id(&id)?;
    let now = state.clock().now();
    let tx = state.db().writer().begin().await?;
    if !jobs::retry(&tx, member.tenant_id, id, now).await? {
        return Err(AppError::NotFound);
    }
    audit::record(
        &tx,
        member.tenant_id,
        &member.actor(),
        Change {
            action: "job.retried",
            object_type: "job",
            object_id: id,
            before: None,
            after: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    state.wake_worker();
    Ok(Redirect::to("/admin/jobs?status=failed").into_response())
}

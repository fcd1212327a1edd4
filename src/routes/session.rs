//! Signing in and out, the first-run setup link, and the one-time links with which invited
//! members set their password.

use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use chrono::TimeDelta;
use minijinja::context;
use sea_orm::TransactionTrait;
use serde::Deserialize;

use super::pages::{render, safe_next};
use crate::app::AppState;
use crate::auth::extract::SESSION_COOKIE;
use crate::auth::{Member, StaffForm, password, token};
use crate::domain::email::EmailAddress;
use crate::error::{AppError, FieldErrors};
use crate::ids::{TenantId, UserId};
use crate::routes::QueryParams;
use crate::store::{self, sessions, users};

/// Cookie holding the sign-in form's CSRF token until a session exists (double submit).
const SIGN_IN_CSRF_COOKIE: &str = "portal_sign_in_csrf";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", axum::routing::post(sign_out))
        .route("/setup/{token}", get(setup_page).post(setup))
        .route("/welcome/{token}", get(welcome_page).post(welcome))
}

fn session_cookie(state: &AppState, secret: String) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, secret))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config().secure_cookies())
        .path("/")
        .build()
}

/// Starts a session for a member and returns the cookie jar that carries it.
async fn start_session(
    state: &AppState,
    jar: CookieJar,
    tenant: TenantId,
    user: UserId,
) -> Result<CookieJar, AppError> {
    let idle = TimeDelta::minutes(state.config().session_idle_minutes);
    if let Some(account) = users::get(state.db().reader(), tenant, user).await? {
        users::record_sign_in(state.db().writer(), &account, state.clock().now()).await?;
    }
    let session =
        sessions::create(state.db().writer(), tenant, user, idle, state.clock().now()).await?;
    Ok(jar.add(session_cookie(state, session.secret)))
}

#[derive(Deserialize, Default)]
struct SignInQuery {
    next: Option<String>,
}

async fn sign_in_page(
    State(state): State<AppState>,
    member: Option<Member>,
    jar: CookieJar,
    QueryParams(query): QueryParams<SignInQuery>,
) -> Result<Response, AppError> {
    if member.is_some() {
        return Ok(Redirect::to(&safe_next(query.next.as_deref())).into_response());
    }
    render_sign_in(
        &state,
        jar,
        query.next.as_deref(),
        "",
        None,
        &[],
        StatusCode::OK,
    )
}

fn render_sign_in(
    state: &AppState,
    jar: CookieJar,
    next: Option<&str>,
    email: &str,
    error: Option<&str>,
    choices: &[(String, String)],
    status: StatusCode,
) -> Result<Response, AppError> {
    let csrf = token::generate("");
    let cookie = Cookie::build((SIGN_IN_CSRF_COOKIE, csrf.clone()))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.config().secure_cookies())
        .path("/sign-in")
        .build();
    let html = render(
        state,
        None,
        "pages/sign_in.html",
        context! { csrf_token => csrf, next => safe_next(next), email => email, error => error, choices => choices },
    )?;
    Ok((status, jar.add(cookie), html).into_response())
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
    next: Option<String>,
    /// The organization chosen when the address has accounts in several.
    tenant_id: Option<String>,
}

/// Most accounts checked for one address at sign-in, which bounds the hashing work.
const MAX_ACCOUNTS_PER_EMAIL: usize = 10;

async fn sign_in(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<SignInForm>,
) -> Result<Response, AppError> {
    let expected = jar
        .get(SIGN_IN_CSRF_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .unwrap_or_default();
    if expected.is_empty() || !token::constant_time_eq(&expected, &form.csrf_token) {
        return Err(AppError::CsrfRejected);
    }
    let now = state.clock().now();
    let candidates = users::find_active_by_email(state.db().reader(), &form.email).await?;
    let usable: Vec<_> = candidates
        .iter()
        .filter(|user| user.locked_until.is_none_or(|until| until <= now))
        .take(MAX_ACCOUNTS_PER_EMAIL)
        .collect();
    let mut matching = Vec::new();
    for user in &usable {
        let stored = user.password_hash.clone().unwrap_or_default();
        let password = form.password.clone();
        let matches = tokio::task::spawn_blocking(move || password::verify(&password, &stored))
            .await
            .map_err(|error| AppError::Internal(error.into()))?;
        if matches {
            matching.push((*user).clone());
        }
    }
    if candidates.is_empty() {
        // Spend the same time as a real check, so response times do not reveal which
        // addresses have accounts.
        let password = form.password.clone();
        let _ = tokio::task::spawn_blocking(move || {
            password::verify(&password, password::decoy_hash())
        })
        .await;
    }
    if matching.is_empty() {
        for user in &usable {
            users::record_failed_sign_in(state.db().writer(), user, now).await?;
        }
        let locked = !candidates.is_empty() && usable.is_empty();
        let message = if locked {
            "This account is locked for 15 minutes after too many failed sign-ins. Try again later, or ask an administrator for a new sign-in link."
        } else {
            "The e-mail address or password is incorrect."
        };
        return render_sign_in(
            &state,
            jar,
            form.next.as_deref(),
            &form.email,
            Some(message),
            &[],
            StatusCode::UNAUTHORIZED,
        );
    }
    // One address may have accounts in several organizations; the person then chooses one.
    let chosen = form
        .tenant_id
        .as_deref()
        .and_then(|id| id.parse::<uuid::Uuid>().ok());
    let user = match (matching.len(), chosen) {
        (1, _) => matching.remove(0),
        (_, Some(tenant)) if matching.iter().any(|user| user.tenant_id == tenant) => matching
            .into_iter()
            .find(|user| user.tenant_id == tenant)
            .expect("checked above"),
        _ => {
            let mut choices = Vec::new();
            for user in &matching {
                let name = store::tenants::get(state.db().reader(), TenantId(user.tenant_id))
                    .await?
                    .map(|tenant| tenant.name)
                    .unwrap_or_default();
                choices.push((user.tenant_id.to_string(), name));
            }
            return render_sign_in(
                &state,
                jar,
                form.next.as_deref(),
                &form.email,
                Some(
                    "Your e-mail address has accounts in several organizations. Choose one and enter your password again.",
                ),
                &choices,
                StatusCode::OK,
            );
        }
    };
    let jar = start_session(
        &state,
        jar.remove(Cookie::build(SIGN_IN_CSRF_COOKIE).path("/sign-in")),
        TenantId(user.tenant_id),
        UserId(user.id),
    )
    .await?;
    tracing::info!(user_id = %user.id, tenant_id = %user.tenant_id, "member signed in");
    Ok((jar, Redirect::to(&safe_next(form.next.as_deref()))).into_response())
}

#[derive(Deserialize)]
struct Empty {}

async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
    StaffForm { member, .. }: StaffForm<Empty>,
) -> Result<Response, AppError> {
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        sessions::delete(state.db().writer(), cookie.value()).await?;
    }
    tracing::info!(user_id = %member.user_id, "member signed out");
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    Ok((jar, Redirect::to("/sign-in")).into_response())
}

#[derive(Deserialize, Default)]
struct SetupForm {
    #[serde(default)]
    organization: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

fn link_expired_page(state: &AppState, what: &str) -> Result<Response, AppError> {
    let fix = if what == "setup" {
        "Restart `portal serve` on the server: while no organization exists, it logs a new setup link at every start."
    } else {
        "Ask an administrator of your organization to send you a new sign-in link from the Users page, or run `portal tenant create` again for a first administrator."
    };
    let html = render(
        state,
        None,
        "pages/error.html",
        context! {
            title => "This link no longer works",
            message => format!("This {what} link has expired or has already been used. {fix}"),
            status => 404,
            fields => Vec::<String>::new(),
        },
    )?;
    Ok((StatusCode::NOT_FOUND, html).into_response())
}

async fn setup_page(
    State(state): State<AppState>,
    Path(secret): Path<String>,
) -> Result<Response, AppError> {
    if store::setup::find(state.db().reader(), &secret, state.clock().now())
        .await?
        .is_none()
    {
        return link_expired_page(&state, "setup");
    }
    let html = render(
        &state,
        None,
        "pages/setup.html",
        context! { form => context!{}, errors => FieldErrors::default() },
    )?;
    Ok(html.into_response())
}

/// Checks a new password and its confirmation, adding problems to `errors`.
fn check_new_password(errors: &mut FieldErrors, password: &str, confirmation: &str, email: &str) {
    if let Err(message) = password::check_policy(password, email) {
        errors.add("password", message);
    } else if password != confirmation {
        errors.add("password_confirmation", "The two passwords do not match.");
    }
}

async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|error| AppError::Internal(error.into()))?
        .map_err(AppError::Internal)
}

async fn setup(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(secret): Path<String>,
    Form(form): Form<SetupForm>,
) -> Result<Response, AppError> {
    let now = state.clock().now();
    let Some(link) = store::setup::find(state.db().reader(), &secret, now).await? else {
        return link_expired_page(&state, "setup");
    };
    let mut errors = FieldErrors::default();
    let organization = store::tenants::parse_name(&form.organization).unwrap_or_else(|message| {
        errors.add("organization", message);
        String::new()
    });
    let name = form.name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        errors.add("name", "Enter your name.");
    }
    let email = EmailAddress::parse(&form.email)
        .map_err(|message| errors.add("email", message))
        .ok();
    check_new_password(
        &mut errors,
        &form.password,
        &form.password_confirmation,
        &form.email,
    );
    let (Some(email), true) = (email, errors.is_empty()) else {
        let form =
            context! { organization => form.organization, name => form.name, email => form.email };
        let html = render(
            &state,
            None,
            "pages/setup.html",
            context! { form => form, errors => errors },
        )?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
    };
    let password_hash = hash_password(form.password).await?;

    let tx = state.db().writer().begin().await?;
    if !store::setup::use_up(&tx, &link, now).await? {
        return link_expired_page(&state, "setup");
    }
    let (tenant, user) =
        store::tenants::create_with_admin(&tx, &organization, &email, &name, now).await?;
    users::set_password(&tx, user.clone(), &name, password_hash, now).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %tenant.id, "first organization created through the setup link");
    let jar = start_session(&state, jar, TenantId(tenant.id), UserId(user.id)).await?;
    Ok((jar, Redirect::to("/")).into_response())
}

async fn welcome_page(
    State(state): State<AppState>,
    Path(secret): Path<String>,
) -> Result<Response, AppError> {
    let Some((_, user)) =
        users::find_by_link(state.db().reader(), &secret, state.clock().now()).await?
    else {
        return link_expired_page(&state, "sign-in");
    };
    let html = render(
        &state,
        None,
        "pages/welcome.html",
        context! { name => user.name, email => user.email, errors => FieldErrors::default() },
    )?;
    Ok(html.into_response())
}

#[derive(Deserialize, Default)]
struct WelcomeForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

async fn welcome(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(secret): Path<String>,
    Form(form): Form<WelcomeForm>,
) -> Result<Response, AppError> {
    let now = state.clock().now();
    let Some((link, user)) = users::find_by_link(state.db().reader(), &secret, now).await? else {
        return link_expired_page(&state, "sign-in");
    };
    let mut errors = FieldErrors::default();
    let name = form.name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        errors.add("name", "Enter your name.");
    }
    check_new_password(
        &mut errors,
        &form.password,
        &form.password_confirmation,
        &user.email,
    );
    if !errors.is_empty() {
        let html = render(
            &state,
            None,
            "pages/welcome.html",
            context! { name => form.name, email => user.email, errors => errors },
        )?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
    }
    let password_hash = hash_password(form.password).await?;
    let tx = state.db().writer().begin().await?;
    if !users::use_link(&tx, &link, now).await? {
        return link_expired_page(&state, "sign-in");
    }
    let tenant = TenantId(user.tenant_id);
    let user_id = UserId(user.id);
    users::set_password(&tx, user, &name, password_hash, now).await?;
    sessions::delete_for_user(&tx, tenant, user_id).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user_id, "member set a password through a one-time link");
    let jar = start_session(&state, jar, tenant, user_id).await?;
    Ok((jar, Redirect::to("/")).into_response())
}

//! Application state, the router and the server lifecycle.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::MatchedPath;
use axum::http::{HeaderName, HeaderValue, Request, Response, header};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::clock::Clock;
use crate::config::Config;
use crate::domain::questionnaire::Questionnaire;
use crate::evidence::EvidenceStore;
use crate::ids::{QuestionnaireId, TenantId};
use crate::mail::Mailer;
use crate::store::{self, Db};
use crate::templates::Templates;

/// Shared state of every request handler: cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    config: Config,
    db: Db,
    templates: Templates,
    mailer: Mailer,
    evidence: EvidenceStore,
    clock: Clock,
    /// Wakes the job worker when a request queued a job.
    jobs_waiting: Notify,
    /// Parsed questionnaires by stored id. Stored questionnaires never change, so entries never
    /// go stale, and every instance may keep its own.
    questionnaires: Mutex<HashMap<QuestionnaireId, Arc<Questionnaire>>>,
}

impl AppState {
    pub fn new(
        config: Config,
        db: Db,
        mailer: Mailer,
        evidence: EvidenceStore,
        clock: Clock,
    ) -> Self {
        Self(Arc::new(Inner {
            config,
            db,
            templates: Templates::new(),
            mailer,
            evidence,
            clock,
            jobs_waiting: Notify::new(),
            questionnaires: Mutex::new(HashMap::new()),
        }))
    }

    pub fn evidence(&self) -> &EvidenceStore {
        &self.0.evidence
    }

    /// Wakes the job worker, after a transaction that queued jobs has committed.
    pub fn wake_worker(&self) {
        self.0.jobs_waiting.notify_one();
    }

    /// Completes when a request wakes the worker.
    pub async fn jobs_waiting(&self) {
        self.0.jobs_waiting.notified().await;
    }

    /// Returns a stored questionnaire of the tenant, parsed once per process.
    ///
    /// # Errors
    /// [`crate::error::AppError::NotFound`] when the tenant has no such questionnaire.
    pub async fn questionnaire(
        &self,
        tenant: TenantId,
        id: QuestionnaireId,
    ) -> Result<Arc<Questionnaire>, crate::error::AppError> {
        if let Some(cached) = self
            .0
            .questionnaires
            .lock()
            .expect("cache lock is never poisoned")
            .get(&id)
        {
            return Ok(cached.clone());
        }
        let parsed = store::questionnaires::load(self.db().reader(), tenant, id)
            .await?
            .ok_or(crate::error::AppError::NotFound)?;
        let parsed = Arc::new(parsed);
        self.0
            .questionnaires
            .lock()
            .expect("cache lock is never poisoned")
            .insert(id, parsed.clone());
        Ok(parsed)
    }

    pub fn config(&self) -> &Config {
        &self.0.config
    }

    pub fn db(&self) -> &Db {
        &self.0.db
    }

    pub fn templates(&self) -> &Templates {
        &self.0.templates
    }

    pub fn mailer(&self) -> &Mailer {
        &self.0.mailer
    }

    pub fn clock(&self) -> &Clock {
        &self.0.clock
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Builds the router with every route and the layers shared by all of them.
pub fn build_app(state: AppState) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            // The matched route, never the raw path: vendor links carry their secret in the path.
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", MatchedPath::as_str)
                .to_owned();
            let request_id = request
                .extensions()
                .get::<RequestId>()
                .and_then(|id| id.header_value().to_str().ok())
                .unwrap_or("-")
                .to_owned();
            tracing::info_span!(
                "request",
                request_id,
                method = %request.method(),
                route,
                tenant_id = tracing::field::Empty,
            )
        })
        .on_request(())
        .on_response(|response: &Response<_>, latency: Duration, _span: &Span| {
            tracing::info!(
                status = response.status().as_u16(),
                duration_ms = latency.as_millis() as u64,
                "request finished"
            );
        })
        .on_failure(());

    crate::routes::router(state)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// A bound server, ready to run. Tests build it with port 0 and read [`Application::port`].
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// Connects the database, applies migrations, prepares the mail transport and binds the
    /// listening socket.
    ///
    /// # Errors
    /// Fails when any of these steps fails; the message names the setting to check.
    pub async fn build(mut config: Config, clock: Clock) -> anyhow::Result<Self> {
        let bind = config.bind;
        let listener = TcpListener::bind(bind).await.with_context(|| {
            format!("Failed to listen on {bind}; set PORTAL_BIND or --bind to a free address")
        })?;
        // Links in e-mails need the real port when the configuration asked for any free one.
        config.bind = listener
            .local_addr()
            .context("Failed to read the listening address")?;
        if config.base_url.is_none() && config.bind.ip().is_unspecified() {
            tracing::warn!(
                bind = %config.bind,
                "PORTAL_BASE_URL is not set, so e-mailed links use the listening address; set it to the address people open"
            );
        }
        let state = prepare_state(config, clock).await?;
        let router = build_app(state.clone());
        Ok(Self {
            listener,
            router,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves requests until `shutdown` completes, then finishes the requests in flight.
    ///
    /// # Errors
    /// Fails when the server stops on an I/O error.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let (stop_worker, worker_stopped) = tokio::sync::watch::channel(false);
        let worker = self
            .state
            .config()
            .run_worker
            .then(|| tokio::spawn(crate::jobs::run_worker(self.state.clone(), worker_stopped)));
        let mut scheduler = None;
        if self.state.config().run_worker
            && let Some(expression) = self.state.config().schedule.clone()
        {
            crate::jobs::schedule::sweep_and_wake(&self.state).await;
            match crate::jobs::schedule::start_cron(self.state.clone(), &expression).await {
                Ok(running) => scheduler = Some(running),
                Err(error) => tracing::error!(
                    error = format!("{error:#}"),
                    "the schedule did not start; run `portal jobs run-due` from cron instead"
                ),
            }
        }
        axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown)
            .await?;
        if let Some(mut scheduler) = scheduler {
            let _ = scheduler.shutdown().await;
        }
        let _ = stop_worker.send(true);
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        self.state.db().clone().close().await;
        Ok(())
    }
}

/// Connects the database, applies migrations and builds the state.
///
/// # Errors
/// Fails when the data directory, database or mail transport cannot be set up.
pub async fn prepare_state(config: Config, clock: Clock) -> anyhow::Result<AppState> {
    if config.database_url.is_none() || config.smtp_url.is_none() || config.evidence.is_none() {
        config.prepare_data_dir()?;
    }
    let db = Db::connect(&config.database_url()).await?;
    db.migrate().await?;
    let mailer = Mailer::from_config(&config)?;
    let evidence = EvidenceStore::from_config(&config).await?;
    Ok(AppState::new(config, db, mailer, evidence, clock))
}

/// Logs a one-time setup link when the database has no tenant yet, so that `portal serve` alone
/// is enough to start. The link is a secret and is logged on purpose: it is the only way in to
/// an empty installation, it works once, and it expires after a day.
///
/// # Errors
/// Fails when the database fails.
pub async fn announce_setup_link(state: &AppState) -> anyhow::Result<()> {
    let db = state.db().writer();
    if store::tenants::count(db).await? > 0 {
        return Ok(());
    }
    let secret = store::setup::create(db, state.clock().now()).await?;
    let url = state.config().link(&format!("/setup/{secret}"));
    tracing::warn!(
        setup_url = %url,
        "no organization exists yet; open the setup link to create the first one and its administrator (valid for 24 hours, once)"
    );
    Ok(())
}

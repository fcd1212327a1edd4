//! The command line: `portal serve`, `portal tenant create` and `portal questionnaire check`.
//! `src/main.rs` parses the arguments and calls [`run`].

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use sea_orm::TransactionTrait;
use url::Url;

use crate::app::{self, Application};
use crate::clock::Clock;
use crate::config::{self, Config, EvidenceLocation, LogFormat, Secret};
use crate::domain::email::EmailAddress;
use crate::domain::questionnaire;
use crate::domain::role::Role;
use crate::ids::TenantId;
use crate::store::{api_tokens, tenants, users};

#[derive(Parser, Debug)]
#[command(
    name = "portal",
    version,
    about = "Vendor risk assessment portal for healthcare organizations"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start the web server: staff pages, vendor pages, JSON API and scheduler.
    Serve {
        #[command(flatten)]
        settings: Settings,
        /// Also create a demo organization with sample vendors and print how to sign in.
        #[arg(long)]
        demo: bool,
    },
    /// Manage tenants (customer organizations).
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Work with questionnaire files.
    Questionnaire {
        #[command(subcommand)]
        command: QuestionnaireCommand,
    },
    /// Run the schedule and the job queue from the shell.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum JobsCommand {
    /// Run one schedule sweep, then every job that is due, and exit; for operators who prefer
    /// system cron to the built-in schedule.
    RunDue {
        #[command(flatten)]
        settings: Settings,
        /// Print the counts as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum TenantCommand {
    /// List tenants with their ids.
    List {
        #[command(flatten)]
        settings: Settings,
        /// Print one JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Create a tenant with its first administrator and an API token.
    Create {
        #[command(flatten)]
        settings: Settings,
        /// Name of the organization.
        #[arg(long)]
        name: String,
        /// E-mail address of the first administrator.
        #[arg(long)]
        admin_email: String,
        /// Name of the first administrator (defaults to the part of the e-mail before the @).
        #[arg(long)]
        admin_name: Option<String>,
        /// Print one JSON object with tenant_id, api_token and admin_login_url.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum QuestionnaireCommand {
    /// Check questionnaire files and print each problem as FILE:LINE: MESSAGE. Without files,
    /// checks the shipped library.
    Check {
        /// Files to check.
        files: Vec<PathBuf>,
    },
}

/// Settings shared by the commands that open the database. Each flag also reads the variable
/// named in its help.
#[derive(Args, Debug, Clone)]
pub struct Settings {
    /// Directory for the SQLite database, local evidence files and the mail outbox.
    #[arg(long, env = "PORTAL_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Address and port the web server listens on.
    #[arg(long, env = "PORTAL_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Public address of the portal, used in e-mailed links [default: http://BIND].
    #[arg(long, env = "PORTAL_BASE_URL", value_parser = parse_base_url)]
    pub base_url: Option<Url>,
    /// Database URL, sqlite://PATH or postgres://USER:PASSWORD@HOST/DB [default: SQLite in the data directory].
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<Secret>,
    /// Evidence store: a directory, or s3://BUCKET/PREFIX [default: DATA_DIR/evidence].
    #[arg(long, env = "PORTAL_EVIDENCE")]
    pub evidence: Option<String>,
    /// Endpoint of an S3-compatible server, such as http://127.0.0.1:9000.
    #[arg(long, env = "PORTAL_S3_ENDPOINT")]
    pub s3_endpoint: Option<Url>,
    /// Server-side encryption of evidence objects in S3: AES256 or aws:kms.
    #[arg(long, env = "PORTAL_S3_SSE", value_parser = ["AES256", "aws:kms"])]
    pub s3_sse: Option<String>,
    /// KMS key id for aws:kms encryption.
    #[arg(long, env = "PORTAL_S3_SSE_KMS_KEY_ID")]
    pub s3_sse_kms_key_id: Option<String>,
    /// SMTP server, smtp://USER:PASSWORD@HOST:PORT or smtps://… [default: .eml files in DATA_DIR/outbox].
    #[arg(long, env = "PORTAL_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<Secret>,
    /// PEM file of a certificate authority to trust for the SMTP server's certificate.
    #[arg(long, env = "PORTAL_SMTP_CA_FILE")]
    pub smtp_ca_file: Option<PathBuf>,
    /// Sender of every e-mail, such as "Vendor Risk <risk@hospital.example>".
    #[arg(
        long,
        env = "PORTAL_MAIL_FROM",
        default_value = "Vendor Risk Portal <portal@localhost>"
    )]
    pub mail_from: String,
    /// Largest accepted evidence upload, in bytes.
    #[arg(long, env = "PORTAL_EVIDENCE_MAX_BYTES", default_value_t = config::DEFAULT_EVIDENCE_MAX_BYTES)]
    pub evidence_max_bytes: u64,
    /// Minutes of inactivity after which a staff member must sign in again.
    #[arg(long, env = "PORTAL_SESSION_IDLE_MINUTES", default_value_t = 480)]
    pub session_idle_minutes: i64,
    /// Seconds a worker may hold a job before another worker takes it over after a crash.
    #[arg(long, env = "PORTAL_JOB_LEASE_SECONDS", default_value_t = 300)]
    pub job_lease_seconds: i64,
    /// When the schedule sweep runs, as a cron expression with seconds, or "off" to run it only
    /// through `portal jobs run-due`.
    #[arg(long, env = "PORTAL_SCHEDULE", default_value = config::DEFAULT_SCHEDULE)]
    pub schedule: String,
    /// Log format.
    #[arg(long, env = "PORTAL_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// Parses `PORTAL_BASE_URL`, which must be an absolute http(s) address.
fn parse_base_url(value: &str) -> Result<Url, String> {
    match Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => Ok(url),
        _ => Err(format!(
            "{value:?} is not a full web address; write it with the scheme, such as https://portal.hospital.example"
        )),
    }
}

impl Settings {
    /// Builds the configuration.
    ///
    /// # Errors
    /// Fails on an invalid evidence location.
    pub fn into_config(self) -> anyhow::Result<Config> {
        let mut config = Config::for_data_dir(self.data_dir);
        config.bind = self.bind;
        config.base_url = self.base_url;
        config.database_url = self.database_url;
        config.evidence = self
            .evidence
            .as_deref()
            .map(EvidenceLocation::parse)
            .transpose()?;
        config.s3_endpoint = self.s3_endpoint;
        config.s3_encryption = self.s3_sse;
        config.s3_kms_key_id = self.s3_sse_kms_key_id;
        config.smtp_url = self.smtp_url;
        config.smtp_ca_file = self.smtp_ca_file;
        config.mail_from = self.mail_from;
        config.evidence_max_bytes = self.evidence_max_bytes;
        if self.session_idle_minutes < 5 {
            bail!("PORTAL_SESSION_IDLE_MINUTES must be at least 5");
        }
        config.session_idle_minutes = self.session_idle_minutes;
        if !(5..=86_400).contains(&self.job_lease_seconds) {
            bail!(
                "PORTAL_JOB_LEASE_SECONDS must be 5 to 86400; longer than the slowest e-mail send, 300 by default"
            );
        }
        config.job_lease = chrono::TimeDelta::seconds(self.job_lease_seconds);
        config.schedule = match self.schedule.trim() {
            "off" => None,
            expression => {
                crate::jobs::schedule::check_cron(expression)?;
                Some(expression.to_owned())
            }
        };
        Ok(config)
    }
}

/// Runs a parsed command line. Returns the process exit code.
///
/// # Errors
/// Fails when the command fails; `main` prints the error chain.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Serve { settings, demo } => {
            crate::telemetry::init(settings.log_format);
            serve(settings.into_config()?, demo).await?;
            Ok(0)
        }
        Command::Tenant {
            command:
                TenantCommand::Create {
                    settings,
                    name,
                    admin_email,
                    admin_name,
                    json,
                },
        } => {
            crate::telemetry::init(settings.log_format);
            create_tenant(
                settings.into_config()?,
                &name,
                &admin_email,
                admin_name.as_deref(),
                json,
            )
            .await?;
            Ok(0)
        }
        Command::Tenant {
            command: TenantCommand::List { settings, json },
        } => {
            crate::telemetry::init(settings.log_format);
            list_tenants(settings.into_config()?, json).await?;
            Ok(0)
        }
        Command::Questionnaire {
            command: QuestionnaireCommand::Check { files },
        } => Ok(check_questionnaires(&files)),
        Command::Jobs {
            command: JobsCommand::RunDue { settings, json },
        } => {
            crate::telemetry::init(settings.log_format);
            run_due_jobs(settings.into_config()?, json).await
        }
    }
}

/// The output of `portal jobs run-due`.
#[derive(serde::Serialize)]
struct RunDue {
    tenants: usize,
    queued: usize,
    done: usize,
    retried: usize,
    failed: usize,
}

async fn run_due_jobs(config: Config, json: bool) -> anyhow::Result<i32> {
    // A mistyped data directory in a cron line would otherwise create a new, empty portal and
    // report success every time.
    if config.database_url.is_none() && !config.data_dir.join("portal.db").exists() {
        anyhow::bail!(
            "There is no portal database in {}; pass the --data-dir (or PORTAL_DATA_DIR) that `portal serve` uses, or set DATABASE_URL.",
            config.data_dir.display()
        );
    }
    let state = app::prepare_state(config, Clock::System).await?;
    let planned = crate::jobs::schedule::plan(state.db(), state.clock().now()).await?;
    let sweep = crate::jobs::run_due(&state).await?;
    let report = RunDue {
        tenants: planned.tenants,
        queued: planned.queued,
        done: sweep.done,
        retried: sweep.retried,
        failed: sweep.failed,
    };
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "Swept {} tenants and queued {} jobs; ran {} jobs, {} will be retried, {} failed.",
            report.tenants, report.queued, report.done, report.retried, report.failed
        );
    }
    state.db().clone().close().await;
    // A job that used its last attempt needs an operator; say so through the exit code.
    Ok(if sweep.failed > 0 { 1 } else { 0 })
}

async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    for name in config::unknown_variables() {
        tracing::warn!(variable = %name, "unknown PORTAL_ variable ignored; check its spelling against the README's configuration table");
    }
    let application = Application::build(config, Clock::System).await?;
    let shutdown = shutdown_signal()?;
    let state = application.state().clone();
    if demo {
        crate::demo::seed(&state).await?;
    } else {
        app::announce_setup_link(&state).await?;
    }
    tracing::info!(
        address = %application.local_addr(),
        base_url = %state.config().base_url(),
        database = ?state.db().backend(),
        "portal is listening"
    );
    application
        .run_until_stopped(shutdown)
        .await
        .context("The web server stopped with an error")?;
    tracing::info!("portal stopped");
    Ok(())
}

/// Registers the handlers for Ctrl-C and SIGTERM at once, so that a signal that arrives right
/// after start-up is not missed, and returns a future that completes on either.
///
/// # Errors
/// Fails when the handlers cannot be registered.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt =
            signal(SignalKind::interrupt()).context("Failed to listen for Ctrl-C")?;
        let mut terminate =
            signal(SignalKind::terminate()).context("Failed to listen for SIGTERM")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
            tracing::info!("shutdown requested; finishing requests in flight");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutdown requested; finishing requests in flight");
        })
    }
}

/// The output of `portal tenant create`.
#[derive(serde::Serialize)]
pub struct CreatedTenant {
    pub tenant_id: TenantId,
    pub api_token: String,
    pub admin_login_url: String,
}

/// Creates a tenant, its first administrator (who sets a password through a one-time link)
/// and an API token, in one transaction.
///
/// # Errors
/// Fails on an invalid name or e-mail address, or when the database fails.
pub async fn create_tenant_in(
    state: &crate::app::AppState,
    name: &str,
    admin_email: &str,
    admin_name: Option<&str>,
) -> anyhow::Result<CreatedTenant> {
    let name = tenants::parse_name(name).map_err(|message| anyhow::anyhow!("--name: {message}"))?;
    let email = EmailAddress::parse(admin_email)
        .map_err(|message| anyhow::anyhow!("--admin-email: {message}"))?;
    let admin_name = admin_name
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map_or_else(
            || {
                email
                    .as_str()
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            },
            str::to_owned,
        );
    if let Some(existing) = tenants::find_by_name(state.db().reader(), &name).await? {
        bail!(
            "--name: an organization named {:?} already exists (tenant id {}); choose another name, or see `portal tenant list`",
            existing.name,
            existing.id
        );
    }
    let now = state.clock().now();
    let tx = state.db().writer().begin().await?;
    let (tenant, admin) = tenants::create_with_admin(&tx, &name, &email, &admin_name, now).await?;
    let link = users::create_link(&tx, &admin, users::LinkPurpose::Invitation, now).await?;
    let (_, api_token) = api_tokens::create(
        &tx,
        TenantId(tenant.id),
        "Created with the tenant",
        Role::Admin,
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedTenant {
        tenant_id: TenantId(tenant.id),
        api_token,
        admin_login_url: state.config().link(&format!("/welcome/{link}")),
    })
}

async fn create_tenant(
    config: Config,
    name: &str,
    admin_email: &str,
    admin_name: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let state = app::prepare_state(config, Clock::System).await?;
    let created = create_tenant_in(&state, name, admin_email, admin_name).await?;
    if json {
        println!("{}", serde_json::to_string(&created)?);
    } else {
        println!("Tenant created: {}", created.tenant_id);
        println!(
            "Administrator sign-in link (works once, for 7 days): {}",
            created.admin_login_url
        );
        println!("API token (shown once): {}", created.api_token);
    }
    state.db().clone().close().await;
    Ok(())
}

async fn list_tenants(config: Config, json: bool) -> anyhow::Result<()> {
    let state = app::prepare_state(config, Clock::System).await?;
    let rows = tenants::list(state.db().reader()).await?;
    if json {
        let items: Vec<serde_json::Value> = rows
            .iter()
            .map(|tenant| serde_json::json!({ "tenant_id": tenant.id, "name": tenant.name, "created_at": tenant.created_at }))
            .collect();
        println!("{}", serde_json::to_string(&items)?);
    } else {
        for tenant in &rows {
            println!(
                "{}  {}  {}",
                tenant.id,
                tenant.created_at.format("%Y-%m-%d"),
                tenant.name
            );
        }
    }
    state.db().clone().close().await;
    Ok(())
}

/// Checks questionnaire files, printing `FILE:LINE: MESSAGE` per problem. Returns the exit code:
/// 0 when every file passes, 1 otherwise.
pub fn check_questionnaires(files: &[PathBuf]) -> i32 {
    let mut failed = false;
    let mut seen: Vec<(String, u32, String)> = Vec::new();
    if files.is_empty() {
        for questionnaire in questionnaire::shipped() {
            eprintln!(
                "ok: {} version {} (shipped)",
                questionnaire.key, questionnaire.version
            );
        }
        return 0;
    }
    for path in files {
        let name = path.display().to_string();
        let source = match std::fs::read(path) {
            Err(error) => {
                println!("{name}:1: cannot read the file: {error}");
                failed = true;
                continue;
            }
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(source) => source,
                Err(_) => {
                    println!("{name}:1: the file is not UTF-8 text; save it as UTF-8");
                    failed = true;
                    continue;
                }
            },
        };
        match questionnaire::parse(&source) {
            Ok(parsed) => {
                if let Some((_, _, other)) = seen
                    .iter()
                    .find(|(key, version, _)| *key == parsed.key && *version == parsed.version)
                {
                    println!(
                        "{name}:1: key {:?} version {} is also defined in {other}",
                        parsed.key, parsed.version
                    );
                    failed = true;
                } else {
                    eprintln!(
                        "ok: {name} ({} version {}, {} question{})",
                        parsed.key,
                        parsed.version,
                        parsed.question_count(),
                        if parsed.question_count() == 1 {
                            ""
                        } else {
                            "s"
                        }
                    );
                    seen.push((parsed.key, parsed.version, name));
                }
            }
            Err(problems) => {
                failed = true;
                for problem in problems {
                    println!("{name}:{}: {}", problem.line, problem.message);
                }
            }
        }
    }
    i32::from(failed)
}

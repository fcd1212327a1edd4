//! The job worker: claims due jobs from the durable job table and runs them, retrying failures
//! with backoff. Every `portal serve` process runs one; tests call [`run_due`] instead.

mod email;
pub mod schedule;

use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;

use crate::app::AppState;
use crate::store::assessments::{JOB_STAFF_EMAIL, JOB_VENDOR_EMAIL};
use crate::store::entities::job;
use crate::store::jobs;

/// How often an idle worker looks for due jobs that nobody woke it for (retries, other
/// instances' jobs, expired leases).
const POLL_INTERVAL: Duration = Duration::from_secs(5);

/// Counts of one sweep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sweep {
    pub done: usize,
    /// Failed attempts that will run again later.
    pub retried: usize,
    /// Jobs that used their last attempt.
    pub failed: usize,
}

/// Runs due jobs until none is left.
///
/// # Errors
/// Fails when the job table cannot be read or written; a failing job is recorded, not returned.
pub async fn run_due(state: &AppState) -> anyhow::Result<Sweep> {
    let mut sweep = Sweep::default();
    loop {
        let now = state.clock().now();
        let Some(job) = jobs::claim_next(state.db().writer(), now, state.config().job_lease)
            .await
            .context("Failed to claim a job")?
        else {
            return Ok(sweep);
        };
        let started = std::time::Instant::now();
        match run_one(state, &job).await {
            Ok(()) => {
                jobs::mark_done(state.db().writer(), job.id, state.clock().now()).await?;
                tracing::info!(job_id = %job.id, kind = %job.kind, attempt = job.attempts, duration_ms = started.elapsed().as_millis() as u64, "job done");
                sweep.done += 1;
            }
            Err(error) => {
                let message = format!("{error:#}");
                let again =
                    jobs::mark_failed(state.db().writer(), &job, &message, state.clock().now())
                        .await?;
                if again {
                    tracing::warn!(job_id = %job.id, kind = %job.kind, attempt = job.attempts, error = %message, "job failed; it will be retried");
                    sweep.retried += 1;
                } else {
                    tracing::error!(job_id = %job.id, kind = %job.kind, attempt = job.attempts, error = %message, "job failed for the last time; staff can retry it from the jobs page");
                    sweep.failed += 1;
                }
            }
        }
    }
}

async fn run_one(state: &AppState, job: &job::Model) -> anyhow::Result<()> {
    match job.kind.as_str() {
        JOB_VENDOR_EMAIL => email::send_vendor_email(state, job).await,
        JOB_STAFF_EMAIL => email::send_staff_email(state, job).await,
        schedule::JOB_VENDOR_NOTICE => email::send_vendor_notice(state, job).await,
        schedule::JOB_START_ASSESSMENT => schedule::start_assessment(state, job).await,
        schedule::JOB_EXPIRE_ASSESSMENT => schedule::expire_assessment(state, job).await,
        other => anyhow::bail!("unknown job kind {other:?}"),
    }
}

/// Runs jobs as they become due until `stop` turns true.
pub async fn run_worker(state: AppState, mut stop: watch::Receiver<bool>) {
    tracing::info!("job worker started");
    loop {
        match run_due(&state).await {
            Ok(sweep) if sweep != Sweep::default() => {
                tracing::info!(
                    done = sweep.done,
                    retried = sweep.retried,
                    failed = sweep.failed,
                    "job sweep finished"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::error!(error = format!("{error:#}"), "job sweep failed"),
        }
        tokio::select! {
            () = state.jobs_waiting() => {}
            () = tokio::time::sleep(POLL_INTERVAL) => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
    }
    tracing::info!("job worker stopped");
}

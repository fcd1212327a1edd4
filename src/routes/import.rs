//! The vendor CSV import shared by the page and the API.

use crate::app::AppState;
use crate::domain::import::parse_vendor_csv;
use crate::error::AppError;
use crate::ids::TenantId;
use crate::store::audit::Actor;
use crate::store::vendors::{self, ImportReport};

/// Largest accepted import file: 10 MiB, about 50,000 typical rows (more than [`crate::domain::import::MAX_ROWS`]).
pub const IMPORT_MAX_BYTES: usize = 10 * 1024 * 1024;

pub fn too_large() -> AppError {
    AppError::PayloadTooLarge(format!(
        "The file is larger than {} MiB. Split it into smaller files and import them one after another.",
        IMPORT_MAX_BYTES / (1024 * 1024)
    ))
}

/// Reads and applies a CSV file. The outer error is a database failure; the inner one is a file
/// that cannot be read at all, with the message to show.
///
/// # Errors
/// [`AppError::Internal`] when the database fails; nothing is stored then.
pub async fn import_csv(
    state: &AppState,
    tenant: TenantId,
    actor: &Actor,
    bytes: &[u8],
) -> Result<Result<ImportReport, String>, AppError> {
    if bytes.len() > IMPORT_MAX_BYTES {
        return Err(too_large());
    }
    let parsed = match parse_vendor_csv(bytes) {
        Ok(parsed) => parsed,
        Err(message) => return Ok(Err(message)),
    };
    let report = vendors::import(
        state.db().writer(),
        tenant,
        parsed,
        actor,
        state.clock().now(),
    )
    .await?;
    tracing::info!(
        created = report.created,
        updated = report.updated,
        unchanged = report.unchanged,
        duplicate = report.duplicate,
        rejected = report.rejected,
        "vendor import finished"
    );
    Ok(Ok(report))
}

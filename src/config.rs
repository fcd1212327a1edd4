//! Every setting of the portal, its default and its environment variable, in one place.
//!
//! The command line (`src/main.rs`) fills [`Config`] from flags and `PORTAL_*` variables; tests
//! build it with [`Config::for_data_dir`] and change fields directly.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use url::Url;

/// Largest evidence upload accepted by default: 512 MiB.
pub const DEFAULT_EVIDENCE_MAX_BYTES: u64 = 512 * 1024 * 1024;

/// A setting that may contain a password. `Debug` and `Display` never print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the secret value. Call sites should pass it straight on, never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// Storage location of evidence files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvidenceLocation {
    /// A directory on the local disk.
    Directory(PathBuf),
    /// An S3 bucket and key prefix (`s3://bucket/prefix`).
    S3 { bucket: String, prefix: String },
}

impl EvidenceLocation {
    /// Parses `PORTAL_EVIDENCE`: `s3://bucket/prefix`, or a directory path.
    ///
    /// # Errors
    /// Fails on an `s3://` URL without a bucket name.
    pub fn parse(value: &str) -> anyhow::Result<Self> {
        let Some(rest) = value.strip_prefix("s3://") else {
            return Ok(Self::Directory(PathBuf::from(value)));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            bail!(
                "PORTAL_EVIDENCE {value:?} has no bucket name; write it as s3://BUCKET or s3://BUCKET/PREFIX"
            );
        }
        Ok(Self::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }
}

/// Output format of the logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per event, for log collectors.
    Json,
}

/// The portal's settings. See the configuration table in the README.
#[derive(Clone, Debug)]
pub struct Config {
    /// Directory for the SQLite database, local evidence files and the mail outbox.
    pub data_dir: PathBuf,
    /// Address the web server listens on.
    pub bind: SocketAddr,
    /// Public address of the portal, used in e-mailed links. Defaults to `http://BIND`.
    pub base_url: Option<Url>,
    /// Database connection URL. Defaults to SQLite at `DATA_DIR/portal.db`.
    pub database_url: Option<Secret>,
    /// Evidence store. Defaults to `DATA_DIR/evidence`.
    pub evidence: Option<EvidenceLocation>,
    /// Endpoint of an S3-compatible server, for stores other than AWS.
    pub s3_endpoint: Option<Url>,
    /// Server-side encryption for new objects: `AES256` or `aws:kms`.
    pub s3_encryption: Option<String>,
    /// KMS key for `aws:kms` encryption.
    pub s3_kms_key_id: Option<String>,
    /// SMTP server URL. Without it, messages are written to `DATA_DIR/outbox` as `.eml` files.
    pub smtp_url: Option<Secret>,
    /// PEM file of a certificate authority to trust for the SMTP server's TLS certificate, for
    /// servers with certificates from a hospital's internal CA.
    pub smtp_ca_file: Option<PathBuf>,
    /// Sender address of every message.
    pub mail_from: String,
    /// Largest accepted evidence upload, in bytes.
    pub evidence_max_bytes: u64,
    /// Idle time after which a staff session ends, in minutes.
    pub session_idle_minutes: i64,
    /// Whether `serve` runs the background job worker. Tests turn it off and run jobs
    /// themselves, so that they see every e-mail at a known point.
    pub run_worker: bool,
    /// How long a worker may hold a claimed job before another worker takes it over, as after a
    /// crash.
    pub job_lease: chrono::TimeDelta,
    /// Cron expression (with seconds) of the schedule sweep; none turns the sweep off, for
    /// operators who run `portal jobs run-due` from system cron instead.
    pub schedule: Option<String>,
}

/// The schedule sweep runs every 15 minutes, at second 0.
pub const DEFAULT_SCHEDULE: &str = "0 */15 * * * *";

impl Config {
    /// Returns the defaults with the data directory set, as `portal serve` would start with no
    /// other setting.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            base_url: None,
            database_url: None,
            evidence: None,
            s3_endpoint: None,
            s3_encryption: None,
            s3_kms_key_id: None,
            smtp_url: None,
            smtp_ca_file: None,
            mail_from: "Vendor Risk Portal <portal@localhost>".to_owned(),
            evidence_max_bytes: DEFAULT_EVIDENCE_MAX_BYTES,
            session_idle_minutes: 8 * 60,
            run_worker: true,
            job_lease: chrono::TimeDelta::minutes(5),
            schedule: Some(DEFAULT_SCHEDULE.to_owned()),
        }
    }

    /// Returns the database URL, defaulting to a SQLite file in the data directory.
    pub fn database_url(&self) -> Secret {
        match &self.database_url {
            Some(url) => url.clone(),
            None => Secret::new(format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("portal.db").display()
            )),
        }
    }

    /// Returns the base URL for links, defaulting to `http://BIND`.
    pub fn base_url(&self) -> Url {
        match &self.base_url {
            Some(url) => url.clone(),
            None => {
                Url::parse(&format!("http://{}", self.bind)).expect("a socket address forms a URL")
            }
        }
    }

    /// Returns an absolute URL for `path` (which starts with `/`) under the base URL, keeping
    /// any path prefix of the base URL.
    pub fn link(&self, path: &str) -> String {
        let base = self.base_url();
        format!("{}{}", base.as_str().trim_end_matches('/'), path)
    }

    /// Returns whether cookies get the `Secure` attribute. Only a portal served over HTTPS sets
    /// it, because browsers drop `Secure` cookies on plain-HTTP hosts other than localhost.
    pub fn secure_cookies(&self) -> bool {
        self.base_url().scheme() == "https"
    }

    pub fn evidence_location(&self) -> EvidenceLocation {
        self.evidence
            .clone()
            .unwrap_or_else(|| EvidenceLocation::Directory(self.data_dir.join("evidence")))
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    /// Creates the data directory when the configuration needs it.
    ///
    /// # Errors
    /// Fails when the directory cannot be created.
    pub fn prepare_data_dir(&self) -> anyhow::Result<()> {
        create_dir(&self.data_dir)
    }
}

fn create_dir(path: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(path)
        .with_context(|| format!("Failed to create the data directory {}", path.display()))
}

/// Environment variables the portal reads. Any other `PORTAL_*` variable is reported at start,
/// because it is most likely a misspelling.
pub const KNOWN_VARIABLES: &[&str] = &[
    "PORTAL_DATA_DIR",
    "PORTAL_BIND",
    "PORTAL_BASE_URL",
    "PORTAL_EVIDENCE",
    "PORTAL_S3_ENDPOINT",
    "PORTAL_S3_SSE",
    "PORTAL_S3_SSE_KMS_KEY_ID",
    "PORTAL_SMTP_URL",
    "PORTAL_SMTP_CA_FILE",
    "PORTAL_MAIL_FROM",
    "PORTAL_EVIDENCE_MAX_BYTES",
    "PORTAL_SESSION_IDLE_MINUTES",
    "PORTAL_JOB_LEASE_SECONDS",
    "PORTAL_SCHEDULE",
    "PORTAL_LOG_FORMAT",
];

/// Returns the names of `PORTAL_*` variables in the environment that the portal does not read.
pub fn unknown_variables() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| name.starts_with("PORTAL_") && !KNOWN_VARIABLES.contains(&name.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_location_parses_s3_url() {
        let location = EvidenceLocation::parse("s3://bucket/some/prefix/").unwrap();
        assert_eq!(
            location,
            EvidenceLocation::S3 {
                bucket: "bucket".into(),
                prefix: "some/prefix".into()
            }
        );
    }

    #[test]
    fn evidence_location_rejects_missing_bucket() {
        let error = EvidenceLocation::parse("s3:///prefix").unwrap_err();
        assert!(error.to_string().contains("no bucket name"));
    }

    #[test]
    fn secret_debug_hides_value() {
        let secret = Secret::new("postgres://user:hunter2@db/portal");
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    #[test]
    fn link_keeps_base_path() {
        let mut config = Config::for_data_dir("/tmp/x");
        config.base_url = Some(Url::parse("https://example.org/portal/").unwrap());
        assert_eq!(
            config.link("/sign-in"),
            "https://example.org/portal/sign-in"
        );
    }
}

//! Sending e-mail: to `.eml` files in the outbox directory by default, or through SMTP.

use std::path::PathBuf;

use anyhow::Context;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;

/// How long one SMTP exchange may take before it counts as failed and is retried.
const SMTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Builds TLS settings that trust the given CA, in the mode the URL asks for: `smtps://` for TLS
/// from the start, `?tls=required` or `?tls=opportunistic` for STARTTLS.
fn tls_with_ca(url: &str, ca_file: &std::path::Path) -> anyhow::Result<Tls> {
    let parsed = url::Url::parse(url).context("PORTAL_SMTP_URL is not a valid URL")?;
    let host = parsed
        .host_str()
        .context("PORTAL_SMTP_URL has no host")?
        .to_owned();
    let pem = std::fs::read(ca_file)
        .with_context(|| format!("Failed to read PORTAL_SMTP_CA_FILE {}", ca_file.display()))?;
    let certificate = Certificate::from_pem(&pem).with_context(|| {
        format!(
            "PORTAL_SMTP_CA_FILE {} is not a PEM certificate",
            ca_file.display()
        )
    })?;
    let parameters = TlsParameters::builder(host)
        .add_root_certificate(certificate)
        .build_rustls()
        .context("Failed to set up TLS for SMTP")?;
    let mode = parsed
        .query_pairs()
        .find(|(name, _)| name == "tls")
        .map(|(_, value)| value.into_owned());
    match (parsed.scheme(), mode.as_deref()) {
        ("smtps", _) => Ok(Tls::Wrapper(parameters)),
        (_, Some("required")) => Ok(Tls::Required(parameters)),
        (_, Some("opportunistic")) => Ok(Tls::Opportunistic(parameters)),
        _ => anyhow::bail!(
            "PORTAL_SMTP_CA_FILE is set but PORTAL_SMTP_URL uses no TLS; use smtps:// or add ?tls=required"
        ),
    }
}
use crate::templates::EmailContent;

/// The configured mail transport.
#[derive(Clone)]
pub enum Mailer {
    /// Writes each message as an `.eml` file, for installations without a mail server.
    Outbox {
        dir: PathBuf,
        transport: AsyncFileTransport<Tokio1Executor>,
    },
    /// Sends through an SMTP server.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mailer::Outbox { dir, .. } => f.debug_struct("Outbox").field("dir", dir).finish(),
            Mailer::Smtp(_) => f.write_str("Smtp"),
        }
    }
}

impl Mailer {
    /// Creates the transport from the configuration.
    ///
    /// # Errors
    /// Fails when the SMTP URL is invalid or the outbox directory cannot be created.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        match &config.smtp_url {
            Some(url) => {
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .context("PORTAL_SMTP_URL is not a valid SMTP URL; write it as smtp://user:password@host:587?tls=required or smtps://host")?
                    .timeout(Some(SMTP_TIMEOUT));
                if let Some(ca_file) = &config.smtp_ca_file {
                    builder = builder.tls(tls_with_ca(url.expose(), ca_file)?);
                }
                Ok(Self::Smtp(builder.build()))
            }
            None => {
                let dir = config.outbox_dir();
                std::fs::create_dir_all(&dir).with_context(|| {
                    format!("Failed to create the mail outbox {}", dir.display())
                })?;
                Ok(Self::Outbox {
                    transport: AsyncFileTransport::new(&dir),
                    dir,
                })
            }
        }
    }

    /// Sends one message with a plain-text and an HTML part.
    ///
    /// # Errors
    /// Fails when the message cannot be built or the transport rejects it.
    pub async fn send(&self, from: &str, to: Mailbox, content: EmailContent) -> anyhow::Result<()> {
        self.send_with_id(from, to, content, None, None).await
    }

    /// Sends one message, with a `Message-ID` that stays the same when a job sends it again, so
    /// that a message sent twice after a crash can be recognized as one. `date` sets the `Date`
    /// header from the portal's clock; without it the header carries the system time.
    ///
    /// # Errors
    /// Fails when the message cannot be built or the transport rejects it.
    pub async fn send_with_id(
        &self,
        from: &str,
        to: Mailbox,
        content: EmailContent,
        message_id: Option<String>,
        date: Option<chrono::DateTime<chrono::Utc>>,
    ) -> anyhow::Result<()> {
        let from: Mailbox = from
            .parse()
            .with_context(|| format!("PORTAL_MAIL_FROM {from:?} is not a valid sender address"))?;
        let mut builder = Message::builder().message_id(message_id);
        if let Some(date) = date {
            builder = builder.date(std::time::SystemTime::from(date));
        }
        let message = builder
            .from(from)
            .to(to)
            .subject(content.subject)
            .multipart(MultiPart::alternative_plain_html(
                content.text,
                content.html,
            ))
            .context("Failed to build an e-mail message")?;
        match self {
            Mailer::Outbox { dir, transport } => {
                let id = transport
                    .send(message)
                    .await
                    .context("Failed to write a message to the outbox")?;
                tracing::info!(outbox = %dir.display(), message_file = %format!("{id}.eml"), "message written to the outbox");
            }
            Mailer::Smtp(transport) => {
                transport
                    .send(message)
                    .await
                    .context("The SMTP server did not accept the message")?;
                tracing::info!("message sent through SMTP");
            }
        }
        Ok(())
    }
}

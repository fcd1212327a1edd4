//! Sending e-mail: to `.eml` files in the outbox directory by default, or through SMTP.

use std::path::PathBuf;

use anyhow::Context;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;
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
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .context("PORTAL_SMTP_URL is not a valid SMTP URL; write it as smtp://user:password@host:587?tls=required or smtps://host")?
                    .build();
                Ok(Self::Smtp(transport))
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
        let from: Mailbox = from
            .parse()
            .with_context(|| format!("PORTAL_MAIL_FROM {from:?} is not a valid sender address"))?;
        let message = Message::builder()
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

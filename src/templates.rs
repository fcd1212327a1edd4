//! HTML page and e-mail templates (minijinja), embedded from `templates/` at build time.
//!
//! Values in files ending in `.html` are HTML-escaped on output, and values in `.txt` files are
//! not. So an apostrophe or ampersand appears literally in a plain-text e-mail and escaped
//! exactly once in HTML.

use chrono::{DateTime, NaiveDate, Utc};
use minijinja::{Environment, Value, value::ViaDeserialize};
use serde::Serialize;

/// A rendered e-mail: subject, plain-text body and HTML body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailContent {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub struct Templates {
    env: Environment<'static>,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

impl Templates {
    pub fn new() -> Self {
        let mut env = Environment::new();
        minijinja_embed::load_templates!(&mut env);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.add_filter("date", format_date);
        env.add_filter("datetime", format_datetime);
        Self { env }
    }

    /// Renders the template `name` with `context`.
    ///
    /// # Errors
    /// Fails when the template is missing or uses a value the context lacks.
    pub fn render(&self, name: &str, context: impl Serialize) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(context)
    }

    /// Renders `email/NAME.subject.txt`, `email/NAME.txt` and `email/NAME.html`.
    ///
    /// # Errors
    /// Fails when a template is missing or uses a value the context lacks.
    pub fn render_email(
        &self,
        name: &str,
        context: impl Serialize,
    ) -> Result<EmailContent, minijinja::Error> {
        let context = Value::from_serialize(&context);
        let subject = self.render(&format!("email/{name}.subject.txt"), &context)?;
        Ok(EmailContent {
            // A subject is one line; template files end with a newline.
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            text: self.render(&format!("email/{name}.txt"), &context)?,
            html: self.render(&format!("email/{name}.html"), &context)?,
        })
    }
}

/// Formats a date as "Dec 4, 2026", the form US readers expect.
fn format_date(value: ViaDeserialize<NaiveDate>) -> String {
    value.format("%b %-d, %Y").to_string()
}

/// Formats a timestamp as "Dec 4, 2026 19:51 UTC", or in the IANA time zone given as the
/// argument as "Dec 4, 2026 14:51 EST".
fn format_datetime(value: ViaDeserialize<DateTime<Utc>>, zone: Option<String>) -> String {
    match zone.and_then(|zone| zone.parse::<chrono_tz::Tz>().ok()) {
        Some(zone) => value
            .with_timezone(&zone)
            .format("%b %-d, %Y %H:%M %Z")
            .to_string(),
        None => value.format("%b %-d, %Y %H:%M UTC").to_string(),
    }
}

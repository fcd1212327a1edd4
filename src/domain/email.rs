//! E-mail addresses, parsed once at the boundary.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A syntactically valid e-mail address with a domain that has a dot, as every address a vendor
/// or staff member reaches us from does. Validation uses lettre's parser, so every accepted
/// address can also be sent to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses an address, trimming surrounding spaces.
    ///
    /// # Errors
    /// Returns a message that names the value and says what is wrong with it.
    pub fn parse(input: &str) -> Result<Self, String> {
        let value = input.trim();
        if value.is_empty() {
            return Err("Enter an e-mail address.".to_owned());
        }
        if value.chars().count() > 254 {
            return Err(format!(
                "The e-mail address {value:?} is longer than 254 characters."
            ));
        }
        let address: lettre::Address = value.parse().map_err(|_| {
            format!("{value:?} is not a valid e-mail address; write it as name@example.com.")
        })?;
        if !address.domain().contains('.') {
            return Err(format!(
                "The e-mail address {value:?} has no full domain; write it as name@example.com."
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the lowercase form used to compare addresses and enforce uniqueness.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_and_trims() {
        let email = EmailAddress::parse("  Jane.Doe+vendor@Example.org ").unwrap();
        assert_eq!(email.as_str(), "Jane.Doe+vendor@Example.org");
        assert_eq!(email.key(), "jane.doe+vendor@example.org");
    }

    #[test]
    fn parse_rejects_bad_addresses() {
        for input in [
            "",
            "jane",
            "jane@",
            "@example.org",
            "jane@localhost",
            "jane doe@example.org",
            "a@b@c.org",
        ] {
            assert!(
                EmailAddress::parse(input).is_err(),
                "{input:?} was accepted"
            );
        }
    }

    #[test]
    fn parse_error_names_value() {
        let message = EmailAddress::parse("jane.example.org").unwrap_err();
        assert!(message.contains("jane.example.org"), "{message}");
    }
}

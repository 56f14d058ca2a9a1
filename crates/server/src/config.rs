//! Configuration of `firebreak serve`, and its one precedence:
//! command-line flags, then environment variables, then the TOML file given by `--config`,
//! then built-in defaults.
//!
//! [`RawConfig`] is what each source says (every field optional); [`RawConfig::or`] layers them
//! and [`RawConfig::check`] validates the result once into a [`Config`].

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, bail};
use serde::Deserialize;

/// Address `serve` listens on when nothing says otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Database used when nothing says otherwise: an SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite:firebreak.db";

/// The documented configuration file, with every option at its default.
pub const EXAMPLE_CONFIG: &str = include_str!("../example-config.toml");

/// What one source of configuration says.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub log_format: Option<String>,
    pub public_url: Option<String>,
    pub prometheus_url: Option<String>,
    pub smtp_url: Option<String>,
    pub smtp_from: Option<String>,
    pub smtp_ca_file: Option<String>,
    pub twilio_account_sid: Option<String>,
    pub twilio_auth_token: Option<String>,
    pub twilio_from: Option<String>,
    pub twilio_api_url: Option<String>,
    pub oidc_issuer: Option<String>,
    pub oidc_client_id: Option<String>,
    pub oidc_client_secret: Option<String>,
    pub oidc_create_users: Option<bool>,
}

/// Checked configuration of `serve`.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    pub log_format: LogFormat,
    /// The URL people use to reach this server, for links; derived from `listen` when not set.
    pub public_url: String,
    /// Base URL of a Prometheus-compatible query API for golden signals.
    pub prometheus_url: Option<String>,
    /// The mail server that email pages go through; without one, email contact methods fail.
    pub smtp: Option<firebreak_notify::SmtpConfig>,
    /// The Twilio account (or a Twilio-compatible API) that sends SMS pages and places calls;
    /// without one, SMS and voice contact methods fail.
    pub twilio: Option<firebreak_notify::TwilioConfig>,
    /// The OpenID Connect provider people may sign in with.
    pub oidc: Option<firebreak_app::oidc::OidcConfig>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl RawConfig {
    /// Reads a TOML configuration file.
    pub fn from_file(path: &Path) -> anyhow::Result<RawConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
    }

    /// `self`, with what it leaves unset taken from `lower`.
    pub fn or(self, lower: RawConfig) -> RawConfig {
        RawConfig {
            listen: self.listen.or(lower.listen),
            database_url: self.database_url.or(lower.database_url),
            log_format: self.log_format.or(lower.log_format),
            public_url: self.public_url.or(lower.public_url),
            prometheus_url: self.prometheus_url.or(lower.prometheus_url),
            smtp_url: self.smtp_url.or(lower.smtp_url),
            smtp_from: self.smtp_from.or(lower.smtp_from),
            smtp_ca_file: self.smtp_ca_file.or(lower.smtp_ca_file),
            twilio_account_sid: self.twilio_account_sid.or(lower.twilio_account_sid),
            twilio_auth_token: self.twilio_auth_token.or(lower.twilio_auth_token),
            twilio_from: self.twilio_from.or(lower.twilio_from),
            twilio_api_url: self.twilio_api_url.or(lower.twilio_api_url),
            oidc_issuer: self.oidc_issuer.or(lower.oidc_issuer),
            oidc_client_id: self.oidc_client_id.or(lower.oidc_client_id),
            oidc_client_secret: self.oidc_client_secret.or(lower.oidc_client_secret),
            oidc_create_users: self.oidc_create_users.or(lower.oidc_create_users),
        }
    }

    /// Fills in defaults and validates.
    pub fn check(self) -> anyhow::Result<Config> {
        let listen = self.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen: SocketAddr = listen.parse().with_context(|| {
            format!("invalid listen address {listen:?}; expected IP:PORT such as {DEFAULT_LISTEN}")
        })?;
        let log_format = match self.log_format.as_deref().unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => bail!("invalid log format {other:?}; expected text or json"),
        };
        let public_url = match self.public_url {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                url.trim_end_matches('/').to_owned()
            }
            Some(url) => bail!("invalid public URL {url:?}; expected http://… or https://…"),
            None => {
                let host = if listen.ip().is_unspecified() {
                    "127.0.0.1".to_owned()
                } else {
                    listen.ip().to_string()
                };
                let host = if listen.is_ipv6() && !listen.ip().is_unspecified() {
                    format!("[{host}]")
                } else {
                    host
                };
                format!("http://{host}:{}", listen.port())
            }
        };
        let prometheus_url = match self.prometheus_url {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => Some(url),
            Some(url) => bail!("invalid Prometheus URL {url:?}; expected http://… or https://…"),
            None => None,
        };
        let smtp = match (&self.smtp_url, &self.smtp_from, &self.smtp_ca_file) {
            (None, None, None) => None,
            (None, _, _) => bail!("smtp_from and smtp_ca_file need smtp_url"),
            (Some(url), from, ca_file) => {
                let from = from.clone().unwrap_or_else(|| "firebreak@localhost".to_owned());
                let smtp = firebreak_notify::SmtpConfig::parse(url, &from, ca_file.as_deref().map(Path::new))
                    .map_err(|err| anyhow::anyhow!("invalid SMTP settings: {err}"))?;
                Some(smtp)
            }
        };
        let twilio = match (&self.twilio_account_sid, &self.twilio_auth_token, &self.twilio_from) {
            (None, None, None) if self.twilio_api_url.is_none() => None,
            (Some(sid), Some(token), Some(from)) => {
                let mut twilio = firebreak_notify::TwilioConfig::new(sid.trim(), token.trim(), from.trim());
                if let Some(url) = &self.twilio_api_url {
                    twilio.api_base = url
                        .parse()
                        .map_err(|err| anyhow::anyhow!("invalid Twilio API URL {url:?}: {err}"))?;
                }
                twilio.validate().map_err(|err| anyhow::anyhow!("invalid Twilio settings: {err}"))?;
                Some(twilio)
            }
            _ => {
                bail!("SMS and voice pages need all of twilio_account_sid, twilio_auth_token and twilio_from")
            }
        };
        let oidc = match (&self.oidc_issuer, &self.oidc_client_id, &self.oidc_client_secret) {
            (None, None, None) => None,
            (Some(issuer), Some(client_id), Some(client_secret)) => {
                if !issuer.starts_with("https://") && !issuer.starts_with("http://") {
                    bail!("invalid OpenID issuer {issuer:?}; expected https://…");
                }
                Some(firebreak_app::oidc::OidcConfig {
                    issuer: issuer.trim().to_owned(),
                    client_id: client_id.trim().to_owned(),
                    client_secret: client_secret.trim().to_owned(),
                    create_users: self.oidc_create_users.unwrap_or(false),
                })
            }
            _ => bail!(
                "signing in with OpenID Connect needs all of oidc_issuer, oidc_client_id and oidc_client_secret"
            ),
        };
        Ok(Config {
            oidc,
            smtp,
            twilio,
            prometheus_url,
            listen,
            database_url: self.database_url.unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            log_format,
            public_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses_to_the_defaults() {
        let raw: RawConfig = toml::from_str(EXAMPLE_CONFIG).unwrap();
        let config = raw.check().unwrap();
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.public_url, "http://127.0.0.1:8080");
    }

    #[test]
    fn precedence() {
        let flags = RawConfig { listen: Some("0.0.0.0:9000".into()), ..Default::default() };
        let file = RawConfig {
            listen: Some("127.0.0.1:1".into()),
            database_url: Some("postgres://db/x".into()),
            ..Default::default()
        };
        let config = flags.or(file).check().unwrap();
        assert_eq!(config.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(config.database_url, "postgres://db/x");
        assert_eq!(config.public_url, "http://127.0.0.1:9000");
    }

    #[test]
    fn errors_name_the_bad_value() {
        let err = RawConfig { listen: Some("localhost".into()), ..Default::default() }.check().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid listen address \"localhost\"; expected IP:PORT such as 127.0.0.1:8080"
        );
        let err: Result<RawConfig, _> = toml::from_str("lisen = \"x\"");
        assert!(err.unwrap_err().to_string().contains("unknown field `lisen`"));
    }
}

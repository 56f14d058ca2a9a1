//! Pages by email: the SMTP server configuration, the message, and how SMTP answers map to
//! [`SendError`].
//!
//! Each email opens its own SMTP connection. Pages are rare enough that a pool would mostly hold
//! connections the server has already dropped, and a fresh connection fails in one clear way.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use percent_encoding::percent_decode_str;
use url::{Host, Url};

use crate::{Delivered, Page, SMTP_CONNECT_TIMEOUT, SMTP_SEND_TIMEOUT, SendError, headline, one_line};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// No encryption (`smtp://host`, default port 25): only for a relay on the same host or network.
    Plain,
    /// STARTTLS, required: the message is not sent if the server does not offer it
    /// (`smtp://host?tls=starttls`, default port 587).
    StartTls,
    /// TLS from the first byte (`smtps://host`, default port 465).
    Tls,
}

/// Where and how to send email, checked once at startup.
///
/// Its `Debug` output shows the password as `<redacted>`.
#[derive(Clone)]
pub struct SmtpConfig {
    host: String,
    port: u16,
    security: SmtpSecurity,
    credentials: Option<(String, String)>,
    from: Mailbox,
    ca_file: Option<PathBuf>,
    ca_pem: Option<Vec<u8>>,
}

/// The SMTP transport and sender, built once from an [`SmtpConfig`].
pub(crate) struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The domain of Message-IDs, taken from the sender address so that they are unique to this sender.
    message_id_domain: String,
    /// For `Debug`: where the email goes, without credentials.
    server: String,
}

impl SmtpConfig {
    /// Reads an SMTP URL, the sender address and an optional extra trusted CA certificate.
    ///
    /// URL forms: `smtp://[user:password@]host[:port]` (unencrypted), `smtp://…?tls=starttls` (STARTTLS
    /// required) and `smtps://…` (implicit TLS); the user and password are percent-decoded. `from` is a
    /// mailbox such as `firebreak@example.com` or `Firebreak <firebreak@example.com>`. `ca_file` is a PEM
    /// file whose certificates are trusted in addition to the built-in roots, for servers with a private
    /// CA.
    ///
    /// Returns an error, which never contains the password, for: another scheme, a missing host, a path,
    /// an unknown query parameter, a user without a password, credentials over an unencrypted connection
    /// to a host other than loopback, an invalid sender, or a CA file that cannot be read or holds no
    /// certificate.
    pub fn parse(url: &str, from: &str, ca_file: Option<&Path>) -> Result<SmtpConfig, String> {
        // Errors from the url crate do not echo the input, so the password cannot leak through them.
        let url = Url::parse(url).map_err(|error| format!("invalid SMTP URL: {error}"))?;
        let scheme = url.scheme();
        let mut security = match scheme {
            "smtp" => SmtpSecurity::Plain,
            "smtps" => SmtpSecurity::Tls,
            _ => return Err(format!("SMTP URL must start with smtp:// or smtps://, not {scheme}://")),
        };
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref(), security) {
                ("tls", "starttls", SmtpSecurity::Plain) => security = SmtpSecurity::StartTls,
                ("tls", _, SmtpSecurity::Tls) => {
                    return Err("smtps:// always uses TLS: remove the tls parameter".into());
                }
                ("tls", other, _) => {
                    return Err(format!("unknown SMTP tls mode {other:?}: the only one is tls=starttls"));
                }
                (other, _, _) => return Err(format!("unknown SMTP URL parameter {other:?}")),
            }
        }
        let host = match url.host() {
            Some(Host::Domain(domain)) if !domain.is_empty() => domain.to_ascii_lowercase(),
            Some(Host::Ipv4(address)) => address.to_string(),
            Some(Host::Ipv6(address)) => address.to_string(),
            _ => return Err("SMTP URL has no host".into()),
        };
        if !matches!(url.path(), "" | "/") {
            return Err("SMTP URL must not have a path".into());
        }
        if url.fragment().is_some() {
            return Err("SMTP URL must not have a fragment".into());
        }
        let port = url.port().unwrap_or(match security {
            SmtpSecurity::Plain => 25,
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
        });
        let decode = |text: &str, what: &str| {
            percent_decode_str(text)
                .decode_utf8()
                .map(|text| text.into_owned())
                .map_err(|_| format!("SMTP {what} is not valid UTF-8 after percent-decoding"))
        };
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            ("", Some(_)) => return Err("SMTP URL has a password but no user".into()),
            (_, None) => return Err("SMTP URL has a user but no password".into()),
            (user, Some(password)) => Some((decode(user, "user")?, decode(password, "password")?)),
        };
        if credentials.is_some() && security == SmtpSecurity::Plain && !is_loopback(&host) {
            return Err(
                "refusing to send the SMTP password unencrypted: use smtps:// or add ?tls=starttls".into()
            );
        }
        let from: Mailbox =
            from.parse().map_err(|error| format!("invalid sender address {from:?}: {error}"))?;
        let ca_pem = match ca_file {
            Some(path) => {
                let pem = std::fs::read(path)
                    .map_err(|error| format!("reading CA file {}: {error}", path.display()))?;
                if !pem.windows(27).any(|window| window == b"-----BEGIN CERTIFICATE-----") {
                    return Err(format!("CA file {} holds no PEM certificate", path.display()));
                }
                Certificate::from_pem(&pem)
                    .map_err(|error| format!("reading CA file {}: {error}", path.display()))?;
                Some(pem)
            }
            None => None,
        };
        Ok(SmtpConfig {
            host,
            port,
            security,
            credentials,
            from,
            ca_file: ca_file.map(Path::to_path_buf),
            ca_pem,
        })
    }

    /// The SMTP server's host name or IP address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The SMTP server's port, explicit or the default of the [`SmtpSecurity`].
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How the connection is protected.
    pub fn security(&self) -> SmtpSecurity {
        self.security
    }

    /// The user to authenticate as, if any.
    pub fn user(&self) -> Option<&str> {
        self.credentials.as_ref().map(|(user, _)| user.as_str())
    }

    /// The sender of every page email, as given (display name included).
    pub fn from(&self) -> String {
        self.from.to_string()
    }
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user())
            .field("password", &self.credentials.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from.to_string())
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl Smtp {
    pub(crate) fn new(config: SmtpConfig) -> Result<Smtp, String> {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.as_str())
            .port(config.port)
            .timeout(Some(SMTP_CONNECT_TIMEOUT));
        if config.security != SmtpSecurity::Plain {
            let mut tls = TlsParameters::builder(config.host.clone());
            if let Some(pem) = &config.ca_pem {
                let certificate = Certificate::from_pem(pem)
                    .map_err(|error| format!("loading the SMTP CA certificate: {error}"))?;
                tls = tls.add_root_certificate(certificate);
            }
            let tls = tls.build_rustls().map_err(|error| format!("setting up TLS for SMTP: {error}"))?;
            builder = builder.tls(match config.security {
                SmtpSecurity::StartTls => Tls::Required(tls),
                _ => Tls::Wrapper(tls),
            });
        }
        if let Some((user, password)) = &config.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let message_id_domain = config.from.email.domain().to_owned();
        let server = format!("{}:{} ({:?})", config.host, config.port, config.security);
        Ok(Smtp { transport: builder.build(), from: config.from, message_id_domain, server })
    }

    pub(crate) async fn send(
        &self,
        address: &str,
        page: &Page,
        now: jiff::Timestamp,
    ) -> Result<Delivered, SendError> {
        let message = self.message(address, page, now)?;
        let sent = tokio::time::timeout(SMTP_SEND_TIMEOUT, self.transport.send(message)).await;
        match sent {
            Err(_elapsed) => Err(SendError::Transient(format!(
                "SMTP server did not finish within {} s",
                SMTP_SEND_TIMEOUT.as_secs()
            ))),
            Ok(Ok(response)) => {
                let text: Vec<&str> = response.message().collect();
                Ok(Delivered { detail: one_line(&format!("{} {}", response.code(), text.join(" ")), 500) })
            }
            Ok(Err(error)) => Err(classify(&error)),
        }
    }

    fn message(&self, address: &str, page: &Page, now: jiff::Timestamp) -> Result<Message, SendError> {
        let address: Address = address
            .parse()
            .map_err(|error| SendError::Permanent(format!("invalid email address: {error}")))?;
        let to = Mailbox::new(Some(one_line(&page.recipient, 100)), address);
        let message_id = format!("<{}@{}>", message_id_part(&page.delivery_id), self.message_id_domain);
        // All pages of one incident refer to one made-up parent, so mail clients thread them together.
        let thread = format!("<incident-{}@{}>", page.incident_id, self.message_id_domain);
        let mut message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(headline(page))
            .date(SystemTime::from(now))
            .message_id(Some(message_id))
            .references(thread)
            .header(ContentType::TEXT_PLAIN)
            .body(body(page))
            .map_err(|error| SendError::Permanent(format!("building the email failed: {error}")))?;
        let headers = message.headers_mut();
        // Asks vacation responders and ticket systems not to answer a machine.
        headers.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ));
        headers.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Firebreak-Delivery"),
            message_id_part(&page.delivery_id),
        ));
        Ok(message)
    }
}

impl fmt::Debug for Smtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Smtp").field("server", &self.server).field("from", &self.from.to_string()).finish()
    }
}

pub(crate) fn validate_address(address: &str) -> Result<(), String> {
    // RFC 5321 limits a forward path to 256 octets, 254 of them the address.
    if address.len() > 254 {
        return Err("email address is longer than 254 bytes".into());
    }
    address.parse::<Address>().map(drop).map_err(|error| format!("invalid email address: {error}"))
}

/// The plain-text body: what happened first, then what to do about it.
fn body(page: &Page) -> String {
    let mut text = String::new();
    text.push_str(&format!("{}\n\n", headline(page)));
    let escalation = if page.wakes_management {
        format!("{} (this level wakes management)", page.level)
    } else {
        page.level.to_string()
    };
    let fields = [
        ("Service", one_line(&page.service, 200)),
        ("Severity", one_line(&page.severity, 16)),
        ("Kind", one_line(&page.kind, 50)),
        ("Status", one_line(&page.status, 50)),
        ("Level", escalation),
        ("Incident", format!("#{}", page.incident_id)),
        ("Summary", one_line(&page.title, 1000)),
    ];
    for (name, value) in fields {
        text.push_str(&format!("{:<10}{value}\n", format!("{name}:")));
    }
    text.push('\n');
    text.push_str(&format!("Acknowledge: {}\n", page.acknowledge_url));
    text.push_str(&format!("Resolve:     {}\n", page.resolve_url));
    text.push_str(&format!("Incident:    {}\n", page.incident_url));
    text.push_str(&format!(
        "\nYou get this page because {} is on call. The acknowledge and resolve links work without \
         logging in; do not forward this email.\n",
        one_line(&page.recipient, 100)
    ));
    text
}

/// Keeps the characters a Message-ID's local part may hold, so an odd delivery id cannot break the header.
fn message_id_part(delivery_id: &str) -> String {
    let part: String = delivery_id
        .chars()
        .take(200)
        .map(|c| if c.is_ascii_alphanumeric() || "-_.+=".contains(c) { c } else { '-' })
        .collect();
    if part.is_empty() { "page".into() } else { part }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|address| address.is_loopback())
}

/// SMTP 5xx answers are permanent; 4xx answers, lost connections, TLS failures and timeouts may pass.
fn classify(error: &lettre::transport::smtp::Error) -> SendError {
    // lettre's messages hold the server's answer and the cause, never the credentials.
    let message = one_line(&format!("SMTP delivery failed: {error}"), 500);
    if error.is_permanent() { SendError::Permanent(message) } else { SendError::Transient(message) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, expected: &str) {
        let actual = match SmtpConfig::parse(url, "Firebreak <pager@example.com>", None) {
            Ok(config) => format!(
                "{:?} {}:{} user={:?}",
                config.security(),
                config.host(),
                config.port(),
                config.user()
            ),
            Err(error) => format!("error: {error}"),
        };
        assert_eq!(actual, expected, "{url}");
    }

    #[test]
    fn smtp_urls() {
        check("smtp://relay.internal", "Plain relay.internal:25 user=None");
        check("smtp://127.0.0.1:2525", "Plain 127.0.0.1:2525 user=None");
        check("smtp://u:p@localhost:2525", "Plain localhost:2525 user=Some(\"u\")");
        check("smtp://u:p@[::1]:2525/", "Plain ::1:2525 user=Some(\"u\")");
        check("smtp://mail.example.com?tls=starttls", "StartTls mail.example.com:587 user=None");
        check(
            "smtp://pager%40example.com:p%3As@mail.example.com:2587?tls=starttls",
            "StartTls mail.example.com:2587 user=Some(\"pager@example.com\")",
        );
        check("smtps://mail.example.com", "Tls mail.example.com:465 user=None");
        check("SMTPS://u:p@MAIL.example.com:1465", "Tls mail.example.com:1465 user=Some(\"u\")");
    }

    #[test]
    fn smtp_url_errors() {
        check("mail.example.com", "error: invalid SMTP URL: relative URL without a base");
        check("http://mail.example.com", "error: SMTP URL must start with smtp:// or smtps://, not http://");
        check("smtp://", "error: SMTP URL has no host");
        check("smtp://:25", "error: invalid SMTP URL: empty host");
        check("smtp://mail.example.com:99999", "error: invalid SMTP URL: invalid port number");
        check("smtp://mail.example.com/ehlo", "error: SMTP URL must not have a path");
        check("smtp://mail.example.com#x", "error: SMTP URL must not have a fragment");
        check(
            "smtp://mail.example.com?tls=required",
            "error: unknown SMTP tls mode \"required\": the only one is tls=starttls",
        );
        check(
            "smtps://mail.example.com?tls=starttls",
            "error: smtps:// always uses TLS: remove the tls parameter",
        );
        check("smtp://mail.example.com?timeout=5", "error: unknown SMTP URL parameter \"timeout\"");
        check("smtps://u@mail.example.com", "error: SMTP URL has a user but no password");
        check("smtps://:hunter2@mail.example.com", "error: SMTP URL has a password but no user");
        check(
            "smtp://u:hunter2@mail.example.com",
            "error: refusing to send the SMTP password unencrypted: use smtps:// or add ?tls=starttls",
        );
        check(
            "smtps://u:%FF@mail.example.com",
            "error: SMTP password is not valid UTF-8 after percent-decoding",
        );
    }

    #[test]
    fn sender_and_ca_file_errors() {
        let error = SmtpConfig::parse("smtps://mail.example.com", "not an address", None).unwrap_err();
        assert!(error.starts_with("invalid sender address \"not an address\""), "{error}");

        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("missing.pem");
        let error =
            SmtpConfig::parse("smtps://mail.example.com", "a@example.com", Some(&missing)).unwrap_err();
        assert!(error.starts_with("reading CA file ") && error.contains("missing.pem"), "{error}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let error = SmtpConfig::parse("smtps://mail.example.com", "a@example.com", Some(&empty)).unwrap_err();
        assert!(error.ends_with("holds no PEM certificate"), "{error}");
    }

    #[test]
    fn debug_redacts_the_password() {
        let config =
            SmtpConfig::parse("smtps://pager:hunter%32@mail.example.com", "pager@example.com", None).unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter"), "{debug}");
        assert!(debug.contains("<redacted>") && debug.contains("pager"), "{debug}");
        let notifier =
            crate::Notifier::new(crate::Channels { smtp: Some(config), twilio: None }).expect("notifier");
        let debug = format!("{notifier:?}");
        assert!(!debug.contains("hunter"), "{debug}");
    }

    #[test]
    fn errors_never_contain_the_password() {
        for url in
            ["smtp://u:hunter2@mail.example.com", "smtp://u:hunter2@mail.example.com/x", "ftp://u:hunter2@h"]
        {
            let error = SmtpConfig::parse(url, "a@example.com", None).unwrap_err();
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn message_ids_keep_safe_characters() {
        assert_eq!(message_id_part("0193a1b2-7c3d-7e4f"), "0193a1b2-7c3d-7e4f");
        assert_eq!(message_id_part("a b<c>@d\r\n"), "a-b-c--d--");
        assert_eq!(message_id_part(""), "page");
    }
}

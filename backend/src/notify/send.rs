//! Sending one message through one channel or to one user's contact method: webhook,
//! Slack-compatible webhook, or email.

use std::fmt;
use std::time::Duration;

use hmac::{Hmac, Mac};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::json;
use sha2::Sha256;
use vigil_shared::notify::SmtpTls;

use super::message::Message;
use crate::outbound::{Outbound, Unreachable};

/// How long one attempt may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how a channel sends (secrets included: this never leaves the server).
#[derive(Clone, Debug)]
pub enum Target {
    Webhook {
        url: String,
        hmac_secret: String,
    },
    Slack {
        url: String,
    },
    Email {
        to: Vec<String>,
        from: String,
        host: String,
        port: u16,
        username: String,
        password: String,
        tls: SmtpTls,
        /// The server's own relay (`--smtp-url`, set by whoever runs Vigil, often on the
        /// same host) rather than a channel's server (typed by an editor): only the latter
        /// is held to the outbound policy.
        relay: bool,
    },
}

/// Why an attempt failed, and whether trying again may help.
#[derive(Debug)]
pub struct SendError {
    pub message: String,
    pub retry: bool,
}

impl SendError {
    fn retry(message: impl Into<String>) -> Self {
        SendError {
            message: message.into(),
            retry: true,
        }
    }

    fn permanent(message: impl Into<String>) -> Self {
        SendError {
            message: message.into(),
            retry: false,
        }
    }
}

/// A mail server from `--smtp-url`: `smtp://[user[:password]@]host[:port][?tls=…]` or
/// `smtps://…`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    pub tls: SmtpTls,
}

impl fmt::Debug for SmtpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpServer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &if self.password.is_empty() { "" } else { "…" })
            .field("tls", &self.tls)
            .finish()
    }
}

impl SmtpServer {
    /// `smtps://` is TLS from the start (port 465). `smtp://` upgrades with STARTTLS (port
    /// 587) when it carries a user name, so that a password never travels in clear; without
    /// one it speaks plain SMTP (port 25), as a relay on the same host or network expects.
    /// `?tls=none|starttls|tls` chooses explicitly.
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = reqwest::Url::parse(text.trim())
            .map_err(|e| format!("is not a URL ({e}); expected smtp://host:port"))?;
        let implicit_tls = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => {
                return Err(format!(
                    "must start with smtp:// or smtps://, not {other}://"
                ));
            }
        };
        let host = url
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .filter(|h| !h.is_empty())
            .ok_or("names no host")?
            .to_owned();
        if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
            return Err("must be only smtp://[user:password@]host[:port][?tls=…]".to_owned());
        }
        let decode = |part: &str| {
            percent_encoding::percent_decode_str(part)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| "has a user name or password that is not UTF-8".to_owned())
        };
        let username = decode(url.username())?;
        let password = decode(url.password().unwrap_or_default())?;
        let mut tls = if implicit_tls {
            SmtpTls::Tls
        } else if username.is_empty() {
            SmtpTls::None
        } else {
            SmtpTls::Starttls
        };
        for (key, value) in url.query_pairs() {
            tls = match (key.as_ref(), value.as_ref()) {
                ("tls", "none") => SmtpTls::None,
                ("tls", "starttls") => SmtpTls::Starttls,
                ("tls", "tls") => SmtpTls::Tls,
                ("tls", other) => {
                    return Err(format!("tls={other}: must be none, starttls or tls"));
                }
                (other, _) => return Err(format!("has an unknown setting ?{other}=")),
            };
        }
        let port = url.port().unwrap_or(match tls {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        });
        Ok(SmtpServer {
            host,
            port,
            username,
            password,
            tls,
        })
    }
}

/// The server's own mail relay (`--smtp-url`, `--smtp-from`), through which users' email
/// contact methods and scheduled SLA reports are sent. (Email channels carry their own SMTP
/// settings.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpRelay {
    pub server: SmtpServer,
    /// `vigil@example.com` or `Vigil <vigil@example.com>`.
    pub from: String,
}

impl SmtpRelay {
    pub fn new(server: SmtpServer, from: &str) -> Result<Self, String> {
        let from = from.trim();
        from.parse::<lettre::message::Mailbox>()
            .map_err(|_| format!("{from:?} is not an email address such as vigil@example.com"))?;
        Ok(SmtpRelay {
            server,
            from: from.to_owned(),
        })
    }

    /// Sends one email with a file attached to every address in `to` (one message, all of
    /// them on its To line): scheduled reports go out this way. One attempt.
    pub async fn send_with_attachment(
        &self,
        to: &[String],
        subject: &str,
        text: String,
        file: MailAttachment,
    ) -> Result<(), SendError> {
        let content_type = ContentType::parse(&file.content_type)
            .map_err(|e| SendError::permanent(format!("content type: {e}")))?;
        let email = addressed(&self.from, to)?
            .subject(subject)
            .multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(text))
                    .singlepart(Attachment::new(file.file_name).body(file.body, content_type)),
            )
            .map_err(|e| SendError::permanent(e.to_string()))?;
        let server = &self.server;
        let smtp = Smtp {
            connect_to: &server.host,
            host: &server.host,
            port: server.port,
            username: &server.username,
            password: &server.password,
            tls: server.tls,
        };
        transmit(&smtp, email).await
    }

    /// An email to one address through this relay.
    pub fn email_to(&self, address: &str) -> Target {
        let server = self.server.clone();
        Target::Email {
            to: vec![address.to_owned()],
            from: self.from.clone(),
            host: server.host,
            port: server.port,
            username: server.username,
            password: server.password,
            tls: server.tls,
            relay: true,
        }
    }
}

/// A file sent with an email.
#[derive(Clone, Debug)]
pub struct MailAttachment {
    pub file_name: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// What deliveries leave through: an HTTP client for webhooks, the server's mail relay for
/// users' email contact methods (none when `--smtp-url` is not set), and the outbound policy
/// every webhook and channel mail server is held to.
#[derive(Clone, Debug)]
pub struct Outbox {
    http: reqwest::Client,
    pub smtp: Option<SmtpRelay>,
    outbound: Outbound,
}

impl Outbox {
    pub fn new(smtp: Option<SmtpRelay>, outbound: Outbound) -> Self {
        // Webhooks follow no redirect: a receiver answers where it was configured.
        let http = outbound.http_client(
            reqwest::Client::builder()
                .timeout(TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("Vigil/", env!("CARGO_PKG_VERSION"))),
        );
        Outbox {
            http,
            smtp,
            outbound,
        }
    }

    /// Sends `message` to `target` (one attempt).
    pub async fn send(&self, target: &Target, message: &Message) -> Result<(), SendError> {
        match target {
            Target::Webhook { url, hmac_secret } => {
                self.check(url)?;
                let body =
                    serde_json::to_vec(message).map_err(|e| SendError::permanent(e.to_string()))?;
                let mut request = self
                    .http
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body.clone());
                if !hmac_secret.is_empty() {
                    request = request.header("x-vigil-signature", signature(hmac_secret, &body));
                }
                post(request).await
            }
            Target::Slack { url } => {
                self.check(url)?;
                let body = serde_json::to_vec(&slack_body(message))
                    .map_err(|e| SendError::permanent(e.to_string()))?;
                post(
                    self.http
                        .post(url)
                        .header("content-type", "application/json")
                        .body(body),
                )
                .await
            }
            Target::Email {
                to,
                from,
                host,
                port,
                username,
                password,
                tls,
                relay,
            } => {
                // A channel's mail server is reached at an address checked here (the TLS
                // certificate is still checked against its name).
                let address = if *relay {
                    None
                } else {
                    let found =
                        self.outbound
                            .resolve(host, *port)
                            .await
                            .map_err(|why| match why {
                                Unreachable::Refused(_) => SendError::permanent(why.to_string()),
                                Unreachable::Lookup(_) => SendError::retry(why.to_string()),
                            })?;
                    Some(found[0].ip().to_string())
                };
                let server = Smtp {
                    connect_to: address.as_deref().unwrap_or(host),
                    host,
                    port: *port,
                    username,
                    password,
                    tls: *tls,
                };
                send_email(to, from, &server, message).await
            }
        }
    }

    /// Refuses a URL naming a refused address (names are checked when resolved).
    fn check(&self, url: &str) -> Result<(), SendError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|_| SendError::permanent("the address is not a valid URL"))?;
        self.outbound
            .check_url(&parsed)
            .map_err(|why| SendError::permanent(format!("refused: {why}")))
    }
}

/// `sha256=<hex HMAC-SHA256 of the body>`, as GitHub-style receivers check it.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

async fn post(request: reqwest::RequestBuilder) -> Result<(), SendError> {
    let response = request.send().await.map_err(|e| {
        SendError::retry(format!("could not reach the receiver: {}", without_url(&e)))
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    // The reply's body goes to the log only: the delivery log shows the status line, so a
    // receiver inside the network cannot be read through Vigil.
    let text: String = response
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    tracing::info!(%status, body = %text, "a receiver refused a notification");
    let message = format!("the receiver answered {status}");
    // As Alertmanager: server errors and rate limits are retried, other refusals are not.
    if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        Err(SendError::retry(message))
    } else {
        Err(SendError::permanent(message))
    }
}

/// A reqwest error without the URL, which may hold a secret token.
fn without_url(error: &reqwest::Error) -> String {
    let mut text = crate::outbound::describe(error);
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "(the channel's URL)");
    }
    if error.is_timeout() {
        format!("timed out after {} s", TIMEOUT.as_secs())
    } else {
        text
    }
}

fn colour(severity: &str, resolved: bool) -> &'static str {
    match (resolved, severity) {
        (true, _) => "#2eb67d",
        (false, "critical") => "#e01e5a",
        (false, "warning") => "#ecb22e",
        _ => "#36c5f0",
    }
}

/// A readable Slack message: the title, then one line per alert with its summary and links.
pub fn slack_body(message: &Message) -> serde_json::Value {
    let resolved = message.status == "resolved";
    let lines: Vec<String> = message
        .alerts
        .iter()
        .map(|alert| {
            let summary = alert
                .annotations
                .get("summary")
                .cloned()
                .unwrap_or_else(|| alert.labels.get("alertname").cloned().unwrap_or_default());
            let mut line = format!(
                "• *{}* {summary}",
                alert.labels.get("severity").map_or("", String::as_str)
            );
            if let Some(runbook) = alert.annotations.get("runbook_url") {
                line.push_str(&format!(" — <{runbook}|runbook>"));
            }
            if !alert.generator_url.is_empty() {
                line.push_str(&format!(" — <{}|source>", alert.generator_url));
            }
            line
        })
        .collect();
    json!({
        "text": message.title(),
        "attachments": [{
            "color": colour(message.severity(), resolved),
            "title": message.title(),
            "title_link": message.external_url,
            "text": lines.join("\n"),
            "footer": "Vigil",
        }]
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The email's text and HTML bodies.
pub fn email_bodies(message: &Message) -> (String, String) {
    let mut text = format!("{}\n\n", message.title());
    let mut html = format!(
        "<h2 style=\"color:{}\">{}</h2><ul>",
        colour(message.severity(), message.status == "resolved"),
        escape(&message.title())
    );
    for alert in &message.alerts {
        let summary = alert
            .annotations
            .get("summary")
            .cloned()
            .unwrap_or_default();
        let labels: Vec<String> = alert
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        text.push_str(&format!(
            "- [{}] {summary}\n  {}\n",
            alert.status,
            labels.join(", ")
        ));
        html.push_str(&format!(
            "<li><b>[{}]</b> {}<br><small>{}</small>",
            escape(&alert.status),
            escape(&summary),
            escape(&labels.join(", "))
        ));
        if let Some(description) = alert.annotations.get("description") {
            text.push_str(&format!("  {description}\n"));
            html.push_str(&format!("<p>{}</p>", escape(description)));
        }
        if let Some(runbook) = alert.annotations.get("runbook_url") {
            text.push_str(&format!("  Runbook: {runbook}\n"));
            html.push_str(&format!(
                "<p><a href=\"{0}\">Runbook</a></p>",
                escape(runbook)
            ));
        }
        html.push_str("</li>");
    }
    html.push_str("</ul>");
    if !message.external_url.is_empty() {
        text.push_str(&format!("\n{}\n", message.external_url));
        html.push_str(&format!(
            "<p><a href=\"{0}\">Open Vigil</a></p>",
            escape(&message.external_url)
        ));
    }
    (text, html)
}

/// A mail server to send through: where to connect, and the name its certificate must carry.
struct Smtp<'a> {
    connect_to: &'a str,
    host: &'a str,
    port: u16,
    username: &'a str,
    password: &'a str,
    tls: SmtpTls,
}

/// A message from `from` to every address in `to`, still without subject and body.
fn addressed(from: &str, to: &[String]) -> Result<lettre::message::MessageBuilder, SendError> {
    let mut builder = lettre::Message::builder().from(
        from.parse()
            .map_err(|e| SendError::permanent(format!("from: {e}")))?,
    );
    for recipient in to {
        builder = builder.to(recipient
            .parse()
            .map_err(|e| SendError::permanent(format!("{recipient}: {e}")))?);
    }
    Ok(builder)
}

async fn send_email(
    to: &[String],
    from: &str,
    server: &Smtp<'_>,
    message: &Message,
) -> Result<(), SendError> {
    let (text, html) = email_bodies(message);
    let email = addressed(from, to)?
        .subject(message.title())
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| SendError::permanent(e.to_string()))?;
    transmit(server, email).await
}

/// Hands `email` to `server` (one attempt).
async fn transmit(server: &Smtp<'_>, email: lettre::Message) -> Result<(), SendError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let parameters = || {
        TlsParameters::new(server.host.to_owned()).map_err(|e| SendError::permanent(e.to_string()))
    };
    let tls = match server.tls {
        SmtpTls::None => Tls::None,
        SmtpTls::Starttls => Tls::Required(parameters()?),
        SmtpTls::Tls => Tls::Wrapper(parameters()?),
    };
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.connect_to)
        .tls(tls)
        .port(server.port)
        .timeout(Some(TIMEOUT));
    if !server.username.is_empty() {
        transport = transport.credentials(Credentials::new(
            server.username.to_owned(),
            server.password.to_owned(),
        ));
    }
    transport
        .build()
        .send(email)
        .await
        .map(|_| ())
        .map_err(|e| {
            if e.is_permanent() {
                SendError::permanent(format!("the mail server refused: {e}"))
            } else {
                SendError::retry(format!("sending mail failed: {e}"))
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(host: &str, port: u16, username: &str, password: &str, tls: SmtpTls) -> SmtpServer {
        SmtpServer {
            host: host.to_owned(),
            port,
            username: username.to_owned(),
            password: password.to_owned(),
            tls,
        }
    }

    #[test]
    fn smtp_urls_choose_tls_and_port_from_scheme_and_credentials() {
        assert_eq!(
            SmtpServer::parse("smtp://user:p%40ss@mail.example.com:587").unwrap(),
            server("mail.example.com", 587, "user", "p@ss", SmtpTls::Starttls)
        );
        assert_eq!(
            SmtpServer::parse("smtp://user:secret@mail.example.com")
                .unwrap()
                .port,
            587
        );
        assert_eq!(
            SmtpServer::parse("smtps://user:secret@mail.example.com").unwrap(),
            server("mail.example.com", 465, "user", "secret", SmtpTls::Tls)
        );
        assert_eq!(
            SmtpServer::parse("smtp://127.0.0.1:2525").unwrap(),
            server("127.0.0.1", 2525, "", "", SmtpTls::None),
            "a local relay: plain SMTP"
        );
        assert_eq!(SmtpServer::parse("smtp://relay").unwrap().port, 25);
        assert_eq!(
            SmtpServer::parse("smtp://relay.example.com?tls=starttls").unwrap(),
            server("relay.example.com", 587, "", "", SmtpTls::Starttls)
        );
        assert_eq!(
            SmtpServer::parse("smtp://u:p@[::1]:25?tls=none").unwrap(),
            server("::1", 25, "u", "p", SmtpTls::None)
        );
    }

    #[test]
    fn bad_smtp_urls_are_refused_and_passwords_stay_out_of_debug_output() {
        for bad in [
            "mail.example.com",
            "http://mail.example.com",
            "smtp://",
            "smtp://mail.example.com/path",
            "smtp://mail.example.com?tls=maybe",
            "smtp://mail.example.com?timeout=5",
        ] {
            assert!(SmtpServer::parse(bad).is_err(), "{bad} was accepted");
        }
        let parsed = SmtpServer::parse("smtp://user:hunter2@mail.example.com").unwrap();
        assert!(!format!("{parsed:?}").contains("hunter2"));
        assert!(SmtpRelay::new(parsed.clone(), "Vigil <vigil@example.com>").is_ok());
        assert!(SmtpRelay::new(parsed, "vigil").is_err());
    }
}

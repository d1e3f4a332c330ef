//! Sending one message through one channel: webhook, Slack-compatible webhook, or email.

use std::time::Duration;

use hmac::{Hmac, Mac};
use lettre::message::MultiPart;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::json;
use sha2::Sha256;
use vigil_shared::notify::SmtpTls;

use super::message::Message;

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

pub fn http_client() -> reqwest::Client {
    // reqwest is built without a default TLS crypto provider; ring is the one Vigil uses.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .user_agent(concat!("Vigil/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

pub async fn send(
    client: &reqwest::Client,
    target: &Target,
    message: &Message,
) -> Result<(), SendError> {
    match target {
        Target::Webhook { url, hmac_secret } => {
            let body =
                serde_json::to_vec(message).map_err(|e| SendError::permanent(e.to_string()))?;
            let mut request = client
                .post(url)
                .header("content-type", "application/json")
                .body(body.clone());
            if !hmac_secret.is_empty() {
                request = request.header("x-vigil-signature", signature(hmac_secret, &body));
            }
            post(request).await
        }
        Target::Slack { url } => {
            let body = serde_json::to_vec(&slack_body(message))
                .map_err(|e| SendError::permanent(e.to_string()))?;
            post(
                client
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
        } => send_email(to, from, host, *port, username, password, *tls, message).await,
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
    let text: String = response
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    let message = format!("the receiver answered {status}: {text}");
    // As Alertmanager: server errors and rate limits are retried, other refusals are not.
    if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        Err(SendError::retry(message))
    } else {
        Err(SendError::permanent(message))
    }
}

/// A reqwest error without the URL, which may hold a secret token.
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
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

#[allow(
    clippy::too_many_arguments,
    reason = "the fields of one channel's settings"
)]
async fn send_email(
    to: &[String],
    from: &str,
    host: &str,
    port: u16,
    username: &str,
    password: &str,
    tls: SmtpTls,
    message: &Message,
) -> Result<(), SendError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = lettre::Message::builder()
        .from(
            from.parse()
                .map_err(|e| SendError::permanent(format!("from: {e}")))?,
        )
        .subject(message.title());
    for recipient in to {
        builder = builder.to(recipient
            .parse()
            .map_err(|e| SendError::permanent(format!("{recipient}: {e}")))?);
    }
    let (text, html) = email_bodies(message);
    let email = builder
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| SendError::permanent(e.to_string()))?;
    let mut transport = match tls {
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
            .map_err(|e| SendError::permanent(e.to_string()))?,
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
            .map_err(|e| SendError::permanent(e.to_string()))?,
    }
    .port(port)
    .timeout(Some(TIMEOUT));
    if !username.is_empty() {
        transport =
            transport.credentials(Credentials::new(username.to_owned(), password.to_owned()));
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

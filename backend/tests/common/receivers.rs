//! Local receivers for what Vigil sends: a webhook endpoint and a minimal SMTP server, both on
//! 127.0.0.1, keeping what they received for the test to inspect.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A webhook receiver on 127.0.0.1 that answers with the given statuses in turn (then 200)
/// and keeps what it received.
pub struct Receiver {
    pub url: String,
    pub received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

pub async fn receiver(statuses: Vec<u16>) -> Receiver {
    let received = Arc::new(Mutex::new(Vec::new()));
    let statuses = Arc::new(Mutex::new(statuses));
    let app = axum::Router::new().route(
        "/hook/{token}",
        axum::routing::post({
            let received = received.clone();
            move |headers: HeaderMap, body: String| {
                let received = received.clone();
                let statuses = statuses.clone();
                async move {
                    received.lock().unwrap().push((headers, body));
                    let mut statuses = statuses.lock().unwrap();
                    let status = if statuses.is_empty() {
                        200
                    } else {
                        statuses.remove(0)
                    };
                    StatusCode::from_u16(status).unwrap()
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver {
        url: format!("http://{address}/hook/s3cret-token"),
        received,
    }
}

/// A minimal SMTP server that accepts one message and hands it over.
pub async fn smtp_server() -> (u16, tokio::sync::oneshot::Receiver<String>) {
    let (port, mail) = smtp_receiver().await;
    let (sender, receiver) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        if let Ok(mail) = mail.await {
            let _ = sender.send(mail.data);
        }
    });
    (port, receiver)
}

/// One message as an SMTP server received it: the envelope and the data (dot-stuffed
/// lines as sent, without the final `.`).
#[derive(Debug)]
pub struct ReceivedMail {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: String,
}

/// A minimal SMTP server that accepts one message and hands it over with its envelope.
pub async fn smtp_receiver() -> (u16, tokio::sync::oneshot::Receiver<ReceivedMail>) {
    smtp_session(None).await
}

/// A minimal SMTP server that answers every RCPT TO with `reply` (such as
/// `550 5.1.1 mailbox unavailable`).
pub async fn smtp_refusing(reply: &'static str) -> u16 {
    smtp_session(Some(reply)).await.0
}

async fn smtp_session(
    refuse_rcpt: Option<&'static str>,
) -> (u16, tokio::sync::oneshot::Receiver<ReceivedMail>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sender, receiver) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read).lines();
        write.write_all(b"220 test ESMTP\r\n").await.unwrap();
        let mut mail = ReceivedMail {
            mail_from: String::new(),
            rcpt_to: Vec::new(),
            data: String::new(),
        };
        let mut in_data = false;
        while let Ok(Some(line)) = lines.next_line().await {
            if in_data {
                if line == "." {
                    in_data = false;
                    write.write_all(b"250 queued\r\n").await.unwrap();
                } else {
                    mail.data.push_str(&line);
                    mail.data.push('\n');
                }
                continue;
            }
            let command = line.to_ascii_uppercase();
            let address = || {
                line.split_once(':')
                    .map(|(_, a)| a.trim().trim_start_matches('<').trim_end_matches('>'))
                    .unwrap_or_default()
                    .to_owned()
            };
            let refusal;
            let reply: &[u8] = if command.starts_with("EHLO") {
                b"250-test\r\n250 8BITMIME\r\n"
            } else if command.starts_with("MAIL FROM") {
                mail.mail_from = address();
                b"250 ok\r\n"
            } else if command.starts_with("RCPT TO") {
                match refuse_rcpt {
                    Some(reply) => {
                        refusal = format!("{reply}\r\n");
                        refusal.as_bytes()
                    }
                    None => {
                        mail.rcpt_to.push(address());
                        b"250 ok\r\n"
                    }
                }
            } else if command.starts_with("DATA") {
                in_data = true;
                b"354 go ahead\r\n"
            } else if command.starts_with("QUIT") {
                write.write_all(b"221 bye\r\n").await.unwrap();
                break;
            } else {
                b"250 ok\r\n"
            };
            write.write_all(reply).await.unwrap();
        }
        let _ = sender.send(mail);
    });
    (port, receiver)
}

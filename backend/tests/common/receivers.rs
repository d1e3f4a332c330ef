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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sender, receiver) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read).lines();
        write.write_all(b"220 test ESMTP\r\n").await.unwrap();
        let mut data = String::new();
        let mut in_data = false;
        while let Ok(Some(line)) = lines.next_line().await {
            if in_data {
                if line == "." {
                    in_data = false;
                    write.write_all(b"250 queued\r\n").await.unwrap();
                } else {
                    data.push_str(&line);
                    data.push('\n');
                }
                continue;
            }
            let command = line.to_ascii_uppercase();
            let reply: &[u8] = if command.starts_with("EHLO") {
                b"250-test\r\n250 8BITMIME\r\n"
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
        let _ = sender.send(data);
    });
    (port, receiver)
}

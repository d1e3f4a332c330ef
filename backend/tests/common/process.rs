//! Running the real `vigil` binary (and peers) as child processes in tests.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");

/// A raw HTTP answer: status, headers (names lower-cased) and body.
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Minimal HTTP/1.1 client: enough to talk to the real server without another dependency.
pub async fn request(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> RawResponse {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let body = body.unwrap_or("");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    // As a browser on Vigil's own page would (cookie-authenticated changes need it).
    if headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("cookie"))
    {
        head.push_str(&format!("Origin: http://{address}\r\n"));
    }
    stream
        .write_all(format!("{head}\r\n{body}").as_bytes())
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.get(9..12))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    RawResponse {
        status,
        headers,
        body: body.to_owned(),
    }
}

pub async fn http(address: &str, method: &str, path: &str, json: Option<&str>) -> (u16, String) {
    let response = request(address, method, path, &[], json).await;
    (response.status, response.body)
}

/// Logs in to a running server as `email`; answers the `Cookie` header of the session.
pub async fn login_cookie(address: &str, email: &str, password: &str) -> String {
    let login = serde_json::json!({ "email": email, "password": password }).to_string();
    let response = request(address, "POST", "/api/v1/auth/login", &[], Some(&login)).await;
    assert_eq!(response.status, 200, "login failed: {}", response.body);
    response
        .headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .map(|(_, v)| v.split(';').next().unwrap_or_default().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Logs in to a running server as `email` and creates an API key with `scopes` (a JSON array).
pub async fn create_api_key(address: &str, email: &str, password: &str, scopes: &str) -> String {
    let cookie = login_cookie(address, email, password).await;
    let body = format!(r#"{{"name":"test client","scopes":{scopes}}}"#);
    let response = request(
        address,
        "POST",
        "/api/v1/api-keys",
        &[("Cookie", &cookie)],
        Some(&body),
    )
    .await;
    assert_eq!(
        response.status, 201,
        "creating a key failed: {}",
        response.body
    );
    let value: serde_json::Value = serde_json::from_str(&response.body).unwrap();
    value["secret"].as_str().unwrap().to_owned()
}

/// A running `vigil serve`, stopped with SIGTERM when dropped (also when a test fails), so no
/// server or PostgreSQL outlives the test.
pub struct Server(pub Child);

impl Server {
    pub fn spawn(command: &mut Command) -> Self {
        Server(
            command
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }

    pub fn signal(&self, signal: Signal) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.0.id() as i32), signal);
    }

    /// Sends `signal` and waits for the exit; `true` for a clean one.
    pub fn stop_with(&mut self, signal: Signal) -> bool {
        self.signal(signal);
        tokio::task::block_in_place(|| self.0.wait())
            .unwrap()
            .success()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            self.signal(Signal::SIGTERM);
            let _ = self.0.wait();
        }
    }
}

/// Reads stdout up to the address line; returns the address and everything printed before it.
pub fn wait_for_banner_text(child: &mut Child) -> (String, String) {
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        seen.push_str(&line);
        seen.push('\n');
        if let Some(url) = line.split("ready at http://").nth(1) {
            let url = url.trim().to_owned();
            // The credentials follow the address line.
            for line in lines.by_ref().take(8).flatten() {
                seen.push_str(&line);
                seen.push('\n');
            }
            std::thread::spawn(move || for _ in lines {});
            return (url, seen);
        }
    }
    panic!("vigil serve did not print its address; it printed:\n{seen}");
}

pub fn wait_for_banner(child: &mut Child) -> String {
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(url) = line.split("ready at http://").nth(1) {
            // Keep draining stdout so the server never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return url.trim().to_owned();
        }
    }
    panic!("vigil serve did not print its address");
}

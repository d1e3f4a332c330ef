//! Scheduled SLA reports: who may read and write schedules, bad input field by field, the
//! email a real (local) SMTP server receives — recipients, subject, summary, the PDF attached
//! — the delivery log, one pass of the worker on a clock the test sets, and failures (no
//! relay, a refusing mail server, a PDF that cannot be rendered) logged once, not retried.

mod common;

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use chrono::{DateTime, Datelike, Months, Utc};
use common::receivers::{ReceivedMail, smtp_receiver, smtp_refusing};
use common::{Client, TestApp};
use serde_json::{Value, json};
use vigil::config::AppConfig;
use vigil::notify::send::{MailAttachment, SmtpRelay, SmtpServer};
use vigil::slo::schedule::{self, ReportMailer};
use vigil_shared::Role;
use vigil_shared::slo::{ReportDelivery, ReportSchedule, ReportScheduleList, SlaReport};

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn relay(port: u16) -> SmtpRelay {
    let server = SmtpServer::parse(&format!("smtp://127.0.0.1:{port}")).unwrap();
    SmtpRelay::new(server, "Vigil <vigil@example.com>").unwrap()
}

fn monthly(name: &str) -> Value {
    json!({
        "name": name,
        "cadence": "monthly",
        "time_zone": "Europe/Berlin",
        "recipients": ["cto@example.com", "sre-leads@example.com"],
    })
}

async fn put(client: &mut Client<'_>, path: &str, body: &Value) -> common::TestResponse {
    client
        .request(Method::PUT, path, Some(serde_json::to_vec(body).unwrap()))
        .await
}

async fn create(editor: &mut Client<'_>, body: &Value) -> ReportSchedule {
    let created = editor.post("/api/v1/reports/schedules", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    created.json()
}

/// Makes a schedule due at `at` (as if created long ago).
async fn due_at(app: &TestApp, id: i64, at: DateTime<Utc>) {
    sqlx::query("UPDATE report_schedules SET next_run_at = $2 WHERE id = $1")
        .bind(id)
        .bind(at)
        .execute(&app.db)
        .await
        .unwrap();
}

async fn next_run_at(app: &TestApp, id: i64) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT next_run_at FROM report_schedules WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn log(app: &TestApp) -> Vec<ReportDelivery> {
    let mut viewer = app.login_as(Role::Viewer).await;
    let list: ReportScheduleList = viewer.get("/api/v1/reports/schedules").await.json();
    list.deliveries
}

/// Bytes like a PDF's (binary, so that they travel base64-encoded as a real one does).
const STAND_IN_PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\nstand-in\n%%EOF\n";

/// A stand-in for the PDF renderer, named as the real one names its file.
fn stand_in_pdf(report: &SlaReport) -> Result<MailAttachment, String> {
    Ok(MailAttachment {
        file_name: format!("{}.pdf", report.file_stem),
        content_type: "application/pdf".to_owned(),
        body: STAND_IN_PDF.to_vec(),
    })
}

fn broken_pdf(_report: &SlaReport) -> Result<MailAttachment, String> {
    Err("the layout broke".to_owned())
}

/// One part of a MIME message: its headers (names lower-cased, folded lines joined) and its
/// body, decoded.
#[derive(Debug)]
struct Part {
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Part {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn headers_and_body(text: &str) -> (BTreeMap<String, String>, &str) {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut headers = BTreeMap::new();
    let mut last: Option<String> = None;
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(name) = &last {
                headers
                    .entry(name.clone())
                    .and_modify(|v: &mut String| v.push_str(line.trim_start()));
            }
        } else if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            headers.insert(name.clone(), value.trim().to_owned());
            last = Some(name);
        }
    }
    (headers, body)
}

fn decode(encoding: &str, body: &str) -> Vec<u8> {
    match encoding.to_ascii_lowercase().as_str() {
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(body.split_whitespace().collect::<String>())
            .expect("valid base64"),
        "quoted-printable" => {
            let joined = body.replace("=\n", "");
            let bytes = joined.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'=' && i + 2 < bytes.len() {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).expect("=XX"));
                    i += 3;
                } else {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
            out
        }
        _ => body.as_bytes().to_vec(),
    }
}

/// The message's headers and its parts (a `multipart/*` message split at its boundary).
fn parse_mime(data: &str) -> (BTreeMap<String, String>, Vec<Part>) {
    let data = data.replace("\r\n", "\n");
    let (headers, body) = headers_and_body(&data);
    let content_type = headers.get("content-type").cloned().unwrap_or_default();
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .expect("a multipart message")
        .trim_matches('"')
        .to_owned();
    let parts = body
        .split(&format!("--{boundary}"))
        .skip(1)
        .take_while(|p| !p.starts_with("--"))
        .map(|p| {
            let (headers, body) = headers_and_body(p.trim_start_matches('\n'));
            let encoding = headers
                .get("content-transfer-encoding")
                .cloned()
                .unwrap_or_default();
            Part {
                body: decode(&encoding, body.trim_end_matches('\n')),
                headers,
            }
        })
        .collect();
    (headers, parts)
}

/// The one email with the report: its headers, text part and attachment.
struct ReportEmail {
    headers: BTreeMap<String, String>,
    text: String,
    attachment: Part,
}

fn report_email(mail: &ReceivedMail) -> ReportEmail {
    let (headers, parts) = parse_mime(&mail.data);
    assert!(
        headers["content-type"].starts_with("multipart/mixed"),
        "{headers:?}"
    );
    assert_eq!(parts.len(), 2, "a text and the PDF: {parts:?}");
    let (text, attachment) = {
        let mut parts = parts.into_iter();
        (parts.next().unwrap(), parts.next().unwrap())
    };
    assert!(text.header("content-type").starts_with("text/plain"));
    ReportEmail {
        headers,
        text: text.text(),
        attachment,
    }
}

fn recipients_of(headers: &BTreeMap<String, String>) -> Vec<String> {
    let mut to: Vec<String> = headers["to"]
        .split(',')
        .map(|a| a.trim().to_owned())
        .collect();
    to.sort();
    to
}

#[tokio::test]
async fn every_role_reads_schedules_and_only_editors_write_them() {
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let mut viewer = app.login_as(Role::Viewer).await;
    let mut responder = app.login_as(Role::Responder).await;
    let saved = create(&mut editor, &monthly("Monthly to management")).await;
    assert_eq!(saved.schedule.time_zone, "Europe/Berlin");
    assert!(saved.schedule.enabled);
    assert!(saved.next_run_at > Utc::now());
    let local = saved.next_run_at.with_timezone(&chrono_tz::Europe::Berlin);
    assert_eq!(
        (local.day(), local.format("%H:%M").to_string()),
        (1, "01:00".to_owned()),
        "an hour after the next month starts in Berlin"
    );

    let path = format!("/api/v1/reports/schedules/{}", saved.id);
    for who in [&mut viewer, &mut responder, &mut editor] {
        let list: ReportScheduleList = who.get("/api/v1/reports/schedules").await.json();
        assert_eq!(list.schedules, std::slice::from_ref(&saved));
        assert!(list.deliveries.is_empty());
        let one: ReportSchedule = who.get(&path).await.json();
        assert_eq!(one, saved);
    }
    assert_eq!(
        app.anonymous()
            .get("/api/v1/reports/schedules")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    for who in [&mut viewer, &mut responder] {
        let refused = [
            who.post("/api/v1/reports/schedules", &monthly("Mine"))
                .await
                .status,
            put(who, &path, &monthly("Renamed")).await.status,
            who.delete(&path).await.status,
            who.post_empty(&format!("{path}/send")).await.status,
        ];
        assert_eq!(refused, [StatusCode::FORBIDDEN; 4]);
    }
    assert_eq!(log(&app).await, [], "a refused send sends nothing");

    let mut weekly = monthly("Weekly to the SRE leads");
    weekly["cadence"] = json!("weekly");
    weekly["services"] = json!(["checkout", "payments"]);
    let replaced = put(&mut editor, &path, &weekly).await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text());
    let replaced: ReportSchedule = replaced.json();
    assert_eq!(replaced.schedule.services, ["checkout", "payments"]);
    let local = replaced
        .next_run_at
        .with_timezone(&chrono_tz::Europe::Berlin);
    assert_eq!(
        (local.weekday(), local.format("%H:%M").to_string()),
        (chrono::Weekday::Mon, "01:00".to_owned()),
        "a weekly schedule runs an hour into Monday"
    );
    assert!(replaced.next_run_at - Utc::now() <= chrono::TimeDelta::days(7));

    assert_eq!(editor.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_eq!(editor.get(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        editor.delete(&path).await.status,
        StatusCode::NOT_FOUND,
        "already gone"
    );
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE target_type = 'report_schedule' ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "report_schedule.create",
            "report_schedule.update",
            "report_schedule.delete"
        ]
    );
}

#[tokio::test]
async fn bad_schedules_are_refused_field_by_field() {
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let too_many: Vec<String> = (0..51).map(|i| format!("r{i}@example.com")).collect();
    let services: Vec<String> = (0..201).map(|i| format!("svc-{i}")).collect();
    for (body, field, problem) in [
        (json!({"name": ""}), "name", "is required"),
        (json!({"name": "x".repeat(201)}), "name", "at most 200"),
        (
            json!({"time_zone": "Europe/Atlantis"}),
            "time_zone",
            "\"Europe/Atlantis\" is not a time zone",
        ),
        (json!({"recipients": []}), "recipients", "at least one"),
        (json!({"recipients": ["  "]}), "recipients", "at least one"),
        (json!({"recipients": too_many}), "recipients", "at most 50"),
        (
            json!({"recipients": ["ok@example.com", "not-an-address"]}),
            "recipients",
            "\"not-an-address\" must be an email address",
        ),
        (json!({"services": services}), "services", "at most 200"),
    ] {
        let mut request = monthly("Monthly");
        for (key, value) in body.as_object().unwrap() {
            request[key] = value.clone();
        }
        let refused = editor.post("/api/v1/reports/schedules", &request).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            refused.text()
        );
        let fields = refused.error().error.fields;
        assert!(
            fields.get(field).is_some_and(|m| m.contains(problem)),
            "{body}: {fields:?}"
        );
        assert_eq!(fields.len(), 1, "only {field} is wrong: {fields:?}");
    }
    // Every problem at once, and the same on replace.
    let saved = create(&mut editor, &monthly("Monthly")).await;
    let everything = json!({"name": "", "cadence": "weekly", "time_zone": "UTC+1",
                            "recipients": ["@example.com"]});
    let refused = put(
        &mut editor,
        &format!("/api/v1/reports/schedules/{}", saved.id),
        &everything,
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = refused.error().error.fields;
    assert_eq!(
        fields.keys().collect::<Vec<_>>(),
        ["name", "recipients", "time_zone"]
    );
    let unknown_cadence = editor
        .post(
            "/api/v1/reports/schedules",
            &json!({"name": "Daily", "cadence": "daily", "recipients": ["a@example.com"]}),
        )
        .await;
    assert!(
        unknown_cadence.status.is_client_error(),
        "{}",
        unknown_cadence.status
    );
    let stored: ReportSchedule = editor
        .get(&format!("/api/v1/reports/schedules/{}", saved.id))
        .await
        .json();
    assert_eq!(stored, saved, "nothing stored was changed");

    // Schedules are bounded: past the most kept, a new one is refused saying why.
    sqlx::query(
        "INSERT INTO report_schedules
             (name, cadence, time_zone, services, recipients, enabled, next_run_at)
         SELECT 'Bulk ' || n, cadence, time_zone, services, recipients, false, next_run_at
         FROM report_schedules, generate_series(2, $1) AS n WHERE id = $2",
    )
    .bind(vigil::slo::schedule::MAX_SCHEDULES)
    .bind(saved.id)
    .execute(&app.db)
    .await
    .unwrap();
    let refused = editor
        .post("/api/v1/reports/schedules", &monthly("One too many"))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text());
    assert!(
        refused.text().contains("1000 report schedules already"),
        "{}",
        refused.text()
    );
}

#[tokio::test]
async fn a_due_schedule_is_sent_once_by_the_worker_and_moves_to_the_next_period() {
    let (port, mail) = smtp_receiver().await;
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let slo = editor
        .post(
            "/api/v1/slos",
            &json!({
                "name": "API availability",
                "service": "api",
                "sli": {"kind": "events", "bad": "errors_total{job=\"api\"}",
                        "total": "requests_total{job=\"api\"}"},
                "objective": 99.9,
                "window": {"kind": "rolling", "duration": "30d"},
            }),
        )
        .await;
    assert_eq!(slo.status, StatusCode::CREATED, "{}", slo.text());
    let due = create(&mut editor, &monthly("Monthly to management")).await;
    let later = create(&mut editor, &monthly("Not yet")).await;
    let mut off = monthly("Switched off");
    off["enabled"] = json!(false);
    let off = create(&mut editor, &off).await;
    // 1 December 2026, 01:00 in Berlin (CET): November is complete.
    let run = utc("2026-12-01T00:00:00Z");
    let now = run + chrono::TimeDelta::minutes(3);
    due_at(&app, due.id, run).await;
    due_at(&app, later.id, now + chrono::TimeDelta::seconds(1)).await;
    due_at(&app, off.id, run).await;

    let mailer = ReportMailer {
        relay: Some(relay(port)),
        render: stand_in_pdf,
    };
    // Two replicas' workers at once: one of them sends.
    let (a, b) = tokio::join!(
        schedule::send_due(&app.db, &mailer, now),
        schedule::send_due(&app.db, &mailer, now)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1, "one schedule, sent once");

    let mail = mail.await.expect("one email reached the mail server");
    assert_eq!(mail.mail_from, "vigil@example.com");
    let mut envelope = mail.rcpt_to.clone();
    envelope.sort();
    assert_eq!(envelope, ["cto@example.com", "sre-leads@example.com"]);
    let email = report_email(&mail);
    assert_eq!(
        recipients_of(&email.headers),
        ["cto@example.com", "sre-leads@example.com"]
    );
    assert_eq!(email.headers["subject"], "Vigil SLA report, November 2026");
    assert!(email.headers["from"].contains("vigil@example.com"));
    for line in [
        "Schedule: Monthly to management",
        "Period: 2026-11-01 00:00 to 2026-12-01 00:00 (Europe/Berlin)",
        "1 SLO: 0 met, 0 breached, 1 without data.",
        "- API availability (api): achieved no data against an objective of 99.9 %: no data",
        "The full report is attached: vigil-sla-2026-11.pdf",
    ] {
        assert!(
            email.text.contains(line),
            "{line:?} missing from:\n{}",
            email.text
        );
    }
    let attachment = &email.attachment;
    assert!(
        attachment
            .header("content-disposition")
            .starts_with("attachment"),
        "{attachment:?}"
    );
    assert!(
        attachment
            .header("content-disposition")
            .contains("filename=\"vigil-sla-2026-11.pdf\""),
        "{attachment:?}"
    );
    assert_eq!(attachment.header("content-type"), "application/pdf");
    assert_eq!(
        attachment.body, STAND_IN_PDF,
        "the renderer's bytes, intact"
    );

    let deliveries = log(&app).await;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    let delivery = &deliveries[0];
    assert_eq!(delivery.schedule_id, due.id);
    assert!(delivery.ok, "{delivery:?}");
    assert_eq!(
        delivery.detail,
        "sent vigil-sla-2026-11.pdf to 2 recipients"
    );
    assert_eq!(
        (delivery.period_from, delivery.period_to),
        (utc("2026-10-31T23:00:00Z"), utc("2026-11-30T23:00:00Z")),
        "November in Berlin"
    );
    assert_eq!(
        next_run_at(&app, due.id).await,
        utc("2027-01-01T00:00:00Z"),
        "01:00 on 1 January in Berlin"
    );
    assert_eq!(
        next_run_at(&app, off.id).await,
        run,
        "a schedule that is off waits"
    );
    assert_eq!(
        schedule::send_due(&app.db, &mailer, now).await.unwrap(),
        0,
        "nothing is due any more"
    );
}

#[tokio::test]
async fn a_report_whose_pdf_cannot_be_rendered_is_logged_as_failed_and_not_mailed() {
    let (port, mut mail) = smtp_receiver().await;
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let mut weekly = monthly("Weekly");
    weekly["cadence"] = json!("weekly");
    weekly["time_zone"] = json!("UTC");
    let saved = create(&mut editor, &weekly).await;
    // Monday 2 November 2026, 01:00 UTC.
    let run = utc("2026-11-02T01:00:00Z");
    due_at(&app, saved.id, run).await;
    let mailer = ReportMailer {
        relay: Some(relay(port)),
        render: broken_pdf,
    };
    assert_eq!(schedule::send_due(&app.db, &mailer, run).await.unwrap(), 1);
    let deliveries = log(&app).await;
    assert_eq!(deliveries.len(), 1);
    assert!(!deliveries[0].ok);
    assert_eq!(
        deliveries[0].detail,
        "could not render the PDF: the layout broke; not sent"
    );
    assert_eq!(
        (deliveries[0].period_from, deliveries[0].period_to),
        (utc("2026-10-26T00:00:00Z"), utc("2026-11-02T00:00:00Z")),
        "the week from Monday to Monday"
    );
    assert_eq!(
        next_run_at(&app, saved.id).await,
        utc("2026-11-09T01:00:00Z"),
        "not retried: the next week goes on"
    );
    assert_eq!(schedule::send_due(&app.db, &mailer, run).await.unwrap(), 0);
    assert!(mail.try_recv().is_err(), "no email without its report");
}

#[tokio::test]
async fn without_a_mail_relay_reports_fail_once_saying_so() {
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let saved = create(&mut editor, &monthly("Monthly")).await;
    let run = utc("2026-12-01T00:00:00Z");
    due_at(&app, saved.id, run).await;
    let mailer = ReportMailer {
        relay: None,
        render: stand_in_pdf,
    };
    assert_eq!(schedule::send_due(&app.db, &mailer, run).await.unwrap(), 1);
    assert_eq!(
        next_run_at(&app, saved.id).await,
        utc("2027-01-01T00:00:00Z")
    );

    // "Send now" through the API, on a server started without --smtp-url.
    let sent = editor
        .post_empty(&format!("/api/v1/reports/schedules/{}/send", saved.id))
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.text());
    let delivery: ReportDelivery = sent.json();
    assert!(!delivery.ok);
    let deliveries = log(&app).await;
    assert_eq!(deliveries.len(), 2);
    for d in &deliveries {
        assert!(
            d.detail
                .starts_with("no SMTP server configured (--smtp-url)"),
            "{d:?}"
        );
    }
    assert_eq!(deliveries[0], delivery, "newest first");
    assert_eq!(
        next_run_at(&app, saved.id).await,
        utc("2027-01-01T00:00:00Z"),
        "send now leaves the schedule's next run alone"
    );
    assert_eq!(
        editor
            .post_empty("/api/v1/reports/schedules/999999/send")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_mail_server_refusal_is_logged_with_its_smtp_reply() {
    let port = smtp_refusing("550 5.1.1 no such mailbox here").await;
    let app = TestApp::spawn().await;
    let mut editor = app.login_as(Role::Editor).await;
    let saved = create(&mut editor, &monthly("Monthly")).await;
    let run = utc("2026-12-01T00:00:00Z");
    due_at(&app, saved.id, run).await;
    let mailer = ReportMailer {
        relay: Some(relay(port)),
        render: stand_in_pdf,
    };
    assert_eq!(schedule::send_due(&app.db, &mailer, run).await.unwrap(), 1);
    let deliveries = log(&app).await;
    assert!(!deliveries[0].ok);
    assert!(
        deliveries[0].detail.contains("the mail server refused")
            && deliveries[0].detail.contains("no such mailbox here"),
        "{:?}",
        deliveries[0]
    );
    assert_eq!(
        next_run_at(&app, saved.id).await,
        utc("2027-01-01T00:00:00Z")
    );
}

/// With the real PDF renderer, end to end.
#[tokio::test]
async fn send_now_mails_the_real_pdf_to_the_recipients_and_logs_the_delivery() {
    let (port, mail) = smtp_receiver().await;
    let app = TestApp::spawn_with(AppConfig {
        smtp: Some(relay(port)),
        ..common::test_config()
    })
    .await;
    let mut editor = app.login_as(Role::Editor).await;
    let mut request = monthly("Monthly in UTC");
    request["time_zone"] = json!("UTC");
    let saved = create(&mut editor, &request).await;
    let sent = editor
        .post_empty(&format!("/api/v1/reports/schedules/{}/send", saved.id))
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.text());
    let delivery: ReportDelivery = sent.json();
    assert!(delivery.ok, "{delivery:?}");

    let last_month = (Utc::now().date_naive().with_day(1).unwrap())
        .checked_sub_months(Months::new(1))
        .unwrap();
    let file_name = format!("vigil-sla-{}.pdf", last_month.format("%Y-%m"));
    let mail = mail.await.expect("the email reached the mail server");
    let mut envelope = mail.rcpt_to.clone();
    envelope.sort();
    assert_eq!(envelope, ["cto@example.com", "sre-leads@example.com"]);
    let email = report_email(&mail);
    assert_eq!(
        recipients_of(&email.headers),
        ["cto@example.com", "sre-leads@example.com"]
    );
    assert_eq!(
        email.headers["subject"],
        format!("Vigil SLA report, {}", last_month.format("%B %Y"))
    );
    assert!(email.text.contains(&file_name), "{}", email.text);
    assert!(
        email
            .attachment
            .header("content-disposition")
            .contains(&format!("filename=\"{file_name}\"")),
        "{:?}",
        email.attachment.headers
    );
    assert_eq!(email.attachment.header("content-type"), "application/pdf");
    assert!(
        email.attachment.body.starts_with(b"%PDF"),
        "a PDF: {:?}",
        String::from_utf8_lossy(&email.attachment.body[..20.min(email.attachment.body.len())])
    );

    assert_eq!(delivery.detail, format!("sent {file_name} to 2 recipients"));
    assert_eq!(log(&app).await, [delivery]);
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'report_schedule.send'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(audited, 1);
}

//! Scheduled SLA reports: editors set up a weekly or monthly email of the PDF report to a
//! list of recipients; a worker sends each due schedule once across replicas, through the
//! server's mail relay, and keeps a delivery log; "send now" sends the last period at once.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, Datelike, Days, Duration as TimeDelta, Months, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use vigil_shared::slo::{
    ReportCadence, ReportDelivery, ReportSchedule, ReportScheduleList, ReportScheduleRequest,
    SlaReport,
};

use super::report::{self, Format, Period};
use super::status::local_midnight;
use crate::audit::{self, Target};
use crate::auth::{AuthUser, Editor};
use crate::db;
use crate::error::{AppError, AppResult, FieldErrors, Json, Path};
use crate::notify::send::{MailAttachment, SmtpRelay};
use crate::state::AppState;
use crate::ticker::Ticker;
use crate::users::contact_methods::parse_email;

const MAX_NAME: usize = 200;
const MAX_RECIPIENTS: usize = 50;
const MAX_SERVICES: usize = 200;
const MAX_SERVICE_NAME: usize = 200;
/// Most schedules kept: each one is a report rendered and mailed every period.
pub const MAX_SCHEDULES: i64 = 1_000;
/// Deliveries the list shows.
const LOG_LENGTH: i64 = 100;
/// A run waits this long after its period ends, so that the history of the period's last
/// minutes has been computed.
const SETTLE: TimeDelta = TimeDelta::hours(1);
/// Most schedules one pass of the worker sends (the rest wait a minute for the next).
const MAX_PER_PASS: usize = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/reports/schedules",
            get(list_schedules).post(create_schedule),
        )
        .route(
            "/reports/schedules/{id}",
            get(get_schedule)
                .put(replace_schedule)
                .delete(delete_schedule),
        )
        .route("/reports/schedules/{id}/send", post(send_now))
}

/// The first day of the period (of `cadence`) that `day` falls in: the 1st of its month, or
/// the Monday of its week.
fn period_start(cadence: ReportCadence, day: NaiveDate) -> NaiveDate {
    match cadence {
        ReportCadence::Monthly => day.with_day(1).unwrap_or(day),
        ReportCadence::Weekly => day - Days::new(u64::from(day.weekday().num_days_from_monday())),
    }
}

/// The first day of the period after the one starting on `start`.
fn following(cadence: ReportCadence, start: NaiveDate) -> NaiveDate {
    match cadence {
        ReportCadence::Monthly => start.checked_add_months(Months::new(1)),
        ReportCadence::Weekly => start.checked_add_days(Days::new(7)),
    }
    .unwrap_or(start)
}

/// The first day of the period before the one starting on `start`.
fn preceding(cadence: ReportCadence, start: NaiveDate) -> NaiveDate {
    match cadence {
        ReportCadence::Monthly => start.checked_sub_months(Months::new(1)),
        ReportCadence::Weekly => start.checked_sub_days(Days::new(7)),
    }
    .unwrap_or(start)
}

/// The last complete period before `now` in `tz`, as `[from, to)`: the previous calendar
/// month, or the previous Monday-to-Monday week, from local midnight to local midnight (a
/// month with a DST change is an hour shorter or longer).
pub fn last_period(
    cadence: ReportCadence,
    tz: Tz,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let current = period_start(cadence, now.with_timezone(&tz).date_naive());
    (
        local_midnight(tz, preceding(cadence, current)),
        local_midnight(tz, current),
    )
}

/// When a schedule runs next after `now`: an hour after the next period boundary in `tz` (an
/// hour after the one just passed, if that hour is still ahead).
pub fn next_run_after(cadence: ReportCadence, tz: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    let current = period_start(cadence, now.with_timezone(&tz).date_naive());
    let this = local_midnight(tz, current) + SETTLE;
    if this > now {
        this
    } else {
        local_midnight(tz, following(cadence, current)) + SETTLE
    }
}

/// A schedule that passed validation: trimmed, addresses checked, time zone parsed.
#[derive(Debug)]
struct ValidSchedule {
    name: String,
    cadence: ReportCadence,
    tz: Tz,
    services: Vec<String>,
    recipients: Vec<String>,
    enabled: bool,
}

fn validate(request: &ReportScheduleRequest) -> AppResult<ValidSchedule> {
    let mut errors = FieldErrors::new();
    let name = request.name.trim();
    match name.chars().count() {
        0 => errors.add("name", "is required"),
        n if n > MAX_NAME => errors.add("name", format!("must be at most {MAX_NAME} characters")),
        _ => {}
    }
    let zone = request.time_zone.trim();
    let tz = zone.parse::<Tz>().unwrap_or_else(|_| {
        errors.add(
            "time_zone",
            format!("\"{zone}\" is not a time zone (such as Europe/Berlin)"),
        );
        chrono_tz::UTC
    });
    // Counts first, so that a huge list is refused before each entry is looked at.
    let mut recipients: Vec<String> = Vec::new();
    if request.recipients.len() > MAX_RECIPIENTS {
        errors.add("recipients", format!("at most {MAX_RECIPIENTS} addresses"));
    } else {
        let mut seen = BTreeSet::new();
        for address in request.recipients.iter().map(|a| a.trim()) {
            if address.is_empty() || !seen.insert(address.to_lowercase()) {
                continue;
            }
            match parse_email(address) {
                Ok(address) => recipients.push(address),
                Err(problem) => errors.add("recipients", format!("\"{address}\" {problem}")),
            }
        }
        if seen.is_empty() {
            errors.add("recipients", "add at least one email address");
        }
    }
    let mut services: Vec<String> = Vec::new();
    if request.services.len() > MAX_SERVICES {
        errors.add("services", format!("at most {MAX_SERVICES} services"));
    } else {
        let named: BTreeSet<&str> = request
            .services
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        for service in named {
            if service.chars().count() > MAX_SERVICE_NAME {
                errors.add(
                    "services",
                    format!("a service name has at most {MAX_SERVICE_NAME} characters"),
                );
            } else {
                services.push(service.to_owned());
            }
        }
    }
    errors.into_result()?;
    Ok(ValidSchedule {
        name: name.to_owned(),
        cadence: request.cadence,
        tz,
        services,
        recipients,
        enabled: request.enabled,
    })
}

fn cadence_text(cadence: ReportCadence) -> &'static str {
    match cadence {
        ReportCadence::Weekly => "weekly",
        ReportCadence::Monthly => "monthly",
    }
}

fn not_found() -> AppError {
    AppError::not_found("There is no report schedule with this id.")
}

async fn select(
    conn: &mut PgConnection,
    id: Option<i64>,
) -> Result<Vec<ReportSchedule>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, name, cadence, time_zone, services, recipients, enabled, next_run_at,
                  created_at
           FROM report_schedules
           WHERE $1::bigint IS NULL OR id = $1
           ORDER BY lower(name), id"#,
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(ReportSchedule {
                id: row.id,
                schedule: ReportScheduleRequest {
                    name: row.name,
                    cadence: db::stored("report_schedules.cadence", &row.cadence)?,
                    time_zone: row.time_zone,
                    services: row.services,
                    recipients: row.recipients,
                    enabled: row.enabled,
                },
                next_run_at: row.next_run_at,
                created_at: row.created_at,
            })
        })
        .collect()
}

/// The newest deliveries, of every schedule.
async fn latest_deliveries(conn: &mut PgConnection) -> Result<Vec<ReportDelivery>, sqlx::Error> {
    sqlx::query_as!(
        ReportDelivery,
        "SELECT id, schedule_id, period_from, period_to, sent_at, ok, detail
         FROM report_deliveries
         ORDER BY sent_at DESC, id DESC
         LIMIT $1",
        LOG_LENGTH
    )
    .fetch_all(&mut *conn)
    .await
}

/// Adds a delivery to the log.
async fn record_delivery(
    conn: &mut PgConnection,
    schedule_id: i64,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    outcome: &Outcome,
) -> Result<ReportDelivery, sqlx::Error> {
    sqlx::query_as!(
        ReportDelivery,
        "INSERT INTO report_deliveries (schedule_id, period_from, period_to, ok, detail)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id, schedule_id, period_from, period_to, sent_at, ok, detail",
        schedule_id,
        from,
        to,
        outcome.ok,
        outcome.detail
    )
    .fetch_one(&mut *conn)
    .await
}

/// The time zone a stored schedule runs in (validated when saved; UTC should a later
/// time-zone database no longer know the name).
fn zone_of(schedule: &ReportSchedule) -> Tz {
    schedule.schedule.time_zone.parse().unwrap_or_else(|_| {
        tracing::warn!(
            schedule = schedule.id,
            time_zone = %schedule.schedule.time_zone,
            "a report schedule names an unknown time zone; using UTC"
        );
        chrono_tz::UTC
    })
}

/// Produces the PDF of a report; tests stand in their own.
pub type RenderPdf = fn(&SlaReport) -> Result<MailAttachment, String>;

/// The report's PDF as the download gives it (`report::render`), ready to attach.
pub fn render_pdf(report: &SlaReport) -> Result<MailAttachment, String> {
    let (body, content_type, file_name) =
        report::render(report, Format::Pdf).map_err(|e| e.to_string())?;
    Ok(MailAttachment {
        file_name,
        content_type: content_type.to_owned(),
        body,
    })
}

/// How scheduled reports leave: through the server's mail relay (none without
/// `--smtp-url`), with the PDF made by `render`.
#[derive(Clone, Debug)]
pub struct ReportMailer {
    pub relay: Option<SmtpRelay>,
    pub render: RenderPdf,
}

impl ReportMailer {
    pub fn new(relay: Option<SmtpRelay>) -> Self {
        ReportMailer {
            relay,
            render: render_pdf,
        }
    }
}

/// How one delivery went, as the log shows it.
#[derive(Debug)]
struct Outcome {
    ok: bool,
    detail: String,
}

impl Outcome {
    fn failed(detail: impl Into<String>) -> Self {
        Outcome {
            ok: false,
            detail: detail.into(),
        }
    }
}

fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// The email's text: the period, the count of SLOs met and breached, and each SLO's
/// achieved figure against its objective.
fn summary(schedule: &ReportSchedule, report: &SlaReport, tz: Tz, file_name: &str) -> String {
    let s = &report.summary;
    let mut text = format!(
        "Vigil {}\nSchedule: {}\nPeriod: {} to {} ({})\n\n{} SLO{}: {} met, {} breached, {} without data.\n",
        report.title,
        schedule.schedule.name,
        local(report.from, tz),
        local(report.to, tz),
        report.time_zone,
        s.slos,
        if s.slos == 1 { "" } else { "s" },
        s.met,
        s.breached,
        s.no_data,
    );
    if !report.slos.is_empty() {
        text.push('\n');
    }
    for slo in &report.slos {
        let achieved = slo
            .achieved
            .map_or_else(|| "no data".to_owned(), |a| format!("{a} %"));
        text.push_str(&format!(
            "- {} ({}): achieved {achieved} against an objective of {} %: {}\n",
            slo.name,
            slo.service,
            slo.objective,
            report::status(slo.met)
        ));
    }
    if !report.notes.is_empty() {
        text.push('\n');
        for note in &report.notes {
            text.push_str(&format!("{note}\n"));
        }
    }
    text.push_str(&format!("\nThe full report is attached: {file_name}\n"));
    text
}

/// Builds the report of `period` for `schedule`, renders its PDF and mails it to the
/// schedule's recipients. Every failure becomes a failed delivery saying what went wrong
/// (nothing from the database, nothing a mail server sent beyond its SMTP reply).
async fn send_report(
    db: &PgPool,
    mailer: &ReportMailer,
    schedule: &ReportSchedule,
    tz: Tz,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
) -> Outcome {
    let Some(relay) = &mailer.relay else {
        return Outcome::failed("no SMTP server configured (--smtp-url): the report was not sent");
    };
    let period = Period {
        from,
        to,
        tz,
        services: schedule.schedule.services.clone(),
        slo_ids: Vec::new(),
    };
    let built = match db.acquire().await {
        Ok(mut conn) => report::build(&mut conn, &period, now).await,
        Err(error) => Err(error.into()),
    };
    let report = match built {
        Ok(report) => report,
        Err(error) => {
            tracing::error!(schedule = schedule.id, %error, "could not build a scheduled SLA report");
            return Outcome::failed(
                "could not build the report (the server log has the cause); not sent",
            );
        }
    };
    // Layout is CPU work: off the async threads.
    let render = mailer.render;
    let rendered = tokio::task::spawn_blocking(move || {
        let pdf = render(&report);
        (report, pdf)
    })
    .await;
    let (report, pdf) = match rendered {
        Ok((report, Ok(pdf))) => (report, pdf),
        Ok((_, Err(problem))) => {
            return Outcome::failed(format!("could not render the PDF: {problem}; not sent"));
        }
        Err(error) => {
            tracing::error!(schedule = schedule.id, %error, "rendering a report's PDF panicked");
            return Outcome::failed("could not render the PDF (the renderer failed); not sent");
        }
    };
    let file_name = pdf.file_name.clone();
    let text = summary(schedule, &report, tz, &file_name);
    let subject = format!("Vigil {}", report.title);
    let recipients = &schedule.schedule.recipients;
    match relay
        .send_with_attachment(recipients, &subject, text, pdf)
        .await
    {
        Ok(()) => Outcome {
            ok: true,
            detail: format!(
                "sent {file_name} to {} recipient{}",
                recipients.len(),
                if recipients.len() == 1 { "" } else { "s" }
            ),
        },
        Err(error) => Outcome::failed(error.message),
    }
}

/// Sends every enabled schedule due at `now` (at most [`MAX_PER_PASS`]): the last complete
/// period as of `now`, one email per schedule, a delivery in the log whatever happened, and
/// `next_run_at` moved to the next period. A failed send is not retried; the next period
/// goes on ("send now" retries by hand). How many schedules were handled.
pub async fn send_due(
    db: &PgPool,
    mailer: &ReportMailer,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let mut handled = 0;
    while handled < MAX_PER_PASS {
        let mut tx = db.begin().await.context("starting a transaction")?;
        // Once across replicas: the row stays locked until its delivery is recorded and its
        // next run moved, so another replica's claim skips it, and finds it no longer due
        // after the commit. NO KEY UPDATE (the strength an UPDATE of next_run_at takes) lets
        // a "send now" of the same schedule record its delivery, whose foreign key takes
        // KEY SHARE, without waiting for this mail to go out.
        let Some(id) = sqlx::query_scalar!(
            "SELECT id FROM report_schedules
             WHERE enabled AND next_run_at <= $1
             ORDER BY next_run_at, id
             LIMIT 1
             FOR NO KEY UPDATE SKIP LOCKED",
            now
        )
        .fetch_optional(&mut *tx)
        .await
        .context("claiming a due report schedule")?
        else {
            break;
        };
        let schedule = select(&mut tx, Some(id))
            .await
            .context("reading a report schedule")?
            .pop()
            .context("a claimed report schedule vanished")?;
        let tz = zone_of(&schedule);
        let cadence = schedule.schedule.cadence;
        let period = last_period(cadence, tz, now);
        let outcome = send_report(db, mailer, &schedule, tz, period, now).await;
        if outcome.ok {
            tracing::info!(schedule = id, detail = %outcome.detail, "sent a scheduled SLA report");
        } else {
            tracing::warn!(schedule = id, detail = %outcome.detail, "a scheduled SLA report was not sent");
        }
        record_delivery(&mut tx, id, period, &outcome)
            .await
            .context("recording a report delivery")?;
        sqlx::query!(
            "UPDATE report_schedules SET next_run_at = $2 WHERE id = $1",
            id,
            next_run_after(cadence, tz, now)
        )
        .execute(&mut *tx)
        .await
        .context("moving a report schedule's next run")?;
        tx.commit().await.context("committing a report delivery")?;
        handled += 1;
    }
    Ok(handled)
}

/// Sends due scheduled reports every minute until shutdown.
pub async fn schedule_worker(db: PgPool, mailer: ReportMailer, shutdown: CancellationToken) {
    let mut ticker = Ticker::every(Duration::from_secs(60), shutdown);
    while ticker.tick().await {
        ticker
            .run(
                "sending scheduled SLA reports",
                send_due(&db, &mailer, Utc::now()),
            )
            .await;
    }
}

async fn list_schedules(
    _user: AuthUser,
    State(state): State<AppState>,
) -> AppResult<Json<ReportScheduleList>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(ReportScheduleList {
        schedules: select(&mut conn, None).await?,
        deliveries: latest_deliveries(&mut conn).await?,
    }))
}

async fn get_schedule(
    _user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<ReportSchedule>> {
    select(&mut *state.db.acquire().await?, Some(id))
        .await?
        .pop()
        .map(Json)
        .ok_or_else(not_found)
}

async fn create_schedule(
    Editor(user): Editor,
    State(state): State<AppState>,
    Json(request): Json<ReportScheduleRequest>,
) -> AppResult<(StatusCode, Json<ReportSchedule>)> {
    let valid = validate(&request)?;
    let next_run_at = next_run_after(valid.cadence, valid.tz, Utc::now());
    let mut tx = state.db.begin().await?;
    super::store::refuse_beyond(
        &mut tx,
        "report_schedules",
        MAX_SCHEDULES,
        "report schedules",
    )
    .await?;
    let id = sqlx::query_scalar!(
        "INSERT INTO report_schedules
             (name, cadence, time_zone, services, recipients, enabled, next_run_at, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         RETURNING id",
        valid.name,
        cadence_text(valid.cadence),
        valid.tz.name(),
        &valid.services,
        &valid.recipients,
        valid.enabled,
        next_run_at,
        user.id
    )
    .fetch_one(&mut *tx)
    .await?;
    let saved = select(&mut tx, Some(id))
        .await?
        .pop()
        .ok_or_else(not_found)?;
    audit::record(
        &mut *tx,
        user.audit_actor(),
        "report_schedule.create",
        Target::of("report_schedule", id),
        json!({ "schedule": saved.schedule }),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

async fn replace_schedule(
    Editor(user): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(request): Json<ReportScheduleRequest>,
) -> AppResult<Json<ReportSchedule>> {
    let valid = validate(&request)?;
    let mut tx = state.db.begin().await?;
    let before = select(&mut tx, Some(id))
        .await?
        .pop()
        .ok_or_else(not_found)?;
    // The next run stays unless the period it ends changed, or the schedule comes back on
    // (a run missed while it was off is not sent late).
    let moved = before.schedule.cadence != valid.cadence
        || before.schedule.time_zone != valid.tz.name()
        || (valid.enabled && !before.schedule.enabled);
    sqlx::query!(
        "UPDATE report_schedules
         SET name = $2, cadence = $3, time_zone = $4, services = $5, recipients = $6,
             enabled = $7, updated_by = $8,
             next_run_at = CASE WHEN $9 THEN $10 ELSE next_run_at END
         WHERE id = $1",
        id,
        valid.name,
        cadence_text(valid.cadence),
        valid.tz.name(),
        &valid.services,
        &valid.recipients,
        valid.enabled,
        user.id,
        moved,
        next_run_after(valid.cadence, valid.tz, Utc::now())
    )
    .execute(&mut *tx)
    .await?;
    let saved = select(&mut tx, Some(id))
        .await?
        .pop()
        .ok_or_else(not_found)?;
    audit::record(
        &mut *tx,
        user.audit_actor(),
        "report_schedule.update",
        Target::of("report_schedule", id),
        json!({ "before": before.schedule, "after": saved.schedule }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(saved))
}

async fn delete_schedule(
    Editor(user): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let before = select(&mut tx, Some(id))
        .await?
        .pop()
        .ok_or_else(not_found)?;
    sqlx::query!("DELETE FROM report_schedules WHERE id = $1", id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut *tx,
        user.audit_actor(),
        "report_schedule.delete",
        Target::of("report_schedule", id),
        json!({ "schedule": before.schedule }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends the last complete period now, whether or not the schedule is on, and answers with
/// the delivery (202 even when it failed: the delivery says why). The schedule's next run
/// stays as it was.
async fn send_now(
    Editor(user): Editor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<(StatusCode, Json<ReportDelivery>)> {
    let schedule = select(&mut *state.db.acquire().await?, Some(id))
        .await?
        .pop()
        .ok_or_else(not_found)?;
    let tz = zone_of(&schedule);
    let now = Utc::now();
    let period = last_period(schedule.schedule.cadence, tz, now);
    let mailer = ReportMailer::new(state.config.smtp.clone());
    let outcome = send_report(&state.db, &mailer, &schedule, tz, period, now).await;
    let mut tx = state.db.begin().await?;
    let delivery = record_delivery(&mut tx, id, period, &outcome)
        .await
        .map_err(|e| match crate::error::constraint(&e) {
            // Deleted while the mail went out.
            Some("report_deliveries_schedule_id_fkey") => not_found(),
            _ => e.into(),
        })?;
    audit::record(
        &mut *tx,
        user.audit_actor(),
        "report_schedule.send",
        Target::of("report_schedule", id),
        json!({ "period_from": period.0, "period_to": period.1,
                "ok": outcome.ok, "detail": outcome.detail }),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn berlin() -> Tz {
        "Europe/Berlin".parse().unwrap()
    }

    #[test]
    fn a_monthly_schedule_sends_the_previous_local_month_across_the_autumn_dst_change() {
        // DST ends in Berlin on 2026-10-25 (03:00 CEST -> 02:00 CET).
        let tz = berlin();
        let (from, to) = last_period(
            ReportCadence::Monthly,
            tz,
            utc("2026-11-01T00:00:00Z"), // 01:00 CET on the 1st
        );
        assert_eq!(from, utc("2026-09-30T22:00:00Z"), "1 October, 00:00 CEST");
        assert_eq!(to, utc("2026-10-31T23:00:00Z"), "1 November, 00:00 CET");
        assert_eq!(to - from, TimeDelta::hours(31 * 24 + 1));
        assert_eq!(
            next_run_after(ReportCadence::Monthly, tz, utc("2026-10-15T12:00:00Z")),
            utc("2026-11-01T00:00:00Z"),
            "an hour after local midnight of 1 November"
        );
        assert_eq!(
            next_run_after(ReportCadence::Monthly, tz, utc("2026-11-01T00:00:00Z")),
            utc("2026-11-30T23:00:00Z") + SETTLE,
            "once run, the next is an hour after 1 December"
        );
        assert_eq!(
            next_run_after(ReportCadence::Monthly, tz, utc("2026-10-31T23:30:00Z")),
            utc("2026-11-01T00:00:00Z"),
            "within the settling hour the run just ahead is still to come"
        );
    }

    #[test]
    fn a_weekly_schedule_sends_monday_to_monday_across_the_spring_dst_change() {
        // DST starts in New York on Sunday 2026-03-08 (02:00 EST -> 03:00 EDT).
        let tz: Tz = "America/New_York".parse().unwrap();
        let (from, to) = last_period(
            ReportCadence::Weekly,
            tz,
            utc("2026-03-11T15:00:00Z"), // a Wednesday
        );
        assert_eq!(
            from,
            utc("2026-03-02T05:00:00Z"),
            "Monday 2 March, 00:00 EST"
        );
        assert_eq!(to, utc("2026-03-09T04:00:00Z"), "Monday 9 March, 00:00 EDT");
        assert_eq!(to - from, TimeDelta::hours(7 * 24 - 1));
        assert_eq!(
            next_run_after(ReportCadence::Weekly, tz, utc("2026-03-05T12:00:00Z")),
            utc("2026-03-09T05:00:00Z"),
            "01:00 EDT on the Monday after the change"
        );
        let monday_run = utc("2026-03-09T05:00:00Z");
        assert_eq!(
            last_period(ReportCadence::Weekly, tz, monday_run),
            (from, to),
            "the run on Monday sends the week that just ended"
        );
        assert_eq!(
            next_run_after(ReportCadence::Weekly, tz, monday_run),
            utc("2026-03-16T05:00:00Z")
        );
    }

    #[test]
    fn periods_follow_the_local_calendar_not_utc() {
        // 23:30 UTC on 31 January is already 1 February in Berlin.
        let (from, to) = last_period(
            ReportCadence::Monthly,
            berlin(),
            utc("2026-01-31T23:30:00Z"),
        );
        assert_eq!(
            (from, to),
            (utc("2025-12-31T23:00:00Z"), utc("2026-01-31T23:00:00Z"))
        );
        // In UTC itself the same instant still belongs to January.
        let (from, _) = last_period(
            ReportCadence::Monthly,
            chrono_tz::UTC,
            utc("2026-01-31T23:30:00Z"),
        );
        assert_eq!(from, utc("2025-12-01T00:00:00Z"));
    }

    fn request(pairs: serde_json::Value) -> ReportScheduleRequest {
        serde_json::from_value(pairs).unwrap()
    }

    #[test]
    fn validation_trims_dedupes_and_names_each_bad_field() {
        let valid = validate(&request(json!({
            "name": "  Monthly to management ",
            "cadence": "monthly",
            "time_zone": "Europe/Berlin",
            "services": [" api", "api", "", "search"],
            "recipients": ["ceo@example.com", " CEO@example.com", "ops@example.com "],
        })))
        .unwrap();
        assert_eq!(valid.name, "Monthly to management");
        assert_eq!(valid.services, ["api", "search"]);
        assert_eq!(valid.recipients, ["ceo@example.com", "ops@example.com"]);
        assert!(valid.enabled, "on by default");

        let error = validate(&request(json!({
            "name": " ",
            "cadence": "weekly",
            "time_zone": "Mars/Olympus",
            "services": vec!["s"; 201],
            "recipients": ["ops@example.com", "not an address"],
        })))
        .unwrap_err();
        let AppError::Validation(fields) = error else {
            panic!("{error:?}")
        };
        let fields = fields.into_map();
        assert_eq!(fields["name"], "is required");
        assert!(fields["time_zone"].contains("Mars/Olympus"));
        assert_eq!(fields["services"], "at most 200 services");
        assert!(fields["recipients"].starts_with("\"not an address\""));
    }
}

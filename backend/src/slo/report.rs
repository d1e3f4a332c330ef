//! SLA reports: for a period and a set of services, each SLO's objective against what it
//! achieved, from the SLOs' own history; downloadable as JSON, CSV and PDF with the same
//! numbers (rounded once, here, before any format prints them).

use std::collections::BTreeSet;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Datelike, Duration as TimeDelta, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use sqlx::PgConnection;
use vigil_shared::slo::{
    BudgetUnit, DaySli, ReportIncident, ReportProvenance, ReportSummary, SlaReport, SloReport,
};

use super::history::{self, Counts};
use super::maintenance;
use super::status::{budget, budget_total, local_midnight};
use super::store::{self, StoredSlo};
use crate::auth::AuthUser;
use crate::csv;
use crate::error::{AppError, AppResult, FieldErrors, Query};
use crate::incidents::{self, ServiceIncident};
use crate::state::AppState;

/// The longest period a report covers (the history kept).
const MAX_DAYS: i64 = 400;
const MAX_FILTER: usize = 200;

pub fn routes() -> Router<AppState> {
    Router::new().route("/reports/sla", get(sla_report))
}

/// What a report covers.
#[derive(Clone, Debug, PartialEq)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub tz: Tz,
    pub services: Vec<String>,
    pub slo_ids: Vec<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Pdf,
}

#[derive(Debug, Default, Deserialize)]
pub struct ReportQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub tz: Option<String>,
    pub services: Option<String>,
    pub slos: Option<String>,
    pub format: Option<String>,
}

/// `YYYY-MM-DD` (local midnight in `tz`) or an RFC 3339 instant.
fn parse_time(text: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(local_midnight(tz, day));
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn list(text: &Option<String>) -> Vec<String> {
    text.as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The period and format asked for; every problem at once (the format alone is a 400).
pub fn parse(query: &ReportQuery, now: DateTime<Utc>) -> AppResult<(Period, Format)> {
    let format = match query.format.as_deref().unwrap_or("json") {
        "json" => Format::Json,
        "csv" => Format::Csv,
        "pdf" => Format::Pdf,
        other => {
            return Err(AppError::bad_request(format!(
                "Unknown format \"{other}\": use pdf, csv or json."
            )));
        }
    };
    let mut errors = FieldErrors::new();
    let tz = match query.tz.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => chrono_tz::UTC,
        Some(name) => name.parse::<Tz>().unwrap_or_else(|_| {
            errors.add(
                "tz",
                format!("\"{name}\" is not a time zone (such as Europe/Berlin)"),
            );
            chrono_tz::UTC
        }),
    };
    let this_month = {
        let local = now.with_timezone(&tz).date_naive();
        NaiveDate::from_ymd_opt(local.year(), local.month(), 1).unwrap_or(local)
    };
    let last_month = this_month
        .checked_sub_months(chrono::Months::new(1))
        .unwrap_or(this_month);
    let mut time = |field: &str, text: &Option<String>, default: NaiveDate| match text {
        None => Some(local_midnight(tz, default)),
        Some(text) => parse_time(text, tz).or_else(|| {
            errors.add(
                field,
                format!("\"{text}\" is not a date (2026-11-01) or an RFC 3339 time"),
            );
            None
        }),
    };
    let from = time("from", &query.from, last_month);
    let to = time("to", &query.to, this_month);
    if let (Some(from), Some(to)) = (from, to) {
        if to <= from {
            errors.add("to", "must be after from");
        } else if to - from > TimeDelta::days(MAX_DAYS) {
            errors.add("to", format!("a report covers at most {MAX_DAYS} days"));
        }
    }
    let services = list(&query.services);
    if services.len() > MAX_FILTER {
        errors.add("services", format!("at most {MAX_FILTER} services"));
    }
    let mut slo_ids = Vec::new();
    for id in list(&query.slos) {
        match id.parse::<i64>() {
            Ok(id) => slo_ids.push(id),
            Err(_) => errors.add("slos", format!("\"{id}\" is not an SLO id")),
        }
    }
    if slo_ids.len() > MAX_FILTER {
        errors.add("slos", format!("at most {MAX_FILTER} SLOs"));
    }
    errors.into_result()?;
    let (Some(from), Some(to)) = (from, to) else {
        return Err(AppError::invalid("from", "is required"));
    };
    Ok((
        Period {
            from: maintenance::floor_minute(from),
            to: maintenance::floor_minute(to),
            tz,
            services,
            slo_ids,
        },
        format,
    ))
}

/// Rounded once so that every format shows the same figure.
fn round(value: f64, decimals: i32) -> f64 {
    let factor = 10f64.powi(decimals);
    (value * factor).round() / factor
}

fn percent(value: f64) -> f64 {
    round(value, 3)
}

/// Events (or minutes): whole from a thousand up, else to a tenth (`increase` extrapolates,
/// so counts have fractions).
fn count(value: f64) -> f64 {
    if value.abs() >= 1000.0 {
        value.round()
    } else {
        round(value, 1)
    }
}

/// The local days of the period, each as `[start, end)` clipped to it.
fn days(period: &Period) -> Vec<(NaiveDate, DateTime<Utc>, DateTime<Utc>)> {
    let first = period.from.with_timezone(&period.tz).date_naive();
    first
        .iter_days()
        .map(|day| {
            let start = local_midnight(period.tz, day).max(period.from);
            let end = day
                .succ_opt()
                .map_or(period.to, |next| local_midnight(period.tz, next))
                .min(period.to);
            (day, start, end)
        })
        .take_while(|(_, start, _)| *start < period.to)
        .filter(|(_, start, end)| start < end)
        .collect()
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| round(sum / n as f64, 0))
}

fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 1000.0
}

/// The report for `period`, as of `now`.
pub async fn build(
    conn: &mut PgConnection,
    period: &Period,
    now: DateTime<Utc>,
) -> AppResult<SlaReport> {
    let all = store::select(&mut *conn, None).await?;
    let chosen: Vec<StoredSlo> = all
        .into_iter()
        .filter(|s| {
            (period.services.is_empty() || period.services.contains(&s.valid.request.service))
                && (period.slo_ids.is_empty() || period.slo_ids.contains(&s.id))
        })
        .collect();
    let mut notes = Vec::new();
    for service in &period.services {
        if !chosen.iter().any(|s| &s.valid.request.service == service) {
            notes.push(format!("The service \"{service}\" has no SLO."));
        }
    }
    for id in &period.slo_ids {
        if !chosen.iter().any(|s| s.id == *id) {
            notes.push(format!("There is no SLO {id} (of the services asked for)."));
        }
    }
    if chosen.is_empty() && period.services.is_empty() && period.slo_ids.is_empty() {
        notes.push("No SLO is defined yet: there is nothing to report.".to_owned());
    }
    let services: Vec<String> = chosen
        .iter()
        .map(|s| s.valid.request.service.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let found = incidents::for_services(&mut *conn, &services, period.from, period.to).await?;
    let windows = maintenance::all(&mut *conn).await?;
    let days = days(period);
    let mut slos = Vec::with_capacity(chosen.len());
    let mut impacts: Vec<Vec<(String, f64)>> = vec![Vec::new(); found.len()];
    for slo in &chosen {
        let (report, impact) = slo_report(conn, slo, period, &days, &windows, &found).await?;
        for (i, percent) in impact {
            impacts[i].push((slo.valid.request.name.clone(), percent));
        }
        slos.push(report);
    }
    let incidents = found
        .into_iter()
        .zip(impacts)
        .map(|(i, budget_impact)| ReportIncident {
            id: i.id,
            title: i.title,
            severity: i.severity,
            service: i.service,
            triggered_at: i.triggered_at,
            acknowledged_at: i.acknowledged_at,
            resolved_at: i.resolved_at,
            budget_impact,
        })
        .collect();
    let met = slos.iter().filter(|s| s.met == Some(true)).count();
    let breached = slos.iter().filter(|s| s.met == Some(false)).count();
    let (title, file_stem) = names(period);
    Ok(SlaReport {
        title,
        from: period.from,
        to: period.to,
        time_zone: period.tz.name().to_owned(),
        generated_at: now,
        services: period.services.clone(),
        summary: ReportSummary {
            slos: slos.len(),
            met,
            breached,
            no_data: slos.len() - met - breached,
            met_percent: (met + breached > 0)
                .then(|| percent(met as f64 / (met + breached) as f64 * 100.0)),
        },
        slos,
        incidents,
        notes,
        file_stem,
    })
}

/// One SLO's section, and the budget impact (percent) of each incident of its service, by
/// index into `incidents`.
async fn slo_report(
    conn: &mut PgConnection,
    slo: &StoredSlo,
    period: &Period,
    days: &[(NaiveDate, DateTime<Utc>, DateTime<Utc>)],
    windows: &[vigil_shared::slo::MaintenanceWindow],
    incidents: &[ServiceIncident],
) -> AppResult<(SloReport, Vec<(usize, f64)>)> {
    let request = &slo.valid.request;
    let spans = maintenance::spans(windows, slo.id, &request.service, period.from, period.to);
    let excluded = maintenance::merged(&spans);
    let mine: Vec<(usize, &ServiceIncident)> = incidents
        .iter()
        .enumerate()
        .filter(|(_, i)| i.service == request.service)
        .collect();
    let mut intervals: Vec<(DateTime<Utc>, DateTime<Utc>)> =
        days.iter().map(|(_, start, end)| (*start, *end)).collect();
    for (_, i) in &mine {
        let start = maintenance::floor_minute(i.triggered_at.max(period.from));
        let end = maintenance::floor_minute(
            i.resolved_at.unwrap_or(period.to).min(period.to) + TimeDelta::seconds(59),
        );
        intervals.push((start, end.max(start)));
    }
    intervals.push((period.from, period.to));
    let counts = history::counted(conn, slo.id, &intervals, &excluded).await?;
    let whole: Counts = *counts.last().unwrap_or(&Counts::default());
    let excluded_minutes: i64 = excluded.iter().map(|(s, e)| (*e - *s).num_minutes()).sum();
    let unit = request.sli.unit();
    let budget_total = budget_total(request.objective, &whole);
    let achieved = whole.sli().map(percent);
    let daily: Vec<DaySli> = days
        .iter()
        .zip(&counts)
        .map(|((date, _, _), c)| DaySli {
            date: *date,
            good: count(c.good),
            total: count(c.total),
            sli: c.sli().map(percent),
        })
        .collect();
    let mut worst: Vec<DaySli> = daily.iter().filter(|d| d.sli.is_some()).cloned().collect();
    worst.sort_by(|a, b| {
        a.sli
            .partial_cmp(&b.sli)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    worst.truncate(3);
    let impact = mine
        .iter()
        .zip(&counts[days.len()..])
        .map(|((index, _), c)| {
            (
                *index,
                percent(budget(budget_total, c.bad()).consumed_percent),
            )
        })
        .collect();
    let queries = slo.valid.sli.per_minute();
    let report = SloReport {
        slo_id: slo.id,
        name: request.name.clone(),
        service: request.service.clone(),
        sli_kind: request.sli.kind().to_owned(),
        unit,
        objective: request.objective,
        achieved,
        // From the exact figure: a rounded one could round up to the objective.
        met: whole.sli().map(|a| a >= request.objective),
        good: count(whole.good),
        total: count(whole.total),
        bad: count(whole.bad()),
        budget_consumed_percent: percent(budget(budget_total, whole.bad()).consumed_percent),
        excluded_minutes,
        incident_count: mine.len(),
        mtta_seconds: mean(
            mine.iter()
                .filter_map(|(_, i)| Some(seconds(i.triggered_at, i.acknowledged_at?))),
        ),
        mttr_seconds: mean(
            mine.iter()
                .filter_map(|(_, i)| Some(seconds(i.triggered_at, i.resolved_at?))),
        ),
        worst_days: worst,
        daily,
        excluded: spans,
        provenance: ReportProvenance {
            good_query: queries.good,
            total_query: queries.total,
            from: period.from,
            to: period.to,
            method: format!(
                "Each minute of the period, the two queries are evaluated at the minute's end \
                 (their [1m] range covers the minute); achieved = sum(good) / sum(total) over \
                 the minutes, leaving out {excluded_minutes} minutes of maintenance and \
                 corrections. Budget = (1 - objective) x {}.",
                match unit {
                    BudgetUnit::Events => "the events counted",
                    BudgetUnit::Minutes => "the minutes counted (with data, not excluded)",
                }
            ),
        },
    };
    Ok((report, impact))
}

/// The report's title and file name: a calendar month is named as such.
fn names(period: &Period) -> (String, String) {
    let from = period.from.with_timezone(&period.tz);
    let to = period.to.with_timezone(&period.tz);
    let first = from.date_naive();
    let whole_month = first.day() == 1
        && local_midnight(period.tz, first) == period.from
        && first
            .checked_add_months(chrono::Months::new(1))
            .is_some_and(|next| local_midnight(period.tz, next) == period.to);
    if whole_month {
        (
            format!("SLA report, {}", first.format("%B %Y")),
            format!("vigil-sla-{}", first.format("%Y-%m")),
        )
    } else {
        let last = (to - TimeDelta::seconds(1)).date_naive();
        (
            format!("SLA report, {} to {}", first, last),
            format!("vigil-sla-{first}--{last}"),
        )
    }
}

fn number(value: Option<f64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

const COLUMNS: usize = 17;

/// One row per SLO, units in the column names; a service asked for without an SLO gets a
/// row saying so.
pub fn csv(report: &SlaReport) -> String {
    let mut body = csv::line(&[
        "service",
        "slo",
        "sli_kind",
        "objective_percent",
        "achieved_percent",
        "status",
        "budget_consumed_percent",
        "bad_events",
        "downtime_minutes",
        "excluded_minutes",
        "incidents",
        "mtta_seconds",
        "mttr_seconds",
        "worst_days",
        "period_from",
        "period_to",
        "time_zone",
    ]);
    for s in &report.slos {
        let (events, minutes) = match s.unit {
            BudgetUnit::Events => (s.bad.to_string(), String::new()),
            BudgetUnit::Minutes => (String::new(), s.bad.to_string()),
        };
        let worst = s
            .worst_days
            .iter()
            .map(|d| format!("{} ({} %)", d.date, number(d.sli)))
            .collect::<Vec<_>>()
            .join("; ");
        body.push_str(&csv::line(&[
            s.service.clone(),
            s.name.clone(),
            s.sli_kind.clone(),
            s.objective.to_string(),
            number(s.achieved),
            status(s.met).to_owned(),
            s.budget_consumed_percent.to_string(),
            events,
            minutes,
            s.excluded_minutes.to_string(),
            s.incident_count.to_string(),
            number(s.mtta_seconds),
            number(s.mttr_seconds),
            worst,
            report.from.to_rfc3339(),
            report.to.to_rfc3339(),
            report.time_zone.clone(),
        ]));
    }
    for note in &report.notes {
        // As many fields as the header, the note in `status`.
        let mut fields = vec![String::new(); COLUMNS];
        fields[5] = note.clone();
        body.push_str(&csv::line(&fields));
    }
    body
}

pub fn status(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "breached",
        None => "no data",
    }
}

fn attachment(body: Vec<u8>, content_type: &'static str, name: &str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// Renders a report in `format`: the body, its content type and its file name.
pub fn render(report: &SlaReport, format: Format) -> AppResult<(Vec<u8>, &'static str, String)> {
    Ok(match format {
        Format::Json => (
            serde_json::to_vec_pretty(report).map_err(|e| AppError::Internal(e.into()))?,
            "application/json",
            format!("{}.json", report.file_stem),
        ),
        Format::Csv => (
            csv(report).into_bytes(),
            "text/csv; charset=utf-8",
            format!("{}.csv", report.file_stem),
        ),
        Format::Pdf => (
            super::pdf::render(report).map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?,
            "application/pdf",
            format!("{}.pdf", report.file_stem),
        ),
    })
}

async fn sla_report(
    _user: AuthUser,
    State(state): State<AppState>,
    Query(query): Query<ReportQuery>,
) -> AppResult<Response> {
    let now = Utc::now();
    let (period, format) = parse(&query, now)?;
    let report = build(&mut *state.db.acquire().await?, &period, now).await?;
    let (body, content_type, name) = if format == Format::Pdf {
        // Layout is CPU work: off the request threads.
        tokio::task::spawn_blocking(move || render(&report, format))
            .await
            .map_err(|e| AppError::Internal(e.into()))??
    } else {
        render(&report, format)?
    };
    Ok(attachment(body, content_type, &name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn query(pairs: &[(&str, &str)]) -> ReportQuery {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        };
        ReportQuery {
            from: get("from"),
            to: get("to"),
            tz: get("tz"),
            services: get("services"),
            slos: get("slos"),
            format: get("format"),
        }
    }

    #[test]
    fn the_default_period_is_last_month_in_the_time_zone() {
        let (period, format) = parse(
            &query(&[("tz", "Europe/Berlin")]),
            utc("2026-11-15T10:00:00Z"),
        )
        .unwrap();
        assert_eq!(format, Format::Json);
        assert_eq!(period.from, utc("2026-09-30T22:00:00Z"), "CEST");
        assert_eq!(
            period.to,
            utc("2026-10-31T23:00:00Z"),
            "CET: October has 745 hours"
        );
        let (title, stem) = names(&period);
        assert_eq!(stem, "vigil-sla-2026-10");
        assert_eq!(title, "SLA report, October 2026");
        let days = days(&period);
        assert_eq!(days.len(), 31);
        assert_eq!(
            days[24].2 - days[24].1,
            TimeDelta::hours(25),
            "the DST change day"
        );
    }

    #[test]
    fn bad_periods_and_formats_are_refused() {
        let now = utc("2026-11-15T10:00:00Z");
        let error = parse(&query(&[("format", "docx")]), now).unwrap_err();
        assert!(matches!(error, AppError::BadRequest { .. }), "{error:?}");
        for (pairs, expected) in [
            (
                vec![("from", "2026-11-02"), ("to", "2026-11-01")],
                "to must be after from",
            ),
            (
                vec![("from", "2025-01-01"), ("to", "2026-11-01")],
                "at most 400 days",
            ),
            (vec![("from", "yesterday")], "\"yesterday\" is not a date"),
            (
                vec![("tz", "Moon/Base")],
                "\"Moon/Base\" is not a time zone",
            ),
            (vec![("slos", "1,x")], "\"x\" is not an SLO id"),
        ] {
            let error = parse(&query(&pairs), now).unwrap_err().to_string();
            assert!(error.contains(expected), "{pairs:?}: {error}");
        }
    }
}

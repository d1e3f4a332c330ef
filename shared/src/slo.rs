//! Service level objectives, maintenance windows and SLA reports (SPEC §9).
//!
//! Percentages are percent (99.9 means 99.9 %), durations of budget are minutes, times are
//! UTC instants; a report's days are calendar days in the report's time zone.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// How an SLO tells good from bad.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Sli {
    /// Good (or bad) events over total events, from counters. Exactly one of `good` and `bad`
    /// is set; both are series selectors or expressions over counters, which the server wraps
    /// in `increase(…[window])` and sums.
    Events {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        good: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bad: Option<String>,
        total: String,
    },
    /// The share of requests faster than `threshold` seconds, from a histogram: `histogram`
    /// names its series (`http_request_duration_seconds{job="api"}`, with or without the
    /// `_bucket` suffix) and `threshold` is one of its `le` bounds.
    Latency { histogram: String, threshold: f64 },
    /// The share of minutes in which `condition` returned a result (`up == 1`,
    /// `histogram_quantile(0.99, …) < 0.3`); a minute without a result is bad.
    TimeSlices { condition: String },
}

impl Sli {
    pub fn kind(&self) -> &'static str {
        match self {
            Sli::Events { .. } => "events",
            Sli::Latency { .. } => "latency",
            Sli::TimeSlices { .. } => "time_slices",
        }
    }

    /// What the budget is counted in.
    pub fn unit(&self) -> BudgetUnit {
        match self {
            Sli::TimeSlices { .. } => BudgetUnit::Minutes,
            _ => BudgetUnit::Events,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetUnit {
    Events,
    Minutes,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendarUnit {
    Month,
    Quarter,
}

/// The period an SLO's objective is judged over.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SloWindow {
    /// The last `duration` (Prometheus duration, e.g. `30d`; at least 1h, at most 400d).
    Rolling { duration: String },
    /// The current calendar month or quarter in `time_zone` (IANA name, default UTC).
    Calendar {
        unit: CalendarUnit,
        #[serde(default = "utc")]
        time_zone: String,
    },
}

fn utc() -> String {
    "UTC".to_owned()
}

fn yes() -> bool {
    true
}

/// An SLO as the form sends it (create and replace).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloRequest {
    pub name: String,
    pub service: String,
    #[serde(default)]
    pub owner_team_id: Option<i64>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub sli: Sli,
    /// Percent of good, strictly between 0 and 100 (99.9).
    pub objective: f64,
    pub window: SloWindow,
    /// Generate the multiwindow, multi-burn-rate alert rules (on by default).
    #[serde(default = "yes")]
    pub burn_alerts: bool,
    /// Burn alerts stay quiet while the long window saw fewer events than this (events SLIs).
    #[serde(default = "default_min_events")]
    pub min_events: f64,
}

fn default_min_events() -> f64 {
    20.0
}

/// The PromQL the server runs for an SLO, per minute of history: `good` and `total` as
/// instant queries at the end of each minute (`[1m]` ranges), and the burn-rate expressions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SloQueries {
    pub good: String,
    pub total: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    pub id: i64,
    #[serde(flatten)]
    pub slo: SloRequest,
    pub queries: SloQueries,
    /// The generated burn-rate alert rules (page and ticket), when `burn_alerts` is on.
    #[serde(default)]
    pub alert_rule_ids: Vec<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_by: Option<String>,
}

/// Burn rate: how many times faster than "exactly uses the budget by the window's end" the
/// budget is being used, over the trailing period.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BurnRates {
    pub h1: Option<f64>,
    pub h6: Option<f64>,
    pub d1: Option<f64>,
    pub d3: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SloHealth {
    /// Budget left and not burning fast.
    Ok,
    /// Under 25 % of the budget left, or burning it over 6x too fast over 6 hours.
    AtRisk,
    /// The budget is used up: the objective is missed for this window.
    Breached,
    /// No events (or minutes) counted in the window yet.
    NoData,
}

/// The error budget of a window, in the SLO's unit (events or minutes) and in percent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Bad events (or minutes) the objective allows over the counted part of the window.
    pub total: f64,
    pub consumed: f64,
    /// May go below zero once the budget is overspent.
    pub remaining: f64,
    pub consumed_percent: f64,
    pub remaining_percent: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloStatus {
    pub slo_id: i64,
    pub name: String,
    pub service: String,
    pub objective: f64,
    pub unit: BudgetUnit,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    /// Percent good over the counted part of the window (None: nothing counted).
    pub sli: Option<f64>,
    pub good: f64,
    pub total: f64,
    pub budget: Budget,
    pub burn_rates: BurnRates,
    /// Seconds until the remaining budget is spent at the 1h burn rate (None: not burning).
    pub exhausted_in_seconds: Option<f64>,
    /// Minutes of the window excluded by maintenance windows and corrections.
    pub excluded_minutes: i64,
    pub health: SloHealth,
    /// The end of the newest minute of history (None: none yet).
    pub history_until: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloList {
    pub slos: Vec<Slo>,
    pub statuses: Vec<SloStatus>,
}

/// One point of an SLO's chart: the SLI of the bucket, and the budget remaining (percent) of
/// the window from its start up to the bucket's end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloPoint {
    pub at: DateTime<Utc>,
    pub good: f64,
    pub total: f64,
    pub sli: Option<f64>,
    pub budget_remaining_percent: Option<f64>,
}

/// A stretch of time not counted, as drawn on charts (shaded).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExcludedSpan {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub window_id: i64,
    pub reason: String,
}

/// An incident of the SLO's service, with the budget used while it was open.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentImpact {
    pub id: i64,
    pub title: String,
    pub severity: String,
    pub service: String,
    pub triggered_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Bad events (or minutes) counted while the incident was open.
    pub budget_consumed: f64,
    /// The same, as percent of the window's budget.
    pub budget_impact_percent: f64,
}

/// `GET /api/v1/slos/{id}/history?from=&to=&step=`: the chart of an SLO's page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloHistory {
    pub slo_id: i64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub step_seconds: i64,
    pub points: Vec<SloPoint>,
    pub excluded: Vec<ExcludedSpan>,
    pub incidents: Vec<IncidentImpact>,
}

/// `POST /api/v1/slos/preview`: an unsaved SLO's SLI and budget over the last 30 days, at
/// an hourly step, computed from raw samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloPreview {
    pub queries: SloQueries,
    pub points: Vec<SloPoint>,
    pub sli: Option<f64>,
    pub budget: Budget,
    /// Set when the queries returned no data over the period.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Which SLOs a maintenance window or correction covers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MaintenanceScope {
    Global,
    Service { service: String },
    Slo { slo_id: i64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

/// When a maintenance window applies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MaintenanceSchedule {
    Once {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    /// Every week on `days`, from `start` (`HH:MM` local time) for `duration` (`2h`).
    Weekly {
        days: Vec<Weekday>,
        start: String,
        duration: String,
        #[serde(default = "utc")]
        time_zone: String,
    },
}

/// A planned window (`maintenance`) or a past period marked "not counted" (`correction`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExclusionKind {
    #[default]
    Maintenance,
    Correction,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaintenanceWindowRequest {
    #[serde(default)]
    pub kind: ExclusionKind,
    /// Why the time is not counted (required).
    pub reason: String,
    pub scope: MaintenanceScope,
    pub schedule: MaintenanceSchedule,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaintenanceWindow {
    pub id: i64,
    #[serde(flatten)]
    pub window: MaintenanceWindowRequest,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub created_by: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaintenanceWindowList {
    pub windows: Vec<MaintenanceWindow>,
}

/// The exact queries and period behind a report's figures, so anyone can reproduce them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportProvenance {
    pub good_query: String,
    pub total_query: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// How the per-minute values add up: `sum over minutes of good / sum of total`, minutes
    /// inside excluded spans left out.
    pub method: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DaySli {
    pub date: NaiveDate,
    pub good: f64,
    pub total: f64,
    pub sli: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloReport {
    pub slo_id: i64,
    pub name: String,
    pub service: String,
    pub sli_kind: String,
    pub unit: BudgetUnit,
    pub objective: f64,
    /// Percent good over the period (None: nothing counted).
    pub achieved: Option<f64>,
    /// None when nothing was counted.
    pub met: Option<bool>,
    pub good: f64,
    pub total: f64,
    /// Bad events, or bad minutes (downtime) for time-slice SLOs.
    pub bad: f64,
    /// Percent of the period's budget used (over 100 when breached).
    pub budget_consumed_percent: f64,
    pub excluded_minutes: i64,
    pub incident_count: usize,
    /// Mean time to acknowledge and to resolve, seconds, over the period's incidents.
    pub mtta_seconds: Option<f64>,
    pub mttr_seconds: Option<f64>,
    /// The three days with the lowest SLI, worst first.
    pub worst_days: Vec<DaySli>,
    pub daily: Vec<DaySli>,
    pub excluded: Vec<ExcludedSpan>,
    pub provenance: ReportProvenance,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportSummary {
    pub slos: usize,
    pub met: usize,
    pub breached: usize,
    pub no_data: usize,
    /// Percent of the SLOs with data that met their objective.
    pub met_percent: Option<f64>,
}

/// One incident of the report, with its budget impact on its service's SLOs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportIncident {
    pub id: i64,
    pub title: String,
    pub severity: String,
    pub service: String,
    pub triggered_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Per SLO of the service: `(SLO name, percent of its period budget used while open)`.
    pub budget_impact: Vec<(String, f64)>,
}

/// `GET /api/v1/reports/sla?format=json` (and the data behind the CSV and PDF).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlaReport {
    pub title: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub time_zone: String,
    pub generated_at: DateTime<Utc>,
    /// The services asked for (empty: all).
    pub services: Vec<String>,
    pub summary: ReportSummary,
    pub slos: Vec<SloReport>,
    pub incidents: Vec<ReportIncident>,
    /// Things a reader should know, e.g. "The service \"billing\" has no SLO."
    pub notes: Vec<String>,
    /// The suggested file name without extension (`vigil-sla-2026-11`).
    pub file_stem: String,
}

/// A monthly or weekly SLA report emailed with its PDF.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportCadence {
    Weekly,
    Monthly,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportScheduleRequest {
    pub name: String,
    pub cadence: ReportCadence,
    #[serde(default = "utc")]
    pub time_zone: String,
    /// Empty: every service.
    #[serde(default)]
    pub services: Vec<String>,
    pub recipients: Vec<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportSchedule {
    pub id: i64,
    #[serde(flatten)]
    pub schedule: ReportScheduleRequest,
    pub next_run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportDelivery {
    pub id: i64,
    pub schedule_id: i64,
    pub period_from: DateTime<Utc>,
    pub period_to: DateTime<Utc>,
    pub sent_at: DateTime<Utc>,
    pub ok: bool,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportScheduleList {
    pub schedules: Vec<ReportSchedule>,
    pub deliveries: Vec<ReportDelivery>,
}

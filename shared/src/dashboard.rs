//! Dashboards (SPEC §6): the model editors write, as Vigil's JSON, and what the API answers
//! around it (permissions, versions, home dashboards, annotations, batched queries).
//!
//! Panels are kept apart from the layout, as Perses does: `panels` maps a panel key to what
//! the panel draws, and `layout` places keys on a 24-column grid, in sections (Grafana's
//! rows) that may be titled and collapsed. The JSON is the same in the API, in exported
//! files and in provisioned files.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Role;

pub mod vars;

/// Columns of the layout grid, as in Grafana.
pub const GRID_COLUMNS: u32 = 24;

/// A dashboard as editors write it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DashboardModel {
    pub title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// A folder name; empty for the top level.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub folder: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<Variable>,
    /// Panels by key (`"cpu"`, `"panel-3"`): what each draws, apart from where.
    pub panels: BTreeMap<String, Panel>,
    /// Where panels go: sections of grid items, top to bottom.
    pub layout: Vec<Section>,
    pub time: TimeDefaults,
    pub tooltip: Tooltip,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<DashboardLink>,
    /// Who sees the dashboard; empty means every role.
    pub viewable_by: Access,
    /// Who may change it (editors and admins only, whatever is listed); empty means every
    /// editor.
    pub editable_by: Access,
}

/// Roles and teams. A user matches when their role is listed or they belong to a listed team.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Access {
    pub roles: Vec<Role>,
    /// Team ids.
    pub teams: Vec<i64>,
}

impl Access {
    pub fn is_empty(&self) -> bool {
        self.roles.is_empty() && self.teams.is_empty()
    }

    /// Whether a user with `role` in `teams` is listed (an empty list lets everyone in).
    pub fn admits(&self, role: Role, teams: &[i64]) -> bool {
        self.is_empty()
            || self.roles.contains(&role)
            || self.teams.iter().any(|team| teams.contains(team))
    }
}

/// The time range and refresh a dashboard opens with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeDefaults {
    /// A relative window (`6h`, `24h`, `7d`) as the time picker writes it.
    pub range: String,
    /// Auto-refresh (`30s`, `1m`); none when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh: Option<String>,
}

impl Default for TimeDefaults {
    fn default() -> Self {
        TimeDefaults {
            range: "6h".to_owned(),
            refresh: None,
        }
    }
}

/// Most dashboards one list answers (in order of folder and title); the UI says when a list
/// reaches it.
pub const MAX_LISTED: usize = 1_000;

/// Whether charts share the crosshair or the tooltip as the pointer moves over one of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tooltip {
    #[default]
    Single,
    SharedCrosshair,
    SharedTooltip,
}

impl Tooltip {
    pub const ALL: [Tooltip; 3] = [
        Tooltip::Single,
        Tooltip::SharedCrosshair,
        Tooltip::SharedTooltip,
    ];

    /// Its name in the model's JSON (and in forms and the page's markup).
    pub fn as_str(self) -> &'static str {
        match self {
            Tooltip::Single => "single",
            Tooltip::SharedCrosshair => "shared_crosshair",
            Tooltip::SharedTooltip => "shared_tooltip",
        }
    }

    pub fn parse(name: &str) -> Option<Tooltip> {
        Tooltip::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DashboardLink {
    pub title: String,
    pub url: String,
}

/// A stretch of the grid: untitled (always open) or a row with a title that may be collapsed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Section {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub collapsed: bool,
    pub items: Vec<GridItem>,
}

/// A panel's place: columns `x..x+w` of 24, rows `y..y+h` (a row is 30 px), `y` counted
/// from the top of its section.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridItem {
    pub panel: String,
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PanelKind {
    #[default]
    TimeSeries,
    Stat,
    Gauge,
    BarGauge,
    Table,
    Heatmap,
    Text,
    /// Firing and pending alerts.
    AlertList,
    /// Open incidents by severity.
    Incidents,
    /// Who is on call now, per escalation policy.
    OnCall,
    /// SLO status and error budgets.
    SloStatus,
    /// MTTA and MTTR of the incidents triggered in the time range, overall and per service.
    IncidentAnalytics,
}

impl PanelKind {
    pub const ALL: [PanelKind; 12] = [
        PanelKind::TimeSeries,
        PanelKind::Stat,
        PanelKind::Gauge,
        PanelKind::BarGauge,
        PanelKind::Table,
        PanelKind::Heatmap,
        PanelKind::Text,
        PanelKind::AlertList,
        PanelKind::Incidents,
        PanelKind::OnCall,
        PanelKind::SloStatus,
        PanelKind::IncidentAnalytics,
    ];

    pub fn label(self) -> &'static str {
        match self {
            PanelKind::TimeSeries => "Time series",
            PanelKind::Stat => "Stat",
            PanelKind::Gauge => "Gauge",
            PanelKind::BarGauge => "Bar gauge",
            PanelKind::Table => "Table",
            PanelKind::Heatmap => "Heatmap",
            PanelKind::Text => "Text",
            PanelKind::AlertList => "Alert list",
            PanelKind::Incidents => "Open incidents",
            PanelKind::OnCall => "Who is on call",
            PanelKind::SloStatus => "SLO status",
            PanelKind::IncidentAnalytics => "MTTA and MTTR",
        }
    }

    /// Whether the panel draws PromQL queries (the others draw Vigil's own data or text).
    pub fn uses_queries(self) -> bool {
        matches!(
            self,
            PanelKind::TimeSeries
                | PanelKind::Stat
                | PanelKind::Gauge
                | PanelKind::BarGauge
                | PanelKind::Table
                | PanelKind::Heatmap
        )
    }
}

/// How a time-series panel draws its series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrawStyle {
    #[default]
    Line,
    Area,
    Stacked,
    Bars,
}

/// What one panel draws.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Panel {
    pub kind: PanelKind,
    pub title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queries: Vec<PanelQuery>,
    /// Time series only.
    pub draw: DrawStyle,
    /// `percent` (0–100), `percentunit` (0–1), `s`, `ms`, `bytes`, `bps` (bits/s), `Bps`
    /// (bytes/s), `reqps`, `short`, `none`, …; values are scaled (1.2 MB/s). Empty: a plain
    /// number.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub unit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decimals: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Colours by value: the first step (with no value) is the base colour; each later step
    /// applies from its value up. Time series draw them as lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<ThresholdStep>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<SeriesOverride>,
    /// Stat: draw the series behind the number.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sparkline: bool,
    /// Text: Markdown (no HTML passes).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Repeat the panel once per selected value of this variable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat: Option<String>,
    /// Alert list, incidents: most rows shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PanelQuery {
    pub expr: String,
    /// Legend template: `{{job}} {{instance}}`; empty shows the series' labels.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub legend: String,
    /// Evaluate at the end of the range only (tables, stats read the last value anyway).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub instant: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ThresholdStep {
    /// None for the base step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// A CSS colour: `green`, `#e02f44`.
    pub color: String,
}

/// Settings for the series whose legend name matches.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SeriesOverride {
    /// The series' legend name, or `/regex/`.
    pub matcher: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub axis: Option<Axis>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Axis {
    #[default]
    Left,
    Right,
}

/// A template variable: `$name` in queries, titles and text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Variable {
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub label: String,
    pub source: VariableSource,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub multi: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub include_all: bool,
    /// What "All" stands for in queries; by default the regex alternation of every value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_value: Option<String>,
    /// Selected when the address names none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub default: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VariableSource {
    /// `label_values(metric{…}, label)` or `label_values(label)`; values kept when `regex`
    /// matches (its first capture group, if any, becomes the value).
    Query {
        query: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        regex: String,
    },
    /// A fixed list.
    Custom { values: Vec<String> },
    /// Step choices (`1m`, `5m`, `1h`); `auto` adds a step fitted to the range.
    Interval {
        values: Vec<String>,
        #[serde(default)]
        auto: bool,
    },
    /// Free text, with a default.
    TextBox {
        #[serde(default)]
        value: String,
    },
}

impl Default for VariableSource {
    fn default() -> Self {
        VariableSource::Custom { values: Vec::new() }
    }
}

/// A dashboard as the API answers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub id: i64,
    /// Stable across instances and exports; in addresses (`/dashboards/<uid>`).
    pub uid: String,
    /// Increases by one with every save.
    pub version: i32,
    pub model: DashboardModel,
    /// Where a provisioned dashboard comes from (a file, or `built-in`); such dashboards are
    /// read-only, apart from "save as copy".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned: Option<String>,
    /// Whether the caller may save it.
    pub can_edit: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
}

/// One line of the dashboard list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DashboardSummary {
    pub id: i64,
    pub uid: String,
    pub title: String,
    pub tags: Vec<String>,
    pub folder: String,
    pub version: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned: Option<String>,
    pub can_edit: bool,
    pub updated_at: DateTime<Utc>,
}

/// `POST /dashboards` (create) and `PUT /dashboards/{id}` (save).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SaveDashboard {
    pub model: DashboardModel,
    /// On a save, the version the editor started from; a save over a newer version is
    /// refused with 409.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// On a create, a uid to use (letters, digits, `-` and `_`, at most 40); made up if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// `POST /dashboards/{id}/restore`: saves an old version's model as the newest version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreDashboard {
    /// The version to bring back.
    pub version: i32,
    /// The version the editor was looking at; a restore over a newer one is refused with 409.
    pub from_version: i32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// One saved version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DashboardVersion {
    pub version: i32,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// `POST /dashboards/import`: a dashboard in Vigil's or Grafana's JSON (told apart by its
/// shape), converted and saved; `dry_run` converts only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportDashboard {
    pub dashboard: serde_json::Value,
    #[serde(default)]
    pub dry_run: bool,
    /// Replace a dashboard with the same uid (as its new version) instead of refusing.
    #[serde(default)]
    pub overwrite: bool,
}

/// What an import made, and what it could not convert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    /// `vigil` or `grafana`.
    pub format: String,
    pub model: DashboardModel,
    /// The saved dashboard; none on a dry run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboard: Option<DashboardSummary>,
    pub panels: usize,
    pub variables: usize,
    /// Each thing left out or changed, with the JSON path it came from.
    pub notes: Vec<ImportNote>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportNote {
    /// `panels[12]`, `templating.list[0]`.
    pub path: String,
    pub message: String,
}

/// The dashboard a user lands on, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HomeDashboard {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboard: Option<DashboardSummary>,
    /// `user`, `team`, `role`, or `none`.
    pub chosen_by: String,
}

/// `GET`/`PUT /home-dashboards` (admins): home dashboards per role and per team.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HomeDashboards {
    pub roles: BTreeMap<Role, i64>,
    /// Team id (as a string, JSON keys being strings) to dashboard id.
    pub teams: BTreeMap<String, i64>,
}

/// `PUT /account/home-dashboard`: the user's own choice (none: follow team and role).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OwnHomeDashboard {
    #[serde(default)]
    pub dashboard_id: Option<i64>,
}

/// Something that happened, drawn on time-series panels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    /// `manual:12`, `incident:5`, `alert:<fingerprint>:<start>`.
    pub id: String,
    /// `manual`, `incident` or `alert`.
    pub source: String,
    pub time: DateTime<Utc>,
    /// The end of a period (an incident until resolved, an alert until it stopped firing);
    /// none for an instant, or a period still going on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_end: Option<DateTime<Utc>>,
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Incidents and alerts: `critical`, `warning`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Where to read more (`/incidents/5`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// `POST /annotations`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewAnnotation {
    /// Now when absent.
    #[serde(default)]
    pub time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub time_end: Option<DateTime<Utc>>,
    pub text: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Shown only on this dashboard; on every dashboard when absent.
    #[serde(default)]
    pub dashboard_id: Option<i64>,
}

/// `POST /query/batch`: every panel's queries for one view of a dashboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchQuery {
    pub queries: Vec<BatchItem>,
}

/// One query: a range query when `step` is set, an instant query at `end` otherwise. Times
/// are unix seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchItem {
    /// The caller's name for it, echoed in the answer (`cpu/A`).
    pub id: String,
    pub expr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<f64>,
    pub end: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchAnswer {
    pub results: Vec<BatchResult>,
}

/// One answer, in the order asked: Prometheus' `data` object, or what went wrong.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchResult {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<crate::prometheus::QueryData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tooltip_names_are_the_models_own_words() {
        for tooltip in Tooltip::ALL {
            assert_eq!(serde_json::to_value(tooltip).unwrap(), tooltip.as_str());
            assert_eq!(Tooltip::parse(tooltip.as_str()), Some(tooltip));
        }
        assert_eq!(Tooltip::parse("crosshair"), None);
    }
}

//! Grafana dashboard JSON (schemaVersion 27 and later) converted into Vigil's model, with a
//! note for each thing left out or changed, naming the JSON path it came from
//! (`panels[3].targets[0].expr`, `templating.list[0]`).
//!
//! A pure function of the JSON: nothing is stored here, and nothing in the input can make it
//! fail other than a dashboard that is not Grafana's (no `schemaVersion`, or an older one).
//! Whatever cannot be converted (plugin panels, datasource variables, value mappings) is
//! skipped with a note, so one odd panel never costs the whole import.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::LazyLock;

use regex::{Captures, Regex};
use serde_json::{Map, Value};
use vigil_shared::dashboard::{
    Axis, DashboardLink, DashboardModel, DrawStyle, GRID_COLUMNS, GridItem, ImportNote, Panel,
    PanelKind, PanelQuery, Section, SeriesOverride, ThresholdStep, TimeDefaults, Tooltip, Variable,
    VariableSource,
};

/// The oldest dashboard schema converted: Grafana 7.5's, the first with `fieldConfig` panels
/// (`timeseries`) everywhere.
pub const OLDEST_SCHEMA_VERSION: i64 = 27;

/// Which model a dashboard's JSON is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Vigil,
    Grafana,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Vigil => "vigil",
            Format::Grafana => "grafana",
        }
    }
}

/// Tells the two models apart by shape: Vigil's has a `layout` and `panels` keyed by name (or
/// is an API answer holding such a `model`); Grafana's has a `schemaVersion` and a `panels`
/// array (or is Grafana's API answer holding such a `dashboard`). None when it is neither.
pub fn detect(dashboard: &Value) -> Option<Format> {
    let object = dashboard.as_object()?;
    let grafana = object
        .get("dashboard")
        .and_then(Value::as_object)
        .unwrap_or(object);
    if grafana.contains_key("schemaVersion") || grafana.get("panels").is_some_and(Value::is_array) {
        return Some(Format::Grafana);
    }
    let model = object
        .get("model")
        .and_then(Value::as_object)
        .unwrap_or(object);
    (model.contains_key("layout") || model.get("panels").is_some_and(Value::is_object))
        .then_some(Format::Vigil)
}

/// A converted dashboard.
#[derive(Clone, Debug, PartialEq)]
pub struct Converted {
    /// Grafana's uid, kept so that importing again replaces rather than duplicates.
    pub uid: Option<String>,
    pub model: DashboardModel,
    pub notes: Vec<ImportNote>,
}

/// Why a dashboard could not be converted at all.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvertError {
    /// The JSON path at fault (`schemaVersion`).
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Converts a Grafana dashboard (the JSON Grafana exports, or its API's `{dashboard: …}`).
pub fn convert(json: &Value) -> Result<Converted, ConvertError> {
    let dashboard = json
        .get("dashboard")
        .filter(|d| d.is_object())
        .unwrap_or(json);
    let object = dashboard.as_object().ok_or_else(|| ConvertError {
        path: String::new(),
        message: "a Grafana dashboard is a JSON object".to_owned(),
    })?;
    check_schema_version(object)?;
    let mut converter = Converter::default();
    let model = converter.dashboard(object);
    Ok(Converted {
        uid: str_at(object, "uid")
            .filter(|uid| !uid.is_empty())
            .map(str::to_owned),
        model,
        notes: converter.notes,
    })
}

fn check_schema_version(object: &Map<String, Value>) -> Result<(), ConvertError> {
    let error = |message: String| ConvertError {
        path: "schemaVersion".to_owned(),
        message,
    };
    match object.get("schemaVersion").and_then(Value::as_i64) {
        None => Err(error(
            "is missing: this is not a Grafana dashboard export".to_owned(),
        )),
        Some(version) if version < OLDEST_SCHEMA_VERSION => Err(error(format!(
            "is {version}; dashboards from schemaVersion {OLDEST_SCHEMA_VERSION} (Grafana 7.5) \
             on are converted: open and save it in a newer Grafana first"
        ))),
        Some(_) => Ok(()),
    }
}

/// The conversion of one dashboard: the notes so far and the panel keys taken.
#[derive(Default)]
struct Converter {
    notes: Vec<ImportNote>,
    keys: BTreeSet<String>,
}

impl Converter {
    fn note(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.notes.push(ImportNote {
            path: path.into(),
            message: message.into(),
        });
    }

    fn dashboard(&mut self, object: &Map<String, Value>) -> DashboardModel {
        let mut model = DashboardModel {
            title: str_at(object, "title")
                .unwrap_or_default()
                .trim()
                .to_owned(),
            description: str_at(object, "description").unwrap_or_default().to_owned(),
            tags: object
                .get("tags")
                .and_then(Value::as_array)
                .map(|tags| {
                    tags.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            time: self.time(object),
            tooltip: match object.get("graphTooltip").and_then(Value::as_i64) {
                Some(1) => Tooltip::SharedCrosshair,
                Some(2) => Tooltip::SharedTooltip,
                _ => Tooltip::Single,
            },
            links: self.links(object),
            ..DashboardModel::default()
        };
        if model.title.is_empty() {
            self.note("title", "missing; named \"Imported dashboard\"");
            model.title = "Imported dashboard".to_owned();
        }
        model.variables = self.variables(object);
        if let Some(panels) = object.get("panels").and_then(Value::as_array) {
            (model.panels, model.layout) = self.panels(panels);
        }
        self.annotations(object);
        model
    }

    /// `time.from` as a relative range (`now-24h` → `24h`), and the auto-refresh.
    fn time(&mut self, object: &Map<String, Value>) -> TimeDefaults {
        let mut time = TimeDefaults::default();
        let from = object
            .get("time")
            .and_then(|t| t.get("from"))
            .and_then(Value::as_str);
        let to = object
            .get("time")
            .and_then(|t| t.get("to"))
            .and_then(Value::as_str);
        match (from.and_then(|f| f.strip_prefix("now-")), to) {
            (Some(range), Some("now") | None) if is_duration(range) => {
                time.range = range.to_owned();
            }
            (None, None) => {}
            _ => self.note(
                "time",
                format!(
                    "the range {} to {} is not a window ending now; opens over the last {}",
                    from.unwrap_or("?"),
                    to.unwrap_or("?"),
                    time.range
                ),
            ),
        }
        time.refresh = str_at(object, "refresh")
            .filter(|refresh| is_duration(refresh))
            .map(str::to_owned);
        time
    }

    /// Links to addresses; Grafana's links to other dashboards by tag have no counterpart.
    fn links(&mut self, object: &Map<String, Value>) -> Vec<DashboardLink> {
        let mut links = Vec::new();
        for (i, link) in array_at(object, "links").iter().enumerate() {
            let url = link.get("url").and_then(Value::as_str).unwrap_or_default();
            if link.get("type").and_then(Value::as_str) == Some("link") && !url.is_empty() {
                links.push(DashboardLink {
                    title: link
                        .get("title")
                        .and_then(Value::as_str)
                        .unwrap_or(url)
                        .to_owned(),
                    url: url.to_owned(),
                });
            } else {
                self.note(
                    format!("links[{i}]"),
                    "only links to an address are converted (not links to dashboards by tag)",
                );
            }
        }
        links
    }

    /// Vigil draws incidents and alerts on every chart by itself; annotation queries of
    /// Grafana's own are not converted.
    fn annotations(&mut self, object: &Map<String, Value>) {
        let list = object
            .get("annotations")
            .and_then(|a| a.get("list"))
            .and_then(Value::as_array);
        for (i, annotation) in list.into_iter().flatten().enumerate() {
            if annotation.get("builtIn").and_then(Value::as_i64) != Some(1) {
                self.note(
                    format!("annotations.list[{i}]"),
                    "annotation queries are not converted (Vigil draws incidents, alerts and \
                     posted annotations on every chart)",
                );
            }
        }
    }

    fn variables(&mut self, object: &Map<String, Value>) -> Vec<Variable> {
        let list = object
            .get("templating")
            .and_then(|t| t.get("list"))
            .and_then(Value::as_array);
        list.into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, variable)| self.variable(&format!("templating.list[{i}]"), variable))
            .collect()
    }

    fn variable(&mut self, path: &str, variable: &Value) -> Option<Variable> {
        let kind = variable.get("type").and_then(Value::as_str).unwrap_or("");
        let Some(name) = variable
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        else {
            self.note(path, "a variable without a name; dropped");
            return None;
        };
        let query = variable_query(variable);
        let source = match kind {
            "query" => self.query_variable(path, variable, &query),
            "custom" => VariableSource::Custom {
                values: custom_values(&query, variable),
            },
            "interval" => VariableSource::Interval {
                values: split_list(&query)
                    .into_iter()
                    .filter(|v| is_duration(v))
                    .collect(),
                auto: variable.get("auto").and_then(Value::as_bool) == Some(true),
            },
            "textbox" => VariableSource::TextBox { value: query },
            "constant" => VariableSource::Custom {
                values: vec![query],
            },
            "datasource" => {
                self.note(
                    path,
                    format!("datasource variable `{name}` dropped: Vigil queries its own metrics"),
                );
                return None;
            }
            other => {
                self.note(
                    path,
                    format!("variable `{name}` of type `{other}` is not supported; dropped"),
                );
                return None;
            }
        };
        let current = current_values(variable);
        let default = match &source {
            VariableSource::TextBox { .. } => Vec::new(),
            _ => current,
        };
        Some(Variable {
            name: name.to_owned(),
            label: variable
                .get("label")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            multi: variable.get("multi").and_then(Value::as_bool) == Some(true),
            include_all: variable.get("includeAll").and_then(Value::as_bool) == Some(true),
            all_value: variable
                .get("allValue")
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(|v| self.rewrite(&format!("{path}.allValue"), v)),
            default,
            // Grafana's `hide`: 1 hides the label only, 2 the variable; constants are never
            // shown.
            hidden: kind == "constant" || variable.get("hide").and_then(Value::as_i64) == Some(2),
            source,
        })
    }

    /// A query variable: `label_values(…)` forms are kept; other query functions have no
    /// counterpart and become a text box holding the value that was selected.
    fn query_variable(&mut self, path: &str, variable: &Value, query: &str) -> VariableSource {
        let query = self.rewrite(&format!("{path}.query"), query.trim());
        if query.starts_with("label_values(") {
            return VariableSource::Query {
                query,
                regex: variable
                    .get("regex")
                    .and_then(Value::as_str)
                    .map(strip_regex_delimiters)
                    .unwrap_or_default(),
            };
        }
        self.note(
            format!("{path}.query"),
            format!(
                "`{query}` is not a label_values(…) query; converted to a text box holding the \
                 selected value"
            ),
        );
        VariableSource::TextBox {
            value: current_values(variable)
                .into_iter()
                .next()
                .unwrap_or_default(),
        }
    }

    /// Panels and where they go: rows start sections; a collapsed row holds its panels in its
    /// own `panels`, an open one is followed by them.
    fn panels(&mut self, panels: &[Value]) -> (BTreeMap<String, Panel>, Vec<Section>) {
        let mut converted = BTreeMap::new();
        let mut sections: Vec<(Section, Vec<(GridItem, u32)>)> = Vec::new();
        for (i, panel) in panels.iter().enumerate() {
            let path = format!("panels[{i}]");
            if panel.get("type").and_then(Value::as_str) == Some("row") {
                let title = panel.get("title").and_then(Value::as_str).unwrap_or("");
                let section = Section {
                    title: Some(self.rewrite(&format!("{path}.title"), title)),
                    collapsed: panel.get("collapsed").and_then(Value::as_bool) == Some(true),
                    items: Vec::new(),
                };
                let mut items = Vec::new();
                for (j, nested) in array_at_value(panel, "panels").iter().enumerate() {
                    let path = format!("{path}.panels[{j}]");
                    if let Some((key, converted_panel, item)) = self.panel(&path, nested) {
                        converted.insert(key, converted_panel);
                        items.push(item);
                    }
                }
                sections.push((section, items));
                continue;
            }
            if let Some((key, converted_panel, item)) = self.panel(&path, panel) {
                converted.insert(key, converted_panel);
                if sections.is_empty() {
                    sections.push((Section::default(), Vec::new()));
                }
                if let Some((_, items)) = sections.last_mut() {
                    items.push(item);
                }
            }
        }
        let layout = sections
            .into_iter()
            .map(|(mut section, items)| {
                // Grafana's y counts from the top of the dashboard (for a collapsed row's
                // panels, from where they were when it was last open): made relative to the
                // section's first row.
                let top = items.iter().map(|(_, y)| *y).min().unwrap_or(0);
                section.items = items
                    .into_iter()
                    .map(|(mut item, y)| {
                        item.y = y - top;
                        item
                    })
                    .collect();
                section
            })
            .collect();
        (converted, layout)
    }

    /// One panel, its key and its place (with Grafana's absolute y beside it); none for a
    /// panel type Vigil has no counterpart for.
    fn panel(&mut self, path: &str, panel: &Value) -> Option<(String, Panel, (GridItem, u32))> {
        let kind_name = panel.get("type").and_then(Value::as_str).unwrap_or("");
        let Some(kind) = panel_kind(kind_name) else {
            self.note(
                path,
                format!(
                    "panel \"{}\" of type `{kind_name}` is not supported; skipped",
                    panel.get("title").and_then(Value::as_str).unwrap_or("")
                ),
            );
            return None;
        };
        let mut lost = Vec::new();
        let defaults = panel
            .get("fieldConfig")
            .and_then(|f| f.get("defaults"))
            .cloned()
            .unwrap_or(Value::Null);
        let mut converted = Panel {
            kind,
            title: self.rewrite(
                &format!("{path}.title"),
                panel.get("title").and_then(Value::as_str).unwrap_or(""),
            ),
            description: panel
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            unit: defaults
                .get("unit")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            decimals: defaults
                .get("decimals")
                .and_then(Value::as_u64)
                .map(|d| d.min(10) as u8),
            min: defaults.get("min").and_then(Value::as_f64),
            max: defaults.get("max").and_then(Value::as_f64),
            thresholds: thresholds(&defaults, &mut lost),
            repeat: panel
                .get("repeat")
                .and_then(Value::as_str)
                .filter(|r| !r.is_empty())
                .map(str::to_owned),
            ..Panel::default()
        };
        if defaults
            .get("mappings")
            .and_then(Value::as_array)
            .is_some_and(|m| !m.is_empty())
        {
            lost.push("value mappings".to_owned());
        }
        if !array_at_value(panel, "transformations").is_empty() {
            lost.push("transformations".to_owned());
        }
        match kind_name {
            "timeseries" => converted.draw = draw_style(&defaults, &mut lost),
            "graph" => self.legacy_graph(panel, &mut converted, &mut lost),
            "stat" => {
                converted.sparkline = panel
                    .get("options")
                    .and_then(|o| o.get("graphMode"))
                    .and_then(Value::as_str)
                    == Some("area");
            }
            "text" => converted.text = self.text(path, panel),
            _ => {}
        }
        converted.overrides.extend(overrides(panel, &mut lost));
        if kind.uses_queries() {
            converted.queries = self.queries(path, panel);
        }
        if !lost.is_empty() {
            lost.sort();
            lost.dedup();
            self.note(path, format!("not converted: {}", lost.join(", ")));
        }
        let key = self.key(path, panel);
        let (item, y) = grid_item(&key, panel);
        Some((key, converted, (item, y)))
    }

    /// `panel-<Grafana's id>`, or the path's numbers when the id is missing or taken.
    fn key(&mut self, path: &str, panel: &Value) -> String {
        let from_id = panel
            .get("id")
            .and_then(Value::as_i64)
            .map(|id| format!("panel-{id}"));
        let key = match from_id {
            Some(key) if !self.keys.contains(&key) => key,
            _ => {
                let numbers: String = path
                    .chars()
                    .map(|c| if c.is_ascii_digit() { c } else { '-' })
                    .collect();
                let mut key = format!("panel{}", collapse_dashes(&numbers));
                while self.keys.contains(&key) {
                    key.push('x');
                }
                key
            }
        };
        self.keys.insert(key.clone());
        key
    }

    /// Grafana's older graph panel: options outside `fieldConfig`.
    fn legacy_graph(&mut self, panel: &Value, converted: &mut Panel, lost: &mut Vec<String>) {
        let flag = |name: &str| panel.get(name).and_then(Value::as_bool) == Some(true);
        converted.draw = if flag("bars") {
            DrawStyle::Bars
        } else if flag("stack") {
            DrawStyle::Stacked
        } else if panel.get("fill").and_then(Value::as_f64).unwrap_or(0.0) > 0.0 {
            DrawStyle::Area
        } else {
            DrawStyle::Line
        };
        if converted.unit.is_empty() {
            converted.unit = panel
                .get("yaxes")
                .and_then(|y| y.get(0))
                .and_then(|y| y.get("format"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
        }
        for series in array_at_value(panel, "seriesOverrides") {
            let Some(alias) = series.get("alias").and_then(Value::as_str) else {
                continue;
            };
            let axis = match series.get("yaxis").and_then(Value::as_i64) {
                Some(2) => Some(Axis::Right),
                Some(1) => Some(Axis::Left),
                _ => None,
            };
            let color = series.get("color").and_then(Value::as_str).map(css_colour);
            if axis.is_some() || color.is_some() {
                converted.overrides.push(SeriesOverride {
                    matcher: alias.to_owned(),
                    color,
                    axis,
                });
            }
        }
        if !array_at_value(panel, "thresholds").is_empty() {
            lost.push("graph thresholds".to_owned());
        }
    }

    /// A text panel's Markdown; HTML is kept as text (Vigil renders no HTML).
    fn text(&mut self, path: &str, panel: &Value) -> String {
        let options = panel.get("options");
        let field = |name: &str| {
            options
                .and_then(|o| o.get(name))
                .or_else(|| panel.get(name))
                .and_then(Value::as_str)
                .unwrap_or("")
        };
        if field("mode") == "html" {
            self.note(
                format!("{path}.options.content"),
                "HTML is not rendered: the content is shown as Markdown, tags and all",
            );
        }
        field("content").to_owned()
    }

    /// Targets with a PromQL expression; others (another datasource's queries) are dropped.
    fn queries(&mut self, path: &str, panel: &Value) -> Vec<PanelQuery> {
        let datasource = panel
            .get("datasource")
            .and_then(|d| d.get("type"))
            .and_then(Value::as_str);
        if let Some(other) = datasource.filter(|t| !matches!(*t, "prometheus" | "datasource")) {
            self.note(
                format!("{path}.datasource"),
                format!("queries of datasource type `{other}` are not PromQL; dropped"),
            );
            return Vec::new();
        }
        let mut queries = Vec::new();
        for (i, target) in array_at_value(panel, "targets").iter().enumerate() {
            let target_path = format!("{path}.targets[{i}]");
            let expr = target
                .get("expr")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim();
            if expr.is_empty() {
                self.note(
                    format!("{target_path}.expr"),
                    "no PromQL expression; dropped",
                );
                continue;
            }
            let flag = |name: &str| target.get(name).and_then(Value::as_bool) == Some(true);
            let legend = target
                .get("legendFormat")
                .and_then(Value::as_str)
                .filter(|l| *l != "__auto")
                .unwrap_or("");
            queries.push(PanelQuery {
                expr: self.rewrite(&format!("{target_path}.expr"), expr),
                legend: self.rewrite(&format!("{target_path}.legendFormat"), legend),
                instant: flag("instant") && !flag("range"),
                hidden: flag("hide"),
            });
        }
        queries
    }

    /// Rewrites Grafana's `[[var]]` and `${var:format}` into `$var`/`${var}`, noting formats
    /// dropped and built-ins Vigil lacks.
    fn rewrite(&mut self, path: &str, text: &str) -> String {
        let (rewritten, dropped) = rewrite_variables(text);
        for format in dropped {
            self.note(
                path,
                format!(
                    "the `:{format}` format is not supported; the variable is interpolated as \
                     for a query (a regex alternation of its values)"
                ),
            );
        }
        for builtin in unsupported_builtins(&rewritten) {
            self.note(
                path,
                format!(
                    "`${builtin}` is not a Vigil built-in ($__interval, $__rate_interval and \
                     $__range are, with their _ms and _s forms)"
                ),
            );
        }
        rewritten
    }
}

fn panel_kind(kind: &str) -> Option<PanelKind> {
    Some(match kind {
        "timeseries" | "graph" => PanelKind::TimeSeries,
        "stat" => PanelKind::Stat,
        "gauge" => PanelKind::Gauge,
        "bargauge" => PanelKind::BarGauge,
        "table" => PanelKind::Table,
        "heatmap" => PanelKind::Heatmap,
        "text" => PanelKind::Text,
        "alertlist" => PanelKind::AlertList,
        _ => return None,
    })
}

/// How a `timeseries` panel draws: bars, stacked, area (filled) or lines.
fn draw_style(defaults: &Value, lost: &mut Vec<String>) -> DrawStyle {
    let custom = defaults.get("custom");
    let field = |name: &str| custom.and_then(|c| c.get(name));
    let stacking = field("stacking")
        .and_then(|s| s.get("mode"))
        .and_then(Value::as_str)
        .unwrap_or("none");
    if stacking == "percent" {
        lost.push("stacking to 100 % (stacked by value)".to_owned());
    }
    match field("drawStyle").and_then(Value::as_str) {
        Some("bars") => DrawStyle::Bars,
        _ if stacking != "none" => DrawStyle::Stacked,
        Some("points") => {
            lost.push("points (drawn as lines)".to_owned());
            DrawStyle::Line
        }
        _ if field("fillOpacity").and_then(Value::as_f64).unwrap_or(0.0) > 0.0 => DrawStyle::Area,
        _ => DrawStyle::Line,
    }
}

/// The steps of `thresholds`, the base step (Grafana's `null` value) first.
fn thresholds(defaults: &Value, lost: &mut Vec<String>) -> Vec<ThresholdStep> {
    let Some(thresholds) = defaults.get("thresholds") else {
        return Vec::new();
    };
    if thresholds.get("mode").and_then(Value::as_str) == Some("percentage") {
        lost.push("percentage thresholds (read as absolute values)".to_owned());
    }
    array_at_value(thresholds, "steps")
        .iter()
        .enumerate()
        .filter_map(|(i, step)| {
            let color = css_colour(step.get("color").and_then(Value::as_str)?);
            let value = step.get("value").and_then(Value::as_f64);
            match (i, value) {
                (0, _) => Some(ThresholdStep { value: None, color }),
                (_, Some(value)) => Some(ThresholdStep {
                    value: Some(value),
                    color,
                }),
                (_, None) => None,
            }
        })
        .collect()
}

/// `fieldConfig.overrides` by series name or regex: colour and right axis. Other matchers and
/// properties are listed in `lost`.
fn overrides(panel: &Value, lost: &mut Vec<String>) -> Vec<SeriesOverride> {
    let list = panel
        .get("fieldConfig")
        .and_then(|f| f.get("overrides"))
        .and_then(Value::as_array);
    let mut converted = Vec::new();
    for item in list.into_iter().flatten() {
        let matcher = item.get("matcher");
        let options = matcher
            .and_then(|m| m.get("options"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let matcher = match matcher.and_then(|m| m.get("id")).and_then(Value::as_str) {
            Some("byName") => options.to_owned(),
            Some("byRegexp") => format!("/{options}/"),
            other => {
                lost.push(format!(
                    "overrides matching {}",
                    other.unwrap_or("(no matcher)")
                ));
                continue;
            }
        };
        let mut series = SeriesOverride {
            matcher,
            ..SeriesOverride::default()
        };
        for property in array_at_value(item, "properties") {
            let id = property.get("id").and_then(Value::as_str).unwrap_or("");
            let value = property.get("value");
            match id {
                "color" => {
                    series.color = value
                        .and_then(|v| v.get("fixedColor"))
                        .and_then(Value::as_str)
                        .map(css_colour);
                }
                "custom.axisPlacement" => {
                    series.axis = match value.and_then(Value::as_str) {
                        Some("right") => Some(Axis::Right),
                        Some("left") => Some(Axis::Left),
                        _ => None,
                    };
                }
                other => lost.push(format!("override property {other}")),
            }
        }
        if series.color.is_some() || series.axis.is_some() {
            converted.push(series);
        }
    }
    converted
}

/// Grafana's grid place, bounded to the 24 columns; Grafana's y beside it.
fn grid_item(key: &str, panel: &Value) -> (GridItem, u32) {
    let grid = panel.get("gridPos");
    let number = |name: &str, default: u64| {
        grid.and_then(|g| g.get(name))
            .and_then(Value::as_u64)
            .unwrap_or(default)
            .min(10_000) as u32
    };
    let w = number("w", 12).clamp(1, GRID_COLUMNS);
    let item = GridItem {
        panel: key.to_owned(),
        x: number("x", 0).min(GRID_COLUMNS - w),
        y: 0,
        w,
        h: number("h", 8).clamp(1, 100),
    };
    (item, number("y", 0))
}

/// Grafana's named colours (its palette's hues and shades) as CSS colours; anything else is
/// passed on (`#890F02`, `rgba(…)`, CSS names).
fn css_colour(colour: &str) -> String {
    let hex = match colour {
        "green" => "#73bf69",
        "dark-green" => "#37872d",
        "semi-dark-green" => "#56a64b",
        "light-green" => "#96d98d",
        "super-light-green" => "#c8f2c2",
        "red" => "#f2495c",
        "dark-red" => "#c4162a",
        "semi-dark-red" => "#e02f44",
        "light-red" => "#ff7383",
        "super-light-red" => "#ffa6b0",
        "yellow" => "#fade2a",
        "dark-yellow" => "#e0b400",
        "semi-dark-yellow" => "#f2cc0c",
        "light-yellow" => "#ffee52",
        "super-light-yellow" => "#fff899",
        "orange" => "#ff9830",
        "dark-orange" => "#fa6400",
        "semi-dark-orange" => "#ff780a",
        "light-orange" => "#ffb357",
        "super-light-orange" => "#ffcb7d",
        "blue" => "#5794f2",
        "dark-blue" => "#1f60c4",
        "semi-dark-blue" => "#3274d9",
        "light-blue" => "#8ab8ff",
        "super-light-blue" => "#c0d8ff",
        "purple" => "#b877d9",
        "dark-purple" => "#8f3bb8",
        "semi-dark-purple" => "#a352cc",
        "light-purple" => "#ca95e5",
        "super-light-purple" => "#deb6f2",
        "text" => "currentColor",
        other => other,
    };
    hex.to_owned()
}

/// A variable's query: a string, or `{query: …}` as Grafana 8 on writes it.
fn variable_query(variable: &Value) -> String {
    match variable.get("query") {
        Some(Value::String(query)) => query.clone(),
        Some(Value::Object(object)) => object
            .get("query")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        _ => String::new(),
    }
}

/// A custom variable's values: its comma-separated query (`a, b, c`, or `label : value`
/// pairs, whose values are kept), else its options.
fn custom_values(query: &str, variable: &Value) -> Vec<String> {
    let from_query: Vec<String> = split_list(query)
        .into_iter()
        .map(|item| match item.split_once(" : ") {
            Some((_, value)) => value.trim().to_owned(),
            None => item,
        })
        .collect();
    if !from_query.is_empty() {
        return from_query;
    }
    array_at_value(variable, "options")
        .iter()
        .filter_map(|o| o.get("value").and_then(Value::as_str))
        .filter(|v| *v != "$__all")
        .map(str::to_owned)
        .collect()
}

fn split_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The selected values (`current.value`, a string or a list); `$__all` stands for "All".
fn current_values(variable: &Value) -> Vec<String> {
    match variable.get("current").and_then(|c| c.get("value")) {
        Some(Value::String(value)) if !value.is_empty() => vec![value.clone()],
        Some(Value::Array(values)) => values
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// `/^(.*)$/` → `^(.*)$`: Grafana writes regex filters between slashes, with flags after
/// (`i` is kept as `(?i)`).
fn strip_regex_delimiters(regex: &str) -> String {
    let trimmed = regex.trim();
    match trimmed.strip_prefix('/').and_then(|r| r.rsplit_once('/')) {
        Some((body, flags)) if flags.chars().all(|c| c.is_ascii_alphabetic()) => {
            if flags.contains('i') {
                format!("(?i){body}")
            } else {
                body.to_owned()
            }
        }
        _ => trimmed.to_owned(),
    }
}

/// `[[name]]`, `[[name:format]]` and `${name:format}`.
static GRAFANA_VARIABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[\[(\w+)(?::(\w+))?\]\]|\$\{(\w+):(\w+)\}").expect("a valid regex")
});

/// Formats of `${name:format}` that Vigil interpolates (see `vigil_shared::dashboard::vars`).
const KNOWN_FORMATS: [&str; 5] = ["regex", "pipe", "csv", "raw", "text"];

/// Rewrites Grafana's older `[[name]]` into `$name` (`${name}` when a word character
/// follows), and drops formats Vigil does not know from `${name:format}`; the formats dropped
/// on the way.
fn rewrite_variables(text: &str) -> (String, Vec<String>) {
    let mut dropped = Vec::new();
    let mut rewritten = String::with_capacity(text.len());
    let mut last = 0;
    for captures in GRAFANA_VARIABLE.captures_iter(text) {
        let whole = captures.get(0).expect("the whole match");
        rewritten.push_str(&text[last..whole.start()]);
        let (name, format) = name_and_format(&captures);
        let next = text[whole.end()..].chars().next();
        match format {
            Some(format) if KNOWN_FORMATS.contains(&format) => {
                rewritten.push_str(&format!("${{{name}:{format}}}"));
            }
            _ if next.is_some_and(|c| c.is_alphanumeric() || c == '_') => {
                rewritten.push_str(&format!("${{{name}}}"));
            }
            _ => rewritten.push_str(&format!("${name}")),
        }
        if let Some(format) = format.filter(|f| !KNOWN_FORMATS.contains(f)) {
            dropped.push(format.to_owned());
        }
        last = whole.end();
    }
    rewritten.push_str(&text[last..]);
    (rewritten, dropped)
}

fn name_and_format<'t>(captures: &Captures<'t>) -> (&'t str, Option<&'t str>) {
    let group = |i| captures.get(i).map(|m| m.as_str());
    match group(1) {
        Some(name) => (name, group(2)),
        None => (group(3).unwrap_or(""), group(4)),
    }
}

/// Grafana built-ins (`$__dashboard`, `${__from}`) Vigil does not interpolate.
fn unsupported_builtins(text: &str) -> Vec<String> {
    static BUILTIN: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\$\{?(__\w+)").expect("a valid regex"));
    let mut found: Vec<String> = BUILTIN
        .captures_iter(text)
        .filter_map(|c| c.get(1))
        .map(|m| m.as_str())
        .filter(|name| {
            !matches!(
                *name,
                "__interval"
                    | "__interval_ms"
                    | "__rate_interval"
                    | "__range"
                    | "__range_s"
                    | "__range_ms"
            )
        })
        .map(str::to_owned)
        .collect();
    found.dedup();
    found
}

/// `30s`, `5m`, `24h`, `7d`, `1w`, `1y`: one number and one unit, as the time picker writes.
fn is_duration(text: &str) -> bool {
    let unit_at = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    unit_at > 0 && matches!(&text[unit_at..], "s" | "m" | "h" | "d" | "w" | "y")
}

fn collapse_dashes(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out.trim_end_matches('-').to_owned()
}

fn str_at<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

fn array_at<'a>(object: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    object
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn array_at_value<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn dashboard(panels: Value, variables: Value) -> Value {
        json!({
            "schemaVersion": 39,
            "uid": "abc",
            "title": "Hosts",
            "tags": ["linux"],
            "time": {"from": "now-24h", "to": "now"},
            "refresh": "1m",
            "graphTooltip": 1,
            "panels": panels,
            "templating": {"list": variables},
        })
    }

    fn converted(panels: Value, variables: Value) -> Converted {
        convert(&dashboard(panels, variables)).expect("converts")
    }

    fn notes_at<'a>(converted: &'a Converted, path: &str) -> Vec<&'a str> {
        converted
            .notes
            .iter()
            .filter(|n| n.path == path)
            .map(|n| n.message.as_str())
            .collect()
    }

    #[test]
    fn the_format_is_told_apart_by_shape() {
        assert_eq!(detect(&json!({"schemaVersion": 30})), Some(Format::Grafana));
        assert_eq!(detect(&json!({"panels": []})), Some(Format::Grafana));
        assert_eq!(
            detect(&json!({"dashboard": {"schemaVersion": 30}, "meta": {}})),
            Some(Format::Grafana)
        );
        assert_eq!(
            detect(&json!({"title": "x", "panels": {}, "layout": []})),
            Some(Format::Vigil)
        );
        assert_eq!(
            detect(&json!({"uid": "x", "model": {"layout": []}})),
            Some(Format::Vigil)
        );
        assert_eq!(detect(&json!({"title": "x"})), None);
        assert_eq!(detect(&json!([1])), None);
    }

    #[test]
    fn an_old_or_missing_schema_version_is_refused_naming_it() {
        let error = convert(&json!({"schemaVersion": 16, "panels": []})).unwrap_err();
        assert_eq!(error.path, "schemaVersion");
        assert!(error.message.contains("16"), "{error}");
        let error = convert(&json!({"panels": []})).unwrap_err();
        assert_eq!(error.path, "schemaVersion");
    }

    #[test]
    fn dashboard_settings_are_converted() {
        let mut json = dashboard(json!([]), json!([]));
        json["links"] = json!([
            {"type": "link", "title": "Docs", "url": "https://example.com"},
            {"type": "dashboards", "tags": ["x"]},
        ]);
        let converted = convert(&json).unwrap();
        assert_eq!(converted.uid.as_deref(), Some("abc"));
        let model = &converted.model;
        assert_eq!(model.title, "Hosts");
        assert_eq!(model.tags, ["linux"]);
        assert_eq!(model.time.range, "24h");
        assert_eq!(model.time.refresh.as_deref(), Some("1m"));
        assert_eq!(model.tooltip, Tooltip::SharedCrosshair);
        assert_eq!(
            model.links,
            [DashboardLink {
                title: "Docs".to_owned(),
                url: "https://example.com".to_owned()
            }]
        );
        assert_eq!(notes_at(&converted, "links[1]").len(), 1);
    }

    #[test]
    fn an_absolute_time_range_is_noted_and_the_default_kept() {
        let mut json = dashboard(json!([]), json!([]));
        json["time"] = json!({"from": "2024-01-01T00:00:00Z", "to": "2024-01-02T00:00:00Z"});
        json["graphTooltip"] = json!(2);
        let converted = convert(&json).unwrap();
        assert_eq!(converted.model.time.range, "6h");
        assert_eq!(converted.model.tooltip, Tooltip::SharedTooltip);
        assert_eq!(notes_at(&converted, "time").len(), 1);
    }

    #[test]
    fn a_timeseries_panel_keeps_queries_units_thresholds_and_overrides() {
        let panel = json!({
            "id": 7, "type": "timeseries", "title": "CPU on [[node]]",
            "gridPos": {"x": 12, "y": 3, "w": 12, "h": 7},
            "repeat": "node",
            "fieldConfig": {
                "defaults": {
                    "unit": "percentunit", "decimals": 1, "min": 0, "max": 1,
                    "custom": {"drawStyle": "line", "fillOpacity": 20,
                               "stacking": {"mode": "normal"}},
                    "thresholds": {"mode": "absolute", "steps": [
                        {"color": "green", "value": null},
                        {"color": "#e02f44", "value": 0.9}
                    ]}
                },
                "overrides": [
                    {"matcher": {"id": "byName", "options": "Idle"},
                     "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": "dark-red"}}]},
                    {"matcher": {"id": "byRegexp", "options": "Busy.*"},
                     "properties": [{"id": "custom.axisPlacement", "value": "right"},
                                    {"id": "custom.transform", "value": "negative-Y"}]}
                ]
            },
            "targets": [
                {"expr": "rate(node_cpu_seconds_total{instance=\"[[node]]\"}[$__rate_interval])",
                 "legendFormat": "{{mode}}", "refId": "A", "range": true},
                {"expr": "up{job=~\"${job:percentencode}\"}", "hide": true, "instant": true, "refId": "B"},
                {"refId": "C"}
            ]
        });
        let converted = converted(json!([panel]), json!([]));
        let panel = &converted.model.panels["panel-7"];
        assert_eq!(panel.kind, PanelKind::TimeSeries);
        assert_eq!(panel.title, "CPU on $node");
        assert_eq!(panel.draw, DrawStyle::Stacked);
        assert_eq!(panel.unit, "percentunit");
        assert_eq!(
            (panel.decimals, panel.min, panel.max),
            (Some(1), Some(0.0), Some(1.0))
        );
        assert_eq!(panel.repeat.as_deref(), Some("node"));
        assert_eq!(
            panel.thresholds,
            [
                ThresholdStep {
                    value: None,
                    color: "#73bf69".to_owned()
                },
                ThresholdStep {
                    value: Some(0.9),
                    color: "#e02f44".to_owned()
                },
            ]
        );
        assert_eq!(
            panel.overrides,
            [
                SeriesOverride {
                    matcher: "Idle".to_owned(),
                    color: Some("#c4162a".to_owned()),
                    axis: None
                },
                SeriesOverride {
                    matcher: "/Busy.*/".to_owned(),
                    color: None,
                    axis: Some(Axis::Right)
                },
            ]
        );
        assert_eq!(
            panel.queries,
            [
                PanelQuery {
                    expr: "rate(node_cpu_seconds_total{instance=\"$node\"}[$__rate_interval])"
                        .to_owned(),
                    legend: "{{mode}}".to_owned(),
                    instant: false,
                    hidden: false,
                },
                PanelQuery {
                    expr: "up{job=~\"$job\"}".to_owned(),
                    legend: String::new(),
                    instant: true,
                    hidden: true,
                },
            ]
        );
        assert_eq!(
            converted.model.layout,
            [Section {
                title: None,
                collapsed: false,
                items: vec![GridItem {
                    panel: "panel-7".to_owned(),
                    x: 12,
                    y: 0,
                    w: 12,
                    h: 7
                }],
            }]
        );
        assert_eq!(notes_at(&converted, "panels[0].targets[2].expr").len(), 1);
        assert_eq!(
            notes_at(&converted, "panels[0].targets[1].expr").len(),
            1,
            "the :percentencode format"
        );
        let lost = notes_at(&converted, "panels[0]");
        assert!(lost[0].contains("custom.transform"), "{lost:?}");
    }

    #[test]
    fn draw_styles_follow_draw_style_fill_and_stacking() {
        let style = |custom: Value| {
            let mut lost = Vec::new();
            draw_style(&json!({"custom": custom}), &mut lost)
        };
        assert_eq!(
            style(json!({"drawStyle": "bars", "fillOpacity": 50})),
            DrawStyle::Bars
        );
        assert_eq!(
            style(json!({"drawStyle": "line", "fillOpacity": 20})),
            DrawStyle::Area
        );
        assert_eq!(
            style(json!({"drawStyle": "line", "fillOpacity": 0})),
            DrawStyle::Line
        );
        assert_eq!(
            style(json!({"drawStyle": "line", "stacking": {"mode": "percent"}})),
            DrawStyle::Stacked
        );
        assert_eq!(style(json!({})), DrawStyle::Line);
    }

    #[test]
    fn the_legacy_graph_panel_is_a_time_series() {
        let panel = json!({
            "id": 1, "type": "graph", "title": "Requests", "stack": true, "fill": 1,
            "yaxes": [{"format": "reqps"}, {"format": "short"}],
            "seriesOverrides": [{"alias": "errors", "yaxis": 2, "color": "red"}],
            "targets": [{"expr": "sum(rate(http_requests_total[5m]))"}]
        });
        let converted = converted(json!([panel]), json!([]));
        let panel = &converted.model.panels["panel-1"];
        assert_eq!(
            (panel.kind, panel.draw),
            (PanelKind::TimeSeries, DrawStyle::Stacked)
        );
        assert_eq!(panel.unit, "reqps");
        assert_eq!(
            panel.overrides,
            [SeriesOverride {
                matcher: "errors".to_owned(),
                color: Some("#f2495c".to_owned()),
                axis: Some(Axis::Right)
            }]
        );
    }

    #[test]
    fn stat_gauge_table_heatmap_and_text_panels_are_converted() {
        let panels = json!([
            {"id": 1, "type": "stat", "options": {"graphMode": "area"}, "targets": [{"expr": "up"}]},
            {"id": 2, "type": "gauge", "targets": [{"expr": "up"}]},
            {"id": 3, "type": "bargauge", "targets": [{"expr": "up"}]},
            {"id": 4, "type": "table", "targets": [{"expr": "up", "instant": true, "format": "table"}],
             "transformations": [{"id": "organize"}]},
            {"id": 5, "type": "heatmap", "targets": [{"expr": "rate(x_bucket[5m])"}]},
            {"id": 6, "type": "text", "options": {"mode": "markdown", "content": "# Hello"}},
            {"id": 7, "type": "text", "options": {"mode": "html", "content": "<b>hi</b>"}},
        ]);
        let converted = converted(panels, json!([]));
        let kinds: Vec<(PanelKind, bool)> = converted
            .model
            .panels
            .values()
            .map(|p| (p.kind, p.sparkline))
            .collect();
        assert_eq!(
            kinds,
            [
                (PanelKind::Stat, true),
                (PanelKind::Gauge, false),
                (PanelKind::BarGauge, false),
                (PanelKind::Table, false),
                (PanelKind::Heatmap, false),
                (PanelKind::Text, false),
                (PanelKind::Text, false),
            ]
        );
        assert!(converted.model.panels["panel-4"].queries[0].instant);
        assert_eq!(converted.model.panels["panel-6"].text, "# Hello");
        assert_eq!(converted.model.panels["panel-7"].text, "<b>hi</b>");
        assert_eq!(notes_at(&converted, "panels[6].options.content").len(), 1);
        assert!(notes_at(&converted, "panels[3]")[0].contains("transformations"));
    }

    #[test]
    fn unknown_panel_types_are_skipped_with_a_note_naming_the_panel() {
        let panels = json!([
            {"id": 1, "type": "piechart", "title": "Share"},
            {"id": 2, "type": "row", "collapsed": true, "title": "More", "panels": [
                {"id": 3, "type": "grafana-worldmap-panel"},
                {"type": 42},
            ]},
            "not a panel",
        ]);
        let converted = converted(panels, json!([]));
        assert!(converted.model.panels.is_empty());
        assert!(notes_at(&converted, "panels[0]")[0].contains("piechart"));
        assert_eq!(notes_at(&converted, "panels[1].panels[0]").len(), 1);
        assert_eq!(notes_at(&converted, "panels[1].panels[1]").len(), 1);
        assert_eq!(notes_at(&converted, "panels[2]").len(), 1);
    }

    #[test]
    fn rows_become_sections_with_y_relative_to_the_section() {
        let panels = json!([
            {"id": 1, "type": "stat", "gridPos": {"x": 0, "y": 0, "w": 6, "h": 4}},
            {"id": 2, "type": "row", "title": "Open", "collapsed": false, "gridPos": {"y": 4}, "panels": []},
            {"id": 3, "type": "stat", "gridPos": {"x": 0, "y": 5, "w": 6, "h": 4}},
            {"id": 4, "type": "stat", "gridPos": {"x": 6, "y": 9, "w": 30, "h": 4}},
            {"id": 5, "type": "row", "title": "Closed", "collapsed": true, "gridPos": {"y": 13}, "panels": [
                {"id": 6, "type": "stat", "gridPos": {"x": 0, "y": 40, "w": 12, "h": 8}},
                {"id": 6, "type": "stat", "gridPos": {"x": 12, "y": 48, "w": 12, "h": 8}},
            ]},
        ]);
        let converted = converted(panels, json!([]));
        let layout = &converted.model.layout;
        assert_eq!(layout.len(), 3);
        assert_eq!(layout[0].title, None);
        assert_eq!(layout[0].items[0].panel, "panel-1");
        assert_eq!(layout[1].title.as_deref(), Some("Open"));
        assert!(!layout[1].collapsed);
        let places: Vec<(u32, u32, u32)> =
            layout[1].items.iter().map(|i| (i.x, i.y, i.w)).collect();
        assert_eq!(
            places,
            [(0, 0, 6), (0, 4, 24)],
            "widths are bounded to the grid"
        );
        assert!(layout[2].collapsed);
        let keys: Vec<(&str, u32)> = layout[2]
            .items
            .iter()
            .map(|i| (i.panel.as_str(), i.y))
            .collect();
        assert_eq!(keys, [("panel-6", 0), ("panel-4-1", 8)], "keys stay unique");
        assert_eq!(converted.model.panels.len(), 5);
    }

    #[test]
    fn query_custom_interval_textbox_and_constant_variables_are_converted() {
        let variables = json!([
            {"type": "datasource", "name": "ds", "query": "prometheus"},
            {"type": "query", "name": "job", "label": "Job",
             "query": {"query": "label_values(up, job)", "refId": "x"},
             "regex": "/node.*/", "multi": true, "includeAll": true, "allValue": ".+",
             "current": {"text": ["All"], "value": ["$__all"]}},
            {"type": "query", "name": "instance",
             "query": "label_values(up{job=~\"[[job]]\"}, instance)",
             "current": {"value": "a:9100"}},
            {"type": "query", "name": "metric", "query": "metrics(node_.*)",
             "current": {"value": "node_load1"}},
            {"type": "custom", "name": "mode", "query": "idle, user,system"},
            {"type": "custom", "name": "size", "query": "Small : 1,Large : 10"},
            {"type": "custom", "name": "opt", "query": "",
             "options": [{"value": "$__all"}, {"value": "a"}, {"value": "b"}]},
            {"type": "interval", "name": "step", "query": "1m,10m,1h", "auto": true,
             "current": {"value": "$__auto_interval_step"}},
            {"type": "textbox", "name": "filter", "query": "foo", "current": {"value": "bar"}},
            {"type": "constant", "name": "env", "query": "prod"},
            {"type": "adhoc", "name": "filters"},
            {"type": "query"},
        ]);
        let converted = converted(json!([]), variables);
        let variables = &converted.model.variables;
        let names: Vec<&str> = variables.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "job", "instance", "metric", "mode", "size", "opt", "step", "filter", "env"
            ]
        );
        let job = &variables[0];
        assert_eq!(
            job.source,
            VariableSource::Query {
                query: "label_values(up, job)".to_owned(),
                regex: "node.*".to_owned()
            }
        );
        assert!(job.multi && job.include_all);
        assert_eq!(job.all_value.as_deref(), Some(".+"));
        assert_eq!(job.default, ["$__all"]);
        assert_eq!(job.label, "Job");
        assert_eq!(
            variables[1].source,
            VariableSource::Query {
                query: "label_values(up{job=~\"$job\"}, instance)".to_owned(),
                regex: String::new()
            },
            "[[var]] is rewritten, so the chain to job holds"
        );
        assert_eq!(variables[1].default, ["a:9100"]);
        assert_eq!(
            variables[2].source,
            VariableSource::TextBox {
                value: "node_load1".to_owned()
            }
        );
        assert_eq!(notes_at(&converted, "templating.list[3].query").len(), 1);
        let custom = |i: usize| match &variables[i].source {
            VariableSource::Custom { values } => values.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(custom(3), ["idle", "user", "system"]);
        assert_eq!(custom(4), ["1", "10"]);
        assert_eq!(custom(5), ["a", "b"]);
        assert_eq!(
            variables[6].source,
            VariableSource::Interval {
                values: vec!["1m".into(), "10m".into(), "1h".into()],
                auto: true
            }
        );
        assert_eq!(
            variables[7].source,
            VariableSource::TextBox {
                value: "foo".to_owned()
            }
        );
        assert_eq!(custom(8), ["prod"]);
        assert!(variables[8].hidden);
        for dropped in [
            "templating.list[0]",
            "templating.list[10]",
            "templating.list[11]",
        ] {
            assert_eq!(notes_at(&converted, dropped).len(), 1, "{dropped}");
        }
        assert!(notes_at(&converted, "templating.list[0]")[0].contains("datasource"));
    }

    #[test]
    fn grafana_variable_forms_are_rewritten_and_builtins_kept() {
        let rewrite = |text: &str| rewrite_variables(text).0;
        assert_eq!(rewrite("[[job]]"), "$job");
        assert_eq!(rewrite("[[job]]_total"), "${job}_total");
        assert_eq!(rewrite("${job:pipe}"), "${job:pipe}");
        assert_eq!(rewrite("[[job:csv]]x"), "${job:csv}x");
        assert_eq!(rewrite("${job:json}"), "$job");
        assert_eq!(rewrite("[[job:lucene]]x"), "${job}x");
        assert_eq!(rewrite("${job} $job"), "${job} $job");
        assert_eq!(
            rewrite("rate(x[$__rate_interval]) [$__interval] $__range"),
            "rate(x[$__rate_interval]) [$__interval] $__range"
        );
        assert_eq!(
            rewrite_variables("${a:json} [[b:pipe]] ${c:glob}").1,
            ["json", "glob"]
        );
        assert_eq!(
            unsupported_builtins("$__interval_ms ${__range_s} $__range $__dashboard ${__from}"),
            ["__dashboard", "__from"]
        );
    }

    #[test]
    fn grafana_regex_delimiters_are_stripped() {
        assert_eq!(strip_regex_delimiters("/^(.*)$/"), "^(.*)$");
        assert_eq!(strip_regex_delimiters("/abc/i"), "(?i)abc");
        assert_eq!(strip_regex_delimiters("abc"), "abc");
        assert_eq!(strip_regex_delimiters(""), "");
    }
}

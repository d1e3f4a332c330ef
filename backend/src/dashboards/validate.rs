//! Checks a dashboard model field by field, each problem keyed by its JSON path in the model
//! (`title`, `panels.cpu.queries[0].expr`, `layout[0].items[2].panel`, `variables[1].name`),
//! so that the JSON editor and the forms can show it where it is. Counts and sizes are
//! checked before anything is parsed.

use std::collections::{BTreeMap, HashSet};

use sqlx::PgConnection;
use vigil_shared::dashboard::vars::{self, Format, Scope, Selection};
use vigil_shared::dashboard::{
    Access, DashboardModel, GRID_COLUMNS, Panel, Section, Variable, VariableSource,
};

use crate::error::{AppResult, FieldErrors};
use crate::promql::QueryLimits;
use crate::promql::limits::{self, ParseProblem};
use crate::references::{self, Table};

/// Largest request body of a dashboard write.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
pub const MAX_PANELS: usize = 300;
pub const MAX_QUERIES: usize = 20;
pub const MAX_EXPR_BYTES: usize = 10 * 1024;
/// A panel's text, and the dashboard's or a panel's description.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
pub const MAX_VARIABLES: usize = 50;
pub const MAX_TAGS: usize = 50;
pub const MAX_TITLE: usize = 200;
/// Short strings: tags, folder, panel keys, legends, units, colours, labels, links.
const MAX_SHORT: usize = 200;
/// A link's address, a variable's query or regex.
const MAX_LONG: usize = 2_000;
const MAX_SECTIONS: usize = 300;
const MAX_STEPS: usize = 50;
const MAX_OVERRIDES: usize = 100;
const MAX_LINKS: usize = 50;
const MAX_VALUES: usize = 1_000;
/// The lowest row a grid item may start at.
const MAX_Y: u32 = 10_000;
const MAX_HEIGHT: u32 = 100;
const MAX_UID: usize = 40;

/// Every problem of `model` that can be seen without the database.
pub fn model(model: &DashboardModel) -> FieldErrors {
    let mut problems = FieldErrors::new();
    text(&mut problems, "title", &model.title, 1, MAX_TITLE);
    bytes(
        &mut problems,
        "description",
        &model.description,
        MAX_TEXT_BYTES,
    );
    text(&mut problems, "folder", &model.folder, 0, MAX_SHORT);
    if model.tags.len() > MAX_TAGS {
        problems.add("tags", format!("at most {MAX_TAGS} tags"));
    } else {
        for (i, tag) in model.tags.iter().enumerate() {
            text(&mut problems, &format!("tags[{i}]"), tag, 1, MAX_SHORT);
        }
    }
    text(&mut problems, "time.range", &model.time.range, 1, MAX_SHORT);
    if let Some(refresh) = &model.time.refresh {
        text(&mut problems, "time.refresh", refresh, 1, MAX_SHORT);
    }
    links(&mut problems, model);
    access(&mut problems, "viewable_by", &model.viewable_by);
    access(&mut problems, "editable_by", &model.editable_by);
    if model.variables.len() > MAX_VARIABLES {
        problems.add("variables", format!("at most {MAX_VARIABLES} variables"));
        return problems;
    }
    let scope = scope(&model.variables);
    variables(&mut problems, &model.variables, &scope);
    if model.panels.len() > MAX_PANELS {
        problems.add("panels", format!("at most {MAX_PANELS} panels"));
        return problems;
    }
    for (key, panel) in &model.panels {
        self::panel(&mut problems, key, panel, &model.variables, &scope);
    }
    layout(&mut problems, model);
    problems
}

/// Adds to `problems` each team the permissions name that does not exist.
pub async fn teams(
    conn: &mut PgConnection,
    model: &DashboardModel,
    problems: &mut FieldErrors,
) -> AppResult<()> {
    for (field, access) in [
        ("viewable_by", &model.viewable_by),
        ("editable_by", &model.editable_by),
    ] {
        if access.teams.len() > references::MAX_IDS {
            continue;
        }
        let missing = references::missing(conn, Table::Teams, &access.teams).await?;
        for (i, team) in access.teams.iter().enumerate() {
            if missing.contains(team) {
                problems.add(
                    &format!("{field}.teams[{i}]"),
                    format!("there is no team {team}"),
                );
            }
        }
    }
    Ok(())
}

/// The path of the field naming team `team` (the first, if the foreign key did not say).
pub fn team_field(model: &DashboardModel, team: Option<i64>) -> String {
    [
        ("viewable_by", &model.viewable_by),
        ("editable_by", &model.editable_by),
    ]
    .into_iter()
    .find_map(|(field, access)| {
        let i = access.teams.iter().position(|t| Some(*t) == team)?;
        Some(format!("{field}.teams[{i}]"))
    })
    .unwrap_or_else(|| "viewable_by.teams".to_owned())
}

/// Uids that would hide a page of the UI or an endpoint at the same address
/// (`/dashboards/new`, `/api/v1/dashboards/import`).
const RESERVED_UIDS: [&str; 3] = ["new", "import", "export"];

/// Why `uid` is not a uid: letters, digits, `-` and `_`, at most 40, not all digits (an
/// address holding only digits names a dashboard by id), and not a reserved word.
pub fn uid(uid: &str) -> Result<(), String> {
    if uid.is_empty() || uid.len() > MAX_UID {
        Err(format!("must be 1 to {MAX_UID} characters"))
    } else if !uid
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Err("may hold only letters, digits, `-` and `_`".to_owned())
    } else if uid.bytes().all(|b| b.is_ascii_digit()) {
        Err("must not be all digits (those address dashboards by id)".to_owned())
    } else if RESERVED_UIDS.contains(&uid) {
        Err(format!("`{uid}` is reserved (it is the address of a page)"))
    } else {
        Ok(())
    }
}

/// A new random uid: a letter, then 11 letters or digits.
pub fn new_uid() -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let random = uuid::Uuid::new_v4();
    random
        .as_bytes()
        .iter()
        .take(12)
        .enumerate()
        .map(|(i, byte)| {
            let alphabet = if i == 0 { LETTERS } else { ALPHABET };
            char::from(alphabet[usize::from(*byte) % alphabet.len()])
        })
        .collect()
}

/// `text` is `min..=max` characters long once trimmed.
fn text(problems: &mut FieldErrors, field: &str, text: &str, min: usize, max: usize) {
    let length = text.trim().chars().count();
    if text.len() > max * 4 || length > max {
        problems.add(field, format!("must be at most {max} characters"));
    } else if length < min {
        problems.add(field, "must not be empty");
    }
}

fn bytes(problems: &mut FieldErrors, field: &str, text: &str, max: usize) {
    if text.len() > max {
        problems.add(field, format!("must be at most {} kB", max / 1024));
    }
}

fn links(problems: &mut FieldErrors, model: &DashboardModel) {
    if model.links.len() > MAX_LINKS {
        problems.add("links", format!("at most {MAX_LINKS} links"));
        return;
    }
    for (i, link) in model.links.iter().enumerate() {
        text(
            problems,
            &format!("links[{i}].title"),
            &link.title,
            1,
            MAX_SHORT,
        );
        text(problems, &format!("links[{i}].url"), &link.url, 1, MAX_LONG);
        let lower = link.url.trim().to_ascii_lowercase();
        if !(lower.starts_with("http://")
            || lower.starts_with("https://")
            || lower.starts_with('/'))
        {
            problems.add(
                &format!("links[{i}].url"),
                "must be an http(s) address or a path starting with /",
            );
        }
    }
}

fn access(problems: &mut FieldErrors, field: &str, access: &Access) {
    if access.teams.len() > references::MAX_IDS {
        problems.add(
            &format!("{field}.teams"),
            format!("at most {} teams", references::MAX_IDS),
        );
    }
}

fn variables(problems: &mut FieldErrors, variables: &[Variable], scope: &Scope) {
    let mut seen = HashSet::new();
    for (i, variable) in variables.iter().enumerate() {
        let at = |field: &str| format!("variables[{i}].{field}");
        if let Err(problem) = variable_name(&variable.name) {
            problems.add(&at("name"), problem);
        } else if !seen.insert(variable.name.as_str()) {
            problems.add(&at("name"), format!("{} is used twice", variable.name));
        }
        text(problems, &at("label"), &variable.label, 0, MAX_SHORT);
        if let Some(all) = &variable.all_value {
            text(problems, &at("all_value"), all, 0, MAX_LONG);
        }
        values(problems, &at("default"), &variable.default);
        match &variable.source {
            VariableSource::Query { query, regex } => {
                text(problems, &at("source.query"), query, 1, MAX_LONG);
                // The browser applies the regex (in its own dialect), so only its size is
                // checked here.
                text(problems, &at("source.regex"), regex, 0, MAX_LONG);
                if query.len() <= MAX_LONG
                    && let Err(problem) = label_values(query, scope)
                {
                    problems.add(&at("source.query"), problem);
                }
            }
            VariableSource::Custom { values: list }
            | VariableSource::Interval { values: list, .. } => {
                values(problems, &at("source.values"), list);
            }
            VariableSource::TextBox { value } => {
                text(problems, &at("source.value"), value, 0, MAX_LONG)
            }
        }
    }
}

/// Why a query variable's `query` is not `label_values(label)` or
/// `label_values(selector, label)` with a selector that parses once variables are filled in.
fn label_values(query: &str, scope: &Scope) -> Result<(), String> {
    let filled = vars::interpolate(query, scope, Format::Query);
    let parsed = vars::parse_label_values(&filled).ok_or_else(|| {
        "must be label_values(label) or label_values(metric{…}, label)".to_owned()
    })?;
    match parsed.selector {
        Some(selector) => expr(&selector, &Scope::default())
            .map_err(|problem| format!("has a selector that {problem}")),
        None => Ok(()),
    }
}

fn values(problems: &mut FieldErrors, field: &str, values: &[String]) {
    if values.len() > MAX_VALUES {
        problems.add(field, format!("at most {MAX_VALUES} values"));
        return;
    }
    for (i, value) in values.iter().enumerate() {
        if value.len() > MAX_LONG {
            problems.add(
                &format!("{field}[{i}]"),
                format!("must be at most {MAX_LONG} bytes"),
            );
        }
    }
}

/// A variable's name: `[A-Za-z_][A-Za-z0-9_]*`, at most 100, not starting with `__` (the
/// built-ins' prefix).
fn variable_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Err("must be a letter or `_`, then letters, digits or `_`".to_owned())
    } else if name.len() > 100 {
        Err("must be at most 100 characters".to_owned())
    } else if name.starts_with("__") {
        Err("must not start with `__` (kept for built-ins such as $__interval)".to_owned())
    } else {
        Ok(())
    }
}

/// A value for each variable, as a view could choose (its first default or option, else a
/// plain word), and round built-ins: queries are checked as they would run.
fn scope(variables: &[Variable]) -> Scope {
    let values: BTreeMap<String, Selection> = variables
        .iter()
        .map(|variable| {
            let option = match &variable.source {
                VariableSource::Custom { values } | VariableSource::Interval { values, .. } => {
                    values.first()
                }
                VariableSource::Query { .. } | VariableSource::TextBox { .. } => None,
            };
            let value = match (&variable.source, variable.default.first().or(option)) {
                (_, Some(value)) => value.clone(),
                (VariableSource::Interval { .. }, None) => "1m".to_owned(),
                (VariableSource::TextBox { value }, None) if !value.is_empty() => value.clone(),
                _ => "x".to_owned(),
            };
            (variable.name.clone(), Selection::Values(vec![value]))
        })
        .collect();
    Scope {
        values,
        interval: 60.0,
        rate_interval: 60.0,
        range: 3_600.0,
    }
}

fn panel(
    problems: &mut FieldErrors,
    key: &str,
    panel: &Panel,
    variables: &[Variable],
    scope: &Scope,
) {
    let at = |field: &str| format!("panels.{key}.{field}");
    if key.is_empty() || key.len() > MAX_SHORT {
        problems.add(
            &format!("panels.{key}"),
            format!("a panel's key must be 1 to {MAX_SHORT} characters"),
        );
    }
    text(problems, &at("title"), &panel.title, 0, MAX_SHORT);
    bytes(
        problems,
        &at("description"),
        &panel.description,
        MAX_TEXT_BYTES,
    );
    bytes(problems, &at("text"), &panel.text, MAX_TEXT_BYTES);
    text(problems, &at("unit"), &panel.unit, 0, MAX_SHORT);
    if panel.decimals.is_some_and(|d| d > 10) {
        problems.add(&at("decimals"), "must be at most 10");
    }
    if let (Some(min), Some(max)) = (panel.min, panel.max)
        && min >= max
    {
        problems.add(&at("max"), "must be more than min");
    }
    if panel.limit.is_some_and(|limit| limit == 0 || limit > 1_000) {
        problems.add(&at("limit"), "must be 1 to 1000");
    }
    if let Some(repeat) = &panel.repeat
        && !variables.iter().any(|v| &v.name == repeat)
    {
        problems.add(&at("repeat"), format!("there is no variable {repeat}"));
    }
    if panel.thresholds.len() > MAX_STEPS {
        problems.add(&at("thresholds"), format!("at most {MAX_STEPS} steps"));
    } else {
        for (i, step) in panel.thresholds.iter().enumerate() {
            text(
                problems,
                &at(&format!("thresholds[{i}].color")),
                &step.color,
                1,
                MAX_SHORT,
            );
        }
    }
    if panel.overrides.len() > MAX_OVERRIDES {
        problems.add(
            &at("overrides"),
            format!("at most {MAX_OVERRIDES} overrides"),
        );
    } else {
        for (i, over) in panel.overrides.iter().enumerate() {
            text(
                problems,
                &at(&format!("overrides[{i}].matcher")),
                &over.matcher,
                1,
                MAX_SHORT,
            );
        }
    }
    if panel.queries.len() > MAX_QUERIES {
        problems.add(&at("queries"), format!("at most {MAX_QUERIES} queries"));
        return;
    }
    if panel.kind.uses_queries() && panel.queries.is_empty() {
        problems.add(&at("queries"), "a panel of this kind needs a query");
    }
    for (i, query) in panel.queries.iter().enumerate() {
        let field = at(&format!("queries[{i}].expr"));
        if let Err(problem) = expr(&query.expr, scope) {
            problems.add(&field, problem);
        }
        text(
            problems,
            &at(&format!("queries[{i}].legend")),
            &query.legend,
            0,
            MAX_SHORT,
        );
    }
}

/// Why `expr` is not a query this dashboard can run: too long, or not PromQL once its
/// variables are filled in.
fn expr(expr: &str, scope: &Scope) -> Result<(), String> {
    if expr.len() > MAX_EXPR_BYTES {
        return Err(format!("must be at most {} kB", MAX_EXPR_BYTES / 1024));
    }
    if expr.trim().is_empty() {
        return Err("must not be empty".to_owned());
    }
    let filled = vars::interpolate(expr, scope, Format::Query);
    limits::parse_within(&filled, &QueryLimits::default()).map_err(|problem| match problem {
        ParseProblem::Syntax(e) if filled != expr => {
            format!("is not valid PromQL once its variables are filled in ({filled}): {e}")
        }
        ParseProblem::Syntax(e) => format!("is not valid PromQL: {e}"),
        ParseProblem::TooLarge(e) => format!("is too large: {e}"),
    })?;
    Ok(())
}

fn layout(problems: &mut FieldErrors, model: &DashboardModel) {
    if model.layout.len() > MAX_SECTIONS {
        problems.add("layout", format!("at most {MAX_SECTIONS} sections"));
        return;
    }
    let items: usize = model.layout.iter().map(|s| s.items.len()).sum();
    if items > MAX_PANELS {
        problems.add("layout", format!("at most {MAX_PANELS} items"));
        return;
    }
    let mut placed = HashSet::new();
    for (s, section) in model.layout.iter().enumerate() {
        self::section(problems, model, s, section, &mut placed);
    }
}

fn section<'m>(
    problems: &mut FieldErrors,
    model: &DashboardModel,
    s: usize,
    section: &'m Section,
    placed: &mut HashSet<&'m str>,
) {
    if let Some(title) = &section.title {
        text(problems, &format!("layout[{s}].title"), title, 0, MAX_SHORT);
    }
    for (i, item) in section.items.iter().enumerate() {
        let at = |field: &str| format!("layout[{s}].items[{i}].{field}");
        if !model.panels.contains_key(&item.panel) {
            problems.add(&at("panel"), format!("there is no panel {}", item.panel));
        } else if !placed.insert(item.panel.as_str()) {
            problems.add(
                &at("panel"),
                format!("panel {} is placed twice", item.panel),
            );
        }
        if item.w < 1 || item.w > GRID_COLUMNS {
            problems.add(&at("w"), format!("must be 1 to {GRID_COLUMNS}"));
        } else if item.x > GRID_COLUMNS - item.w {
            problems.add(
                &at("x"),
                format!("the panel must fit the {GRID_COLUMNS} columns (x + w ≤ {GRID_COLUMNS})"),
            );
        }
        if item.h < 1 || item.h > MAX_HEIGHT {
            problems.add(&at("h"), format!("must be 1 to {MAX_HEIGHT}"));
        }
        if item.y > MAX_Y {
            problems.add(&at("y"), format!("must be at most {MAX_Y}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use vigil_shared::dashboard::{GridItem, PanelKind, PanelQuery};

    use super::*;

    fn base() -> DashboardModel {
        let mut model = DashboardModel {
            title: "Service".to_owned(),
            ..DashboardModel::default()
        };
        model.panels.insert(
            "cpu".to_owned(),
            Panel {
                kind: PanelKind::TimeSeries,
                queries: vec![PanelQuery {
                    expr: "rate(cpu_seconds_total{job=~\"$job\"}[$__rate_interval])".to_owned(),
                    ..PanelQuery::default()
                }],
                ..Panel::default()
            },
        );
        model.variables.push(Variable {
            name: "job".to_owned(),
            source: VariableSource::Query {
                query: "label_values(up, job)".to_owned(),
                regex: String::new(),
            },
            ..Variable::default()
        });
        model.layout.push(Section {
            items: vec![GridItem {
                panel: "cpu".to_owned(),
                x: 0,
                y: 0,
                w: 12,
                h: 8,
            }],
            ..Section::default()
        });
        model
    }

    fn fields(model: &DashboardModel) -> Vec<String> {
        super::model(model).into_map().into_keys().collect()
    }

    #[test]
    fn a_good_model_with_variables_passes() {
        assert_eq!(fields(&base()), Vec::<String>::new());
    }

    #[test]
    fn problems_are_keyed_by_json_path() {
        let mut model = base();
        model.title = " ".to_owned();
        model.panels.get_mut("cpu").unwrap().queries[0].expr = "rate(x[5m]".to_owned();
        model.layout[0].items.push(GridItem {
            panel: "nope".to_owned(),
            x: 20,
            y: 0,
            w: 6,
            h: 0,
        });
        model.variables.push(Variable {
            name: "__x".to_owned(),
            ..Variable::default()
        });
        assert_eq!(
            fields(&model),
            [
                "layout[0].items[1].h",
                "layout[0].items[1].panel",
                "layout[0].items[1].x",
                "panels.cpu.queries[0].expr",
                "title",
                "variables[1].name",
            ]
        );
    }

    #[test]
    fn undefined_variables_and_repeats_are_named() {
        let mut model = base();
        let panel = model.panels.get_mut("cpu").unwrap();
        panel.queries[0].expr = "up{job=\"$nope\"} > $__nope".to_owned();
        panel.repeat = Some("region".to_owned());
        model.variables[0].name = "job".to_owned();
        model.variables.push(Variable {
            name: "job".to_owned(),
            ..Variable::default()
        });
        assert_eq!(
            fields(&model),
            [
                "panels.cpu.queries[0].expr",
                "panels.cpu.repeat",
                "variables[1].name"
            ]
        );
    }

    #[test]
    fn query_variables_take_label_values_chained_on_earlier_ones() {
        let mut model = base();
        let query = |text: &str| VariableSource::Query {
            query: text.to_owned(),
            regex: String::new(),
        };
        model.variables.push(Variable {
            name: "instance".to_owned(),
            source: query("label_values(up{job=\"$job\"}, instance)"),
            ..Variable::default()
        });
        assert_eq!(fields(&model), Vec::<String>::new());
        model.variables[1].source = query("up{job=\"$job\"}");
        model.variables.push(Variable {
            name: "broken".to_owned(),
            source: query("label_values(up{job=, instance)"),
            ..Variable::default()
        });
        assert_eq!(
            fields(&model),
            ["variables[1].source.query", "variables[2].source.query"]
        );
    }

    #[test]
    fn counts_are_bounded_before_parsing() {
        let mut model = base();
        for i in 0..=MAX_PANELS {
            model.panels.insert(format!("p{i}"), Panel::default());
        }
        assert_eq!(fields(&model), ["panels"]);
    }

    #[test]
    fn uids_are_checked_and_made_up() {
        assert!(uid("node-exporter_full").is_ok());
        assert!(uid("12345").is_err());
        assert!(uid("import").is_err(), "the import endpoint's address");
        assert!(uid("new").is_err(), "the new dashboard page's address");
        assert!(uid("a/b").is_err());
        assert!(uid(&"a".repeat(41)).is_err());
        let made = new_uid();
        assert_eq!(made.len(), 12);
        assert!(uid(&made).is_ok());
    }
}

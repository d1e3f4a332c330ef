//! What an SLO is, checked: every field of the form validated at once, and the PromQL the
//! server runs for it (per minute of history, and over burn-rate windows).

use std::time::Duration;

use chrono_tz::Tz;
use promql_parser::parser::{self as promql, Expr};
use vigil_shared::slo::{CalendarUnit, Sli, SloQueries, SloRequest, SloWindow};

use crate::alerting::rules::{check_query, prometheus_duration};
use crate::error::FieldErrors;
use crate::metrics::model::is_valid_label_name;
use crate::promql::QueryLimits;

const MAX_NAME: usize = 200;
const MAX_TEXT: usize = 10_000;
const MAX_LABELS: usize = 30;
const MIN_WINDOW: Duration = Duration::from_secs(3600);
pub const MAX_WINDOW: Duration = Duration::from_secs(400 * 24 * 3600);

/// An SLO that passed validation.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidSlo {
    pub request: SloRequest,
    pub window: Window,
    pub sli: SliQueries,
}

/// The window, parsed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Window {
    Rolling(Duration),
    Calendar(CalendarUnit, Tz),
}

/// Checks every field of `request`, collecting all problems; trims the texts.
pub fn validate(request: &SloRequest, limits: &QueryLimits) -> Result<ValidSlo, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut request = request.clone();
    for (field, value) in [
        ("name", &mut request.name),
        ("service", &mut request.service),
    ] {
        *value = value.trim().to_owned();
        match value.chars().count() {
            0 => errors.add(field, "is required"),
            n if n > MAX_NAME => {
                errors.add(field, format!("must be at most {MAX_NAME} characters"))
            }
            _ => {}
        }
    }
    if request.description.chars().count() > MAX_TEXT {
        errors.add(
            "description",
            format!("must be at most {MAX_TEXT} characters"),
        );
    }
    if request.labels.len() > MAX_LABELS {
        errors.add("labels", format!("at most {MAX_LABELS} labels"));
    }
    for (name, value) in &request.labels {
        if !is_valid_label_name(name) || name.starts_with("__") {
            errors.add("labels", format!("\"{name}\" is not a valid label name"));
        } else if value.chars().count() > MAX_NAME {
            errors.add(
                "labels",
                format!("the value of \"{name}\" is longer than {MAX_NAME} characters"),
            );
        }
    }
    if !(request.objective.is_finite() && request.objective > 0.0 && request.objective < 100.0) {
        errors.add(
            "objective",
            "must be a percentage between 0 and 100 (exclusive), such as 99.9",
        );
    }
    if !(request.min_events.is_finite() && request.min_events >= 0.0) {
        errors.add("min_events", "must be a number of events, 0 or more");
    }
    let window = check_window(&request.window, &mut errors);
    let sli = check_sli(&request.sli, limits, &mut errors);
    match (window, sli) {
        (Some(window), Some(sli)) if errors.is_empty() => Ok(ValidSlo {
            request,
            window,
            sli,
        }),
        _ => Err(errors),
    }
}

fn check_window(window: &SloWindow, errors: &mut FieldErrors) -> Option<Window> {
    match window {
        SloWindow::Rolling { duration } => match prometheus_duration(duration.trim()) {
            Ok(d) if d < MIN_WINDOW => {
                errors.add("window.duration", "must be at least 1h");
                None
            }
            Ok(d) if d > MAX_WINDOW => {
                errors.add("window.duration", "must be at most 400d");
                None
            }
            Ok(d) => Some(Window::Rolling(d)),
            Err(problem) => {
                errors.add("window.duration", problem);
                None
            }
        },
        SloWindow::Calendar { unit, time_zone } => match time_zone.trim().parse::<Tz>() {
            Ok(tz) => Some(Window::Calendar(*unit, tz)),
            Err(_) => {
                errors.add(
                    "window.time_zone",
                    format!(
                        "\"{time_zone}\" is not a time zone (use a name such as Europe/Berlin)"
                    ),
                );
                None
            }
        },
    }
}

/// The PromQL behind an SLI: good and total over any range, and the error ratio.
#[derive(Clone, Debug, PartialEq)]
pub enum SliQueries {
    /// Counters: `good` (or `bad`) and `total` are plain series selectors.
    Events {
        good: Option<String>,
        bad: Option<String>,
        total: String,
    },
    /// Minutes in which `condition` returned a result, of the minutes in which `watched` (a
    /// selector of the condition) had samples: a minute without data is not counted.
    TimeSlices { condition: String, watched: String },
}

impl SliQueries {
    /// Good events (or minutes) over the `range` ending at the evaluation time.
    pub fn good(&self, range: &str) -> String {
        match self {
            SliQueries::Events {
                good: Some(good), ..
            } => format!("sum(increase({good}[{range}])) or vector(0)"),
            SliQueries::Events { bad, total, .. } => format!(
                "sum(increase({total}[{range}])) - (sum(increase({}[{range}])) or vector(0))",
                bad.as_deref().unwrap_or_default()
            ),
            SliQueries::TimeSlices { .. } => {
                format!("sum_over_time(({})[{range}:1m])", self.slice())
            }
        }
    }

    /// All events (or minutes with data) over the `range` ending at the evaluation time.
    pub fn total(&self, range: &str) -> String {
        match self {
            SliQueries::Events { total, .. } => format!("sum(increase({total}[{range}]))"),
            SliQueries::TimeSlices { .. } => {
                format!("sum_over_time(({})[{range}:1m])", self.present())
            }
        }
    }

    /// The share of bad events (or minutes) over `range`, as burn-rate rules use it.
    pub fn error_ratio(&self, range: &str) -> String {
        match self {
            SliQueries::Events {
                good: Some(good),
                total,
                ..
            } => format!(
                "(1 - (sum(increase({good}[{range}])) or vector(0)) / sum(increase({total}[{range}])))"
            ),
            SliQueries::Events { bad, total, .. } => format!(
                "((sum(increase({}[{range}])) or vector(0)) / sum(increase({total}[{range}])))",
                bad.as_deref().unwrap_or_default()
            ),
            SliQueries::TimeSlices { .. } => {
                format!("(1 - {} / {})", self.good(range), self.total(range))
            }
        }
    }

    /// The selector of good events, when the SLI counts them (not bad events).
    pub fn good_selector(&self) -> Option<&str> {
        match self {
            SliQueries::Events { good, .. } => good.as_deref(),
            SliQueries::TimeSlices { .. } => None,
        }
    }

    /// Whether burn alerts can guard on a number of events (time slices count minutes).
    pub fn counts_events(&self) -> bool {
        matches!(self, SliQueries::Events { .. })
    }

    /// 1 in a minute the condition returned something, else 0.
    fn slice(&self) -> String {
        match self {
            SliQueries::TimeSlices { condition, .. } => {
                format!("(count({condition}) > bool 0) or vector(0)")
            }
            SliQueries::Events { .. } => String::new(),
        }
    }

    /// 1 in a minute the condition's series had samples (within the lookback), else nothing.
    fn present(&self) -> String {
        match self {
            SliQueries::TimeSlices { watched, .. } => {
                format!("count(present_over_time({watched}[5m])) > bool 0")
            }
            SliQueries::Events { .. } => String::new(),
        }
    }

    /// The queries the history runs at the end of each minute, for that minute. Counters:
    /// the increase over the last two minutes, halved — a counter sampled every 15 s to 60 s
    /// always has two samples in that range, and each event counts half in each of the two
    /// minutes it touches, so sums over whole periods stay exact. Time slices: the condition,
    /// and whether there was data, at the minute's end.
    pub fn per_minute(&self) -> SloQueries {
        match self {
            SliQueries::Events { .. } => SloQueries {
                good: format!("({}) / 2", self.good("2m")),
                total: format!("{} / 2", self.total("2m")),
            },
            SliQueries::TimeSlices { .. } => SloQueries {
                good: self.slice(),
                total: self.present(),
            },
        }
    }
}

/// The first series selector of `expr` (depth first, left first), as text.
fn first_selector(expr: &Expr) -> Option<String> {
    match expr {
        Expr::VectorSelector(selector) => Some(selector.to_string()),
        Expr::MatrixSelector(matrix) => Some(matrix.vs.to_string()),
        Expr::Aggregate(aggregate) => first_selector(&aggregate.expr),
        Expr::Unary(unary) => first_selector(&unary.expr),
        Expr::Binary(binary) => first_selector(&binary.lhs).or_else(|| first_selector(&binary.rhs)),
        Expr::Paren(paren) => first_selector(&paren.expr),
        Expr::Subquery(subquery) => first_selector(&subquery.expr),
        Expr::Call(call) => call.args.args.iter().find_map(|arg| first_selector(arg)),
        _ => None,
    }
}

fn check_sli(sli: &Sli, limits: &QueryLimits, errors: &mut FieldErrors) -> Option<SliQueries> {
    match sli {
        Sli::Events { good, bad, total } => {
            let total = counter_selector("sli.total", total, errors);
            let (good, bad) = match (good, bad) {
                (Some(_), Some(_)) => {
                    errors.add("sli.good", "give good or bad events, not both");
                    return None;
                }
                (None, None) => {
                    errors.add("sli.good", "give good (or bad) events");
                    return None;
                }
                (Some(good), None) => (counter_selector("sli.good", good, errors), None),
                (None, Some(bad)) => (None, counter_selector("sli.bad", bad, errors)),
            };
            let total = total?;
            if good.is_none() && bad.is_none() {
                return None;
            }
            Some(SliQueries::Events { good, bad, total })
        }
        Sli::Latency {
            histogram,
            threshold,
        } => {
            if !(threshold.is_finite() && *threshold > 0.0) {
                errors.add("sli.threshold", "must be a number of seconds above 0");
            }
            let base = histogram_base(histogram, errors)?;
            threshold.is_finite().then(|| SliQueries::Events {
                good: Some(base.bucket(*threshold)),
                bad: None,
                total: base.count(),
            })
        }
        Sli::TimeSlices { condition } => match check_query(condition, limits) {
            Ok(expr) => match first_selector(&expr) {
                Some(watched) => Some(SliQueries::TimeSlices {
                    condition: condition.trim().to_owned(),
                    watched,
                }),
                None => {
                    errors.add(
                        "sli.condition",
                        "must select series, such as up{job=\"api\"} == 1",
                    );
                    None
                }
            },
            Err(problem) => {
                errors.add("sli.condition", problem);
                None
            }
        },
    }
}

/// A selector of counters (`http_requests_total{job="api"}`): the SLI wraps it in
/// `increase`, so it must be a plain series selector.
fn counter_selector(field: &str, text: &str, errors: &mut FieldErrors) -> Option<String> {
    match selector(text) {
        Ok(selector) => Some(selector.to_string()),
        Err(problem) => {
            errors.add(field, problem);
            None
        }
    }
}

fn selector(text: &str) -> Result<promql::VectorSelector, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("is required".to_owned());
    }
    if text.len() > 2_000 {
        return Err("must be at most 2000 characters".to_owned());
    }
    match promql::parse(text) {
        Ok(Expr::VectorSelector(selector))
            if selector.offset.is_some() || selector.at.is_some() =>
        {
            Err("must not use offset or @: the SLO chooses the time".to_owned())
        }
        Ok(Expr::VectorSelector(selector)) => Ok(selector),
        Ok(Expr::MatrixSelector(_)) => Err(
            "must be a series selector without a range: the SLO wraps it in increase() itself"
                .to_owned(),
        ),
        Ok(_) => Err(
            "must be a series selector over counters, such as http_requests_total{job=\"api\"}"
                .to_owned(),
        ),
        Err(e) => Err(format!("is not valid PromQL: {e}")),
    }
}

/// A histogram's name without its suffix, and its matchers.
pub struct Histogram {
    pub name: String,
    matchers: Vec<String>,
}

impl Histogram {
    /// The series of the bucket with bound `le`, however its client wrote the number: `1`
    /// (Go), `1.0` (Python, Prometheus 3), `0.25`, `0.250`.
    pub fn bucket(&self, le: f64) -> String {
        let mut matchers = self.matchers.clone();
        matchers.push(format!("le=~\"{}\"", le_pattern(le)));
        format!("{}_bucket{{{}}}", self.name, matchers.join(", "))
    }

    pub fn count(&self) -> String {
        if self.matchers.is_empty() {
            format!("{}_count", self.name)
        } else {
            format!("{}_count{{{}}}", self.name, self.matchers.join(", "))
        }
    }
}

/// A regular expression, escaped for a PromQL string, matching `le` written with any number
/// of trailing zeros.
fn le_pattern(le: f64) -> String {
    let text = format_le(le).replace('.', r"\\.");
    if text.contains('.') {
        format!("{text}0*")
    } else {
        format!(r"{text}(\\.0*)?")
    }
}

pub fn format_le(le: f64) -> String {
    if le.is_infinite() {
        "+Inf".to_owned()
    } else {
        format!("{le}")
    }
}

pub fn histogram_base(text: &str, errors: &mut FieldErrors) -> Option<Histogram> {
    let selector = match selector(text) {
        Ok(selector) => selector,
        Err(problem) => {
            errors.add("sli.histogram", problem);
            return None;
        }
    };
    let Some(name) = selector.name.clone() else {
        errors.add(
            "sli.histogram",
            "must name the histogram, such as http_request_duration_seconds{job=\"api\"}",
        );
        return None;
    };
    let name = ["_bucket", "_count", "_sum"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(&name)
        .to_owned();
    let mut matchers = Vec::new();
    for matcher in &selector.matchers.matchers {
        if matcher.name == "__name__" {
            continue;
        }
        if matcher.name == "le" {
            errors.add(
                "sli.histogram",
                "must not select le: the threshold picks the bucket",
            );
            return None;
        }
        matchers.push(matcher.to_string());
    }
    if !selector.matchers.or_matchers.is_empty() {
        errors.add("sli.histogram", "must not use \"or\" between matchers");
        return None;
    }
    Some(Histogram { name, matchers })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(sli: serde_json::Value) -> SloRequest {
        serde_json::from_value(json!({
            "name": "Checkout availability",
            "service": "checkout",
            "sli": sli,
            "objective": 99.9,
            "window": {"kind": "rolling", "duration": "30d"},
        }))
        .unwrap()
    }

    #[test]
    fn events_with_bad_wrap_the_selectors_in_increase() {
        let slo = validate(
            &request(json!({"kind": "events",
                "bad": "http_requests_total{job=\"checkout\", status=~\"5..\"}",
                "total": "http_requests_total{job=\"checkout\"}"})),
            &QueryLimits::default(),
        )
        .unwrap();
        let queries = slo.sli.per_minute();
        assert_eq!(
            queries.total,
            "sum(increase(http_requests_total{job=\"checkout\"}[2m])) / 2"
        );
        assert_eq!(
            queries.good,
            "(sum(increase(http_requests_total{job=\"checkout\"}[2m])) - \
             (sum(increase(http_requests_total{job=\"checkout\",status=~\"5..\"}[2m])) or vector(0))) / 2"
        );
        assert!(slo.sli.error_ratio("1h").contains("[1h]"));
    }

    #[test]
    fn latency_picks_the_bucket_however_its_bound_is_written() {
        let slo = validate(
            &request(json!({"kind": "latency",
                "histogram": "http_request_duration_seconds_bucket{job=\"payments\"}",
                "threshold": 1.0})),
            &QueryLimits::default(),
        )
        .unwrap();
        assert_eq!(
            slo.sli.good("5m"),
            r#"sum(increase(http_request_duration_seconds_bucket{job="payments", le=~"1(\\.0*)?"}[5m])) or vector(0)"#
        );
        assert_eq!(
            slo.sli.total("5m"),
            "sum(increase(http_request_duration_seconds_count{job=\"payments\"}[5m]))"
        );
        assert_eq!(le_pattern(0.25), r"0\\.250*");
        assert!(check_query(&slo.sli.good("5m"), &QueryLimits::default()).is_ok());
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut r = request(json!({"kind": "events",
            "good": "rate(x[5m])", "bad": "y", "total": "sum(x"}));
        r.objective = 100.0;
        r.window = SloWindow::Rolling {
            duration: "30m".into(),
        };
        let errors = validate(&r, &QueryLimits::default())
            .unwrap_err()
            .to_string();
        for expected in [
            "objective must be a percentage",
            "window.duration must be at least 1h",
            "sli.good give good or bad events, not both",
            "sli.total is not valid PromQL",
        ] {
            assert!(
                errors.contains(expected),
                "{expected} missing from {errors}"
            );
        }
        let r = request(json!({"kind": "events", "good": "rate(x[5m])", "total": "x[5m]"}));
        let errors = validate(&r, &QueryLimits::default())
            .unwrap_err()
            .to_string();
        assert!(errors.contains("sli.good must be a series selector over counters"));
        assert!(errors.contains("sli.total must be a series selector without a range"));
        let mut r = request(json!({"kind": "time_slices", "condition": "up =="}));
        r.window = SloWindow::Calendar {
            unit: CalendarUnit::Month,
            time_zone: "Mars/Olympus".into(),
        };
        let errors = validate(&r, &QueryLimits::default())
            .unwrap_err()
            .to_string();
        assert!(
            errors.contains("sli.condition is not valid PromQL"),
            "{errors}"
        );
        assert!(errors.contains("window.time_zone \"Mars/Olympus\" is not a time zone"));
    }

    #[test]
    fn time_slices_count_the_minutes_with_data() {
        let slo = validate(
            &request(json!({"kind": "time_slices", "condition": "min(up{job=\"search\"}) == 1"})),
            &QueryLimits::default(),
        )
        .unwrap();
        let queries = slo.sli.per_minute();
        assert_eq!(
            queries.total,
            "count(present_over_time(up{job=\"search\"}[5m])) > bool 0"
        );
        assert_eq!(
            queries.good,
            "(count(min(up{job=\"search\"}) == 1) > bool 0) or vector(0)"
        );
        assert!(!slo.sli.counts_events());
        let number = validate(
            &request(json!({"kind": "time_slices", "condition": "vector(1) == 1"})),
            &QueryLimits::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            number.contains("sli.condition must select series"),
            "{number}"
        );
    }
}

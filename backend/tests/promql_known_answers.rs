//! PromQL known-answer tests: Vigil must give Prometheus' answers.
//!
//! The fixtures in `tests/promql/*.yml` are promtool rule-test files whose expected samples
//! were recorded from a real Prometheus 2.42 (`scripts/promql-fixtures.py record`) and are
//! re-checked against it in CI (`scripts/promql-fixtures.py check`). Each group's series go
//! through Vigil's real write path into a fresh PostgreSQL database; each expression is then
//! evaluated as an instant query and as a range query ending at the same time.

mod common;

use std::path::Path;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use common::TestApp;
use serde::Deserialize;
use vigil::config::AppConfig;
use vigil::metrics::model::{Labels, METRIC_NAME, Sample, SeriesWrite, WriteBatch, stale_nan};
use vigil::promql::api::parse_duration;
use vigil::promql::{Engine, QueryOutput};

#[derive(Deserialize)]
struct Fixture {
    tests: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    interval: String,
    input_series: Vec<Input>,
    #[serde(default)]
    promql_expr_test: Vec<Case>,
}

#[derive(Deserialize)]
struct Input {
    series: String,
    values: String,
}

#[derive(Deserialize)]
struct Case {
    expr: String,
    eval_time: String,
    #[serde(default)]
    exp_samples: Vec<Expected>,
}

#[derive(Deserialize)]
struct Expected {
    labels: String,
    value: f64,
}

/// `name{a="b"}` or `{__name__="x", a="b"}` or `{}` as a label set.
fn parse_labels(text: &str) -> Labels {
    let text = text.trim();
    if text == "{}" {
        return Labels::default();
    }
    let expr =
        promql_parser::parser::parse(text).unwrap_or_else(|e| panic!("bad series {text}: {e}"));
    let promql_parser::parser::Expr::VectorSelector(vs) = expr else {
        panic!("not a series: {text}");
    };
    let mut pairs: Vec<(String, String)> = vs
        .matchers
        .matchers
        .iter()
        .map(|m| (m.name.clone(), m.value.clone()))
        .collect();
    if let Some(name) = vs.name {
        pairs.push((METRIC_NAME.to_owned(), name));
    }
    Labels::from_pairs(pairs)
}

/// Prometheus' series notation: `1 2 _ stale`, `0+10x40`, `5x3`, `_x2`.
fn expand(values: &str) -> Vec<Option<f64>> {
    let number = |text: &str| -> f64 {
        match text {
            "Inf" | "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            other => other
                .parse()
                .unwrap_or_else(|_| panic!("bad number {other}")),
        }
    };
    let mut out = Vec::new();
    for token in values.split_whitespace() {
        match token {
            "_" => out.push(None),
            "stale" => out.push(Some(stale_nan())),
            _ => match token.rsplit_once('x') {
                Some((body, count))
                    if count.chars().all(|c| c.is_ascii_digit()) && !count.is_empty() =>
                {
                    let times: usize = count.parse().unwrap();
                    if body == "_" {
                        out.extend(std::iter::repeat_n(None, times));
                        continue;
                    }
                    // The operator is a + or - that is not a leading sign or an exponent's.
                    let split = body.char_indices().skip(1).find(|(i, c)| {
                        (*c == '+' || *c == '-') && !matches!(body.as_bytes()[i - 1], b'e' | b'E')
                    });
                    let (start, step) = match split {
                        Some((i, op)) => {
                            let step = number(&body[i + 1..]);
                            (number(&body[..i]), if op == '-' { -step } else { step })
                        }
                        None => (number(body), 0.0),
                    };
                    // Repeated addition, as Prometheus expands it.
                    let mut value = start;
                    for _ in 0..=times {
                        out.push(Some(value));
                        value += step;
                    }
                }
                _ => out.push(Some(number(token))),
            },
        }
    }
    out
}

fn same(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    // Sums may be added in another order than Prometheus adds them.
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300)
}

fn describe(samples: &[(Labels, f64)]) -> String {
    samples
        .iter()
        .map(|(l, v)| format!("{l} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn compare(mut expected: Vec<(Labels, f64)>, mut got: Vec<(Labels, f64)>) -> Result<(), String> {
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let equal = expected.len() == got.len()
        && expected
            .iter()
            .zip(&got)
            .all(|((la, va), (lb, vb))| la == lb && same(*va, *vb));
    if equal {
        Ok(())
    } else {
        Err(format!(
            "expected [{}]\n          got [{}]",
            describe(&expected),
            describe(&got)
        ))
    }
}

fn instant_samples(output: QueryOutput) -> Vec<(Labels, f64)> {
    match output {
        QueryOutput::Vector { samples, .. } => samples,
        // promtool shows a scalar as one sample without labels.
        QueryOutput::Scalar { value, .. } => vec![(Labels::default(), value)],
        other => panic!("unexpected result {other:?}"),
    }
}

async fn run_fixture(name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/promql")
        .join(name);
    let fixture: Fixture = serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for group in fixture.tests {
        let mut config = AppConfig::default();
        // Fixture data starts at the Unix epoch.
        config.metrics.max_sample_age = Duration::from_secs(100 * 365 * 24 * 3600);
        let app = TestApp::spawn_with(config).await;
        let interval = parse_duration(&group.interval).unwrap();
        let mut batch = WriteBatch::default();
        let mut last = 0;
        for input in &group.input_series {
            let samples: Vec<Sample> = expand(&input.values)
                .into_iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    v.map(|value| Sample {
                        timestamp_ms: i as i64 * interval,
                        value,
                    })
                })
                .collect();
            last = last.max(samples.last().map_or(0, |s| s.timestamp_ms));
            batch.series.push(SeriesWrite {
                labels: parse_labels(&input.series),
                samples,
            });
        }
        let now = Utc.timestamp_millis_opt(last).unwrap();
        let outcome = app.state.metrics.write_at(batch, now).await.unwrap();
        assert!(
            outcome.rejected.is_empty(),
            "{name}: {:?}",
            outcome.rejected
        );

        let engine = Engine::new(&app.state.metrics);
        for case in group.promql_expr_test {
            checked += 1;
            let at = parse_duration(&case.eval_time).unwrap();
            let expected: Vec<(Labels, f64)> = case
                .exp_samples
                .iter()
                .map(|e| (parse_labels(&e.labels), e.value))
                .collect();
            match engine.instant(&case.expr, at).await {
                Ok(output) => {
                    if let Err(diff) = compare(expected.clone(), instant_samples(output)) {
                        failures.push(format!(
                            "{} @ {}:\n          {diff}",
                            case.expr, case.eval_time
                        ));
                    }
                }
                Err(error) => {
                    failures.push(format!("{} @ {}: error {error}", case.expr, case.eval_time))
                }
            }
            // The same expression as a range query whose last step is the evaluation time.
            match engine.range(&case.expr, at - 120_000, at, 60_000).await {
                Ok(QueryOutput::Matrix(series)) => {
                    let last_step: Vec<(Labels, f64)> = series
                        .into_iter()
                        .filter_map(|(labels, points)| {
                            points
                                .iter()
                                .find(|(t, _)| *t == at)
                                .map(|(_, v)| (labels, *v))
                        })
                        .collect();
                    if let Err(diff) = compare(expected, last_step) {
                        failures.push(format!(
                            "{} @ {} (range query):\n          {diff}",
                            case.expr, case.eval_time
                        ));
                    }
                }
                Ok(other) => failures.push(format!("{}: range query gave {other:?}", case.expr)),
                Err(error) => failures.push(format!("{} (range query): error {error}", case.expr)),
            }
        }
    }
    assert!(checked > 0, "{name} has no expressions");
    assert!(
        failures.is_empty(),
        "{} of {checked} expressions in {name} differ from Prometheus:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn selectors_answer_as_prometheus_does() {
    run_fixture("selectors.yml").await;
}

#[tokio::test]
async fn rate_and_its_relatives_answer_as_prometheus_does() {
    run_fixture("rate.yml").await;
}

#[tokio::test]
async fn over_time_functions_answer_as_prometheus_does() {
    run_fixture("over_time.yml").await;
}

#[tokio::test]
async fn aggregations_answer_as_prometheus_does() {
    run_fixture("aggregations.yml").await;
}

#[tokio::test]
async fn binary_operators_answer_as_prometheus_does() {
    run_fixture("binary.yml").await;
}

#[tokio::test]
async fn functions_answer_as_prometheus_does() {
    run_fixture("functions.yml").await;
}

#[tokio::test]
async fn histogram_quantiles_answer_as_prometheus_does() {
    run_fixture("histograms.yml").await;
}

#[tokio::test]
async fn subqueries_answer_as_prometheus_does() {
    run_fixture("subqueries.yml").await;
}

#[test]
fn series_notation_expands_like_prometheus() {
    assert_eq!(expand("0+10x2"), vec![Some(0.0), Some(10.0), Some(20.0)]);
    assert_eq!(
        expand("5x1 _x2 -1"),
        vec![Some(5.0), Some(5.0), None, None, Some(-1.0)]
    );
    assert_eq!(expand("10-2x1"), vec![Some(10.0), Some(8.0)]);
    assert!(expand("stale")[0].unwrap().is_nan());
}

//! Property tests by random input: thousands of generated PromQL queries and JSON bodies —
//! well-formed, malformed, and nested thousands deep — against the real router on a real
//! database. Whatever they hold, the answer is never a 500 (a timeout's 503 aside), and the
//! process lives on (a stack overflow or failed allocation would end this test binary).
//!
//! The run's seed is printed with every failure; `VIGIL_FUZZ_SEED=<seed>` replays it, and
//! `VIGIL_FUZZ_CASES` sets how many cases of each kind run (default 2,000).

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::TestApp;
use serde_json::{Value, json};
use vigil::metrics::model::{Labels, Sample, SeriesWrite, WriteBatch};
use vigil_shared::Role;
use vigil_shared::admin::CreatedApiKey;

/// SplitMix64: small, fast and the same everywhere, so a seed replays a run.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn seed() -> u64 {
    std::env::var("VIGIL_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
}

fn cases() -> usize {
    std::env::var("VIGIL_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000)
}

const METRICS: [&str; 5] = [
    "http_requests_total",
    "up",
    "latency_seconds_bucket",
    "nothing_here",
    "node_load1",
];
const RANGE_FUNCTIONS: [&str; 12] = [
    "rate",
    "irate",
    "increase",
    "delta",
    "deriv",
    "avg_over_time",
    "max_over_time",
    "count_over_time",
    "quantile_over_time(0.9,",
    "changes",
    "resets",
    "predict_linear(",
];
const FUNCTIONS: [&str; 14] = [
    "abs",
    "ceil",
    "floor",
    "sqrt",
    "exp",
    "ln",
    "timestamp",
    "sort",
    "absent",
    "vector",
    "scalar",
    "round",
    "clamp_min",
    "label_replace",
];
const AGGREGATIONS: [&str; 9] = [
    "sum",
    "avg",
    "min",
    "max",
    "count",
    "stddev",
    "topk(3,",
    "quantile(0.5,",
    "count_values(\"v\",",
];
const OPERATORS: [&str; 16] = [
    "+", "-", "*", "/", "%", "^", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless", "atan2",
];
const DURATIONS: [&str; 10] = [
    "1ms",
    "1s",
    "30s",
    "5m",
    "1h",
    "6h",
    "2d",
    "1w",
    "0s",
    "999999999y",
];

/// A random PromQL expression, mostly well-formed, `depth` levels at most.
fn expression(r: &mut Random, depth: usize) -> String {
    if depth == 0 || r.chance(20) {
        return leaf(r);
    }
    let inner = |r: &mut Random| expression(r, depth - 1);
    match r.below(9) {
        0 => format!("{}({})", r.pick(&FUNCTIONS), inner(r)),
        1 => {
            let f = *r.pick(&RANGE_FUNCTIONS);
            let open = if f.ends_with([',', '(']) { "" } else { "(" };
            let tail = if f.starts_with("predict_linear") {
                ", 60)"
            } else {
                ")"
            };
            format!(
                "{f}{open}{}[{}]{tail}",
                leaf_selector(r),
                r.pick(&DURATIONS)
            )
        }
        2 => {
            let a = *r.pick(&AGGREGATIONS);
            let open = if a.ends_with([',', '(']) { "" } else { "(" };
            let by = if r.chance(50) {
                " by (job, instance)"
            } else {
                ""
            };
            format!("{a}{by}{open}{})", inner(r))
        }
        3 | 4 => format!(
            "{} {}{} {}",
            inner(r),
            r.pick(&OPERATORS),
            if r.chance(20) {
                " on(job) group_left"
            } else {
                ""
            },
            inner(r)
        ),
        5 => format!("({})", inner(r)),
        6 => format!(
            "max_over_time(({})[{}:{}])",
            inner(r),
            r.pick(&DURATIONS),
            r.pick(&DURATIONS)
        ),
        7 => format!("-{}", inner(r)),
        _ => format!("{} offset {}", leaf_selector(r), r.pick(&DURATIONS)),
    }
}

fn leaf_selector(r: &mut Random) -> String {
    let name = *r.pick(&METRICS);
    match r.below(4) {
        0 => name.to_owned(),
        1 => format!("{name}{{job=\"api\"}}"),
        2 => format!("{name}{{instance=~\"a|b.*\", job!=\"\"}}"),
        _ => format!("{{__name__=~\"{name}|up\"}}"),
    }
}

fn leaf(r: &mut Random) -> String {
    match r.below(5) {
        0 => format!("{}", r.below(1000) as f64 / 7.0),
        1 => "\"text\"".to_owned(),
        2 => "time()".to_owned(),
        _ => leaf_selector(r),
    }
}

/// Token soup, a deep nest or a long chain: what a careless or hostile client sends.
fn hostile(r: &mut Random) -> String {
    match r.below(6) {
        0 => {
            let n = 1 + r.below(6_000);
            format!("{}1{}", "(".repeat(n), ")".repeat(n))
        }
        1 => {
            let n = 1 + r.below(4_000);
            let mut q = "vector(1)".to_owned();
            for _ in 0..n {
                let piece = *r.pick(&["+1", "*2", " or vector(2)", "-1"]);
                q.push_str(piece);
            }
            q
        }
        2 => format!("{}up", "-".repeat(1 + r.below(5_000))),
        3 => format!(
            "count_over_time(vector(1)[{}:{}])",
            r.pick(&DURATIONS),
            r.pick(&["1ms", "1s", "10ms"])
        ),
        4 => {
            let tokens = [
                "(", ")", "[", "]", "{", "}", "\"", "'", "`", ",", "by", "sum", "rate", "up", "5m",
                ":", "@", "offset", "==", "=~", "\\", "\u{0}", "é", "1e308", "-Inf", "NaN", " ",
                "#",
            ];
            (0..r.below(200)).map(|_| *r.pick(&tokens)).collect()
        }
        _ => {
            let bytes: Vec<u8> = (0..r.below(300)).map(|_| r.next() as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }
}

fn query_string(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn time_param(r: &mut Random, now: i64) -> String {
    match r.below(6) {
        0 => "not a time".to_owned(),
        1 => "1e300".to_owned(),
        2 => "-99999999999".to_owned(),
        _ => format!("{}", now - r.below(86_400) as i64),
    }
}

fn step_param(r: &mut Random) -> String {
    r.pick(&["1", "15", "60s", "0", "-5", "0.001", "1h", "abc", "1e9"])
        .to_string()
}

async fn seed_metrics(app: &TestApp, now_ms: i64) {
    let mut batch = WriteBatch::default();
    for (job, instance) in [("api", "a"), ("api", "b"), ("db", "c")] {
        for name in ["http_requests_total", "up", "node_load1"] {
            batch.series.push(SeriesWrite {
                labels: Labels::from_pairs([
                    ("__name__", name),
                    ("job", job),
                    ("instance", instance),
                ]),
                samples: (0..240)
                    .map(|i| Sample {
                        timestamp_ms: now_ms - (240 - i) * 15_000,
                        value: (i * 3) as f64,
                    })
                    .collect(),
            });
        }
    }
    app.state.metrics.write(batch).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn random_and_hostile_promql_never_gets_a_500() {
    let seed = seed();
    let mut r = Random(seed);
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now().timestamp();
    seed_metrics(&app, now * 1000).await;
    let mut admin = app.login_as(Role::Admin).await;
    let key: CreatedApiKey = admin
        .post(
            "/api/v1/api-keys",
            &json!({ "name": "fuzz", "scopes": ["read"] }),
        )
        .await
        .json();
    let (mut answered, mut refused) = (0, 0);
    for case in 0..cases() {
        let query = if r.chance(70) {
            let depth = 1 + r.below(8);
            expression(&mut r, depth)
        } else {
            hostile(&mut r)
        };
        let path = match r.below(5) {
            0 | 1 => format!(
                "/prometheus/api/v1/query?{}",
                query_string(&[("query", &query), ("time", &time_param(&mut r, now))])
            ),
            2 | 3 => {
                let start = time_param(&mut r, now);
                let end = format!("{}", now - r.below(3_600) as i64);
                format!(
                    "/prometheus/api/v1/query_range?{}",
                    query_string(&[
                        ("query", &query),
                        ("start", &start),
                        ("end", &end),
                        ("step", &step_param(&mut r)),
                    ])
                )
            }
            _ => format!(
                "/prometheus/api/v1/series?{}",
                query_string(&[("match[]", &query)])
            ),
        };
        let request = Request::get(&path)
            .header(header::AUTHORIZATION, format!("Bearer {}", key.secret))
            .body(Body::empty())
            .unwrap();
        let answer = app.send(request).await;
        let timed_out = answer.status == StatusCode::SERVICE_UNAVAILABLE
            && answer.text().contains("\"timeout\"");
        assert!(
            answer.status.as_u16() < 500 || timed_out,
            "seed {seed}, case {case}: {} for {query:?} ({path}): {}",
            answer.status,
            answer.text()
        );
        if answer.status.is_success() {
            answered += 1;
        } else {
            refused += 1;
        }
    }
    assert!(
        answered > 0 && refused > 0,
        "{answered} answered, {refused} refused"
    );
    let health = app.anonymous().get("/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
}

/// A random JSON value of any kind, nested `depth` levels at most.
fn random_value(r: &mut Random, depth: usize) -> Value {
    let leaf_only = depth == 0;
    match r.below(if leaf_only { 6 } else { 8 }) {
        0 => Value::Null,
        1 => json!(r.chance(50)),
        2 => json!(*r.pick(&[
            0.0,
            -1.0,
            1.5,
            1e308,
            -1e308,
            9.007_199_254_740_993e15,
            4.2e-320
        ])),
        3 => json!(*r.pick(&[0i64, -1, i64::MAX, i64::MIN, 42, 65_536])),
        4 | 5 => json!(random_text(r)),
        6 => Value::Array(
            (0..r.below(4))
                .map(|_| random_value(r, depth - 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..r.below(4))
                .map(|_| (random_text(r), random_value(r, depth - 1)))
                .collect(),
        ),
    }
}

fn random_text(r: &mut Random) -> String {
    match r.below(12) {
        0 => String::new(),
        1 => "x".repeat(r.below(70_000)),
        2 => "a\u{0}b".to_owned(),
        3 => "\u{202e}évil 🚨 \u{feff}".to_owned(),
        4 => "'; DROP TABLE users; --".to_owned(),
        5 => "{{ $labels.job }} {{ humanize $value }} {{ .Bad".to_owned(),
        6 => r
            .pick(&["1m", "-5s", "0s", "99999999999h", "1h30m"])
            .to_string(),
        7 => r
            .pick(&[
                "critical", "warning", "info", "webhook", "email", "viewer", "admin",
            ])
            .to_string(),
        8 => r
            .pick(&[
                "http://10.0.0.1/hook",
                "http://127.0.0.1:1/",
                "ftp://x",
                "not a url",
            ])
            .to_string(),
        9 => "2999-01-01T00:00:00Z".to_owned(),
        10 => expression(r, 3),
        _ => format!("name-{}", r.below(50)),
    }
}

/// A copy of `base` with one field replaced, removed or added, or an element mangled.
fn mutate(r: &mut Random, base: &Value) -> Value {
    let mut value = base.clone();
    // A JSON pointer to a random container, found by walking down.
    let mut pointer = String::new();
    let mut node = &value;
    for _ in 0..r.below(4) {
        let next = match node {
            Value::Object(map) if !map.is_empty() => {
                let key = map.keys().nth(r.below(map.len())).unwrap();
                map.get(key).map(|child| {
                    (
                        format!("/{}", key.replace('~', "~0").replace('/', "~1")),
                        child,
                    )
                })
            }
            Value::Array(items) if !items.is_empty() => {
                let i = r.below(items.len());
                Some((format!("/{i}"), &items[i]))
            }
            _ => None,
        };
        match next {
            Some((step, child)) if child.is_object() || child.is_array() => {
                pointer.push_str(&step);
                node = child;
            }
            _ => break,
        }
    }
    let node = value
        .pointer_mut(&pointer)
        .expect("the pointer was just walked");
    match node {
        Value::Object(map) => match r.below(3) {
            0 if !map.is_empty() => {
                let key = map.keys().nth(r.below(map.len())).unwrap().clone();
                map.remove(&key);
            }
            1 if !map.is_empty() => {
                let key = map.keys().nth(r.below(map.len())).unwrap().clone();
                map.insert(key, random_value(r, 3));
            }
            _ => {
                map.insert(random_text(r), random_value(r, 2));
            }
        },
        Value::Array(items) => items.push(random_value(r, 3)),
        other => *other = random_value(r, 2),
    }
    value
}

/// A body that is not JSON, or JSON nested far deeper than anything parses.
fn hostile_body(r: &mut Random) -> Vec<u8> {
    match r.below(5) {
        0 => {
            let n = 1 + r.below(50_000);
            format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()
        }
        1 => {
            let n = 1 + r.below(20_000);
            format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n)).into_bytes()
        }
        2 => b"{\"name\": \"truncated".to_vec(),
        3 => (0..r.below(500)).map(|_| r.next() as u8).collect(),
        _ => b"{\"name\": \"x\\u0000\", \"group\": 1e999}".to_vec(),
    }
}

fn bases() -> Vec<(Method, &'static str, Value)> {
    vec![
        (
            Method::POST,
            "/api/v1/alert-rules",
            json!({ "name": "R", "group": "g", "query": "up == 0", "comparison": ">",
                    "critical_threshold": 1, "for": "1m", "interval": "1m",
                    "labels": { "team": "a" }, "annotations": { "summary": "{{ $labels.job }}" } }),
        ),
        (
            Method::POST,
            "/api/v1/alert-rules/import",
            json!({ "yaml": "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n" }),
        ),
        (
            Method::POST,
            "/api/v1/incidents",
            json!({ "title": "T", "severity": "critical", "service": "s" }),
        ),
        (
            Method::POST,
            "/api/v1/incidents/1/notes",
            json!({ "message": "looking" }),
        ),
        (
            Method::POST,
            "/api/v1/incidents/1/snooze",
            json!({ "until": "2999-01-01T00:00:00Z" }),
        ),
        (
            Method::POST,
            "/api/v1/silences",
            json!({ "matchers": [{ "name": "job", "value": "x", "isRegex": false }],
                    "ends_at": "2999-01-01T00:00:00Z", "comment": "c" }),
        ),
        (
            Method::POST,
            "/api/v1/teams",
            json!({ "name": "t", "description": "", "member_ids": [1] }),
        ),
        (
            Method::POST,
            "/api/v1/scrape-targets",
            json!({ "job": "j", "url": "http://10.0.0.1/metrics", "interval": "15s",
                    "timeout": "5s", "labels": { "env": "x" } }),
        ),
        (
            Method::POST,
            "/api/v1/notification-channels",
            json!({ "name": "c", "kind": "webhook", "url": "http://10.0.0.1/h" }),
        ),
        (
            Method::POST,
            "/api/v1/notification-policies",
            json!({ "name": "p", "matchers": [{ "name": "team", "op": "=", "value": "a" }],
                    "channel_ids": [1], "group_by": ["alertname"], "group_wait": "30s" }),
        ),
        (
            Method::POST,
            "/api/v1/inhibition-rules",
            json!({ "source_matchers": [{ "name": "severity", "op": "=", "value": "critical" }],
                    "target_matchers": [{ "name": "severity", "op": "=", "value": "warning" }],
                    "equal": ["cluster"] }),
        ),
        (
            Method::POST,
            "/api/v1/escalation-policies",
            json!({ "name": "p", "levels": [{ "delay_minutes": 0,
                    "targets": [{ "kind": "user", "id": 1 }] }], "repeat": 1 }),
        ),
        (
            Method::POST,
            "/api/v1/schedules",
            json!({ "name": "s", "time_zone": "Europe/Berlin", "rotation": "weekly",
                    "handoff_time": "09:00", "start_date": "2026-01-05", "participants": [1] }),
        ),
        (
            Method::POST,
            "/api/v1/auth/me/contact-methods",
            json!({ "kind": "webhook", "address": "http://10.0.0.1/h", "label": "pager" }),
        ),
        (
            Method::POST,
            "/api/v1/users",
            json!({ "email": "new@example.com", "display_name": "N", "password": "long enough pass",
                    "role": "viewer" }),
        ),
        (
            Method::POST,
            "/api/v1/api-keys",
            json!({ "name": "k", "scopes": ["read"] }),
        ),
        (
            Method::POST,
            "/alertmanager/api/v2/alerts",
            json!([{ "labels": { "alertname": "A", "severity": "critical" },
                     "annotations": { "summary": "s" }, "startsAt": "2026-01-01T00:00:00Z" }]),
        ),
        (
            Method::POST,
            "/alertmanager/api/v2/silences",
            json!({ "matchers": [{ "name": "a", "value": "b", "isRegex": false, "isEqual": true }],
                    "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2999-01-01T00:00:00Z",
                    "createdBy": "x", "comment": "y" }),
        ),
        (
            Method::PUT,
            "/api/v1/alert-rules/1",
            json!({ "name": "R2", "group": "g", "query": "up", "comparison": "<",
                    "warning_threshold": 1, "for": "0s", "interval": "10s" }),
        ),
        (
            Method::PATCH,
            "/api/v1/teams/1",
            json!({ "name": "t2", "member_ids": [] }),
        ),
        (
            Method::PUT,
            "/api/v1/schedules/1",
            json!({ "name": "s", "time_zone": "Nowhere/Else", "rotation": "daily" }),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn random_and_hostile_json_bodies_never_get_a_500() {
    let seed = seed();
    let mut r = Random(seed);
    let app = TestApp::spawn().await;
    let admin = app.login_as(Role::Admin).await;
    let cookie = admin.cookie_header().unwrap();
    let bases = bases();
    let mut statuses = std::collections::BTreeMap::new();
    for case in 0..cases() {
        let (method, path, base) = r.pick(&bases).clone();
        let body = if r.chance(85) {
            let mut value = mutate(&mut r, &base);
            for _ in 0..r.below(3) {
                value = mutate(&mut r, &value);
            }
            serde_json::to_vec(&value).unwrap()
        } else {
            hostile_body(&mut r)
        };
        let request = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(header::COOKIE, &cookie)
            .header("sec-fetch-site", "same-origin")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.clone()))
            .unwrap();
        let answer = app.send(request).await;
        assert!(
            answer.status.as_u16() < 500,
            "seed {seed}, case {case}: {method} {path} answered {} to {}: {}",
            answer.status,
            String::from_utf8_lossy(&body[..body.len().min(2_000)]),
            answer.text()
        );
        *statuses.entry(answer.status.as_u16()).or_insert(0) += 1;
    }
    // Some bodies were good enough to be taken, most were refused with a 4xx.
    assert!(
        statuses.keys().any(|s| *s < 300) && statuses.keys().any(|s| *s >= 400),
        "{statuses:?}"
    );
    assert_eq!(app.anonymous().get("/healthz").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn random_remote_write_and_otlp_payloads_never_get_a_500() {
    use common::remote_write::{encode, post, series};
    use vigil::ingest::remote_write::{WireMetadata, WriteRequest};

    let seed = seed();
    let mut r = Random(seed);
    let app = TestApp::spawn().await;
    let mut admin = app.login_as(Role::Admin).await;
    let key: CreatedApiKey = admin
        .post(
            "/api/v1/api-keys",
            &json!({ "name": "fuzz", "scopes": ["ingest"] }),
        )
        .await
        .json();
    let now = chrono::Utc::now().timestamp_millis();
    let names = [
        "__name__",
        "job",
        "instance",
        "le",
        "0bad",
        "a-b",
        "",
        "__reserved",
    ];
    let texts = |r: &mut Random| -> String {
        match r.below(6) {
            0 => *r.pick(&["up", "http_requests_total", "9bad name", ""]),
            1 => "a\u{0}b",
            2 => "é🚨",
            3 => return "y".repeat(r.below(5_000)),
            _ => return format!("v{}", r.below(20)),
        }
        .to_owned()
    };
    for case in 0..cases() / 4 {
        let (path, answer) = if r.chance(50) {
            let timeseries = (0..r.below(5))
                .map(|_| {
                    let labels: Vec<(String, String)> = (0..r.below(6))
                        .map(|_| (r.pick(&names).to_string(), texts(&mut r)))
                        .collect();
                    let labels: Vec<(&str, &str)> = labels
                        .iter()
                        .map(|(n, v)| (n.as_str(), v.as_str()))
                        .collect();
                    let samples: Vec<(i64, f64)> = (0..r.below(4))
                        .map(|_| {
                            let t = *r.pick(&[now, now - 60_000, 0, i64::MAX, i64::MIN, -1]);
                            let v = *r.pick(&[1.0, f64::NAN, f64::INFINITY, -0.0, 1e308]);
                            (t, v)
                        })
                        .collect();
                    series(&labels, &samples)
                })
                .collect();
            let metadata = (0..r.below(2))
                .map(|_| WireMetadata {
                    r#type: r.below(9) as i32 - 1,
                    metric_family_name: texts(&mut r),
                    help: texts(&mut r),
                    unit: texts(&mut r),
                })
                .collect();
            let mut body = encode(&WriteRequest {
                timeseries,
                metadata,
            });
            if r.chance(10) {
                body.truncate(r.below(body.len() + 1));
            }
            ("remote_write", app.send(post(&key.secret, body)).await)
        } else {
            let point = json!({
                "asDouble": *r.pick(&[1.0, -5.5, 1e300]),
                "timeUnixNano": r.pick(&["0", "1", "18446744073709551615", "-5", "x"]).to_string(),
                "attributes": [{ "key": texts(&mut r), "value": { "stringValue": texts(&mut r) } }],
            });
            let metric = match r.below(3) {
                0 => {
                    json!({ "name": texts(&mut r), "unit": texts(&mut r), "gauge": { "dataPoints": [point] } })
                }
                1 => {
                    json!({ "name": "reqs", "sum": { "isMonotonic": true, "aggregationTemporality": r.below(4), "dataPoints": [point] } })
                }
                _ => {
                    json!({ "name": "lat", "histogram": { "aggregationTemporality": 2, "dataPoints": [{
                    "count": r.pick(&["3", "-1", "x"]).to_string(), "sum": 1.5,
                    "bucketCounts": ["1", "2"], "explicitBounds": (0..r.below(3)).map(|i| i as f64).collect::<Vec<_>>(),
                    "timeUnixNano": format!("{}", now * 1_000_000) }] } })
                }
            };
            let service = texts(&mut r);
            let base = json!({ "resourceMetrics": [{
                "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": service } }] },
                "scopeMetrics": [{ "metrics": [metric] }]
            }] });
            let body = if r.chance(50) {
                mutate(&mut r, &base)
            } else {
                base
            };
            let request = Request::post("/v1/metrics")
                .header(header::AUTHORIZATION, format!("Bearer {}", key.secret))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap();
            ("otlp", app.send(request).await)
        };
        assert!(
            answer.status.as_u16() < 500,
            "seed {seed}, case {case}: {path} answered {}: {}",
            answer.status,
            answer.text()
        );
    }
}

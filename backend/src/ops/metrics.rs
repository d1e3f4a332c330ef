//! Vigil's own metrics, exposed at `/metrics` in the Prometheus/OpenMetrics text format.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use sqlx::PgPool;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProtocolLabels {
    protocol: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: &'static str,
}

/// Latency buckets from 1 ms to 10 s.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

pub struct Metrics {
    registry: Registry,
    http_requests: Family<RequestLabels, Counter>,
    http_duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    db_connections: Family<PoolLabels, Gauge>,
    resident_memory: Gauge<u64, AtomicU64>,
    ingested_samples: Family<ProtocolLabels, Counter>,
    rejected_samples: Family<ProtocolLabels, Counter>,
    rule_evaluations: Counter,
    rule_evaluation_failures: Counter,
    rule_evaluation_duration: Histogram,
    database_restarts: Counter,
    query_batch_items: Counter,
    query_batch_evaluations: Counter,
}

impl Metrics {
    pub fn new(started_at: chrono::DateTime<chrono::Utc>) -> Self {
        let mut registry = Registry::default();
        let http_requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "vigil_http_requests",
            "HTTP requests answered, by method, route and status",
            http_requests.clone(),
        );
        let http_duration =
            Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            );
        registry.register(
            "vigil_http_request_duration_seconds",
            "Time to answer HTTP requests, by method and route",
            http_duration.clone(),
        );
        let db_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "vigil_db_pool_connections",
            "Database pool connections, by state (idle, in_use) and the pool's maximum (max)",
            db_connections.clone(),
        );
        let ingested_samples = Family::<ProtocolLabels, Counter>::default();
        registry.register(
            "vigil_ingested_samples",
            "Samples committed, by ingestion protocol",
            ingested_samples.clone(),
        );
        let rejected_samples = Family::<ProtocolLabels, Counter>::default();
        registry.register(
            "vigil_rejected_samples",
            "Samples refused (invalid, too old or too new), by ingestion protocol",
            rejected_samples.clone(),
        );
        let rule_evaluations = Counter::default();
        registry.register(
            "vigil_rule_evaluations",
            "Alert rule evaluations run by this replica",
            rule_evaluations.clone(),
        );
        let rule_evaluation_failures = Counter::default();
        registry.register(
            "vigil_rule_evaluation_failures",
            "Alert rule evaluations whose query failed",
            rule_evaluation_failures.clone(),
        );
        let rule_evaluation_duration = latency_histogram();
        registry.register(
            "vigil_rule_evaluation_duration_seconds",
            "Time to evaluate one alert rule and store its alerts",
            rule_evaluation_duration.clone(),
        );
        let database_restarts = Counter::default();
        registry.register(
            "vigil_embedded_database_restarts",
            "Times this process restarted the embedded PostgreSQL after it died",
            database_restarts.clone(),
        );
        let query_batch_items = Counter::default();
        registry.register(
            "vigil_query_batch_items",
            "Queries asked for in batched query requests (/api/v1/query/batch)",
            query_batch_items.clone(),
        );
        let query_batch_evaluations = Counter::default();
        registry.register(
            "vigil_query_batch_evaluations",
            "Queries batched query requests evaluated (identical items of a batch run once)",
            query_batch_evaluations.clone(),
        );
        let resident_memory = Gauge::<u64, AtomicU64>::default();
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            resident_memory.clone(),
        );
        let start_time = Gauge::<i64>::default();
        start_time.set(started_at.timestamp());
        registry.register(
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch in seconds",
            start_time,
        );
        let build_info = Family::<VersionLabels, Gauge>::default();
        build_info
            .get_or_create(&VersionLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register("vigil_build_info", "Vigil's version (always 1)", build_info);

        Metrics {
            registry,
            http_requests,
            http_duration,
            db_connections,
            resident_memory,
            ingested_samples,
            rejected_samples,
            rule_evaluations,
            rule_evaluation_failures,
            rule_evaluation_duration,
            database_restarts,
            query_batch_items,
            query_batch_evaluations,
        }
    }

    /// Counts one restart of the embedded database.
    pub fn record_database_restart(&self) {
        self.database_restarts.inc();
    }

    /// Counts one rule evaluation and how long it took.
    pub fn record_rule_evaluation(&self, seconds: f64, failed: bool) {
        self.rule_evaluations.inc();
        if failed {
            self.rule_evaluation_failures.inc();
        }
        self.rule_evaluation_duration.observe(seconds);
    }

    /// Counts the items of one batched query request and the distinct queries it evaluated.
    pub fn record_query_batch(&self, items: usize, evaluated: usize) {
        self.query_batch_items.inc_by(items as u64);
        self.query_batch_evaluations.inc_by(evaluated as u64);
    }

    /// Counts what one ingestion request stored and refused.
    pub fn record_ingest(&self, protocol: &'static str, stored: usize, rejected: usize) {
        let labels = ProtocolLabels { protocol };
        self.ingested_samples
            .get_or_create(&labels)
            .inc_by(stored as u64);
        if rejected > 0 {
            self.rejected_samples
                .get_or_create(&labels)
                .inc_by(rejected as u64);
        }
    }

    pub(super) fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.http_requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status: status.to_string(),
            })
            .inc();
        self.http_duration
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// The exposition text, with gauges read fresh.
    pub fn render(&self, pool: &PgPool) -> String {
        let size = pool.size() as i64;
        let idle = pool.num_idle() as i64;
        let gauge = |state| {
            self.db_connections
                .get_or_create(&PoolLabels { state })
                .clone()
        };
        gauge("idle").set(idle);
        gauge("in_use").set(size - idle);
        gauge("max").set(pool.options().get_max_connections() as i64);
        if let Some(rss) = resident_memory_bytes() {
            self.resident_memory.set(rss);
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// Resident set size from `/proc/self/statm` (Linux), in bytes.
pub fn resident_memory_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

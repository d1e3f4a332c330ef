//! SLA report PDF benchmark (target: a 20-SLO report in ≤ 2 s, data included), run with
//! `cargo bench -p vigil --bench reports`.
//!
//! Builds a synthetic report of BENCH_SLOS (20) SLOs over 5 services, BENCH_DAYS (31) days
//! each, with BENCH_INCIDENTS (60) incidents, then renders it as a PDF; BENCH_RUNS (10) times.
//! Prints the minimum and median time of building the data, of rendering, and of both, and
//! the size of the PDF; BENCH_OUT names a file to write the PDF to, to look at it.

use std::time::{Duration, Instant};

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use vigil::slo::pdf;
use vigil_shared::slo::{
    BudgetUnit, DaySli, ReportIncident, ReportProvenance, ReportSummary, SlaReport, SloReport,
};

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator, so every run renders the same report.
struct Noise(u64);

impl Noise {
    /// A value in 0..1.
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn day_sli(noise: &mut Noise, date: NaiveDate) -> DaySli {
    let total = 50_000.0 + noise.next() * 10_000.0;
    let bad = (noise.next().powi(8) * 0.02 * total).round();
    let sli = (noise.next() > 0.03).then(|| 100.0 * (total - bad) / total);
    DaySli {
        date,
        good: total - bad,
        total,
        sli,
    }
}

fn slo(noise: &mut Noise, index: usize, from: DateTime<Utc>, days: usize) -> SloReport {
    let start = from.date_naive();
    let daily: Vec<DaySli> = (0..days)
        .map(|day| day_sli(noise, start + Days::new(day as u64)))
        .collect();
    let (good, total) = daily
        .iter()
        .fold((0.0, 0.0), |(g, t), day| (g + day.good, t + day.total));
    let achieved = 100.0 * good / total;
    let objective = [99.0, 99.5, 99.9, 99.95][index % 4];
    let mut worst = daily.clone();
    worst.sort_by(|a, b| a.sli.unwrap_or(100.0).total_cmp(&b.sli.unwrap_or(100.0)));
    worst.truncate(3);
    SloReport {
        slo_id: index as i64 + 1,
        name: format!("Checkout request availability {}", index + 1),
        service: format!("service-{}", index % 5),
        sli_kind: "events".to_owned(),
        unit: BudgetUnit::Events,
        objective,
        achieved: Some(achieved),
        met: Some(achieved >= objective),
        good,
        total,
        bad: total - good,
        budget_consumed_percent: 100.0 * (100.0 - achieved) / (100.0 - objective),
        excluded_minutes: 90,
        incident_count: 3,
        mtta_seconds: Some(240.0),
        mttr_seconds: Some(3_900.0),
        worst_days: worst,
        daily,
        excluded: Vec::new(),
        provenance: ReportProvenance {
            good_query: "sum(increase(http_requests_total{code!~\"5..\"}[1m]))".to_owned(),
            total_query: "sum(increase(http_requests_total[1m]))".to_owned(),
            from,
            to: from + Days::new(days as u64),
            method: "sum of good over sum of total".to_owned(),
        },
    }
}

fn incident(index: usize, from: DateTime<Utc>) -> ReportIncident {
    let triggered_at = from + chrono::Duration::hours(index as i64 * 11);
    ReportIncident {
        id: index as i64 + 1,
        title: format!("Elevated 5xx on the checkout API ({})", index + 1),
        severity: if index.is_multiple_of(3) {
            "critical"
        } else {
            "warning"
        }
        .to_owned(),
        service: format!("service-{}", index % 5),
        triggered_at,
        acknowledged_at: Some(triggered_at + chrono::Duration::minutes(4)),
        resolved_at: Some(triggered_at + chrono::Duration::minutes(65)),
        budget_impact: vec![(
            format!("Checkout request availability {}", index % 20 + 1),
            12.5,
        )],
    }
}

fn report(slos: usize, days: usize, incidents: usize) -> SlaReport {
    let from = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap();
    let mut noise = Noise(7);
    let slos: Vec<SloReport> = (0..slos)
        .map(|index| slo(&mut noise, index, from, days))
        .collect();
    let met = slos.iter().filter(|slo| slo.met == Some(true)).count();
    SlaReport {
        title: "SLA report October 2026".to_owned(),
        from,
        to: from + Days::new(days as u64),
        time_zone: "Europe/Paris".to_owned(),
        generated_at: Utc::now(),
        services: Vec::new(),
        summary: ReportSummary {
            slos: slos.len(),
            met,
            breached: slos.len() - met,
            no_data: 0,
            met_percent: (!slos.is_empty()).then(|| 100.0 * met as f64 / slos.len() as f64),
        },
        slos,
        incidents: (0..incidents).map(|index| incident(index, from)).collect(),
        notes: vec!["The service \"billing\" has no SLO.".to_owned()],
        file_stem: "vigil-sla-2026-10".to_owned(),
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn print(what: &str, samples: Vec<Duration>) {
    let min = samples.iter().min().copied().unwrap_or_default();
    println!(
        "{what:<16} min {:>8.2} ms  median {:>8.2} ms",
        ms(min),
        ms(median(samples))
    );
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn main() {
    let (slos, days) = (knob("BENCH_SLOS", 20), knob("BENCH_DAYS", 31));
    let (incidents, runs) = (knob("BENCH_INCIDENTS", 60), knob("BENCH_RUNS", 10).max(1));
    println!("SLA report PDF: {slos} SLOs × {days} days, {incidents} incidents, {runs} runs");
    let (mut building, mut rendering, mut both) = (Vec::new(), Vec::new(), Vec::new());
    let mut document = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let report = report(slos, days, incidents);
        let built = Instant::now();
        document = pdf::render(&report).expect("the report renders");
        building.push(built - started);
        rendering.push(built.elapsed());
        both.push(started.elapsed());
    }
    print("data", building);
    print("render", rendering);
    print("data + render", both);
    let size = document.len();
    println!(
        "PDF size         {size} bytes ({:.0} KB)",
        size as f64 / 1024.0
    );
    if let Some(path) = std::env::var_os("BENCH_OUT") {
        std::fs::write(&path, &document).expect("the PDF is written");
    }
}

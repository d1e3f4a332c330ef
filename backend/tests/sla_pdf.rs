//! The SLA report's PDF read back by poppler, the way a reader opens it: the text extracts
//! (`pdftotext`), every page renders (`pdftoppm`) and the fonts are embedded (`pdffonts`).
//! Poppler must be installed (scripts/test.sh installs poppler-utils): without it these tests
//! fail rather than skip.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Days, Duration, NaiveDate, TimeZone, Utc};
use vigil::slo::pdf;
use vigil_shared::slo::{
    BudgetUnit, DaySli, ReportIncident, ReportProvenance, ReportSummary, SlaReport, SloReport,
};

const NOTE: &str = "The service \"billing\" has no SLO.";

fn november() -> (DateTime<Utc>, DateTime<Utc>) {
    let from = Utc.with_ymd_and_hms(2026, 10, 31, 23, 0, 0).unwrap();
    (from, from + Days::new(30))
}

fn provenance() -> ReportProvenance {
    let (from, to) = november();
    ReportProvenance {
        good_query: "sum(increase(http_requests_total{code!~\"5..\"}[1m]))".to_owned(),
        total_query: "sum(increase(http_requests_total[1m]))".to_owned(),
        from,
        to,
        method: "sum over minutes of good / sum of total".to_owned(),
    }
}

/// 30 days of November: `sli` of each day (None: no data).
fn days(sli: impl Fn(u32) -> Option<f64>) -> Vec<DaySli> {
    (1..=30)
        .map(|day| DaySli {
            date: NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
            good: 0.0,
            total: if sli(day).is_some() { 10_000.0 } else { 0.0 },
            sli: sli(day),
        })
        .collect()
}

fn worst(daily: &[DaySli]) -> Vec<DaySli> {
    let mut days: Vec<DaySli> = daily
        .iter()
        .filter(|day| day.sli.is_some())
        .cloned()
        .collect();
    days.sort_by(|a, b| a.sli.unwrap().total_cmp(&b.sli.unwrap()));
    days.truncate(3);
    days
}

fn slo(id: i64, service: &str, name: &str, objective: f64, daily: Vec<DaySli>) -> SloReport {
    SloReport {
        slo_id: id,
        name: name.to_owned(),
        service: service.to_owned(),
        sli_kind: "events".to_owned(),
        unit: BudgetUnit::Events,
        objective,
        achieved: None,
        met: None,
        good: 0.0,
        total: 0.0,
        bad: 0.0,
        budget_consumed_percent: 0.0,
        excluded_minutes: 0,
        incident_count: 0,
        mtta_seconds: None,
        mttr_seconds: None,
        worst_days: worst(&daily),
        daily,
        excluded: Vec::new(),
        provenance: provenance(),
    }
}

/// Checkout's availability met its objective, its latency did not; search had no data.
fn slos() -> Vec<SloReport> {
    let availability = SloReport {
        achieved: Some(99.95),
        met: Some(true),
        good: 2_998_500.0,
        total: 3_000_000.0,
        bad: 1_500.0,
        budget_consumed_percent: 50.0,
        excluded_minutes: 120,
        incident_count: 12,
        mtta_seconds: Some(300.0),
        mttr_seconds: Some(4_500.0),
        ..slo(
            1,
            "checkout",
            "API availability",
            99.9,
            days(|day| (day != 9).then_some(99.97 - f64::from(day % 4) * 0.02)),
        )
    };
    let latency = SloReport {
        sli_kind: "latency".to_owned(),
        achieved: Some(97.5),
        met: Some(false),
        good: 975_000.0,
        total: 1_000_000.0,
        bad: 25_000.0,
        budget_consumed_percent: 250.0,
        incident_count: 28,
        mtta_seconds: Some(90.0),
        mttr_seconds: Some(11_000.0),
        ..slo(
            2,
            "checkout",
            "Checkout requests under 300 ms",
            99.0,
            days(|day| Some(if day % 7 == 3 { 92.5 } else { 99.4 })),
        )
    };
    let uptime = SloReport {
        sli_kind: "time_slices".to_owned(),
        unit: BudgetUnit::Minutes,
        ..slo(3, "search", "Search uptime", 99.5, days(|_| None))
    };
    vec![availability, latency, uptime]
}

fn incidents(count: usize) -> Vec<ReportIncident> {
    let (from, _) = november();
    (1..=count)
        .map(|n| {
            let triggered_at = from + Duration::hours(n as i64 * 17);
            ReportIncident {
                id: 1000 + n as i64,
                title: format!("Payment gateway timeouts {n}"),
                severity: if n.is_multiple_of(4) {
                    "critical"
                } else {
                    "warning"
                }
                .to_owned(),
                service: "checkout".to_owned(),
                triggered_at,
                acknowledged_at: Some(triggered_at + Duration::minutes(3)),
                resolved_at: (n != count).then(|| triggered_at + Duration::minutes(75)),
                budget_impact: vec![
                    ("API availability".to_owned(), 4.25),
                    ("Checkout requests under 300 ms".to_owned(), 8.5),
                ],
            }
        })
        .collect()
}

fn report() -> SlaReport {
    let (from, to) = november();
    SlaReport {
        title: "SLA report November 2026".to_owned(),
        from,
        to,
        time_zone: "Europe/Paris".to_owned(),
        generated_at: to + Duration::hours(6),
        services: vec![
            "checkout".to_owned(),
            "search".to_owned(),
            "billing".to_owned(),
        ],
        summary: ReportSummary {
            slos: 3,
            met: 1,
            breached: 1,
            no_data: 1,
            met_percent: Some(50.0),
        },
        slos: slos(),
        incidents: incidents(40),
        notes: vec![NOTE.to_owned()],
        file_stem: "vigil-sla-2026-11".to_owned(),
    }
}

/// Runs a poppler program; fails the test, saying what to install, when it is missing.
fn poppler(program: &str, args: &[&str]) -> String {
    let output = match Command::new(program).args(args).output() {
        Ok(output) => output,
        Err(error) if error.kind() == ErrorKind::NotFound => panic!(
            "`{program}` is not installed: these tests need poppler-utils \
             (apt-get install poppler-utils; scripts/test.sh installs it)"
        ),
        Err(error) => panic!("cannot run {program}: {error}"),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {stderr}"
    );
    assert!(!stderr.contains("Error"), "{program} complained: {stderr}");
    String::from_utf8(output.stdout).unwrap()
}

/// Writes the report's PDF to a fresh directory of its own.
fn write_pdf(name: &str, report: &SlaReport) -> (PathBuf, PathBuf) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("report.pdf");
    std::fs::write(&file, pdf::render(report).unwrap()).unwrap();
    (dir, file)
}

/// The text of each page.
fn pages(file: &Path) -> Vec<String> {
    let text = poppler("pdftotext", &["-layout", file.to_str().unwrap(), "-"]);
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_owned).collect();
    if pages.last().is_some_and(|page| page.trim().is_empty()) {
        pages.pop();
    }
    pages
}

/// Renders every page at 50 dpi; returns the PNGs.
fn rasterize(dir: &Path, file: &Path) -> Vec<Vec<u8>> {
    let prefix = dir.join("page");
    poppler(
        "pdftoppm",
        &[
            "-png",
            "-r",
            "50",
            file.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    );
    let mut images: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "png"))
        .collect();
    images.sort();
    images
        .iter()
        .map(|path| std::fs::read(path).unwrap())
        .collect()
}

fn page_of(pages: &[String], text: &str) -> usize {
    pages
        .iter()
        .position(|page| page.contains(text))
        .unwrap_or_else(|| panic!("no page has {text:?}"))
}

#[test]
fn the_report_s_figures_extract_as_text() {
    let (_, file) = write_pdf("figures", &report());
    let pages = pages(&file);
    let text = pages.join("\n");
    for expected in [
        "SLA report November 2026",
        "Europe/Paris",
        "2026-11-01 00:00 – 2026-12-01 00:00",
        "API availability",
        "99.9 %",
        "99.95 %",
        "97.5 %",
        "250 %",
        "1,500 events",
        "1 h 15 min",
        "Breached",
        "No data",
        NOTE,
        "Payment gateway timeouts 1 ",
        "Payment gateway timeouts 40",
        "Page 1 of",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} is not in the text:\n{text}"
        );
    }
}

#[test]
fn every_page_is_numbered_and_renders() {
    let (dir, file) = write_pdf("pages", &report());
    let pages = pages(&file);
    let count = pages.len();
    assert!(
        count >= 4,
        "title, summary, services and incidents: {count} pages"
    );
    for (index, page) in pages.iter().enumerate() {
        let number = format!("Page {} of {count}", index + 1);
        assert!(
            page.contains(&number),
            "page {} lacks {number:?}:\n{page}",
            index + 1
        );
    }
    let images = rasterize(&dir, &file);
    assert_eq!(images.len(), count, "one PNG per page");
    for image in &images {
        assert!(
            image.len() > 1000 && image.starts_with(b"\x89PNG"),
            "a real image"
        );
    }
}

#[test]
fn the_incidents_table_breaks_across_pages_with_its_header_repeated() {
    let (_, file) = write_pdf("incidents", &report());
    let pages = pages(&file);
    let first = page_of(&pages, "Payment gateway timeouts 1 ");
    let last = page_of(&pages, "Payment gateway timeouts 40");
    assert!(last > first, "40 incidents take more than one page");
    for page in &pages[first..=last] {
        assert!(
            page.contains("Triggered") && page.contains("Budget impact"),
            "header on each page:\n{page}"
        );
    }
}

#[test]
fn the_fonts_are_embedded_subsets_with_unicode_maps() {
    let (_, file) = write_pdf("fonts", &report());
    let listing = poppler("pdffonts", &[file.to_str().unwrap()]);
    let fonts: Vec<&str> = listing.lines().skip(2).collect();
    assert_eq!(fonts.len(), 2, "regular and bold:\n{listing}");
    for font in fonts {
        assert!(
            font.contains("DejaVuSans") && font.contains("CID TrueType"),
            "{font}"
        );
        // The emb, sub and uni columns.
        assert!(
            font.contains("yes yes yes"),
            "embedded, subset, with ToUnicode: {font}"
        );
    }
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(
        size < 300_000,
        "subset fonts keep the file small: {size} bytes"
    );
}

#[test]
fn a_report_with_missing_figures_and_overlong_names_still_renders() {
    let long = "a-very-long-service-name-without-any-space-".repeat(8);
    let mut odd = slos();
    odd[0].objective = f64::NAN;
    odd[0].achieved = Some(f64::INFINITY);
    odd[0].budget_consumed_percent = f64::NAN;
    odd[0].mttr_seconds = Some(-5.0);
    odd[1].name = format!("{long} with\nnewlines\tand tabs and 🚀 emoji");
    odd[1].service = long.clone();
    odd[1].daily = Vec::new();
    let mut report = report();
    report.title = "Quarterly SLA report ".repeat(20);
    report.time_zone = "Not/AZone".to_owned();
    report.services = vec![long; 30];
    report.slos = odd;
    report.summary.met_percent = None;
    report.notes = vec!["A note with a very long text. ".repeat(40)];
    let (dir, file) = write_pdf("odd", &report);
    let pages = pages(&file);
    assert_eq!(rasterize(&dir, &file).len(), pages.len());
    let text = pages.join("\n");
    assert!(
        text.contains("UTC"),
        "an unknown time zone falls back to UTC"
    );
    assert!(text.contains('…'), "long names are cut");
}

#[test]
fn an_empty_report_has_a_title_page_a_summary_and_no_incidents() {
    let mut report = report();
    report.slos = Vec::new();
    report.incidents = Vec::new();
    report.notes = Vec::new();
    report.summary = ReportSummary {
        slos: 0,
        met: 0,
        breached: 0,
        no_data: 0,
        met_percent: None,
    };
    let (dir, file) = write_pdf("empty", &report);
    let pages = pages(&file);
    assert_eq!(rasterize(&dir, &file).len(), pages.len());
    let text = pages.join("\n");
    assert!(text.contains("This report covers no SLO."), "{text}");
    assert!(text.contains("No incidents in this period."), "{text}");
}

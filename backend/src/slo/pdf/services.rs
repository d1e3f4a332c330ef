//! A section per service: for each of its SLOs the figures, the worst days and the daily chart.

use std::collections::HashSet;

use vigil_shared::slo::{BudgetUnit, SlaReport, SloReport};

use super::Document;
use super::canvas::{Align, Color, Stroke};
use super::chart::{self, Area};
use super::flow::{CONTENT_WIDTH, MARGIN};
use super::format::{amount, minutes, percent};
use super::style;
use super::summary::{achieved, bad, optional_duration, status};

const TITLE_HEIGHT: f32 = 24.0;
const FACTS_WIDTH: f32 = 230.0;
const FACT_HEIGHT: f32 = 12.5;
/// The figures (ten lines) and the worst days (a title and three lines), beside the chart.
const FACTS_HEIGHT: f32 = 14.0 * FACT_HEIGHT + 6.0;
const BLOCK_HEIGHT: f32 = TITLE_HEIGHT + chart::HEIGHT.max(FACTS_HEIGHT) + 22.0;

/// The services with SLOs in the report, in the order their first SLO appears.
pub(super) fn services_of(report: &SlaReport) -> Vec<&str> {
    let mut seen = HashSet::new();
    report
        .slos
        .iter()
        .map(|slo| slo.service.as_str())
        .filter(|service| seen.insert(*service))
        .collect()
}

impl Document<'_> {
    pub(super) fn services(&mut self) {
        let report = self.report;
        if !report.slos.is_empty() {
            self.flow.new_page();
        }
        for (index, service) in services_of(report).into_iter().enumerate() {
            let slos: Vec<&SloReport> = report
                .slos
                .iter()
                .filter(|slo| slo.service == service)
                .collect();
            self.flow
                .heading(&format!("Service: {service}"), BLOCK_HEIGHT);
            if index == 0 {
                self.section("Services", 0);
            }
            self.section(service, 1);
            for slo in slos {
                self.slo(slo);
            }
        }
    }

    /// One SLO: its name and verdict, then its figures and worst days beside its chart.
    fn slo(&mut self, slo: &SloReport) {
        self.flow.keep(BLOCK_HEIGHT);
        self.slo_title(slo);
        let top = self.flow.y;
        self.slo_facts(slo, top);
        let chart_x = MARGIN + FACTS_WIDTH + 30.0;
        let area = Area {
            x: chart_x,
            top,
            width: MARGIN + CONTENT_WIDTH - chart_x,
        };
        chart::daily_sli(&mut self.flow.canvas, &area, slo);
        self.flow.advance(chart::HEIGHT.max(FACTS_HEIGHT) + 8.0);
        self.flow.rule(style::GRID, 0.6);
        self.flow.advance(14.0);
    }

    /// The SLO's name, a badge with its verdict, and what kind of SLI it is.
    fn slo_title(&mut self, slo: &SloReport) {
        let canvas = &mut self.flow.canvas;
        let baseline = self.flow.y + style::H2.size;
        let kind = format!(
            "{} SLI · budget in {}",
            slo.sli_kind.replace('_', " "),
            unit_name(slo.unit)
        );
        let kind_width = canvas.text_width(style::SMALL, &kind);
        let name = canvas.fit(style::H2, &slo.name, CONTENT_WIDTH - kind_width - 90.0);
        canvas.text(MARGIN, baseline, style::H2, &name);
        let (verdict, color) = status(slo.met);
        let badge_x = MARGIN + canvas.text_width(style::H2, &name) + 10.0;
        let badge = style::TABLE.bold().colored(style::WHITE);
        let badge_width = canvas.text_width(badge, verdict) + 12.0;
        canvas.fill_rect(badge_x, baseline - 9.5, badge_width, 12.5, color);
        canvas.text(badge_x + 6.0, baseline, badge, verdict);
        canvas.text_in(
            MARGIN,
            CONTENT_WIDTH,
            baseline,
            Align::Right,
            style::SMALL,
            &kind,
        );
        self.flow.advance(TITLE_HEIGHT);
    }

    /// The figures, then the three worst days, as label–value lines from `top`.
    fn slo_facts(&mut self, slo: &SloReport, top: f32) {
        let (_, verdict_color) = status(slo.met);
        let budget_color = if slo.budget_consumed_percent > 100.0 {
            style::BREACHED
        } else {
            style::TEXT
        };
        let facts = [
            ("Objective", percent(slo.objective), style::TEXT),
            ("Achieved", achieved(slo), verdict_color),
            (
                "Budget consumed",
                percent(slo.budget_consumed_percent),
                budget_color,
            ),
            (bad_label(slo.unit), bad(slo), style::TEXT),
            (counted_labels(slo.unit).0, amount(slo.good), style::TEXT),
            (counted_labels(slo.unit).1, amount(slo.total), style::TEXT),
            (
                "Excluded (maintenance)",
                minutes(slo.excluded_minutes),
                style::TEXT,
            ),
            ("Incidents", slo.incident_count.to_string(), style::TEXT),
            (
                "Mean time to acknowledge",
                optional_duration(slo.mtta_seconds),
                style::TEXT,
            ),
            (
                "Mean time to resolve",
                optional_duration(slo.mttr_seconds),
                style::TEXT,
            ),
        ];
        let mut y = top;
        for (label, value, color) in &facts {
            self.slo_fact(y, label, value, *color);
            y += FACT_HEIGHT;
        }
        self.worst_days(slo, y + 6.0);
    }

    fn worst_days(&mut self, slo: &SloReport, top: f32) {
        let heading = style::LABEL.with_size(8.0).bold();
        self.flow
            .canvas
            .text(MARGIN, top + 8.0, heading, "WORST DAYS");
        let mut y = top + FACT_HEIGHT;
        if slo.worst_days.is_empty() {
            self.slo_fact(y, "None with data", "", style::TEXT);
        }
        for day in slo.worst_days.iter().take(3) {
            let below = day.sli.is_some_and(|sli| sli < slo.objective);
            let color = if below { style::BREACHED } else { style::TEXT };
            let value = day.sli.map_or("no data".to_owned(), percent);
            self.slo_fact(
                y,
                &day.date.format("%a %-d %b %Y").to_string(),
                &value,
                color,
            );
            y += FACT_HEIGHT;
        }
    }

    /// A label on the left and its value on the right of the figures column.
    fn slo_fact(&mut self, top: f32, label: &str, value: &str, color: Color) {
        let canvas = &mut self.flow.canvas;
        let baseline = top + 9.0;
        let value_style = style::BODY.with_size(8.5).bold().colored(color);
        let value_width = canvas.text_width(value_style, value);
        let label_style = style::BODY.with_size(8.5).colored(style::MUTED);
        let label = canvas.fit(label_style, label, FACTS_WIDTH - value_width - 8.0);
        canvas.text(MARGIN, baseline, label_style, &label);
        let value = canvas.fit(value_style, value, FACTS_WIDTH);
        canvas.text_in(
            MARGIN,
            FACTS_WIDTH,
            baseline,
            Align::Right,
            value_style,
            &value,
        );
        let underline = Stroke::solid(0.5, style::GRID);
        canvas.line(
            (MARGIN, top + 12.0),
            (MARGIN + FACTS_WIDTH, top + 12.0),
            underline,
        );
    }
}

fn unit_name(unit: BudgetUnit) -> &'static str {
    match unit {
        BudgetUnit::Events => "events",
        BudgetUnit::Minutes => "minutes",
    }
}

fn bad_label(unit: BudgetUnit) -> &'static str {
    match unit {
        BudgetUnit::Events => "Bad events",
        BudgetUnit::Minutes => "Downtime",
    }
}

fn counted_labels(unit: BudgetUnit) -> (&'static str, &'static str) {
    match unit {
        BudgetUnit::Events => ("Good events", "Total events"),
        BudgetUnit::Minutes => ("Good minutes", "Counted minutes"),
    }
}

//! The incidents of the period with their budget impact, the time not counted, and the notes.

use vigil_shared::alerting::Severity;
use vigil_shared::slo::ReportIncident;

use super::Document;
use super::canvas::Color;
use super::flow::MARGIN;
use super::format::{local_time, minutes, percent};
use super::style;
use super::table::{self, Cell, Column};

const COLUMNS: [Column; 7] = [
    Column::left("ID", 40.0),
    Column::left("Title", 230.0),
    Column::left("Severity", 56.0),
    Column::left("Service", 90.0),
    Column::left("Triggered", 80.0),
    Column::left("Resolved", 80.0),
    Column::left("Budget impact", 186.0),
];

const EXCLUSION_COLUMNS: [Column; 5] = [
    Column::left("SLO", 170.0),
    Column::left("From", 90.0),
    Column::left("To", 90.0),
    Column::right("Minutes", 70.0),
    Column::left("Reason", 342.0),
];

impl Document<'_> {
    pub(super) fn incidents(&mut self) {
        self.flow.new_page();
        self.section("Incidents", 0);
        self.flow.heading("Incidents", 40.0);
        let incidents = &self.report.incidents;
        if incidents.is_empty() {
            self.flow
                .paragraph(style::BODY, 0.0, "No incidents in this period.");
            return;
        }
        let intro = format!(
            "{} incidents of the services covered. Budget impact: the share of each SLO's budget \
             for the period used while the incident was open.",
            incidents.len()
        );
        self.flow.paragraph(style::BODY, 0.0, &intro);
        self.flow.advance(6.0);
        let rows = incidents
            .iter()
            .map(|incident| self.incident_row(incident))
            .collect();
        table::draw(&mut self.flow, &COLUMNS, rows);
    }

    fn incident_row(&self, incident: &ReportIncident) -> Vec<Cell> {
        let resolved = match incident.resolved_at {
            Some(at) => Cell::new(local_time(at, self.zone)),
            None => Cell::colored("open", style::WARNING),
        };
        let impact = incident
            .budget_impact
            .iter()
            .map(|(slo, share)| format!("{}  {slo}", percent(*share)))
            .collect();
        vec![
            Cell::new(format!("#{}", incident.id)),
            Cell::new(&incident.title),
            Cell::colored(&incident.severity, severity_color(&incident.severity)),
            Cell::new(&incident.service),
            Cell::new(local_time(incident.triggered_at, self.zone)),
            resolved,
            Cell::lines(impact),
        ]
    }

    /// The maintenance windows and corrections that left time out, per SLO.
    pub(super) fn exclusions(&mut self) {
        let zone = self.zone;
        let rows: Vec<Vec<Cell>> = self
            .report
            .slos
            .iter()
            .flat_map(|slo| {
                slo.excluded.iter().map(move |span| {
                    vec![
                        Cell::new(&slo.name),
                        Cell::new(local_time(span.start, zone)),
                        Cell::new(local_time(span.end, zone)),
                        Cell::new(minutes((span.end - span.start).num_minutes())),
                        Cell::new(&span.reason),
                    ]
                })
            })
            .collect();
        if rows.is_empty() {
            return;
        }
        self.flow.heading("Time not counted", 40.0);
        self.section("Time not counted", 0);
        self.flow.paragraph(
            style::BODY,
            0.0,
            "Maintenance windows and corrections: their minutes count neither as good nor as bad.",
        );
        self.flow.advance(6.0);
        table::draw(&mut self.flow, &EXCLUSION_COLUMNS, rows);
        self.flow.advance(12.0);
    }

    /// Things the reader should know, e.g. a service without SLOs.
    pub(super) fn notes(&mut self) {
        if self.report.notes.is_empty() {
            return;
        }
        self.flow.heading("Notes", 20.0);
        self.section("Notes", 0);
        for note in &self.report.notes {
            self.flow.keep(style::BODY.size * 1.4);
            self.flow
                .canvas
                .text(MARGIN, self.flow.y + style::BODY.size, style::BODY, "•");
            self.flow.paragraph(style::BODY, 12.0, note);
            self.flow.advance(3.0);
        }
    }
}

fn severity_color(severity: &str) -> Color {
    match Severity::parse(severity) {
        Some(Severity::Critical) => style::BREACHED,
        Some(Severity::Warning) => style::WARNING,
        _ => style::TEXT,
    }
}

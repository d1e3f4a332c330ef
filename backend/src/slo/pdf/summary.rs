//! The summary: how many SLOs met their objective, then a row of figures per SLO.

use vigil_shared::slo::{BudgetUnit, SloReport};

use super::Document;
use super::canvas::{Align, Color};
use super::flow::{CONTENT_WIDTH, MARGIN};
use super::format::{MISSING, amount, duration, minutes, percent};
use super::style;
use super::table::{self, Cell, Column};

const COLUMNS: [Column; 11] = [
    Column::left("Service", 80.0),
    Column::left("SLO", 135.0),
    Column::right("Objective", 52.0),
    Column::right("Achieved", 56.0),
    Column::left("Status", 52.0),
    Column::right("Budget\nconsumed", 58.0),
    Column::right("Bad events\nor downtime", 103.0),
    Column::right("Excluded", 56.0),
    Column::right("Incidents", 48.0),
    Column::right("MTTA", 58.0),
    Column::right("MTTR", 58.0),
];

const TILE_HEIGHT: f32 = 50.0;
const TILE_GAP: f32 = 10.0;

impl Document<'_> {
    pub(super) fn summary(&mut self) {
        self.flow.new_page();
        self.section("Summary", 0);
        self.flow.heading("Summary", TILE_HEIGHT);
        self.summary_tiles();
        if self.report.slos.is_empty() {
            self.flow
                .paragraph(style::BODY, 0.0, "This report covers no SLO.");
            return;
        }
        let rows = self.report.slos.iter().map(summary_row).collect();
        table::draw(&mut self.flow, &COLUMNS, rows);
    }

    /// SLOs, met, breached, no data and met %, each in a tile.
    fn summary_tiles(&mut self) {
        let summary = &self.report.summary;
        let met_percent = summary.met_percent.map_or(MISSING.to_owned(), percent);
        let tiles = [
            ("SLOs", summary.slos.to_string(), style::ACCENT),
            ("Met", summary.met.to_string(), style::MET),
            ("Breached", summary.breached.to_string(), style::BREACHED),
            ("No data", summary.no_data.to_string(), style::NO_DATA),
            ("Met (of the SLOs with data)", met_percent, style::TEXT),
        ];
        let width = (CONTENT_WIDTH - TILE_GAP * (tiles.len() - 1) as f32) / tiles.len() as f32;
        for (index, (label, value, color)) in tiles.iter().enumerate() {
            let x = MARGIN + index as f32 * (width + TILE_GAP);
            self.tile(x, width, label, value, *color);
        }
        self.flow.advance(TILE_HEIGHT + 16.0);
    }

    fn tile(&mut self, x: f32, width: f32, label: &str, value: &str, color: Color) {
        let (canvas, top) = (&mut self.flow.canvas, self.flow.y);
        canvas.fill_rect(x, top, width, TILE_HEIGHT, style::STRIPE_FILL);
        canvas.fill_rect(x, top, 3.0, TILE_HEIGHT, color);
        let figure = style::FIGURE.with_size(19.0).colored(color);
        canvas.text_in(
            x + 12.0,
            width - 20.0,
            top + 26.0,
            Align::Left,
            figure,
            value,
        );
        let label = canvas.fit(style::LABEL.with_size(8.0), label, width - 20.0);
        canvas.text(x + 12.0, top + 41.0, style::LABEL.with_size(8.0), &label);
    }
}

fn summary_row(slo: &SloReport) -> Vec<Cell> {
    let (status, status_color) = status(slo.met);
    let budget = percent(slo.budget_consumed_percent);
    let budget = if slo.budget_consumed_percent > 100.0 {
        Cell::colored(budget, style::BREACHED)
    } else {
        Cell::new(budget)
    };
    vec![
        Cell::new(&slo.service),
        Cell::new(&slo.name),
        Cell::new(percent(slo.objective)),
        Cell::new(achieved(slo)),
        Cell::colored(status, status_color),
        budget,
        Cell::new(bad(slo)),
        Cell::new(minutes(slo.excluded_minutes)),
        Cell::new(slo.incident_count.to_string()),
        Cell::new(optional_duration(slo.mtta_seconds)),
        Cell::new(optional_duration(slo.mttr_seconds)),
    ]
}

/// What the SLO's verdict is called and its colour.
pub(super) fn status(met: Option<bool>) -> (&'static str, Color) {
    match met {
        Some(true) => ("Met", style::MET),
        Some(false) => ("Breached", style::BREACHED),
        None => ("No data", style::NO_DATA),
    }
}

pub(super) fn achieved(slo: &SloReport) -> String {
    slo.achieved.map_or(MISSING.to_owned(), percent)
}

/// Bad events, or downtime for a time-slice SLO.
pub(super) fn bad(slo: &SloReport) -> String {
    match slo.unit {
        BudgetUnit::Events => format!("{} events", amount(slo.bad)),
        BudgetUnit::Minutes => format!("{} min", amount(slo.bad)),
    }
}

pub(super) fn optional_duration(seconds: Option<f64>) -> String {
    seconds.map_or(MISSING.to_owned(), duration)
}

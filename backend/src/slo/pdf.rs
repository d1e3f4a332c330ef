//! The SLA report as a PDF (SPEC §9), made in-process: A4 landscape pages set in DejaVu Sans,
//! which is compiled into the binary and embedded (subset) in each document, so the text
//! extracts and the file opens anywhere. A title page, the summary, a section per service with
//! each SLO's figures and daily chart, the incidents, and the notes; "Page N of M" on each page.

mod canvas;
mod chart;
mod flow;
mod fonts;
mod format;
mod incidents;
mod services;
mod style;
mod summary;
mod table;
mod title_page;

use chrono_tz::Tz;
use vigil_shared::slo::SlaReport;

use self::canvas::{Align, Canvas, PAGE_HEIGHT, PAGE_WIDTH, Stroke};
use self::flow::{Flow, MARGIN};

pub use self::format::{MISSING, amount, duration, local_time, minutes, percent};

/// Rendering fails only if the fonts compiled into the binary cannot be read or subset.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the embedded font cannot be read: {0}")]
    Font(#[from] ttf_parser::FaceParsingError),
    #[error("the embedded font cannot be subset: {0}")]
    Subset(#[from] subsetter::Error),
}

/// The report as a PDF document. Any report renders: no SLOs, missing or non-finite figures and
/// names too long for their place (cut with an ellipsis) included.
pub fn render(report: &SlaReport) -> Result<Vec<u8>, PdfError> {
    let mut document = Document {
        flow: Flow::new(Canvas::new()?),
        report,
        zone: report.time_zone.parse().unwrap_or(Tz::UTC),
        contents: Vec::new(),
    };
    let contents_top = document.title_page();
    document.summary();
    document.services();
    document.incidents();
    document.exclusions();
    document.notes();
    document.contents(contents_top);
    document.footers();
    document
        .flow
        .canvas
        .finish(&report.title, report.generated_at)
}

/// A report being laid out.
struct Document<'a> {
    flow: Flow,
    report: &'a SlaReport,
    /// The time zone the report's times are written in (UTC when its name is unknown).
    zone: Tz,
    /// The sections so far, for the table of contents.
    contents: Vec<Section>,
}

/// An entry of the table of contents.
struct Section {
    title: String,
    /// Counted from 1.
    page: usize,
    /// 0 for a section, 1 for a part of one.
    level: u8,
}

impl Document<'_> {
    /// Starts a section on the current page, for the table of contents.
    fn section(&mut self, title: &str, level: u8) {
        let page = self.flow.canvas.page_count();
        self.contents.push(Section {
            title: title.to_owned(),
            page,
            level,
        });
    }

    /// From and to, in the report's time zone.
    fn period(&self) -> String {
        let (from, to) = (self.report.from, self.report.to);
        format!(
            "{} – {}",
            local_time(from, self.zone),
            local_time(to, self.zone)
        )
    }

    /// "Page N of M", the report's title and period at the foot of every page.
    fn footers(&mut self) {
        let footer = format!("{} · {}", self.report.title, self.period());
        let canvas = &mut self.flow.canvas;
        let count = canvas.page_count();
        for index in 0..count {
            canvas.select_page(index);
            // The title page's panel runs to the bottom edge.
            let x = if index == 0 {
                title_page::TEXT_X
            } else {
                MARGIN
            };
            let width = PAGE_WIDTH - MARGIN - x;
            let baseline = PAGE_HEIGHT - 26.0;
            let rule = Stroke::solid(0.5, style::RULE);
            canvas.line((x, baseline - 12.0), (x + width, baseline - 12.0), rule);
            let page = format!("Page {} of {count}", index + 1);
            canvas.text_in(x, width, baseline, Align::Right, style::FOOTER, &page);
            let footer = canvas.fit(style::FOOTER, &footer, width - 90.0);
            canvas.text(x, baseline, style::FOOTER, &footer);
        }
    }
}

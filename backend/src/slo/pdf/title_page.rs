//! The title page: a coloured panel on the left; the title, period, time zone, generation
//! time and services on the right, then the table of contents.

use super::canvas::{Align, Canvas, PAGE_HEIGHT, PAGE_WIDTH, Stroke};
use super::flow::MARGIN;
use super::format::local_time;
use super::{Document, Section, services, style};

const PANEL_WIDTH: f32 = 250.0;
/// Where the text right of the panel starts, and how wide it is.
pub(super) const TEXT_X: f32 = PANEL_WIDTH + 40.0;
const TEXT_WIDTH: f32 = PAGE_WIDTH - TEXT_X - MARGIN;
const CONTENTS_LINE: f32 = 15.0;
/// The table of contents stops above the footer.
const CONTENTS_END: f32 = PAGE_HEIGHT - 70.0;

impl Document<'_> {
    /// Draws the title page; returns where the table of contents goes, which is written last,
    /// once the pages of the sections are known.
    pub(super) fn title_page(&mut self) -> f32 {
        self.flow.new_page();
        let facts = self.title_facts();
        let canvas = &mut self.flow.canvas;
        canvas.fill_rect(0.0, 0.0, PANEL_WIDTH, PAGE_HEIGHT, style::ACCENT);
        let on_panel = style::H1.colored(style::WHITE);
        canvas.text(MARGIN, 96.0, on_panel.with_size(26.0), "Vigil");
        canvas.text(MARGIN, 120.0, on_panel.with_size(13.0), "SLA report");
        let mut y = 84.0;
        for line in canvas.wrap(style::TITLE, &self.report.title, TEXT_WIDTH, 3) {
            y += style::TITLE.size * 1.25;
            canvas.text(TEXT_X, y, style::TITLE, &line);
        }
        y += 26.0;
        for (label, value) in facts {
            y = title_fact(canvas, y, label, &value);
        }
        y + 22.0
    }

    fn title_facts(&self) -> [(&'static str, String); 4] {
        [
            ("Period", self.period()),
            ("Time zone", self.zone.name().to_owned()),
            ("Generated", local_time(self.report.generated_at, self.zone)),
            ("Services", self.services_covered()),
        ]
    }

    /// The services asked for, or all of them (naming those with SLOs).
    fn services_covered(&self) -> String {
        if !self.report.services.is_empty() {
            return self.report.services.join(", ");
        }
        let with_slos = services::services_of(self.report);
        if with_slos.is_empty() {
            return "All services".to_owned();
        }
        format!("All services ({})", with_slos.join(", "))
    }

    /// The table of contents on the title page, from `top`: as many entries as fit.
    pub(super) fn contents(&mut self, top: f32) {
        let canvas = &mut self.flow.canvas;
        canvas.select_page(0);
        canvas.text(TEXT_X, top + 10.0, style::H2, "Contents");
        let mut y = top + 16.0;
        for section in &self.contents {
            if y + CONTENTS_LINE > CONTENTS_END {
                canvas.text(TEXT_X, y + 11.0, style::BODY, "…");
                break;
            }
            y += CONTENTS_LINE;
            contents_entry(canvas, y, section);
        }
    }
}

/// One label and value of the title page; returns the top of the next.
fn title_fact(canvas: &mut Canvas, top: f32, label: &str, value: &str) -> f32 {
    canvas.text(
        TEXT_X,
        top + 8.0,
        style::LABEL.with_size(8.0),
        &label.to_uppercase(),
    );
    let value_style = style::BODY.with_size(11.0);
    let mut y = top + 12.0;
    for line in canvas.wrap(value_style, value, TEXT_WIDTH, 4) {
        y += 14.0;
        canvas.text(TEXT_X, y, value_style, &line);
    }
    y + 12.0
}

/// A section's title, a dotted leader and its page number, on the baseline `y`.
fn contents_entry(canvas: &mut Canvas, y: f32, section: &Section) {
    let x = TEXT_X + f32::from(section.level) * 14.0;
    let width = TEXT_X + TEXT_WIDTH - x;
    let text_style = if section.level == 0 {
        style::BODY.bold()
    } else {
        style::BODY
    };
    let number = section.page.to_string();
    let title = canvas.fit(text_style, &section.title, width - 40.0);
    canvas.text(x, y, text_style, &title);
    canvas.text_in(x, width, y, Align::Right, text_style, &number);
    let dots_from = x + canvas.text_width(text_style, &title) + 4.0;
    let dots_to = (x + width - canvas.text_width(text_style, &number) - 4.0).max(dots_from);
    let dotted = Stroke::dashed(0.8, style::RULE, &[0.8, 2.4]);
    canvas.line((dots_from, y - 1.0), (dots_to, y - 1.0), dotted);
}

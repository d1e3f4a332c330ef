//! Content laid out top to bottom across pages: the cursor, page breaks, headings and
//! wrapped paragraphs.

use super::canvas::{Canvas, Color, PAGE_HEIGHT, PAGE_WIDTH, Stroke, TextStyle};
use super::style;

pub(super) const MARGIN: f32 = 42.0;
pub(super) const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
const TOP: f32 = 48.0;
const SPACE_ABOVE_HEADING: f32 = 18.0;
/// Where the content area ends; the footer sits below.
const BOTTOM: f32 = PAGE_HEIGHT - 58.0;

/// The cursor of content flowing down the pages.
pub(super) struct Flow {
    pub(super) canvas: Canvas,
    /// The top of the free space on the current page.
    pub(super) y: f32,
}

impl Flow {
    pub(super) fn new(canvas: Canvas) -> Self {
        Self { canvas, y: TOP }
    }

    pub(super) fn new_page(&mut self) {
        self.canvas.add_page();
        self.y = TOP;
    }

    /// Starts a new page unless `height` fits below the cursor (or the page is still empty).
    pub(super) fn keep(&mut self, height: f32) {
        if self.y + height > BOTTOM && self.y > TOP {
            self.new_page();
        }
    }

    pub(super) fn at_page_top(&self) -> bool {
        self.y <= TOP
    }

    pub(super) fn advance(&mut self, height: f32) {
        self.y += height;
    }

    /// A section title with a rule under it, kept with `following` points of what comes next.
    pub(super) fn heading(&mut self, text: &str, following: f32) {
        let style = style::H1;
        self.keep(SPACE_ABOVE_HEADING + style.size * 2.0 + following);
        if !self.at_page_top() {
            self.y += SPACE_ABOVE_HEADING;
        }
        let text = self.canvas.fit(style, text, CONTENT_WIDTH);
        self.canvas.text(MARGIN, self.y + style.size, style, &text);
        self.y += style.size + 6.0;
        self.rule(style::ACCENT, 1.2);
        self.y += 12.0;
    }

    /// A full-width horizontal line at the cursor.
    pub(super) fn rule(&mut self, color: Color, width: f32) {
        let stroke = Stroke::solid(width, color);
        self.canvas
            .line((MARGIN, self.y), (MARGIN + CONTENT_WIDTH, self.y), stroke);
    }

    /// Wrapped text from `MARGIN + indent`, breaking pages between lines.
    pub(super) fn paragraph(&mut self, style: TextStyle, indent: f32, text: &str) {
        let line_height = style.size * 1.4;
        for line in self.canvas.wrap(style, text, CONTENT_WIDTH - indent, 40) {
            self.keep(line_height);
            self.canvas
                .text(MARGIN + indent, self.y + style.size, style, &line);
            self.y += line_height;
        }
    }
}

//! Pages being drawn, and the PDF they become: A4 pages measured in points with y going down
//! from the top edge, text in the embedded fonts, lines and filled rectangles.

use chrono::{DateTime, Datelike, Timelike, Utc};
use pdf_writer::types::LineCapStyle;
use pdf_writer::{Content, Date, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::PdfError;
use super::fonts::{Fonts, Weight};

/// A4 landscape, which leaves room for the summary's eleven columns.
pub(super) const PAGE_WIDTH: f32 = 841.89;
pub(super) const PAGE_HEIGHT: f32 = 595.28;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Color(f32, f32, f32);

impl Color {
    pub(super) const fn hex(rgb: u32) -> Self {
        Self(channel(rgb, 16), channel(rgb, 8), channel(rgb, 0))
    }
}

const fn channel(rgb: u32, shift: u32) -> f32 {
    ((rgb >> shift) & 0xff) as f32 / 255.0
}

/// How a piece of text is set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct TextStyle {
    pub(super) weight: Weight,
    pub(super) size: f32,
    pub(super) color: Color,
}

impl TextStyle {
    pub(super) const fn new(weight: Weight, size: f32, color: Color) -> Self {
        Self {
            weight,
            size,
            color,
        }
    }

    pub(super) const fn colored(self, color: Color) -> Self {
        Self { color, ..self }
    }

    pub(super) const fn with_size(self, size: f32) -> Self {
        Self { size, ..self }
    }

    pub(super) const fn bold(self) -> Self {
        Self {
            weight: Weight::Bold,
            ..self
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Right,
    Center,
}

/// A stroke: its width, colour and dash pattern (empty: solid).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Stroke {
    pub(super) width: f32,
    pub(super) color: Color,
    pub(super) dash: &'static [f32],
}

impl Stroke {
    pub(super) const fn solid(width: f32, color: Color) -> Self {
        Self {
            width,
            color,
            dash: &[],
        }
    }

    /// `dash`: the lengths of dashes and gaps, in turn.
    pub(super) const fn dashed(width: f32, color: Color, dash: &'static [f32]) -> Self {
        Self { width, color, dash }
    }
}

pub(super) struct Canvas {
    fonts: Fonts,
    pages: Vec<Content>,
    current: usize,
}

impl Canvas {
    pub(super) fn new() -> Result<Self, PdfError> {
        Ok(Self {
            fonts: Fonts::load()?,
            pages: Vec::new(),
            current: 0,
        })
    }

    /// Starts a new page and draws on it from now on.
    pub(super) fn add_page(&mut self) {
        self.pages.push(Content::new());
        self.current = self.pages.len() - 1;
    }

    pub(super) fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Draws on an earlier page from now on (the page footers, once the page count is known).
    pub(super) fn select_page(&mut self, index: usize) {
        self.current = index.min(self.pages.len().saturating_sub(1));
    }

    fn page(&mut self) -> &mut Content {
        if self.pages.is_empty() {
            self.add_page();
        }
        &mut self.pages[self.current]
    }

    pub(super) fn text_width(&self, style: TextStyle, text: &str) -> f32 {
        self.fonts.get(style.weight).width(text, style.size)
    }

    /// Draws `text` on one line with its baseline at `baseline`, aligned within `x..x + width`.
    pub(super) fn text_in(
        &mut self,
        x: f32,
        width: f32,
        baseline: f32,
        align: Align,
        style: TextStyle,
        text: &str,
    ) {
        let left = match align {
            Align::Left => x,
            Align::Right => x + width - self.text_width(style, text),
            Align::Center => x + (width - self.text_width(style, text)) / 2.0,
        };
        self.text(left, baseline, style, text);
    }

    /// Draws `text` on one line starting at `x`, its baseline at `baseline`.
    pub(super) fn text(&mut self, x: f32, baseline: f32, style: TextStyle, text: &str) {
        if text.is_empty() {
            return;
        }
        let font = self.fonts.get_mut(style.weight);
        let (resource, glyphs) = (font.resource, font.encode(text));
        let Color(r, g, b) = style.color;
        self.page()
            .begin_text()
            .set_fill_rgb(r, g, b)
            .set_font(resource, style.size)
            .next_line(x, PAGE_HEIGHT - baseline)
            .show(Str(&glyphs))
            .end_text();
    }

    /// `text` cut to fit `width`, ending with an ellipsis when cut.
    pub(super) fn fit(&self, style: TextStyle, text: &str, width: f32) -> String {
        if self.text_width(style, text) <= width {
            return text.to_owned();
        }
        let room = width - self.text_width(style, "…");
        let mut used = 0.0;
        let mut kept = String::new();
        for c in text.chars() {
            used += self.text_width(style, c.encode_utf8(&mut [0; 4]));
            if used > room {
                break;
            }
            kept.push(c);
        }
        kept.truncate(kept.trim_end().len());
        kept + "…"
    }

    /// `text` broken into lines no wider than `width`, at spaces where it can be and inside a
    /// word where a word alone is too wide; at most `max_lines`, the last one cut to fit.
    pub(super) fn wrap(
        &self,
        style: TextStyle,
        text: &str,
        width: f32,
        max_lines: usize,
    ) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if self.text_width(style, &candidate) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            line = self.break_word(style, word, width, &mut lines);
        }
        if !line.is_empty() {
            lines.push(line);
        }
        self.limit_lines(style, lines, width, max_lines)
    }

    /// Pushes the full-width pieces of a word too wide for a line; returns the rest.
    fn break_word(
        &self,
        style: TextStyle,
        word: &str,
        width: f32,
        lines: &mut Vec<String>,
    ) -> String {
        let mut piece = String::new();
        for c in word.chars() {
            piece.push(c);
            if self.text_width(style, &piece) > width && piece.chars().count() > 1 {
                piece.pop();
                lines.push(std::mem::replace(&mut piece, c.to_string()));
            }
        }
        piece
    }

    fn limit_lines(
        &self,
        style: TextStyle,
        mut lines: Vec<String>,
        width: f32,
        max_lines: usize,
    ) -> Vec<String> {
        if lines.len() <= max_lines.max(1) {
            return lines;
        }
        lines.truncate(max_lines.max(1));
        if let Some(last) = lines.last_mut() {
            *last = self.fit(style, &format!("{last} …"), width);
            if !last.ends_with('…') {
                last.push('…');
            }
        }
        lines
    }

    pub(super) fn fill_rect(&mut self, x: f32, top: f32, width: f32, height: f32, color: Color) {
        let Color(r, g, b) = color;
        self.page()
            .set_fill_rgb(r, g, b)
            .rect(x, PAGE_HEIGHT - top - height, width, height)
            .fill_nonzero();
    }

    pub(super) fn line(&mut self, from: (f32, f32), to: (f32, f32), stroke: Stroke) {
        let Color(r, g, b) = stroke.color;
        self.page()
            .save_state()
            .set_line_width(stroke.width)
            .set_line_cap(LineCapStyle::ButtCap)
            .set_stroke_rgb(r, g, b)
            .set_dash_pattern(stroke.dash.iter().copied(), 0.0)
            .move_to(from.0, PAGE_HEIGHT - from.1)
            .line_to(to.0, PAGE_HEIGHT - to.1)
            .stroke()
            .restore_state();
    }

    /// Writes the document: its pages, the subsets of the fonts they use, and its title.
    pub(super) fn finish(
        mut self,
        title: &str,
        created: DateTime<Utc>,
    ) -> Result<Vec<u8>, PdfError> {
        if self.pages.is_empty() {
            self.add_page();
        }
        let mut pdf = Pdf::new();
        let mut ids = Ids::default();
        let (catalog, tree, info) = (ids.next(), ids.next(), ids.next());
        let fonts = [ids.next(), ids.next()];
        let pages: Vec<(Ref, Ref)> = self
            .pages
            .iter()
            .map(|_| (ids.next(), ids.next()))
            .collect();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree)
            .kids(pages.iter().map(|&(page, _)| page))
            .count(i32::try_from(pages.len()).unwrap_or(i32::MAX));
        let resources: Vec<_> = self
            .fonts
            .all()
            .iter()
            .map(|font| font.resource)
            .zip(fonts)
            .collect();
        for ((page, contents), content) in pages.into_iter().zip(self.pages) {
            write_page(&mut pdf, (page, contents), tree, &resources, content);
        }
        for (font, id) in self.fonts.all().into_iter().zip(fonts) {
            font.embed(&mut pdf, &mut ids, id)?;
        }
        pdf.document_info(info)
            .title(TextStr(title))
            .producer(TextStr("Vigil"))
            .creation_date(pdf_date(created));
        Ok(pdf.finish())
    }
}

/// A page and its content stream; `fonts` are the fonts' resource names and objects.
fn write_page(
    pdf: &mut Pdf,
    (page, contents): (Ref, Ref),
    tree: Ref,
    fonts: &[(Name, Ref)],
    content: Content,
) {
    let mut writer = pdf.page(page);
    writer
        .media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
        .parent(tree)
        .contents(contents);
    writer.resources().fonts().pairs(fonts.iter().copied());
    writer.finish();
    pdf.stream(contents, &deflate(&content.finish()))
        .filter(Filter::FlateDecode);
}

/// Hands out the numbers of the PDF's objects, each once.
#[derive(Default)]
pub(super) struct Ids(i32);

impl Ids {
    pub(super) fn next(&mut self) -> Ref {
        self.0 += 1;
        Ref::new(self.0)
    }
}

pub(super) fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

fn pdf_date(at: DateTime<Utc>) -> Date {
    let narrow = |value: u32| u8::try_from(value).unwrap_or(0);
    Date::new(u16::try_from(at.year()).unwrap_or(0))
        .month(narrow(at.month()))
        .day(narrow(at.day()))
        .hour(narrow(at.hour()))
        .minute(narrow(at.minute()))
        .second(narrow(at.second()))
        .utc_offset_hour(0)
}

//! Tables that break across pages, repeating their header row on each page.

use super::canvas::{Align, Color, Stroke, TextStyle};
use super::flow::{CONTENT_WIDTH, Flow, MARGIN};
use super::style;

const PAD_X: f32 = 4.0;
const PAD_Y: f32 = 4.0;
const LINE_HEIGHT: f32 = 9.5;
/// A cell shows at most this many lines, so that a row always fits on a page.
const MAX_LINES: usize = 8;

pub(super) struct Column {
    pub(super) title: &'static str,
    /// Relative to the other columns'; the table spans the content width.
    pub(super) weight: f32,
    pub(super) align: Align,
}

impl Column {
    pub(super) const fn left(title: &'static str, weight: f32) -> Self {
        Self {
            title,
            weight,
            align: Align::Left,
        }
    }

    pub(super) const fn right(title: &'static str, weight: f32) -> Self {
        Self {
            title,
            weight,
            align: Align::Right,
        }
    }
}

/// One cell: its lines (each cut to the column's width) and how they are set.
pub(super) struct Cell {
    lines: Vec<String>,
    style: TextStyle,
}

impl Cell {
    pub(super) fn new(text: impl Into<String>) -> Self {
        Self {
            lines: vec![text.into()],
            style: style::TABLE,
        }
    }

    pub(super) fn lines(lines: Vec<String>) -> Self {
        Self {
            lines,
            style: style::TABLE,
        }
    }

    pub(super) fn colored(text: impl Into<String>, color: Color) -> Self {
        Self {
            lines: vec![text.into()],
            style: style::TABLE.colored(color).bold(),
        }
    }
}

/// Draws `rows` under a header row at the cursor, starting a new page (and repeating the
/// header) whenever the next row does not fit.
pub(super) fn draw(flow: &mut Flow, columns: &[Column], rows: Vec<Vec<Cell>>) {
    let widths = widths(columns);
    let first_row = rows.first().map_or(row_height(1), |row| height_of(row));
    flow.keep(header_height(columns) + first_row);
    header(flow, columns, &widths);
    for (index, row) in rows.iter().enumerate() {
        let height = height_of(row);
        flow.keep(height);
        if flow.at_page_top() {
            header(flow, columns, &widths);
        }
        if index % 2 == 1 {
            flow.canvas
                .fill_rect(MARGIN, flow.y, CONTENT_WIDTH, height, style::STRIPE_FILL);
        }
        cells(flow, columns, &widths, row);
        flow.advance(height);
    }
    flow.rule(style::RULE, 0.6);
}

fn widths(columns: &[Column]) -> Vec<f32> {
    let total: f32 = columns.iter().map(|column| column.weight).sum();
    columns
        .iter()
        .map(|column| CONTENT_WIDTH * column.weight / total.max(f32::EPSILON))
        .collect()
}

/// Column titles may have a line break (`"Budget\nconsumed"`).
fn header_height(columns: &[Column]) -> f32 {
    let lines = columns
        .iter()
        .map(|column| column.title.lines().count())
        .max()
        .unwrap_or(1);
    row_height(lines) + 2.0
}

fn height_of(row: &[Cell]) -> f32 {
    row_height(
        row.iter()
            .map(|cell| cell.lines.len().min(MAX_LINES))
            .max()
            .unwrap_or(1),
    )
}

fn row_height(lines: usize) -> f32 {
    lines.max(1) as f32 * LINE_HEIGHT + 2.0 * PAD_Y
}

fn header(flow: &mut Flow, columns: &[Column], widths: &[f32]) {
    let height = header_height(columns);
    flow.canvas
        .fill_rect(MARGIN, flow.y, CONTENT_WIDTH, height, style::HEADER_FILL);
    let style = style::TABLE.bold().colored(style::TEXT);
    let mut x = MARGIN;
    for (column, &width) in columns.iter().zip(widths) {
        let inner = width - 2.0 * PAD_X;
        for (index, line) in column.title.lines().enumerate() {
            let title = flow.canvas.fit(style, line, inner);
            let baseline = flow.y + PAD_Y + 1.0 + style.size + index as f32 * LINE_HEIGHT;
            flow.canvas
                .text_in(x + PAD_X, inner, baseline, column.align, style, &title);
        }
        x += width;
    }
    flow.advance(height);
    let stroke = Stroke::solid(0.8, style::ACCENT);
    flow.canvas
        .line((MARGIN, flow.y), (MARGIN + CONTENT_WIDTH, flow.y), stroke);
}

fn cells(flow: &mut Flow, columns: &[Column], widths: &[f32], row: &[Cell]) {
    let mut x = MARGIN;
    for ((column, &width), cell) in columns.iter().zip(widths).zip(row) {
        let inner = width - 2.0 * PAD_X;
        for (index, line) in shown_lines(cell).iter().enumerate() {
            let text = flow.canvas.fit(cell.style, line, inner);
            let baseline = flow.y + PAD_Y + cell.style.size + index as f32 * LINE_HEIGHT;
            flow.canvas
                .text_in(x + PAD_X, inner, baseline, column.align, cell.style, &text);
        }
        x += width;
    }
}

/// The cell's lines, the last of them saying how many more there are when there are too many.
fn shown_lines(cell: &Cell) -> Vec<String> {
    if cell.lines.len() <= MAX_LINES {
        return cell.lines.clone();
    }
    let mut shown = cell.lines[..MAX_LINES - 1].to_vec();
    shown.push(format!("… {} more", cell.lines.len() - (MAX_LINES - 1)));
    shown
}

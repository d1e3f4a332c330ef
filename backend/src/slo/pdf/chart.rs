//! An SLO's daily SLI chart, drawn with vector lines: a bar per day (green where the day met
//! the objective, red where it did not), the objective as a dashed line, the percent axis on
//! the left and the days below; a day without data is left empty.

use chrono::Datelike;
use vigil_shared::slo::{DaySli, SloReport};

use super::canvas::{Align, Canvas, Stroke};
use super::format::percent;
use super::style;

/// The chart's full height: legend, plot and day labels.
pub(super) const HEIGHT: f32 = 150.0;
const LEGEND: f32 = 16.0;
const AXIS_LABELS: f32 = 44.0;
const DAY_LABELS: f32 = 14.0;
const PLOT_HEIGHT: f32 = HEIGHT - LEGEND - DAY_LABELS;
const OBJECTIVE_DASH: &[f32] = &[4.0, 2.5];

/// Where the chart goes on its page.
pub(super) struct Area {
    pub(super) x: f32,
    pub(super) top: f32,
    pub(super) width: f32,
}

/// The plot: the percent range it shows and where it sits.
struct Plot {
    left: f32,
    top: f32,
    width: f32,
    low: f64,
    step: f64,
}

impl Plot {
    fn bottom(&self) -> f32 {
        self.top + PLOT_HEIGHT
    }

    /// The y of a percentage, clamped to the plot.
    fn y(&self, value: f64) -> f32 {
        let share = ((value - self.low) / (100.0 - self.low)).clamp(0.0, 1.0);
        self.bottom() - share as f32 * PLOT_HEIGHT
    }
}

pub(super) fn daily_sli(canvas: &mut Canvas, area: &Area, slo: &SloReport) {
    let (low, step) = axis(lowest_shown(slo));
    let plot = Plot {
        left: area.x + AXIS_LABELS,
        top: area.top + LEGEND,
        width: (area.width - AXIS_LABELS).max(1.0),
        low,
        step,
    };
    legend(canvas, area, slo.objective);
    grid(canvas, &plot);
    if !slo.daily.is_empty() {
        bars(canvas, &plot, &slo.daily, slo.objective);
        day_labels(canvas, &plot, &slo.daily);
    }
    objective(canvas, &plot, slo.objective);
    if slo
        .daily
        .iter()
        .all(|day| day.sli.is_none_or(|sli| !sli.is_finite()))
    {
        no_data(canvas, &plot);
    }
}

/// Says so across the plot, on a white box so that the grid does not run through the words.
fn no_data(canvas: &mut Canvas, plot: &Plot) {
    let text = "No data on any day of the period";
    let width = canvas.text_width(style::BODY, text) + 16.0;
    let (x, top) = (
        plot.left + (plot.width - width) / 2.0,
        plot.top + PLOT_HEIGHT / 2.0 - 10.0,
    );
    canvas.fill_rect(x, top, width, 18.0, style::WHITE);
    canvas.text_in(
        x,
        width,
        top + 12.5,
        Align::Center,
        style::BODY.colored(style::MUTED),
        text,
    );
}

/// The lowest value the chart must show: the objective or the worst day.
fn lowest_shown(slo: &SloReport) -> f64 {
    slo.daily
        .iter()
        .filter_map(|day| day.sli)
        .chain([slo.objective])
        .filter(|value| value.is_finite())
        .fold(100.0_f64, f64::min)
        .clamp(0.0, 100.0)
}

/// The bottom of the percent axis and the step between its labels: a round step, about four
/// labels, with room below `lowest`.
fn axis(lowest: f64) -> (f64, f64) {
    let span = ((100.0 - lowest) * 1.25).max(0.004);
    let step = round_step(span / 4.0);
    let low = ((100.0 - span) / step).floor() * step;
    (low.max(0.0), step)
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn round_step(raw: f64) -> f64 {
    let magnitude = 10_f64.powf(raw.log10().floor());
    let mantissa = raw / magnitude;
    let round = [1.0, 2.0, 5.0]
        .into_iter()
        .find(|&m| mantissa <= m)
        .unwrap_or(10.0);
    round * magnitude
}

fn legend(canvas: &mut Canvas, area: &Area, objective: f64) {
    let baseline = area.top + 8.0;
    let mut x = area.x + AXIS_LABELS;
    for (color, label) in [
        (style::MET, "day met the objective"),
        (style::BREACHED, "day below it"),
    ] {
        canvas.fill_rect(x, baseline - 6.0, 7.0, 7.0, color);
        canvas.text(x + 10.0, baseline, style::SMALL, label);
        x += 18.0 + canvas.text_width(style::SMALL, label);
    }
    let dash = Stroke::dashed(1.0, style::TEXT, OBJECTIVE_DASH);
    canvas.line((x, baseline - 2.5), (x + 16.0, baseline - 2.5), dash);
    canvas.text(
        x + 20.0,
        baseline,
        style::SMALL,
        &format!("objective {}", percent(objective)),
    );
}

/// Horizontal lines and labels at each step of the percent axis.
fn grid(canvas: &mut Canvas, plot: &Plot) {
    let steps = ((100.0 - plot.low) / plot.step).round() as usize;
    for index in 0..=steps.min(10) {
        let value = plot.low + index as f64 * plot.step;
        let y = plot.y(value);
        let color = if index == 0 { style::RULE } else { style::GRID };
        canvas.line(
            (plot.left, y),
            (plot.left + plot.width, y),
            Stroke::solid(0.6, color),
        );
        let label = percent(value);
        canvas.text_in(
            plot.left - AXIS_LABELS,
            AXIS_LABELS - 5.0,
            y + 2.5,
            Align::Right,
            style::SMALL,
            &label,
        );
    }
}

fn bars(canvas: &mut Canvas, plot: &Plot, days: &[DaySli], objective: f64) {
    let slot = plot.width / days.len() as f32;
    let width = (slot * 0.7).max(0.5);
    for (index, day) in days.iter().enumerate() {
        let Some(sli) = day.sli.filter(|sli| sli.is_finite()) else {
            continue;
        };
        let color = if !objective.is_finite() {
            style::ACCENT
        } else if sli >= objective {
            style::MET
        } else {
            style::BREACHED
        };
        // At least a sliver, so that a day at the bottom of the axis still shows.
        let top = plot.y(sli).min(plot.bottom() - 1.0);
        let x = plot.left + index as f32 * slot + (slot - width) / 2.0;
        canvas.fill_rect(x, top, width, plot.bottom() - top, color);
    }
}

fn objective(canvas: &mut Canvas, plot: &Plot, objective: f64) {
    if !(plot.low..=100.0).contains(&objective) {
        return;
    }
    let y = plot.y(objective);
    let dash = Stroke::dashed(1.0, style::TEXT, OBJECTIVE_DASH);
    canvas.line((plot.left, y), (plot.left + plot.width, y), dash);
}

/// The day of the month under every few bars (as many as fit), with the month's name on the
/// first day shown and on each first of a month.
fn day_labels(canvas: &mut Canvas, plot: &Plot, days: &[DaySli]) {
    let slot = plot.width / days.len() as f32;
    let every = (canvas.text_width(style::SMALL, "30 Nov") + 6.0) / slot;
    let every = (every.ceil() as usize).max(1);
    let baseline = plot.bottom() + 10.0;
    for (index, day) in days.iter().enumerate().step_by(every) {
        let label = if index == 0 || day.date.day() <= every as u32 {
            day.date.format("%-d %b").to_string()
        } else {
            day.date.day().to_string()
        };
        let x = plot.left + index as f32 * slot;
        canvas.text_in(
            x - 10.0,
            slot + 20.0,
            baseline,
            Align::Center,
            style::SMALL,
            &label,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_has_round_steps_and_shows_the_lowest_value() {
        let (low, step) = axis(99.9);
        assert!((step - 0.05).abs() < 1e-9, "{step}");
        assert!((99.8..99.9).contains(&low), "{low}");
        let (low, step) = axis(0.0);
        assert_eq!((low, step), (0.0, 50.0));
    }

    #[test]
    fn a_perfect_period_still_has_an_axis() {
        let (low, step) = axis(100.0);
        assert!(low < 100.0 && step > 0.0);
    }
}

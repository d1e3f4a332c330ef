//! An SLO's status and chart, from its history: the SLI over its window, the error budget,
//! burn rates and when the budget runs out. Excluded time (maintenance, corrections) counts
//! neither as good nor as bad.

use chrono::{DateTime, Datelike, Duration as TimeDelta, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use sqlx::PgConnection;
use vigil_shared::slo::{
    Budget, BurnRates, CalendarUnit, MaintenanceWindow, SloHealth, SloPoint, SloStatus,
};

use super::definition::Window;
use super::history::{self, Counts};
use super::maintenance::{self, floor_minute};
use super::store::StoredSlo;

/// The window an SLO is judged over at `now`: `[start, end)`, with `full_end` the end of a
/// calendar window (the same as `end` for rolling ones).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub full_end: DateTime<Utc>,
}

pub fn bounds(window: Window, now: DateTime<Utc>) -> Bounds {
    let end = floor_minute(now);
    match window {
        Window::Rolling(length) => Bounds {
            start: end - TimeDelta::from_std(length).unwrap_or_default(),
            end,
            full_end: end,
        },
        Window::Calendar(unit, tz) => {
            let local = now.with_timezone(&tz).date_naive();
            let months = match unit {
                CalendarUnit::Month => 1,
                CalendarUnit::Quarter => 3,
            };
            let first_month = (local.month0() / months) * months + 1;
            let first = NaiveDate::from_ymd_opt(local.year(), first_month, 1).unwrap_or(local);
            let next = first
                .checked_add_months(chrono::Months::new(months))
                .unwrap_or(first);
            Bounds {
                start: local_midnight(tz, first),
                end,
                full_end: local_midnight(tz, next),
            }
        }
    }
}

/// The instant a local day starts in `tz` (the first valid instant of it, across DST).
pub fn local_midnight(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    (0..4)
        .find_map(|h| {
            tz.from_local_datetime(&(midnight + TimeDelta::hours(h)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| midnight.and_utc())
}

/// The bad events (or minutes) the objective allows over what was counted: events, or
/// minutes with data, excluded time left out. So a budget is spent exactly when the SLI
/// falls below the objective, however much of the window has passed or has data.
pub fn budget_total(objective: f64, counted: &Counts) -> f64 {
    (1.0 - objective / 100.0) * counted.total
}

pub fn budget(total: f64, consumed: f64) -> Budget {
    let percent = |part: f64| {
        if total > 0.0 {
            part / total * 100.0
        } else if part > 0.0 {
            100.0
        } else {
            0.0
        }
    };
    Budget {
        total,
        consumed,
        remaining: total - consumed,
        consumed_percent: percent(consumed),
        remaining_percent: 100.0 - percent(consumed),
    }
}

/// How many times the allowed rate of bad events the window `counts` shows.
pub fn burn_rate(objective: f64, counts: &Counts) -> Option<f64> {
    let allowed = 1.0 - objective / 100.0;
    (counts.total > 0.0 && allowed > 0.0).then(|| counts.bad() / counts.total / allowed)
}

fn minutes_between(start: DateTime<Utc>, end: DateTime<Utc>) -> f64 {
    ((end - start).num_seconds().max(0) as f64) / 60.0
}

fn excluded_minutes_in(
    excluded: &[(DateTime<Utc>, DateTime<Utc>)],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> f64 {
    excluded
        .iter()
        .map(|(s, e)| minutes_between((*s).max(start), (*e).min(end)))
        .sum()
}

/// The status of `slo` at `now`.
pub async fn status(
    conn: &mut PgConnection,
    slo: &StoredSlo,
    windows: &[MaintenanceWindow],
    now: DateTime<Utc>,
) -> Result<SloStatus, sqlx::Error> {
    let request = &slo.valid.request;
    let until = slo.history_until.unwrap_or(now).min(now);
    let b = bounds(slo.valid.window, until);
    let earliest = b.start.min(b.end - TimeDelta::days(3));
    let spans = maintenance::spans(windows, slo.id, &request.service, earliest, b.full_end);
    let excluded = maintenance::merged(&spans);
    let trailing = |hours: i64| (b.end - TimeDelta::hours(hours), b.end);
    let counts = history::counted(
        conn,
        slo.id,
        &[
            (b.start, b.end),
            trailing(1),
            trailing(6),
            trailing(24),
            trailing(72),
        ],
        &excluded,
    )
    .await?;
    let window = counts[0];
    let unit = request.sli.unit();
    let total = budget_total(request.objective, &window);
    let budget = budget(total, window.bad());
    let burn_rates = BurnRates {
        h1: burn_rate(request.objective, &counts[1]),
        h6: burn_rate(request.objective, &counts[2]),
        d1: burn_rate(request.objective, &counts[3]),
        d3: burn_rate(request.objective, &counts[4]),
    };
    // At the last hour's pace of bad events (or minutes).
    let per_second = counts[1].bad() / 3600.0;
    let exhausted_in_seconds = if budget.remaining <= 0.0 && window.total > 0.0 {
        Some(0.0)
    } else if per_second > 0.0 {
        Some(budget.remaining / per_second)
    } else {
        None
    };
    let health = if window.total <= 0.0 {
        SloHealth::NoData
    } else if budget.remaining < 0.0 || (budget.total <= 0.0 && window.bad() > 0.0) {
        SloHealth::Breached
    } else if budget.remaining_percent < 25.0 || burn_rates.h6.is_some_and(|r| r > 6.0) {
        SloHealth::AtRisk
    } else {
        SloHealth::Ok
    };
    Ok(SloStatus {
        slo_id: slo.id,
        name: request.name.clone(),
        service: request.service.clone(),
        objective: request.objective,
        unit,
        window_start: b.start,
        window_end: b.end,
        sli: window.sli(),
        good: window.good,
        total: window.total,
        budget,
        burn_rates,
        exhausted_in_seconds,
        excluded_minutes: excluded_minutes_in(&excluded, b.start, b.end).round() as i64,
        health,
        history_until: slo.history_until,
    })
}

/// The points of an SLO's chart over `[from, to)` at `step`: each bucket's SLI, and the
/// budget remaining (percent) of the period from `from` to the bucket's end, the budget
/// being that of the whole period.
pub async fn points(
    conn: &mut PgConnection,
    slo: &StoredSlo,
    excluded: &[(DateTime<Utc>, DateTime<Utc>)],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step: TimeDelta,
) -> Result<Vec<SloPoint>, sqlx::Error> {
    let mut buckets = Vec::new();
    let mut t = from;
    while t < to {
        let next = (t + step).min(to);
        buckets.push((t, next));
        t = next;
    }
    let counts = history::counted(conn, slo.id, &buckets, excluded).await?;
    let request = &slo.valid.request;
    let period: Counts = counts.iter().fold(Counts::default(), |a, c| Counts {
        good: a.good + c.good,
        total: a.total + c.total,
    });
    let total_budget = budget_total(request.objective, &period);
    let mut consumed = 0.0;
    let mut seen = 0.0;
    Ok(buckets
        .iter()
        .zip(&counts)
        .map(|((start, _), c)| {
            consumed += c.bad();
            seen += c.total;
            SloPoint {
                at: *start,
                good: c.good,
                total: c.total,
                sli: c.sli(),
                budget_remaining_percent: (seen > 0.0)
                    .then(|| budget(total_budget, consumed).remaining_percent),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn calendar_windows_start_at_local_midnight() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let b = bounds(
            Window::Calendar(CalendarUnit::Month, tz),
            utc("2026-03-15T12:00:30Z"),
        );
        assert_eq!(b.start, utc("2026-03-01T05:00:00Z"), "EST");
        assert_eq!(b.full_end, utc("2026-04-01T04:00:00Z"), "EDT");
        assert_eq!(b.end, utc("2026-03-15T12:00:00Z"));
        let q = bounds(
            Window::Calendar(CalendarUnit::Quarter, chrono_tz::UTC),
            utc("2026-08-15T00:00:00Z"),
        );
        assert_eq!(q.start, utc("2026-07-01T00:00:00Z"));
        assert_eq!(q.full_end, utc("2026-10-01T00:00:00Z"));
    }

    #[test]
    fn budget_arithmetic() {
        // 99.9 % of 100,000 events: 100 may fail; 40 did.
        let counts = Counts {
            good: 99_960.0,
            total: 100_000.0,
        };
        let total = budget_total(99.9, &counts);
        assert!((total - 100.0).abs() < 1e-9);
        let b = budget(total, counts.bad());
        assert!((b.consumed_percent - 40.0).abs() < 1e-9);
        assert!((b.remaining - 60.0).abs() < 1e-9);
        assert!((burn_rate(99.9, &counts).unwrap() - 0.4).abs() < 1e-9);
        // A 31-day month at 99.9 % allows 44.64 minutes; 60 excluded leave 44.58.
        let minutes = Counts {
            good: 44_000.0,
            total: 31.0 * 1440.0 - 60.0,
        };
        let total = budget_total(99.9, &minutes);
        assert!((total - 44.58).abs() < 1e-9, "{total}");
        assert_eq!(budget(0.0, 0.0).remaining_percent, 100.0);
        assert_eq!(budget(0.0, 3.0).remaining_percent, 0.0);
    }
}

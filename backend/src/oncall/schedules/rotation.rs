//! The rotation, as pure functions: who is on call when, from the schedule and its overrides.

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use chrono::{LocalResult, TimeZone};
use chrono_tz::Tz;
use vigil_shared::schedule::Rotation;

/// How far apart handoffs are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cadence {
    /// Every this many local calendar days, at the handoff time (daily: 1, weekly: 7).
    Days(u32),
    /// Every this many hours of elapsed time from the first handoff.
    Hours(u32),
}

impl Cadence {
    /// The cadence of a rotation; `None` for a custom rotation without (valid) `shift_hours`.
    pub fn of(rotation: Rotation, shift_hours: Option<u32>) -> Option<Cadence> {
        match rotation {
            Rotation::Daily => Some(Cadence::Days(1)),
            Rotation::Weekly => Some(Cadence::Days(7)),
            Rotation::Custom => shift_hours.filter(|&h| h > 0).map(Cadence::Hours),
        }
    }
}

/// A schedule's rotation: everything needed to say who is on call when, overrides aside.
#[derive(Clone, Debug, PartialEq)]
pub struct Rota {
    pub tz: Tz,
    pub cadence: Cadence,
    /// The local date of the first handoff (shift 0).
    pub start_date: NaiveDate,
    /// The local time of day of the first handoff (and of every handoff, for day cadences).
    pub handoff_time: NaiveTime,
    /// User ids in rotation order: shift `k` belongs to `participants[k mod n]`.
    pub participants: Vec<i64>,
}

/// One shift of the rotation: `[starts_at, ends_at)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotaShift {
    /// Shift number, from 0 at the first handoff.
    pub index: i64,
    pub user_id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// An override: `user_id` is on call during `[starts_at, ends_at)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverrideSpan {
    pub id: i64,
    pub user_id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// A stretch of the final timeline: one person on call, from the rotation or an override.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub user_id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The override that put this person on call; `None` for a rotation shift.
    pub override_id: Option<i64>,
}

/// The UTC instant of a local wall-clock time in `tz`, decided for every local time:
///
/// - a time that exists once is that instant;
/// - a time that exists twice (the repeated hour when clocks go back) is the earlier one, so
///   the handoff happens the first time the clock shows it;
/// - a time that does not exist (the skipped hour when clocks go forward) is the end of the
///   gap, the first instant after it (a 02:30 handoff on a 02:00 → 03:00 night is at 03:00).
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        LocalResult::None => gap_end(tz, local),
    }
}

/// The first instant whose local time in `tz` is at or after `local`, a time inside a gap.
///
/// Offsets lie within ±18 h, so the local clock reads before `local` 36 h earlier and after it
/// 36 h later; bisecting that window on whole seconds finds where the clock jumps past
/// `local`, which (the time being skipped) is the end of its gap.
pub(super) fn gap_end(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let wall = |t: i64| {
        DateTime::from_timestamp(t, 0)
            .map(|t| t.with_timezone(&tz).naive_local())
            .unwrap_or(local)
    };
    let centre = local.and_utc().timestamp();
    let (mut before, mut after) = (centre - 36 * 3600, centre + 36 * 3600);
    while after - before > 1 {
        let middle = before + (after - before) / 2;
        if wall(middle) < local {
            before = middle;
        } else {
            after = middle;
        }
    }
    DateTime::from_timestamp(after, 0).unwrap_or_else(|| local.and_utc())
}

impl Rota {
    /// The instant shift `k` starts (`k` ≥ 0); `None` past the end of representable time.
    pub fn handoff(&self, k: i64) -> Option<DateTime<Utc>> {
        let k = u64::try_from(k).ok()?;
        match self.cadence {
            Cadence::Days(days) => {
                let date = self
                    .start_date
                    .checked_add_days(Days::new(k.checked_mul(u64::from(days))?))?;
                Some(resolve_local(self.tz, date.and_time(self.handoff_time)))
            }
            Cadence::Hours(hours) => {
                let elapsed =
                    TimeDelta::try_hours(i64::try_from(k).ok()?.checked_mul(i64::from(hours))?)?;
                self.first_handoff().checked_add_signed(elapsed)
            }
        }
    }

    /// The instant of the first handoff: before it nobody is on call.
    pub fn first_handoff(&self) -> DateTime<Utc> {
        resolve_local(self.tz, self.start_date.and_time(self.handoff_time))
    }

    /// The number of the shift covering `at`; `None` before the first handoff.
    pub fn index_at(&self, at: DateTime<Utc>) -> Option<i64> {
        let first = self.first_handoff();
        if at < first {
            return None;
        }
        match self.cadence {
            Cadence::Hours(hours) => Some((at - first).num_seconds() / (i64::from(hours) * 3600)),
            Cadence::Days(days) => {
                // An estimate from the local date, corrected by at most a step either way.
                let local_date = at.with_timezone(&self.tz).date_naive();
                let mut k = (local_date - self.start_date)
                    .num_days()
                    .div_euclid(i64::from(days))
                    .max(0);
                while k > 0 && self.handoff(k).is_none_or(|start| start > at) {
                    k -= 1;
                }
                while self.handoff(k + 1).is_some_and(|next| next <= at) {
                    k += 1;
                }
                Some(k)
            }
        }
    }

    /// Shift `k`; `None` when there are no participants or it cannot be represented.
    pub fn shift(&self, k: i64) -> Option<RotaShift> {
        let n = i64::try_from(self.participants.len())
            .ok()
            .filter(|&n| n > 0)?;
        let user_id = self.participants[usize::try_from(k.rem_euclid(n)).ok()?];
        Some(RotaShift {
            index: k,
            user_id,
            starts_at: self.handoff(k)?,
            ends_at: self.handoff(k + 1).unwrap_or(DateTime::<Utc>::MAX_UTC),
        })
    }

    /// The shift covering `at`, if anyone is on call then.
    pub fn shift_at(&self, at: DateTime<Utc>) -> Option<RotaShift> {
        self.shift(self.index_at(at)?)
    }

    /// The shifts overlapping `[from, to)`, in order, with their full (unclipped) bounds.
    /// Shifts that would last no time at all (two handoffs falling on one instant, when a
    /// zone skips a whole day) are left out.
    pub fn shifts_overlapping(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<RotaShift> {
        let mut shifts = Vec::new();
        if from >= to || self.participants.is_empty() {
            return shifts;
        }
        let mut k = self.index_at(from).unwrap_or(0);
        while let Some(shift) = self.shift(k) {
            if shift.starts_at >= to {
                break;
            }
            let last = shift.ends_at == DateTime::<Utc>::MAX_UTC;
            if shift.starts_at < shift.ends_at && shift.ends_at > from {
                shifts.push(shift);
            }
            if last {
                break;
            }
            k += 1;
        }
        shifts
    }
}

/// Who wins an elementary stretch of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Source {
    /// Index into the overrides.
    Override(usize),
    /// Index into the rotation shifts.
    Shift(usize),
}

/// The final on-call timeline around `[from, to)`: rotation shifts with overrides cut in.
///
/// `overrides` come in the order they were created (oldest first): where several cover an
/// instant, the last one in the slice wins, and any override beats the rotation. Returns the
/// segments overlapping the window, in time order, with their full bounds (a segment may start
/// before `from` or end after `to`). For exact bounds, pass every override overlapping the
/// rotation shifts at the window's edges and every override overlapping those overrides (see
/// `overrides_affecting`); fewer only makes edge segments' bounds approximate.
pub fn timeline(
    rota: &Rota,
    overrides: &[OverrideSpan],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<Segment> {
    if from >= to {
        return Vec::new();
    }
    let shifts = rota.shifts_overlapping(from, to);
    let mut points = vec![from, to];
    for shift in &shifts {
        points.extend([shift.starts_at, shift.ends_at]);
    }
    for o in overrides.iter().filter(|o| o.starts_at < o.ends_at) {
        points.extend([o.starts_at, o.ends_at]);
    }
    points.sort_unstable();
    points.dedup();

    let mut segments: Vec<(Source, Segment)> = Vec::new();
    let mut next_shift = 0;
    for pair in points.windows(2) {
        let (start, end) = (pair[0], pair[1]);
        while next_shift < shifts.len() && shifts[next_shift].ends_at <= start {
            next_shift += 1;
        }
        let Some((source, user_id)) = winner(&shifts, next_shift, overrides, start, end) else {
            continue;
        };
        match segments.last_mut() {
            Some((last, segment)) if *last == source && segment.ends_at == start => {
                segment.ends_at = end;
            }
            _ => segments.push((
                source,
                Segment {
                    user_id,
                    starts_at: start,
                    ends_at: end,
                    override_id: match source {
                        Source::Override(i) => Some(overrides[i].id),
                        Source::Shift(_) => None,
                    },
                },
            )),
        }
    }
    segments
        .into_iter()
        .map(|(_, segment)| segment)
        .filter(|s| s.starts_at < to && s.ends_at > from)
        .collect()
}

/// Who is on call during `[start, end)`, a stretch no boundary falls inside: the newest
/// override covering it, else the rotation shift `shifts[candidate]` if it covers it.
pub(super) fn winner(
    shifts: &[RotaShift],
    candidate: usize,
    overrides: &[OverrideSpan],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Option<(Source, i64)> {
    if let Some((i, o)) = overrides
        .iter()
        .enumerate()
        .rev()
        .find(|(_, o)| o.starts_at <= start && end <= o.ends_at)
    {
        return Some((Source::Override(i), o.user_id));
    }
    shifts
        .get(candidate)
        .filter(|s| s.starts_at <= start && end <= s.ends_at)
        .map(|s| (Source::Shift(candidate), s.user_id))
}

/// The segment of the final timeline covering `at`, if anyone is on call then.
pub fn on_call(rota: &Rota, overrides: &[OverrideSpan], at: DateTime<Utc>) -> Option<Segment> {
    let until = at.checked_add_signed(TimeDelta::nanoseconds(1))?;
    timeline(rota, overrides, at, until)
        .into_iter()
        .find(|s| s.starts_at <= at && at < s.ends_at)
}

/// Parses a handoff time written `HH:MM` (24-hour, two digits each).
pub fn parse_handoff_time(text: &str) -> Option<NaiveTime> {
    let (hours, minutes) = text.split_once(':')?;
    let two_digits = |part: &str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(hours) || !two_digits(minutes) {
        return None;
    }
    NaiveTime::from_hms_opt(hours.parse().ok()?, minutes.parse().ok()?, 0)
}

pub(super) fn handoff_time_text(time: NaiveTime) -> String {
    time.format("%H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    pub(super) fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    pub(super) fn rota(
        tz: Tz,
        cadence: Cadence,
        start: &str,
        handoff: &str,
        people: &[i64],
    ) -> Rota {
        Rota {
            tz,
            cadence,
            start_date: date(start),
            handoff_time: parse_handoff_time(handoff).unwrap(),
            participants: people.to_vec(),
        }
    }

    pub(super) fn span(id: i64, user_id: i64, from: &str, to: &str) -> OverrideSpan {
        OverrideSpan {
            id,
            user_id,
            starts_at: utc(from),
            ends_at: utc(to),
        }
    }

    #[test]
    pub(super) fn handoff_times_are_strict_hh_mm() {
        assert_eq!(
            parse_handoff_time("09:00"),
            NaiveTime::from_hms_opt(9, 0, 0)
        );
        assert_eq!(
            parse_handoff_time("23:59"),
            NaiveTime::from_hms_opt(23, 59, 0)
        );
        for bad in [
            "9:00", "24:00", "12:60", "12:5", "noon", "12:00:00", "+1:00", "",
        ] {
            assert_eq!(parse_handoff_time(bad), None, "{bad}");
        }
    }

    #[test]
    pub(super) fn berlin_daily_handoffs_keep_local_time_across_spring_forward() {
        let r = rota(
            Tz::Europe__Berlin,
            Cadence::Days(1),
            "2026-03-27",
            "09:00",
            &[1, 2],
        );
        assert_eq!(r.handoff(0), Some(utc("2026-03-27T08:00:00Z")));
        assert_eq!(r.handoff(1), Some(utc("2026-03-28T08:00:00Z")));
        // Clocks go forward on 2026-03-29 at 02:00: 09:00 CEST is 07:00 UTC.
        assert_eq!(r.handoff(2), Some(utc("2026-03-29T07:00:00Z")));
        let spanning = r.shift(1).unwrap();
        assert_eq!(spanning.ends_at - spanning.starts_at, TimeDelta::hours(23));
        assert_eq!(r.shift_at(utc("2026-03-29T07:30:00Z")).unwrap().user_id, 1);
        assert_eq!(r.shift_at(utc("2026-03-29T06:59:59Z")).unwrap().user_id, 2);
    }

    #[test]
    pub(super) fn berlin_daily_handoffs_keep_local_time_across_fall_back() {
        let r = rota(
            Tz::Europe__Berlin,
            Cadence::Days(1),
            "2026-10-24",
            "09:00",
            &[1, 2],
        );
        assert_eq!(r.handoff(0), Some(utc("2026-10-24T07:00:00Z")));
        // Clocks go back on 2026-10-25 at 03:00: 09:00 CET is 08:00 UTC.
        assert_eq!(r.handoff(1), Some(utc("2026-10-25T08:00:00Z")));
        let spanning = r.shift(0).unwrap();
        assert_eq!(spanning.ends_at - spanning.starts_at, TimeDelta::hours(25));
        assert_eq!(r.shift_at(utc("2026-10-25T07:30:00Z")).unwrap().index, 0);
        assert_eq!(r.shift_at(utc("2026-10-25T08:00:00Z")).unwrap().index, 1);
    }

    #[test]
    pub(super) fn new_york_handoffs_follow_its_own_dst_dates() {
        let r = rota(
            Tz::America__New_York,
            Cadence::Days(1),
            "2026-03-07",
            "09:00",
            &[1, 2, 3],
        );
        // EST (UTC−5) until 2026-03-08 02:00, then EDT (UTC−4).
        assert_eq!(r.handoff(0), Some(utc("2026-03-07T14:00:00Z")));
        assert_eq!(r.handoff(1), Some(utc("2026-03-08T13:00:00Z")));
        assert_eq!(
            r.shift(0).unwrap().ends_at - r.shift(0).unwrap().starts_at,
            TimeDelta::hours(23)
        );
        // Back to EST on 2026-11-01.
        let fall = rota(
            Tz::America__New_York,
            Cadence::Days(1),
            "2026-10-31",
            "09:00",
            &[1],
        );
        assert_eq!(fall.handoff(0), Some(utc("2026-10-31T13:00:00Z")));
        assert_eq!(fall.handoff(1), Some(utc("2026-11-01T14:00:00Z")));
    }

    #[test]
    pub(super) fn a_handoff_in_the_skipped_hour_happens_when_the_clock_jumps() {
        // 02:30 does not exist in New York on 2026-03-08: the clock goes 01:59:59 → 03:00.
        let r = rota(
            Tz::America__New_York,
            Cadence::Days(1),
            "2026-03-07",
            "02:30",
            &[1],
        );
        assert_eq!(r.handoff(0), Some(utc("2026-03-07T07:30:00Z")));
        assert_eq!(r.handoff(1), Some(utc("2026-03-08T07:00:00Z")));
        assert_eq!(r.handoff(2), Some(utc("2026-03-09T06:30:00Z")));
    }

    #[test]
    pub(super) fn a_handoff_in_the_repeated_hour_happens_the_first_time() {
        // 02:30 happens twice in Berlin on 2026-10-25 (CEST, then CET): the first one counts.
        let r = rota(
            Tz::Europe__Berlin,
            Cadence::Days(1),
            "2026-10-25",
            "02:30",
            &[1],
        );
        assert_eq!(r.handoff(0), Some(utc("2026-10-25T00:30:00Z")));
        assert_eq!(r.handoff(1), Some(utc("2026-10-26T01:30:00Z")));
    }

    #[test]
    pub(super) fn nobody_is_on_call_before_the_first_handoff_or_without_participants() {
        let r = rota(Tz::UTC, Cadence::Days(1), "2026-01-10", "09:00", &[1]);
        assert_eq!(r.shift_at(utc("2026-01-10T08:59:59Z")), None);
        assert_eq!(r.shift_at(utc("2026-01-10T09:00:00Z")).unwrap().user_id, 1);
        let empty = rota(Tz::UTC, Cadence::Days(1), "2026-01-10", "09:00", &[]);
        assert_eq!(empty.shift_at(utc("2026-02-01T00:00:00Z")), None);
        assert!(
            timeline(
                &empty,
                &[],
                utc("2026-02-01T00:00:00Z"),
                utc("2026-02-02T00:00:00Z")
            )
            .is_empty()
        );
    }

    #[test]
    pub(super) fn weekly_rotations_go_round_in_order() {
        let r = rota(
            Tz::Europe__Berlin,
            Cadence::Days(7),
            "2026-03-02",
            "10:00",
            &[7, 8, 9],
        );
        let owners: Vec<i64> = (0..7).map(|k| r.shift(k).unwrap().user_id).collect();
        assert_eq!(owners, [7, 8, 9, 7, 8, 9, 7]);
        // Week 4 starts on 2026-03-30 at 10:00 CEST (08:00 UTC), after the DST change.
        assert_eq!(r.handoff(4), Some(utc("2026-03-30T08:00:00Z")));
        assert_eq!(r.shift_at(utc("2026-03-30T07:59:00Z")).unwrap().user_id, 7);
        assert_eq!(r.shift_at(utc("2026-03-30T08:00:00Z")).unwrap().user_id, 8);
    }

    #[test]
    pub(super) fn custom_rotations_count_elapsed_hours_not_wall_clock() {
        let r = rota(
            Tz::Europe__Berlin,
            Cadence::Hours(12),
            "2026-03-28",
            "08:00",
            &[1, 2],
        );
        assert_eq!(r.handoff(0), Some(utc("2026-03-28T07:00:00Z")));
        // Three handoffs later, past the DST change, still 12 h apart: 20:00 UTC = 22:00 CEST.
        assert_eq!(r.handoff(3), Some(utc("2026-03-29T19:00:00Z")));
        assert_eq!(r.shift_at(utc("2026-03-29T18:59:59Z")).unwrap().user_id, 1);
        assert_eq!(r.shift_at(utc("2026-03-29T19:00:00Z")).unwrap().user_id, 2);
    }

    #[test]
    pub(super) fn shifts_overlapping_a_window_keep_their_full_bounds() {
        let r = rota(Tz::UTC, Cadence::Days(1), "2026-01-01", "09:00", &[1, 2]);
        let shifts = r.shifts_overlapping(utc("2026-01-02T12:00:00Z"), utc("2026-01-04T09:00:00Z"));
        let starts: Vec<_> = shifts.iter().map(|s| s.starts_at).collect();
        assert_eq!(
            starts,
            [utc("2026-01-02T09:00:00Z"), utc("2026-01-03T09:00:00Z")]
        );
    }

    #[test]
    pub(super) fn an_override_is_cut_into_the_shift_it_covers() {
        let r = rota(Tz::UTC, Cadence::Days(1), "2026-01-01", "09:00", &[1, 2]);
        let o = [span(50, 3, "2026-01-01T12:00:00Z", "2026-01-01T15:00:00Z")];
        let segments = timeline(
            &r,
            &o,
            utc("2026-01-01T09:00:00Z"),
            utc("2026-01-02T09:00:00Z"),
        );
        let got: Vec<_> = segments
            .iter()
            .map(|s| (s.user_id, s.starts_at, s.ends_at, s.override_id))
            .collect();
        assert_eq!(
            got,
            [
                (
                    1,
                    utc("2026-01-01T09:00:00Z"),
                    utc("2026-01-01T12:00:00Z"),
                    None
                ),
                (
                    3,
                    utc("2026-01-01T12:00:00Z"),
                    utc("2026-01-01T15:00:00Z"),
                    Some(50)
                ),
                (
                    1,
                    utc("2026-01-01T15:00:00Z"),
                    utc("2026-01-02T09:00:00Z"),
                    None
                ),
            ]
        );
        assert_eq!(
            on_call(&r, &o, utc("2026-01-01T13:00:00Z"))
                .unwrap()
                .user_id,
            3
        );
        assert_eq!(
            on_call(&r, &o, utc("2026-01-01T15:00:00Z"))
                .unwrap()
                .user_id,
            1
        );
    }

    #[test]
    pub(super) fn the_newest_of_overlapping_overrides_wins_and_spans_handoffs_whole() {
        let r = rota(Tz::UTC, Cadence::Days(1), "2026-01-01", "09:00", &[1, 2]);
        let o = [
            span(60, 3, "2026-01-01T20:00:00Z", "2026-01-02T20:00:00Z"),
            span(61, 4, "2026-01-02T06:00:00Z", "2026-01-02T07:00:00Z"),
        ];
        let at = |t| on_call(&r, &o, utc(t)).unwrap();
        assert_eq!(at("2026-01-02T06:30:00Z").user_id, 4);
        let first = at("2026-01-01T21:00:00Z");
        assert_eq!(
            (first.user_id, first.ends_at),
            (3, utc("2026-01-02T06:00:00Z"))
        );
        // The older override resumes after the newer one and carries on past the 09:00 handoff.
        let resumed = at("2026-01-02T10:00:00Z");
        assert_eq!(
            (resumed.user_id, resumed.starts_at, resumed.ends_at),
            (3, utc("2026-01-02T07:00:00Z"), utc("2026-01-02T20:00:00Z"))
        );
        assert_eq!(at("2026-01-02T20:00:00Z").user_id, 2);
    }

    #[test]
    pub(super) fn an_override_before_the_first_handoff_is_on_call_alone() {
        let r = rota(Tz::UTC, Cadence::Days(1), "2026-01-10", "09:00", &[1]);
        let o = [span(70, 5, "2026-01-09T00:00:00Z", "2026-01-09T06:00:00Z")];
        let segments = timeline(
            &r,
            &o,
            utc("2026-01-08T00:00:00Z"),
            utc("2026-01-11T12:00:00Z"),
        );
        let users: Vec<_> = segments
            .iter()
            .map(|s| (s.user_id, s.override_id))
            .collect();
        // The override, then shifts 0 and 1 (from 2026-01-11T09:00); nothing between.
        assert_eq!(users, [(5, Some(70)), (1, None), (1, None)]);
        assert_eq!(segments[1].starts_at, utc("2026-01-10T09:00:00Z"));
        assert_eq!(on_call(&r, &o, utc("2026-01-09T07:00:00Z")), None);
    }

    #[test]
    pub(super) fn every_instant_falls_in_the_shift_that_covers_it() {
        let zones = [
            Tz::Europe__Berlin,
            Tz::America__New_York,
            Tz::Australia__Lord_Howe,
            Tz::Asia__Kolkata,
        ];
        let cadences = [Cadence::Days(1), Cadence::Days(7), Cadence::Hours(5)];
        for tz in zones {
            for cadence in cadences {
                for handoff in ["02:30", "09:00"] {
                    let r = rota(tz, cadence, "2026-01-03", handoff, &[1, 2, 3]);
                    for k in 0..120 {
                        assert!(
                            r.handoff(k) < r.handoff(k + 1),
                            "{tz} {cadence:?} {handoff} {k}"
                        );
                    }
                    let first = r.first_handoff();
                    let mut at = utc("2026-01-01T00:00:00Z");
                    while at < utc("2027-01-15T00:00:00Z") {
                        match r.shift_at(at) {
                            None => assert!(at < first),
                            Some(s) => {
                                assert!(s.starts_at <= at && at < s.ends_at, "{tz} {at}");
                                assert_eq!(r.handoff(s.index), Some(s.starts_at));
                                assert_eq!(s.user_id, [1, 2, 3][(s.index % 3) as usize]);
                            }
                        }
                        at += TimeDelta::minutes(97);
                    }
                }
            }
        }
    }

    #[test]
    pub(super) fn the_timeline_agrees_with_asking_instant_by_instant() {
        let r = rota(
            Tz::Europe__Berlin,
            Cadence::Days(1),
            "2026-03-20",
            "09:00",
            &[1, 2, 3],
        );
        let base = utc("2026-03-20T00:00:00Z");
        // Pseudo-random overlapping overrides (a fixed linear congruential sequence).
        let mut seed: i64 = 42;
        let mut next = |modulo: i64| {
            seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
            seed % modulo
        };
        let overrides: Vec<OverrideSpan> = (0..12)
            .map(|i| {
                let start = base + TimeDelta::minutes(next(20 * 24 * 60));
                OverrideSpan {
                    id: 100 + i,
                    user_id: 10 + i,
                    starts_at: start,
                    ends_at: start + TimeDelta::minutes(30 + next(3 * 24 * 60)),
                }
            })
            .collect();
        let naive = |at: DateTime<Utc>| {
            overrides
                .iter()
                .rev()
                .find(|o| o.starts_at <= at && at < o.ends_at)
                .map(|o| o.user_id)
                .or_else(|| r.shift_at(at).map(|s| s.user_id))
        };
        let (from, to) = (base, base + TimeDelta::days(21));
        let segments = timeline(&r, &overrides, from, to);
        for pair in segments.windows(2) {
            assert!(pair[0].ends_at <= pair[1].starts_at);
        }
        let mut at = from;
        while at < to {
            let found = segments
                .iter()
                .find(|s| s.starts_at <= at && at < s.ends_at);
            assert_eq!(found.map(|s| s.user_id), naive(at), "{at}");
            assert_eq!(
                on_call(&r, &overrides, at).map(|s| s.user_id),
                naive(at),
                "{at}"
            );
            at += TimeDelta::minutes(13);
        }
    }

    #[test]
    pub(super) fn a_zone_skipping_a_whole_day_gives_no_empty_shift() {
        // Samoa skipped 2011-12-30 entirely, going from UTC−10 to UTC+14.
        let r = rota(
            Tz::Pacific__Apia,
            Cadence::Days(1),
            "2011-12-28",
            "09:00",
            &[1, 2],
        );
        let shifts = r.shifts_overlapping(utc("2011-12-28T00:00:00Z"), utc("2012-01-02T00:00:00Z"));
        assert!(shifts.iter().all(|s| s.starts_at < s.ends_at));
        for pair in shifts.windows(2) {
            assert_eq!(pair[0].ends_at, pair[1].starts_at);
        }
        let at = utc("2011-12-31T12:00:00Z");
        assert!(
            r.shift_at(at)
                .is_some_and(|s| s.starts_at <= at && at < s.ends_at)
        );
    }
}

//! What the SLO form holds, as typed, and the request it makes: kept apart from the form's
//! view so the reading of what was typed can be tested on its own.

use std::collections::BTreeMap;

use vigil_shared::slo::{CalendarUnit, Sli, SloRequest, SloWindow};

/// The SLO form's values, as text (what was typed is kept as typed when refused).
#[derive(Clone, Debug, PartialEq)]
pub struct SloText {
    pub name: String,
    pub service: String,
    /// A team's id, or empty for none.
    pub owner_team: String,
    pub description: String,
    /// One `name=value` per line.
    pub labels: String,
    /// `events`, `latency` or `time_slices`.
    pub kind: String,
    /// For an events SLI: whether `events` selects the good ones (else the bad ones).
    pub counts_good: bool,
    pub events: String,
    pub total: String,
    pub histogram: String,
    /// A bucket bound, as the `le` label writes it.
    pub threshold: String,
    pub condition: String,
    pub objective: String,
    /// `7d`, `28d`, `30d` (rolling), `custom` (rolling `duration`), `month` or `quarter`.
    pub window: String,
    pub duration: String,
    pub time_zone: String,
    pub burn_alerts: bool,
    pub min_events: String,
}

/// The rolling windows offered as presets: value, label.
pub const WINDOWS: [(&str, &str); 6] = [
    ("7d", "Rolling 7 days"),
    ("28d", "Rolling 28 days"),
    ("30d", "Rolling 30 days"),
    ("custom", "Rolling, another duration"),
    ("month", "Calendar month"),
    ("quarter", "Calendar quarter"),
];

/// Problems with what was typed, by the field name the server would use.
pub type Problems = BTreeMap<String, String>;

/// An objective, if it reads as a percentage (`99.9` or `99.9 %`).
pub fn objective_value(text: &str) -> Option<f64> {
    text.trim()
        .trim_end_matches('%')
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

impl SloText {
    pub fn new(time_zone: String) -> Self {
        SloText {
            name: String::new(),
            service: String::new(),
            owner_team: String::new(),
            description: String::new(),
            labels: String::new(),
            kind: "events".to_owned(),
            counts_good: true,
            events: String::new(),
            total: String::new(),
            histogram: String::new(),
            threshold: String::new(),
            condition: String::new(),
            objective: "99.9".to_owned(),
            window: "30d".to_owned(),
            duration: String::new(),
            time_zone,
            burn_alerts: true,
            min_events: "20".to_owned(),
        }
    }

    /// The form showing a saved SLO.
    pub fn of(slo: &SloRequest, time_zone: String) -> Self {
        let mut text = SloText::new(time_zone);
        text.name = slo.name.clone();
        text.service = slo.service.clone();
        text.owner_team = slo
            .owner_team_id
            .map(|id| id.to_string())
            .unwrap_or_default();
        text.description = slo.description.clone();
        text.labels = slo
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("\n");
        text.kind = slo.sli.kind().to_owned();
        match &slo.sli {
            Sli::Events { good, bad, total } => {
                text.counts_good = good.is_some() || bad.is_none();
                text.events = good.clone().or_else(|| bad.clone()).unwrap_or_default();
                text.total = total.clone();
            }
            Sli::Latency {
                histogram,
                threshold,
            } => {
                text.histogram = histogram.clone();
                text.threshold = vigil_shared::prometheus::format_value(*threshold);
            }
            Sli::TimeSlices { condition } => text.condition = condition.clone(),
        }
        text.objective = vigil_shared::prometheus::format_value(slo.objective);
        match &slo.window {
            SloWindow::Rolling { duration } => {
                if WINDOWS.iter().take(3).any(|(w, _)| w == duration) {
                    text.window = duration.clone();
                } else {
                    text.window = "custom".to_owned();
                    text.duration = duration.clone();
                }
            }
            SloWindow::Calendar { unit, time_zone } => {
                text.window = match unit {
                    CalendarUnit::Month => "month",
                    CalendarUnit::Quarter => "quarter",
                }
                .to_owned();
                text.time_zone = time_zone.clone();
            }
        }
        text.burn_alerts = slo.burn_alerts;
        text.min_events = vigil_shared::prometheus::format_value(slo.min_events);
        text
    }

    /// Whether the SLI is written far enough to ask for a preview.
    pub fn sli_written(&self) -> bool {
        match self.kind.as_str() {
            "latency" => !self.histogram.trim().is_empty() && !self.threshold.trim().is_empty(),
            "time_slices" => !self.condition.trim().is_empty(),
            _ => !self.events.trim().is_empty() && !self.total.trim().is_empty(),
        }
    }

    pub fn objective_value(&self) -> Option<f64> {
        objective_value(&self.objective)
    }

    fn sli(&self, problems: &mut Problems) -> Sli {
        let text = |s: &str| s.trim().to_owned();
        match self.kind.as_str() {
            "latency" => {
                let threshold = match self.threshold.trim().parse::<f64>() {
                    Ok(t) if t.is_finite() && t > 0.0 => t,
                    _ => {
                        problems.insert(
                            "sli.threshold".to_owned(),
                            "pick one of the histogram's bucket bounds".to_owned(),
                        );
                        0.0
                    }
                };
                Sli::Latency {
                    histogram: text(&self.histogram),
                    threshold,
                }
            }
            "time_slices" => Sli::TimeSlices {
                condition: text(&self.condition),
            },
            _ => {
                let events = Some(text(&self.events));
                Sli::Events {
                    good: if self.counts_good {
                        events.clone()
                    } else {
                        None
                    },
                    bad: if self.counts_good { None } else { events },
                    total: text(&self.total),
                }
            }
        }
    }

    fn window(&self, is_time_zone: impl Fn(&str) -> bool, problems: &mut Problems) -> SloWindow {
        let mut calendar = |unit| {
            let zone = self.time_zone.trim();
            if !is_time_zone(zone) {
                problems.insert(
                    "window.time_zone".to_owned(),
                    format!("{zone:?} is not a time zone; write one such as Europe/Berlin or UTC"),
                );
            }
            SloWindow::Calendar {
                unit,
                time_zone: zone.to_owned(),
            }
        };
        match self.window.as_str() {
            "month" => calendar(CalendarUnit::Month),
            "quarter" => calendar(CalendarUnit::Quarter),
            "custom" => {
                let duration = self.duration.trim().to_owned();
                if crate::format::duration_seconds(&duration).is_none_or(|s| s <= 0.0) {
                    problems.insert(
                        "window.duration".to_owned(),
                        "write a duration such as 14d or 90d".to_owned(),
                    );
                }
                SloWindow::Rolling { duration }
            }
            preset => SloWindow::Rolling {
                duration: preset.to_owned(),
            },
        }
    }

    /// The request what was typed makes, or what cannot be sent as typed. `is_time_zone` tells
    /// time zones the browser knows.
    pub fn request(&self, is_time_zone: impl Fn(&str) -> bool) -> Result<SloRequest, Problems> {
        let mut problems = Problems::new();
        let sli = self.sli(&mut problems);
        let window = self.window(is_time_zone, &mut problems);
        let objective = match self.objective_value() {
            Some(v) if v > 0.0 && v < 100.0 => v,
            _ => {
                problems.insert(
                    "objective".to_owned(),
                    "write a percentage between 0 and 100, such as 99.9".to_owned(),
                );
                0.0
            }
        };
        let min_events = match self.min_events.trim() {
            "" => 0.0,
            text => match text.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => v,
                _ => {
                    problems.insert(
                        "min_events".to_owned(),
                        format!("{text:?} is not a number of events"),
                    );
                    0.0
                }
            },
        };
        let mut labels = BTreeMap::new();
        for line in self.labels.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match line.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    labels.insert(k.trim().to_owned(), v.trim().to_owned());
                }
                _ => {
                    problems.insert(
                        "labels".to_owned(),
                        format!("write one name=value per line ({line:?} is not)"),
                    );
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(SloRequest {
            name: self.name.trim().to_owned(),
            service: self.service.trim().to_owned(),
            owner_team_id: self.owner_team.parse().ok(),
            description: self.description.trim().to_owned(),
            labels,
            sli,
            objective,
            window,
            burn_alerts: self.burn_alerts,
            min_events,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any_zone(zone: &str) -> bool {
        zone == "UTC" || zone == "Europe/Berlin"
    }

    fn typed() -> SloText {
        SloText {
            name: " Checkout availability ".to_owned(),
            service: "checkout".to_owned(),
            counts_good: false,
            events: r#"http_requests_total{job="checkout", status=~"5.."}"#.to_owned(),
            total: r#"http_requests_total{job="checkout"}"#.to_owned(),
            labels: "tier=1\n\n team = payments ".to_owned(),
            ..SloText::new("UTC".to_owned())
        }
    }

    #[test]
    fn an_events_slo_is_sent_as_typed_and_reads_back_the_same() {
        let request = typed().request(any_zone).unwrap();
        assert_eq!(request.name, "Checkout availability");
        assert_eq!(
            request.sli,
            Sli::Events {
                good: None,
                bad: Some(r#"http_requests_total{job="checkout", status=~"5.."}"#.to_owned()),
                total: r#"http_requests_total{job="checkout"}"#.to_owned(),
            }
        );
        assert_eq!(request.objective, 99.9);
        assert_eq!(
            request.window,
            SloWindow::Rolling {
                duration: "30d".to_owned()
            }
        );
        assert_eq!(
            request.labels.get("team").map(String::as_str),
            Some("payments")
        );
        let back = SloText::of(&request, "UTC".to_owned());
        assert_eq!(back.request(any_zone).unwrap(), request);
    }

    #[test]
    fn windows_other_than_the_presets_come_back_as_custom_or_calendar() {
        let mut text = typed();
        text.window = "custom".to_owned();
        text.duration = "14d".to_owned();
        let request = text.request(any_zone).unwrap();
        let back = SloText::of(&request, "UTC".to_owned());
        assert_eq!(
            (back.window.as_str(), back.duration.as_str()),
            ("custom", "14d")
        );

        text.window = "quarter".to_owned();
        text.time_zone = "Europe/Berlin".to_owned();
        let request = text.request(any_zone).unwrap();
        assert_eq!(
            request.window,
            SloWindow::Calendar {
                unit: CalendarUnit::Quarter,
                time_zone: "Europe/Berlin".to_owned()
            }
        );
        assert_eq!(SloText::of(&request, "UTC".to_owned()).window, "quarter");
    }

    #[test]
    fn what_cannot_be_sent_is_named_by_field() {
        let mut text = typed();
        text.objective = "100".to_owned();
        text.labels = "tier".to_owned();
        text.window = "month".to_owned();
        text.time_zone = "Mars/Olympus".to_owned();
        text.min_events = "many".to_owned();
        let problems = text.request(any_zone).unwrap_err();
        let names: Vec<&str> = problems.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            ["labels", "min_events", "objective", "window.time_zone"]
        );

        let mut text = typed();
        text.kind = "latency".to_owned();
        text.histogram = "http_request_duration_seconds".to_owned();
        let problems = text.request(any_zone).unwrap_err();
        assert!(problems.contains_key("sli.threshold"));
        text.threshold = "0.25".to_owned();
        assert_eq!(
            text.request(any_zone).unwrap().sli,
            Sli::Latency {
                histogram: "http_request_duration_seconds".to_owned(),
                threshold: 0.25
            }
        );
    }

    #[test]
    fn a_preview_waits_for_the_sli_to_be_written() {
        let mut text = SloText::new("UTC".to_owned());
        assert!(!text.sli_written());
        text.events = "a".to_owned();
        assert!(!text.sli_written());
        text.total = "b".to_owned();
        assert!(text.sli_written());
        text.kind = "time_slices".to_owned();
        assert!(!text.sli_written());
        assert_eq!(SloText::new("UTC".to_owned()).objective_value(), Some(99.9));
    }
}

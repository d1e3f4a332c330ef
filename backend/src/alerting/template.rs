//! Annotation templates, the subset of Prometheus' that alert annotations use:
//! `{{ $labels.name }}`, `{{ $value }}`, `{{ humanize $value }}`,
//! `{{ humanizePercentage $value }}`, `{{ humanizeDuration $value }}` and `{{ $externalURL }}`.
//!
//! Checked when a rule is saved (so a typo is a validation error beside the field, not a
//! broken notification at 3 a.m.) and rendered when an alert fires.

use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Text(String),
    Value,
    Label(String),
    Humanize,
    HumanizePercentage,
    HumanizeDuration,
    ExternalUrl,
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq)]
pub struct Template(Vec<Piece>);

/// What a template is rendered with.
pub struct Context<'a> {
    pub labels: &'a BTreeMap<String, String>,
    pub value: f64,
    pub external_url: &'a str,
}

impl Template {
    /// Parses `text`; the error names the problem and its position (1-based character).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_owned()));
            }
            let at = offset + text[offset..].find("{{").unwrap_or(0);
            let position = text[..at].chars().count() + 1;
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| format!("\"{{{{\" at character {position} is never closed"))?;
            let action = after[..close]
                .trim()
                .trim_start_matches('-')
                .trim_end_matches('-')
                .trim();
            pieces.push(parse_action(action).map_err(|e| format!("{e} at character {position}"))?);
            let consumed = open + 2 + close + 2;
            offset += consumed;
            rest = &rest[consumed..];
        }
        if let Some(stray) = rest.find("}}") {
            let position = text[..offset + stray].chars().count() + 1;
            return Err(format!("\"}}}}\" at character {position} closes nothing"));
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        Ok(Template(pieces))
    }

    pub fn render(&self, context: &Context<'_>) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Value => out.push_str(&format_value(context.value)),
                Piece::Label(name) => {
                    out.push_str(context.labels.get(name).map_or("", String::as_str))
                }
                Piece::Humanize => out.push_str(&humanize(context.value)),
                Piece::HumanizePercentage => {
                    out.push_str(&format!("{}%", humanize(context.value * 100.0)))
                }
                Piece::HumanizeDuration => out.push_str(&humanize_duration(context.value)),
                Piece::ExternalUrl => out.push_str(context.external_url),
            }
        }
        out
    }
}

fn parse_action(action: &str) -> Result<Piece, String> {
    let words: Vec<&str> = action.split_whitespace().collect();
    let label = |word: &str| -> Result<Piece, String> {
        let name = word
            .strip_prefix("$labels.")
            .or_else(|| word.strip_prefix(".Labels."))
            .ok_or_else(|| format!("unknown variable {word:?}"))?;
        if crate::metrics::model::is_valid_label_name(name) {
            Ok(Piece::Label(name.to_owned()))
        } else {
            Err(format!("{name:?} is not a valid label name"))
        }
    };
    match words.as_slice() {
        [] => Err("empty action \"{{ }}\"".to_owned()),
        ["$value" | ".Value"] => Ok(Piece::Value),
        ["$externalURL"] => Ok(Piece::ExternalUrl),
        [word] if word.starts_with('$') || word.starts_with('.') => label(word),
        ["humanize", "$value" | ".Value"] => Ok(Piece::Humanize),
        ["humanizePercentage", "$value" | ".Value"] => Ok(Piece::HumanizePercentage),
        ["humanizeDuration", "$value" | ".Value"] => Ok(Piece::HumanizeDuration),
        [function, ..]
            if matches!(
                *function,
                "humanize" | "humanizePercentage" | "humanizeDuration"
            ) =>
        {
            Err(format!("{function} takes $value"))
        }
        [other, ..] => Err(format!(
            "unknown function or variable {other:?} (use $labels.<name>, $value, humanize $value, \
             humanizePercentage $value, humanizeDuration $value)"
        )),
    }
}

/// As Prometheus prints a sample value in templates.
pub fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{value}")
    }
}

/// Prometheus' `humanize`: SI prefixes, four significant digits.
pub fn humanize(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format_value(value);
    }
    let magnitude = value.abs();
    let (scaled, prefix) = if magnitude >= 1.0 {
        let prefixes = ["", "k", "M", "G", "T", "P", "E", "Z", "Y"];
        let mut scaled = value;
        let mut i = 0;
        while scaled.abs() >= 1000.0 && i < prefixes.len() - 1 {
            scaled /= 1000.0;
            i += 1;
        }
        (scaled, prefixes[i])
    } else {
        let prefixes = ["", "m", "u", "n", "p", "f", "a", "z", "y"];
        let mut scaled = value;
        let mut i = 0;
        while scaled.abs() < 1.0 && i < prefixes.len() - 1 {
            scaled *= 1000.0;
            i += 1;
        }
        (scaled, prefixes[i])
    };
    format!("{}{prefix}", significant(scaled, 4))
}

fn significant(value: f64, digits: i32) -> String {
    if value == 0.0 {
        return "0".to_owned();
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// Prometheus' `humanizeDuration`: seconds as `1d 2h 3m 4s`, sub-second as ms/us.
pub fn humanize_duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return format_value(seconds);
    }
    if seconds.abs() < 1.0 {
        return if seconds == 0.0 {
            "0s".to_owned()
        } else if seconds.abs() >= 1e-3 {
            format!("{}ms", significant(seconds * 1e3, 4))
        } else {
            format!("{}us", significant(seconds * 1e6, 4))
        };
    }
    let sign = if seconds < 0.0 { "-" } else { "" };
    let total = seconds.abs();
    let days = (total / 86_400.0).floor();
    let hours = ((total % 86_400.0) / 3600.0).floor();
    let minutes = ((total % 3600.0) / 60.0).floor();
    let secs = total % 60.0;
    let mut out = String::from(sign);
    if days > 0.0 {
        out.push_str(&format!("{days}d "));
    }
    if days > 0.0 || hours > 0.0 {
        out.push_str(&format!("{hours}h "));
    }
    if days > 0.0 || hours > 0.0 || minutes > 0.0 {
        out.push_str(&format!("{minutes}m "));
    }
    out.push_str(&format!("{}s", significant(secs, 4)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str, value: f64) -> String {
        let labels = BTreeMap::from([("instance".to_owned(), "db-1:9100".to_owned())]);
        Template::parse(text).unwrap().render(&Context {
            labels: &labels,
            value,
            external_url: "http://vigil.local",
        })
    }

    #[test]
    fn renders_labels_and_values() {
        assert_eq!(
            render("{{ $labels.instance }} is at {{ $value }}", 0.5),
            "db-1:9100 is at 0.5"
        );
        assert_eq!(render("{{ humanize $value }}B", 1_234_567.0), "1.235MB");
        assert_eq!(render("{{humanize $value}}", 0.0012), "1.2m");
        assert_eq!(render("{{ humanizePercentage $value }}", 0.256), "25.6%");
        assert_eq!(render("{{ humanizeDuration $value }}", 3725.0), "1h 2m 5s");
        assert_eq!(render("{{ $labels.missing }}!", 1.0), "!");
        assert_eq!(render("no templates", 1.0), "no templates");
    }

    #[test]
    fn mistakes_are_named_with_their_position() {
        assert_eq!(
            Template::parse("cpu {{ $value").unwrap_err(),
            "\"{{\" at character 5 is never closed"
        );
        assert!(
            Template::parse("{{ $labls.x }}")
                .unwrap_err()
                .contains("unknown variable")
        );
        assert!(
            Template::parse("a {{ printf \"%s\" $value }}")
                .unwrap_err()
                .ends_with("at character 3")
        );
        assert_eq!(
            Template::parse("oops }}").unwrap_err(),
            "\"}}\" at character 6 closes nothing"
        );
        assert!(Template::parse("{{ humanize }}").is_err());
    }
}

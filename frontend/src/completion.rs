//! What a PromQL editor can offer at the cursor: metric and function names, label names inside
//! `{…}`, label values after a matcher. Pure text logic, so it is tested without a browser.

/// PromQL functions and aggregations Vigil evaluates (SPEC §5), offered as completions.
pub const FUNCTIONS: [&str; 37] = [
    "abs",
    "absent",
    "avg",
    "avg_over_time",
    "bottomk",
    "ceil",
    "clamp_max",
    "clamp_min",
    "count",
    "count_over_time",
    "delta",
    "deriv",
    "floor",
    "histogram_quantile",
    "increase",
    "irate",
    "label_replace",
    "last_over_time",
    "max",
    "max_over_time",
    "min",
    "min_over_time",
    "present_over_time",
    "quantile",
    "quantile_over_time",
    "rate",
    "round",
    "scalar",
    "stddev_over_time",
    "stdvar_over_time",
    "sum",
    "sum_over_time",
    "time",
    "topk",
    "vector",
    "by",
    "without",
];

/// What is being typed at the cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Slot {
    /// A metric or function name.
    Name,
    /// A label name inside the braces of `metric`'s selector.
    LabelName { metric: Option<String> },
    /// A label's value after `label=` (`quoted`: the opening quote is already typed).
    LabelValue {
        metric: Option<String>,
        label: String,
        quoted: bool,
    },
}

/// The slot at the cursor and the partly typed word there, which a completion replaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    pub slot: Slot,
    /// Byte offset where the partly typed word starts.
    pub start: usize,
    pub prefix: String,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// The identifier that ends at byte `end` of `text` (spaces before `end` skipped).
fn identifier_before(text: &str, end: usize) -> Option<String> {
    let head = text[..end].trim_end();
    let start = head
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_name_char(*c))
        .last()
        .map(|(i, _)| i)?;
    Some(head[start..].to_owned())
}

/// Where the cursor is in `text` (a byte offset) and what could be completed there.
pub fn context(text: &str, cursor: usize) -> Option<Context> {
    let cursor = cursor.min(text.len());
    if !text.is_char_boundary(cursor) {
        return None;
    }
    let before = &text[..cursor];
    // Walk the text up to the cursor, noting an open selector brace and an open string.
    let mut brace: Option<usize> = None;
    let mut quote: Option<(char, usize)> = None;
    let mut escaped = false;
    let mut bracket = false;
    for (i, c) in before.char_indices() {
        if let Some((q, _)) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some((c, i)),
            '{' => brace = Some(i),
            '}' => brace = None,
            '[' => bracket = true,
            ']' => bracket = false,
            _ => {}
        }
    }
    let metric = brace.and_then(|b| identifier_before(text, b));
    if let Some((_, opened)) = quote {
        let brace = brace?;
        // A string inside a selector: the value of the label named before the operator.
        let operator_end = text[brace..opened].trim_end().len() + brace;
        let head = text[..operator_end].trim_end_matches(['=', '!', '~']);
        let label = identifier_before(head, head.len())?;
        return Some(Context {
            slot: Slot::LabelValue {
                metric,
                label,
                quoted: true,
            },
            start: opened + 1,
            prefix: before[opened + 1..].to_owned(),
        });
    }
    if bracket {
        return None;
    }
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_name_char(*c))
        .last()
        .map_or(cursor, |(i, _)| i);
    let prefix = before[start..].to_owned();
    if let Some(brace) = brace {
        let head = text[brace + 1..start].trim_end();
        if head.ends_with(['=', '~']) {
            let trimmed = head.trim_end_matches(['=', '!', '~']);
            let label = identifier_before(trimmed, trimmed.len())?;
            return Some(Context {
                slot: Slot::LabelValue {
                    metric,
                    label,
                    quoted: false,
                },
                start,
                prefix,
            });
        }
        return Some(Context {
            slot: Slot::LabelName { metric },
            start,
            prefix,
        });
    }
    if prefix.is_empty() || prefix.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some(Context {
        slot: Slot::Name,
        start,
        prefix,
    })
}

/// The candidates that fit `prefix`: those starting with it first, then those containing it;
/// the word already typed in full is left out.
pub fn matching<'a>(
    candidates: impl IntoIterator<Item = &'a str>,
    prefix: &str,
    limit: usize,
) -> Vec<String> {
    let mut starts = Vec::new();
    let mut contains = Vec::new();
    for candidate in candidates {
        if candidate == prefix {
            continue;
        }
        if candidate.starts_with(prefix) {
            starts.push(candidate.to_owned());
        } else if !prefix.is_empty() && candidate.contains(prefix) {
            contains.push(candidate.to_owned());
        }
    }
    starts.sort();
    contains.sort();
    starts.extend(contains);
    starts.truncate(limit);
    starts
}

/// The text after accepting `choice` in `context`, and the cursor (a byte offset) after it.
pub fn accept(text: &str, cursor: usize, context: &Context, choice: &str) -> (String, usize) {
    let cursor = cursor.min(text.len());
    let rest = &text[cursor..];
    let inserted = match &context.slot {
        Slot::Name if FUNCTIONS.contains(&choice) && !rest.starts_with('(') => format!("{choice}("),
        Slot::Name | Slot::LabelName { .. } => choice.to_owned(),
        Slot::LabelValue { quoted: true, .. } => {
            let escaped = choice.replace('\\', "\\\\").replace('"', "\\\"");
            if rest.starts_with('"') {
                escaped
            } else {
                format!("{escaped}\"")
            }
        }
        Slot::LabelValue { quoted: false, .. } => format!("{choice:?}"),
    };
    let mut out = String::with_capacity(text.len() + inserted.len());
    out.push_str(&text[..context.start]);
    out.push_str(&inserted);
    let mut after = context.start + inserted.len();
    if matches!(context.slot, Slot::LabelValue { quoted: true, .. }) && rest.starts_with('"') {
        after += 1;
    }
    out.push_str(rest);
    let after = after.min(out.len());
    (out, after)
}

/// A UTF-16 offset (what the browser reports for a cursor) as a byte offset into `text`.
pub fn byte_offset(text: &str, utf16: usize) -> usize {
    let mut units = 0;
    for (i, c) in text.char_indices() {
        if units >= utf16 {
            return i;
        }
        units += c.len_utf16();
    }
    text.len()
}

/// A byte offset into `text` as a UTF-16 offset.
pub fn utf16_offset(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].encode_utf16().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_end(text: &str) -> Option<Context> {
        context(text, text.len())
    }

    #[test]
    fn a_bare_word_completes_as_a_metric_or_function_name() {
        let c = at_end("sum(rate(http_req").unwrap();
        assert_eq!(c.slot, Slot::Name);
        assert_eq!(c.prefix, "http_req");
        assert_eq!(c.start, 9);
        assert_eq!(at_end("rate(x[5"), None, "durations are not completed");
        assert_eq!(at_end("x > 5"), None, "numbers are not completed");
        assert_eq!(at_end("x + "), None, "nothing typed, nothing offered");
    }

    #[test]
    fn inside_braces_label_names_of_that_metric_are_offered() {
        let c = at_end("http_requests_total{code=\"500\", jo").unwrap();
        assert_eq!(
            c.slot,
            Slot::LabelName {
                metric: Some("http_requests_total".to_owned())
            }
        );
        assert_eq!(c.prefix, "jo");
        let c = at_end("{").unwrap();
        assert_eq!(c.slot, Slot::LabelName { metric: None });
        assert_eq!(c.prefix, "");
    }

    #[test]
    fn after_a_matcher_the_labels_values_are_offered() {
        let c = at_end("up{job=\"che").unwrap();
        assert_eq!(
            c.slot,
            Slot::LabelValue {
                metric: Some("up".to_owned()),
                label: "job".to_owned(),
                quoted: true
            }
        );
        assert_eq!(c.prefix, "che");
        assert_eq!(c.start, 8);
        let c = at_end("up{job!~").unwrap();
        assert_eq!(
            c.slot,
            Slot::LabelValue {
                metric: Some("up".to_owned()),
                label: "job".to_owned(),
                quoted: false
            }
        );
        // A closed string goes back to label names.
        let c = at_end("up{job=\"a\",").unwrap();
        assert_eq!(
            c.slot,
            Slot::LabelName {
                metric: Some("up".to_owned())
            }
        );
    }

    #[test]
    fn accepting_replaces_the_typed_word() {
        let text = "sum(rate(http_req[5m]))";
        let c = context(text, 17).unwrap();
        let (out, cursor) = accept(text, 17, &c, "http_requests_total");
        assert_eq!(out, "sum(rate(http_requests_total[5m]))");
        assert_eq!(&out[..cursor], "sum(rate(http_requests_total");

        let (out, cursor) = accept("ra", 2, &at_end("ra").unwrap(), "rate");
        assert_eq!((out.as_str(), cursor), ("rate(", 5));

        let text = "up{job=\"ch";
        let (out, cursor) = accept(text, text.len(), &at_end(text).unwrap(), "checkout");
        assert_eq!(out, "up{job=\"checkout\"");
        assert_eq!(cursor, out.len());

        let text = "up{job=";
        let (out, _) = accept(text, text.len(), &at_end(text).unwrap(), "a\"b");
        assert_eq!(out, "up{job=\"a\\\"b\"");
    }

    #[test]
    fn matches_prefer_prefixes_and_leave_out_the_word_itself() {
        let names = ["rate", "irate", "round", "rate"];
        assert_eq!(matching(names, "rat", 10), vec!["rate", "rate", "irate"]);
        assert_eq!(matching(["rate"], "rate", 10), Vec::<String>::new());
    }

    #[test]
    fn offsets_convert_between_utf16_and_bytes() {
        let text = "a{x=\"é😀\"}";
        assert_eq!(byte_offset(text, 6), 7);
        assert_eq!(utf16_offset(text, 7), 6);
        assert_eq!(byte_offset(text, 100), text.len());
    }
}

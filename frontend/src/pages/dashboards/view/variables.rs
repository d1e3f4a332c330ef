//! A dashboard's variables: the values each may take (a query's label values through its
//! regex filter, a custom list, interval choices, free text), which ones are selected (the
//! address's when they are still valid, else the variable's default, else the first), and
//! which query variables depend on which others (a variable is re-resolved when one its
//! query names changes; variables naming each other in a circle are refused).

use std::collections::{BTreeMap, BTreeSet};

use vigil_shared::dashboard::vars::{self, Selection};
use vigil_shared::dashboard::{Variable, VariableSource};

use super::address::ALL;

/// What "auto" divides the range by, as Grafana does.
const AUTO_STEPS: f64 = 30.0;
/// The smallest step "auto" picks.
const AUTO_MIN_SECONDS: f64 = 10.0;
/// The interval variables' choice fitted to the range.
pub const AUTO: &str = "auto";

/// The values a variable may take.
#[derive(Clone, Debug, PartialEq)]
pub enum Options {
    /// A query variable whose values are being fetched.
    Loading,
    Ready(Vec<String>),
    /// A query variable whose values could not be fetched, and why.
    Failed(String),
}

/// A variable's selection as the bar shows it and the address keeps it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Choice {
    /// "All" is chosen (the values are then every option).
    pub all: bool,
    pub values: Vec<String>,
}

impl Choice {
    /// What the address holds for it.
    pub fn address_values(&self) -> Vec<String> {
        if self.all {
            vec![ALL.to_owned()]
        } else {
            self.values.clone()
        }
    }

    /// What interpolation reads; `range` in seconds (for an interval's "auto"), and what
    /// "All" stands for in queries when not every value (`.*`).
    pub fn selection(&self, range: f64, all_value: Option<&str>) -> Selection {
        if self.all {
            return match all_value {
                Some(text) => Selection::Raw(text.to_owned()),
                None => Selection::All(self.values.clone()),
            };
        }
        let values = self.values.iter().map(|value| {
            if value == AUTO {
                auto_interval(range)
            } else {
                value.clone()
            }
        });
        Selection::Values(values.collect())
    }

    /// As a title shows it: `All`, `api + web`.
    pub fn label(&self) -> String {
        if self.all {
            "All".to_owned()
        } else {
            self.values.join(" + ")
        }
    }
}

/// "auto" for an interval variable: the range in about thirty steps, at least ten seconds,
/// in whole seconds as a Prometheus duration.
pub fn auto_interval(range: f64) -> String {
    let seconds = (range / AUTO_STEPS).max(AUTO_MIN_SECONDS).round() as u32;
    vars::duration(f64::from(seconds))
}

/// The options a variable has without fetching anything; `None` for a query variable.
pub fn fixed_options(variable: &Variable) -> Option<Options> {
    match &variable.source {
        VariableSource::Query { .. } => None,
        VariableSource::Custom { values } => Some(Options::Ready(values.clone())),
        VariableSource::Interval { values, auto } => {
            let auto = auto.then(|| AUTO.to_owned());
            Some(Options::Ready(
                auto.into_iter().chain(values.clone()).collect(),
            ))
        }
        VariableSource::TextBox { .. } => Some(Options::Ready(Vec::new())),
    }
}

/// Every variable's options before anything is fetched: query variables loading, or failed
/// when they name each other in a circle.
pub fn initial_options(variables: &[Variable]) -> BTreeMap<String, Options> {
    let circular = circular(&dependencies(variables));
    variables
        .iter()
        .map(|variable| {
            let options = if circular.contains(&variable.name) {
                Options::Failed(
                    "This variable's query refers to itself through other variables.".to_owned(),
                )
            } else {
                fixed_options(variable).unwrap_or(Options::Loading)
            };
            (variable.name.clone(), options)
        })
        .collect()
}

/// Most options a variable offers.
pub const MAX_OPTIONS: usize = 1_000;

/// Keeps the values `regex` (a JavaScript regular expression, as in Grafana) matches, each
/// replaced by its first capture group when it has one; every value without a regex.
pub fn filter_values(values: Vec<String>, regex: &str) -> Result<Vec<String>, String> {
    let mut kept: Vec<String> = Vec::new();
    let mut keep = |value: String| {
        if !kept.contains(&value) && kept.len() < MAX_OPTIONS {
            kept.push(value);
        }
    };
    if regex.trim().is_empty() {
        values.into_iter().for_each(keep);
        return Ok(kept);
    }
    let (pattern, flags) = regex_parts(regex);
    let regex = js_regex(pattern, flags)?;
    for value in values {
        regex.set_last_index(0);
        let Some(found) = regex.exec(&value) else {
            continue;
        };
        let captured = found.get(1).as_string().filter(|_| found.length() > 1);
        keep(captured.unwrap_or(value));
    }
    Ok(kept)
}

/// A JavaScript `RegExp`, or why the pattern is not one.
fn js_regex(pattern: &str, flags: &str) -> Result<js_sys::RegExp, String> {
    use wasm_bindgen::{JsCast, JsValue};
    let constructor = js_sys::RegExp::new("", "").constructor();
    let arguments = js_sys::Array::of2(&JsValue::from_str(pattern), &JsValue::from_str(flags));
    js_sys::Reflect::construct(&constructor, &arguments)
        .map_err(|error| {
            let reason = js_sys::Error::from(error).message().as_string();
            format!(
                "The regex filter is not valid: {}.",
                reason.unwrap_or_else(|| pattern.to_owned())
            )
        })?
        .dyn_into::<js_sys::RegExp>()
        .map_err(|_| "The regex filter is not valid.".to_owned())
}

/// The selection for a variable: what the address asks (`requested`) when it is valid for
/// the options known, else the variable's default, else the first option. While a query
/// variable loads or after it failed, the address or the default is taken as it is.
pub fn choose(variable: &Variable, requested: Option<&[String]>, options: &Options) -> Choice {
    let requested = requested.filter(|values| !values.is_empty());
    if let VariableSource::TextBox { value } = &variable.source {
        let text = requested.and_then(|r| r.first()).unwrap_or(value);
        return Choice {
            all: false,
            values: vec![text.clone()],
        };
    }
    let asks_all = |values: &[String]| values.iter().any(|v| v == ALL);
    let options = match options {
        Options::Ready(options) => options,
        Options::Loading | Options::Failed(_) => {
            let values = requested.unwrap_or(&variable.default);
            return Choice {
                all: variable.include_all && asks_all(values),
                values: values.iter().filter(|v| *v != ALL).cloned().collect(),
            };
        }
    };
    let valid = |values: &[String]| -> Option<Choice> {
        if variable.include_all && asks_all(values) {
            return Some(Choice {
                all: true,
                values: options.clone(),
            });
        }
        let mut kept: Vec<String> = values
            .iter()
            .filter(|v| options.contains(v))
            .cloned()
            .collect();
        if !variable.multi {
            kept.truncate(1);
        }
        (!kept.is_empty()).then_some(Choice {
            all: false,
            values: kept,
        })
    };
    requested
        .and_then(valid)
        .or_else(|| valid(&variable.default))
        .unwrap_or_else(|| Choice {
            all: false,
            values: options.first().cloned().into_iter().collect(),
        })
}

/// The variables each query variable's query names (only those the dashboard has).
pub fn dependencies(variables: &[Variable]) -> BTreeMap<String, BTreeSet<String>> {
    let names: BTreeSet<&str> = variables.iter().map(|v| v.name.as_str()).collect();
    variables
        .iter()
        .map(|variable| {
            let named = match &variable.source {
                VariableSource::Query { query, .. } => vars::references(query)
                    .into_iter()
                    .filter(|name| names.contains(name.as_str()))
                    .collect(),
                _ => BTreeSet::new(),
            };
            (variable.name.clone(), named)
        })
        .collect()
}

/// The variables that depend on themselves, directly or through others: they cannot be
/// resolved.
pub fn circular(dependencies: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    dependencies
        .keys()
        .filter(|name| reaches(dependencies, name, name))
        .cloned()
        .collect()
}

/// Whether following dependencies from `from` leads to `target`.
fn reaches(dependencies: &BTreeMap<String, BTreeSet<String>>, from: &str, target: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut next: Vec<&str> = vec![from];
    while let Some(name) = next.pop() {
        for named in dependencies.get(name).into_iter().flatten() {
            if named == target {
                return true;
            }
            if seen.insert(named.as_str()) {
                next.push(named);
            }
        }
    }
    false
}

/// `/pattern/flags` as Grafana writes a variable's regex, or a bare pattern.
pub fn regex_parts(regex: &str) -> (&str, &str) {
    let regex = regex.trim();
    if let Some(inner) = regex.strip_prefix('/')
        && let Some(end) = inner.rfind('/')
    {
        let flags = &inner[end + 1..];
        if flags.chars().all(|c| "dgimsuvy".contains(c)) {
            return (&inner[..end], flags);
        }
    }
    (regex, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(list: &[&str]) -> Vec<String> {
        list.iter().map(|v| (*v).to_owned()).collect()
    }

    fn custom(multi: bool, include_all: bool, default: &[&str]) -> Variable {
        Variable {
            name: "job".to_owned(),
            source: VariableSource::Custom {
                values: values(&["api", "web", "db"]),
            },
            multi,
            include_all,
            default: values(default),
            ..Variable::default()
        }
    }

    fn ready(list: &[&str]) -> Options {
        Options::Ready(values(list))
    }

    #[test]
    fn the_address_selection_is_kept_while_valid_else_the_default_else_the_first() {
        let options = ready(&["api", "web", "db"]);
        let single = custom(false, false, &["web"]);
        let chosen = |variable: &Variable, asked: &[&str]| {
            choose(variable, Some(&values(asked)), &options).values
        };
        assert_eq!(chosen(&single, &["db"]), ["db"]);
        assert_eq!(chosen(&single, &["gone"]), ["web"], "the default");
        assert_eq!(chosen(&single, &["db", "api"]), ["db"], "one value only");
        assert_eq!(choose(&single, None, &options).values, ["web"]);
        let no_default = custom(false, false, &[]);
        assert_eq!(chosen(&no_default, &["gone"]), ["api"], "the first");
        let multi = custom(true, false, &[]);
        assert_eq!(chosen(&multi, &["db", "gone", "api"]), ["db", "api"]);
    }

    #[test]
    fn all_is_every_option_and_only_when_offered() {
        let options = ready(&["api", "web"]);
        let with_all = custom(true, true, &[]);
        let all = choose(&with_all, Some(&values(&[ALL])), &options);
        assert!(all.all);
        assert_eq!(all.values, ["api", "web"]);
        assert_eq!(all.address_values(), [ALL]);
        assert_eq!(all.label(), "All");
        assert_eq!(
            all.selection(3_600.0, None),
            Selection::All(values(&["api", "web"]))
        );
        assert_eq!(
            all.selection(3_600.0, Some(".*")),
            Selection::Raw(".*".to_owned())
        );
        let without = custom(true, false, &[]);
        assert!(!choose(&without, Some(&values(&[ALL])), &options).all);
        let defaults_to_all = custom(true, true, &[ALL]);
        assert!(choose(&defaults_to_all, None, &options).all);
    }

    #[test]
    fn a_variable_still_loading_or_failed_takes_the_address_as_it_is() {
        let variable = custom(true, true, &["web"]);
        let asked = values(&["gone", "api"]);
        let loading = choose(&variable, Some(&asked), &Options::Loading);
        assert_eq!(loading.values, asked);
        let failed = choose(&variable, None, &Options::Failed("down".to_owned()));
        assert_eq!(failed.values, ["web"]);
    }

    #[test]
    fn text_boxes_and_intervals() {
        let text = Variable {
            name: "filter".to_owned(),
            source: VariableSource::TextBox {
                value: "5xx".to_owned(),
            },
            ..Variable::default()
        };
        let options = fixed_options(&text).unwrap();
        assert_eq!(choose(&text, None, &options).values, ["5xx"]);
        assert_eq!(
            choose(&text, Some(&values(&["4xx"])), &options).values,
            ["4xx"]
        );

        let interval = Variable {
            name: "step".to_owned(),
            source: VariableSource::Interval {
                values: values(&["1m", "5m"]),
                auto: true,
            },
            ..Variable::default()
        };
        let options = fixed_options(&interval).unwrap();
        assert_eq!(options, ready(&["auto", "1m", "5m"]));
        let auto = choose(&interval, None, &options);
        assert_eq!(auto.values, ["auto"]);
        assert_eq!(
            auto.selection(21_600.0, None),
            Selection::Values(values(&["12m"]))
        );
        assert_eq!(auto_interval(60.0), "10s", "at least ten seconds");
    }

    #[test]
    fn chained_variables_and_circles() {
        let query = |name: &str, query: &str| Variable {
            name: name.to_owned(),
            source: VariableSource::Query {
                query: query.to_owned(),
                regex: String::new(),
            },
            ..Variable::default()
        };
        let variables = [
            query("job", "label_values(up, job)"),
            query("instance", "label_values(up{job=~\"$job\"}, instance)"),
            query("a", "label_values(up{x=\"$b\"}, a)"),
            query("b", "label_values(up{x=\"$a\", y=\"$nowhere\"}, b)"),
        ];
        let dependencies = dependencies(&variables);
        assert_eq!(dependencies["instance"], BTreeSet::from(["job".to_owned()]));
        assert_eq!(dependencies["b"], BTreeSet::from(["a".to_owned()]));
        assert_eq!(
            circular(&dependencies),
            BTreeSet::from(["a".to_owned(), "b".to_owned()])
        );
    }

    #[test]
    fn regexes_are_read_with_or_without_slashes() {
        assert_eq!(regex_parts("/^api-(.*)$/i"), ("^api-(.*)$", "i"));
        assert_eq!(regex_parts("/a/b/"), ("a/b", ""));
        assert_eq!(regex_parts("api.*"), ("api.*", ""));
        assert_eq!(regex_parts("/path/x y"), ("/path/x y", ""));
    }
}

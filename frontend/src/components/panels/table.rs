//! Table panels: each series' latest value as a row, a column per label and one for the value
//! (in the panel's unit), sorted by clicking a column's header.

use std::collections::BTreeSet;

use leptos::prelude::*;
use vigil_shared::dashboard::Panel;

use super::{Messages, PanelData, Series, collect_series, last_value};
use crate::units;

/// One cell: what it shows, and the number it sorts by when it is one.
#[derive(Clone, Debug, PartialEq)]
struct Cell {
    text: String,
    number: Option<f64>,
}

impl Cell {
    fn text(text: &str) -> Cell {
        Cell {
            text: text.to_owned(),
            number: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

/// The table of a panel's series: a `Query` column when the rows come from several queries,
/// then each label (the metric name first), then `Value`.
fn table(panel: &Panel, series: &[Series]) -> Table {
    let queries: BTreeSet<usize> = series.iter().map(|one| one.query).collect();
    let several = queries.len() > 1;
    let mut labels: Vec<&str> = series
        .iter()
        .flat_map(|one| one.labels.keys().map(String::as_str))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // The metric name reads first, as in PromQL.
    labels.sort_by_key(|label| *label != "__name__");
    let mut columns = Vec::new();
    if several {
        columns.push("Query".to_owned());
    }
    columns.extend(labels.iter().map(|label| match *label {
        "__name__" => "Metric".to_owned(),
        other => other.to_owned(),
    }));
    columns.push("Value".to_owned());
    let rows = series
        .iter()
        .map(|one| {
            let mut row = Vec::with_capacity(columns.len());
            if several {
                row.push(Cell {
                    text: (one.query + 1).to_string(),
                    number: Some((one.query + 1) as f64),
                });
            }
            row.extend(
                labels
                    .iter()
                    .map(|label| Cell::text(one.labels.get(*label).map_or("", String::as_str))),
            );
            let value = last_value(&one.points);
            row.push(Cell {
                text: units::format(value, &panel.unit, panel.decimals),
                number: Some(value),
            });
            row
        })
        .collect();
    Table { columns, rows }
}

/// Sorts rows by `column`: numbers as numbers (NaN last), anything else as text.
fn sort_rows(rows: &mut [Vec<Cell>], column: usize, ascending: bool) {
    rows.sort_by(|a, b| {
        let (a, b) = (&a[column], &b[column]);
        let order = match (a.number, b.number) {
            // NaN after every number, whichever the direction.
            (Some(x), Some(y)) if x.is_nan() || y.is_nan() => return x.is_nan().cmp(&y.is_nan()),
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => a.text.cmp(&b.text),
        };
        if ascending { order } else { order.reverse() }
    });
}

#[component]
pub(super) fn TablePanel(
    panel: Signal<Panel>,
    data: Signal<PanelData>,
    height: Signal<u32>,
) -> impl IntoView {
    // The column sorted by and whether upwards; none keeps the query's order.
    let sort = RwSignal::new(None::<(usize, bool)>);
    let built = Memo::new(move |_| {
        panel.with(|panel| {
            data.with(|data| {
                let (series, errors) = collect_series(panel, data);
                (table(panel, &series), errors)
            })
        })
    });
    let rows = move || {
        let mut rows = built.with(|(table, _)| table.rows.clone());
        if let Some((column, ascending)) = sort.get()
            && rows.first().is_some_and(|row| column < row.len())
        {
            sort_rows(&mut rows, column, ascending);
        }
        rows
    };
    let header = move |index: usize, name: String| {
        let state = move || match sort.get() {
            Some((column, true)) if column == index => "ascending",
            Some((column, false)) if column == index => "descending",
            _ => "none",
        };
        view! {
            <th scope="col" aria-sort=state>
                <button
                    class="table-sort"
                    on:click=move |_| {
                        sort.update(|sort| {
                            *sort = match *sort {
                                Some((column, true)) if column == index => Some((index, false)),
                                _ => Some((index, true)),
                            }
                        })
                    }
                >
                    {name}
                    <span class="sort-mark" aria-hidden="true">
                        {move || match state() {
                            "ascending" => " ▲",
                            "descending" => " ▼",
                            _ => "",
                        }}
                    </span>
                </button>
            </th>
        }
    };
    view! {
        <div class="panel-body panel-table" style:max-height=move || format!("{}px", height.get())>
            <Messages messages=Signal::derive(move || built.with(|b| b.1.clone()))/>
            {move || {
                if built.with(|(table, errors)| table.rows.is_empty() && errors.is_empty()) {
                    return view! { <p class="panel-empty">"No data"</p> }.into_any();
                }
                let columns = built.with(|(table, _)| table.columns.clone());
                view! {
                    <table class="table">
                        <thead>
                            <tr>
                                {columns.into_iter().enumerate().map(|(i, name)| header(i, name)).collect_view()}
                            </tr>
                        </thead>
                        <tbody>
                            {move || {
                                rows()
                                    .into_iter()
                                    .map(|row| {
                                        let last = row.len() - 1;
                                        view! {
                                            <tr>
                                                {row
                                                    .into_iter()
                                                    .enumerate()
                                                    .map(|(i, cell)| view! { <td class:figure=i == last>{cell.text}</td> })
                                                    .collect_view()}
                                            </tr>
                                        }
                                    })
                                    .collect_view()
                            }}
                        </tbody>
                    </table>
                }
                .into_any()
            }}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{matrix, query};
    use super::*;

    fn texts(rows: &[Vec<Cell>], column: usize) -> Vec<&str> {
        rows.iter().map(|row| row[column].text.as_str()).collect()
    }

    #[test]
    fn rows_have_a_column_per_label_and_the_value() {
        let panel = Panel {
            unit: "s".into(),
            queries: vec![query("a", ""), query("b", "")],
            ..Panel::default()
        };
        let data = PanelData {
            results: vec![
                Ok(matrix(&[(
                    &[("__name__", "latency"), ("job", "api")],
                    &[(0.0, 1.0), (15.0, 0.25)],
                )])),
                Ok(matrix(&[(&[("instance", "db:1")], &[(15.0, 90.0)])])),
            ],
            ..PanelData::default()
        };
        let (series, _) = collect_series(&panel, &data);
        let table = table(&panel, &series);
        assert_eq!(
            table.columns,
            ["Query", "Metric", "instance", "job", "Value"]
        );
        assert_eq!(texts(&table.rows, 0), ["1", "2"]);
        assert_eq!(texts(&table.rows, 1), ["latency", ""]);
        assert_eq!(texts(&table.rows, 2), ["", "db:1"]);
        assert_eq!(texts(&table.rows, 4), ["250 ms", "1.5 min"]);
    }

    #[test]
    fn one_query_has_no_query_column() {
        let panel = Panel {
            queries: vec![query("a", "")],
            ..Panel::default()
        };
        let data = PanelData {
            results: vec![Ok(matrix(&[(&[("job", "api")], &[(0.0, 1.0)])]))],
            ..PanelData::default()
        };
        let (series, _) = collect_series(&panel, &data);
        assert_eq!(table(&panel, &series).columns, ["job", "Value"]);
    }

    #[test]
    fn sorting_orders_numbers_as_numbers() {
        let row = |name: &str, value: f64| {
            vec![
                Cell::text(name),
                Cell {
                    text: value.to_string(),
                    number: Some(value),
                },
            ]
        };
        let mut rows = vec![
            row("b", 10.0),
            row("a", 9.0),
            row("c", f64::NAN),
            row("d", 100.0),
        ];
        sort_rows(&mut rows, 1, true);
        assert_eq!(texts(&rows, 0), ["a", "b", "d", "c"]);
        sort_rows(&mut rows, 1, false);
        assert_eq!(texts(&rows, 0), ["d", "b", "a", "c"]);
        sort_rows(&mut rows, 0, true);
        assert_eq!(texts(&rows, 0), ["a", "b", "c", "d"]);
    }
}

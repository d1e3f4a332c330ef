//! A dashboard, as its viewers see it (`/dashboards/<uid>`, and the home page when the user
//! has a home dashboard): the toolbar (time range, refresh, zoom history, links), the
//! variables, and the panels on the layout's grid, fetched together in one batch per refresh.
//!
//! The address is the view's state (see `address`): every change writes it (replacing the
//! entry; a zoom adds one so that "back" undoes it), and the view reads it, so a link or the
//! browser's back button reproduces it.

mod address;
mod bar;
mod fetch;
mod grid;
mod layout;
mod panel;
mod toolbar;
mod variables;

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use vigil_shared::dashboard::vars::Selection;
use vigil_shared::dashboard::{Dashboard, GRID_COLUMNS, Panel};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::api;
use crate::components::{Loaded, TimeRange, now};
use crate::pages::home::HomeDashboardUid;

use address::ViewState;
use fetch::{Fetcher, Target};
use layout::{Placed, PlacedSection};
use variables::{Choice, Options};

/// The dashboard named in the address (`/dashboards/<uid or id>`).
#[component]
pub fn DashboardPage() -> impl IntoView {
    let params = use_params_map();
    let dashboard = LocalResource::new(move || {
        let uid = params.read().get("uid").unwrap_or_default();
        async move { api::dashboards::get(&uid).await }
    });
    view! {
        <Loaded resource=dashboard what="the dashboard" let:dashboard>
            <DashboardView dashboard/>
        </Loaded>
    }
}

/// The user's home dashboard, on the home page (which names it through context).
#[component]
pub fn HomeDashboardPage() -> impl IntoView {
    let HomeDashboardUid(uid) = expect_context::<HomeDashboardUid>();
    let dashboard = LocalResource::new(move || {
        let uid = uid.clone();
        async move { api::dashboards::get(&uid).await }
    });
    view! {
        <Loaded resource=dashboard what="your home dashboard" let:dashboard>
            <DashboardView dashboard/>
        </Loaded>
    }
}

/// Writes the address (the router's way, so that the view reads it back).
type Navigate = Box<dyn Fn(&str, NavigateOptions)>;

/// One dashboard's view, shared by its parts through context.
#[derive(Clone, Copy)]
pub(crate) struct Board {
    pub dashboard: StoredValue<Dashboard>,
    /// What the address says.
    pub view: Memo<ViewState>,
    /// Each variable's options.
    pub options: RwSignal<BTreeMap<String, Options>>,
    /// The query each query variable's options were fetched with.
    pub resolved_for: RwSignal<BTreeMap<String, String>>,
    /// Each variable's selection.
    pub choices: Memo<BTreeMap<String, Choice>>,
    /// Whether every variable is resolved (panels wait until then).
    pub ready: Memo<bool>,
    pub sections: Memo<Vec<PlacedSection>>,
    /// Rows collapsed, by position in the layout.
    pub collapsed: RwSignal<BTreeSet<usize>>,
    pub fetcher: Fetcher,
    /// The ranges zooms left, latest last ("back" returns to it).
    pub zooms: RwSignal<Vec<TimeRange>>,
    /// Counts refreshes asked for (the button, the timer, a retry).
    pub tick: RwSignal<u64>,
    /// How wide the grid is drawn, px.
    pub grid_width: RwSignal<f64>,
    navigate: StoredValue<Navigate, LocalStorage>,
    observer: StoredValue<Option<Observer>, LocalStorage>,
}

/// Tells the fetcher which panels are on screen (or within a screen's reach).
struct Observer {
    observer: web_sys::IntersectionObserver,
    _callback: Closure<dyn FnMut(js_sys::Array)>,
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.observer.disconnect();
    }
}

pub(crate) fn use_board() -> Board {
    expect_context::<Board>()
}

impl Board {
    /// A panel of the model.
    pub fn panel(&self, key: &str) -> Option<Panel> {
        self.dashboard
            .with_value(|d| d.model.panels.get(key).cloned())
    }

    /// Writes the view into the address: the current one with `change` made, every
    /// variable's selection written out. `push` adds a history entry (a zoom).
    pub fn go(&self, change: impl FnOnce(&mut ViewState), push: bool) {
        let mut next = self.view.get_untracked();
        next.vars = self
            .choices
            .get_untracked()
            .into_iter()
            .map(|(name, choice)| (name, choice.address_values()))
            .collect();
        change(&mut next);
        let path = current_path();
        let options = NavigateOptions {
            replace: !push,
            scroll: false,
            ..NavigateOptions::default()
        };
        self.navigate
            .with_value(|navigate| navigate(&format!("{path}{}", next.query()), options));
    }

    /// Shows `from`..`to` (unix seconds), remembering the range it leaves for "back".
    pub fn zoom(&self, from: f64, to: f64) {
        if from >= to {
            return;
        }
        let left = self.view.with_untracked(|v| v.range);
        self.zooms.update(|zooms| zooms.push(left));
        self.go(|view| view.range = TimeRange::Between { from, to }, true);
    }

    /// The variables' selections, `bound` (a repeated copy's variable and value) taking
    /// precedence; for titles (`text`), "All" reads as All rather than its query value.
    pub fn values(
        &self,
        bound: Option<&(String, String)>,
        text: bool,
    ) -> BTreeMap<String, Selection> {
        let range = self.fetcher_range();
        let mut values: BTreeMap<String, Selection> = self.dashboard.with_value(|d| {
            self.choices.with(|choices| {
                d.model
                    .variables
                    .iter()
                    .filter_map(|variable| {
                        let choice = choices.get(&variable.name)?;
                        let all_value = variable.all_value.as_deref().filter(|_| !text);
                        Some((variable.name.clone(), choice.selection(range, all_value)))
                    })
                    .collect()
            })
        });
        if let Some((name, value)) = bound {
            values.insert(name.clone(), Selection::Values(vec![value.clone()]));
        }
        values
    }

    /// The length of the range shown, seconds.
    fn fetcher_range(&self) -> f64 {
        let (start, end) = self.view.with(|v| v.range.window());
        end - start
    }

    /// A panel copy as the fetcher needs it, if it is on the page.
    pub fn target(&self, key: &str) -> Option<Target> {
        let placed = self.placed(key)?;
        let panel = self.panel(&placed.panel)?;
        let full = self.grid_width.get_untracked().max(320.0);
        let fullscreen = self
            .view
            .with_untracked(|v| v.view_panel.as_deref() == Some(key));
        let width = if fullscreen {
            full
        } else {
            full * f64::from(placed.w) / f64::from(GRID_COLUMNS)
        };
        let values = untrack(|| self.values(placed.bound.as_ref(), false));
        Some(Target {
            panel,
            values,
            width_px: width.round() as u32,
        })
    }

    /// A panel copy by key.
    pub fn placed(&self, key: &str) -> Option<Placed> {
        self.sections.with_untracked(|sections| {
            sections
                .iter()
                .flat_map(|s| &s.panels)
                .find(|p| p.key == key)
                .cloned()
        })
    }

    /// Has the fetcher told when the panel drawn in `element` comes into view.
    pub fn observe(&self, element: &web_sys::Element) {
        self.observer.with_value(|o| {
            if let Some(o) = o {
                o.observer.observe(element);
            }
        });
    }

    pub fn unobserve(&self, element: &web_sys::Element) {
        let _ = self.observer.try_with_value(|o| {
            if let Some(o) = o {
                o.observer.unobserve(element);
            }
        });
    }
}

/// The path shown (the dashboard's, or the home page's).
fn current_path() -> String {
    web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_else(|| "/".to_owned())
}

/// How far beyond the screen a panel starts loading.
const PRELOAD_MARGIN: &str = "200px";

/// An observer reporting each panel element (`data-panel-key`) entering or leaving the
/// screen to the fetcher.
fn observer(fetcher: Fetcher) -> Option<Observer> {
    let callback = Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
        for entry in entries.iter() {
            let Ok(entry) = entry.dyn_into::<web_sys::IntersectionObserverEntry>() else {
                continue;
            };
            if let Some(key) = entry.target().get_attribute("data-panel-key") {
                fetcher.seen(&key, entry.is_intersecting());
            }
        }
    });
    let options = web_sys::IntersectionObserverInit::new();
    options.set_root_margin(PRELOAD_MARGIN);
    let observer = web_sys::IntersectionObserver::new_with_options(
        callback.as_ref().unchecked_ref(),
        &options,
    )
    .ok()?;
    Some(Observer {
        observer,
        _callback: callback,
    })
}

/// The query string's pairs, values decoded, in order.
fn query_pairs(query: &leptos_router::params::ParamsMap) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for (key, _) in query.latest_values() {
        for value in query.get_all(key).unwrap_or_default() {
            pairs.push((key.to_string(), value));
        }
    }
    pairs
}

#[component]
fn DashboardView(dashboard: Dashboard) -> impl IntoView {
    let defaults = dashboard.model.time.clone();
    let variables = dashboard.model.variables.clone();
    let collapsed: BTreeSet<usize> = dashboard
        .model
        .layout
        .iter()
        .enumerate()
        .filter(|(_, s)| s.collapsed && s.title.is_some())
        .map(|(i, _)| i)
        .collect();
    let dashboard_id = dashboard.id;
    let dashboard = StoredValue::new(dashboard);

    let query = use_query_map();
    let view =
        Memo::new(move |_| query.with(|q| ViewState::read(&query_pairs(q), &defaults, now())));
    let options = RwSignal::new(variables::initial_options(&variables));
    let resolved_for = RwSignal::new(BTreeMap::new());
    let all_variables = variables.clone();
    let choices = Memo::new(move |_| -> BTreeMap<String, Choice> {
        let requested = view.with(|v| v.vars.clone());
        options.with(|options| {
            variables
                .iter()
                .map(|variable| {
                    let asked = requested.get(&variable.name).map(Vec::as_slice);
                    let known = options.get(&variable.name).unwrap_or(&Options::Loading);
                    (
                        variable.name.clone(),
                        variables::choose(variable, asked, known),
                    )
                })
                .collect()
        })
    });
    let sections = Memo::new(move |_| {
        choices.with(|choices| {
            dashboard.with_value(|d| {
                layout::place(&d.model.layout, &d.model.panels, |name| {
                    choices
                        .get(name)
                        .map(|c| c.values.clone())
                        .unwrap_or_default()
                })
            })
        })
    });

    // The fetcher finds panels through the board, which holds it: set once both exist.
    let board_slot = StoredValue::new(None::<Board>);
    let targets = Callback::new(move |key: String| {
        board_slot
            .get_value()
            .and_then(|board: Board| board.target(&key))
    });
    let fetcher = Fetcher::new(dashboard_id, targets);
    let board = Board {
        dashboard,
        view,
        options,
        resolved_for,
        choices,
        ready: bar::readiness(all_variables, view, options, resolved_for, choices),
        sections,
        collapsed: RwSignal::new(collapsed),
        fetcher,
        zooms: RwSignal::new(Vec::new()),
        tick: RwSignal::new(0),
        grid_width: RwSignal::new(0.0),
        navigate: StoredValue::new_local(Box::new(use_navigate()) as Navigate),
        observer: StoredValue::new_local(observer(fetcher)),
    };
    board_slot.set_value(Some(board));
    provide_context(board);
    bar::resolve_variables(board);
    keep_time(board);

    view! {
        <section
            class="page dashboard"
            aria-label=move || dashboard.with_value(|d| d.model.title.clone())
            // How the charts follow the pointer on one of them, as the charts' script reads it.
            data-chart-sync=dashboard.with_value(|d| d.model.tooltip.as_str())
        >
            <toolbar::Toolbar/>
            <bar::VariablesBar/>
            {move || {
                fetcher.failed.get().map(|message| view! {
                    <div class="banner banner-error dashboard-failed" role="alert">
                        <span>{format!("The panels could not be fetched: {message}")}</span>
                        <button class="button" type="button" on:click=move |_| board.tick.update(|t| *t += 1)>
                            "Retry"
                        </button>
                    </div>
                })
            }}
            <grid::Grid/>
        </section>
    }
}

/// Refreshes when the view changes (range, variables), on the refresh button and on the
/// auto-refresh timer; keeps the zoom history in step with the address (the browser's back
/// button pops it as "back" does).
fn keep_time(board: Board) {
    // Only the range matters here, not the rest of the address (a panel shown full screen).
    let range = Memo::new(move |_| board.view.with(|v| v.range));
    Effect::new(move |_| {
        board.tick.track();
        board.choices.track();
        if board.ready.get() {
            board.fetcher.refresh(range.get().window());
        }
    });

    Effect::watch(
        move || range.get(),
        move |range, _, _| {
            if board.zooms.with_untracked(|z| z.last() == Some(range)) {
                board.zooms.update(|z| {
                    z.pop();
                });
            }
        },
        false,
    );

    let timer = StoredValue::new_local(None::<leptos::leptos_dom::helpers::IntervalHandle>);
    Effect::new(move |_| {
        let every = board.view.with(|v| v.refresh.clone());
        if let Some(handle) = timer.try_update_value(Option::take).flatten() {
            handle.clear();
        }
        let seconds = every.as_deref().and_then(crate::format::duration_seconds);
        if let Some(seconds) = seconds.filter(|s| *s >= 1.0) {
            let handle = set_interval_with_handle(
                move || board.tick.update(|t| *t += 1),
                std::time::Duration::from_secs_f64(seconds),
            );
            timer.set_value(handle.ok());
        }
    });
    on_cleanup(move || {
        if let Some(handle) = timer.try_update_value(Option::take).flatten() {
            handle.clear();
        }
    });
}

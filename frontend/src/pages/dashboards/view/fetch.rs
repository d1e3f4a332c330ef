//! Fetching what panels draw. A refresh (a new range, a variable changed, the refresh button
//! or its timer) asks for every panel on screen in one `POST /query/batch`, and for the
//! window's annotations once; a panel scrolled into view later joins the next batch (panels
//! scrolled into view together share one). Answers to an older refresh are dropped.
//!
//! Each panel copy has a slot (its data and whether it is loading) that outlives the panel's
//! view, so a panel scrolled away and back, or shown full screen and back, is not fetched
//! again until the next refresh.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use vigil_shared::dashboard::vars::{self, Format, Scope, Selection};
use vigil_shared::dashboard::{Annotation, BatchItem, BatchQuery, Panel, PanelKind};

use crate::api;
use crate::components::PanelData;

/// Most queries in one batch (the server's bound); more go in several.
const MAX_BATCH: usize = 200;
/// How long panels coming into view wait for others before their batch leaves, ms.
const GATHER_MS: u64 = 30;
/// The scrape interval `$__rate_interval` assumes (the demo's and Prometheus' usual one).
pub const SCRAPE_INTERVAL: f64 = 15.0;

/// What one panel copy draws, and whether a fetch for it is under way.
#[derive(Clone)]
pub struct Slot {
    pub data: ArcRwSignal<Option<PanelData>>,
    pub loading: ArcRwSignal<bool>,
}

/// A panel copy as a fetch needs it.
#[derive(Clone)]
pub struct Target {
    pub panel: Panel,
    /// The variables' selections, the copy's repeat variable bound to its value.
    pub values: BTreeMap<String, Selection>,
    /// How wide it is drawn, which sets its step.
    pub width_px: u32,
}

impl Target {
    /// Its step for a range of `range` seconds.
    pub fn step(&self, range: f64) -> f64 {
        vars::step_for(range, self.width_px)
    }

    /// The variables and built-ins its queries are filled in with.
    pub fn scope(&self, range: f64) -> Scope {
        let step = self.step(range);
        Scope {
            values: self.values.clone(),
            interval: step,
            rate_interval: vars::rate_interval(step, SCRAPE_INTERVAL),
            range,
        }
    }

    /// Its query `index` with the variables filled in.
    pub fn expr(&self, index: usize, range: f64) -> Option<String> {
        let query = self.panel.queries.get(index)?;
        Some(vars::interpolate(
            &query.expr,
            &self.scope(range),
            Format::Query,
        ))
    }
}

#[derive(Clone, Copy)]
pub struct Fetcher {
    dashboard_id: i64,
    /// Finds a panel copy by key among those on the page now.
    targets: Callback<String, Option<Target>>,
    /// Counts refreshes; 0 until the first (the variables not yet resolved).
    generation: StoredValue<u64>,
    /// The window of the current refresh, unix seconds.
    window: StoredValue<(f64, f64)>,
    /// The refresh each copy was last fetched in.
    fetched: StoredValue<HashMap<String, u64>>,
    /// Copies on screen (or nearly).
    visible: StoredValue<BTreeSet<String>>,
    /// Copies waiting for the next batch.
    pending: StoredValue<BTreeSet<String>>,
    flush_scheduled: StoredValue<bool>,
    slots: StoredValue<HashMap<String, Slot>>,
    /// This refresh's annotations, once fetched.
    annotations: StoredValue<Option<Vec<Annotation>>>,
    /// Why the last batch failed as a whole.
    pub failed: RwSignal<Option<String>>,
    /// Batches sent and not yet answered.
    in_flight: RwSignal<usize>,
}

impl Fetcher {
    pub fn new(dashboard_id: i64, targets: Callback<String, Option<Target>>) -> Self {
        Fetcher {
            dashboard_id,
            targets,
            generation: StoredValue::new(0),
            window: StoredValue::new((0.0, 0.0)),
            fetched: StoredValue::new(HashMap::new()),
            visible: StoredValue::new(BTreeSet::new()),
            pending: StoredValue::new(BTreeSet::new()),
            flush_scheduled: StoredValue::new(false),
            slots: StoredValue::new(HashMap::new()),
            annotations: StoredValue::new(None),
            failed: RwSignal::new(None),
            in_flight: RwSignal::new(0),
        }
    }

    /// The slot of a panel copy (made on first use).
    pub fn slot(&self, key: &str) -> Slot {
        let existing = self.slots.with_value(|slots| slots.get(key).cloned());
        existing.unwrap_or_else(|| {
            let slot = Slot {
                data: ArcRwSignal::new(None),
                loading: ArcRwSignal::new(false),
            };
            self.slots.update_value(|slots| {
                slots.insert(key.to_owned(), slot.clone());
            });
            slot
        })
    }

    /// Whether a batch is on its way.
    pub fn loading_any(&self) -> bool {
        self.in_flight.get() > 0
    }

    /// The current refresh's window, unix seconds.
    pub fn window(&self) -> (f64, f64) {
        self.window.get_value()
    }

    /// A new view: everything on screen is fetched again for `window`.
    pub fn refresh(&self, window: (f64, f64)) {
        self.generation.update_value(|g| *g += 1);
        self.window.set_value(window);
        self.annotations.set_value(None);
        self.failed.set(None);
        let visible = self.visible.get_value();
        self.pending.update_value(|pending| pending.extend(visible));
        self.fetch_annotations();
        self.schedule();
    }

    /// A panel copy came into view (or left it).
    pub fn seen(&self, key: &str, visible: bool) {
        if !visible {
            self.visible.update_value(|v| {
                v.remove(key);
            });
            return;
        }
        self.visible.update_value(|v| {
            v.insert(key.to_owned());
        });
        let generation = self.generation.get_value();
        let current = self.fetched.with_value(|f| f.get(key) == Some(&generation));
        if generation > 0 && !current {
            self.pending.update_value(|p| {
                p.insert(key.to_owned());
            });
            self.schedule();
        }
    }

    fn schedule(&self) {
        if self.flush_scheduled.get_value() {
            return;
        }
        self.flush_scheduled.set_value(true);
        let this = *self;
        set_timeout(
            move || {
                // The dashboard may be gone (`None` says the flag was set).
                if this.flush_scheduled.try_set_value(false).is_none() {
                    this.flush();
                }
            },
            std::time::Duration::from_millis(GATHER_MS),
        );
    }

    /// Sends the batch for every pending copy still on the page.
    fn flush(&self) {
        let generation = self.generation.get_value();
        if generation == 0 {
            return;
        }
        let pending = self
            .pending
            .try_update_value(std::mem::take)
            .unwrap_or_default();
        let (start, end) = self.window();
        let range = end - start;
        let mut batches: Vec<Batch> = Vec::new();
        for key in pending {
            let already = self
                .fetched
                .with_value(|f| f.get(&key) == Some(&generation));
            let Some(target) = self.targets.run(key.clone()).filter(|_| !already) else {
                continue;
            };
            self.fetched.update_value(|f| {
                f.insert(key.clone(), generation);
            });
            let slot = self.slot(&key);
            let step = target.step(range);
            let mut shape = PanelData {
                start,
                end,
                step,
                results: Vec::new(),
                annotations: Vec::new(),
            };
            let queries = &target.panel.queries;
            if !target.panel.kind.uses_queries() || queries.iter().all(|q| q.hidden) {
                slot.data.set(Some(shape));
                continue;
            }
            if batches
                .last()
                .is_none_or(|b| b.items.len() + queries.len() > MAX_BATCH)
            {
                batches.push(Batch::default());
            }
            let batch = batches.last_mut().expect("a batch was just added");
            // Range queries are aligned on the step, so that successive refreshes ask the same
            // points and the server's cache answers them. An instant query (a stat's value now)
            // is asked at the end itself, as Grafana does: aligned, it would lag by up to a step
            // and find nothing for a series younger than that.
            let aligned_end = (end / step).floor() * step;
            let aligned_start = (start / step).floor() * step;
            // Hidden queries are not drawn: not asked either.
            for (index, query) in queries.iter().enumerate().filter(|(_, q)| !q.hidden) {
                let ranged = !query.instant;
                batch.items.push(BatchItem {
                    id: batch.items.len().to_string(),
                    expr: target.expr(index, range).unwrap_or_default(),
                    start: ranged.then_some(aligned_start),
                    end: if ranged { aligned_end } else { end.floor() },
                    step: ranged.then_some(step),
                });
            }
            shape.results = vec![Err("No answer.".to_owned()); queries.len()];
            let asked_for = (0..queries.len()).filter(|&i| !queries[i].hidden).collect();
            batch.asked.push((key, shape, asked_for));
            slot.loading.set(true);
        }
        for batch in batches {
            self.send(generation, batch);
        }
    }

    fn send(&self, generation: u64, batch: Batch) {
        let this = *self;
        self.in_flight.update(|n| *n += 1);
        leptos::task::spawn_local(async move {
            let Batch { items, asked } = batch;
            let answer = api::dashboards::batch(&BatchQuery { queries: items }).await;
            if this.in_flight.try_update(|n| *n -= 1).is_none() {
                return;
            }
            if this.generation.try_get_value() != Some(generation) {
                return;
            }
            match answer {
                Ok(answer) => {
                    let mut results = answer.results.into_iter();
                    for (key, mut data, asked_for) in asked {
                        let answered = asked_for.iter().zip(results.by_ref());
                        for (&index, result) in answered {
                            let slot = &mut data.results[index];
                            *slot = match (result.data, result.error) {
                                (Some(data), _) => Ok(data),
                                (None, error) => {
                                    Err(error.unwrap_or_else(|| "No answer.".to_owned()))
                                }
                            };
                        }
                        this.deliver(&key, data);
                    }
                }
                Err(error) => {
                    this.failed.set(Some(error.message));
                    for (key, _, _) in asked {
                        this.slot(&key).loading.set(false);
                        // Fetched again by the retry, or when next in view.
                        this.fetched.update_value(|f| {
                            f.remove(&key);
                        });
                    }
                }
            }
        });
        // The request above leaves first (the task starts before any script can run), then
        // plotly.js downloads and evaluates while the server answers.
        crate::components::preload_charts();
    }

    /// Draws a copy's answers, with the annotations if they came first.
    fn deliver(&self, key: &str, mut data: PanelData) {
        if self.is_time_series(key) {
            data.annotations = self.annotations.get_value().unwrap_or_default();
        }
        let slot = self.slot(key);
        slot.data.set(Some(data));
        slot.loading.set(false);
    }

    /// Whether a copy draws time series (and so annotations).
    fn is_time_series(&self, key: &str) -> bool {
        self.targets
            .run(key.to_owned())
            .is_some_and(|t| t.panel.kind == PanelKind::TimeSeries)
    }

    fn fetch_annotations(&self) {
        let generation = self.generation.get_value();
        let (start, end) = self.window();
        let (Some(from), Some(to)) = (utc(start), utc(end)) else {
            return;
        };
        let this = *self;
        leptos::task::spawn_local(async move {
            let answer = api::dashboards::annotations(from, to, this.dashboard_id).await;
            if this.generation.try_get_value() != Some(generation) {
                return;
            }
            let annotations = match answer {
                Ok(annotations) => annotations,
                Err(error) => {
                    leptos::logging::warn!("could not fetch the annotations: {error}");
                    Vec::new()
                }
            };
            this.annotations.set_value(Some(annotations.clone()));
            // Panels answered before the annotations arrived get them now.
            let keys: Vec<String> = this.slots.with_value(|s| s.keys().cloned().collect());
            for key in keys {
                let fetched_now = this
                    .fetched
                    .with_value(|f| f.get(&key) == Some(&generation));
                let slot = this.slot(&key);
                if fetched_now && this.is_time_series(&key) && !slot.loading.get_untracked() {
                    slot.data.update(|data| {
                        if let Some(data) = data {
                            data.annotations = annotations.clone();
                        }
                    });
                }
            }
        });
    }
}

/// Unix seconds as a time.
fn utc(seconds: f64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds.floor() as i64, 0)
}

/// Queries sent together, and the copies they are for, in order: each with a result per
/// query to fill in and the indexes of the queries asked (hidden ones are not).
#[derive(Default)]
struct Batch {
    items: Vec<BatchItem>,
    asked: Vec<(String, PanelData, Vec<usize>)>,
}

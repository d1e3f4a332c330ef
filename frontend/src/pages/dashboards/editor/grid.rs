//! The layout grid: sections (rows that may be titled and collapsed) of panels on a grid of
//! 24 columns and 30 px rows. A panel moves when its header is dragged and resizes when its
//! corner is, snapping to the grid; the same moves are buttons for the keyboard. Panels are
//! added (of a chosen kind), duplicated and removed here, and their editors opened.

use leptos::prelude::*;
use vigil_shared::dashboard::{DashboardModel, GRID_COLUMNS, GridItem, Panel, PanelKind, Section};
use wasm_bindgen::JsCast;

use super::Editor;
use super::preview::PanelPreview;

/// Height of a grid row, px.
pub const ROW_PX: f64 = 30.0;
/// Height of a grid panel's header and buttons, px.
const CHROME_PX: u32 = 64;
/// Tallest a panel may be, in rows.
const MAX_HEIGHT: u32 = 100;
/// Most panels a dashboard may have (the server refuses more).
const MAX_PANELS: usize = 300;

#[component]
pub fn Layout() -> impl IntoView {
    let editor = expect_context::<Editor>();
    let sections = Memo::new(move |_| editor.model.with(|m| m.layout.len()));
    let add_section = move |_| {
        editor.edit(|m| {
            let n = m.layout.len() + 1;
            m.layout.push(Section {
                title: Some(format!("Row {n}")),
                ..Section::default()
            });
        })
    };
    view! {
        <div class="card" role="group" aria-label="Layout">
            <div class="card-header">
                <h2>"Panels"</h2>
                <button class="button small" type="button" on:click=add_section>"Add row"</button>
            </div>
            {move || (sections.get() == 0).then(|| view! { <SectionView index=None/> })}
            <For each=move || 0..sections.get() key=|i| *i let:index>
                <SectionView index=Some(index)/>
            </For>
        </div>
    }
}

/// One section, or (index none) the first, implicit one of an empty layout.
#[component]
fn SectionView(index: Option<usize>) -> impl IntoView {
    let editor = expect_context::<Editor>();
    let at = index.unwrap_or(0);
    let section = Memo::new(move |_| {
        editor
            .model
            .with(|m| m.layout.get(at).cloned().unwrap_or_default())
    });
    let keys = Memo::new(move |_| {
        section.with(|s| s.items.iter().map(|i| i.panel.clone()).collect::<Vec<_>>())
    });
    let titled = Memo::new(move |_| section.with(|s| s.title.is_some()));
    let collapsed = Memo::new(move |_| section.with(|s| s.collapsed));
    let name =
        move || section.with(|s| s.title.clone().unwrap_or_else(|| "Untitled row".to_owned()));
    let kind = RwSignal::new("time_series".to_owned());
    let add_panel = move |_| {
        let kind = kind_from(&kind.get_untracked());
        let mut added = None;
        editor.edit(|m| added = add(m, at, kind));
        if added.is_some() {
            editor.open_panel.set(added);
        }
    };
    let remove_row = move |_| editor.edit(|m| remove_section(m, at));
    view! {
        <section class="layout-section" aria-label=move || format!("Row {}", name())>
            <div class="section-header">
                {move || if titled.get() {
                    view! {
                        <input class="section-title" type="text" aria-label="Row title"
                            prop:value=move || section.with(|s| s.title.clone().unwrap_or_default())
                            on:input=move |ev| {
                                let title = event_target_value(&ev);
                                editor.edit(|m| if let Some(s) = m.layout.get_mut(at) { s.title = Some(title) });
                            }/>
                        <button class="button small" type="button" aria-expanded=move || (!collapsed.get()).to_string()
                            on:click=move |_| editor.edit(|m| if let Some(s) = m.layout.get_mut(at) { s.collapsed = !s.collapsed })>
                            {move || if collapsed.get() { "Expand" } else { "Collapse" }}
                        </button>
                        <button class="button small danger" type="button" on:click=remove_row
                            aria-label=move || format!("Remove row {} (its panels move up)", name())>"Remove row"</button>
                    }.into_any()
                } else {
                    view! {
                        <button class="button small" type="button"
                            on:click=move |_| editor.edit(|m| title_section(m, at))>"Give this row a title"</button>
                    }.into_any()
                }}
                <select id=format!("new-panel-kind-{at}") aria-label="Kind of panel"
                    on:change=move |ev| kind.set(event_target_value(&ev))>
                    {PanelKind::ALL.into_iter().map(|k| view! { <option value=kind_value(k)>{k.label()}</option> }).collect_view()}
                </select>
                <button class="button small primary" type="button" on:click=add_panel>"Add panel"</button>
            </div>
            <Show when=move || !collapsed.get()>
                <div class="dash-grid">
                    <For each=move || keys.get() key=|k| k.clone() let:key>
                        <GridPanel section=at key=key/>
                    </For>
                </div>
            </Show>
        </section>
    }
}

/// The serde name of a panel kind (`time_series`).
pub fn kind_value(kind: PanelKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub fn kind_from(value: &str) -> PanelKind {
    serde_json::from_value(serde_json::Value::String(value.to_owned())).unwrap_or_default()
}

/// `panel-1`, `panel-2`, …: the first key no panel has.
fn free_key(model: &DashboardModel) -> String {
    (1..)
        .map(|n| format!("panel-{n}"))
        .find(|key| !model.panels.contains_key(key))
        .unwrap_or_default()
}

/// The first row below every item of the section.
fn bottom(section: &Section) -> u32 {
    section.items.iter().map(|i| i.y + i.h).max().unwrap_or(0)
}

/// Adds a panel of `kind` at the bottom of section `at`; its key, none past the bound.
fn add(model: &mut DashboardModel, at: usize, kind: PanelKind) -> Option<String> {
    if model.panels.len() >= MAX_PANELS {
        return None;
    }
    if model.layout.is_empty() {
        model.layout.push(Section::default());
    }
    let key = free_key(model);
    let section = model.layout.get_mut(at)?;
    let (w, h) = match kind {
        PanelKind::Stat | PanelKind::Gauge => (6, 5),
        PanelKind::Text => (8, 6),
        _ => (12, 8),
    };
    section.items.push(GridItem {
        panel: key.clone(),
        x: 0,
        y: bottom(section),
        w,
        h,
    });
    let panel = Panel {
        kind,
        title: kind.label().to_owned(),
        queries: if kind.uses_queries() {
            vec![Default::default()]
        } else {
            Vec::new()
        },
        ..Panel::default()
    };
    model.panels.insert(key.clone(), panel);
    Some(key)
}

/// A copy of the panel `key`, placed below the original (its key, none past the bound).
fn duplicate(model: &mut DashboardModel, section: usize, key: &str) -> Option<String> {
    if model.panels.len() >= MAX_PANELS {
        return None;
    }
    let mut panel = model.panels.get(key)?.clone();
    panel.title = format!("{} (copy)", panel.title);
    let copy = free_key(model);
    let items = &mut model.layout.get_mut(section)?.items;
    let original = items.iter().find(|i| i.panel == key)?.clone();
    items.push(GridItem {
        panel: copy.clone(),
        y: original.y + original.h,
        ..original
    });
    model.panels.insert(copy.clone(), panel);
    Some(copy)
}

fn remove_panel(model: &mut DashboardModel, key: &str) {
    for section in &mut model.layout {
        section.items.retain(|i| i.panel != key);
    }
    model.panels.remove(key);
}

/// Removes a section; its panels join the one above (or below, for the first) under the
/// rest, so no panel is lost.
fn remove_section(model: &mut DashboardModel, at: usize) {
    if at >= model.layout.len() {
        return;
    }
    let removed = model.layout.remove(at);
    if model.layout.is_empty() {
        model.layout.push(Section {
            items: removed.items,
            ..Section::default()
        });
        return;
    }
    let into = at.saturating_sub(1).min(model.layout.len() - 1);
    let into = &mut model.layout[into];
    let below = bottom(into);
    into.items
        .extend(removed.items.into_iter().map(|item| GridItem {
            y: item.y + below,
            ..item
        }));
}

fn title_section(model: &mut DashboardModel, at: usize) {
    if model.layout.is_empty() {
        model.layout.push(Section::default());
    }
    if let Some(section) = model.layout.get_mut(at) {
        section.title = Some(format!("Row {}", at + 1));
    }
}

/// Moves panel `key` from section `from` to the bottom of section `to`, keeping its column
/// and size.
fn move_to_section(model: &mut DashboardModel, from: usize, key: &str, to: usize) {
    if from == to || to >= model.layout.len() {
        return;
    }
    let Some(index) = model
        .layout
        .get(from)
        .and_then(|s| s.items.iter().position(|i| i.panel == key))
    else {
        return;
    };
    let mut item = model.layout[from].items.remove(index);
    item.y = bottom(&model.layout[to]);
    model.layout[to].items.push(item);
}

/// A section as the row picker names it.
fn section_name(section: &Section, index: usize) -> String {
    match &section.title {
        Some(title) if !title.trim().is_empty() => title.clone(),
        Some(_) => format!("Row {}", index + 1),
        None => "Untitled row".to_owned(),
    }
}

/// A change to a panel's place: moved by columns and rows, or resized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nudge {
    Move { dx: i32, dy: i32 },
    Resize { dw: i32, dh: i32 },
}

/// `item` changed by `nudge`, kept on the grid: inside the 24 columns, at least one column
/// and one row, no higher than the section's top.
pub fn nudged(item: &GridItem, nudge: Nudge) -> GridItem {
    let columns = GRID_COLUMNS as i32;
    let mut out = item.clone();
    match nudge {
        Nudge::Move { dx, dy } => {
            out.x = (item.x as i32 + dx).clamp(0, columns - item.w as i32) as u32;
            out.y = (item.y as i32 + dy).max(0) as u32;
        }
        Nudge::Resize { dw, dh } => {
            out.w = (item.w as i32 + dw).clamp(1, columns - item.x as i32) as u32;
            out.h = (item.h as i32 + dh).clamp(1, MAX_HEIGHT as i32) as u32;
        }
    }
    out
}

/// Sets the place of panel `key` in section `at` to `item`, starting from the section's
/// places `before` (those when a drag began; by default the current ones) and pushing down
/// whatever it then covers.
fn place(editor: Editor, at: usize, key: &str, item: GridItem, before: Option<&[GridItem]>) {
    editor.edit(|m| {
        let Some(section) = m.layout.get_mut(at) else {
            return;
        };
        let mut items = before.map_or_else(|| section.items.clone(), <[GridItem]>::to_vec);
        let Some(index) = items.iter().position(|i| i.panel == key) else {
            return;
        };
        items[index] = item;
        push_down(&mut items, index);
        section.items = items;
    });
}

fn overlap(a: &GridItem, b: &GridItem) -> bool {
    a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
}

/// Moves the panels that `items[fixed]` covers to just below it, then those that they cover
/// in turn, as Grafana's grid does: a panel moved or grown never hides another. Panels only
/// ever move down, below the one that pushed them, so `items[fixed]` stays where it is.
pub fn push_down(items: &mut [GridItem], fixed: usize) {
    let mut pushers = std::collections::VecDeque::from([fixed]);
    while let Some(pusher) = pushers.pop_front() {
        let above = items[pusher].clone();
        for (other, item) in items.iter_mut().enumerate() {
            if other != pusher && other != fixed && overlap(&above, item) {
                item.y = above.y + above.h;
                pushers.push_back(other);
            }
        }
    }
}

/// A drag under way: where the pointer started, the item then, and whether it moves or
/// resizes.
#[derive(Clone)]
struct Drag {
    pointer: (f64, f64),
    column_px: f64,
    item: GridItem,
    resize: bool,
    /// The section's places when the drag began: each step of the drag starts from them, so
    /// that panels pushed aside come back when the dragged one moves on.
    section_items: Vec<GridItem>,
}

#[component]
fn GridPanel(section: usize, key: String) -> impl IntoView {
    let editor = expect_context::<Editor>();
    let key = StoredValue::new(key);
    let item = Memo::new(move |_| {
        editor.model.with(|m| {
            m.layout
                .get(section)
                .and_then(|s| s.items.iter().find(|i| key.with_value(|k| &i.panel == k)))
                .cloned()
        })
    });
    let panel = Memo::new(move |_| {
        editor
            .model
            .with(|m| key.with_value(|k| m.panels.get(k).cloned()))
    });
    let title = move || {
        panel.with(|p| {
            p.as_ref()
                .map(|p| {
                    if p.title.is_empty() {
                        "Untitled".to_owned()
                    } else {
                        p.title.clone()
                    }
                })
                .unwrap_or_default()
        })
    };
    let style = move || {
        item.get().map_or_else(String::new, |i| {
            format!(
                "grid-column: {} / span {}; grid-row: {} / span {};",
                i.x + 1,
                i.w,
                i.y + 1,
                i.h
            )
        })
    };
    let nudge = move |n: Nudge| {
        if let Some(current) = item.get_untracked() {
            key.with_value(|k| place(editor, section, k, nudged(&current, n), None));
        }
    };
    // The rows' names, for moving the panel to another.
    let rows = Memo::new(move |_| {
        editor.model.with(|m| {
            m.layout
                .iter()
                .enumerate()
                .map(|(i, s)| section_name(s, i))
                .collect::<Vec<_>>()
        })
    });
    let drag = StoredValue::new(None::<Drag>);
    let start = move |ev: web_sys::PointerEvent, resize: bool| {
        if editor.read_only || ev.button() != 0 {
            return;
        }
        let Some(target) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        // Buttons in the header are clicked, not dragged.
        if !resize && target.closest("button").ok().flatten().is_some() {
            return;
        }
        let width = target
            .closest(".dash-grid")
            .ok()
            .flatten()
            .map(|grid| grid.get_bounding_client_rect().width())
            .unwrap_or(960.0);
        let Some(current) = item.get_untracked() else {
            return;
        };
        ev.prevent_default();
        let _ = target.set_pointer_capture(ev.pointer_id());
        let section_items = editor.model.with_untracked(|m| {
            m.layout
                .get(section)
                .map(|s| s.items.clone())
                .unwrap_or_default()
        });
        drag.set_value(Some(Drag {
            pointer: (f64::from(ev.client_x()), f64::from(ev.client_y())),
            column_px: (width / f64::from(GRID_COLUMNS)).max(1.0),
            item: current,
            resize,
            section_items,
        }));
    };
    let moved = move |ev: web_sys::PointerEvent| {
        let Some(d) = drag.get_value() else {
            return;
        };
        let dx = ((f64::from(ev.client_x()) - d.pointer.0) / d.column_px).round() as i32;
        let dy = ((f64::from(ev.client_y()) - d.pointer.1) / ROW_PX).round() as i32;
        let n = if d.resize {
            Nudge::Resize { dw: dx, dh: dy }
        } else {
            Nudge::Move { dx, dy }
        };
        let next = nudged(&d.item, n);
        if item.get_untracked().as_ref() != Some(&next) {
            key.with_value(|k| place(editor, section, k, next, Some(&d.section_items)));
        }
    };
    let end = move |_| drag.set_value(None);
    let open = move |_| editor.open_panel.set(Some(key.get_value()));
    let copy = move |_| {
        let mut copied = None;
        editor.edit(|m| copied = key.with_value(|k| duplicate(m, section, k)));
        if copied.is_some() {
            editor.open_panel.set(copied);
        }
    };
    let remove = move |_| {
        editor.edit(|m| key.with_value(|k| remove_panel(m, k)));
        if editor.open_panel.get_untracked() == Some(key.get_value()) {
            editor.open_panel.set(None);
        }
    };
    // What is left of the panel's rows below its header and buttons.
    let height = Signal::derive(move || {
        item.get().map_or(0, |i| {
            ((f64::from(i.h) * ROW_PX) as u32)
                .saturating_sub(CHROME_PX)
                .max(40)
        })
    });
    let button = move |label: &'static str, text: &'static str, n: Nudge| {
        view! {
            <button class="icon-button" type="button" title=label
                aria-label=move || format!("{label}: {}", title())
                on:click=move |_| nudge(n)>{text}</button>
        }
    };
    view! {
        <article class="grid-panel" style=style aria-label=move || format!("Panel {}", title())
            on:pointermove=moved on:pointerup=end on:pointercancel=end>
            <header class="grid-panel-header" on:pointerdown=move |ev| start(ev, false)>
                <span class="grid-panel-title" title="Drag to move">{title}</span>
                <span class="muted">{move || panel.with(|p| p.as_ref().map(|p| p.kind.label()).unwrap_or_default())}</span>
                <span class="grid-panel-actions">
                    <button class="button small" type="button" on:click=open
                        aria-label=move || format!("Edit panel {}", title())>"Edit"</button>
                    <button class="button small" type="button" on:click=copy
                        aria-label=move || format!("Duplicate panel {}", title())>"Duplicate"</button>
                    <button class="button small danger" type="button" on:click=remove
                        aria-label=move || format!("Remove panel {}", title())>"Remove"</button>
                </span>
            </header>
            <div class="grid-panel-moves" role="group" aria-label="Move and resize">
                {button("Move left", "←", Nudge::Move { dx: -1, dy: 0 })}
                {button("Move right", "→", Nudge::Move { dx: 1, dy: 0 })}
                {button("Move up", "↑", Nudge::Move { dx: 0, dy: -1 })}
                {button("Move down", "↓", Nudge::Move { dx: 0, dy: 1 })}
                {button("Narrower", "⇤", Nudge::Resize { dw: -1, dh: 0 })}
                {button("Wider", "⇥", Nudge::Resize { dw: 1, dh: 0 })}
                {button("Shorter", "⤒", Nudge::Resize { dw: 0, dh: -1 })}
                {button("Taller", "⤓", Nudge::Resize { dw: 0, dh: 1 })}
                {move || row_picker(section, key.get_value(), title(), rows.get())}
                <span class="muted grid-place">{move || item.get().map(|i| format!("{}×{} at {},{}", i.w, i.h, i.x, i.y))}</span>
            </div>
            <div class="grid-panel-body">
                <PanelPreview panel=Signal::derive(move || panel.get().unwrap_or_default()) height=height/>
            </div>
            <span class="resize-handle" title="Drag to resize" aria-hidden="true"
                on:pointerdown=move |ev| start(ev, true)></span>
        </article>
    }
}

/// The row a panel sits in, as a choice of every row (none when there is only one).
fn row_picker(section: usize, key: String, title: String, names: Vec<String>) -> Option<AnyView> {
    let editor = expect_context::<Editor>();
    if names.len() < 2 {
        return None;
    }
    let key = StoredValue::new(key);
    let moved = move |ev| {
        if let Ok(to) = event_target_value(&ev).parse::<usize>() {
            editor.edit(|m| key.with_value(|k| move_to_section(m, section, k, to)));
        }
    };
    Some(
        view! {
            <select class="row-picker" aria-label=format!("Row of {title}") on:change=moved>
                {names.into_iter().enumerate().map(|(i, name)| view! {
                    <option value=i.to_string() selected=i == section>{name}</option>
                }).collect_view()}
            </select>
        }
        .into_any(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(x: u32, y: u32, w: u32, h: u32) -> GridItem {
        GridItem {
            panel: "p".to_owned(),
            x,
            y,
            w,
            h,
        }
    }

    #[test]
    fn moves_stay_inside_the_grid() {
        assert_eq!(
            nudged(&item(0, 0, 12, 8), Nudge::Move { dx: -3, dy: -1 }),
            item(0, 0, 12, 8)
        );
        assert_eq!(
            nudged(&item(10, 2, 12, 8), Nudge::Move { dx: 5, dy: 1 }),
            item(12, 3, 12, 8)
        );
    }

    #[test]
    fn resizes_keep_a_cell_and_the_right_edge() {
        assert_eq!(
            nudged(&item(20, 0, 4, 2), Nudge::Resize { dw: 3, dh: -5 }),
            item(20, 0, 4, 1)
        );
        assert_eq!(
            nudged(&item(0, 0, 4, 2), Nudge::Resize { dw: -9, dh: 1 }),
            item(0, 0, 1, 3)
        );
    }

    fn named(panel: &str, x: u32, y: u32, w: u32, h: u32) -> GridItem {
        GridItem {
            panel: panel.to_owned(),
            ..item(x, y, w, h)
        }
    }

    /// Where each panel's top left corner is.
    fn places(items: &[GridItem]) -> Vec<(u32, u32)> {
        items.iter().map(|i| (i.x, i.y)).collect()
    }

    #[test]
    fn a_panel_moved_or_grown_over_others_pushes_them_down_in_a_chain() {
        // a sits above b, which sits above c; d is beside them all.
        let mut items = vec![
            named("a", 0, 0, 12, 4),
            named("b", 0, 4, 12, 4),
            named("c", 0, 8, 12, 4),
            named("d", 12, 0, 12, 12),
        ];
        // a grows two rows: b goes below it, and c below b; d, beside, stays.
        items[0].h = 6;
        push_down(&mut items, 0);
        assert_eq!(places(&items), [(0, 0), (0, 6), (0, 10), (12, 0)]);
        // d moves onto the left column's top: what it covers goes below it, it stays.
        items[3] = named("d", 0, 0, 12, 3);
        push_down(&mut items, 3);
        assert_eq!(places(&items), [(0, 3), (0, 9), (0, 13), (0, 0)]);
        for (i, a) in items.iter().enumerate() {
            for b in &items[i + 1..] {
                assert!(!overlap(a, b), "{} covers {}", a.panel, b.panel);
            }
        }
    }

    #[test]
    fn panels_that_only_touch_are_left_alone() {
        let mut items = vec![
            named("a", 0, 0, 6, 4),
            named("b", 6, 0, 6, 4),
            named("c", 0, 4, 6, 2),
        ];
        let before = items.clone();
        push_down(&mut items, 0);
        assert_eq!(items, before);
    }

    #[test]
    fn a_panel_moved_to_another_row_goes_to_its_bottom_in_its_column() {
        let mut model = DashboardModel::default();
        let first = add(&mut model, 0, PanelKind::Stat).unwrap();
        model.layout.push(Section {
            title: Some("Details".to_owned()),
            ..Section::default()
        });
        add(&mut model, 1, PanelKind::TimeSeries);
        model.layout[0].items[0].x = 6;
        move_to_section(&mut model, 0, &first, 1);
        assert!(model.layout[0].items.is_empty());
        let moved = &model.layout[1].items[1];
        assert_eq!(
            (moved.panel.as_str(), moved.x, moved.y, moved.w, moved.h),
            (first.as_str(), 6, 8, 6, 5)
        );
        // Nowhere to go: nothing changes.
        let before = model.clone();
        move_to_section(&mut model, 1, &first, 7);
        move_to_section(&mut model, 1, "no such panel", 0);
        assert_eq!(model, before);
        assert_eq!(section_name(&model.layout[1], 1), "Details");
        assert_eq!(section_name(&Section::default(), 0), "Untitled row");
    }

    #[test]
    fn added_panels_go_below_the_others_and_copies_below_their_original() {
        let mut model = DashboardModel::default();
        let first = add(&mut model, 0, PanelKind::Stat).unwrap();
        let second = add(&mut model, 0, PanelKind::TimeSeries).unwrap();
        assert_eq!((first.as_str(), second.as_str()), ("panel-1", "panel-2"));
        assert_eq!(model.layout[0].items[1].y, 5);
        let copy = duplicate(&mut model, 0, &second).unwrap();
        assert_eq!(model.layout[0].items[2].y, 13);
        assert_eq!(model.panels[&copy].title, "Time series (copy)");
        remove_panel(&mut model, &first);
        assert_eq!(model.panels.len(), 2);
        assert_eq!(model.layout[0].items.len(), 2);
    }

    #[test]
    fn a_removed_rows_panels_join_the_row_above() {
        let mut model = DashboardModel::default();
        add(&mut model, 0, PanelKind::Stat);
        model.layout.push(Section::default());
        add(&mut model, 1, PanelKind::Stat);
        remove_section(&mut model, 1);
        assert_eq!(model.layout.len(), 1);
        assert_eq!(
            model.layout[0]
                .items
                .iter()
                .map(|i| i.y)
                .collect::<Vec<_>>(),
            vec![0, 5]
        );
    }
}

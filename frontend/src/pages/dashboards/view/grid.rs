//! The panels on the layout's grid, section by section (a titled section is a row that may be
//! collapsed: its panels are then neither drawn nor fetched), or one panel filling the page
//! (`viewPanel` in the address; Escape or "Close" returns to the grid).

use leptos::ev;
use leptos::html;
use leptos::prelude::*;

use super::layout::{Placed, PlacedSection};
use super::panel::PanelFrame;
use super::use_board;

#[component]
pub fn Grid() -> impl IntoView {
    let board = use_board();
    let node = NodeRef::<html::Div>::new();
    let measure = move || {
        if let Some(element) = node.get_untracked() {
            board.grid_width.set(f64::from(element.client_width()));
        }
    };
    Effect::new(move |_| {
        if node.get().is_some() {
            measure();
        }
    });
    let resized = window_event_listener(ev::resize, move |_| measure());
    let close = move || board.go(|view| view.view_panel = None, false);
    let escaped = window_event_listener(ev::keydown, move |event| {
        let fullscreen = board.view.with_untracked(|v| v.view_panel.is_some());
        if fullscreen && event.key() == "Escape" {
            close();
        }
    });
    on_cleanup(move || {
        resized.remove();
        escaped.remove();
    });

    let fullscreen = Memo::new(move |_| {
        let key = board.view.with(|v| v.view_panel.clone())?;
        board.sections.with(|sections| {
            sections
                .iter()
                .flat_map(|s| &s.panels)
                .find(|p| p.key == key)
                .cloned()
        })
    });

    view! {
        <div class="dashboard-body" node_ref=node>
            {move || match fullscreen.get() {
                Some(placed) => view! {
                    <div class="panel-fullscreen-wrap" role="dialog" aria-label="Panel in full screen">
                        <button class="button panel-fullscreen-close" type="button" on:click=move |_| close()>
                            "Close"
                        </button>
                        <PanelFrame placed fullscreen=true/>
                    </div>
                }
                .into_any(),
                None => view! {
                    <For
                        each=move || board.sections.get()
                        key=|section| (section.index, section.title.clone())
                        let:section
                    >
                        <SectionView section/>
                    </For>
                }
                .into_any(),
            }}
        </div>
    }
}

/// Where a copy is, as the key of its view: moved or resized, it is drawn anew.
fn place_key(placed: &Placed) -> (String, u32, u32, u32, u32) {
    (placed.key.clone(), placed.x, placed.y, placed.w, placed.h)
}

#[component]
fn SectionView(section: PlacedSection) -> impl IntoView {
    let board = use_board();
    let index = section.index;
    let collapsed = Memo::new(move |_| board.collapsed.with(|c| c.contains(&index)));
    let toggle = move |_| {
        board.collapsed.update(|c| {
            if !c.remove(&index) {
                c.insert(index);
            }
        });
    };
    let panels = Memo::new(move |_| {
        board
            .sections
            .with(|sections| {
                sections
                    .iter()
                    .find(|s| s.index == index)
                    .map(|s| s.panels.clone())
            })
            .unwrap_or_default()
    });
    let count = move || panels.with(Vec::len);
    view! {
        <section class="dashboard-section">
            {section.title.map(|title| view! {
                <h2 class="dashboard-row">
                    <button type="button" class="dashboard-row-toggle" aria-expanded=move || (!collapsed.get()).to_string() on:click=toggle>
                        <span class="dashboard-row-caret" aria-hidden="true">{move || if collapsed.get() { "▸" } else { "▾" }}</span>
                        {title}
                        <Show when=move || collapsed.get()>
                            <span class="muted">{move || match count() { 1 => " (1 panel)".to_owned(), n => format!(" ({n} panels)") }}</span>
                        </Show>
                    </button>
                </h2>
            })}
            <Show when=move || !collapsed.get()>
                <div class="dashboard-grid">
                    <For each=move || panels.get() key=place_key let:placed>
                        <PanelFrame placed/>
                    </For>
                </div>
            </Show>
        </section>
    }
}

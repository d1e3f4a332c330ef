//! The dashboard's toolbar: its title and links, "back" after a zoom, the time range, the
//! refresh button and the auto-refresh choice.

use leptos::prelude::*;

use super::address::REFRESH_CHOICES;
use super::use_board;
use crate::api::encode_component;
use crate::components::{Spinner, TimeRangePicker};

#[component]
pub fn Toolbar() -> impl IntoView {
    let board = use_board();
    let (title, links, uid, can_edit) = board.dashboard.with_value(|d| {
        (
            d.model.title.clone(),
            d.model.links.clone(),
            d.uid.clone(),
            d.can_edit,
        )
    });

    // The picker writes the address, which the view reads back.
    let range = RwSignal::new(board.view.get_untracked().range);
    Effect::watch(
        move || board.view.with(|v| v.range),
        move |shown, _, _| {
            if range.get_untracked() != *shown {
                range.set(*shown);
            }
        },
        false,
    );
    Effect::watch(
        move || range.get(),
        move |chosen, _, _| {
            if board.view.with_untracked(|v| v.range != *chosen) {
                let chosen = *chosen;
                board.go(|view| view.range = chosen, false);
            }
        },
        false,
    );

    let back = move |_| {
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ = history.back();
        }
    };
    let set_refresh = move |ev: leptos::ev::Event| {
        let chosen = event_target_value(&ev);
        board.go(
            |view| view.refresh = (chosen != "off").then_some(chosen),
            false,
        );
    };
    let loading = move || board.fetcher.loading_any();

    view! {
        <header class="page-header dashboard-toolbar">
            <div class="dashboard-heading">
                <h1>{title}</h1>
                {(!links.is_empty()).then(|| view! {
                    <nav class="dashboard-links" aria-label="Dashboard links">
                        {links.into_iter().map(|link| view! { <a href=link.url>{link.title}</a> }).collect_view()}
                    </nav>
                })}
            </div>
            <div class="dashboard-controls">
                <Show when=move || board.zooms.with(|z| !z.is_empty())>
                    <button class="button" type="button" on:click=back title="Return to the range before the zoom">
                        "Back"
                    </button>
                </Show>
                <TimeRangePicker range/>
                <button
                    class="button"
                    type="button"
                    on:click=move |_| board.tick.update(|t| *t += 1)
                    aria-busy=move || loading().to_string()
                >
                    {move || loading().then(|| view! { <Spinner/> })}
                    "Refresh"
                </button>
                <div class="field">
                    <label for="field-auto-refresh">"Auto-refresh"</label>
                    <select
                        id="field-auto-refresh"
                        prop:value=move || board.view.with(|v| v.refresh.clone().unwrap_or_else(|| "off".to_owned()))
                        on:change=set_refresh
                    >
                        <option value="off">"Off"</option>
                        {REFRESH_CHOICES
                            .iter()
                            .map(|(value, label)| view! { <option value=*value>{*label}</option> })
                            .collect_view()}
                    </select>
                </div>
                {can_edit.then(|| view! {
                    <a class="button" href=format!("/dashboards/{}/edit", encode_component(&uid))>"Edit"</a>
                })}
            </div>
        </header>
    }
}

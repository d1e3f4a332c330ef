//! One panel copy on the page: its header (the title with its variables filled in, a loading
//! mark, the menu: explore, full screen, create an alert rule, edit) above what it draws.

use leptos::html;
use leptos::prelude::*;
use vigil_shared::Role;
use vigil_shared::dashboard::Panel;
use vigil_shared::dashboard::vars::{self, Format, Scope};

use super::layout::Placed;
use super::use_board;
use crate::api::encode_component;
use crate::components::PanelBody;
use crate::session::use_session;

/// A grid row's height and the gap between rows and columns, px (as in the stylesheet).
pub const ROW_PX: u32 = 30;
pub const GAP_PX: u32 = 8;
/// What the panel's header takes of its height, px.
const HEADER_PX: u32 = 34;
/// What the page keeps above a full-screen panel (its header and margins), px.
const FULLSCREEN_CHROME_PX: f64 = 120.0;

/// The body's height for a panel `rows` rows high.
fn body_height(rows: u32) -> u32 {
    (rows * ROW_PX + rows.saturating_sub(1) * GAP_PX).saturating_sub(HEADER_PX)
}

fn window_height() -> f64 {
    web_sys::window()
        .and_then(|w| w.inner_height().ok())
        .and_then(|h| h.as_f64())
        .unwrap_or(800.0)
}

#[component]
pub fn PanelFrame(placed: Placed, #[prop(optional)] fullscreen: bool) -> impl IntoView {
    let board = use_board();
    let Some(panel) = board.panel(&placed.panel) else {
        return ().into_any();
    };
    let key = placed.key.clone();
    let slot = board.fetcher.slot(&key);
    // The panel as drawn: its title, description and text with the variables filled in.
    let shown = {
        let bound = placed.bound.clone();
        Memo::new(move |_| {
            let scope = Scope {
                values: board.values(bound.as_ref(), true),
                ..Scope::default()
            };
            let fill = |text: &str| vars::interpolate(text, &scope, Format::Text);
            Panel {
                title: fill(&panel.title),
                description: fill(&panel.description),
                text: fill(&panel.text),
                ..panel.clone()
            }
        })
    };
    let title = Memo::new(move |_| shown.with(|p| p.title.clone()));
    let height = if fullscreen {
        (window_height() - FULLSCREEN_CHROME_PX).max(200.0) as u32
    } else {
        body_height(placed.h)
    };
    let style = (!fullscreen).then(|| {
        format!(
            "grid-column: {} / span {}; grid-row: {} / span {};",
            placed.x + 1,
            placed.w,
            placed.y + 1,
            placed.h
        )
    });

    // The fetcher learns when the panel comes into view.
    let node = NodeRef::<html::Article>::new();
    Effect::new(move |_| {
        if let Some(element) = node.get() {
            board.observe(&element);
        }
    });
    {
        let key = key.clone();
        on_cleanup(move || {
            if let Some(element) = node.get_untracked() {
                board.unobserve(&element);
            }
            board.fetcher.seen(&key, false);
        });
    }

    let loading = slot.loading.clone();
    let data = slot.data.clone();
    let on_zoom = Callback::new(move |(from, to): (f64, f64)| board.zoom(from, to));
    let menu = view! { <PanelMenu placed=placed.clone() fullscreen/> };
    view! {
        <article
            class="panel"
            class:panel-fullscreen=fullscreen
            style=style
            node_ref=node
            data-panel-key=key
            aria-label=move || title.get()
        >
            <header class="panel-header">
                <h2 class="panel-title" title=move || shown.with(|p| p.description.clone())>{move || title.get()}</h2>
                {move || loading.get().then(|| view! { <span class="panel-fetching" role="status" aria-label="Loading"><crate::components::Spinner/></span> })}
                {menu}
            </header>
            <div class="panel-content">
                <PanelBody
                    panel=shown
                    data=Signal::derive(move || data.get())
                    height=Signal::stored(height)
                    on_zoom=on_zoom
                />
            </div>
        </article>
    }
    .into_any()
}

/// The panel's menu: explore its first query, full screen (or back), create an alert rule
/// from its first query, and edit it for those who may.
#[component]
fn PanelMenu(placed: Placed, fullscreen: bool) -> impl IntoView {
    let board = use_board();
    let session = use_session();
    let can_edit = board.dashboard.with_value(|d| d.can_edit) && session.can(Role::Editor);
    let uid = board.dashboard.with_value(|d| d.uid.clone());
    let key = placed.key.clone();
    let panel_key = placed.panel.clone();
    // The first query as the panel runs it now.
    let first_query = {
        let key = key.clone();
        move || {
            let target = board.target(&key)?;
            let (start, end) = board.view.with(|v| v.range.window());
            let index = target.panel.queries.iter().position(|q| !q.hidden)?;
            target.expr(index, end - start)
        }
    };
    let explore = {
        let first_query = first_query.clone();
        move || {
            first_query().map(|expr| {
                let range = board.view.with(|v| v.range.to_param());
                format!(
                    "/explore?query={}&range={}",
                    encode_component(&expr),
                    encode_component(&range)
                )
            })
        }
    };
    let alert = move || {
        first_query().map(|expr| format!("/alerts/rules/new?query={}", encode_component(&expr)))
    };
    let open = RwSignal::new(false);
    let toggle_fullscreen = move |_| {
        open.set(false);
        let key = key.clone();
        board.go(
            move |view| view.view_panel = (!fullscreen).then_some(key),
            false,
        );
    };
    let edit = format!(
        "/dashboards/{}/edit?panel={}",
        encode_component(&uid),
        encode_component(&panel_key)
    );
    view! {
        <div class="panel-menu">
            <button
                class="panel-menu-button"
                type="button"
                aria-label="Panel menu"
                aria-haspopup="menu"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)
            >"⋮"</button>
            <Show when=move || open.get()>
                <div class="panel-menu-items" role="menu">
                    {
                        let explore = explore.clone();
                        move || explore().map(|href| view! { <a role="menuitem" href=href>"Explore"</a> })
                    }
                    <button role="menuitem" type="button" on:click=toggle_fullscreen.clone()>
                        {if fullscreen { "Exit full screen" } else { "Full screen" }}
                    </button>
                    {
                        let alert = alert.clone();
                        move || alert().map(|href| view! { <a role="menuitem" href=href>"Create alert rule"</a> })
                    }
                    {can_edit.then(|| view! { <a role="menuitem" href=edit.clone()>"Edit"</a> })}
                </div>
            </Show>
        </div>
    }
}

//! The SLOs (`/slos`): each with its SLI now, the error budget left (coloured by health), how
//! fast it burns and when it runs out. The figures refresh every minute, as the server's
//! history does; editors start a new SLO here.

use std::collections::BTreeMap;

use leptos::prelude::*;
use vigil_shared::Role;
use vigil_shared::slo::{SloList, SloStatus};

use super::{BudgetBar, burn_text, exhaustion_text, objective_text, sli_text, window_text};
use crate::api;
use crate::components::Loaded;
use crate::session::use_session;

/// How often the figures are read again, milliseconds.
pub const REFRESH_MS: u64 = 60_000;

/// Calls `refetch` every [`REFRESH_MS`] while the page is shown.
pub fn refresh_every_minute(refetch: impl Fn() + 'static) {
    if let Ok(handle) =
        set_interval_with_handle(refetch, std::time::Duration::from_millis(REFRESH_MS))
    {
        on_cleanup(move || handle.clear());
    }
}

#[component]
pub fn SloListPage() -> impl IntoView {
    let slos = LocalResource::new(api::list_slos);
    refresh_every_minute(move || slos.refetch());

    view! {
        <div class="card">
            <Loaded resource=slos what="SLOs" let:list>
                {slo_table(list)}
            </Loaded>
        </div>
    }
}

fn slo_table(list: SloList) -> impl IntoView {
    let session = use_session();
    let can_edit = move || session.can(Role::Editor);
    if list.slos.is_empty() {
        return view! {
            <h2>"Service level objectives"</h2>
            <div class="empty-state">
                <p class="muted">"No SLOs yet. An SLO says how reliable a service should be — 99.9 % of requests good over 30 days — and tracks the error budget left."</p>
                <Show when=can_edit>
                    <a class="button primary" href="/slos/new">"New SLO"</a>
                </Show>
            </div>
        }
        .into_any();
    }
    let mut statuses: BTreeMap<i64, SloStatus> = list
        .statuses
        .into_iter()
        .map(|status| (status.slo_id, status))
        .collect();
    let rows = list
        .slos
        .into_iter()
        .map(|slo| {
            let status = statuses.remove(&slo.id);
            let window = window_text(&slo.slo.window);
            view! {
                <tr>
                    <td><a href=format!("/slos/{}", slo.id)>{slo.slo.name.clone()}</a></td>
                    <td>{slo.slo.service.clone()}</td>
                    <td>{objective_text(slo.slo.objective)}</td>
                    {match status {
                        Some(status) => view! {
                            <td class="figure">{sli_text(status.sli)}</td>
                            <td><BudgetBar remaining_percent=status.budget.remaining_percent health=status.health/></td>
                            <td class="figure">{burn_text(status.burn_rates.h1)}</td>
                            <td>{exhaustion_text(status.exhausted_in_seconds)}</td>
                        }.into_any(),
                        None => view! {
                            <td class="muted" colspan="4">"Not measured yet"</td>
                        }.into_any(),
                    }}
                    <td>{window}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="card-header">
            <h2>"Service level objectives"</h2>
            <Show when=can_edit>
                <a class="button primary" href="/slos/new">"New SLO"</a>
            </Show>
        </div>
        <table class="table slo-table" aria-label="SLOs">
            <thead><tr>
                <th>"SLO"</th><th>"Service"</th><th>"Objective"</th><th>"SLI now"</th>
                <th>"Budget remaining"</th><th>"Burn rate 1h"</th><th>"Exhausted in"</th><th>"Window"</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

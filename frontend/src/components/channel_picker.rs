//! Choosing the notification channels an alert rule or a notification policy sends to.

use leptos::prelude::*;
use vigil_shared::Role;

use crate::api::{self, ApiError};
use crate::components::Loaded;
use crate::session::use_session;

/// Which notification channels the alerts go to: a checkbox per channel for editors, who
/// alone may list them; others see how many are chosen.
#[component]
pub fn ChannelPicker(chosen: RwSignal<Vec<i64>>) -> impl IntoView {
    let session = use_session();
    let channels = LocalResource::new(move || {
        let editor = session.can(Role::Editor);
        async move {
            // A list that cannot be read leaves the count, as for readers.
            let list = if editor {
                api::list_channels().await.map(|l| l.channels).ok()
            } else {
                None
            };
            Ok::<_, ApiError>(list)
        }
    });
    view! {
        <fieldset class="card field">
            <legend>"Notify"</legend>
            <Loaded resource=channels what="channels" let:list>
                {match list {
                    None => view! { <p class="muted">{move || format!("{} channels.", chosen.with(Vec::len))}</p> }.into_any(),
                    Some(list) if list.is_empty() => view! {
                        <p class="muted">"No notification channels yet. " <a href="/alerts/channels">"Add one"</a> "."</p>
                    }.into_any(),
                    Some(list) => list.into_iter().map(|channel| {
                        let id = channel.id;
                        view! {
                            <label class="checkbox">
                                <input
                                    type="checkbox"
                                    prop:checked=move || chosen.with(|c| c.contains(&id))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        chosen.update(|c| {
                                            c.retain(|x| *x != id);
                                            if on {
                                                c.push(id);
                                            }
                                        });
                                    }
                                />
                                <span>{format!("{} ({})", channel.name, channel.kind.as_str())}</span>
                            </label>
                        }
                    }).collect_view().into_any(),
                }}
            </Loaded>
        </fieldset>
    }
}

//! The dashboard editor (`/dashboards/new`, `/dashboards/:uid/edit`; editors): the settings
//! and permissions, the variables, the layout grid (panels moved and resized with the mouse
//! or with buttons), each panel's editor with a live preview, and the whole JSON model for
//! those who prefer it. Saving sends the version the editor started from: if someone saved
//! since, the editor offers to reload theirs or save this one as a copy. Provisioned
//! dashboards (and those the caller may not change) open read-only, with "Save as copy".
//!
//! Everything edits one signal, the model; what was typed stays when the server refuses it,
//! and its complaints (keyed by JSON path: `panels.cpu.queries[0].expr`) are listed and shown
//! beside the matching fields.

mod grid;
mod inputs;
mod json;
mod panel;
mod preview;
mod settings;
mod variables;

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use vigil_shared::dashboard::{Dashboard, DashboardModel, SaveDashboard};

pub use json::json_problem;

use super::EditorsOnly;
use crate::api::{self, ApiError};
use crate::components::{Loaded, confirm, replace_address, warn_before_leaving};

/// What every part of the editor shares.
#[derive(Clone, Copy)]
pub struct Editor {
    pub model: RwSignal<DashboardModel>,
    /// The server's last refusal (its field errors are keyed by JSON path).
    pub error: RwSignal<Option<ApiError>>,
    /// Provisioned, or not the caller's to change: only "Save as copy".
    pub read_only: bool,
    /// The panel whose editor is open (`?panel=<key>`).
    pub open_panel: RwSignal<Option<String>>,
    /// Bumped when the model is replaced as a whole (JSON applied, reloaded), so that the
    /// form draws itself again from it.
    pub generation: RwSignal<u32>,
}

impl Editor {
    /// Changes the model (nothing, read-only).
    pub fn edit(&self, change: impl FnOnce(&mut DashboardModel)) {
        if !self.read_only {
            self.model.update(change);
        }
    }

    /// The server's complaint about the field at `path`, for showing beside it.
    pub fn field(&self, path: impl Into<String>) -> Signal<Option<String>> {
        let (error, path) = (self.error, path.into());
        Signal::derive(move || error.with(|e| e.as_ref().and_then(|e| e.field(&path))))
    }

    /// Replaces the whole model and redraws the form from it.
    pub fn replace(&self, model: DashboardModel) {
        self.model.set(model);
        self.generation.update(|g| *g += 1);
    }
}

#[component]
pub fn NewDashboardPage() -> impl IntoView {
    let started = Dashboard {
        id: 0,
        uid: String::new(),
        version: 0,
        model: DashboardModel {
            title: "New dashboard".to_owned(),
            ..DashboardModel::default()
        },
        provisioned: None,
        can_edit: true,
        created_at: Default::default(),
        updated_at: Default::default(),
        updated_by: None,
    };
    view! {
        <EditorsOnly title="New dashboard">
            <DashboardEditor dashboard=started.clone() is_new=true/>
        </EditorsOnly>
    }
}

#[component]
pub fn EditDashboardPage() -> impl IntoView {
    let params = use_params_map();
    let resource = LocalResource::new(move || {
        let uid = params.with(|p| p.get("uid").unwrap_or_default());
        async move { api::dashboard_for_edit(&uid).await }
    });
    view! {
        <EditorsOnly title="Edit dashboard">
            <section class="page">
                <Loaded resource=resource what="the dashboard" let:dashboard>
                    <DashboardEditor dashboard=dashboard is_new=false/>
                </Loaded>
            </section>
        </EditorsOnly>
    }
}

/// Which part of the editor is shown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Form,
    Json,
}

/// Where saving stands: the message dialog, a conflict, or nothing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dialog {
    Closed,
    Message,
    Conflict,
}

#[component]
fn DashboardEditor(dashboard: Dashboard, is_new: bool) -> impl IntoView {
    let navigate = use_navigate();
    let query = use_query_map();
    let read_only = !is_new && (!dashboard.can_edit || dashboard.provisioned.is_some());
    let editor = Editor {
        model: RwSignal::new(dashboard.model.clone()),
        error: RwSignal::new(None),
        read_only,
        open_panel: RwSignal::new(query.with_untracked(|q| q.get("panel"))),
        generation: RwSignal::new(0),
    };
    provide_context(editor);
    // The saved dashboard this editor works on (none until a new one is first saved).
    let id = RwSignal::new((!is_new).then_some(dashboard.id));
    let uid = RwSignal::new(dashboard.uid.clone());
    let version = RwSignal::new(dashboard.version);
    let saved_model = RwSignal::new(dashboard.model.clone());
    let dirty =
        Memo::new(move |_| !read_only && editor.model.with(|m| saved_model.with(|s| m != s)));
    warn_before_leaving(
        dirty,
        "This dashboard has unsaved changes. Leave without saving?",
    );

    let tab = RwSignal::new(Tab::Form);
    let dialog = RwSignal::new(Dialog::Closed);
    let message = RwSignal::new(String::new());
    let pending = RwSignal::new(false);
    let saved_notice = RwSignal::new(None::<String>);
    let conflict = RwSignal::new(String::new());

    // The address follows the open panel editor, so that it can be linked to.
    Effect::new(move |_| {
        let panel = editor.open_panel.get();
        let base = if id.get().is_some() {
            format!("/dashboards/{}/edit", api::encode_component(&uid.get()))
        } else {
            "/dashboards/new".to_owned()
        };
        match panel {
            Some(key) => replace_address(&format!("{base}?panel={}", api::encode_component(&key))),
            None => replace_address(&base),
        }
    });

    let save = move || {
        if pending.get_untracked() {
            return;
        }
        pending.set(true);
        editor.error.set(None);
        saved_notice.set(None);
        let request = SaveDashboard {
            model: editor.model.get_untracked(),
            version: id.get_untracked().map(|_| version.get_untracked()),
            uid: None,
            message: message.get_untracked(),
        };
        let target = id.get_untracked();
        leptos::task::spawn_local(async move {
            match api::save_dashboard(target, &request).await {
                Ok(saved) => {
                    id.set(Some(saved.id));
                    uid.set(saved.uid.clone());
                    version.set(saved.version);
                    saved_model.set(saved.model.clone());
                    editor.model.set(saved.model);
                    message.set(String::new());
                    dialog.set(Dialog::Closed);
                    saved_notice.set(Some(format!("Saved as version {}.", saved.version)));
                }
                // Someone saved since (a 409 about the version); other 409s are banners.
                Err(error) if error.status == 409 && error.field("version").is_some() => {
                    conflict.set(error.message);
                    dialog.set(Dialog::Conflict);
                }
                Err(error) => {
                    dialog.set(Dialog::Closed);
                    editor.error.set(Some(error));
                }
            }
            pending.set(false);
        });
    };

    let save_copy = {
        let navigate = navigate.clone();
        move || {
            if pending.get_untracked() {
                return;
            }
            pending.set(true);
            editor.error.set(None);
            let mut model = editor.model.get_untracked();
            model.title = format!("{} (copy)", model.title);
            let request = SaveDashboard {
                model,
                version: None,
                uid: None,
                message: format!("Copy of {}", uid.get_untracked()),
            };
            let navigate = navigate.clone();
            leptos::task::spawn_local(async move {
                match api::save_dashboard(None, &request).await {
                    Ok(copy) => {
                        // The copy is saved: nothing to warn about on the way to it.
                        if let Some(model) = editor.model.try_get_untracked() {
                            saved_model.set(model);
                        }
                        dialog.set(Dialog::Closed);
                        navigate(
                            &format!("/dashboards/{}/edit", api::encode_component(&copy.uid)),
                            Default::default(),
                        );
                    }
                    Err(error) => {
                        dialog.set(Dialog::Closed);
                        editor.error.set(Some(error));
                    }
                }
                pending.set(false);
            });
        }
    };

    // The conflict's "Reload": the latest saved dashboard replaces what was typed.
    let reload = move || {
        leptos::task::spawn_local(async move {
            match api::dashboard_for_edit(&uid.get_untracked()).await {
                Ok(latest) => {
                    version.set(latest.version);
                    saved_model.set(latest.model.clone());
                    editor.replace(latest.model);
                    dialog.set(Dialog::Closed);
                    saved_notice.set(Some(format!("Loaded version {}.", latest.version)));
                }
                Err(error) => {
                    dialog.set(Dialog::Closed);
                    editor.error.set(Some(error));
                }
            }
        });
    };

    // Deleting the saved dashboard (its versions go with it), then back to the list.
    let delete = {
        let navigate = navigate.clone();
        move || {
            let Some(target) = id.get_untracked() else {
                return;
            };
            let question = format!(
                "Delete the dashboard \"{}\" and all its versions?",
                saved_model.with_untracked(|m| m.title.clone())
            );
            if !confirm(&question) {
                return;
            }
            let navigate = navigate.clone();
            leptos::task::spawn_local(async move {
                match api::delete_dashboard(target).await {
                    Ok(()) => {
                        if let Some(model) = editor.model.try_get_untracked() {
                            saved_model.set(model);
                        }
                        navigate("/dashboards", Default::default());
                    }
                    Err(error) => editor.error.set(Some(error)),
                }
            });
        }
    };

    let title = move || editor.model.with(|m| m.title.clone());
    let view_href = move || format!("/dashboards/{}", api::encode_component(&uid.get()));
    let save_copy_button = save_copy.clone();

    view! {
        <header class="page-header">
            <h1>{move || if is_new && id.get().is_none() { "New dashboard".to_owned() } else { format!("Edit {}", title()) }}</h1>
            <div class="form-actions">
                <button class="button" type="button" on:click=move |_| download(&editor.model.get_untracked(), &uid.get_untracked())>"Download JSON"</button>
                <Show when=move || id.get().is_some()>
                    <a class="button" href=move || format!("{}/versions", view_href())>"Versions"</a>
                    <a class="button" href=view_href>"Open dashboard"</a>
                </Show>
                <Show when=move || !read_only && id.get().is_some()>
                    <button class="button danger" type="button" on:click={
                        let delete = delete.clone();
                        move |_| delete()
                    }>"Delete"</button>
                </Show>
                {if read_only {
                    view! {
                        <button class="button primary" type="button" disabled=move || pending.get()
                            on:click=move |_| save_copy_button()>"Save as copy"</button>
                    }.into_any()
                } else {
                    view! {
                        <button class="button primary" type="button" on:click=move |_| dialog.set(Dialog::Message)>"Save"</button>
                    }.into_any()
                }}
            </div>
        </header>
        {read_only.then(|| view! {
            <p class="banner" role="status">{match &dashboard.provisioned {
                Some(source) => format!("This dashboard is provisioned from {source} and read-only here. Save a copy to change it."),
                None => "You may not change this dashboard. Save a copy to change it.".to_owned(),
            }}</p>
        })}
        {move || saved_notice.get().map(|text| view! { <div class="banner banner-ok" role="status">{text}</div> })}
        <ServerErrors/>
        <nav class="tabs" aria-label="Editor">
            <button type="button" class="tab" aria-pressed=move || (tab.get() == Tab::Form).to_string() on:click=move |_| tab.set(Tab::Form)>"Form"</button>
            <button type="button" class="tab" aria-pressed=move || (tab.get() == Tab::Json).to_string() on:click=move |_| tab.set(Tab::Json)>"JSON"</button>
        </nav>
        {move || match tab.get() {
            Tab::Form => view! {
                <fieldset class="editor-form" disabled=read_only>
                    <settings::Settings/>
                    <variables::Variables/>
                    <grid::Layout/>
                </fieldset>
            }.into_any(),
            Tab::Json => view! { <json::JsonTab on_applied=Callback::new(move |()| tab.set(Tab::Form))/> }.into_any(),
        }}
        // Drawn again when the model is replaced: its query editors keep their own text.
        {move || {
            editor.generation.track();
            editor.open_panel.get().map(|key| view! { <panel::PanelEditor key=key/> })
        }}
        {move || (dialog.get() == Dialog::Message).then(|| view! {
            <div class="dialog-backdrop">
                <form class="dialog card" role="dialog" aria-modal="true" aria-label="Save dashboard"
                    on:submit=move |ev| { ev.prevent_default(); save(); }>
                    <h2>"Save dashboard"</h2>
                    <div class="field">
                        <label for="save-message">"What changed (optional)"</label>
                        <input id="save-message" type="text" maxlength="500" prop:value=move || message.get()
                            on:input=move |ev| message.set(event_target_value(&ev))/>
                    </div>
                    <div class="form-actions">
                        <button class="button primary" type="submit" disabled=move || pending.get()>"Save"</button>
                        <button class="button" type="button" on:click=move |_| dialog.set(Dialog::Closed)>"Cancel"</button>
                    </div>
                </form>
            </div>
        })}
        {move || (dialog.get() == Dialog::Conflict).then(|| {
            let save_copy = save_copy.clone();
            view! {
                <div class="dialog-backdrop">
                    <div class="dialog card" role="alertdialog" aria-modal="true" aria-label="Dashboard changed">
                        <h2>"Someone saved this dashboard meanwhile"</h2>
                        <p>{move || conflict.get()}</p>
                        <p>"Your changes were not saved. Reload to see the latest version (your changes are discarded), or save yours as a new dashboard."</p>
                        <div class="form-actions">
                            <button class="button" type="button" on:click=move |_| reload()>"Reload"</button>
                            <button class="button primary" type="button" disabled=move || pending.get() on:click=move |_| save_copy()>"Save as copy"</button>
                            <button class="button" type="button" on:click=move |_| dialog.set(Dialog::Closed)>"Cancel"</button>
                        </div>
                    </div>
                </div>
            }
        })}
    }
}

/// The server's complaints about the model, each with its JSON path (also shown beside the
/// fields the form has for them).
#[component]
fn ServerErrors() -> impl IntoView {
    let editor = expect_context::<Editor>();
    move || {
        editor.error.get().map(|error| {
            view! {
                <div class="banner banner-error" role="alert">
                    <p>{error.message.clone()}</p>
                    {(!error.fields.is_empty()).then(|| view! {
                        <ul class="field-paths" aria-label="Problems by field">
                            {error.fields.iter().map(|(path, why)| view! {
                                <li><code>{path.clone()}</code>" "{why.clone()}</li>
                            }).collect_view()}
                        </ul>
                    })}
                </div>
            }
        })
    }
}

/// Downloads the model as `<uid>.json` (the title when not saved yet), as Vigil imports it.
fn download(model: &DashboardModel, uid: &str) {
    let Ok(text) = serde_json::to_string_pretty(model) else {
        return;
    };
    let name = if uid.is_empty() {
        slug(&model.title)
    } else {
        uid.to_owned()
    };
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(link) = document.create_element("a") else {
        return;
    };
    let href = format!(
        "data:application/json;charset=utf-8,{}",
        api::encode_component(&text)
    );
    let _ = link.set_attribute("href", &href);
    let _ = link.set_attribute("download", &format!("{name}.json"));
    if let Some(body) = document.body() {
        let _ = body.append_child(&link);
        if let Some(link) = wasm_bindgen::JsCast::dyn_ref::<web_sys::HtmlElement>(&link) {
            link.click();
        }
        let _ = body.remove_child(&link);
    }
}

/// A file name from a title: lower case letters and digits, dashes between words.
fn slug(title: &str) -> String {
    let words: Vec<String> = title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() {
        "dashboard".to_owned()
    } else {
        words.join("-")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_come_from_titles() {
        assert_eq!(slug("Node Exporter / Full"), "node-exporter-full");
        assert_eq!(slug("  "), "dashboard");
    }
}

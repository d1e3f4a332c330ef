//! Not losing what was typed: a warning before leaving a form with unsaved changes.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::components::confirm;

/// Warns before leaving while `dirty` holds: the browser asks when the page is closed or
/// reloaded, and a confirmation stops a click on an in-app link (caught before the router's
/// own handler, which listens on the window as the click bubbles back up).
pub fn warn_before_leaving(dirty: Memo<bool>, question: &'static str) {
    let unload = Closure::<dyn Fn(web_sys::BeforeUnloadEvent)>::new(
        move |ev: web_sys::BeforeUnloadEvent| {
            if dirty.get_untracked() {
                ev.prevent_default();
                ev.set_return_value("There are unsaved changes.");
            }
        },
    );
    let click = Closure::<dyn Fn(web_sys::Event)>::new(move |ev: web_sys::Event| {
        let link = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("a[href]").ok().flatten());
        if link.is_some() && dirty.get_untracked() && !confirm(question) {
            ev.prevent_default();
            ev.stop_propagation();
        }
    });
    let Some(window) = web_sys::window() else {
        return;
    };
    let _ =
        window.add_event_listener_with_callback("beforeunload", unload.as_ref().unchecked_ref());
    let _ = window.add_event_listener_with_callback_and_bool(
        "click",
        click.as_ref().unchecked_ref(),
        true,
    );
    let kept = StoredValue::new_local(Some((unload, click)));
    on_cleanup(move || {
        if let Some(Some((unload, click))) = kept.try_update_value(Option::take)
            && let Some(window) = web_sys::window()
        {
            let _ = window.remove_event_listener_with_callback(
                "beforeunload",
                unload.as_ref().unchecked_ref(),
            );
            let _ = window.remove_event_listener_with_callback_and_bool(
                "click",
                click.as_ref().unchecked_ref(),
                true,
            );
        }
    });
}

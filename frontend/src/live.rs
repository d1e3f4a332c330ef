//! Live updates from `GET /api/v1/events` (Server-Sent Events), for pages that redraw when
//! something changes elsewhere: another user, the evaluator, another replica.

use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// Calls `on_event` with the event's name for each of `kinds` the server sends, while the
/// calling component lives. After the connection drops and comes back (the browser reconnects
/// by itself) it also calls `on_event("resync")`, since changes may have been missed.
pub fn live_events(kinds: &'static [&'static str], on_event: impl Fn(&str) + 'static) {
    let Ok(source) = web_sys::EventSource::new("/api/v1/events") else {
        return;
    };
    let on_event = Rc::new(on_event);
    let mut listeners = Vec::new();
    for kind in kinds.iter().copied().chain(["resync"]) {
        let on_event = on_event.clone();
        let listener = Closure::<dyn Fn(web_sys::Event)>::new(move |_| on_event(kind));
        let _ = source.add_event_listener_with_callback(kind, listener.as_ref().unchecked_ref());
        listeners.push(listener);
    }
    // The first `open` is the initial connection; later ones are reconnections.
    let opened_before = Rc::new(std::cell::Cell::new(false));
    let reopen = Closure::<dyn Fn(web_sys::Event)>::new(move |_| {
        if opened_before.replace(true) {
            on_event("resync");
        }
    });
    let _ = source.add_event_listener_with_callback("open", reopen.as_ref().unchecked_ref());
    listeners.push(reopen);
    let kept = StoredValue::new_local(Some((source, listeners)));
    on_cleanup(move || {
        if let Some(Some((source, _listeners))) = kept.try_update_value(Option::take) {
            source.close();
        }
    });
}

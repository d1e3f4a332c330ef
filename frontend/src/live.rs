//! Live updates from `GET /api/v1/events` (Server-Sent Events), for pages that redraw when
//! something changes elsewhere: another user, the evaluator, another replica.
//!
//! One connection serves every subscriber in the tab (the notification bell and the page
//! shown), since browsers allow only a few open connections to one server.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::EventSource;

thread_local! {
    /// The tab's connection and how many subscribers use it.
    static SHARED: RefCell<Option<(EventSource, usize)>> = const { RefCell::new(None) };
}

fn connect() -> Option<EventSource> {
    SHARED.with(|shared| {
        let mut shared = shared.borrow_mut();
        if let Some((source, users)) = shared.as_mut() {
            *users += 1;
            return Some(source.clone());
        }
        let source = EventSource::new("/api/v1/events").ok()?;
        *shared = Some((source.clone(), 1));
        Some(source)
    })
}

fn disconnect() {
    SHARED.with(|shared| {
        let mut shared = shared.borrow_mut();
        if let Some((source, users)) = shared.as_mut() {
            *users -= 1;
            if *users == 0 {
                source.close();
                *shared = None;
            }
        }
    });
}

type Listener = Closure<dyn Fn(web_sys::Event)>;

/// Calls `on_event` with the event's name for each of `kinds` the server sends, while the
/// calling component lives. After the connection drops and comes back (the browser reconnects
/// by itself) it also calls `on_event("resync")`, since changes may have been missed.
pub fn live_events(kinds: &'static [&'static str], on_event: impl Fn(&str) + 'static) {
    let Some(source) = connect() else {
        return;
    };
    let on_event = Rc::new(on_event);
    let mut listeners: Vec<(&'static str, Listener)> = Vec::new();
    for kind in kinds.iter().copied().chain(["resync"]) {
        let on_event = on_event.clone();
        listeners.push((kind, Closure::new(move |_| on_event(kind))));
    }
    // An `open` after the one that first connected is a reconnection.
    let opened_before = Rc::new(Cell::new(source.ready_state() == EventSource::OPEN));
    listeners.push((
        "open",
        Closure::new(move |_| {
            if opened_before.replace(true) {
                on_event("resync");
            }
        }),
    ));
    for (kind, listener) in &listeners {
        let _ = source.add_event_listener_with_callback(kind, listener.as_ref().unchecked_ref());
    }
    let kept = StoredValue::new_local(Some((source, listeners)));
    on_cleanup(move || {
        if let Some(Some((source, listeners))) = kept.try_update_value(Option::take) {
            for (kind, listener) in &listeners {
                let _ = source
                    .remove_event_listener_with_callback(kind, listener.as_ref().unchecked_ref());
            }
            disconnect();
        }
    });
}

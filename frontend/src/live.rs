//! Live updates from `GET /api/v1/events` (Server-Sent Events), for pages that redraw when
//! something changes elsewhere: another user, the evaluator, another replica.
//!
//! One connection serves every subscriber in the tab (the notification bell and the page
//! shown), since browsers allow only a few open connections to one server.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
use vigil_shared::live::LiveEvent;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{EventSource, MessageEvent};

/// What a live view hears.
#[derive(Clone, Debug, PartialEq)]
pub enum Heard {
    /// Something changed.
    Change(LiveEvent),
    /// Changes may have been missed (the connection dropped, or the browser fell behind):
    /// reload everything shown.
    Resync,
}

impl Heard {
    /// Whether a view showing incident `shown` should reload.
    pub fn concerns_incident(&self, shown: i64) -> bool {
        match self {
            Heard::Change(LiveEvent::Incident { id, .. }) => *id == shown,
            Heard::Change(_) => false,
            Heard::Resync => true,
        }
    }
}

/// The event an SSE message carries; one that does not read as a [`LiveEvent`] (a newer
/// server's kind) is heard as a resync, so nothing is silently missed.
fn heard(event: &web_sys::Event) -> Heard {
    event
        .dyn_ref::<MessageEvent>()
        .and_then(|message| message.data().as_string())
        .and_then(|data| serde_json::from_str(&data).ok())
        .map_or(Heard::Resync, Heard::Change)
}

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

/// Calls `on_event` with each event of `kinds` (their SSE names, [`LiveEvent::kind`]) the
/// server sends, while the calling component lives; with [`Heard::Resync`] when the server
/// says changes were missed, and after the connection drops and comes back (the browser
/// reconnects by itself).
pub fn live_events(kinds: &'static [&'static str], on_event: impl Fn(Heard) + 'static) {
    let Some(source) = connect() else {
        return;
    };
    let on_event = Rc::new(on_event);
    let mut listeners: Vec<(&'static str, Listener)> = Vec::new();
    for kind in kinds.iter().copied() {
        let on_event = on_event.clone();
        listeners.push((kind, Closure::new(move |event| on_event(heard(&event)))));
    }
    let resync = on_event.clone();
    listeners.push(("resync", Closure::new(move |_| resync(Heard::Resync))));
    // An `open` after the one that first connected is a reconnection.
    let opened_before = Rc::new(Cell::new(source.ready_state() == EventSource::OPEN));
    listeners.push((
        "open",
        Closure::new(move |_| {
            if opened_before.replace(true) {
                on_event(Heard::Resync);
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

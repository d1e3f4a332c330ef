//! Light and dark themes: the choice is stored in the browser; without one, the system's
//! preference decides.

use leptos::prelude::*;

const STORAGE_KEY: &str = "vigil-theme";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    Light,
    Dark,
}

impl Theme {
    fn as_str(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn other(self) -> Theme {
        match self {
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::Light,
        }
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn initial() -> Theme {
    let stored = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
    match stored.as_deref() {
        Some("dark") => Theme::Dark,
        Some("light") => Theme::Light,
        _ => {
            let prefers_dark = web_sys::window()
                .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
                .is_some_and(|m| m.matches());
            if prefers_dark {
                Theme::Dark
            } else {
                Theme::Light
            }
        }
    }
}

fn apply(theme: Theme) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("data-theme", theme.as_str());
    }
}

/// The current theme as a signal, applied to the page whenever it changes and remembered.
pub fn provide_theme() -> RwSignal<Theme> {
    let theme = RwSignal::new(initial());
    Effect::new(move |_| {
        let current = theme.get();
        apply(current);
        if let Some(storage) = storage() {
            let _ = storage.set_item(STORAGE_KEY, current.as_str());
        }
    });
    provide_context(theme);
    theme
}

pub fn use_theme() -> RwSignal<Theme> {
    expect_context::<RwSignal<Theme>>()
}

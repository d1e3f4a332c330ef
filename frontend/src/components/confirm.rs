//! Asking before a destructive action.

/// Asks the browser to confirm a destructive action; `false` when the user declines (or the
/// browser cannot ask).
pub fn confirm(message: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.confirm_with_message(message).ok())
        .unwrap_or(false)
}

//! The address bar, for pages whose address follows what they show.

/// Changes the address bar without navigating or adding a history entry: for a page whose
/// address should follow what it shows (a query typed on Explore, a rule just created).
pub fn replace_address(url: &str) {
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url));
    }
}

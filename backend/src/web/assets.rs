//! The web frontend's entry page, loaded once at start-up.

use std::path::Path;

/// The app's entry page, read once at start-up.
#[derive(Clone, Debug)]
pub struct WebAssets {
    pub(super) index_html: Option<String>,
}

impl WebAssets {
    pub fn load(web_dir: Option<&Path>) -> Self {
        let index_html = web_dir.and_then(|dir| {
            let path = dir.join("index.html");
            match std::fs::read_to_string(&path) {
                Ok(html) => Some(html),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "the web frontend is not built; serving a notice instead");
                    None
                }
            }
        });
        WebAssets { index_html }
    }
}

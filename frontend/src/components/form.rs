//! The state every form shares: the server's last error (per field and general), the problems
//! found before sending, and whether a submission is in flight. What was typed lives in the
//! fields' own signals and is kept when the server (or the form) refuses it.

use std::collections::BTreeMap;
use std::future::Future;

use leptos::prelude::*;

use crate::api::{ApiError, ApiResult};

#[derive(Clone, Copy)]
pub struct FormState {
    pub error: RwSignal<Option<ApiError>>,
    /// Problems found before sending (a value that does not parse), by field name; the next
    /// submission clears them.
    pub problems: RwSignal<BTreeMap<String, String>>,
    pub pending: RwSignal<bool>,
}

impl FormState {
    pub fn new() -> Self {
        FormState {
            error: RwSignal::new(None),
            problems: RwSignal::new(BTreeMap::new()),
            pending: RwSignal::new(false),
        }
    }

    /// What is wrong with one field, for showing beside it: the problem found before sending,
    /// else the server's complaint.
    pub fn field(&self, name: impl Into<String>) -> Signal<Option<String>> {
        let (error, problems, name) = (self.error, self.problems, name.into());
        Signal::derive(move || {
            problems
                .with(|p| p.get(&name).cloned())
                .or_else(|| error.with(|e| e.as_ref().and_then(|e| e.field(&name))))
        })
    }

    /// Refuses to send what was typed: `why` is shown beside `field` until the next submission.
    pub fn refuse(&self, field: &str, why: impl Into<String>) {
        self.problems
            .set(BTreeMap::from([(field.to_owned(), why.into())]));
    }

    /// The server's complaints about fields the form does not show beside one (`name: why`,
    /// e.g. `recipients.2` where the form shows `recipients`), for a banner, so that none goes
    /// unseen.
    pub fn elsewhere(&self, shown: &'static [&'static str]) -> Signal<Vec<String>> {
        let error = self.error;
        Signal::derive(move || {
            error.with(|e| {
                e.iter()
                    .flat_map(|e| e.fields.iter())
                    .filter(|(name, _)| !shown.contains(&name.as_str()))
                    .map(|(name, why)| format!("{name}: {why}"))
                    .collect()
            })
        })
    }

    /// An error not about any one field (a conflict, the network), for a banner.
    pub fn general(&self) -> Signal<Option<ApiError>> {
        let error = self.error;
        Signal::derive(move || error.get().filter(|e| e.fields.is_empty()))
    }

    /// Sends `request` unless one is in flight; on success runs `done`, on failure keeps the
    /// error for the fields and banner to show.
    pub fn submit<T: 'static>(
        &self,
        request: impl Future<Output = ApiResult<T>> + 'static,
        done: impl FnOnce(T) + 'static,
    ) {
        if self.pending.get_untracked() {
            return;
        }
        let state = *self;
        state.pending.set(true);
        state.error.set(None);
        state.problems.set(BTreeMap::new());
        leptos::task::spawn_local(async move {
            match request.await {
                Ok(value) => done(value),
                Err(error) => state.error.set(Some(error)),
            }
            state.pending.set(false);
        });
    }
}

impl Default for FormState {
    fn default() -> Self {
        Self::new()
    }
}

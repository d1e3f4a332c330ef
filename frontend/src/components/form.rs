//! The state every form shares: the server's last error (per field and general) and whether
//! a submission is in flight. What was typed lives in the fields' own signals and is kept when
//! the server refuses it.

use std::future::Future;

use leptos::prelude::*;

use crate::api::{ApiError, ApiResult};

#[derive(Clone, Copy)]
pub struct FormState {
    pub error: RwSignal<Option<ApiError>>,
    pub pending: RwSignal<bool>,
}

impl FormState {
    pub fn new() -> Self {
        FormState {
            error: RwSignal::new(None),
            pending: RwSignal::new(false),
        }
    }

    /// The server's complaint about one field, for showing beside it.
    pub fn field(&self, name: &'static str) -> Signal<Option<String>> {
        let error = self.error;
        Signal::derive(move || error.with(|e| e.as_ref().and_then(|e| e.field(name))))
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

//! The on-call area: who is on call now with open incidents and MTTA/MTTR (the on-call
//! dashboard), schedules with their calendar and overrides, and escalation policies.

pub mod overview;
pub mod policies;
pub mod policy_form;
pub mod schedule;
pub mod schedules;

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_router::components::{A, Outlet};
use vigil_shared::Role;
use vigil_shared::directory::DirectoryUser;
use vigil_shared::incident::{EscalationTarget, TargetKind};
use vigil_shared::schedule::{Schedule, Shift};
use wasm_bindgen::prelude::*;

use crate::api::{self, ApiResult};
use crate::components::Loaded;
use crate::session::use_session;
pub use crate::zone::{browser_time_zone, from_local_input, local_input};

#[wasm_bindgen(inline_js = r#"
export function vigilWhen(ms, withDay, withTime) {
  const o = {};
  if (withDay) { o.weekday = 'short'; o.day = 'numeric'; o.month = 'short'; }
  if (withTime) { o.hour = '2-digit'; o.minute = '2-digit'; }
  return new Date(ms).toLocaleString(undefined, o);
}
export function vigilMidnights(count) {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  const out = [d.getTime()];
  for (let i = 0; i < count; i++) { d.setDate(d.getDate() + 1); out.push(d.getTime()); }
  return out.join(',');
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = vigilWhen)]
    fn when_js(ms: f64, with_day: bool, with_time: bool) -> String;
    #[wasm_bindgen(js_name = vigilMidnights)]
    fn midnights_js(count: u32) -> String;
}

fn millis(at: &DateTime<Utc>) -> f64 {
    at.timestamp_millis() as f64
}

/// A moment as people scan it, in their time zone: `Tue, Jan 14, 09:00`.
pub fn when(at: &DateTime<Utc>) -> String {
    when_js(millis(at), true, true)
}

/// A day's name and date, `Tue, Jan 14`, from a local-midnight in milliseconds.
fn day_label(ms: f64) -> String {
    when_js(ms, true, false)
}

/// Local midnights from today's on, `days + 1` of them (daylight-saving days are 23 or 25 h).
fn midnights(days: u32) -> Vec<f64> {
    midnights_js(days)
        .split(',')
        .filter_map(|t| t.parse().ok())
        .collect()
}

/// The people and teams of the installation, loaded once for the whole area (its pages wait
/// for them, so names are known when they render), plus the schedules and channels escalation
/// targets may name (loaded by the pages that need them).
#[derive(Clone, Copy)]
pub struct Directory {
    pub users: RwSignal<Vec<DirectoryUser>>,
    pub teams: RwSignal<Vec<(i64, String)>>,
    pub schedules: RwSignal<Vec<(i64, String)>>,
    pub channels: RwSignal<Vec<(i64, String)>>,
}

impl Directory {
    fn new() -> Self {
        Directory {
            users: RwSignal::new(Vec::new()),
            teams: RwSignal::new(Vec::new()),
            schedules: RwSignal::new(Vec::new()),
            channels: RwSignal::new(Vec::new()),
        }
    }

    /// Reads the people and teams. Pages do without names that cannot be read (they show ids),
    /// so this never fails.
    async fn load_people(self) -> ApiResult<()> {
        if let Ok(list) = api::user_directory().await {
            self.users.set(list.users);
        }
        if let Ok(list) = api::team_directory().await {
            self.teams
                .set(list.teams.into_iter().map(|t| (t.id, t.name)).collect());
        }
        Ok(())
    }

    /// Reloads what escalation targets may name besides people and teams (channels only for
    /// editors, who alone may list them).
    pub async fn load_targets(self, editor: bool) {
        if let Ok(list) = api::list_schedules().await {
            self.schedules.set(
                list.schedules
                    .into_iter()
                    .map(|s| (s.id, s.schedule.name))
                    .collect(),
            );
        }
        if editor && let Ok(list) = api::list_channels().await {
            self.channels
                .set(list.channels.into_iter().map(|c| (c.id, c.name)).collect());
        }
    }

    /// A person's display name (their email if they have none).
    pub fn person(&self, id: i64) -> String {
        self.users.with(|users| {
            users
                .iter()
                .find(|u| u.id == id)
                .map_or_else(|| format!("user #{id}"), person_name)
        })
    }

    /// Who is offered in pickers: enabled users, by name.
    pub fn people(&self) -> Vec<(i64, String)> {
        self.users.with(|users| {
            users
                .iter()
                .filter(|u| !u.disabled)
                .map(|u| (u.id, format!("{} ({})", person_name(u), u.email)))
                .collect()
        })
    }

    /// The choices for one kind of escalation target.
    pub fn targets_of(&self, kind: TargetKind) -> Vec<(i64, String)> {
        match kind {
            TargetKind::User => self.people(),
            TargetKind::Team => self.teams.get(),
            TargetKind::Schedule => self.schedules.get(),
            TargetKind::Channel => self.channels.get(),
        }
    }

    /// A target as a policy shows it: `Eddie Editor`, `team SRE`, `schedule Primary`.
    pub fn target(&self, target: &EscalationTarget) -> String {
        let named = |list: RwSignal<Vec<(i64, String)>>| {
            list.with(|l| {
                l.iter()
                    .find(|(id, _)| *id == target.id)
                    .map(|(_, n)| n.clone())
            })
            .unwrap_or_else(|| format!("#{}", target.id))
        };
        match target.kind {
            TargetKind::User => self.person(target.id),
            TargetKind::Team => format!("team {}", named(self.teams)),
            TargetKind::Schedule => format!("schedule {}", named(self.schedules)),
            TargetKind::Channel => format!("channel {}", named(self.channels)),
        }
    }
}

fn person_name(user: &DirectoryUser) -> String {
    if user.display_name.is_empty() {
        user.email.clone()
    } else {
        user.display_name.clone()
    }
}

pub fn use_directory() -> Directory {
    expect_context::<Directory>()
}

#[component]
pub fn OncallLayout() -> impl IntoView {
    let directory = Directory::new();
    provide_context(directory);
    let people = LocalResource::new(move || directory.load_people());
    view! {
        <section class="page">
            <header class="page-header">
                <h1>"On-call"</h1>
                <nav class="tabs" aria-label="On-call">
                    <A href="/oncall" exact=true>"Overview"</A>
                    <A href="/oncall/schedules">"Schedules"</A>
                    <A href="/oncall/policies">"Escalation policies"</A>
                </nav>
            </header>
            <Loaded resource=people what="people and teams" let:_people>
                <Outlet/>
            </Loaded>
        </section>
    }
}

/// An answer written as HTML text, for read-only tables and the calendar.
pub type Html = ApiResult<String>;

/// A request for HTML text, its type erased.
type HtmlRequest = Box<dyn Fn() -> Pin<Box<dyn Future<Output = Html>>>>;

/// Loads HTML text, again whenever a signal `request` reads changes: one instance of a
/// resource's machinery behind every such request (a resource per kind of answer would cost
/// the WebAssembly several KB each).
pub fn load_html<F: Future<Output = Html> + 'static>(
    request: impl Fn() -> F + 'static,
) -> LocalResource<Html> {
    let erased: HtmlRequest = Box::new(move || Box::pin(request()));
    LocalResource::new(erased)
}

/// Shows what `answer` holds, for read-only tables and the calendar, which are written as HTML
/// text (whatever is inserted goes through [`esc`]): a typed view of the same markup costs the
/// WebAssembly several times more, and these parts have little to click but links, which the
/// router follows wherever they are. One function for all of them, for the same reason.
pub fn html_block(answer: LocalResource<Html>, what: &'static str) -> AnyView {
    view! {
        <Loaded resource=answer what=what let:html>
            <div class="html-block" inner_html=html></div>
        </Loaded>
    }
    .into_any()
}

/// Text made safe to put in HTML, in element content or a quoted attribute.
pub fn esc(text: &str) -> String {
    let mut safe = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => safe.push_str("&amp;"),
            '<' => safe.push_str("&lt;"),
            '>' => safe.push_str("&gt;"),
            '"' => safe.push_str("&quot;"),
            '\'' => safe.push_str("&#39;"),
            c => safe.push(c),
        }
    }
    safe
}

/// Who is on call (from a shift covering now), until when, and whether by override, as HTML.
pub fn on_call_html(directory: &Directory, shift: &Option<Shift>) -> String {
    match shift {
        Some(shift) => format!(
            "<span class=\"oncall-now\"><strong>{}</strong> until {}{}</span>",
            esc(&directory.person(shift.user_id)),
            esc(&when(&shift.ends_at)),
            if shift.is_override {
                " <span class=\"badge override-badge\">override</span>"
            } else {
                ""
            }
        ),
        None => "<span class=\"muted\">Nobody yet (the rotation has not started)</span>".to_owned(),
    }
}

/// Every schedule with the shift covering now, asked one schedule after another (a request
/// per schedule: the API has no list of who is on call everywhere).
pub async fn schedules_on_call() -> ApiResult<Vec<(Schedule, Option<Shift>)>> {
    let schedules = api::list_schedules().await?.schedules;
    let mut on_call = api::on_call_everywhere().await?.on_call;
    Ok(schedules
        .into_iter()
        .map(|schedule| {
            let shift = on_call
                .iter_mut()
                .find(|o| o.schedule_id == schedule.id)
                .and_then(|o| o.shift.take());
            (schedule, shift)
        })
        .collect())
}

/// Whether the logged-in user may change schedules and policies. Read once per page: a role
/// changes only with a new login, which rebuilds the pages.
pub fn is_editor() -> bool {
    use_session()
        .user
        .with_untracked(|u| u.as_ref().is_some_and(|u| u.role.includes(Role::Editor)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_html() {
        assert_eq!(
            esc(r#"<b a='1'>"Tom" & Jerry</b>"#),
            "&lt;b a=&#39;1&#39;&gt;&quot;Tom&quot; &amp; Jerry&lt;/b&gt;"
        );
        assert_eq!(esc("Eddie Editor"), "Eddie Editor");
    }
}

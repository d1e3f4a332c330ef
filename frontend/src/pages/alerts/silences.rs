//! Silences: matchers that mute the alerts they match for a while, with who and why. Responders
//! create and expire them; "Silence" on an alert opens this page with its labels filled in.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use vigil_shared::Role;
use vigil_shared::alerting::{MatchOp, Matcher, Silence, SilenceRequest, SilenceState};

use crate::api::{self, ApiError};
use crate::components::{ErrorBanner, FormState, Loaded, Notice, TextField};
use crate::format;
use crate::session::use_session;

/// A matcher as people write it: `job="checkout"`, `severity!=info`, `instance=~"web-.*"`.
pub fn parse_matcher(text: &str) -> Result<Matcher, String> {
    let text = text.trim();
    let at = text
        .find(['=', '!'])
        .ok_or_else(|| format!("{text:?} needs an operator: = != =~ !~"))?;
    let name = text[..at].trim();
    let valid_name = name
        .chars()
        .enumerate()
        .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
    if name.is_empty() || !valid_name {
        return Err(format!("{name:?} is not a label name"));
    }
    let rest = &text[at..];
    let (op, value) = [
        ("=~", MatchOp::Regex),
        ("!~", MatchOp::NotRegex),
        ("!=", MatchOp::NotEqual),
        ("=", MatchOp::Equal),
    ]
    .into_iter()
    .find_map(|(symbol, op)| rest.strip_prefix(symbol).map(|value| (op, value.trim())))
    .ok_or_else(|| format!("{text:?} needs an operator: = != =~ !~"))?;
    let value = if value.starts_with('"') {
        serde_json::from_str::<String>(value)
            .map_err(|_| format!("the value in {text:?} is not a closed \"string\""))?
    } else {
        value.to_owned()
    };
    Ok(Matcher {
        name: name.to_owned(),
        value,
        op,
    })
}

/// Matchers one per line, blank lines skipped, as the forms take them.
pub fn parse_matchers(text: &str) -> Result<Vec<Matcher>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse_matcher)
        .collect()
}

pub fn show_matcher(m: &Matcher) -> String {
    format!("{}{}{:?}", m.name, m.op.symbol(), m.value)
}

/// Matchers for exactly these labels, one per line, as the form takes them.
fn matcher_lines<'a>(labels: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
    labels
        .into_iter()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The address of this page with matchers for exactly these labels filled in.
pub fn silence_link<'a>(labels: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
    format!(
        "/alerts/silences?matchers={}",
        api::encode_component(&matcher_lines(labels))
    )
}

#[component]
pub fn SilencesPage() -> impl IntoView {
    let session = use_session();
    let silences = LocalResource::new(api::list_silences);
    let notice = RwSignal::new(None::<Result<String, ApiError>>);
    let changed = Callback::new(move |message: Result<String, ApiError>| {
        notice.set(Some(message));
        silences.refetch();
    });

    view! {
        <Show when=move || session.can(Role::Responder)>
            <NewSilenceForm on_created=changed/>
        </Show>
        <div class="card">
            <h2>"Silences"</h2>
            <Notice notice=notice/>
            <Loaded resource=silences what="silences" let:list>
                {match list {
                    list if list.silences.is_empty() => view! { <p class="muted">"No silences."</p> }.into_any(),
                    list => view! {
                        <table class="table" aria-label="Silences">
                            <thead><tr>
                                <th>"State"</th><th>"Matchers"</th><th>"Until"</th><th>"By"</th><th>"Why"</th><th></th>
                            </tr></thead>
                            <tbody>
                                {list.silences.into_iter().map(|silence| view! { <SilenceRow silence=silence on_change=changed/> }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }}
            </Loaded>
        </div>
    }
}

#[component]
fn SilenceRow(silence: Silence, on_change: Callback<Result<String, ApiError>>) -> impl IntoView {
    let session = use_session();
    let (state, class) = match silence.state {
        SilenceState::Active => ("active", "badge badge-ok"),
        SilenceState::Pending => ("pending", "badge state-pending"),
        SilenceState::Expired => ("expired", "badge badge-muted"),
    };
    let id = silence.id.clone();
    let expire = move |_| {
        let id = id.clone();
        leptos::task::spawn_local(async move {
            let result = api::expire_silence(&id)
                .await
                .map(|()| "The silence has ended.".to_owned());
            on_change.run(result);
        });
    };
    let can_expire = silence.state != SilenceState::Expired;
    view! {
        <tr class:disabled=!can_expire>
            <td><span class=class>{state}</span></td>
            <td class="labels">
                {silence.matchers.iter().map(|m| view! { <span class="label-pair">{show_matcher(m)}</span> }).collect_view()}
            </td>
            <td title=format::time(&silence.ends_at)>{format::time(&silence.ends_at)}</td>
            <td>{silence.created_by.clone()}</td>
            <td>{silence.comment.clone()}</td>
            <td>
                <Show when=move || can_expire && session.can(Role::Responder)>
                    <button class="button small" type="button" on:click=expire.clone()>"Expire"</button>
                </Show>
            </td>
        </tr>
    }
}

#[component]
fn NewSilenceForm(on_created: Callback<Result<String, ApiError>>) -> impl IntoView {
    let params = use_query_map();
    let matchers = RwSignal::new(
        params
            .with_untracked(|p| p.get("matchers"))
            .unwrap_or_default(),
    );
    let duration = RwSignal::new("2h".to_owned());
    let comment = RwSignal::new(String::new());
    let form = FormState::new();

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let parsed = match parse_matchers(&matchers.get_untracked()) {
            Ok(parsed) => parsed,
            Err(why) => return form.refuse("matchers", why),
        };
        let Some(seconds) =
            format::duration_seconds(&duration.get_untracked()).filter(|s| *s > 0.0)
        else {
            return form.refuse("duration", "write a duration such as 30m, 2h or 1d");
        };
        let request = SilenceRequest {
            matchers: parsed,
            starts_at: None,
            ends_at: chrono::Utc::now()
                + chrono::TimeDelta::milliseconds((seconds * 1000.0) as i64),
            comment: comment.get_untracked(),
        };
        form.submit(
            async move { api::create_silence(&request).await },
            move |silence| {
                matchers.set(String::new());
                comment.set(String::new());
                on_created.run(Ok(format!(
                    "Silenced {} until {}.",
                    silence
                        .matchers
                        .iter()
                        .map(show_matcher)
                        .collect::<Vec<_>>()
                        .join(", "),
                    format::time(&silence.ends_at)
                )));
            },
        );
    };

    view! {
        <form class="card" aria-label="New silence" on:submit=submit novalidate=true>
            <h2>"New silence"</h2>
            <ErrorBanner error=form.general()/>
            <div class="form-grid">
                <div class="field" class:has-error=move || form.field("matchers").get().is_some()>
                    <label for="field-matchers">"Matchers (one per line)"</label>
                    <textarea id="field-matchers" rows="3" bind:value=matchers placeholder="alertname=\"HighLatency\"\njob=~\"checkout|payments\""></textarea>
                    <p class="field-error">{move || form.field("matchers").get()}</p>
                </div>
                <div>
                    <TextField label="For" name="duration" value=duration error=form.field("duration") hint="From now, e.g. 30m, 2h, 1d."/>
                    <TextField label="Comment" name="comment" value=comment error=form.field("comment") placeholder="Deploying the fix"/>
                </div>
                <div class="form-actions">
                    <button class="button primary" type="submit" disabled=move || form.pending.get()>"Create silence"</button>
                </div>
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_are_read_as_people_write_them() {
        let m = parse_matcher(r#"job="checkout""#).unwrap();
        assert_eq!(
            (m.name.as_str(), m.op, m.value.as_str()),
            ("job", MatchOp::Equal, "checkout")
        );
        let m = parse_matcher(r#" instance =~ "web-.*" "#).unwrap();
        assert_eq!(
            (m.name.as_str(), m.op, m.value.as_str()),
            ("instance", MatchOp::Regex, "web-.*")
        );
        let m = parse_matcher("severity!=info").unwrap();
        assert_eq!((m.op, m.value.as_str()), (MatchOp::NotEqual, "info"));
        let m = parse_matcher(r#"path!~"a\"b""#).unwrap();
        assert_eq!((m.op, m.value.as_str()), (MatchOp::NotRegex, "a\"b"));
        assert!(parse_matcher("job").is_err());
        assert!(parse_matcher(r#"1job="x""#).is_err());
        assert!(parse_matcher(r#"job="open"#).is_err());
    }

    #[test]
    fn an_alerts_labels_become_matchers_that_read_back_the_same() {
        let labels = [
            ("alertname".to_owned(), "Down".to_owned()),
            ("job".to_owned(), "a\"b".to_owned()),
        ];
        let lines = matcher_lines(labels.iter().map(|(k, v)| (k, v)));
        let back: Vec<Matcher> = lines.lines().map(|l| parse_matcher(l).unwrap()).collect();
        assert_eq!(back.len(), 2);
        assert_eq!(
            (back[1].name.as_str(), back[1].value.as_str()),
            ("job", "a\"b")
        );
        assert!(back.iter().all(|m| m.op == MatchOp::Equal));
    }
}

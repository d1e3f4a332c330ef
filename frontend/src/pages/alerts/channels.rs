//! Notification channels (editors): webhook, Slack-compatible webhook and email; a test
//! notification on demand and each channel's delivery log. Secrets are write-only: the form
//! leaves them empty to keep what was saved.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use vigil_shared::Role;
use vigil_shared::notify::{
    Channel, ChannelKind, ChannelRequest, Delivery, DeliveryStatus, SmtpTls,
};

use crate::api::{self, ApiError};
use crate::components::{
    CheckboxField, ErrorBanner, FormState, Loaded, Notice, SelectField, TextField, confirm,
};
use crate::format;
use crate::session::use_session;

#[component]
pub fn ChannelsPage() -> impl IntoView {
    let session = use_session();
    move || {
        if session.can(Role::Editor) {
            view! { <Channels/> }.into_any()
        } else {
            view! { <p class="banner banner-error">"Notification channels need the editor role."</p> }.into_any()
        }
    }
}

#[component]
fn Channels() -> impl IntoView {
    let channels = LocalResource::new(api::list_channels);
    let editing = RwSignal::new(None::<Channel>);
    let notice = RwSignal::new(None::<Result<String, ApiError>>);
    let changed = Callback::new(move |message: Result<String, ApiError>| {
        notice.set(Some(message));
        editing.set(None);
        channels.refetch();
    });

    view! {
        {move || {
            let channel = editing.get();
            view! { <ChannelForm channel=channel on_saved=changed on_cancel=Callback::new(move |()| editing.set(None))/> }
        }}
        <div class="card">
            <h2>"Notification channels"</h2>
            <Notice notice=notice/>
            <Loaded resource=channels what="channels" let:list>
                {match list {
                    list if list.channels.is_empty() => view! { <p class="muted">"No channels yet."</p> }.into_any(),
                    list => view! {
                        <table class="table" aria-label="Notification channels">
                            <thead><tr><th>"Name"</th><th>"Kind"</th><th>"Sends to"</th><th>"Resolved"</th><th></th></tr></thead>
                            <tbody>
                                {list.channels.into_iter().map(|channel| view! {
                                    <ChannelRow channel=channel on_change=changed on_edit=Callback::new(move |c| editing.set(Some(c)))/>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }}
            </Loaded>
        </div>
    }
}

fn status_text(delivery: &Delivery) -> String {
    match delivery.status {
        DeliveryStatus::Sent => "sent".to_owned(),
        DeliveryStatus::Failed => format!(
            "failed after {} attempts: {}",
            delivery.attempts,
            delivery.last_error.clone().unwrap_or_default()
        ),
        DeliveryStatus::Pending => match &delivery.last_error {
            Some(error) => format!("retrying (attempt {} failed: {error})", delivery.attempts),
            None => "waiting to be sent".to_owned(),
        },
    }
}

#[component]
fn ChannelRow(
    channel: Channel,
    on_change: Callback<Result<String, ApiError>>,
    on_edit: Callback<Channel>,
) -> impl IntoView {
    let id = channel.id;
    let name = channel.name.clone();
    let testing = RwSignal::new(false);
    let test_failed = RwSignal::new(None::<ApiError>);
    // The delivery log, once asked for; read again after each test.
    let log_shown = RwSignal::new(false);
    let log_version = RwSignal::new(0_u32);
    let show_log = move || {
        test_failed.set(None);
        log_shown.set(true);
        log_version.update(|v| *v += 1);
    };
    let send_test = move |_| {
        testing.set(true);
        leptos::task::spawn_local(async move {
            let result = api::test_channel(id).await;
            testing.set(false);
            match result {
                Ok(_) => show_log(),
                Err(error) => test_failed.set(Some(error)),
            }
        });
    };
    let delete_name = name.clone();
    let delete = move |_| {
        if !confirm(&format!(
            "Delete the channel {delete_name}? Rules stop sending to it."
        )) {
            return;
        }
        let name = delete_name.clone();
        leptos::task::spawn_local(async move {
            on_change.run(
                api::delete_channel(id)
                    .await
                    .map(|()| format!("Deleted {name}.")),
            );
        });
    };
    let edit_channel = channel.clone();
    view! {
        <tr>
            <td><strong>{name.clone()}</strong></td>
            <td>{channel.kind.as_str()}</td>
            <td class="details">{channel.target.clone()}</td>
            <td>{if channel.send_resolved { "yes" } else { "no" }}</td>
            <td class="row-actions">
                <button class="button small" type="button" on:click=move |_| on_edit.run(edit_channel.clone())>"Edit"</button>
                <button class="button small" type="button" disabled=move || testing.get() on:click=send_test>
                    {move || if testing.get() { "Sending…" } else { "Send test" }}
                </button>
                <button class="button small" type="button" on:click=move |_| show_log()>"Delivery log"</button>
                <button class="button small danger" type="button" on:click=delete>"Delete"</button>
            </td>
        </tr>
        {move || (log_shown.get() || test_failed.with(Option::is_some)).then(|| {
            let name = name.clone();
            view! {
                <tr class="delivery-log">
                    <td colspan="5">
                        <ErrorBanner error=test_failed/>
                        {move || log_shown.get().then(|| view! { <DeliveryLog channel=id name=name.clone() version=log_version/> })}
                    </td>
                </tr>
            }
        })}
    }
}

/// What a channel sent, newest first; read again when `version` changes.
#[component]
fn DeliveryLog(channel: i64, name: String, version: RwSignal<u32>) -> impl IntoView {
    let log = LocalResource::new(move || {
        version.track();
        api::channel_deliveries(channel)
    });
    view! {
        <Loaded resource=log what="deliveries" let:log>
            {match log.deliveries {
                deliveries if deliveries.is_empty() => view! { <p class="muted">"Nothing sent yet."</p> }.into_any(),
                deliveries => view! {
                    <table class="table" aria-label=format!("Deliveries of {name}")>
                        <thead><tr><th>"When"</th><th>"Why"</th><th>"What"</th><th>"Outcome"</th></tr></thead>
                        <tbody>
                            {deliveries.into_iter().map(|d| view! {
                                <tr>
                                    <td>{format::time(&d.created_at)}</td>
                                    <td>{d.reason.clone()}</td>
                                    <td>{d.title.clone()}</td>
                                    <td class=match d.status { DeliveryStatus::Sent => "ok-text", DeliveryStatus::Failed => "danger-text", DeliveryStatus::Pending => "" }>{status_text(&d)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }}
        </Loaded>
    }
}

#[component]
fn ChannelForm(
    channel: Option<Channel>,
    on_saved: Callback<Result<String, ApiError>>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let id = channel.as_ref().map(|c| c.id);
    let existing = channel.clone();
    let name = RwSignal::new(channel.as_ref().map(|c| c.name.clone()).unwrap_or_default());
    let kind = RwSignal::new(
        channel
            .as_ref()
            .map_or("webhook", |c| c.kind.as_str())
            .to_owned(),
    );
    let send_resolved = RwSignal::new(channel.as_ref().is_none_or(|c| c.send_resolved));
    let url = RwSignal::new(String::new());
    let hmac_secret = RwSignal::new(String::new());
    let to = RwSignal::new(
        channel
            .as_ref()
            .map(|c| c.to.join(", "))
            .unwrap_or_default(),
    );
    let from = RwSignal::new(channel.as_ref().map(|c| c.from.clone()).unwrap_or_default());
    let smtp_host = RwSignal::new(
        channel
            .as_ref()
            .map(|c| c.smtp_host.clone())
            .unwrap_or_default(),
    );
    let smtp_port = RwSignal::new(
        channel
            .as_ref()
            .and_then(|c| c.smtp_port)
            .map(|p| p.to_string())
            .unwrap_or_default(),
    );
    let smtp_username = RwSignal::new(
        channel
            .as_ref()
            .map(|c| c.smtp_username.clone())
            .unwrap_or_default(),
    );
    let smtp_password = RwSignal::new(String::new());
    let smtp_tls = RwSignal::new(
        match channel.as_ref().map_or(SmtpTls::Starttls, |c| c.smtp_tls) {
            SmtpTls::None => "none",
            SmtpTls::Starttls => "starttls",
            SmtpTls::Tls => "tls",
        }
        .to_owned(),
    );
    let form = FormState::new();
    let set_hint = move |set: bool, what: &str| {
        if set {
            format!("Saved; leave empty to keep the current {what}.")
        } else {
            String::new()
        }
    };
    let url_hint = set_hint(existing.as_ref().is_some_and(|c| c.url_set), "URL");
    let hmac_hint = if existing.as_ref().is_some_and(|c| c.hmac_secret_set) {
        set_hint(true, "secret")
    } else {
        "Optional: signs each body in X-Vigil-Signature (HMAC-SHA256).".to_owned()
    };
    let password_hint = set_hint(
        existing.as_ref().is_some_and(|c| c.smtp_password_set),
        "password",
    );
    // Kept in the arena so the conditional parts of the form can read them on every redraw.
    let (url_hint, hmac_hint, password_hint) = (
        StoredValue::new(url_hint),
        StoredValue::new(hmac_hint),
        StoredValue::new(password_hint),
    );

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let request = ChannelRequest {
            name: name.get_untracked().trim().to_owned(),
            kind: match kind.get_untracked().as_str() {
                "slack" => Some(ChannelKind::Slack),
                "email" => Some(ChannelKind::Email),
                _ => Some(ChannelKind::Webhook),
            },
            send_resolved: send_resolved.get_untracked(),
            url: url.get_untracked().trim().to_owned(),
            hmac_secret: hmac_secret.get_untracked(),
            to: to
                .get_untracked()
                .split([',', '\n'])
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
            from: from.get_untracked().trim().to_owned(),
            smtp_host: smtp_host.get_untracked().trim().to_owned(),
            smtp_port: smtp_port.get_untracked().trim().parse().ok(),
            smtp_username: smtp_username.get_untracked(),
            smtp_password: smtp_password.get_untracked(),
            smtp_tls: match smtp_tls.get_untracked().as_str() {
                "none" => SmtpTls::None,
                "tls" => SmtpTls::Tls,
                _ => SmtpTls::Starttls,
            },
        };
        form.submit(
            async move {
                match id {
                    Some(id) => api::update_channel(id, &request).await,
                    None => api::create_channel(&request).await,
                }
            },
            move |channel| on_saved.run(Ok(format!("Saved channel {}.", channel.name))),
        );
    };
    let kinds = vec![
        (
            "webhook".to_owned(),
            "Webhook (Alertmanager JSON)".to_owned(),
        ),
        ("slack".to_owned(), "Slack-compatible webhook".to_owned()),
        ("email".to_owned(), "Email (SMTP)".to_owned()),
    ];
    let tls_options = vec![
        ("starttls".to_owned(), "STARTTLS (587)".to_owned()),
        ("tls".to_owned(), "TLS (465)".to_owned()),
        ("none".to_owned(), "None (plain relay)".to_owned()),
    ];
    let tls_options = StoredValue::new(tls_options);
    let is_email = move || kind.get() == "email";

    view! {
        <form class="card" aria-label="Notification channel" on:submit=submit novalidate=true>
            <h2>{if id.is_some() { "Edit channel" } else { "New channel" }}</h2>
            <ErrorBanner error=form.general()/>
            <div class="form-grid">
                <TextField label="Name" name="channel-name" value=name error=form.field("name")/>
                <SelectField label="Kind" name="kind" value=kind options=kinds error=form.field("kind")/>
            </div>
            <Show when=move || !is_email()>
                <div class="form-grid">
                    <TextField label="URL" name="url" value=url error=form.field("url") input_type="password" autocomplete="off" hint=url_hint.get_value()/>
                    <Show when=move || kind.get() == "webhook">
                        <TextField label="Signing secret" name="hmac_secret" value=hmac_secret error=form.field("hmac_secret") input_type="password" autocomplete="off" hint=hmac_hint.get_value()/>
                    </Show>
                </div>
            </Show>
            <Show when=is_email>
                <div class="form-grid">
                    <TextField label="To (comma-separated)" name="to" value=to error=form.field("to")/>
                    <TextField label="From" name="from" value=from error=form.field("from")/>
                    <TextField label="SMTP host" name="smtp_host" value=smtp_host error=form.field("smtp_host")/>
                    <TextField label="SMTP port" name="smtp_port" value=smtp_port error=form.field("smtp_port") placeholder="587"/>
                    <TextField label="SMTP username" name="smtp_username" value=smtp_username error=form.field("smtp_username") autocomplete="off"/>
                    <TextField label="SMTP password" name="smtp_password" value=smtp_password error=form.field("smtp_password") input_type="password" autocomplete="off" hint=password_hint.get_value()/>
                    <SelectField label="Encryption" name="smtp_tls" value=smtp_tls options=tls_options.get_value()/>
                </div>
            </Show>
            <CheckboxField label="Also notify when alerts resolve" name="send_resolved" checked=send_resolved/>
            <div class="form-actions">
                <button class="button primary" type="submit" disabled=move || form.pending.get()>"Save channel"</button>
                {id.is_some().then(|| view! { <button class="button" type="button" on:click=move |_| on_cancel.run(())>"Cancel"</button> })}
            </div>
        </form>
    }
}

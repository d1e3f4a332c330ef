//! The alert rule form (`/alerts/rules/new`, `/alerts/rules/{id}`): a query written by hand or
//! with the builder (`components::QueryBuilder`), or brought from a dashboard panel
//! (`/alerts/rules/new?query=…`), warning and critical thresholds, timing and annotations — and a preview
//! chart of the query over the last hours with the threshold lines and the spans where the
//! rule would have been pending or firing. The chart redraws as thresholds are typed; the
//! query is re-run (after a pause in typing) when it changes.

use std::collections::BTreeMap;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use vigil_shared::Role;
use vigil_shared::alerting::{
    AlertRule, AlertRuleRequest, Comparison, ErrorState, NoDataState, PreviewRule, PreviewState,
    RuleAnnotations, Severity, preview,
};
use vigil_shared::prometheus::QueryData;

use crate::api;
use crate::components::{
    ChannelPicker, ChartData, ChartSeries, ErrorBanner, FormState, Loaded, MAX_SERIES,
    PromqlEditor, QueryBuilder, SelectField, ShadedSpan, TextField, ThresholdLine, TimeSeriesChart,
    confirm, now, replace_address, warn_before_leaving,
};
use crate::format;
use crate::session::use_session;

const WARNING_COLOR: &str = "#e08a00";
const CRITICAL_COLOR: &str = "#d62839";
const PENDING_COLOR: &str = "#f2c14e";

/// Preview windows: seconds, label.
const PREVIEW_RANGES: [(u32, &str); 5] = [
    (3_600, "Last 1 hour"),
    (10_800, "Last 3 hours"),
    (21_600, "Last 6 hours"),
    (43_200, "Last 12 hours"),
    (86_400, "Last 24 hours"),
];

/// Everything the form holds, as typed.
#[derive(Clone, Copy)]
struct Fields {
    name: RwSignal<String>,
    group: RwSignal<String>,
    description: RwSignal<String>,
    query: RwSignal<String>,
    comparison: RwSignal<String>,
    warning: RwSignal<String>,
    critical: RwSignal<String>,
    for_duration: RwSignal<String>,
    interval: RwSignal<String>,
    keep_firing_for: RwSignal<String>,
    no_data_state: RwSignal<String>,
    error_state: RwSignal<String>,
    labels: RwSignal<String>,
    summary: RwSignal<String>,
    annotation_description: RwSignal<String>,
    runbook_url: RwSignal<String>,
    channels: RwSignal<Vec<i64>>,
    /// The policy's id, or empty for none.
    escalation_policy: RwSignal<String>,
    incident_group_by: RwSignal<String>,
    enabled: RwSignal<bool>,
}

fn no_data_name(state: NoDataState) -> &'static str {
    match state {
        NoDataState::Ok => "ok",
        NoDataState::Alerting => "alerting",
        NoDataState::Keep => "keep",
    }
}

fn error_state_name(state: ErrorState) -> &'static str {
    match state {
        ErrorState::Alerting => "alerting",
        ErrorState::Ok => "ok",
        ErrorState::Keep => "keep",
    }
}

fn threshold_text(value: Option<f64>) -> String {
    value.map(format::value).unwrap_or_default()
}

impl Fields {
    fn new() -> Self {
        Fields {
            name: RwSignal::new(String::new()),
            group: RwSignal::new("default".to_owned()),
            description: RwSignal::new(String::new()),
            query: RwSignal::new(String::new()),
            comparison: RwSignal::new(">".to_owned()),
            warning: RwSignal::new(String::new()),
            critical: RwSignal::new(String::new()),
            for_duration: RwSignal::new("5m".to_owned()),
            interval: RwSignal::new("1m".to_owned()),
            keep_firing_for: RwSignal::new("0s".to_owned()),
            no_data_state: RwSignal::new("ok".to_owned()),
            error_state: RwSignal::new("alerting".to_owned()),
            labels: RwSignal::new(String::new()),
            summary: RwSignal::new(String::new()),
            annotation_description: RwSignal::new(String::new()),
            runbook_url: RwSignal::new(String::new()),
            channels: RwSignal::new(Vec::new()),
            escalation_policy: RwSignal::new(String::new()),
            incident_group_by: RwSignal::new(String::new()),
            enabled: RwSignal::new(true),
        }
    }

    fn fill(&self, rule: &AlertRuleRequest) {
        self.name.set(rule.name.clone());
        self.group.set(rule.group.clone());
        self.description.set(rule.description.clone());
        self.query.set(rule.query.clone());
        self.comparison.set(rule.comparison.symbol().to_owned());
        self.warning.set(threshold_text(rule.warning_threshold));
        self.critical.set(threshold_text(rule.critical_threshold));
        self.for_duration.set(rule.for_duration.clone());
        self.interval.set(rule.interval.clone());
        self.keep_firing_for.set(rule.keep_firing_for.clone());
        self.no_data_state
            .set(no_data_name(rule.no_data_state).to_owned());
        self.error_state
            .set(error_state_name(rule.error_state).to_owned());
        self.labels.set(
            rule.labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("\n"),
        );
        self.summary.set(rule.annotations.summary.clone());
        self.annotation_description
            .set(rule.annotations.description.clone());
        self.runbook_url.set(rule.annotations.runbook_url.clone());
        self.channels.set(rule.notification_channel_ids.clone());
        self.escalation_policy.set(
            rule.escalation_policy_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
        );
        self.incident_group_by
            .set(rule.incident_group_by.join(", "));
        self.enabled.set(rule.enabled);
    }

    /// The request the fields make, or the fields that cannot be sent as typed.
    fn request(&self) -> Result<AlertRuleRequest, BTreeMap<String, String>> {
        let mut problems = BTreeMap::new();
        let mut threshold = |field: &str, text: String| -> Option<f64> {
            let text = text.trim().to_owned();
            if text.is_empty() {
                return None;
            }
            match text.parse::<f64>() {
                Ok(value) if value.is_finite() => Some(value),
                _ => {
                    problems.insert(field.to_owned(), format!("{text:?} is not a number"));
                    None
                }
            }
        };
        let warning_threshold = threshold("warning_threshold", self.warning.get_untracked());
        let critical_threshold = threshold("critical_threshold", self.critical.get_untracked());
        let mut labels = BTreeMap::new();
        for line in self.labels.get_untracked().lines() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match line.split_once('=') {
                Some((k, v)) => {
                    labels.insert(k.trim().to_owned(), v.trim().to_owned());
                }
                None => {
                    problems.insert(
                        "labels".to_owned(),
                        format!("write one name=value per line ({line:?} has no =)"),
                    );
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(AlertRuleRequest {
            name: self.name.get_untracked().trim().to_owned(),
            group: self.group.get_untracked().trim().to_owned(),
            description: self.description.get_untracked(),
            query: self.query.get_untracked().trim().to_owned(),
            comparison: Comparison::parse(&self.comparison.get_untracked())
                .unwrap_or(Comparison::Above),
            warning_threshold,
            critical_threshold,
            for_duration: self.for_duration.get_untracked().trim().to_owned(),
            interval: self.interval.get_untracked().trim().to_owned(),
            keep_firing_for: self.keep_firing_for.get_untracked().trim().to_owned(),
            no_data_state: match self.no_data_state.get_untracked().as_str() {
                "alerting" => NoDataState::Alerting,
                "keep" => NoDataState::Keep,
                _ => NoDataState::Ok,
            },
            error_state: match self.error_state.get_untracked().as_str() {
                "ok" => ErrorState::Ok,
                "keep" => ErrorState::Keep,
                _ => ErrorState::Alerting,
            },
            labels,
            annotations: RuleAnnotations {
                summary: self.summary.get_untracked(),
                description: self.annotation_description.get_untracked(),
                runbook_url: self.runbook_url.get_untracked().trim().to_owned(),
            },
            notification_channel_ids: self.channels.get_untracked(),
            escalation_policy_id: self.escalation_policy.get_untracked().parse().ok(),
            incident_group_by: self
                .incident_group_by
                .get_untracked()
                .split([',', ' '])
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            enabled: self.enabled.get_untracked(),
        })
    }

    /// A fingerprint of what was typed, to tell whether there are unsaved changes.
    fn snapshot(&self) -> String {
        [
            self.name.get(),
            self.group.get(),
            self.description.get(),
            self.query.get(),
            self.comparison.get(),
            self.warning.get(),
            self.critical.get(),
            self.for_duration.get(),
            self.interval.get(),
            self.keep_firing_for.get(),
            self.no_data_state.get(),
            self.error_state.get(),
            self.labels.get(),
            self.summary.get(),
            self.annotation_description.get(),
            self.runbook_url.get(),
            format!("{:?}", self.channels.get()),
            self.escalation_policy.get(),
            self.incident_group_by.get(),
            self.enabled.get().to_string(),
        ]
        .join("\u{1f}")
    }
}

#[component]
pub fn RuleFormPage() -> impl IntoView {
    let params = use_params_map();
    let id = params.with_untracked(|p| p.get("id").and_then(|id| id.parse::<i64>().ok()));
    match id {
        None => view! { <RuleForm rule=None/> }.into_any(),
        Some(id) => {
            let rule = LocalResource::new(move || api::get_alert_rule(id));
            view! {
                <Loaded resource=rule what="the rule" let:rule>
                    <RuleForm rule=Some(rule)/>
                </Loaded>
            }
            .into_any()
        }
    }
}

#[component]
fn RuleForm(rule: Option<AlertRule>) -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    // The burn-rate rules an SLO generates change only with their SLO.
    let generated_by = rule.as_ref().and_then(|r| r.slo_id);
    let can_edit = move || session.can(Role::Editor) && generated_by.is_none();
    let fields = Fields::new();
    let rule_id = RwSignal::new(rule.as_ref().map(|r| r.id));
    if let Some(rule) = &rule {
        fields.fill(&rule.rule);
    }
    let saved = RwSignal::new(fields.snapshot());
    // A query brought from a dashboard panel counts as unsaved.
    if rule.is_none()
        && let Some(query) = use_query_map().with_untracked(|p| p.get("query"))
    {
        fields.query.set(query);
    }
    let dirty = Memo::new(move |_| fields.snapshot() != saved.get());
    warn_before_leaving(
        dirty,
        "This rule has unsaved changes. Leave without saving?",
    );

    let form = FormState::new();
    let notice = RwSignal::new(None::<String>);
    let field = move |name: &'static str| form.field(name);

    // The preview: series over the chosen window, re-fetched when the query, window or
    // interval change (after a pause in typing); thresholds only redraw.
    let preview_range = RwSignal::new(10_800_u32);
    let fetched = RwSignal::new(None::<(f64, f64, f64, Vec<ChartSeries>)>);
    let preview_error = RwSignal::new(None::<String>);
    let previewing = RwSignal::new(false);
    let generation = StoredValue::new(0_u64);
    Effect::new(move |_| {
        let query = fields.query.get().trim().to_owned();
        let seconds = f64::from(preview_range.get());
        let interval = format::duration_seconds(&fields.interval.get()).unwrap_or(60.0);
        generation.update_value(|g| *g += 1);
        let this_fetch = generation.get_value();
        if query.is_empty() {
            fetched.set(None);
            preview_error.set(None);
            return;
        }
        set_timeout(
            move || {
                if generation.try_get_value() != Some(this_fetch) {
                    return;
                }
                let end = now().floor();
                let start = end - seconds;
                // One point per evaluation, as the evaluator would run — but at most ~2,000.
                let step = interval.max((seconds / 2_000.0).ceil()).max(1.0);
                previewing.set(true);
                leptos::task::spawn_local(async move {
                    let result = api::query_range(&query, start, end, step).await;
                    if generation.try_get_value() != Some(this_fetch) {
                        return;
                    }
                    previewing.set(false);
                    match result {
                        Ok(QueryData::Matrix(series)) => {
                            preview_error.set(None);
                            let series = series
                                .iter()
                                .take(MAX_SERIES)
                                .map(|s| ChartSeries {
                                    name: format::series_name(&s.metric),
                                    points: s.values.iter().map(|p| (p.0, p.value())).collect(),
                                })
                                .collect();
                            fetched.set(Some((start, end, step, series)));
                        }
                        Ok(_) => preview_error.set(Some(
                            "The preview needs a query that returns series.".to_owned(),
                        )),
                        Err(error) => {
                            preview_error.set(Some(error.message));
                            fetched.set(None);
                        }
                    }
                });
            },
            std::time::Duration::from_millis(400),
        );
    });
    let number = |text: String| text.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    let chart = Memo::new(move |_| {
        let Some((start, end, step, series)) = fetched.get() else {
            return ChartData::default();
        };
        let comparison = Comparison::parse(&fields.comparison.get()).unwrap_or(Comparison::Above);
        let warning = number(fields.warning.get());
        let critical = number(fields.critical.get());
        let rule = PreviewRule {
            comparison,
            warning,
            critical,
            for_seconds: format::duration_seconds(&fields.for_duration.get()).unwrap_or(0.0),
            keep_firing_for_seconds: format::duration_seconds(&fields.keep_firing_for.get())
                .unwrap_or(0.0),
        };
        let points: Vec<Vec<(f64, f64)>> = series.iter().map(|s| s.points.clone()).collect();
        let spans = preview(&rule, &points, step)
            .into_iter()
            .map(|span| ShadedSpan {
                from: span.from,
                to: span.to,
                color: match span.state {
                    PreviewState::Pending => PENDING_COLOR,
                    PreviewState::Firing(Severity::Critical) => CRITICAL_COLOR,
                    PreviewState::Firing(_) => WARNING_COLOR,
                },
            })
            .collect();
        let mut thresholds = Vec::new();
        if let Some(value) = warning {
            thresholds.push(ThresholdLine {
                name: format!("warning {} {}", comparison.symbol(), format::value(value)),
                value,
                color: WARNING_COLOR,
            });
        }
        if let Some(value) = critical {
            thresholds.push(ThresholdLine {
                name: format!("critical {} {}", comparison.symbol(), format::value(value)),
                value,
                color: CRITICAL_COLOR,
            });
        }
        ChartData {
            start,
            end,
            step,
            series,
            thresholds,
            spans,
        }
    });
    let firing_summary = move || {
        let data = chart.get();
        if data.series.is_empty() {
            return String::new();
        }
        let minutes = |color: &str| -> f64 {
            let seconds: f64 = data
                .spans
                .iter()
                .filter(|s| s.color == color)
                .fold(0.0, |total, s| total + (s.to - s.from));
            (seconds / 60.0).round()
        };
        let parts: Vec<String> = [
            (CRITICAL_COLOR, "firing critical"),
            (WARNING_COLOR, "firing warning"),
            (PENDING_COLOR, "pending"),
        ]
        .into_iter()
        .filter_map(|(color, what)| {
            let m = minutes(color);
            (m > 0.0).then(|| format!("{what} for {m} min"))
        })
        .collect();
        if parts.is_empty() {
            "Would not have fired in this window.".to_owned()
        } else {
            format!("Would have been {} in this window.", parts.join(", "))
        }
    };

    let query_error = {
        let server = form.field("query");
        Signal::derive(move || server.get().or_else(|| preview_error.get()))
    };

    let navigate = StoredValue::new_local(navigate);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        let request = match fields.request() {
            Ok(request) => request,
            Err(problems) => return form.problems.set(problems),
        };
        let id = rule_id.get_untracked();
        form.submit(
            async move {
                match id {
                    Some(id) => api::replace_alert_rule(id, &request).await,
                    None => api::create_alert_rule(&request).await,
                }
            },
            move |rule| {
                saved.set(fields.snapshot());
                notice.set(Some(format!("Saved rule {}.", rule.rule.name)));
                if rule_id.get_untracked().is_none() {
                    rule_id.set(Some(rule.id));
                    // Stay on this page (and keep its notice); only the address changes.
                    replace_address(&format!("/alerts/rules/{}", rule.id));
                }
            },
        );
    };
    let delete = move |_| {
        let Some(id) = rule_id.get_untracked() else {
            return;
        };
        if !confirm(&format!(
            "Delete the rule {}? Its alerts end.",
            fields.name.get_untracked()
        )) {
            return;
        }
        form.submit(async move { api::delete_alert_rule(id).await }, move |()| {
            saved.set(fields.snapshot());
            navigate.with_value(|navigate| navigate("/alerts/rules", Default::default()));
        });
    };

    let comparisons: Vec<(String, String)> = Comparison::ALL
        .iter()
        .map(|c| (c.symbol().to_owned(), c.symbol().to_owned()))
        .collect();
    let escalation_policies = LocalResource::new(|| async {
        let mut options = vec![(String::new(), "None".to_owned())];
        if let Ok(list) = api::escalation_policy_names().await {
            options.extend(list.into_iter().map(|p| (p.id.to_string(), p.name)));
        }
        options
    });
    let no_data_options = vec![
        ("ok".to_owned(), "OK: resolve alerts".to_owned()),
        (
            "alerting".to_owned(),
            "Alerting: fire a no-data alert".to_owned(),
        ),
        ("keep".to_owned(), "Keep the last state".to_owned()),
    ];
    let error_options = vec![
        (
            "alerting".to_owned(),
            "Alerting: fire an error alert".to_owned(),
        ),
        ("ok".to_owned(), "OK: resolve alerts".to_owned()),
        ("keep".to_owned(), "Keep the last state".to_owned()),
    ];
    let title = move || match rule_id.get() {
        Some(_) => format!("Rule: {}", fields.name.get()),
        None => "New alert rule".to_owned(),
    };

    view! {
        <form class="rule-form" aria-label="Alert rule" on:submit=submit novalidate=true>
            <div class="card-header">
                <h2>{title}</h2>
                <Show when=move || dirty.get() && can_edit()>
                    <span class="badge" role="status">"Unsaved changes"</span>
                </Show>
            </div>
            {move || notice.get().map(|n| view! { <div class="banner banner-ok" role="status">{n}</div> })}
            <ErrorBanner error=form.general()/>
            {match generated_by {
                Some(slo) => view! {
                    <p class="banner">
                        "This rule is generated by an SLO and changes with it: "
                        <a href=format!("/slos/{slo}")>"open the SLO"</a>"."
                    </p>
                }.into_any(),
                None => view! {
                    {move || (!can_edit()).then(|| view! { <p class="banner">"You can read this rule; changing it needs the editor role."</p> })}
                }.into_any(),
            }}
            <fieldset class="form-fieldset" disabled=move || !can_edit()>
                <div class="card">
                    <h3>"Query"</h3>
                    <QueryBuilder query=fields.query/>
                    <PromqlEditor
                        value=fields.query
                        on_run=Callback::new(|()| {})
                        error=query_error
                        id="field-rule-query"
                        placeholder="sum by (job) (rate(http_requests_total{status=~\"5..\"}[5m]))"
                    />
                    <div class="form-grid thresholds">
                        <SelectField label="Condition" name="comparison" value=fields.comparison options=comparisons/>
                        <TextField label="Warning threshold" name="warning_threshold" value=fields.warning error=field("warning_threshold") placeholder="e.g. 0.5"/>
                        <TextField label="Critical threshold" name="critical_threshold" value=fields.critical error=field("critical_threshold") placeholder="e.g. 1"/>
                    </div>
                </div>
                <div class="card preview-card">
                    <div class="card-header">
                        <h3>"Preview"</h3>
                        <div class="field inline">
                            <label for="field-preview-range">"Window"</label>
                            <select
                                id="field-preview-range"
                                on:change=move |ev| preview_range.set(event_target_value(&ev).parse().unwrap_or(10_800))
                                prop:value=move || preview_range.get().to_string()
                            >
                                {PREVIEW_RANGES.iter().map(|(s, label)| view! { <option value=s.to_string()>{*label}</option> }).collect_view()}
                            </select>
                        </div>
                    </div>
                    <p class="muted" role="status">
                        {move || if previewing.get() {
                            "Running the query…".to_owned()
                        } else if fields.query.with(|q| q.trim().is_empty()) {
                            "Write a query to see it here with its thresholds.".to_owned()
                        } else {
                            firing_summary()
                        }}
                    </p>
                    <div class="preview-legend muted">
                        <span><i class="swatch" style=format!("background:{PENDING_COLOR}")></i>"pending"</span>
                        <span><i class="swatch" style=format!("background:{WARNING_COLOR}")></i>"firing, warning"</span>
                        <span><i class="swatch" style=format!("background:{CRITICAL_COLOR}")></i>"firing, critical"</span>
                    </div>
                    <TimeSeriesChart data=chart.into() label="Rule preview: the query with its thresholds"/>
                </div>
                <div class="card">
                    <h3>"Rule"</h3>
                    <div class="form-grid">
                        <TextField label="Name" name="name" value=fields.name error=field("name") required=true/>
                        <TextField label="Group" name="group" value=fields.group error=field("group")/>
                        <TextField label="Description" name="description" value=fields.description error=field("description")/>
                        <TextField label="Pending for (for)" name="for" value=fields.for_duration error=field("for") hint="How long the condition must hold before firing, e.g. 5m."/>
                        <TextField label="Evaluate every" name="interval" value=fields.interval error=field("interval")/>
                        <TextField label="Keep firing for" name="keep_firing_for" value=fields.keep_firing_for error=field("keep_firing_for")/>
                        <SelectField label="When the query returns nothing" name="no_data_state" value=fields.no_data_state options=no_data_options/>
                        <SelectField label="When the query fails" name="error_state" value=fields.error_state options=error_options/>
                        {move || escalation_policies.get().map(|options| view! {
                            <SelectField label="Escalation policy" name="escalation_policy_id" value=fields.escalation_policy options=options error=field("escalation_policy_id")/>
                        })}
                        <TextField label="Split incidents by" name="incident_group_by" value=fields.incident_group_by error=field("incident_group_by") hint="Labels, comma-separated; empty: one incident per rule."/>
                    </div>
                    <div class="field" class:has-error=move || field("labels").get().is_some()>
                        <label for="field-labels">"Labels (one name=value per line)"</label>
                        <textarea id="field-labels" rows="2" bind:value=fields.labels placeholder="team=payments"></textarea>
                        <p class="field-error">{move || field("labels").get()}</p>
                    </div>
                </div>
                <div class="card">
                    <h3>"Annotations"</h3>
                    <p class="muted">"Templates such as " <code>"{{ $labels.job }}"</code> ", " <code>"{{ $value }}"</code> " and " <code>"{{ humanize $value }}"</code> " are filled in when the alert fires."</p>
                    <TextField label="Summary" name="annotations.summary" value=fields.summary error=field("annotations.summary") placeholder="{{ $labels.job }} error rate is {{ humanize $value }}"/>
                    <TextField label="Details" name="annotations.description" value=fields.annotation_description error=field("annotations.description")/>
                    <TextField label="Runbook URL" name="annotations.runbook_url" value=fields.runbook_url error=field("annotations.runbook_url")/>
                    <label class="checkbox"><input type="checkbox" bind:checked=fields.enabled/>" Enabled"</label>
                </div>
                <ChannelPicker chosen=fields.channels/>
            </fieldset>
            <Show when=can_edit>
                <div class="form-actions sticky-actions">
                    <button class="button primary" type="submit" disabled=move || form.pending.get()>
                        {move || if form.pending.get() { "Saving…" } else { "Save rule" }}
                    </button>
                    <a class="button" href="/alerts/rules">"Back to rules"</a>
                    <Show when=move || rule_id.get().is_some()>
                        <button class="button danger" type="button" on:click=delete>"Delete rule"</button>
                    </Show>
                </div>
            </Show>
        </form>
    }
}

//! Grafana import: the real "Node Exporter Full" export converted (panel and variable
//! counts, the report), and `POST /api/v1/dashboards/import` per role.

use std::collections::BTreeMap;

use serde_json::Value;
use vigil::dashboards::grafana::{self, Format};
use vigil_shared::dashboard::vars;
use vigil_shared::dashboard::{DrawStyle, PanelKind, Tooltip, VariableSource};

/// "Node Exporter Full" as Grafana exports it (test data beside the repository, never copied
/// into the product).
fn node_exporter_full() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/grafana/node-exporter-full.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("the fixture is JSON")
}

#[test]
fn node_exporter_full_converts_every_panel_row_and_query_variable() {
    let json = node_exporter_full();
    assert_eq!(grafana::detect(&json), Some(Format::Grafana));
    let converted = grafana::convert(&json).expect("converts");
    let model = &converted.model;
    assert_eq!(converted.uid.as_deref(), Some("rYdddlPWk"));
    assert_eq!(model.title, "Node Exporter Full");
    assert_eq!(model.tags, ["linux"]);
    assert_eq!(model.time.range, "24h");
    assert_eq!(model.time.refresh.as_deref(), Some("1m"));
    assert_eq!(model.tooltip, Tooltip::SharedCrosshair);
    assert_eq!(model.links.len(), 2);

    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for panel in model.panels.values() {
        *kinds.entry(panel.kind.label()).or_default() += 1;
    }
    assert_eq!(model.panels.len(), 125);
    assert_eq!(
        kinds,
        BTreeMap::from([
            ("Time series", 111),
            ("Gauge", 5),
            ("Stat", 5),
            ("Bar gauge", 4)
        ])
    );

    // 16 rows, 14 of them collapsed with their panels nested; every panel placed once.
    assert_eq!(model.layout.len(), 16);
    assert!(model.layout.iter().all(|section| section.title.is_some()));
    assert_eq!(model.layout.iter().filter(|s| s.collapsed).count(), 14);
    let placed: Vec<&str> = model
        .layout
        .iter()
        .flat_map(|section| section.items.iter().map(|item| item.panel.as_str()))
        .collect();
    assert_eq!(placed.len(), 125);
    assert!(placed.iter().all(|key| model.panels.contains_key(*key)));
    assert!(placed.iter().all(|key| key.starts_with("panel-")));
    for section in &model.layout {
        assert_eq!(
            section.items.iter().map(|item| item.y).min(),
            Some(0),
            "y counts from the top of section {:?}",
            section.title
        );
        assert!(section.items.iter().all(|item| item.x + item.w <= 24));
    }
    let first = &model.layout[0];
    assert_eq!(first.title.as_deref(), Some("Quick CPU / Mem / Disk"));
    assert_eq!(first.items.len(), 11);

    // The CPU panel: stacked (Grafana's percent stacking), its series coloured by name.
    let cpu = &model.panels["panel-77"];
    assert_eq!(cpu.kind, PanelKind::TimeSeries);
    assert_eq!(cpu.draw, DrawStyle::Stacked);
    assert_eq!(cpu.unit, "percentunit");
    assert!(
        cpu.overrides
            .iter()
            .any(|o| o.matcher == "Idle" && o.color.as_deref() == Some("#052B51"))
    );
    assert!(cpu.queries[0].expr.contains("[$__rate_interval]"));
    assert_eq!(cpu.queries[0].legend, "Busy System");

    let queries: Vec<_> = model.panels.values().flat_map(|p| &p.queries).collect();
    assert_eq!(queries.len(), 286);
    assert!(queries.iter().all(|q| !q.expr.contains("[[")));
    assert_eq!(queries.iter().filter(|q| q.hidden).count(), 11);

    // The datasource variable is dropped; job, nodename and node stay, chained.
    let names: Vec<&str> = model.variables.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["job", "nodename", "node"]);
    let query = |i: usize| match &model.variables[i].source {
        VariableSource::Query { query, .. } => query.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(query(0), "label_values(node_uname_info, job)");
    assert_eq!(vars::references(&query(1)), ["job"]);
    assert_eq!(vars::references(&query(2)), ["job", "nodename"]);

    // The report: the datasource variable, and what some panels lose (value mappings,
    // per-series transforms, percent stacking); no panel is skipped.
    let at = |path: &str| -> Vec<&str> {
        converted
            .notes
            .iter()
            .filter(|n| n.path == path)
            .map(|n| n.message.as_str())
            .collect()
    };
    assert_eq!(at("templating.list[0]").len(), 1);
    assert!(at("templating.list[0]")[0].contains("ds_prometheus"));
    assert!(
        converted
            .notes
            .iter()
            .all(|n| !n.message.contains("skipped")),
        "{:#?}",
        converted.notes
    );
    let lossy = converted
        .notes
        .iter()
        .filter(|n| n.message.starts_with("not converted:"))
        .count();
    assert!(lossy > 10, "{:#?}", converted.notes);
    assert!(
        converted
            .notes
            .iter()
            .any(|n| n.message.contains("custom.transform"))
    );
}

#[test]
fn an_old_export_is_refused_naming_schema_version() {
    let mut json = node_exporter_full();
    json["schemaVersion"] = Value::from(22);
    let error = grafana::convert(&json).unwrap_err();
    assert_eq!(error.path, "schemaVersion");
}

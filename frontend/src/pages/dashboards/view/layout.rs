//! Where each panel of a dashboard goes on screen: the layout's sections and grid items, with
//! each repeated panel copied once per selected value of its variable. The copies share the
//! row, side by side (at most [`MAX_PER_ROW`] to a row, more rows below when there are more),
//! and what was below the panel moves down to make room.

use std::collections::BTreeMap;

use vigil_shared::dashboard::{GRID_COLUMNS, Panel, Section};

/// Most copies of a repeated panel side by side.
pub const MAX_PER_ROW: u32 = 4;

/// A panel as drawn: one grid item, or one copy of a repeated one.
#[derive(Clone, Debug, PartialEq)]
pub struct Placed {
    /// Names this copy on the page and in the address (`cpu`, or `cpu:api` for the copy of
    /// `cpu` with its variable bound to `api`).
    pub key: String,
    /// The panel's key in the model.
    pub panel: String,
    /// The repeat variable and the value this copy binds it to.
    pub bound: Option<(String, String)>,
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// A section as drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct PlacedSection {
    /// Its position in the layout (a row's collapsed state is kept by it).
    pub index: usize,
    pub title: Option<String>,
    pub collapsed: bool,
    pub panels: Vec<Placed>,
}

/// Places every section's panels; `values(variable)` gives the values a panel repeated over
/// that variable is copied for (none: a panel drawn once, unbound). Items naming a panel the
/// model lacks are left out.
pub fn place(
    sections: &[Section],
    panels: &BTreeMap<String, Panel>,
    values: impl Fn(&str) -> Vec<String>,
) -> Vec<PlacedSection> {
    sections
        .iter()
        .enumerate()
        .map(|(index, section)| PlacedSection {
            index,
            title: section.title.clone(),
            collapsed: section.collapsed,
            panels: place_section(section, panels, &values),
        })
        .collect()
}

fn place_section(
    section: &Section,
    panels: &BTreeMap<String, Panel>,
    values: &impl Fn(&str) -> Vec<String>,
) -> Vec<Placed> {
    let mut items: Vec<_> = section
        .items
        .iter()
        .filter(|item| panels.contains_key(&item.panel))
        .collect();
    items.sort_by_key(|item| (item.y, item.x));
    // (bottom of a repeated item, rows its copies added): items below it move down.
    let mut grown: Vec<(u32, u32)> = Vec::new();
    let mut placed = Vec::new();
    for item in items {
        let shift: u32 = grown
            .iter()
            .filter(|(bottom, _)| *bottom <= item.y)
            .map(|(_, rows)| rows)
            .sum();
        let y = item.y + shift;
        let repeat = panels[&item.panel].repeat.as_deref();
        let copies = repeat.map(|variable| (variable, values(variable)));
        match copies {
            Some((variable, values)) if !values.is_empty() => {
                let count = values.len() as u32;
                let per_row = count.min(MAX_PER_ROW);
                let w = (GRID_COLUMNS / per_row).max(1);
                let rows = count.div_ceil(per_row);
                grown.push((item.y + item.h, (rows - 1) * item.h));
                placed.extend(values.into_iter().enumerate().map(|(i, value)| {
                    let i = i as u32;
                    Placed {
                        key: format!("{}:{value}", item.panel),
                        panel: item.panel.clone(),
                        bound: Some((variable.to_owned(), value)),
                        x: (i % per_row) * w,
                        y: y + (i / per_row) * item.h,
                        w,
                        h: item.h,
                    }
                }));
            }
            _ => placed.push(Placed {
                key: item.panel.clone(),
                panel: item.panel.clone(),
                bound: None,
                x: item.x,
                y,
                w: item.w,
                h: item.h,
            }),
        }
    }
    placed
}

#[cfg(test)]
mod tests {
    use vigil_shared::dashboard::GridItem;

    use super::*;

    fn item(panel: &str, x: u32, y: u32, w: u32, h: u32) -> GridItem {
        GridItem {
            panel: panel.to_owned(),
            x,
            y,
            w,
            h,
        }
    }

    fn panels(repeated: &[&str], plain: &[&str]) -> BTreeMap<String, Panel> {
        let repeated = repeated.iter().map(|key| {
            let panel = Panel {
                repeat: Some("job".to_owned()),
                ..Panel::default()
            };
            ((*key).to_owned(), panel)
        });
        let plain = plain
            .iter()
            .map(|key| ((*key).to_owned(), Panel::default()));
        repeated.chain(plain).collect()
    }

    fn jobs(n: usize) -> impl Fn(&str) -> Vec<String> {
        move |variable| {
            assert_eq!(variable, "job");
            (0..n).map(|i| format!("job{i}")).collect()
        }
    }

    fn section(items: Vec<GridItem>) -> Section {
        Section {
            title: Some("Services".to_owned()),
            collapsed: false,
            items,
        }
    }

    #[test]
    fn plain_panels_keep_their_place_and_unknown_ones_are_left_out() {
        let layout = [section(vec![
            item("cpu", 0, 0, 12, 8),
            item("gone", 12, 0, 12, 8),
            item("memory", 12, 0, 12, 8),
        ])];
        let placed = place(&layout, &panels(&[], &["cpu", "memory"]), jobs(0));
        assert_eq!(placed.len(), 1);
        assert_eq!(placed[0].title.as_deref(), Some("Services"));
        let keys: Vec<_> = placed[0].panels.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["cpu", "memory"]);
        assert_eq!((placed[0].panels[1].x, placed[0].panels[1].w), (12, 12));
    }

    #[test]
    fn a_repeated_panel_is_copied_across_the_row_with_its_variable_bound() {
        let layout = [section(vec![item("rate", 0, 0, 24, 6)])];
        let placed = place(&layout, &panels(&["rate"], &[]), jobs(3));
        let copies = &placed[0].panels;
        assert_eq!(copies.len(), 3);
        for (i, copy) in copies.iter().enumerate() {
            assert_eq!(copy.key, format!("rate:job{i}"));
            assert_eq!(copy.bound, Some(("job".to_owned(), format!("job{i}"))));
            assert_eq!((copy.x, copy.y, copy.w, copy.h), (i as u32 * 8, 0, 8, 6));
        }
    }

    #[test]
    fn many_copies_wrap_onto_new_rows_and_push_what_was_below_down() {
        let layout = [section(vec![
            item("rate", 0, 2, 24, 6),
            item("title", 0, 0, 24, 2),
            item("errors", 0, 8, 24, 6),
        ])];
        let placed = place(&layout, &panels(&["rate"], &["title", "errors"]), jobs(6));
        let at: Vec<_> = placed[0]
            .panels
            .iter()
            .map(|p| (p.key.as_str(), p.x, p.y, p.w))
            .collect();
        assert_eq!(
            at,
            [
                ("title", 0, 0, 24),
                ("rate:job0", 0, 2, 6),
                ("rate:job1", 6, 2, 6),
                ("rate:job2", 12, 2, 6),
                ("rate:job3", 18, 2, 6),
                ("rate:job4", 0, 8, 6),
                ("rate:job5", 6, 8, 6),
                ("errors", 0, 14, 24),
            ]
        );
    }

    #[test]
    fn a_repeat_without_values_draws_the_panel_once_unbound() {
        let layout = [section(vec![item("rate", 0, 0, 12, 6)])];
        let placed = place(&layout, &panels(&["rate"], &[]), jobs(0));
        assert_eq!(placed[0].panels.len(), 1);
        assert_eq!(placed[0].panels[0].bound, None);
        assert_eq!(placed[0].panels[0].w, 12);
    }
}

//! The README's table → area map ("Who owns which table") is a rule the code keeps: every
//! table the migrations create belongs to one area, and no area's SQL names a table of another
//! area (it calls that area's functions instead).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use regex::Regex;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The README's map: module folder → area, and table → area.
struct Ownership {
    areas_of_modules: BTreeMap<String, String>,
    areas_of_tables: BTreeMap<String, String>,
}

fn ownership() -> Ownership {
    let readme = std::fs::read_to_string(repository().join("README.md")).unwrap();
    let section = readme
        .split("### Who owns which table")
        .nth(1)
        .expect("the README has a section \"Who owns which table\"");
    let quoted = Regex::new(r"`([^`]+)`").unwrap();
    let mut ownership = Ownership {
        areas_of_modules: BTreeMap::new(),
        areas_of_tables: BTreeMap::new(),
    };
    let rows = section
        .lines()
        .skip_while(|line| !line.starts_with("| Area"))
        .skip(2)
        .take_while(|line| line.starts_with('|'));
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (modules, tables) = (cells[1], cells[2]);
        let area = modules.split_whitespace().next().unwrap().to_owned();
        for module in quoted.captures_iter(modules) {
            let module = module[1].trim_end_matches('/').to_owned();
            ownership.areas_of_modules.insert(module, area.clone());
        }
        for table in quoted.captures_iter(tables) {
            let previous = ownership
                .areas_of_tables
                .insert(table[1].to_owned(), area.clone());
            assert_eq!(previous, None, "{} is in two rows", &table[1]);
        }
    }
    assert!(ownership.areas_of_tables.len() > 30, "the map was read");
    ownership
}

/// Every `.rs` file under `dir`, with its path relative to `dir`.
fn rust_files(dir: &Path, under: &Path, found: &mut Vec<(PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, under, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(under).unwrap().to_owned();
            found.push((relative, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

/// The tables the SQL in `code`'s string literals reads or writes.
fn tables_named(code: &str) -> Vec<String> {
    let literal = Regex::new(r##"(?s)r#"(.*?)"#|"((?:[^"\\]|\\.)*)""##).unwrap();
    let named = Regex::new(r"\b(?:FROM|JOIN|INTO|UPDATE|USING|TABLE)\s+([a-z_0-9]+)").unwrap();
    let mut tables = Vec::new();
    for sql in literal.captures_iter(code) {
        let sql = sql.get(1).or_else(|| sql.get(2)).unwrap().as_str();
        tables.extend(named.captures_iter(sql).map(|table| table[1].to_owned()));
    }
    tables
}

#[test]
fn every_table_the_migrations_create_belongs_to_one_area() {
    let ownership = ownership();
    let created = Regex::new(r"(?i)\bCREATE TABLE\s+(?:IF NOT EXISTS\s+)?([a-z_0-9]+)").unwrap();
    let mut unowned = Vec::new();
    for entry in std::fs::read_dir(repository().join("migrations")).unwrap() {
        let sql = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for table in created.captures_iter(&sql) {
            if !ownership.areas_of_tables.contains_key(&table[1]) {
                unowned.push(table[1].to_owned());
            }
        }
    }
    assert!(
        unowned.is_empty(),
        "tables no area owns (add them to the README's map): {unowned:?}"
    );
}

#[test]
fn no_area_s_sql_names_another_area_s_table() {
    let ownership = ownership();
    let src = repository().join("backend/src");
    let mut files = Vec::new();
    rust_files(&src, &src, &mut files);
    let mut trespasses = Vec::new();
    for (path, text) in &files {
        let module = path
            .iter()
            .next()
            .and_then(|m| m.to_str())
            .map(|m| m.trim_end_matches(".rs"))
            .unwrap();
        let area = ownership.areas_of_modules.get(module);
        // Unit tests may set up what they need.
        let code = text.split("#[cfg(test)]").next().unwrap();
        for table in tables_named(code) {
            if let Some(owner) = ownership.areas_of_tables.get(&table)
                && area != Some(owner)
            {
                trespasses.push(format!("{}: {table} ({owner})", path.display()));
            }
        }
    }
    assert!(
        trespasses.is_empty(),
        "SQL naming another area's table (call that area's functions):\n{}",
        trespasses.join("\n")
    );
}

/// The check above would pass on anything if it saw no SQL at all.
#[test]
fn the_check_sees_the_tables_sql_names() {
    let code = r##"sqlx::query!(r#"SELECT a.id FROM alerts a JOIN users u ON u.id = a.rule_id"#);
                   sqlx::query("DELETE FROM incident_alerts m USING teams t WHERE true");"##;
    assert_eq!(
        tables_named(code),
        ["alerts", "users", "incident_alerts", "teams"]
    );
}

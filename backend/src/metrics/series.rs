//! The series catalog: which label sets exist and their ids.
//!
//! Writes resolve label sets to ids through an in-memory fingerprint cache, going to the
//! database only for series this process has not seen (one batched upsert per write). Queries
//! match selectors against an in-memory index of every series' labels, with Prometheus'
//! semantics (a missing label equals the empty string; regexes are fully anchored). Series made
//! by other replicas are picked up by [`SeriesCatalog::refresh`] before each query.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use promql_parser::label::{MatchOp, Matcher};
use sqlx::PgPool;
use sqlx::types::Json as SqlJson;
use uuid::Uuid;

use super::model::{Labels, METRIC_NAME};

/// How often a series' `last_seen` is refreshed while it keeps receiving samples.
const LAST_SEEN_EVERY: Duration = Duration::from_secs(3600);
/// Series committed by another replica this long after they were stamped are still found.
const REFRESH_OVERLAP: chrono::TimeDelta = chrono::TimeDelta::minutes(5);
/// A full reload drops series deleted by retention and repairs anything missed.
const FULL_RELOAD_EVERY: Duration = Duration::from_secs(600);

struct CachedId {
    id: i64,
    last_seen_written: Instant,
}

#[derive(Default)]
struct Index {
    labels: HashMap<i64, Labels>,
    by_name: HashMap<String, Vec<i64>>,
}

impl Index {
    fn insert(&mut self, id: i64, labels: Labels) {
        if self.labels.contains_key(&id) {
            return;
        }
        let name = labels.metric_name().unwrap_or_default().to_owned();
        self.by_name.entry(name).or_default().push(id);
        self.labels.insert(id, labels);
    }
}

struct RefreshState {
    /// `first_seen` of the newest series loaded, minus nothing: the overlap is applied at query.
    newest_first_seen: Option<DateTime<Utc>>,
    last_full_reload: Option<Instant>,
}

pub struct SeriesCatalog {
    ids: RwLock<HashMap<Uuid, CachedId>>,
    index: RwLock<Index>,
    refresh: tokio::sync::Mutex<RefreshState>,
}

impl Default for SeriesCatalog {
    fn default() -> Self {
        Self::new()
    }
}

impl SeriesCatalog {
    pub fn new() -> Self {
        SeriesCatalog {
            ids: RwLock::new(HashMap::new()),
            index: RwLock::new(Index::default()),
            refresh: tokio::sync::Mutex::new(RefreshState {
                newest_first_seen: None,
                last_full_reload: None,
            }),
        }
    }

    /// The ids of `series`, creating the missing ones. Returned in the same order.
    pub async fn resolve(
        &self,
        pool: &PgPool,
        series: &[&Labels],
    ) -> Result<Vec<i64>, sqlx::Error> {
        let fingerprints: Vec<Uuid> = series.iter().map(|l| l.fingerprint()).collect();
        let mut ids = vec![0i64; series.len()];
        let mut missing: Vec<usize> = Vec::new();
        let mut stale_last_seen: Vec<i64> = Vec::new();
        {
            let cache = self.ids.read().expect("series cache poisoned");
            for (i, fingerprint) in fingerprints.iter().enumerate() {
                match cache.get(fingerprint) {
                    Some(cached) => {
                        ids[i] = cached.id;
                        if cached.last_seen_written.elapsed() > LAST_SEEN_EVERY {
                            stale_last_seen.push(cached.id);
                        }
                    }
                    None => missing.push(i),
                }
            }
        }

        if !missing.is_empty() {
            // Sorted by fingerprint, so concurrent writers lock rows in the same order.
            let mut order: Vec<usize> = missing.clone();
            order.sort_by_key(|&i| fingerprints[i]);
            order.dedup_by_key(|i| fingerprints[*i]);
            let new_fingerprints: Vec<Uuid> = order.iter().map(|&i| fingerprints[i]).collect();
            let metrics: Vec<String> = order
                .iter()
                .map(|&i| series[i].metric_name().unwrap_or_default().to_owned())
                .collect();
            let labels: Vec<serde_json::Value> = order
                .iter()
                .map(|&i| {
                    serde_json::Value::Object(
                        series[i]
                            .iter()
                            .filter(|(n, _)| *n != METRIC_NAME)
                            .map(|(n, v)| (n.to_owned(), serde_json::Value::String(v.to_owned())))
                            .collect(),
                    )
                })
                .collect();
            let rows = sqlx::query!(
                r#"INSERT INTO metric_series (fingerprint, metric, labels)
                   SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::jsonb[])
                   ON CONFLICT (fingerprint) DO UPDATE SET last_seen = now()
                   RETURNING id, fingerprint"#,
                &new_fingerprints,
                &metrics,
                &labels
            )
            .fetch_all(pool)
            .await?;
            let resolved: HashMap<Uuid, i64> =
                rows.into_iter().map(|r| (r.fingerprint, r.id)).collect();
            let now = Instant::now();
            let mut cache = self.ids.write().expect("series cache poisoned");
            let mut index = self.index.write().expect("series index poisoned");
            for &i in &missing {
                let id = resolved[&fingerprints[i]];
                ids[i] = id;
                cache.insert(
                    fingerprints[i],
                    CachedId {
                        id,
                        last_seen_written: now,
                    },
                );
                index.insert(id, series[i].clone());
            }
        }

        if !stale_last_seen.is_empty() {
            sqlx::query!(
                "UPDATE metric_series SET last_seen = now() WHERE id = ANY($1)",
                &stale_last_seen
            )
            .execute(pool)
            .await?;
            let now = Instant::now();
            let mut cache = self.ids.write().expect("series cache poisoned");
            for fingerprint in &fingerprints {
                if let Some(cached) = cache.get_mut(fingerprint)
                    && stale_last_seen.contains(&cached.id)
                {
                    cached.last_seen_written = now;
                }
            }
        }
        Ok(ids)
    }

    /// Loads series created since the last refresh (by any replica), or everything on the first
    /// call and every few minutes.
    pub async fn refresh(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let mut state = self.refresh.lock().await;
        let full = state
            .last_full_reload
            .is_none_or(|at| at.elapsed() > FULL_RELOAD_EVERY);
        let since = if full {
            None
        } else {
            state.newest_first_seen.map(|t| t - REFRESH_OVERLAP)
        };
        let rows = sqlx::query!(
            r#"SELECT id, metric, labels AS "labels: SqlJson<HashMap<String, String>>", first_seen
               FROM metric_series
               WHERE $1::timestamptz IS NULL OR first_seen > $1"#,
            since
        )
        .fetch_all(pool)
        .await?;

        let mut newest = if full { None } else { state.newest_first_seen };
        let loaded: Vec<(i64, Labels)> = rows
            .into_iter()
            .map(|row| {
                newest =
                    Some(newest.map_or(row.first_seen, |n: DateTime<Utc>| n.max(row.first_seen)));
                let pairs = row
                    .labels
                    .0
                    .into_iter()
                    .chain(std::iter::once((METRIC_NAME.to_owned(), row.metric)));
                (row.id, Labels::from_pairs(pairs))
            })
            .collect();
        {
            let mut index = self.index.write().expect("series index poisoned");
            if full {
                *index = Index::default();
            }
            for (id, labels) in loaded {
                index.insert(id, labels);
            }
        }
        state.newest_first_seen = newest;
        if full {
            state.last_full_reload = Some(Instant::now());
        }
        Ok(())
    }

    /// Every series whose labels satisfy all `matchers`.
    pub fn select(&self, matchers: &[Matcher]) -> Vec<(i64, Labels)> {
        let index = self.index.read().expect("series index poisoned");
        let name_matcher = matchers
            .iter()
            .find(|m| m.name == METRIC_NAME && matches!(m.op, MatchOp::Equal));
        let candidates: Box<dyn Iterator<Item = &i64>> = match name_matcher {
            Some(m) => Box::new(index.by_name.get(&m.value).into_iter().flatten()),
            None => Box::new(index.labels.keys()),
        };
        let mut selected: Vec<(i64, Labels)> = candidates
            .filter_map(|id| {
                let labels = &index.labels[id];
                matchers
                    .iter()
                    .all(|m| m.is_match(labels.get(&m.name).unwrap_or("")))
                    .then(|| (*id, labels.clone()))
            })
            .collect();
        selected.sort_by_key(|(id, _)| *id);
        selected
    }

    /// Label names and values of the series matching any of `selectors` (all series if empty).
    pub fn matching_labels(&self, selectors: &[Vec<Matcher>]) -> Vec<Labels> {
        if selectors.is_empty() {
            let index = self.index.read().expect("series index poisoned");
            return index.labels.values().cloned().collect();
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for matchers in selectors {
            for (id, labels) in self.select(matchers) {
                if seen.insert(id) {
                    out.push(labels);
                }
            }
        }
        out
    }

    /// Forgets series deleted from the database (after retention removed them).
    pub fn forget(&self, ids: &HashSet<i64>) {
        self.ids
            .write()
            .expect("series cache poisoned")
            .retain(|_, cached| !ids.contains(&cached.id));
        let mut index = self.index.write().expect("series index poisoned");
        index.labels.retain(|id, _| !ids.contains(id));
        for list in index.by_name.values_mut() {
            list.retain(|id| !ids.contains(id));
        }
    }

    pub fn len(&self) -> usize {
        self.index
            .read()
            .expect("series index poisoned")
            .labels
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog_with(series: &[Labels]) -> SeriesCatalog {
        let catalog = SeriesCatalog::new();
        {
            let mut index = catalog.index.write().unwrap();
            for (i, labels) in series.iter().enumerate() {
                index.insert(i as i64 + 1, labels.clone());
            }
        }
        catalog
    }

    fn matcher(op: &str, name: &str, value: &str) -> Matcher {
        let op = match op {
            "=" => MatchOp::Equal,
            "!=" => MatchOp::NotEqual,
            "=~" => MatchOp::Re(regex::Regex::new(&format!("^(?:{value})$")).unwrap()),
            _ => MatchOp::NotRe(regex::Regex::new(&format!("^(?:{value})$")).unwrap()),
        };
        Matcher::new(op, name, value)
    }

    #[test]
    fn selectors_follow_prometheus_semantics_for_missing_labels_and_regexes() {
        let catalog = catalog_with(&[
            Labels::from_pairs([("__name__", "up"), ("job", "api"), ("env", "prod")]),
            Labels::from_pairs([("__name__", "up"), ("job", "db")]),
            Labels::from_pairs([("__name__", "requests"), ("job", "api")]),
        ]);
        let ids = |ms: Vec<Matcher>| {
            catalog
                .select(&ms)
                .into_iter()
                .map(|(id, _)| id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(vec![matcher("=", "__name__", "up")]), vec![1, 2]);
        // A missing label counts as empty: env="" matches the series without env.
        assert_eq!(
            ids(vec![
                matcher("=", "__name__", "up"),
                matcher("=", "env", "")
            ]),
            vec![2]
        );
        assert_eq!(
            ids(vec![
                matcher("=", "__name__", "up"),
                matcher("!=", "env", "")
            ]),
            vec![1]
        );
        // Regexes are anchored: "ap" does not match "api".
        assert_eq!(ids(vec![matcher("=~", "job", "ap")]), Vec::<i64>::new());
        assert_eq!(ids(vec![matcher("=~", "job", "ap.*")]), vec![1, 3]);
        assert_eq!(ids(vec![matcher("!~", "job", "api|db")]), Vec::<i64>::new());
        assert_eq!(ids(vec![matcher("=~", "__name__", "req.*")]), vec![3]);
    }
}

//! Provisioned dashboards: read-only copies of JSON that lives outside the database.
//!
//! - The built-in dashboards (Platform overview, Service health, On-call, SLA overview),
//!   compiled in from `backend/assets/dashboards/` and provisioned at every start, as
//!   `built-in`, so an upgrade brings their new versions.
//! - The files of `--dashboards-dir` (`*.json`, `*.yaml`, `*.yml`, in Vigil's model or
//!   Grafana's), provisioned at start and again whenever a file changes (the directory is
//!   polled every 10 s), each stored with its path as `provisioned`. A removed file removes
//!   its dashboard; a broken one is logged with its path and skipped, its dashboard kept as
//!   it was.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use tokio::io::AsyncReadExt as _;
use tokio_util::sync::CancellationToken;
use vigil_shared::Role;
use vigil_shared::dashboard::DashboardModel;

use super::import;
use super::store::{self, HomeScope};
use super::validate;
use crate::ticker::Ticker;

/// The `provisioned` source of the built-in dashboards.
pub const BUILT_IN: &str = "built-in";

/// The built-in dashboards by uid, in Vigil's model.
pub const BUILT_IN_DASHBOARDS: [(&str, &str); 4] = [
    (
        "platform-overview",
        include_str!("../../assets/dashboards/platform-overview.json"),
    ),
    (
        "service-health",
        include_str!("../../assets/dashboards/service-health.json"),
    ),
    (
        "on-call",
        include_str!("../../assets/dashboards/on-call.json"),
    ),
    (
        "sla-overview",
        include_str!("../../assets/dashboards/sla-overview.json"),
    ),
];

/// Serialises provisioning passes across replicas (advisory lock key, "vig5"): two replicas
/// starting at once would otherwise both insert the same uid, and one would fail.
const PROVISION_LOCK: i64 = 0x7669_6735;

/// How often `--dashboards-dir` is looked at for changes.
pub const POLL_PERIOD: Duration = Duration::from_secs(10);

/// Most files one directory pass reads; more are left out, with a warning.
const MAX_FILES: usize = 1_000;

/// The built-in dashboards' models, checked as any import is.
pub fn built_in_models() -> anyhow::Result<Vec<(&'static str, DashboardModel)>> {
    BUILT_IN_DASHBOARDS
        .iter()
        .map(|(uid, json)| {
            let value: Value = serde_json::from_str(json)
                .with_context(|| format!("the built-in dashboard {uid} is not JSON"))?;
            let (_, converted) = import::read(&value)
                .map_err(|problems| anyhow::anyhow!("the built-in dashboard {uid}: {problems}"))?;
            Ok((*uid, converted.model))
        })
        .collect()
}

/// Creates or updates the built-in dashboards and deletes built-ins a newer Vigil no longer
/// has. Returns their ids by uid.
pub async fn provision_built_in(pool: &PgPool) -> anyhow::Result<BTreeMap<&'static str, i64>> {
    let models = built_in_models()?;
    let mut tx = pool.begin().await?;
    lock(&mut tx).await?;
    let mut ids = BTreeMap::new();
    for (uid, model) in &models {
        let id = store::upsert_provisioned(&mut tx, uid, model, BUILT_IN)
            .await
            .map_err(|e| anyhow::anyhow!("provisioning the built-in dashboard {uid}: {e}"))?;
        ids.insert(*uid, id);
    }
    let uids: Vec<String> = models.iter().map(|(uid, _)| (*uid).to_owned()).collect();
    store::remove_provisioned_except(&mut tx, BUILT_IN, &uids)
        .await
        .map_err(|e| anyhow::anyhow!("removing old built-in dashboards: {e}"))?;
    tx.commit().await?;
    Ok(ids)
}

/// Sets the home dashboard of each role in `homes` (role, built-in uid) that has none yet, so
/// an admin's later choice survives restarts.
pub async fn set_missing_role_homes(
    pool: &PgPool,
    built_in: &BTreeMap<&'static str, i64>,
    homes: &[(Role, &str)],
) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    lock(&mut tx).await?;
    let existing = store::shared_homes(&mut tx).await?;
    for (role, uid) in homes {
        let has_home = existing
            .iter()
            .any(|home| home.scope == HomeScope::Role(*role));
        let Some(id) = built_in.get(uid) else {
            anyhow::bail!("there is no built-in dashboard {uid}");
        };
        if !has_home {
            store::set_home(&mut tx, HomeScope::Role(*role), Some(*id))
                .await
                .map_err(|e| anyhow::anyhow!("setting the {role} home dashboard: {e}"))?;
        }
    }
    tx.commit().await?;
    Ok(())
}

async fn lock(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    // Held until the transaction ends: one replica provisions at a time.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(PROVISION_LOCK)
        .execute(conn)
        .await?;
    Ok(())
}

/// Background worker: provisions `--dashboards-dir` at start and after each change.
pub async fn directory_worker(pool: PgPool, dir: PathBuf, shutdown: CancellationToken) {
    let mut directory = Directory::new(dir);
    let mut ticker = Ticker::every(POLL_PERIOD, shutdown);
    while ticker.tick().await {
        ticker
            .run("provisioning dashboards from files", directory.sync(&pool))
            .await;
    }
}

/// Each file's modification time and size, by path: a pass runs when it changes.
type Listing = BTreeMap<PathBuf, (SystemTime, u64)>;

/// A provisioned directory and what the last pass made of it.
pub struct Directory {
    dir: PathBuf,
    /// The listing the last successful pass read; none before the first.
    seen: Option<Listing>,
    /// The uid each file provisioned, so a file that breaks keeps its dashboard.
    uids: BTreeMap<PathBuf, String>,
}

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Dashboards created or brought up to date (unchanged ones included).
    pub provisioned: usize,
    /// Files skipped, each logged.
    pub broken: usize,
    /// Dashboards deleted because their file went away.
    pub removed: u64,
}

impl Directory {
    pub fn new(dir: PathBuf) -> Self {
        Directory {
            dir,
            seen: None,
            uids: BTreeMap::new(),
        }
    }

    /// Provisions the directory if any file changed since the last pass (or there was none);
    /// none when nothing changed.
    pub async fn sync(&mut self, pool: &PgPool) -> anyhow::Result<Option<Pass>> {
        let dir = tokio::fs::canonicalize(&self.dir)
            .await
            .with_context(|| format!("the dashboards directory {}", self.dir.display()))?;
        let listing = list(&dir).await?;
        if self.seen.as_ref() == Some(&listing) {
            return Ok(None);
        }
        let pass = self.provision(pool, &dir, &listing).await?;
        self.seen = Some(listing);
        tracing::info!(
            dir = %dir.display(),
            provisioned = pass.provisioned,
            broken = pass.broken,
            removed = pass.removed,
            "provisioned dashboards from files"
        );
        Ok(Some(pass))
    }

    async fn provision(
        &mut self,
        pool: &PgPool,
        dir: &Path,
        listing: &Listing,
    ) -> anyhow::Result<Pass> {
        let mut pass = Pass::default();
        let mut loaded = Vec::new();
        let mut keep: BTreeSet<String> = BTreeSet::new();
        // A broken file whose uid is unknown (broken since the start) might hold any
        // dashboard: nothing is removed until it is fixed.
        let mut removal_safe = true;
        for path in listing.keys() {
            match load(path).await {
                Ok((uid, model)) if keep.insert(uid.clone()) => loaded.push((path, uid, model)),
                Ok((uid, _)) => {
                    pass.broken += 1;
                    tracing::warn!(file = %path.display(), uid, "another file provisions a dashboard with this uid; skipped");
                }
                Err(error) => {
                    pass.broken += 1;
                    tracing::warn!(file = %path.display(), error = format!("{error:#}"), "a dashboard file cannot be provisioned; skipped");
                    match self.uids.get(path) {
                        Some(uid) => {
                            keep.insert(uid.clone());
                        }
                        None => removal_safe = false,
                    }
                }
            }
        }
        let mut tx = pool.begin().await?;
        lock(&mut tx).await?;
        for (path, uid, model) in loaded {
            let source = path.display().to_string();
            // A savepoint per file: one refused file does not undo the others.
            let mut file_tx = sqlx::Connection::begin(&mut *tx).await?;
            match store::upsert_provisioned(&mut file_tx, &uid, &model, &source).await {
                Ok(_) => {
                    file_tx.commit().await?;
                    pass.provisioned += 1;
                    self.uids.insert(path.clone(), uid);
                }
                Err(error) => {
                    file_tx.rollback().await?;
                    pass.broken += 1;
                    tracing::warn!(file = %source, uid, %error, "a dashboard file cannot be provisioned; skipped");
                    keep.remove(&uid);
                    match self.uids.get(path) {
                        Some(earlier) => {
                            keep.insert(earlier.clone());
                        }
                        None => removal_safe = false,
                    }
                }
            }
        }
        if removal_safe {
            let keep: Vec<String> = keep.into_iter().collect();
            pass.removed = store::remove_provisioned_except(&mut tx, &prefix(dir), &keep)
                .await
                .map_err(|e| anyhow::anyhow!("removing dashboards whose file went away: {e}"))?;
        } else {
            tracing::warn!(dir = %dir.display(), "dashboards whose file went away are kept until every file can be read");
        }
        tx.commit().await?;
        self.uids.retain(|path, _| listing.contains_key(path));
        Ok(pass)
    }
}

/// The start every file's source has: the directory with a trailing slash, so `/a/dash`
/// does not also match `/a/dashboards-old/x.json`.
fn prefix(dir: &Path) -> String {
    let dir = dir.display().to_string();
    if dir.ends_with('/') {
        dir
    } else {
        format!("{dir}/")
    }
}

/// The dashboard files directly in `dir`, with their modification times and sizes.
async fn list(dir: &Path) -> anyhow::Result<Listing> {
    let mut listing = Listing::new();
    let mut entries = tokio::fs::read_dir(dir)
        .await
        .with_context(|| format!("reading the dashboards directory {}", dir.display()))?;
    while let Some(entry) = entries.next_entry().await? {
        let path = entry.path();
        if !is_dashboard_file(&path) {
            continue;
        }
        let Ok(metadata) = tokio::fs::metadata(&path).await else {
            continue;
        };
        if !metadata.is_file() {
            continue;
        }
        if listing.len() == MAX_FILES {
            tracing::warn!(dir = %dir.display(), "more than {MAX_FILES} dashboard files; the rest are left out");
            break;
        }
        let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        listing.insert(path, (modified, metadata.len()));
    }
    Ok(listing)
}

fn is_dashboard_file(path: &Path) -> bool {
    let hidden = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_none_or(|n| n.starts_with('.'));
    !hidden
        && matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("json" | "yaml" | "yml")
        )
}

/// A file's dashboard and its uid (the file's own, else one made from the file name).
async fn load(path: &Path) -> anyhow::Result<(String, DashboardModel)> {
    // Read no more than the bound allows, so that a huge file costs no memory.
    let mut bytes = Vec::new();
    tokio::fs::File::open(path)
        .await
        .context("opening it")?
        .take(validate::MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .await
        .context("reading it")?;
    if bytes.len() > validate::MAX_BODY_BYTES {
        anyhow::bail!("it is larger than {} bytes", validate::MAX_BODY_BYTES);
    }
    let value: Value = if path.extension().and_then(|e| e.to_str()) == Some("json") {
        serde_json::from_slice(&bytes).context("it is not valid JSON")?
    } else {
        serde_yaml::from_slice(&bytes).context("it is not valid YAML")?
    };
    let (_, converted) = import::read(&value).map_err(|problems| anyhow::anyhow!("{problems}"))?;
    let uid = converted.uid.unwrap_or_else(|| uid_from_path(path));
    Ok((uid, converted.model))
}

/// A uid from a file name without one: `Node Exporter.json` → `node-exporter`.
fn uid_from_path(path: &Path) -> String {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("dashboard");
    let mut uid = String::new();
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            uid.push(c.to_ascii_lowercase());
        } else if !uid.ends_with('-') {
            uid.push('-');
        }
    }
    let uid: String = uid.trim_matches('-').chars().take(40).collect();
    if validate::uid(&uid).is_ok() {
        uid
    } else {
        format!("file-{}", uid.chars().take(35).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_file_over_the_bound_is_refused() {
        let dir = std::env::temp_dir().join(format!("vigil-provision-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("huge.json");
        std::fs::write(&path, vec![b' '; validate::MAX_BODY_BYTES + 10]).unwrap();
        let problem = load(&path).await.unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(problem.contains("larger than"), "{problem}");
    }

    #[test]
    fn every_built_in_dashboard_is_valid() {
        let models = built_in_models().expect("the built-ins are valid");
        let titles: Vec<&str> = models.iter().map(|(_, m)| m.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Platform overview",
                "Service health",
                "On-call",
                "SLA overview"
            ]
        );
        for (uid, model) in &models {
            let placed: BTreeSet<&str> = model
                .layout
                .iter()
                .flat_map(|s| s.items.iter().map(|i| i.panel.as_str()))
                .collect();
            let panels: BTreeSet<&str> = model.panels.keys().map(String::as_str).collect();
            assert_eq!(placed, panels, "{uid}: every panel placed once");
        }
    }

    #[test]
    fn file_names_make_valid_uids() {
        assert_eq!(
            uid_from_path(Path::new("/d/Node Exporter.json")),
            "node-exporter"
        );
        assert_eq!(uid_from_path(Path::new("/d/2024.yaml")), "file-2024");
        assert_eq!(uid_from_path(Path::new("/d/..json")), "file-");
        assert_eq!(
            uid_from_path(&PathBuf::from(format!("/d/{}.json", "a".repeat(60)))).len(),
            40
        );
        assert!(is_dashboard_file(Path::new("/d/x.yml")));
        assert!(!is_dashboard_file(Path::new("/d/.x.json")));
        assert!(!is_dashboard_file(Path::new("/d/x.txt")));
    }
}

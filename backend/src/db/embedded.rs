//! A private PostgreSQL cluster inside Vigil's data directory, so `vigil serve` works without
//! any database set up by hand.
//!
//! The cluster is made with the system's `initdb` and run with its `pg_ctl` (found on `PATH` or
//! under `/usr/lib/postgresql/*/bin`). It listens on a Unix socket only. PostgreSQL refuses to
//! run as root, so when Vigil is root the cluster is owned and run by the unprivileged
//! `postgres` system user.
//!
//! Several Vigil processes may use one cluster at once (a running server and `vigil user
//! create`, say). Two file locks in the data directory coordinate them:
//! - `postgres.start.lock`, held exclusively while a process starts or stops the cluster;
//! - `postgres.users.lock`, held shared by every process using the cluster. The last one to
//!   leave gets it exclusively and stops the cluster; a crashed process drops its lock with it.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnectOptions;

/// The superuser and database Vigil creates in its cluster.
pub const DATABASE_NAME: &str = "vigil";
const SUPERUSER: &str = "vigil";
const PORT: u16 = 5432;
/// Unix socket paths are limited to about 107 bytes; stay well clear.
const MAX_SOCKET_PATH: usize = 100;

#[derive(Clone, Debug, Default)]
pub struct EmbeddedOptions {
    /// Extra `postgresql.conf` settings, e.g. `fsync = off` for a throwaway test cluster.
    pub settings: Vec<(String, String)>,
}

/// A running embedded cluster, held by this process until [`EmbeddedCluster::release`].
#[derive(Debug)]
pub struct EmbeddedCluster {
    layout: Layout,
    bin_dir: PathBuf,
    owner: Option<ServiceUser>,
    /// Shared while this process uses the cluster.
    users_lock: File,
    /// Whether this process started the cluster (for the log only: whoever leaves last stops it).
    started_here: bool,
}

#[derive(Clone, Debug)]
struct Layout {
    data_dir: PathBuf,
    /// Owned by the service user when running as root.
    cluster_root: PathBuf,
    pgdata: PathBuf,
    socket_dir: PathBuf,
    log_file: PathBuf,
}

/// The unprivileged account PostgreSQL runs as when Vigil runs as root.
#[derive(Clone, Debug)]
struct ServiceUser {
    name: String,
    uid: u32,
    gid: u32,
}

impl EmbeddedCluster {
    /// Starts the cluster in `data_dir` (creating it on first use), or joins it if another
    /// process already runs it. Blocks: call from a blocking context.
    pub fn start(data_dir: &Path, options: &EmbeddedOptions) -> anyhow::Result<Self> {
        fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
        let data_dir = data_dir
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", data_dir.display()))?;

        let start_lock = lock_file(&data_dir.join("postgres.start.lock"))?;
        start_lock
            .lock()
            .context("cannot lock the embedded database for start-up")?;

        let owner = service_user()?;
        let layout = Layout::new(&data_dir, owner.as_ref())?;
        let existing_version = read_cluster_version(&layout.pgdata)?;
        let bin_dir = find_bin_dir(existing_version.as_deref())?;

        prepare_directories(&layout, owner.as_ref())?;
        if existing_version.is_none() {
            init_cluster(&layout, &bin_dir, owner.as_ref())?;
        }
        write_settings(&layout, owner.as_ref(), options)?;

        let started_here = if is_running(&layout, &bin_dir, owner.as_ref())? {
            tracing::info!(pgdata = %layout.pgdata.display(), "joining the running embedded PostgreSQL");
            false
        } else {
            tracing::info!(pgdata = %layout.pgdata.display(), "starting embedded PostgreSQL");
            start_postmaster(&layout, &bin_dir, owner.as_ref())?;
            true
        };

        let users_lock = lock_file(&data_dir.join("postgres.users.lock"))?;
        users_lock
            .lock_shared()
            .context("cannot register as a user of the embedded database")?;
        drop(start_lock);

        Ok(EmbeddedCluster {
            layout,
            bin_dir,
            owner,
            users_lock,
            started_here,
        })
    }

    /// Connection options for `database` over the cluster's Unix socket.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.layout.socket_dir)
            .port(PORT)
            .username(SUPERUSER)
            .database(database)
    }

    /// A libpq-style URL for the cluster, for people (`psql "<url>"`) and child processes.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgresql://{SUPERUSER}@localhost/{database}?host={}&port={PORT}",
            self.layout.socket_dir.display()
        )
    }

    pub fn pgdata(&self) -> &Path {
        &self.layout.pgdata
    }

    /// Starts the cluster again if its postmaster is gone (killed, crashed, or stopped by
    /// hand); answers why it was down when it had to. Blocks: call from a blocking context.
    /// PostgreSQL recovers from its write-ahead log on the way up, so every committed
    /// transaction survives.
    pub fn restart_if_down(&self) -> anyhow::Result<Option<String>> {
        if self.postmaster_alive() {
            return Ok(None);
        }
        let start_lock = lock_file(&self.layout.data_dir.join("postgres.start.lock"))?;
        start_lock
            .lock()
            .context("cannot lock the embedded database for a restart")?;
        if is_running(&self.layout, &self.bin_dir, self.owner.as_ref())? {
            return Ok(None);
        }
        let pid = fs::read_to_string(self.layout.pgdata.join("postmaster.pid"))
            .ok()
            .and_then(|text| text.lines().next().map(str::to_owned));
        let reason = match pid {
            Some(pid) => format!("its postmaster (pid {pid}) is no longer running"),
            None => "it was stopped".to_owned(),
        };
        tracing::warn!(%reason, "the embedded PostgreSQL is down; restarting it");
        start_postmaster(&self.layout, &self.bin_dir, self.owner.as_ref())?;
        Ok(Some(reason))
    }

    /// A cheap check (no program run): the process `postmaster.pid` names exists and is a
    /// PostgreSQL server (not another process that got the pid of a dead postmaster).
    fn postmaster_alive(&self) -> bool {
        fs::read_to_string(self.layout.pgdata.join("postmaster.pid"))
            .ok()
            .and_then(|text| text.lines().next()?.trim().parse::<i32>().ok())
            .is_some_and(|pid| {
                // Signal 0 checks only that the process exists (EPERM: it does, as another
                // user's).
                let exists = matches!(
                    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
                    Ok(()) | Err(nix::errno::Errno::EPERM)
                );
                exists
                    && fs::read_to_string(format!("/proc/{pid}/comm"))
                        .map_or(true, |name| name.contains("postgres"))
            })
    }

    /// Leaves the cluster; if no other process uses it, stops it (fast shutdown: open
    /// transactions roll back, committed data is safe). Blocks.
    pub fn release(&self) -> anyhow::Result<()> {
        let start_lock = lock_file(&self.layout.data_dir.join("postgres.start.lock"))?;
        start_lock
            .lock()
            .context("cannot lock the embedded database for shut-down")?;
        // Converting our shared lock to an exclusive one succeeds only if nobody else holds it.
        let last_user = self.users_lock.try_lock().is_ok();
        if last_user {
            tracing::info!(
                started_here = self.started_here,
                "stopping embedded PostgreSQL"
            );
            stop_postmaster(&self.layout, &self.bin_dir, self.owner.as_ref())?;
        } else {
            tracing::info!("embedded PostgreSQL stays up: another Vigil process still uses it");
        }
        self.users_lock
            .unlock()
            .context("cannot leave the embedded database")?;
        drop(start_lock);
        Ok(())
    }
}

impl Layout {
    fn new(data_dir: &Path, owner: Option<&ServiceUser>) -> anyhow::Result<Self> {
        let mut cluster_root = data_dir.join("postgres");
        if let Some(owner) = owner
            && let Err(blocked) = reachable_by(data_dir, owner)
        {
            // A data directory under /root, say, is out of reach of the `postgres` user. Keep
            // the cluster in a place it can reach, named after the data directory so the same
            // data directory always finds the same cluster.
            let name = data_dir
                .file_name()
                .and_then(OsStr::to_str)
                .unwrap_or("vigil-data");
            cluster_root = PathBuf::from("/var/lib/vigil/clusters").join(format!(
                "{name}-{}",
                short_hash(data_dir.as_os_str().as_encoded_bytes())
            ));
            tracing::warn!(
                blocked = %blocked.display(),
                cluster = %cluster_root.display(),
                "the `{}` user cannot reach the data directory; keeping the embedded cluster elsewhere",
                owner.name
            );
        }

        let mut socket_dir = cluster_root.join("run");
        if socket_dir.as_os_str().len() + ".s.PGSQL.5432".len() + 1 > MAX_SOCKET_PATH {
            socket_dir = std::env::temp_dir().join(format!(
                "vigil-pg-{}",
                short_hash(cluster_root.as_os_str().as_encoded_bytes())
            ));
        }

        Ok(Layout {
            data_dir: data_dir.to_owned(),
            pgdata: cluster_root.join("data"),
            log_file: cluster_root.join("postgres.log"),
            socket_dir,
            cluster_root,
        })
    }
}

fn short_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

fn lock_file(path: &Path) -> anyhow::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open lock file {}", path.display()))
}

/// When running as root, the account to run PostgreSQL as; otherwise `None` (run as ourselves).
fn service_user() -> anyhow::Result<Option<ServiceUser>> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let user = nix::unistd::User::from_name("postgres")
        .context("cannot look up the `postgres` user")?
        .context(
            "PostgreSQL refuses to run as root and there is no `postgres` system user to run it as. \
             Install PostgreSQL from your distribution (it creates that user: `apt-get install postgresql`), \
             run Vigil as a normal user, or set DATABASE_URL to use an existing database.",
        )?;
    Ok(Some(ServiceUser {
        name: user.name,
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
    }))
}

/// Checks that `owner` can traverse every directory down to and including `path`; on failure
/// returns the first directory that stops it.
fn reachable_by(path: &Path, owner: &ServiceUser) -> Result<(), PathBuf> {
    for dir in path.ancestors().collect::<Vec<_>>().into_iter().rev() {
        let Ok(meta) = fs::metadata(dir) else {
            return Err(dir.to_owned());
        };
        let mode = meta.mode();
        let can_search = if meta.uid() == owner.uid {
            mode & 0o100 != 0
        } else if meta.gid() == owner.gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !can_search {
            return Err(dir.to_owned());
        }
    }
    Ok(())
}

/// The major version in `PG_VERSION`, if the cluster was initialised already.
fn read_cluster_version(pgdata: &Path) -> anyhow::Result<Option<String>> {
    match fs::read_to_string(pgdata.join("PG_VERSION")) {
        Ok(version) => Ok(Some(version.trim().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if pgdata.exists() && fs::read_dir(pgdata)?.next().is_some() {
                bail!(
                    "{} is not empty but holds no PostgreSQL cluster (an interrupted first start?). \
                     Remove it to start afresh.",
                    pgdata.display()
                );
            }
            Ok(None)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}/PG_VERSION", pgdata.display())),
    }
}

/// Finds a directory holding `initdb` and `pg_ctl` (on `PATH`, then under
/// `/usr/lib/postgresql/*/bin`, newest first), preferring one whose major version matches an
/// existing cluster.
fn find_bin_dir(cluster_version: Option<&str>) -> anyhow::Result<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    let mut versioned: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, entry.path().join("bin")))
        })
        .collect();
    versioned.sort_by_key(|(major, _)| std::cmp::Reverse(*major));
    candidates.extend(versioned.into_iter().map(|(_, dir)| dir));
    choose_bin_dir(candidates, cluster_version)
}

fn choose_bin_dir(
    candidates: Vec<PathBuf>,
    cluster_version: Option<&str>,
) -> anyhow::Result<PathBuf> {
    let usable: Vec<PathBuf> = candidates
        .into_iter()
        .filter(|dir| dir.join("pg_ctl").is_file() && dir.join("initdb").is_file())
        .collect();
    if usable.is_empty() {
        bail!(
            "no PostgreSQL server programs (initdb, pg_ctl) were found on PATH or under \
             /usr/lib/postgresql/*/bin. Install them (Debian/Ubuntu: `apt-get install postgresql`) \
             or set DATABASE_URL to use an existing PostgreSQL."
        );
    }
    let Some(wanted) = cluster_version else {
        return Ok(usable[0].clone());
    };
    for dir in &usable {
        if binary_major_version(dir).as_deref() == Some(wanted) {
            return Ok(dir.clone());
        }
    }
    bail!(
        "the embedded database was created by PostgreSQL {wanted}, but only other versions are \
         installed ({}). Install PostgreSQL {wanted} or migrate the data with pg_upgrade.",
        usable
            .iter()
            .filter_map(|dir| binary_major_version(dir))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// "15" from `pg_ctl (PostgreSQL) 15.18 (Debian …)`.
fn binary_major_version(bin_dir: &Path) -> Option<String> {
    let output = Command::new(bin_dir.join("pg_ctl"))
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text.split_whitespace().nth(2)?;
    Some(version.split('.').next()?.to_owned())
}

fn prepare_directories(layout: &Layout, owner: Option<&ServiceUser>) -> anyhow::Result<()> {
    for dir in [&layout.cluster_root, &layout.socket_dir] {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot set permissions on {}", dir.display()))?;
        give_to(dir, owner)?;
    }
    Ok(())
}

fn give_to(path: &Path, owner: Option<&ServiceUser>) -> anyhow::Result<()> {
    if let Some(owner) = owner {
        nix::unistd::chown(
            path,
            Some(nix::unistd::Uid::from_raw(owner.uid)),
            Some(nix::unistd::Gid::from_raw(owner.gid)),
        )
        .with_context(|| {
            format!(
                "cannot give {} to the `{}` user",
                path.display(),
                owner.name
            )
        })?;
    }
    Ok(())
}

fn init_cluster(
    layout: &Layout,
    bin_dir: &Path,
    owner: Option<&ServiceUser>,
) -> anyhow::Result<()> {
    tracing::info!(pgdata = %layout.pgdata.display(), "creating the embedded PostgreSQL cluster (first start)");
    let output = run(pg_command(bin_dir, "initdb", layout, owner)
        .arg("--pgdata")
        .arg(&layout.pgdata)
        .args(["--username", SUPERUSER])
        // Only local Unix-socket connections exist, in a directory only the owner can enter.
        .args(["--auth", "trust"])
        .args(["--encoding", "UTF8", "--locale", "C"]))?;
    if !output.status.success() {
        bail!("initdb failed:\n{}", describe_output(&output));
    }
    let conf = layout.pgdata.join("postgresql.conf");
    let mut file = OpenOptions::new()
        .append(true)
        .open(&conf)
        .with_context(|| format!("cannot open {}", conf.display()))?;
    writeln!(
        file,
        "\n# Written by Vigil on every start.\ninclude_if_exists = 'vigil.conf'"
    )?;
    Ok(())
}

fn write_settings(
    layout: &Layout,
    owner: Option<&ServiceUser>,
    options: &EmbeddedOptions,
) -> anyhow::Result<()> {
    let mut conf = format!(
        "# Managed by Vigil; rewritten on every start.\n\
         listen_addresses = ''\n\
         unix_socket_directories = '{}'\n\
         unix_socket_permissions = 0700\n\
         max_connections = 200\n\
         logging_collector = off\n",
        layout.socket_dir.display().to_string().replace('\'', "''")
    );
    for (name, value) in &options.settings {
        conf.push_str(&format!("{name} = '{}'\n", value.replace('\'', "''")));
    }
    let path = layout.pgdata.join("vigil.conf");
    fs::write(&path, conf).with_context(|| format!("cannot write {}", path.display()))?;
    give_to(&path, owner)
}

fn is_running(
    layout: &Layout,
    bin_dir: &Path,
    owner: Option<&ServiceUser>,
) -> anyhow::Result<bool> {
    let output = run(pg_command(bin_dir, "pg_ctl", layout, owner)
        .arg("status")
        .arg("--pgdata")
        .arg(&layout.pgdata))?;
    // pg_ctl status: 0 running, 3 not running, 4 no usable data directory.
    match output.status.code() {
        Some(0) => Ok(true),
        Some(3) => Ok(false),
        _ => bail!("pg_ctl status failed:\n{}", describe_output(&output)),
    }
}

fn start_postmaster(
    layout: &Layout,
    bin_dir: &Path,
    owner: Option<&ServiceUser>,
) -> anyhow::Result<()> {
    let output = run(pg_command(bin_dir, "pg_ctl", layout, owner)
        .arg("start")
        .arg("--pgdata")
        .arg(&layout.pgdata)
        .arg("--log")
        .arg(&layout.log_file)
        .args(["--wait", "--timeout", "120", "--silent"]))?;
    if !output.status.success() {
        let log_tail = fs::read_to_string(&layout.log_file)
            .map(|log| {
                let lines: Vec<&str> = log.lines().collect();
                lines[lines.len().saturating_sub(15)..].join("\n")
            })
            .unwrap_or_default();
        bail!(
            "the embedded PostgreSQL did not start:\n{}\nlast lines of {}:\n{log_tail}",
            describe_output(&output),
            layout.log_file.display()
        );
    }
    Ok(())
}

fn stop_postmaster(
    layout: &Layout,
    bin_dir: &Path,
    owner: Option<&ServiceUser>,
) -> anyhow::Result<()> {
    let output = run(pg_command(bin_dir, "pg_ctl", layout, owner)
        .arg("stop")
        .arg("--pgdata")
        .arg(&layout.pgdata)
        .args(["--mode", "fast", "--wait", "--timeout", "60", "--silent"]))?;
    if !output.status.success() {
        bail!(
            "the embedded PostgreSQL did not stop:\n{}",
            describe_output(&output)
        );
    }
    Ok(())
}

/// A PostgreSQL program, run as the cluster's owner, with the caller's PG* settings removed so
/// they cannot redirect it to another cluster.
fn pg_command(
    bin_dir: &Path,
    program: &str,
    layout: &Layout,
    owner: Option<&ServiceUser>,
) -> Command {
    let mut command = Command::new(bin_dir.join(program));
    for var in [
        "PGDATA",
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGDATABASE",
        "PGOPTIONS",
        "PGPASSWORD",
    ] {
        command.env_remove(var);
    }
    // The owner must be able to stat its working directory.
    command.current_dir(&layout.cluster_root);
    if let Some(owner) = owner {
        // std drops supplementary groups when switching away from root.
        command.uid(owner.uid).gid(owner.gid);
        command.env("HOME", &layout.cluster_root);
        command.env("USER", &owner.name);
    }
    command
}

fn run(command: &mut Command) -> anyhow::Result<Output> {
    let program = command.get_program().to_owned();
    command
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", program.to_string_lossy()))
}

fn describe_output(output: &Output) -> String {
    let mut text = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !stdout.trim().is_empty() {
        text.push('\n');
        text.push_str(stdout.trim());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_data_directories_get_a_short_socket_directory() {
        let long = PathBuf::from(format!("/tmp/{}", "d".repeat(120)));
        let layout = Layout::new(&long, None).unwrap();
        assert!(
            layout.socket_dir.as_os_str().len() < 40,
            "{}",
            layout.socket_dir.display()
        );
        let short = Layout::new(Path::new("/srv/vigil"), None).unwrap();
        assert_eq!(short.socket_dir, PathBuf::from("/srv/vigil/postgres/run"));
    }

    #[test]
    fn without_postgresql_programs_the_error_says_how_to_get_them() {
        let error = choose_bin_dir(vec![PathBuf::from("/nonexistent/bin")], None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("apt-get install postgresql"), "{error}");
        assert!(error.contains("DATABASE_URL"), "{error}");
    }

    #[test]
    fn the_same_data_directory_always_maps_to_the_same_places() {
        let long = PathBuf::from(format!("/tmp/{}", "e".repeat(120)));
        assert_eq!(
            Layout::new(&long, None).unwrap().socket_dir,
            Layout::new(&long, None).unwrap().socket_dir
        );
    }
}

//! The cache-only layer `collectstatic`: what Django's `collectstatic` wrote into the app dir in
//! an earlier build, with everything that result depends on, so a rebuild where none of it
//! changed puts the files back instead of running Django.
//!
//! - **What is stored**: the app dir is snapshotted (path, kind, permissions, SHA-256 of the
//!   contents) before the `manage.py` commands run and again after; every entry added or changed
//!   is copied into `<layer>/files/` (directories and symlinks too), and the paths that
//!   disappeared are listed in `<layer>/result.json`. When the commands wrote nothing inside the
//!   app dir but Python bytecode (`STATIC_ROOT` elsewhere, or a storage backend that uploads),
//!   nothing is cached and collectstatic runs on every build.
//! - **Cache key** ([`CollectstaticMetadata`]): a format version; the runtime ([`RuntimeKey`]:
//!   the Python version reported by the app's Python, arch, distro); the Django version; a digest
//!   of the installed distributions (name, version and their `RECORD`, which lists every
//!   installed file with its hash); a digest of the app's files before collectstatic; a digest
//!   of the env the commands run with (names and salted SHA-256 of values, never a value in
//!   clear nor a plain digest that a guessed value could be checked against: the random salt is
//!   made when the layer is first stored and kept in it; `CNB_*` and shell bookkeeping such as
//!   `HOSTNAME` are left out: the lifecycle sets them per build and Django doesn't read them). The per-entry digests behind each digest are kept in
//!   `result.json`, only to name what changed when the cache is discarded.
//! - **Order**: files, then `result.json`, then the layer metadata, so a build that stops midway
//!   leaves metadata that doesn't deserialise and the next build discards the layer.
//! - Not covered: anything the settings read outside the app dir, the installed packages and the
//!   env (a file elsewhere on disk, the network, the time of day).

use crate::PythonBuildpack;
use crate::errors::BuildpackError;
use crate::layers::runtime_key::{RuntimeKey, input_changes, version_change};
use crate::limited_command::{self, Output, RunError};
use libcnb::Env;
use libcnb::build::BuildContext;
use libcnb::data::layer::LayerName;
use libcnb::data::layer_name;
use libcnb::layer::{CachedLayerDefinition, InvalidMetadataAction, LayerRef, RestoredLayerAction};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Bump when what the layer holds or how the key is computed changes.
const FORMAT_VERSION: &str = "3";

/// Env vars that say nothing about the app: set per build by the lifecycle or the shell.
const IGNORED_ENV_VARS: [&str; 5] = ["HOSTNAME", "OLDPWD", "PWD", "SHLVL", "_"];

/// How many changed names a reason lists before "and N more".
const MAX_NAMED_CHANGES: usize = 5;

pub(crate) fn layer_name() -> LayerName {
    layer_name!("collectstatic")
}

/// Strings only: the lifecycle round-trips layer metadata through JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CollectstaticMetadata {
    format_version: String,
    runtime: RuntimeKey,
    django_version: String,
    /// SHA-256 over [`InputDetails::packages`].
    packages: String,
    /// SHA-256 over [`InputDetails::app_files`].
    app_files: String,
    /// One salted SHA-256 over the names and values of every variable in
    /// [`InputDetails::env`] ([`env_key`]).
    env: String,
}

/// The entries behind each digest of the metadata, kept in the layer to name what changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InputDetails {
    /// Path relative to the app dir → kind, permissions and content digest.
    app_files: BTreeMap<String, String>,
    /// Normalised distribution name → version and SHA-256 of its `RECORD`.
    packages: BTreeMap<String, String>,
    /// The names of the env vars behind [`CollectstaticMetadata::env`]. Only names: a digest
    /// per value, salt or not, would let anyone holding the cache check a guessed value of one
    /// variable (the salt is in the cache too); one digest over all of them can't be checked
    /// without every other value.
    env: BTreeSet<String>,
}

/// `<layer>/result.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredResult {
    /// Paths (relative to the app dir) the commands removed.
    removed: Vec<String>,
    inputs: InputDetails,
    /// The random salt of the env digest (hex), kept for the next build's comparison.
    salt: String,
}

/// This build's cache key, with its details.
#[derive(Clone, Debug)]
pub(crate) struct Inputs {
    pub(crate) metadata: CollectstaticMetadata,
    details: InputDetails,
    salt: String,
}

/// What the app's Python says about itself.
#[derive(Debug, PartialEq, Eq)]
struct Probe {
    python_version: String,
    /// Normalised distribution name → version and SHA-256 of its `RECORD`.
    packages: BTreeMap<String, String>,
}

/// Prints the Python version, then one line per installed distribution found on `sys.path`
/// (the first of each name, as imports would find it): normalised name, version, and a digest of
/// its `RECORD` (which lists every installed file with its hash; `PKG-INFO` for a legacy
/// `.egg-info`). Scans the directories itself: importing `importlib.metadata` would take
/// several times as long as the whole scan.
///
/// Run isolated (`-I`), so no module of the app can shadow the ones it imports; the directories
/// collectstatic also sees first (the app's, then `PYTHONPATH`'s) are its arguments.
const PROBE: &str = r#"import hashlib, os, sys
print("%d.%d.%d" % sys.version_info[:3])
seen = set()
for entry in sys.argv[1:] + sys.path:
    directory = entry or "."
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        continue
    for name in names:
        if name.endswith(".dist-info"):
            stem, inputs = name[:-10], ("RECORD", "METADATA")
        elif name.endswith(".egg-info"):
            stem, inputs = name[:-9], ("PKG-INFO",)
        else:
            continue
        project, _, version = stem.partition("-")
        key = project.lower().replace("_", "-").replace(".", "-")
        if key in seen:
            continue
        seen.add(key)
        path = os.path.join(directory, name)
        digest = hashlib.sha256()
        for input in inputs if os.path.isdir(path) else ("",):
            try:
                with open(os.path.join(path, input) if input else path, "rb") as file:
                    digest.update(file.read())
                break
            except OSError:
                pass
        print(key, version.split("-")[0] or "unknown", digest.hexdigest(), sep="\t")"#;

impl Probe {
    fn parse(output: &str) -> Option<Self> {
        let mut lines = output.lines();
        let python_version = lines.next()?.trim().to_string();
        let packages = lines
            .map(|line| {
                let mut fields = line.split('\t');
                let (name, version, digest) = (fields.next()?, fields.next()?, fields.next()?);
                Some((name.to_string(), format!("{version} {digest}")))
            })
            .collect::<Option<_>>()?;
        (!python_version.is_empty()).then_some(Self {
            python_version,
            packages,
        })
    }
}

/// A failure of the cache, with what was being done.
#[derive(Debug)]
pub(crate) struct CacheError {
    pub(crate) action: String,
    pub(crate) details: String,
}

impl CacheError {
    fn io(action: &str, path: &Path, error: &io::Error) -> Self {
        Self {
            action: format!("{action} {}", path.display()),
            details: error.to_string(),
        }
    }
}

impl Inputs {
    /// Gathers the key: asks the app's Python (`env`'s `python`, from `app_dir`) for its version
    /// and installed distributions, and digests `app_files` and `env`.
    pub(crate) fn gather(
        context: &BuildContext<PythonBuildpack>,
        env: &Env,
        django_version: &str,
        app_files: &Snapshot,
        limit: Duration,
    ) -> Result<Self, CacheError> {
        let probe = probe(&context.app_dir, env, limit)?;
        let salt = match read_result(&context.layers_dir.join(layer_name().as_str())) {
            Ok(result) if !result.salt.is_empty() => result.salt,
            _ => new_salt()?,
        };
        let (env_names, env_digest) = env_key(env, &salt);
        let details = InputDetails {
            app_files: app_files.entries(),
            packages: probe.packages,
            env: env_names,
        };
        let metadata = CollectstaticMetadata {
            format_version: FORMAT_VERSION.to_string(),
            runtime: RuntimeKey {
                python_version: probe.python_version,
                arch: context.target.arch.clone(),
                distro_name: context.target.distro_name.clone(),
                distro_version: context.target.distro_version.clone(),
            },
            django_version: django_version.to_string(),
            packages: digest_map(&details.packages),
            app_files: digest_map(&details.app_files),
            env: env_digest,
        };
        Ok(Self {
            metadata,
            details,
            salt,
        })
    }

    /// One sentence per input that differs from the cached layer's; `cached_details` (from the
    /// layer, when readable) names the files, packages and variables.
    fn changes(
        &self,
        cached: &CollectstaticMetadata,
        cached_details: Option<&InputDetails>,
    ) -> Vec<String> {
        let CollectstaticMetadata {
            format_version,
            runtime,
            django_version,
            packages,
            app_files,
            env,
        } = &self.metadata;
        if *format_version != cached.format_version {
            return vec!["They were stored by an older version of the buildpack".to_string()];
        }
        let mut changes = runtime.changes(&cached.runtime);
        changes.extend(version_change(
            "Django",
            django_version,
            &cached.django_version,
        ));
        let named = |summary: &str,
                     new: &BTreeMap<String, String>,
                     old: Option<&BTreeMap<String, String>>| {
            match old.map(|old| input_changes(new, old)) {
                Some(names) if !names.is_empty() => format!("{summary} ({})", list(&names)),
                _ => summary.to_string(),
            }
        };
        if *packages != cached.packages {
            changes.push(named(
                "The installed packages changed",
                &self.details.packages,
                cached_details.map(|details| &details.packages),
            ));
        }
        if *app_files != cached.app_files {
            changes.push(named(
                "The app's files changed",
                &self.details.app_files,
                cached_details.map(|details| &details.app_files),
            ));
        }
        if *env != cached.env {
            let as_map = |set: &BTreeSet<String>| -> BTreeMap<String, String> {
                set.iter()
                    .map(|name| (name.clone(), String::new()))
                    .collect()
            };
            let added_or_removed = cached_details
                .map(|details| input_changes(&as_map(&self.details.env), &as_map(&details.env)));
            changes.push(match added_or_removed {
                Some(added_or_removed) if !added_or_removed.is_empty() => {
                    format!(
                        "The build environment changed ({})",
                        list(&added_or_removed)
                    )
                }
                // Which value changed isn't recorded (see `InputDetails::env`).
                Some(_) => "The build environment changed (the value of a variable)".to_string(),
                None => "The build environment changed".to_string(),
            });
        }
        changes
    }
}

/// "a, b, c, d, e and 3 more".
fn list(names: &[String]) -> String {
    if names.len() <= MAX_NAMED_CHANGES {
        names.join(", ")
    } else {
        format!(
            "{} and {} more",
            names[..MAX_NAMED_CHANGES].join(", "),
            names.len() - MAX_NAMED_CHANGES
        )
    }
}

fn probe(app_dir: &Path, env: &Env, limit: Duration) -> Result<Probe, CacheError> {
    let action = "listing the installed packages with 'python -I -c <list installed packages>'";
    let failed = |details: String| CacheError {
        action: action.to_string(),
        details,
    };
    let mut command = Command::new("python");
    command
        .args(["-I", "-c", PROBE])
        .arg(app_dir)
        .args(
            env.get("PYTHONPATH")
                .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
                .unwrap_or_default(),
        )
        .current_dir("/")
        .env_clear()
        .envs(env);
    let finished = match limited_command::run(&mut command, limit, Output::Capture) {
        Ok(finished) => finished,
        Err(RunError::Spawn(error)) => return Err(failed(error.to_string())),
        Err(RunError::TimedOut(timed_out)) => {
            return Err(failed(format!(
                "It was stopped after {} (the time limit, {}). Its last output:\n\n{}",
                limited_command::describe_duration(timed_out.elapsed),
                limited_command::TIME_LIMIT_VAR,
                timed_out.tail.render("    ")
            )));
        }
    };
    if !finished.status.success() {
        return Err(failed(finished.tail.render("    ")));
    }
    let stdout = String::from_utf8_lossy(&finished.stdout);
    Probe::parse(&stdout)
        .filter(|_| !finished.truncated)
        .ok_or_else(|| {
            failed(format!(
                "Its output could not be understood:\n\n{}",
                finished.tail.render("    ")
            ))
        })
}

/// A new random salt for the env digests, hex.
fn new_salt() -> Result<String, CacheError> {
    let mut bytes = [0u8; 32];
    let path = Path::new("/dev/urandom");
    fs::File::open(path)
        .and_then(|mut file| io::Read::read_exact(&mut file, &mut bytes))
        .map_err(|error| CacheError::io("reading", path, &error))?;
    Ok(bytes.iter().fold(String::new(), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    }))
}

/// The names of every var Django could read, and one salted SHA-256 over all their names and
/// values. One digest for them all, so that no single value can be checked against it; the salt,
/// random and per cache, so that no digest can be compared with one computed elsewhere.
fn env_key(env: &Env, salt: &str) -> (BTreeSet<String>, String) {
    let vars: BTreeMap<String, &std::ffi::OsStr> = env
        .iter()
        .map(|(name, value)| (name.to_string_lossy().into_owned(), value))
        .filter(|(name, _)| !name.starts_with("CNB_") && !IGNORED_ENV_VARS.contains(&name.as_str()))
        .map(|(name, value)| (name, value.as_os_str()))
        .collect();
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    for (name, value) in &vars {
        for part in [name.as_bytes(), value.as_encoded_bytes()] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
    }
    (
        vars.into_keys().collect(),
        format!("{:x}", hasher.finalize()),
    )
}

fn digest_map(map: &BTreeMap<String, String>) -> String {
    let mut hasher = Sha256::new();
    for (key, value) in map {
        hasher.update(key.as_bytes());
        hasher.update([0]);
        hasher.update(value.as_bytes());
        hasher.update([b'\n']);
    }
    format!("{:x}", hasher.finalize())
}

/// What one path in a directory tree is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Entry {
    File {
        mode: u32,
        sha256: String,
    },
    Dir {
        mode: u32,
    },
    Symlink {
        target: PathBuf,
    },
    /// A socket, FIFO or device: recorded, never stored.
    Other,
}

impl Entry {
    fn describe(&self) -> String {
        match self {
            Self::File { mode, sha256 } => format!("file {mode:o} {sha256}"),
            Self::Dir { mode } => format!("dir {mode:o}"),
            Self::Symlink { target } => format!("symlink {}", target.display()),
            Self::Other => "other".to_string(),
        }
    }
}

/// Every path under a directory (relative, parents before children), with its [`Entry`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Snapshot(BTreeMap<PathBuf, Entry>);

impl Snapshot {
    pub(crate) fn take(dir: &Path) -> Result<Self, CacheError> {
        let mut entries = BTreeMap::new();
        walk(dir, Path::new(""), &mut entries)?;
        Ok(Self(entries))
    }

    fn entries(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|(path, entry)| (path.to_string_lossy().into_owned(), entry.describe()))
            .collect()
    }
}

fn walk(
    root: &Path,
    relative: &Path,
    entries: &mut BTreeMap<PathBuf, Entry>,
) -> Result<(), CacheError> {
    let dir = root.join(relative);
    let read = fs::read_dir(&dir).map_err(|error| CacheError::io("reading", &dir, &error))?;
    for item in read {
        let item = item.map_err(|error| CacheError::io("reading", &dir, &error))?;
        let path = item.path();
        let relative = relative.join(item.file_name());
        let metadata = fs::symlink_metadata(&path)
            .map_err(|error| CacheError::io("reading", &path, &error))?;
        let mode = metadata.permissions().mode() & 0o7777;
        let file_type = metadata.file_type();
        let entry = if file_type.is_symlink() {
            Entry::Symlink {
                target: fs::read_link(&path)
                    .map_err(|error| CacheError::io("reading", &path, &error))?,
            }
        } else if file_type.is_dir() {
            Entry::Dir { mode }
        } else if file_type.is_file() {
            let mut hasher = Sha256::new();
            let mut file =
                fs::File::open(&path).map_err(|error| CacheError::io("reading", &path, &error))?;
            io::copy(&mut file, &mut hasher)
                .map_err(|error| CacheError::io("reading", &path, &error))?;
            Entry::File {
                mode,
                sha256: format!("{:x}", hasher.finalize()),
            }
        } else {
            Entry::Other
        };
        let is_dir = matches!(entry, Entry::Dir { .. });
        entries.insert(relative.clone(), entry);
        if is_dir {
            walk(root, &relative, entries)?;
        }
    }
    Ok(())
}

/// What the commands did to the app dir.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    /// Added or changed paths, parents before children.
    written: Vec<PathBuf>,
    /// Paths that existed before and no longer do.
    removed: Vec<PathBuf>,
}

impl Changes {
    pub(crate) fn between(before: &Snapshot, after: &Snapshot) -> Self {
        let written = after
            .0
            .iter()
            .filter(|(path, entry)| before.0.get(*path) != Some(entry))
            .map(|(path, _)| path.clone())
            .collect();
        let removed = before
            .0
            .keys()
            .filter(|path| !after.0.contains_key(*path))
            .cloned()
            .collect();
        Self { written, removed }
    }

    /// Whether the commands changed anything in the app dir but Python's bytecode caches.
    pub(crate) fn worth_caching(&self) -> bool {
        self.written
            .iter()
            .chain(&self.removed)
            .any(|path| !is_bytecode(path))
    }

    /// The number of files and symlinks written, bytecode aside.
    pub(crate) fn written_files(&self, after: &Snapshot) -> usize {
        self.written
            .iter()
            .filter(|path| {
                !is_bytecode(path)
                    && matches!(
                        after.0.get(*path),
                        Some(Entry::File { .. } | Entry::Symlink { .. })
                    )
            })
            .count()
    }
}

fn is_bytecode(path: &Path) -> bool {
    path.components()
        .any(|component| component == Component::Normal("__pycache__".as_ref()))
        || path.extension().is_some_and(|extension| extension == "pyc")
}

/// Creates or restores the layer: kept only when every input is unchanged. The `Vec<String>` in
/// the layer's state is every reason it was discarded (empty when restored).
pub(crate) fn open_layer(
    context: &BuildContext<PythonBuildpack>,
    inputs: &Inputs,
) -> libcnb::Result<LayerRef<PythonBuildpack, (), Vec<String>>, BuildpackError> {
    context.cached_layer(
        layer_name(),
        CachedLayerDefinition {
            build: false,
            launch: false,
            invalid_metadata_action: &|_| InvalidMetadataAction::DeleteLayer,
            restored_layer_action: &|cached: &CollectstaticMetadata, layer_dir: &Path| {
                let details = read_result(layer_dir).ok().map(|result| result.inputs);
                let changes = inputs.changes(cached, details.as_ref());
                if changes.is_empty() {
                    (RestoredLayerAction::KeepLayer, changes)
                } else {
                    (RestoredLayerAction::DeleteLayer, changes)
                }
            },
        },
    )
}

/// Removes the layer (when collectstatic is skipped, or wrote nothing worth caching), so no
/// stale result is kept. Nothing to do when it doesn't exist.
pub(crate) fn remove_layer(context: &BuildContext<PythonBuildpack>) -> Result<(), CacheError> {
    let name = layer_name();
    let dir = context.layers_dir.join(name.as_str());
    let toml = context.layers_dir.join(format!("{name}.toml"));
    match fs::remove_dir_all(&dir) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => {
            return Err(CacheError::io("removing", &dir, &error));
        }
        _ => {}
    }
    match fs::remove_file(&toml) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => {
            Err(CacheError::io("removing", &toml, &error))
        }
        _ => Ok(()),
    }
}

fn read_result(layer_dir: &Path) -> Result<StoredResult, CacheError> {
    let path = layer_dir.join("result.json");
    let contents = fs::read(&path).map_err(|error| CacheError::io("reading", &path, &error))?;
    serde_json::from_slice(&contents).map_err(|error| CacheError {
        action: format!("reading {}", path.display()),
        details: error.to_string(),
    })
}

/// Copies what the commands wrote (`changes`, as found in `app_dir`) into the layer, then
/// writes `result.json`. The caller writes the metadata afterwards.
pub(crate) fn store(
    app_dir: &Path,
    layer_dir: &Path,
    changes: &Changes,
    after: &Snapshot,
    inputs: &Inputs,
) -> Result<(), CacheError> {
    let files = layer_dir.join("files");
    create_dir(&files)?;
    // Every directory holding a written entry is created with the permissions it has in the
    // app, so restoring it gives the same tree; permissions are set last, in case one is
    // read-only.
    let mut dir_modes = BTreeMap::new();
    for path in &changes.written {
        for ancestor in path.ancestors().skip(1) {
            if ancestor.as_os_str().is_empty() || dir_modes.contains_key(ancestor) {
                continue;
            }
            if let Some(Entry::Dir { mode }) = after.0.get(ancestor) {
                create_dir(&files.join(ancestor))?;
                dir_modes.insert(ancestor.to_path_buf(), *mode);
            }
        }
        let (source, target) = (app_dir.join(path), files.join(path));
        match after.0.get(path) {
            Some(Entry::Dir { mode }) => {
                create_dir(&target)?;
                dir_modes.insert(path.clone(), *mode);
            }
            Some(Entry::File { .. }) => copy_file(&source, &target)?,
            Some(Entry::Symlink { target: link }) => make_symlink(link, &target)?,
            Some(Entry::Other) | None => {}
        }
    }
    for (dir, mode) in dir_modes.iter().rev() {
        set_mode(&files.join(dir), *mode)?;
    }
    let result = StoredResult {
        removed: changes
            .removed
            .iter()
            .map(|path| path.to_string_lossy().into_owned())
            .collect(),
        inputs: inputs.details.clone(),
        salt: inputs.salt.clone(),
    };
    let path = layer_dir.join("result.json");
    let json = serde_json::to_vec(&result).map_err(|error| CacheError {
        action: format!("writing {}", path.display()),
        details: error.to_string(),
    })?;
    fs::write(&path, json).map_err(|error| CacheError::io("writing", &path, &error))
}

/// Makes the app dir what the commands left it as: removes what they removed, then copies the
/// stored entries in. Returns the number of files and symlinks restored.
pub(crate) fn restore(layer_dir: &Path, app_dir: &Path) -> Result<usize, CacheError> {
    let result = read_result(layer_dir)?;
    for removed in &result.removed {
        remove_path(&app_dir.join(removed))?;
    }
    let mut restored = 0;
    copy_tree(&layer_dir.join("files"), app_dir, &mut restored)?;
    Ok(restored)
}

fn copy_tree(from: &Path, to: &Path, restored: &mut usize) -> Result<(), CacheError> {
    let read = fs::read_dir(from).map_err(|error| CacheError::io("reading", from, &error))?;
    for item in read {
        let item = item.map_err(|error| CacheError::io("reading", from, &error))?;
        let (source, target) = (item.path(), to.join(item.file_name()));
        let metadata = fs::symlink_metadata(&source)
            .map_err(|error| CacheError::io("reading", &source, &error))?;
        let file_type = metadata.file_type();
        if file_type.is_dir() {
            if !fs::symlink_metadata(&target).is_ok_and(|existing| existing.is_dir()) {
                remove_path(&target)?;
            }
            create_dir(&target)?;
            copy_tree(&source, &target, restored)?;
            set_mode(&target, metadata.permissions().mode() & 0o7777)?;
        } else {
            remove_path(&target)?;
            if file_type.is_symlink() {
                let link = fs::read_link(&source)
                    .map_err(|error| CacheError::io("reading", &source, &error))?;
                make_symlink(&link, &target)?;
            } else {
                copy_file(&source, &target)?;
                stamp_bytecode(&target)?;
            }
            *restored += 1;
        }
    }
    Ok(())
}

/// A restored `__pycache__/<name>.<tag>.pyc` that Python validates by its source's timestamp
/// gets the timestamp of the source as it is in this build (its contents are the same, or the
/// cache wouldn't be used), as Python would have written it: the file is then what running
/// the commands gives, and still valid for its source.
fn stamp_bytecode(pyc: &Path) -> Result<(), CacheError> {
    let Some(source) = bytecode_source(pyc) else {
        return Ok(());
    };
    let Ok(source_metadata) = fs::metadata(&source) else {
        return Ok(());
    };
    let mut contents = fs::read(pyc).map_err(|error| CacheError::io("reading", pyc, &error))?;
    // The header: magic number, flags (0: validated by timestamp), mtime, source size.
    if contents.len() < 16 || contents[4..8] != [0, 0, 0, 0] {
        return Ok(());
    }
    let mtime = source_metadata
        .modified()
        .ok()
        .and_then(|modified| modified.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |since| since.as_secs());
    // Python stores both as unsigned 32-bit little-endian numbers, truncated.
    let truncate = |value: u64| u32::try_from(value & u64::from(u32::MAX)).unwrap_or_default();
    let (mtime, size) = (truncate(mtime), truncate(source_metadata.len()));
    contents[8..12].copy_from_slice(&mtime.to_le_bytes());
    contents[12..16].copy_from_slice(&size.to_le_bytes());
    fs::write(pyc, contents).map_err(|error| CacheError::io("writing", pyc, &error))
}

/// `pkg/__pycache__/mod.cpython-312.pyc` → `pkg/mod.py`.
fn bytecode_source(pyc: &Path) -> Option<PathBuf> {
    let cache_dir = pyc.parent()?;
    if cache_dir.file_name()? != "__pycache__" || pyc.extension()? != "pyc" {
        return None;
    }
    let stem = pyc.file_stem()?.to_str()?;
    let (module, _tag) = stem.rsplit_once('.')?;
    Some(cache_dir.parent()?.join(format!("{module}.py")))
}

/// Creates `dir` (and its parents) if missing.
fn create_dir(dir: &Path) -> Result<(), CacheError> {
    fs::create_dir_all(dir).map_err(|error| CacheError::io("creating", dir, &error))
}

fn set_mode(path: &Path, mode: u32) -> Result<(), CacheError> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|error| CacheError::io("setting the permissions of", path, &error))
}

/// Copies contents and permissions.
fn copy_file(source: &Path, target: &Path) -> Result<(), CacheError> {
    fs::copy(source, target)
        .map(|_| ())
        .map_err(|error| CacheError::io("copying to", target, &error))
}

fn make_symlink(link: &Path, at: &Path) -> Result<(), CacheError> {
    std::os::unix::fs::symlink(link, at).map_err(|error| CacheError::io("creating", at, &error))
}

/// Removes a file, symlink or directory tree; nothing to do when it doesn't exist.
fn remove_path(path: &Path) -> Result<(), CacheError> {
    let result = match fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    };
    result.map_err(|error| CacheError::io("removing", path, &error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn write(path: &Path, contents: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    fn metadata() -> CollectstaticMetadata {
        CollectstaticMetadata {
            format_version: FORMAT_VERSION.to_string(),
            runtime: RuntimeKey {
                python_version: "3.12.1".to_string(),
                arch: "amd64".to_string(),
                distro_name: "ubuntu".to_string(),
                distro_version: "24.04".to_string(),
            },
            django_version: "5.2.19".to_string(),
            packages: "p".to_string(),
            app_files: "a".to_string(),
            env: "e".to_string(),
        }
    }

    fn details(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(key, value)| ((*key).to_string(), (*value).to_string()))
            .collect()
    }

    fn names(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|name| (*name).to_string()).collect()
    }

    #[test]
    fn unchanged_inputs_give_no_reason() {
        let inputs = Inputs {
            metadata: metadata(),
            details: InputDetails::default(),
            salt: "s".to_string(),
        };
        assert!(inputs.changes(&metadata(), None).is_empty());
    }

    #[test]
    fn every_changed_input_is_a_reason_naming_what_changed() {
        let cached = metadata();
        let cached_details = InputDetails {
            app_files: details(&[("manage.py", "file 644 1"), ("static/a.css", "file 644 2")]),
            packages: details(&[("django", "5.2.19 x")]),
            env: names(&["SECRET", "OLD"]),
        };
        let mut new = metadata();
        new.runtime.python_version = "3.13.0".to_string();
        new.django_version = "5.2.20".to_string();
        new.packages = "p2".to_string();
        new.app_files = "a2".to_string();
        new.env = "e2".to_string();
        let inputs = Inputs {
            metadata: new,
            details: InputDetails {
                app_files: details(&[
                    ("manage.py", "file 644 1"),
                    ("static/a.css", "file 644 3"),
                    ("static/b.css", "file 644 4"),
                ]),
                packages: details(&[("django", "5.2.20 y"), ("six", "1.16.0 z")]),
                env: names(&["SECRET", "NEW"]),
            },
            salt: "s".to_string(),
        };
        assert_eq!(
            inputs.changes(&cached, Some(&cached_details)),
            [
                "The Python version changed from 3.12.1 to 3.13.0",
                "The Django version changed from 5.2.19 to 5.2.20",
                "The installed packages changed (django changed, six was added)",
                "The app's files changed (static/a.css changed, static/b.css was added)",
                "The build environment changed (NEW was added, OLD was removed)",
            ]
        );
        // Without the cached layer's details, only what changed.
        assert_eq!(
            inputs.changes(&cached, None)[2..],
            [
                "The installed packages changed",
                "The app's files changed",
                "The build environment changed",
            ]
        );
    }

    #[test]
    fn another_format_version_is_the_only_reason() {
        let mut cached = metadata();
        cached.format_version = "0".to_string();
        cached.django_version = "4.2.0".to_string();
        let inputs = Inputs {
            metadata: metadata(),
            details: InputDetails::default(),
            salt: "s".to_string(),
        };
        assert_eq!(
            inputs.changes(&cached, None),
            ["They were stored by an older version of the buildpack"]
        );
    }

    #[test]
    fn probe_output() {
        assert_eq!(
            Probe::parse("3.12.1\ndjango\t5.2.19\tabc\nsix\t1.17.0\tdef\n"),
            Some(Probe {
                python_version: "3.12.1".to_string(),
                packages: details(&[("django", "5.2.19 abc"), ("six", "1.17.0 def")]),
            })
        );
        assert_eq!(Probe::parse(""), None);
        assert_eq!(Probe::parse("3.12.1\ndjango 5.2.19\n"), None);
    }

    #[test]
    fn long_lists_are_cut() {
        let names: Vec<String> = (1..=7).map(|n| format!("f{n} changed")).collect();
        assert_eq!(
            list(&names),
            "f1 changed, f2 changed, f3 changed, f4 changed, f5 changed and 2 more"
        );
    }

    #[test]
    fn serialized_metadata_is_pinned() {
        // Changing this format discards every user's cache: do it deliberately.
        assert_eq!(
            toml::to_string(&metadata()).unwrap(),
            indoc::indoc! {r#"
                format_version = "3"
                django_version = "5.2.19"
                packages = "p"
                app_files = "a"
                env = "e"

                [runtime]
                python_version = "3.12.1"
                arch = "amd64"
                distro_name = "ubuntu"
                distro_version = "24.04"
            "#}
        );
    }

    #[test]
    fn the_env_is_one_salted_digest_and_its_names() {
        let mut env = Env::new();
        env.insert("SECRET_KEY", "hunter2");
        env.insert("DATABASE_URL", "postgres://app:pw@db/app");
        env.insert("CNB_LAYERS_DIR", "/layers/x");
        env.insert("HOSTNAME", "abc123");
        let (names, digest) = env_key(&env, "salt1");
        assert_eq!(
            names,
            super::BTreeSet::from(["DATABASE_URL".to_string(), "SECRET_KEY".to_string()])
        );
        // Nothing stored depends on one value alone: another value of one variable changes the
        // one digest, and the names stay the same.
        let mut other = env.clone();
        other.insert("SECRET_KEY", "hunter3");
        let (other_names, other_digest) = env_key(&other, "salt1");
        assert_eq!(other_names, names);
        assert_ne!(other_digest, digest);
        // Per-build vars are left out; another salt gives another digest.
        other.insert("SECRET_KEY", "hunter2");
        other.insert("HOSTNAME", "def456");
        assert_eq!(env_key(&other, "salt1").1, digest);
        assert_ne!(env_key(&env, "salt2").1, digest);
        // Not the plain SHA-256 of any value.
        assert_ne!(
            digest,
            "f52fbd32b2b3b86ff88ef6c490628285f482af15ddcb29541f94bcf526a3f6c7"
        );
        let salt = new_salt().unwrap();
        assert_eq!(salt.len(), 64);
        assert_ne!(salt, new_salt().unwrap());
    }

    #[test]
    fn changes_are_what_was_added_changed_or_removed() {
        let app = tempfile::tempdir().unwrap();
        let app_dir = app.path();
        write(&app_dir.join("manage.py"), "django");
        write(&app_dir.join("static/site.css"), "a");
        write(&app_dir.join("staticfiles/stale.css"), "old");
        write(&app_dir.join("staticfiles/keep.css"), "same");
        let before = Snapshot::take(app_dir).unwrap();

        write(&app_dir.join("staticfiles/keep.css"), "same");
        write(&app_dir.join("staticfiles/site.css"), "a");
        write(&app_dir.join("staticfiles/css/deep.css"), "b");
        symlink("site.css", app_dir.join("staticfiles/link.css")).unwrap();
        fs::remove_file(app_dir.join("staticfiles/stale.css")).unwrap();
        fs::set_permissions(app_dir.join("manage.py"), fs::Permissions::from_mode(0o755)).unwrap();
        let after = Snapshot::take(app_dir).unwrap();

        let changes = Changes::between(&before, &after);
        assert_eq!(
            changes,
            Changes {
                written: [
                    "manage.py",
                    "staticfiles/css",
                    "staticfiles/css/deep.css",
                    "staticfiles/link.css",
                    "staticfiles/site.css",
                ]
                .iter()
                .map(PathBuf::from)
                .collect(),
                removed: vec![PathBuf::from("staticfiles/stale.css")],
            }
        );
        assert!(changes.worth_caching());
        assert_eq!(changes.written_files(&after), 4);
    }

    #[test]
    fn bytecode_alone_is_not_worth_caching() {
        let changes = Changes {
            written: vec![
                PathBuf::from("mysite/__pycache__"),
                PathBuf::from("mysite/__pycache__/settings.cpython-312.pyc"),
                PathBuf::from("legacy.pyc"),
            ],
            removed: Vec::new(),
        };
        assert!(!changes.worth_caching());
        assert!(!Changes::default().worth_caching());
    }

    #[test]
    fn restored_bytecode_gets_the_timestamp_of_its_source() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("mod.py"), "x = 1\n");
        let pyc = dir.path().join("__pycache__/mod.cpython-312.pyc");
        let mut header = vec![0xcb, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0];
        header.extend([1, 0, 0, 0, 99, 0, 0, 0]);
        header.extend(b"code");
        write(&pyc, "");
        fs::write(&pyc, &header).unwrap();
        stamp_bytecode(&pyc).unwrap();
        let contents = fs::read(&pyc).unwrap();
        let mtime = fs::metadata(dir.path().join("mod.py"))
            .unwrap()
            .modified()
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mtime = u32::try_from(mtime).unwrap();
        assert_eq!(contents[8..12], mtime.to_le_bytes());
        assert_eq!(contents[12..16], 6u32.to_le_bytes());
        assert_eq!(&contents[16..], b"code");

        // Hash-based bytecode is left as it is.
        let hashed = [0xcb, 0x0d, 0x0d, 0x0a, 1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
        fs::write(&pyc, hashed).unwrap();
        stamp_bytecode(&pyc).unwrap();
        assert_eq!(fs::read(&pyc).unwrap(), hashed);
        assert_eq!(bytecode_source(Path::new("a/mod.pyc")), None);
    }

    /// Storing then restoring into a fresh copy of the source gives exactly the tree the
    /// commands left.
    #[test]
    fn restore_reproduces_the_tree() {
        let source = tempfile::tempdir().unwrap();
        let write_source = |dir: &Path| {
            write(&dir.join("manage.py"), "django");
            write(&dir.join("static/site.css"), "a");
            write(&dir.join("staticfiles/stale.css"), "old");
            write(
                &dir.join("staticfiles/replaced"),
                "a file that becomes a directory",
            );
        };
        write_source(source.path());
        let before = Snapshot::take(source.path()).unwrap();

        let app_dir = source.path();
        write(&app_dir.join("staticfiles/site.css"), "a");
        write(&app_dir.join("staticfiles/site.css.gz"), "compressed");
        fs::remove_file(app_dir.join("staticfiles/stale.css")).unwrap();
        fs::remove_file(app_dir.join("staticfiles/replaced")).unwrap();
        write(&app_dir.join("staticfiles/replaced/inner.js"), "c");
        fs::create_dir_all(app_dir.join("staticfiles/empty")).unwrap();
        fs::set_permissions(
            app_dir.join("staticfiles/empty"),
            fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        symlink("site.css", app_dir.join("staticfiles/link.css")).unwrap();
        let after = Snapshot::take(app_dir).unwrap();
        let changes = Changes::between(&before, &after);

        let layer = tempfile::tempdir().unwrap();
        let inputs = Inputs {
            metadata: metadata(),
            details: InputDetails::default(),
            salt: "s".to_string(),
        };
        store(app_dir, layer.path(), &changes, &after, &inputs).unwrap();

        let fresh = tempfile::tempdir().unwrap();
        write_source(fresh.path());
        assert_eq!(restore(layer.path(), fresh.path()).unwrap(), 4);
        assert_eq!(Snapshot::take(fresh.path()).unwrap(), after);
    }
}

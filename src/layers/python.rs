//! The `python` layer: the `CPython` runtime, at build and launch, cached while its inputs stay
//! the same.
//!
//! **Bytecode**: the standard library is compiled once, when the layer is built, with
//! the equivalent of `compileall --invalidation-mode unchecked-hash`, on every core
//! ([`crate::bytecode`]). Exporting an image resets every file's mtime
//! (to 1980-01-01), which makes timestamp-validated `.pyc` files (as archives ship them, when they
//! ship any) look stale at launch: every process would recompile what it imports and try to
//! write `__pycache__` into the layer. Hash-based `.pyc` files hold no timestamps, so launch
//! never recompiles and two builds of the same runtime give byte-identical layers.

use crate::PythonBuildpack;
use crate::download::{self, DownloadError};
use crate::error_message::ErrorMessage;
use crate::errors::BuildpackError;
use crate::inventory::Artifact;
use crate::sbom;
use bullet_stream::global::print;
use flate2::read::GzDecoder;
use fun_run::CmdError;
use indoc::formatdoc;
use libcnb::Env;
use libcnb::build::BuildContext;
use libcnb::data::layer_name;
use libcnb::layer::{
    CachedLayerDefinition, EmptyLayerCause, InvalidMetadataAction, LayerState, RestoredLayerAction,
};
use libcnb::layer_env::{LayerEnv, ModificationBehavior, Scope};
use serde::{Deserialize, Serialize};
use std::fs::{self, File, FileTimes};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Every input that decides the layer's content. Strings only: the lifecycle round-trips layer
/// metadata through JSON, which would turn integers into floats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PythonLayerMetadata {
    pub(crate) python_version: String,
    pub(crate) arch: String,
    pub(crate) distro_name: String,
    pub(crate) distro_version: String,
    pub(crate) archive_sha256: String,
}

/// Installs `artifact` into the `python` layer (or reuses the cached one when nothing changed),
/// and adds the layer's build env to `env`.
pub(crate) fn install_python(
    context: &BuildContext<PythonBuildpack>,
    env: &mut Env,
    artifact: &Artifact,
) -> Result<(), libcnb::Error<BuildpackError>> {
    let metadata = PythonLayerMetadata {
        python_version: artifact.version.to_string(),
        arch: context.target.arch.clone(),
        distro_name: context.target.distro_name.clone(),
        distro_version: context.target.distro_version.clone(),
        archive_sha256: artifact.sha256.clone(),
    };
    let layer = context.cached_layer(
        layer_name!("python"),
        CachedLayerDefinition {
            build: true,
            launch: true,
            invalid_metadata_action: &|_| InvalidMetadataAction::DeleteLayer,
            restored_layer_action: &|cached: &PythonLayerMetadata, _| {
                let reasons = cache_invalidation_reasons(cached, &metadata);
                if reasons.is_empty() {
                    (RestoredLayerAction::KeepLayer, reasons)
                } else {
                    (RestoredLayerAction::DeleteLayer, reasons)
                }
            },
        },
    )?;
    match layer.state {
        LayerState::Restored { .. } => {
            print::bullet(format!("Using cached Python {}", artifact.version));
        }
        LayerState::Empty { ref cause } => {
            match cause {
                EmptyLayerCause::NewlyCreated => {}
                EmptyLayerCause::InvalidMetadataAction { .. } => print::bullet(
                    "Discarding the cached Python runtime: its metadata is unreadable (left by an \
                     older buildpack version or an interrupted build)",
                ),
                EmptyLayerCause::RestoredLayerAction { cause: reasons } => {
                    print::bullet("Discarding the cached Python runtime because:");
                    for reason in reasons {
                        print::sub_bullet(reason);
                    }
                }
            }
            print::bullet(format!("Installing Python {}", artifact.version));
            install_runtime(artifact, &layer.path()).map_err(BuildpackError::PythonLayer)?;
            layer.write_env(layer_env())?;
            // Last, so that a layer left by a failed build has no metadata and is discarded.
            layer.write_metadata(metadata)?;
        }
    }
    // Written on every build, also when the cached layer is reused, so the SBOM always
    // describes the runtime the image holds.
    layer.write_sboms(&[sbom::python_runtime_sbom(artifact)])?;
    *env = layer.read_env()?.apply(Scope::Build, env);
    Ok(())
}

/// What the runtime needs at build and launch. `bin/` goes on `PATH` by the CNB layer rules, and
/// the runtime finds `libpython` through its `$ORIGIN`-relative RPATH, so `LD_LIBRARY_PATH` isn't
/// needed. `PYTHONHOME` stays unset: it would break every other Python on the image.
fn layer_env() -> LayerEnv {
    LayerEnv::new()
        // Logs reach the platform as they're written, not when a buffer fills.
        .chainable_insert(
            Scope::All,
            ModificationBehavior::Override,
            "PYTHONUNBUFFERED",
            "1",
        )
        // A UTF-8 locale for the app and its tools, unless the user or image chose one.
        .chainable_insert(Scope::All, ModificationBehavior::Default, "LANG", "C.UTF-8")
}

/// Every difference between the cached layer's inputs and this build's, in words.
pub(crate) fn cache_invalidation_reasons(
    cached: &PythonLayerMetadata,
    current: &PythonLayerMetadata,
) -> Vec<String> {
    // Destructured so that a new field can't be forgotten here.
    let PythonLayerMetadata {
        python_version,
        arch,
        distro_name,
        distro_version,
        archive_sha256,
    } = cached;
    let mut reasons = Vec::new();
    if python_version != &current.python_version {
        reasons.push(format!(
            "Python version changed from {python_version} to {}",
            current.python_version
        ));
    }
    if arch != &current.arch {
        reasons.push(format!(
            "The CPU architecture changed from {arch} to {}",
            current.arch
        ));
    }
    if (distro_name, distro_version) != (&current.distro_name, &current.distro_version) {
        reasons.push(format!(
            "The stack/distro changed from {distro_name} {distro_version} to {} {}",
            current.distro_name, current.distro_version
        ));
    }
    if python_version == &current.python_version && archive_sha256 != &current.archive_sha256 {
        reasons.push(format!(
            "The Python {python_version} archive changed (SHA-256 {} instead of {})",
            short_digest(&current.archive_sha256),
            short_digest(archive_sha256)
        ));
    }
    reasons
}

fn short_digest(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

fn install_runtime(artifact: &Artifact, layer_dir: &Path) -> Result<(), PythonLayerError> {
    let download_error = |error| PythonLayerError::Download {
        version: artifact.version.to_string(),
        error,
    };
    let verb = if download::is_http_url(&artifact.url) {
        "Downloading"
    } else {
        "Copying"
    };
    let timer = print::sub_start_timer(format!("{verb} {}", artifact.url));
    let archive = match download::fetch_verified(&artifact.url, &artifact.sha256) {
        Ok(archive) => {
            timer.done();
            archive
        }
        Err(error) => {
            timer.cancel("failed");
            return Err(download_error(error));
        }
    };
    print::sub_bullet(format!(
        "Verified the SHA-256 checksum ({})",
        short_digest(&artifact.sha256)
    ));
    let timer = print::sub_start_timer("Unpacking");
    let unpacked = unpack_runtime(archive.path(), layer_dir)
        .map_err(|problem| PythonLayerError::Unpack {
            url: artifact.url.clone(),
            problem,
        })
        .and_then(|()| tidy_runtime(artifact, layer_dir));
    match &unpacked {
        Ok(()) => timer.done(),
        Err(_) => timer.cancel("failed"),
    }
    unpacked?;
    compile_stdlib(
        &layer_dir.join("bin/python3"),
        &stdlib_dir(artifact, layer_dir),
    )
    .map_err(|error| PythonLayerError::Compile {
        url: artifact.url.clone(),
        version: artifact.version.to_string(),
        error: Box::new(error),
    })
}

/// `lib/python3.X` in the layer.
fn stdlib_dir(artifact: &Artifact, layer_dir: &Path) -> PathBuf {
    layer_dir.join(format!("lib/python{}", artifact.version.major_minor()))
}

/// Compiles every module of the standard library at `stdlib` to hash-based bytecode that is never
/// checked against its source (see the module docs and [`crate::bytecode`]), replacing any
/// `.pyc` the archive shipped. The runtime's `site-packages` and the standard library's own test
/// suites (`test/`, `tests/`, `idle_test/` at any depth: never imported by apps, and they hold
/// files that don't compile on purpose) are left out.
///
/// The environment is cleared (but for the `PYTHONHASHSEED=0` every compile gets). `-B` keeps
/// the interpreter's own imports from writing timestamp-based `.pyc` files that could race with
/// the compiled ones; `-s` leaves out the user's site-packages; the working directory is the
/// standard library itself, so that `-m` puts nothing else on `sys.path`.
fn compile_stdlib(python: &Path, stdlib: &Path) -> Result<(), CmdError> {
    let interpreter = crate::bytecode::Interpreter {
        python,
        vars: &[],
        options: &["-s", "-B"],
        current_dir: Some(stdlib),
    };
    crate::bytecode::compile_tree(&interpreter, stdlib, |dir| {
        dir == Path::new("site-packages")
            || dir
                .file_name()
                .is_some_and(|name| name == "test" || name == "tests" || name == "idle_test")
    })
}

/// Checks that the archive held the promised runtime, and removes what must not stay in it.
fn tidy_runtime(artifact: &Artifact, layer_dir: &Path) -> Result<(), PythonLayerError> {
    let version = artifact.version.major_minor();
    let stdlib = stdlib_dir(artifact, layer_dir);
    if !layer_dir.join("bin/python3").is_file() || !stdlib.is_dir() {
        return Err(PythonLayerError::NotTheRuntime {
            url: artifact.url.clone(),
            version: artifact.version.to_string(),
        });
    }
    let io_error = |error| PythonLayerError::Io {
        action: "tidy the unpacked Python runtime",
        error,
    };
    // The app's dependencies go into their own environment; this marker would only make pip
    // refuse to work.
    remove_if_present(&stdlib.join("EXTERNALLY-MANAGED")).map_err(io_error)?;
    // Apps and Procfiles say `python`; not every archive has it.
    let python = layer_dir.join("bin/python");
    if fs::symlink_metadata(&python).is_err() {
        std::os::unix::fs::symlink("python3", &python).map_err(io_error)?;
    }
    // The runtime's bundled pip is removed: the buildpack installs a pinned pip of its own, and
    // two pips (one on PATH, one importable) would disagree. `ensurepip` keeps its wheel, so
    // `python -m venv` still works.
    for name in ["pip", "pip3", &format!("pip{version}")] {
        remove_if_present(&layer_dir.join("bin").join(name)).map_err(io_error)?;
    }
    let site_packages = stdlib.join("site-packages");
    if site_packages.is_dir() {
        for entry in fs::read_dir(&site_packages).map_err(io_error)? {
            let entry = entry.map_err(io_error)?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name == "pip" || (name.starts_with("pip-") && name.ends_with(".dist-info")) {
                remove_if_present(&entry.path()).map_err(io_error)?;
            }
        }
    }
    Ok(())
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    let result = match fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(error) => Err(error),
    };
    match result {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// Unpacks a python-build-standalone `install_only` archive into `layer_dir`, dropping the
/// leading `python/`. Nothing may land outside `layer_dir`: absolute paths, `..`, links pointing
/// out of the layer, writes through symlinks and special files are all refused.
pub(crate) fn unpack_runtime(archive: &Path, layer_dir: &Path) -> Result<(), UnpackProblem> {
    let file = File::open(archive).map_err(UnpackProblem::Read)?;
    let mut tar = tar::Archive::new(GzDecoder::new(io::BufReader::new(file)));
    for entry in tar.entries().map_err(UnpackProblem::Read)? {
        let mut entry = entry.map_err(UnpackProblem::Read)?;
        let raw_path = entry.path().map_err(UnpackProblem::Read)?.into_owned();
        let entry_type = entry.header().entry_type();
        if entry_type.is_pax_global_extensions() {
            continue;
        }
        let relative = layer_relative(&raw_path)?;
        let destination = layer_dir.join(&relative);
        refuse_symlinked_ancestors(layer_dir, &relative)?;
        let mode = entry.header().mode().map_err(UnpackProblem::Read)? & 0o777;
        let write_error = |error| UnpackProblem::Write(destination.clone(), error);
        if entry_type.is_dir() {
            fs::create_dir_all(&destination).map_err(write_error)?;
            fs::set_permissions(&destination, fs::Permissions::from_mode(mode | 0o700))
                .map_err(write_error)?;
            continue;
        }
        if relative.as_os_str().is_empty() {
            return Err(UnpackProblem::UnsafeEntry(
                raw_path,
                "it would replace the layer itself",
            ));
        }
        if let Some(parent) = destination.parent() {
            fs::create_dir_all(parent).map_err(write_error)?;
        }
        remove_if_present(&destination).map_err(write_error)?;
        if entry_type.is_file() {
            let mut file = File::create(&destination).map_err(write_error)?;
            io::copy(&mut entry, &mut file).map_err(UnpackProblem::Read)?;
            file.set_permissions(fs::Permissions::from_mode(mode))
                .map_err(write_error)?;
            // Keeping the archive's times keeps its .pyc files valid.
            if let Ok(mtime) = entry.header().mtime() {
                let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(mtime);
                file.set_times(FileTimes::new().set_modified(modified))
                    .map_err(write_error)?;
            }
        } else if entry_type.is_symlink() {
            let target = link_name(&entry, &raw_path)?;
            check_symlink_target(&relative, &target)
                .map_err(|reason| UnpackProblem::UnsafeEntry(raw_path.clone(), reason))?;
            std::os::unix::fs::symlink(&target, &destination).map_err(write_error)?;
        } else if entry_type.is_hard_link() {
            let target = layer_relative(&link_name(&entry, &raw_path)?)?;
            refuse_symlinked_ancestors(layer_dir, &target)?;
            let source = layer_dir.join(&target);
            if !fs::symlink_metadata(&source).is_ok_and(|metadata| metadata.is_file()) {
                return Err(UnpackProblem::UnsafeEntry(
                    raw_path,
                    "it is a hard link to something that isn't a file unpacked before it",
                ));
            }
            fs::hard_link(&source, &destination).map_err(write_error)?;
        } else {
            return Err(UnpackProblem::UnsafeEntry(
                raw_path,
                "it is neither a file, a directory nor a link",
            ));
        }
    }
    Ok(())
}

fn link_name<R: io::Read>(
    entry: &tar::Entry<R>,
    raw_path: &Path,
) -> Result<PathBuf, UnpackProblem> {
    entry
        .link_name()
        .map_err(UnpackProblem::Read)?
        .map(std::borrow::Cow::into_owned)
        .ok_or_else(|| UnpackProblem::UnsafeEntry(raw_path.to_path_buf(), "its link has no target"))
}

/// `python/bin/python3` becomes `bin/python3`; anything not inside `python/`, or that climbs out
/// with `..`, or is absolute, is refused.
fn layer_relative(raw_path: &Path) -> Result<PathBuf, UnpackProblem> {
    let mut components = raw_path
        .components()
        .filter(|component| *component != Component::CurDir);
    if components.next() != Some(Component::Normal("python".as_ref())) {
        return Err(UnpackProblem::UnsafeEntry(
            raw_path.to_path_buf(),
            "it is not inside the archive's python/ directory",
        ));
    }
    let mut relative = PathBuf::new();
    for component in components {
        match component {
            Component::Normal(part) => relative.push(part),
            _ => {
                return Err(UnpackProblem::UnsafeEntry(
                    raw_path.to_path_buf(),
                    "its path climbs out of the archive's python/ directory",
                ));
            }
        }
    }
    Ok(relative)
}

/// A symlink's target must be relative and, resolved from the link's own directory, stay inside
/// the layer.
fn check_symlink_target(link: &Path, target: &Path) -> Result<(), &'static str> {
    let mut depth = link.components().count().saturating_sub(1);
    for component in target.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth = depth
                    .checked_sub(1)
                    .ok_or("it is a symlink that points outside the layer")?;
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err("it is a symlink to an absolute path, outside the layer");
            }
        }
    }
    Ok(())
}

/// Refuses to write through a symlink that an earlier entry created.
fn refuse_symlinked_ancestors(layer_dir: &Path, relative: &Path) -> Result<(), UnpackProblem> {
    let mut path = layer_dir.to_path_buf();
    let mut components = relative.components().peekable();
    while let Some(component) = components.next() {
        if components.peek().is_none() {
            break;
        }
        path.push(component);
        if fs::symlink_metadata(&path).is_ok_and(|metadata| metadata.file_type().is_symlink()) {
            return Err(UnpackProblem::UnsafeEntry(
                Path::new("python").join(relative),
                "it would be written through a symlink",
            ));
        }
    }
    Ok(())
}

#[derive(Debug)]
pub(crate) enum UnpackProblem {
    /// The archive can't be read: not gzip, not tar, or cut short.
    Read(io::Error),
    Write(PathBuf, io::Error),
    /// An entry (its path in the archive) that would escape the layer, and why.
    UnsafeEntry(PathBuf, &'static str),
}

#[derive(Debug)]
pub(crate) enum PythonLayerError {
    Download {
        version: String,
        error: DownloadError,
    },
    Unpack {
        url: String,
        problem: UnpackProblem,
    },
    /// The archive unpacked, but it isn't the runtime the inventory promised.
    NotTheRuntime {
        url: String,
        version: String,
    },
    Io {
        action: &'static str,
        error: io::Error,
    },
    /// Compiling the standard library failed (or the runtime doesn't run at all).
    Compile {
        url: String,
        version: String,
        error: Box<CmdError>,
    },
}

impl PythonLayerError {
    pub(crate) fn message(&self) -> ErrorMessage {
        match self {
            Self::Download { version, error } => error.message(
                &format!("the Python {version} runtime"),
                "Check that the runtime inventory (the built-in one, or the one that\n\
                 BP_PYTHON_INVENTORY names) lists the right URL, and that a mirror has\n\
                 every file its inventory lists.",
            ),
            Self::Unpack { url, problem } => {
                let happened = match problem {
                    UnpackProblem::Read(error) => {
                        format!("The archive from {url} is not a readable .tar.gz file: {error}")
                    }
                    UnpackProblem::Write(path, error) => format!(
                        "Unpacking the archive from {url} failed writing {}: {error}",
                        path.display()
                    ),
                    UnpackProblem::UnsafeEntry(entry, reason) => format!(
                        "The archive from {url} was refused because of its entry {}: {reason}.",
                        entry.display()
                    ),
                };
                ErrorMessage::new(
                    "Unable to unpack the Python runtime",
                    formatdoc! {"
                        {happened}

                        The runtime archive must be a .tar.gz in python-build-standalone's
                        install_only layout: one top-level python/ directory, with no links
                        pointing outside it. Check the archive that the runtime inventory lists.
                    "},
                )
            }
            Self::NotTheRuntime { url, version } => ErrorMessage::new(
                "Unable to install the Python runtime",
                formatdoc! {"
                    The archive from {url}, listed in the runtime inventory as Python {version},
                    doesn't contain python/bin/python3 and python/lib/python{major_minor}/.

                    Check that the runtime inventory lists the right archive for this version.
                ", major_minor = version.rsplit_once('.').map_or(version.as_str(), |(minor, _)| minor)},
            ),
            Self::Io { action, error } => ErrorMessage::new(
                "Unable to install the Python runtime",
                formatdoc! {"
                    The buildpack could not {action}: {error}
                "},
            ),
            Self::Compile {
                url,
                version,
                error,
            } => ErrorMessage::new(
                "Unable to compile the Python runtime's standard library",
                formatdoc! {"
                    {error}

                    The Python {version} runtime from {url}
                    either doesn't run on this machine, or holds standard library files that it
                    can't compile (see the output above). Check that the runtime inventory lists
                    the right archive for this Python version and CPU architecture.
                ", error = crate::tool_command::failure_details(error)},
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;

    fn metadata() -> PythonLayerMetadata {
        PythonLayerMetadata {
            python_version: "3.12.1".into(),
            arch: "amd64".into(),
            distro_name: "ubuntu".into(),
            distro_version: "22.04".into(),
            archive_sha256: "a".repeat(64),
        }
    }

    #[test]
    fn equal_metadata_keeps_the_layer() {
        assert!(cache_invalidation_reasons(&metadata(), &metadata()).is_empty());
    }

    #[test]
    fn every_difference_is_a_reason() {
        let current = PythonLayerMetadata {
            python_version: "3.13.0".into(),
            arch: "arm64".into(),
            distro_name: "debian".into(),
            distro_version: "12".into(),
            archive_sha256: "b".repeat(64),
        };
        assert_eq!(
            cache_invalidation_reasons(&metadata(), &current),
            [
                "Python version changed from 3.12.1 to 3.13.0",
                "The CPU architecture changed from amd64 to arm64",
                "The stack/distro changed from ubuntu 22.04 to debian 12",
            ]
        );
        let rebuilt = PythonLayerMetadata {
            archive_sha256: "b".repeat(64),
            ..metadata()
        };
        assert_eq!(
            cache_invalidation_reasons(&metadata(), &rebuilt),
            ["The Python 3.12.1 archive changed (SHA-256 bbbbbbbbbbbb instead of aaaaaaaaaaaa)"]
        );
        let distro_upgrade = PythonLayerMetadata {
            distro_version: "24.04".into(),
            ..metadata()
        };
        assert_eq!(
            cache_invalidation_reasons(&metadata(), &distro_upgrade),
            ["The stack/distro changed from ubuntu 22.04 to ubuntu 24.04"]
        );
    }

    #[test]
    fn layer_env_sets_unbuffered_output_and_a_default_locale() {
        for scope in [Scope::Build, Scope::Launch] {
            let env = layer_env().apply_to_empty(scope.clone());
            assert_eq!(env.get("PYTHONUNBUFFERED").unwrap(), "1");
            assert_eq!(env.get("LANG").unwrap(), "C.UTF-8");
            assert_eq!(env.get("PYTHONHOME"), None);
            let mut chosen = Env::new();
            chosen.insert("LANG", "de_DE.UTF-8");
            chosen.insert("PYTHONUNBUFFERED", "");
            let env = layer_env().apply(scope, &chosen);
            assert_eq!(env.get("LANG").unwrap(), "de_DE.UTF-8");
            assert_eq!(env.get("PYTHONUNBUFFERED").unwrap(), "1");
        }
    }

    #[test]
    fn metadata_is_strings_only_and_rejects_unknown_fields() {
        let serialized = toml::to_string(&metadata()).unwrap();
        assert_eq!(
            serialized,
            format!(
                "python_version = \"3.12.1\"\narch = \"amd64\"\ndistro_name = \"ubuntu\"\n\
                 distro_version = \"22.04\"\narchive_sha256 = \"{}\"\n",
                "a".repeat(64)
            )
        );
        let with_extra = format!("{serialized}stack_id = \"heroku-22\"\n");
        assert!(toml::from_str::<PythonLayerMetadata>(&with_extra).is_err());
        assert!(toml::from_str::<PythonLayerMetadata>("").is_err());
    }

    enum Item {
        Dir(&'static str),
        File(&'static str, &'static [u8], u32),
        Symlink(&'static str, &'static str),
        HardLink(&'static str, &'static str),
        Fifo(&'static str),
    }

    /// Writes a .tar.gz with raw entry names, so that hostile names (`..`, absolute) can be made.
    fn archive(items: &[Item]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut builder =
            tar::Builder::new(GzEncoder::new(file.reopen().unwrap(), Compression::fast()));
        for item in items {
            let mut header = tar::Header::new_gnu();
            let (name, data, mode, kind, link): (&str, &[u8], u32, tar::EntryType, &str) =
                match item {
                    Item::Dir(name) => (name, b"", 0o755, tar::EntryType::Directory, ""),
                    Item::File(name, data, mode) => {
                        (name, data, *mode, tar::EntryType::Regular, "")
                    }
                    Item::Symlink(name, target) => {
                        (name, b"", 0o777, tar::EntryType::Symlink, target)
                    }
                    Item::HardLink(name, target) => {
                        (name, b"", 0o644, tar::EntryType::Link, target)
                    }
                    Item::Fifo(name) => (name, b"", 0o644, tar::EntryType::Fifo, ""),
                };
            let raw = &mut header.as_old_mut().name;
            raw[..name.len()].copy_from_slice(name.as_bytes());
            let raw_link = &mut header.as_old_mut().linkname;
            raw_link[..link.len()].copy_from_slice(link.as_bytes());
            header.set_entry_type(kind);
            header.set_mode(mode);
            header.set_size(data.len() as u64);
            header.set_mtime(1_700_000_000);
            header.set_cksum();
            builder.append(&header, data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
        file
    }

    fn unpack(items: &[Item]) -> (tempfile::TempDir, Result<(), UnpackProblem>) {
        let archive = archive(items);
        let layer = tempfile::tempdir().unwrap();
        let result = unpack_runtime(archive.path(), layer.path());
        (layer, result)
    }

    #[test]
    fn unpacks_the_install_only_layout() {
        let (layer, result) = unpack(&[
            Item::Dir("python/"),
            Item::Dir("python/bin/"),
            Item::File("python/bin/python3.13", b"#!binary", 0o755),
            Item::Symlink("python/bin/python3", "python3.13"),
            Item::Dir("python/lib/"),
            Item::File("python/lib/libpython3.13.so.1.0", b"lib", 0o644),
            Item::HardLink(
                "python/lib/libpython3.13.so",
                "python/lib/libpython3.13.so.1.0",
            ),
            Item::File("python/lib/python3.13/os.py", b"import abc", 0o644),
            Item::Symlink("python/lib/python3.13/config", "../../lib"),
        ]);
        result.unwrap();
        let layer = layer.path();
        let python = fs::metadata(layer.join("bin/python3.13")).unwrap();
        assert_eq!(python.permissions().mode() & 0o777, 0o755);
        assert_eq!(
            python.modified().unwrap(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
        );
        assert_eq!(
            fs::read_link(layer.join("bin/python3")).unwrap(),
            Path::new("python3.13")
        );
        assert_eq!(
            fs::read(layer.join("lib/libpython3.13.so")).unwrap(),
            b"lib"
        );
        assert_eq!(
            fs::read(layer.join("lib/python3.13/os.py")).unwrap(),
            b"import abc"
        );
        assert!(!layer.join("python").exists());
    }

    fn refused(items: &[Item]) -> (String, &'static str) {
        match unpack(items).1 {
            Err(UnpackProblem::UnsafeEntry(path, reason)) => {
                (path.to_string_lossy().into_owned(), reason)
            }
            other => panic!("expected an unsafe entry, got {other:?}"),
        }
    }

    #[test]
    fn refuses_entries_that_escape_the_layer() {
        assert_eq!(
            refused(&[Item::File("python/../../evil", b"x", 0o644)]),
            (
                "python/../../evil".into(),
                "its path climbs out of the archive's python/ directory"
            )
        );
        assert_eq!(
            refused(&[Item::File("/etc/evil", b"x", 0o644)]),
            (
                "/etc/evil".into(),
                "it is not inside the archive's python/ directory"
            )
        );
        assert_eq!(
            refused(&[Item::File("other/file", b"x", 0o644)]),
            (
                "other/file".into(),
                "it is not inside the archive's python/ directory"
            )
        );
        assert_eq!(
            refused(&[Item::Symlink("python/lib/etc", "/etc")]),
            (
                "python/lib/etc".into(),
                "it is a symlink to an absolute path, outside the layer"
            )
        );
        assert_eq!(
            refused(&[Item::Symlink("python/lib/up", "../../outside")]),
            (
                "python/lib/up".into(),
                "it is a symlink that points outside the layer"
            )
        );
        assert_eq!(
            refused(&[
                Item::Symlink("python/lib", "."),
                Item::File("python/lib/x", b"x", 0o644)
            ]),
            (
                "python/lib/x".into(),
                "it would be written through a symlink"
            )
        );
        assert_eq!(
            refused(&[Item::HardLink("python/passwd", "python/../../etc/passwd")]),
            (
                "python/../../etc/passwd".into(),
                "its path climbs out of the archive's python/ directory"
            )
        );
        assert_eq!(
            refused(&[Item::HardLink("python/passwd", "/etc/passwd")]),
            (
                "/etc/passwd".into(),
                "it is not inside the archive's python/ directory"
            )
        );
        assert_eq!(
            refused(&[Item::Fifo("python/fifo")]),
            (
                "python/fifo".into(),
                "it is neither a file, a directory nor a link"
            )
        );
    }

    #[test]
    fn refuses_files_that_are_not_archives() {
        let file = tempfile::NamedTempFile::new().unwrap();
        fs::write(file.path(), b"<html>Not Found</html>").unwrap();
        let layer = tempfile::tempdir().unwrap();
        assert!(matches!(
            unpack_runtime(file.path(), layer.path()),
            Err(UnpackProblem::Read(_))
        ));
    }

    /// The real interpreter behind `python3` on PATH (pyenv's shim needs an env that
    /// `compile_stdlib` clears).
    fn real_python() -> PathBuf {
        let output = std::process::Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .unwrap();
        assert!(output.status.success());
        PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
    }

    /// The `.pyc` files under `root` (relative paths), with their header flags.
    fn bytecode_flags(root: &Path) -> Vec<(String, u32)> {
        let mut found = Vec::new();
        let mut pending = vec![root.to_path_buf()];
        while let Some(dir) = pending.pop() {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|extension| extension == "pyc") {
                    let bytes = fs::read(&path).unwrap();
                    let flags = u32::from_le_bytes(bytes[4..8].try_into().unwrap());
                    let relative = path.strip_prefix(root).unwrap();
                    // `pkg/__pycache__/mod.cpython-3XX.pyc` → `pkg/mod`
                    let module = relative.file_name().unwrap().to_string_lossy();
                    let module = module.split('.').next().unwrap();
                    let package = relative.parent().unwrap().parent().unwrap();
                    found.push((package.join(module).to_string_lossy().into_owned(), flags));
                }
            }
        }
        found.sort();
        found
    }

    #[test]
    fn the_stdlib_is_compiled_to_unchecked_hash_bytecode_and_failures_are_errors() {
        let layer = tempfile::tempdir().unwrap();
        let stdlib = layer.path().join("lib/python3.99");
        let write = |path: &str, text: &str| {
            let path = stdlib.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        };
        write("good.py", "WORDS = {'a', 'b', 'c'}\n");
        write("pkg/__init__.py", "");
        write("pkg/mod.py", "import good\n");
        // Files that don't compile on purpose, in the places left out.
        write("test/badsyntax_future.py", "def (\n");
        write("idlelib/idle_test/bad.py", "def (\n");
        write("lib2to3/tests/data/py2.py", "print 'x'\n");
        write("ctypes/test/bad.py", "def (\n");
        write("site-packages/bad.py", "def (\n");
        let python = real_python();
        // A timestamp-based .pyc that is up to date with its source, as archives ship them.
        let status = std::process::Command::new(&python)
            .args(["-m", "py_compile"])
            .arg(stdlib.join("good.py"))
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(bytecode_flags(&stdlib), [("good".to_string(), 0)]);
        // Optimised bytecode, as archives ship it for every module: nothing would use it.
        let optimised = stdlib.join("__pycache__/good.cpython-399.opt-1.pyc");
        fs::write(&optimised, [0; 16]).unwrap();

        compile_stdlib(&python, &stdlib).unwrap();
        assert!(!optimised.exists());
        assert_eq!(
            bytecode_flags(&stdlib),
            [
                ("good".to_string(), 1),
                ("pkg/__init__".to_string(), 1),
                ("pkg/mod".to_string(), 1)
            ]
        );

        write("broken.py", "def (\n");
        let error = PythonLayerError::Compile {
            url: "https://example.com/p.tar.gz".into(),
            version: "3.99.0".into(),
            error: Box::new(compile_stdlib(&python, &stdlib).unwrap_err()),
        };
        let message = error.message();
        assert_eq!(
            message.header,
            "Unable to compile the Python runtime's standard library"
        );
        assert!(
            message.body.contains("-c <compile_files.py>")
                && message.body.contains("failed (exit status: 1)"),
            "{}",
            message.body
        );
        assert!(message.body.contains("broken.py"), "{}", message.body);
        assert!(message.body.contains("SyntaxError"), "{}", message.body);
        assert!(
            message.body.ends_with(&formatdoc! {"

                The Python 3.99.0 runtime from https://example.com/p.tar.gz
                either doesn't run on this machine, or holds standard library files that it
                can't compile (see the output above). Check that the runtime inventory lists
                the right archive for this Python version and CPU architecture.
            "}),
            "{}",
            message.body
        );
    }

    #[test]
    fn tidying_removes_the_bundled_pip_and_externally_managed() {
        let (layer, result) = unpack(&[
            Item::File("python/bin/python3", b"", 0o755),
            Item::File("python/bin/pip", b"", 0o755),
            Item::File("python/bin/pip3", b"", 0o755),
            Item::File("python/bin/pip3.13", b"", 0o755),
            Item::File("python/lib/python3.13/EXTERNALLY-MANAGED", b"", 0o644),
            Item::File(
                "python/lib/python3.13/site-packages/pip/__init__.py",
                b"",
                0o644,
            ),
            Item::File(
                "python/lib/python3.13/site-packages/pip-24.3.1.dist-info/RECORD",
                b"",
                0o644,
            ),
            Item::File("python/lib/python3.13/site-packages/README.txt", b"", 0o644),
            Item::File(
                "python/lib/python3.13/ensurepip/_bundled/pip.whl",
                b"",
                0o644,
            ),
        ]);
        result.unwrap();
        let artifact = Artifact {
            version: "3.13.1".parse().unwrap(),
            os: "linux".into(),
            arch: "amd64".into(),
            url: "https://example.com/p.tar.gz".into(),
            sha256: "a".repeat(64),
        };
        tidy_runtime(&artifact, layer.path()).unwrap();
        let remaining = |path: &str| layer.path().join(path).exists();
        assert!(remaining("bin/python3"));
        assert_eq!(
            fs::read_link(layer.path().join("bin/python")).unwrap(),
            Path::new("python3")
        );
        assert!(!remaining("bin/pip") && !remaining("bin/pip3") && !remaining("bin/pip3.13"));
        assert!(!remaining("lib/python3.13/EXTERNALLY-MANAGED"));
        assert!(!remaining("lib/python3.13/site-packages/pip"));
        assert!(!remaining(
            "lib/python3.13/site-packages/pip-24.3.1.dist-info"
        ));
        assert!(remaining("lib/python3.13/site-packages/README.txt"));
        assert!(remaining("lib/python3.13/ensurepip/_bundled/pip.whl"));

        let wrong_version = Artifact {
            version: "3.12.1".parse().unwrap(),
            ..artifact
        };
        assert_eq!(
            tidy_runtime(&wrong_version, layer.path())
                .unwrap_err()
                .message()
                .body,
            formatdoc! {"
                The archive from https://example.com/p.tar.gz, listed in the runtime inventory as Python 3.12.1,
                doesn't contain python/bin/python3 and python/lib/python3.12/.

                Check that the runtime inventory lists the right archive for this version.
            "}
        );
    }
}

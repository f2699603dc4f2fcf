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
use crate::redact::redact_url;
use crate::sbom;
use bullet_stream::global::print;
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
use std::io;
use std::path::{Path, PathBuf};
use unpack::{UnpackProblem, tidy_runtime, unpack_runtime};

mod unpack;

mod build_config;

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
    /// The version of the build configuration patch ([`build_config::PATCH_VERSION`]); empty in
    /// layers of buildpack versions that didn't patch it.
    #[serde(default)]
    pub(crate) build_config: String,
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
        build_config: build_config::PATCH_VERSION.to_string(),
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
            layer.write_env(build_config::with_build_env(
                layer_env(),
                &layer.path(),
                &artifact.version.major_minor(),
            ))?;
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
        build_config,
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
    if build_config != &current.build_config {
        reasons.push(if build_config.is_empty() {
            "The runtime's build configuration wasn't adjusted to the image's compilers by \
             the buildpack version that cached it"
                .to_string()
        } else {
            format!(
                "The adjustments to the runtime's build configuration changed (version \
                 {build_config} to {})",
                current.build_config
            )
        });
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
    // Shown without credentials; `artifact.url` is only used to fetch.
    let shown_url = redact_url(&artifact.url);
    let timer = print::sub_start_timer(format!("{verb} {shown_url}"));
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
            url: shown_url.clone(),
            problem,
        })
        .and_then(|()| tidy_runtime(artifact, layer_dir));
    match &unpacked {
        Ok(()) => timer.done(),
        Err(_) => timer.cancel("failed"),
    }
    unpacked?;
    // Before compiling: `_sysconfigdata_*.pyc` must hold the adjusted values.
    build_config::adjust(layer_dir, &artifact.version.major_minor())
        .map_err(PythonLayerError::BuildConfig)?;
    compile_stdlib(
        &layer_dir.join("bin/python3"),
        &stdlib_dir(artifact, layer_dir),
    )
    .map_err(|error| PythonLayerError::Compile {
        url: shown_url,
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
/// `.pyc` the archive shipped. Left out: the runtime's `site-packages`, the standard library's
/// own test suites (`test/`, `tests/`, `idle_test/` at any depth: never imported by apps, and
/// they hold files that don't compile on purpose; python-build-standalone's `install_only`
/// archives leave most of them out already), and the two programs that python-build-standalone
/// ships in the standard library, IDLE (`idlelib`, a desktop editor) and `turtledemo` (demo
/// scripts), which no server app imports: 81 of 3.12's 686 modules, 7% of its source, compiled in
/// memory on first import if something does run them.
///
/// The environment is cleared (but for the `PYTHONHASHSEED=0` every compile gets; the
/// interpreter's options are [`crate::bytecode`]'s); the working directory is the standard
/// library itself, so that `-c` puts nothing else on `sys.path`.
fn compile_stdlib(python: &Path, stdlib: &Path) -> Result<(), CmdError> {
    let interpreter = crate::bytecode::Interpreter {
        python,
        vars: &[],
        current_dir: Some(stdlib),
    };
    crate::bytecode::compile_tree(&interpreter, stdlib, |dir| {
        dir == Path::new("site-packages")
            || dir == Path::new("idlelib")
            || dir == Path::new("turtledemo")
            || dir
                .file_name()
                .is_some_and(|name| name == "test" || name == "tests" || name == "idle_test")
    })
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
    /// Adjusting the runtime's build configuration failed.
    BuildConfig(build_config::BuildConfigError),
    /// Compiling the standard library (or the runtime doesn't run at all).
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
            Self::BuildConfig(error) => error.message(),
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
    use std::fs;

    fn metadata() -> PythonLayerMetadata {
        PythonLayerMetadata {
            python_version: "3.12.1".into(),
            arch: "amd64".into(),
            distro_name: "ubuntu".into(),
            distro_version: "22.04".into(),
            archive_sha256: "a".repeat(64),
            build_config: "1".into(),
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
            build_config: "2".into(),
        };
        assert_eq!(
            cache_invalidation_reasons(&metadata(), &current),
            [
                "Python version changed from 3.12.1 to 3.13.0",
                "The CPU architecture changed from amd64 to arm64",
                "The stack/distro changed from ubuntu 22.04 to debian 12",
                "The adjustments to the runtime's build configuration changed (version 1 to 2)",
            ]
        );
        let unpatched = PythonLayerMetadata {
            build_config: String::new(),
            ..metadata()
        };
        assert_eq!(
            cache_invalidation_reasons(&unpatched, &metadata()),
            [
                "The runtime's build configuration wasn't adjusted to the image's compilers by \
                 the buildpack version that cached it"
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
                 distro_version = \"22.04\"\narchive_sha256 = \"{}\"\nbuild_config = \"1\"\n",
                "a".repeat(64)
            )
        );
        let with_extra = format!("{serialized}stack_id = \"heroku-22\"\n");
        assert!(toml::from_str::<PythonLayerMetadata>(&with_extra).is_err());
        assert!(toml::from_str::<PythonLayerMetadata>("").is_err());
        // A layer cached before the build configuration was patched reads, and is discarded.
        let without_patch = serialized.replace("build_config = \"1\"\n", "");
        assert_eq!(
            toml::from_str::<PythonLayerMetadata>(&without_patch)
                .unwrap()
                .build_config,
            ""
        );
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
        // The programs no server app imports.
        write("idlelib/editor.py", "X = 1\n");
        write("turtledemo/demo.py", "X = 1\n");
        // A library next to them is compiled.
        write("tkinter/__init__.py", "X = 1\n");
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
                ("pkg/mod".to_string(), 1),
                ("tkinter/__init__".to_string(), 1)
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
}

//! The dependencies layer `venv` for the lockfile-based package managers (uv, Poetry, Pipenv):
//! the same virtual environment pip apps get (see `venv.rs`), filled from a lockfile.
//!
//! - **Cache key** ([`LockedVenvMetadata`]): the runtime ([`RuntimeKey`]), the package manager,
//!   its version, and a SHA-256 of each input file (the lockfile and the manifest it was made
//!   from). Same key: the package manager is not run at all.
//! - Runtime or package manager changed: the layer is deleted. Another input changed: uv
//!   updates the environment in place (`uv sync` removes what the lock no longer lists), while
//!   Poetry and Pipenv, whose installers only add packages, start from an empty environment.
//! - Metadata is written only once the install is complete; before touching a restored layer
//!   it is rewritten with no inputs, so a build that fails midway is never trusted later.
//! - Bytecode is compiled afterwards with `--invalidation-mode unchecked-hash`, as for pip.

use crate::PythonBuildpack;
use crate::error_message::ErrorMessage;
use crate::errors::BuildpackError;
use crate::layers::runtime_key::{RuntimeKey, input_changes, version_change};
use crate::layers::venv::{environment_sbom, venv_layer_env};
use crate::package_manager::PackageManager;
use crate::python_version::PythonVersion;
use crate::tool_command;
use bullet_stream::global::print;
use bullet_stream::style;
use fun_run::CmdError;
use indoc::formatdoc;
use libcnb::Env;
use libcnb::build::BuildContext;
use libcnb::data::layer_name;
use libcnb::generic::GenericMetadata;
use libcnb::layer::{
    CachedLayerDefinition, EmptyLayerCause, InvalidMetadataAction, LayerState, RestoredLayerAction,
};
use libcnb::layer_env::Scope;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Strings only: the lifecycle round-trips layer metadata through JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LockedVenvMetadata {
    runtime: RuntimeKey,
    package_manager: String,
    tool_version: String,
    /// Input file (relative to the app dir) → SHA-256 of its contents. Empty while an install
    /// is under way.
    inputs: BTreeMap<String, String>,
}

/// How a cached environment is brought up to date when only the inputs changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Update {
    /// The installer makes the environment match the lock exactly (uv).
    InPlace,
    /// The installer only adds packages: start again from an empty environment.
    Recreate,
}

/// What to install: which package manager, at which version, from which files.
pub(crate) struct LockedInstall<'a> {
    pub(crate) manager: PackageManager,
    pub(crate) tool_version: &'a str,
    /// Files (relative to the app dir) whose contents decide what gets installed.
    pub(crate) input_files: &'a [&'a str],
    pub(crate) update: Update,
}

/// The environment the install closure fills.
pub(crate) struct Venv {
    pub(crate) dir: PathBuf,
}

impl Venv {
    pub(crate) fn python(&self) -> PathBuf {
        self.dir.join("bin/python")
    }
}

impl LockedVenvMetadata {
    /// Why a restored environment must be deleted (the runtime or the package manager changed).
    fn discard_reasons(&self, cached: &Self) -> Vec<String> {
        let mut reasons = self.runtime.changes(&cached.runtime);
        if self.package_manager != cached.package_manager {
            reasons.push(format!(
                "The package manager changed from {} to {}",
                cached.package_manager, self.package_manager
            ));
        }
        reasons
    }

    /// Why a restored environment of the same runtime and package manager can't be used as it
    /// is. Compares every field, so a new field can't be silently ignored.
    fn update_reasons(&self, cached: &Self) -> Vec<String> {
        let Self {
            runtime: _,
            package_manager,
            tool_version,
            inputs,
        } = self;
        let mut reasons: Vec<String> =
            version_change(package_manager, tool_version, &cached.tool_version)
                .into_iter()
                .collect();
        if cached.inputs.is_empty() {
            reasons.push("The previous build stopped before the install completed".to_string());
            return reasons;
        }
        reasons.extend(input_changes(inputs, &cached.inputs));
        reasons
    }
}

/// Why a restored `venv` layer whose metadata isn't ours (with these top-level keys) was
/// discarded.
fn foreign_metadata_reason(keys: &[&str]) -> String {
    if keys.contains(&"pip_version") && keys.contains(&"requirements") {
        "The package manager changed from pip".to_string()
    } else {
        "Its metadata is from an incomplete or older build".to_string()
    }
}

/// Fills the `venv` layer from the app's lockfile with `install`, unless a cached environment
/// made from the same inputs can be reused, and adds the layer's env to `env`. Returns whether
/// `install` ran.
pub(crate) fn install_locked_dependencies(
    context: &BuildContext<PythonBuildpack>,
    env: &mut Env,
    python_version: PythonVersion,
    what: &LockedInstall,
    install: impl FnOnce(&Venv, &Env) -> libcnb::Result<(), BuildpackError>,
) -> libcnb::Result<bool, BuildpackError> {
    let metadata = LockedVenvMetadata {
        runtime: RuntimeKey::new(python_version, &context.target),
        package_manager: what.manager.name().to_string(),
        tool_version: what.tool_version.to_string(),
        inputs: digest_inputs(&context.app_dir, what.input_files)
            .map_err(BuildpackError::LockedDependencies)?,
    };
    let layer = context.cached_layer(
        layer_name!("venv"),
        CachedLayerDefinition {
            build: true,
            launch: true,
            invalid_metadata_action: &|generic: &GenericMetadata| {
                let keys: Vec<&str> = generic
                    .iter()
                    .flat_map(|table| table.keys().map(String::as_str))
                    .collect();
                (
                    InvalidMetadataAction::DeleteLayer,
                    foreign_metadata_reason(&keys),
                )
            },
            restored_layer_action: &|cached: &LockedVenvMetadata, _: &Path| {
                let discard = metadata.discard_reasons(cached);
                if !discard.is_empty() {
                    return (RestoredLayerAction::DeleteLayer, discard);
                }
                let update = metadata.update_reasons(cached);
                if update.is_empty() || what.update == Update::InPlace {
                    (RestoredLayerAction::KeepLayer, update)
                } else {
                    (RestoredLayerAction::DeleteLayer, update)
                }
            },
        },
    )?;
    let venv_dir = layer.path();
    let layer_env = venv_layer_env(&venv_dir);
    layer.write_env(&layer_env)?;
    *env = layer_env.apply(Scope::Build, env);

    print::bullet(format!(
        "Virtual environment {}",
        style::value(venv_dir.display().to_string())
    ));
    let fresh = match &layer.state {
        LayerState::Restored { cause: reasons } if reasons.is_empty() => {
            print::sub_bullet(format!(
                "Skipping the install: {} and {} {} are unchanged since the last build",
                what.input_files.join(", "),
                what.manager.name(),
                what.tool_version
            ));
            layer.write_sboms(&[environment_sbom(&venv_dir, python_version)?])?;
            return Ok(false);
        }
        LayerState::Restored { cause: reasons } => {
            print::sub_bullet(format!(
                "Updating the cached environment because: {}",
                reasons.join("; ")
            ));
            layer.write_metadata(LockedVenvMetadata {
                inputs: BTreeMap::new(),
                ..metadata.clone()
            })?;
            false
        }
        LayerState::Empty { cause } => {
            let reasons = match cause {
                EmptyLayerCause::RestoredLayerAction { cause: reasons } => reasons.clone(),
                EmptyLayerCause::InvalidMetadataAction { cause: reason } => vec![reason.clone()],
                EmptyLayerCause::NewlyCreated => Vec::new(),
            };
            if !reasons.is_empty() {
                print::sub_bullet(format!(
                    "Discarding the cached environment because: {}",
                    reasons.join("; ")
                ));
            }
            true
        }
    };

    let vars = crate::layers::pip::tool_env(context, env);
    if fresh {
        tool_command::timed(
            tool_command::command("python3", &vars)
                .args(["-m", "venv", "--without-pip"])
                .arg(&venv_dir),
        )
        .map_err(|error| {
            BuildpackError::LockedDependencies(LockedDependenciesError::CreateVenv(error))
        })?;
    }
    let venv = Venv { dir: venv_dir };
    install(&venv, env)?;
    compile_bytecode(&venv, python_version, &vars)?;
    layer.write_sboms(&[environment_sbom(&venv.dir, python_version)?])?;

    layer.write_metadata(metadata)?;
    Ok(true)
}

/// Compiles the environment's packages, with hashes rather than timestamps in the `.pyc`
/// files, so two builds of the same inputs give identical layers.
fn compile_bytecode(
    venv: &Venv,
    python_version: PythonVersion,
    vars: &[(OsString, OsString)],
) -> Result<(), BuildpackError> {
    crate::layers::venv::compile_bytecode(&venv.python(), &venv.dir, python_version, vars)
        .map_err(|error| {
            BuildpackError::LockedDependencies(LockedDependenciesError::Compile(error))
        })?;
    Ok(())
}

/// SHA-256 (hex) of each input file, keyed by its name.
fn digest_inputs(
    app_dir: &Path,
    files: &[&str],
) -> Result<BTreeMap<String, String>, LockedDependenciesError> {
    files
        .iter()
        .map(|file| {
            let bytes = crate::app_file::read(&app_dir.join(file), file)
                .map_err(|error| error.reason())
                .and_then(|bytes| bytes.ok_or_else(|| "it does not exist".to_string()))
                .map_err(|error| LockedDependenciesError::ReadInput {
                    file: (*file).to_string(),
                    error,
                })?;
            let digest = format!("{:x}", Sha256::digest(&bytes));
            Ok(((*file).to_string(), digest))
        })
        .collect()
}

/// The path of `program` in the `PATH` of `env`, if it is there.
pub(crate) fn find_on_path(env: &Env, program: &str) -> Option<PathBuf> {
    let path = env.get("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Adds `key=value` to a tool's environment, replacing any earlier value.
pub(crate) fn set_var(vars: &mut Vec<(OsString, OsString)>, key: &str, value: impl Into<OsString>) {
    vars.retain(|(existing, _)| existing != key);
    vars.push((OsString::from(key), value.into()));
}

/// Puts `dir` first on the `PATH` of a tool's environment, so the tool's command is found by
/// name (and the build output shows `uv sync`, not a layer path).
pub(crate) fn prepend_path(vars: &mut Vec<(OsString, OsString)>, dir: &Path) {
    let existing = vars
        .iter()
        .find(|(key, _)| key == "PATH")
        .map(|(_, value)| value.clone());
    let mut path = OsString::from(dir);
    if let Some(existing) = existing.filter(|value| !value.is_empty()) {
        path.push(":");
        path.push(existing);
    }
    set_var(vars, "PATH", path);
}

/// Failures of the dependencies layer that are the same for every lockfile-based package
/// manager, and the package managers' own failures.
#[derive(Debug)]
pub(crate) enum LockedDependenciesError {
    ReadInput { file: String, error: String },
    CreateVenv(CmdError),
    Compile(CmdError),
    Uv(crate::layers::uv::UvError),
    Poetry(crate::layers::poetry::PoetryError),
    Pipenv(crate::layers::pipenv::PipenvError),
}

impl LockedDependenciesError {
    pub(crate) fn message(&self) -> ErrorMessage {
        match self {
            Self::ReadInput { file, error } => ErrorMessage::new(
                format!("Unable to read {file}"),
                formatdoc! {"
                    The buildpack could not read {file} in the app's root directory: {error}

                    Check that {file} is a readable file (not a broken symlink or a directory).
                "},
            ),
            Self::CreateVenv(error) => ErrorMessage::new(
                "Unable to create the virtual environment",
                formatdoc! {"
                    The buildpack could not create the app's virtual environment:
                    {error}

                    This is most likely a problem with the Python runtime or the build
                    machine's disk. Try the build again; if it keeps failing, please open an
                    issue with this output.
                ", error = crate::tool_command::failure_details(error)},
            ),
            Self::Compile(error) => ErrorMessage::new(
                "Unable to compile the dependencies' bytecode",
                formatdoc! {"
                    The dependencies were installed, but compiling them to bytecode failed:
                    {error}

                    A package may contain a Python file this Python version can't compile.
                    Check the output above for the file, and update that package.
                ", error = crate::tool_command::failure_details(error)},
            ),
            Self::Uv(error) => error.message(),
            Self::Poetry(error) => error.message(),
            Self::Pipenv(error) => error.message(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(python: &str, manager: &str, tool: &str, lock: &str) -> LockedVenvMetadata {
        LockedVenvMetadata {
            runtime: RuntimeKey {
                python_version: python.to_string(),
                arch: "amd64".to_string(),
                distro_name: "ubuntu".to_string(),
                distro_version: "24.04".to_string(),
            },
            package_manager: manager.to_string(),
            tool_version: tool.to_string(),
            inputs: [
                ("pyproject.toml".to_string(), "aaa".to_string()),
                ("uv.lock".to_string(), lock.to_string()),
            ]
            .into(),
        }
    }

    #[test]
    fn runtime_and_manager_changes_discard() {
        let new = metadata("3.13.0", "uv", "0.13.8", "bbb");
        let old = metadata("3.12.1", "Poetry", "2.5.1", "ccc");
        assert_eq!(
            new.discard_reasons(&old),
            [
                "The Python version changed from 3.12.1 to 3.13.0",
                "The package manager changed from Poetry to uv",
            ]
        );
        assert!(new.discard_reasons(&new.clone()).is_empty());
    }

    #[test]
    fn every_input_change_is_a_reason() {
        let new = metadata("3.13.0", "uv", "0.13.9", "bbb");
        let mut old = metadata("3.13.0", "uv", "0.13.8", "ccc");
        old.inputs.insert("Pipfile".to_string(), "x".to_string());
        old.inputs.remove("pyproject.toml");
        assert_eq!(
            new.update_reasons(&old),
            [
                "The uv version changed from 0.13.8 to 0.13.9",
                "pyproject.toml was added",
                "uv.lock changed",
                "Pipfile was removed",
            ]
        );
        assert!(new.update_reasons(&new.clone()).is_empty());
    }

    #[test]
    fn an_incomplete_install_is_a_reason() {
        let new = metadata("3.13.0", "uv", "0.13.8", "bbb");
        let mut old = new.clone();
        old.inputs.clear();
        assert_eq!(
            new.update_reasons(&old),
            ["The previous build stopped before the install completed"]
        );
    }

    #[test]
    fn foreign_metadata_is_explained() {
        assert_eq!(
            foreign_metadata_reason(&["runtime", "pip_version", "requirements"]),
            "The package manager changed from pip"
        );
        assert_eq!(
            foreign_metadata_reason(&[]),
            "Its metadata is from an incomplete or older build"
        );
    }

    #[test]
    fn serialized_form_is_pinned() {
        // Changing this format discards every user's cache: do it deliberately.
        assert_eq!(
            toml::to_string(&metadata("3.13.0", "uv", "0.13.8", "bbb")).unwrap(),
            "package_manager = \"uv\"\ntool_version = \"0.13.8\"\n\n[runtime]\npython_version = \"3.13.0\"\narch = \"amd64\"\ndistro_name = \"ubuntu\"\ndistro_version = \"24.04\"\n\n[inputs]\n\"pyproject.toml\" = \"aaa\"\n\"uv.lock\" = \"bbb\"\n"
        );
    }

    #[test]
    fn read_input_message() {
        assert_eq!(
            LockedDependenciesError::ReadInput {
                file: "uv.lock".to_string(),
                error: "Is a directory (os error 21)".to_string(),
            }
            .message()
            .render(),
            indoc::indoc! {"
                Error: Unable to read uv.lock

                The buildpack could not read uv.lock in the app's root directory: Is a directory (os error 21)

                Check that uv.lock is a readable file (not a broken symlink or a directory)."}
        );
    }

    #[test]
    fn digests_name_each_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("uv.lock"), "abc").unwrap();
        assert_eq!(
            digest_inputs(dir.path(), &["uv.lock"]).unwrap(),
            BTreeMap::from([(
                "uv.lock".to_string(),
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_string()
            )])
        );
        assert!(matches!(
            digest_inputs(dir.path(), &["poetry.lock"]),
            Err(LockedDependenciesError::ReadInput { file, .. }) if file == "poetry.lock"
        ));
    }
}

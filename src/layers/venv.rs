//! The dependencies layer `venv`: a virtual environment (created `--without-pip` from the
//! runtime) holding the app's requirements, in the image (`launch`) and visible to later
//! buildpacks (`build`), and cached.
//!
//! Conventions the other package managers follow:
//! - **Cache key** ([`VenvMetadata`]): the runtime ([`RuntimeKey`]: Python version, arch,
//!   distro), the tool version, and a SHA-256 per requirement input (every file pulled in with
//!   `-r`/`-c`, and local projects). Same key: the layer is reused and the package manager is
//!   not run at all. Runtime changed: the layer is deleted (packages may hold compiled
//!   extensions for the old runtime). Anything else changed: the environment is updated in
//!   place, each changed input is named, and packages no longer required are uninstalled, so
//!   only new packages are downloaded and the result never keeps what the app no longer asks for.
//! - Before touching a restored layer, its metadata is rewritten with no inputs, so a build that
//!   fails midway leaves a layer the next build updates again rather than trusts.
//! - **Bytecode**: installers run without compiling; then `site-packages` is compiled as
//!   `compileall --invalidation-mode unchecked-hash` would, on every core
//!   ([`crate::bytecode`]), so `.pyc` files hold no timestamps and two builds
//!   of the same inputs give identical layers.
//! - **Installer**: pip, or uv's pip interface with `BP_PYTHON_INSTALLER=uv`; what differs
//!   between them (commands, env, download cache, failure analysis) is in `installer.rs`, and
//!   uv's version joins the cache key. The same layer holds a lockless `pyproject.toml`'s
//!   dependencies (`pyproject_deps.rs`), keyed by `pyproject.toml`.
//! - **Env**: `VIRTUAL_ENV` is the layer; its `bin/` goes first on PATH (the lifecycle adds each
//!   layer's `bin/` in layer-name order, and `python` < `venv`; the layer env also prepends it
//!   explicitly), so `python` imports the packages and their scripts are commands.

use crate::PythonBuildpack;
use crate::error_message::ErrorMessage;
use crate::errors::BuildpackError;
use crate::layers::installer::{Installer, Target};
use crate::layers::runtime_key::{RuntimeKey, input_changes, version_change};
use crate::packaging_tool_versions::PIP_VERSION;
use crate::python_version::PythonVersion;
use crate::redact::redact_credentials;
use crate::requirements_files::RequirementInputs;
use crate::sbom;
use crate::tool_command;
use bullet_stream::global::print;
use bullet_stream::style;
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
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

mod vcs;

/// The requirements file pip installs, relative to the app dir.
pub(crate) const REQUIREMENTS_FILE: &str = "requirements.txt";

const UNREQUIRED_PACKAGES_SCRIPT: &str = include_str!("venv/unrequired_packages.py");

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VenvMetadata {
    runtime: RuntimeKey,
    pip_version: String,
    /// Requirement input (relative path) → SHA-256 of its contents.
    requirements: BTreeMap<String, String>,
    /// Set when uv installed the environment (`BP_PYTHON_INSTALLER=uv`); absent for pip, so
    /// that pip environments cached before the option existed stay valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uv_version: Option<String>,
}

impl VenvMetadata {
    /// Why a cached environment with the same runtime can't be used as it is.
    fn input_changes(&self, cached: &Self) -> Vec<String> {
        let Self {
            runtime: _,
            pip_version,
            requirements,
            uv_version,
        } = self;
        let mut changes: Vec<String> = version_change("pip", pip_version, &cached.pip_version)
            .into_iter()
            .collect();
        changes.extend(installer_change(
            uv_version.as_deref(),
            cached.uv_version.as_deref(),
        ));
        if cached.requirements.is_empty() {
            changes.push("The previous build stopped before the install completed".to_string());
            return changes;
        }
        changes.extend(input_changes(requirements, &cached.requirements));
        changes
    }
}

/// Why the installer (pip, or uv at a version) differs from the cached environment's.
fn installer_change(new: Option<&str>, cached: Option<&str>) -> Option<String> {
    match (new, cached) {
        (Some(new), Some(cached)) => version_change("uv", new, cached),
        (Some(_), None) => Some("The installer changed from pip to uv".to_string()),
        (None, Some(_)) => Some("The installer changed from uv to pip".to_string()),
        (None, None) => None,
    }
}

/// Reads `requirements.txt` and everything it includes (analysis step: before any layer).
/// `${VAR}` in nested paths expands from the platform env, then the process env, as pip would.
pub(crate) fn read_inputs(
    context: &BuildContext<PythonBuildpack>,
) -> Result<RequirementInputs, DependenciesError> {
    use libcnb::Platform;
    let platform_env = context.platform.env();
    crate::requirements_files::read_requirement_inputs(
        &context.app_dir,
        Path::new(REQUIREMENTS_FILE),
        &|name| {
            platform_env
                .get_string_lossy(name)
                .or_else(|| std::env::var(name).ok())
        },
    )
    .map_err(DependenciesError::RequirementsFile)
}

/// Installs the app's requirements (or lockless `pyproject.toml`) into the `venv` layer with
/// `installer` (or reuses it) and adds the layer's env to `env`.
pub(crate) fn install_dependencies(
    context: &BuildContext<PythonBuildpack>,
    env: &mut Env,
    python_version: PythonVersion,
    target: &Target,
    installer: &Installer,
) -> libcnb::Result<(), BuildpackError> {
    let metadata = VenvMetadata {
        runtime: RuntimeKey::new(python_version, &context.target),
        pip_version: PIP_VERSION.to_string(),
        requirements: target.digests().clone(),
        uv_version: installer.uv_version(),
    };
    let layer = context.cached_layer(
        layer_name!("venv"),
        CachedLayerDefinition {
            build: true,
            launch: true,
            invalid_metadata_action: &|_| InvalidMetadataAction::DeleteLayer,
            restored_layer_action: &|cached: &VenvMetadata, _: &Path| {
                let runtime_changes = metadata.runtime.changes(&cached.runtime);
                if runtime_changes.is_empty() {
                    (
                        RestoredLayerAction::KeepLayer,
                        metadata.input_changes(cached),
                    )
                } else {
                    (RestoredLayerAction::DeleteLayer, runtime_changes)
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
        LayerState::Restored { cause: changes } if changes.is_empty() => {
            print::sub_bullet(format!(
                "{inputs} and {tool} are unchanged: using the cached environment without running {tool}",
                inputs = target.inputs_name(),
                tool = installer.name(),
            ));
            // The installer's cache layer is declared again so the platform keeps it.
            installer.prepare_cache(context, python_version, false)?;
            layer.write_sboms(&[environment_sbom(&venv_dir, python_version)?])?;
            return Ok(());
        }
        LayerState::Restored { cause: changes } => {
            print::sub_bullet(format!(
                "Updating the cached environment because: {}",
                changes.join("; ")
            ));
            layer.write_metadata(VenvMetadata {
                requirements: BTreeMap::new(),
                ..metadata.clone()
            })?;
            false
        }
        LayerState::Empty { cause } => {
            match cause {
                EmptyLayerCause::RestoredLayerAction { cause: changes } => {
                    print::sub_bullet(format!(
                        "Discarding the cached environment because: {}",
                        changes.join("; ")
                    ));
                }
                EmptyLayerCause::InvalidMetadataAction { .. } => print::sub_bullet(
                    "Discarding the cached environment because its metadata is from an incomplete or older build",
                ),
                EmptyLayerCause::NewlyCreated => {}
            }
            true
        }
    };

    let cache_dir = installer.prepare_cache(context, python_version, true)?;
    run_install(
        context,
        env,
        &venv_dir,
        &cache_dir,
        fresh,
        python_version,
        (target, installer),
    )?;
    layer.write_sboms(&[environment_sbom(&venv_dir, python_version)?])?;
    layer.write_metadata(metadata)?;
    Ok(())
}

/// The SBOM of the environment in `venv_dir`: every distribution installed in it.
pub(crate) fn environment_sbom(
    venv_dir: &Path,
    python_version: PythonVersion,
) -> Result<libcnb::sbom::Sbom, BuildpackError> {
    sbom::environment_sbom(&site_packages(venv_dir, python_version)).map_err(BuildpackError::Sbom)
}

/// Creates the environment if `fresh`, runs the installer (`pip install` or `uv pip install`),
/// removes what is no longer required (when updating) and compiles the bytecode.
fn run_install(
    context: &BuildContext<PythonBuildpack>,
    env: &Env,
    venv_dir: &Path,
    cache_dir: &Path,
    fresh: bool,
    python_version: PythonVersion,
    (target, installer): (&Target, &Installer),
) -> libcnb::Result<(), BuildpackError> {
    let vars = installer.vars(context, env, cache_dir);
    let app_dir = &context.app_dir;
    let python = venv_dir.join("bin/python");

    if fresh {
        tool_command::timed(
            tool_command::command("python3", &vars)
                .args(["-m", "venv", "--without-pip"])
                .arg(venv_dir),
        )
        .map_err(|error| DependenciesError::Environment(EnvironmentError::CreateVenv(error)))?;
    }

    if let Some(mut command) = installer.install_command(&vars, &python, target) {
        tool_command::stream(command.current_dir(app_dir))
            .map_err(|error| installer.failure(&error, target))?;
    }

    if !fresh {
        remove_unrequired_packages(
            app_dir,
            venv_dir,
            python_version,
            (target, installer),
            &vars,
        )?;
    }

    compile_bytecode(&python, venv_dir, python_version, &vars)
        .map_err(|error| DependenciesError::Environment(EnvironmentError::Compile(error)))?;
    Ok(())
}

/// The env of the `venv` layer, whatever installed it: `VIRTUAL_ENV` is the layer and its `bin/`
/// comes first on `PATH`, at build and at launch.
pub(crate) fn venv_layer_env(venv_dir: &Path) -> LayerEnv {
    LayerEnv::new()
        .chainable_insert(
            Scope::All,
            ModificationBehavior::Override,
            "VIRTUAL_ENV",
            venv_dir,
        )
        .chainable_insert(
            Scope::All,
            ModificationBehavior::Prepend,
            "PATH",
            venv_dir.join("bin"),
        )
        .chainable_insert(Scope::All, ModificationBehavior::Delimiter, "PATH", ":")
}

pub(crate) fn site_packages(venv_dir: &Path, python_version: PythonVersion) -> PathBuf {
    venv_dir
        .join("lib")
        .join(format!("python{}", python_version.major_minor()))
        .join("site-packages")
}

/// Compiles the environment's packages with hashes rather than timestamps in the `.pyc` files,
/// so two builds of the same inputs give identical layers, on every core ([`crate::bytecode`]).
pub(crate) fn compile_bytecode(
    python: &Path,
    venv_dir: &Path,
    python_version: PythonVersion,
    vars: &[(OsString, OsString)],
) -> Result<(), fun_run::CmdError> {
    let interpreter = crate::bytecode::Interpreter {
        python,
        vars,
        current_dir: None,
    };
    crate::bytecode::compile_tree(
        &interpreter,
        &site_packages(venv_dir, python_version),
        |_| false,
    )
}

/// Uninstalls what the updated requirements no longer need (see `unrequired_packages.py`).
fn remove_unrequired_packages(
    app_dir: &Path,
    venv_dir: &Path,
    python_version: PythonVersion,
    (target, installer): (&Target, &Installer),
    vars: &[(OsString, OsString)],
) -> Result<(), DependenciesError> {
    let find_error =
        |error: String| DependenciesError::Environment(EnvironmentError::FindUnrequired(error));
    // A lockless pyproject.toml's roots go into a requirements file outside the app and layers.
    let roots_dir = tempfile::tempdir().map_err(|error| find_error(error.to_string()))?;
    let roots_file = match target.roots() {
        None => PathBuf::from(REQUIREMENTS_FILE),
        Some(roots) => {
            let path = roots_dir.path().join("roots.txt");
            std::fs::write(&path, roots).map_err(|error| find_error(error.to_string()))?;
            path
        }
    };
    let output = tool_command::command(installer.pip().python(), vars)
        .current_dir(app_dir)
        .args(["-I", "-c", UNREQUIRED_PACKAGES_SCRIPT])
        .arg(site_packages(venv_dir, python_version))
        .arg(&roots_file)
        .output()
        .map_err(|error| {
            DependenciesError::Environment(EnvironmentError::FindUnrequired(error.to_string()))
        })?;
    if !output.status.success() {
        return Err(DependenciesError::Environment(
            EnvironmentError::FindUnrequired(
                String::from_utf8_lossy(&output.stderr).trim().to_string(),
            ),
        ));
    }
    let unrequired: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect();
    if unrequired.is_empty() {
        return Ok(());
    }
    print::sub_bullet(format!(
        "Removing packages the requirements no longer need: {}",
        unrequired.join(", ")
    ));
    tool_command::stream(
        installer
            .uninstall_command(vars, &venv_dir.join("bin/python"), &unrequired)
            .current_dir(app_dir),
    )
    .map_err(|error| DependenciesError::Environment(EnvironmentError::Uninstall(error)))?;
    Ok(())
}

#[derive(Debug)]
pub(crate) enum DependenciesError {
    RequirementsFile(crate::requirements_files::RequirementsFileError),
    /// Creating or tidying the environment failed.
    Environment(EnvironmentError),
    /// `pip install` failed; the variants say why, from pip's output.
    PackageNotFound {
        package: String,
    },
    VersionConflict,
    /// A downloaded file's hash differs from the `--hash` in the requirements.
    HashMismatch,
    /// Some requirements have `--hash` and others don't.
    HashesMissing,
    BuildFailed {
        package: Option<String>,
        hint: Option<String>,
    },
    /// git failed to fetch a VCS requirement.
    VcsCheckout(vcs::VcsCheckoutError),
    InstallFailed {
        command: String,
    },
}

impl DependenciesError {
    /// Classifies a failed `pip install` by its (already streamed) output.
    pub(crate) fn from_pip_failure(error: &CmdError) -> Self {
        let command = redact_credentials(&error.name());
        let output = error.output().map_or_else(String::new, |output| {
            redact_credentials(&format!(
                "{}\n{}",
                output.stdout_lossy(),
                output.stderr_lossy()
            ))
        });
        if let Some(package) = output.lines().find_map(|line| {
            line.trim()
                .strip_prefix("ERROR: No matching distribution found for ")
        }) {
            return Self::PackageNotFound {
                package: package.trim().to_string(),
            };
        }
        if output.contains("DO NOT MATCH THE HASHES") {
            return Self::HashMismatch;
        }
        if output.contains("Hashes are required in --require-hashes mode") {
            return Self::HashesMissing;
        }
        if output.contains("ResolutionImpossible") || output.contains("conflicting dependencies") {
            return Self::VersionConflict;
        }
        if let Some(error) = vcs::VcsCheckoutError::from_pip_output(&output) {
            return Self::VcsCheckout(error);
        }
        if crate::source_build::is_build_failure(&output) {
            return Self::BuildFailed {
                package: failed_package(&output),
                hint: missing_system_dependency(&output),
            };
        }
        Self::InstallFailed { command }
    }

    pub(crate) fn message(&self) -> ErrorMessage {
        match self {
            Self::RequirementsFile(error) => error.message(),
            Self::Environment(error) => error.message(),
            Self::PackageNotFound { package } => ErrorMessage::new(
                format!("Package not found: {package}"),
                formatdoc! {"
                    pip could not find a version of `{package}` that matches the requirements
                    and supports this Python version (see pip's output above).

                    Check the package name and version in requirements.txt (or the file that
                    includes it) for typos, that the version exists on the package index and
                    supports this Python version, and, for a private index, that PIP_INDEX_URL
                    or PIP_EXTRA_INDEX_URL is set.
                "},
            ),
            Self::VersionConflict => ErrorMessage::new(
                "Conflicting package versions",
                formatdoc! {"
                    The requirements ask for versions of packages that can't be installed
                    together: pip's output above lists the packages and the versions each one
                    requires.

                    Change the versions in requirements.txt so they agree (loosen or remove a
                    pin), check the result locally with `pip install -r requirements.txt`, then
                    build again.
                "},
            ),
            Self::HashMismatch => ErrorMessage::new(
                "Package hashes don't match",
                formatdoc! {"
                    A file pip downloaded has a different SHA-256 hash than the `--hash` given
                    for it in the requirements: pip's output above names the package, the hash
                    expected and the hash it got.

                    If you changed the package's version, update its hashes too (for example
                    with `pip-compile --generate-hashes` or `uv pip compile --generate-hashes`).
                    Otherwise the file on the package index is not the one you locked: check
                    where it comes from before trusting it.
                "},
            ),
            Self::HashesMissing => ErrorMessage::new(
                "Some requirements have no hashes",
                formatdoc! {"
                    At least one requirement has a `--hash`, which makes pip require a hash for
                    every package, including dependencies, but some have none: pip's output
                    above lists them with the hashes of the files it downloaded.

                    Add the missing `--hash` options (for example by regenerating the file with
                    `pip-compile --generate-hashes`), or remove every `--hash`.
                "},
            ),
            Self::BuildFailed { package, hint } => crate::source_build::build_failed_message(
                "pip",
                package.as_deref(),
                hint.as_deref(),
            ),
            Self::VcsCheckout(error) => error.message(),
            Self::InstallFailed { command } => ErrorMessage::new(
                "Unable to install the dependencies",
                formatdoc! {"
                    {command} failed (see its output above).

                    Check pip's errors above. If they mention a network problem, try the build
                    again; otherwise fix requirements.txt and check it locally with
                    `pip install -r requirements.txt`.
                ", command = style::command(command)},
            ),
        }
    }
}

/// Failures while managing the environment itself (not pip's resolution or builds).
#[derive(Debug)]
pub(crate) enum EnvironmentError {
    CreateVenv(CmdError),
    FindUnrequired(String),
    Uninstall(CmdError),
    Compile(CmdError),
}

impl EnvironmentError {
    /// Failures while managing the environment itself (not pip's resolution or builds).
    pub(crate) fn message(&self) -> ErrorMessage {
        match self {
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
            Self::FindUnrequired(details) => ErrorMessage::new(
                "Unable to find the packages the requirements no longer need",
                formatdoc! {"
                    After updating the cached virtual environment, the buildpack could not work
                    out which installed packages the requirements no longer need:
                    {details}

                    Please open an issue with this output. To build now, clear the build
                    cache (for example `pack build --clear-cache`).
                ", details = redact_credentials(details)},
            ),
            Self::Uninstall(error) => ErrorMessage::new(
                "Unable to remove packages the requirements no longer need",
                formatdoc! {"
                    {error}

                    To build now, clear the build cache (for example `pack build --clear-cache`).
                ", error = crate::tool_command::failure_details(error)},
            ),
            Self::Compile(error) => ErrorMessage::new(
                "Unable to compile the installed packages' bytecode",
                formatdoc! {"
                    {error}

                    An installed package contains Python code this Python version can't
                    compile: check that every package in requirements.txt supports it.
                ", error = crate::tool_command::failure_details(error)},
            ),
        }
    }
}

/// The package whose build failed, from pip's "Failed to build X" / "Failed building wheel for
/// X" / "× … for X" lines.
pub(crate) fn failed_package(output: &str) -> Option<String> {
    output.lines().find_map(|line| {
        let line = line.trim();
        line.strip_prefix("Failed building wheel for ")
            .or_else(|| line.strip_prefix("ERROR: Failed building wheel for "))
            .or_else(|| line.strip_prefix("ERROR: Failed to build installable wheels for some pyproject.toml based projects ("))
            .or_else(|| line.strip_prefix("ERROR: Failed to build "))
            .or_else(|| line.strip_prefix("Failed to build "))
            .map(|name| {
                name.trim_end_matches(')')
                    .trim_end_matches(['.', ' '])
                    .trim_matches(['\'', '"', '`'])
                    .to_string()
            })
            .filter(|name| !name.is_empty() && !name.contains(' '))
    })
}

/// A sentence naming the system library or tool the build output says is missing.
pub(crate) fn missing_system_dependency(output: &str) -> Option<String> {
    for (needle, hint) in [
        (
            "pg_config",
            "The build needs PostgreSQL's `pg_config` and headers (Debian/Ubuntu package\n\
             `libpq-dev`). For psycopg2, consider `psycopg2-binary` or `psycopg[binary]`.",
        ),
        (
            "mysql_config",
            "The build needs MySQL's `mysql_config` and headers (Debian/Ubuntu package\n\
             `default-libmysqlclient-dev`).",
        ),
        (
            "xmlsec1",
            "The build needs the xmlsec1 library and headers (Debian/Ubuntu package\n\
             `libxmlsec1-dev`).",
        ),
    ] {
        if output.contains(needle) {
            return Some(hint.to_string());
        }
    }
    let header = output.lines().find_map(|line| {
        let (_, rest) = line.split_once("fatal error: ")?;
        let (header, _) = rest.split_once(": No such file or directory")?;
        Some(header.trim().to_string())
    });
    if let Some(header) = header {
        return Some(format!(
            "The compiler could not find the header `{header}`: the build image lacks the\n\
             development package of a system library (on Debian/Ubuntu usually named\n\
             `lib<name>-dev`)."
        ));
    }
    if let Some(hint) = crate::source_build::missing_compiler(output) {
        return Some(hint);
    }
    if output.contains("Unable to find a compatible Rust")
        || output.contains("can't find Rust compiler")
    {
        return Some("The build needs a Rust compiler, which the build image lacks.".to_string());
    }
    None
}

impl From<DependenciesError> for libcnb::Error<BuildpackError> {
    fn from(error: DependenciesError) -> Self {
        Self::BuildpackError(BuildpackError::Dependencies(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> RuntimeKey {
        RuntimeKey {
            python_version: "3.13.0".to_string(),
            arch: "amd64".to_string(),
            distro_name: "ubuntu".to_string(),
            distro_version: "24.04".to_string(),
        }
    }

    fn metadata(pip_version: &str, inputs: &[(&str, &str)]) -> VenvMetadata {
        VenvMetadata {
            runtime: runtime(),
            pip_version: pip_version.to_string(),
            requirements: inputs
                .iter()
                .map(|(name, digest)| ((*name).to_string(), (*digest).to_string()))
                .collect(),
            uv_version: None,
        }
    }

    #[test]
    fn every_changed_input_is_named() {
        let cached = metadata(
            "25.0",
            &[("requirements.txt", "a"), ("requirements/dev.txt", "b")],
        );
        let new = metadata(
            "26.3",
            &[("requirements.txt", "a2"), ("requirements/prod.txt", "c")],
        );
        assert_eq!(
            new.input_changes(&cached),
            [
                "The pip version changed from 25.0 to 26.3",
                "requirements.txt changed",
                "requirements/prod.txt was added",
                "requirements/dev.txt was removed",
            ]
        );
        assert!(new.input_changes(&new).is_empty());
        assert_eq!(
            new.input_changes(&metadata("26.3", &[])),
            ["The previous build stopped before the install completed"]
        );
    }

    #[test]
    fn an_installer_change_is_named() {
        let pip = metadata("26.3", &[("requirements.txt", "a")]);
        let uv = VenvMetadata {
            uv_version: Some("0.13.8".to_string()),
            ..pip.clone()
        };
        let older_uv = VenvMetadata {
            uv_version: Some("0.13.7".to_string()),
            ..pip.clone()
        };
        assert_eq!(
            uv.input_changes(&pip),
            ["The installer changed from pip to uv"]
        );
        assert_eq!(
            pip.input_changes(&uv),
            ["The installer changed from uv to pip"]
        );
        assert_eq!(
            uv.input_changes(&older_uv),
            ["The uv version changed from 0.13.7 to 0.13.8"]
        );
        // A pip environment's metadata has no uv version, as before the option existed.
        assert!(!toml::to_string(&pip).unwrap().contains("uv_version"));
        assert_eq!(
            toml::from_str::<VenvMetadata>(&toml::to_string(&uv).unwrap()).unwrap(),
            uv
        );
    }

    #[test]
    fn serialized_form_is_pinned() {
        // Changing this format discards every user's cache: do it deliberately.
        assert_eq!(
            toml::to_string(&metadata("26.3", &[("requirements.txt", "ab12")])).unwrap(),
            indoc::indoc! {r#"
                pip_version = "26.3"

                [runtime]
                python_version = "3.13.0"
                arch = "amd64"
                distro_name = "ubuntu"
                distro_version = "24.04"

                [requirements]
                "requirements.txt" = "ab12"
            "#}
        );
    }

    const NOT_FOUND: &str = "\
ERROR: Could not find a version that satisfies the requirement nope-xyz==1.0 (from versions: none)
ERROR: No matching distribution found for nope-xyz==1.0
";

    const CONFLICT: &str = "\
The conflict is caused by:
    The user requested werkzeug==2.0.0
    flask 3.1.0 depends on Werkzeug>=3.1
ERROR: Cannot install -r r2.txt (line 1) and werkzeug==2.0.0 because these package versions have conflicting dependencies.
ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/#dealing-with-dependency-conflicts
";

    const BUILD_FAILED: &str = "\
  × Building wheel for fastparse (pyproject.toml) did not run successfully.
  ╰─> [10 lines of output]
      fastparse.c:2:10: fatal error: snappy-c.h: No such file or directory
      compilation terminated.
      [end of output]
  ERROR: Failed building wheel for fastparse
Failed to build fastparse
error: failed-wheel-build-for-install
";

    fn classify(output: &str) -> DependenciesError {
        use fun_run::OutputWithName;
        use std::os::unix::process::ExitStatusExt;
        let error = fun_run::CmdError::NonZeroExitAlreadyStreamed(
            std::process::Output {
                status: std::process::ExitStatus::from_raw(256),
                stdout: Vec::new(),
                stderr: output.as_bytes().to_vec(),
            }
            .named("pip install"),
        );
        DependenciesError::from_pip_failure(&error)
    }

    #[test]
    fn package_not_found() {
        assert_eq!(
            classify(NOT_FOUND).message().render(),
            indoc::indoc! {"
                Error: Package not found: nope-xyz==1.0

                pip could not find a version of `nope-xyz==1.0` that matches the requirements
                and supports this Python version (see pip's output above).

                Check the package name and version in requirements.txt (or the file that
                includes it) for typos, that the version exists on the package index and
                supports this Python version, and, for a private index, that PIP_INDEX_URL
                or PIP_EXTRA_INDEX_URL is set."}
        );
    }

    #[test]
    fn version_conflict() {
        assert_eq!(
            classify(CONFLICT).message().render(),
            indoc::indoc! {"
                Error: Conflicting package versions

                The requirements ask for versions of packages that can't be installed
                together: pip's output above lists the packages and the versions each one
                requires.

                Change the versions in requirements.txt so they agree (loosen or remove a
                pin), check the result locally with `pip install -r requirements.txt`, then
                build again."}
        );
    }

    #[test]
    fn hash_errors() {
        assert!(matches!(
            classify(
                "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE. If you \
                 have updated the package versions, please update the hashes.\n"
            ),
            DependenciesError::HashMismatch
        ));
        assert_eq!(
            classify(
                "ERROR: Hashes are required in --require-hashes mode, but they are missing from \
                 some requirements.\n    six==1.17.0 --hash=sha256:4721f3\n"
            )
            .message()
            .render(),
            indoc::indoc! {"
                Error: Some requirements have no hashes

                At least one requirement has a `--hash`, which makes pip require a hash for
                every package, including dependencies, but some have none: pip's output
                above lists them with the hashes of the files it downloaded.

                Add the missing `--hash` options (for example by regenerating the file with
                `pip-compile --generate-hashes`), or remove every `--hash`."}
        );
    }

    #[test]
    fn sdist_build_failure_names_package_and_missing_header() {
        assert_eq!(
            classify(BUILD_FAILED).message().render(),
            indoc::indoc! {"
                Error: Unable to build a package from source

                pip had to build `fastparse` from source (it has no wheel for this Python
                version and platform, or it is a local project), and the build failed:
                see pip's output above.

                The compiler could not find the header `snappy-c.h`: the build image lacks the
                development package of a system library (on Debian/Ubuntu usually named
                `lib<name>-dev`).

                Either use a version of the package that publishes wheels for this
                Python version (check its files on the package index), or, if it needs
                system libraries or headers at build time, add them to the build image
                (for example with a buildpack that installs apt packages)."}
        );
        assert!(matches!(
            classify("Error: pg_config executable not found.\nFailed to build psycopg2\n"),
            DependenciesError::BuildFailed { package: Some(package), hint: Some(hint) }
                if package == "psycopg2" && hint.contains("libpq-dev")
        ));
    }
}

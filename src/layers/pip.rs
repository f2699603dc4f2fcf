//! The packaging-tools layer: pip at the version pinned in `requirements/pip.txt`, in a virtual
//! environment of its own, used to install the app's dependencies into the app's environment
//! with pip's `--python` option.
//!
//! It is cache-only (not `build`, not `launch`): the app image carries no pip (apps that need it
//! at run time list it in `requirements.txt`), and later buildpacks don't get a `pip` on PATH
//! that would install into the wrong environment. Keyed by the runtime ([`RuntimeKey`]) and the
//! pip version. pip is installed by the runtime's bundled pip wheel (from `ensurepip`), run in
//! place.
//!
//! For other package managers: [`Pip::command`] gives a pip that installs into any interpreter
//! (`--python <venv>/bin/python`) without being importable from it, so the target environment
//! stays exactly what the app asked for.

use crate::PythonBuildpack;
use crate::errors::BuildpackError;
use crate::layers::runtime_key::{RuntimeKey, cache_only_layer, version_change};
use crate::packaging_tool_versions::PIP_VERSION;
use crate::python_version::PythonVersion;
use crate::tool_command;
use bullet_stream::global::print;
use indoc::formatdoc;
use libcnb::Env;
use libcnb::build::BuildContext;
use libcnb::data::layer_name;
use libcnb::layer::{EmptyLayerCause, LayerState};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PipLayerMetadata {
    runtime: RuntimeKey,
    pip_version: String,
}

impl PipLayerMetadata {
    fn changes(&self, cached: &Self) -> Vec<String> {
        let Self {
            runtime,
            pip_version,
        } = self;
        let mut changes = runtime.changes(&cached.runtime);
        changes.extend(version_change("pip", pip_version, &cached.pip_version));
        changes
    }
}

/// The installed pip: run it with [`Pip::command`].
pub(crate) struct Pip {
    layer_dir: PathBuf,
}

impl Pip {
    /// `pip` from the packaging-tools layer, with `vars` as its environment.
    pub(crate) fn command(&self, vars: &[(OsString, OsString)]) -> std::process::Command {
        tool_command::command(self.layer_dir.join("bin/pip"), vars)
    }

    /// The Python of pip's own environment, which can import pip (for helper scripts).
    pub(crate) fn python(&self) -> PathBuf {
        self.layer_dir.join("bin/python")
    }
}

/// Creates or reuses the packaging-tools layer. `env` must have the runtime's `python3` on PATH.
pub(crate) fn install_pip(
    context: &BuildContext<PythonBuildpack>,
    env: &Env,
    python_version: PythonVersion,
) -> libcnb::Result<Pip, BuildpackError> {
    let metadata = PipLayerMetadata {
        runtime: RuntimeKey::new(python_version, &context.target),
        pip_version: PIP_VERSION.to_string(),
    };
    let layer = cache_only_layer(context, layer_name!("pip"), |cached: &PipLayerMetadata| {
        metadata.changes(cached)
    })?;
    let pip = Pip {
        layer_dir: layer.path(),
    };

    print::bullet(format!("pip {PIP_VERSION} (used during the build only)"));
    match layer.state {
        LayerState::Restored { .. } => {
            print::sub_bullet("Using cached pip");
            return Ok(pip);
        }
        LayerState::Empty { ref cause } => match cause {
            EmptyLayerCause::RestoredLayerAction { cause: changes } => {
                print::sub_bullet(format!(
                    "Discarding cached pip because: {}",
                    changes.join("; ")
                ));
            }
            EmptyLayerCause::InvalidMetadataAction { .. } => {
                print::sub_bullet(
                    "Discarding cached pip because its metadata is from an incomplete or older build",
                );
            }
            EmptyLayerCause::NewlyCreated => {}
        },
    }

    // The runtime's bundled pip wheel (from `ensurepip`, run in place as pip documents for
    // `pip-*.whl/pip`) installs the pinned pip into the layer's environment: faster than
    // installing the bundled pip first and upgrading it.
    let vars = tool_install_env(context, env);
    let bundled_pip = bundled_pip_wheel(&vars)?;
    tool_command::timed(
        tool_command::command("python3", &vars)
            .args(["-m", "venv", "--without-pip"])
            .arg(&pip.layer_dir),
    )
    .map_err(PackagingToolsError::CreateEnvironment)?;
    tool_command::timed(
        tool_command::command("python3", &vars)
            .arg(bundled_pip.join("pip"))
            .arg("--python")
            .arg(pip.python())
            .args(["install", "--quiet"])
            .arg(format!("pip=={PIP_VERSION}")),
    )
    .map_err(PackagingToolsError::InstallPip)?;
    layer.write_metadata(metadata)?;
    Ok(pip)
}

/// The pip wheel the runtime bundles for `ensurepip` (`lib/python3.X/ensurepip/_bundled/`).
fn bundled_pip_wheel(vars: &[(OsString, OsString)]) -> Result<PathBuf, PackagingToolsError> {
    let output = tool_command::command("python3", vars)
        .args([
            "-I",
            "-c",
            "import ensurepip, os; print(os.path.dirname(ensurepip.__file__))",
        ])
        .output()
        .map_err(|error| PackagingToolsError::NoBundledPip(error.to_string()))?;
    if !output.status.success() {
        return Err(PackagingToolsError::NoBundledPip(
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        ));
    }
    let bundled = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()).join("_bundled");
    let mut wheels: Vec<PathBuf> = std::fs::read_dir(&bundled)
        .map_err(|error| {
            PackagingToolsError::NoBundledPip(format!("{}: {error}", bundled.display()))
        })?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension().is_some_and(|extension| extension == "whl")
                && path
                    .file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with("pip-"))
        })
        .collect();
    wheels.sort();
    wheels.pop().ok_or_else(|| {
        PackagingToolsError::NoBundledPip(format!("no pip-*.whl in {}", bundled.display()))
    })
}

/// The environment for packaging-tool commands (see [`tool_command::tool_env`]).
pub(crate) fn tool_env(
    context: &BuildContext<PythonBuildpack>,
    env: &Env,
) -> Vec<(OsString, OsString)> {
    use libcnb::Platform;
    tool_command::tool_env(env, context.platform.env())
}

/// [`tool_env`] for installing a packaging tool (pip itself, uv, Poetry, Pipenv) into its
/// layer: without pip's cache, whose default place is under `HOME`, which the buildpack never
/// writes (the build user's home may not even be writable). The tool layer is cached itself,
/// so the downloaded files are not needed again.
pub(crate) fn tool_install_env(
    context: &BuildContext<PythonBuildpack>,
    env: &Env,
) -> Vec<(OsString, OsString)> {
    let mut vars = tool_env(context, env);
    vars.retain(|(key, _)| key != "PIP_CACHE_DIR");
    vars.push((OsString::from("PIP_NO_CACHE_DIR"), OsString::from("1")));
    vars
}

#[derive(Debug)]
pub(crate) enum PackagingToolsError {
    /// The runtime has no `ensurepip` pip wheel to bootstrap from.
    NoBundledPip(String),
    CreateEnvironment(fun_run::CmdError),
    InstallPip(fun_run::CmdError),
}

impl PackagingToolsError {
    pub(crate) fn message(&self) -> crate::error_message::ErrorMessage {
        match self {
            Self::NoBundledPip(details) => crate::error_message::ErrorMessage::new(
                "Unable to find the Python runtime's bundled pip",
                formatdoc! {"
                    The buildpack installs pip with the pip wheel every Python runtime bundles
                    for `ensurepip` (in lib/python3.X/ensurepip/_bundled/), but found none:
                    {details}

                    The Python runtime is incomplete. If it comes from a custom inventory
                    (BP_PYTHON_INVENTORY), use python-build-standalone's `install_only`
                    archives, which include it.
                "},
            ),
            Self::CreateEnvironment(error) => crate::error_message::ErrorMessage::new(
                "Unable to create an environment for pip",
                formatdoc! {"
                    The buildpack could not create a virtual environment to hold pip:
                    {error}

                    This is most likely a problem with the Python runtime or the build
                    machine's disk. Try the build again; if it keeps failing, please open an
                    issue with this output.
                ", error = crate::tool_command::failure_details(error)},
            ),
            Self::InstallPip(error) => crate::error_message::ErrorMessage::new(
                format!("Unable to install pip {PIP_VERSION}"),
                formatdoc! {"
                    The buildpack could not download and install pip from the package index:
                    {error}

                    If the build uses a private package index, check that PIP_INDEX_URL is
                    correct and that pip {PIP_VERSION} is available there. Otherwise this is
                    likely a temporary network problem: try the build again.
                ", error = crate::tool_command::failure_details(error)},
            ),
        }
    }
}

impl From<PackagingToolsError> for libcnb::Error<BuildpackError> {
    fn from(error: PackagingToolsError) -> Self {
        Self::BuildpackError(BuildpackError::PackagingTools(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pip_version_change_is_a_reason() {
        let runtime = RuntimeKey {
            python_version: "3.13.0".to_string(),
            arch: "amd64".to_string(),
            distro_name: "ubuntu".to_string(),
            distro_version: "24.04".to_string(),
        };
        let new = PipLayerMetadata {
            runtime: runtime.clone(),
            pip_version: "26.3".to_string(),
        };
        let cached = PipLayerMetadata {
            runtime: RuntimeKey {
                python_version: "3.12.1".to_string(),
                ..runtime
            },
            pip_version: "25.0".to_string(),
        };
        assert_eq!(
            new.changes(&cached),
            [
                "The Python version changed from 3.12.1 to 3.13.0",
                "The pip version changed from 25.0 to 26.3"
            ]
        );
    }
}

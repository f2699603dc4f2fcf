//! The packaging-tools layer: pip at the version pinned in `requirements/pip.txt`, in a virtual
//! environment of its own, used to install the app's dependencies into the app's environment
//! with pip's `--python` option.
//!
//! It is cache-only (not `build`, not `launch`): the app image carries no pip (apps that need it
//! at run time list it in `requirements.txt`), and later buildpacks don't get a `pip` on PATH
//! that would install into the wrong environment. Keyed by the runtime ([`RuntimeKey`]) and the
//! pip version. pip's pinned wheel is downloaded from the app's package index (see
//! [`crate::package_index`]), checked against the SHA-256 pinned in `requirements/pip.txt` and
//! unpacked into the layer's environment ([`crate::wheel`]): no pip runs to install pip.
//!
//! For other package managers: [`Pip::command`] gives a pip that installs into any interpreter
//! (`--python <venv>/bin/python`) without being importable from it, so the target environment
//! stays exactly what the app asked for.

use crate::PythonBuildpack;
use crate::errors::BuildpackError;
use crate::layers::runtime_key::{RuntimeKey, cache_only_layer, version_change};
use crate::layers::venv::site_packages;
use crate::package_index::{IndexError, IndexSettings};
use crate::packaging_tool_versions::{PIP_VERSION, PIP_WHEEL_SHA256};
use crate::python_version::PythonVersion;
use crate::tool_command;
use crate::wheel::{self, WheelError};
use bullet_stream::global::print;
use indoc::formatdoc;
use libcnb::Env;
use libcnb::build::BuildContext;
use libcnb::data::layer_name;
use libcnb::layer::{EmptyLayerCause, LayerState};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::PathBuf;

/// pip's wheel (pure Python, for every platform), whose SHA-256 `requirements/pip.txt` pins.
fn pip_wheel() -> String {
    format!("pip-{PIP_VERSION}-py3-none-any.whl")
}

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

/// The installed pip: run it with [`Pip::command`] or [`Pip::command_for`].
pub(crate) struct Pip {
    layer_dir: PathBuf,
    site_packages: PathBuf,
}

impl Pip {
    /// `pip` from the packaging-tools layer, with `vars` as its environment.
    pub(crate) fn command(&self, vars: &[(OsString, OsString)]) -> std::process::Command {
        tool_command::command(self.layer_dir.join("bin/pip"), vars)
    }

    /// This pip, run by the interpreter `python` to act on that interpreter's environment:
    /// `<python> <pip>/__pip-runner__.py`. That is what `pip --python <python>` itself runs, in
    /// a second process, after starting and parsing its options under its own interpreter; running
    /// it directly saves that first process (0.2-0.4 s of every install). The runner imports
    /// exactly the pip beside it, whatever the target environment holds, and is part of every
    /// pip since 22.3 (the pinned version's wheel has it: the install tests run through it).
    pub(crate) fn command_for(
        &self,
        python: &std::path::Path,
        vars: &[(OsString, OsString)],
    ) -> std::process::Command {
        let mut command = tool_command::command(python, vars);
        command.arg(self.site_packages.join("pip/__pip-runner__.py"));
        command
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
        site_packages: site_packages(&layer.path(), python_version),
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

    // pip's pinned wheel, fetched from the app's package index and unpacked into the layer's
    // environment: running any pip to install it takes 4-10 s, unpacking it 0.1 s.
    let vars = tool_env(context, env);
    tool_command::timed(
        tool_command::command("python3", &vars)
            .args(["-m", "venv", "--without-pip"])
            .arg(&pip.layer_dir),
    )
    .map_err(PackagingToolsError::CreateEnvironment)?;
    let timer = print::sub_start_timer(format!("Downloading {}", pip_wheel()));
    let wheel =
        match IndexSettings::from_vars(&vars).fetch_file("pip", &pip_wheel(), PIP_WHEEL_SHA256) {
            Ok(wheel) => {
                timer.done();
                wheel
            }
            Err(error) => {
                timer.cancel("failed");
                return Err(PackagingToolsError::Download(error).into());
            }
        };
    let timer = print::sub_start_timer("Unpacking");
    let environment = wheel::Environment {
        root: &pip.layer_dir,
        site_packages: &pip.site_packages,
    };
    match wheel::install_wheel(wheel.path(), &pip_wheel(), &environment) {
        Ok(()) => timer.done(),
        Err(error) => {
            timer.cancel("failed");
            return Err(PackagingToolsError::Unpack(error).into());
        }
    }
    compile_tool(&pip.python(), &pip.layer_dir, python_version)
        .map_err(PackagingToolsError::Compile)?;
    layer.write_metadata(metadata)?;
    Ok(pip)
}

/// Compiles the packages of a packaging tool's environment (`venv_dir`, run by its `python`)
/// to hash-based bytecode, as the app's own ([`crate::bytecode`]). Without it, the tool's runs
/// write timestamp-based `.pyc` files of the modules they import, which look stale once the
/// layer comes back from the cache (the lifecycle archives cache layers as it does image
/// layers: `layers/writer.go` gives every tar header `archive.NormalizedModTime`, 1980-01-01),
/// so every later run compiled them in memory again: 0.4 s of each pip run. Hash-based ones
/// are never checked against their source.
pub(crate) fn compile_tool(
    python: &std::path::Path,
    venv_dir: &std::path::Path,
    python_version: PythonVersion,
) -> Result<(), fun_run::CmdError> {
    crate::layers::venv::compile_bytecode(python, venv_dir, python_version, &[])
}

/// The error for a packaging tool (`tool`, e.g. `pip 26.3`) whose modules didn't compile.
pub(crate) fn compile_tool_message(
    tool: &str,
    error: &fun_run::CmdError,
) -> crate::error_message::ErrorMessage {
    crate::error_message::ErrorMessage::new(
        format!("Unable to compile {tool} to bytecode"),
        formatdoc! {"
            The buildpack installed {tool}, used during the build only, but could not compile
            its modules to bytecode:
            {error}

            This is most likely a problem with the Python runtime or the build machine's
            disk. Try the build again; if it keeps failing, please open an issue with this
            output.
        ", error = crate::tool_command::failure_details(error)},
    )
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
    CreateEnvironment(fun_run::CmdError),
    Download(IndexError),
    Unpack(WheelError),
    /// pip's modules couldn't be compiled to bytecode ([`compile_tool`]).
    Compile(fun_run::CmdError),
}

impl PackagingToolsError {
    pub(crate) fn message(&self) -> crate::error_message::ErrorMessage {
        match self {
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
            Self::Download(error) => crate::error_message::ErrorMessage::new(
                format!("Unable to install pip {PIP_VERSION}"),
                formatdoc! {"
                    The buildpack could not download pip from the package index:
                    {details}

                    If the build uses a private package index, check that PIP_INDEX_URL is
                    correct and that pip {PIP_VERSION} is available there. Otherwise this is
                    likely a temporary network problem: try the build again.
                ", details = error.details(&pip_wheel(), PIP_WHEEL_SHA256)},
            ),
            Self::Unpack(error) => error.message(&format!("pip {PIP_VERSION}")),
            Self::Compile(error) => compile_tool_message(&format!("pip {PIP_VERSION}"), error),
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
    fn a_tool_that_does_not_compile_has_its_own_error() {
        let error = PackagingToolsError::Compile(fun_run::CmdError::SystemError(
            String::from("/layers/pip/bin/python -S -B"),
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
        let message = error.message();
        assert_eq!(
            message.header,
            format!("Unable to compile pip {PIP_VERSION} to bytecode")
        );
        assert_eq!(
            bullet_stream::strip_ansi(&message.body),
            formatdoc! {"
                The buildpack installed pip {PIP_VERSION}, used during the build only, but could not compile
                its modules to bytecode:
                `/layers/pip/bin/python -S -B` could not be run: entity not found

                This is most likely a problem with the Python runtime or the build machine's
                disk. Try the build again; if it keeps failing, please open an issue with this
                output.
            "}
        );
    }

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

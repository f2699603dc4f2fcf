//! uv apps (`pyproject.toml` + `uv.lock`): uv itself in the build-only layer `uv` (installed
//! from the `uv` wheel on `PyPI`, which ships the binary), and `uv sync --locked` into the
//! dependencies layer `venv`.
//!
//! uv always uses the buildpack's Python (`UV_PYTHON` is the runtime's `python3`, and
//! `UV_PYTHON_DOWNLOADS=never`). The sync installs the lock's default dependencies only: no
//! dependency groups (so no `dev` group), and not the app itself (`--no-install-project`: the app
//! runs from its directory, and installing it would need its build backend at build time).

use crate::PythonBuildpack;
use crate::error_message::ErrorMessage;
use crate::errors::BuildpackError;
use crate::layers::locked_venv::{
    self, LockedDependenciesError, LockedInstall, Update, find_on_path, prepend_path, set_var,
};
use crate::layers::pip::Pip;
use crate::layers::tool_layer::{Tool, failure_output, install_tool_layer};
use crate::layers::uv_cache;
use crate::package_manager::PackageManager;
use crate::packaging_tool_versions::UV_VERSION;
use crate::python_version::PythonVersion;
use crate::redact::redact_credentials;
use crate::tool_command;
use bullet_stream::style;
use fun_run::CmdError;
use indoc::formatdoc;
use libcnb::Env;
use libcnb::build::BuildContext;
use libcnb::data::layer_name;
use std::path::{Path, PathBuf};

/// The files whose contents decide what `uv sync` installs.
const INPUT_FILES: [&str; 2] = ["pyproject.toml", "uv.lock"];

/// Installs (or reuses) uv in its layer and returns the path of the `uv` binary.
pub(crate) fn install_uv(
    context: &BuildContext<PythonBuildpack>,
    env: &Env,
    python_version: PythonVersion,
    pip: &Pip,
) -> libcnb::Result<PathBuf, BuildpackError> {
    let tool = Tool {
        layer: layer_name!("uv"),
        name: "uv",
        version: UV_VERSION,
    };
    let layer_dir = install_tool_layer(context, python_version, &tool, |layer_dir| {
        let vars = crate::layers::pip::tool_install_env(context, env);
        tool_command::stream(
            pip.command(&vars)
                .args([
                    "install",
                    "--quiet",
                    "--no-deps",
                    "--only-binary=:all:",
                    "--target",
                ])
                .arg(layer_dir)
                .arg(format!("uv=={UV_VERSION}")),
        )
        .map_err(|error| uv_error(UvError::Install(error)))?;
        Ok(())
    })?;
    Ok(layer_dir.join("bin/uv"))
}

/// Installs the app's locked dependencies into the `venv` layer with `uv sync`, unless the
/// cached environment was made from the same `pyproject.toml`, `uv.lock` and uv version.
pub(crate) fn install_dependencies(
    context: &BuildContext<PythonBuildpack>,
    env: &mut Env,
    python_version: PythonVersion,
    uv: &Path,
) -> libcnb::Result<(), BuildpackError> {
    let what = LockedInstall {
        manager: PackageManager::Uv,
        tool_version: UV_VERSION,
        input_files: &INPUT_FILES,
        update: Update::InPlace,
    };
    let python = find_on_path(env, "python3").ok_or(uv_error(UvError::NoPython))?;
    let installed = locked_venv::install_locked_dependencies(
        context,
        env,
        python_version,
        &what,
        |venv, env| {
            let cache_dir = uv_cache::prepare_uv_cache(context, python_version, true)?;
            let mut vars = crate::layers::pip::tool_env(context, env);
            set_var(&mut vars, "UV_PROJECT_ENVIRONMENT", &venv.dir);
            set_var(&mut vars, "UV_PYTHON", &python);
            set_var(&mut vars, "UV_PYTHON_DOWNLOADS", "never");
            set_var(&mut vars, "UV_CACHE_DIR", &cache_dir);
            // The cache and the environment are separate layers: copy rather than try to link.
            set_var(&mut vars, "UV_LINK_MODE", "copy");
            set_var(&mut vars, "UV_NO_PROGRESS", "1");
            if let Some(bin_dir) = uv.parent() {
                prepend_path(&mut vars, bin_dir);
            }
            tool_command::stream(
                tool_command::command("uv", &vars)
                    .current_dir(&context.app_dir)
                    .args([
                        "sync",
                        "--locked",
                        "--no-default-groups",
                        "--no-install-project",
                    ]),
            )
            .map_err(|error| uv_error(UvError::from_sync_failure(&error)))?;
            Ok(())
        },
    )?;
    if !installed {
        // The cache is only declared again, so that the platform keeps it for later builds.
        uv_cache::prepare_uv_cache(context, python_version, false)?;
    }
    Ok(())
}

fn uv_error(error: UvError) -> BuildpackError {
    BuildpackError::LockedDependencies(LockedDependenciesError::Uv(error))
}

#[derive(Debug)]
pub(crate) enum UvError {
    Install(CmdError),
    NoPython,
    LockfileOutOfSync,
    /// A package without a wheel for this runtime failed to build from source.
    SourceBuild(crate::source_build::SourceBuildFailure),
    SyncFailed {
        command: String,
    },
}

impl UvError {
    fn from_sync_failure(error: &CmdError) -> Self {
        let command = redact_credentials(&error.name());
        let output = failure_output(error);
        if output.contains("needs to be updated, but `--locked` was provided") {
            Self::LockfileOutOfSync
        } else if let Some(failure) =
            crate::source_build::SourceBuildFailure::from_output("uv", &output)
        {
            Self::SourceBuild(failure)
        } else {
            Self::SyncFailed { command }
        }
    }

    pub(crate) fn message(&self) -> ErrorMessage {
        match self {
            Self::Install(error) => ErrorMessage::new(
                format!("Unable to install uv {UV_VERSION}"),
                formatdoc! {"
                    The buildpack could not download and install uv from the package index
                    ({command} failed, see its output above).

                    If the build uses a private package index, check that PIP_INDEX_URL is
                    correct and that uv {UV_VERSION} is available there. Otherwise this is
                    likely a temporary network problem: try the build again.
                ", command = style::command(redact_credentials(&error.name()))},
            ),
            Self::NoPython => ErrorMessage::new(
                "Unable to find the Python runtime for uv",
                formatdoc! {"
                    The buildpack installed Python, but python3 is not on the build's PATH, so
                    uv can't be told which Python to use.

                    This is a bug in the buildpack: please open an issue with this output.
                "},
            ),
            Self::LockfileOutOfSync => ErrorMessage::new(
                "The uv.lock file is out of date",
                formatdoc! {"
                    uv.lock doesn't match the dependencies in pyproject.toml (see uv's output
                    above): pyproject.toml was changed after uv.lock was last updated.

                    Run 'uv lock' to update uv.lock, commit the result, and build again.
                "},
            ),
            Self::SourceBuild(failure) => failure.message(),
            Self::SyncFailed { command } => ErrorMessage::new(
                "Unable to install the dependencies using uv",
                formatdoc! {"
                    {command} failed (see its output above).

                    Check uv's errors above. If they mention a network problem, try the build
                    again; otherwise fix pyproject.toml or uv.lock and check that
                    'uv sync --locked' works locally.
                ", command = style::command(command)},
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        assert_eq!(
            UvError::LockfileOutOfSync.message().render(),
            indoc::indoc! {"
                Error: The uv.lock file is out of date

                uv.lock doesn't match the dependencies in pyproject.toml (see uv's output
                above): pyproject.toml was changed after uv.lock was last updated.

                Run 'uv lock' to update uv.lock, commit the result, and build again."}
        );
        assert_eq!(
            bullet_stream::strip_ansi(
                UvError::SyncFailed {
                    command: "uv sync --locked".to_string()
                }
                .message()
                .render()
            ),
            indoc::indoc! {"
                Error: Unable to install the dependencies using uv

                `uv sync --locked` failed (see its output above).

                Check uv's errors above. If they mention a network problem, try the build
                again; otherwise fix pyproject.toml or uv.lock and check that
                'uv sync --locked' works locally."}
        );
    }
}

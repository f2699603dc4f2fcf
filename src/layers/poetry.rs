//! Poetry apps (`pyproject.toml` + `poetry.lock`): Poetry and its official export plugin in the
//! build-only layer `poetry`, and the lock's main dependency group installed into the
//! dependencies layer `venv`.
//!
//! The install keeps Poetry's semantics without `poetry install`, whose installer asks the
//! index's JSON API for every package (private indexes and mirrors that serve only the simple
//! index, as pip and uv use, fail there):
//! 1. `poetry check --lock`: the lock must match `pyproject.toml`, as `poetry install` demands.
//! 2. `poetry export --only main`: the main group exactly as locked, as a requirements file
//!    with every package pinned (`==`), its environment markers and the lock's hashes.
//! 3. `pip install --require-hashes --no-deps`: installs exactly those files; a file whose hash
//!    isn't in the lock is refused, and nothing outside the lock is resolved.

use crate::PythonBuildpack;
use crate::error_message::ErrorMessage;
use crate::errors::BuildpackError;
use crate::layers::locked_venv::{LockedDependenciesError, LockedInstall, Update, set_var};
use crate::layers::pip::Pip;
use crate::layers::tool_layer::{
    InstalledTool, Tool, ToolInstallError, VenvTool, dependencies_install_error, failure_output,
    install_venv_tool, install_with_pip_cache,
};
use crate::package_manager::PackageManager;
use crate::packaging_tool_versions::{
    POETRY_PLUGIN_EXPORT_VERSION, POETRY_REQUIREMENTS, POETRY_VERSION,
};
use crate::python_version::PythonVersion;
use crate::redact::redact_credentials;
use crate::tool_command;
use bullet_stream::style;
use fun_run::CmdError;
use indoc::formatdoc;
use libcnb::Env;
use libcnb::build::BuildContext;
use libcnb::data::layer_name;
use std::path::PathBuf;

/// The files whose contents decide what gets installed.
const INPUT_FILES: [&str; 2] = ["pyproject.toml", "poetry.lock"];

/// Poetry as installed in its layer.
pub(crate) type Poetry = InstalledTool;

/// Where the exported requirements go: outside the app and outside the image.
fn exported_requirements(poetry: &Poetry) -> PathBuf {
    poetry.layer_dir.join("exported-requirements.txt")
}

/// Installs (or reuses) Poetry and its export plugin, from `requirements/poetry.txt`, in the
/// `poetry` layer.
pub(crate) fn install_poetry(
    context: &BuildContext<PythonBuildpack>,
    env: &Env,
    python_version: PythonVersion,
    pip: &Pip,
) -> libcnb::Result<Poetry, BuildpackError> {
    let tool = VenvTool {
        tool: Tool {
            layer: layer_name!("poetry"),
            name: "Poetry",
            version: POETRY_VERSION,
        },
        program: "poetry",
        requirements: POETRY_REQUIREMENTS,
    };
    install_venv_tool(context, env, python_version, pip, &tool, |error| {
        poetry_error(PoetryError::InstallPoetry(error))
    })
}

/// Installs the lock's main group into the `venv` layer, unless the cached environment was
/// made from the same `pyproject.toml`, `poetry.lock` and Poetry version.
pub(crate) fn install_dependencies(
    context: &BuildContext<PythonBuildpack>,
    env: &mut Env,
    python_version: PythonVersion,
    poetry: &Poetry,
    pip: &Pip,
) -> libcnb::Result<(), BuildpackError> {
    let what = LockedInstall {
        manager: PackageManager::Poetry,
        tool_version: POETRY_VERSION,
        input_files: &INPUT_FILES,
        update: Update::Recreate,
    };
    install_with_pip_cache(context, env, python_version, &what, |venv, mut vars| {
        set_var(&mut vars, "POETRY_NO_INTERACTION", "1");
        set_var(&mut vars, "POETRY_VIRTUALENVS_CREATE", "false");

        tool_command::stream(
            poetry
                .command(&vars)
                .current_dir(&context.app_dir)
                .args(["check", "--lock"]),
        )
        .map_err(|error| poetry_error(PoetryError::from_check_failure(&error)))?;

        let exported = exported_requirements(poetry);
        tool_command::stream(
            poetry
                .command(&vars)
                .current_dir(&context.app_dir)
                .args([
                    "export",
                    "--only",
                    "main",
                    "--format",
                    "requirements.txt",
                    "--output",
                ])
                .arg(&exported),
        )
        .map_err(|error| poetry_error(PoetryError::Export(error)))?;

        let installed = tool_command::stream(
            pip.command(&vars)
                .current_dir(&context.app_dir)
                .arg("--python")
                .arg(venv.python())
                .args([
                    "install",
                    "--require-hashes",
                    "--no-deps",
                    "--no-compile",
                    "--requirement",
                ])
                .arg(&exported),
        );
        // Best effort: the file is rewritten by every install, it just needn't be cached.
        let _ = std::fs::remove_file(&exported);
        installed.map_err(|error| {
            poetry_error(dependencies_install_error(
                "pip",
                error,
                PoetryError::SourceBuild,
                PoetryError::InstallDependencies,
            ))
        })?;
        Ok(())
    })
}

fn poetry_error(error: PoetryError) -> BuildpackError {
    BuildpackError::LockedDependencies(LockedDependenciesError::Poetry(error))
}

#[derive(Debug)]
pub(crate) enum PoetryError {
    InstallPoetry(ToolInstallError),
    /// pip failed to install the exported requirements.
    InstallDependencies(CmdError),
    /// pip failed to build a package of the lock from source.
    SourceBuild(crate::source_build::SourceBuildFailure),
    LockfileOutOfSync,
    CheckFailed {
        command: String,
    },
    Export(CmdError),
}

impl PoetryError {
    fn from_check_failure(error: &CmdError) -> Self {
        let command = redact_credentials(&error.name());
        if failure_output(error)
            .contains("changed significantly since poetry.lock was last generated")
        {
            Self::LockfileOutOfSync
        } else {
            Self::CheckFailed { command }
        }
    }

    pub(crate) fn message(&self) -> ErrorMessage {
        match self {
            Self::InstallPoetry(error) => error.message("Poetry", POETRY_VERSION),
            Self::InstallDependencies(error) => {
                let command = style::command(redact_credentials(&error.name()));
                ErrorMessage::new(
                    "Unable to install the dependencies using Poetry's lock",
                    formatdoc! {"
                        {command} failed (see its output above).

                        Check the errors above. If they mention a network problem, try the build
                        again. If the build uses a private package index, check that
                        PIP_INDEX_URL is correct.
                    "},
                )
            }
            Self::SourceBuild(failure) => failure.message(),
            Self::LockfileOutOfSync => ErrorMessage::new(
                "The poetry.lock file is out of date",
                formatdoc! {"
                    poetry.lock doesn't match the dependencies in pyproject.toml (see Poetry's
                    output above): pyproject.toml was changed after poetry.lock was last
                    updated.

                    Run 'poetry lock' to update poetry.lock, commit the result, and build again.
                "},
            ),
            Self::CheckFailed { command } => ErrorMessage::new(
                "Poetry found a problem with pyproject.toml or poetry.lock",
                formatdoc! {"
                    {command} failed (see its output above for what is wrong).

                    Fix the problems it lists, check that 'poetry check --lock' passes locally,
                    and build again.
                ", command = style::command(command)},
            ),
            Self::Export(error) => ErrorMessage::new(
                "Unable to read the dependencies from poetry.lock",
                formatdoc! {"
                    {command} failed (see its output above).

                    Check that 'poetry export --only main' works locally with Poetry
                    {POETRY_VERSION} and poetry-plugin-export {POETRY_PLUGIN_EXPORT_VERSION}; if it
                    does, please open an issue with this output.
                ", command = style::command(redact_credentials(&error.name()))},
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
            PoetryError::LockfileOutOfSync.message().render(),
            indoc::indoc! {"
                Error: The poetry.lock file is out of date

                poetry.lock doesn't match the dependencies in pyproject.toml (see Poetry's
                output above): pyproject.toml was changed after poetry.lock was last
                updated.

                Run 'poetry lock' to update poetry.lock, commit the result, and build again."}
        );
        assert_eq!(
            bullet_stream::strip_ansi(
                PoetryError::CheckFailed {
                    command: "poetry check --lock".to_string()
                }
                .message()
                .render()
            ),
            indoc::indoc! {"
                Error: Poetry found a problem with pyproject.toml or poetry.lock

                `poetry check --lock` failed (see its output above for what is wrong).

                Fix the problems it lists, check that 'poetry check --lock' passes locally,
                and build again."}
        );
    }
}

//! Pipenv apps (`Pipfile` + `Pipfile.lock`): Pipenv in the build-only layer `pipenv`, and the
//! lock's default packages (not `develop`) installed into the dependencies layer `venv`.
//!
//! 1. `pipenv verify`: `Pipfile.lock` must have been generated from this `Pipfile` (the hash in
//!    its `_meta`), the `pipenv install --deploy` contract, checked first for a clear error.
//! 2. `pipenv install --deploy` with `VIRTUAL_ENV` set to the dependencies layer: Pipenv installs
//!    exactly the locked versions, checking the lock's hashes, into that environment.

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
use crate::packaging_tool_versions::{PIPENV_REQUIREMENTS, PIPENV_VERSION};
use crate::python_version::PythonVersion;
use crate::redact::redact_credentials;
use crate::tool_command;
use bullet_stream::style;
use fun_run::CmdError;
use indoc::formatdoc;
use libcnb::Env;
use libcnb::build::BuildContext;
use libcnb::data::layer_name;

/// The files whose contents decide what gets installed.
const INPUT_FILES: [&str; 2] = ["Pipfile", "Pipfile.lock"];

/// Pipenv as installed in its layer.
pub(crate) type Pipenv = InstalledTool;

/// Installs (or reuses) Pipenv, from `requirements/pipenv.txt`, in the `pipenv` layer.
pub(crate) fn install_pipenv(
    context: &BuildContext<PythonBuildpack>,
    env: &Env,
    python_version: PythonVersion,
    pip: &Pip,
) -> libcnb::Result<Pipenv, BuildpackError> {
    let tool = VenvTool {
        tool: Tool {
            layer: layer_name!("pipenv"),
            name: "Pipenv",
            version: PIPENV_VERSION,
        },
        program: "pipenv",
        requirements: PIPENV_REQUIREMENTS,
    };
    install_venv_tool(context, env, python_version, pip, &tool, |error| {
        pipenv_error(PipenvError::InstallPipenv(error))
    })
}

/// Installs the lock's default packages into the `venv` layer, unless the cached environment
/// was made from the same `Pipfile`, `Pipfile.lock` and Pipenv version.
pub(crate) fn install_dependencies(
    context: &BuildContext<PythonBuildpack>,
    env: &mut Env,
    python_version: PythonVersion,
    pipenv: &Pipenv,
) -> libcnb::Result<(), BuildpackError> {
    let what = LockedInstall {
        manager: PackageManager::Pipenv,
        tool_version: PIPENV_VERSION,
        input_files: &INPUT_FILES,
        update: Update::Recreate,
    };
    install_with_pip_cache(context, env, python_version, &what, |venv, mut vars| {
        // Pipenv installs into the active virtual environment: the dependencies layer.
        set_var(&mut vars, "VIRTUAL_ENV", &venv.dir);
        vars.retain(|(key, _)| {
            key != "PIPENV_VENV_IN_PROJECT" && key != "PIPENV_IGNORE_VIRTUALENVS"
        });
        set_var(&mut vars, "PIPENV_VERBOSITY", "-1");
        set_var(&mut vars, "PIPENV_NOSPIN", "1");
        set_var(&mut vars, "PIPENV_YES", "1");

        tool_command::stream(
            pipenv
                .command(&vars)
                .current_dir(&context.app_dir)
                .arg("verify"),
        )
        .map_err(|error| pipenv_error(PipenvError::from_verify_failure(&error)))?;

        tool_command::stream(
            pipenv
                .command(&vars)
                .current_dir(&context.app_dir)
                .args(["install", "--deploy"]),
        )
        .map_err(|error| {
            pipenv_error(dependencies_install_error(
                "Pipenv",
                error,
                PipenvError::SourceBuild,
                PipenvError::InstallDependencies,
            ))
        })?;
        Ok(())
    })
}

fn pipenv_error(error: PipenvError) -> BuildpackError {
    BuildpackError::LockedDependencies(LockedDependenciesError::Pipenv(error))
}

#[derive(Debug)]
pub(crate) enum PipenvError {
    InstallPipenv(ToolInstallError),
    LockfileOutOfDate,
    VerifyFailed {
        command: String,
    },
    InstallDependencies(CmdError),
    /// pip, run by Pipenv, failed to build a package of the lock from source.
    SourceBuild(crate::source_build::SourceBuildFailure),
}

impl PipenvError {
    fn from_verify_failure(error: &CmdError) -> Self {
        let command = redact_credentials(&error.name());
        if failure_output(error).contains("Pipfile.lock is out-of-date") {
            Self::LockfileOutOfDate
        } else {
            Self::VerifyFailed { command }
        }
    }

    pub(crate) fn message(&self) -> ErrorMessage {
        match self {
            Self::InstallPipenv(error) => error.message("Pipenv", PIPENV_VERSION),
            Self::LockfileOutOfDate => ErrorMessage::new(
                "The Pipfile.lock file is out of date",
                formatdoc! {"
                    Pipfile.lock wasn't generated from the current Pipfile (see Pipenv's output
                    above): Pipfile was changed after Pipfile.lock was last updated.

                    Run 'pipenv lock' to update Pipfile.lock, commit the result, and build again.
                "},
            ),
            Self::VerifyFailed { command } => ErrorMessage::new(
                "Pipenv could not check Pipfile.lock",
                formatdoc! {"
                    {command} failed (see its output above for what is wrong).

                    Check that 'pipenv verify' passes locally; if Pipfile.lock is damaged,
                    recreate it with 'pipenv lock', commit the result, and build again.
                ", command = style::command(command)},
            ),
            Self::SourceBuild(failure) => failure.message(),
            Self::InstallDependencies(error) => ErrorMessage::new(
                "Unable to install the dependencies using Pipenv",
                formatdoc! {"
                    {command} failed (see its output above).

                    Check Pipenv's errors above. If they mention a network problem, try the
                    build again; otherwise check that 'pipenv install --deploy' works locally.
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
            PipenvError::LockfileOutOfDate.message().render(),
            indoc::indoc! {"
                Error: The Pipfile.lock file is out of date

                Pipfile.lock wasn't generated from the current Pipfile (see Pipenv's output
                above): Pipfile was changed after Pipfile.lock was last updated.

                Run 'pipenv lock' to update Pipfile.lock, commit the result, and build again."}
        );
        assert_eq!(
            bullet_stream::strip_ansi(
                PipenvError::VerifyFailed {
                    command: "pipenv verify".to_string()
                }
                .message()
                .render()
            ),
            indoc::indoc! {"
                Error: Pipenv could not check Pipfile.lock

                `pipenv verify` failed (see its output above for what is wrong).

                Check that 'pipenv verify' passes locally; if Pipfile.lock is damaged,
                recreate it with 'pipenv lock', commit the result, and build again."}
        );
    }
}

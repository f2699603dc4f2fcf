//! Which of the packages the steps care about are installed, asked of the app's own Python.

use crate::error_message::ErrorMessage;
use fun_run::CommandWithName;
use indoc::formatdoc;
use libcnb::Env;
use std::path::Path;
use std::process::Command;

/// The distributions the build steps look for, with the versions installed (`None`: absent).
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InstalledPackages {
    pub(crate) django: Option<String>,
    pub(crate) gunicorn: Option<String>,
    pub(crate) uvicorn: Option<String>,
}

/// Reads the installed distributions' metadata (`*.dist-info`) through `importlib.metadata`, so
/// the answer is the same whichever tool installed them and wherever it put them. A directory in
/// the app that merely has a package's name doesn't count: only installed metadata does.
const PROBE: &str = "import importlib.metadata as m, json
def version(name):
    try:
        return m.version(name)
    except m.PackageNotFoundError:
        return None
print(json.dumps({name: version(name) for name in ('django', 'gunicorn', 'uvicorn')}))";

#[derive(Debug)]
pub(crate) struct ProbeError {
    command: String,
    details: String,
}

/// Runs the app's `python` (found on the build env's `PATH`) from the app directory.
pub(crate) fn installed_packages(
    app_dir: &Path,
    env: &Env,
) -> Result<InstalledPackages, ProbeError> {
    let mut command = Command::new("python");
    command
        .args(["-c", PROBE])
        .current_dir(app_dir)
        .env_clear()
        .envs(env);
    let mut named = command.named("python -c <list installed packages>");
    let name = named.name();
    let output = named.named_output().map_err(|error| ProbeError {
        command: name.clone(),
        details: error.to_string(),
    })?;
    serde_json::from_slice(output.stdout()).map_err(|error| ProbeError {
        command: name,
        details: format!(
            "Its output could not be understood ({error}):\n{}",
            output.stdout_lossy()
        ),
    })
}

impl ProbeError {
    pub(crate) fn message(&self) -> ErrorMessage {
        let Self { command, details } = self;
        ErrorMessage::new(
            "Unable to list the installed packages",
            formatdoc! {"
                After installing the dependencies, the buildpack asks the app's Python which
                packages are installed ('{command}'), and that failed:

                {details}

                Check that the dependencies installed above don't break Python's start-up (for
                example a broken '.pth' file or a package that shadows the standard library).
            "},
        )
    }
}

//! Which of the packages the steps care about are installed, asked of the app's own Python.

use crate::error_message::ErrorMessage;
use crate::limited_command::{self, Output, RunError, TimedOut};
use indoc::formatdoc;
use libcnb::Env;
use std::process::Command;
use std::time::Duration;

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
pub(crate) enum ProbeError {
    Failed {
        command: String,
        details: String,
    },
    TimedOut {
        command: String,
        timed_out: Box<TimedOut>,
    },
}

/// How the probe is shown.
const COMMAND: &str = "python -I -c <list installed packages>";

/// Runs the app's `python` (found on the build env's `PATH`) isolated (`-I`: neither the app's
/// directory nor `PYTHONPATH` nor any other `PYTHON*` variable nor the user's site-packages is
/// seen) from a neutral working directory, so it sees the packages the image's processes will
/// have, and an app module named like a standard library module (`email.py`) isn't imported.
pub(crate) fn installed_packages(
    env: &Env,
    limit: Duration,
) -> Result<InstalledPackages, ProbeError> {
    let mut command = Command::new("python");
    command
        .args(["-I", "-c", PROBE])
        .current_dir("/")
        .env_clear()
        .envs(env);
    let failed = |details: String| ProbeError::Failed {
        command: COMMAND.to_string(),
        details,
    };
    let finished = match limited_command::run(&mut command, limit, Output::Capture) {
        Ok(finished) => finished,
        Err(RunError::Spawn(error)) => {
            return Err(failed(format!("It could not be started: {error}")));
        }
        Err(RunError::TimedOut(timed_out)) => {
            return Err(ProbeError::TimedOut {
                command: COMMAND.to_string(),
                timed_out,
            });
        }
    };
    if !finished.status.success() {
        return Err(failed(format!(
            "It failed ({}), with this output:\n\n{}",
            finished.status,
            finished.tail.render("    ")
        )));
    }
    serde_json::from_slice(&finished.stdout).map_err(|error| {
        failed(format!(
            "Its output could not be understood ({error}):\n\n{}",
            finished.tail.render("    ")
        ))
    })
}

impl ProbeError {
    pub(crate) fn message(&self) -> ErrorMessage {
        match self {
            Self::Failed { command, details } => ErrorMessage::new(
                "Unable to list the installed packages",
                formatdoc! {"
                    After installing the dependencies, the buildpack asks the app's Python which
                    packages are installed ('{command}'), and that failed:

                    {details}

                    Check that the dependencies installed above don't break Python's start-up (for
                    example a broken '.pth' file or a package that shadows the standard library).
                "},
            ),
            Self::TimedOut { command, timed_out } => limited_command::timed_out_message(
                command,
                "to list the installed packages",
                timed_out,
                "Python normally answers in well under a second: something that runs at every \
                 start of Python (a '.pth' file installed by a package, or a 'sitecustomize' \
                 module) is probably waiting for something, such as the network.",
            ),
        }
    }
}

//! Running packaging tools (pip now; uv, Poetry, Pipenv later) the same way everywhere:
//!
//! - [`tool_env`]: the child's environment is this build's env (the runtime on PATH, set by the
//!   layers so far) plus the platform env the user gave (`pack build --env PIP_INDEX_URL=…`),
//!   minus variables that would make the tool see packages that are not part of the app
//!   (`PYTHONPATH`), plus a few settings for non-interactive, unbuffered output.
//! - [`stream`]: prints the exact command (credentials redacted) and streams its output through
//!   [`RedactingWriter`], keeping the captured output for error analysis.

use crate::redact::{RedactingWriter, redact_credentials};
use bullet_stream::global::print;
use bullet_stream::style;
use fun_run::{CmdError, CommandWithName, NamedOutput};
use libcnb::Env;
use std::ffi::OsString;
use std::process::Command;

/// Variables removed from every tool's environment.
const REMOVED: [&str; 2] = ["PYTHONPATH", "PIP_PYTHON"];

/// Settings every tool run gets, unless the platform env sets them.
const DEFAULTS: [(&str, &str); 4] = [
    ("PYTHONUNBUFFERED", "1"),
    ("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
    ("PIP_NO_INPUT", "1"),
    ("PIP_ROOT_USER_ACTION", "ignore"),
];

/// The environment for a tool's process: `build_env` overlaid with `platform_env`.
pub(crate) fn tool_env(build_env: &Env, platform_env: &Env) -> Vec<(OsString, OsString)> {
    let mut vars: std::collections::BTreeMap<OsString, OsString> = DEFAULTS
        .iter()
        .map(|(key, value)| (OsString::from(key), OsString::from(value)))
        .collect();
    for (key, value) in build_env.iter().chain(platform_env.iter()) {
        vars.insert(key.clone(), value.clone());
    }
    for key in REMOVED {
        vars.remove(&OsString::from(key));
    }
    vars.into_iter().collect()
}

/// A command with exactly `vars` as its environment.
pub(crate) fn command(program: impl Into<OsString>, vars: &[(OsString, OsString)]) -> Command {
    let mut command = Command::new(program.into());
    command
        .env_clear()
        .envs(vars.iter().map(|(key, value)| (key, value)));
    command
}

/// Prints "Running `<command>`" and streams the command's output, credentials redacted.
pub(crate) fn stream(command: &mut Command) -> Result<NamedOutput, CmdError> {
    let name = redact_credentials(&fun_run::display(command));
    print::sub_stream_with(
        format!("Running {}", style::command(&name)),
        |stdout, stderr| {
            command
                .named(&name)
                .stream_output(RedactingWriter::new(stdout), RedactingWriter::new(stderr))
        },
    )
}

/// Runs a quiet command with a timer, credentials redacted from its name.
pub(crate) fn timed(command: &mut Command) -> Result<NamedOutput, CmdError> {
    let name = redact_credentials(&fun_run::display(command));
    print::sub_time_cmd(command.named(name))
}

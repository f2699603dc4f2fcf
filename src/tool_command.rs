//! Running packaging tools (pip now; uv, Poetry, Pipenv later) the same way everywhere:
//!
//! - [`tool_env`]: the child's environment is this build's env (the process env, with the
//!   runtime on PATH from the layers so far), plus any platform env var (`pack build --env
//!   PIP_INDEX_URL=…`) the process env lacks (with `clear-env = false` the lifecycle exports
//!   them already, and the layers' changes, such as PATH, must win), minus variables that would
//!   make the tool see packages that are not part of the app (`PYTHONPATH`), plus settings for
//!   non-interactive, unbuffered output.
//! - [`stream`]: prints the exact command (credentials redacted) and streams its output through
//!   [`RedactingWriter`], keeping the captured output for error analysis.

use crate::limited_command::TAIL_LINES;
use crate::redact::{RedactingWriter, for_message, redact_credentials};
use bullet_stream::global::print;
use bullet_stream::style;
use fun_run::{CmdError, CommandWithName, NamedOutput};
use libcnb::Env;
use std::ffi::OsString;
use std::process::Command;

/// Variables removed from every tool's environment.
const REMOVED: [&str; 2] = ["PYTHONPATH", "PIP_PYTHON"];

/// Settings every tool run gets.
const FORCED: [(&str, &str); 4] = [
    ("PYTHONUNBUFFERED", "1"),
    ("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
    ("PIP_NO_INPUT", "1"),
    ("PIP_ROOT_USER_ACTION", "ignore"),
];

/// The environment for a tool's process (see the module docs).
pub(crate) fn tool_env(build_env: &Env, platform_env: &Env) -> Vec<(OsString, OsString)> {
    let mut vars: std::collections::BTreeMap<OsString, OsString> = build_env
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    for (key, value) in platform_env {
        vars.entry(key.clone()).or_insert_with(|| value.clone());
    }
    for (key, value) in FORCED {
        vars.insert(OsString::from(key), OsString::from(value));
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

/// What went wrong with a command, for an error message's body: the command and how it ended,
/// then its output unless it was streamed already (indented, credentials redacted).
pub(crate) fn failure_details(error: &CmdError) -> String {
    let command = style::command(redact_credentials(&error.name()));
    match error {
        CmdError::SystemError(_, io_error) => format!("{command} could not be run: {io_error}"),
        CmdError::NonZeroExitAlreadyStreamed(output) => {
            format!(
                "{command} failed ({}); its output is above.",
                output.status()
            )
        }
        CmdError::NonZeroExitNotStreamed(output) => {
            // Credentials redacted, control characters escaped, the last lines only.
            let text = for_message(&format!(
                "{}{}",
                output.stdout_lossy(),
                output.stderr_lossy()
            ));
            let all: Vec<&str> = text.trim_end().lines().collect();
            let kept = &all[all.len().saturating_sub(TAIL_LINES)..];
            let mut lines: Vec<String> = kept
                .iter()
                .map(|line| format!("    {line}").trim_end().to_string())
                .collect();
            if kept.len() < all.len() {
                lines.insert(
                    0,
                    format!(
                        "    ({} earlier lines are not shown)",
                        all.len() - kept.len()
                    ),
                );
            }
            if lines.iter().all(String::is_empty) {
                format!("{command} failed ({}) without any output.", output.status())
            } else {
                format!(
                    "{command} failed ({}), with this output:\n\n{}",
                    output.status(),
                    lines.join("\n")
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(stdout: &str, stderr: &str, streamed: bool) -> CmdError {
        use std::os::unix::process::ExitStatusExt;
        let output = std::process::Output {
            status: std::process::ExitStatus::from_raw(1 << 8),
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
        };
        let name = String::from("pip install --index-url https://user:pass@example.com/simple x");
        if streamed {
            fun_run::nonzero_streamed(name, output).unwrap_err()
        } else {
            fun_run::nonzero_captured(name, output).unwrap_err()
        }
    }

    #[test]
    fn failure_details_show_captured_output_indented_and_redacted() {
        let details = bullet_stream::strip_ansi(failure_details(&failed(
            "",
            "ERROR: No matching distribution found for x\n  (from https://user:pass@example.com/simple)\n",
            false,
        )));
        assert_eq!(
            details,
            "`pip install --index-url https://****@example.com/simple x` failed (exit status: 1), with this output:\n\n    ERROR: No matching distribution found for x\n      (from https://****@example.com/simple)"
        );
    }

    #[test]
    fn failure_details_keep_the_last_lines_escaped() {
        let mut output = String::new();
        for n in 1..=250 {
            output.push_str("line ");
            output.push_str(&n.to_string());
            output.push_str("\x1b[0m\n");
        }
        let details = failure_details(&failed(&output, "", false));
        let lines: Vec<&str> = details.lines().collect();
        assert_eq!(lines[2], "    (50 earlier lines are not shown)");
        assert_eq!(lines[3], "    line 51<U+001B>[0m");
        assert_eq!(lines.last(), Some(&"    line 250<U+001B>[0m"));
    }

    #[test]
    fn failure_details_of_streamed_silent_and_unstartable_commands() {
        assert_eq!(
            bullet_stream::strip_ansi(failure_details(&failed("out", "err", true))),
            "`pip install --index-url https://****@example.com/simple x` failed (exit status: 1); its output is above."
        );
        assert_eq!(
            bullet_stream::strip_ansi(failure_details(&failed("", "\n", false))),
            "`pip install --index-url https://****@example.com/simple x` failed (exit status: 1) without any output."
        );
        let error = CmdError::SystemError(
            String::from("uv sync"),
            std::io::Error::from(std::io::ErrorKind::NotFound),
        );
        assert_eq!(
            bullet_stream::strip_ansi(failure_details(&error)),
            "`uv sync` could not be run: entity not found"
        );
    }

    #[test]
    fn build_env_wins_platform_env_fills_in() {
        let mut build_env = Env::new();
        build_env.insert("PATH", "/layers/python/bin:/invalid");
        build_env.insert("PYTHONPATH", "/invalid");
        build_env.insert("PIP_DISABLE_PIP_VERSION_CHECK", "0");
        let mut platform_env = Env::new();
        platform_env.insert("PATH", "/invalid");
        platform_env.insert("PIP_INDEX_URL", "https://user:pass@example.com/simple");
        let vars = tool_env(&build_env, &platform_env);
        let get = |key: &str| {
            vars.iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value.to_string_lossy().into_owned())
        };
        assert_eq!(get("PATH").as_deref(), Some("/layers/python/bin:/invalid"));
        assert_eq!(
            get("PIP_INDEX_URL").as_deref(),
            Some("https://user:pass@example.com/simple")
        );
        assert_eq!(get("PIP_DISABLE_PIP_VERSION_CHECK").as_deref(), Some("1"));
        assert_eq!(get("PYTHONPATH"), None);
    }
}

//! The app's build hooks, as Heroku's classic Python buildpack runs them: an executable
//! `bin/pre_compile` runs before the app is analysed (so it may write the files the build reads,
//! such as `requirements.txt` or `.python-version`), and `bin/post_compile` after the
//! dependencies are installed and collectstatic has run, before the processes are chosen.
//!
//! Each runs in the app dir with the build env at that point (the build image's env and, for
//! `post_compile`, the app's Python and packages on `PATH`), plus the platform env where the
//! build env lacks a variable, its output streamed under a heading of its own. What a hook
//! changes is not tracked by any cache: it runs on every build.

use crate::error_message::ErrorMessage;
use crate::redact::RedactingWriter;
use bullet_stream::global::print;
use bullet_stream::style;
use fun_run::{CmdError, CommandWithName};
use indoc::formatdoc;
use libcnb::Env;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hook {
    PreCompile,
    PostCompile,
}

impl Hook {
    /// The hook's path, relative to the app dir.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Self::PreCompile => "bin/pre_compile",
            Self::PostCompile => "bin/post_compile",
        }
    }
}

#[derive(Debug)]
pub(crate) enum HookError {
    /// The hook is there but has no execute permission.
    NotExecutable(Hook),
    /// The hook's path is a directory or another file that can't be run.
    NotAFile(Hook),
    /// The hook is (or is reached through) a symlink leading outside the app dir.
    OutsideApp(Hook),
    /// The hook or the app dir could not be inspected.
    Inspect(Hook, String),
    /// The hook could not be started (no interpreter line, a missing interpreter...).
    Start(Hook, String),
    /// The hook exited with a non-zero status (or was killed).
    Failed { hook: Hook, status: String },
}

/// Runs `hook` if the app has it. `env` is the build env at this point of the build; variables
/// of `platform_env` it lacks are added.
pub(crate) fn run(
    app_dir: &Path,
    env: &Env,
    platform_env: &Env,
    hook: Hook,
) -> Result<(), HookError> {
    let path = app_dir.join(hook.path());
    match path.symlink_metadata() {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(HookError::Inspect(hook, error.to_string())),
        Ok(_) => {}
    }
    // Nothing outside the app may run: resolve links and require the hook inside the app dir.
    let inspect = |error: std::io::Error| HookError::Inspect(hook, error.to_string());
    let app_dir = app_dir.canonicalize().map_err(inspect)?;
    let program = path
        .canonicalize()
        .map_err(|_| HookError::OutsideApp(hook))?;
    if !program.starts_with(&app_dir) {
        return Err(HookError::OutsideApp(hook));
    }
    let metadata = program.metadata().map_err(inspect)?;
    if !metadata.is_file() {
        return Err(HookError::NotAFile(hook));
    }
    if metadata.permissions().mode() & 0o111 == 0 {
        return Err(HookError::NotExecutable(hook));
    }

    print::h2(format!("Running the {} hook", hook.path()));
    let mut vars: std::collections::BTreeMap<OsString, OsString> = env
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    for (key, value) in platform_env {
        vars.entry(key.clone()).or_insert_with(|| value.clone());
    }
    let mut command = Command::new(&program);
    command.current_dir(&app_dir).env_clear().envs(vars);
    print::sub_stream_with(
        format!("Running {}", style::command(hook.path())),
        |stdout, stderr| {
            command
                .named(hook.path())
                .stream_output(RedactingWriter::new(stdout), RedactingWriter::new(stderr))
        },
    )
    .map_err(|error| match error {
        CmdError::SystemError(_, error) => HookError::Start(hook, error.to_string()),
        CmdError::NonZeroExitAlreadyStreamed(output) | CmdError::NonZeroExitNotStreamed(output) => {
            HookError::Failed {
                hook,
                status: output.status().to_string(),
            }
        }
    })?;
    Ok(())
}

impl HookError {
    pub(crate) fn message(&self) -> ErrorMessage {
        match self {
            Self::NotExecutable(hook) => {
                let path = hook.path();
                ErrorMessage::new(
                    format!("{path} is not executable"),
                    formatdoc! {"
                        The app has a {path} hook, but the file isn't executable, so the
                        buildpack can't run it.

                        Make it executable and commit the change: run 'chmod +x {path}' (in a
                        git repository, 'git update-index --chmod=+x {path}' records it too),
                        or delete {path} if the app doesn't use it.
                    "},
                )
            }
            Self::NotAFile(hook) => {
                let path = hook.path();
                ErrorMessage::new(
                    format!("{path} is not a file"),
                    formatdoc! {"
                        The app has a {path}, but it isn't a file, so the buildpack can't run
                        it as a hook.

                        Replace it with an executable script, or remove it.
                    "},
                )
            }
            Self::OutsideApp(hook) => {
                let path = hook.path();
                ErrorMessage::new(
                    format!("{path} leads outside the app"),
                    formatdoc! {"
                        {path} is a symbolic link (or is in a linked directory) that doesn't
                        resolve to a file inside the app's directory. The buildpack only runs
                        hooks that are part of the app.

                        Replace the link with the script itself.
                    "},
                )
            }
            Self::Inspect(hook, error) => ErrorMessage::new(
                format!("Unable to read {}", hook.path()),
                formatdoc! {"
                    The buildpack could not inspect the app's {path} hook: {error}

                    Check the file's permissions, then build again.
                ", path = hook.path()},
            ),
            Self::Start(hook, error) => {
                let path = hook.path();
                ErrorMessage::new(
                    format!("Unable to run {path}"),
                    formatdoc! {"
                        {path} could not be started: {error}

                        A hook must be a program, or a script whose first line names its
                        interpreter, for example '#!/usr/bin/env bash'. Note that the build's
                        Python isn't installed yet when bin/pre_compile runs.
                    "},
                )
            }
            Self::Failed { hook, status } => {
                let path = hook.path();
                ErrorMessage::new(
                    format!("The {path} hook failed"),
                    formatdoc! {"
                        {path} failed ({status}); its output is above.

                        Fix the hook, or the command in it that failed, and build again. It runs
                        in the app's directory with the build's environment.
                    "},
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn app_with_hook(script: &str, mode: u32) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("bin")).unwrap();
        let hook = dir.path().join("bin/pre_compile");
        fs::write(&hook, script).unwrap();
        fs::set_permissions(&hook, fs::Permissions::from_mode(mode)).unwrap();
        dir
    }

    fn run_pre_compile(app: &Path) -> Result<(), HookError> {
        let mut env = Env::new();
        env.insert("PATH", "/usr/bin:/bin");
        let mut platform_env = Env::new();
        platform_env.insert("FROM_PLATFORM", "yes");
        platform_env.insert("PATH", "/invalid");
        run(app, &env, &platform_env, Hook::PreCompile)
    }

    #[test]
    fn an_app_without_hooks_runs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(run_pre_compile(dir.path()).is_ok());
    }

    #[test]
    fn the_hook_runs_in_the_app_dir_with_the_build_env_and_the_platform_env() {
        let dir = app_with_hook(
            "#!/bin/sh\necho \"$PATH $FROM_PLATFORM\" > out.txt\n",
            0o755,
        );
        run_pre_compile(dir.path()).unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("out.txt")).unwrap(),
            "/usr/bin:/bin yes\n"
        );
    }

    #[test]
    fn failures() {
        let failing = app_with_hook("#!/bin/sh\nexit 3\n", 0o755);
        assert_eq!(
            run_pre_compile(failing.path())
                .unwrap_err()
                .message()
                .render(),
            indoc::indoc! {"
                Error: The bin/pre_compile hook failed

                bin/pre_compile failed (exit status: 3); its output is above.

                Fix the hook, or the command in it that failed, and build again. It runs
                in the app's directory with the build's environment."}
        );
        let not_executable = app_with_hook("#!/bin/sh\n", 0o644);
        assert!(matches!(
            run_pre_compile(not_executable.path()),
            Err(HookError::NotExecutable(Hook::PreCompile))
        ));
        let no_interpreter = app_with_hook("echo hi\n", 0o755);
        assert!(matches!(
            run_pre_compile(no_interpreter.path()),
            Err(HookError::Start(Hook::PreCompile, _))
        ));
    }

    #[test]
    fn a_hook_linking_outside_the_app_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("bin")).unwrap();
        std::os::unix::fs::symlink("/bin/true", dir.path().join("bin/pre_compile")).unwrap();
        assert!(matches!(
            run_pre_compile(dir.path()),
            Err(HookError::OutsideApp(Hook::PreCompile))
        ));
        let directory = tempfile::tempdir().unwrap();
        fs::create_dir_all(directory.path().join("bin/pre_compile")).unwrap();
        assert!(matches!(
            run_pre_compile(directory.path()),
            Err(HookError::NotAFile(Hook::PreCompile))
        ));
    }
}

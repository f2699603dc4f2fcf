//! Launching the image: `docker run` on a CNB image, then the launcher (see
//! [`crate::launcher`]) with the launch env composed from the launch layers.

use crate::PlatformError;
use crate::launch_env::{LaunchLayer, compose_launch_env};
use crate::launcher::{
    LAUNCHER_PATH, LIFECYCLE_DIR, PROCESS_DIR, bash_argv, profiles, start_command,
};
use crate::layers::Process;
use crate::platform::{DEFAULT_PATH, LaunchImage};
use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The launcher's exit code when it fails before starting the process (Platform spec,
/// launcher outputs: 80-89; the lifecycle's `LaunchError` is 82).
pub const LAUNCH_ERROR_CODE: i32 = 82;

/// What a container runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchCommand {
    /// The launcher, started as `argv0` (`/cnb/process/<type>`, a process type found on the
    /// image's `PATH`, `launcher` or `/cnb/lifecycle/launcher`) with these arguments: it
    /// decides from both what to run ([`crate::launcher::start_command`]).
    Launcher { argv0: String, args: Vec<String> },
    /// A program other than the launcher: the image's config env only, no layer env.
    NoLauncher(Vec<String>),
}

impl LaunchCommand {
    /// `launcher <command>`: what libcnb-test's `run_shell_command` (`docker run
    /// --entrypoint launcher IMAGE <command>`) and `shell_exec` (`docker exec <container>
    /// launcher <command>`) run: a user-provided command, through bash.
    #[must_use]
    pub fn shell(command: impl Into<String>) -> Self {
        Self::Launcher {
            argv0: String::from("launcher"),
            args: vec![command.into()],
        }
    }

    /// What `docker run [--entrypoint <entrypoint>] IMAGE [<command>...]` runs, for an image
    /// with these processes, as libcnb-test's `ContainerConfig` passes `entrypoint` and
    /// `command` to `docker run`.
    ///
    /// No entrypoint: the image's, which the exporter sets to `/cnb/process/<default type>`,
    /// or to `/cnb/lifecycle/launcher` when there is no default process (lifecycle,
    /// `phase/exporter.go`); its `CMD` is empty, so the command is the launcher's arguments.
    /// An entrypoint replaces it: a name without `/` is looked up on the image's `PATH`, which
    /// the exporter starts with `/cnb/process` (a launcher symlink per process type), then
    /// `/cnb/lifecycle` (`launcher`); Docker starts it with `argv[0]` as given.
    #[must_use]
    pub fn from_docker(
        entrypoint: Option<&str>,
        command: Option<&[String]>,
        processes: &[Process],
    ) -> Self {
        let args = command.map(<[String]>::to_vec).unwrap_or_default();
        let is_type = |name: &str| processes.iter().any(|process| process.r#type == name);
        let Some(entrypoint) = entrypoint else {
            let argv0 = processes
                .iter()
                .find(|process| process.default)
                .map_or_else(
                    || String::from(LAUNCHER_PATH),
                    |process| format!("{PROCESS_DIR}/{}", process.r#type),
                );
            return Self::Launcher { argv0, args };
        };
        let is_launcher = if entrypoint.contains('/') {
            entrypoint == LAUNCHER_PATH
                || entrypoint
                    .strip_prefix(PROCESS_DIR)
                    .and_then(|rest| rest.strip_prefix('/'))
                    .is_some_and(is_type)
        } else {
            is_type(entrypoint) || entrypoint == "launcher"
        };
        if is_launcher {
            Self::Launcher {
                argv0: entrypoint.to_string(),
                args,
            }
        } else {
            let mut program_and_args = vec![entrypoint.to_string()];
            program_and_args.extend(args);
            Self::NoLauncher(program_and_args)
        }
    }
}

/// The image's config env (the run image's, plus what the exporter sets: `CNB_LAYERS_DIR`,
/// `CNB_APP_DIR`, `CNB_PLATFORM_API`, `CNB_DEPRECATION_MODE`, and `/cnb/process` and
/// `/cnb/lifecycle` in front of `PATH`), then `env` (like `docker run -e`).
fn base_env(
    image: &LaunchImage,
    home: &Path,
    env: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut base = BTreeMap::from([
        (
            String::from("PATH"),
            format!("{PROCESS_DIR}:{LIFECYCLE_DIR}:{DEFAULT_PATH}"),
        ),
        (String::from("HOME"), home.to_string_lossy().into_owned()),
        (
            String::from("CNB_LAYERS_DIR"),
            image.layers_dir.to_string_lossy().into_owned(),
        ),
        (
            String::from("CNB_APP_DIR"),
            image.app_dir.to_string_lossy().into_owned(),
        ),
        (String::from("CNB_PLATFORM_API"), String::from("0.13")),
        (String::from("CNB_DEPRECATION_MODE"), String::from("quiet")),
    ]);
    base.extend(env.iter().map(|(k, v)| (k.clone(), v.clone())));
    base
}

/// Builds the command to launch `what` in `image`, with `env` set before the launcher runs.
/// An error is the launcher's own failure (`ERROR: failed to launch: ...`, exit code
/// [`LAUNCH_ERROR_CODE`]).
pub fn launch_command(
    image: &LaunchImage,
    what: &LaunchCommand,
    env: &BTreeMap<String, String>,
    home: &Path,
) -> Result<Command, PlatformError> {
    std::fs::create_dir_all(home).map_err(|error| PlatformError::io("creating", home, &error))?;
    let base = base_env(image, home, env);
    let failed =
        |message: String| PlatformError::new(format!("ERROR: failed to launch: {message}"));
    let (argv0, args) = match what {
        LaunchCommand::NoLauncher(argv) => {
            let Some((program, program_args)) = argv.split_first() else {
                return Err(PlatformError::new("ERROR: failed to launch: empty command"));
            };
            let mut command = Command::new(program);
            command
                .args(program_args)
                .current_dir(&image.app_dir)
                .env_clear()
                .envs(&base)
                .stdin(Stdio::null());
            return Ok(command);
        }
        LaunchCommand::Launcher { argv0, args } => (argv0, args),
    };

    let start = start_command(argv0, args, &image.export.processes)
        .map_err(|error| failed(format!("determine start command: {error}")))?;
    let layers: Vec<LaunchLayer> = image
        .layer_dirs
        .iter()
        .map(|path| LaunchLayer { path: path.clone() })
        .collect();
    // The launcher changes to the app dir, then composes the env (layer env files, then
    // exec.d) for the process type (Platform spec, launcher, "Execution").
    let process_type = start.process_type.as_deref();
    let env = compose_launch_env(&base, &layers, process_type, &image.app_dir)
        .map_err(|error| failed(format!("modify env: {error}")))?;
    let working_dir = start
        .working_dir
        .as_ref()
        .map_or_else(|| image.app_dir.clone(), |dir| image.app_dir.join(dir));

    let mut command = if start.direct {
        // `launchDirect`: the program is looked up on the launch env's PATH.
        let program = &start.command[0];
        let path = env.get("PATH").cloned().unwrap_or_default();
        let binary = which::which_in(program, Some(path), &image.app_dir).map_err(|_| {
            if program.contains('/') {
                failed(format!(
                    "path lookup: exec: \"{program}\": stat {program}: no such file or directory"
                ))
            } else {
                failed(format!(
                    "path lookup: exec: \"{program}\": executable file not found in $PATH"
                ))
            }
        })?;
        let mut command = Command::new(binary);
        command
            .arg0(program)
            .args(&start.command[1..])
            .args(&start.args)
            .current_dir(&working_dir);
        command
    } else {
        let profiles = profiles(&image.layer_dirs, process_type, &image.app_dir)
            .map_err(|error| failed(format!("find profiles: {error}")))?;
        let shell_argv = bash_argv(
            &profiles,
            &working_dir,
            argv0,
            &start.command.join(" "),
            &start.args,
        );
        let mut command = Command::new("/bin/bash");
        command
            .arg0(&shell_argv[0])
            .args(&shell_argv[1..])
            .current_dir(&image.app_dir);
        command
    };
    command.env_clear().envs(&env).stdin(Stdio::null());
    Ok(command)
}

/// A launched process (and its process group), with output in log files.
#[derive(Debug)]
pub struct RunningProcess {
    child: Child,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
    status: Option<ExitStatus>,
}

impl RunningProcess {
    /// Spawns `command` in its own process group, with stdout and stderr written to
    /// `<log_dir>/stdout` and `<log_dir>/stderr`.
    pub fn spawn(mut command: Command, log_dir: &Path) -> Result<Self, PlatformError> {
        std::fs::create_dir_all(log_dir)
            .map_err(|error| PlatformError::io("creating", log_dir, &error))?;
        let stdout_path = log_dir.join("stdout");
        let stderr_path = log_dir.join("stderr");
        let stdout = File::create(&stdout_path)
            .map_err(|error| PlatformError::io("creating", &stdout_path, &error))?;
        let stderr = File::create(&stderr_path)
            .map_err(|error| PlatformError::io("creating", &stderr_path, &error))?;
        let child = command
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0)
            .spawn()
            .map_err(|error| PlatformError::new(format!("ERROR: failed to launch: {error}")))?;
        Ok(Self {
            child,
            stdout_path,
            stderr_path,
            status: None,
        })
    }

    /// The process's output so far: (stdout, stderr).
    #[must_use]
    pub fn logs(&self) -> (String, String) {
        let read = |path: &Path| {
            std::fs::read(path)
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default()
        };
        (read(&self.stdout_path), read(&self.stderr_path))
    }

    /// Whether the process has exited (and its status).
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits for the process to exit, up to `timeout`.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Some(status) = self.try_status() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Kills the process group (the process and every child it started).
    pub fn kill(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        if self.status.is_none() {
            self.status = self.child.wait().ok();
        }
    }
}

impl Drop for RunningProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(r#type: &str, default: bool) -> Process {
        Process {
            r#type: r#type.to_string(),
            command: vec![String::from("true")],
            args: Vec::new(),
            default,
            working_dir: None,
        }
    }

    fn launcher(argv0: &str, args: &[&str]) -> LaunchCommand {
        LaunchCommand::Launcher {
            argv0: argv0.to_string(),
            args: args.iter().map(|s| (*s).to_string()).collect(),
        }
    }

    #[test]
    fn interprets_docker_run_like_a_cnb_image() {
        let cmd = |items: &[&str]| items.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        let with_default = [process("web", true), process("worker", false)];
        let without_default = [process("web", false)];
        // The image's entrypoint: the default process, else the launcher.
        assert_eq!(
            LaunchCommand::from_docker(None, Some(&cmd(&["a", "b"])), &with_default),
            launcher("/cnb/process/web", &["a", "b"])
        );
        assert_eq!(
            LaunchCommand::from_docker(None, Some(&cmd(&["python -V"])), &without_default),
            launcher("/cnb/lifecycle/launcher", &["python -V"])
        );
        // Entrypoints found on the image's PATH, started with argv[0] as given.
        assert_eq!(
            LaunchCommand::from_docker(Some("worker"), None, &with_default),
            launcher("worker", &[])
        );
        assert_eq!(
            LaunchCommand::from_docker(Some("launcher"), Some(&cmd(&["worker"])), &with_default),
            launcher("launcher", &["worker"])
        );
        assert_eq!(
            LaunchCommand::from_docker(Some("/cnb/process/worker"), None, &with_default),
            launcher("/cnb/process/worker", &[])
        );
        // Anything else runs without the launcher.
        assert_eq!(
            LaunchCommand::from_docker(Some("bash"), Some(&cmd(&["-c", "env"])), &with_default),
            LaunchCommand::NoLauncher(cmd(&["bash", "-c", "env"]))
        );
        assert_eq!(
            LaunchCommand::from_docker(Some("/cnb/process/other"), None, &with_default),
            LaunchCommand::NoLauncher(cmd(&["/cnb/process/other"]))
        );
    }
}

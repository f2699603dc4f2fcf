//! The launcher: runs a shell command, a user command or a `launch.toml` process in the
//! materialised image, with the launch env composed from the launch layers.

use crate::PlatformError;
use crate::launch_env::{LaunchLayer, compose_launch_env, process_command};
use crate::platform::{DEFAULT_PATH, LaunchImage};
use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// What to launch, as the CNB launcher interprets its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchCommand {
    /// `launcher '<script>'`: a single user-provided command, run with `bash -c`.
    Shell(String),
    /// A `launch.toml` process (`None`: the default process: `default = true`, else `web`).
    /// `args`, if given, replace the process's `args` (Buildpack API 0.9+).
    Process {
        process_type: Option<String>,
        args: Option<Vec<String>>,
    },
    /// `launcher <command> <args>...`: a user-provided command run directly.
    Direct(Vec<String>),
    /// A command run without the launcher (a Docker entrypoint that is not the launcher or a
    /// process): only the image's base env, no layer env.
    NoLauncher(Vec<String>),
}

impl LaunchCommand {
    /// Interprets a container's entrypoint and command as `docker run` on a CNB image does:
    /// no entrypoint runs the default process (the command replaces its args); `launcher`
    /// runs a process type, a single shell command, or a direct command; a process type (or
    /// `/cnb/process/<type>`) runs that process; anything else runs without the launcher.
    #[must_use]
    pub fn from_docker(
        entrypoint: Option<&str>,
        command: Option<&[String]>,
        process_types: &[String],
    ) -> Self {
        let args = command.map(<[String]>::to_vec);
        match entrypoint {
            None => Self::Process {
                process_type: None,
                args,
            },
            Some("launcher" | "/cnb/lifecycle/launcher") => {
                let args = args.unwrap_or_default();
                match args.as_slice() {
                    [] => Self::Process {
                        process_type: None,
                        args: None,
                    },
                    [first, rest @ ..] if process_types.contains(first) => Self::Process {
                        process_type: Some(first.clone()),
                        args: (!rest.is_empty()).then(|| rest.to_vec()),
                    },
                    [single] => Self::Shell(single.clone()),
                    _ => Self::Direct(args),
                }
            }
            Some(entrypoint) => {
                let process_type = entrypoint
                    .strip_prefix("/cnb/process/")
                    .unwrap_or(entrypoint);
                if process_types.iter().any(|known| known == process_type) {
                    Self::Process {
                        process_type: Some(process_type.to_string()),
                        args,
                    }
                } else {
                    let mut program_and_args = vec![entrypoint.to_string()];
                    program_and_args.extend(args.unwrap_or_default());
                    Self::NoLauncher(program_and_args)
                }
            }
        }
    }
}

/// The image's base env at launch (the run image's config plus what the exporter sets), then
/// `env` (like `docker run -e`).
fn base_env(
    image: &LaunchImage,
    home: &Path,
    env: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut base = BTreeMap::from([
        (String::from("PATH"), String::from(DEFAULT_PATH)),
        (String::from("HOME"), home.to_string_lossy().into_owned()),
        (
            String::from("CNB_LAYERS_DIR"),
            image.layers_dir.to_string_lossy().into_owned(),
        ),
        (
            String::from("CNB_APP_DIR"),
            image.app_dir.to_string_lossy().into_owned(),
        ),
    ]);
    base.extend(env.iter().map(|(k, v)| (k.clone(), v.clone())));
    base
}

/// Builds the command to launch `what` in `image`, with `env` set before the launcher runs.
pub fn launch_command(
    image: &LaunchImage,
    what: &LaunchCommand,
    env: &BTreeMap<String, String>,
    home: &Path,
) -> Result<Command, PlatformError> {
    std::fs::create_dir_all(home).map_err(|error| PlatformError::io("creating", home, &error))?;
    let base = base_env(image, home, env);
    let layers: Vec<LaunchLayer> = image
        .layer_dirs
        .iter()
        .map(|path| LaunchLayer { path: path.clone() })
        .collect();
    let compose = |process_type: Option<&str>| {
        compose_launch_env(&base, &layers, process_type, &image.app_dir)
            .map_err(|error| PlatformError::new(format!("ERROR: failed to launch: {error}")))
    };

    let (argv, env, cwd): (Vec<String>, BTreeMap<String, String>, PathBuf) = match what {
        LaunchCommand::Shell(script) => (
            vec![
                String::from("/bin/bash"),
                String::from("-c"),
                script.clone(),
            ],
            compose(None)?,
            image.app_dir.clone(),
        ),
        LaunchCommand::Direct(argv) => (argv.clone(), compose(None)?, image.app_dir.clone()),
        LaunchCommand::NoLauncher(argv) => (argv.clone(), base.clone(), image.app_dir.clone()),
        LaunchCommand::Process { process_type, args } => {
            let process = match process_type {
                Some(process_type) => image
                    .export
                    .processes
                    .iter()
                    .find(|process| &process.r#type == process_type)
                    .ok_or_else(|| {
                        PlatformError::new(format!(
                            "ERROR: failed to launch: determine start command: process type {process_type} was not found"
                        ))
                    })?,
                None => image.export.default_process().ok_or_else(|| {
                    PlatformError::new(
                        "ERROR: failed to launch: determine start command: when there is no default process a command is required",
                    )
                })?,
            };
            let argv = process_command(
                &process.command,
                &process.args,
                args.as_deref().unwrap_or_default(),
            );
            let cwd = process
                .working_dir
                .as_ref()
                .map_or_else(|| image.app_dir.clone(), |dir| image.app_dir.join(dir));
            (argv, compose(Some(&process.r#type))?, cwd)
        }
    };
    let Some((program, program_args)) = argv.split_first() else {
        return Err(PlatformError::new("ERROR: failed to launch: empty command"));
    };
    let mut command = Command::new(program);
    command
        .args(program_args)
        .current_dir(cwd)
        .env_clear()
        .envs(&env)
        .stdin(Stdio::null());
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

    fn types() -> Vec<String> {
        vec![String::from("web"), String::from("worker")]
    }

    #[test]
    fn interprets_docker_entrypoints_like_a_cnb_image() {
        let cmd = |items: &[&str]| items.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        assert_eq!(
            LaunchCommand::from_docker(None, None, &types()),
            LaunchCommand::Process {
                process_type: None,
                args: None
            }
        );
        assert_eq!(
            LaunchCommand::from_docker(Some("launcher"), Some(&cmd(&["echo $PATH"])), &types()),
            LaunchCommand::Shell(String::from("echo $PATH"))
        );
        assert_eq!(
            LaunchCommand::from_docker(
                Some("launcher"),
                Some(&cmd(&["worker", "--fast"])),
                &types()
            ),
            LaunchCommand::Process {
                process_type: Some(String::from("worker")),
                args: Some(cmd(&["--fast"]))
            }
        );
        assert_eq!(
            LaunchCommand::from_docker(Some("launcher"), Some(&cmd(&["python", "-V"])), &types()),
            LaunchCommand::Direct(cmd(&["python", "-V"]))
        );
        assert_eq!(
            LaunchCommand::from_docker(Some("/cnb/process/worker"), None, &types()),
            LaunchCommand::Process {
                process_type: Some(String::from("worker")),
                args: None
            }
        );
        assert_eq!(
            LaunchCommand::from_docker(Some("bash"), Some(&cmd(&["-c", "env"])), &types()),
            LaunchCommand::NoLauncher(cmd(&["bash", "-c", "env"]))
        );
    }
}

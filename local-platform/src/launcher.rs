//! The lifecycle's `launcher`: which process a container starts, and how (directly, or through
//! bash with the profile scripts sourced).
//!
//! The rules are the Platform spec's ("launcher", Platform API 0.13) as the lifecycle implements
//! them (`cmd/launcher/cli/launcher.go`, `launch/process.go`, `launch/shell.go`,
//! `launch/bash.go`), for processes of Buildpack API 0.10 buildpacks.

use crate::launch_env::{LaunchEnvError, files_in};
use crate::layers::Process;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Where the launcher is in a CNB image.
pub(crate) const LAUNCHER_PATH: &str = "/cnb/lifecycle/launcher";
/// Where the exporter puts a symlink to the launcher per process type.
pub(crate) const PROCESS_DIR: &str = "/cnb/process";
/// Where the lifecycle's binaries are in a CNB image.
pub(crate) const LIFECYCLE_DIR: &str = "/cnb/lifecycle";

/// What the launcher decided to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StartCommand {
    /// The buildpack-provided process type, or `None` for a user-provided command.
    pub(crate) process_type: Option<String>,
    /// The command: for a direct process the program (and, before the user args, its
    /// always-provided arguments); for a shell process the tokens joined into one string.
    pub(crate) command: Vec<String>,
    pub(crate) args: Vec<String>,
    /// Executed directly, else through bash.
    pub(crate) direct: bool,
    /// The process's `working-dir` (relative to the app dir, or absolute), if it has one.
    pub(crate) working_dir: Option<String>,
}

/// Derives the start command from the launcher's `$0` and arguments.
///
/// Platform spec, launcher: "**If** the final path element in `$0`, matches the type of any
/// buildpack-provided process type", that process starts (the entrypoint `/cnb/process/<type>`
/// is a symlink to the launcher, and `docker run --entrypoint <type>` finds it on the image's
/// `PATH`), `<direct>` is `true` for a buildpack that supports default process args (API 0.9+)
/// and the user-provided args "MUST replace any buildpack provided default `<args>`". Since
/// Platform API 0.10 the lifecycle always passes the entries of `command` after the first one
/// (`launch/process.go`, `handleUserArgs`). **Else** the arguments are a user-provided
/// command: "If `$1` is `--`", `<direct>` is `true` and `<cmd>` is `$2`; otherwise `<direct>` is
/// `false` (bash) and `<cmd>` is `$1`. With neither a process type nor a command, the lifecycle
/// fails: "when there is no default process a command is required". `CNB_PROCESS_TYPE` is not
/// read (unsupported since Platform API 0.6).
pub(crate) fn start_command(
    argv0: &str,
    args: &[String],
    processes: &[Process],
) -> Result<StartCommand, String> {
    let name = argv0.rsplit('/').next().unwrap_or(argv0);
    if let Some(process) = processes.iter().find(|process| process.r#type == name) {
        let (program, fixed) = process.command.split_first().ok_or_else(|| {
            format!(
                "no command provided for process type \"{}\"",
                process.r#type
            )
        })?;
        let overridable = if args.is_empty() { &process.args } else { args };
        return Ok(StartCommand {
            process_type: Some(process.r#type.clone()),
            command: vec![program.clone()],
            args: fixed.iter().chain(overridable).cloned().collect(),
            direct: true,
            working_dir: process.working_dir.clone(),
        });
    }
    match args {
        [] => Err(String::from(
            "when there is no default process a command is required",
        )),
        [dashes, program, rest @ ..] if dashes == "--" => Ok(StartCommand {
            process_type: None,
            command: vec![program.clone()],
            args: rest.to_vec(),
            direct: true,
            working_dir: None,
        }),
        [program, rest @ ..] => Ok(StartCommand {
            process_type: None,
            command: vec![program.clone()],
            args: rest.to_vec(),
            direct: false,
            working_dir: None,
        }),
    }
}

/// The scripts a bash process sources, in order (Platform spec, launcher, "Execution": "source
/// each file in each `<layers>/<layer>/profile.d` directory", then of
/// `<layers>/<layer>/profile.d/<process>`, then "`<app>/.profile` if it is present").
///
/// As the lifecycle does (`launch/shell.go`), layer by layer (in launcher order) its
/// `profile.d/` files then its `profile.d/<type>/` files (sub-directories skipped, names in byte
/// order), then `.profile` (a path relative to the app dir, the launcher's working dir) unless it
/// is missing or a directory.
pub(crate) fn profiles(
    layer_dirs: &[PathBuf],
    process_type: Option<&str>,
    app_dir: &Path,
) -> Result<Vec<String>, LaunchEnvError> {
    let mut profiles = Vec::new();
    for layer in layer_dirs {
        let profile_d = layer.join("profile.d");
        let mut files = files_in(&profile_d)?;
        if let Some(process_type) = process_type {
            files.extend(files_in(&profile_d.join(process_type))?);
        }
        profiles.extend(
            files
                .into_iter()
                .map(|path| path.to_string_lossy().into_owned()),
        );
    }
    if app_dir
        .join(".profile")
        .metadata()
        .is_ok_and(|metadata| !metadata.is_dir())
    {
        profiles.push(String::from(".profile"));
    }
    Ok(profiles)
}

/// The argv of the bash that runs a shell process, as the lifecycle's `BashShell` builds it
/// (`launch/bash.go`): one bash that sources every profile script, changes to the working
/// dir, then replaces itself with a nested bash. Without args, the command is a script
/// (`bash -c <command>`); with args, each token (the command, then each arg) is expanded by
/// the shell (`"$(eval echo \"$0\")" ...`), so `$VAR` in any of them is the launch env's.
/// `caller` (the launcher's `$0`) is the profile scripts' `$0`.
pub(crate) fn bash_argv(
    profiles: &[String],
    working_dir: &Path,
    caller: &str,
    command: &str,
    args: &[String],
) -> Vec<String> {
    let sources = profiles.iter().fold(String::new(), |mut sources, profile| {
        let _ = writeln!(sources, "source \"{profile}\"");
        sources
    });
    let exec = if args.is_empty() {
        String::from(r#"exec bash -c "$@""#)
    } else {
        let tokens: Vec<String> = std::iter::once(String::from(r#""$(eval echo \"$0\")""#))
            .chain((1..=args.len()).map(|index| format!(r#""$(eval echo \"${{{index}}}\")""#)))
            .collect();
        format!(r#"exec bash -c '{}' "${{@:1}}""#, tokens.join(" "))
    };
    let script = format!("{sources}cd \"{}\"\n{exec}", working_dir.display());
    [String::from("bash"), String::from("-c"), script]
        .into_iter()
        .chain([caller.to_string(), command.to_string()])
        .chain(args.iter().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_string()).collect()
    }

    fn processes() -> Vec<Process> {
        vec![
            Process {
                r#type: String::from("web"),
                command: strings(&["bash", "-c"]),
                args: strings(&["gunicorn app:app"]),
                default: true,
                working_dir: None,
            },
            Process {
                r#type: String::from("worker"),
                command: strings(&["celery"]),
                args: strings(&["worker"]),
                default: false,
                working_dir: Some(String::from("src")),
            },
        ]
    }

    fn start(argv0: &str, args: &[&str]) -> Result<StartCommand, String> {
        start_command(argv0, &strings(args), &processes())
    }

    #[test]
    fn a_process_type_comes_from_the_final_element_of_argv0() {
        let web = start("/cnb/process/web", &[]).unwrap();
        assert_eq!(
            web,
            StartCommand {
                process_type: Some(String::from("web")),
                command: strings(&["bash"]),
                args: strings(&["-c", "gunicorn app:app"]),
                direct: true,
                working_dir: None,
            }
        );
        // `docker run --entrypoint worker`: found on the image's PATH in /cnb/process.
        assert_eq!(
            start("worker", &[]).unwrap().working_dir.as_deref(),
            Some("src")
        );
    }

    #[test]
    fn user_args_replace_the_args_but_not_the_commands_own_entries() {
        assert_eq!(
            start("/cnb/process/web", &["python manage.py migrate"])
                .unwrap()
                .args,
            strings(&["-c", "python manage.py migrate"])
        );
        let worker = start("/cnb/process/worker", &["beat", "-l", "info"]).unwrap();
        assert_eq!(
            (worker.command, worker.args),
            (strings(&["celery"]), strings(&["beat", "-l", "info"]))
        );
    }

    #[test]
    fn the_launcher_takes_its_arguments_as_a_user_command_never_as_a_process_type() {
        // `launcher worker --fast` runs a command named `worker`, through bash.
        assert_eq!(
            start("/cnb/lifecycle/launcher", &["worker", "--fast"]).unwrap(),
            StartCommand {
                process_type: None,
                command: strings(&["worker"]),
                args: strings(&["--fast"]),
                direct: false,
                working_dir: None,
            }
        );
        assert!(!start("launcher", &["echo $PATH"]).unwrap().direct);
    }

    #[test]
    fn double_dash_runs_the_command_directly() {
        assert_eq!(
            start("launcher", &["--", "python", "-V"]).unwrap(),
            StartCommand {
                process_type: None,
                command: strings(&["python"]),
                args: strings(&["-V"]),
                direct: true,
                working_dir: None,
            }
        );
        // A lone `--` is a command (run through bash), as in the lifecycle.
        assert!(!start("launcher", &["--"]).unwrap().direct);
    }

    #[test]
    fn without_a_process_type_a_command_is_required() {
        assert_eq!(
            start("/cnb/lifecycle/launcher", &[]).unwrap_err(),
            "when there is no default process a command is required"
        );
    }

    #[test]
    fn bash_sources_the_profiles_then_execs_the_command() {
        let argv = bash_argv(
            &strings(&["/layers/bp/a/profile.d/x.sh", ".profile"]),
            Path::new("/workspace"),
            "launcher",
            "echo $HOME",
            &[],
        );
        assert_eq!(
            argv,
            strings(&[
                "bash",
                "-c",
                "source \"/layers/bp/a/profile.d/x.sh\"\nsource \".profile\"\ncd \"/workspace\"\nexec bash -c \"$@\"",
                "launcher",
                "echo $HOME",
            ])
        );
        let argv = bash_argv(
            &[],
            Path::new("/w"),
            "launcher",
            "python",
            &strings(&["-V"]),
        );
        assert_eq!(
            argv[2],
            "cd \"/w\"\nexec bash -c '\"$(eval echo \\\"$0\\\")\" \"$(eval echo \\\"${1}\\\")\"' \"${@:1}\""
        );
        assert_eq!(argv[3..], strings(&["launcher", "python", "-V"]));
    }
}

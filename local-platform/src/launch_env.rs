//! The environment of a launched process, composed the way the CNB launcher composes it.
//!
//! The rules come from the Buildpack API 0.10 spec ("Launch" and "Environment") and, where the
//! spec leaves room, from what the lifecycle's launcher actually does, since that is what users
//! of `pack build` and Heroku's builders get:
//!
//! 1. Start from the base environment minus `CNB_LAYERS_DIR`, `CNB_APP_DIR`,
//!    `CNB_PROCESS_TYPE`, `CNB_PLATFORM_API` and `CNB_DEPRECATION_MODE`, and with `/cnb/process`
//!    and `/cnb/lifecycle` taken out of `PATH` (the launcher drops these before composing:
//!    lifecycle `env/launch.go`, `NewLaunchEnv`).
//! 2. For each buildpack (a run of consecutive layers sharing a parent directory), in order:
//!    - for each of its layers: `<layer>/bin` is prepended to `PATH` and `<layer>/lib` to
//!      `LD_LIBRARY_PATH` (`:`-separated, only when the directory exists);
//!    - then, for each of its layers: the env files of `<layer>/env/`, then
//!      `<layer>/env.launch/`, then `<layer>/env.launch/<process-type>/`.
//!
//!    So all of a buildpack's `bin`/`lib` directories are added before any of its env files is
//!    read (an `env/PATH.override` in one layer wins over another layer's `bin/`), and a later
//!    layer's prepends end up in front of an earlier layer's.
//! 3. Then, for each layer in order, every file of `<layer>/exec.d/`, then of
//!    `<layer>/exec.d/<process-type>/` (sorted by name) is run with the environment composed so
//!    far, working directory `<app>`, and file descriptor 3 open for writing; the TOML table of
//!    strings it writes there overrides the environment. Its stdout and stderr are inherited.
//!
//! Env files (one directory at a time, files in byte order of their names, sub-directories
//! skipped): the variable name is the file name up to the first `.`, the suffix after it picks the
//! action. `override` and no suffix set the value; `default` sets it only when the variable is
//! unset or empty; `prepend` / `append` join with the contents of `<NAME>.delim` *from the same
//! directory* (no delimiter file: plain concatenation; no delimiter either when the current value
//! is empty); any other suffix (including `delim` itself) is not an action. File contents are used
//! verbatim: a trailing newline stays part of the value.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use command_fds::{CommandFdExt, FdMapping};

/// A launch layer directory, e.g. `<layers>/<escaped buildpack id>/<layer name>`.
///
/// Give layers in launcher order: buildpack group order, then layer name alphabetically within a
/// buildpack. Consecutive layers with the same parent directory are treated as one buildpack's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaunchLayer {
    pub path: PathBuf,
}

/// Why the launch environment could not be composed.
#[derive(Debug)]
pub enum LaunchEnvError {
    /// A layer directory (`env/`, `exec.d/`, ...) exists but could not be listed.
    ReadDir { path: PathBuf, source: io::Error },
    /// An env file could not be read.
    ReadFile { path: PathBuf, source: io::Error },
    /// An env file name or value is not valid UTF-8.
    NotUtf8 { path: PathBuf },
    /// The pipe for an exec.d program's file descriptor 3 could not be set up.
    ExecDPipe { program: PathBuf, source: io::Error },
    /// An exec.d program could not be started (missing, not executable, bad interpreter...).
    ExecDSpawn { program: PathBuf, source: io::Error },
    /// An exec.d program exited unsuccessfully.
    ExecDFailed {
        program: PathBuf,
        status: ExitStatus,
    },
    /// What an exec.d program wrote to file descriptor 3 is not a TOML table of strings.
    ExecDInvalidOutput { program: PathBuf, message: String },
}

impl fmt::Display for LaunchEnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReadDir { path, source } => {
                write!(
                    f,
                    "Could not list the directory {}: {source}",
                    path.display()
                )
            }
            Self::ReadFile { path, source } => {
                write!(
                    f,
                    "Could not read the env file {}: {source}",
                    path.display()
                )
            }
            Self::NotUtf8 { path } => write!(
                f,
                "The env file {} has a name or contents that are not valid UTF-8.",
                path.display()
            ),
            Self::ExecDPipe { program, source } => write!(
                f,
                "Could not open file descriptor 3 for the exec.d program {}: {source}",
                program.display()
            ),
            Self::ExecDSpawn { program, source } => write!(
                f,
                "Could not run the exec.d program {}: {source}",
                program.display()
            ),
            Self::ExecDFailed { program, status } => {
                write!(f, "The exec.d program {} failed: ", program.display())?;
                match (status.code(), status.signal()) {
                    (Some(code), _) => write!(f, "it exited with status {code}."),
                    (None, Some(signal)) => write!(f, "it was killed by signal {signal}."),
                    (None, None) => write!(f, "{status}."),
                }
            }
            Self::ExecDInvalidOutput { program, message } => write!(
                f,
                "The exec.d program {} wrote invalid output to file descriptor 3. It must be \
                 TOML with one `NAME = \"value\"` line per variable (string values only): {}",
                program.display(),
                message.trim_end()
            ),
        }
    }
}

impl std::error::Error for LaunchEnvError {}

/// Variables the launcher removes from its own environment before composing the launch env.
const EXCLUDED_BASE_VARS: [&str; 5] = [
    "CNB_LAYERS_DIR",
    "CNB_APP_DIR",
    "CNB_PROCESS_TYPE",
    "CNB_PLATFORM_API",
    "CNB_DEPRECATION_MODE",
];

/// `PATH` entries the launcher removes: where the image's process symlinks and lifecycle are.
const EXCLUDED_PATH_DIRS: [&str; 2] = ["/cnb/process", "/cnb/lifecycle"];

/// Composes the environment of a process launched from the given layers (see the module docs
/// for the exact rules), running exec.d programs with `app_dir` as working directory.
///
/// `process_type` is the launched `launch.toml` process type, or `None` for a user-provided
/// command (then no `env.launch/<type>/` or `exec.d/<type>/` directory applies).
pub fn compose_launch_env(
    base: &BTreeMap<String, String>,
    layers: &[LaunchLayer],
    process_type: Option<&str>,
    app_dir: &Path,
) -> Result<BTreeMap<String, String>, LaunchEnvError> {
    let mut env: BTreeMap<String, String> = base
        .iter()
        .filter(|(name, _)| !EXCLUDED_BASE_VARS.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    if let Some(path) = env.get_mut("PATH") {
        *path = path
            .split(':')
            .filter(|dir| !EXCLUDED_PATH_DIRS.contains(dir))
            .collect::<Vec<_>>()
            .join(":");
    }

    for buildpack_layers in layers.chunk_by(|a, b| a.path.parent() == b.path.parent()) {
        for layer in buildpack_layers {
            add_root_dir(&mut env, &layer.path, "bin", "PATH");
            add_root_dir(&mut env, &layer.path, "lib", "LD_LIBRARY_PATH");
        }
        for layer in buildpack_layers {
            apply_env_dir(&mut env, &layer.path.join("env"))?;
            let launch_dir = layer.path.join("env.launch");
            apply_env_dir(&mut env, &launch_dir)?;
            if let Some(process_type) = process_type {
                apply_env_dir(&mut env, &launch_dir.join(process_type))?;
            }
        }
    }

    for layer in layers {
        let exec_d = layer.path.join("exec.d");
        let mut programs = files_in(&exec_d)?;
        if let Some(process_type) = process_type {
            programs.extend(files_in(&exec_d.join(process_type))?);
        }
        for program in programs {
            run_exec_d(&program, &mut env, app_dir)?;
        }
    }

    Ok(env)
}

fn add_root_dir(env: &mut BTreeMap<String, String>, layer: &Path, dir: &str, var: &str) {
    let path = std::path::absolute(layer.join(dir)).unwrap_or_else(|_| layer.join(dir));
    if !path.exists() {
        return;
    }
    let path = path.to_string_lossy().into_owned();
    let value = match env.get(var) {
        Some(current) if !current.is_empty() => format!("{path}:{current}"),
        _ => path,
    };
    env.insert(var.to_string(), value);
}

fn apply_env_dir(env: &mut BTreeMap<String, String>, dir: &Path) -> Result<(), LaunchEnvError> {
    for path in files_in(dir)? {
        let file_name = path
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| LaunchEnvError::NotUtf8 { path: path.clone() })?;
        let (name, action) = file_name.split_once('.').unwrap_or((file_name, "override"));
        if name.is_empty() {
            continue;
        }
        let value = read_env_file(&path)?;
        let current = env.get(name).map(String::as_str).unwrap_or_default();
        let new_value = match action {
            "override" => value,
            "default" if current.is_empty() => value,
            "prepend" => join(&value, &delimiter(dir, name)?, current),
            "append" => join(current, &delimiter(dir, name)?, &value),
            _ => continue,
        };
        env.insert(name.to_string(), new_value);
    }
    Ok(())
}

/// `first` + `delimiter` + `second`, leaving out the delimiter when either side is empty the way
/// the launcher does (it only adds one next to a non-empty current value).
fn join(first: &str, delimiter: &str, second: &str) -> String {
    if first.is_empty() {
        second.to_string()
    } else if second.is_empty() {
        first.to_string()
    } else {
        format!("{first}{delimiter}{second}")
    }
}

fn delimiter(dir: &Path, name: &str) -> Result<String, LaunchEnvError> {
    let path = dir.join(format!("{name}.delim"));
    match fs::read(&path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| LaunchEnvError::NotUtf8 { path }),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(LaunchEnvError::ReadFile { path, source }),
    }
}

fn read_env_file(path: &Path) -> Result<String, LaunchEnvError> {
    let bytes = fs::read(path).map_err(|source| LaunchEnvError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|_| LaunchEnvError::NotUtf8 {
        path: path.to_path_buf(),
    })
}

/// The non-directory entries of `dir` (symlinks are not followed to decide), sorted by name;
/// nothing when `dir` does not exist.
pub(crate) fn files_in(dir: &Path) -> Result<Vec<PathBuf>, LaunchEnvError> {
    let read_dir_error = |source| LaunchEnvError::ReadDir {
        path: dir.to_path_buf(),
        source,
    };
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(read_dir_error(source)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(read_dir_error)?;
        if !entry.file_type().map_err(read_dir_error)?.is_dir() {
            files.push(entry.path());
        }
    }
    files.sort_by(|a, b| {
        a.as_os_str()
            .as_encoded_bytes()
            .cmp(b.as_os_str().as_encoded_bytes())
    });
    Ok(files)
}

fn run_exec_d(
    program: &Path,
    env: &mut BTreeMap<String, String>,
    app_dir: &Path,
) -> Result<(), LaunchEnvError> {
    let pipe_error = |source| LaunchEnvError::ExecDPipe {
        program: program.to_path_buf(),
        source,
    };
    let (mut reader, writer) = io::pipe().map_err(pipe_error)?;

    let mut command = Command::new(program);
    command
        .env_clear()
        .envs(env.iter())
        .current_dir(app_dir)
        .stdin(Stdio::null());
    command
        .fd_mappings(vec![FdMapping {
            parent_fd: writer.into(),
            child_fd: 3,
        }])
        .map_err(|_| pipe_error(io::Error::other("file descriptor 3 is already mapped")))?;
    let spawned = command.spawn();
    // The command holds our copy of the pipe's write end: drop it so reading ends when the
    // program (and anything it left running with fd 3) closes its copy.
    drop(command);
    let mut child = spawned.map_err(|source| LaunchEnvError::ExecDSpawn {
        program: program.to_path_buf(),
        source,
    })?;

    let mut output = Vec::new();
    let read_result = reader.read_to_end(&mut output);
    let status = child.wait().map_err(|source| LaunchEnvError::ExecDSpawn {
        program: program.to_path_buf(),
        source,
    })?;
    if !status.success() {
        return Err(LaunchEnvError::ExecDFailed {
            program: program.to_path_buf(),
            status,
        });
    }
    read_result.map_err(pipe_error)?;

    let invalid = |message: String| LaunchEnvError::ExecDInvalidOutput {
        program: program.to_path_buf(),
        message,
    };
    let output = String::from_utf8(output).map_err(|_| invalid("not valid UTF-8".to_string()))?;
    let vars: BTreeMap<String, String> =
        toml::from_str(&output).map_err(|error| invalid(error.to_string()))?;
    env.extend(vars);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use tempfile::TempDir;

    fn write(path: &Path, contents: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    fn write_script(path: &Path, body: &str) {
        write(path, &format!("#!/bin/sh\n{body}\n"));
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    /// A layers dir with one buildpack dir: `<tmp>/layers/bp/<name>` for each name.
    struct Fixture {
        tmp: TempDir,
    }

    impl Fixture {
        fn new() -> Self {
            let tmp = TempDir::new().unwrap();
            fs::create_dir_all(tmp.path().join("app")).unwrap();
            Self { tmp }
        }

        fn layer(&self, buildpack: &str, name: &str) -> PathBuf {
            let path = self.tmp.path().join("layers").join(buildpack).join(name);
            fs::create_dir_all(&path).unwrap();
            path
        }

        fn app(&self) -> PathBuf {
            self.tmp.path().join("app")
        }

        fn compose(
            &self,
            base: &[(&str, &str)],
            layers: &[&Path],
            process_type: Option<&str>,
        ) -> Result<BTreeMap<String, String>, LaunchEnvError> {
            let layers: Vec<LaunchLayer> = layers
                .iter()
                .map(|path| LaunchLayer {
                    path: path.to_path_buf(),
                })
                .collect();
            compose_launch_env(&vars(base), &layers, process_type, &self.app())
        }
    }

    fn get<'a>(env: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
        env.get(name).map(String::as_str)
    }

    #[test]
    fn bin_and_lib_are_prepended_only_when_they_exist() {
        let f = Fixture::new();
        let with_both = f.layer("bp", "a");
        fs::create_dir(with_both.join("bin")).unwrap();
        fs::create_dir(with_both.join("lib")).unwrap();
        let with_nothing = f.layer("bp", "b");

        let env = f
            .compose(
                &[("PATH", "/usr/bin:/bin")],
                &[&with_both, &with_nothing],
                None,
            )
            .unwrap();
        assert_eq!(
            get(&env, "PATH").unwrap(),
            format!("{}/bin:/usr/bin:/bin", with_both.display())
        );
        // No separator when the variable was unset.
        assert_eq!(
            get(&env, "LD_LIBRARY_PATH").unwrap(),
            format!("{}/lib", with_both.display())
        );

        let env = f
            .compose(&[("PATH", "/usr/bin")], &[&with_nothing], None)
            .unwrap();
        assert_eq!(env, vars(&[("PATH", "/usr/bin")]));

        // Set but empty: no separator either.
        let env = f
            .compose(&[("LD_LIBRARY_PATH", "")], &[&with_both], None)
            .unwrap();
        assert_eq!(
            get(&env, "LD_LIBRARY_PATH").unwrap(),
            format!("{}/lib", with_both.display())
        );
    }

    #[test]
    fn override_and_no_suffix_replace_the_value() {
        let f = Fixture::new();
        let layer = f.layer("bp", "a");
        write(&layer.join("env/OVERRIDDEN.override"), "new");
        write(&layer.join("env/PLAIN"), "plain");
        let env = f
            .compose(&[("OVERRIDDEN", "old"), ("PLAIN", "old")], &[&layer], None)
            .unwrap();
        assert_eq!(env, vars(&[("OVERRIDDEN", "new"), ("PLAIN", "plain")]));
    }

    #[test]
    fn contents_are_used_verbatim() {
        let f = Fixture::new();
        let layer = f.layer("bp", "a");
        write(&layer.join("env/WITH_NEWLINE.override"), " spaced value\n");
        let env = f.compose(&[], &[&layer], None).unwrap();
        assert_eq!(get(&env, "WITH_NEWLINE"), Some(" spaced value\n"));
    }

    #[test]
    fn default_only_fills_unset_or_empty_variables() {
        let f = Fixture::new();
        let layer = f.layer("bp", "a");
        write(&layer.join("env/SET.default"), "default");
        write(&layer.join("env/EMPTY.default"), "default");
        write(&layer.join("env/UNSET.default"), "default");
        let env = f
            .compose(&[("SET", "user"), ("EMPTY", "")], &[&layer], None)
            .unwrap();
        assert_eq!(
            env,
            vars(&[("SET", "user"), ("EMPTY", "default"), ("UNSET", "default")])
        );
    }

    #[test]
    fn prepend_and_append_use_the_delimiter_of_the_same_directory() {
        let f = Fixture::new();
        let layer = f.layer("bp", "a");
        write(&layer.join("env/P.prepend"), "new");
        write(&layer.join("env/P.delim"), ":");
        write(&layer.join("env/A.append"), "new");
        write(&layer.join("env/A.delim"), " ");
        write(&layer.join("env/NODELIM.prepend"), "new");
        write(&layer.join("env/FRESH.append"), "new");
        write(&layer.join("env/FRESH.delim"), ":");
        let env = f
            .compose(
                &[("P", "old"), ("A", "old"), ("NODELIM", "old")],
                &[&layer],
                None,
            )
            .unwrap();
        assert_eq!(
            env,
            vars(&[
                ("P", "new:old"),
                ("A", "old new"),
                // No delimiter file: plain concatenation.
                ("NODELIM", "newold"),
                // Nothing to join with: no delimiter.
                ("FRESH", "new"),
            ])
        );
    }

    #[test]
    fn files_for_one_variable_apply_in_file_name_order() {
        // FOO, FOO.append, FOO.default, FOO.delim, FOO.override, FOO.prepend: the launcher walks
        // the directory in name order, so the override wipes out the append before it and the
        // prepend applies on top of the override.
        let f = Fixture::new();
        let layer = f.layer("bp", "a");
        write(&layer.join("env/FOO.append"), "appended");
        write(&layer.join("env/FOO.delim"), ",");
        write(&layer.join("env/FOO.override"), "overridden");
        write(&layer.join("env/FOO.prepend"), "prepended");
        write(&layer.join("env/BAR"), "plain");
        write(&layer.join("env/BAR.append"), "appended");
        write(&layer.join("env/BAR.delim"), ",");
        let env = f.compose(&[("FOO", "base")], &[&layer], None).unwrap();
        assert_eq!(
            env,
            vars(&[("FOO", "prepended,overridden"), ("BAR", "plain,appended")])
        );
    }

    #[test]
    fn unknown_suffixes_and_directories_are_not_env_files() {
        let f = Fixture::new();
        let layer = f.layer("bp", "a");
        write(&layer.join("env/FOO.txt"), "ignored");
        write(&layer.join("env/ONLY.delim"), ":");
        fs::create_dir_all(layer.join("env/DIR")).unwrap();
        let env = f.compose(&[], &[&layer], None).unwrap();
        assert_eq!(env, BTreeMap::new());
    }

    #[test]
    fn env_then_env_launch_then_the_process_dir() {
        let f = Fixture::new();
        let layer = f.layer("bp", "a");
        write(&layer.join("env/V.override"), "env");
        write(&layer.join("env/V.delim"), "!");
        write(&layer.join("env.launch/V.append"), "launch");
        write(&layer.join("env.launch/V.delim"), ",");
        write(&layer.join("env.launch/web/V.prepend"), "web");
        write(&layer.join("env.launch/web/V.delim"), "/");
        write(&layer.join("env.launch/worker/V.override"), "worker");
        write(&layer.join("env.build/V.override"), "build only");

        let web = f.compose(&[], &[&layer], Some("web")).unwrap();
        assert_eq!(get(&web, "V"), Some("web/env,launch"));
        let no_process = f.compose(&[], &[&layer], None).unwrap();
        assert_eq!(get(&no_process, "V"), Some("env,launch"));
        let other = f.compose(&[], &[&layer], Some("other")).unwrap();
        assert_eq!(get(&other, "V"), Some("env,launch"));
        let worker = f.compose(&[], &[&layer], Some("worker")).unwrap();
        assert_eq!(get(&worker, "V"), Some("worker"));
    }

    #[test]
    fn later_layers_prepend_in_front_of_earlier_ones() {
        let f = Fixture::new();
        let first = f.layer("bp", "a");
        let second = f.layer("bp", "b");
        for layer in [&first, &second] {
            fs::create_dir(layer.join("bin")).unwrap();
        }
        write(&first.join("env/X.prepend"), "first");
        write(&first.join("env/X.delim"), ":");
        write(&second.join("env/X.prepend"), "second");
        write(&second.join("env/X.delim"), ":");
        write(&first.join("env/O.override"), "first");
        write(&second.join("env/O.override"), "second");
        write(&first.join("env/D.default"), "first");
        write(&second.join("env/D.default"), "second");

        let env = f
            .compose(&[("PATH", "/bin")], &[&first, &second], None)
            .unwrap();
        assert_eq!(
            get(&env, "PATH").unwrap(),
            format!("{}/bin:{}/bin:/bin", second.display(), first.display())
        );
        assert_eq!(get(&env, "X"), Some("second:first"));
        assert_eq!(get(&env, "O"), Some("second"));
        assert_eq!(get(&env, "D"), Some("first"));
    }

    #[test]
    fn a_buildpacks_bin_dirs_come_before_any_of_its_env_files() {
        let f = Fixture::new();
        let overriding = f.layer("bp", "a");
        write(&overriding.join("env/PATH.override"), "/only");
        let with_bin = f.layer("bp", "b");
        fs::create_dir(with_bin.join("bin")).unwrap();

        // Same buildpack: all root dirs first, then the env files, so the override wins.
        let env = f
            .compose(&[("PATH", "/bin")], &[&overriding, &with_bin], None)
            .unwrap();
        assert_eq!(get(&env, "PATH"), Some("/only"));

        // A later buildpack's bin dir is added after the earlier buildpack's env files.
        let later_bp = f.layer("later-bp", "b");
        fs::create_dir(later_bp.join("bin")).unwrap();
        let env = f
            .compose(&[("PATH", "/bin")], &[&overriding, &later_bp], None)
            .unwrap();
        assert_eq!(
            get(&env, "PATH").unwrap(),
            format!("{}/bin:/only", later_bp.display())
        );
    }

    #[test]
    fn launcher_only_variables_are_dropped_from_the_base() {
        let f = Fixture::new();
        let env = f
            .compose(
                &[
                    ("CNB_APP_DIR", "/workspace"),
                    ("CNB_LAYERS_DIR", "/layers"),
                    ("CNB_PROCESS_TYPE", "web"),
                    ("CNB_PLATFORM_API", "0.13"),
                    ("CNB_DEPRECATION_MODE", "quiet"),
                    ("HOME", "/home/cnb"),
                    ("PATH", "/cnb/process:/cnb/lifecycle:/usr/bin:/bin"),
                ],
                &[],
                None,
            )
            .unwrap();
        assert_eq!(
            env,
            vars(&[("HOME", "/home/cnb"), ("PATH", "/usr/bin:/bin")])
        );
    }

    #[test]
    fn exec_d_output_overrides_the_env_and_sees_the_env_composed_so_far() {
        let f = Fixture::new();
        let layer = f.layer("bp", "a");
        write(&layer.join("env/FROM_FILE.override"), "file value");
        write(&layer.join("env/REPLACED.override"), "file value");
        write(&f.app().join("marker.txt"), "in the app dir");
        write_script(
            &layer.join("exec.d/10-first"),
            r#"echo "this goes to stdout"
cat >&3 <<EOF
SEEN = "$FROM_FILE"
REPLACED = "exec.d value"
WORKDIR_MARKER = "$(cat marker.txt)"
COUNTER = "1"
EOF"#,
        );
        // Runs second (name order) and sees the first program's output.
        write_script(
            &layer.join("exec.d/20-second"),
            r#"echo "COUNTER = \"${COUNTER}2\"" >&3"#,
        );
        // Directories in exec.d are not programs.
        fs::create_dir_all(layer.join("exec.d/not-a-program")).unwrap();

        let env = f
            .compose(&[("PATH", "/usr/bin:/bin")], &[&layer], None)
            .unwrap();
        assert_eq!(
            env,
            vars(&[
                ("PATH", "/usr/bin:/bin"),
                ("FROM_FILE", "file value"),
                ("SEEN", "file value"),
                ("REPLACED", "exec.d value"),
                ("WORKDIR_MARKER", "in the app dir"),
                ("COUNTER", "12"),
            ])
        );
    }

    #[test]
    fn exec_d_per_process_runs_after_the_layers_own_exec_d_and_before_the_next_layer() {
        let f = Fixture::new();
        let first = f.layer("bp", "a");
        let second = f.layer("bp", "b");
        let append = |name: &str| format!(r#"echo "ORDER = \"${{ORDER}}+{name}\"" >&3"#);
        write_script(&first.join("exec.d/web/x"), &append("a-web"));
        write_script(&first.join("exec.d/z"), &append("a"));
        write_script(&first.join("exec.d/worker/x"), &append("a-worker"));
        write_script(&second.join("exec.d/y"), &append("b"));
        let layers = [first.as_path(), second.as_path()];

        let web = f
            .compose(&[("PATH", "/usr/bin:/bin")], &layers, Some("web"))
            .unwrap();
        assert_eq!(get(&web, "ORDER"), Some("+a+a-web+b"));
        let none = f
            .compose(&[("PATH", "/usr/bin:/bin")], &layers, None)
            .unwrap();
        assert_eq!(get(&none, "ORDER"), Some("+a+b"));
    }

    #[test]
    fn exec_d_runs_after_all_env_files() {
        let f = Fixture::new();
        let first = f.layer("bp", "a");
        let second = f.layer("bp", "b");
        write_script(&first.join("exec.d/x"), r#"echo "SEEN = \"$LATER\"" >&3"#);
        write(&second.join("env/LATER"), "from the second layer");
        let env = f.compose(&[], &[&first, &second], None).unwrap();
        assert_eq!(get(&env, "SEEN"), Some("from the second layer"));
    }

    #[test]
    fn a_failing_exec_d_program_is_an_error_naming_it() {
        let f = Fixture::new();
        let layer = f.layer("bp", "a");
        let program = layer.join("exec.d/broken");
        write_script(&program, r#"echo "X = \"1\"" >&3; exit 3"#);
        let error = f.compose(&[], &[&layer], None).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "The exec.d program {} failed: it exited with status 3.",
                program.display()
            )
        );
    }

    #[test]
    fn invalid_exec_d_output_is_an_error_naming_the_program() {
        let f = Fixture::new();
        let layer = f.layer("bp", "a");
        let program = layer.join("exec.d/bad-toml");
        write_script(&program, "echo 'NOT TOML' >&3");
        let error = f.compose(&[], &[&layer], None).unwrap_err().to_string();
        let expected_start = format!(
            "The exec.d program {} wrote invalid output to file descriptor 3. It must be TOML \
             with one `NAME = \"value\"` line per variable (string values only): ",
            program.display()
        );
        assert!(error.starts_with(&expected_start), "{error}");
        assert!(error.contains("line 1"), "{error}");

        write_script(&program, "echo 'PORT = 5000' >&3");
        let error = f.compose(&[], &[&layer], None).unwrap_err().to_string();
        assert!(error.starts_with(&expected_start), "{error}");
    }

    #[test]
    fn an_exec_d_file_that_cannot_run_is_an_error_naming_it() {
        let f = Fixture::new();
        let layer = f.layer("bp", "a");
        let program = layer.join("exec.d/not-executable");
        write(&program, "#!/bin/sh\n");
        let error = f.compose(&[], &[&layer], None).unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "Could not run the exec.d program {}: Permission denied (os error 13)",
                program.display()
            )
        );
    }
}

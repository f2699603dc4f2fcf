//! The installer of pip-style apps (`requirements.txt`, or a `pyproject.toml` without a
//! lockfile): pip (the default) or uv's pip interface (`uv pip install`), chosen with
//! `BP_PYTHON_INSTALLER`. Both install into the same `venv` layer with the same cache key
//! (plus uv's version), the same in-place updates and the same bytecode step (`venv.rs`); this
//! module holds what differs: the commands, their environment and cache, and how a failure is
//! read.
//!
//! uv gets the pip index settings mapped to its own (only where the `UV_*` setting isn't given):
//! `PIP_INDEX_URL` → `UV_DEFAULT_INDEX`, `PIP_EXTRA_INDEX_URL` → `UV_INDEX` (both lists of URLs
//! separated by spaces), `PIP_CERT` → `SSL_CERT_FILE`. Its downloads are kept in the `uv-cache`
//! layer, as for uv apps.

use crate::PythonBuildpack;
use crate::error_message::ErrorMessage;
use crate::errors::BuildpackError;
use crate::layers::locked_venv::{prepend_path, set_var};
use crate::layers::pip::{self, Pip};
use crate::layers::venv::DependenciesError;
use crate::layers::{pip_cache, uv_cache};
use crate::packaging_tool_versions::UV_VERSION;
use crate::pyproject_deps::ProjectInputs;
use crate::python_version::PythonVersion;
use crate::redact::redact_credentials;
use crate::requirements_files::RequirementInputs;
use bullet_stream::style;
use fun_run::CmdError;
use indoc::formatdoc;
use libcnb::Env;
use libcnb::build::BuildContext;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The platform env var that chooses the installer.
pub(crate) const ENV_VAR: &str = "BP_PYTHON_INSTALLER";

/// Which installer `BP_PYTHON_INSTALLER` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InstallerKind {
    Pip,
    Uv,
}

impl InstallerKind {
    /// The value of `BP_PYTHON_INSTALLER` (unset or empty: pip).
    pub(crate) fn from_setting(value: Option<&str>) -> Result<Self, InstallerError> {
        match value.unwrap_or_default() {
            "" | "pip" => Ok(Self::Pip),
            "uv" => Ok(Self::Uv),
            other => Err(InstallerError::Unknown {
                value: other.to_string(),
            }),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Pip => "pip",
            Self::Uv => "uv",
        }
    }
}

/// What a pip-style install puts into the environment.
#[derive(Debug)]
pub(crate) enum Target {
    /// `requirements.txt` and the files it includes.
    Requirements(RequirementInputs),
    /// A `pyproject.toml` without a lockfile.
    Project(ProjectInputs),
}

impl Target {
    /// The cache key's inputs: file (or local project) → SHA-256.
    pub(crate) fn digests(&self) -> &BTreeMap<String, String> {
        match self {
            Self::Requirements(inputs) => &inputs.digests,
            Self::Project(inputs) => &inputs.digests,
        }
    }

    /// The file a user edits to change what is installed.
    pub(crate) fn file(&self) -> &'static str {
        match self {
            Self::Requirements(_) => crate::layers::venv::REQUIREMENTS_FILE,
            Self::Project(_) => crate::pyproject_deps::FILE,
        }
    }

    /// How the build output names the inputs ("Requirements and pip are unchanged").
    pub(crate) fn inputs_name(&self) -> &'static str {
        match self {
            Self::Requirements(_) => "Requirements",
            Self::Project(_) => "pyproject.toml",
        }
    }

    /// The arguments after `install`: nothing when there is nothing to install.
    fn install_args(&self) -> Vec<String> {
        match self {
            Self::Requirements(_) => vec![
                "--requirement".to_string(),
                crate::layers::venv::REQUIREMENTS_FILE.to_string(),
            ],
            Self::Project(inputs) if inputs.build_system => vec![".".to_string()],
            Self::Project(inputs) => inputs.dependencies.clone(),
        }
    }

    /// The lines of a requirements file naming what the environment must keep (its roots), for
    /// `unrequired_packages.py`; `None`: `requirements.txt` itself.
    pub(crate) fn roots(&self) -> Option<String> {
        match self {
            Self::Requirements(_) => None,
            // pip reads `.` relative to its working directory, the app dir: the installed
            // project (found by its `direct_url.json`), whose metadata lists its dependencies.
            Self::Project(inputs) if inputs.build_system => Some(".\n".to_string()),
            Self::Project(inputs) => Some(
                inputs
                    .dependencies
                    .iter()
                    .fold(String::new(), |lines, dependency| lines + dependency + "\n"),
            ),
        }
    }
}

/// The installer, ready to run. pip is there in both cases: its requirements parser finds the
/// packages an update no longer needs.
pub(crate) enum Installer<'a> {
    Pip(&'a Pip),
    Uv { pip: &'a Pip, uv: PathBuf },
}

impl Installer<'_> {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Pip(_) => "pip",
            Self::Uv { .. } => "uv",
        }
    }

    pub(crate) fn pip(&self) -> &Pip {
        match self {
            Self::Pip(pip) | Self::Uv { pip, .. } => pip,
        }
    }

    /// uv's version, for the `venv` layer's cache key (`None` for pip, whose version is there
    /// already).
    pub(crate) fn uv_version(&self) -> Option<String> {
        match self {
            Self::Pip(_) => None,
            Self::Uv { .. } => Some(UV_VERSION.to_string()),
        }
    }

    /// Creates or restores the installer's download cache layer (`pip-cache` or `uv-cache`).
    pub(crate) fn prepare_cache(
        &self,
        context: &BuildContext<PythonBuildpack>,
        python_version: PythonVersion,
        announce: bool,
    ) -> libcnb::Result<PathBuf, BuildpackError> {
        match self {
            Self::Pip(_) => pip_cache::prepare_pip_cache(context, python_version, announce),
            Self::Uv { .. } => uv_cache::prepare_uv_cache(context, python_version, announce),
        }
    }

    /// The environment of the installer's commands.
    pub(crate) fn vars(
        &self,
        context: &BuildContext<PythonBuildpack>,
        env: &Env,
        cache_dir: &Path,
    ) -> Vec<(OsString, OsString)> {
        let mut vars = pip::tool_env(context, env);
        match self {
            Self::Pip(_) => set_var(&mut vars, "PIP_CACHE_DIR", cache_dir),
            Self::Uv { uv, .. } => {
                map_pip_settings(&mut vars);
                set_var(&mut vars, "UV_CACHE_DIR", cache_dir);
                // The cache and the environment are separate layers: copy rather than link.
                set_var(&mut vars, "UV_LINK_MODE", "copy");
                set_var(&mut vars, "UV_NO_PROGRESS", "1");
                set_var(&mut vars, "UV_PYTHON_DOWNLOADS", "never");
                if let Some(bin_dir) = uv.parent() {
                    prepend_path(&mut vars, bin_dir);
                }
            }
        }
        vars
    }

    /// The install command (run in the app dir), or `None` when `target` lists nothing.
    pub(crate) fn install_command(
        &self,
        vars: &[(OsString, OsString)],
        python: &Path,
        target: &Target,
    ) -> Option<std::process::Command> {
        let args = target.install_args();
        if args.is_empty() {
            return None;
        }
        let mut command = self.subcommand(vars, python, "install", &["--no-compile"]);
        command.args(args);
        Some(command)
    }

    /// The command that uninstalls `packages` from the environment of `python`.
    pub(crate) fn uninstall_command(
        &self,
        vars: &[(OsString, OsString)],
        python: &Path,
        packages: &[String],
    ) -> std::process::Command {
        let mut command = self.subcommand(vars, python, "uninstall", &["--yes"]);
        command.args(packages);
        command
    }

    /// pip run by `<python>` ([`Pip::command_for`], as `pip --python <python>` would run it)
    /// with `<subcommand> <pip_options>`, or `uv pip <subcommand> --python <python>` (uv needs
    /// none of those pip options: it never compiles, never asks).
    fn subcommand(
        &self,
        vars: &[(OsString, OsString)],
        python: &Path,
        subcommand: &str,
        pip_options: &[&str],
    ) -> std::process::Command {
        match self {
            Self::Pip(pip) => {
                let mut command = pip.command_for(python, vars);
                command.arg(subcommand).args(pip_options);
                command
            }
            Self::Uv { .. } => {
                let mut command = crate::tool_command::command("uv", vars);
                command.args(["pip", subcommand, "--python"]).arg(python);
                command
            }
        }
    }

    /// The error for a failed install command, from its (already streamed) output.
    pub(crate) fn failure(&self, error: &CmdError, target: &Target) -> BuildpackError {
        match (self, target) {
            (Self::Pip(_), Target::Requirements(_)) => {
                BuildpackError::Dependencies(DependenciesError::from_pip_failure(error))
            }
            (Self::Pip(_), Target::Project(_)) => {
                let file = target.file();
                let installer = "pip";
                let error = match DependenciesError::from_pip_failure(error) {
                    DependenciesError::PackageNotFound { package } => {
                        InstallerError::PackageNotFound {
                            installer,
                            file,
                            package,
                        }
                    }
                    DependenciesError::VersionConflict => {
                        InstallerError::VersionConflict { installer, file }
                    }
                    DependenciesError::InstallFailed { command } => InstallerError::InstallFailed {
                        installer,
                        file,
                        command,
                    },
                    other => return BuildpackError::Dependencies(other),
                };
                BuildpackError::Installer(error)
            }
            (Self::Uv { .. }, _) => {
                BuildpackError::Installer(InstallerError::from_uv_failure(error, target.file()))
            }
        }
    }
}

/// Gives uv the pip settings it doesn't read, unless its own are set.
fn map_pip_settings(vars: &mut Vec<(OsString, OsString)>) {
    let get = |vars: &[(OsString, OsString)], key: &str| {
        vars.iter()
            .find(|(name, value)| name == key && !value.is_empty())
            .map(|(_, value)| value.clone())
    };
    for (pip_key, uv_keys) in [
        ("PIP_INDEX_URL", &["UV_DEFAULT_INDEX", "UV_INDEX_URL"][..]),
        (
            "PIP_EXTRA_INDEX_URL",
            &["UV_INDEX", "UV_EXTRA_INDEX_URL"][..],
        ),
        ("PIP_CERT", &["SSL_CERT_FILE"][..]),
    ] {
        if let Some(value) = get(vars, pip_key)
            && uv_keys.iter().all(|key| get(vars, key).is_none())
        {
            set_var(vars, uv_keys[0], value);
        }
    }
}

#[derive(Debug)]
pub(crate) enum InstallerError {
    /// `BP_PYTHON_INSTALLER` has a value other than `pip` or `uv`.
    Unknown {
        value: String,
    },
    PackageNotFound {
        installer: &'static str,
        file: &'static str,
        package: String,
    },
    VersionConflict {
        installer: &'static str,
        file: &'static str,
    },
    HashMismatch,
    BuildFailed {
        package: Option<String>,
    },
    InstallFailed {
        installer: &'static str,
        file: &'static str,
        command: String,
    },
}

impl InstallerError {
    /// Classifies a failed `uv pip install` by its output.
    fn from_uv_failure(error: &CmdError, file: &'static str) -> Self {
        let command = redact_credentials(&error.name());
        let output = crate::layers::tool_layer::failure_output(error);
        let installer = "uv";
        if let Some(package) = output.lines().find_map(|line| {
            let (_, rest) = line.split_once("Because ")?;
            let (package, _) = rest.split_once(" was not found in the package registry")?;
            Some(package.trim().to_string())
        }) {
            return Self::PackageNotFound {
                installer,
                file,
                package,
            };
        }
        if output.contains("Hash mismatch for") {
            return Self::HashMismatch;
        }
        if let Some(package) = output.lines().find_map(|line| {
            let (_, rest) = line.split_once("Failed to build `")?;
            let (package, _) = rest.split_once('`')?;
            Some(package.to_string())
        }) {
            return Self::BuildFailed {
                package: Some(package),
            };
        }
        if output.contains("No solution found when resolving dependencies") {
            return Self::VersionConflict { installer, file };
        }
        Self::InstallFailed {
            installer,
            file,
            command,
        }
    }

    pub(crate) fn message(&self) -> ErrorMessage {
        match self {
            Self::Unknown { value } => ErrorMessage::new(
                format!("Unknown {ENV_VAR} value: {value:?}"),
                formatdoc! {"
                    {ENV_VAR} chooses the installer of a requirements.txt or of a
                    pyproject.toml without a lockfile. Its allowed values are:
                      - pip (the default)
                      - uv (uv's pip interface, `uv pip install`)

                    Set it to one of them, or unset it to use pip.
                "},
            ),
            Self::PackageNotFound {
                installer,
                file,
                package,
            } => ErrorMessage::new(
                format!("Package not found: {package}"),
                formatdoc! {"
                    {installer} could not find a version of `{package}` that matches the
                    requirements and supports this Python version (see {installer}'s output above).

                    Check the package name and version in {file} for typos, that the version
                    exists on the package index and supports this Python version, and, for a
                    private index, that {index_vars} is set.
                ", index_vars = index_vars(installer)},
            ),
            Self::VersionConflict { installer, file } => ErrorMessage::new(
                "Conflicting package versions",
                formatdoc! {"
                    The requirements ask for versions of packages that can't be installed
                    together: {installer}'s output above lists the packages and the versions
                    each one requires.

                    Change the versions in {file} so they agree (loosen or remove a pin), check
                    the result locally, then build again.
                "},
            ),
            Self::HashMismatch => ErrorMessage::new(
                "Package hashes don't match",
                formatdoc! {"
                    A file uv downloaded has a different hash than the `--hash` given for it in
                    the requirements: uv's output above names the package, the hash expected and
                    the hash it got.

                    If you changed the package's version, update its hashes too (for example
                    with `uv pip compile --generate-hashes`). Otherwise the file on the package
                    index is not the one you locked: check where it comes from before trusting it.
                "},
            ),
            Self::BuildFailed { package } => {
                let package = package
                    .as_ref()
                    .map_or_else(|| "a package".to_string(), |name| format!("`{name}`"));
                ErrorMessage::new(
                    "Unable to build a package from source",
                    formatdoc! {"
                        uv had to build {package} from source (it has no wheel for this Python
                        version and platform, or it is a local project), and the build failed:
                        see uv's output above.

                        Either use a version of the package that publishes wheels for this
                        Python version (check its files on the package index), or, if it needs
                        system libraries or headers at build time, add them to the build image
                        (for example with a buildpack that installs apt packages).
                    "},
                )
            }
            Self::InstallFailed {
                installer,
                file,
                command,
            } => ErrorMessage::new(
                "Unable to install the dependencies",
                formatdoc! {"
                    {command} failed (see its output above).

                    Check {installer}'s errors above. If they mention a network problem, try the
                    build again; otherwise fix {file} and check that the same command works
                    locally.
                ", command = style::command(command)},
            ),
        }
    }
}

fn index_vars(installer: &str) -> &'static str {
    if installer == "uv" {
        "PIP_INDEX_URL (or UV_DEFAULT_INDEX)\nor PIP_EXTRA_INDEX_URL (or UV_INDEX)"
    } else {
        "PIP_INDEX_URL\nor PIP_EXTRA_INDEX_URL"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_allows_pip_and_uv() {
        assert_eq!(
            InstallerKind::from_setting(None).unwrap(),
            InstallerKind::Pip
        );
        assert_eq!(
            InstallerKind::from_setting(Some("")).unwrap(),
            InstallerKind::Pip
        );
        assert_eq!(
            InstallerKind::from_setting(Some("uv")).unwrap(),
            InstallerKind::Uv
        );
        assert_eq!(
            InstallerKind::from_setting(Some("poetry"))
                .unwrap_err()
                .message()
                .render(),
            indoc::indoc! {r#"
                Error: Unknown BP_PYTHON_INSTALLER value: "poetry"

                BP_PYTHON_INSTALLER chooses the installer of a requirements.txt or of a
                pyproject.toml without a lockfile. Its allowed values are:
                  - pip (the default)
                  - uv (uv's pip interface, `uv pip install`)

                Set it to one of them, or unset it to use pip."#}
        );
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(key, value)| (OsString::from(key), OsString::from(value)))
            .collect()
    }

    #[test]
    fn pip_settings_are_mapped_unless_uv_ones_are_given() {
        let mut mapped = vars(&[
            ("PIP_INDEX_URL", "https://a.example/simple"),
            (
                "PIP_EXTRA_INDEX_URL",
                "https://b.example/simple https://c.example/simple",
            ),
            ("PIP_CERT", "/ca.pem"),
        ]);
        map_pip_settings(&mut mapped);
        let get = |vars: &[(OsString, OsString)], key: &str| {
            vars.iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value.to_string_lossy().into_owned())
        };
        assert_eq!(
            get(&mapped, "UV_DEFAULT_INDEX").as_deref(),
            Some("https://a.example/simple")
        );
        assert_eq!(
            get(&mapped, "UV_INDEX").as_deref(),
            Some("https://b.example/simple https://c.example/simple")
        );
        assert_eq!(get(&mapped, "SSL_CERT_FILE").as_deref(), Some("/ca.pem"));

        let mut given = vars(&[
            ("PIP_INDEX_URL", "https://a.example/simple"),
            ("UV_INDEX_URL", "https://uv.example/simple"),
            ("PIP_CERT", "/ca.pem"),
            ("SSL_CERT_FILE", "/other.pem"),
        ]);
        map_pip_settings(&mut given);
        assert_eq!(get(&given, "UV_DEFAULT_INDEX"), None);
        assert_eq!(get(&given, "SSL_CERT_FILE").as_deref(), Some("/other.pem"));
    }

    fn uv_failure(output: &str) -> InstallerError {
        use fun_run::OutputWithName;
        use std::os::unix::process::ExitStatusExt;
        let error = CmdError::NonZeroExitAlreadyStreamed(
            std::process::Output {
                status: std::process::ExitStatus::from_raw(256),
                stdout: Vec::new(),
                stderr: output.as_bytes().to_vec(),
            }
            .named("uv pip install"),
        );
        InstallerError::from_uv_failure(&error, "requirements.txt")
    }

    #[test]
    fn uv_failures_are_classified() {
        assert_eq!(
            uv_failure(
                "  × No solution found when resolving dependencies:\n  ╰─▶ Because nope-xyz was \
                 not found in the package registry and you require nope-xyz==1.0, we can \
                 conclude that your requirements are unsatisfiable.\n"
            )
            .message()
            .render(),
            indoc::indoc! {"
                Error: Package not found: nope-xyz

                uv could not find a version of `nope-xyz` that matches the
                requirements and supports this Python version (see uv's output above).

                Check the package name and version in requirements.txt for typos, that the version
                exists on the package index and supports this Python version, and, for a
                private index, that PIP_INDEX_URL (or UV_DEFAULT_INDEX)
                or PIP_EXTRA_INDEX_URL (or UV_INDEX) is set."}
        );
        assert!(matches!(
            uv_failure(
                "  × No solution found when resolving dependencies:\n  ╰─▶ Because you require \
                 flask==3.1.3 and werkzeug==2.0.0, we can conclude that your requirements are \
                 unsatisfiable.\n"
            ),
            InstallerError::VersionConflict { .. }
        ));
        assert!(matches!(
            uv_failure("  × Failed to build `fastparse==0.1`\n  ├─▶ The build backend returned an error\n"),
            InstallerError::BuildFailed { package: Some(package) } if package == "fastparse==0.1"
        ));
        assert!(matches!(
            uv_failure("error: Hash mismatch for `six==1.17.0`\n"),
            InstallerError::HashMismatch
        ));
    }
}

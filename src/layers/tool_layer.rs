//! The build-time layers holding a pinned package manager (`uv`, `poetry`, `pipenv`): cache-only
//! (neither in the app image nor on later buildpacks' PATH, like pip's layer), keyed by the
//! runtime ([`RuntimeKey`]) and the tool version, and installed with the packaging-tools
//! layer's pip. Poetry and Pipenv ([`VenvTool`]) live in a virtual environment in their layer,
//! installed from their hash-pinned requirements file; their dependency installs share
//! [`install_with_pip_cache`].

use crate::PythonBuildpack;
use crate::error_message::ErrorMessage;
use crate::errors::BuildpackError;
use crate::layers::locked_venv::{self, LockedInstall, Venv, prepend_path, set_var};
use crate::layers::pip::Pip;
use crate::layers::pip_cache;
use crate::layers::runtime_key::{RuntimeKey, cache_only_layer, version_change};
use crate::python_version::PythonVersion;
use crate::redact::redact_credentials;
use crate::source_build::SourceBuildFailure;
use crate::tool_command;
use bullet_stream::global::print;
use bullet_stream::style;
use fun_run::CmdError;
use indoc::formatdoc;
use libcnb::Env;
use libcnb::build::BuildContext;
use libcnb::data::layer::LayerName;
use libcnb::layer::{EmptyLayerCause, LayerState};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Strings only: the lifecycle round-trips layer metadata through JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ToolLayerMetadata {
    runtime: RuntimeKey,
    tool_version: String,
    /// The SHA-256 of the tool's pinned requirements file, for tools installed from one (absent
    /// for uv, so its cached layers stay valid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    requirements_sha256: Option<String>,
}

impl ToolLayerMetadata {
    /// Every reason a cached tool layer can't be reused.
    fn changes(&self, cached: &Self, tool_name: &str) -> Vec<String> {
        let Self {
            runtime,
            tool_version,
            requirements_sha256,
        } = self;
        let mut changes = runtime.changes(&cached.runtime);
        changes.extend(version_change(
            tool_name,
            tool_version,
            &cached.tool_version,
        ));
        if *requirements_sha256 != cached.requirements_sha256 {
            changes.push(format!("The packages pinned for {tool_name} changed"));
        }
        changes
    }
}

/// What a layer holds: the tool's name as users know it and its pinned version.
pub(crate) struct Tool<'a> {
    pub(crate) layer: LayerName,
    pub(crate) name: &'a str,
    pub(crate) version: &'a str,
}

/// Creates or reuses the tool's layer, running `install` with the (empty) layer directory when
/// there is nothing to reuse. Returns the layer directory.
pub(crate) fn install_tool_layer(
    context: &BuildContext<PythonBuildpack>,
    python_version: PythonVersion,
    tool: &Tool,
    install: impl FnOnce(&Path) -> libcnb::Result<(), BuildpackError>,
) -> libcnb::Result<PathBuf, BuildpackError> {
    install_layer(context, python_version, tool, None, install)
}

/// [`install_tool_layer`], with the digest of the requirements file the tool is installed from
/// (when it is) as a further input of the layer.
fn install_layer(
    context: &BuildContext<PythonBuildpack>,
    python_version: PythonVersion,
    tool: &Tool,
    requirements_sha256: Option<String>,
    install: impl FnOnce(&Path) -> libcnb::Result<(), BuildpackError>,
) -> libcnb::Result<PathBuf, BuildpackError> {
    let metadata = ToolLayerMetadata {
        runtime: RuntimeKey::new(python_version, &context.target),
        tool_version: tool.version.to_string(),
        requirements_sha256,
    };
    let layer = cache_only_layer(context, tool.layer.clone(), |cached: &ToolLayerMetadata| {
        metadata.changes(cached, tool.name)
    })?;
    let layer_dir = layer.path();
    print::bullet(format!(
        "{} {} (used during the build only)",
        tool.name, tool.version
    ));
    match layer.state {
        LayerState::Restored { .. } => {
            print::sub_bullet(format!("Using cached {}", tool.name));
            return Ok(layer_dir);
        }
        LayerState::Empty { ref cause } => match cause {
            EmptyLayerCause::RestoredLayerAction { cause: changes } => {
                print::sub_bullet(format!(
                    "Discarding cached {} because: {}",
                    tool.name,
                    changes.join("; ")
                ));
            }
            EmptyLayerCause::InvalidMetadataAction { .. } => {
                print::sub_bullet(format!(
                    "Discarding cached {} because its metadata is from an incomplete or older build",
                    tool.name
                ));
            }
            EmptyLayerCause::NewlyCreated => {}
        },
    }
    install(&layer_dir)?;
    layer.write_metadata(metadata)?;
    Ok(layer_dir)
}

/// A tool installed in its layer's virtual environment, run by name through `PATH`.
pub(crate) struct InstalledTool {
    pub(crate) layer_dir: PathBuf,
    /// The command's name in `layer_dir/bin`.
    pub(crate) program: &'static str,
}

impl InstalledTool {
    /// The tool's command, with `vars` as its environment and the layer's `bin` first on `PATH`.
    pub(crate) fn command(&self, vars: &[(OsString, OsString)]) -> std::process::Command {
        let mut vars = vars.to_vec();
        prepend_path(&mut vars, &self.layer_dir.join("bin"));
        tool_command::command(self.program, &vars)
    }
}

/// A failed command's stdout and stderr together, to look for a known error in (empty when the
/// command didn't run).
pub(crate) fn failure_output(error: &CmdError) -> String {
    error.output().map_or_else(String::new, |output| {
        format!("{}\n{}", output.stdout_lossy(), output.stderr_lossy())
    })
}

/// A tool in a virtual environment in its layer, installed from its hash-pinned requirements
/// file by [`install_venv_tool`], and run by its command's name.
pub(crate) struct VenvTool<'a> {
    pub(crate) tool: Tool<'a>,
    /// The command's name in the layer's `bin`.
    pub(crate) program: &'static str,
    /// The contents of `requirements/<tool>.txt`: the tool and every package it needs, each
    /// `==`-pinned with the SHA-256 of its files.
    pub(crate) requirements: &'static str,
}

/// Creates or reuses the tool's layer: reused while the runtime, the tool's version and its
/// pinned requirements are unchanged. `error` says which tool a failed install is.
pub(crate) fn install_venv_tool(
    context: &BuildContext<PythonBuildpack>,
    env: &Env,
    python_version: PythonVersion,
    pip: &Pip,
    tool: &VenvTool,
    error: impl FnOnce(ToolInstallError) -> BuildpackError,
) -> libcnb::Result<InstalledTool, BuildpackError> {
    let digest = format!("{:x}", Sha256::digest(tool.requirements.as_bytes()));
    let layer_dir = install_layer(
        context,
        python_version,
        &tool.tool,
        Some(digest),
        |layer_dir| {
            install_into_venv(context, env, pip, layer_dir, python_version, tool).map_err(error)?;
            Ok(())
        },
    )?;
    Ok(InstalledTool {
        layer_dir,
        program: tool.program,
    })
}

/// Installs the tool's pinned requirements into a new virtual environment at `layer_dir`, with
/// the packaging-tools layer's pip and the index settings of the app's own installs: wheels only,
/// exactly the pinned files (`--require-hashes`), nothing resolved (`--no-deps`). The tool's
/// commands end up in `layer_dir/bin`. Its modules are compiled to hash-based bytecode by the
/// buildpack rather than by pip (`--no-compile`), so that a restored layer's runs don't
/// compile them again ([`crate::layers::pip::compile_tool`]).
fn install_into_venv(
    context: &BuildContext<PythonBuildpack>,
    env: &Env,
    pip: &Pip,
    layer_dir: &Path,
    python_version: PythonVersion,
    tool: &VenvTool,
) -> Result<(), ToolInstallError> {
    let vars = crate::layers::pip::tool_install_env(context, env);
    tool_command::timed(
        tool_command::command("python3", &vars)
            .args(["-m", "venv", "--without-pip"])
            .arg(layer_dir),
    )
    .map_err(ToolInstallError::Failed)?;
    // Outside the layer, so that the cached layer holds only the environment.
    let requirements_dir = tempfile::tempdir().map_err(ToolInstallError::WriteRequirements)?;
    let requirements = requirements_dir
        .path()
        .join(format!("{}.txt", tool.program));
    std::fs::write(&requirements, tool.requirements)
        .map_err(ToolInstallError::WriteRequirements)?;
    tool_command::stream(
        pip.command(&vars)
            .arg("--python")
            .arg(layer_dir.join("bin/python"))
            .args([
                "install",
                "--quiet",
                "--no-compile",
                "--no-warn-script-location",
                "--require-hashes",
                "--no-deps",
                "--only-binary=:all:",
                "--requirement",
            ])
            .arg(&requirements),
    )
    .map_err(ToolInstallError::from_pip_failure)?;
    crate::layers::pip::compile_tool(&layer_dir.join("bin/python"), layer_dir, python_version)
        .map_err(ToolInstallError::Compile)
}

/// Why a tool installed with [`install_venv_tool`] couldn't be installed.
#[derive(Debug)]
pub(crate) enum ToolInstallError {
    /// The pinned requirements couldn't be written to a temporary file for pip.
    WriteRequirements(std::io::Error),
    /// The index sent a file whose SHA-256 isn't pinned for it: `packages` (`name==version`),
    /// as pip lists them.
    HashMismatch {
        command: String,
        packages: Vec<String>,
    },
    /// The index has no file pip can use for the pinned `requirement` (`name==version`).
    NotFound {
        command: String,
        requirement: String,
    },
    /// Creating the environment or pip failed otherwise.
    Failed(CmdError),
    /// The installed packages couldn't be compiled to bytecode.
    Compile(CmdError),
}

/// What pip prints above the packages whose downloads don't match their pinned hashes.
const HASH_MISMATCH: &str = "THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE";

/// What pip prints before a requirement no file on the index satisfies.
const NOT_FOUND: &str = "No matching distribution found for ";

impl ToolInstallError {
    /// The failure pip's output shows: a hash mismatch, a missing file, or something else.
    fn from_pip_failure(error: CmdError) -> Self {
        let output = redact_credentials(&failure_output(&error));
        let command = redact_credentials(&error.name());
        if let Some((_, listed)) = output.split_once(HASH_MISMATCH) {
            // Each package on a line of its own, indented: `    name==version from <url> ...:`.
            let mut packages: Vec<String> = Vec::new();
            for line in listed.lines().filter(|line| line.starts_with("    ")) {
                if let Some(package) = line.split_whitespace().next()
                    && let package = package.trim_end_matches(':')
                    && package.contains("==")
                    && !packages.iter().any(|known| known == package)
                {
                    packages.push(package.to_string());
                }
            }
            if !packages.is_empty() {
                return Self::HashMismatch { command, packages };
            }
        }
        match output
            .lines()
            .find_map(|line| line.split_once(NOT_FOUND).map(|(_, rest)| rest.trim()))
        {
            Some(requirement) if !requirement.is_empty() => Self::NotFound {
                command,
                requirement: requirement.to_string(),
            },
            _ => Self::Failed(error),
        }
    }

    /// The error for `name` at `version` (as users know the tool).
    pub(crate) fn message(&self, name: &str, version: &str) -> ErrorMessage {
        let header = format!("Unable to install {name} {version}");
        match self {
            Self::HashMismatch { command, packages } => ErrorMessage::new(
                header,
                formatdoc! {"
                    The package index sent a file with an unexpected SHA-256 for {packages}
                    ({command} failed, see its output above). {name} and every package it
                    needs are installed only from files with the SHA-256 the buildpack pins
                    for them, so nothing was installed.

                    If the build uses a private package index or a mirror, check that it
                    serves PyPI's files for these packages unchanged. Otherwise the file was
                    damaged or changed on its way to the build: try the build again.
                ", packages = packages.join(", "), command = style::command(command)},
            ),
            Self::NotFound {
                command,
                requirement,
            } => ErrorMessage::new(
                header,
                formatdoc! {"
                    The package index has no file pip can use for {requirement}, one of the
                    packages {name} {version} needs ({command} failed, see its output above).

                    If the build uses a private package index, check that PIP_INDEX_URL is
                    correct and that it has {requirement} as a wheel for this Python
                    version. Otherwise this is likely a temporary network problem: try the
                    build again.
                ", command = style::command(command)},
            ),
            Self::WriteRequirements(error) => ErrorMessage::new(
                header,
                formatdoc! {"
                    The buildpack could not write the list of {name}'s packages to a
                    temporary file for pip: {error}

                    Check that the build's temporary directory (TMPDIR, else /tmp) is
                    writable and has free space, and try the build again.
                "},
            ),
            Self::Failed(error) => ErrorMessage::new(
                header,
                formatdoc! {"
                    The buildpack could not download and install {name} from the package index
                    ({command} failed, see its output above).

                    If the build uses a private package index, check that PIP_INDEX_URL is
                    correct and that {name} {version} is available there. Otherwise this
                    is likely a temporary network problem: try the build again.
                ", command = style::command(redact_credentials(&error.name()))},
            ),
            Self::Compile(error) => {
                crate::layers::pip::compile_tool_message(&format!("{name} {version}"), error)
            }
        }
    }
}

/// Installs a Poetry or Pipenv app's dependencies into the `venv` layer with
/// [`locked_venv::install_locked_dependencies`], giving `install` the environment to install
/// into and the tool's environment variables ([`tool_env`](crate::layers::pip::tool_env)) with
/// pip's cache layer as `PIP_CACHE_DIR`. When nothing is installed, the cache layer is only
/// declared again, so that the platform keeps it for later builds.
pub(crate) fn install_with_pip_cache(
    context: &BuildContext<PythonBuildpack>,
    env: &mut Env,
    python_version: PythonVersion,
    what: &LockedInstall,
    install: impl FnOnce(&Venv, Vec<(OsString, OsString)>) -> libcnb::Result<(), BuildpackError>,
) -> libcnb::Result<(), BuildpackError> {
    let installed = locked_venv::install_locked_dependencies(
        context,
        env,
        python_version,
        what,
        |venv, env| {
            let cache_dir = pip_cache::prepare_pip_cache(context, python_version, true)?;
            let mut vars = crate::layers::pip::tool_env(context, env);
            set_var(&mut vars, "PIP_CACHE_DIR", &cache_dir);
            install(venv, vars)
        },
    )?;
    if !installed {
        pip_cache::prepare_pip_cache(context, python_version, false)?;
    }
    Ok(())
}

/// The error for a failed install of an app's dependencies by `installer` (`pip`, or `Pipenv`,
/// which runs pip): `source_build` when the output shows a package that failed to build from
/// source, else `other`.
pub(crate) fn dependencies_install_error<E>(
    installer: &'static str,
    error: CmdError,
    source_build: impl FnOnce(SourceBuildFailure) -> E,
    other: impl FnOnce(CmdError) -> E,
) -> E {
    match SourceBuildFailure::from_output(installer, &failure_output(&error)) {
        Some(failure) => source_build(failure),
        None => other(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(python: &str, tool: &str) -> ToolLayerMetadata {
        ToolLayerMetadata {
            runtime: RuntimeKey {
                python_version: python.to_string(),
                arch: "amd64".to_string(),
                distro_name: "ubuntu".to_string(),
                distro_version: "24.04".to_string(),
            },
            tool_version: tool.to_string(),
            requirements_sha256: None,
        }
    }

    #[test]
    fn every_change_is_a_reason() {
        assert_eq!(
            metadata("3.13.0", "2.5.1").changes(&metadata("3.12.1", "2.4.0"), "Poetry"),
            [
                "The Python version changed from 3.12.1 to 3.13.0",
                "The Poetry version changed from 2.4.0 to 2.5.1",
            ]
        );
        assert!(
            metadata("3.13.0", "2.5.1")
                .changes(&metadata("3.13.0", "2.5.1"), "Poetry")
                .is_empty()
        );
    }

    #[test]
    fn changed_pins_are_a_reason() {
        let pinned = |digest: &str| ToolLayerMetadata {
            requirements_sha256: Some(digest.to_string()),
            ..metadata("3.13.0", "2.5.1")
        };
        assert_eq!(
            pinned("bbb").changes(&pinned("aaa"), "Poetry"),
            ["The packages pinned for Poetry changed"]
        );
        assert_eq!(
            pinned("aaa").changes(&metadata("3.13.0", "2.5.1"), "Poetry"),
            ["The packages pinned for Poetry changed"]
        );
        assert!(pinned("aaa").changes(&pinned("aaa"), "Poetry").is_empty());
        assert_eq!(
            toml::to_string(&pinned("aaa")).unwrap(),
            "tool_version = \"2.5.1\"\nrequirements_sha256 = \"aaa\"\n\n[runtime]\npython_version = \"3.13.0\"\narch = \"amd64\"\ndistro_name = \"ubuntu\"\ndistro_version = \"24.04\"\n"
        );
    }

    /// A failed pip command, as `tool_command::stream` returns it, with `output` on stderr.
    fn pip_failed(output: &str) -> CmdError {
        use std::os::unix::process::ExitStatusExt;
        let output = std::process::Output {
            status: std::process::ExitStatus::from_raw(1 << 8),
            stdout: Vec::new(),
            stderr: output.as_bytes().to_vec(),
        };
        fun_run::nonzero_streamed(
            "pip --python /layers/poetry/bin/python install --require-hashes --requirement /tmp/x/poetry.txt".to_string(),
            output,
        )
        .unwrap_err()
    }

    #[test]
    fn a_hash_mismatch_names_the_packages() {
        let error = ToolInstallError::from_pip_failure(pip_failed(indoc::indoc! {"
            ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE. If you have updated the package versions, please update the hashes. Otherwise, examine the package contents carefully; someone may have tampered with them.
                shellingham==1.5.4 from http://****@127.0.0.1:4000/files/shellingham-1.5.4-py2.py3-none-any.whl (from -r /tmp/x/poetry.txt (line 520)):
                    Expected sha256 0d14d6c5d4a6e8a6d1d4a5d9cb2e8a7b7e3e5b1c29e7c5e36f6b5b76c2b9d7a1
                         Got        9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
                tomlkit==0.15.3 from https://files.example/tomlkit-0.15.3-py3-none-any.whl (from -r /tmp/x/poetry.txt (line 560)):
                    Expected sha256 1111111111111111111111111111111111111111111111111111111111111111
                         Got        2222222222222222222222222222222222222222222222222222222222222222
        "}));
        assert_eq!(
            bullet_stream::strip_ansi(error.message("Poetry", "2.5.1").render()),
            indoc::indoc! {"
                Error: Unable to install Poetry 2.5.1

                The package index sent a file with an unexpected SHA-256 for shellingham==1.5.4, tomlkit==0.15.3
                (`pip --python /layers/poetry/bin/python install --require-hashes --requirement /tmp/x/poetry.txt` failed, see its output above). Poetry and every package it
                needs are installed only from files with the SHA-256 the buildpack pins
                for them, so nothing was installed.

                If the build uses a private package index or a mirror, check that it
                serves PyPI's files for these packages unchanged. Otherwise the file was
                damaged or changed on its way to the build: try the build again."}
        );
    }

    #[test]
    fn a_missing_file_names_the_requirement() {
        let error = ToolInstallError::from_pip_failure(pip_failed(indoc::indoc! {"
            ERROR: Could not find a version that satisfies the requirement certifi==2026.10.19.post1 (from versions: none)
            ERROR: No matching distribution found for certifi==2026.10.19.post1
        "}));
        assert_eq!(
            bullet_stream::strip_ansi(error.message("Pipenv", "2026.10.3").render()),
            indoc::indoc! {"
                Error: Unable to install Pipenv 2026.10.3

                The package index has no file pip can use for certifi==2026.10.19.post1, one of the
                packages Pipenv 2026.10.3 needs (`pip --python /layers/poetry/bin/python install --require-hashes --requirement /tmp/x/poetry.txt` failed, see its output above).

                If the build uses a private package index, check that PIP_INDEX_URL is
                correct and that it has certifi==2026.10.19.post1 as a wheel for this Python
                version. Otherwise this is likely a temporary network problem: try the
                build again."}
        );
    }

    #[test]
    fn other_failures_keep_the_general_advice() {
        let error = ToolInstallError::from_pip_failure(pip_failed(
            "ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device\n",
        ));
        assert!(matches!(error, ToolInstallError::Failed(_)), "{error:?}");
        assert_eq!(
            bullet_stream::strip_ansi(error.message("Pipenv", "2026.10.3").render()),
            indoc::indoc! {"
                Error: Unable to install Pipenv 2026.10.3

                The buildpack could not download and install Pipenv from the package index
                (`pip --python /layers/poetry/bin/python install --require-hashes --requirement /tmp/x/poetry.txt` failed, see its output above).

                If the build uses a private package index, check that PIP_INDEX_URL is
                correct and that Pipenv 2026.10.3 is available there. Otherwise this
                is likely a temporary network problem: try the build again."}
        );
    }

    #[test]
    fn serialized_form_is_pinned() {
        // Changing this format discards every user's cache: do it deliberately.
        assert_eq!(
            toml::to_string(&metadata("3.13.0", "0.13.8")).unwrap(),
            "tool_version = \"0.13.8\"\n\n[runtime]\npython_version = \"3.13.0\"\narch = \"amd64\"\ndistro_name = \"ubuntu\"\ndistro_version = \"24.04\"\n"
        );
    }
}

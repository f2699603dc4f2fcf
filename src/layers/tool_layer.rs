//! The build-time layers holding a pinned package manager (`uv`, `poetry`, `pipenv`): cache-only
//! (neither in the app image nor on later buildpacks' PATH, like pip's layer), keyed by the
//! runtime ([`RuntimeKey`]) and the tool version, and installed with the packaging-tools
//! layer's pip.

use crate::PythonBuildpack;
use crate::error_message::ErrorMessage;
use crate::errors::BuildpackError;
use crate::layers::locked_venv::prepend_path;
use crate::layers::pip::Pip;
use crate::layers::runtime_key::{RuntimeKey, cache_only_layer, version_change};
use crate::python_version::PythonVersion;
use crate::redact::redact_credentials;
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
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Strings only: the lifecycle round-trips layer metadata through JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ToolLayerMetadata {
    runtime: RuntimeKey,
    tool_version: String,
}

impl ToolLayerMetadata {
    /// Every reason a cached tool layer can't be reused.
    fn changes(&self, cached: &Self, tool_name: &str) -> Vec<String> {
        let Self {
            runtime,
            tool_version,
        } = self;
        let mut changes = runtime.changes(&cached.runtime);
        changes.extend(version_change(
            tool_name,
            tool_version,
            &cached.tool_version,
        ));
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
    let metadata = ToolLayerMetadata {
        runtime: RuntimeKey::new(python_version, &context.target),
        tool_version: tool.version.to_string(),
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

/// The error for a tool (`name` at `version`, installed with [`install_into_venv`]) that pip
/// couldn't install.
pub(crate) fn install_failed_message(name: &str, version: &str, error: &CmdError) -> ErrorMessage {
    ErrorMessage::new(
        format!("Unable to install {name} {version}"),
        formatdoc! {"
            The buildpack could not download and install {name} from the package index
            ({command} failed, see its output above).

            If the build uses a private package index, check that PIP_INDEX_URL is
            correct and that {name} {version} is available there. Otherwise this
            is likely a temporary network problem: try the build again.
        ", command = style::command(redact_credentials(&error.name()))},
    )
}

/// Installs `packages` (exact pins) into a new virtual environment at `layer_dir`, with the
/// packaging-tools layer's pip. The tool's commands end up in `layer_dir/bin`.
pub(crate) fn install_into_venv(
    context: &BuildContext<PythonBuildpack>,
    env: &Env,
    pip: &Pip,
    layer_dir: &Path,
    packages: &[String],
) -> Result<(), CmdError> {
    let vars = crate::layers::pip::tool_install_env(context, env);
    tool_command::timed(
        tool_command::command("python3", &vars)
            .args(["-m", "venv", "--without-pip"])
            .arg(layer_dir),
    )?;
    tool_command::stream(
        pip.command(&vars)
            .arg("--python")
            .arg(layer_dir.join("bin/python"))
            .args(["install", "--quiet", "--no-warn-script-location"])
            .args(packages),
    )?;
    Ok(())
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
    fn serialized_form_is_pinned() {
        // Changing this format discards every user's cache: do it deliberately.
        assert_eq!(
            toml::to_string(&metadata("3.13.0", "0.13.8")).unwrap(),
            "tool_version = \"0.13.8\"\n\n[runtime]\npython_version = \"3.13.0\"\narch = \"amd64\"\ndistro_name = \"ubuntu\"\ndistro_version = \"24.04\"\n"
        );
    }
}

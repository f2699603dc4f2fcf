//! uv apps (`pyproject.toml` + `uv.lock`): uv itself in the build-only layer `uv` (installed
//! from the `uv` wheel on `PyPI`, which ships the binary), and `uv sync --locked` into the
//! dependencies layer `venv`.
//!
//! uv always uses the buildpack's Python (`UV_PYTHON` is the runtime's `python3`, and
//! `UV_PYTHON_DOWNLOADS=never`). The sync installs the lock's default dependencies only: no
//! dependency groups (so no `dev` group), and not the app itself (`--no-install-project`: the app
//! runs from its directory, and installing it would need its build backend at build time).

use crate::PythonBuildpack;
use crate::error_message::ErrorMessage;
use crate::errors::BuildpackError;
use crate::layers::locked_venv::{
    self, LockedDependenciesError, LockedInstall, Update, find_on_path, prepend_path, set_var,
};
use crate::layers::tool_layer::{Tool, failure_output, install_tool_layer};
use crate::layers::uv_cache;
use crate::package_index::IndexSettings;
use crate::package_manager::PackageManager;
use crate::packaging_tool_versions::{UV_VERSION, UV_WHEELS};
use crate::python_version::PythonVersion;
use crate::redact::redact_credentials;
use crate::tool_command;
use crate::wheel::{self, WheelError};
use bullet_stream::global::print;
use bullet_stream::style;
use fun_run::CmdError;
use indoc::formatdoc;
use libcnb::Env;
use libcnb::build::BuildContext;
use libcnb::data::layer_name;
use std::path::{Path, PathBuf};

/// The files whose contents decide what `uv sync` installs.
const INPUT_FILES: [&str; 2] = ["pyproject.toml", "uv.lock"];

/// Installs (or reuses) uv in its layer and returns the path of the `uv` binary.
///
/// uv is one static binary, shipped in a wheel per platform: the wheel for the build's target
/// architecture is fetched from the app's package index (pip's settings, as for pip's own wheel,
/// see [`crate::package_index`]), checked against its SHA-256 pinned in `requirements/uv.txt`,
/// and unpacked into the layer as pip's `--target` would lay it out (`bin/uv`, `bin/uvx`, the
/// `uv` package). No pip runs: starting one to install uv took 2 s, the unpacking takes 0.2 s.
pub(crate) fn install_uv(
    context: &BuildContext<PythonBuildpack>,
    env: &Env,
    python_version: PythonVersion,
) -> libcnb::Result<PathBuf, BuildpackError> {
    let tool = Tool {
        layer: layer_name!("uv"),
        name: "uv",
        version: UV_VERSION,
    };
    let arch = context.target.arch.clone();
    let layer_dir = install_tool_layer(context, python_version, &tool, |layer_dir| {
        let (wheel_name, sha256) =
            uv_wheel(&arch).ok_or_else(|| uv_error(UvError::NoWheel { arch: arch.clone() }))?;
        let vars = crate::layers::pip::tool_install_env(context, env);
        let timer = print::sub_start_timer(format!("Downloading {wheel_name}"));
        let wheel = match IndexSettings::from_vars(&vars).fetch_file("uv", &wheel_name, sha256) {
            Ok(wheel) => {
                timer.done();
                wheel
            }
            Err(error) => {
                timer.cancel("failed");
                return Err(uv_error(UvError::Download {
                    details: error.details(&wheel_name, sha256),
                })
                .into());
            }
        };
        let timer = print::sub_start_timer("Unpacking");
        // `--target` layout: the wheel's root in the layer, its scripts in the layer's `bin`.
        let environment = wheel::Environment {
            root: layer_dir,
            site_packages: layer_dir,
        };
        match wheel::install_wheel(wheel.path(), &wheel_name, &environment) {
            Ok(()) => {
                timer.done();
                Ok(())
            }
            Err(error) => {
                timer.cancel("failed");
                Err(uv_error(UvError::Unpack(error)).into())
            }
        }
    })?;
    Ok(layer_dir.join("bin/uv"))
}

/// The file name and pinned SHA-256 of uv's wheel for a CNB target architecture.
fn uv_wheel(arch: &str) -> Option<(String, &'static str)> {
    UV_WHEELS
        .iter()
        .find(|(wheel_arch, _, _)| *wheel_arch == arch)
        .map(|(_, tag, sha256)| (format!("uv-{UV_VERSION}-py3-none-{tag}.whl"), *sha256))
}

/// Installs the app's locked dependencies into the `venv` layer with `uv sync`, unless the
/// cached environment was made from the same `pyproject.toml`, `uv.lock` and uv version.
pub(crate) fn install_dependencies(
    context: &BuildContext<PythonBuildpack>,
    env: &mut Env,
    python_version: PythonVersion,
    uv: &Path,
) -> libcnb::Result<(), BuildpackError> {
    let what = LockedInstall {
        manager: PackageManager::Uv,
        tool_version: UV_VERSION,
        input_files: &INPUT_FILES,
        update: Update::InPlace,
    };
    let python = find_on_path(env, "python3").ok_or(uv_error(UvError::NoPython))?;
    let installed = locked_venv::install_locked_dependencies(
        context,
        env,
        python_version,
        &what,
        |venv, env| {
            let cache_dir = uv_cache::prepare_uv_cache(context, python_version, true)?;
            let mut vars = crate::layers::pip::tool_env(context, env);
            set_var(&mut vars, "UV_PROJECT_ENVIRONMENT", &venv.dir);
            set_var(&mut vars, "UV_PYTHON", &python);
            set_var(&mut vars, "UV_PYTHON_DOWNLOADS", "never");
            set_var(&mut vars, "UV_CACHE_DIR", &cache_dir);
            // The cache and the environment are separate layers: copy rather than try to link.
            set_var(&mut vars, "UV_LINK_MODE", "copy");
            set_var(&mut vars, "UV_NO_PROGRESS", "1");
            if let Some(bin_dir) = uv.parent() {
                prepend_path(&mut vars, bin_dir);
            }
            tool_command::stream(
                tool_command::command("uv", &vars)
                    .current_dir(&context.app_dir)
                    .args([
                        "sync",
                        "--locked",
                        "--no-default-groups",
                        "--no-install-project",
                    ]),
            )
            .map_err(|error| uv_error(UvError::from_sync_failure(&error)))?;
            Ok(())
        },
    )?;
    if !installed {
        // The cache is only declared again, so that the platform keeps it for later builds.
        uv_cache::prepare_uv_cache(context, python_version, false)?;
    }
    Ok(())
}

fn uv_error(error: UvError) -> BuildpackError {
    BuildpackError::LockedDependencies(LockedDependenciesError::Uv(error))
}

#[derive(Debug)]
pub(crate) enum UvError {
    /// No uv wheel is pinned for the target architecture.
    NoWheel {
        arch: String,
    },
    /// uv's wheel could not be fetched from the package index (the details say why).
    Download {
        details: String,
    },
    Unpack(WheelError),
    NoPython,
    LockfileOutOfSync,
    /// A package without a wheel for this runtime failed to build from source.
    SourceBuild(crate::source_build::SourceBuildFailure),
    SyncFailed {
        command: String,
    },
}

impl UvError {
    fn from_sync_failure(error: &CmdError) -> Self {
        let command = redact_credentials(&error.name());
        let output = failure_output(error);
        if output.contains("needs to be updated, but `--locked` was provided") {
            Self::LockfileOutOfSync
        } else if let Some(failure) =
            crate::source_build::SourceBuildFailure::from_output("uv", &output)
        {
            Self::SourceBuild(failure)
        } else {
            Self::SyncFailed { command }
        }
    }

    pub(crate) fn message(&self) -> ErrorMessage {
        match self {
            Self::NoWheel { arch } => ErrorMessage::new(
                format!("Unable to install uv {UV_VERSION} on {arch}"),
                formatdoc! {"
                    The buildpack has uv for the amd64 and arm64 architectures only, and this
                    build targets {arch}.

                    Build for amd64 or arm64, or use pip or Poetry for this app (a
                    requirements.txt or a poetry.lock instead of uv.lock).
                "},
            ),
            Self::Download { details } => ErrorMessage::new(
                format!("Unable to install uv {UV_VERSION}"),
                formatdoc! {"
                    The buildpack could not download uv from the package index:
                    {details}

                    If the build uses a private package index, check that PIP_INDEX_URL is
                    correct and that uv {UV_VERSION} is available there. Otherwise this is
                    likely a temporary network problem: try the build again.
                "},
            ),
            Self::Unpack(error) => error.message(&format!("uv {UV_VERSION}")),
            Self::NoPython => ErrorMessage::new(
                "Unable to find the Python runtime for uv",
                formatdoc! {"
                    The buildpack installed Python, but python3 is not on the build's PATH, so
                    uv can't be told which Python to use.

                    This is a bug in the buildpack: please open an issue with this output.
                "},
            ),
            Self::LockfileOutOfSync => ErrorMessage::new(
                "The uv.lock file is out of date",
                formatdoc! {"
                    uv.lock doesn't match the dependencies in pyproject.toml (see uv's output
                    above): pyproject.toml was changed after uv.lock was last updated.

                    Run 'uv lock' to update uv.lock, commit the result, and build again.
                "},
            ),
            Self::SourceBuild(failure) => failure.message(),
            Self::SyncFailed { command } => ErrorMessage::new(
                "Unable to install the dependencies using uv",
                formatdoc! {"
                    {command} failed (see its output above).

                    Check uv's errors above. If they mention a network problem, try the build
                    again; otherwise fix pyproject.toml or uv.lock and check that
                    'uv sync --locked' works locally.
                ", command = style::command(command)},
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_architecture_without_a_uv_wheel_is_named() {
        assert_eq!(uv_wheel("ppc64le"), None);
        assert_eq!(
            UvError::NoWheel {
                arch: "ppc64le".to_string()
            }
            .message()
            .render(),
            indoc::indoc! {"
                Error: Unable to install uv 0.13.8 on ppc64le

                The buildpack has uv for the amd64 and arm64 architectures only, and this
                build targets ppc64le.

                Build for amd64 or arm64, or use pip or Poetry for this app (a
                requirements.txt or a poetry.lock instead of uv.lock)."}
        );
        assert_eq!(
            uv_wheel("arm64").map(|(name, _)| name),
            Some(
                "uv-0.13.8-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64.whl"
                    .to_string()
            )
        );
    }

    #[test]
    fn messages() {
        assert_eq!(
            UvError::LockfileOutOfSync.message().render(),
            indoc::indoc! {"
                Error: The uv.lock file is out of date

                uv.lock doesn't match the dependencies in pyproject.toml (see uv's output
                above): pyproject.toml was changed after uv.lock was last updated.

                Run 'uv lock' to update uv.lock, commit the result, and build again."}
        );
        assert_eq!(
            bullet_stream::strip_ansi(
                UvError::SyncFailed {
                    command: "uv sync --locked".to_string()
                }
                .message()
                .render()
            ),
            indoc::indoc! {"
                Error: Unable to install the dependencies using uv

                `uv sync --locked` failed (see its output above).

                Check uv's errors above. If they mention a network problem, try the build
                again; otherwise fix pyproject.toml or uv.lock and check that
                'uv sync --locked' works locally."}
        );
    }
}

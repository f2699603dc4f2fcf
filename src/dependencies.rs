//! Installing the app's dependencies with its package manager: the packaging-tools layer (pip),
//! the package manager's own tool layer, and the `venv` layer they install into.

use crate::PythonBuildpack;
use crate::errors::BuildpackError;
use crate::layers;
use crate::layers::installer::{self, Installer, InstallerKind, Target};
use crate::package_manager::PackageManager;
use crate::python_version::PythonVersion;
use bullet_stream::global::print;
use libcnb::build::BuildContext;
use libcnb::{Env, Platform};

/// What the install needs from the app, read during project analysis so that a bad requirements
/// file (or `pyproject.toml`) fails the build before any layer is touched. Lockfile managers
/// read their lockfiles with their own tools, during the install.
pub(crate) enum DependencyPlan {
    /// `requirements.txt`, or a `pyproject.toml` without a lockfile, installed by pip or uv.
    Pip {
        target: Target,
        installer: InstallerKind,
        /// `requirements.txt` won over a `pyproject.toml` that is there too.
        pyproject_ignored: bool,
    },
    Pipenv,
    Poetry,
    Uv,
}

impl DependencyPlan {
    pub(crate) fn read(
        context: &BuildContext<PythonBuildpack>,
        package_manager: PackageManager,
    ) -> Result<Self, BuildpackError> {
        let setting = context
            .platform
            .env()
            .get_string_lossy(installer::ENV_VAR)
            .or_else(|| std::env::var(installer::ENV_VAR).ok());
        let installer =
            InstallerKind::from_setting(setting.as_deref()).map_err(BuildpackError::Installer)?;
        Ok(match package_manager {
            PackageManager::Pip => {
                let has_requirements = context
                    .app_dir
                    .join(layers::venv::REQUIREMENTS_FILE)
                    .is_file();
                let has_pyproject = context.app_dir.join(crate::pyproject_deps::FILE).is_file();
                let target = if has_requirements {
                    Target::Requirements(
                        layers::venv::read_inputs(context).map_err(BuildpackError::Dependencies)?,
                    )
                } else {
                    Target::Project(
                        crate::pyproject_deps::read(&context.app_dir)
                            .map_err(BuildpackError::Pyproject)?,
                    )
                };
                Self::Pip {
                    target,
                    installer,
                    pyproject_ignored: has_requirements && has_pyproject,
                }
            }
            PackageManager::Pipenv => Self::Pipenv,
            PackageManager::Poetry => Self::Poetry,
            PackageManager::Uv => Self::Uv,
        })
    }

    fn package_manager(&self) -> PackageManager {
        match self {
            Self::Pip { .. } => PackageManager::Pip,
            Self::Pipenv => PackageManager::Pipenv,
            Self::Poetry => PackageManager::Poetry,
            Self::Uv => PackageManager::Uv,
        }
    }
}

/// Installs (or reuses) the dependencies and adds the `venv` layer's env to `env`.
pub(crate) fn install_dependencies(
    context: &BuildContext<PythonBuildpack>,
    env: &mut Env,
    python_version: PythonVersion,
    plan: &DependencyPlan,
) -> libcnb::Result<(), BuildpackError> {
    let name = match plan {
        DependencyPlan::Pip { installer, .. } => installer.name(),
        other => other.package_manager().name(),
    };
    print::h2(format!("Installing dependencies with {name}"));
    match plan {
        DependencyPlan::Pip {
            target,
            installer,
            pyproject_ignored,
        } => {
            let pip = layers::pip::install_pip(context, env, python_version)?;
            match target {
                Target::Requirements(_) if *pyproject_ignored => print::bullet(
                    "Installing requirements.txt: the app also has a pyproject.toml, whose \
                     dependencies are not installed (requirements.txt takes precedence)",
                ),
                Target::Requirements(_) => {}
                Target::Project(inputs) => {
                    print::bullet(if inputs.build_system {
                        "Installing the project from pyproject.toml (it has a [build-system]), \
                         with its dependencies"
                    } else {
                        "Installing pyproject.toml's [project] dependencies (no [build-system]: \
                         the app runs from its directory)"
                    });
                    print::warning(crate::pyproject_deps::no_lockfile_warning());
                }
            }
            let installer = match installer {
                InstallerKind::Pip => Installer::Pip(&pip),
                InstallerKind::Uv => Installer::Uv {
                    uv: layers::uv::install_uv(context, env, python_version)?,
                    pip: &pip,
                },
            };
            layers::venv::install_dependencies(context, env, python_version, target, &installer)
        }
        DependencyPlan::Uv => {
            // No pip: uv is unpacked from its wheel, and installs the app's packages itself.
            let uv = layers::uv::install_uv(context, env, python_version)?;
            layers::uv::install_dependencies(context, env, python_version, &uv)
        }
        DependencyPlan::Poetry => {
            let pip = layers::pip::install_pip(context, env, python_version)?;
            let poetry = layers::poetry::install_poetry(context, env, python_version, &pip)?;
            layers::poetry::install_dependencies(context, env, python_version, &poetry, &pip)
        }
        DependencyPlan::Pipenv => {
            let pip = layers::pip::install_pip(context, env, python_version)?;
            let pipenv = layers::pipenv::install_pipenv(context, env, python_version, &pip)?;
            layers::pipenv::install_dependencies(context, env, python_version, &pipenv)
        }
    }
}

//! Installing the app's dependencies with its package manager: the packaging-tools layer (pip),
//! the package manager's own tool layer, and the `venv` layer they install into.

use crate::PythonBuildpack;
use crate::errors::BuildpackError;
use crate::layers;
use crate::package_manager::PackageManager;
use crate::python_version::PythonVersion;
use crate::requirements_files::RequirementInputs;
use bullet_stream::global::print;
use libcnb::Env;
use libcnb::build::BuildContext;

/// What the install needs from the app, read during project analysis so that a bad requirements
/// file fails the build before any layer is touched. Lockfile managers read their lockfiles with
/// their own tools, during the install.
pub(crate) enum DependencyPlan {
    Pip(RequirementInputs),
    Pipenv,
    Poetry,
    Uv,
}

impl DependencyPlan {
    pub(crate) fn read(
        context: &BuildContext<PythonBuildpack>,
        package_manager: PackageManager,
    ) -> Result<Self, BuildpackError> {
        Ok(match package_manager {
            PackageManager::Pip => {
                Self::Pip(layers::venv::read_inputs(context).map_err(BuildpackError::Dependencies)?)
            }
            PackageManager::Pipenv => Self::Pipenv,
            PackageManager::Poetry => Self::Poetry,
            PackageManager::Uv => Self::Uv,
        })
    }

    fn package_manager(&self) -> PackageManager {
        match self {
            Self::Pip(_) => PackageManager::Pip,
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
    print::h2(format!(
        "Installing dependencies with {}",
        plan.package_manager().name()
    ));
    let pip = layers::pip::install_pip(context, env, python_version)?;
    match plan {
        DependencyPlan::Pip(requirement_inputs) => layers::venv::install_dependencies(
            context,
            env,
            python_version,
            requirement_inputs,
            &pip,
        ),
        DependencyPlan::Uv => {
            let uv = layers::uv::install_uv(context, env, python_version, &pip)?;
            layers::uv::install_dependencies(context, env, python_version, &uv)
        }
        DependencyPlan::Poetry => {
            let poetry = layers::poetry::install_poetry(context, env, python_version, &pip)?;
            layers::poetry::install_dependencies(context, env, python_version, &poetry, &pip)
        }
        DependencyPlan::Pipenv => {
            let pipenv = layers::pipenv::install_pipenv(context, env, python_version, &pip)?;
            layers::pipenv::install_dependencies(context, env, python_version, &pipenv)
        }
    }
}

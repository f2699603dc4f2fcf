mod checks;
mod detect;
mod download;
mod errors;
mod inventory;
mod layers;
mod package_manager;
mod packaging_tool_versions;
mod python_version;
mod redact;
mod requirements_files;
mod steps;
mod tool_command;
mod version_sources;

use crate::errors::BuildpackError;
use crate::package_manager::PackageManager;
use crate::python_version::PythonVersion;
use bullet_stream::global::print;
use libcnb::build::{BuildContext, BuildResult, BuildResultBuilder};
use libcnb::data::store::Store;
use libcnb::detect::{DetectContext, DetectResult, DetectResultBuilder};
use libcnb::generic::{GenericMetadata, GenericPlatform};
use libcnb::{Buildpack, Env, Platform, buildpack_main};

#[cfg(test)]
use local_platform as _;

struct PythonBuildpack;

impl Buildpack for PythonBuildpack {
    type Platform = GenericPlatform;
    type Metadata = GenericMetadata;
    type Error = BuildpackError;

    fn detect(&self, context: DetectContext<Self>) -> libcnb::Result<DetectResult, Self::Error> {
        if detect::python_project_files(&context.app_dir).is_empty() {
            println!("{}", detect::no_python_project_message());
            DetectResultBuilder::fail().build()
        } else {
            DetectResultBuilder::pass().build()
        }
    }

    fn build(&self, context: BuildContext<Self>) -> libcnb::Result<BuildResult, Self::Error> {
        let started = print::buildpack("Python");
        checks::check_environment([
            std::env::vars_os().collect(),
            context
                .platform
                .env()
                .iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        ])
        .map_err(BuildpackError::Checks)?;

        // Project analysis: everything that can reject the app, before any layer is touched.
        // The dependencies step installs with it; determined now so that a bad app fails fast.
        let package_manager =
            package_manager::determine(&context.app_dir).map_err(BuildpackError::PackageManager)?;
        let requirement_inputs = match package_manager {
            PackageManager::Pip => Some(layers::venv::read_inputs(&context)?),
            PackageManager::Pipenv | PackageManager::Poetry | PackageManager::Uv => None,
        };
        let inventory = inventory::load_inventory(context.platform.env(), &context.app_dir)
            .map_err(BuildpackError::Inventory)?;
        let python: python_version::PythonChoice = python_version::resolve_python_version(
            &context.app_dir,
            context
                .platform
                .env()
                .get("BP_PYTHON_VERSION")
                .map(AsRef::as_ref),
            &inventory.artifacts,
            &context.target,
            previous_python_version(context.store.as_ref()),
        )
        .map_err(BuildpackError::PythonVersion)?;
        print::h2("Python version");
        print::bullet(&python.explanation);
        for warning in &python.warnings {
            print::warning(warning);
        }

        let mut env = Env::from_current();
        print::h2("Installing Python");
        layers::python::install_python(&context, &mut env, &python.artifact)?;

        let python_version = python.artifact.version;
        print::h2(format!(
            "Installing dependencies with {}",
            package_manager.name()
        ));
        let pip = layers::pip::install_pip(&context, &env, python_version)?;
        match package_manager {
            PackageManager::Pip => {
                if let Some(requirement_inputs) = &requirement_inputs {
                    layers::venv::install_dependencies(
                        &context,
                        &mut env,
                        python_version,
                        requirement_inputs,
                        &pip,
                    )?;
                }
            }
            PackageManager::Uv => {
                let uv = layers::uv::install_uv(&context, &env, python_version, &pip)?;
                layers::uv::install_dependencies(&context, &mut env, python_version, &uv)?;
            }
            PackageManager::Poetry => {
                let poetry = layers::poetry::install_poetry(&context, &env, python_version, &pip)?;
                layers::poetry::install_dependencies(
                    &context,
                    &mut env,
                    python_version,
                    &poetry,
                    &pip,
                )?;
            }
            PackageManager::Pipenv => {
                let pipenv = layers::pipenv::install_pipenv(&context, &env, python_version, &pip)?;
                layers::pipenv::install_dependencies(&context, &mut env, python_version, &pipenv)?;
            }
        }

        let launch = steps::run(&context, &env)?;

        print::all_done(&Some(started));
        BuildResultBuilder::new()
            .launch(launch)
            .store(store_for_next_build(python.artifact.version))
            .build()
    }

    fn on_error(&self, error: libcnb::Error<Self::Error>) {
        errors::on_error(&error);
    }
}

buildpack_main!(PythonBuildpack);

const STORE_PYTHON_VERSION: &str = "python_version";

/// The Python version of the previous build, remembered in `store.toml`.
fn previous_python_version(store: Option<&Store>) -> Option<PythonVersion> {
    store?
        .metadata
        .get(STORE_PYTHON_VERSION)?
        .as_str()?
        .parse()
        .ok()
}

fn store_for_next_build(python_version: PythonVersion) -> Store {
    let mut store = Store::default();
    store.metadata.insert(
        STORE_PYTHON_VERSION.to_string(),
        python_version.to_string().into(),
    );
    store
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_python_version_round_trips_through_the_store() {
        let store = store_for_next_build(PythonVersion::new(3, 13, 1));
        assert_eq!(
            previous_python_version(Some(&store)),
            Some(PythonVersion::new(3, 13, 1))
        );
        assert_eq!(previous_python_version(None), None);
        assert_eq!(previous_python_version(Some(&Store::default())), None);
        let mut garbled = Store::default();
        garbled
            .metadata
            .insert(STORE_PYTHON_VERSION.to_string(), "3.13".to_string().into());
        assert_eq!(previous_python_version(Some(&garbled)), None);
    }
}

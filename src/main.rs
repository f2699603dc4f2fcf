mod app_file;
mod bytecode;
mod checks;
mod dependencies;
mod detect;
mod download;
mod error_message;
mod errors;
mod inventory;
mod layers;
mod limited_command;
mod package_index;
mod package_manager;
mod packaging_tool_versions;
mod pyproject_deps;
mod python_version;
mod redact;
mod requirements_files;
mod sbom;
mod source_build;
mod steps;
mod store;
mod tool_command;
mod version_sources;
mod wheel;

use crate::dependencies::DependencyPlan;
use crate::errors::BuildpackError;
use bullet_stream::global::print;
use libcnb::build::{BuildContext, BuildResult, BuildResultBuilder};
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

        // Project analysis: everything that can reject the app, before any layer is touched.
        checks::check_build_environment(context.platform.env()).map_err(BuildpackError::Checks)?;
        // The app's bin/pre_compile may write the files analysed next (Heroku's classic hook).
        steps::run_pre_compile(&context)?;
        let package_manager =
            package_manager::determine(&context.app_dir).map_err(BuildpackError::PackageManager)?;
        let dependency_plan = DependencyPlan::read(&context, package_manager)?;
        let inventory = inventory::load_inventory(context.platform.env(), &context.app_dir)
            .map_err(BuildpackError::Inventory)?;
        let python = python_version::resolve_python_version(
            &context.app_dir,
            context
                .platform
                .env()
                .get("BP_PYTHON_VERSION")
                .map(AsRef::as_ref),
            &inventory.artifacts,
            &context.target,
            store::previous_python_version(context.store.as_ref()),
        )
        .map_err(BuildpackError::PythonVersion)?;
        print::h2("Python version");
        print::bullet(&python.explanation);
        for warning in &python.warnings {
            print::warning(warning.render());
        }
        let python_version = python.artifact.version;

        // Layers, each adding its build env to `env` for the steps after it.
        let mut env = Env::from_current();
        print::h2("Installing Python");
        layers::python::install_python(&context, &mut env, &python.artifact)?;
        dependencies::install_dependencies(&context, &mut env, python_version, &dependency_plan)?;

        // Steps on the installed app: collectstatic, then the image's processes.
        let launch = steps::run(&context, &env)?;

        print::all_done(&Some(started));
        BuildResultBuilder::new()
            .launch(launch)
            .store(store::store_for_next_build(python_version))
            .build()
    }

    fn on_error(&self, error: libcnb::Error<Self::Error>) {
        errors::on_error(&error);
    }
}

buildpack_main!(PythonBuildpack);

mod detect;
mod errors;
mod inventory;
mod package_manager;
mod python_version;
mod steps;
mod version_sources;

use crate::errors::BuildpackError;
use bullet_stream::global::print;
use libcnb::build::{BuildContext, BuildResult, BuildResultBuilder};
use libcnb::detect::{DetectContext, DetectResult, DetectResultBuilder};
use libcnb::generic::{GenericMetadata, GenericPlatform};
use libcnb::{Buildpack, buildpack_main};

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
        let env = libcnb::Env::from_current();
        let launch = steps::run(&context, &env)?;
        print::all_done(&Some(started));
        BuildResultBuilder::new().launch(launch).build()
    }

    fn on_error(&self, error: libcnb::Error<Self::Error>) {
        errors::on_error(error);
    }
}

buildpack_main!(PythonBuildpack);

//! Build work that makes no layer of its own (apart from the tiny `web_concurrency` launch
//! layer): Django's collectstatic and the image's processes. Runs after the dependencies are
//! installed, with their Python on the build env's `PATH`.

mod collectstatic_cache;
mod default_process;
mod django;
mod installed;
mod manage_py;
mod processes;
mod procfile;
mod web_concurrency;

use crate::PythonBuildpack;
use crate::error_message::ErrorMessage;
use crate::errors::BuildpackError;
use libcnb::build::BuildContext;
use libcnb::data::launch::Launch;
use libcnb::{Env, Platform};

/// Every way the steps can fail.
#[derive(Debug)]
pub(crate) enum StepsError {
    InstalledPackages(installed::ProbeError),
    Django(django::DjangoError),
    Procfile(procfile::ProcfileError),
    WebConcurrencyLayer(std::io::Error),
}

impl StepsError {
    pub(crate) fn message(&self) -> ErrorMessage {
        match self {
            Self::InstalledPackages(error) => error.message(),
            Self::Django(error) => error.message(),
            Self::Procfile(error) => error.message(),
            Self::WebConcurrencyLayer(error) => ErrorMessage::new(
                "Unable to write the web_concurrency layer",
                format!(
                    "The program that sets a default WEB_CONCURRENCY at launch could not be \
                     written: {error}"
                ),
            ),
        }
    }
}

impl From<StepsError> for libcnb::Error<BuildpackError> {
    fn from(error: StepsError) -> Self {
        Self::BuildpackError(BuildpackError::Steps(error))
    }
}

/// Runs Django's collectstatic, then decides the image's processes, returning them for
/// `launch.toml`. `env` is the build env with the app's dependencies installed.
pub(crate) fn run(
    context: &BuildContext<PythonBuildpack>,
    env: &Env,
) -> Result<Launch, libcnb::Error<BuildpackError>> {
    let app_dir = &context.app_dir;
    // Checked with the other settings before the build started.
    let limit = crate::limited_command::time_limit(context.platform.env())
        .unwrap_or(crate::limited_command::DEFAULT_TIME_LIMIT);
    let installed =
        installed::installed_packages(env, limit).map_err(StepsError::InstalledPackages)?;
    let manage_py = manage_py::ManagePy::find(app_dir);
    django::collectstatic(context, env, &installed, manage_py.as_ref(), limit)?;
    let launch = processes::processes(app_dir, &installed, manage_py.as_ref())
        .map_err(StepsError::Procfile)?;
    if installed.gunicorn.is_some() || installed.uvicorn.is_some() {
        web_concurrency::install(context)?;
    }
    Ok(launch)
}

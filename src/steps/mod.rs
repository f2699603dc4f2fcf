//! Build work that makes no layer of its own (apart from the tiny `web_concurrency` launch
//! layer): Django's collectstatic, the app's `bin/post_compile` hook and the image's processes.
//! Runs after the dependencies are installed, with their Python on the build env's `PATH`.
//! (The `bin/pre_compile` hook runs at the very start of the build: [`run_pre_compile`].)

mod collectstatic_cache;
mod default_process;
mod django;
mod hooks;
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
    Hook(hooks::HookError),
    Procfile(procfile::ProcfileError),
    WebConcurrencyLayer(std::io::Error),
}

impl StepsError {
    pub(crate) fn message(&self) -> ErrorMessage {
        match self {
            Self::InstalledPackages(error) => error.message(),
            Self::Django(error) => error.message(),
            Self::Hook(error) => error.message(),
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

/// Runs the app's `bin/pre_compile` hook, if it has one, with the build image's env and the
/// platform env (no Python of this buildpack exists yet).
pub(crate) fn run_pre_compile(
    context: &BuildContext<PythonBuildpack>,
) -> Result<(), libcnb::Error<BuildpackError>> {
    use libcnb::Platform;
    hooks::run(
        &context.app_dir,
        &Env::from_current(),
        context.platform.env(),
        hooks::Hook::PreCompile,
    )
    .map_err(|error| StepsError::Hook(error).into())
}

/// Runs Django's collectstatic and the app's `bin/post_compile` hook, then decides the image's processes, returning them for
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
    hooks::run(
        app_dir,
        env,
        context.platform.env(),
        hooks::Hook::PostCompile,
    )
    .map_err(StepsError::Hook)?;
    let launch = processes::processes(app_dir, &installed, manage_py.as_ref())
        .map_err(StepsError::Procfile)?;
    if installed.gunicorn.is_some() || installed.uvicorn.is_some() {
        web_concurrency::install(context)?;
    }
    Ok(launch)
}

use crate::error_message::ErrorMessage;
use crate::inventory::InventoryError;
use crate::layers::python::PythonLayerError;
use crate::package_manager::PackageManagerError;
use bullet_stream::global::print;
use indoc::formatdoc;

/// Every way the buildpack can fail. Each concern owns its error type, defined next to the code
/// that raises it, together with the message a user sees (`fn message(&self) -> ErrorMessage`).
#[derive(Debug)]
pub(crate) enum BuildpackError {
    /// Django's collectstatic, the Procfile and the default processes.
    Steps(crate::steps::StepsError),
    /// A setting in the build environment that would break the build (`checks.rs`).
    Checks(crate::checks::ChecksError),
    /// Installing pip into the packaging-tools layer failed (`layers/pip.rs`).
    PackagingTools(crate::layers::pip::PackagingToolsError),
    /// Installing the app's dependencies failed (`layers/venv.rs`).
    Dependencies(crate::layers::venv::DependenciesError),
    /// Installing a uv, Poetry or Pipenv app's dependencies failed (`layers/locked_venv.rs`).
    LockedDependencies(crate::layers::locked_venv::LockedDependenciesError),
    /// `BP_PYTHON_INSTALLER`, and uv's (or a lockless pyproject's) install (`layers/installer.rs`).
    Installer(crate::layers::installer::InstallerError),
    /// A `pyproject.toml` without a lockfile that can't be installed (`pyproject_deps.rs`).
    Pyproject(crate::pyproject_deps::PyprojectError),
    Inventory(InventoryError),
    PackageManager(PackageManagerError),
    PythonLayer(PythonLayerError),
    /// No Python version could be chosen (bad version file, conflict, end of life...).
    PythonVersion(crate::python_version::PythonVersionError),
    /// Listing a layer's contents for the image's SBOM failed (`sbom.rs`).
    Sbom(crate::sbom::SbomError),
}

impl From<BuildpackError> for libcnb::Error<BuildpackError> {
    fn from(error: BuildpackError) -> Self {
        Self::BuildpackError(error)
    }
}

pub(crate) fn on_error(error: &libcnb::Error<BuildpackError>) {
    print::error(error_message(error).render());
}

fn error_message(error: &libcnb::Error<BuildpackError>) -> ErrorMessage {
    match error {
        libcnb::Error::BuildpackError(error) => buildpack_error_message(error),
        other => internal_error_message(other),
    }
}

fn buildpack_error_message(error: &BuildpackError) -> ErrorMessage {
    match error {
        BuildpackError::Steps(error) => error.message(),
        BuildpackError::Checks(error) => error.message(),
        BuildpackError::PackagingTools(error) => error.message(),
        BuildpackError::Dependencies(error) => error.message(),
        BuildpackError::LockedDependencies(error) => error.message(),
        BuildpackError::Installer(error) => error.message(),
        BuildpackError::Pyproject(error) => error.message(),
        BuildpackError::Inventory(error) => error.message(),
        BuildpackError::PackageManager(error) => error.message(),
        BuildpackError::PythonLayer(error) => error.message(),
        BuildpackError::PythonVersion(error) => error.message(),
        BuildpackError::Sbom(error) => error.message(),
    }
}

fn internal_error_message(error: &impl std::fmt::Display) -> ErrorMessage {
    ErrorMessage::new(
        "Internal buildpack error",
        formatdoc! {"
            An unexpected error occurred inside the buildpack or while the buildpack talked to
            the build platform: {error}

            This is a bug in the buildpack or a problem with the build platform, not with your
            app. Try the build again; if it keeps failing, please open an issue with this output.
        "},
    )
}

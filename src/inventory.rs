use crate::python_version::PythonVersion;

/// One downloadable CPython build: an archive in python-build-standalone's `install_only_stripped`
/// layout (a single top-level `python/` directory) and its SHA-256 digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Artifact {
    pub(crate) version: PythonVersion,
    /// CNB target OS, e.g. `linux`.
    pub(crate) os: String,
    /// CNB target arch: `amd64` or `arm64`.
    pub(crate) arch: String,
    /// Absolute `http(s)://` URL or local file path, already resolved against the inventory's
    /// own location.
    pub(crate) url: String,
    /// Lowercase hex SHA-256 of the archive.
    pub(crate) sha256: String,
}

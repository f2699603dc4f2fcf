//! A local Cloud Native Buildpacks platform that runs one buildpack the way the lifecycle
//! does (detect, restore, build, export, launch), for tests and for trying a buildpack
//! without Docker. See `README.md` in this crate.

mod build_user;
mod buildpack;
mod files;
mod launch;
pub mod launch_env;
mod launcher;
mod layers;
mod output;
mod pack;
mod platform;
mod sbom;
mod spares;
mod target;
pub mod testing;
mod timings;

pub use build_user::{BuildUser, GROUP_ID_VAR, USER_ID_VAR};
pub use buildpack::{Buildpack, package_crate, package_crate_once};
pub use launch::{LAUNCH_ERROR_CODE, LaunchCommand, RunningProcess, launch_command};
pub use layers::{LayerTypes, Process};
pub use output::Output;
pub use platform::{
    BuildOutcome, BuildRequest, ExportSnapshot, LaunchImage, LayerSnapshot, Platform,
};
pub use target::Target;
pub use timings::TIMINGS_VAR;

use std::fmt;
use std::path::Path;

/// An error of the platform itself (I/O, an unusable buildpack or work dir), as opposed to a
/// failed build, which is a [`BuildOutcome`] with `success == false`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformError(String);

impl PlatformError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    pub(crate) fn io(action: &str, path: &Path, error: &std::io::Error) -> Self {
        Self(format!("Error {action} {}: {error}", path.display()))
    }
}

impl fmt::Display for PlatformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlatformError {}

#[cfg(test)]
use indoc as _;
// Only the local test backend uses tempfile.
#[cfg(feature = "pack")]
use tempfile as _;
// Only the local test backend names SBOM formats and buildpack ids.
#[cfg(feature = "pack")]
use libcnb_data as _;

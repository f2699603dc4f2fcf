//! The part of every cache key that identifies the Python runtime: packages built or installed
//! for one runtime are not valid for another. Each cached layer's metadata embeds a
//! [`RuntimeKey`]; when it differs, the layer is discarded and [`RuntimeKey::changes`] says why.
//! Reuse it for every layer that holds something built for the runtime (uv, Poetry, Pipenv and
//! their caches).

use crate::python_version::PythonVersion;
use libcnb::Target;
use serde::{Deserialize, Serialize};

/// Strings only: the lifecycle round-trips layer metadata through JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuntimeKey {
    pub(crate) python_version: String,
    pub(crate) arch: String,
    pub(crate) distro_name: String,
    pub(crate) distro_version: String,
}

impl RuntimeKey {
    pub(crate) fn new(python_version: PythonVersion, target: &Target) -> Self {
        Self {
            python_version: python_version.to_string(),
            arch: target.arch.clone(),
            distro_name: target.distro_name.clone(),
            distro_version: target.distro_version.clone(),
        }
    }

    /// One sentence per field that differs between a cached layer's key and this build's.
    pub(crate) fn changes(&self, cached: &Self) -> Vec<String> {
        let Self {
            python_version,
            arch,
            distro_name,
            distro_version,
        } = self;
        let mut changes = Vec::new();
        if *python_version != cached.python_version {
            changes.push(format!(
                "The Python version changed from {} to {python_version}",
                cached.python_version
            ));
        }
        if *arch != cached.arch {
            changes.push(format!(
                "The CPU architecture changed from {} to {arch}",
                cached.arch
            ));
        }
        if *distro_name != cached.distro_name || *distro_version != cached.distro_version {
            changes.push(format!(
                "The OS distribution changed from {} {} to {distro_name} {distro_version}",
                cached.distro_name, cached.distro_version
            ));
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(python_version: &str, arch: &str, distro_version: &str) -> RuntimeKey {
        RuntimeKey {
            python_version: python_version.to_string(),
            arch: arch.to_string(),
            distro_name: "ubuntu".to_string(),
            distro_version: distro_version.to_string(),
        }
    }

    #[test]
    fn every_changed_field_is_a_reason() {
        assert_eq!(
            key("3.13.0", "arm64", "24.04").changes(&key("3.12.1", "amd64", "22.04")),
            [
                "The Python version changed from 3.12.1 to 3.13.0",
                "The CPU architecture changed from amd64 to arm64",
                "The OS distribution changed from ubuntu 22.04 to ubuntu 24.04",
            ]
        );
        assert!(
            key("3.13.0", "amd64", "24.04")
                .changes(&key("3.13.0", "amd64", "24.04"))
                .is_empty()
        );
    }

    #[test]
    fn serialized_form_is_pinned() {
        // Changing this format discards every user's cache: do it deliberately.
        assert_eq!(
            toml::to_string(&key("3.13.0", "amd64", "24.04")).unwrap(),
            "python_version = \"3.13.0\"\narch = \"amd64\"\ndistro_name = \"ubuntu\"\ndistro_version = \"24.04\"\n"
        );
    }
}

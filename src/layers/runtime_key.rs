//! The part of every cache key that identifies the Python runtime: packages built or installed
//! for one runtime are not valid for another. Each cached layer's metadata embeds a
//! [`RuntimeKey`]; when it differs, the layer is discarded and [`RuntimeKey::changes`] says why.
//! Reuse it for every layer that holds something built for the runtime (uv, Poetry, Pipenv and
//! their caches).

use crate::PythonBuildpack;
use crate::errors::BuildpackError;
use crate::python_version::PythonVersion;
use libcnb::Target;
use libcnb::build::BuildContext;
use libcnb::data::layer::LayerName;
use libcnb::layer::{CachedLayerDefinition, InvalidMetadataAction, LayerRef, RestoredLayerAction};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

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

/// "The {tool} version changed from {cached} to {new}", when the versions differ.
pub(crate) fn version_change(tool: &str, new: &str, cached: &str) -> Option<String> {
    (new != cached).then(|| format!("The {tool} version changed from {cached} to {new}"))
}

/// One sentence per input file (path → SHA-256 of its contents) that was added, changed or
/// removed since the cached build.
pub(crate) fn input_changes(
    inputs: &BTreeMap<String, String>,
    cached: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut changes = Vec::new();
    for (input, digest) in inputs {
        match cached.get(input) {
            None => changes.push(format!("{input} was added")),
            Some(cached_digest) if cached_digest != digest => {
                changes.push(format!("{input} changed"));
            }
            Some(_) => {}
        }
    }
    for input in cached.keys() {
        if !inputs.contains_key(input) {
            changes.push(format!("{input} was removed"));
        }
    }
    changes
}

/// Creates or restores a cache-only layer (neither in the image nor in later buildpacks'
/// env): a restored layer is deleted when `changes` gives any reason against its metadata (the
/// reasons are the `RestoredLayerAction` cause), and one whose metadata doesn't deserialise is
/// deleted.
pub(crate) fn cache_only_layer<M>(
    context: &BuildContext<PythonBuildpack>,
    name: LayerName,
    changes: impl Fn(&M) -> Vec<String>,
) -> libcnb::Result<LayerRef<PythonBuildpack, (), Vec<String>>, BuildpackError>
where
    M: Serialize + DeserializeOwned,
{
    context.cached_layer(
        name,
        CachedLayerDefinition {
            build: false,
            launch: false,
            invalid_metadata_action: &|_| InvalidMetadataAction::DeleteLayer,
            restored_layer_action: &|cached: &M, _: &Path| {
                let changes = changes(cached);
                if changes.is_empty() {
                    (RestoredLayerAction::KeepLayer, changes)
                } else {
                    (RestoredLayerAction::DeleteLayer, changes)
                }
            },
        },
    )
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

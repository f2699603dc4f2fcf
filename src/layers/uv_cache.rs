//! uv's cache directory (`UV_CACHE_DIR`) as the cache-only layer `uv-cache`, so that after a
//! lock change `uv sync` downloads only the packages that are new. Discarded when the runtime
//! ([`RuntimeKey`]) or the uv version changes (uv's cache format is versioned by uv).

use crate::PythonBuildpack;
use crate::errors::BuildpackError;
use crate::layers::runtime_key::{RuntimeKey, cache_only_layer, version_change};
use crate::packaging_tool_versions::UV_VERSION;
use crate::python_version::PythonVersion;
use bullet_stream::global::print;
use libcnb::build::BuildContext;
use libcnb::data::layer_name;
use libcnb::layer::{EmptyLayerCause, LayerState};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Strings only: the lifecycle round-trips layer metadata through JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UvCacheMetadata {
    runtime: RuntimeKey,
    uv_version: String,
}

impl UvCacheMetadata {
    fn changes(&self, cached: &Self) -> Vec<String> {
        let Self {
            runtime,
            uv_version,
        } = self;
        let mut changes = runtime.changes(&cached.runtime);
        changes.extend(version_change("uv", uv_version, &cached.uv_version));
        changes
    }
}

/// Creates or restores the cache layer and returns the directory to pass as `UV_CACHE_DIR`.
/// With `announce`, says whether the cache is used or why it was discarded (pass `false` when
/// uv won't run: the layer is only declared again so that the platform keeps it).
pub(crate) fn prepare_uv_cache(
    context: &BuildContext<PythonBuildpack>,
    python_version: PythonVersion,
    announce: bool,
) -> libcnb::Result<PathBuf, BuildpackError> {
    let metadata = UvCacheMetadata {
        runtime: RuntimeKey::new(python_version, &context.target),
        uv_version: UV_VERSION.to_string(),
    };
    let layer = cache_only_layer(
        context,
        layer_name!("uv-cache"),
        |cached: &UvCacheMetadata| metadata.changes(cached),
    )?;
    match layer.state {
        _ if !announce => {}
        LayerState::Restored { .. } => print::sub_bullet("Using uv's cached downloads"),
        LayerState::Empty {
            cause: EmptyLayerCause::RestoredLayerAction { cause: ref changes },
        } => print::sub_bullet(format!(
            "Discarding uv's cache because: {}",
            changes.join("; ")
        )),
        LayerState::Empty { .. } => {}
    }
    // The cache is valid whatever happens next: uv only adds complete entries.
    layer.write_metadata(metadata)?;
    Ok(layer.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_is_a_reason() {
        let runtime = |python: &str| RuntimeKey {
            python_version: python.to_string(),
            arch: "amd64".to_string(),
            distro_name: "ubuntu".to_string(),
            distro_version: "24.04".to_string(),
        };
        let new = UvCacheMetadata {
            runtime: runtime("3.13.0"),
            uv_version: "0.13.8".to_string(),
        };
        let old = UvCacheMetadata {
            runtime: runtime("3.12.1"),
            uv_version: "0.13.7".to_string(),
        };
        assert_eq!(
            new.changes(&old),
            [
                "The Python version changed from 3.12.1 to 3.13.0",
                "The uv version changed from 0.13.7 to 0.13.8",
            ]
        );
        assert!(new.changes(&new.clone()).is_empty());
    }
}

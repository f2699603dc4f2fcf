//! pip's cache directory (`PIP_CACHE_DIR`) as a cache-only layer, discarded when the runtime
//! changes ([`RuntimeKey`]).
//!
//! What it holds and when it helps: wheels pip built from sdists (keyed by the sdist's URL and
//! hash, so they are reused whatever the index sends), and pip's HTTP cache of downloaded files,
//! which only fills when the index sends caching headers (pypi.org does; some mirrors and
//! proxies don't). It matters when the dependencies environment is rebuilt from scratch (a pip
//! upgrade that needs a clean environment, or a build that failed midway). Adding a package to
//! an unchanged runtime downloads only that package whatever the index sends, because the
//! dependencies layer is updated in place (see `venv.rs`).

use crate::PythonBuildpack;
use crate::errors::BuildpackError;
use crate::layers::runtime_key::{RuntimeKey, cache_only_layer};
use crate::python_version::PythonVersion;
use bullet_stream::global::print;
use libcnb::build::BuildContext;
use libcnb::data::layer_name;
use libcnb::layer::{EmptyLayerCause, LayerState};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PipCacheMetadata {
    runtime: RuntimeKey,
}

/// Creates or restores the cache layer and returns the directory to pass as `PIP_CACHE_DIR`.
/// With `announce`, says whether the cache is used or why it was discarded (pass `false` when
/// pip won't run: the layer is only declared again so that the platform keeps it).
pub(crate) fn prepare_pip_cache(
    context: &BuildContext<PythonBuildpack>,
    python_version: PythonVersion,
    announce: bool,
) -> libcnb::Result<PathBuf, BuildpackError> {
    let metadata = PipCacheMetadata {
        runtime: RuntimeKey::new(python_version, &context.target),
    };
    let layer = cache_only_layer(
        context,
        layer_name!("pip-cache"),
        |cached: &PipCacheMetadata| metadata.runtime.changes(&cached.runtime),
    )?;
    match layer.state {
        _ if !announce => {}
        LayerState::Restored { .. } => {
            print::sub_bullet("Using pip's cached downloads and built wheels");
        }
        LayerState::Empty {
            cause: EmptyLayerCause::RestoredLayerAction { cause: ref changes },
        } => print::sub_bullet(format!(
            "Discarding pip's cache because: {}",
            changes.join("; ")
        )),
        LayerState::Empty { .. } => {}
    }
    // The cache is valid whatever happens next: pip only adds complete entries.
    layer.write_metadata(metadata)?;
    Ok(layer.path())
}

//! What the buildpack remembers between builds in `store.toml`, beside its layers: the Python
//! version of the last build, so that an app that pins nothing keeps its minor version.

use crate::python_version::PythonVersion;
use libcnb::data::store::Store;

const PYTHON_VERSION_KEY: &str = "python_version";

/// The Python version of the previous build, if it was remembered and is well-formed.
pub(crate) fn previous_python_version(store: Option<&Store>) -> Option<PythonVersion> {
    store?
        .metadata
        .get(PYTHON_VERSION_KEY)?
        .as_str()?
        .parse()
        .ok()
}

pub(crate) fn store_for_next_build(python_version: PythonVersion) -> Store {
    let mut store = Store::default();
    store.metadata.insert(
        PYTHON_VERSION_KEY.to_string(),
        python_version.to_string().into(),
    );
    store
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_python_version_round_trips_through_the_store() {
        let store = store_for_next_build(PythonVersion::new(3, 13, 1));
        assert_eq!(
            previous_python_version(Some(&store)),
            Some(PythonVersion::new(3, 13, 1))
        );
        assert_eq!(previous_python_version(None), None);
        assert_eq!(previous_python_version(Some(&Store::default())), None);
        let mut garbled = Store::default();
        garbled
            .metadata
            .insert(PYTHON_VERSION_KEY.to_string(), "3.13".to_string().into());
        assert_eq!(previous_python_version(Some(&garbled)), None);
    }
}

//! `Pipfile.lock` (JSON): `_meta.requires.python_full_version` and/or `python_version`, copied
//! by `pipenv lock` from the Pipfile's `[requires]` section.

use super::file::read_text;
use super::{Pin, PipfileKey, VersionSource};
use crate::python_version::PythonVersionError;
use serde::Deserialize;
use std::path::Path;

pub(super) const FILE: &str = "Pipfile.lock";

#[derive(Deserialize)]
struct PipfileLock {
    #[serde(rename = "_meta")]
    meta: Option<Meta>,
}

#[derive(Deserialize)]
struct Meta {
    requires: Option<Requires>,
}

#[derive(Deserialize)]
struct Requires {
    python_version: Option<String>,
    python_full_version: Option<String>,
}

pub(super) fn read(app_dir: &Path) -> Result<Vec<Pin>, PythonVersionError> {
    read_text(app_dir, FILE)?.map_or(Ok(Vec::new()), |text| parse(&text))
}

fn parse(text: &str) -> Result<Vec<Pin>, PythonVersionError> {
    let lock: PipfileLock = serde_json::from_str(text).map_err(|error| {
        let position = format!(" at line {} column {}", error.line(), error.column());
        let message = error.to_string();
        PythonVersionError::Syntax {
            file: FILE,
            line: error.line(),
            column: error.column().max(1),
            error: message
                .strip_suffix(&position)
                .unwrap_or(&message)
                .to_string(),
        }
    })?;
    let Some(requires) = lock.meta.and_then(|meta| meta.requires) else {
        return Ok(Vec::new());
    };
    [
        (PipfileKey::PythonFullVersion, requires.python_full_version),
        (PipfileKey::PythonVersion, requires.python_version),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.map(|value| (key, value)))
    .map(|(key, value)| {
        let source = VersionSource::PipfileLock(key);
        let raw = value.trim().to_string();
        let version = raw
            .parse()
            .map_err(|()| PythonVersionError::InvalidVersion {
                source,
                line: None,
                value: raw.clone(),
            })?;
        Ok(Pin {
            source,
            line: None,
            raw,
            version,
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_meta_requires() {
        let pins = parse(
            r#"{"_meta": {"hash": {"sha256": "ab"}, "pipfile-spec": 6,
                "requires": {"python_version": "3.12", "python_full_version": "3.12.1"}},
               "default": {}, "develop": {}}"#,
        )
        .unwrap();
        let described: Vec<_> = pins.iter().map(Pin::describe_with_line).collect();
        assert_eq!(
            described,
            [
                "Pipfile.lock _meta.requires.python_full_version: 3.12.1",
                "Pipfile.lock _meta.requires.python_version: 3.12",
            ]
        );
    }

    #[test]
    fn no_requires_means_no_pin() {
        assert_eq!(parse(r#"{"_meta": {"requires": {}}}"#), Ok(Vec::new()));
        assert_eq!(parse(r#"{"default": {}}"#), Ok(Vec::new()));
    }

    #[test]
    fn rejects_malformed_values_and_json() {
        assert_eq!(
            parse(r#"{"_meta": {"requires": {"python_version": "3"}}}"#),
            Err(PythonVersionError::InvalidVersion {
                source: VersionSource::PipfileLock(PipfileKey::PythonVersion),
                line: None,
                value: "3".to_string()
            })
        );
        assert_eq!(
            parse("{\n  \"_meta\": {\"requires\": {\"python_version\": 3.12}}}"),
            Err(PythonVersionError::Syntax {
                file: "Pipfile.lock",
                line: 2,
                column: 47,
                error: "invalid type: floating point `3.12`, expected a string".to_string()
            })
        );
        assert!(matches!(
            parse("{\"_meta\": "),
            Err(PythonVersionError::Syntax {
                file: "Pipfile.lock",
                ..
            })
        ));
    }
}

//! `Pipfile` (TOML): `[requires]` `python_full_version = "3.12.1"` and/or
//! `python_version = "3.12"`.

use super::file::{line_and_column, parse_toml, read_text};
use super::{Pin, PipfileKey, VersionSource};
use crate::python_version::PythonVersionError;
use serde::Deserialize;
use std::path::Path;
use toml::Spanned;

pub(super) const FILE: &str = "Pipfile";

#[derive(Deserialize)]
struct Pipfile {
    requires: Option<Requires>,
}

#[derive(Deserialize)]
struct Requires {
    python_version: Option<Spanned<String>>,
    python_full_version: Option<Spanned<String>>,
}

pub(super) fn read(app_dir: &Path) -> Result<Vec<Pin>, PythonVersionError> {
    read_text(app_dir, FILE)?.map_or(Ok(Vec::new()), |text| parse(&text))
}

fn parse(text: &str) -> Result<Vec<Pin>, PythonVersionError> {
    let pipfile: Pipfile = parse_toml(FILE, text)?;
    let Some(requires) = pipfile.requires else {
        return Ok(Vec::new());
    };
    [
        (PipfileKey::PythonFullVersion, requires.python_full_version),
        (PipfileKey::PythonVersion, requires.python_version),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.map(|value| (key, value)))
    .map(|(key, value)| {
        let source = VersionSource::Pipfile(key);
        let line = Some(line_and_column(text, value.span().start).0);
        let raw = value.into_inner().trim().to_string();
        let version = raw
            .parse()
            .map_err(|()| PythonVersionError::InvalidVersion {
                source,
                line,
                value: raw.clone(),
            })?;
        Ok(Pin {
            source,
            line,
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
    fn reads_both_keys_exact_first() {
        let pins = parse(
            "[[source]]\nurl = \"https://pypi.org/simple\"\n\n[packages]\nflask = \"*\"\n\n\
             [requires]\npython_version = \"3.12\"\npython_full_version = \"3.12.1\"\n",
        )
        .unwrap();
        let described: Vec<_> = pins.iter().map(Pin::describe_with_line).collect();
        assert_eq!(
            described,
            [
                "Pipfile [requires] python_full_version (line 9): 3.12.1",
                "Pipfile [requires] python_version (line 8): 3.12",
            ]
        );
    }

    #[test]
    fn no_requires_section_means_no_pin() {
        assert_eq!(parse("[packages]\nflask = \"*\"\n"), Ok(Vec::new()));
        assert_eq!(parse("[requires]\n"), Ok(Vec::new()));
    }

    #[test]
    fn rejects_malformed_values_and_toml() {
        assert_eq!(
            parse("[requires]\npython_version = \"3.x\"\n"),
            Err(PythonVersionError::InvalidVersion {
                source: VersionSource::Pipfile(PipfileKey::PythonVersion),
                line: Some(2),
                value: "3.x".to_string()
            })
        );
        assert_eq!(
            parse("[requires]\npython_version = 3.12\n"),
            Err(PythonVersionError::Syntax {
                file: "Pipfile",
                line: 2,
                column: 18,
                error: "invalid type: floating point `3.12`, expected a string".to_string()
            })
        );
        assert!(matches!(
            parse("[requires\n"),
            Err(PythonVersionError::Syntax {
                file: "Pipfile",
                line: 1,
                ..
            })
        ));
    }
}

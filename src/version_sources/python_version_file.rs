//! `.python-version`, as pyenv and uv write it: one version per line, `#` comments and blank
//! lines allowed. Like pyenv, the first version listed is the one used.

use super::file::read_text;
use super::{Pin, VersionSource};
use crate::python_version::PythonVersionError;
use std::path::Path;

pub(super) const FILE: &str = ".python-version";

pub(super) fn read(app_dir: &Path) -> Result<Vec<Pin>, PythonVersionError> {
    read_text(app_dir, FILE)?
        .map(|text| parse(&text))
        .transpose()
        .map(|pin| pin.into_iter().collect())
}

fn parse(text: &str) -> Result<Pin, PythonVersionError> {
    let source = VersionSource::PythonVersionFile;
    let (index, value) = text
        .lines()
        .map(str::trim)
        .enumerate()
        .find(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .ok_or(PythonVersionError::MissingVersion { source })?;
    let version = value
        .parse()
        .map_err(|()| PythonVersionError::InvalidVersion {
            source,
            line: Some(index + 1),
            value: value.to_string(),
        })?;
    Ok(Pin {
        source,
        line: Some(index + 1),
        raw: value.to_string(),
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_the_first_version_and_skips_comments() {
        let pin = parse("# pinned for prod\n\n  3.12.1  \r\n3.11\nsystem\n").unwrap();
        assert_eq!(pin.describe_with_line(), ".python-version (line 3): 3.12.1");
        assert_eq!(pin.version.to_string(), "3.12.1");
        assert_eq!(parse("3.13").unwrap().version.to_string(), "3.13");
    }

    #[test]
    fn rejects_names_and_malformed_versions() {
        for (text, line, value) in [
            ("system\n", 1, "system"),
            ("\n# x\npypy3.10\n", 3, "pypy3.10"),
            ("3.12 3.11\n", 1, "3.12 3.11"),
            ("3.13t\n", 1, "3.13t"),
            ("python-3.12\n", 1, "python-3.12"),
            ("3\n", 1, "3"),
        ] {
            assert_eq!(
                parse(text),
                Err(PythonVersionError::InvalidVersion {
                    source: VersionSource::PythonVersionFile,
                    line: Some(line),
                    value: value.to_string()
                })
            );
        }
    }

    #[test]
    fn a_file_without_a_version_is_an_error() {
        for text in ["", "\n\n", "# 3.12\n"] {
            assert_eq!(
                parse(text),
                Err(PythonVersionError::MissingVersion {
                    source: VersionSource::PythonVersionFile
                })
            );
        }
    }
}

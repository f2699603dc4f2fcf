//! `runtime.txt`: a single line `python-X.Y.Z` or `python-X.Y` (the classic Heroku form).

use super::file::read_text;
use super::{Pin, VersionSource};
use crate::python_version::PythonVersionError;
use std::path::Path;

pub(super) const FILE: &str = "runtime.txt";

pub(super) fn read(app_dir: &Path) -> Result<Vec<Pin>, PythonVersionError> {
    read_text(app_dir, FILE)?
        .map(|text| parse(&text))
        .transpose()
        .map(|pin| pin.into_iter().collect())
}

fn parse(text: &str) -> Result<Pin, PythonVersionError> {
    let source = VersionSource::RuntimeTxt;
    let mut lines = text
        .lines()
        .map(str::trim)
        .enumerate()
        .filter(|(_, line)| !line.is_empty());
    let (index, value) = lines
        .next()
        .ok_or(PythonVersionError::MissingVersion { source })?;
    let invalid = |index: usize, value: &str| PythonVersionError::InvalidVersion {
        source,
        line: Some(index + 1),
        value: value.to_string(),
    };
    let version = value
        .strip_prefix("python-")
        .and_then(|version| version.parse().ok())
        .ok_or_else(|| invalid(index, value))?;
    if let Some((extra_index, extra)) = lines.next() {
        return Err(invalid(extra_index, extra));
    }
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
    fn parses_exact_and_minor_versions() {
        let pin = parse("python-3.11.9\n").unwrap();
        assert_eq!(
            pin.describe_with_line(),
            "runtime.txt (line 1): python-3.11.9"
        );
        assert_eq!(pin.version.to_string(), "3.11.9");
        let pin = parse("\n  python-3.12 \r\n\n").unwrap();
        assert_eq!(
            (pin.line, pin.version.to_string()),
            (Some(2), "3.12".into())
        );
        assert_eq!(parse("python-2.7.8").unwrap().version.to_string(), "2.7.8");
    }

    #[test]
    fn rejects_other_forms_and_extra_lines() {
        for (text, line, value) in [
            ("3.12.1\n", 1, "3.12.1"),
            ("Python-3.12\n", 1, "Python-3.12"),
            ("python-3\n", 1, "python-3"),
            ("python-3.12.x\n", 1, "python-3.12.x"),
            ("pypy3.10-7.3\n", 1, "pypy3.10-7.3"),
            ("python-3.12.1\npython-3.11\n", 2, "python-3.11"),
        ] {
            assert_eq!(
                parse(text),
                Err(PythonVersionError::InvalidVersion {
                    source: VersionSource::RuntimeTxt,
                    line: Some(line),
                    value: value.to_string()
                }),
                "{text}"
            );
        }
        assert_eq!(
            parse(" \n"),
            Err(PythonVersionError::MissingVersion {
                source: VersionSource::RuntimeTxt
            })
        );
    }
}

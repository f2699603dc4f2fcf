//! `BP_PYTHON_VERSION`: a platform env override, `X.Y` or `X.Y.Z`.

use super::{Pin, VersionSource};
use crate::python_version::PythonVersionError;
use std::ffi::OsStr;

pub(super) fn parse(value: &OsStr) -> Result<Pin, PythonVersionError> {
    let source = VersionSource::EnvVar;
    let value = value.to_str().ok_or(PythonVersionError::NotUtf8 {
        file: source.file(),
        line: 1,
    })?;
    super::file::check_control_characters(source.file(), value)?;
    let raw = value.trim();
    let version = raw
        .parse()
        .map_err(|()| PythonVersionError::InvalidVersion {
            source,
            line: None,
            value: raw.to_string(),
        })?;
    Ok(Pin {
        source,
        line: None,
        raw: raw.to_string(),
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> Result<Pin, PythonVersionError> {
        super::parse(OsStr::new(value))
    }

    #[test]
    fn parses_versions() {
        assert_eq!(parse("3.12").unwrap().describe(), "BP_PYTHON_VERSION: 3.12");
        assert_eq!(parse(" 3.12.1\n").unwrap().version.to_string(), "3.12.1");
    }

    #[test]
    fn rejects_empty_and_malformed_values() {
        for value in ["", "  ", "latest", "python-3.12", "3.12.*"] {
            assert_eq!(
                parse(value),
                Err(PythonVersionError::InvalidVersion {
                    source: VersionSource::EnvVar,
                    line: None,
                    value: value.trim().to_string()
                })
            );
        }
        assert_eq!(
            parse("3.12\u{1b}[0m"),
            Err(PythonVersionError::ControlCharacter {
                file: "BP_PYTHON_VERSION",
                line: 1,
                character: '\u{1b}'
            })
        );
        let not_utf8 = std::os::unix::ffi::OsStrExt::from_bytes(b"3.1\xff");
        assert_eq!(
            super::parse(not_utf8),
            Err(PythonVersionError::NotUtf8 {
                file: "BP_PYTHON_VERSION",
                line: 1
            })
        );
    }
}

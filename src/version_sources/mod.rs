//! Every place a user can ask for a Python version, and which one wins.
//!
//! Precedence, highest first:
//!
//! 1. `BP_PYTHON_VERSION` (platform env): an explicit override. It wins over every file, and the
//!    build output names the file versions it overrides. Files it overrides aren't validated.
//! 2. `.python-version` (the pyenv / uv file, the recommended pin),
//! 3. `runtime.txt` (`python-3.12.1`, the classic Heroku form),
//! 4. `Pipfile` `[requires]` `python_full_version`, then `python_version`,
//! 5. `Pipfile.lock` `_meta.requires` (generated from the Pipfile, so named after it).
//!
//! Files pin versions and must agree with each other: `3.12` and `3.12.1` agree (the exact
//! version is used), `3.12` and `3.11.9` don't, and the build fails naming both. The order above
//! only decides which file the output names when several agree with the same precision.
//!
//! `pyproject.toml` `[project] requires-python` is a constraint, not a pin: the chosen version
//! must satisfy it, and with no pin it picks the newest version that does.

mod env_var;
mod file;
mod pipfile;
mod pipfile_lock;
mod pyproject;
mod python_version_file;
mod requires_python;
mod runtime_txt;

use crate::python_version::{PythonVersionError, RequestedVersion};
use std::ffi::OsStr;
use std::path::Path;

pub(crate) use requires_python::SpecifierSet;

/// Where a version came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VersionSource {
    EnvVar,
    PythonVersionFile,
    RuntimeTxt,
    Pipfile(PipfileKey),
    PipfileLock(PipfileKey),
}

/// The two keys Pipenv uses for the Python version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PipfileKey {
    PythonVersion,
    PythonFullVersion,
}

impl PipfileKey {
    fn name(self) -> &'static str {
        match self {
            Self::PythonVersion => "python_version",
            Self::PythonFullVersion => "python_full_version",
        }
    }
}

impl VersionSource {
    /// The file (or env var) name.
    pub(crate) fn file(self) -> &'static str {
        match self {
            Self::EnvVar => "BP_PYTHON_VERSION",
            Self::PythonVersionFile => python_version_file::FILE,
            Self::RuntimeTxt => runtime_txt::FILE,
            Self::Pipfile(_) => pipfile::FILE,
            Self::PipfileLock(_) => pipfile_lock::FILE,
        }
    }

    /// The file and, where a file has several, the key: `Pipfile [requires] python_version`.
    pub(crate) fn name(self) -> String {
        match self {
            Self::Pipfile(key) => format!("{} [requires] {}", pipfile::FILE, key.name()),
            Self::PipfileLock(key) => {
                format!("{} _meta.requires.{}", pipfile_lock::FILE, key.name())
            }
            other => other.file().to_string(),
        }
    }

    /// The form the version takes here.
    pub(crate) fn expected_form(self) -> &'static str {
        match self {
            Self::EnvVar => "X.Y or X.Y.Z",
            Self::PythonVersionFile => "X.Y or X.Y.Z, on the first line that isn't a comment",
            Self::RuntimeTxt => "python-X.Y or python-X.Y.Z, on a single line",
            Self::Pipfile(_) | Self::PipfileLock(_) => "a string X.Y or X.Y.Z",
        }
    }

    /// An example of a valid version here.
    pub(crate) fn example(self) -> &'static str {
        match self {
            Self::EnvVar => "BP_PYTHON_VERSION=3.13",
            Self::PythonVersionFile => "3.13",
            Self::RuntimeTxt => "python-3.13",
            Self::Pipfile(_) | Self::PipfileLock(_) => "python_version = \"3.13\"",
        }
    }

    /// How to ask for `version` (`X.Y`) here: an instruction that completes "To fix this, " and
    /// ends with the line to write, so callers add no punctuation after it.
    pub(crate) fn how_to_request(self, version: &str) -> String {
        match self {
            Self::EnvVar => format!(
                "set the BP_PYTHON_VERSION environment variable:\n  BP_PYTHON_VERSION={version}"
            ),
            Self::PythonVersionFile => {
                format!("change the version in .python-version to:\n  {version}")
            }
            Self::RuntimeTxt => {
                format!("replace runtime.txt with a .python-version file containing:\n  {version}")
            }
            Self::Pipfile(_) | Self::PipfileLock(_) => format!(
                "set the version in the [requires] section of Pipfile (without \
                 python_full_version)\nand update Pipfile.lock with 'pipenv lock':\n  \
                 python_version = \"{version}\""
            ),
        }
    }
}

/// One version request found in a file or env var.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pin {
    pub(crate) source: VersionSource,
    /// The 1-based line in the file, where known.
    pub(crate) line: Option<usize>,
    /// The value as written (`python-3.12.1`), trimmed.
    pub(crate) raw: String,
    pub(crate) version: RequestedVersion,
}

impl Pin {
    /// `runtime.txt: python-3.11.9`
    pub(crate) fn describe(&self) -> String {
        format!("{}: {}", self.source.name(), self.raw)
    }

    /// `runtime.txt (line 2)`
    pub(crate) fn location(&self) -> String {
        match self.line {
            Some(line) => format!("{} (line {line})", self.source.name()),
            None => self.source.name(),
        }
    }

    /// `runtime.txt (line 2): python-3.11.9`
    pub(crate) fn describe_with_line(&self) -> String {
        format!("{}: {}", self.location(), self.raw)
    }
}

/// `pyproject.toml` `[project] requires-python`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RequiresPython {
    pub(crate) raw: String,
    pub(crate) line: usize,
    pub(crate) specifiers: SpecifierSet,
}

/// Everything the app asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct VersionRequest {
    /// `BP_PYTHON_VERSION`, when set.
    pub(crate) override_pin: Option<Pin>,
    /// Versions pinned in files, in precedence order. When `override_pin` is set, only the
    /// files that could be read and parsed (they are named as overridden, not validated).
    pub(crate) pins: Vec<Pin>,
    pub(crate) requires_python: Option<RequiresPython>,
}

type PinReader = fn(&Path) -> Result<Vec<Pin>, PythonVersionError>;

/// Reads every version source in the app directory, plus the `BP_PYTHON_VERSION` value.
pub(crate) fn read_version_request(
    app_dir: &Path,
    bp_python_version: Option<&OsStr>,
) -> Result<VersionRequest, PythonVersionError> {
    let override_pin = bp_python_version.map(env_var::parse).transpose()?;
    let readers: [PinReader; 4] = [
        python_version_file::read,
        runtime_txt::read,
        pipfile::read,
        pipfile_lock::read,
    ];
    let mut pins = Vec::new();
    for read in readers {
        match read(app_dir) {
            Ok(found) => pins.extend(found),
            Err(_) if override_pin.is_some() => {}
            Err(error) => return Err(error),
        }
    }
    Ok(VersionRequest {
        override_pin,
        pins,
        requires_python: pyproject::read(app_dir)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn app(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in files {
            fs::write(dir.path().join(name), content).unwrap();
        }
        dir
    }

    #[test]
    fn reads_every_source_in_precedence_order() {
        let dir = app(&[
            (
                "Pipfile.lock",
                r#"{"_meta": {"requires": {"python_version": "3.12"}}}"#,
            ),
            ("Pipfile", "[requires]\npython_full_version = \"3.12.1\"\n"),
            ("runtime.txt", "python-3.12.1\n"),
            (".python-version", "3.12\n"),
            (
                "pyproject.toml",
                "[project]\nrequires-python = \">=3.10\"\n",
            ),
        ]);
        let request = read_version_request(dir.path(), None).unwrap();
        let sources: Vec<String> = request.pins.iter().map(Pin::describe).collect();
        assert_eq!(
            sources,
            [
                ".python-version: 3.12",
                "runtime.txt: python-3.12.1",
                "Pipfile [requires] python_full_version: 3.12.1",
                "Pipfile.lock _meta.requires.python_version: 3.12",
            ]
        );
        assert_eq!(request.override_pin, None);
        assert_eq!(request.requires_python.unwrap().raw, ">=3.10");
    }

    #[test]
    fn empty_app_requests_nothing() {
        let dir = app(&[]);
        assert_eq!(
            read_version_request(dir.path(), None),
            Ok(VersionRequest::default())
        );
    }

    #[test]
    fn malformed_files_fail_unless_overridden() {
        let dir = app(&[
            (".python-version", "system\n"),
            ("runtime.txt", "python-3.11.9"),
        ]);
        assert!(matches!(
            read_version_request(dir.path(), None),
            Err(PythonVersionError::InvalidVersion { .. })
        ));
        let request = read_version_request(dir.path(), Some(OsStr::new("3.13"))).unwrap();
        assert_eq!(
            request.override_pin.unwrap().describe(),
            "BP_PYTHON_VERSION: 3.13"
        );
        assert_eq!(request.pins.len(), 1);
        assert_eq!(request.pins[0].describe(), "runtime.txt: python-3.11.9");
    }

    #[test]
    fn a_malformed_pyproject_fails_even_with_an_override() {
        let dir = app(&[("pyproject.toml", "[project]\nrequires-python = \"3.12\"\n")]);
        assert!(matches!(
            read_version_request(dir.path(), Some(OsStr::new("3.13"))),
            Err(PythonVersionError::InvalidRequiresPython { .. })
        ));
    }
}

#[cfg(test)]
mod message_tests {
    use super::*;
    use std::fs;

    fn error_text(files: &[(&str, &[u8])]) -> String {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in files {
            fs::write(dir.path().join(name), content).unwrap();
        }
        read_version_request(dir.path(), None)
            .unwrap_err()
            .message()
            .render()
    }

    /// The errors as the real parsers produce them, from files on disk.
    #[test]
    fn malformed_files_have_exact_messages() {
        let cases: [(&str, &[u8]); 5] = [
            (".python-version", b"# pinned\n3.1\xe9\n"),
            ("runtime.txt", b"python-3.12\x07\n"),
            (
                "pyproject.toml",
                b"[project]\nname = \"app\"\nrequires-python = >=3.10\n",
            ),
            ("Pipfile", b"[requires]\npython_version = 3.12\n"),
            ("Pipfile.lock", b"{\"_meta\": {\"requires\": \n"),
        ];
        let expected = [
            r"Error: .python-version isn't valid UTF-8

Line 2 of .python-version contains bytes that aren't UTF-8 text, which is
the encoding the buildpack reads .python-version in.

Save .python-version as UTF-8 (or plain ASCII) text, without stray binary bytes.",
            r"Error: runtime.txt contains a control character

Line 1 of runtime.txt contains the control character U+0007, which can't be
part of a Python version.

Remove it: open runtime.txt in an editor that shows invisible characters, or write the
file again.",
            r#"Error: Unable to parse pyproject.toml

pyproject.toml isn't valid TOML (line 3, column 19):
  invalid string
  expected `"`, `'`

Fix the error. The Python versions a project supports are set with:
  [project]
  requires-python = ">=3.10""#,
            r#"Error: Unable to parse Pipfile

Pipfile isn't valid TOML (line 2, column 18):
  invalid type: floating point `3.12`, expected a string

Fix the error. In a Pipfile, the Python version is set with:
  [requires]
  python_version = "3.13""#,
            r"Error: Unable to parse Pipfile.lock

Pipfile.lock isn't valid JSON (line 2, column 1):
  EOF while parsing a value

Pipfile.lock is generated by Pipenv: create it again with 'pipenv lock'.",
        ];
        for ((file, content), expected) in cases.into_iter().zip(expected) {
            assert_eq!(error_text(&[(file, content)]), expected, "{file}");
        }
    }
}

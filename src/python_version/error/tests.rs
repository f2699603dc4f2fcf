use super::*;
use crate::version_sources::{PipfileKey, SpecifierSet};

#[allow(clippy::unnecessary_box_returns)]
fn pin(source: VersionSource, line: Option<usize>, raw: &str, version: &str) -> Box<Pin> {
    Box::new(Pin {
        source,
        line,
        raw: raw.to_string(),
        version: version.parse().unwrap(),
    })
}

fn requires(raw: &str, line: usize) -> RequiresPython {
    RequiresPython {
        raw: raw.to_string(),
        line,
        specifiers: SpecifierSet::parse(raw).unwrap(),
    }
}

fn rendered(error: &PythonVersionError) -> String {
    error.message().render()
}

#[test]
#[allow(clippy::too_many_lines)]
fn every_message_has_its_exact_text() {
    let python_version_file = |raw: &str| pin(VersionSource::PythonVersionFile, Some(1), raw, raw);
    let errors = vec![
        PythonVersionError::ReadFile {
            file: "runtime.txt",
            error: "Permission denied (os error 13)".into(),
        },
        PythonVersionError::TooLarge {
            file: "Pipfile.lock",
        },
        PythonVersionError::NotUtf8 {
            file: ".python-version",
            line: 2,
        },
        PythonVersionError::NotUtf8 {
            file: "BP_PYTHON_VERSION",
            line: 1,
        },
        PythonVersionError::ControlCharacter {
            file: "runtime.txt",
            line: 1,
            character: '\u{0}',
        },
        PythonVersionError::ControlCharacter {
            file: "BP_PYTHON_VERSION",
            line: 1,
            character: '\u{1b}',
        },
        PythonVersionError::Syntax {
            file: "Pipfile",
            line: 2,
            column: 18,
            error: "invalid type: floating point `3.12`, expected a string".into(),
        },
        PythonVersionError::Syntax {
            file: "Pipfile.lock",
            line: 1,
            column: 10,
            error: "EOF while parsing a value".into(),
        },
        PythonVersionError::Syntax {
            file: "pyproject.toml",
            line: 1,
            column: 9,
            error: "invalid table header\nexpected `.`, `]`".into(),
        },
        PythonVersionError::InvalidVersion {
            source: VersionSource::PythonVersionFile,
            line: Some(3),
            value: "system".into(),
        },
        PythonVersionError::InvalidVersion {
            source: VersionSource::RuntimeTxt,
            line: Some(1),
            value: "3.12.1".into(),
        },
        PythonVersionError::InvalidVersion {
            source: VersionSource::Pipfile(PipfileKey::PythonVersion),
            line: Some(8),
            value: "3.x".into(),
        },
        PythonVersionError::InvalidVersion {
            source: VersionSource::EnvVar,
            line: None,
            value: String::new(),
        },
        PythonVersionError::MissingVersion {
            source: VersionSource::PythonVersionFile,
        },
        PythonVersionError::MissingVersion {
            source: VersionSource::RuntimeTxt,
        },
        PythonVersionError::InvalidRequiresPython {
            line: 4,
            value: "^3.10".into(),
            problem:
                "'^3.10' doesn't start with a comparison operator (one of ~= == != <= >= < > ===)"
                    .into(),
        },
        PythonVersionError::Conflict {
            first: python_version_file("3.12"),
            second: pin(
                VersionSource::RuntimeTxt,
                Some(1),
                "python-3.11.9",
                "3.11.9",
            ),
        },
        PythonVersionError::Conflict {
            first: pin(
                VersionSource::Pipfile(PipfileKey::PythonVersion),
                Some(9),
                "3.12",
                "3.12",
            ),
            second: pin(
                VersionSource::PipfileLock(PipfileKey::PythonVersion),
                None,
                "3.11",
                "3.11",
            ),
        },
        PythonVersionError::EndOfLife {
            pin: pin(VersionSource::RuntimeTxt, Some(1), "python-2.7.8", "2.7.8"),
            end_of_life: Some(YearMonth::new(2020, 1)),
            newest: Some("3.13".into()),
        },
        PythonVersionError::EndOfLife {
            pin: pin(
                VersionSource::Pipfile(PipfileKey::PythonVersion),
                Some(5),
                "3.6",
                "3.6",
            ),
            end_of_life: Some(YearMonth::new(2021, 12)),
            newest: Some("3.13".into()),
        },
        PythonVersionError::EndOfLife {
            pin: pin(VersionSource::EnvVar, None, "1.5", "1.5"),
            end_of_life: None,
            newest: None,
        },
        PythonVersionError::UnknownVersion {
            pin: python_version_file("3.12.99"),
            target: "linux/amd64".into(),
            same_minor: vec!["3.12.0".parse().unwrap(), "3.12.8".parse().unwrap()],
            minors: vec!["3.12".into(), "3.13".into()],
        },
        PythonVersionError::UnknownVersion {
            pin: python_version_file("3.15"),
            target: "linux/arm64".into(),
            same_minor: vec![],
            minors: vec!["3.12".into(), "3.13".into()],
        },
        PythonVersionError::NoRuntimeForTarget {
            target: "linux/riscv64".into(),
        },
        PythonVersionError::RequiresPythonUnsatisfied {
            requires: requires(">=3.12", 6),
            pin: python_version_file("3.11"),
            suggestion: Some("3.13".into()),
        },
        PythonVersionError::RequiresPythonUnsatisfied {
            requires: requires("==3.14.*", 6),
            pin: pin(VersionSource::EnvVar, None, "3.11", "3.11"),
            suggestion: None,
        },
        PythonVersionError::NoVersionSatisfies {
            requires: requires("<3.10", 3),
            target: "linux/amd64".into(),
            minors: vec!["3.10".into(), "3.11".into()],
        },
    ];
    let expected = [
        r"Error: Unable to read runtime.txt

The buildpack couldn't read runtime.txt in the root of the app: Permission denied (os error 13)

Make sure runtime.txt is a readable file: check its permissions and, if it's a
symlink, that it points to a file inside the app.",
        r"Error: Pipfile.lock is too large

Pipfile.lock is larger than 8 MiB, far larger than any real Pipfile.lock, so the
buildpack didn't read it.

Check that the Pipfile.lock in the root of the app is the file you meant to add.",
        r"Error: .python-version isn't valid UTF-8

Line 2 of .python-version contains bytes that aren't UTF-8 text, which is
the encoding the buildpack reads .python-version in.

Save .python-version as UTF-8 (or plain ASCII) text, without stray binary bytes.",
        r"Error: BP_PYTHON_VERSION isn't valid UTF-8

The BP_PYTHON_VERSION environment variable contains bytes that aren't UTF-8 text.

Set BP_PYTHON_VERSION to a version such as 3.13.",
        r"Error: runtime.txt contains a control character

Line 1 of runtime.txt contains the control character U+0000, which can't be
part of a Python version.

Remove it: open runtime.txt in an editor that shows invisible characters, or write the
file again.",
        r"Error: BP_PYTHON_VERSION contains a control character

The BP_PYTHON_VERSION environment variable contains the control character U+001B,
which can't be part of a Python version.

Set BP_PYTHON_VERSION to a version such as 3.13.",
        r#"Error: Unable to parse Pipfile

Pipfile isn't valid TOML (line 2, column 18):
  invalid type: floating point `3.12`, expected a string

Fix the error. In a Pipfile, the Python version is set with:
  [requires]
  python_version = "3.13""#,
        r"Error: Unable to parse Pipfile.lock

Pipfile.lock isn't valid JSON (line 1, column 10):
  EOF while parsing a value

Pipfile.lock is generated by Pipenv: create it again with 'pipenv lock'.",
        r#"Error: Unable to parse pyproject.toml

pyproject.toml isn't valid TOML (line 1, column 9):
  invalid table header
  expected `.`, `]`

Fix the error. The Python versions a project supports are set with:
  [project]
  requires-python = ">=3.10""#,
        r"Error: Invalid Python version in .python-version

.python-version (line 3) asks for a Python version the buildpack doesn't
understand:
  system

The version must be X.Y or X.Y.Z, on the first line that isn't a comment, for example:
  3.13
The buildpack installs CPython releases only, so names such as 'system' or
'pypy3.10' and pre-releases can't be used.",
        r"Error: Invalid Python version in runtime.txt

runtime.txt (line 1) asks for a Python version the buildpack doesn't
understand:
  3.12.1

The version must be python-X.Y or python-X.Y.Z, on a single line, for example:
  python-3.13
The buildpack installs CPython releases only, so names such as 'system' or
'pypy3.10' and pre-releases can't be used.",
        r#"Error: Invalid Python version in Pipfile

Pipfile [requires] python_version (line 8) asks for a Python version the buildpack doesn't
understand:
  3.x

The version must be a string X.Y or X.Y.Z, for example:
  python_version = "3.13"
The buildpack installs CPython releases only, so names such as 'system' or
'pypy3.10' and pre-releases can't be used."#,
        r"Error: Invalid Python version in BP_PYTHON_VERSION

BP_PYTHON_VERSION is set, but empty.

The version must be X.Y or X.Y.Z, for example:
  BP_PYTHON_VERSION=3.13
The buildpack installs CPython releases only, so names such as 'system' or
'pypy3.10' and pre-releases can't be used.",
        r"Error: No Python version in .python-version

.python-version is present, but it doesn't contain a Python version. It must
contain X.Y or X.Y.Z, on the first line that isn't a comment, for example:
  3.13

Add the version, or delete .python-version to use the default version.",
        r"Error: No Python version in runtime.txt

runtime.txt is present, but it doesn't contain a Python version. It must
contain python-X.Y or python-X.Y.Z, on a single line, for example:
  python-3.13

Add the version, or delete runtime.txt to use the default version.",
        r#"Error: Invalid requires-python in pyproject.toml

The requires-python on line 4 of pyproject.toml isn't a valid version
specifier:
  requires-python = "^3.10"
Problem: '^3.10' doesn't start with a comparison operator (one of ~= == != <= >= < > ===).

requires-python takes PEP 440 version specifiers separated by commas, for
example:
  requires-python = ">=3.10,<3.14""#,
        r"Error: Conflicting Python versions

The app asks for two different Python versions:
  - .python-version (line 1): 3.12
  - runtime.txt (line 1): python-3.11.9

The buildpack can't tell which one is meant.
Keep the version in one place (.python-version is recommended) and delete or
correct the other.
Versions that differ only in precision agree: for 3.12 and 3.12.1, 3.12.1 is used.",
        r"Error: Conflicting Python versions

The app asks for two different Python versions:
  - Pipfile [requires] python_version (line 9): 3.12
  - Pipfile.lock _meta.requires.python_version: 3.11

The buildpack can't tell which one is meant.
Pipfile.lock is out of date: update it with 'pipenv lock'.
Versions that differ only in precision agree: for 3.12 and 3.12.1, 3.12.1 is used.",
        r"Error: Python 2.7 has reached its end of life

runtime.txt (line 1) asks for Python 2.7.8.

Python 2.7 reached its end of life in January 2020 and no longer receives security
fixes, so the buildpack doesn't support it. The oldest supported version is 3.10.

Upgrade the app to a supported version (3.13 is the newest available), test it, then
replace runtime.txt with a .python-version file containing:
  3.13",
        r#"Error: Python 3.6 has reached its end of life

Pipfile [requires] python_version (line 5) asks for Python 3.6.

Python 3.6 reached its end of life in December 2021 and no longer receives security
fixes, so the buildpack doesn't support it. The oldest supported version is 3.10.

Upgrade the app to a supported version (3.13 is the newest available), test it, then
set the version in the [requires] section of Pipfile (without python_full_version)
and update Pipfile.lock with 'pipenv lock':
  python_version = "3.13""#,
        r"Error: Python 1.5 has reached its end of life

BP_PYTHON_VERSION asks for Python 1.5.

Python 1.5 reached its end of life and no longer receives security
fixes, so the buildpack doesn't support it. The oldest supported version is 3.10.",
        r"Error: Python 3.12.99 isn't available

.python-version (line 1) asks for Python 3.12.99, which isn't available for linux/amd64.
The available 3.12 versions are: 3.12.0, 3.12.8.

To use the newest 3.12 release, change the version in .python-version to:
  3.12",
        r"Error: Python 3.15 isn't available

.python-version (line 1) asks for Python 3.15, which isn't available for linux/arm64.
The available versions are: 3.12, 3.13.

To use the newest 3.13 release, change the version in .python-version to:
  3.13",
        r"Error: No Python versions for linux/riscv64

The runtime inventory has no supported Python version for the linux/riscv64
target (operating system/architecture) of this build.

Build for a target the buildpack supports (linux/amd64 or linux/arm64), or,
if BP_PYTHON_INVENTORY points to your own inventory, add runtimes for
linux/riscv64 (Python 3.10 or newer) to it.",
        r#"Error: Python 3.11 doesn't satisfy requires-python

.python-version (line 1) asks for Python 3.11, but pyproject.toml (line 6)
requires:
  requires-python = ">=3.12"

To use Python 3.13, which satisfies it, change the version in .python-version to:
  3.13
Otherwise, change requires-python in pyproject.toml to allow Python 3.11."#,
        r#"Error: Python 3.11 doesn't satisfy requires-python

BP_PYTHON_VERSION asks for Python 3.11, but pyproject.toml (line 6)
requires:
  requires-python = "==3.14.*"

Change requires-python in pyproject.toml to allow Python 3.11."#,
        r#"Error: No available Python version satisfies requires-python

pyproject.toml (line 3) requires:
  requires-python = "<3.10"
but none of the Python versions the buildpack supports for linux/amd64
satisfies it. The supported versions are: 3.10, 3.11.

Change requires-python in pyproject.toml to allow one of them."#,
    ];
    assert_eq!(errors.len(), expected.len());
    for (error, expected) in errors.iter().zip(expected) {
        assert_eq!(rendered(error), expected, "{error:?}");
    }
}

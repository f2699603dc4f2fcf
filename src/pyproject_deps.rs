//! Apps with a `pyproject.toml` and no lockfile: what pip (or uv) installs from it, read during
//! project analysis so that a bad `pyproject.toml` fails before any layer is touched.
//!
//! - With a `[build-system]` table the project itself is installed (`pip install .`, which
//!   installs `[project].dependencies` too, and whatever its backend declares dynamically).
//! - Without one, only `[project].dependencies` are installed: the app runs from its directory.
//! - `[tool.poetry]` dependencies need Poetry and its `poetry.lock`: an error says to lock.
//!
//! Cache key: `pyproject.toml`'s SHA-256, and, for a project that is installed, its files as for
//! a local project in `requirements.txt` (pip copies them into the environment).

use crate::app_file::{self, AppFileError};
use crate::error_message::ErrorMessage;
use crate::requirements_files;
use indoc::formatdoc;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

pub(crate) const FILE: &str = "pyproject.toml";

/// What to install from a lockless `pyproject.toml`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ProjectInputs {
    /// The project declares a `[build-system]`: install the project itself (`.`).
    pub(crate) build_system: bool,
    /// `[project].dependencies`, as written (installed directly when there is no build system).
    pub(crate) dependencies: Vec<String>,
    /// Each input (`pyproject.toml`, and `. (local project)` when the project is installed) and
    /// the lowercase hex SHA-256 of its contents.
    pub(crate) digests: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Pyproject {
    project: Option<Project>,
    #[serde(rename = "build-system")]
    build_system: Option<toml::Table>,
    tool: Option<Tools>,
}

#[derive(Deserialize)]
struct Project {
    dependencies: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    dynamic: Vec<String>,
}

#[derive(Deserialize)]
struct Tools {
    poetry: Option<Poetry>,
}

#[derive(Deserialize)]
struct Poetry {
    dependencies: Option<toml::Table>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PyprojectError {
    Read(String),
    /// `pyproject.toml` is a pipe or device, too large, or unreadable ([`crate::app_file`]).
    File(AppFileError),
    NotUtf8 {
        line: usize,
    },
    Syntax {
        line: usize,
        column: usize,
        error: String,
    },
    /// A `[project].dependencies` entry that isn't a requirement.
    InvalidDependency {
        line: usize,
        value: String,
    },
    /// `[tool.poetry.dependencies]` lists packages, but there is no `poetry.lock`.
    PoetryWithoutLock {
        packages: Vec<String>,
    },
    /// Neither `[project].dependencies` nor a `[build-system]`.
    NothingToInstall {
        dynamic_dependencies: bool,
    },
}

/// Reads the app's `pyproject.toml` (which must exist) for a lockless install.
pub(crate) fn read(app_dir: &Path) -> Result<ProjectInputs, PyprojectError> {
    let bytes = app_file::read(&app_dir.join(FILE), FILE)
        .map_err(PyprojectError::File)?
        .ok_or_else(|| PyprojectError::Read("it is missing".to_string()))?;
    let text = String::from_utf8(bytes).map_err(|error| {
        let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
        PyprojectError::NotUtf8 {
            line: valid.split(|byte| *byte == b'\n').count(),
        }
    })?;
    let mut inputs = parse(&text)?;
    inputs
        .digests
        .insert(FILE.to_string(), format!("{:x}", Sha256::digest(&text)));
    if inputs.build_system {
        inputs.digests.insert(
            ". (local project)".to_string(),
            requirements_files::project_digest(app_dir)
                .map_err(|error| PyprojectError::Read(error.to_string()))?,
        );
    }
    Ok(inputs)
}

fn parse(text: &str) -> Result<ProjectInputs, PyprojectError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let pyproject: Pyproject = toml::from_str(text).map_err(|error| {
        let (line, column) = line_and_column(text, error.span().map_or(0, |span| span.start));
        PyprojectError::Syntax {
            line,
            column,
            error: error.message().trim().to_string(),
        }
    })?;
    let poetry_packages: Vec<String> = pyproject
        .tool
        .and_then(|tool| tool.poetry)
        .and_then(|poetry| poetry.dependencies)
        .map(|table| {
            table
                .keys()
                .filter(|name| !name.eq_ignore_ascii_case("python"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if !poetry_packages.is_empty() {
        return Err(PyprojectError::PoetryWithoutLock {
            packages: poetry_packages,
        });
    }
    let build_system = pyproject.build_system.is_some();
    let (dependencies, dynamic_dependencies) = match pyproject.project {
        Some(project) => (
            project.dependencies,
            project.dynamic.iter().any(|field| field == "dependencies"),
        ),
        None => (None, false),
    };
    let Some(dependencies) = dependencies.or_else(|| build_system.then(Vec::new)) else {
        return Err(PyprojectError::NothingToInstall {
            dynamic_dependencies,
        });
    };
    let dependencies = dependencies
        .into_iter()
        .map(|dependency| {
            let line = line_and_column(text, dependency.span().start).0;
            let value = dependency.into_inner().trim().to_string();
            if is_requirement(&value) {
                Ok(value)
            } else {
                Err(PyprojectError::InvalidDependency { line, value })
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ProjectInputs {
        build_system,
        dependencies,
        digests: BTreeMap::new(),
    })
}

/// Whether `value` starts like a PEP 508 requirement: a distribution name (ASCII letters and
/// digits, with `.`, `_`, `-` inside), without control characters. pip and uv check the rest;
/// this keeps an entry from being read as a command-line option (`--index-url=...`).
fn is_requirement(value: &str) -> bool {
    value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && !value.chars().any(char::is_control)
}

/// The 1-based line and column of a byte offset in `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    (
        1 + before.matches('\n').count(),
        1 + before[line_start..].chars().count(),
    )
}

impl PyprojectError {
    pub(crate) fn message(&self) -> ErrorMessage {
        match self {
            Self::Read(error) => ErrorMessage::new(
                "Unable to read pyproject.toml",
                formatdoc! {"
                    The buildpack could not read the app's pyproject.toml (or the project files
                    it installs): {error}

                    Check the file's permissions, then build again.
                "},
            ),
            Self::File(error) => error.message(),
            Self::NotUtf8 { line } => ErrorMessage::new(
                "pyproject.toml is not valid UTF-8",
                formatdoc! {"
                    Line {line} of pyproject.toml contains bytes that aren't UTF-8 text. TOML
                    files must be UTF-8.

                    Save pyproject.toml as UTF-8, then build again.
                "},
            ),
            Self::Syntax {
                line,
                column,
                error,
            } => ErrorMessage::new(
                "Unable to parse pyproject.toml",
                formatdoc! {"
                    pyproject.toml is not valid TOML (line {line}, column {column}):
                      {error}

                    Fix the error. The dependencies of a project without a lockfile are listed
                    with:
                      [project]
                      dependencies = [\"flask>=3\", \"gunicorn\"]
                ", error = error.replace('\n', "\n  ")},
            ),
            Self::InvalidDependency { line, value } => ErrorMessage::new(
                "Invalid dependency in pyproject.toml",
                formatdoc! {"
                    Line {line} of pyproject.toml lists {value:?} in [project] dependencies,
                    which isn't a requirement: each entry must start with a package name, such
                    as \"flask>=3\" or \"requests[socks]; python_version < '3.13'\".

                    Fix the entry (options such as --index-url belong in the build's
                    environment, for example PIP_INDEX_URL), then build again.
                "},
            ),
            Self::PoetryWithoutLock { packages } => ErrorMessage::new(
                "No poetry.lock was found",
                formatdoc! {"
                    pyproject.toml lists dependencies in [tool.poetry.dependencies] ({packages}),
                    which only Poetry installs, but the app has no poetry.lock.

                    Create the lock with 'poetry lock', commit poetry.lock, and build again.
                ", packages = packages.join(", ")},
            ),
            Self::NothingToInstall {
                dynamic_dependencies,
            } => {
                let reason = if *dynamic_dependencies {
                    "its [project] dependencies are dynamic (computed by a build backend),\n\
                     but it declares no [build-system] to compute them"
                } else {
                    "it has no [project] dependencies list and no [build-system]"
                };
                ErrorMessage::new(
                    "pyproject.toml declares nothing to install",
                    formatdoc! {"
                        The app has a pyproject.toml and no lockfile or requirements.txt, but
                        {reason}.

                        List the app's dependencies in pyproject.toml (an empty list if it has
                        none):
                          [project]
                          dependencies = [\"flask>=3\", \"gunicorn\"]
                        or create a lockfile with 'uv lock' (uv.lock) or 'poetry lock'
                        (poetry.lock), or list them in a requirements.txt.
                    "},
                )
            }
        }
    }
}

/// The warning every lockless build prints.
pub(crate) fn no_lockfile_warning() -> String {
    formatdoc! {"
        The app has no lockfile, so its builds aren't reproducible: each build installs the
        newest versions that pyproject.toml allows, which may change from one build to the next.
        Create a lockfile and commit it: 'uv lock' (uv.lock, installed with uv) or
        'poetry lock' (poetry.lock, installed with Poetry).
    "}
    .trim_end()
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(build_system: bool, dependencies: &[&str]) -> ProjectInputs {
        ProjectInputs {
            build_system,
            dependencies: dependencies.iter().map(ToString::to_string).collect(),
            digests: BTreeMap::new(),
        }
    }

    #[test]
    fn reads_dependencies_and_build_system() {
        assert_eq!(
            parse(
                "[project]\nname = \"app\"\ndependencies = [\"flask==3.1.3\", \" six; python_version < '3.13'\"]\n"
            ),
            Ok(inputs(
                false,
                &["flask==3.1.3", "six; python_version < '3.13'"]
            ))
        );
        assert_eq!(
            parse(
                "[build-system]\nrequires = [\"hatchling\"]\n[project]\nname = \"app\"\ndynamic = [\"dependencies\"]\n"
            ),
            Ok(inputs(true, &[]))
        );
        // Poetry 2 projects list their dependencies in [project]; [tool.poetry] may still exist.
        assert_eq!(
            parse(
                "[project]\ndependencies = []\n[tool.poetry]\npackage-mode = false\n[tool.poetry.dependencies]\npython = \">=3.12\"\n"
            ),
            Ok(inputs(false, &[]))
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse(
                "[project]\ndependencies = [\n  \"flask\",\n  \"--index-url=https://evil.example\",\n]\n"
            ),
            Err(PyprojectError::InvalidDependency {
                line: 4,
                value: "--index-url=https://evil.example".to_string()
            })
        );
        assert_eq!(
            parse("[tool.poetry.dependencies]\npython = \"^3.12\"\nrequests = \"^2\"\n"),
            Err(PyprojectError::PoetryWithoutLock {
                packages: vec!["requests".to_string()]
            })
        );
        assert_eq!(
            parse("[project]\nname = \"app\"\n"),
            Err(PyprojectError::NothingToInstall {
                dynamic_dependencies: false
            })
        );
        assert_eq!(
            parse("[project]\ndynamic = [\"dependencies\"]\n"),
            Err(PyprojectError::NothingToInstall {
                dynamic_dependencies: true
            })
        );
        assert!(matches!(
            parse("[project]\ndependencies = \"flask\"\n"),
            Err(PyprojectError::Syntax { line: 2, .. })
        ));
    }

    #[test]
    fn messages() {
        assert_eq!(
            PyprojectError::NothingToInstall {
                dynamic_dependencies: false
            }
            .message()
            .render(),
            indoc::indoc! {r#"
                Error: pyproject.toml declares nothing to install

                The app has a pyproject.toml and no lockfile or requirements.txt, but
                it has no [project] dependencies list and no [build-system].

                List the app's dependencies in pyproject.toml (an empty list if it has
                none):
                  [project]
                  dependencies = ["flask>=3", "gunicorn"]
                or create a lockfile with 'uv lock' (uv.lock) or 'poetry lock'
                (poetry.lock), or list them in a requirements.txt."#}
        );
        assert_eq!(
            PyprojectError::PoetryWithoutLock {
                packages: vec!["requests".to_string(), "flask".to_string()]
            }
            .message()
            .render(),
            indoc::indoc! {"
                Error: No poetry.lock was found

                pyproject.toml lists dependencies in [tool.poetry.dependencies] (requests, flask),
                which only Poetry installs, but the app has no poetry.lock.

                Create the lock with 'poetry lock', commit poetry.lock, and build again."}
        );
    }

    #[test]
    fn an_installed_project_is_keyed_by_its_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FILE),
            "[build-system]\nrequires = [\"setuptools\"]\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("app.py"), "print(1)\n").unwrap();
        let first = read(dir.path()).unwrap();
        assert_eq!(
            first.digests.keys().collect::<Vec<_>>(),
            [". (local project)", "pyproject.toml"]
        );
        std::fs::write(dir.path().join("app.py"), "print(2)\n").unwrap();
        let second = read(dir.path()).unwrap();
        assert_ne!(first.digests, second.digests);
        assert_eq!(first.digests[FILE], second.digests[FILE]);
    }
}

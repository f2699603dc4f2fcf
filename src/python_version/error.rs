//! Why no Python version could be chosen, and what the user reads about it.

use super::{PythonVersion, RequestedVersion, YearMonth};
use crate::error_message::ErrorMessage;
use crate::version_sources::{Pin, RequiresPython, VersionSource};
use indoc::formatdoc;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PythonVersionError {
    /// A version file exists but can't be read.
    ReadFile {
        file: &'static str,
        error: String,
    },
    TooLarge {
        file: &'static str,
    },
    /// A named pipe, socket or device named like a version file.
    NotAFile(crate::app_file::AppFileError),
    NotUtf8 {
        file: &'static str,
        line: usize,
    },
    ControlCharacter {
        file: &'static str,
        line: usize,
        character: char,
    },
    /// A TOML or JSON syntax or type error.
    Syntax {
        file: &'static str,
        line: usize,
        column: usize,
        error: String,
    },
    InvalidVersion {
        source: VersionSource,
        line: Option<usize>,
        value: String,
    },
    /// A `.python-version` or `runtime.txt` with nothing in it.
    MissingVersion {
        source: VersionSource,
    },
    InvalidRequiresPython {
        line: usize,
        value: String,
        problem: String,
    },
    /// Two files pin different versions.
    Conflict {
        first: Box<Pin>,
        second: Box<Pin>,
    },
    EndOfLife {
        pin: Box<Pin>,
        end_of_life: Option<YearMonth>,
        /// The newest supported `X.Y` available, to upgrade to.
        newest: Option<String>,
    },
    UnknownVersion {
        pin: Box<Pin>,
        target: String,
        /// Available releases of the requested minor version, oldest first.
        same_minor: Vec<PythonVersion>,
        /// Available supported minor versions, oldest first.
        minors: Vec<String>,
    },
    /// The inventory has no supported version for the target.
    NoRuntimeForTarget {
        target: String,
    },
    RequiresPythonUnsatisfied {
        requires: RequiresPython,
        pin: Box<Pin>,
        /// The newest supported `X.Y` that satisfies `requires-python`, if any.
        suggestion: Option<String>,
    },
    NoVersionSatisfies {
        requires: RequiresPython,
        target: String,
        minors: Vec<String>,
    },
}

impl PythonVersionError {
    pub(crate) fn message(&self) -> ErrorMessage {
        match self {
            Self::ReadFile { file, error } => read_file_message(file, error),
            Self::TooLarge { file } => too_large_message(file),
            Self::NotAFile(error) => error.message(),
            Self::NotUtf8 { file, line } => not_utf8_message(file, *line),
            Self::ControlCharacter {
                file,
                line,
                character,
            } => control_character_message(file, *line, *character),
            Self::Syntax {
                file,
                line,
                column,
                error,
            } => syntax_message(file, *line, *column, error),
            Self::InvalidVersion {
                source,
                line,
                value,
            } => invalid_version_message(*source, *line, value),
            Self::MissingVersion { source } => {
                let file = source.file();
                let expected = source.expected_form();
                let example = source.example();
                ErrorMessage::new(
                    format!("No Python version in {file}"),
                    formatdoc! {"
                        {file} is present, but it doesn't contain a Python version. It must
                        contain {expected}, for example:
                          {example}

                        Add the version, or delete {file} to use the default version.
                    "},
                )
            }
            Self::InvalidRequiresPython {
                line,
                value,
                problem,
            } => ErrorMessage::new(
                "Invalid requires-python in pyproject.toml",
                formatdoc! {"
                    The requires-python on line {line} of pyproject.toml isn't a valid version
                    specifier:
                      requires-python = \"{value}\"
                    Problem: {problem}.

                    requires-python takes PEP 440 version specifiers separated by commas, for
                    example:
                      requires-python = \">=3.10,<3.14\"
                "},
            ),
            Self::Conflict { first, second } => conflict_message(first, second),
            Self::EndOfLife {
                pin,
                end_of_life,
                newest,
            } => end_of_life_message(pin, *end_of_life, newest.as_deref()),
            Self::UnknownVersion {
                pin,
                target,
                same_minor,
                minors,
            } => unknown_version_message(pin, target, same_minor, minors),
            Self::NoRuntimeForTarget { target } => ErrorMessage::new(
                format!("No Python versions for {target}"),
                formatdoc! {"
                    The runtime inventory has no supported Python version for the {target}
                    target (operating system/architecture) of this build.

                    Build for a target the buildpack supports (linux/amd64 or linux/arm64), or,
                    if BP_PYTHON_INVENTORY points to your own inventory, add runtimes for
                    {target} (Python 3.10 or newer) to it.
                "},
            ),
            Self::RequiresPythonUnsatisfied {
                requires,
                pin,
                suggestion,
            } => unsatisfied_message(requires, pin, suggestion.as_deref()),
            Self::NoVersionSatisfies {
                requires,
                target,
                minors,
            } => {
                let RequiresPython { raw, line, .. } = requires;
                let minors = minors.join(", ");
                ErrorMessage::new(
                    "No available Python version satisfies requires-python",
                    formatdoc! {"
                        pyproject.toml (line {line}) requires:
                          requires-python = \"{raw}\"
                        but none of the Python versions the buildpack supports for {target}
                        satisfies it. The supported versions are: {minors}.

                        Change requires-python in pyproject.toml to allow one of them.
                    "},
                )
            }
        }
    }
}

fn read_file_message(file: &str, error: &str) -> ErrorMessage {
    ErrorMessage::new(
        format!("Unable to read {file}"),
        formatdoc! {"
            The buildpack couldn't read {file} in the root of the app: {error}

            Make sure {file} is a readable file: check its permissions and, if it's a
            symlink, that it points to a file inside the app.
        "},
    )
}

fn too_large_message(file: &str) -> ErrorMessage {
    ErrorMessage::new(
        format!("{file} is too large"),
        formatdoc! {"
            {file} is larger than 8 MiB, far larger than any real {file}, so the
            buildpack didn't read it.

            Check that the {file} in the root of the app is the file you meant to add.
        "},
    )
}

fn not_utf8_message(file: &str, line: usize) -> ErrorMessage {
    if file == VersionSource::EnvVar.file() {
        return ErrorMessage::new(
            format!("{file} isn't valid UTF-8"),
            formatdoc! {"
                The {file} environment variable contains bytes that aren't UTF-8 text.

                Set {file} to a version such as 3.13.
            "},
        );
    }
    ErrorMessage::new(
        format!("{file} isn't valid UTF-8"),
        formatdoc! {"
            Line {line} of {file} contains bytes that aren't UTF-8 text, which is
            the encoding the buildpack reads {file} in.

            Save {file} as UTF-8 (or plain ASCII) text, without stray binary bytes.
        "},
    )
}

fn control_character_message(file: &str, line: usize, character: char) -> ErrorMessage {
    let code = format!("U+{:04X}", u32::from(character));
    if file == VersionSource::EnvVar.file() {
        return ErrorMessage::new(
            format!("{file} contains a control character"),
            formatdoc! {"
                The {file} environment variable contains the control character {code},
                which can't be part of a Python version.

                Set {file} to a version such as 3.13.
            "},
        );
    }
    ErrorMessage::new(
        format!("{file} contains a control character"),
        formatdoc! {"
            Line {line} of {file} contains the control character {code}, which can't be
            part of a Python version.

            Remove it: open {file} in an editor that shows invisible characters, or write the
            file again.
        "},
    )
}

fn syntax_message(file: &str, line: usize, column: usize, error: &str) -> ErrorMessage {
    let (format, hint) = match file {
        "Pipfile.lock" => (
            "JSON",
            "Pipfile.lock is generated by Pipenv: create it again with 'pipenv lock'.",
        ),
        "Pipfile" => (
            "TOML",
            "Fix the error. In a Pipfile, the Python version is set with:\n  [requires]\n  \
             python_version = \"3.13\"",
        ),
        _ => (
            "TOML",
            "Fix the error. The Python versions a project supports are set with:\n  \
             [project]\n  requires-python = \">=3.10\"",
        ),
    };
    let error = error.replace('\n', "\n  ");
    ErrorMessage::new(
        format!("Unable to parse {file}"),
        formatdoc! {"
            {file} isn't valid {format} (line {line}, column {column}):
              {error}

            {hint}
        "},
    )
}

fn invalid_version_message(
    source: VersionSource,
    line: Option<usize>,
    value: &str,
) -> ErrorMessage {
    let name = source.name();
    let location = line.map_or(name.clone(), |line| format!("{name} (line {line})"));
    let expected = source.expected_form();
    let example = source.example();
    let problem = if value.is_empty() {
        format!("{location} is set, but empty.")
    } else {
        format!(
            "{location} asks for a Python version the buildpack doesn't\nunderstand:\n  {value}"
        )
    };
    ErrorMessage::new(
        format!("Invalid Python version in {}", source.file()),
        formatdoc! {"
            {problem}

            The version must be {expected}, for example:
              {example}
            The buildpack installs CPython releases only, so names such as 'system' or
            'pypy3.10' and pre-releases can't be used.
        "},
    )
}

fn conflict_message(first: &Pin, second: &Pin) -> ErrorMessage {
    let first_line = first.describe_with_line();
    let second_line = second.describe_with_line();
    let both_pipenv = [first, second].iter().all(|pin| {
        matches!(
            pin.source,
            VersionSource::Pipfile(_) | VersionSource::PipfileLock(_)
        )
    });
    let fix = if both_pipenv && first.source.file() != second.source.file() {
        "Pipfile.lock is out of date: update it with 'pipenv lock'.".to_string()
    } else {
        format!(
            "Keep the version in one place ({} is recommended) and delete or\ncorrect the \
             other.",
            VersionSource::PythonVersionFile.file()
        )
    };
    ErrorMessage::new(
        "Conflicting Python versions",
        formatdoc! {"
            The app asks for two different Python versions:
              - {first_line}
              - {second_line}

            The buildpack can't tell which one is meant.
            {fix}
            Versions that differ only in precision agree: for 3.12 and 3.12.1, 3.12.1 is used.
        "},
    )
}

fn end_of_life_message(
    pin: &Pin,
    end_of_life: Option<YearMonth>,
    newest: Option<&str>,
) -> ErrorMessage {
    let RequestedVersion { major, minor, .. } = pin.version;
    let location = pin.location();
    let version = pin.version;
    let when = end_of_life.map_or(String::new(), |month| format!(" in {month}"));
    let upgrade = newest.map_or(String::new(), |newest| {
        format!(
            "\n\nUpgrade the app to a supported version ({newest} is the newest available), \
             test it, then\n{}",
            pin.source.how_to_request(newest)
        )
    });
    ErrorMessage::new(
        format!("Python {major}.{minor} has reached its end of life"),
        formatdoc! {"
            {location} asks for Python {version}.

            Python {major}.{minor} reached its end of life{when} and no longer receives security
            fixes, so the buildpack doesn't support it. The oldest supported version is 3.10.{upgrade}
        "},
    )
}

fn unknown_version_message(
    pin: &Pin,
    target: &str,
    same_minor: &[PythonVersion],
    minors: &[String],
) -> ErrorMessage {
    let location = pin.location();
    let version = pin.version;
    let minor = format!("{}.{}", version.major, version.minor);
    let (available, suggestion) = if same_minor.is_empty() {
        (
            format!("The available versions are: {}.", minors.join(", ")),
            minors.last().cloned(),
        )
    } else {
        let patches: Vec<String> = same_minor.iter().map(ToString::to_string).collect();
        (
            format!(
                "The available {minor} versions are: {}.",
                patches.join(", ")
            ),
            Some(minor),
        )
    };
    let fix = suggestion.map_or(String::new(), |suggestion| {
        format!(
            "\n\nTo use the newest {suggestion} release, {}",
            pin.source.how_to_request(&suggestion)
        )
    });
    ErrorMessage::new(
        format!("Python {version} isn't available"),
        formatdoc! {"
            {location} asks for Python {version}, which isn't available for {target}.
            {available}{fix}
        "},
    )
}

fn unsatisfied_message(
    requires: &RequiresPython,
    pin: &Pin,
    suggestion: Option<&str>,
) -> ErrorMessage {
    let RequiresPython { raw, line, .. } = requires;
    let location = pin.location();
    let version = pin.version;
    let fix = suggestion.map_or(String::new(), |suggestion| {
        format!(
            "To use Python {suggestion}, which satisfies it, {}\nOtherwise, ",
            pin.source.how_to_request(suggestion)
        )
    });
    let change = if fix.is_empty() { "Change" } else { "change" };
    ErrorMessage::new(
        format!("Python {version} doesn't satisfy requires-python"),
        formatdoc! {"
            {location} asks for Python {version}, but pyproject.toml (line {line})
            requires:
              requires-python = \"{raw}\"

            {fix}{change} requires-python in pyproject.toml to allow Python {version}.
        "},
    )
}

#[cfg(test)]
mod tests;

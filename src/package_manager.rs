use crate::error_message::ErrorMessage;
use indoc::formatdoc;
use std::path::Path;

/// The tool that installs the app's dependencies, decided by the app's lockfile or requirements
/// file. Exactly one of them may be present.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PackageManager {
    Pip,
    Pipenv,
    Poetry,
    Uv,
}

impl PackageManager {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Pip => "pip",
            Self::Pipenv => "Pipenv",
            Self::Poetry => "Poetry",
            Self::Uv => "uv",
        }
    }

    /// The file whose presence selects this package manager.
    pub(crate) fn marker_file(self) -> &'static str {
        match self {
            Self::Pip => "requirements.txt",
            Self::Pipenv => "Pipfile",
            Self::Poetry => "poetry.lock",
            Self::Uv => "uv.lock",
        }
    }
}

const ALL: [PackageManager; 4] = [
    PackageManager::Pip,
    PackageManager::Pipenv,
    PackageManager::Poetry,
    PackageManager::Uv,
];

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PackageManagerError {
    /// No package manager file, but a misspelling of `requirements.txt` (which detection accepts
    /// so that the build can say this).
    MisspelledRequirements { file: &'static str },
    /// More than one package manager's file is present.
    Multiple(Vec<PackageManager>),
    /// None is present, nor a `pyproject.toml` (which pip installs without a lockfile).
    None,
    /// The package manager's other file is missing (`Pipfile.lock` for a `Pipfile`, or
    /// `pyproject.toml` for a lockfile).
    MissingFile {
        manager: PackageManager,
        missing: &'static str,
    },
    /// A named pipe, socket or device named like one of the package managers' files.
    NotAFile(crate::app_file::AppFileError),
}

pub(crate) fn determine(app_dir: &Path) -> Result<PackageManager, PackageManagerError> {
    reject_special_files(app_dir)?;
    let found: Vec<PackageManager> = ALL
        .into_iter()
        .filter(|manager| {
            app_dir.join(manager.marker_file()).is_file()
                || (*manager == PackageManager::Pipenv && app_dir.join("Pipfile.lock").is_file())
        })
        .collect();
    if found.is_empty()
        && let Some(file) = misspelled_requirements_file(app_dir)
    {
        return Err(PackageManagerError::MisspelledRequirements { file });
    }
    match found[..] {
        [manager] => match missing_companion(app_dir, manager) {
            Some(missing) => Err(PackageManagerError::MissingFile { manager, missing }),
            None => Ok(manager),
        },
        // A pyproject.toml without a lockfile is installed by pip (or uv's pip interface).
        [] if app_dir.join("pyproject.toml").is_file() => Ok(PackageManager::Pip),
        [] => Err(PackageManagerError::None),
        _ => Err(PackageManagerError::Multiple(found)),
    }
}

/// A named pipe, socket or device where a package manager's file goes is an error naming it:
/// counting it as absent would give wrong advice ("No package manager files were found").
fn reject_special_files(app_dir: &Path) -> Result<(), PackageManagerError> {
    for file in [
        "requirements.txt",
        "Pipfile",
        "Pipfile.lock",
        "poetry.lock",
        "uv.lock",
        "pyproject.toml",
    ] {
        if let Ok(crate::app_file::Entry::Special(what)) =
            crate::app_file::inspect(&app_dir.join(file))
        {
            return Err(PackageManagerError::NotAFile(
                crate::app_file::AppFileError::NotAFile {
                    file: file.to_string(),
                    what,
                },
            ));
        }
    }
    Ok(())
}

/// The file that must accompany the package manager's marker file, when it is absent.
fn missing_companion(app_dir: &Path, manager: PackageManager) -> Option<&'static str> {
    let required: &[&'static str] = match manager {
        PackageManager::Pip => &[],
        PackageManager::Pipenv => &["Pipfile", "Pipfile.lock"],
        PackageManager::Poetry | PackageManager::Uv => &["pyproject.toml"],
    };
    required
        .iter()
        .copied()
        .find(|file| !app_dir.join(file).is_file())
}

impl PackageManagerError {
    pub(crate) fn message(&self) -> ErrorMessage {
        match self {
            Self::MisspelledRequirements { file } => misspelled_requirements_message(file),
            Self::Multiple(managers) => {
                let files = managers
                    .iter()
                    .map(|manager| {
                        format!("  - {} ({})", marker_description(*manager), manager.name())
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                ErrorMessage::new(
                    "Multiple package manager files were found",
                    formatdoc! {"
                        The app contains files for more than one Python package manager:
                        {files}

                        Each of these files would install the dependencies differently, so the
                        buildpack can't choose. Delete the files of the package managers the app
                        doesn't use, and keep only one of them.
                    "},
                )
            }
            Self::None => ErrorMessage::new(
                "No package manager files were found",
                formatdoc! {"
                    The buildpack needs exactly one of these files in the root of the app to
                    install its dependencies:
                      - requirements.txt (pip)
                      - Pipfile and Pipfile.lock (Pipenv; create the lock with 'pipenv lock')
                      - poetry.lock (Poetry; create it with 'poetry lock')
                      - uv.lock (uv; create it with 'uv lock')
                      - pyproject.toml listing [project] dependencies (pip, without a lockfile)

                    If the app has no dependencies, add an empty requirements.txt.
                "},
            ),
            Self::MissingFile { manager, missing } => missing_file_message(*manager, missing),
            Self::NotAFile(error) => error.message(),
        }
    }
}

fn missing_file_message(manager: PackageManager, missing: &str) -> ErrorMessage {
    match (manager, missing) {
        (PackageManager::Pipenv, "Pipfile.lock") => ErrorMessage::new(
            "No Pipfile.lock was found",
            formatdoc! {"
                The app has a Pipfile but no Pipfile.lock. The buildpack installs exactly the
                package versions pinned in Pipfile.lock, so every build gets the same packages.

                Create the lock with 'pipenv lock', commit Pipfile.lock, and build again.
            "},
        ),
        (PackageManager::Pipenv, _) => ErrorMessage::new(
            "No Pipfile was found",
            formatdoc! {"
                The app has a Pipfile.lock but no Pipfile. Pipenv needs the Pipfile to check
                that Pipfile.lock is up to date.

                Commit the Pipfile the lock was made from, or, if the app doesn't use Pipenv,
                delete Pipfile.lock.
            "},
        ),
        (manager, _) => {
            let lockfile = manager.marker_file();
            ErrorMessage::new(
                "No pyproject.toml was found",
                formatdoc! {"
                    The app has a {lockfile} but no pyproject.toml. {name} needs the
                    pyproject.toml the lock was made from, to check that the lock is up to date.

                    Commit pyproject.toml, or, if the app doesn't use {name}, delete {lockfile}.
                ", name = manager.name()},
            )
        }
    }
}

fn marker_description(manager: PackageManager) -> &'static str {
    match manager {
        PackageManager::Pipenv => "Pipfile / Pipfile.lock",
        other => other.marker_file(),
    }
}

/// The first misspelling of `requirements.txt` that detection accepts and the app has.
fn misspelled_requirements_file(app_dir: &Path) -> Option<&'static str> {
    crate::detect::PYTHON_PROJECT_FILES
        .into_iter()
        .filter(|name| crate::detect::is_requirements_misspelling(name))
        .find(|name| app_dir.join(name).is_file())
}

fn misspelled_requirements_message(file: &str) -> ErrorMessage {
    ErrorMessage::new(
        format!("Found {file} instead of requirements.txt"),
        formatdoc! {"
            The app has a file named {file}, but no requirements.txt. pip only
            reads a file named exactly requirements.txt (names are case-sensitive), so the
            buildpack can't tell which packages to install.

            Rename {file} to requirements.txt, commit the change, and build again.
        "},
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn app_with(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in files {
            fs::write(dir.path().join(file), "").unwrap();
        }
        dir
    }

    #[test]
    fn a_misspelled_requirements_file_is_named() {
        assert_eq!(
            determine(app_with(&["Requirements.txt", "pyproject.toml"]).path()),
            Err(PackageManagerError::MisspelledRequirements {
                file: "Requirements.txt"
            })
        );
        // With a real package manager file, a stray misspelled file is left alone.
        assert_eq!(
            determine(app_with(&["requirments.txt", "requirements.txt"]).path()),
            Ok(PackageManager::Pip)
        );
    }

    #[test]
    fn one_file_decides() {
        assert_eq!(
            determine(app_with(&["requirements.txt"]).path()),
            Ok(PackageManager::Pip)
        );
        assert_eq!(
            determine(app_with(&["Pipfile", "Pipfile.lock"]).path()),
            Ok(PackageManager::Pipenv)
        );
        assert_eq!(
            determine(app_with(&["pyproject.toml", "poetry.lock"]).path()),
            Ok(PackageManager::Poetry)
        );
        assert_eq!(
            determine(app_with(&["pyproject.toml", "uv.lock"]).path()),
            Ok(PackageManager::Uv)
        );
    }

    #[test]
    fn several_files_are_an_error() {
        assert_eq!(
            determine(app_with(&["requirements.txt", "uv.lock"]).path()),
            Err(PackageManagerError::Multiple(vec![
                PackageManager::Pip,
                PackageManager::Uv
            ]))
        );
    }

    #[test]
    fn pyproject_alone_is_a_pip_app() {
        assert_eq!(
            determine(app_with(&["pyproject.toml"]).path()),
            Ok(PackageManager::Pip)
        );
        assert_eq!(
            determine(app_with(&["runtime.txt"]).path()),
            Err(PackageManagerError::None)
        );
    }

    #[test]
    fn companion_files_are_required() {
        for (files, manager, missing) in [
            (&["Pipfile"][..], PackageManager::Pipenv, "Pipfile.lock"),
            (&["Pipfile.lock"][..], PackageManager::Pipenv, "Pipfile"),
            (
                &["poetry.lock"][..],
                PackageManager::Poetry,
                "pyproject.toml",
            ),
            (&["uv.lock"][..], PackageManager::Uv, "pyproject.toml"),
        ] {
            assert_eq!(
                determine(app_with(files).path()),
                Err(PackageManagerError::MissingFile { manager, missing })
            );
        }
    }

    #[test]
    fn messages() {
        assert_eq!(
            PackageManagerError::Multiple(vec![PackageManager::Pip, PackageManager::Uv])
                .message()
                .render(),
            indoc::indoc! {"
                Error: Multiple package manager files were found

                The app contains files for more than one Python package manager:
                  - requirements.txt (pip)
                  - uv.lock (uv)

                Each of these files would install the dependencies differently, so the
                buildpack can't choose. Delete the files of the package managers the app
                doesn't use, and keep only one of them."}
        );
        assert_eq!(
            PackageManagerError::MissingFile {
                manager: PackageManager::Pipenv,
                missing: "Pipfile.lock"
            }
            .message()
            .render(),
            indoc::indoc! {"
                Error: No Pipfile.lock was found

                The app has a Pipfile but no Pipfile.lock. The buildpack installs exactly the
                package versions pinned in Pipfile.lock, so every build gets the same packages.

                Create the lock with 'pipenv lock', commit Pipfile.lock, and build again."}
        );
        assert_eq!(
            PackageManagerError::MissingFile {
                manager: PackageManager::Uv,
                missing: "pyproject.toml"
            }
            .message()
            .render(),
            indoc::indoc! {"
                Error: No pyproject.toml was found

                The app has a uv.lock but no pyproject.toml. uv needs the
                pyproject.toml the lock was made from, to check that the lock is up to date.

                Commit pyproject.toml, or, if the app doesn't use uv, delete uv.lock."}
        );
    }
}

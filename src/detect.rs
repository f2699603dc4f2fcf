use std::path::Path;

/// Files whose presence marks an app as a Python app. Misspellings of `requirements.txt` are
/// included so that the build can explain the typo instead of the app silently not detecting.
pub(crate) const PYTHON_PROJECT_FILES: [&str; 16] = [
    ".python-version",
    "Pipfile",
    "Pipfile.lock",
    "manage.py",
    "poetry.lock",
    "pyproject.toml",
    "requirements.txt",
    "runtime.txt",
    "setup.cfg",
    "setup.py",
    "uv.lock",
    // Common misspellings of requirements.txt:
    "requirement.txt",
    "Requirements.txt",
    "requirements.text",
    "requirements.txt.txt",
    "requirments.txt",
];

/// Whether `name` is one of the misspellings of `requirements.txt` in [`PYTHON_PROJECT_FILES`].
pub(crate) fn is_requirements_misspelling(name: &str) -> bool {
    PYTHON_PROJECT_FILES[11..].contains(&name)
}

/// Returns the Python project files found in the app directory, in [`PYTHON_PROJECT_FILES`] order.
///
/// Only names are checked, never contents. A broken symlink or a directory with one of these
/// names does not count, and an entry that can't be inspected is treated as absent. A named pipe
/// or device does count, so that the build can say what is wrong with it.
pub(crate) fn python_project_files(app_dir: &Path) -> Vec<&'static str> {
    PYTHON_PROJECT_FILES
        .into_iter()
        .filter(|name| {
            crate::app_file::inspect(&app_dir.join(name))
                .is_ok_and(crate::app_file::Entry::is_present_non_directory)
        })
        .collect()
}

pub(crate) fn no_python_project_message() -> String {
    format!(
        "No Python project files found. This buildpack looks for any of:\n{}\n\
         If this is a Python app, add a requirements.txt (or another of the files above) to the \
         root of the app.",
        PYTHON_PROJECT_FILES[..11]
            .iter()
            .map(|name| format!("  - {name}"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn finds_files_but_not_directories_or_broken_links() {
        let app_dir = tempfile::tempdir().unwrap();
        fs::write(app_dir.path().join("requirements.txt"), "flask\n").unwrap();
        fs::create_dir(app_dir.path().join("setup.py")).unwrap();
        std::os::unix::fs::symlink("/nonexistent", app_dir.path().join("Pipfile")).unwrap();

        assert_eq!(
            python_project_files(app_dir.path()),
            vec!["requirements.txt"]
        );
    }

    #[test]
    fn finds_misspelled_requirements_file() {
        let app_dir = tempfile::tempdir().unwrap();
        fs::write(app_dir.path().join("requirments.txt"), "").unwrap();

        assert_eq!(
            python_project_files(app_dir.path()),
            vec!["requirments.txt"]
        );
    }

    #[test]
    fn empty_app_has_no_project_files() {
        let app_dir = tempfile::tempdir().unwrap();
        assert!(python_project_files(app_dir.path()).is_empty());
    }
}

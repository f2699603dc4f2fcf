//! The benchmark's apps (`benches/fixtures/<name>/`) and the change each scenario makes.

use crate::report::Scenario;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The Python version the Python version scenario switches to.
pub(crate) const NEW_PYTHON_VERSION: &str = "3.13";

/// A fixture app.
#[derive(Debug, Clone)]
pub(crate) struct App {
    /// The fixture's directory name.
    pub(crate) name: &'static str,
    pub(crate) summary: &'static str,
    /// The most a cold build may take (median wall time): half of what it took on this
    /// machine when issue 14 ("Cold builds: halve them") was filed.
    pub(crate) cold_target: Duration,
}

/// Every app, in report order.
pub(crate) const APPS: [App; 3] = [
    App {
        name: "pip_flask",
        summary: "pip, `requirements.txt` with Flask, gunicorn, requests (13 packages pinned)",
        cold_target: Duration::from_millis(4_400),
    },
    App {
        name: "django_whitenoise",
        summary: "pip, `requirements.txt` with Django, gunicorn, WhiteNoise (5 packages pinned); collectstatic",
        cold_target: Duration::from_secs(5),
    },
    App {
        name: "uv_flask",
        summary: "uv, `pyproject.toml` + `uv.lock` with Flask, gunicorn, requests (13 packages locked)",
        cold_target: Duration::from_millis(3_800),
    },
];

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/fixtures")
}

impl App {
    pub(crate) fn fixture_dir(&self) -> PathBuf {
        fixtures_dir().join(self.name)
    }

    /// The files that replace the app's own in the dependency scenario.
    fn added_dependency_dir(&self) -> PathBuf {
        fixtures_dir().join("add-dependency").join(self.name)
    }

    /// The fixture's `.python-version`, and the one the Python version scenario writes.
    pub(crate) fn python_change(&self) -> Result<(String, String), String> {
        let path = self.fixture_dir().join(".python-version");
        let version = fs::read_to_string(&path)
            .map_err(|error| format!("Cannot read {}: {error}", path.display()))?;
        let version = version.trim().to_string();
        if version == NEW_PYTHON_VERSION {
            return Err(format!(
                "{} already requests Python {NEW_PYTHON_VERSION}, so the Python version scenario would change nothing.",
                path.display()
            ));
        }
        Ok((version, NEW_PYTHON_VERSION.to_string()))
    }

    /// Puts the app's source in `source` as `scenario` wants it, given that it holds what the
    /// previous scenario of the run left there.
    pub(crate) fn prepare(&self, scenario: Scenario, source: &Path) -> Result<(), String> {
        match scenario {
            Scenario::Cold => {
                remove_tree(source)?;
                copy_tree(&self.fixture_dir(), source)
            }
            Scenario::Warm => Ok(()),
            Scenario::AddDependency => copy_tree(&self.added_dependency_dir(), source),
            Scenario::PythonVersion => {
                let path = source.join(".python-version");
                fs::write(&path, format!("{NEW_PYTHON_VERSION}\n"))
                    .map_err(|error| format!("Cannot write {}: {error}", path.display()))
            }
        }
    }
}

/// Copies the files and dirs under `from` into `to` (created if needed), replacing files that
/// exist there.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    let entries =
        fs::read_dir(from).map_err(|error| format!("Cannot read {}: {error}", from.display()))?;
    fs::create_dir_all(to).map_err(|error| format!("Cannot create {}: {error}", to.display()))?;
    for entry in entries {
        let entry = entry.map_err(|error| format!("Cannot read {}: {error}", from.display()))?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let file_type = entry
            .file_type()
            .map_err(|error| format!("Cannot read {}: {error}", source.display()))?;
        if file_type.is_dir() {
            copy_tree(&source, &target)?;
        } else {
            fs::copy(&source, &target)
                .map_err(|error| format!("Cannot copy {}: {error}", source.display()))?;
        }
    }
    Ok(())
}

/// Removes `path` and everything under it if it exists, first making read-only dirs writable
/// (some tools leave them in caches).
pub(crate) fn remove_tree(path: &Path) -> Result<(), String> {
    if fs::symlink_metadata(path).is_err() || fs::remove_dir_all(path).is_ok() {
        return Ok(());
    }
    make_dirs_writable(path);
    fs::remove_dir_all(path).map_err(|error| format!("Cannot remove {}: {error}", path.display()))
}

fn make_dirs_writable(path: &Path) {
    let Ok(metadata) = fs::symlink_metadata(path) else {
        return;
    };
    if !metadata.is_dir() {
        return;
    }
    let mut permissions = metadata.permissions();
    permissions.set_mode(permissions.mode() | 0o700);
    let _ = fs::set_permissions(path, permissions);
    if let Ok(entries) = fs::read_dir(path) {
        for entry in entries.flatten() {
            make_dirs_writable(&entry.path());
        }
    }
}

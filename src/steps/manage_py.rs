//! Finding a Django project's `manage.py`: in the app's root, or else the shallowest one a
//! directory or two below it (`backend/manage.py`, `src/mysite/manage.py`), as Heroku's classic
//! Python buildpack does for projects kept in a subdirectory of a repository.

use std::fs;
use std::path::{Path, PathBuf};

/// How many directories deep below the app's root a `manage.py` is looked for: two, so
/// `src/mysite/manage.py` is found (a path depth of 3, as the classic buildpack's
/// `find -maxdepth 3`).
const MAX_DIRS_DEEP: usize = 2;

/// Directories that hold other people's code, never the app's project.
const IGNORED_DIRS: [&str; 3] = ["node_modules", "site-packages", "__pycache__"];

/// The `manage.py` the Django steps use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ManagePy {
    /// Relative to the app's root, e.g. `backend/manage.py`.
    path: PathBuf,
    /// The other `manage.py` files found as shallow as `path`, which come after it in sorted
    /// order and aren't used.
    others: Vec<PathBuf>,
}

impl ManagePy {
    /// The app's `manage.py`: the root one, else the shallowest one up to two directories deep,
    /// the first in sorted order when several are as shallow. Hidden directories (`.venv`,
    /// `.git`), virtual environments (a directory with a `pyvenv.cfg`), `node_modules`,
    /// `site-packages` and symlinked directories aren't searched; unreadable directories are
    /// skipped.
    pub(crate) fn find(app_dir: &Path) -> Option<Self> {
        let in_root = PathBuf::from("manage.py");
        if app_dir.join(&in_root).is_file() {
            return Some(Self {
                path: in_root,
                others: Vec::new(),
            });
        }
        let mut level = vec![PathBuf::new()];
        for _ in 0..MAX_DIRS_DEEP {
            let mut next: Vec<PathBuf> = level
                .iter()
                .flat_map(|dir| searchable_subdirs(app_dir, dir))
                .collect();
            next.sort();
            let mut found = next
                .iter()
                .map(|dir| dir.join("manage.py"))
                .filter(|path| app_dir.join(path).is_file());
            if let Some(path) = found.next() {
                return Some(Self {
                    path,
                    others: found.collect(),
                });
            }
            level = next;
        }
        None
    }

    /// `manage.py`, `backend/manage.py`.
    pub(crate) fn shown(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }

    /// The directory the project's commands run in and its modules are imported from, relative
    /// to the app's root (empty for the root).
    pub(crate) fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new(""))
    }

    pub(crate) fn is_in_root(&self) -> bool {
        self.dir().as_os_str().is_empty()
    }

    /// The other `manage.py` files as shallow as this one, e.g. `frontend/manage.py`.
    pub(crate) fn others(&self) -> Vec<String> {
        self.others
            .iter()
            .map(|path| path.to_string_lossy().into_owned())
            .collect()
    }

    /// The directory as one shell word for a `bash -c` command (`backend`, `'my site'`), for
    /// the servers' `--chdir` / `--app-dir` options.
    pub(crate) fn dir_shell_word(&self) -> String {
        let dir = self.dir().to_string_lossy();
        // Never mistaken for an option.
        let dir = if dir.starts_with('-') {
            format!("./{dir}")
        } else {
            dir.into_owned()
        };
        if dir
            .chars()
            .all(|char| char.is_ascii_alphanumeric() || "_./-+@%,:=".contains(char))
        {
            dir
        } else {
            format!("'{}'", dir.replace('\'', r"'\''"))
        }
    }

    /// How a command run in the project's directory is reproduced from the app's root:
    /// `cd backend && python manage.py ...` (just the command for a root `manage.py`).
    pub(crate) fn command_from_root(&self, command: &str) -> String {
        if self.is_in_root() {
            command.to_string()
        } else {
            format!("cd {} && {command}", self.dir_shell_word())
        }
    }
}

/// The directories inside `app_dir/relative` that may hold the project, as app-relative paths.
fn searchable_subdirs(app_dir: &Path, relative: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(app_dir.join(relative)) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .filter_map(|entry| {
            // A name that isn't UTF-8 couldn't be named in a process's command.
            let name = entry.file_name().into_string().ok()?;
            let searchable = !name.starts_with('.')
                && !IGNORED_DIRS.contains(&name.as_str())
                && !entry.path().join("pyvenv.cfg").exists();
            searchable.then(|| relative.join(name))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for path in files {
            let path = dir.path().join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "").unwrap();
        }
        dir
    }

    fn found(files: &[&str]) -> Option<(String, Vec<String>)> {
        let dir = app(files);
        ManagePy::find(dir.path()).map(|manage_py| (manage_py.shown(), manage_py.others()))
    }

    fn found_path(files: &[&str]) -> Option<String> {
        found(files).map(|(path, _)| path)
    }

    #[test]
    fn the_root_manage_py_wins() {
        let dir = app(&["manage.py", "a/manage.py"]);
        let manage_py = ManagePy::find(dir.path()).unwrap();
        assert_eq!(manage_py.shown(), "manage.py");
        assert_eq!(manage_py.dir(), Path::new(""));
        assert!(manage_py.is_in_root());
        assert!(manage_py.others().is_empty());
        assert_eq!(
            manage_py.command_from_root("python manage.py collectstatic"),
            "python manage.py collectstatic"
        );
    }

    #[test]
    fn one_or_two_directories_deep() {
        let dir = app(&["backend/manage.py", "backend/mysite/settings.py"]);
        let manage_py = ManagePy::find(dir.path()).unwrap();
        assert_eq!(manage_py.shown(), "backend/manage.py");
        assert_eq!(manage_py.dir(), Path::new("backend"));
        assert!(!manage_py.is_in_root());
        assert_eq!(
            manage_py.command_from_root("python manage.py help"),
            "cd backend && python manage.py help"
        );
        assert_eq!(
            found_path(&["src/mysite/manage.py"]).as_deref(),
            Some("src/mysite/manage.py")
        );
        // Three directories deep is too deep.
        assert_eq!(found_path(&["a/b/c/manage.py"]), None);
        assert_eq!(found_path(&["README.md", "src/app.py"]), None);
    }

    #[test]
    fn the_shallowest_wins() {
        assert_eq!(
            found_path(&["a/b/manage.py", "z/manage.py"]).as_deref(),
            Some("z/manage.py")
        );
        // Only the shallowest level counts as a tie.
        assert_eq!(
            found(&["b/manage.py", "a/x/manage.py", "c/x/manage.py"]),
            Some(("b/manage.py".to_string(), Vec::new()))
        );
    }

    #[test]
    fn ties_are_broken_by_sorted_path_and_reported() {
        assert_eq!(
            found(&[
                "web/manage.py",
                "api/manage.py",
                "docs/conf.py",
                "admin/manage.py"
            ]),
            Some((
                "admin/manage.py".to_string(),
                vec!["api/manage.py".to_string(), "web/manage.py".to_string()]
            ))
        );
        assert_eq!(
            found(&["src/b/manage.py", "src/a/manage.py", "lib/z/manage.py"]),
            Some((
                "lib/z/manage.py".to_string(),
                vec!["src/a/manage.py".to_string(), "src/b/manage.py".to_string()]
            ))
        );
    }

    #[test]
    fn ignores_hidden_dirs_environments_and_other_peoples_code() {
        for files in [
            &[".git/hooks/manage.py"][..],
            &[".venv/lib/manage.py"],
            &["node_modules/pkg/manage.py"],
            &["site-packages/manage.py"],
            &["lib/site-packages/manage.py"],
            &["venv/pyvenv.cfg", "venv/manage.py"],
            &["env/pyvenv.cfg", "env/bin/manage.py"],
            &["__pycache__/manage.py"],
        ] {
            assert_eq!(found_path(files), None, "{files:?}");
        }
        // A directory merely named like an environment is searched.
        assert_eq!(
            found_path(&["venv/manage.py"]).as_deref(),
            Some("venv/manage.py")
        );
        // The ignored one doesn't shadow a deeper project.
        assert_eq!(
            found_path(&["venv/pyvenv.cfg", "venv/manage.py", "src/site/manage.py"]).as_deref(),
            Some("src/site/manage.py")
        );
    }

    #[test]
    fn a_manage_py_directory_or_a_symlinked_directory_isnt_a_project() {
        let dir = app(&["real/project/manage.py"]);
        fs::create_dir_all(dir.path().join("other/manage.py")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("real/project"), dir.path().join("link"))
            .unwrap();
        let manage_py = ManagePy::find(dir.path()).unwrap();
        assert_eq!(manage_py.shown(), "real/project/manage.py");
        assert!(manage_py.others().is_empty());
    }

    #[test]
    fn directories_are_quoted_for_the_shell() {
        let shell_word = |path: &str| {
            ManagePy {
                path: PathBuf::from(path),
                others: Vec::new(),
            }
            .dir_shell_word()
        };
        assert_eq!(shell_word("src/my-site.v2/manage.py"), "src/my-site.v2");
        assert_eq!(shell_word("my site/manage.py"), "'my site'");
        assert_eq!(shell_word("it's/manage.py"), r"'it'\''s'");
        assert_eq!(shell_word("$HOME/manage.py"), "'$HOME'");
        assert_eq!(shell_word("-x/manage.py"), "./-x");
    }
}

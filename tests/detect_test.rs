//! Detection through the local platform with the real buildpack: which apps are Python apps,
//! with the lifecycle's output. The apps are made in temporary directories, since some entries
//! (a broken symlink, a directory named like a file) don't belong in a fixture.

use crate::support::{buildpack_output, default_build_config};
use indoc::indoc;
use local_platform::testing::{
    BuildConfig, PackResult, TestRunner, assert_contains, assert_not_contains,
};
use std::path::Path;

/// What detection prints when a buildpack group passes (then the build starts).
const DETECT_PASSED: &str = "===> DETECTING\n1 of 1 buildpacks participating\ncommunity/python 0.1.0\n===> RESTORING\n===> BUILDING\n";

/// A build of an app made by `make` in a fresh temporary directory. The directory is returned
/// so that it lives as long as the build.
fn config_for(make: impl Fn(&Path)) -> (tempfile::TempDir, BuildConfig) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let app = dir.path().join("app");
    std::fs::create_dir(&app).expect("creating the app directory");
    make(&app);
    let mut config = default_build_config("no_version");
    config.app_dir(app);
    (dir, config)
}

fn with_files(files: &'static [&'static str]) -> impl Fn(&Path) {
    move |app: &Path| {
        for file in files {
            std::fs::write(app.join(file), "").expect("writing an app file");
        }
    }
}

/// An app with only `files` passes detection; having no package manager file, the build then
/// stops with `error` before it installs anything.
fn detects_then_fails(files: &'static [&'static str], error: &str) {
    let (_dir, mut config) = config_for(with_files(files));
    config.expected_pack_result(PackResult::Failure);
    TestRunner::default().build(&config, |context| {
        assert_contains!(context.pack_stdout, DETECT_PASSED);
        let output = buildpack_output(&context);
        assert_contains!(output, error);
        assert_not_contains!(output, "## Installing Python");
    });
}

const NO_PACKAGE_MANAGER: &str = indoc! {"
    ! Error: No package manager files were found
    !
    ! The buildpack needs exactly one of these files in the root of the app to
    ! install its dependencies:
    !   - requirements.txt (pip)
    !   - Pipfile and Pipfile.lock (Pipenv; create the lock with 'pipenv lock')
    !   - poetry.lock (Poetry; create it with 'poetry lock')
    !   - uv.lock (uv; create it with 'uv lock')
    !   - pyproject.toml listing [project] dependencies (pip, without a lockfile)
    !
    ! If the app has no dependencies, add an empty requirements.txt.
"};

#[test]
fn detect_passes_with_manage_py() {
    detects_then_fails(&["manage.py"], NO_PACKAGE_MANAGER);
}

#[test]
fn detect_passes_with_python_version_file() {
    detects_then_fails(&[".python-version"], NO_PACKAGE_MANAGER);
}

#[test]
fn detect_passes_with_pyproject_toml() {
    detects_then_fails(
        &["pyproject.toml"],
        indoc! {r#"
            ! Error: pyproject.toml declares nothing to install
            !
            ! The app has a pyproject.toml and no lockfile or requirements.txt, but
            ! it has no [project] dependencies list and no [build-system].
            !
            ! List the app's dependencies in pyproject.toml (an empty list if it has
            ! none):
            !   [project]
            !   dependencies = ["flask>=3", "gunicorn"]
            ! or create a lockfile with 'uv lock' (uv.lock) or 'poetry lock'
            ! (poetry.lock), or list them in a requirements.txt.
        "#},
    );
}

#[test]
fn detect_passes_with_a_misspelled_requirements_file_then_the_build_names_it() {
    detects_then_fails(
        &["requirments.txt"],
        indoc! {"
            ! Error: Found requirments.txt instead of requirements.txt
            !
            ! The app has a file named requirments.txt, but no requirements.txt. pip only
            ! reads a file named exactly requirements.txt (names are case-sensitive), so the
            ! buildpack can't tell which packages to install.
            !
            ! Rename requirments.txt to requirements.txt, commit the change, and build again.
        "},
    );
}

/// The app fails detection with the lifecycle's output, and the build never starts.
fn fails_detection(make: impl Fn(&Path)) {
    let (_dir, mut config) = config_for(make);
    config.expected_pack_result(PackResult::Failure);
    TestRunner::default().build(&config, |context| {
        assert_contains!(
            context.pack_stdout,
            indoc! {"
                ===> DETECTING
                ======== Output: community/python@0.1.0 ========
                No Python project files found. This buildpack looks for any of:
                  - .python-version
                  - Pipfile
                  - Pipfile.lock
                  - manage.py
                  - poetry.lock
                  - pyproject.toml
                  - requirements.txt
                  - runtime.txt
                  - setup.cfg
                  - setup.py
                  - uv.lock
                If this is a Python app, add a requirements.txt (or another of the files above) to the root of the app.
                ======== Results ========
                fail: community/python@0.1.0
                ERROR: No buildpack groups passed detection.
                ERROR: Please check that you are running against the correct path.
                ERROR: failed to detect: no buildpacks participating
            "}
        );
        assert_not_contains!(context.pack_stdout, "===> BUILDING");
        assert_not_contains!(context.pack_stdout, "panicked");
    });
}

#[test]
fn detect_fails_for_an_empty_app() {
    fails_detection(|_| {});
}

#[test]
fn detect_fails_for_a_directory_named_requirements_txt() {
    fails_detection(|app| {
        std::fs::create_dir(app.join("requirements.txt")).unwrap();
        std::fs::write(app.join("requirements.txt/flask.txt"), "flask\n").unwrap();
    });
}

#[test]
fn detect_fails_for_a_broken_symlink() {
    fails_detection(|app| {
        std::os::unix::fs::symlink("missing-requirements.txt", app.join("requirements.txt"))
            .unwrap();
        std::os::unix::fs::symlink("/nonexistent/pyproject.toml", app.join("pyproject.toml"))
            .unwrap();
    });
}

//! Choosing the package manager: apps with several package managers' files, or with a
//! `pyproject.toml` and no lockfile, fail before any layer is made.

use crate::support::{build_output, failing_build_config};
use indoc::indoc;
use local_platform::testing::{TestRunner, assert_contains, assert_not_contains};

#[test]
fn multiple_package_managers() {
    TestRunner::default().build(
        failing_build_config("multiple_package_managers"),
        |context| {
            let out = build_output(&context);
            assert_contains!(
                out,
                indoc! {"
                ! Error: Multiple package manager files were found
                !
                ! The app contains files for more than one Python package manager:
                !   - requirements.txt (pip)
                !   - uv.lock (uv)
                !
                ! Each of these files would install the dependencies differently, so the
                ! buildpack can't choose. Delete the files of the package managers the app
                ! doesn't use, and keep only one of them.
            "}
            );
            assert_not_contains!(out, "Installing Python");
        },
    );
}

#[test]
fn pyproject_only() {
    TestRunner::default().build(failing_build_config("pyproject_only"), |context| {
        assert_contains!(
            build_output(&context),
            indoc! {"
                ! Error: No package manager lockfile was found
                !
                ! The app has a pyproject.toml but no lockfile, so the buildpack can't tell which
                ! package manager installs the dependencies, nor which versions to install.
                !
                ! Create the lockfile with the package manager the app uses, commit it, and
                ! build again:
                !   - uv: run 'uv lock' (creates uv.lock)
                !   - Poetry: run 'poetry lock' (creates poetry.lock)
                !
                ! Or list the dependencies in a requirements.txt to install them with pip.
            "}
        );
    });
}

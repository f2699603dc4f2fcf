//! Choosing the package manager: apps with several package managers' files fail before any
//! layer is made. (A `pyproject.toml` without a lockfile is a pip app: `pyproject_test.rs`.)

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

//! uv apps: uv in its build-only layer, uv's cache layer, and `uv sync --locked` into the
//! `venv` layer, built through the local platform with real runtimes and real `PyPI` packages.

use crate::lockfile_apps::{
    app_report, basic_report, config, updated_report, with_files_from, with_python_version,
};
use crate::support::{build_output, failing_build_config};
use indoc::indoc;
use local_platform::testing::{TestRunner, assert_contains, assert_not_contains};

#[test]
fn uv_app_installs_the_lock_reuses_it_and_reinstalls_on_changes() {
    TestRunner::default().build(config("uv_basic"), |context| {
        let out = build_output(&context);
        assert_contains!(out, "- uv 0.13.8 (used during the build only)\n");
        assert_contains!(out,
            "  - Running `uv sync --locked --no-default-groups --no-install-project`\n\n      Resolved 5 packages in "
        );
        assert_contains!(out,
            "       + python-dateutil==4.0.0\n       + typing-extensions==4.16.0\n       + tzdata==2026.6\n"
        );
        assert_eq!(app_report(&context), basic_report("3.12.1"));

        // Same inputs: nothing is installed, and the environment is the cached one.
        context.rebuild(config("uv_basic"), |context| {
            let out = build_output(&context);
            assert_contains!(out,
                indoc! {"
                    - uv 0.13.8 (used during the build only)
                      - Using cached uv
                "}
            );
            assert_contains!(out,
                "  - Skipping the install: pyproject.toml, uv.lock and uv 0.13.8 are unchanged since the last build\n"
            );
            assert_not_contains!(out, "uv sync");
            assert_not_contains!(out, "uv's cache");
            assert_eq!(app_report(&context), basic_report("3.12.1"));

            // `six` moved to the main dependencies and `uv lock` run again: uv updates the
            // cached environment in place.
            let updated = with_files_from(
                "uv_basic",
                "uv_lock_updated",
                &["pyproject.toml", "uv.lock"],
            );
            context.rebuild(updated, |context| {
                let out = build_output(&context);
                assert_contains!(out,
                    "  - Updating the cached environment because: pyproject.toml changed; uv.lock changed\n  - Using uv's cached downloads\n"
                );
                assert_contains!(out, "Installed 1 package in");
                assert_contains!(out, " + six==1.16.0\n");
                assert_eq!(app_report(&context), updated_report("3.12.1"));

                // A new Python version: every cache built for the old one is discarded.
                context.rebuild(with_python_version("uv_basic", "3.13"), |context| {
                    let out = build_output(&context);
                    let reason = "The Python version changed from 3.12.1 to 3.13.0";
                    assert_contains!(out, &format!("  - Discarding cached uv because: {reason}\n"));
                    assert_contains!(out, &format!("  - Discarding uv's cache because: {reason}\n"));
                    assert_contains!(out,
                        &format!("  - Discarding the cached environment because: {reason}\n")
                    );
                    assert_contains!(out, "Installed 3 packages in");
                    assert_eq!(app_report(&context), basic_report("3.13.0"));
                });
            });
        });
    });
}

#[test]
fn uv_lockfile_out_of_sync() {
    TestRunner::default().build(failing_build_config("uv_lockfile_out_of_sync"), |context| {
        let out = build_output(&context);
        assert_contains!(out,
            "      error: The lockfile at `uv.lock` needs to be updated, but `--locked` was provided.\n"
        );
        assert_contains!(out,
            indoc! {"
                ! Error: The uv.lock file is out of date
                !
                ! uv.lock doesn't match the dependencies in pyproject.toml (see uv's output
                ! above): pyproject.toml was changed after uv.lock was last updated.
                !
                ! Run 'uv lock' to update uv.lock, commit the result, and build again.
            "}
        );
    });
}

//! Pipenv apps: Pipenv in a build-only layer, and the lock's default packages installed into the
//! `venv` layer (`pipenv verify`, then `pipenv install --deploy` with `VIRTUAL_ENV` set to it),
//! built through the local platform with real runtimes and real `PyPI` packages.

use crate::lockfile_apps::{
    app_report, basic_report, config, updated_report, with_files_from, with_python_version,
};
use crate::support::{build_output, failing_build_config};
use indoc::indoc;
use local_platform::testing::{TestRunner, assert_contains, assert_not_contains};

#[test]
fn pipenv_app_installs_the_default_packages_reuses_them_and_reinstalls_on_changes() {
    TestRunner::default().build(config("pipenv_basic"), |context| {
        let out = build_output(&context);
        assert_contains!(out, "- Pipenv 2026.10.3 (used during the build only)\n");
        assert_contains!(out,
            "  - Running `pipenv verify`\n\n      Pipfile.lock is up-to-date.\n"
        );
        assert_contains!(out, "  - Running `pipenv install --deploy`\n");
        assert_eq!(app_report(&context), basic_report("3.12.1"));
        // Pipenv used the dependencies layer, not a virtual environment of its own.
        assert_eq!(
            context.run_shell_command("ls -A").stdout,
            ".python-version\nPipfile\nPipfile.lock\napp.py\n"
        );
        // pip, run by Pipenv, writes timestamp-based bytecode: the layer must hold none of it.
        assert_eq!(
            context
                .run_shell_command(
                    "python -c 'import pathlib, sys; print(sum(path.read_bytes()[4:8] == bytes(4) \
                     for path in pathlib.Path(sys.prefix).rglob(\"*.pyc\")))'"
                )
                .stdout,
            "0\n"
        );

        context.rebuild(config("pipenv_basic"), |context| {
            let out = build_output(&context);
            assert_contains!(out,
                indoc! {"
                    - Pipenv 2026.10.3 (used during the build only)
                      - Using cached Pipenv
                "}
            );
            assert_contains!(out,
                "  - Skipping the install: Pipfile, Pipfile.lock and Pipenv 2026.10.3 are unchanged since the last build\n"
            );
            assert_not_contains!(out, "pipenv verify");
            assert_not_contains!(out, "pipenv install");
            assert_eq!(app_report(&context), basic_report("3.12.1"));

            // `six` moved to the default packages and `pipenv lock` run again.
            let updated = with_files_from(
                "pipenv_basic",
                "pipenv_lock_updated",
                &["Pipfile", "Pipfile.lock"],
            );
            context.rebuild(updated, |context| {
                let out = build_output(&context);
                assert_contains!(out,
                    "  - Discarding the cached environment because: Pipfile changed; Pipfile.lock changed\n"
                );
                assert_contains!(out, "  - Running `pipenv install --deploy`\n");
                assert_eq!(app_report(&context), updated_report("3.12.1"));

                context.rebuild(with_python_version("pipenv_basic", "3.13"), |context| {
                    let out = build_output(&context);
                    let reason = "The Python version changed from 3.12.1 to 3.13.0";
                    assert_contains!(out,
                        &format!("  - Discarding cached Pipenv because: {reason}\n")
                    );
                    assert_contains!(out,
                        &format!("  - Discarding the cached environment because: {reason}\n")
                    );
                    assert_contains!(out, "  - Running `pipenv install --deploy`\n");
                    assert_eq!(app_report(&context), basic_report("3.13.0"));
                });
            });
        });
    });
}

#[test]
fn pipenv_lockfile_out_of_sync() {
    TestRunner::default().build(
        failing_build_config("pipenv_lockfile_out_of_sync"),
        |context| {
            let out = build_output(&context);
            assert_contains!(
                out,
                "      Pipfile.lock is out-of-date. Run $ pipenv lock to update.\n"
            );
            assert_contains!(
                out,
                indoc! {"
                ! Error: The Pipfile.lock file is out of date
                !
                ! Pipfile.lock wasn't generated from the current Pipfile (see Pipenv's output
                ! above): Pipfile was changed after Pipfile.lock was last updated.
                !
                ! Run 'pipenv lock' to update Pipfile.lock, commit the result, and build again.
            "}
            );
            assert_not_contains!(out, "pipenv install");
        },
    );
}

#[test]
fn pipenv_no_lockfile() {
    TestRunner::default().build(failing_build_config("pipenv_no_lockfile"), |context| {
        assert_contains!(
            build_output(&context),
            indoc! {"
                ! Error: No Pipfile.lock was found
                !
                ! The app has a Pipfile but no Pipfile.lock. The buildpack installs exactly the
                ! package versions pinned in Pipfile.lock, so every build gets the same packages.
                !
                ! Create the lock with 'pipenv lock', commit Pipfile.lock, and build again.
            "}
        );
    });
}

#[test]
fn pipenv_pipfile_invalid() {
    TestRunner::default().build(failing_build_config("pipenv_pipfile_invalid"), |context| {
        assert_contains!(
            build_output(&context),
            indoc! {r#"
                ! Error: Unable to parse Pipfile
                !
                ! Pipfile isn't valid TOML (line 7, column 21):
                !   invalid string
                !   expected `"`, `'`
            "#}
        );
    });
}

#[test]
fn pipenv_lockfile_invalid() {
    TestRunner::default().build(failing_build_config("pipenv_lockfile_invalid"), |context| {
        assert_contains!(
            build_output(&context),
            indoc! {"
                ! Error: Unable to parse Pipfile.lock
                !
                ! Pipfile.lock isn't valid JSON (line 54, column 5):
                !   key must be a string
                !
                ! Pipfile.lock is generated by Pipenv: create it again with 'pipenv lock'.
            "}
        );
    });
}

//! Poetry apps: Poetry and its export plugin in a build-only layer, and the lock's main group
//! installed into the `venv` layer (`poetry check --lock`, `poetry export --only main`, then
//! `pip install --require-hashes --no-deps`), built through the local platform with real
//! runtimes and real `PyPI` packages. This machine's package index serves only the simple index,
//! so these builds also prove the install never needs the index's JSON API.

use crate::lockfile_apps::{
    app_report, basic_report, config, updated_report, with_files_from, with_python_version,
};
use crate::support::{build_output, failing_build_config};
use indoc::indoc;
use local_platform::testing::{TestRunner, assert_contains, assert_not_contains};

#[test]
fn poetry_app_installs_the_main_group_reuses_it_and_reinstalls_on_changes() {
    TestRunner::default().build(config("poetry_basic"), |context| {
        let out = build_output(&context);
        assert_contains!(out, "- Poetry 2.5.1 (used during the build only)\n");
        assert_contains!(out,
            "  - Running `poetry check --lock`\n\n      All set!\n"
        );
        assert_contains!(out,
            "  - Running `poetry export --only main --format requirements.txt --output "
        );
        assert_contains!(out, "install --require-hashes --no-deps --no-compile --requirement ");
        assert_contains!(out,
            "Successfully installed python-dateutil-4.0.0 typing-extensions-4.16.0 tzdata-2026.6\n"
        );
        assert_eq!(app_report(&context), basic_report("3.12.1"));

        context.rebuild(config("poetry_basic"), |context| {
            let out = build_output(&context);
            assert_contains!(out,
                indoc! {"
                    - Poetry 2.5.1 (used during the build only)
                      - Using cached Poetry
                "}
            );
            assert_contains!(out,
                "  - Skipping the install: pyproject.toml, poetry.lock and Poetry 2.5.1 are unchanged since the last build\n"
            );
            assert_not_contains!(out, "poetry check");
            assert_not_contains!(out, "Successfully installed");
            assert_eq!(app_report(&context), basic_report("3.12.1"));

            // `six` moved to the main group and `poetry lock` run again: the environment is made
            // again from the new lock (pip would otherwise keep packages the lock dropped).
            let updated = with_files_from(
                "poetry_basic",
                "poetry_lock_updated",
                &["pyproject.toml", "poetry.lock"],
            );
            context.rebuild(updated, |context| {
                let out = build_output(&context);
                assert_contains!(out,
                    "  - Discarding the cached environment because: poetry.lock changed; pyproject.toml changed\n"
                );
                assert_contains!(out,
                    "Successfully installed python-dateutil-4.0.0 six-1.16.0 typing-extensions-4.16.0 tzdata-2026.6\n"
                );
                assert_eq!(app_report(&context), updated_report("3.12.1"));

                context.rebuild(with_python_version("poetry_basic", "3.13"), |context| {
                    let out = build_output(&context);
                    let reason = "The Python version changed from 3.12.1 to 3.13.0";
                    assert_contains!(out,
                        &format!("  - Discarding cached Poetry because: {reason}\n")
                    );
                    assert_contains!(out,
                        &format!("  - Discarding the cached environment because: {reason}\n")
                    );
                    assert_contains!(out, "Successfully installed python-dateutil-4.0.0");
                    assert_eq!(app_report(&context), basic_report("3.13.0"));
                });
            });
        });
    });
}

#[test]
fn poetry_lockfile_out_of_sync() {
    TestRunner::default().build(failing_build_config("poetry_lockfile_out_of_sync"), |context| {
        let out = build_output(&context);
        assert_contains!(out,
            "      Error: pyproject.toml changed significantly since poetry.lock was last generated. Run `poetry lock` to fix the lock file.\n"
        );
        assert_contains!(out,
            indoc! {"
                ! Error: The poetry.lock file is out of date
                !
                ! poetry.lock doesn't match the dependencies in pyproject.toml (see Poetry's
                ! output above): pyproject.toml was changed after poetry.lock was last
                ! updated.
                !
                ! Run 'poetry lock' to update poetry.lock, commit the result, and build again.
            "}
        );
        assert_not_contains!(out, "poetry export");
    });
}

/// Poetry's modules (and its dependencies') get hash-based bytecode from the buildpack
/// (`pip install --no-compile`, then the buildpack's compile), so the runs of a cached Poetry
/// (restored with the exporter's reset mtimes) don't compile them again: after a rebuild in
/// which the cached Poetry ran (`poetry check --lock`, failing), its layer holds only such
/// bytecode, one file for each module.
#[test]
#[cfg(not(feature = "pack"))]
fn poetry_layer_bytecode_is_hash_based_and_poetry_runs_write_none() {
    TestRunner::default().build(
        crate::support::default_build_config("poetry_basic"),
        |context| {
            assert_contains!(
                build_output(&context),
                "/poetry/lib/python3.12/site-packages to bytecode: 8 shards of its files"
            );
            context.rebuild(
                failing_build_config("poetry_lockfile_out_of_sync"),
                |context| {
                    let out = build_output(&context);
                    assert_contains!(out, "! Error: The poetry.lock file is out of date\n");
                    let site_packages = context
                        .work_dir()
                        .join("layers/community_python/poetry/lib/python3.12/site-packages");
                    crate::support::assert_only_unchecked_hash_bytecode(&site_packages, 1000);
                },
            );
        },
    );
}

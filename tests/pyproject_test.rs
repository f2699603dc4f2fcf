//! Apps with a `pyproject.toml` and no lockfile: pip (or uv) installs `[project].dependencies`,
//! or the project itself when it has a `[build-system]`, into the `venv` layer, warning that the
//! build isn't reproducible; a changed `pyproject.toml` updates the environment in place.

use crate::support::{build_output, default_build_config, failing_build_config};
use indoc::indoc;
use local_platform::testing::{BuildConfig, TestRunner, assert_contains, assert_not_contains};
use std::path::PathBuf;

const NO_LOCKFILE_WARNING: &str = indoc! {"
    ! The app has no lockfile, so its builds aren't reproducible: each build installs the
    ! newest versions that pyproject.toml allows, which may change from one build to the next.
    ! Create a lockfile and commit it: 'uv lock' (uv.lock, installed with uv) or
    ! 'poetry lock' (poetry.lock, installed with Poetry).
"};

/// `fixture` with its `pyproject.toml` replaced by `text`.
fn with_pyproject(fixture: &str, text: &'static str) -> BuildConfig {
    let mut config = default_build_config(fixture);
    config.app_dir_preprocessor(move |app_dir: PathBuf| {
        std::fs::write(app_dir.join("pyproject.toml"), text).expect("writing pyproject.toml");
    });
    config
}

#[test]
fn dependencies_are_installed_reused_and_updated_in_place() {
    TestRunner::default().build(default_build_config("pyproject_dependencies"), |context| {
        let out = build_output(&context);
        assert_contains!(out, "## Installing dependencies with pip\n");
        assert_contains!(
            out,
            "- Installing pyproject.toml's [project] dependencies (no [build-system]: the app runs from its directory)\n"
        );
        assert_contains!(out, NO_LOCKFILE_WARNING);
        assert_contains!(
            out,
            "/pip/__pip-runner__.py install --no-compile \"six==1.17.0\" \"typing-extensions==4.15.0\"`"
        );
        assert_contains!(out, "Successfully installed six-1.17.0 typing-extensions-4.15.0");
        let shell = context.run_shell_command(
            "python -c 'import six, typing_extensions, sys; print(six.__version__, sys.prefix == __import__(\"os\").environ[\"VIRTUAL_ENV\"])'",
        );
        assert_eq!(shell.stdout, "1.17.0 True\n");

        // Same pyproject.toml: pip doesn't run.
        context.rebuild(default_build_config("pyproject_dependencies"), |context| {
            let out = build_output(&context);
            assert_contains!(
                out,
                "- pyproject.toml and pip are unchanged: using the cached environment without running pip\n"
            );
            assert_not_contains!(out, " install --no-compile");

            // A dependency dropped: the environment is updated and the package removed.
            let updated = with_pyproject(
                "pyproject_dependencies",
                "[project]\nname = \"pyproject-dependencies\"\nversion = \"0.0.0\"\n\
                 requires-python = \">=3.12\"\ndependencies = [\"typing-extensions==4.15.0\"]\n",
            );
            context.rebuild(updated, |context| {
                let out = build_output(&context);
                assert_contains!(
                    out,
                    "- Updating the cached environment because: pyproject.toml changed\n"
                );
                assert_contains!(
                    out,
                    "Requirement already satisfied: typing-extensions==4.15.0"
                );
                assert_contains!(
                    out,
                    "- Removing packages the requirements no longer need: six\n"
                );
                let shell = context.run_shell_command(
                    "python -c 'import importlib.util as u; print(u.find_spec(\"six\"), u.find_spec(\"typing_extensions\") is not None)'",
                );
                assert_eq!(shell.stdout, "None True\n");
            });
        });
    });
}

#[test]
fn a_project_with_a_build_system_is_installed_then_updated_by_uv() {
    TestRunner::default().build(default_build_config("pyproject_build_system"), |context| {
        let out = build_output(&context);
        assert_contains!(
            out,
            "- Installing the project from pyproject.toml (it has a [build-system]), with its dependencies\n"
        );
        assert_contains!(out, NO_LOCKFILE_WARNING);
        assert_contains!(
            out,
            "/pip/__pip-runner__.py install --no-compile .`"
        );
        assert_contains!(out, "Successfully installed buildapp-1.0.0 six-1.17.0");
        let report = "python -c 'import importlib.metadata as m; print(m.version(\"buildapp\"), m.version(\"six\"))'";
        assert_eq!(context.run_shell_command(report).stdout, "1.0.0 1.17.0\n");

        // Switching to uv updates the same environment in place.
        let mut with_uv = default_build_config("pyproject_build_system");
        with_uv.env("BP_PYTHON_INSTALLER", "uv");
        context.rebuild(with_uv, |context| {
            let out = build_output(&context);
            assert_contains!(out, "## Installing dependencies with uv\n");
            assert_contains!(
                out,
                "- Updating the cached environment because: The installer changed from pip to uv\n"
            );
            assert_contains!(
                out,
                "- Running `uv pip install --python "
            );
            assert_contains!(out, "/community_python/venv/bin/python .`");
            assert_contains!(out, " ~ buildapp==1.0.0");
            assert_eq!(context.run_shell_command(report).stdout, "1.0.0 1.17.0\n");
        });
    });
}

#[test]
fn poetry_dependencies_without_a_lock_are_an_error() {
    TestRunner::default().build(
        failing_build_config("pyproject_poetry_without_lock"),
        |context| {
            let out = build_output(&context);
            assert_contains!(
                out,
                indoc! {"
                    ! Error: No poetry.lock was found
                    !
                    ! pyproject.toml lists dependencies in [tool.poetry.dependencies] (requests),
                    ! which only Poetry installs, but the app has no poetry.lock.
                    !
                    ! Create the lock with 'poetry lock', commit poetry.lock, and build again.
                "}
            );
            assert_not_contains!(out, "## Installing Python");
        },
    );
}

#[test]
fn an_invalid_dependency_is_an_error() {
    TestRunner::default().build(
        failing_build_config("pyproject_invalid_dependency"),
        |context| {
            let out = build_output(&context);
            assert_contains!(
                out,
                indoc! {r#"
                    ! Error: Invalid dependency in pyproject.toml
                    !
                    ! Line 6 of pyproject.toml lists "--index-url=https://example.com/simple" in [project] dependencies,
                    ! which isn't a requirement: each entry must start with a package name, such
                    ! as "flask>=3" or "requests[socks]; python_version < '3.13'".
                    !
                    ! Fix the entry (options such as --index-url belong in the build's
                    ! environment, for example PIP_INDEX_URL), then build again.
                "#}
            );
            assert_not_contains!(out, "## Installing Python");
        },
    );
}

#[test]
fn a_package_that_does_not_exist_names_pyproject_toml() {
    let config = {
        let mut config = with_pyproject(
            "pyproject_dependencies",
            "[project]\nname = \"app\"\nversion = \"0\"\n\
             dependencies = [\"this-package-does-not-exist-buildpack-test==1.0\"]\n",
        );
        config.expected_pack_result(local_platform::testing::PackResult::Failure);
        config
    };
    TestRunner::default().build(config, |context| {
        assert_contains!(
            build_output(&context),
            indoc! {"
                ! Error: Package not found: this-package-does-not-exist-buildpack-test==1.0
                !
                ! pip could not find a version of `this-package-does-not-exist-buildpack-test==1.0` that matches the
                ! requirements and supports this Python version (see pip's output above).
                !
                ! Check the package name and version in pyproject.toml for typos, that the version
                ! exists on the package index and supports this Python version, and, for a
                ! private index, that PIP_INDEX_URL
                ! or PIP_EXTRA_INDEX_URL is set.
            "}
        );
    });
}

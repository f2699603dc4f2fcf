//! `BP_PYTHON_INSTALLER=uv`: a `requirements.txt` installed with `uv pip install` into the same
//! `venv` layer, with uv's cache layer, in-place updates, the SBOM and bytecode; unknown values
//! and missing packages fail with clear errors.

use crate::support::{build_output, default_build_config, failing_build_config};
use indoc::indoc;
use libcnb::data::sbom::SbomFormat;
use libcnb::data::{buildpack_id, layer_name};
use local_platform::testing::{
    BuildConfig, SbomType, TestRunner, assert_contains, assert_not_contains,
};
use std::path::PathBuf;

fn with_uv(mut config: BuildConfig) -> BuildConfig {
    config.env("BP_PYTHON_INSTALLER", "uv");
    config
}

#[test]
fn uv_installs_requirements_reuses_and_updates_them() {
    TestRunner::default().build(with_uv(default_build_config("pip_uv_installer")), |context| {
        let out = build_output(&context);
        assert_contains!(out, "## Installing dependencies with uv\n");
        assert_contains!(out, "- uv 0.13.8 (used during the build only)\n");
        assert_contains!(out, "- Running `uv pip install --python ");
        assert_contains!(
            out,
            "/community_python/venv/bin/python --requirement requirements.txt`"
        );
        assert_contains!(out, " + six==1.17.0\n");
        assert_contains!(out, " + typing-extensions==4.15.0\n");
        assert_not_contains!(out, "Successfully installed");

        // Packages import from the venv, with hash-based bytecode compiled by the buildpack.
        let shell = context.run_shell_command(
            "python -c 'import six, importlib.util as u, sys; \
             pyc = open(u.cache_from_source(six.__file__), \"rb\").read(8); \
             print(six.__version__, int.from_bytes(pyc[4:8], \"little\"))'",
        );
        assert_eq!(shell.stdout, "1.17.0 1\n");
        let venv_sbom = context.download_sbom_files(|files| {
            std::fs::read_to_string(files.path_for(
                buildpack_id!("community/python"),
                SbomType::Layer(layer_name!("venv")),
                SbomFormat::CycloneDxJson,
            ))
            .expect("the venv SBOM")
        });
        assert_contains!(venv_sbom, "\"purl\": \"pkg:pypi/six@1.17.0\"");

        context.rebuild(with_uv(default_build_config("pip_uv_installer")), |context| {
            let out = build_output(&context);
            assert_contains!(
                out,
                "- Requirements and uv are unchanged: using the cached environment without running uv\n"
            );
            assert_not_contains!(out, "uv pip install");

            let mut updated = with_uv(default_build_config("pip_uv_installer"));
            updated.app_dir_preprocessor(|app_dir: PathBuf| {
                std::fs::write(app_dir.join("requirements.txt"), "typing-extensions==4.15.0\n")
                    .expect("writing requirements.txt");
            });
            context.rebuild(updated, |context| {
                let out = build_output(&context);
                assert_contains!(
                    out,
                    "- Updating the cached environment because: requirements.txt changed\n"
                );
                assert_contains!(out, "- Using uv's cached downloads\n");
                assert_contains!(
                    out,
                    "- Removing packages the requirements no longer need: six\n"
                );
                assert_contains!(out, "- Running `uv pip uninstall --python ");
                assert_contains!(out, " - six==1.17.0\n");
                let shell = context.run_shell_command(
                    "python -c 'import importlib.util as u; print(u.find_spec(\"six\"))'",
                );
                assert_eq!(shell.stdout, "None\n");
            });
        });
    });
}

#[test]
fn uv_names_a_package_that_does_not_exist() {
    TestRunner::default().build(
        with_uv(failing_build_config("pip_package_not_found")),
        |context| {
            assert_contains!(
                build_output(&context),
                indoc! {"
                    ! Error: Package not found: this-package-does-not-exist-buildpack-test
                    !
                    ! uv could not find a version of `this-package-does-not-exist-buildpack-test` that matches the
                    ! requirements and supports this Python version (see uv's output above).
                    !
                    ! Check the package name and version in requirements.txt for typos, that the version
                    ! exists on the package index and supports this Python version, and, for a
                    ! private index, that PIP_INDEX_URL (or UV_DEFAULT_INDEX)
                    ! or PIP_EXTRA_INDEX_URL (or UV_INDEX) is set.
                "}
            );
        },
    );
}

#[test]
fn an_unknown_installer_is_an_error() {
    let mut config = failing_build_config("pip_uv_installer");
    config.env("BP_PYTHON_INSTALLER", "conda");
    TestRunner::default().build(config, |context| {
        let out = build_output(&context);
        assert_contains!(
            out,
            indoc! {r#"
                ! Error: Unknown BP_PYTHON_INSTALLER value: "conda"
                !
                ! BP_PYTHON_INSTALLER chooses the installer of a requirements.txt or of a
                ! pyproject.toml without a lockfile. Its allowed values are:
                !   - pip (the default)
                !   - uv (uv's pip interface, `uv pip install`)
                !
                ! Set it to one of them, or unset it to use pip.
            "#}
        );
        assert_not_contains!(out, "## Installing Python");
    });
}

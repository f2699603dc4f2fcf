//! A packaging tool the buildpack can't install (from a private index without it) fails the build
//! with what went wrong and how to fix it, without showing the index's credentials.

use crate::support::runtime_server::runtime_server_url;
use crate::support::{build_output, failing_build_config};
use indoc::indoc;
use local_platform::testing::{TestRunner, assert_contains, assert_not_contains};

/// An index URL with credentials, on the loopback test server: `path` is `/<index>/simple/`.
fn private_index(path: &str) -> String {
    runtime_server_url(path).replacen("http://", "http://deploy:s3cr3t@", 1)
}

/// Builds `fixture` against an index that has pip but not `tool` (at `version`), and checks
/// pip's error for `missing` (the first requirement pip looks for: `name==version`) and the
/// buildpack's: its header followed by `error_parts[0]` (the explanation's start), then the
/// other parts (the end of the command, the advice).
fn assert_tool_install_fails(
    fixture: &str,
    tool: &str,
    version: &str,
    missing: &str,
    error_parts: &[&str],
) {
    let mut config = failing_build_config(fixture);
    config.env(
        "PIP_INDEX_URL",
        private_index("/index-with-only-pip/simple/"),
    );
    TestRunner::default().build(config, |context| {
        let out = build_output(&context);
        // pip itself comes from the index: the tool is the first thing missing.
        assert_contains!(out, "- pip 26.3 (used during the build only)\n");
        assert_contains!(out, &format!("- {tool} {version} (used during the build only)\n"));
        assert_contains!(
            out,
            &format!(
                "      ERROR: Could not find a version that satisfies the requirement {missing} (from versions: none)\n      ERROR: No matching distribution found for {missing}\n"
            )
        );
        // The header, then the explanation's start.
        assert_contains!(
            out,
            &format!(
                "! Error: Unable to install {tool} {version}\n!\n{}",
                error_parts[0]
            )
        );
        for part in &error_parts[1..] {
            assert_contains!(out, part);
        }
        assert_contains!(
            out,
            "ERROR: failed to build: executing lifecycle: failed with status code: 51\n"
        );
        assert_not_contains!(out, "s3cr3t");
    });
}

/// uv's wheel is looked up on the index's page for uv: an index without one fails the build, and
/// a uv app installs no pip first.
#[test]
fn uv_install_failure() {
    build_uv_app_against("/index-with-only-pip/simple/", |out| {
        assert_not_contains!(out, "pip 26.3");
        assert_contains!(
            out,
            &format!(
                indoc! {"
                    - uv 0.13.8 (used during the build only)
                      - Downloading uv-0.13.8-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl ... (failed)

                    ! Error: Unable to install uv 0.13.8
                    !
                    ! The buildpack could not download uv from the package index:
                    ! The index has no page for the project: {page} answered 404 Not Found.
                    !
                    ! If the build uses a private package index, check that PIP_INDEX_URL is
                    ! correct and that uv 0.13.8 is available there. Otherwise this is
                    ! likely a temporary network problem: try the build again.
                "},
                page = runtime_server_url("/index-with-only-pip/simple/uv/")
            )
        );
    });
}

/// An index serving another file under the name of uv's wheel: the pinned SHA-256 refuses it,
/// and nothing of it is unpacked.
#[test]
fn uv_wheel_with_the_wrong_hash() {
    let wheel = "uv-0.13.8-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
    build_uv_app_against(&format!("/tampered/{wheel}/simple/"), |out| {
        let url = runtime_server_url(&format!("/tampered/{wheel}/files/{wheel}"));
        // The SHA-256 of `runtime_server::TAMPERED_WHEEL`.
        let actual = "05f6898c577eab95b611c047b854fd9753d69f1b23588a0b7486d28306f1bf7b";
        assert_contains!(
            out,
            &format!(
                indoc! {"
                    ! Error: Unable to install uv 0.13.8
                    !
                    ! The buildpack could not download uv from the package index:
                    ! The file downloaded from {url} doesn't have the SHA-256 checksum that the
                    ! buildpack pins for {wheel}:
                    !   expected: e18a57b8b352eb7c8feb317b9f6f533c8f0ad9673fd6cf34bbe3cf1a9f6a8984
                    !   actual:   {actual}
                    ! The file was not used: the index serves another file under that name.
                "},
                url = url,
                wheel = wheel,
                actual = actual,
            )
        );
        assert_not_contains!(out, "(failed)\n  - Unpacking");
    });
}

/// Builds the uv app (failing) with `PIP_INDEX_URL` the loopback index at `path`, with
/// credentials, checks its output with `check`, and that the credentials appear nowhere.
fn build_uv_app_against(path: &str, check: impl FnOnce(&str)) {
    let mut config = failing_build_config("uv_basic");
    config.env("PIP_INDEX_URL", private_index(path));
    TestRunner::default().build(config, |context| {
        let out = build_output(&context);
        check(&out);
        assert_not_contains!(out, "s3cr3t");
    });
}

/// The first requirement of a compiled requirements file (`name==version`, without its
/// marker): the package pip looks for first.
fn first_requirement(requirements: &str) -> String {
    let line = requirements
        .lines()
        .find(|line| !line.starts_with('#') && !line.starts_with(' '))
        .expect("a requirement");
    line.split([' ', ';'])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Checks the error for Poetry or Pipenv (`program`) at `version`, installed from
/// `requirements`, on an index without the first of them.
fn assert_pinned_tool_install_fails(
    fixture: &str,
    tool: &str,
    version: &str,
    program: &str,
    requirements: &str,
) {
    let missing = first_requirement(requirements);
    assert_tool_install_fails(
        fixture,
        tool,
        version,
        &missing,
        &[
            &format!(
                indoc! {"
                    ! The package index has no file pip can use for {missing}, one of the
                    ! packages {tool} {version} needs (`"},
                missing = missing,
                tool = tool,
                version = version,
            ),
            r#"install --quiet --no-compile --no-warn-script-location --require-hashes --no-deps "--only-binary=:all:" --requirement /tmp/"#,
            &format!(
                indoc! {"
                    /{program}.txt` failed, see its output above).
                    !
                    ! If the build uses a private package index, check that PIP_INDEX_URL is
                    ! correct and that it has {missing} as a wheel for this Python
                    ! version. Otherwise this is likely a temporary network problem: try the
                    ! build again.
                "},
                program = program,
                missing = missing,
            ),
        ],
    );
}

#[test]
fn poetry_install_failure() {
    assert_pinned_tool_install_fails(
        "poetry_basic",
        "Poetry",
        "2.5.1",
        "poetry",
        include_str!("../requirements/poetry.txt"),
    );
}

#[test]
fn pipenv_install_failure() {
    assert_pinned_tool_install_fails(
        "pipenv_basic",
        "Pipenv",
        "2026.10.3",
        "pipenv",
        include_str!("../requirements/pipenv.txt"),
    );
}

#[test]
fn pip_install_failure() {
    let mut config = failing_build_config("pip_flask_gunicorn");
    config.env(
        "PIP_INDEX_URL",
        private_index("/index-without-packages/simple/"),
    );
    TestRunner::default().build(config, |context| {
        let out = build_output(&context);
        // pip's wheel is looked up on the index's page for pip, which isn't there; the URL is
        // shown without its credentials.
        assert_contains!(
            out,
            &format!(
                indoc! {"
                    ! Error: Unable to install pip 26.3
                    !
                    ! The buildpack could not download pip from the package index:
                    ! The index has no page for the project: {page} answered 404 Not Found.
                    !
                    ! If the build uses a private package index, check that PIP_INDEX_URL is
                    ! correct and that pip 26.3 is available there. Otherwise this is
                    ! likely a temporary network problem: try the build again.
                "},
                page = runtime_server_url("/index-without-packages/simple/pip/")
            )
        );
        assert_not_contains!(out, "s3cr3t");
    });
}

/// The version `requirements/<tool>.txt` pins `package` at.
fn pinned(requirements: &str, package: &str) -> String {
    requirements
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{package}==")))
        .and_then(|rest| rest.split([' ', ';']).next())
        .unwrap_or_else(|| panic!("{package} is not pinned"))
        .to_string()
}

/// Builds `fixture` against an index that serves other bytes for certifi's wheel (a dependency
/// of both Poetry and Pipenv) than `PyPI` has, and every other project as `PyPI` does: pip refuses
/// the file, the tool's layer is not made, and the error says which package's file changed.
fn assert_tampered_dependency_fails(fixture: &str, tool: &str, requirements: &str) {
    let version = pinned(requirements, &tool.to_lowercase());
    let certifi = format!("certifi=={}", pinned(requirements, "certifi"));
    let wheel = format!(
        "certifi-{}-py3-none-any.whl",
        pinned(requirements, "certifi")
    );
    let mut config = failing_build_config(fixture);
    config.env(
        "PIP_INDEX_URL",
        private_index(&format!("/tampered/{wheel}/simple/")),
    );
    TestRunner::default().build(config, |context| {
        let out = build_output(&context);
        assert_contains!(out, "- pip 26.3 (used during the build only)\n");
        assert_contains!(
            out,
            "      ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE."
        );
        // pip names the file it refused, on the tampering index.
        assert_contains!(
            out,
            &format!("          {certifi} from http://127.0.0.1:")
        );
        assert_contains!(out, &format!("/tampered/{wheel}/files/{wheel} (from -r /tmp/"));
        assert_contains!(
            out,
            &format!(
                "! Error: Unable to install {tool} {version}\n!\n! The package index sent a file with an unexpected SHA-256 for {certifi}\n! (`"
            )
        );
        assert_contains!(
            out,
            &format!(
                indoc! {"
                    /{program}.txt` failed, see its output above). {tool} and every package it
                    ! needs are installed only from files with the SHA-256 the buildpack pins
                    ! for them, so nothing was installed.
                    !
                    ! If the build uses a private package index or a mirror, check that it
                    ! serves PyPI's files for these packages unchanged. Otherwise the file was
                    ! damaged or changed on its way to the build: try the build again.
                "},
                program = tool.to_lowercase(),
                tool = tool,
            )
        );
        assert_not_contains!(out, "Successfully installed");
        assert_not_contains!(out, "s3cr3t");
    });
}

#[test]
fn poetry_dependency_tampered_with() {
    assert_tampered_dependency_fails(
        "poetry_basic",
        "Poetry",
        include_str!("../requirements/poetry.txt"),
    );
}

#[test]
fn pipenv_dependency_tampered_with() {
    assert_tampered_dependency_fails(
        "pipenv_basic",
        "Pipenv",
        include_str!("../requirements/pipenv.txt"),
    );
}

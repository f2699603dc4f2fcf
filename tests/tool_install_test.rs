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

/// Builds `fixture` against an index that has pip but not `tool` (at `version`, the package
/// `package`), and checks the error: its header and first line, then `error_end`: the end of
/// the command, and the advice.
fn assert_tool_install_fails(fixture: &str, tool: &str, version: &str, error_end: &str) {
    let mut config = failing_build_config(fixture);
    config.env(
        "PIP_INDEX_URL",
        private_index("/index-with-only-pip/simple/"),
    );
    TestRunner::default().build(config, |context| {
        let out = build_output(&context);
        let package = tool.to_lowercase();
        // pip itself comes from the index: the tool is the first thing missing.
        assert_contains!(out, "- pip 26.3 (used during the build only)\n");
        assert_contains!(out, &format!("- {tool} {version} (used during the build only)\n"));
        assert_contains!(
            out,
            &format!(
                "      ERROR: Could not find a version that satisfies the requirement {package}=={version} (from versions: none)\n      ERROR: No matching distribution found for {package}=={version}\n"
            )
        );
        assert_contains!(
            out,
            &format!(
                "! Error: Unable to install {tool} {version}\n!\n! The buildpack could not download and install {tool} from the package index\n! (`"
            )
        );
        assert_contains!(out, error_end);
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
    let mut config = failing_build_config("uv_basic");
    config.env(
        "PIP_INDEX_URL",
        private_index("/index-with-only-pip/simple/"),
    );
    TestRunner::default().build(config, |context| {
        let out = build_output(&context);
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
        assert_not_contains!(out, "s3cr3t");
    });
}

/// An index serving another file under the name of uv's wheel: the pinned SHA-256 refuses it,
/// and nothing of it is unpacked.
#[test]
fn uv_wheel_with_the_wrong_hash() {
    let mut config = failing_build_config("uv_basic");
    config.env(
        "PIP_INDEX_URL",
        private_index("/index-with-a-tampered-uv/simple/"),
    );
    TestRunner::default().build(config, |context| {
        let out = build_output(&context);
        let wheel = "uv-0.13.8-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
        let url = runtime_server_url(&format!("/index-with-a-tampered-uv/files/{wheel}"));
        let actual = crate::support::runtime_server::TAMPERED_UV_WHEEL_SHA256;
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
        assert_not_contains!(out, "s3cr3t");
    });
}

#[test]
fn poetry_install_failure() {
    assert_tool_install_fails(
        "poetry_basic",
        "Poetry",
        "2.5.1",
        indoc! {r#"
            install --quiet --no-warn-script-location "poetry==2.5.1" "poetry-plugin-export==1.10.1"` failed, see its output above).
            !
            ! If the build uses a private package index, check that PIP_INDEX_URL is
            ! correct and that Poetry 2.5.1 is available there. Otherwise this
            ! is likely a temporary network problem: try the build again.
        "#},
    );
}

#[test]
fn pipenv_install_failure() {
    assert_tool_install_fails(
        "pipenv_basic",
        "Pipenv",
        "2026.10.3",
        indoc! {r#"
            install --quiet --no-warn-script-location "pipenv==2026.10.3"` failed, see its output above).
            !
            ! If the build uses a private package index, check that PIP_INDEX_URL is
            ! correct and that Pipenv 2026.10.3 is available there. Otherwise this
            ! is likely a temporary network problem: try the build again.
        "#},
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

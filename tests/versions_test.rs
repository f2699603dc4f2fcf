//! Python version resolution through the local platform with the real buildpack and real
//! runtimes: a version from each source, the default and the remembered minor version, and the
//! errors, each of which fails before any layer is written and is followed by a good build.

#[cfg(not(feature = "pack"))]
use crate::support::runtime_server::{parse_inventory, runtime_server_url, test_runtimes_dir};
use crate::support::{buildpack_output, default_build_config};
use indoc::{formatdoc, indoc};
use local_platform::testing::{
    BuildConfig, PackResult, TestContext, TestRunner, assert_contains, assert_not_contains,
};

/// The build of `fixture` with `files` written into the app (over the fixture's).
fn config_with(fixture: &str, files: &[(&str, &[u8])]) -> BuildConfig {
    let files: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(name, content)| ((*name).to_string(), content.to_vec()))
        .collect();
    let mut config = default_build_config(fixture);
    config.app_dir_preprocessor(move |app_dir| {
        for (name, content) in &files {
            std::fs::write(app_dir.join(name), content).expect("writing an app file");
        }
    });
    config
}

/// The `## Python version` section of a build, up to the next section.
fn version_section(output: &str) -> &str {
    let start = output
        .find("## Python version\n")
        .unwrap_or_else(|| panic!("no Python version section in:\n{output}"));
    let end = output[start..]
        .find("## Installing Python\n")
        .map_or(output.len(), |end| start + end);
    &output[start..end]
}

fn assert_version_section(context: &TestContext, expected: &str) {
    let output = buildpack_output(context);
    assert_eq!(version_section(&output), expected, "in:\n{output}");
}

/// `python --version` of the built app at launch.
fn launched_version(context: &TestContext) -> String {
    context
        .run_shell_command("python --version")
        .stdout
        .trim()
        .to_string()
}

/// The CNB target arch of this machine, as error messages name it.
fn target() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "linux/arm64",
        _ => "linux/amd64",
    }
}

/// An error block as the build prints it: `message` with every line prefixed by `! `.
fn error_block(message: &str) -> String {
    message
        .lines()
        .map(|line| {
            if line.is_empty() {
                "!\n".to_string()
            } else {
                format!("! {line}\n")
            }
        })
        .collect()
}

/// Asserts that the build failed with `message` right after the buildpack's header, without
/// touching a layer, and that the image wasn't exported.
fn assert_failed_before_any_layer(context: &TestContext, message: &str) {
    let output = buildpack_output(context);
    let expected = format!("## Python\n\n{}\n", error_block(message));
    assert!(
        output.contains(&expected),
        "expected:\n{expected}\nin:\n{output}"
    );
    assert_not_contains!(output, "## Installing Python");
    assert_not_contains!(output, "panicked");
    assert_not_contains!(context.pack_stdout, "===> EXPORTING");
    #[cfg(not(feature = "pack"))]
    {
        let layers = context.work_dir().join("layers/community_python");
        let entries: Vec<_> = std::fs::read_dir(&layers)
            .unwrap_or_else(|error| panic!("{}: {error}", layers.display()))
            .map(|entry| entry.expect("a layers dir entry").file_name())
            .collect();
        assert!(entries.is_empty(), "layers were written: {entries:?}");
    }
}

/// Builds `failures` one after the other in the same work dir, as a user fixing their app
/// would: each must fail with its message before any layer is written. Then the app without
/// the broken files (`test-fixtures/no_version` plus `good_files`) builds with `good_version`.
fn each_fails_then_a_good_build(
    failures: Vec<(BuildConfig, String)>,
    good_files: &[(&str, &[u8])],
    good_version: &str,
) {
    let good = config_with("no_version", good_files);
    let good_version = good_version.to_string();
    let mut failures = failures.into_iter();
    let (mut first, first_message) = failures.next().expect("at least one failure");
    first.expected_pack_result(PackResult::Failure);
    TestRunner::default().build(&first, |context| {
        assert_failed_before_any_layer(&context, &first_message);
        next_failure(context, failures, &good, &good_version);
    });
}

fn next_failure(
    context: TestContext,
    mut failures: std::vec::IntoIter<(BuildConfig, String)>,
    good: &BuildConfig,
    good_version: &str,
) {
    if let Some((mut config, message)) = failures.next() {
        config.expected_pack_result(PackResult::Failure);
        context.rebuild(&config, |context| {
            assert_failed_before_any_layer(&context, &message);
            next_failure(context, failures, good, good_version);
        });
    } else {
        context.rebuild(good, |context| {
            assert_contains!(
                buildpack_output(&context),
                &format!("- Installing Python {good_version}\n")
            );
            assert_eq!(launched_version(&context), format!("Python {good_version}"));
        });
    }
}

#[test]
fn python_version_file_with_comments_and_blank_lines() {
    TestRunner::default().build(default_build_config("python_version_comments"), |context| {
        assert_version_section(
            &context,
            indoc! {"
                ## Python version

                - Using Python 3.11.7 (from .python-version: 3.11)

            "},
        );
        assert_eq!(launched_version(&context), "Python 3.11.7");
    });
}

#[test]
fn runtime_txt_exact_then_minor_version() {
    TestRunner::default().build(default_build_config("runtime_txt"), |context| {
        assert_version_section(
            &context,
            indoc! {"
                ## Python version

                - Using Python 3.11.7 (from runtime.txt: python-3.11.7)

            "},
        );
        // A broken runtime.txt fails the next build, which leaves the cached runtime alone.
        let mut broken = config_with("runtime_txt", &[("runtime.txt", b"python-3.11.7.1\n")]);
        broken.expected_pack_result(PackResult::Failure);
        context.rebuild(broken, |context| {
            let output = buildpack_output(&context);
            assert_contains!(
                output,
                indoc! {"
                    ! Error: Invalid Python version in runtime.txt
                    !
                    ! runtime.txt (line 1) asks for a Python version the buildpack doesn't
                    ! understand:
                    !   python-3.11.7.1
                "}
            );
            assert_not_contains!(output, "## Installing Python");
            assert_not_contains!(context.pack_stdout, "===> EXPORTING");
            let minor = config_with("runtime_txt", &[("runtime.txt", b"python-3.11\n")]);
            context.rebuild(minor, |context| {
                assert_version_section(
                    &context,
                    indoc! {"
                        ## Python version

                        - Using Python 3.11.7 (from runtime.txt: python-3.11)

                    "},
                );
                assert_contains!(
                    buildpack_output(&context),
                    "## Installing Python\n\n- Using cached Python 3.11.7\n"
                );
                assert_eq!(launched_version(&context), "Python 3.11.7");
            });
        });
    });
}

#[test]
fn pyproject_requires_python_chooses_the_newest_satisfying_version() {
    TestRunner::default().build(
        default_build_config("pyproject_requires_python"),
        |context| {
            assert_version_section(
                &context,
                indoc! {r#"
                    ## Python version

                    - Using Python 3.12.1 (the newest version that satisfies requires-python ">=3.10,<3.13" in pyproject.toml)

                    ! Warning: No Python version is pinned
                    !
                    ! No Python version is pinned, so a future buildpack release could change the
                    ! version this app gets. To pin it, create a .python-version file in the root of
                    ! the app containing:
                    !   3.12

                "#},
            );
            assert_eq!(launched_version(&context), "Python 3.12.1");
        },
    );
}

#[test]
fn bp_python_version_overrides_the_version_file() {
    let mut config = config_with("no_version", &[(".python-version", b"3.11\n")]);
    config.env("BP_PYTHON_VERSION", "3.12");
    TestRunner::default().build(config, |context| {
        assert_version_section(
            &context,
            indoc! {"
                ## Python version

                - Using Python 3.12.1 (from BP_PYTHON_VERSION: 3.12, which overrides .python-version: 3.11)

            "},
        );
        assert_eq!(launched_version(&context), "Python 3.12.1");
    });
}

#[test]
fn python_3_10_builds_with_an_end_of_life_warning() {
    TestRunner::default().build(default_build_config("python_3_10"), |context| {
        assert_version_section(
            &context,
            indoc! {"
                ## Python version

                - Using Python 3.10.13 (from .python-version: 3.10)

                ! Warning: Python 3.10 has reached its end of life
                !
                ! Python 3.10 reached its end of life in October 2026 and no longer receives
                ! security fixes.
                !
                ! Upgrade the app to a newer version (3.13 is the newest available), test it, then
                ! change the version in .python-version to:
                !   3.13

            "},
        );
        assert_eq!(launched_version(&context), "Python 3.10.13");
    });
}

#[test]
fn no_version_uses_the_newest_and_recommends_a_pin() {
    TestRunner::default().build(default_build_config("no_version"), |context| {
        assert_contains!(
            context.pack_stdout,
            "===> DETECTING\n1 of 1 buildpacks participating\ncommunity/python 0.1.0\n===> RESTORING\n===> BUILDING\n"
        );
        assert_version_section(
            &context,
            indoc! {"
                ## Python version

                - Using Python 3.13.0 (the newest version; no version was requested)

                ! Warning: No Python version is pinned
                !
                ! No Python version is pinned, so a future buildpack release could change the
                ! version this app gets. To pin it, create a .python-version file in the root of
                ! the app containing:
                !   3.13

            "},
        );
        assert_eq!(launched_version(&context), "Python 3.13.0");
    });
}

/// A temporary directory that the unprivileged user the build runs as (when the tests run as
/// root) can read, as a file given to the build must be.
fn readable_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("making the temporary directory readable");
    dir
}

/// An inventory file, in a temporary directory, listing only the test runtime `version` (by its
/// absolute URL on the runtime server): a buildpack release whose newest version was older.
// Host files and the host's 127.0.0.1 are out of reach of a `pack` build container.
#[cfg(not(feature = "pack"))]
fn inventory_with_only(version: &str) -> (tempfile::TempDir, String) {
    let url = runtime_server_url("/inventory.toml");
    let text = std::fs::read_to_string(test_runtimes_dir().join("inventory.toml"))
        .expect("the test runtimes' inventory");
    let mut inventory = String::new();
    for artifact in parse_inventory(&text).expect("the test inventory is valid") {
        if artifact.version == version {
            let archive_url = format!("{}{}", url.trim_end_matches("inventory.toml"), artifact.url);
            inventory.push_str(&formatdoc! {r#"
                [[artifacts]]
                version = "{}"
                os = "{}"
                arch = "{}"
                url = "{archive_url}"
                sha256 = "{}"
            "#, artifact.version, artifact.os, artifact.arch, artifact.sha256});
        }
    }
    assert!(!inventory.is_empty(), "no {version} in the test inventory");
    let dir = readable_tempdir();
    let path = dir.path().join("inventory.toml");
    std::fs::write(&path, inventory).expect("writing the inventory");
    (dir, path.display().to_string())
}

#[cfg(not(feature = "pack"))]
#[test]
fn a_rebuild_of_an_unpinned_app_keeps_the_previous_minor_version() {
    // The first build's inventory has no newer version than 3.12 (an older buildpack release).
    let (_dir, older_inventory) = inventory_with_only("3.12.1");
    let mut older = default_build_config("no_version");
    older.env("BP_PYTHON_INVENTORY", older_inventory);
    TestRunner::default().build(older, |context| {
        assert_version_section(
            &context,
            indoc! {"
                ## Python version

                - Using Python 3.12.1 (the newest version; no version was requested)

                ! Warning: No Python version is pinned
                !
                ! No Python version is pinned, so a future buildpack release could change the
                ! version this app gets. To pin it, create a .python-version file in the root of
                ! the app containing:
                !   3.12

            "},
        );
        // Now 3.13 is available, but the app keeps the minor version it was built with.
        context.rebuild(default_build_config("no_version"), |context| {
            assert_version_section(
                &context,
                indoc! {"
                    ## Python version

                    - Using Python 3.12.1 (the minor version of the previous build, which used Python 3.12.1; no version is pinned)

                    ! Warning: No Python version is pinned
                    !
                    ! No Python version is pinned, so a future buildpack release could change the
                    ! version this app gets. To pin it, create a .python-version file in the root of
                    ! the app containing:
                    !   3.12

                "},
            );
            assert_eq!(launched_version(&context), "Python 3.12.1");
            // `pack build --clear-cache` restores no layer, but store.toml still comes back.
            #[cfg(not(feature = "pack"))]
            context.rebuild_with_clear_cache(default_build_config("no_version"), |context| {
                assert_contains!(
                    buildpack_output(&context),
                    "- Using Python 3.12.1 (the minor version of the previous build, which used Python 3.12.1; no version is pinned)\n"
                );
            });
        });
    });
}

#[test]
#[expect(clippy::too_many_lines, reason = "one expected message per case")]
fn malformed_version_files_fail_then_a_good_build() {
    let failures = vec![
        (
            config_with("no_version", &[(".python-version", b"# pinned\n3.1\xe9\n")]),
            indoc! {"
                Error: .python-version isn't valid UTF-8

                Line 2 of .python-version contains bytes that aren't UTF-8 text, which is
                the encoding the buildpack reads .python-version in.

                Save .python-version as UTF-8 (or plain ASCII) text, without stray binary bytes.
            "}
            .to_string(),
        ),
        (
            config_with("no_version", &[("runtime.txt", b"python-3.12\x07\n")]),
            indoc! {"
                Error: runtime.txt contains a control character

                Line 1 of runtime.txt contains the control character U+0007, which can't be
                part of a Python version.

                Remove it: open runtime.txt in an editor that shows invisible characters, or write the
                file again.
            "}
            .to_string(),
        ),
        (
            config_with("no_version", &[(".python-version", b"\n# the system one\nsystem\n")]),
            indoc! {"
                Error: Invalid Python version in .python-version

                .python-version (line 3) asks for a Python version the buildpack doesn't
                understand:
                  system

                The version must be X.Y or X.Y.Z, on the first line that isn't a comment, for example:
                  3.13
                The buildpack installs CPython releases only, so names such as 'system' or
                'pypy3.10' and pre-releases can't be used.
            "}
            .to_string(),
        ),
        (
            config_with("no_version", &[("runtime.txt", b"3.12.1\n")]),
            indoc! {"
                Error: Invalid Python version in runtime.txt

                runtime.txt (line 1) asks for a Python version the buildpack doesn't
                understand:
                  3.12.1

                The version must be python-X.Y or python-X.Y.Z, on a single line, for example:
                  python-3.13
                The buildpack installs CPython releases only, so names such as 'system' or
                'pypy3.10' and pre-releases can't be used.
            "}
            .to_string(),
        ),
        (
            config_with("no_version", &[(".python-version", b"# nothing yet\n\n")]),
            indoc! {"
                Error: No Python version in .python-version

                .python-version is present, but it doesn't contain a Python version. It must
                contain X.Y or X.Y.Z, on the first line that isn't a comment, for example:
                  3.13

                Add the version, or delete .python-version to use the default version.
            "}
            .to_string(),
        ),
        (
            config_with(
                "no_version",
                &[(
                    "pyproject.toml",
                    b"[project]\nname = \"app\"\nrequires-python = >=3.10\n",
                )],
            ),
            indoc! {r#"
                Error: Unable to parse pyproject.toml

                pyproject.toml isn't valid TOML (line 3, column 19):
                  invalid string
                  expected `"`, `'`

                Fix the error. The Python versions a project supports are set with:
                  [project]
                  requires-python = ">=3.10"
            "#}
            .to_string(),
        ),
        (
            config_with(
                "no_version",
                &[(
                    "pyproject.toml",
                    b"[project]\nname = \"app\"\nrequires-python = \"3.12\"\n",
                )],
            ),
            indoc! {r#"
                Error: Invalid requires-python in pyproject.toml

                The requires-python on line 3 of pyproject.toml isn't a valid version
                specifier:
                  requires-python = "3.12"
                Problem: '3.12' doesn't start with a comparison operator (one of ~= == != <= >= < > ===).

                requires-python takes PEP 440 version specifiers separated by commas, for
                example:
                  requires-python = ">=3.10,<3.14"
            "#}
            .to_string(),
        ),
    ];
    each_fails_then_a_good_build(failures, &[(".python-version", b"3.12\n")], "3.12.1");
}

#[test]
#[expect(clippy::too_many_lines, reason = "one expected message per case")]
fn unusable_versions_fail_then_a_good_build() {
    let target = target();
    let failures = vec![
        (
            config_with(
                "no_version",
                &[
                    (".python-version", b"3.12\n"),
                    ("runtime.txt", b"python-3.11.7\n"),
                ],
            ),
            indoc! {"
                Error: Conflicting Python versions

                The app asks for two different Python versions:
                  - .python-version (line 1): 3.12
                  - runtime.txt (line 1): python-3.11.7

                The buildpack can't tell which one is meant.
                Keep the version in one place (.python-version is recommended) and delete or
                correct the other.
                Versions that differ only in precision agree: for 3.12 and 3.12.1, 3.12.1 is used.
            "}
            .to_string(),
        ),
        (
            config_with("no_version", &[("runtime.txt", b"python-3.6.4\n")]),
            indoc! {"
                Error: Python 3.6 has reached its end of life

                runtime.txt (line 1) asks for Python 3.6.4.

                Python 3.6 reached its end of life in December 2021 and no longer receives security
                fixes, so the buildpack doesn't support it. The oldest supported version is 3.10.

                Upgrade the app to a supported version (3.13 is the newest available), test it, then
                replace runtime.txt with a .python-version file containing:
                  3.13
            "}
            .to_string(),
        ),
        (
            config_with("no_version", &[(".python-version", b"3.9\n")]),
            indoc! {"
                Error: Python 3.9 has reached its end of life

                .python-version (line 1) asks for Python 3.9.

                Python 3.9 reached its end of life in October 2025 and no longer receives security
                fixes, so the buildpack doesn't support it. The oldest supported version is 3.10.

                Upgrade the app to a supported version (3.13 is the newest available), test it, then
                change the version in .python-version to:
                  3.13
            "}
            .to_string(),
        ),
        (
            config_with("no_version", &[(".python-version", b"3.12.99\n")]),
            formatdoc! {"
                Error: Python 3.12.99 isn't available

                .python-version (line 1) asks for Python 3.12.99, which isn't available for {target}.
                The available 3.12 versions are: 3.12.1.

                To use the newest 3.12 release, change the version in .python-version to:
                  3.12
            "},
        ),
        (
            config_with(
                "no_version",
                &[
                    (".python-version", b"3.11\n"),
                    (
                        "pyproject.toml",
                        b"[project]\nname = \"app\"\nrequires-python = \">=3.12\"\n",
                    ),
                ],
            ),
            indoc! {r#"
                Error: Python 3.11 doesn't satisfy requires-python

                .python-version (line 1) asks for Python 3.11, but pyproject.toml (line 3)
                requires:
                  requires-python = ">=3.12"

                To use Python 3.13, which satisfies it, change the version in .python-version to:
                  3.13
                Otherwise, change requires-python in pyproject.toml to allow Python 3.11.
            "#}
            .to_string(),
        ),
        (
            config_with(
                "no_version",
                &[(
                    "pyproject.toml",
                    b"[project]\nname = \"app\"\nrequires-python = \">=3.14\"\n",
                )],
            ),
            formatdoc! {r#"
                Error: No available Python version satisfies requires-python

                pyproject.toml (line 3) requires:
                  requires-python = ">=3.14"
                but none of the Python versions the buildpack supports for {target}
                satisfies it. The supported versions are: 3.10, 3.11, 3.12, 3.13.

                Change requires-python in pyproject.toml to allow one of them.
            "#},
        ),
    ];
    each_fails_then_a_good_build(
        failures,
        &[
            (".python-version", b"3.11\n"),
            (
                "pyproject.toml",
                b"[project]\nname = \"app\"\nrequires-python = \">=3.11\"\n",
            ),
        ],
        "3.11.7",
    );
}

#[test]
fn bad_platform_env_fails_then_a_good_build() {
    let mut bad_version = default_build_config("no_version");
    bad_version.env("BP_PYTHON_VERSION", "latest");
    let mut missing_inventory = default_build_config("no_version");
    missing_inventory.env("BP_PYTHON_INVENTORY", "/nonexistent/inventory.toml");
    let invalid_dir = readable_tempdir();
    let invalid_path = invalid_dir.path().join("inventory.toml");
    std::fs::write(&invalid_path, "[[artifacts]]\nversion = \"3.12\"\n").unwrap();
    let invalid_path = invalid_path.display().to_string();
    let mut invalid_inventory = default_build_config("no_version");
    invalid_inventory.env("BP_PYTHON_INVENTORY", &invalid_path);
    let failures = vec![
        (
            bad_version,
            indoc! {"
                Error: Invalid Python version in BP_PYTHON_VERSION

                BP_PYTHON_VERSION asks for a Python version the buildpack doesn't
                understand:
                  latest

                The version must be X.Y or X.Y.Z, for example:
                  BP_PYTHON_VERSION=3.13
                The buildpack installs CPython releases only, so names such as 'system' or
                'pypy3.10' and pre-releases can't be used.
            "}
            .to_string(),
        ),
        (
            missing_inventory,
            indoc! {"
                Error: Unable to read the Python runtime inventory

                The file /nonexistent/inventory.toml could not be read: No such file or directory (os error 2)

                Check that BP_PYTHON_INVENTORY names the inventory's location, or unset it to use
                the buildpack's built-in inventory.
            "}
            .to_string(),
        ),
        (
            invalid_inventory,
            formatdoc! {r#"
                Error: Invalid Python runtime inventory

                The runtime inventory {invalid_path} (from BP_PYTHON_INVENTORY) is not a valid inventory:
                TOML parse error at line 1, column 1
                  |
                1 | [[artifacts]]
                  | ^^^^^^^^^^^^^
                missing field `os`

                Each [[artifacts]] entry needs: version (an exact version such as "3.13.1"), os ("linux"),
                arch ("amd64" or "arm64"), url (an http:// or https:// URL, or a path relative to the
                inventory) and sha256 (the archive's SHA-256, 64 hexadecimal characters). The README section
                "Mirrors and offline builds" describes the format.
            "#},
        ),
    ];
    each_fails_then_a_good_build(failures, &[], "3.13.0");
}

/// Versions in a Pipfile and its lock, as Pipenv writes them. These fail in the analysis, before
/// Pipenv would run.
#[test]
fn pipfile_requires_python_version() {
    TestRunner::default().build(default_build_config("pipenv_python_version"), |context| {
        assert_version_section(
            &context,
            indoc! {"
                ## Python version

                - Using Python 3.11.7 (from Pipfile [requires] python_version: 3.11)

            "},
        );
        assert_contains!(
            buildpack_output(&context),
            "## Installing dependencies with Pipenv\n"
        );
        assert_eq!(launched_version(&context), "Python 3.11.7");
    });
}

#[test]
fn pipfile_version_errors_fail_before_any_layer() {
    let lock = |key: &str, version: &str| {
        formatdoc! {r#"
            {{
                "_meta": {{
                    "requires": {{
                        "{key}": "{version}"
                    }}
                }},
                "default": {{}},
                "develop": {{}}
            }}
        "#}
        .into_bytes()
    };
    let cases = [
        (
            config_with(
                "pipenv_python_version",
                &[("Pipfile.lock", &lock("python_version", "3.12"))],
            ),
            indoc! {"
                Error: Conflicting Python versions

                The app asks for two different Python versions:
                  - Pipfile [requires] python_version (line 11): 3.11
                  - Pipfile.lock _meta.requires.python_version: 3.12

                The buildpack can't tell which one is meant.
                Pipfile.lock is out of date: update it with 'pipenv lock'.
                Versions that differ only in precision agree: for 3.12 and 3.12.1, 3.12.1 is used.
            "},
        ),
        (
            config_with(
                "pipenv_python_version",
                &[
                    (
                        "Pipfile",
                        b"[packages]\n\n[requires]\npython_full_version = \"2.7.8\"\n",
                    ),
                    ("Pipfile.lock", &lock("python_full_version", "2.7.8")),
                ],
            ),
            indoc! {r#"
                Error: Python 2.7 has reached its end of life

                Pipfile [requires] python_full_version (line 4) asks for Python 2.7.8.

                Python 2.7 reached its end of life in January 2020 and no longer receives security
                fixes, so the buildpack doesn't support it. The oldest supported version is 3.10.

                Upgrade the app to a supported version (3.13 is the newest available), test it, then
                set the version in the [requires] section of Pipfile (without python_full_version)
                and update Pipfile.lock with 'pipenv lock':
                  python_version = "3.13"
            "#},
        ),
        (
            config_with(
                "pipenv_python_version",
                &[("Pipfile", b"[requires]\npython_version = 3.12\n")],
            ),
            indoc! {r#"
                Error: Unable to parse Pipfile

                Pipfile isn't valid TOML (line 2, column 18):
                  invalid type: floating point `3.12`, expected a string

                Fix the error. In a Pipfile, the Python version is set with:
                  [requires]
                  python_version = "3.13"
            "#},
        ),
        (
            config_with(
                "pipenv_python_version",
                &[("Pipfile.lock", b"{\"_meta\": {\"requires\": \n")],
            ),
            indoc! {"
                Error: Unable to parse Pipfile.lock

                Pipfile.lock isn't valid JSON (line 2, column 1):
                  EOF while parsing a value

                Pipfile.lock is generated by Pipenv: create it again with 'pipenv lock'.
            "},
        ),
    ];
    for (mut config, message) in cases {
        config.expected_pack_result(PackResult::Failure);
        TestRunner::default().build(&config, |context| {
            assert_failed_before_any_layer(&context, message);
        });
    }
}

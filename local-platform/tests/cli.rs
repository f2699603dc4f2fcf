//! The `local-platform` command: build an app with a buildpack dir, then launch it.

#![cfg_attr(feature = "pack", allow(unused_crate_dependencies))]
#![cfg(not(feature = "pack"))]

use local_platform::testing::assert_contains;
use std::process::Command;

// The library's dependencies, unused by this test crate.
use command_fds as _;
use filetime as _;
use indoc as _;
use libcnb_data as _;
use rustix as _;
use serde as _;
use serde_json as _;
use sha2 as _;
use toml as _;
use which as _;

const BUILD: &str = r#"
mkdir -p "$LAYERS/greeter/bin"
printf '#!/bin/sh\necho "hello $1"\n' > "$LAYERS/greeter/bin/greet"
chmod +x "$LAYERS/greeter/bin/greet"
printf '[types]\nlaunch = true\ncache = true\n' > "$LAYERS/greeter.toml"
echo '{"bomFormat":"CycloneDX"}' > "$LAYERS/greeter.sbom.cdx.json"
printf '[[processes]]\ntype = "web"\ncommand = ["greet"]\nargs = ["web"]\ndefault = true\n' > "$LAYERS/launch.toml"
echo "NAME=$NAME"
"#;

fn cli(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_local-platform"))
        .args(args)
        .output()
        .expect("running local-platform");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one build, then each way to launch it"
)]
fn build_then_launch_a_process_or_a_command() {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(app.path().join("build.sh"), BUILD).unwrap();
    let work = tempfile::tempdir().unwrap();
    let work_dir = work.path().to_str().unwrap();
    let buildpack = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/shell_buildpack"
    );
    let app_dir = app.path().to_str().unwrap();

    let (success, stdout, stderr) = cli(&[
        "build",
        app_dir,
        "--env",
        "NAME=cli",
        "--work-dir",
        work_dir,
        "--buildpack",
        buildpack,
    ]);
    assert!(success, "{stdout}\n{stderr}");
    assert_contains!(stdout, "===> BUILDING\nNAME=cli\n===> EXPORTING\n");
    assert_contains!(stdout, "Launch layers (");
    assert_contains!(stdout, "  greeter ");
    assert_contains!(stdout, "Cached layers: greeter\n");
    assert_contains!(stdout, "  web (default): greet web\n");

    let (success, stdout, _) = cli(&["launch", "--work-dir", work_dir]);
    assert!(success);
    assert_eq!(stdout, "hello web\n");
    let (success, stdout, _) = cli(&["launch", "--work-dir", work_dir, "--", "greet $PORT"]);
    assert!(success);
    assert_eq!(stdout, "hello 8080\n");
    let (success, stdout, _) = cli(&[
        "launch",
        "--work-dir",
        work_dir,
        "--env",
        "PORT=1",
        "--",
        "greet",
        "$PORT",
    ]);
    assert!(success);
    // Through the launcher's bash: each word is expanded.
    assert_eq!(stdout, "hello 1\n");
    let (success, stdout, _) = cli(&[
        "launch",
        "--work-dir",
        work_dir,
        "--",
        "--",
        "greet",
        "$PORT",
    ]);
    assert!(success);
    assert_eq!(stdout, "hello $PORT\n");
    let (success, stdout, _) = cli(&[
        "launch",
        "--work-dir",
        work_dir,
        "--process",
        "web",
        "--",
        "given",
    ]);
    assert!(success);
    assert_eq!(stdout, "hello given\n");
    let (success, _, stderr) = cli(&["launch", "--work-dir", work_dir, "--entrypoint", "launcher"]);
    assert!(!success);
    assert_eq!(
        stderr,
        "ERROR: failed to launch: determine start command: when there is no default process a command is required\n"
    );

    let (success, stdout, stderr) = cli(&[
        "build",
        app_dir,
        "--env",
        "NAME=again",
        "--work-dir",
        work_dir,
        "--buildpack",
        buildpack,
    ]);
    assert!(success, "{stdout}\n{stderr}");
    assert_contains!(
        stdout,
        "Restoring data for \"test/shell:greeter\" from cache\n"
    );
    assert_contains!(stdout, "Reusing layer 'test/shell:greeter'\n");

    // The image's launch SBOMs, written as `pack sbom download --output-dir` does.
    let sboms = tempfile::tempdir().unwrap();
    let (success, stdout, stderr) = cli(&[
        "sbom",
        "--work-dir",
        work_dir,
        "--output-dir",
        sboms.path().to_str().unwrap(),
    ]);
    assert!(success, "{stdout}\n{stderr}");
    let file = sboms
        .path()
        .join("layers/sbom/launch/test_shell/greeter/sbom.cdx.json");
    assert_eq!(stdout, format!("{}\n", file.display()));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "{\"bomFormat\":\"CycloneDX\"}\n"
    );
}

#[test]
fn bad_arguments_are_explained() {
    let (success, _, stderr) = cli(&["build"]);
    assert!(!success);
    assert_contains!(
        stderr,
        "local-platform: build takes exactly one app dir.\n\nUsage:\n"
    );
    let (success, _, stderr) = cli(&["build", ".", "--env", "NOEQUALS"]);
    assert!(!success);
    assert_eq!(
        stderr,
        "local-platform: --env expects KEY=VALUE, got 'NOEQUALS'.\n"
    );
    let (success, _, stderr) = cli(&["frobnicate"]);
    assert!(!success);
    assert_contains!(stderr, "local-platform: Expected a subcommand.");
}

#[test]
fn help_is_printed_for_the_command_and_each_subcommand() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["build", "--help"],
        &["launch", "-h"],
        &["sbom", "--work-dir", "x", "--help"],
    ] {
        let (success, stdout, stderr) = cli(args);
        assert!(success, "{args:?}: {stderr}");
        assert_contains!(stdout, "Usage:\n  local-platform build <app-dir>");
        assert_contains!(stdout, "launch   Runs the last built image");
    }
    // After `--`, `--help` belongs to the launched command.
    let (success, _, stderr) = cli(&["launch", "--work-dir", "/nonexistent", "--", "--help"]);
    assert!(!success);
    assert!(!stderr.contains("Usage:"), "{stderr}");
}

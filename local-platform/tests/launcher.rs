//! The launcher rules (Platform spec, "launcher"; lifecycle `launch/`), one test per rule,
//! with the shell buildpack of `platform.rs`: how `docker run [--entrypoint E] IMAGE [ARG...]`
//! picks the process and runs it.

#![cfg_attr(feature = "pack", allow(unused_crate_dependencies))]
#![cfg(not(feature = "pack"))]

use indoc::indoc;
use local_platform::testing::{BuildConfig, BuildpackReference, ContainerConfig, TestRunner};
use std::path::PathBuf;

// The library's dependencies, unused by this test crate.
use command_fds as _;
use filetime as _;
use libcnb_data as _;
use rustix as _;
use serde as _;
use serde_json as _;
use sha2 as _;
use tempfile as _;
use toml as _;
use which as _;

/// A launch layer with a `worker` program on `PATH`, a `profile.d` script (and one for the
/// `worker` type only), and a `worker` process type that is not the default process; the
/// app has a `.profile`.
const NO_DEFAULT_BUILD: &str = indoc! {r#"
    mkdir -p "$LAYERS/tools/bin" "$LAYERS/tools/profile.d/worker"
    printf '#!/bin/sh\necho "the worker program: $*"\n' > "$LAYERS/tools/bin/worker"
    chmod +x "$LAYERS/tools/bin/worker"
    echo 'export FROM_PROFILE="layer profile"' > "$LAYERS/tools/profile.d/10-tools.sh"
    echo 'export WORKER_PROFILE="worker profile"' > "$LAYERS/tools/profile.d/worker/10-worker.sh"
    printf '[types]\nlaunch = true\n' > "$LAYERS/tools.toml"
    cat > "$LAYERS/launch.toml" <<'TOML'
    [[processes]]
    type = "worker"
    command = ["bash", "-c"]
    args = ["echo \"worker process: ${FROM_PROFILE:-no profile}\" \"$@\"", "worker"]
    TOML
"#};

const APP_PROFILE: &str = "export FROM_APP_PROFILE=\"app profile\"\n";

/// A `web` default process, `bash -c` with its command string in `args`.
const DEFAULT_BUILD: &str = indoc! {r#"
    cat > "$LAYERS/launch.toml" <<'TOML'
    [[processes]]
    type = "web"
    command = ["bash", "-c"]
    args = ["echo default web"]
    default = true
    TOML
"#};

fn config(files: &[(&str, &str)]) -> BuildConfig {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(name, content)| ((*name).to_string(), (*content).to_string()))
        .collect();
    let mut config = BuildConfig::new("local", "tests/fixtures/empty_app");
    config
        .buildpacks([BuildpackReference::Other(String::from(
            "tests/fixtures/shell_buildpack",
        ))])
        .app_dir_preprocessor(move |dir: PathBuf| {
            for (name, content) in &files {
                std::fs::write(dir.join(name), content).expect("writing an app file");
            }
        });
    config
}

fn stdout_of(
    context: &local_platform::testing::TestContext,
    container: &ContainerConfig,
) -> String {
    let mut stdout = String::new();
    context.start_container(container, |container| {
        let logs = container.logs_wait();
        assert!(logs.stderr.is_empty(), "{logs}");
        stdout = logs.stdout;
    });
    stdout
}

fn stderr_of(
    context: &local_platform::testing::TestContext,
    container: &ContainerConfig,
) -> String {
    let mut stderr = String::new();
    context.start_container(container, |container| {
        stderr = container.logs_wait().stderr;
    });
    stderr
}

fn no_default_image() -> BuildConfig {
    config(&[("build.sh", NO_DEFAULT_BUILD), (".profile", APP_PROFILE)])
}

#[test]
fn the_launchers_arguments_are_a_command_never_a_process_type() {
    // `launcher worker --fast` runs the program `worker`, not the `worker` process: a process
    // type comes only from `$0` (`/cnb/process/<type>`).
    TestRunner::default().build(no_default_image(), |context| {
        assert_eq!(
            stdout_of(
                &context,
                ContainerConfig::new()
                    .entrypoint("launcher")
                    .command(["worker", "--fast"])
            ),
            "the worker program: --fast\n"
        );
        assert_eq!(
            stdout_of(
                &context,
                ContainerConfig::new()
                    .entrypoint("/cnb/lifecycle/launcher")
                    .command(["worker"])
            ),
            "the worker program: \n"
        );
    });
}

#[test]
fn a_process_type_entrypoint_runs_that_process_directly_with_user_args_replacing_args() {
    TestRunner::default().build(no_default_image(), |context| {
        // A direct process: no profile script is sourced.
        for entrypoint in ["worker", "/cnb/process/worker"] {
            assert_eq!(
                stdout_of(&context, ContainerConfig::new().entrypoint(entrypoint)),
                "worker process: no profile\n"
            );
        }
        // `command` is `bash -c`: the user's args replace `args` (the script and its `$0`).
        assert_eq!(
            stdout_of(
                &context,
                ContainerConfig::new().entrypoint("worker").command([
                    "echo \"$0 $1\"",
                    "user",
                    "args"
                ])
            ),
            "user args\n"
        );
    });
}

#[test]
fn a_user_command_runs_through_bash_with_each_token_expanded_and_the_profiles_sourced() {
    TestRunner::default().build(no_default_image(), |context| {
        // Several arguments: each is a word that bash expands, after sourcing the layers'
        // profile.d scripts (not those of a process type) and the app's .profile.
        assert_eq!(
            stdout_of(
                &context,
                ContainerConfig::new().entrypoint("launcher").command([
                    "echo",
                    "$FROM_PROFILE,",
                    "$FROM_APP_PROFILE,",
                    "${WORKER_PROFILE:-none}"
                ])
            ),
            "layer profile, app profile, none\n"
        );
        // One argument is a script.
        assert_eq!(
            stdout_of(
                &context,
                ContainerConfig::new()
                    .entrypoint("launcher")
                    .command(["echo \"$FROM_APP_PROFILE\" | tr a-z A-Z"])
            ),
            "APP PROFILE\n"
        );
        // libcnb-test's run_shell_command is `--entrypoint launcher IMAGE <command>`.
        assert_eq!(
            context
                .run_shell_command("echo $FROM_PROFILE; echo $FROM_APP_PROFILE")
                .stdout,
            "layer profile\napp profile\n"
        );
    });
}

#[test]
fn double_dash_runs_the_command_directly() {
    TestRunner::default().build(no_default_image(), |context| {
        assert_eq!(
            stdout_of(
                &context,
                ContainerConfig::new()
                    .entrypoint("launcher")
                    .command(["--", "echo", "$FROM_PROFILE"])
            ),
            "$FROM_PROFILE\n"
        );
        assert_eq!(
            stderr_of(
                &context,
                ContainerConfig::new()
                    .entrypoint("launcher")
                    .command(["--", "no-such-program"])
            ),
            "ERROR: failed to launch: path lookup: exec: \"no-such-program\": executable file not found in $PATH\n"
        );
    });
}

#[test]
fn without_a_default_process_the_image_entrypoint_is_the_launcher() {
    // The exporter makes `/cnb/lifecycle/launcher` the entrypoint: a command runs...
    TestRunner::default().build(no_default_image(), |context| {
        assert_eq!(
            stdout_of(
                &context,
                ContainerConfig::new().command(["echo \"hi from $FROM_APP_PROFILE\""])
            ),
            "hi from app profile\n"
        );
        // ... and without one the launcher fails.
        assert_eq!(
            stderr_of(&context, &ContainerConfig::new()),
            "ERROR: failed to launch: determine start command: when there is no default process a command is required\n"
        );
    });
}

#[test]
fn the_launcher_without_a_command_fails_even_when_there_is_a_default_process() {
    TestRunner::default().build(config(&[("build.sh", DEFAULT_BUILD)]), |context| {
        assert_eq!(
            stdout_of(&context, &ContainerConfig::new()),
            "default web\n"
        );
        assert_eq!(
            stdout_of(&context, ContainerConfig::new().command(["echo user args"])),
            "user args\n"
        );
        assert_eq!(
            stderr_of(&context, ContainerConfig::new().entrypoint("launcher")),
            "ERROR: failed to launch: determine start command: when there is no default process a command is required\n"
        );
    });
}

//! How the platform runs `bin/detect` and `bin/build`: where their output goes, and (when the
//! platform is started as root) as which user. Exercised with the shell buildpack of
//! `platform.rs`.

#![cfg_attr(feature = "pack", allow(unused_crate_dependencies))]
#![cfg(not(feature = "pack"))]

use local_platform::BuildUser;
use local_platform::testing::{
    BuildConfig, BuildpackReference, PackResult, TestRunner, assert_contains, assert_not_contains,
};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

// The library's dependencies, unused by this test crate.
use command_fds as _;
use filetime as _;
use indoc as _;
use libcnb_data as _;
use serde as _;
use serde_json as _;
use sha2 as _;
use tempfile as _;
use toml as _;
use which as _;

const SHELL_BUILDPACK: &str = "tests/fixtures/shell_buildpack";

/// A config for an app made of the given files, built with the shell buildpack.
fn config(files: &[(&str, &str)]) -> BuildConfig {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(name, content)| ((*name).to_string(), (*content).to_string()))
        .collect();
    let mut config = BuildConfig::new("local", "tests/fixtures/empty_app");
    config
        .buildpacks([BuildpackReference::Other(String::from(SHELL_BUILDPACK))])
        .app_dir_preprocessor(move |dir: PathBuf| {
            for (name, content) in &files {
                std::fs::write(dir.join(name), content).expect("writing an app file");
            }
        });
    config
}

#[test]
fn both_streams_of_the_buildpack_go_to_pack_stdout_in_order() {
    let build = "echo 'out 1'\necho 'err 1' >&2\necho 'out 2'\necho 'err 2' >&2\n";
    TestRunner::default().build(config(&[("build.sh", build)]), |context| {
        assert_contains!(
            context.pack_stdout,
            "===> BUILDING\nout 1\nerr 1\nout 2\nerr 2\n===> EXPORTING\n"
        );
        assert_eq!(context.pack_stderr, "");
    });
}

#[test]
fn a_failed_build_has_only_packs_error_on_pack_stderr() {
    let build = "echo 'what went wrong' >&2\nexit 1\n";
    TestRunner::default().build(
        config(&[("build.sh", build)]).expected_pack_result(PackResult::Failure),
        |context| {
            assert_contains!(
                context.pack_stdout,
                "===> BUILDING\nwhat went wrong\nERROR: failed to build: exit status 1\n"
            );
            assert_eq!(
                context.pack_stderr,
                "ERROR: failed to build: executing lifecycle: failed with status code: 51\n"
            );
        },
    );
}

#[test]
fn assert_not_contains_on_an_empty_string_fails_as_it_would_prove_nothing() {
    let panic = std::panic::catch_unwind(|| {
        let pack_stderr = String::new();
        assert_not_contains!(pack_stderr, "panicked");
    })
    .unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert_contains!(
        message,
        "on an empty left: it would pass whatever the build printed"
    );
    assert_contains!(message, "right: `\"panicked\"`");
    // A non-empty string that lacks the text passes.
    assert_not_contains!("built", "panicked");
}

/// Whether the tests run as root, the only case where the platform switches users.
fn running_as_root() -> bool {
    let root = rustix::process::geteuid().is_root();
    if !root {
        eprintln!("Not running as root: the platform runs the phases as the calling user.");
    }
    root
}

const WHO_AM_I: &str = r#"
echo "$PHASE as $(id -u):$(id -g) groups $(id -G)"
echo "$PHASE HOME=$HOME owned by $(stat -c %u:%g "$HOME")"
echo "$PHASE app dir owned by $(stat -c %u:%g .)"
"#;

#[test]
fn detect_and_build_run_as_the_build_user_owning_the_app_layers_and_home() {
    if !running_as_root() {
        return;
    }
    // Detect's output is shown only when it fails: it leaves its answers to build.
    let detect = format!("PHASE=detect\n{{\n{WHO_AM_I}\n}} > detect-output\n");
    let build = format!(
        "cat detect-output\nPHASE=build\n{WHO_AM_I}{}",
        r#"
echo "build layers dir owned by $(stat -c %u:%g "$LAYERS") $(stat -c %u:%g "$LAYERS/..")"
echo "restored: $(stat -c %u:%g "$LAYERS/cached/file" 2>/dev/null || echo none) $(stat -c %u:%g "$LAYERS/cached.toml" 2>/dev/null || echo none) $(stat -c %u:%g "$LAYERS/store.toml" 2>/dev/null || echo none)"
ls "$LAYERS/../../store" >/dev/null 2>&1 || echo "the stores are out of reach"
touch "$HOME/written" app-file
mkdir -p "$LAYERS/cached"
echo data > "$LAYERS/cached/file"
printf '[types]\ncache = true\nlaunch = true\n' > "$LAYERS/cached.toml"
printf '[metadata]\nkept = true\n' > "$LAYERS/store.toml"
"#
    );
    let user = BuildUser {
        uid: 1234,
        gid: 2345,
    };
    let mut config = config(&[("detect.sh", &detect), ("build.sh", &build)]);
    config.build_user(Some(user));
    TestRunner::default().build(&config, |context| {
        let work = context.work_dir().display().to_string();
        let stdout = &context.pack_stdout;
        // No supplementary groups: only the primary one.
        assert_contains!(stdout, "detect as 1234:2345 groups 2345\n");
        assert_contains!(stdout, "build as 1234:2345 groups 2345\n");
        assert_contains!(
            stdout,
            &format!("build HOME={work}/home owned by 1234:2345\n")
        );
        assert_contains!(stdout, "detect app dir owned by 1234:2345\n");
        assert_contains!(stdout, "build layers dir owned by 1234:2345 1234:2345\n");
        assert_contains!(stdout, "restored: none none none\n");
        assert_contains!(stdout, "the stores are out of reach\n");
        // Launch stays as it was: the calling user (root).
        assert_eq!(context.run_shell_command("id -u").stdout, "0\n");
        context.rebuild(&config, |context| {
            let stdout = &context.pack_stdout;
            assert_contains!(stdout, "restored: 1234:2345 1234:2345 1234:2345\n");
            assert_contains!(stdout, "detect as 1234:2345 groups 2345\n");
        });
    });
}

#[test]
fn the_default_build_user_is_1000_and_a_config_can_keep_the_calling_user() {
    if !running_as_root() {
        return;
    }
    let build = format!("PHASE=build\n{WHO_AM_I}");
    TestRunner::default().build(config(&[("build.sh", &build)]), |context| {
        assert_contains!(context.pack_stdout, "build as 1000:1000 groups 1000\n");
    });
    TestRunner::default().build(
        config(&[("build.sh", &build)]).build_user(None),
        |context| {
            assert_contains!(context.pack_stdout, "build as 0:0 ");
        },
    );
}

#[test]
fn a_buildpack_the_build_user_cannot_read_is_staged_for_them() {
    if !running_as_root() {
        return;
    }
    let private = tempfile::tempdir().unwrap();
    let buildpack_dir = private.path().join("shell_buildpack");
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(SHELL_BUILDPACK);
    std::fs::create_dir_all(buildpack_dir.join("bin")).unwrap();
    for file in ["buildpack.toml", "bin/build", "bin/detect"] {
        std::fs::copy(source.join(file), buildpack_dir.join(file)).unwrap();
    }
    std::fs::set_permissions(private.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut config = config(&[("build.sh", "echo \"buildpack dir: $CNB_BUILDPACK_DIR\"\n")]);
    config.buildpacks([BuildpackReference::Other(
        buildpack_dir.display().to_string(),
    )]);
    TestRunner::default().build(&config, |context| {
        let work = context.work_dir().display().to_string();
        assert_contains!(
            context.pack_stdout,
            &format!("buildpack dir: {work}/cnb/buildpacks/test_shell/0.0.1\n")
        );
    });
}

#[test]
fn a_read_only_home_stays_empty_and_unwritable() {
    let build = "touch \"$HOME/file\" 2>/dev/null && echo wrote || echo \"could not write HOME\"\n";
    TestRunner::default().build(config(&[("build.sh", build)]).read_only_home(), |context| {
        assert_contains!(context.pack_stdout, "could not write HOME\n");
        assert_eq!(
            std::fs::read_dir(context.work_dir().join("home"))
                .unwrap()
                .count(),
            0
        );
    });
}

#[test]
fn the_cli_takes_the_build_user_from_cnb_user_id_or_user() {
    let cli = |args: &[&str], env: &[(&str, &str)]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_local-platform"))
            .args(args)
            .envs(env.iter().copied())
            .output()
            .expect("running local-platform");
        (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("build.sh"),
        "echo \"build as $(id -u):$(id -g)\"\n",
    )
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let buildpack = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/shell_buildpack"
    );
    let build_args = [
        "build",
        app.path().to_str().unwrap(),
        "--work-dir",
        work.path().to_str().unwrap(),
        "--buildpack",
        buildpack,
    ];
    let (_, stderr) = cli(&build_args, &[("CNB_USER_ID", "abc")]);
    assert_eq!(
        stderr,
        "local-platform: Invalid CNB_USER_ID 'abc': expected a numeric id such as 1000.\n"
    );
    let user_args = [&build_args[..], &["--user", "1000"]].concat();
    let (_, stderr) = cli(&user_args, &[]);
    assert_eq!(
        stderr,
        "local-platform: Invalid build user '1000': expected UID:GID, such as 1000:1000.\n"
    );
    if !running_as_root() {
        return;
    }
    let (stdout, stderr) = cli(
        &build_args,
        &[("CNB_USER_ID", "1500"), ("CNB_GROUP_ID", "1600")],
    );
    assert_contains!(stdout, "build as 1500:1600\n", "{stderr}");
    let user_args = [&build_args[..], &["--user", "1700:1800"]].concat();
    let (stdout, stderr) = cli(&user_args, &[("CNB_USER_ID", "1500")]);
    assert_contains!(stdout, "build as 1700:1800\n", "{stderr}");
}

//! How the platform runs `bin/detect` and `bin/build`: where their output goes, and (when the
//! platform is started as root) as which user. Exercised with the shell buildpack of
//! `platform.rs`.

#![cfg_attr(feature = "pack", allow(unused_crate_dependencies))]
#![cfg(not(feature = "pack"))]

use local_platform::testing::{
    BuildConfig, BuildpackReference, PackResult, TestRunner, assert_contains, assert_not_contains,
};
use std::path::PathBuf;

// The library's dependencies, unused by this test crate.
use command_fds as _;
use indoc as _;
use libcnb_data as _;
use serde as _;
use serde_json as _;
use sha2 as _;
use tempfile as _;
use toml as _;

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

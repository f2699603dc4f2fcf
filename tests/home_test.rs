//! Every tool the buildpack runs keeps its caches and config in layers, never in `HOME`: with a
//! `HOME` nobody but root can write (the build runs as an unprivileged user when the tests run
//! as root), a build of each package manager and of a Django app succeeds without a complaint
//! about it, and `HOME` stays empty. Local only: `read_only_home` is not in libcnb-test.

use crate::support::{buildpack_output, default_build_config};
use local_platform::testing::{TestRunner, assert_not_contains};

fn assert_builds_without_writing_home(fixture: &str) {
    let mut config = default_build_config(fixture);
    config.read_only_home();
    TestRunner::default().build(config, |context| {
        let output = buildpack_output(&context);
        for complaint in [
            "Permission denied",
            "not writable",
            "is not owned",
            "Read-only",
        ] {
            assert_not_contains!(output, complaint);
        }
        let home = context.work_dir().join("home");
        let written: Vec<_> = std::fs::read_dir(&home)
            .expect("reading HOME")
            .map(|entry| entry.expect("an entry of HOME").file_name())
            .collect();
        assert!(written.is_empty(), "the build wrote into HOME: {written:?}");
    });
}

#[test]
fn pip_keeps_home_untouched() {
    assert_builds_without_writing_home("pip_hashes");
}

#[test]
fn uv_keeps_home_untouched() {
    assert_builds_without_writing_home("uv_basic");
}

#[test]
fn poetry_keeps_home_untouched() {
    assert_builds_without_writing_home("poetry_basic");
}

#[test]
fn pipenv_keeps_home_untouched() {
    assert_builds_without_writing_home("pipenv_basic");
}

#[test]
fn django_collectstatic_keeps_home_untouched() {
    assert_builds_without_writing_home("django_basic");
}

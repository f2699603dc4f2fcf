//! The real buildpack (the workspace root crate), packaged with cargo and run through detect.

// These tests exercise the local platform itself: nothing to run under `pack`.
#![cfg_attr(feature = "pack", allow(unused_crate_dependencies))]
#![cfg(not(feature = "pack"))]

use local_platform::testing::{assert_contains, assert_not_contains};
use local_platform::{BuildRequest, Output, Platform, package_crate_once};
use std::collections::BTreeMap;
use std::path::Path;

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

fn build(app_files: &[&str]) -> (bool, Output, tempfile::TempDir) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let buildpack = package_crate_once(&root).expect("packaging the buildpack");
    assert_eq!(buildpack.id, "community/python");
    for phase in ["detect", "build"] {
        let link = buildpack.dir.join("bin").join(phase);
        let target = std::fs::read_link(&link).expect("bin/ holds symlinks");
        assert_eq!(target.file_name().expect("a file name"), "python-buildpack");
    }

    let work = tempfile::tempdir().expect("a temp dir");
    let app = tempfile::tempdir().expect("a temp dir");
    for name in app_files {
        std::fs::write(app.path().join(name), "").expect("writing an app file");
    }
    // The build installs Python: use the test runtimes that `scripts/build-test-runtimes` makes
    // (.ci/run builds them first), as an offline user would with a local inventory file.
    let inventory = root.join("target/test-runtimes/inventory.toml");
    assert!(
        inventory.is_file(),
        "{} is missing: run scripts/build-test-runtimes first",
        inventory.display()
    );
    let env = BTreeMap::from([(
        String::from("BP_PYTHON_INVENTORY"),
        inventory.display().to_string(),
    )]);
    let platform = Platform::new(work.path(), buildpack).expect("a platform");
    let output = Output::captured();
    let outcome = platform
        .build(
            &BuildRequest {
                app_dir: app.path().to_path_buf(),
                env,
                clear_cache: false,
                image_name: String::from("python-app"),
            },
            &output,
        )
        .expect("the platform runs");
    (outcome.success, output, work)
}

#[test]
fn the_real_buildpack_passes_detect_on_an_app_with_requirements_txt() {
    let (success, output, _work) = build(&["requirements.txt"]);
    assert!(success, "{}\n{}", output.stdout(), output.stderr());
    assert_contains!(
        output.stdout(),
        "===> DETECTING\n1 of 1 buildpacks participating\ncommunity/python 0.1.0\n===> RESTORING\n===> BUILDING\n"
    );
    assert_contains!(output.stdout(), "Successfully built image 'python-app'\n");
}

#[test]
fn the_real_buildpack_fails_detect_on_an_empty_app_with_the_lifecycle_output() {
    let (success, output, _work) = build(&[]);
    assert!(!success);
    let stdout = output.stdout();
    assert_contains!(
        stdout,
        "===> DETECTING\n======== Output: community/python@0.1.0 ========\nNo Python project files found. This buildpack looks for any of:\n  - "
    );
    assert_contains!(
        stdout,
        "root of the app.\n======== Results ========\nfail: community/python@0.1.0\nERROR: No buildpack groups passed detection.\nERROR: Please check that you are running against the correct path.\nERROR: failed to detect: no buildpacks participating\n"
    );
    assert_not_contains!(stdout, "===> BUILDING");
    assert_eq!(
        output.stderr(),
        "ERROR: failed to build: executing lifecycle: failed with status code: 20\n"
    );
}

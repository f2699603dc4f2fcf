//! The real buildpack, packaged from this crate, through the test API's whole cycle: build,
//! rebuild, and a command run in the built image. Runs the same under `--features pack`.

use local_platform::testing::{BuildConfig, TestRunner, assert_contains};

#[test]
fn the_buildpack_builds_rebuilds_and_runs_a_command_in_the_image() {
    let mut config = BuildConfig::new(
        "heroku/builder:24",
        "local-platform/tests/fixtures/empty_app",
    );
    config.app_dir_preprocessor(|app_dir| {
        std::fs::write(app_dir.join("requirements.txt"), "").expect("writing requirements.txt");
    });
    TestRunner::default().build(&config, |context| {
        assert_contains!(context.pack_stdout, "===> BUILDING");
        assert_contains!(context.pack_stdout, "Successfully built image");
        context.rebuild(&config, |context| {
            assert_contains!(context.pack_stdout, "===> RESTORING");
            assert_contains!(context.pack_stdout, "Successfully built image");
            let output = context.run_shell_command("ls -A");
            assert_contains!(output.stdout, "requirements.txt\n");
        });
    });
}

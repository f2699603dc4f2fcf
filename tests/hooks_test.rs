//! The app's `bin/pre_compile` and `bin/post_compile` hooks: when they run, with which env and
//! working directory, their output under their own headings, what they write ending up in the
//! image, and the errors for a failing or non-executable hook.

use crate::support::{build_output, default_build_config, failing_build_config};
use indoc::indoc;
use local_platform::testing::{BuildConfig, TestRunner, assert_contains, assert_not_contains};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

fn config() -> BuildConfig {
    let mut config = default_build_config("hooks_basic");
    config.env("HOOK_GREETING", "hello");
    config
}

#[test]
fn hooks_run_before_the_analysis_and_after_the_install_on_every_build() {
    TestRunner::default().build(config(), |context| {
        let out = build_output(&context);
        // pre_compile runs first, in the app dir, with the platform env and no venv; the
        // requirements.txt it writes is the one installed (the pyproject.toml's missing package
        // is not: requirements.txt takes precedence, and the output says so).
        assert_contains!(
            out,
            indoc! {"
                ## Running the bin/pre_compile hook

                  - Running `bin/pre_compile`

                      pre_compile in app, HOOK_GREETING=hello, VIRTUAL_ENV=unset
            "}
        );
        let pre = out.find("## Running the bin/pre_compile hook").expect("pre_compile ran");
        let version = out.find("## Python version").expect("the version section");
        assert!(pre < version, "{out}");
        assert_contains!(
            out,
            "- Installing requirements.txt: the app also has a pyproject.toml, whose dependencies are not installed (requirements.txt takes precedence)\n"
        );
        assert_contains!(out, "Successfully installed six-1.17.0");

        // post_compile runs after the install, with the app's Python and packages, before the
        // processes are chosen.
        assert_contains!(
            out,
            indoc! {"
                ## Running the bin/post_compile hook

                  - Running `bin/post_compile`

                      post_compile: six 1.17.0 from the venv: True
                      HOOK_GREETING=hello
            "}
        );
        let post = out.find("## Running the bin/post_compile hook").expect("post_compile ran");
        let install = out.find("Successfully installed").expect("the install");
        let processes = out.find("## Processes").expect("the processes section");
        assert!(install < post && post < processes, "{out}");

        // What the hooks wrote into the app dir is in the image.
        assert_eq!(
            context
                .run_shell_command("cat requirements.txt post_compile.txt")
                .stdout,
            "six==1.17.0\nwritten by post_compile\n"
        );

        // A rebuild runs both again, though the cached environment is reused.
        context.rebuild(config(), |context| {
            let out = build_output(&context);
            assert_contains!(out, "pre_compile in app, HOOK_GREETING=hello");
            assert_contains!(out, "post_compile: six 1.17.0 from the venv: True");
            assert_contains!(out, "Requirements and pip are unchanged");
        });
    });
}

#[test]
fn a_failing_hook_fails_the_build_with_its_exit_status() {
    TestRunner::default().build(failing_build_config("hooks_failing"), |context| {
        let out = build_output(&context);
        assert_contains!(out, "pre_compile is about to fail\n");
        assert_contains!(
            out,
            indoc! {"
                ! Error: The bin/pre_compile hook failed
                !
                ! bin/pre_compile failed (exit status: 3); its output is above.
                !
                ! Fix the hook, or the command in it that failed, and build again. It runs
                ! in the app's directory with the build's environment.
            "}
        );
        assert_not_contains!(out, "## Python version");
    });
}

#[test]
fn a_hook_that_is_not_executable_is_an_error() {
    let mut config = failing_build_config("hooks_failing");
    config.app_dir_preprocessor(|app_dir: PathBuf| {
        let hook = app_dir.join("bin/pre_compile");
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o644))
            .expect("making the hook non-executable");
    });
    TestRunner::default().build(config, |context| {
        let out = build_output(&context);
        assert_contains!(
            out,
            indoc! {"
                ! Error: bin/pre_compile is not executable
                !
                ! The app has a bin/pre_compile hook, but the file isn't executable, so the
                ! buildpack can't run it.
                !
                ! Make it executable and commit the change: run 'chmod +x bin/pre_compile' (in a
                ! git repository, 'git update-index --chmod=+x bin/pre_compile' records it too),
                ! or delete bin/pre_compile if the app doesn't use it.
            "}
        );
        assert_not_contains!(out, "pre_compile is about to fail");
    });
}

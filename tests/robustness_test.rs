//! Odd app files, odd build env, and steps that misbehave: each gets a clear error or warning,
//! nothing hangs, and no secret is printed or derivable from the cache.

use crate::processes_test::{http_get, web_container};
use crate::support::{buildpack_output, default_build_config, failing_build_config};
use indoc::indoc;
use local_platform::testing::{BuildConfig, TestRunner, assert_contains, assert_not_contains};
use std::path::PathBuf;

/// A named pipe outside the app (the platform copies the app dir, so it can't hold one), in a
/// directory removed when the returned guard is dropped.
fn named_pipe() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let pipe = dir.path().join("pipe.txt");
    nix::unistd::mkfifo(&pipe, nix::sys::stat::Mode::S_IRWXU).expect("a named pipe");
    (dir, pipe)
}

/// `config` with `link` in the app dir replaced by a symbolic link to `target`.
fn with_link(mut config: BuildConfig, link: &'static str, target: PathBuf) -> BuildConfig {
    config.app_dir_preprocessor(move |app_dir: PathBuf| {
        let _ = std::fs::remove_file(app_dir.join(link));
        std::os::unix::fs::symlink(&target, app_dir.join(link)).expect("a symbolic link");
    });
    config
}

/// Point 1: a named pipe or device where the buildpack reads a file is an error naming it,
/// before any layer, instead of a hang, memory exhaustion, or "no such file" advice.
#[test]
fn named_pipes_and_devices_instead_of_files_are_errors_naming_them() {
    let (_guard, pipe) = named_pipe();
    let config = with_link(
        failing_build_config("no_version"),
        "requirements.txt",
        pipe.clone(),
    );
    TestRunner::default().build(config, |context| {
        let output = buildpack_output(&context);
        assert_contains!(
            &output,
            indoc! {"
                ! Error: Unable to read requirements.txt
                !
                ! `requirements.txt` is a named pipe (FIFO), not a file.
            "}
        );
        assert_not_contains!(&output, "Installing Python");
    });

    let mut config = failing_build_config("no_version");
    let requirements = format!("-r {}\n", pipe.display());
    config.app_dir_preprocessor(move |app_dir: PathBuf| {
        std::fs::write(app_dir.join("requirements.txt"), &requirements).unwrap();
    });
    TestRunner::default().build(config, |context| {
        assert_contains!(
            buildpack_output(&context),
            &format!(
                "! Error: Unable to read {pipe}\n!\n! `{pipe}` is a named pipe (FIFO), not a file.\n",
                pipe = pipe.display()
            )
        );
    });

    let config = with_link(
        failing_build_config("no_version"),
        ".python-version",
        PathBuf::from("/dev/null"),
    );
    TestRunner::default().build(config, |context| {
        assert_contains!(
            buildpack_output(&context),
            indoc! {"
                ! Error: Unable to read .python-version
                !
                ! `.python-version` is a character device, not a file.
                !
                ! The buildpack reads .python-version as a regular file (a symbolic link to one is fine).
                ! Replace it with a regular, readable file, then build again.
            "}
        );
    });
}

/// Points 1, 5 and 6: a Procfile that is a device is refused, not read until memory runs out;
/// one that reads the build's environment doesn't print the credentials or the NUL bytes in
/// it; a NUL byte in a command is refused with its line.
#[test]
fn procfiles_that_are_devices_secrets_or_have_nul_bytes_are_refused() {
    TestRunner::default().build(default_build_config("procfile_basic"), |context| {
        let config = with_link(
            failing_build_config("procfile_basic"),
            "Procfile",
            PathBuf::from("/dev/zero"),
        );
        context.rebuild(config, |context| {
            assert_contains!(
                buildpack_output(&context),
                indoc! {"
                    ! Error: Unable to read Procfile
                    !
                    ! `Procfile` is a character device, not a file.
                "}
            );

            // The cached dependencies are reused, so pip never uses this index.
            let mut config = with_link(
                failing_build_config("procfile_basic"),
                "Procfile",
                PathBuf::from("/proc/self/environ"),
            );
            config.env(
                "PIP_INDEX_URL",
                "https://build-user:hunter2-secret@pypi.example.com/simple",
            );
            context.rebuild(config, |context| {
                let output = buildpack_output(&context);
                assert_contains!(&output, "! Error: Invalid Procfile");
                assert_contains!(&output, "PIP_INDEX_URL=https://****@pypi.example.com/simple");
                assert_contains!(&output, "<U+0000>");
                assert_not_contains!(&output, "hunter2-secret");
                assert_not_contains!(&output, "\0");

                let mut config = failing_build_config("procfile_basic");
                config.app_dir_preprocessor(|app_dir: PathBuf| {
                    std::fs::write(
                        app_dir.join("Procfile"),
                        "web: python server.py --port $PORT\nworker: python\0 -c 'print(1)'\n",
                    )
                    .unwrap();
                });
                context.rebuild(config, |context| {
                    assert_contains!(
                        buildpack_output(&context),
                        indoc! {"
                            ! Error: Invalid Procfile
                            !
                            ! Line 2 of the Procfile declares the process type 'worker' with a
                            ! command that contains a NUL byte (U+0000). No process can be started with such
                            ! a command.
                        "}
                    );
                });
            });
        });
    });
}

/// Point 2: a Django settings module that blocks when it loads (an unreachable database) stops
/// at the time limit with an error naming the command, instead of hanging the build silently.
#[test]
fn django_settings_that_hang_stop_at_the_time_limit() {
    let mut config = failing_build_config("django_settings_hang");
    config.env("BP_PYTHON_COMMAND_TIMEOUT", "5s");
    TestRunner::default().build(config, |context| {
        let output = buildpack_output(&context);
        assert_contains!(
            &output,
            indoc! {"
                ! Error: 'python manage.py collectstatic --noinput' timed out
                !
                ! The buildpack ran 'python manage.py collectstatic --noinput' to generate the app's static files, and stopped it after
                ! 5 s: it was still running at the time limit of 5 s.
                !
                ! Its last output:
                !
                !     Connecting to the database at db.internal:5432 ...
                !
            "}
        );
        assert_contains!(
            &output,
            "! This usually means that the app's Django settings (or a module they import) wait \
             for something when they are loaded: most often a connection to a database, cache or \
             other service that can't be reached from the build"
        );
        assert_contains!(
            &output,
            "! If the command needs more time, raise the limit with BP_PYTHON_COMMAND_TIMEOUT in the\n"
        );
    });
}

/// Every file of the work dir's layers, stores and caches that metadata or `result.json` could
/// be in (not the layers' contents).
#[cfg(not(feature = "pack"))]
fn metadata_files(dir: &std::path::Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir)
        .expect("a readable directory")
        .flatten()
    {
        let path = entry.path();
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() && !path.ends_with("app") {
            metadata_files(&path, files);
        } else if file_type.is_file()
            && path
                .extension()
                .is_some_and(|extension| extension == "toml" || extension == "json")
        {
            files.push(path);
        }
    }
}

/// Point 5: the static files cache keys the build env with one salted digest of every value:
/// the cache holds no digest that a guessed value of one variable could be checked against
/// (neither a plain one nor one salted with the salt the cache keeps), and still says that the
/// env changed.
#[cfg(not(feature = "pack"))]
#[test]
fn django_static_files_cache_holds_no_plain_digest_of_the_env() {
    use sha2::{Digest, Sha256};
    let secret = "postgres://app:correct-horse-battery@db.internal/app";
    let mut config = default_build_config("django_basic");
    config.env("DATABASE_URL", secret);
    TestRunner::default().build(config, |context| {
        let plain_digest = format!("{:x}", Sha256::digest(secret.as_bytes()));
        let mut files = Vec::new();
        metadata_files(context.work_dir(), &mut files);
        assert!(
            files.iter().any(|file| file.ends_with("result.json")),
            "{files:?}"
        );
        let result = files
            .iter()
            .find(|file| file.ends_with("result.json"))
            .unwrap();
        let result: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(result).unwrap()).unwrap();
        let salt = result["salt"].as_str().unwrap();
        // What a digest of this one value, salted with the stored salt, would be.
        let mut hasher = Sha256::new();
        for part in [salt, "DATABASE_URL", secret] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let salted_digest = format!("{:x}", hasher.finalize());
        for file in &files {
            let contents = std::fs::read_to_string(file).unwrap_or_default();
            assert!(!contents.contains(&plain_digest), "{}", file.display());
            assert!(!contents.contains(&salted_digest), "{}", file.display());
            assert!(!contents.contains("correct-horse-battery"), "{}", file.display());
        }

        let mut config = default_build_config("django_basic");
        config.env("DATABASE_URL", "postgres://app:another@db.internal/app");
        context.rebuild(config, |context| {
            assert_contains!(
                buildpack_output(&context),
                "- Discarding the cached static files because: The build environment changed (the value of a variable)\n"
            );
        });
    });
}

/// Point 3: an app module named like a standard library module doesn't break the buildpack's
/// own probes (it runs fine under gunicorn). Point 6: a `WEB_CONCURRENCY` set by the user that
/// isn't a worker count is warned about at build time.
#[test]
fn app_modules_named_like_the_standard_library_build_and_serve() {
    let mut config = default_build_config("pip_stdlib_shadowing");
    config.env("WEB_CONCURRENCY", "abc");
    TestRunner::default().build(config, |context| {
        let output = buildpack_output(&context);
        assert_contains!(
            &output,
            indoc! {"
                - No Procfile, so the buildpack chose a default 'web' process
                  - app.py defines the WSGI app 'app', and gunicorn is installed
                  - web: gunicorn app:app --bind 0.0.0.0:${PORT:-8000}
            "}
        );
        assert_contains!(
            &output,
            "! WEB_CONCURRENCY is set to 'abc', which isn't a positive whole number of workers.\n"
        );
        context.start_container(web_container(), |container| {
            assert_eq!(
                http_get(&container, "/"),
                (
                    200,
                    "Hello from an app with its own email.py and csv.py\n".to_string()
                )
            );
        });
    });
}

/// Point 3: a package found only through the build's `PYTHONPATH` isn't in the image, so it
/// can't choose the default process.
#[test]
fn packages_on_pythonpath_do_not_choose_the_web_process() {
    let site = tempfile::tempdir().unwrap();
    let dist_info = site.path().join("gunicorn-23.0.0.dist-info");
    std::fs::create_dir(&dist_info).unwrap();
    std::fs::write(
        dist_info.join("METADATA"),
        "Metadata-Version: 2.1\nName: gunicorn\nVersion: 23.0.0\n",
    )
    .unwrap();
    let mut config = default_build_config("no_version");
    config.env("PYTHONPATH", site.path().to_str().unwrap());
    config.app_dir_preprocessor(|app_dir: PathBuf| {
        std::fs::write(
            app_dir.join("app.py"),
            "from flask import Flask\n\napp = Flask(__name__)\n",
        )
        .unwrap();
    });
    TestRunner::default().build(config, |context| {
        let output = buildpack_output(&context);
        assert_contains!(
            &output,
            indoc! {"
                - No Procfile, and no default 'web' process could be chosen
                  - app.py defines the WSGI app 'app', but gunicorn isn't installed.
            "}
        );
    });
}

/// Point 4: variables that change how Python and pip start or where they install are refused
/// up front, and `PIP_NO_INDEX` without `PIP_FIND_LINKS` is named.
#[test]
fn env_vars_that_break_python_or_pip_are_refused_up_front() {
    let mut config = failing_build_config("no_version");
    config.envs([
        ("PYTHONINSPECT", "1"),
        ("PYTHONPLATLIBDIR", "lib64"),
        ("PYTHONUSERBASE", "/tmp/userbase"),
        ("PYTHONNOUSERSITE", "1"),
        ("PIP_ROOT", "/tmp/root"),
    ]);
    TestRunner::default().build(config, |context| {
        let output = buildpack_output(&context);
        assert_contains!(
            &output,
            "! Error: Unsupported environment variable: PIP_ROOT, PYTHONINSPECT, PYTHONNOUSERSITE, PYTHONPLATLIBDIR, PYTHONUSERBASE\n"
        );
        assert_contains!(
            &output,
            "! - PYTHONINSPECT is set, which makes Python wait for interactive input after each command it runs, so the build's Python commands don't finish.\n"
        );
        assert_not_contains!(&output, "Installing Python");
    });

    let mut config = failing_build_config("no_version");
    config.env("PIP_NO_INDEX", "1");
    TestRunner::default().build(config, |context| {
        let output = buildpack_output(&context);
        assert_contains!(
            &output,
            indoc! {"
                ! Error: PIP_NO_INDEX is set without PIP_FIND_LINKS
                !
                ! The build environment sets PIP_NO_INDEX, which stops pip from using any
                ! package index, but not PIP_FIND_LINKS, which would tell pip where else to
            "}
        );
        assert_not_contains!(&output, "Installing Python");
    });
}

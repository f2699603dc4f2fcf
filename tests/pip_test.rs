//! pip apps: the packaging-tools layer, the `venv` dependencies layer and pip's cache, built
//! through the local platform with real runtimes and real `PyPI` packages.

use crate::support::default_build_config;
use indoc::indoc;
use local_platform::testing::{
    BuildConfig, ContainerConfig, PackResult, TestContext, TestRunner, assert_contains,
    assert_not_contains,
};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use std::{fs, thread};

/// A copy of a fixture that tests can edit between builds.
fn editable_fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("test setup");
    let app = dir.path().join(name);
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("test-fixtures")
            .join(name),
        &app,
    );
    (dir, app)
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("test setup");
    for entry in fs::read_dir(from).expect("test setup") {
        let entry = entry.expect("test setup");
        if entry.file_type().expect("test setup").is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            fs::copy(entry.path(), to.join(entry.file_name())).expect("test setup");
        }
    }
}

fn config_for(app: &Path) -> BuildConfig {
    let mut config = default_build_config("pip_flask_gunicorn");
    config.app_dir(app);
    config
}

/// Everything the build printed (the buildpack writes to stderr; `pack` merges both), without
/// colours.
fn output(context: &TestContext) -> String {
    strip_ansi(&format!("{}{}", context.pack_stdout, context.pack_stderr))
}

/// Removes ANSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(text: &str) -> String {
    let mut result = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            result.push(c);
        }
    }
    result
}

/// The `venv` layer's content digest and whether the export reused it unchanged (local platform
/// only: `pack` exposes no layer digests).
#[cfg(not(feature = "pack"))]
fn venv_layer(context: &TestContext) -> (String, bool) {
    let layer = context
        .export()
        .layers
        .iter()
        .find(|layer| layer.name.ends_with("venv"))
        .unwrap_or_else(|| panic!("no venv layer in {:?}", context.export().layers));
    (layer.digest.clone(), layer.unchanged)
}

fn http_get(address: std::net::SocketAddr) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let attempt = TcpStream::connect(address).and_then(|mut stream| {
            stream.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
            let mut response = String::new();
            stream.read_to_string(&mut response)?;
            Ok(response)
        });
        match attempt {
            Ok(response) if !response.is_empty() => return response,
            _ if Instant::now() < deadline => thread::sleep(Duration::from_millis(250)),
            other => panic!("no HTTP response from {address}: {other:?}"),
        }
    }
}

#[test]
fn flask_gunicorn_app_serves_http_and_rebuild_skips_pip() {
    let (_dir, app) = editable_fixture("pip_flask_gunicorn");
    TestRunner::default().build(config_for(&app), |context| {
        assert_contains!(output(&context), "## Installing dependencies with pip");
        assert_contains!(output(&context), "- pip 26.3 (used during the build only)");
        assert_contains!(
            output(&context),
            "/community_python/venv/bin/python "
        );
        // The venv's interpreter runs the pip layer's pip, as `pip --python` would.
        assert_contains!(
            output(&context),
            "/site-packages/pip/__pip-runner__.py install --no-compile --requirement requirements.txt`"
        );
        assert_contains!(output(&context), "Successfully installed");
        assert_contains!(output(&context), "flask-3.1.3");
        assert_contains!(output(&context), "gunicorn-27.0.1");

        // The app's scripts are commands and `python` imports its packages; pip is not in the
        // image.
        let venv = context.run_shell_command("echo $VIRTUAL_ENV").stdout;
        let venv = venv.trim().to_string();
        assert!(venv.ends_with("/community_python/venv"), "{venv}");
        let shell = context.run_shell_command(
            "command -v python gunicorn; python -c 'import flask, sys; print(sys.prefix)'; \
             python -c 'import pip' 2>&1 | tail -n 1; ls \"$VIRTUAL_ENV/bin\" | grep -c '^pip' || true",
        );
        assert_eq!(
            shell.stdout,
            format!(
                "{venv}/bin/python\n{venv}/bin/gunicorn\n{venv}\n\
                 ModuleNotFoundError: No module named 'pip'\n0\n"
            )
        );

        context.start_container(
            ContainerConfig::new()
                .entrypoint("launcher")
                .command(["gunicorn --bind 0.0.0.0:$PORT app:app"])
                .env("PORT", "8000")
                .expose_port(8000),
            |container| {
                let response = http_get(container.address_for_port(8000));
                assert_contains!(response, "200 OK");
                assert_contains!(response, "Hello from Flask on gunicorn");
            },
        );

        #[cfg(not(feature = "pack"))]
        let (first_digest, _) = venv_layer(&context);
        let config = context.config.clone();
        context.rebuild(config, |context| {
            assert_contains!(
                output(&context),
                &format!(
                    "## Installing dependencies with pip\n\n\
                     - pip 26.3 (used during the build only)\n  \
                     - Using cached pip\n\
                     - Virtual environment `{venv}`\n  \
                     - Requirements and pip are unchanged: using the cached environment without running pip\n"
                )
            );
            assert_not_contains!(output(&context), " install ");
            #[cfg(not(feature = "pack"))]
            {
                let (digest, unchanged) = venv_layer(&context);
                assert_eq!(digest, first_digest);
                assert!(unchanged);
            }
        });
    });
}

#[test]
fn changing_requirements_updates_in_place_and_removes_unrequired_packages() {
    let (_dir, app) = editable_fixture("pip_flask_gunicorn");
    let prod = app.join("requirements/prod.txt");
    TestRunner::default().build(config_for(&app), |context| {
        // A package added to the nested file: only it is downloaded.
        fs::write(
            &prod,
            "flask==3.1.3\ngunicorn==27.0.1\ntyping-extensions==4.15.0\n",
        )
        .expect("test setup");
        let config = context.config.clone();
        context.rebuild(config, |context| {
            assert_contains!(
                output(&context),
                "- Updating the cached environment because: requirements/prod.txt changed"
            );
            assert_contains!(output(&context), "Requirement already satisfied: flask==3.1.3");
            assert_contains!(output(&context), "Downloading typing_extensions-4.15.0");
            assert_eq!(output(&context).matches("Downloading ").count(), 1);
            assert_contains!(
                output(&context),
                "Successfully installed typing-extensions-4.15.0"
            );

            // Removed from the requirements: removed from the image, with the packages only
            // it needed (flask's dependencies).
            fs::write(&prod, "gunicorn==27.0.1\ntyping-extensions==4.15.0\n").expect("test setup");
            let config = context.config.clone();
            context.rebuild(config, |context| {
                assert_contains!(
                    output(&context),
                    "- Removing packages the requirements no longer need: blinker, click, Flask, itsdangerous, Jinja2, MarkupSafe, Werkzeug"
                );
                assert_eq!(output(&context).matches("Downloading ").count(), 0);
                let shell = context.run_shell_command(
                    "python -c 'import importlib.util as u; print(u.find_spec(\"flask\"), u.find_spec(\"gunicorn\") is not None)'",
                );
                assert_eq!(shell.stdout, "None True\n");
            });
        });
    });
}

// Clearing the cache in a rebuild and comparing digests needs the local platform.
#[cfg(not(feature = "pack"))]
#[test]
fn two_cold_builds_give_identical_layers() {
    let (_dir, app) = editable_fixture("pip_flask_gunicorn");
    TestRunner::default().build(config_for(&app), |context| {
        let (first_digest, _) = venv_layer(&context);
        let config = context.config.clone();
        context.rebuild_with_clear_cache(config, |context| {
            assert_contains!(output(&context), "Successfully installed");
            let (digest, unchanged) = venv_layer(&context);
            assert_eq!(digest, first_digest);
            assert!(unchanged);
        });
    });
}

// Clearing the cache in a rebuild and comparing digests needs the local platform.
#[cfg(not(feature = "pack"))]
#[test]
fn the_users_hash_seed_does_not_change_the_dependencies_bytecode() {
    // Werkzeug has set constants (`x in {"a", "b"}`), which Python 3.10's bytecode holds in the
    // order of the seed's string hashes (3.12 sorts them).
    let (_dir, app) = editable_fixture("pip_flask_gunicorn");
    std::fs::write(app.join(".python-version"), "3.10\n").expect("pinning Python 3.10");
    let with_seed = |seed: &str| {
        let mut config = config_for(&app);
        config.env("PYTHONHASHSEED", seed);
        config
    };
    TestRunner::default().build(with_seed("1"), |context| {
        let (first_digest, _) = venv_layer(&context);
        context.rebuild_with_clear_cache(with_seed("2"), |context| {
            assert_contains!(output(&context), "Successfully installed");
            assert_eq!(venv_layer(&context).0, first_digest);
        });
    });
}

#[test]
fn python_version_change_discards_every_cache() {
    let (_dir, app) = editable_fixture("pip_flask_gunicorn");
    fs::write(app.join(".python-version"), "3.12\n").expect("test setup");
    TestRunner::default().build(config_for(&app), |context| {
        fs::write(app.join(".python-version"), "3.13\n").expect("test setup");
        let config = context.config.clone();
        context.rebuild(config, |context| {
            let reason = "The Python version changed from 3.12.1 to 3.13.0";
            assert_contains!(
                output(&context),
                &format!("- Discarding cached pip because: {reason}")
            );
            assert_contains!(
                output(&context),
                &format!("- Discarding the cached environment because: {reason}")
            );
            assert_contains!(
                output(&context),
                &format!("- Discarding pip's cache because: {reason}")
            );
            let shell = context
                .run_shell_command("python -c 'import flask, sys; print(sys.version_info[:2])'");
            assert_eq!(shell.stdout, "(3, 13)\n");
        });
    });
}

#[test]
fn editable_app_markers_and_hashes() {
    TestRunner::default().build(default_build_config("pip_editable_markers"), |context| {
        assert_contains!(
            output(&context),
            "Ignoring six: markers 'python_version < \"3\"' don't match your environment"
        );
        let shell = context.run_shell_command("greet");
        assert_eq!(shell.stdout, "Hello from greeter, with blinker blinker\n");
    });
    TestRunner::default().build(default_build_config("pip_hashes"), |context| {
        assert_contains!(
            output(&context),
            "Successfully installed blinker-1.9.0 typing-extensions-4.15.0"
        );
    });
}

// The extra index is on the host's 127.0.0.1, out of reach of a `pack` build container.
#[cfg(not(feature = "pack"))]
#[test]
fn private_index_settings_reach_pip_without_leaking_credentials() {
    let mut config = default_build_config("pip_hashes");
    // An extra index that answers 404 for every project, behind credentials.
    let server = crate::support::runtime_server::runtime_server_url("/simple");
    let with_credentials = server.replacen("http://", "http://buildpack-user:s3cret-token@", 1);
    config.env("PIP_EXTRA_INDEX_URL", &with_credentials);
    TestRunner::default().build(config, |context| {
        assert_contains!(
            output(&context),
            "Looking in indexes: https://pypi.org/simple, http://****@"
        );
        assert_not_contains!(output(&context), "s3cret-token");
    });
}

fn failing_build(fixture: &str, f: impl FnOnce(TestContext)) {
    let mut config = default_build_config(fixture);
    config.expected_pack_result(PackResult::Failure);
    TestRunner::default().build(config, f);
}

#[test]
fn package_not_found() {
    failing_build("pip_package_not_found", |context| {
        assert_contains!(
            output(&context),
            "ERROR: No matching distribution found for this-package-does-not-exist-buildpack-test==1.0"
        );
        assert_contains!(
            output(&context),
            indoc! {"
                ! Error: Package not found: this-package-does-not-exist-buildpack-test==1.0
                !
                ! pip could not find a version of `this-package-does-not-exist-buildpack-test==1.0` that matches the requirements
                ! and supports this Python version (see pip's output above).
                !
                ! Check the package name and version in requirements.txt (or the file that
                ! includes it) for typos, that the version exists on the package index and
                ! supports this Python version, and, for a private index, that PIP_INDEX_URL
                ! or PIP_EXTRA_INDEX_URL is set.
            "}
        );
    });
}

#[test]
fn version_conflict() {
    failing_build("pip_version_conflict", |context| {
        assert_contains!(output(&context), "The user requested werkzeug==2.0.0");
        assert_contains!(
            output(&context),
            indoc! {"
                ! Error: Conflicting package versions
                !
                ! The requirements ask for versions of packages that can't be installed
                ! together: pip's output above lists the packages and the versions each one
                ! requires.
                !
                ! Change the versions in requirements.txt so they agree (loosen or remove a
                ! pin), check the result locally with `pip install -r requirements.txt`, then
                ! build again.
            "}
        );
    });
}

#[test]
fn sdist_build_failure_names_the_missing_header() {
    failing_build("pip_sdist_build_failure", |context| {
        assert_contains!(
            output(&context),
            "fatal error: snappy-c.h: No such file or directory"
        );
        assert_contains!(
            output(&context),
            indoc! {"
                ! Error: Unable to build a package from source
                !
                ! pip had to build `fastparse` from source (it has no wheel for this Python
                ! version and platform, or it is a local project), and the build failed:
                ! see pip's output above.
                !
                ! The compiler could not find the header `snappy-c.h`: the build image lacks the
                ! development package of a system library (on Debian/Ubuntu usually named
                ! `lib<name>-dev`).
                !
                ! Either use a version of the package that publishes wheels for this
                ! Python version (check its files on the package index), or, if it needs
                ! system libraries or headers at build time, add them to the build image
                ! (for example with a buildpack that installs apt packages).
            "}
        );
    });
}

#[test]
fn unreadable_requirements() {
    failing_build("pip_requirements_not_utf8", |context| {
        assert_contains!(output(&context), "! Error: Unable to read requirements.txt");
        assert_contains!(
            output(&context),
            "! requirements.txt is not valid UTF-8 text, so its requirements can't be read reliably."
        );
        assert_not_contains!(output(&context), "Installing Python");
    });
    failing_build("pip_nested_requirements_missing", |context| {
        assert_contains!(
            output(&context),
            indoc! {"
                ! Error: Missing requirements file: requirements/constraints.txt
                !
                ! Line 3 of requirements/base.txt includes another file with `-c`, but
                ! requirements/constraints.txt does not exist. pip looks for it relative to the directory of
                ! requirements/base.txt.
            "}
        );
    });
}

#[test]
fn forbidden_env_vars_are_rejected_before_any_layer() {
    let mut config = default_build_config("pip_hashes");
    config.env("PIP_USER", "1").env("VIRTUAL_ENV", "/tmp/venv");
    config.expected_pack_result(PackResult::Failure);
    TestRunner::default().build(config, |context| {
        assert_contains!(
            output(&context),
            "! Error: Unsupported environment variable: PIP_USER, VIRTUAL_ENV"
        );
        assert_contains!(
            output(&context),
            "! - PIP_USER is set, which makes pip install packages into the user's home directory instead of the app's virtual environment, so they would be missing when the app runs."
        );
        assert_not_contains!(output(&context), "Installing Python");
    });
}

#[test]
fn hash_mismatch() {
    failing_build("pip_hash_mismatch", |context| {
        assert_contains!(
            output(&context),
            "Expected sha256 0000000000000000000000000000000000000000000000000000000000000000"
        );
        assert_contains!(
            output(&context),
            indoc! {"
                ! Error: Package hashes don't match
                !
                ! A file pip downloaded has a different SHA-256 hash than the `--hash` given
                ! for it in the requirements: pip's output above names the package, the hash
                ! expected and the hash it got.
            "}
        );
    });
}

/// pip's own modules get hash-based bytecode when its layer is built, so the runs of a cached
/// pip (restored with the exporter's reset mtimes) neither compile them again nor write `.pyc`
/// files of their own: after a rebuild whose install ran (and failed), every `.pyc` in the pip
/// layer is hash-based and never checked, one for each of pip's modules.
#[test]
#[cfg(not(feature = "pack"))]
fn pip_layer_bytecode_is_hash_based_and_pip_runs_write_none() {
    TestRunner::default().build(default_build_config("pip_hashes"), |context| {
        let out = output(&context);
        assert_contains!(out, "- pip 26.3 (used during the build only)\n");
        assert_contains!(
            out,
            "/pip/lib/python3.13/site-packages to bytecode: 8 shards of its files"
        );
        let failing = crate::support::failing_build_config("pip_package_not_found");
        context.rebuild(failing, |context| {
            let out = output(&context);
            assert_contains!(out, "- Using cached pip\n");
            assert_contains!(
                out,
                "No matching distribution found for this-package-does-not-exist-buildpack-test==1.0"
            );
            // A failed build leaves its layers where the buildpack wrote them.
            let site_packages = context
                .work_dir()
                .join("layers/community_python/pip/lib/python3.13/site-packages");
            crate::support::assert_only_unchecked_hash_bytecode(&site_packages, 300);
        });
    });
}

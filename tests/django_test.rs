//! Django: collectstatic at build (run, skipped, failing, reused from the cache on rebuilds)
//! and the default gunicorn `web` process serving a page and a collected static file.

use crate::processes_test::{http_get, web_container};
use crate::support::{buildpack_output, default_build_config, failing_build_config};
use indoc::indoc;
use local_platform::testing::{
    BuildConfig, TestContext, TestRunner, assert_contains, assert_not_contains,
};
use std::path::PathBuf;

#[test]
fn django_collectstatic_and_default_web_process() {
    TestRunner::default().build(default_build_config("django_basic"), |context| {
        let output = buildpack_output(&context);
        assert_contains!(
            &output,
            indoc! {"
                ## Django static files

                - Generating static files with Django 5.2.19
                  - Running `python manage.py collectstatic --noinput`

                      settings loaded, DATABASE_URL is not set

                      1 static file copied to '"}
        );
        assert_contains!(
            &output,
            "  - Stored the 1 file it wrote into the app, for the next build\n"
        );
        assert_contains!(
            &output,
            indoc! {"
                - No Procfile, so the buildpack chose a default 'web' process
                  - Django project with gunicorn installed: WSGI application 'mysite.wsgi.application' (WSGI_APPLICATION in mysite/settings.py)
                  - web: gunicorn mysite.wsgi:application --bind 0.0.0.0:${PORT:-8000}
            "}
        );

        // The collected file is in the image, in STATIC_ROOT.
        assert_eq!(
            context
                .run_shell_command("cat staticfiles/css/site.css")
                .stdout,
            "body { color: rebeccapurple; }\n"
        );

        context.start_container(web_container(), |container| {
            assert_eq!(
                http_get(&container, "/"),
                (200, "Hello from Django!\n".to_string())
            );
            // Served by WhiteNoise from STATIC_ROOT (DEBUG is off, so only collected files are).
            assert_eq!(
                http_get(&container, "/static/css/site.css"),
                (200, "body { color: rebeccapurple; }\n".to_string())
            );
            assert_eq!(http_get(&container, "/static/missing.css").0, 404);
        });
    });
}

#[test]
fn django_without_staticfiles_app_skips_collectstatic() {
    TestRunner::default().build(default_build_config("django_no_staticfiles"), |context| {
        let output = buildpack_output(&context);
        // Django itself answers that it has no such command (its output is shown).
        assert_contains!(
            &output,
            "\n      Unknown command: 'collectstatic'\n      Type 'manage.py help' for usage.\n"
        );
        assert_contains!(
            &output,
            "\n- Skipping 'manage.py collectstatic' since the 'django.contrib.staticfiles' app isn't in INSTALLED_APPS\n"
        );
        assert_not_contains!(&output, "Error");
        // Only Django is installed, so no server to run it with.
        assert_contains!(
            &output,
            indoc! {"
                - No Procfile, and no default 'web' process could be chosen
                  - This is a Django project (WSGI application 'mysite.wsgi.application', WSGI_APPLICATION in mysite/settings.py), but neither gunicorn nor uvicorn is installed. Add gunicorn (to serve the project over WSGI) or uvicorn (over ASGI) to the app's dependencies to get a default 'web' process.
                  - To declare the app's processes, add a Procfile to the root of the app, with lines like 'web: gunicorn myapp.wsgi --bind 0.0.0.0:$PORT'
            "}
        );
        #[cfg(not(feature = "pack"))]
        assert!(context.export().processes.is_empty());
    });
}

#[test]
fn django_not_installed_skips_collectstatic() {
    TestRunner::default().build(default_build_config("django_not_installed"), |context| {
        let output = buildpack_output(&context);
        assert_contains!(
            &output,
            indoc! {"
                ## Django static files

                - Skipping 'manage.py collectstatic': the app has a manage.py, but Django isn't installed
            "}
        );
        assert_contains!(
            &output,
            "  - The app has a manage.py, but Django isn't installed.\n"
        );
    });
}

#[test]
fn django_collectstatic_disabled() {
    let mut config = default_build_config("django_collectstatic_misconfigured");
    config.env("DISABLE_COLLECTSTATIC", "1");
    TestRunner::default().build(config, |context| {
        let output = buildpack_output(&context);
        assert_contains!(
            &output,
            indoc! {"
                ## Django static files

                - Skipping 'manage.py collectstatic' since DISABLE_COLLECTSTATIC is set to '1'
            "}
        );
    });
}

#[test]
fn django_collectstatic_failure_fails_the_build() {
    TestRunner::default().build(failing_build_config("django_collectstatic_misconfigured"), |context| {
        let output = buildpack_output(&context);
        assert_contains!(
            &output,
            "django.core.exceptions.ImproperlyConfigured: You're using the staticfiles app without having set the STATIC_ROOT setting to a filesystem path."
        );
        assert_contains!(
            &output,
            indoc! {"
                ! Error: Unable to generate Django static files
                !
                ! Django's static files could not be collected: the command
                ! 'python manage.py collectstatic --noinput' failed (exit status 1). Its output is shown above.
                !
                ! Common causes are a STATIC_ROOT that isn't set in the settings, an import
                ! error in the settings, or settings that need an environment variable (such
                ! as DATABASE_URL) that is only set when the app runs. Run
                ! 'python manage.py collectstatic --noinput' locally to reproduce the error.
                !
                ! If the app doesn't need its static files generated at build time, set
                ! DISABLE_COLLECTSTATIC=1 in the build's environment (with pack:
                ! 'pack build --env DISABLE_COLLECTSTATIC=1').
            "}
        );
    });
}

#[test]
fn django_settings_import_error_fails_the_build() {
    TestRunner::default().build(
        failing_build_config("django_settings_import_error"),
        |context| {
            let output = buildpack_output(&context);
            // The traceback is streamed as collectstatic prints it.
            assert_contains!(
                &output,
                "      ModuleNotFoundError: No module named 'dj_database_url'\n"
            );
            assert_contains!(
                &output,
                indoc! {"
                ! Error: Unable to generate Django static files
                !
                ! Django's static files could not be collected: the command
                ! 'python manage.py collectstatic --noinput' failed (exit status 1). Its output is shown above.
                !
                ! Common causes are a STATIC_ROOT that isn't set in the settings, an import
                ! error in the settings, or settings that need an environment variable (such
                ! as DATABASE_URL) that is only set when the app runs. Run
                ! 'python manage.py collectstatic --noinput' locally to reproduce the error.
            "}
            );
        },
    );
}

/// Every file under `STATIC_ROOT` in the image, with its SHA-256.
fn static_files(context: &TestContext) -> String {
    context
        .run_shell_command("cd staticfiles && find . -type f -exec sha256sum {} + | sort -k 2")
        .stdout
}

/// `django_basic` with its stylesheet changed and a script added.
fn with_changed_static_files() -> BuildConfig {
    let mut config = default_build_config("django_basic");
    config.app_dir_preprocessor(|app_dir: PathBuf| {
        std::fs::write(
            app_dir.join("static/css/site.css"),
            "body { color: teal; }\n",
        )
        .expect("writing site.css");
        std::fs::create_dir(app_dir.join("static/js")).expect("creating static/js");
        std::fs::write(app_dir.join("static/js/app.js"), "console.log(1);\n")
            .expect("writing app.js");
    });
    config
}

/// `django_basic` with one more dependency.
fn with_added_dependency() -> BuildConfig {
    let mut config = default_build_config("django_basic");
    config.app_dir_preprocessor(|app_dir: PathBuf| {
        let path = app_dir.join("requirements.txt");
        let requirements = std::fs::read_to_string(&path).expect("reading requirements.txt");
        std::fs::write(&path, format!("{requirements}six==1.17.0\n"))
            .expect("writing requirements.txt");
    });
    config
}

const REUSED: &str = indoc! {"
    ## Django static files

    - Reusing the static files from the last build (nothing collectstatic reads has changed)
      - Restoring the files it wrote into the app ... ("};

#[test]
fn django_rebuild_reuses_static_files_until_an_input_changes() {
    TestRunner::default().build(default_build_config("django_basic"), |context| {
        let collected = static_files(&context);
        assert_contains!(&collected, "./css/site.css\n");

        // Nothing changed: the files come from the cache, identical, and are served.
        context.rebuild(default_build_config("django_basic"), |context| {
            let output = buildpack_output(&context);
            assert_contains!(&output, REUSED);
            assert_not_contains!(&output, "manage.py collectstatic --noinput");
            assert_eq!(static_files(&context), collected);
            context.start_container(web_container(), |container| {
                assert_eq!(
                    http_get(&container, "/static/css/site.css"),
                    (200, "body { color: rebeccapurple; }\n".to_string())
                );
            });

            // A changed static file: collectstatic runs again, and the reason is named.
            context.rebuild(with_changed_static_files(), |context| {
                let output = buildpack_output(&context);
                assert_contains!(
                    &output,
                    indoc! {"
                        ## Django static files

                        - Discarding the cached static files because: The app's files changed (static/css/site.css changed, static/js was added, static/js/app.js was added)
                        - Generating static files with Django 5.2.19
                          - Running `python manage.py collectstatic --noinput`
                    "}
                );
                assert_contains!(&output, "2 static files copied to '");
                assert_contains!(
                    &output,
                    "  - Stored the 2 files it wrote into the app, for the next build\n"
                );
                assert_eq!(
                    context.run_shell_command("cat staticfiles/css/site.css").stdout,
                    "body { color: teal; }\n"
                );

                // A dependency added (and the static files back as they were).
                context.rebuild(with_added_dependency(), |context| {
                    let output = buildpack_output(&context);
                    assert_contains!(
                        &output,
                        indoc! {"
                            - Discarding the cached static files because: The installed packages changed (six was added); The app's files changed (requirements.txt changed, static/css/site.css changed, static/js was removed, static/js/app.js was removed)
                            - Generating static files with Django 5.2.19
                              - Running `python manage.py collectstatic --noinput`
                        "}
                    );
                    assert_eq!(static_files(&context), collected);

                    // The same again: reused.
                    context.rebuild(with_added_dependency(), |context| {
                        assert_contains!(&buildpack_output(&context), REUSED);
                        assert_eq!(static_files(&context), collected);
                    });
                });
            });
        });
    });
}

#[test]
fn django_collectstatic_disabled_drops_the_cached_static_files() {
    let mut disabled = default_build_config("django_basic");
    disabled.env("DISABLE_COLLECTSTATIC", "1");
    TestRunner::default().build(default_build_config("django_basic"), |context| {
        context.rebuild(disabled, |context| {
            let output = buildpack_output(&context);
            assert_contains!(
                &output,
                indoc! {"
                    ## Django static files

                    - Skipping 'manage.py collectstatic' since DISABLE_COLLECTSTATIC is set to '1'
                "}
            );
            context.run_shell_command("test ! -e staticfiles");

            // Enabled again: nothing cached to reuse or discard, so collectstatic just runs.
            context.rebuild(default_build_config("django_basic"), |context| {
                assert_contains!(
                    &buildpack_output(&context),
                    indoc! {"
                        ## Django static files

                        - Generating static files with Django 5.2.19
                          - Running `python manage.py collectstatic --noinput`
                    "}
                );
            });
        });
    });
}

/// Reusing the cache gives the same files as running collectstatic from a clear cache.
#[cfg(not(feature = "pack"))]
#[test]
fn django_reused_static_files_match_a_clear_cache_build() {
    TestRunner::default().build(default_build_config("django_basic"), |context| {
        context.rebuild(default_build_config("django_basic"), |context| {
            assert_contains!(&buildpack_output(&context), REUSED);
            let reused = static_files(&context);
            context.rebuild_with_clear_cache(default_build_config("django_basic"), |context| {
                assert_contains!(
                    &buildpack_output(&context),
                    "  - Stored the 1 file it wrote into the app, for the next build\n"
                );
                assert_eq!(static_files(&context), reused);
            });
        });
    });
}

/// A `STATIC_ROOT` outside the app: nothing to cache, so collectstatic runs on every build.
#[cfg(not(feature = "pack"))]
#[test]
fn django_static_root_outside_the_app_is_collected_on_every_build() {
    let static_root = tempfile::tempdir().expect("creating a temporary directory");
    // Writable by the unprivileged user the build runs as (when the tests run as root), as a
    // STATIC_ROOT outside the app must be in a real build.
    std::fs::set_permissions(
        static_root.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .expect("making the temporary directory writable");
    let mut config = default_build_config("django_static_root_outside_app");
    config.env("STATIC_ROOT", static_root.path().to_string_lossy());
    let collected_every_build = "  - Running `python manage.py collectstatic --noinput`\n\n      \
        settings loaded, DATABASE_URL is not set\n\n      1 static file copied to '";
    let nothing_cached = "  - It wrote no static files inside the app (STATIC_ROOT is elsewhere), so there is nothing to cache: it runs again on every build\n";
    TestRunner::default().build(&config, |context| {
        let output = buildpack_output(&context);
        assert_contains!(&output, collected_every_build);
        assert_contains!(&output, nothing_cached);
        let collected = static_root.path().join("css/site.css");
        std::fs::remove_file(&collected).expect("removing the collected file");
        context.rebuild(&config, |context| {
            let output = buildpack_output(&context);
            assert_contains!(&output, collected_every_build);
            assert_contains!(&output, nothing_cached);
            assert!(collected.is_file());
        });
    });
}

/// `django_subdir` with a second project as shallow as `backend/`, which sorts after it.
fn with_second_project() -> BuildConfig {
    let mut config = default_build_config("django_subdir");
    config.app_dir_preprocessor(|app_dir: PathBuf| {
        std::fs::create_dir(app_dir.join("worker")).expect("creating worker");
        std::fs::write(
            app_dir.join("worker/manage.py"),
            "raise SystemExit('not the project')\n",
        )
        .expect("writing worker/manage.py");
    });
    config
}

/// A project in `backend/`, with the dependencies at the app's root: collectstatic runs in
/// `backend/`, its files are cached and reused, and gunicorn serves the project from there.
#[test]
fn django_project_in_a_subdirectory() {
    let using = "- Using backend/manage.py (the app has no manage.py in its root); its commands run in the directory 'backend'\n";
    TestRunner::default().build(default_build_config("django_subdir"), |context| {
        let output = buildpack_output(&context);
        assert_contains!(
            &output,
            &format!(
                "## Django static files\n\n{using}{}",
                indoc! {"
                    - Generating static files with Django 5.2.19
                      - Running `python manage.py collectstatic --noinput`

                          settings loaded, working directory backend

                          1 static file copied to '"}
            )
        );
        assert_contains!(
            &output,
            "  - Stored the 1 file it wrote into the app, for the next build\n"
        );
        assert_contains!(
            &output,
            indoc! {"
                - No Procfile, so the buildpack chose a default 'web' process
                  - Django project (backend/manage.py) with gunicorn installed: WSGI application 'mysite.wsgi.application' (WSGI_APPLICATION in backend/mysite/settings.py)
                  - web: gunicorn mysite.wsgi:application --chdir backend --bind 0.0.0.0:${PORT:-8000}
            "}
        );
        // STATIC_ROOT is backend/staticfiles, next to the settings' project.
        assert_eq!(
            context
                .run_shell_command("cat backend/staticfiles/css/site.css")
                .stdout,
            "body { color: seagreen; }\n"
        );
        context.run_shell_command("test ! -e staticfiles");

        context.start_container(web_container(), |container| {
            assert_eq!(
                http_get(&container, "/"),
                (200, "Hello from Django in backend/!\n".to_string())
            );
            assert_eq!(
                http_get(&container, "/static/css/site.css"),
                (200, "body { color: seagreen; }\n".to_string())
            );
        });

        // The cache captured what collectstatic wrote in backend/.
        context.rebuild(default_build_config("django_subdir"), |context| {
            let output = buildpack_output(&context);
            assert_contains!(
                &output,
                &format!(
                    "## Django static files\n\n{using}{}",
                    indoc! {"
                        - Reusing the static files from the last build (nothing collectstatic reads has changed)
                          - Restoring the files it wrote into the app ... ("}
                )
            );
            assert_not_contains!(&output, "manage.py collectstatic --noinput");
            assert_eq!(
                context
                    .run_shell_command("cat backend/staticfiles/css/site.css")
                    .stdout,
                "body { color: seagreen; }\n"
            );

            // Another manage.py as shallow: backend/ still wins (sorted first), and the build
            // says the other exists.
            context.rebuild(with_second_project(), |context| {
                let output = buildpack_output(&context);
                assert_contains!(
                    &output,
                    &format!(
                        "## Django static files\n\n{using}{}",
                        indoc! {"
                              - Also found at the same depth, and not used: worker/manage.py (the first path in sorted order is used)
                            - Discarding the cached static files because: The app's files changed (worker was added, worker/manage.py was added)
                            - Generating static files with Django 5.2.19
                              - Running `python manage.py collectstatic --noinput`
                        "}
                    )
                );
                assert_contains!(
                    &output,
                    "  - web: gunicorn mysite.wsgi:application --chdir backend --bind 0.0.0.0:${PORT:-8000}\n"
                );
            });
        });
    });
}

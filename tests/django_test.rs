//! Django: collectstatic at build (run, skipped, failing) and the default gunicorn `web` process
//! serving a page and a collected static file.

use crate::processes_test::{http_get, web_container};
use crate::support::{buildpack_output, default_build_config, failing_build_config};
use indoc::indoc;
use local_platform::testing::{TestRunner, assert_contains};

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
        assert_contains!(
            &output,
            indoc! {"
                ## Django static files

                - Skipping 'manage.py collectstatic' since the 'django.contrib.staticfiles' app isn't in INSTALLED_APPS
            "}
        );
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
            assert_contains!(
                &output,
                indoc! {"
                ! Error: Unable to inspect the Django project
                !
                ! To find out whether the app uses Django's static files app, the buildpack
                ! ran 'python manage.py help collectstatic', which failed (exit status 1):
                !
                ! Traceback (most recent call last):
            "}
            );
            assert_contains!(
                &output,
                indoc! {"
                ! ModuleNotFoundError: No module named 'dj_database_url'
                !
                ! This usually means the app's Django settings can't be loaded at build time,
                ! for example because of an import error, or because they need an
                ! environment variable that is only set when the app runs. Run the command
                ! locally to reproduce the error.
                !
                ! To skip generating static files instead, set DISABLE_COLLECTSTATIC=1 in the
                ! build's environment (with pack: 'pack build --env DISABLE_COLLECTSTATIC=1').
            "}
            );
        },
    );
}

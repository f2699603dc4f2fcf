//! Processes: a Procfile's declared processes, and the default `web` process chosen for Flask,
//! `FastAPI` and Django ASGI apps, started with `PORT` and answering HTTP.

use crate::support::{buildpack_output, default_build_config, failing_build_config};
use indoc::indoc;
use local_platform::testing::{ContainerConfig, ContainerContext, TestRunner, assert_contains};
use std::time::{Duration, Instant};

/// The container port the web processes are started on (`PORT`).
pub(crate) const PORT: u16 = 8000;

/// A container running the image's default process with `PORT` set.
pub(crate) fn web_container() -> ContainerConfig {
    let mut config = ContainerConfig::new();
    config.env("PORT", PORT.to_string()).expose_port(PORT);
    config
}

/// Polls `path` until the server answers (up to a minute, servers start slowly on a busy
/// machine), and returns the status and body of the first answer.
pub(crate) fn http_get(container: &ContainerContext, path: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let started = Instant::now();
    loop {
        // Panics with the container's logs if the process has exited.
        let url = format!("http://{}{path}", container.address_for_port(PORT));
        match agent.get(&url).call() {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let body = response
                    .body_mut()
                    .read_to_string()
                    .unwrap_or_else(|error| panic!("Unreadable answer from {url}: {error}"));
                return (status, body);
            }
            Err(_) if started.elapsed() < Duration::from_mins(1) => {
                std::thread::sleep(Duration::from_millis(250));
            }
            Err(error) => panic!(
                "No HTTP answer from {url} within a minute: {error}\n\n{}",
                container.logs_now()
            ),
        }
    }
}

#[test]
fn procfile_declares_the_processes() {
    TestRunner::default().build(default_build_config("procfile_basic"), |context| {
        let output = buildpack_output(&context);
        assert_contains!(
            &output,
            indoc! {"
                - Using the processes declared in the Procfile
                  - web: python server.py --port $PORT
                  - worker: python -c 'print(\"worker running\")'
            "}
        );
        // Neither gunicorn nor uvicorn is installed: no WEB_CONCURRENCY program.
        assert!(!output.contains("WEB_CONCURRENCY"));

        context.start_container(web_container(), |container| {
            assert_eq!(
                http_get(&container, "/"),
                (200, "Hello from the Procfile's web process!\n".to_string())
            );
        });
        context.start_container(ContainerConfig::new().entrypoint("worker"), |container| {
            assert_contains!(container.logs_wait().stdout, "worker running");
        });
        // User-provided args replace the default process's args (the command string), as
        // `docker run IMAGE '<command>'` does: the user's command runs, through bash.
        context.start_container(
            ContainerConfig::new().command(["echo \"user command in $PWD\"; python -V"]),
            |container| {
                let logs = container.logs_wait();
                assert_contains!(logs.stdout, "user command in /");
                assert_contains!(logs.stdout, "Python 3.");
                // Not the web process (which, without PORT, fails parsing `--port`).
                assert!(!logs.stderr.contains("server.py"), "{logs}");
            },
        );
    });
}

#[test]
fn procfile_invalid_line_fails_the_build() {
    TestRunner::default().build(failing_build_config("procfile_invalid"), |context| {
        let output = buildpack_output(&context);
        assert_contains!(
            &output,
            indoc! {"
                ! Error: Invalid Procfile
                !
                ! Line 2 of the Procfile isn't a process declaration:
                !     worker python worker.py
                !
                ! Each line of a Procfile declares one process as '<type>: <command>', for example:
                !
                !     web: gunicorn myproject.wsgi --bind 0.0.0.0:$PORT
                !     worker: celery -A myproject worker
                !
                ! Blank lines and lines starting with '#' are ignored.
            "}
        );
    });
}

#[test]
fn flask_app_gets_a_gunicorn_web_process() {
    TestRunner::default().build(default_build_config("flask_basic"), |context| {
        let output = buildpack_output(&context);
        assert_contains!(
            &output,
            indoc! {"
                - No Procfile, so the buildpack chose a default 'web' process
                  - app.py defines the WSGI app 'app', and gunicorn is installed
                  - web: gunicorn app:app --bind 0.0.0.0:${PORT:-8000}
                - WEB_CONCURRENCY (the number of gunicorn and uvicorn workers) defaults at launch to (2 x CPUs) + 1, at most one per 256 MiB of memory; set WEB_CONCURRENCY to override it
            "}
        );

        // The worker count computed at launch from the machine's CPUs and memory...
        context.start_container(web_container(), |container| {
            let (status, body) = http_get(&container, "/");
            assert_eq!(status, 200);
            let workers = body
                .strip_prefix("Hello from Flask! WEB_CONCURRENCY=")
                .and_then(|rest| rest.trim().parse::<u32>().ok())
                .unwrap_or_else(|| panic!("Unexpected answer: {body}"));
            assert!(workers >= 1, "{body}");
            assert_contains!(container.logs_now().stderr, "Booting worker with pid");
        });
        // ...and the user's own value, kept.
        let mut config = web_container();
        config.env("WEB_CONCURRENCY", "1");
        context.start_container(config, |container| {
            assert_eq!(
                http_get(&container, "/"),
                (200, "Hello from Flask! WEB_CONCURRENCY=1\n".to_string())
            );
        });
    });
}

#[test]
fn fastapi_app_gets_a_uvicorn_web_process() {
    TestRunner::default().build(default_build_config("fastapi_basic"), |context| {
        let output = buildpack_output(&context);
        assert_contains!(
            &output,
            indoc! {"
                - No Procfile, so the buildpack chose a default 'web' process
                  - main.py defines the ASGI app 'app', and uvicorn is installed
                  - web: uvicorn main:app --host 0.0.0.0 --port ${PORT:-8000}
            "}
        );
        context.start_container(web_container(), |container| {
            assert_eq!(
                http_get(&container, "/"),
                (200, r#"{"message":"Hello from FastAPI!"}"#.to_string())
            );
        });
    });
}

#[test]
fn django_asgi_project_gets_a_uvicorn_web_process() {
    TestRunner::default().build(default_build_config("django_asgi"), |context| {
        let output = buildpack_output(&context);
        assert_contains!(
            &output,
            indoc! {"
                - No Procfile, so the buildpack chose a default 'web' process
                  - Django project with uvicorn installed (and not gunicorn): ASGI application 'mysite.asgi.application' (no ASGI_APPLICATION found in the settings module 'mysite.settings', so the asgi.py next to it)
                  - web: uvicorn mysite.asgi:application --host 0.0.0.0 --port ${PORT:-8000}
            "}
        );
        context.start_container(web_container(), |container| {
            assert_eq!(
                http_get(&container, "/"),
                (
                    200,
                    "Hello from Django over ASGI! (ASGIRequest)\n".to_string()
                )
            );
            // Served by uvicorn, on all interfaces (the port is `PORT`, which the local
            // platform may map to a free one).
            assert_contains!(
                container.logs_now().stderr,
                "Uvicorn running on http://0.0.0.0:"
            );
        });
    });
}

#[test]
fn django_asgi_project_in_a_subdirectory_is_served_from_there() {
    let mut config = default_build_config("django_asgi");
    // The same project under `backend/`, with requirements.txt left in the root.
    config.app_dir_preprocessor(|dir| {
        let backend = dir.join("backend");
        std::fs::create_dir(&backend).expect("creating backend/");
        for name in ["manage.py", "mysite"] {
            std::fs::rename(dir.join(name), backend.join(name)).expect("moving into backend/");
        }
    });
    TestRunner::default().build(config, |context| {
        let output = buildpack_output(&context);
        assert_contains!(
            &output,
            indoc! {"
                - No Procfile, so the buildpack chose a default 'web' process
                  - Django project (backend/manage.py) with uvicorn installed (and not gunicorn): ASGI application 'mysite.asgi.application' (no ASGI_APPLICATION found in the settings module 'mysite.settings', so the asgi.py next to it)
                  - web: uvicorn mysite.asgi:application --app-dir backend --host 0.0.0.0 --port ${PORT:-8000}
            "}
        );
        context.start_container(web_container(), |container| {
            assert_eq!(
                http_get(&container, "/"),
                (
                    200,
                    "Hello from Django over ASGI! (ASGIRequest)\n".to_string()
                )
            );
        });
    });
}

//! The real buildpack, packaged from this crate, through the test API's whole cycle: build,
//! rebuild, a command in the built image, and a process answering HTTP on 127.0.0.1. Runs the
//! same under `--features pack`.

use crate::support::runtime_server::inventory_url;
use local_platform::testing::{
    BuildConfig, ContainerConfig, TestRunner, assert_contains, assert_not_contains,
};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

fn config() -> BuildConfig {
    let mut config = BuildConfig::new(
        "heroku/builder:24",
        "local-platform/tests/fixtures/empty_app",
    );
    config
        .env("BP_PYTHON_INVENTORY", inventory_url())
        .app_dir_preprocessor(|app_dir| {
            std::fs::write(app_dir.join("requirements.txt"), "").expect("writing requirements.txt");
            std::fs::write(app_dir.join("index.html"), "hello from the app\n")
                .expect("writing index.html");
        });
    config
}

fn http_get(address: SocketAddr) -> String {
    let started = Instant::now();
    loop {
        if let Ok(mut stream) = TcpStream::connect(address) {
            stream
                .write_all(b"GET /index.html HTTP/1.0\r\n\r\n")
                .expect("sending the request");
            let mut response = String::new();
            if stream.read_to_string(&mut response).is_ok() && !response.is_empty() {
                return response;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "Nothing answered on {address}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_buildpack_builds_rebuilds_and_serves_http_with_its_python() {
    let config = config();
    TestRunner::default().build(&config, |context| {
        assert_contains!(context.pack_stdout, "===> BUILDING");
        assert_contains!(context.pack_stdout, "Successfully built image");
        context.rebuild(&config, |context| {
            assert_contains!(context.pack_stdout, "===> RESTORING");
            assert_contains!(context.pack_stdout, "Successfully built image");
            let output = context.run_shell_command("ls -A; command -v python3");
            assert_contains!(output.stdout, "requirements.txt\n");
            assert_contains!(output.stdout, "/layers/");
            assert_not_contains!(output.stdout, "/usr/bin/python3");

            context.start_container(
                ContainerConfig::new()
                    .env("PORT", "8080")
                    .expose_port(8080)
                    .entrypoint("launcher")
                    .command(["exec python3 -m http.server \"$PORT\" --bind 127.0.0.1"]),
                |container| {
                    let response = http_get(container.address_for_port(8080));
                    assert_contains!(response, "200 OK");
                    assert!(
                        response.ends_with("\r\n\r\nhello from the app\n"),
                        "{response}"
                    );
                },
            );
        });
    });
}

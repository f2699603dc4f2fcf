//! The platform rules, exercised with a tiny shell buildpack (`tests/fixtures/shell_buildpack`)
//! whose detect and build run the app's `detect.sh` and `build.sh`.

// These tests exercise the local platform itself: nothing to run under `pack`.
#![cfg_attr(feature = "pack", allow(unused_crate_dependencies))]
#![cfg(not(feature = "pack"))]

use indoc::indoc;
use libcnb_data::buildpack_id;
use libcnb_data::layer::LayerName;
use libcnb_data::sbom::SbomFormat;
use local_platform::testing::{
    BuildConfig, BuildpackReference, ContainerConfig, PackResult, SbomType, TestRunner,
    assert_contains, assert_not_contains,
};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

// The library's dependencies, unused by this test crate.
use command_fds as _;
use filetime as _;
#[cfg(feature = "pack")]
use libcnb_test as _;
use rustix as _;
use serde as _;
use serde_json as _;
use sha2 as _;
use tempfile as _;
use toml as _;
use which as _;

const SHELL_BUILDPACK: &str = "tests/fixtures/shell_buildpack";

/// A config for an app made of the given files (written by the preprocessor), built with
/// the shell buildpack.
fn config(files: &[(&str, &str)]) -> BuildConfig {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(name, content)| ((*name).to_string(), (*content).to_string()))
        .collect();
    let mut config = BuildConfig::new("local", "tests/fixtures/empty_app");
    config
        .buildpacks([BuildpackReference::Other(String::from(SHELL_BUILDPACK))])
        .app_dir_preprocessor(move |dir: PathBuf| {
            for (name, content) in &files {
                std::fs::write(dir.join(name), content).expect("writing an app file");
            }
        });
    config
}

#[test]
fn detect_fail_prints_the_lifecycle_output() {
    TestRunner::default().build(
        config(&[("detect.sh", "echo 'No marker file found.'\nexit 100\n")])
            .expected_pack_result(PackResult::Failure),
        |context| {
            assert_contains!(
                context.pack_stdout,
                indoc! {"
                    ===> DETECTING
                    ======== Output: test/shell@0.0.1 ========
                    No marker file found.
                    ======== Results ========
                    fail: test/shell@0.0.1
                    ERROR: No buildpack groups passed detection.
                    ERROR: Please check that you are running against the correct path.
                    ERROR: failed to detect: no buildpacks participating
                "}
            );
            assert_eq!(
                context.pack_stderr,
                "ERROR: failed to build: executing lifecycle: failed with status code: 20\n"
            );
            assert_not_contains!(context.pack_stdout, "===> BUILDING");
        },
    );
}

#[test]
fn detect_error_prints_the_lifecycle_output() {
    TestRunner::default().build(
        config(&[("detect.sh", "echo 'broken' >&2\nexit 3\n")])
            .expected_pack_result(PackResult::Failure),
        |context| {
            assert_contains!(
                context.pack_stdout,
                indoc! {"
                    ======== Output: test/shell@0.0.1 ========
                    broken
                    ======== Results ========
                    err:  test/shell@0.0.1 (3)
                    ERROR: No buildpack groups passed detection.
                    ERROR: Please check that you are running against the correct path.
                    ERROR: failed to detect: buildpack(s) failed with err
                "}
            );
            assert_contains!(context.pack_stderr, "failed with status code: 21");
        },
    );
}

#[test]
fn phases_get_the_cnb_env_and_platform_env_but_not_the_test_env() {
    let build = indoc! {r#"
        echo "args: $LAYERS $PLATFORM $PLAN"
        echo "cwd: $PWD"
        env | sort
        echo "platform files: $(ls "$PLATFORM/env" | tr '\n' ' ')"
        echo "to stderr" >&2
    "#};
    TestRunner::default().build(
        config(&[("build.sh", build)])
            .env("GREETING", "hello world")
            .env("PATH", "/opt/tools/bin")
            // The lifecycle sets CNB_TARGET_* after the platform env: this can't override it.
            .env("CNB_TARGET_ARCH", "bogus"),
        |context| {
            let stdout = &context.pack_stdout;
            let work = context.work_dir().display().to_string();
            assert_contains!(
                stdout,
                &format!("args: {work}/layers/test_shell {work}/platform ")
            );
            assert_contains!(stdout, &format!("cwd: {work}/app\n"));
            assert_contains!(
                stdout,
                &format!("CNB_LAYERS_DIR={work}/layers/test_shell\n")
            );
            assert_contains!(stdout, &format!("CNB_PLATFORM_DIR={work}/platform\n"));
            assert_contains!(stdout, "CNB_BP_PLAN_PATH=");
            assert_contains!(stdout, "CNB_BUILDPACK_DIR=");
            assert_contains!(stdout, "CNB_TARGET_OS=linux\n");
            let arch = match std::env::consts::ARCH {
                "aarch64" => "arm64",
                _ => "amd64",
            };
            assert_contains!(stdout, &format!("CNB_TARGET_ARCH={arch}\n"));
            assert_contains!(stdout, "CNB_TARGET_DISTRO_NAME=");
            assert_contains!(stdout, "CNB_TARGET_DISTRO_VERSION=");
            assert_contains!(stdout, "GREETING=hello world\n");
            assert_contains!(
                stdout,
                "PATH=/opt/tools/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
            );
            assert_contains!(stdout, "platform files: CNB_TARGET_ARCH GREETING PATH \n");
            assert_not_contains!(stdout, "CARGO_MANIFEST_DIR");
            assert_not_contains!(stdout, "RUST_");
            assert_contains!(stdout, "to stderr\n");
            assert_contains!(
                stdout,
                indoc! {"
                    ===> ANALYZING
                    Previous image with name \""}
            );
            assert_contains!(
                stdout,
                "===> DETECTING\n1 of 1 buildpacks participating\ntest/shell 0.0.1\n===> RESTORING\n===> BUILDING\n"
            );
            assert_contains!(stdout, "===> EXPORTING\n");
            assert_contains!(stdout, "Successfully built image 'libcnbtest_");
        },
    );
}

/// Writes four layers on the first build; on the next ones, prints what was restored.
const RESTORE_MATRIX_BUILD: &str = r#"
if [[ "${STEP:-1}" == 1 ]]; then
  for spec in cached:false:false:true launch_only:true:false:false build_only:false:true:false launch_cached:true:false:true; do
    IFS=: read -r name launch build cache <<< "$spec"
    mkdir -p "$LAYERS/$name"
    echo "content of $name" > "$LAYERS/$name/file"
    printf '[types]\nlaunch = %s\nbuild = %s\ncache = %s\n\n[metadata]\nname = "%s"\ncount = 3\n' \
      "$launch" "$build" "$cache" "$name" > "$LAYERS/$name.toml"
  done
  printf '[metadata]\nbuilds = 1\n' > "$LAYERS/store.toml"
else
  for name in cached launch_only build_only launch_cached; do
    if [[ -f "$LAYERS/$name.toml" ]]; then echo "$name.toml:"; cat "$LAYERS/$name.toml"; else echo "$name.toml: none"; fi
    if [[ -d "$LAYERS/$name" ]]; then echo "$name dir: $(cat "$LAYERS/$name/file")"; else echo "$name dir: none"; fi
  done
  if [[ -f "$LAYERS/store.toml" ]]; then echo "store.toml:"; cat "$LAYERS/store.toml"; else echo "store.toml: none"; fi
fi
"#;

#[test]
fn restore_follows_the_layer_types_table_and_round_trips_metadata_through_json() {
    TestRunner::default().build(config(&[("build.sh", RESTORE_MATRIX_BUILD)]), |context| {
        let export = context.export();
        let names: Vec<&str> = export
            .layers
            .iter()
            .map(|layer| layer.name.as_str())
            .collect();
        assert_eq!(names, ["launch_cached", "launch_only"]);
        assert_eq!(export.cached_layers, ["cached", "launch_cached"]);
        assert!(export.layers.iter().all(|layer| !layer.unchanged));
        assert_eq!(export.layer("launch_only").unwrap().metadata["count"], 3);
        assert_eq!(
            export.launch_bytes,
            ("content of launch_only\n".len() + "content of launch_cached\n".len()) as u64
        );
        assert_contains!(
            context.pack_stdout,
            "Adding layer 'test/shell:launch_cached'\n"
        );
        assert_contains!(
            context.pack_stdout,
            "Adding cache layer 'test/shell:cached'\n"
        );

        context.rebuild(
            config(&[("build.sh", RESTORE_MATRIX_BUILD)]).env("STEP", "2"),
            |context| {
                assert_contains!(
                    context.pack_stdout,
                    indoc! {r#"
                        ===> RESTORING
                        Restoring metadata for "test/shell:cached" from cache
                        Restoring metadata for "test/shell:launch_cached" from app image
                        Restoring metadata for "test/shell:launch_only" from app image
                        Restoring data for "test/shell:cached" from cache
                        Restoring data for "test/shell:launch_cached" from cache
                        ===> BUILDING
                    "#}
                );
                assert_contains!(
                    context.pack_stdout,
                    indoc! {r#"
                    cached.toml:
                    [metadata]
                    count = 3.0
                    name = "cached"
                    cached dir: content of cached
                    launch_only.toml:
                    [metadata]
                    count = 3.0
                    name = "launch_only"
                    launch_only dir: none
                    build_only.toml: none
                    build_only dir: none
                    launch_cached.toml:
                    [metadata]
                    count = 3.0
                    name = "launch_cached"
                    launch_cached dir: content of launch_cached
                    store.toml:
                    [metadata]
                    builds = 1.0
                "#}
                );
                // The second build set no types: every restored layer is ignored, nothing is
                // exported or cached, and store.toml is kept as restored.
                assert!(context.export().layers.is_empty());
                assert!(context.export().cached_layers.is_empty());
            },
        );
    });
}

#[test]
fn clear_cache_restores_no_layer_but_keeps_store_toml() {
    TestRunner::default().build(config(&[("build.sh", RESTORE_MATRIX_BUILD)]), |context| {
        context.rebuild_with_clear_cache(
            config(&[("build.sh", RESTORE_MATRIX_BUILD)]).env("STEP", "2"),
            |context| {
                assert_contains!(
                    context.pack_stdout,
                    "===> RESTORING\nSkipping buildpack layer analysis\n===> BUILDING\n"
                );
                for name in ["cached", "launch_only", "build_only", "launch_cached"] {
                    assert_contains!(
                        context.pack_stdout,
                        &format!("{name}.toml: none\n{name} dir: none\n")
                    );
                }
                // The restorer still writes store.toml from the previous image.
                assert_contains!(
                    context.pack_stdout,
                    "store.toml:\n[metadata]\nbuilds = 1.0\n"
                );
            },
        );
    });
}

#[test]
fn ignored_layers_and_layer_dirs_without_toml_are_not_exported_or_cached() {
    let build = indoc! {r#"
        if [[ "${STEP:-1}" == 1 ]]; then
          mkdir -p "$LAYERS/no_toml" "$LAYERS/all_false"
          echo x > "$LAYERS/no_toml/file"
          echo x > "$LAYERS/all_false/file"
          printf '[types]\nlaunch = false\ncache = false\n' > "$LAYERS/all_false.toml"
          mkdir -p "$LAYERS/kept"
          printf '[types]\nlaunch = true\ncache = true\n' > "$LAYERS/kept.toml"
        else
          ls "$LAYERS"
        fi
    "#};
    TestRunner::default().build(config(&[("build.sh", build)]), |context| {
        let names: Vec<&str> = context
            .export()
            .layers
            .iter()
            .map(|l| l.name.as_str())
            .collect();
        assert_eq!(names, ["kept"]);
        assert_eq!(context.export().cached_layers, ["kept"]);
        context.rebuild(config(&[("build.sh", build)]).env("STEP", "2"), |context| {
            assert_contains!(
                context.pack_stdout,
                "===> BUILDING\nkept\nkept.toml\n===> EXPORTING\n"
            );
        });
    });
}

#[test]
fn a_launch_layer_toml_without_dir_reuses_the_previous_image_layer() {
    let build = indoc! {r#"
        mkdir -p "$LAYERS/tools/bin"
        if [[ "${STEP:-1}" == 1 ]]; then
          printf '#!/bin/sh\necho tool v1\n' > "$LAYERS/tools/bin/tool"
          chmod +x "$LAYERS/tools/bin/tool"
        else
          # Only the metadata: the exporter reuses the layer from the previous image.
          rmdir "$LAYERS/tools/bin" "$LAYERS/tools"
        fi
        printf '[types]\nlaunch = true\n' > "$LAYERS/tools.toml"
    "#};
    TestRunner::default().build(config(&[("build.sh", build)]), |context| {
        let first_digest = context.export().layer("tools").unwrap().digest.clone();
        assert_eq!(context.run_shell_command("tool").stdout, "tool v1\n");
        context.rebuild(config(&[("build.sh", build)]).env("STEP", "2"), |context| {
            let layer = context.export().layer("tools").unwrap();
            assert!(layer.unchanged);
            assert_eq!(layer.digest, first_digest);
            assert_contains!(context.pack_stdout, "Reusing layer 'test/shell:tools'\n");
            assert_eq!(context.run_shell_command("tool").stdout, "tool v1\n");
        });
    });
}

#[test]
fn a_launch_layer_toml_without_dir_and_without_previous_image_fails_the_export() {
    TestRunner::default().build(
        config(&[("build.sh", "printf '[types]\\nlaunch = true\\n' > \"$LAYERS/ghost.toml\"\n")])
            .expected_pack_result(PackResult::Failure),
        |context| {
            assert_contains!(
                context.pack_stdout,
                "ERROR: failed to export: failed to export layers: cannot reuse 'test/shell:ghost', previous image has no metadata for layer 'test/shell:ghost'\n"
            );
            assert_contains!(context.pack_stderr, "failed with status code: 62");
        },
    );
}

#[test]
fn a_failed_build_changes_neither_image_nor_cache() {
    let build = indoc! {r#"
        echo "restored: $(cat "$LAYERS/data/file" 2>/dev/null || echo nothing)"
        mkdir -p "$LAYERS/data"
        echo "$VERSION" > "$LAYERS/data/file"
        printf '[types]\nlaunch = true\ncache = true\n[metadata]\nversion = "%s"\n' "$VERSION" > "$LAYERS/data.toml"
        echo "$VERSION" > app-file
        if [[ "${FAIL:-}" == yes ]]; then echo "failing on purpose" >&2; exit 1; fi
    "#};
    let config_for = |version: &str, fail: bool| {
        let mut config = config(&[("build.sh", build)]);
        config.env("VERSION", version);
        if fail {
            config
                .env("FAIL", "yes")
                .expected_pack_result(PackResult::Failure);
        }
        config
    };
    TestRunner::default().build(config_for("v1", false), |context| {
        context.rebuild(config_for("v2", true), |context| {
            assert_contains!(context.pack_stdout, "restored: v1\n");
            // The buildpack's stderr is in pack's stdout, as with the lifecycle; pack's
            // stderr has only pack's own error.
            assert_contains!(
                context.pack_stdout,
                "failing on purpose\nERROR: failed to build: exit status 1\n"
            );
            assert_eq!(
                context.pack_stderr,
                "ERROR: failed to build: executing lifecycle: failed with status code: 51\n"
            );
            // The previous image is still the one that runs.
            let data_file = context.work_dir().join("layers/test_shell/data/file");
            assert_eq!(
                context
                    .run_shell_command(format!("cat {} app-file", data_file.display()))
                    .stdout,
                "v1\nv1\n"
            );
            context.rebuild(config_for("v3", false), |context| {
                assert_contains!(context.pack_stdout, "restored: v1\n");
                assert_eq!(
                    context.export().layer("data").unwrap().metadata["version"],
                    "v3"
                );
            });
        });
    });
}

#[test]
fn an_unchanged_cached_layer_is_restored_without_copying_and_an_edited_one_never_comes_back() {
    let build = indoc! {r#"
        file="$LAYERS/data/file"
        echo "restored: $(cat "$file" 2>/dev/null || echo nothing) identity: $(stat -c '%i %z' "$file" 2>/dev/null)"
        if [[ ! -f "$file" ]]; then mkdir -p "$LAYERS/data"; echo v1 > "$file"; fi
        printf '[types]\ncache = true\n' > "$LAYERS/data.toml"
        if [[ "${EDIT:-}" == yes ]]; then
            # The same size and mtime as before: only the ctime shows the write.
            mtime=$(stat -c %y "$file")
            echo v2 > "$file"
            touch -d "$mtime" "$file"
            echo "failing on purpose" >&2
            exit 1
        fi
    "#};
    let config_for = |edit: bool| {
        let mut config = config(&[("build.sh", build)]);
        if edit {
            config
                .env("EDIT", "yes")
                .expected_pack_result(PackResult::Failure);
        }
        config
    };
    let restored = |stdout: &str| -> (String, String) {
        let line = stdout
            .lines()
            .find_map(|line| line.strip_prefix("restored: "))
            .expect("the build prints what it restored");
        // Inode and change time (to the nanosecond): a copy may get a freed inode number
        // back, but not the same change time.
        let (content, identity) = line
            .split_once(" identity: ")
            .expect("content and identity");
        (content.to_string(), identity.to_string())
    };
    TestRunner::default().build(config_for(false), |context| {
        assert_eq!(restored(&context.pack_stdout).0, "nothing");
        context.rebuild(config_for(false), |context| {
            let (content, copied_identity) = restored(&context.pack_stdout);
            assert_eq!(content, "v1");
            context.rebuild(config_for(false), |context| {
                // The copy the last build left unchanged is this build's layer.
                assert_eq!(
                    restored(&context.pack_stdout),
                    (String::from("v1"), copied_identity.clone())
                );
                context.rebuild(config_for(true), |context| {
                    assert_eq!(restored(&context.pack_stdout).0, "v1");
                    context.rebuild(config_for(false), |context| {
                        let (content, identity) = restored(&context.pack_stdout);
                        assert_eq!(content, "v1");
                        assert_ne!(identity, copied_identity);
                        assert_contains!(
                            context.pack_stdout,
                            "Reusing cache layer 'test/shell:data'\n"
                        );
                    });
                });
            });
        });
    });
}

#[test]
fn invalid_output_files_fail_the_build_like_the_lifecycle() {
    let cases = [
        (
            "printf '[[processes]]\\ntype = \"we b\"\\ncommand = [\"x\"]\\n' > \"$LAYERS/launch.toml\"\n",
            "/layers/test_shell/launch.toml: invalid process type 'we b': type may only contain characters [A-Za-z0-9._-]\n",
        ),
        (
            "printf '[[processes]]\\ntype = \"web\"\\ncommand = \"python app.py\"\\n' > \"$LAYERS/launch.toml\"\n",
            "/layers/test_shell/launch.toml: process 'web': command must be an array of strings\n",
        ),
        (
            "mkdir \"$LAYERS/x\"; printf 'launch = true\\n' > \"$LAYERS/x.toml\"\n",
            "ERROR: failed to build: the launch, cache and build flags should be in the types table of ",
        ),
        (
            "printf '[metadata\\n' > \"$LAYERS/store.toml\"\n",
            "/layers/test_shell/store.toml: toml: ",
        ),
    ];
    for (build, expected) in cases {
        TestRunner::default().build(
            config(&[("build.sh", build)]).expected_pack_result(PackResult::Failure),
            |context| {
                assert_contains!(context.pack_stdout, "ERROR: failed to build: ");
                assert_contains!(context.pack_stdout, expected);
                assert_contains!(context.pack_stderr, "failed with status code: 51");
            },
        );
    }
}

const WEB_BUILD: &str = r#"
mkdir -p "$LAYERS/web/bin" "$LAYERS/web/env.launch" "$LAYERS/web/env.launch/web" "$LAYERS/web/env"
printf '#!/bin/sh\necho "hello from the layer"\n' > "$LAYERS/web/bin/hello"
chmod +x "$LAYERS/web/bin/hello"
printf 'launch value' > "$LAYERS/web/env.launch/LAUNCH_ONLY"
printf 'web value' > "$LAYERS/web/env.launch/web/WEB_ONLY"
printf 'layer default' > "$LAYERS/web/env/FROM_USER.default"
printf '[types]\nlaunch = true\n' > "$LAYERS/web.toml"
cat > "$LAYERS/launch.toml" <<'TOML'
[[processes]]
type = "web"
command = ["bash", "-c", "echo \"web=$WEB_ONLY\"; exec python3 -m http.server \"$PORT\" --bind 127.0.0.1"]
default = true

[[processes]]
type = "worker"
command = ["bash", "-c", "echo \"worker args: $*\"", "worker"]
args = ["default-arg"]
TOML
echo "index" > index.html
"#;

fn http_get(address: SocketAddr) -> String {
    let started = Instant::now();
    loop {
        if let Ok(mut stream) = TcpStream::connect(address) {
            stream
                .write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
                .expect("sending the request");
            let mut response = String::new();
            if stream.read_to_string(&mut response).is_ok() && !response.is_empty() {
                return response;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no answer on {address}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_default_process_answers_http_and_the_launch_env_is_composed() {
    TestRunner::default().build(config(&[("build.sh", WEB_BUILD)]), |context| {
        let shell = context
            .run_shell_command("hello; echo \"$LAUNCH_ONLY|${WEB_ONLY:-unset}|$FROM_USER\"; pwd");
        let work = context.work_dir().display().to_string();
        assert_eq!(
            shell.stdout,
            format!("hello from the layer\nlaunch value|unset|layer default\n{work}/app\n")
        );

        let mut address = None;
        context.start_container(
            ContainerConfig::new()
                .env("PORT", "8080")
                .env("FROM_USER", "from docker")
                .expose_port(8080),
            |container| {
                let web = container.address_for_port(8080);
                assert_ne!(web.port(), 8080);
                let response = http_get(web);
                assert_contains!(response, "200 OK");
                assert!(response.ends_with("\r\n\r\nindex\n"), "{response}");
                assert_contains!(container.logs_now().stdout, "web=web value\n");
                assert_eq!(
                    container.shell_exec("echo $PORT $FROM_USER").stdout,
                    format!("{} from docker\n", web.port())
                );
                address = Some(web);
            },
        );
        // The process group was killed when the closure ended.
        assert!(TcpStream::connect(address.unwrap()).is_err());

        context.start_container(ContainerConfig::new().entrypoint("worker"), |container| {
            assert_eq!(container.logs_wait().stdout, "worker args: default-arg\n");
        });
        context.start_container(
            ContainerConfig::new()
                .entrypoint("worker")
                .command(["given"]),
            |container| {
                assert_eq!(container.logs_wait().stdout, "worker args: given\n");
            },
        );
    });
}

#[test]
fn run_shell_command_panics_with_the_output_on_failure() {
    TestRunner::default().build(config(&[("build.sh", "true\n")]), |context| {
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            context.run_shell_command("echo out; echo err >&2; exit 7");
        }))
        .unwrap_err();
        let message = panic.downcast_ref::<String>().unwrap();
        assert_contains!(message, "Command exited with a non-zero exit code: 7");
        assert_contains!(message, "## stderr:\n\nerr\n");
        assert_contains!(message, "## stdout:\n\nout\n");
    });
}

#[test]
fn an_unexpected_build_result_panics_with_both_outputs() {
    let panic = std::panic::catch_unwind(|| {
        TestRunner::default().build(
            config(&[("build.sh", "echo out; echo err >&2; exit 1\n")]),
            |_| {},
        );
    })
    .unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert_contains!(message, "Error performing pack build:");
    assert_contains!(
        message,
        "## stderr:\n\nERROR: failed to build: executing lifecycle"
    );
    assert_contains!(message, "## stdout:\n\n===> ANALYZING");
    assert_contains!(message, "===> BUILDING\nout\nerr\n");
}

#[test]
fn every_launch_starts_from_the_image_as_exported() {
    let build = indoc! {r#"
        mkdir -p "$LAYERS/tools/bin"
        printf '#!/bin/sh\necho tool\n' > "$LAYERS/tools/bin/tool"
        chmod +x "$LAYERS/tools/bin/tool"
        printf '[types]\nlaunch = true\n' > "$LAYERS/tools.toml"
    "#};
    TestRunner::default().build(config(&[("build.sh", build)]), |context| {
        let tool = context.work_dir().join("layers/test_shell/tools/bin/tool");
        // Inode and change time (to the nanosecond): a copy may get a freed inode number back,
        // but not the same change time.
        let identity = |context: &local_platform::testing::TestContext| {
            context
                .run_shell_command(format!("stat -c '%i %z' {}", tool.display()))
                .stdout
        };
        let first = identity(&context);
        // Nothing was written: the materialised image is reused as is.
        assert_eq!(identity(&context), first);
        context.run_shell_command("touch written-at-launch; echo changed > $(command -v tool)");
        // Writes from one launch never reach the next one.
        assert_eq!(
            context.run_shell_command("ls -A; tool").stdout,
            ".gitkeep\nbuild.sh\ntool\n"
        );
        assert_ne!(identity(&context), first);
    });
}

#[test]
fn a_web_process_without_default_true_is_not_the_default_process() {
    let build = "printf '[[processes]]\\ntype = \"web\"\\ncommand = [\"echo\", \"web\"]\\n' > \"$LAYERS/launch.toml\"\n";
    TestRunner::default().build(config(&[("build.sh", build)]), |context| {
        assert_not_contains!(context.pack_stdout, "Setting default process type");
        context.start_container(ContainerConfig::new(), |container| {
            assert_eq!(
                container.logs_wait().stderr,
                "ERROR: failed to launch: determine start command: when there is no default process a command is required\n"
            );
        });
        context.start_container(ContainerConfig::new().entrypoint("web"), |container| {
            assert_eq!(container.logs_wait().stdout, "web\n");
        });
    });
}

#[test]
fn exec_d_programs_run_at_launch() {
    let build = indoc! {r#"
        mkdir -p "$LAYERS/tools/exec.d/web"
        printf '#!/bin/sh\nprintf "FROM_EXEC_D = \\"%%s\\"\\n" "$(pwd)" >&3\n' > "$LAYERS/tools/exec.d/10-env"
        printf '#!/bin/sh\nprintf "WEB_EXEC_D = \\"yes\\"\\n" >&3\n' > "$LAYERS/tools/exec.d/web/20-web"
        chmod +x "$LAYERS/tools/exec.d/10-env" "$LAYERS/tools/exec.d/web/20-web"
        printf '[types]\nlaunch = true\n' > "$LAYERS/tools.toml"
        printf '[[processes]]\ntype = "web"\ncommand = ["bash", "-c", "echo $FROM_EXEC_D $WEB_EXEC_D"]\ndefault = true\n' > "$LAYERS/launch.toml"
    "#};
    TestRunner::default().build(config(&[("build.sh", build)]), |context| {
        let app = context.work_dir().join("app");
        assert_eq!(
            context
                .run_shell_command("echo $FROM_EXEC_D ${WEB_EXEC_D:-unset}")
                .stdout,
            format!("{} unset\n", app.display())
        );
        context.start_container(ContainerConfig::new(), |container| {
            assert_eq!(
                container.logs_wait().stdout,
                format!("{} yes\n", app.display())
            );
        });
    });
}

/// Step 1 writes four layers with an SBOM each, plus `launch.sbom` and `build.sbom`; later
/// steps print the restored SBOMs, keep every layer (the launch-only one as metadata only)
/// and rewrite the SBOM of `launch_cached` with `$SBOM_VERSION`; step 4 deletes the SBOM of
/// `launch_only`.
const SBOM_BUILD: &str = r#"
sbom() { printf '{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"name":"%s"}]}\n' "$1" > "$LAYERS/$2.sbom.cdx.json"; }
if [[ "${STEP:-1}" == 1 ]]; then
  for spec in cached:false:false:true launch_only:true:false:false build_only:false:true:false launch_cached:true:false:true; do
    IFS=: read -r name launch build cache <<< "$spec"
    mkdir -p "$LAYERS/$name"
    echo "content of $name" > "$LAYERS/$name/file"
    printf '[types]\nlaunch = %s\nbuild = %s\ncache = %s\n' "$launch" "$build" "$cache" > "$LAYERS/$name.toml"
    sbom "$name 1" "$name"
  done
  sbom "app deps" launch
  sbom "build tools" build
else
  for name in cached launch_only build_only launch_cached launch build; do
    echo "$name.sbom.cdx.json: $(cat "$LAYERS/$name.sbom.cdx.json" 2>/dev/null || echo none)"
  done
  printf '[types]\ncache = true\n' > "$LAYERS/cached.toml"
  printf '[types]\nlaunch = true\n' > "$LAYERS/launch_only.toml"
  printf '[types]\nlaunch = true\ncache = true\n' > "$LAYERS/launch_cached.toml"
  sbom "launch_cached $SBOM_VERSION" launch_cached
  if [[ "$STEP" == 4 ]]; then rm "$LAYERS/launch_only.sbom.cdx.json"; fi
fi
"#;

fn sbom_of(name: &str) -> String {
    format!(
        "{{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\",\"version\":1,\"components\":[{{\"name\":\"{name}\"}}]}}\n"
    )
}

/// The SBOM files `download_sbom_files` gives for the shell buildpack, by layer (`None`: the
/// buildpack's `launch.sbom`), `None` where there is no file.
fn downloaded_sboms(
    context: &local_platform::testing::TestContext,
) -> Vec<(String, Option<String>)> {
    context.download_sbom_files(|files| {
        [
            "launch",
            "cached",
            "launch_only",
            "build_only",
            "launch_cached",
        ]
        .into_iter()
        .map(|name| {
            let sbom_type = if name == "launch" {
                SbomType::Launch
            } else {
                SbomType::Layer(name.parse::<LayerName>().expect("a layer name"))
            };
            let path = files.path_for(
                buildpack_id!("test/shell"),
                sbom_type,
                SbomFormat::CycloneDxJson,
            );
            (name.to_string(), std::fs::read_to_string(path).ok())
        })
        .collect()
    })
}

fn expected_sboms(entries: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    entries
        .iter()
        .map(|(name, component)| ((*name).to_string(), component.map(sbom_of)))
        .collect()
}

#[test]
fn sboms_of_launch_layers_go_into_the_image_and_come_back_per_the_layer_types() {
    TestRunner::default().build(config(&[("build.sh", SBOM_BUILD)]), |context| {
        assert_eq!(
            downloaded_sboms(&context),
            expected_sboms(&[
                ("launch", Some("app deps")),
                ("cached", None),
                ("launch_only", Some("launch_only 1")),
                ("build_only", None),
                ("launch_cached", Some("launch_cached 1")),
            ])
        );
        assert_contains!(
            context.pack_stdout,
            "Adding layer 'test/shell:launch_only'\nAdding layer 'buildpacksio/lifecycle:launch.sbom'\nAdding 1/1 app layer(s)\n"
        );
        assert_contains!(
            context.pack_stdout,
            "Adding cache layer 'test/shell:launch_cached'\nAdding cache layer 'buildpacksio/lifecycle:cache.sbom'\n"
        );
        // The SBOM layer is part of the image's file system (`<layers>/sbom/`), as with the
        // lifecycle; the app dir is `<work>/app`, next to `<work>/layers`.
        assert_eq!(
            context
                .run_shell_command("cat ../layers/sbom/launch/test_shell/launch_only/sbom.cdx.json")
                .stdout,
            sbom_of("launch_only 1")
        );

        let step = |n: &str, version: &str| {
            config(&[("build.sh", SBOM_BUILD)])
                .env("STEP", n)
                .env("SBOM_VERSION", version)
                .clone()
        };
        context.rebuild(step("2", "2"), |context| {
            // Cached layers get theirs from the cache, launch-only ones from the image;
            // build-only layers and `launch.sbom` / `build.sbom` don't come back.
            assert_contains!(
                context.pack_stdout,
                &format!(
                    "===> BUILDING\ncached.sbom.cdx.json: {}launch_only.sbom.cdx.json: {}build_only.sbom.cdx.json: none\nlaunch_cached.sbom.cdx.json: {}launch.sbom.cdx.json: none\nbuild.sbom.cdx.json: none\n===> EXPORTING\n",
                    sbom_of("cached 1"),
                    sbom_of("launch_only 1"),
                    sbom_of("launch_cached 1"),
                )
            );
            // The image gets the SBOMs as the build left them: the reused launch-only layer
            // keeps its restored one, the rewritten one replaces the old.
            assert_eq!(
                downloaded_sboms(&context),
                expected_sboms(&[
                    ("launch", None),
                    ("cached", None),
                    ("launch_only", Some("launch_only 1")),
                    ("build_only", None),
                    ("launch_cached", Some("launch_cached 2")),
                ])
            );
            assert_contains!(
                context.pack_stdout,
                "Adding layer 'buildpacksio/lifecycle:launch.sbom'\n"
            );

            context.rebuild(step("3", "2"), |context| {
                assert_contains!(
                    context.pack_stdout,
                    "Reusing layer 'buildpacksio/lifecycle:launch.sbom'\n"
                );
                assert_contains!(
                    context.pack_stdout,
                    "Reusing cache layer 'buildpacksio/lifecycle:cache.sbom'\n"
                );

                context.rebuild(step("4", "2"), |context| {
                    assert_eq!(
                        downloaded_sboms(&context),
                        expected_sboms(&[
                            ("launch", None),
                            ("cached", None),
                            ("launch_only", None),
                            ("build_only", None),
                            ("launch_cached", Some("launch_cached 2")),
                        ])
                    );
                });
            });
        });
    });
}

#[test]
fn sboms_in_formats_the_buildpack_did_not_declare_fail_the_build_like_the_lifecycle() {
    let cases = [
        (
            "x.sbom.spdx.json",
            "ERROR: failed to build: validating SBOM file '{dir}/x.sbom.spdx.json' for buildpack: 'test/shell@0.0.1': undeclared SBOM media type: 'application/spdx+json'\n",
        ),
        (
            "launch.sbom.syft.json",
            "ERROR: failed to build: validating SBOM file '{dir}/launch.sbom.syft.json' for buildpack: 'test/shell@0.0.1': undeclared SBOM media type: 'application/vnd.syft+json'\n",
        ),
        (
            "x.sbom.xml.json",
            "ERROR: failed to build: unsupported SBOM file format: '{dir}/x.sbom.xml.json'\n",
        ),
    ];
    for (file, expected) in cases {
        let build = format!(
            "mkdir -p \"$LAYERS/x\"\nprintf '[types]\\nlaunch = true\\n' > \"$LAYERS/x.toml\"\necho '{{}}' > \"$LAYERS/{file}\"\n"
        );
        TestRunner::default().build(
            config(&[("build.sh", &build)]).expected_pack_result(PackResult::Failure),
            |context| {
                let dir = context.work_dir().join("layers").join("test_shell");
                assert_contains!(
                    context.pack_stdout,
                    &expected.replace("{dir}", &dir.display().to_string())
                );
                assert_contains!(context.pack_stderr, "failed with status code: 51");
            },
        );
    }
    // The SBOM of a layer without `<layer>.toml` is not part of the build: no error.
    TestRunner::default().build(
        config(&[("build.sh", "echo '{}' > \"$LAYERS/stray.sbom.spdx.json\"\n")]),
        |context| {
            assert_not_contains!(context.pack_stdout, "launch.sbom");
        },
    );
}

#[test]
fn export_normalises_mtimes_and_a_mode_change_is_a_new_layer() {
    // A launch layer and a cached layer with a file each, and a file in the app; the mode of
    // the launch layer's file comes from `$MODE`. From step 2 on, the build prints the mtime
    // of the restored cached file.
    let build = indoc! {r#"
        if [[ "${STEP:-1}" != 1 ]]; then echo "restored mtime: $(stat -c %Y "$LAYERS/cached/file")"; fi
        mkdir -p "$LAYERS/tools" "$LAYERS/cached"
        echo tool > "$LAYERS/tools/file"
        chmod "${MODE:-644}" "$LAYERS/tools/file"
        printf '[types]\nlaunch = true\n' > "$LAYERS/tools.toml"
        echo cached > "$LAYERS/cached/file"
        printf '[types]\ncache = true\n' > "$LAYERS/cached.toml"
        echo app > app-file
    "#};
    TestRunner::default().build(config(&[("build.sh", build)]), |context| {
        // 1980-01-01 00:00:01 UTC, as the lifecycle's exporter writes every layer entry.
        assert_eq!(
            context
                .run_shell_command(format!(
                    "stat -c %Y {layers}/tools {layers}/tools/file app-file .",
                    layers = context.work_dir().join("layers/test_shell").display()
                ))
                .stdout,
            "315532801\n315532801\n315532801\n315532801\n"
        );
        context.rebuild(config(&[("build.sh", build)]).env("STEP", "2"), |context| {
            assert_contains!(context.pack_stdout, "restored mtime: 315532801\n");
            // Same files, same modes, new mtimes: the same layer.
            assert_contains!(context.pack_stdout, "Reusing layer 'test/shell:tools'\n");
            context.rebuild(
                config(&[("build.sh", build)])
                    .env("STEP", "3")
                    .env("MODE", "600"),
                |context| {
                    assert_contains!(context.pack_stdout, "Adding layer 'test/shell:tools'\n");
                },
            );
        });
    });
}

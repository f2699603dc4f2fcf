//! The `python` layer: installing a real runtime from the test runtime server, reusing it,
//! discarding it with reasons, the environment at launch, and download failures.

use crate::support::default_build_config;
use crate::support::runtime_server::{
    Fault, ScopedInventory, ensure_test_runtimes, runtime_server_url, test_runtimes_dir,
};
use indoc::formatdoc;
use local_platform::testing::{BuildConfig, PackResult, TestContext, TestRunner};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

const FIXTURE: &str = "test-fixtures/python_version_file";

fn config(inventory: &ScopedInventory) -> BuildConfig {
    let mut config = BuildConfig::new("heroku/builder:24", FIXTURE);
    config.env("BP_PYTHON_INVENTORY", inventory.url());
    config
}

/// Everything the build printed, without colours.
fn build_output(context: &TestContext) -> String {
    bullet_stream::strip_ansi(format!("{}{}", context.pack_stdout, context.pack_stderr))
}

/// The archive name `scripts/build-test-runtimes` gives `version` on this machine.
fn archive(version: &str) -> String {
    format!(
        "cpython-{version}-{}-unknown-linux-gnu-install_only_stripped.tar.gz",
        std::env::consts::ARCH
    )
}

/// The URL of `file` beside the inventory.
fn beside(inventory: &ScopedInventory, file: &str) -> String {
    let url = inventory.url();
    let directory = url.rfind('/').expect("the inventory URL has a path");
    format!("{}{file}", &url[..=directory])
}

/// Masks the timings (`... (1.2s)`) that vary from build to build.
fn without_timings(text: &str) -> String {
    text.lines()
        .map(|line| match line.find(" ...") {
            Some(index) if line.ends_with(')') => format!("{} ... (<time>)", &line[..index]),
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn archive_requests(inventory: &ScopedInventory) -> usize {
    inventory
        .requests()
        .iter()
        .filter(|path| path.ends_with(".tar.gz"))
        .count()
}

#[test]
fn python_runtime_is_installed_then_reused() {
    let inventory = ScopedInventory::new();
    TestRunner::default().build(config(&inventory), |context| {
        // At launch, `python` runs on the layer's runtime (the venv's base), with its own libpython.
        let launched = context.run_shell_command(
            "python -c 'import sys; print(sys.base_prefix); \
             print(*sorted({l.split()[-1] for l in open(\"/proc/self/maps\") if \"libpython\" in l}))'",
        );
        let mut lines = launched.stdout.lines();
        let prefix = lines.next().unwrap().to_string();
        assert!(prefix.ends_with("/community_python/python"), "{launched}");
        assert_eq!(
            lines.next().unwrap(),
            format!("{prefix}/lib/libpython3.12.so.1.0"),
            "{launched}"
        );

        // The whole section: download, checksum, unpacking, and the standard library compiled
        // to hash-based bytecode (in the layer's path, which the image keeps).
        let output = without_timings(&build_output(&context));
        let url = beside(&inventory, &archive("3.12.1"));
        let sha256 = listed_sha256(&inventory, "3.12.1");
        let stdlib = format!("{prefix}/lib/python3.12");
        // The x86_64 test runtimes record python-build-standalone's clang build configuration.
        let compilers = if cfg!(target_arch = "x86_64") {
            "/tools/llvm/bin/llvm-ar → ar, "
        } else {
            ""
        };
        let clang = if cfg!(target_arch = "x86_64") {
            ", clang → cc, clang++ → c++"
        } else {
            ""
        };
        let expected = formatdoc! {"
            ## Python version

            - Using Python 3.12.1 (from .python-version: 3.12)

            ## Installing Python

            - Installing Python 3.12.1
              - Downloading {url} ... (<time>)
              - Verified the SHA-256 checksum ({short})
              - Unpacking ... (<time>)
              - Adjusted the runtime's build configuration for this image (5 files): {compilers}/install → {prefix}{clang}
              - Compiling {stdlib} to bytecode: 8 shards of its files, each run by `{prefix}/bin/python3 -S -B -X pycache_prefix=/dev/null/none -c <compile_files.py> < <files>` ... (<time>)
        ", short = &sha256[..12]};
        assert!(output.contains(&expected), "{output}");
        assert_eq!(archive_requests(&inventory), 1);

        // The environment a Python app needs, and no PYTHONHOME; `python` is the app's venv.
        let venv = format!("{}/venv", prefix.strip_suffix("/python").unwrap());
        let env = context.run_shell_command(
            "echo \"$PYTHONUNBUFFERED ${PYTHONHOME-unset}\"; command -v python python3; \
             python -c 'import sys; print(sys.stdout.encoding, sys.getfilesystemencoding())'",
        );
        assert_eq!(
            env.stdout,
            format!("1 unset\n{venv}/bin/python\n{venv}/bin/python3\nutf-8 utf-8\n"),
            "{env}"
        );

        #[cfg(not(feature = "pack"))]
        let first_digest = context.export().layer("python").unwrap().digest.clone();
        context.rebuild(config(&inventory), |context| {
            let output = build_output(&context);
            assert!(
                output.contains(&formatdoc! {"
                    ## Installing Python

                    - Using cached Python 3.12.1
                "}),
                "{output}"
            );
            assert!(!output.contains("Downloading"), "{output}");
            assert_eq!(archive_requests(&inventory), 1, "the rebuild downloaded");
            #[cfg(not(feature = "pack"))]
            {
                let layer = context.export().layer("python").unwrap();
                assert_eq!(layer.digest, first_digest);
                assert!(layer.unchanged);
            }
        });
    });
}

/// The standard library is compiled when the layer is built, to bytecode that is never checked
/// against its source: the image's reset mtimes can't make it stale, so launch neither
/// recompiles nor writes into the layer (no file in it is added or rewritten: paths, sizes and
/// mtimes stay the same), and two builds give the same layer.
#[test]
fn python_stdlib_bytecode_is_hash_based_and_launch_writes_nothing() {
    let config = default_build_config("python_3_12");
    // The lifecycle's exporter sets every file's mtime to 1980-01-01 00:00:01 UTC; the local
    // platform keeps them, so the test does it (an image built by pack has it already).
    #[cfg(not(feature = "pack"))]
    let reset_mtimes = r#"find "$layer" -exec touch -h -d @315532801 {} +"#;
    #[cfg(feature = "pack")]
    let reset_mtimes = "";
    TestRunner::default().build(&config, |context| {
        let launched = context.run_shell_command(formatdoc! {r#"
            layer=$(PYTHONDONTWRITEBYTECODE=1 python -c 'import sys; print(sys.base_prefix)')
            {reset_mtimes}
            before=$(find "$layer" -printf '%P %s %T@\n' | sort)
            python -c "
            import email, http.client, json, sys
            for module in (json, email, http.client):
                with open(module.__spec__.cached, 'rb') as pyc:
                    flags = int.from_bytes(pyc.read()[4:8], 'little')
                print(module.__name__, module.__spec__.cached.removeprefix(sys.base_prefix), flags)
            "
            after=$(find "$layer" -printf '%P %s %T@\n' | sort)
            if [ "$before" = "$after" ]; then
                echo 'The python layer is unchanged'
            else
                diff <(echo "$before") <(echo "$after") | head -n 20
            fi
        "#});
        // Flags 1: hash-based (bit 0), source not checked (bit 1 clear).
        assert_eq!(
            launched.stdout,
            formatdoc! {"
                json /lib/python3.12/json/__pycache__/__init__.cpython-312.pyc 1
                email /lib/python3.12/email/__pycache__/__init__.cpython-312.pyc 1
                http.client /lib/python3.12/http/__pycache__/client.cpython-312.pyc 1
                The python layer is unchanged
            "},
            "{launched}"
        );

        // A build from scratch gives a byte-identical layer (local platform only: `pack`
        // exposes no layer digests).
        #[cfg(not(feature = "pack"))]
        {
            let first_digest = context.export().layer("python").unwrap().digest.clone();
            context.rebuild_with_clear_cache(&config, |context| {
                let output = build_output(&context);
                assert!(output.contains("- Installing Python 3.12.1\n"), "{output}");
                assert_eq!(
                    context.export().layer("python").unwrap().digest,
                    first_digest
                );
            });
        }
    });
}

#[test]
fn python_runtime_is_replaced_when_the_version_changes() {
    let inventory = ScopedInventory::new();
    TestRunner::default().build(config(&inventory), |context| {
        let mut newer = config(&inventory);
        newer.app_dir_preprocessor(|app_dir| {
            std::fs::write(app_dir.join(".python-version"), "3.13\n").unwrap();
        });
        context.rebuild(newer, |context| {
            let output = without_timings(&build_output(&context));
            let url = beside(&inventory, &archive("3.13.0"));
            let expected = formatdoc! {"
                ## Installing Python

                - Discarding the cached Python runtime because:
                  - Python version changed from 3.12.1 to 3.13.0
                - Installing Python 3.13.0
                  - Downloading {url} ... (<time>)
            "};
            assert!(output.contains(&expected), "{output}");
            let launched =
                context.run_shell_command("python -c 'import sys; print(sys.version_info[:3])'");
            assert_eq!(launched.stdout, "(3, 13, 0)\n", "{launched}");
        });
    });
}

/// A failed download fails the build with `message`, and the next build with a working server
/// installs the runtime.
fn fails_then_recovers(fault: Fault, message: impl Fn(&ScopedInventory) -> String) {
    let faulty = ScopedInventory::with_fault(fault);
    let mut config = config(&faulty);
    config.expected_pack_result(PackResult::Failure);
    TestRunner::default().build(&config, |context| {
        let output = build_output(&context);
        let expected = message(&faulty);
        assert!(
            output.contains(&expected),
            "expected:\n{expected}\n\nin:\n{output}"
        );
        assert!(!output.contains("panicked"), "{output}");

        let good = ScopedInventory::new();
        context.rebuild(self::config(&good), |context| {
            let output = build_output(&context);
            assert!(output.contains("- Installing Python 3.12.1\n"), "{output}");
            let launched = context.run_shell_command("python -c 'print(6 * 7)'");
            assert_eq!(launched.stdout, "42\n", "{launched}");
        });
    });
}

#[test]
fn python_runtime_not_found() {
    fails_then_recovers(Fault::NotFound, |faulty| {
        let url = beside(faulty, &archive("3.12.1"));
        formatdoc! {"
            ! Error: Unable to download the Python 3.12.1 runtime
            !
            ! The server answered 404 Not Found for {url}: the file isn't there.
            !
            ! Check that the runtime inventory (the built-in one, or the one that
            ! BP_PYTHON_INVENTORY names) lists the right URL, and that a mirror has
            ! every file its inventory lists.
        "}
    });
}

#[test]
fn python_runtime_server_error() {
    fails_then_recovers(Fault::ServerError, |faulty| {
        let url = beside(faulty, &archive("3.12.1"));
        formatdoc! {"
            ! Error: Unable to download the Python 3.12.1 runtime
            !
            ! The server answered 500 Internal Server Error for {url} (tried 3 times).
            !
            ! This is a problem on the server's side, which is often temporary: try
            ! the build again later.
        "}
    });
}

#[test]
fn python_runtime_checksum_mismatch() {
    fails_then_recovers(Fault::WrongDigest, |faulty| {
        let url = beside(faulty, &archive("3.12.1"));
        let bytes = std::fs::read(test_runtimes_dir().join(archive("3.12.1"))).unwrap();
        let actual = hex(&Sha256::digest(&bytes));
        let expected = listed_sha256(faulty, "3.12.1");
        assert_ne!(actual, expected);
        formatdoc! {"
            ! Error: Unable to download the Python 3.12.1 runtime
            !
            ! The file downloaded from {url} doesn't have the SHA-256 checksum that
            ! the runtime inventory lists for it:
            !   expected: {expected}
            !   actual:   {actual}
            !
            ! The file was not used. Either it was corrupted or altered on its way (a broken
            ! mirror or proxy, or tampering), or the inventory lists the wrong checksum for
            ! it. Try the build again; if it keeps failing, check the file on the server
            ! against the inventory.
        "}
    });
}

#[test]
fn python_runtime_truncated_download() {
    fails_then_recovers(Fault::TruncatedBody, |faulty| {
        let url = beside(faulty, &archive("3.12.1"));
        format!("! The download of {url} broke off after ")
    });
}

#[test]
fn python_inventory_from_local_files() {
    // An offline build: the inventory is a file, and its relative URLs name files beside it.
    ensure_test_runtimes();
    let inventory = test_runtimes_dir().join("inventory.toml");
    let mut config = BuildConfig::new("heroku/builder:24", FIXTURE);
    config.env("BP_PYTHON_INVENTORY", inventory.to_str().unwrap());
    TestRunner::default().build(&config, |context| {
        let output = without_timings(&build_output(&context));
        let archive = test_runtimes_dir().join(archive("3.12.1"));
        let expected = formatdoc! {"
            - Installing Python 3.12.1
              - Copying {} ... (<time>)
        ", archive.display()};
        assert!(output.contains(&expected), "{output}");
    });
}

#[test]
fn python_inventory_not_found() {
    let url = runtime_server_url("/no-such-inventory.toml");
    let mut config = BuildConfig::new("heroku/builder:24", FIXTURE);
    config
        .env("BP_PYTHON_INVENTORY", &url)
        .expected_pack_result(PackResult::Failure);
    TestRunner::default().build(&config, |context| {
        let output = build_output(&context);
        let expected = formatdoc! {"
            ! Error: Unable to download the Python runtime inventory
            !
            ! The server answered 404 Not Found for {url}: the file isn't there.
            !
            ! Check that BP_PYTHON_INVENTORY names the inventory's location, or unset it to use
            ! the buildpack's built-in inventory.
        "};
        assert!(output.contains(&expected), "{output}");
        // Analysis fails before any layer is touched.
        assert!(!output.contains("Installing Python"), "{output}");
    });
}

/// The `sha256` that `inventory` lists for `version` on this machine's arch.
fn listed_sha256(inventory: &ScopedInventory, version: &str) -> String {
    let text = ureq::get(inventory.url())
        .call()
        .expect("the runtime server answers")
        .body_mut()
        .read_to_string()
        .expect("the inventory is text");
    let table: toml::Table = toml::from_str(&text).expect("the inventory is TOML");
    table["artifacts"]
        .as_array()
        .expect("the inventory has artifacts")
        .iter()
        .find(|artifact| {
            artifact["version"].as_str() == Some(version)
                && artifact["url"]
                    .as_str()
                    .is_some_and(|url| url.ends_with(&archive(version)))
        })
        .and_then(|artifact| artifact["sha256"].as_str())
        .expect("the inventory lists the archive")
        .to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

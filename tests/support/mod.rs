//! Shared support for the integration tests.
//!
//! - [`runtime_server`]: the HTTP server on 127.0.0.1 that serves the test runtimes built by
//!   `scripts/build-test-runtimes`, with fault-injection routes.
//! - [`default_build_config`]: the build configuration every integration test starts from.
//! - [`failing_build_config`]: the same, for a build that must fail.
//! - [`build_output`], [`buildpack_output`]: what a build printed, without colours.
//! - [`assert_only_unchecked_hash_bytecode`]: a tool layer's bytecode, as the buildpack
//!   compiles it.

pub(crate) mod runtime_server;

use local_platform::testing::{BuildConfig, PackResult, TestContext};

/// The builder the tests name; the local platform takes the target (linux, the host's arch,
/// Ubuntu 24.04) from it, as `pack` would from the image.
const DEFAULT_BUILDER: &str = "heroku/builder:24";

/// The CA bundle given to the build, for machines behind a TLS-intercepting proxy (as a user
/// there would with `pack build --env`).
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A build of `test-fixtures/<fixture>` with the real buildpack, as every integration test starts:
///
/// - `BP_PYTHON_INVENTORY` points at the test runtime server (the machine's pyenv `CPython` as
///   relocatable archives over HTTP on 127.0.0.1), so no test downloads a runtime from the
///   internet. Under `--features pack` the build runs in a container that cannot reach the
///   host's 127.0.0.1, so it keeps the buildpack's own inventory.
/// - `SSL_CERT_FILE` and `PIP_CERT` name the system CA bundle, for the TLS-intercepting proxy in
///   front of `PyPI`.
/// - Hostile env that the buildpack must tolerate, proving that it sets what it needs itself
///   instead of relying on the env it is given. The lifecycle *prepends* platform values of
///   `PATH`, `LD_LIBRARY_PATH`, `LIBRARY_PATH`, `CPATH` and `PKG_CONFIG_PATH` to the image's,
///   so `/invalid` comes first in each: the buildpack must put its own layers before it (and
///   never resolve a tool or library through these first entries).
///   `PYTHONPATH=/invalid` is something apps set for their own code: it must not change which
///   packages the build installs or sees. `PIP_DISABLE_PIP_VERSION_CHECK=0` must not bring back
///   pip's version-check noise and its network call: the buildpack sets the value it needs.
///   Variables that the buildpack rejects up front (`PYTHONHOME`, `VIRTUAL_ENV`, `PIP_USER`,
///   `PIP_TARGET`, `PIP_PREFIX`) are not here: tests of those checks set them on purpose.
// Under `--features pack` only tests that can run in a container use it: none yet.
#[cfg_attr(feature = "pack", allow(dead_code))]
pub(crate) fn default_build_config(fixture: &str) -> BuildConfig {
    let mut config = BuildConfig::new(DEFAULT_BUILDER, format!("test-fixtures/{fixture}"));
    #[cfg(not(feature = "pack"))]
    config.env("BP_PYTHON_INVENTORY", runtime_server::inventory_url());
    config.envs([
        ("SSL_CERT_FILE", CA_BUNDLE),
        ("PIP_CERT", CA_BUNDLE),
        ("CPATH", "/invalid"),
        ("LD_LIBRARY_PATH", "/invalid"),
        ("LIBRARY_PATH", "/invalid"),
        ("PATH", "/invalid"),
        ("PKG_CONFIG_PATH", "/invalid"),
        ("PYTHONPATH", "/invalid"),
        ("PIP_DISABLE_PIP_VERSION_CHECK", "0"),
    ]);
    config
}

/// [`default_build_config`] for a build that must fail.
pub(crate) fn failing_build_config(fixture: &str) -> BuildConfig {
    let mut config = default_build_config(fixture);
    config.expected_pack_result(PackResult::Failure);
    config
}

/// Everything the build printed (pack's stdout, then its stderr: pack's own errors), without
/// colours.
pub(crate) fn build_output(context: &TestContext) -> String {
    bullet_stream::strip_ansi(format!("{}{}", context.pack_stdout, context.pack_stderr))
}

/// What the buildpack printed, without colours: `bullet_stream` writes to stderr, which the
/// lifecycle hands to the same writer as stdout, so under `pack` (and the local platform) it is
/// in `pack_stdout`, amid the lifecycle's own lines.
pub(crate) fn buildpack_output(context: &TestContext) -> String {
    bullet_stream::strip_ansi(&context.pack_stdout)
}

/// Asserts that every `.pyc` under `site_packages` is hash-based and never checked against its
/// source (flags 1: bit 0 set, bit 1 clear), as the buildpack compiles them, and that there is
/// one for each of the (more than `at_least`) `.py` modules: a tool's run wrote none of its own.
#[cfg(not(feature = "pack"))]
pub(crate) fn assert_only_unchecked_hash_bytecode(
    site_packages: &std::path::Path,
    at_least: usize,
) {
    let (mut modules, mut compiled, mut other) = (0, 0, Vec::new());
    let mut dirs = vec![site_packages.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries =
            std::fs::read_dir(&dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()));
        for entry in entries {
            let path = entry.expect("a dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "py") {
                modules += 1;
            } else if path.extension().is_some_and(|ext| ext == "pyc") {
                let bytes = std::fs::read(&path).expect("reading a .pyc");
                if bytes.get(4..8) == Some(&[1, 0, 0, 0][..]) {
                    compiled += 1;
                } else {
                    other.push(
                        path.strip_prefix(site_packages)
                            .expect("under it")
                            .to_owned(),
                    );
                }
            }
        }
    }
    assert!(other.is_empty(), "not hash-based: {other:?}");
    assert!(modules > at_least, "{modules} modules");
    assert_eq!(compiled, modules);
}

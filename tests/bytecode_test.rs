//! Bytecode is compiled on every core, and the layers don't depend on how many there are.

use crate::support::{build_output, default_build_config};
use local_platform::testing::{TestContext, TestRunner, assert_contains};
use std::process::Command;

/// Restricts the calling thread, and so the builds it runs (child processes inherit it), to the
/// CPUs `cpus` (a `taskset` list such as `0` or `0-1`); returns what `nproc` then reports.
fn run_on_cpus(cpus: &str) -> String {
    let thread = std::fs::read_link("/proc/thread-self").expect("reading /proc/thread-self");
    let tid = thread
        .file_name()
        .expect("a thread id")
        .to_string_lossy()
        .into_owned();
    let status = Command::new("taskset")
        .args(["-cp", cpus, &tid])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("running taskset");
    assert!(status.success(), "taskset -cp {cpus} {tid} failed");
    let nproc = Command::new("nproc").output().expect("running nproc");
    String::from_utf8_lossy(&nproc.stdout).trim().to_string()
}

fn digest(context: &TestContext, layer: &str) -> String {
    context
        .export()
        .layer(layer)
        .unwrap_or_else(|| panic!("no {layer} layer"))
        .digest
        .clone()
}

/// Two cold builds, on one core and on every core, give byte-identical `python` and `venv`
/// layers: the standard library and the dependencies are compiled in the same fixed shards
/// whatever the number of cores (`compileall -j N` would give `.pyc` files that depend on
/// which files shared a worker).
#[test]
fn cold_builds_on_different_core_counts_give_identical_layers() {
    let all_cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let config = default_build_config("pip_flask_gunicorn");
    assert_eq!(run_on_cpus("0"), "1");
    TestRunner::default().build(&config, |context| {
        let output = build_output(&context);
        assert_contains!(output, "/lib/python3.13 to bytecode: 8 shards of its files");
        assert_contains!(
            output,
            "/lib/python3.13/site-packages to bytecode: 8 shards of its files"
        );
        let (python, venv) = (digest(&context, "python"), digest(&context, "venv"));
        assert_eq!(
            run_on_cpus(&format!("0-{}", all_cpus - 1)),
            all_cpus.to_string()
        );
        context.rebuild_with_clear_cache(&config, |context| {
            assert_contains!(build_output(&context), "- Installing Python 3.13.0\n");
            assert_eq!(digest(&context, "python"), python);
            assert_eq!(digest(&context, "venv"), venv);
        });
    });
}

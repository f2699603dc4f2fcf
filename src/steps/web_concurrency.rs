//! A default `WEB_CONCURRENCY` computed when the app starts, from the container it starts in.
//!
//! The build machine is not the machine the app runs on, so the worker count can't be decided at
//! build time. Instead a small launch layer holds an `exec.d` program (a POSIX shell script) that
//! the CNB launcher runs before the process starts; it reads the CPU count and the cgroup limits
//! and prints `WEB_CONCURRENCY = "<n>"`, unless the user has set `WEB_CONCURRENCY` already.

use crate::PythonBuildpack;
use crate::errors::BuildpackError;
use bullet_stream::global::print;
use libcnb::Platform;
use libcnb::build::BuildContext;
use libcnb::data::layer_name;
use libcnb::layer::UncachedLayerDefinition;
use std::fs;
use std::os::unix::fs::PermissionsExt;

pub(crate) const SCRIPT: &str = include_str!("web_concurrency.sh");

/// Creates the `web_concurrency` launch layer with its `exec.d` program.
pub(crate) fn install(
    context: &BuildContext<PythonBuildpack>,
) -> Result<(), libcnb::Error<BuildpackError>> {
    let layer = context.uncached_layer(
        layer_name!("web_concurrency"),
        UncachedLayerDefinition {
            build: false,
            launch: true,
        },
    )?;
    let exec_d = layer.path().join("exec.d");
    let program = exec_d.join("web_concurrency");
    fs::create_dir_all(&exec_d)
        .and_then(|()| fs::write(&program, SCRIPT))
        .and_then(|()| fs::set_permissions(&program, fs::Permissions::from_mode(0o755)))
        .map_err(|error| {
            BuildpackError::Steps(crate::steps::StepsError::WebConcurrencyLayer(error))
        })?;
    print::bullet(
        "WEB_CONCURRENCY (the number of gunicorn and uvicorn workers) defaults at launch to \
         (2 x CPUs) + 1, at most one per 256 MiB of memory; set WEB_CONCURRENCY to override it",
    );
    let value = context
        .platform
        .env()
        .get("WEB_CONCURRENCY")
        .cloned()
        .or_else(|| std::env::var_os("WEB_CONCURRENCY"));
    if let Some(warning) = value.and_then(|value| invalid_value_warning(&value.to_string_lossy())) {
        print::warning(warning);
    }
    Ok(())
}

/// A warning for a user's `WEB_CONCURRENCY` that isn't a positive whole number (which the
/// launch-time program keeps as it is, and gunicorn then fails to start with); an empty value
/// counts as unset.
fn invalid_value_warning(value: &str) -> Option<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.parse::<u32>().is_ok_and(|workers| workers > 0) {
        return None;
    }
    Some(format!(
        "WEB_CONCURRENCY is set to '{}', which isn't a positive whole number of workers.\n\
         \n\
         A WEB_CONCURRENCY you set is used as it is, and gunicorn and uvicorn fail to start with \
         this one. Set it to a number such as 4, or unset it to get the default.",
        crate::redact::for_message(value)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    /// Runs the script as the launcher does (output on fd 3), against a fake root directory.
    fn run(root: &Path, web_concurrency: Option<&str>) -> String {
        let script = root.join("web_concurrency");
        fs::write(&script, SCRIPT).unwrap();
        let mut command = Command::new("sh");
        command
            .args(["-c", "sh \"$0\" \"$1\" 3>&1 1>/dev/null"])
            .arg(&script)
            .arg(root)
            .env_remove("WEB_CONCURRENCY");
        if let Some(value) = web_concurrency {
            command.env("WEB_CONCURRENCY", value);
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stderr), "");
        String::from_utf8(output.stdout).unwrap()
    }

    fn root(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, contents) in files {
            let path = dir.path().join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, contents).unwrap();
        }
        dir
    }

    const MEMINFO_16_GIB: &str = "MemTotal:       16777216 kB\nMemFree:         1000000 kB\n";

    #[test]
    fn one_cpu_quota_gives_three_workers() {
        let dir = root(&[
            ("sys/fs/cgroup/cpu.max", "100000 100000\n"),
            ("sys/fs/cgroup/memory.max", "max\n"),
            ("proc/meminfo", MEMINFO_16_GIB),
        ]);
        assert_eq!(run(dir.path(), None), "WEB_CONCURRENCY = \"3\"\n");
    }

    #[test]
    fn memory_limit_caps_the_workers() {
        // 512 MiB: two workers of 256 MiB, although one CPU would allow three.
        let dir = root(&[
            ("sys/fs/cgroup/cpu.max", "50000 100000\n"),
            ("sys/fs/cgroup/memory.max", "536870912\n"),
            ("proc/meminfo", MEMINFO_16_GIB),
        ]);
        assert_eq!(run(dir.path(), None), "WEB_CONCURRENCY = \"2\"\n");
    }

    #[test]
    fn tiny_memory_still_gets_one_worker() {
        let dir = root(&[
            ("sys/fs/cgroup/cpu.max", "max 100000\n"),
            ("sys/fs/cgroup/memory.max", "134217728\n"),
        ]);
        assert_eq!(run(dir.path(), None), "WEB_CONCURRENCY = \"1\"\n");
    }

    #[test]
    fn cgroup_v1_limits() {
        // v1 reports "no limit" as a huge number; the machine's 1 GiB decides: four workers.
        let dir = root(&[
            ("sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1\n"),
            ("sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n"),
            (
                "sys/fs/cgroup/memory/memory.limit_in_bytes",
                "9223372036854771712\n",
            ),
            ("proc/meminfo", "MemTotal:        1048576 kB\n"),
        ]);
        let cpus: usize = String::from_utf8(Command::new("nproc").output().unwrap().stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let expected = (2 * cpus + 1).min(4);
        assert_eq!(
            run(dir.path(), None),
            format!("WEB_CONCURRENCY = \"{expected}\"\n")
        );

        let dir = root(&[
            ("sys/fs/cgroup/cpu/cpu.cfs_quota_us", "150000\n"),
            ("sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n"),
            ("sys/fs/cgroup/memory/memory.limit_in_bytes", "1073741824\n"),
            ("proc/meminfo", MEMINFO_16_GIB),
        ]);
        // 1.5 CPUs round up to 2 (when the machine has them): five workers, capped at four by
        // the 1 GiB limit.
        let expected = (2 * cpus.min(2) + 1).min(4);
        assert_eq!(
            run(dir.path(), None),
            format!("WEB_CONCURRENCY = \"{expected}\"\n")
        );
    }

    #[test]
    fn no_cgroup_files_at_all() {
        let dir = root(&[]);
        let output = run(dir.path(), None);
        assert!(output.starts_with("WEB_CONCURRENCY = \""), "{output}");
    }

    #[test]
    fn values_that_are_not_a_worker_count_are_warned_about() {
        for value in ["4", " 12 ", ""] {
            assert_eq!(invalid_value_warning(value), None, "{value}");
        }
        assert_eq!(
            invalid_value_warning("abc").unwrap(),
            "WEB_CONCURRENCY is set to 'abc', which isn't a positive whole number of workers.\n\
             \n\
             A WEB_CONCURRENCY you set is used as it is, and gunicorn and uvicorn fail to start \
             with this one. Set it to a number such as 4, or unset it to get the default."
        );
        for value in ["0", "-2", "2.5", "4 workers"] {
            assert!(invalid_value_warning(value).is_some(), "{value}");
        }
    }

    #[test]
    fn users_value_is_kept() {
        let dir = root(&[("sys/fs/cgroup/memory.max", "134217728\n")]);
        assert_eq!(run(dir.path(), Some("7")), "");
        // An empty value counts as unset.
        assert_eq!(run(dir.path(), Some("")), "WEB_CONCURRENCY = \"1\"\n");
    }
}

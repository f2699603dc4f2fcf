//! The build-speed and image-size benchmark (issue 4): builds the fixture apps in
//! `benches/fixtures/` through the local CNB platform with real runtimes and real packages,
//! times a cold build and three kinds of rebuild, reports launch-layer bytes and reuse, and
//! checks the targets. See the README's "Benchmark" section.
//!
//! `cargo bench --bench build_speed [-- [--runs N] [--save] [APP...]]`
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it builds nothing: it only
//! checks its own statistics and report code (`selftest`), in well under a second.

// A bench target sees every dependency of the package, and uses few of them.
#![allow(unused_crate_dependencies)]

mod apps;
mod machine;
mod measure;
mod report;
mod selftest;
mod stats;
mod steps;

#[allow(dead_code, unreachable_pub, unused_imports)]
#[path = "../../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Runs per scenario unless `--runs` says otherwise: enough for a median and for comparing
/// two cold builds, while the whole benchmark stays under 15 minutes on 2 cores.
const DEFAULT_RUNS: usize = 3;

/// Env vars passed on to the builds as platform env when set, as a user behind a
/// TLS-intercepting proxy passes them with `pack build --env`.
const PASSED_ENV: [&str; 2] = ["SSL_CERT_FILE", "PIP_CERT"];

const USAGE: &str = "\
Usage: cargo bench --bench build_speed [-- [--runs N] [--save] [APP...]]

  --runs N   runs of every scenario (default 3; 2 or more to compare cold builds)
  --save     also write the report to benches/RESULTS.md
  APP        only these apps (default: all): pip_flask, django_whitenoise, uv_flask";

#[derive(Debug, Clone, PartialEq, Eq)]
struct Options {
    runs: usize,
    save: bool,
    apps: Vec<String>,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        runs: DEFAULT_RUNS,
        save: false,
        apps: Vec::new(),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => {}
            "--save" => options.save = true,
            "--runs" => {
                let value = args.next().unwrap_or_default();
                options.runs = value.parse().ok().filter(|runs| *runs > 0).ok_or_else(|| {
                    format!("`--runs` needs a number of runs (1 or more), got `{value}`.")
                })?;
            }
            "-h" | "--help" => return Err(String::new()),
            app if !app.starts_with('-') => {
                if !apps::APPS.iter().any(|known| known.name == app) {
                    return Err(format!("Unknown app `{app}`."));
                }
                options.apps.push(app.to_string());
            }
            other => return Err(format!("Unknown option `{other}`.")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`; `cargo test` passes its own filters and flags, if any.
    if !args.iter().any(|arg| arg == "--bench") {
        return selftest::run();
    }
    let options = match parse_args(args) {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("build_speed: {message}\n");
            }
            eprintln!("{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    match benchmark(&options) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("build_speed: {message}");
            ExitCode::FAILURE
        }
    }
}

fn benchmark(options: &Options) -> Result<ExitCode, String> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let selected: Vec<&apps::App> = apps::APPS
        .iter()
        .filter(|app| options.apps.is_empty() || options.apps.iter().any(|name| name == app.name))
        .collect();

    eprintln!("Packaging the buildpack and the test runtimes ...");
    let buildpack = local_platform::package_crate_once(manifest_dir)
        .map_err(|error| format!("Cannot package the buildpack: {error}"))?;
    let mut env = BTreeMap::from([(
        String::from("BP_PYTHON_INVENTORY"),
        support::runtime_server::inventory_url(),
    )]);
    for name in PASSED_ENV {
        if let Ok(value) = std::env::var(name) {
            env.insert(name.to_string(), value);
        }
    }
    let bench = measure::Bench {
        buildpack,
        env,
        scratch_dir: manifest_dir.join("target").join("build-speed"),
        last_build_end: std::cell::Cell::new(std::time::Instant::now()),
    };

    let date = machine::now_utc();
    let load_before = machine::load_average();
    let mut notes = Vec::new();
    if let Some(commit) = machine::commit() {
        notes.push(format!("Buildpack commit: `{commit}`, release build."));
    }
    let selected_count = selected.len();
    let mut results = Vec::new();
    for app in selected {
        match bench.run_app(app, options.runs) {
            Ok(result) => results.push(result),
            Err(message) => {
                eprintln!("\n{}: not measured. {message}", app.name);
                let reason = message.lines().next().unwrap_or_default();
                notes.push(format!("**`{}` was not measured**: {reason}", app.name));
            }
        }
    }
    notes.push(format!(
        "Load average (1, 5, 15 min) before: {load_before}; after: {}. The machine may be shared.",
        machine::load_average()
    ));
    notes.push(
        "Work dirs of earlier runs are moved aside and deleted after the last build, not right \
         before a cold build. Each cold build starts after `sync` and at least 61 s after the \
         previous build (or the benchmark's start): this file system (ext4 without a journal) \
         passes over inodes freed in the last 60 s when it creates files, which made cold builds \
         that followed other builds up to twice as slow as the first. Rebuilds follow their \
         previous build at once."
            .to_string(),
    );
    if let Err(message) = bench.empty_trash() {
        eprintln!("build_speed: {message}");
    }

    let checks = report::check_targets(&results);
    let header = report::Header {
        date,
        machine: machine::describe(),
        runs: options.runs,
        notes,
    };
    let markdown = report::render(&header, &results, &checks);
    println!("{markdown}");
    print!("{}", report::verdict_lines(&checks));
    if options.save {
        let path: PathBuf = manifest_dir.join("benches").join("RESULTS.md");
        std::fs::write(&path, &markdown)
            .map_err(|error| format!("Cannot write {}: {error}", path.display()))?;
        eprintln!("Saved the report to {}.", path.display());
    }
    Ok(if results.len() == selected_count {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

//! Checks of the benchmark's own code, run when the benchmark binary runs without `--bench`
//! (`cargo test --all-targets`, `cargo test --bench build_speed`): a `harness = false` target
//! has no libtest, so these are plain functions returning what went wrong.

use crate::machine::{cpu_model, format_utc, memory_total, os_name};
use crate::report::{
    AppResult, BUILD_ONLY_TARGET, BuildResult, COLD_TARGET, FileEntry, Finding, Header,
    LayerResult, Manifest, REPRODUCIBLE_TARGET, RunResult, Verdict, WARM_TARGET, check_build_only,
    check_cold_build, check_reproducible, check_warm_rebuild, differing_files, find_build_only,
    render, short_digest,
};
use crate::stats::{Spread, format_bytes, format_duration, spread};
use crate::{Options, parse_args};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::process::ExitCode;
use std::time::Duration;

type Check = fn() -> Result<(), String>;

const CHECKS: [(&str, Check); 13] = [
    ("spread", spread_of_samples),
    ("units", units),
    ("dates", dates),
    ("machine", machine_description),
    ("args", args),
    ("cold target", cold_target),
    ("warm target", warm_target),
    ("build-only target", build_only_target),
    ("build-only content", build_only_content),
    ("reproducible target", reproducible_target),
    ("differing files", differing_file_lists),
    ("report", report_text),
    ("steps", crate::steps::self_check),
];

pub(crate) fn run() -> ExitCode {
    let mut failed = 0;
    for (name, check) in CHECKS {
        if let Err(message) = check() {
            failed += 1;
            eprintln!("build_speed self-check `{name}` failed: {message}");
        }
    }
    if failed > 0 {
        eprintln!(
            "build_speed: {failed} of {} self-checks failed.",
            CHECKS.len()
        );
        return ExitCode::FAILURE;
    }
    println!(
        "build_speed: {} self-checks passed. Benchmark with `cargo bench --bench build_speed`.",
        CHECKS.len()
    );
    ExitCode::SUCCESS
}

#[allow(clippy::needless_pass_by_value)] // checks read best with values on both sides
fn expect_eq<T: PartialEq + Debug>(actual: T, expected: T) -> Result<(), String> {
    if actual == expected {
        Ok(())
    } else {
        Err(format!("expected {expected:?}, got {actual:?}"))
    }
}

fn secs(seconds: f64) -> Duration {
    Duration::from_secs_f64(seconds)
}

fn spread_of_samples() -> Result<(), String> {
    expect_eq(spread(&[]), None)?;
    expect_eq(
        spread(&[secs(3.0), secs(1.0), secs(2.0)]),
        Some(Spread {
            median: secs(2.0),
            min: secs(1.0),
            max: secs(3.0),
        }),
    )?;
    expect_eq(
        spread(&[secs(4.0), secs(1.0), secs(2.0), secs(10.0)]),
        Some(Spread {
            median: secs(3.0),
            min: secs(1.0),
            max: secs(10.0),
        }),
    )
}

fn units() -> Result<(), String> {
    expect_eq(format_duration(Duration::from_millis(850)), "850 ms".into())?;
    expect_eq(
        format_duration(Duration::from_millis(4_271)),
        "4.27 s".into(),
    )?;
    expect_eq(
        format_duration(Duration::from_millis(31_449)),
        "31.4 s".into(),
    )?;
    expect_eq(
        format_duration(Duration::from_millis(125_400)),
        "2 min 05 s".into(),
    )?;
    expect_eq(format_bytes(512), "512 B".into())?;
    expect_eq(format_bytes(3_500), "3.42 KiB".into())?;
    expect_eq(format_bytes(43_200_000), "41.2 MiB".into())?;
    expect_eq(format_bytes(1_106_000_000), "1.03 GiB".into())
}

fn dates() -> Result<(), String> {
    expect_eq(format_utc(0), "1970-01-01 00:00 UTC".into())?;
    expect_eq(format_utc(951_831_900), "2000-02-29 13:45 UTC".into())?;
    expect_eq(format_utc(946_684_740), "1999-12-31 23:59 UTC".into())?;
    expect_eq(format_utc(1_795_222_830), "2026-11-21 01:00 UTC".into())?;
    expect_eq(format_utc(4_107_542_400), "2100-03-01 00:00 UTC".into())
}

fn machine_description() -> Result<(), String> {
    let cpuinfo = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\nflags\t\t: fpu\n";
    expect_eq(
        cpu_model(cpuinfo),
        Some("Intel(R) Xeon(R) CPU @ 2.20GHz".into()),
    )?;
    expect_eq(
        memory_total("MemTotal:       24567552 kB\nMemFree:        1 kB\n"),
        Some("23.4 GiB".into()),
    )?;
    expect_eq(memory_total("MemFree: 1 kB\n"), None)?;
    expect_eq(
        os_name("NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"),
        Some("Debian GNU/Linux 12 (bookworm)".into()),
    )
}

fn args() -> Result<(), String> {
    let parse = |args: &[&str]| parse_args(args.iter().map(ToString::to_string));
    expect_eq(
        parse(&["--runs", "2", "--save", "pip_flask", "--bench"]),
        Ok(Options {
            runs: 2,
            save: true,
            apps: vec!["pip_flask".into()],
        }),
    )?;
    expect_eq(
        parse(&[]),
        Ok(Options {
            runs: 3,
            save: false,
            apps: Vec::new(),
        }),
    )?;
    expect_eq(
        parse(&["--runs", "0"]),
        Err("`--runs` needs a number of runs (1 or more), got `0`.".into()),
    )?;
    expect_eq(
        parse(&["--runs"]),
        Err("`--runs` needs a number of runs (1 or more), got ``.".into()),
    )?;
    expect_eq(parse(&["flask"]), Err("Unknown app `flask`.".into()))?;
    expect_eq(parse(&["--fast"]), Err("Unknown option `--fast`.".into()))
}

fn layer(name: &str, bytes: u64, digest: &str, unchanged: bool) -> LayerResult {
    LayerResult {
        name: name.into(),
        bytes,
        digest: digest.into(),
        unchanged,
    }
}

fn build(wall: f64, layers: Vec<LayerResult>) -> BuildResult {
    let files = layers
        .iter()
        .map(|layer| (layer.name.clone(), sample_files(&layer.name, &layer.digest)))
        .collect();
    BuildResult {
        wall: secs(wall),
        build_step: Some(secs(wall / 4.0)),
        steps: vec![("install".to_string(), secs(wall / 2.0))],
        layers,
        files,
    }
}

/// A layer's files, whose contents follow the layer's digest: a `python` layer with one file,
/// a `venv` with a `pyvenv.cfg`, and `dotenv` once the digest is past the cold build's.
fn sample_files(layer: &str, digest: &str) -> BTreeMap<String, FileEntry> {
    if layer == "python" {
        return BTreeMap::from([("bin/python3".into(), file(digest, 100))]);
    }
    let mut files = BTreeMap::from([
        ("bin".into(), file("dir", 0)),
        (
            "bin/python".into(),
            file("-> /layers/python/bin/python3", 0),
        ),
        ("pyvenv.cfg".into(), file(digest, 90)),
    ]);
    if digest.starts_with("sha256:3") || digest.starts_with("sha256:5") {
        files.insert("lib/dotenv/__init__.py".into(), file("sha256:dd", 10));
    }
    files
}

fn file(content: &str, bytes: u64) -> FileEntry {
    FileEntry {
        content: content.into(),
        bytes,
    }
}

/// A run of the four scenarios with a `python` and a `venv` layer: `cold_venv` is the cold
/// build's venv digest, `warm_reused` whether the warm rebuild reused both layers.
fn sample_run(cold: f64, warm: f64, cold_venv: &str, warm_reused: bool) -> RunResult {
    let python = "sha256:1111111111111111111111";
    RunResult {
        builds: vec![
            build(
                cold,
                vec![
                    layer("python", 60_000_000, python, false),
                    layer("venv", 20_000_000, cold_venv, false),
                ],
            ),
            build(
                warm,
                vec![
                    layer("python", 60_000_000, python, true),
                    layer("venv", 20_000_000, cold_venv, warm_reused),
                ],
            ),
            build(
                9.0,
                vec![
                    layer("python", 60_000_000, python, true),
                    layer("venv", 20_100_000, "sha256:3333333333333333", false),
                ],
            ),
            build(
                30.0,
                vec![
                    layer("python", 61_000_000, "sha256:4444444444444444", false),
                    layer("venv", 20_200_000, "sha256:5555555555555555", false),
                ],
            ),
        ],
    }
}

fn sample_app(runs: Vec<RunResult>) -> AppResult {
    AppResult {
        name: "pip_app".into(),
        summary: "pip, three packages".into(),
        python_change: ("3.12".into(), "3.13".into()),
        runs,
        findings: BTreeSet::new(),
    }
}

fn cold_target() -> Result<(), String> {
    let app = sample_app(vec![
        sample_run(20.0, 1.0, "sha256:2222222222222222", true),
        sample_run(22.0, 1.5, "sha256:2222222222222222", true),
        sample_run(30.0, 3.0, "sha256:2222222222222222", true),
    ]);
    let check = check_cold_build(&app, Some(secs(22.0)));
    expect_eq(check.target, COLD_TARGET)?;
    expect_eq(check.verdict, Verdict::Pass)?;
    expect_eq(
        check.details,
        vec!["cold 22.0 s (median; 20.0 s to 30.0 s) against at most 22.0 s".to_string()],
    )?;
    expect_eq(
        check_cold_build(&app, Some(secs(21.9))).verdict,
        Verdict::Fail,
    )?;
    expect_eq(check_cold_build(&app, None).verdict, Verdict::Skip)
}

fn warm_target() -> Result<(), String> {
    let app = sample_app(vec![
        sample_run(20.0, 1.0, "sha256:2222222222222222", true),
        sample_run(22.0, 1.5, "sha256:2222222222222222", true),
        sample_run(30.0, 3.0, "sha256:2222222222222222", true),
    ]);
    let check = check_warm_rebuild(&app);
    expect_eq(check.target, WARM_TARGET)?;
    expect_eq(check.verdict, Verdict::Pass)?;
    expect_eq(
        check.details,
        vec![
            "warm 1.50 s = 6.8% of cold 22.0 s (medians)".to_string(),
            "of the warm rebuild, 375 ms in the buildpack's bin/build, the rest in the platform"
                .to_string(),
            "python, venv reused unchanged in all 3 runs".to_string(),
        ],
    )?;

    let slow = sample_app(vec![sample_run(20.0, 2.0, "sha256:2222222222222222", true)]);
    expect_eq(
        check_warm_rebuild(&slow).details,
        vec![
            "warm 2.00 s = 10.0% of cold 20.0 s (medians)".to_string(),
            "of the warm rebuild, 500 ms in the buildpack's bin/build, the rest in the platform"
                .to_string(),
        ],
    )?;
    expect_eq(check_warm_rebuild(&slow).verdict, Verdict::Fail)?;

    let rebuilt = sample_app(vec![
        sample_run(20.0, 1.0, "sha256:2222222222222222", true),
        sample_run(20.0, 1.0, "sha256:2222222222222222", false),
    ]);
    let check = check_warm_rebuild(&rebuilt);
    expect_eq(check.verdict, Verdict::Fail)?;
    expect_eq(
        check.details,
        vec![
            "warm 1.00 s = 5.0% of cold 20.0 s (medians)".to_string(),
            "of the warm rebuild, 250 ms in the buildpack's bin/build, the rest in the platform"
                .to_string(),
            "run 2: changed venv".to_string(),
        ],
    )
}

fn build_only_target() -> Result<(), String> {
    let clean = sample_app(vec![sample_run(20.0, 1.0, "sha256:2222222222222222", true)]);
    let check = check_build_only(&clean);
    expect_eq(check.target, BUILD_ONLY_TARGET)?;
    expect_eq(check.verdict, Verdict::Pass)?;
    expect_eq(
        check.details,
        vec![
            "launch layers: python, venv".to_string(),
            "no packaging tool, tool executable or cache dir in them".to_string(),
        ],
    )?;

    let mut dirty = clean.clone();
    dirty.runs[0].builds[0].layers.push(layer(
        "pip-cache",
        5_000_000,
        "sha256:6666666666666666",
        false,
    ));
    dirty.findings.insert(Finding {
        layer: "venv".into(),
        path: "lib/python3.12/site-packages/pip".into(),
        bytes: 9_000_000,
    });
    let check = check_build_only(&dirty);
    expect_eq(check.verdict, Verdict::Fail)?;
    expect_eq(
        check.details,
        vec![
            "launch layers: pip-cache, python, venv".to_string(),
            "layer `pip-cache` is a tool or cache layer".to_string(),
            "`venv/lib/python3.12/site-packages/pip` (8.58 MiB)".to_string(),
        ],
    )
}

fn build_only_content() -> Result<(), String> {
    let manifest = Manifest::from([
        (
            "python".into(),
            BTreeMap::from([
                ("bin/python3".into(), file("sha256:aa +x", 100)),
                ("bin/pip3.12".into(), file("sha256:ab +x", 10)),
                ("bin/pydoc3".into(), file("sha256:ac +x", 10)),
                (
                    "lib/python3.12/ensurepip/_bundled/pip-24.0-py3-none-any.whl".into(),
                    file("sha256:ad", 2_000),
                ),
                (
                    "lib/python3.12/site-packages/pipdeptree/__init__.py".into(),
                    file("sha256:ae", 5),
                ),
            ]),
        ),
        (
            "venv".into(),
            BTreeMap::from([
                ("bin/uv".into(), file("sha256:b0 +x", 40_000)),
                (
                    "lib/python3.12/site-packages/pip/__init__.py".into(),
                    file("sha256:b1", 300),
                ),
                (
                    "lib/python3.12/site-packages/pip/_internal/main.py".into(),
                    file("sha256:b2", 700),
                ),
                (
                    "lib/python3.12/site-packages/pip-24.0.dist-info/RECORD".into(),
                    file("sha256:b3", 50),
                ),
                (
                    "lib/python3.12/site-packages/flask/__init__.py".into(),
                    file("sha256:b4", 60),
                ),
                ("home/.cache/pip/http/x".into(), file("sha256:b5", 70)),
            ]),
        ),
    ]);
    let finding = |layer: &str, path: &str, bytes| Finding {
        layer: layer.into(),
        path: path.into(),
        bytes,
    };
    expect_eq(
        find_build_only(&manifest),
        BTreeSet::from([
            finding("python", "bin/pip3.12", 10),
            finding("venv", "bin/uv", 40_000),
            finding("venv", "home/.cache", 70),
            finding("venv", "lib/python3.12/site-packages/pip", 1_000),
            finding(
                "venv",
                "lib/python3.12/site-packages/pip-24.0.dist-info",
                50,
            ),
        ]),
    )
}

fn reproducible_target() -> Result<(), String> {
    let single = sample_app(vec![sample_run(20.0, 1.0, "sha256:2222222222222222", true)]);
    expect_eq(check_reproducible(&single).verdict, Verdict::Skip)?;

    let same = sample_app(vec![
        sample_run(20.0, 1.0, "sha256:2222222222222222", true),
        sample_run(21.0, 1.0, "sha256:2222222222222222", true),
    ]);
    let check = check_reproducible(&same);
    expect_eq(check.target, REPRODUCIBLE_TARGET)?;
    expect_eq(check.verdict, Verdict::Pass)?;
    expect_eq(
        check.details,
        vec![
            "python sha256:111111111111… in all 2 cold builds".to_string(),
            "venv sha256:222222222222… in all 2 cold builds".to_string(),
        ],
    )?;

    let differ = sample_app(vec![
        sample_run(20.0, 1.0, "sha256:2222222222222222", true),
        sample_run(21.0, 1.0, "sha256:2222222222222222", true),
        sample_run(21.0, 1.0, "sha256:7777777777777777", true),
    ]);
    let check = check_reproducible(&differ);
    expect_eq(check.verdict, Verdict::Fail)?;
    expect_eq(
        check.details,
        vec![
            "python sha256:111111111111… in all 3 cold builds".to_string(),
            "venv differs: run 1 sha256:222222222222…, run 2 sha256:222222222222…, run 3 sha256:777777777777…".to_string(),
            "venv files differing between run 1 and run 3: `pyvenv.cfg`".to_string(),
        ],
    )
}

fn differing_file_lists() -> Result<(), String> {
    let left = BTreeMap::from([
        ("a".to_string(), file("sha256:1", 1)),
        ("b".to_string(), file("sha256:2", 1)),
        ("c".to_string(), file("sha256:3", 1)),
    ]);
    let right = BTreeMap::from([
        ("a".to_string(), file("sha256:1", 1)),
        ("b".to_string(), file("sha256:2 +x", 1)),
        ("d".to_string(), file("sha256:4", 1)),
    ]);
    expect_eq(
        differing_files(Some(&left), Some(&right)),
        vec!["b".to_string(), "c".to_string(), "d".to_string()],
    )?;
    expect_eq(differing_files(Some(&left), None).len(), 3)?;
    expect_eq(
        short_digest("sha256:0123456789abcdef"),
        "sha256:0123456789ab…".into(),
    )?;
    expect_eq(short_digest("absent"), "absent".into())
}

fn report_text() -> Result<(), String> {
    let app = sample_app(vec![
        sample_run(20.0, 1.0, "sha256:2222222222222222", true),
        sample_run(22.0, 1.5, "sha256:2222222222222222", false),
    ]);
    let header = Header {
        date: "2026-11-21 02:50 UTC".into(),
        machine: vec!["CPU: test".into()],
        runs: 2,
        notes: vec!["A note.".into()],
    };
    let checks = vec![check_warm_rebuild(&app)];
    let text = render(&header, &[app], &checks);
    let expected_lines = [
        "Measured 2026-11-21 02:50 UTC with `cargo bench --bench build_speed`.",
        "- CPU: test",
        "A note.",
        "## `pip_app`: pip, three packages",
        "| scenario | median | min | max | vs cold | bin/build | launch bytes | python | venv |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        "| cold build (empty cache) | 21.0 s | 20.0 s | 22.0 s | — | 5.25 s | 76.3 MiB | 57.2 MiB, new | 19.1 MiB, new |",
        "| warm rebuild, no change | 1.25 s | 1.00 s | 1.50 s | 6% | 312 ms | 76.3 MiB | 57.2 MiB, reused | 19.1 MiB, reused 1/2 |",
        "| rebuild, one dependency added | 9.00 s | 9.00 s | 9.00 s | 43% | 2.25 s | 76.4 MiB | 57.2 MiB, reused | 19.2 MiB, changed |",
        "| rebuild, Python 3.12 → 3.13 | 30.0 s | 30.0 s | 30.0 s | 143% | 7.50 s | 77.4 MiB | 58.2 MiB, changed | 19.3 MiB, changed |",
        "| FAIL | warm rebuild < 10% of cold, every launch layer reused | `pip_app` | warm 1.25 s = 6.0% of cold 21.0 s (medians); of the warm rebuild, 312 ms in the buildpack's bin/build, the rest in the platform; run 2: changed venv |",
        "- `pip_app`, warm rebuild, no change: none",
        "- `pip_app`, rebuild, one dependency added: `venv`, 2 path(s) differ: `lib/dotenv/__init__.py`, `pyvenv.cfg`",
        "- `pip_app`, rebuild, Python 3.12 → 3.13: `python`, 1 path(s) differ: `bin/python3`",
        "- `pip_app`, rebuild, Python 3.12 → 3.13: `venv`, 1 path(s) differ: `pyvenv.cfg`",
        "- `pip_app` run 2, `venv`: `sha256:2222222222222222` (19.1 MiB)",
    ];
    for line in expected_lines {
        if !text.lines().any(|actual| actual == line) {
            return Err(format!("the report has no line\n{line}\nin:\n{text}"));
        }
    }
    Ok(())
}

//! The benchmark's results, the checks of the targets, and their Markdown report.
//!
//! Nothing here runs a build: the types are filled in by `measure`, which keeps this module
//! testable with hand-written results (see `selftest`).

use crate::stats::{Spread, format_bytes, format_duration, percent, spread};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

/// The builds of one run, in this order, each one after the previous in the same work dir.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scenario {
    /// A build from an empty work dir: no previous image, no cache.
    Cold,
    /// The same app again.
    Warm,
    /// The app with one more dependency (requirements file, or `pyproject.toml` + lockfile).
    AddDependency,
    /// The app (with the added dependency) with a newer `.python-version`.
    PythonVersion,
}

impl Scenario {
    pub(crate) const ALL: [Scenario; 4] = [
        Scenario::Cold,
        Scenario::Warm,
        Scenario::AddDependency,
        Scenario::PythonVersion,
    ];

    pub(crate) fn label(self, python_change: &(String, String)) -> String {
        match self {
            Scenario::Cold => String::from("cold build (empty cache)"),
            Scenario::Warm => String::from("warm rebuild, no change"),
            Scenario::AddDependency => String::from("rebuild, one dependency added"),
            Scenario::PythonVersion => {
                format!("rebuild, Python {} → {}", python_change.0, python_change.1)
            }
        }
    }

    /// A file-name friendly name: `cold`, `warm`, `add-dependency`, `python-version`.
    pub(crate) fn slug(self) -> &'static str {
        match self {
            Scenario::Cold => "cold",
            Scenario::Warm => "warm",
            Scenario::AddDependency => "add-dependency",
            Scenario::PythonVersion => "python-version",
        }
    }

    fn index(self) -> usize {
        match self {
            Scenario::Cold => 0,
            Scenario::Warm => 1,
            Scenario::AddDependency => 2,
            Scenario::PythonVersion => 3,
        }
    }
}

/// One launch layer of an exported image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LayerResult {
    pub(crate) name: String,
    pub(crate) bytes: u64,
    /// The platform's content digest of the layer (`sha256:...`).
    pub(crate) digest: String,
    /// Whether the previous image had this layer with the same digest.
    pub(crate) unchanged: bool,
}

/// One build: its wall time and the launch layers of the image it exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BuildResult {
    pub(crate) wall: Duration,
    /// The part of `wall` spent in the buildpack's `bin/build` (the rest is the platform:
    /// detect, restoring layers, exporting and caching them), when it could be measured.
    pub(crate) build_step: Option<Duration>,
    /// The time of each step of `bin/build`, from the build output's timings
    /// ([`crate::steps`]).
    pub(crate) steps: Vec<(String, Duration)>,
    /// Sorted by name.
    pub(crate) layers: Vec<LayerResult>,
    /// The files of the launch layers.
    pub(crate) files: Manifest,
}

impl BuildResult {
    pub(crate) fn launch_bytes(&self) -> u64 {
        self.layers.iter().map(|layer| layer.bytes).sum()
    }

    fn layer(&self, name: &str) -> Option<&LayerResult> {
        self.layers.iter().find(|layer| layer.name == name)
    }
}

/// A file in a launch layer: its content digest (or symlink target) and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileEntry {
    /// `sha256:<hex>` (with ` +x` when executable) for a file, `-> <target>` for a symlink,
    /// `dir` for a directory.
    pub(crate) content: String,
    pub(crate) bytes: u64,
}

/// Every file of every launch layer: layer name → path in the layer → entry.
pub(crate) type Manifest = BTreeMap<String, BTreeMap<String, FileEntry>>;

/// One run of every scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunResult {
    /// One build per scenario, in [`Scenario::ALL`] order.
    pub(crate) builds: Vec<BuildResult>,
}

impl RunResult {
    fn build(&self, scenario: Scenario) -> Option<&BuildResult> {
        self.builds.get(scenario.index())
    }
}

/// Something only needed at build time found in a launch layer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Finding {
    pub(crate) layer: String,
    /// The path in the layer (a directory holds everything under it).
    pub(crate) path: String,
    pub(crate) bytes: u64,
}

/// Every run of one app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppResult {
    pub(crate) name: String,
    pub(crate) summary: String,
    /// The `.python-version` before and after the Python version scenario.
    pub(crate) python_change: (String, String),
    pub(crate) runs: Vec<RunResult>,
    /// Build-only content found in the launch layers of any build.
    pub(crate) findings: BTreeSet<Finding>,
}

impl AppResult {
    fn builds(&self, scenario: Scenario) -> impl Iterator<Item = &BuildResult> {
        self.runs.iter().filter_map(move |run| run.build(scenario))
    }

    fn wall_spread(&self, scenario: Scenario) -> Option<Spread> {
        let walls: Vec<Duration> = self.builds(scenario).map(|build| build.wall).collect();
        spread(&walls)
    }

    /// The median time of the buildpack's build step, when every build measured it.
    fn build_step_median(&self, scenario: Scenario) -> Option<Duration> {
        let steps: Option<Vec<Duration>> = self
            .builds(scenario)
            .map(|build| build.build_step)
            .collect();
        spread(&steps?).map(|spread| spread.median)
    }

    /// Launch layer names over every build, sorted.
    fn layer_names(&self) -> BTreeSet<&str> {
        self.runs
            .iter()
            .flat_map(|run| &run.builds)
            .flat_map(|build| &build.layers)
            .map(|layer| layer.name.as_str())
            .collect()
    }
}

/// Layers that only hold packaging tools or caches, which belong in the build, not the image.
const BUILD_ONLY_LAYERS: [&str; 6] = ["pip", "pip-cache", "uv", "uv-cache", "poetry", "pipenv"];
/// Packaging tools (import packages and dist-info prefixes) that an app never needs at launch.
const PACKAGING_TOOLS: [&str; 4] = ["pip", "uv", "poetry", "pipenv"];

fn is_build_only_layer(name: &str) -> bool {
    BUILD_ONLY_LAYERS.contains(&name) || name.contains("cache")
}

fn is_tool_executable(name: &str) -> bool {
    PACKAGING_TOOLS.contains(&name) || name == "uvx" || name.starts_with("pip3")
}

fn is_tool_package(name: &str) -> bool {
    PACKAGING_TOOLS.contains(&name)
        || PACKAGING_TOOLS.iter().any(|tool| {
            name.strip_prefix(tool)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|rest| rest.ends_with(".dist-info"))
        })
}

/// The part of `path` that makes it build-only content: a packaging tool's package or
/// dist-info under `site-packages`, a packaging tool's executable in a `bin` dir, or a `.cache`
/// dir.
fn build_only_root(path: &str) -> Option<String> {
    let components: Vec<&str> = path.split('/').collect();
    for (index, component) in components.iter().enumerate() {
        let parent = index.checked_sub(1).map(|parent| components[parent]);
        let is_last = index + 1 == components.len();
        let build_only = *component == ".cache"
            || (parent == Some("site-packages") && is_tool_package(component))
            || (parent == Some("bin") && is_last && is_tool_executable(component));
        if build_only {
            return Some(components[..=index].join("/"));
        }
    }
    None
}

/// Build-only content in the launch layers of `manifest`, one finding per root with the bytes
/// of the files under it.
pub(crate) fn find_build_only(manifest: &Manifest) -> BTreeSet<Finding> {
    let mut bytes_by_root: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (layer, files) in manifest {
        for (path, entry) in files {
            if let Some(root) = build_only_root(path) {
                *bytes_by_root.entry((layer.clone(), root)).or_default() += entry.bytes;
            }
        }
    }
    bytes_by_root
        .into_iter()
        .map(|((layer, path), bytes)| Finding { layer, path, bytes })
        .collect()
}

/// Whether a target was met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pass,
    Fail,
    /// Not enough data to tell (for example a single run for the reproducibility target).
    Skip,
}

impl Verdict {
    fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Skip => "SKIP",
        }
    }
}

/// The verdict on one target for one app, with what it is based on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TargetCheck {
    pub(crate) target: &'static str,
    pub(crate) app: String,
    pub(crate) verdict: Verdict,
    pub(crate) details: Vec<String>,
}

pub(crate) const COLD_TARGET: &str = "cold build at most half of the one issue 14 measured";
pub(crate) const WARM_TARGET: &str = "warm rebuild < 10% of cold, every launch layer reused";
pub(crate) const BUILD_ONLY_TARGET: &str = "no build-only content in launch layers";
pub(crate) const REPRODUCIBLE_TARGET: &str = "cold builds give byte-identical launch layers";

/// Every target for every app.
pub(crate) fn check_targets(apps: &[AppResult]) -> Vec<TargetCheck> {
    apps.iter()
        .flat_map(|app| {
            let cold_target = crate::apps::APPS
                .iter()
                .find(|known| known.name == app.name)
                .map(|known| known.cold_target);
            [
                check_cold_build(app, cold_target),
                check_warm_rebuild(app),
                check_build_only(app),
                check_reproducible(app),
            ]
        })
        .collect()
}

/// Cold build: median wall time at most `target` (none: the app has no target).
pub(crate) fn check_cold_build(app: &AppResult, target: Option<Duration>) -> TargetCheck {
    let (verdict, details) = match (app.wall_spread(Scenario::Cold), target) {
        (Some(cold), Some(target)) => (
            if cold.median <= target {
                Verdict::Pass
            } else {
                Verdict::Fail
            },
            vec![format!(
                "cold {} (median; {} to {}) against at most {}",
                format_duration(cold.median),
                format_duration(cold.min),
                format_duration(cold.max),
                format_duration(target)
            )],
        ),
        (None, _) => (Verdict::Skip, vec!["no cold build measured".to_string()]),
        (_, None) => (Verdict::Skip, vec!["no target for this app".to_string()]),
    };
    TargetCheck {
        target: COLD_TARGET,
        app: app.name.clone(),
        verdict,
        details,
    }
}

/// Warm rebuild with no change: median under 10% of the cold build's median, and every launch
/// layer of every warm rebuild reused unchanged.
pub(crate) fn check_warm_rebuild(app: &AppResult) -> TargetCheck {
    let mut details = Vec::new();
    let mut pass = true;
    match (
        app.wall_spread(Scenario::Cold),
        app.wall_spread(Scenario::Warm),
    ) {
        (Some(cold), Some(warm)) => {
            let ratio = percent(warm.median, cold.median);
            pass &= ratio < 10.0;
            details.push(format!(
                "warm {} = {ratio:.1}% of cold {} (medians)",
                format_duration(warm.median),
                format_duration(cold.median)
            ));
            if let Some(step) = app.build_step_median(Scenario::Warm) {
                details.push(format!(
                    "of the warm rebuild, {} in the buildpack's bin/build, the rest in the platform",
                    format_duration(step)
                ));
            }
        }
        _ => {
            return TargetCheck {
                target: WARM_TARGET,
                app: app.name.clone(),
                verdict: Verdict::Skip,
                details: vec![String::from("no cold and warm builds measured")],
            };
        }
    }
    for (run_number, run) in app.runs.iter().enumerate().map(|(i, run)| (i + 1, run)) {
        let (Some(cold), Some(warm)) = (run.build(Scenario::Cold), run.build(Scenario::Warm))
        else {
            continue;
        };
        let changed: Vec<&str> = warm
            .layers
            .iter()
            .filter(|layer| !layer.unchanged)
            .map(|layer| layer.name.as_str())
            .collect();
        if !changed.is_empty() {
            pass = false;
            details.push(format!("run {run_number}: changed {}", changed.join(", ")));
        }
        let gone: Vec<&str> = cold
            .layers
            .iter()
            .filter(|layer| warm.layer(&layer.name).is_none())
            .map(|layer| layer.name.as_str())
            .collect();
        if !gone.is_empty() {
            pass = false;
            details.push(format!(
                "run {run_number}: no longer exported {}",
                gone.join(", ")
            ));
        }
    }
    if pass {
        let names: BTreeSet<&str> = app
            .builds(Scenario::Warm)
            .flat_map(|build| &build.layers)
            .map(|layer| layer.name.as_str())
            .collect();
        let names: Vec<&str> = names.into_iter().collect();
        details.push(format!(
            "{} reused unchanged in all {} runs",
            names.join(", "),
            app.runs.len()
        ));
    }
    TargetCheck {
        target: WARM_TARGET,
        app: app.name.clone(),
        verdict: if pass { Verdict::Pass } else { Verdict::Fail },
        details,
    }
}

/// No launch layer is a tool or cache layer, and no launch layer holds a packaging tool, its
/// executable or a cache dir.
pub(crate) fn check_build_only(app: &AppResult) -> TargetCheck {
    let names = app.layer_names();
    let mut details = vec![format!(
        "launch layers: {}",
        names.iter().copied().collect::<Vec<_>>().join(", ")
    )];
    let flagged: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| is_build_only_layer(name))
        .collect();
    for name in &flagged {
        details.push(format!("layer `{name}` is a tool or cache layer"));
    }
    for finding in &app.findings {
        details.push(format!(
            "`{}/{}` ({})",
            finding.layer,
            finding.path,
            format_bytes(finding.bytes)
        ));
    }
    let pass = flagged.is_empty() && app.findings.is_empty();
    if pass {
        details.push(String::from(
            "no packaging tool, tool executable or cache dir in them",
        ));
    }
    TargetCheck {
        target: BUILD_ONLY_TARGET,
        app: app.name.clone(),
        verdict: if pass { Verdict::Pass } else { Verdict::Fail },
        details,
    }
}

/// The cold builds of every run (each from an empty work dir) export the same launch layers
/// with the same digests.
pub(crate) fn check_reproducible(app: &AppResult) -> TargetCheck {
    let colds: Vec<&BuildResult> = app.builds(Scenario::Cold).collect();
    let verdict_of = |verdict, details| TargetCheck {
        target: REPRODUCIBLE_TARGET,
        app: app.name.clone(),
        verdict,
        details,
    };
    let Some(first) = colds.first() else {
        return verdict_of(Verdict::Skip, vec![String::from("no cold build measured")]);
    };
    if colds.len() < 2 {
        return verdict_of(
            Verdict::Skip,
            vec![String::from("needs two runs or more (`--runs 2`)")],
        );
    }
    let mut details = Vec::new();
    let mut pass = true;
    let names: BTreeSet<&str> = colds
        .iter()
        .flat_map(|build| &build.layers)
        .map(|layer| layer.name.as_str())
        .collect();
    for name in names {
        let digests: Vec<Option<&str>> = colds
            .iter()
            .map(|build| build.layer(name).map(|layer| layer.digest.as_str()))
            .collect();
        if digests.iter().all(|digest| *digest == digests[0]) {
            details.push(format!(
                "{name} {} in all {} cold builds",
                short_digest(digests[0].unwrap_or("absent")),
                colds.len()
            ));
            continue;
        }
        pass = false;
        let listed: Vec<String> = digests
            .iter()
            .enumerate()
            .map(|(run, digest)| {
                format!(
                    "run {} {}",
                    run + 1,
                    short_digest(digest.unwrap_or("absent"))
                )
            })
            .collect();
        details.push(format!("{name} differs: {}", listed.join(", ")));
        for (run_index, cold) in colds.iter().enumerate().skip(1) {
            if cold.layer(name).map(|layer| &layer.digest)
                == first.layer(name).map(|layer| &layer.digest)
            {
                continue;
            }
            let differing = differing_files(first.files.get(name), cold.files.get(name));
            if !differing.is_empty() {
                details.push(format!(
                    "{name} files differing between run 1 and run {}: {}",
                    run_index + 1,
                    summarise_list(&differing, 8)
                ));
            }
        }
    }
    verdict_of(if pass { Verdict::Pass } else { Verdict::Fail }, details)
}

/// Paths whose entry differs (or exists on one side only) between two file lists of a layer.
pub(crate) fn differing_files(
    left: Option<&BTreeMap<String, FileEntry>>,
    right: Option<&BTreeMap<String, FileEntry>>,
) -> Vec<String> {
    let empty = BTreeMap::new();
    let (left, right) = (left.unwrap_or(&empty), right.unwrap_or(&empty));
    let paths: BTreeSet<&String> = left.keys().chain(right.keys()).collect();
    paths
        .into_iter()
        .filter(|path| left.get(*path) != right.get(*path))
        .cloned()
        .collect()
}

fn summarise_list(items: &[String], shown: usize) -> String {
    let mut text = items
        .iter()
        .take(shown)
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > shown {
        let _ = write!(text, " and {} more", items.len() - shown);
    }
    text
}

/// `sha256:0123456789ab…` (the first 12 hex digits).
pub(crate) fn short_digest(digest: &str) -> String {
    match digest.split_once(':') {
        Some((algorithm, hex)) if hex.len() > 12 => format!("{algorithm}:{}…", &hex[..12]),
        _ => digest.to_string(),
    }
}

/// What the report says about where and how it was measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// `2026-11-21 02:50 UTC`.
    pub(crate) date: String,
    /// `- CPU: ...` lines.
    pub(crate) machine: Vec<String>,
    pub(crate) runs: usize,
    /// Extra lines: the commit, apps not measured and why, ...
    pub(crate) notes: Vec<String>,
}

/// The whole report, in Markdown.
pub(crate) fn render(header: &Header, apps: &[AppResult], checks: &[TargetCheck]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Build-speed benchmark results\n");
    let _ = writeln!(
        out,
        "Measured {} with `cargo bench --bench build_speed`.\n",
        header.date
    );
    out.push_str("Machine:\n\n");
    for line in &header.machine {
        let _ = writeln!(out, "- {line}");
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "Each run builds the app from an empty work dir, then rebuilds it after each change \
         in turn (so the Python version scenario keeps the added dependency). Wall time is \
         the median of {} run(s) with min and max, from the start of detection to the end \
         of export; `bin/build` is the median time of the buildpack's build step within it \
         (the rest is the platform: detection, restoring layers, exporting and caching them). \
         Bytes are those of the last run; \"reused\" means the launch layer's \
         content digest equals that of the previous build in the same run (in how many runs, \
         when not all).\n",
        header.runs
    );
    for note in &header.notes {
        let _ = writeln!(out, "{note}\n");
    }
    for app in apps {
        render_app(&mut out, app);
    }
    render_checks(&mut out, checks);
    render_changes(&mut out, apps);
    render_digests(&mut out, apps);
    out
}

fn render_app(out: &mut String, app: &AppResult) {
    let _ = writeln!(out, "## `{}`: {}\n", app.name, app.summary);
    let names: Vec<&str> = app.layer_names().into_iter().collect();
    let mut header = vec![
        "scenario",
        "median",
        "min",
        "max",
        "vs cold",
        "bin/build",
        "launch bytes",
    ];
    header.extend(names.iter().copied());
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", " --- |".repeat(header.len()));
    let cold = app.wall_spread(Scenario::Cold);
    for scenario in Scenario::ALL {
        let Some(wall) = app.wall_spread(scenario) else {
            continue;
        };
        let versus_cold = match cold {
            Some(cold) if scenario != Scenario::Cold => {
                format!("{:.0}%", percent(wall.median, cold.median))
            }
            _ => String::from("—"),
        };
        let builds: Vec<&BuildResult> = app.builds(scenario).collect();
        let Some(last) = builds.last() else {
            continue;
        };
        let mut cells = vec![
            scenario.label(&app.python_change),
            format_duration(wall.median),
            format_duration(wall.min),
            format_duration(wall.max),
            versus_cold,
            app.build_step_median(scenario)
                .map_or_else(|| String::from("?"), format_duration),
            format_bytes(last.launch_bytes()),
        ];
        for name in &names {
            cells.push(layer_cell(scenario, name, &builds));
        }
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
    render_cold_steps(out, app);
}

/// The cold build's time per step (median, min and max over the runs), from the build output.
fn render_cold_steps(out: &mut String, app: &AppResult) {
    let builds: Vec<&BuildResult> = app.builds(Scenario::Cold).collect();
    let mut names: Vec<&str> = Vec::new();
    for build in &builds {
        for (name, _) in &build.steps {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
    }
    if names.is_empty() {
        return;
    }
    let position = |name: &str| {
        crate::steps::STEP_ORDER
            .iter()
            .position(|step| *step == name)
            .unwrap_or(crate::steps::STEP_ORDER.len())
    };
    names.sort_by_key(|name| position(name));
    let _ = writeln!(
        out,
        "Cold build by step (from the build output's timings; a step missing from a run counts as 0):\n"
    );
    let _ = writeln!(
        out,
        "| step | median | min | max |\n| --- | --- | --- | --- |"
    );
    for name in names {
        let samples: Vec<Duration> = builds
            .iter()
            .map(|build| {
                build
                    .steps
                    .iter()
                    .find(|(step, _)| step == name)
                    .map_or(Duration::ZERO, |(_, duration)| *duration)
            })
            .collect();
        if let Some(spread) = crate::stats::spread(&samples) {
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {} |",
                format_duration(spread.median),
                format_duration(spread.min),
                format_duration(spread.max)
            );
        }
    }
    out.push('\n');
}

fn layer_cell(scenario: Scenario, name: &str, builds: &[&BuildResult]) -> String {
    let Some(last) = builds.last().and_then(|build| build.layer(name)) else {
        return String::from("—");
    };
    let present = builds.iter().filter_map(|build| build.layer(name)).count();
    let reused = builds
        .iter()
        .filter_map(|build| build.layer(name))
        .filter(|layer| layer.unchanged)
        .count();
    let state = if reused == present {
        String::from("reused")
    } else if reused > 0 {
        format!("reused {reused}/{present}")
    } else if scenario == Scenario::Cold {
        String::from("new")
    } else {
        String::from("changed")
    };
    format!("{}, {state}", format_bytes(last.bytes))
}

fn render_checks(out: &mut String, checks: &[TargetCheck]) {
    out.push_str("## Targets\n\n| result | target | app | details |\n| --- | --- | --- | --- |\n");
    for check in checks {
        let _ = writeln!(
            out,
            "| {} | {} | `{}` | {} |",
            check.verdict.word(),
            check.target,
            check.app,
            check.details.join("; ")
        );
    }
    out.push('\n');
}

/// For the first run of each app: which launch layers each rebuild changed, and which of
/// their files, so that a layer changed for no good reason shows why.
fn render_changes(out: &mut String, apps: &[AppResult]) {
    out.push_str("## Launch layers changed by each rebuild (run 1)\n\n");
    for app in apps {
        let Some(run) = app.runs.first() else {
            continue;
        };
        for pair in Scenario::ALL.windows(2) {
            let (Some(before), Some(after)) = (run.build(pair[0]), run.build(pair[1])) else {
                continue;
            };
            let changed: Vec<&LayerResult> = after
                .layers
                .iter()
                .filter(|layer| !layer.unchanged)
                .collect();
            if changed.is_empty() {
                let _ = writeln!(
                    out,
                    "- `{}`, {}: none",
                    app.name,
                    pair[1].label(&app.python_change)
                );
            }
            for layer in changed {
                let differing =
                    differing_files(before.files.get(&layer.name), after.files.get(&layer.name));
                let _ = writeln!(
                    out,
                    "- `{}`, {}: `{}`, {} path(s) differ: {}",
                    app.name,
                    pair[1].label(&app.python_change),
                    layer.name,
                    differing.len(),
                    summarise_list(&differing, 5)
                );
            }
        }
    }
    out.push('\n');
}

fn render_digests(out: &mut String, apps: &[AppResult]) {
    out.push_str("## Launch-layer digests of the cold builds\n\n");
    for app in apps {
        for (run, build) in app.builds(Scenario::Cold).enumerate() {
            for layer in &build.layers {
                let _ = writeln!(
                    out,
                    "- `{}` run {}, `{}`: `{}` ({})",
                    app.name,
                    run + 1,
                    layer.name,
                    layer.digest,
                    format_bytes(layer.bytes)
                );
            }
        }
    }
}

/// A line per check, as printed at the end of a benchmark run: `PASS  target  (app)`.
pub(crate) fn verdict_lines(checks: &[TargetCheck]) -> String {
    let mut out = String::new();
    for check in checks {
        let _ = writeln!(
            out,
            "{}  {}  ({})",
            check.verdict.word(),
            check.target,
            check.app
        );
    }
    out
}

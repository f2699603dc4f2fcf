//! Runs an app's scenarios through the local platform and records what each build exported.

use crate::apps::{App, remove_tree};
use crate::report::{
    AppResult, BuildResult, FileEntry, LayerResult, Manifest, RunResult, Scenario, find_build_only,
};
use crate::stats::format_duration;
use local_platform::{BuildRequest, Buildpack, Output, Platform};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What every build of the benchmark shares.
pub(crate) struct Bench {
    pub(crate) buildpack: Buildpack,
    /// Platform env (`pack build --env`).
    pub(crate) env: BTreeMap<String, String>,
    /// Where each app gets its source copy and platform work dir.
    pub(crate) scratch_dir: PathBuf,
    /// When the last timed build ended (or the benchmark started): see [`Bench::settle`].
    pub(crate) last_build_end: std::cell::Cell<Instant>,
}

/// How long after a file is deleted ext4 still passes over its inode when it allocates one. These
/// machines' ext4 has no journal, and then (the kernel's `fs/ext4/ialloc.c`, `find_inode_bit`
/// and `recently_deleted`) a free inode whose deletion time is less than `RECENTCY_MIN` = 60 s
/// old is skipped, or less than 60 + `RECENTCY_DIRTY` = 360 s while its inode table block is
/// not yet written back; each skip looks the block up again. After a build deleted thousands of
/// files, the next build's file creations got slower, and more so with each round (three
/// cold Django builds in a row: 4.8 s, 7.3 s, 10.1 s).
const INODE_RECENTCY: Duration = Duration::from_secs(61);

/// Lines of a failed build's output shown in the error.
const FAILED_OUTPUT_LINES: usize = 40;

impl Bench {
    /// Where discarded work dirs wait until every build was measured ([`Bench::empty_trash`]).
    fn trash_dir(&self) -> PathBuf {
        self.scratch_dir.join("trash")
    }

    /// Moves `path` (if it exists) into the trash instead of deleting it: deleting a work dir is
    /// the benchmark's clean-up, not part of any build, and deleting its tens of thousands of
    /// files right before a cold build can slow that build's own file creation (ext4 passes over
    /// inodes freed in the last minute or so when it allocates new ones).
    fn discard(&self, path: &Path, name: &str) -> Result<(), String> {
        if fs::symlink_metadata(path).is_err() {
            return Ok(());
        }
        let trash = self.trash_dir();
        fs::create_dir_all(&trash)
            .map_err(|error| format!("Cannot create {}: {error}", trash.display()))?;
        let mut target = trash.join(name);
        let mut suffix = 1;
        while fs::symlink_metadata(&target).is_ok() {
            suffix += 1;
            target = trash.join(format!("{name}-{suffix}"));
        }
        fs::rename(path, &target).map_err(|error| {
            format!(
                "Cannot move {} to {}: {error}",
                path.display(),
                target.display()
            )
        })
    }

    /// Deletes the discarded work dirs, once nothing is measured any more.
    pub(crate) fn empty_trash(&self) -> Result<(), String> {
        remove_tree(&self.trash_dir())
    }

    /// Runs every scenario of `app` `runs` times. Each run starts from an empty work dir at the
    /// same path (layers hold absolute paths, so two cold builds are only comparable there).
    pub(crate) fn run_app(&self, app: &App, runs: usize) -> Result<AppResult, String> {
        let python_change = app.python_change()?;
        let source = self.scratch_dir.join(app.name).join("source");
        let work_dir = self.scratch_dir.join(app.name).join("work");
        let logs_dir = self.scratch_dir.join(app.name).join("logs");
        remove_tree(&logs_dir)?;
        fs::create_dir_all(&logs_dir)
            .map_err(|error| format!("Cannot create {}: {error}", logs_dir.display()))?;
        let mut result = AppResult {
            name: app.name.to_string(),
            summary: app.summary.to_string(),
            python_change: python_change.clone(),
            runs: Vec::new(),
            findings: BTreeSet::new(),
        };
        for run in 1..=runs {
            self.discard(&work_dir, &format!("{}-run-{run}", app.name))?;
            let platform = Platform::new(&work_dir, self.buildpack.clone())
                .map_err(|error| error.to_string())?;
            let mut builds = Vec::new();
            for scenario in Scenario::ALL {
                if scenario == Scenario::Cold {
                    self.settle();
                }
                app.prepare(scenario, &source)?;
                let label = scenario.label(&python_change);
                eprint!("{} run {run}/{runs}: {label} ... ", app.name);
                let _ = std::io::stderr().flush();
                let log = logs_dir.join(format!("run-{run}-{}.log", scenario.slug()));
                let build = self
                    .build(&platform, app, &source, &log)
                    .map_err(|error| format!("{label}, run {run}: {error}"))?;
                eprintln!("{}", format_duration(build.wall));
                result.findings.extend(find_build_only(&build.files));
                builds.push(build);
            }
            result.runs.push(RunResult { builds });
        }
        Ok(result)
    }

    /// Lets a cold build start on a file system like a fresh CI machine's, where no files were
    /// deleted in the last minute: `sync` writes back the inode tables of the files the earlier
    /// builds deleted, then it waits until [`INODE_RECENTCY`] has passed since the last build
    /// (or the benchmark's start). The rebuild scenarios follow their previous build at once,
    /// as they do for a user.
    fn settle(&self) {
        // Without `sync` on the machine, the wait is shorter than it should be, not wrong.
        let _ = std::process::Command::new("sync").status();
        if let Some(rest) = INODE_RECENTCY.checked_sub(self.last_build_end.get().elapsed()) {
            eprintln!(
                "(waiting {} for the file system to settle before a cold build)",
                format_duration(rest)
            );
            std::thread::sleep(rest);
        }
    }

    /// One timed build; its output goes to `log`. The launch layers' files are read from the
    /// image afterwards, outside the timing.
    fn build(
        &self,
        platform: &Platform,
        app: &App,
        source: &Path,
        log: &Path,
    ) -> Result<BuildResult, String> {
        let request = BuildRequest {
            app_dir: source.to_path_buf(),
            env: self.env.clone(),
            clear_cache: false,
            image_name: format!("build-speed-{}", app.name.replace('_', "-")),
        };
        let output = Output::captured();
        let watch = PhaseWatch::start(output.clone());
        let start = Instant::now();
        let outcome = platform.build(&request, &output);
        let wall = start.elapsed();
        self.last_build_end.set(Instant::now());
        let build_step = watch.build_step();
        let outcome = outcome.map_err(|error| error.to_string())?;
        let text = format!("{}{}", output.stdout(), output.stderr());
        fs::write(log, &text)
            .map_err(|error| format!("Cannot write {}: {error}", log.display()))?;
        let export = match outcome.export {
            Some(export) if outcome.success => export,
            _ => {
                return Err(format!(
                    "the build failed (exit code {}). The end of its output (all of it in {}):\n{}",
                    outcome.exit_code,
                    log.display(),
                    tail(&text, FAILED_OUTPUT_LINES)
                ));
            }
        };
        let image = platform.materialise().map_err(|error| error.to_string())?;
        let files = launch_layer_files(&image.layer_dirs)?;
        let layers = export
            .layers
            .iter()
            .map(|layer| LayerResult {
                name: layer.name.clone(),
                bytes: layer.bytes,
                digest: layer.digest.clone(),
                unchanged: layer.unchanged,
            })
            .collect();
        Ok(BuildResult {
            wall,
            build_step,
            steps: crate::steps::steps(&text),
            layers,
            files,
        })
    }
}

/// Times the platform's build phase (the buildpack's `bin/build`) from outside: a thread
/// notes when the platform prints the `BUILDING` and the `EXPORTING` headers.
struct PhaseWatch {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<[Option<Instant>; 2]>,
}

impl PhaseWatch {
    const HEADERS: [&str; 2] = ["===> BUILDING", "===> EXPORTING"];
    const POLL: Duration = Duration::from_millis(10);

    fn start(output: Output) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut seen = [None, None];
            loop {
                let stopping = stopped.load(Ordering::Relaxed);
                let text = output.stdout();
                for (header, seen) in Self::HEADERS.iter().zip(&mut seen) {
                    if seen.is_none() && text.contains(header) {
                        *seen = Some(Instant::now());
                    }
                }
                if stopping || seen.iter().all(Option::is_some) {
                    return seen;
                }
                std::thread::sleep(Self::POLL);
            }
        });
        Self { stop, thread }
    }

    /// From `BUILDING` to `EXPORTING` (within the poll interval), when both were printed.
    fn build_step(self) -> Option<Duration> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.join() {
            Ok([Some(building), Some(exporting)]) => Some(exporting.duration_since(building)),
            _ => None,
        }
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The files of each launch layer of the image, by layer name (the dir's name).
fn launch_layer_files(layer_dirs: &[PathBuf]) -> Result<Manifest, String> {
    let mut manifest = Manifest::new();
    for dir in layer_dirs {
        let name = dir
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut files = BTreeMap::new();
        list_files(dir, dir, &mut files)?;
        manifest.insert(name, files);
    }
    Ok(manifest)
}

fn list_files(
    root: &Path,
    dir: &Path,
    files: &mut BTreeMap<String, FileEntry>,
) -> Result<(), String> {
    let read_error =
        |path: &Path, error: std::io::Error| format!("Cannot read {}: {error}", path.display());
    for entry in fs::read_dir(dir).map_err(|error| read_error(dir, error))? {
        let path = entry.map_err(|error| read_error(dir, error))?.path();
        let relative = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let metadata = fs::symlink_metadata(&path).map_err(|error| read_error(&path, error))?;
        let entry = if metadata.file_type().is_symlink() {
            let target = fs::read_link(&path).map_err(|error| read_error(&path, error))?;
            FileEntry {
                content: format!("-> {}", target.display()),
                bytes: 0,
            }
        } else if metadata.is_dir() {
            list_files(root, &path, files)?;
            FileEntry {
                content: String::from("dir"),
                bytes: 0,
            }
        } else {
            let contents = fs::read(&path).map_err(|error| read_error(&path, error))?;
            let executable = metadata.permissions().mode() & 0o111 != 0;
            FileEntry {
                content: format!(
                    "sha256:{:x}{}",
                    Sha256::digest(&contents),
                    if executable { " +x" } else { "" }
                ),
                bytes: metadata.len(),
            }
        };
        files.insert(relative, entry);
    }
    Ok(())
}

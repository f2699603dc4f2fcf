//! Compiling a tree of Python modules to hash-based bytecode on every core, with a result that
//! doesn't depend on the number of cores.
//!
//! A `.pyc` file depends on which files the same process compiled before it (marshal writes an
//! object as a back-reference when it is shared, which depends on what the process interned
//! already), so `compileall -j N`'s worker pool, which hands files to whichever worker is free,
//! gives different bytes from one run to the next. Here the sorted list of files is cut into
//! [`SHARDS`] contiguous shards, a number fixed whatever the machine, and each shard is compiled
//! by a process of its own (`compile_files.py`, the shard's files in sorted order on stdin): the
//! same files in the same order in the same kind of process give the same bytes, whichever
//! shards run side by side. At most one shard per core runs at a time.
//!
//! `compile_files.py` does what `compileall -f --invalidation-mode unchecked-hash` does for each
//! file, with the import system's frozen module only: importing compileall in each process
//! would first compile some twenty modules of a standard library that has no bytecode yet
//! (0.2 s of CPU a process). Every run gets `PYTHONHASHSEED=0` (with a random seed, Python 3.10
//! writes frozenset constants in a random order); every `.pyc` is written anew (an installer's
//! or an archive's timestamp-based one is replaced), hash-based and never checked against its
//! source: exporting an image resets mtimes, which would make timestamp-based `.pyc` files
//! stale at launch. Only the interpreter's optimisation level 0 is
//! compiled, the only one apps run at; `.opt-1.pyc` / `.opt-2.pyc` files already in the tree
//! (`CPython`'s `make install`, and so python-build-standalone's archives, writes all three
//! levels) are removed: nothing would use them.
//!
//! A shard's bytes must not depend on which other shards have finished either. Every process
//! imports a few modules before it reads its list (`encodings`, `encodings.utf_8`, `warnings`,
//! ...), and whether it imports them from source or from the `.pyc` an earlier shard wrote
//! changes what the process has interned, and so the bytes of the shard's own files: with two
//! workers, two cold builds gave different standard-library bytecode. So each shard runs with
//! [`SHARD_OPTIONS`]: no `site` (nothing from site-packages or a `.pth` file is imported), no
//! bytecode written by its imports (`-B`), and a `pycache_prefix` under `/dev/null`, where no
//! directory can exist. With a prefix set, the import system reads and writes bytecode only in
//! a tree under it instead of the `__pycache__` directories (Python's docs for
//! `sys.pycache_prefix`, 3.8+), so every import in every shard compiles from source, the same
//! way whatever else has run. `compile_files.py` computes each output path with the prefix unset.

use crate::redact::redact_credentials;
use bullet_stream::global::print;
use bullet_stream::style;
use fun_run::CmdError;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many processes compile a tree, whatever the number of cores (changing it changes the
/// bytecode every build writes).
pub(crate) const SHARDS: usize = 8;

const COMPILE_SCRIPT: &str = include_str!("bytecode/compile_files.py");

/// Every shard's interpreter options (see the module docs): `-S` no `site` module, `-B` no
/// bytecode written by imports, and a bytecode prefix that can't exist, so that no import
/// reads a `.pyc` another shard wrote.
const SHARD_OPTIONS: [&str; 4] = ["-S", "-B", "-X", "pycache_prefix=/dev/null/none"];

/// How to run the interpreter that compiles.
pub(crate) struct Interpreter<'a> {
    pub(crate) python: &'a Path,
    /// The environment (`PYTHONHASHSEED=0` is added).
    pub(crate) vars: &'a [(OsString, OsString)],
    pub(crate) current_dir: Option<&'a Path>,
}

/// Compiles every `.py` file under `root`, except in the directories for which `skip_dir`
/// (given a directory's path relative to `root`) is true. Prints one timed line naming the
/// command each shard runs.
pub(crate) fn compile_tree(
    interpreter: &Interpreter,
    root: &Path,
    skip_dir: impl Fn(&Path) -> bool,
) -> Result<(), CmdError> {
    let display = redact_credentials(&format!(
        "{} {} -c <compile_files.py> < <files>",
        interpreter.python.display(),
        SHARD_OPTIONS.join(" ")
    ));
    let timer = print::sub_start_timer(format!(
        "Compiling {} to bytecode: {SHARDS} shards of its files, each run by {}",
        root.display(),
        style::command(&display)
    ));
    let mut files = Vec::new();
    if let Err(error) = collect(root, Path::new(""), &skip_dir, &mut files) {
        timer.cancel("failed");
        return Err(CmdError::SystemError(display, error));
    }
    files.sort();
    let shards = split(&files, SHARDS);
    let result = run_shards(interpreter, &display, &shards);
    match &result {
        Ok(()) => timer.done(),
        Err(_) => timer.cancel("failed"),
    }
    result
}

/// `python <SHARD_OPTIONS> -c <compile_files.py>`, reading its files from stdin.
fn shard_command(interpreter: &Interpreter) -> Command {
    let mut command = crate::tool_command::command(interpreter.python, interpreter.vars);
    command
        .env("PYTHONHASHSEED", "0")
        .args(SHARD_OPTIONS)
        .args(["-c", COMPILE_SCRIPT]);
    if let Some(dir) = interpreter.current_dir {
        command.current_dir(dir);
    }
    command
}

/// The `.py` files under `dir` (`relative` to the root), as `compileall` would find them:
/// `__pycache__` and symlinked directories are not entered. Removes unused optimised `.pyc`s.
/// File names that can't be one line of UTF-8 (the script's list format) are left out: such a
/// module is compiled when it is first imported instead.
fn collect(
    dir: &Path,
    relative: &Path,
    skip_dir: &impl Fn(&Path) -> bool,
    files: &mut Vec<(String, u64)>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let file_type = entry.file_type()?;
        if name == "__pycache__" {
            if file_type.is_dir() {
                remove_optimised_bytecode(&path)?;
            }
            continue;
        }
        if file_type.is_dir() {
            let relative = relative.join(&name);
            if !skip_dir(&relative) {
                collect(&path, &relative, skip_dir, files)?;
            }
        } else if path.extension().is_some_and(|extension| extension == "py") {
            let Some(text) = path.to_str().filter(|text| !text.contains(['\n', '\r'])) else {
                continue;
            };
            // Follows a symlink, as compileall does; a dangling one is compileall's to report.
            let size = std::fs::metadata(&path).map_or(0, |metadata| metadata.len());
            files.push((text.to_string(), size));
        }
    }
    Ok(())
}

fn remove_optimised_bytecode(pycache: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(pycache)? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.ends_with(".opt-1.pyc") || name.ends_with(".opt-2.pyc") {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// `files` (sorted) cut into `count` contiguous runs of about equal total size.
fn split(files: &[(String, u64)], count: usize) -> Vec<Vec<PathBuf>> {
    let total: u64 = files.iter().map(|(_, size)| size + 1).sum();
    let mut shards = vec![Vec::new(); count];
    let mut so_far = 0;
    for (path, size) in files {
        // The shard this file's first byte falls in.
        let index = usize::try_from(so_far * count as u64 / total.max(1)).unwrap_or(count - 1);
        shards[index.min(count - 1)].push(PathBuf::from(path));
        so_far += size + 1;
    }
    shards
}

/// Runs the non-empty shards, at most one per core at a time; the first failure is returned
/// (in shard order, so the same failure is reported whatever the timing).
fn run_shards(
    interpreter: &Interpreter,
    display: &str,
    shards: &[Vec<PathBuf>],
) -> Result<(), CmdError> {
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(shards.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, CmdError)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(files) = shards.get(index) else {
                        break;
                    };
                    if files.is_empty() {
                        continue;
                    }
                    if let Err(error) = run_shard(interpreter, display, files) {
                        results
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push((index, error));
                    }
                }
            });
        }
    });
    let mut failures = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    failures.sort_by_key(|(index, _)| *index);
    failures
        .into_iter()
        .next()
        .map_or(Ok(()), |(_, error)| Err(error))
}

fn run_shard(interpreter: &Interpreter, display: &str, files: &[PathBuf]) -> Result<(), CmdError> {
    let system_error = |error| CmdError::SystemError(display.to_string(), error);
    let mut child = shard_command(interpreter)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(system_error)?;
    let mut list = String::new();
    for file in files {
        list.push_str(&file.to_string_lossy());
        list.push('\n');
    }
    // Written from another thread, so that a child filling its output pipes can't deadlock.
    let stdin = child.stdin.take();
    let writer = std::thread::spawn(move || {
        stdin.map_or(Ok(()), |mut stdin| stdin.write_all(list.as_bytes()))
    });
    let output = child.wait_with_output().map_err(system_error)?;
    let _ = writer.join();
    if output.status.success() {
        Ok(())
    } else {
        fun_run::nonzero_captured(display.to_string(), output).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_contiguous_and_balanced_by_size() {
        let files: Vec<(String, u64)> = (0..10).map(|i| (format!("f{i}"), 99)).collect();
        let shards = split(&files, 4);
        let names: Vec<Vec<String>> = shards
            .iter()
            .map(|shard| shard.iter().map(|p| p.display().to_string()).collect())
            .collect();
        assert_eq!(
            names,
            [
                vec!["f0", "f1", "f2"],
                vec!["f3", "f4"],
                vec!["f5", "f6", "f7"],
                vec!["f8", "f9"]
            ]
        );
        assert_eq!(split(&[], 3), vec![Vec::<PathBuf>::new(); 3]);
    }

    /// Every `.pyc` under `root`, by path.
    fn bytecode_under(root: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
        let mut found = std::collections::BTreeMap::new();
        let mut dirs = vec![root.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|ext| ext == "pyc") {
                    found.insert(path.clone(), std::fs::read(&path).unwrap());
                }
            }
        }
        found
    }

    /// Compiles the standard library of the runtime `archive` twice, first with no bytecode,
    /// then with all of it written: the `.pyc` files that changed.
    fn stdlib_bytecode_changed_by_a_second_compile(archive: &Path) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("tar")
            .arg("-xzf")
            .arg(archive)
            .arg("-C")
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "unpacking {}", archive.display());
        let stdlib = std::fs::read_dir(dir.path().join("python/lib"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .find(|path| {
                path.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("python3.")
            })
            .expect("lib/python3.X");
        let python = dir.path().join("python/bin/python3");
        let interpreter = Interpreter {
            python: &python,
            vars: &[],
            current_dir: Some(&stdlib),
        };
        let skip = |dir: &Path| dir == Path::new("site-packages") || dir.ends_with("test");
        assert!(bytecode_under(&stdlib).is_empty());
        compile_tree(&interpreter, &stdlib, skip).unwrap();
        let first = bytecode_under(&stdlib);
        assert!(first.len() > 500, "{} .pyc files", first.len());
        compile_tree(&interpreter, &stdlib, skip).unwrap();
        let second = bytecode_under(&stdlib);
        first
            .iter()
            .filter(|(path, bytes)| second.get(*path) != Some(bytes))
            .map(|(path, _)| path.strip_prefix(&stdlib).unwrap().display().to_string())
            .collect()
    }

    /// A shard's bytes don't depend on whether the modules its interpreter imports at startup
    /// (`encodings`, ...) already have bytecode, i.e. on which other shards finished first:
    /// compiling a standard library that has none, and compiling it again once all of it has,
    /// give the same bytes, with every archive of `scripts/build-test-runtimes` (with only
    /// `-s -B`, 3.12's `argparse.pyc` came out different).
    #[test]
    fn shard_bytecode_does_not_depend_on_bytecode_already_written() {
        let runtimes = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-runtimes");
        let archives: Vec<PathBuf> = std::fs::read_dir(&runtimes)
            .unwrap_or_else(|error| {
                panic!(
                    "{}: {error}; run scripts/build-test-runtimes",
                    runtimes.display()
                )
            })
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.to_string_lossy().ends_with(".tar.gz"))
            .collect();
        assert!(
            !archives.is_empty(),
            "no archives in {}",
            runtimes.display()
        );
        for archive in archives {
            let changed = stdlib_bytecode_changed_by_a_second_compile(&archive);
            assert!(
                changed.is_empty(),
                "{}: bytecode that changed: {changed:?}",
                archive.display()
            );
        }
    }
}

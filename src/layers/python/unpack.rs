//! Unpacking a runtime archive into the `python` layer, and tidying it, without ever touching
//! anything outside the layer.
//!
//! Every file operation goes through a [`cap_std::fs::Dir`] handle on the layer: paths are
//! resolved beneath it (`openat2(RESOLVE_BENEATH)` or cap-std's own equivalent), so a symlink
//! that leads out of the layer makes the operation fail instead of following it out. On top of
//! that, no entry is written through a symlink, and every symlink in the layer must resolve, through
//! all the links unpacked before and after it, to a place inside the layer: a chain of links that
//! each look harmless on their own (`a/u1 -> ../..`, `a/u2 -> u1/../..`) is refused. So once
//! [`unpack_runtime`] succeeds, any path in the layer that names no `..` stays in the layer when
//! followed, for the steps after it (tidying, compiling the standard library, running the
//! runtime) as for anything else.

use super::{PythonLayerError, stdlib_dir};
use crate::inventory::Artifact;
use cap_std::ambient_authority;
use cap_std::fs::{Dir, Permissions};
use flate2::read::GzDecoder;
use std::collections::HashSet;
use std::fs::{self, File, FileTimes};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Unpacks a python-build-standalone `install_only` archive into `layer_dir`, dropping the
/// leading `python/`. Nothing may land outside `layer_dir`: absolute paths, `..`, links that
/// resolve outside the layer (alone or through other links), writes through symlinks and special
/// files are all refused.
pub(crate) fn unpack_runtime(archive: &Path, layer_dir: &Path) -> Result<(), UnpackProblem> {
    let root =
        open_layer(layer_dir).map_err(|error| UnpackProblem::Write(layer_dir.into(), error))?;
    let file = File::open(archive).map_err(UnpackProblem::Read)?;
    let mut tar = tar::Archive::new(GzDecoder::new(io::BufReader::new(file)));
    let mut tree =
        Unpacked::start(&root).map_err(|error| UnpackProblem::Write(layer_dir.into(), error))?;
    for entry in tar.entries().map_err(UnpackProblem::Read)? {
        let mut entry = entry.map_err(UnpackProblem::Read)?;
        let raw_path = entry.path().map_err(UnpackProblem::Read)?.into_owned();
        let entry_type = entry.header().entry_type();
        if entry_type.is_pax_global_extensions() {
            continue;
        }
        let relative = layer_relative(&raw_path)?;
        if is_left_out(&relative) {
            continue;
        }
        let destination = layer_dir.join(&relative);
        tree.refuse_symlinked_ancestors(&relative)?;
        let mode = entry.header().mode().map_err(UnpackProblem::Read)? & 0o777;
        let write_error = |error| UnpackProblem::Write(destination.clone(), error);
        if entry_type.is_dir() {
            if relative.as_os_str().is_empty() {
                continue;
            }
            if tree.links.contains(&relative) {
                return Err(UnpackProblem::UnsafeEntry(
                    raw_path,
                    "it would be written through a symlink",
                ));
            }
            tree.create_dir_all(&root, &relative).map_err(write_error)?;
            root.set_permissions(&relative, permissions(mode | 0o700))
                .map_err(write_error)?;
            continue;
        }
        if relative.as_os_str().is_empty() {
            return Err(UnpackProblem::UnsafeEntry(
                raw_path,
                "it would replace the layer itself",
            ));
        }
        if let Some(parent) = relative.parent().filter(|p| !p.as_os_str().is_empty()) {
            tree.create_dir_all(&root, parent).map_err(write_error)?;
        }
        tree.remove_if_present(&root, &relative)
            .map_err(write_error)?;
        if entry_type.is_file() {
            let mut file = root.create(&relative).map_err(write_error)?.into_std();
            tree.others.insert(relative.clone());
            io::copy(&mut entry, &mut file).map_err(UnpackProblem::Read)?;
            file.set_permissions(fs::Permissions::from_mode(mode))
                .map_err(write_error)?;
            // Keeping the archive's times keeps its .pyc files valid.
            if let Ok(mtime) = entry.header().mtime() {
                let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(mtime);
                file.set_times(FileTimes::new().set_modified(modified))
                    .map_err(write_error)?;
            }
        } else if entry_type.is_symlink() {
            let target = link_name(&entry, &raw_path)?;
            check_symlink_target(&relative, &target)
                .map_err(|reason| UnpackProblem::UnsafeEntry(raw_path.clone(), reason))?;
            root.symlink(&target, &relative).map_err(write_error)?;
            tree.links.insert(relative.clone());
            // What it resolves to through the links unpacked so far; the links unpacked after it
            // are checked at the end.
            check_resolves_inside(&root, &relative)?;
        } else if entry_type.is_hard_link() {
            let target = layer_relative(&link_name(&entry, &raw_path)?)?;
            tree.refuse_symlinked_ancestors(&target)?;
            if target.as_os_str().is_empty()
                || !root
                    .symlink_metadata(&target)
                    .is_ok_and(|metadata| metadata.is_file())
            {
                return Err(UnpackProblem::UnsafeEntry(
                    raw_path,
                    "it is a hard link to something that isn't a file unpacked before it",
                ));
            }
            root.hard_link(&target, &root, &relative)
                .map_err(write_error)?;
            tree.others.insert(relative.clone());
        } else {
            return Err(UnpackProblem::UnsafeEntry(
                raw_path,
                "it is neither a file, a directory nor a link",
            ));
        }
    }
    // A link unpacked early can lead out through a link unpacked after it (`a -> x/..`, then
    // `x -> .`): every link is checked again against the finished tree.
    check_every_link(&root, Path::new(""))
}

/// The runtime's own pip (its package, its `.dist-info` and its `bin/pip*` commands) and the
/// `EXTERNALLY-MANAGED` marker, which [`tidy_runtime`] would remove (see there why): they are
/// left out as the archive is read instead, so that a third of the archive's files (490 of a
/// runtime's 1500) are neither written nor then deleted. Deleting them made the files written
/// next, the standard library's bytecode, slower to create.
fn is_left_out(relative: &Path) -> bool {
    let parts: Vec<&std::ffi::OsStr> = relative.iter().collect();
    let is_stdlib = |part: &std::ffi::OsStr| part.to_string_lossy().starts_with("python3.");
    match parts.as_slice() {
        [bin, command] if *bin == "bin" => {
            let command = command.to_string_lossy();
            command == "pip" || command == "pip3" || command.starts_with("pip3.")
        }
        [lib, stdlib, marker] if *lib == "lib" && is_stdlib(stdlib) => {
            *marker == "EXTERNALLY-MANAGED"
        }
        [lib, stdlib, site_packages, name, ..]
            if *lib == "lib" && is_stdlib(stdlib) && *site_packages == "site-packages" =>
        {
            is_bundled_pip(&name.to_string_lossy())
        }
        _ => false,
    }
}

/// `pip` or `pip-<version>.dist-info`, in `site-packages`.
fn is_bundled_pip(name: &str) -> bool {
    name == "pip" || (name.starts_with("pip-") && name.ends_with(".dist-info"))
}

/// What the unpack has put in the layer so far, kept in memory so that each entry's checks
/// (is an ancestor a symlink? is the path taken? does the parent exist?) cost no system call:
/// looking each one up in the layer took, for a 1456-file test runtime, 10729 `openat2`, 7481
/// `statx` and 1577 `mkdirat` calls (`strace -c`), against 1816, none and 114 now. It is exact
/// because the layer is emptied first, and every change to the layer goes through it.
struct Unpacked {
    /// Directories, the layer's own (`""`) among them.
    dirs: HashSet<PathBuf>,
    links: HashSet<PathBuf>,
    /// Files and hard links.
    others: HashSet<PathBuf>,
}

impl Unpacked {
    /// Empties the layer (never following a link out of it).
    fn start(root: &Dir) -> io::Result<Self> {
        for entry in root.entries()? {
            let name = PathBuf::from(entry?.file_name());
            remove_if_present(root, &name)?;
        }
        Ok(Self {
            dirs: HashSet::from([PathBuf::new()]),
            links: HashSet::new(),
            others: HashSet::new(),
        })
    }

    /// Refuses to write through a symlink that an earlier entry created.
    fn refuse_symlinked_ancestors(&self, relative: &Path) -> Result<(), UnpackProblem> {
        if relative
            .ancestors()
            .skip(1)
            .any(|ancestor| self.links.contains(ancestor))
        {
            return Err(UnpackProblem::UnsafeEntry(
                Path::new("python").join(relative),
                "it would be written through a symlink",
            ));
        }
        Ok(())
    }

    /// Creates the directory and its missing ancestors. (No ancestor is a link: the caller
    /// refused those.)
    fn create_dir_all(&mut self, root: &Dir, relative: &Path) -> io::Result<()> {
        if self.dirs.contains(relative) {
            return Ok(());
        }
        if let Some(parent) = relative.parent() {
            self.create_dir_all(root, parent)?;
        }
        root.create_dir(relative)?;
        self.dirs.insert(relative.to_path_buf());
        Ok(())
    }

    /// Removes whatever an earlier entry put at `relative` (a directory with all it holds).
    fn remove_if_present(&mut self, root: &Dir, relative: &Path) -> io::Result<()> {
        if self.dirs.contains(relative) {
            root.remove_dir_all(relative)?;
            for set in [&mut self.dirs, &mut self.links, &mut self.others] {
                set.retain(|path| !path.starts_with(relative));
            }
        } else if self.links.remove(relative) || self.others.remove(relative) {
            root.remove_file(relative)?;
        }
        Ok(())
    }
}

fn open_layer(layer_dir: &Path) -> io::Result<Dir> {
    Dir::open_ambient_dir(layer_dir, ambient_authority())
}

fn permissions(mode: u32) -> Permissions {
    Permissions::from_std(fs::Permissions::from_mode(mode))
}

fn link_name<R: io::Read>(
    entry: &tar::Entry<R>,
    raw_path: &Path,
) -> Result<PathBuf, UnpackProblem> {
    entry
        .link_name()
        .map_err(UnpackProblem::Read)?
        .map(std::borrow::Cow::into_owned)
        .ok_or_else(|| UnpackProblem::UnsafeEntry(raw_path.to_path_buf(), "its link has no target"))
}

/// `python/bin/python3` becomes `bin/python3`; anything not inside `python/`, or that climbs out
/// with `..`, or is absolute, is refused.
fn layer_relative(raw_path: &Path) -> Result<PathBuf, UnpackProblem> {
    let mut components = raw_path
        .components()
        .filter(|component| *component != Component::CurDir);
    if components.next() != Some(Component::Normal("python".as_ref())) {
        return Err(UnpackProblem::UnsafeEntry(
            raw_path.to_path_buf(),
            "it is not inside the archive's python/ directory",
        ));
    }
    let mut relative = PathBuf::new();
    for component in components {
        match component {
            Component::Normal(part) => relative.push(part),
            _ => {
                return Err(UnpackProblem::UnsafeEntry(
                    raw_path.to_path_buf(),
                    "its path climbs out of the archive's python/ directory",
                ));
            }
        }
    }
    Ok(relative)
}

/// A symlink's target must be relative and, read on its own from the link's directory, stay
/// inside the layer. (What it resolves to through other links is [`check_resolves_inside`]'s.)
fn check_symlink_target(link: &Path, target: &Path) -> Result<(), &'static str> {
    let mut depth = link.components().count().saturating_sub(1);
    for component in target.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth = depth
                    .checked_sub(1)
                    .ok_or("it is a symlink that points outside the layer")?;
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err("it is a symlink to an absolute path, outside the layer");
            }
        }
    }
    Ok(())
}

/// Refuses the symlink at `relative` (in the layer) if resolving it, through every link in the
/// layer, leads outside the layer. A link that leads nowhere yet (a missing file, or a file
/// where a directory should be) can't be followed out, and is kept.
fn check_resolves_inside(root: &Dir, relative: &Path) -> Result<(), UnpackProblem> {
    let refuse = |reason| {
        Err(UnpackProblem::UnsafeEntry(
            Path::new("python").join(relative),
            reason,
        ))
    };
    match root.canonicalize(relative) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
            refuse("it is a symlink that resolves outside the layer through other links")
        }
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(())
        }
        Err(_) => refuse("it is a symlink that can't be resolved (a loop of links?)"),
    }
}

/// [`check_resolves_inside`] for every symlink under `dir` (relative to the layer), without
/// following any.
fn check_every_link(root: &Dir, dir: &Path) -> Result<(), UnpackProblem> {
    let read_error = |error| UnpackProblem::Write(dir.to_path_buf(), error);
    let entries = if dir.as_os_str().is_empty() {
        root.entries()
    } else {
        root.read_dir(dir)
    };
    for entry in entries.map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let path = dir.join(entry.file_name());
        let file_type = entry.file_type().map_err(read_error)?;
        if file_type.is_symlink() {
            check_resolves_inside(root, &path)?;
        } else if file_type.is_dir() {
            check_every_link(root, &path)?;
        }
    }
    Ok(())
}

/// Removes the file, link or directory tree at `relative` in the layer, if there is one. A link
/// is removed, never followed.
fn remove_if_present(root: &Dir, relative: &Path) -> io::Result<()> {
    let result = match root.symlink_metadata(relative) {
        Ok(metadata) if metadata.is_dir() => root.remove_dir_all(relative),
        Ok(_) => root.remove_file(relative),
        Err(error) => Err(error),
    };
    match result {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

#[derive(Debug)]
pub(crate) enum UnpackProblem {
    /// The archive can't be read: not gzip, not tar, or cut short.
    Read(io::Error),
    Write(PathBuf, io::Error),
    /// An entry (its path in the archive) that would escape the layer, and why.
    UnsafeEntry(PathBuf, &'static str),
}

/// Checks that the archive held the promised runtime, and removes what must not stay in it. Every
/// path is resolved beneath the layer (see the module docs).
pub(super) fn tidy_runtime(artifact: &Artifact, layer_dir: &Path) -> Result<(), PythonLayerError> {
    let io_error = |error| PythonLayerError::Io {
        action: "tidy the unpacked Python runtime",
        error,
    };
    let root = open_layer(layer_dir).map_err(io_error)?;
    let version = artifact.version.major_minor();
    let stdlib = stdlib_dir(artifact, Path::new(""));
    if !root.is_file("bin/python3") || !root.is_dir(&stdlib) {
        return Err(PythonLayerError::NotTheRuntime {
            url: crate::redact::redact_url(&artifact.url),
            version: artifact.version.to_string(),
        });
    }
    // The app's dependencies go into their own environment; this marker would only make pip
    // refuse to work.
    remove_if_present(&root, &stdlib.join("EXTERNALLY-MANAGED")).map_err(io_error)?;
    // Apps and Procfiles say `python`; not every archive has it.
    if root.symlink_metadata("bin/python").is_err() {
        root.symlink("python3", "bin/python").map_err(io_error)?;
    }
    // The runtime's bundled pip is removed: the buildpack installs a pinned pip of its own, and
    // two pips (one on PATH, one importable) would disagree. `ensurepip` keeps its wheel, so
    // `python -m venv` still works. (Unpacking leaves them out already; an archive unpacked some
    // other way may still hold them.)
    for name in ["pip", "pip3", &format!("pip{version}")] {
        remove_if_present(&root, &Path::new("bin").join(name)).map_err(io_error)?;
    }
    let site_packages = stdlib.join("site-packages");
    if root.is_dir(&site_packages) {
        for entry in root.read_dir(&site_packages).map_err(io_error)? {
            let entry = entry.map_err(io_error)?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if is_bundled_pip(&name) {
                remove_if_present(&root, &site_packages.join(entry.file_name()))
                    .map_err(io_error)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use indoc::formatdoc;

    enum Item {
        Dir(&'static str),
        File(&'static str, &'static [u8], u32),
        Symlink(&'static str, &'static str),
        HardLink(&'static str, &'static str),
        Fifo(&'static str),
    }

    /// Writes a .tar.gz with raw entry names, so that hostile names (`..`, absolute) can be made.
    fn archive(items: &[Item]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut builder =
            tar::Builder::new(GzEncoder::new(file.reopen().unwrap(), Compression::fast()));
        for item in items {
            let mut header = tar::Header::new_gnu();
            let (name, data, mode, kind, link): (&str, &[u8], u32, tar::EntryType, &str) =
                match item {
                    Item::Dir(name) => (name, b"", 0o755, tar::EntryType::Directory, ""),
                    Item::File(name, data, mode) => {
                        (name, data, *mode, tar::EntryType::Regular, "")
                    }
                    Item::Symlink(name, target) => {
                        (name, b"", 0o777, tar::EntryType::Symlink, target)
                    }
                    Item::HardLink(name, target) => {
                        (name, b"", 0o644, tar::EntryType::Link, target)
                    }
                    Item::Fifo(name) => (name, b"", 0o644, tar::EntryType::Fifo, ""),
                };
            let raw = &mut header.as_old_mut().name;
            raw[..name.len()].copy_from_slice(name.as_bytes());
            let raw_link = &mut header.as_old_mut().linkname;
            raw_link[..link.len()].copy_from_slice(link.as_bytes());
            header.set_entry_type(kind);
            header.set_mode(mode);
            header.set_size(data.len() as u64);
            header.set_mtime(1_700_000_000);
            header.set_cksum();
            builder.append(&header, data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
        file
    }

    fn unpack(items: &[Item]) -> (tempfile::TempDir, Result<(), UnpackProblem>) {
        let archive = archive(items);
        let layer = tempfile::tempdir().unwrap();
        let result = unpack_runtime(archive.path(), layer.path());
        (layer, result)
    }

    #[test]
    fn unpacks_the_install_only_layout() {
        let (layer, result) = unpack(&[
            Item::Dir("python/"),
            Item::Dir("python/bin/"),
            Item::File("python/bin/python3.13", b"#!binary", 0o755),
            Item::Symlink("python/bin/python3", "python3.13"),
            Item::Dir("python/lib/"),
            Item::File("python/lib/libpython3.13.so.1.0", b"lib", 0o644),
            Item::HardLink(
                "python/lib/libpython3.13.so",
                "python/lib/libpython3.13.so.1.0",
            ),
            Item::File("python/lib/python3.13/os.py", b"import abc", 0o644),
            Item::Symlink("python/lib/python3.13/config", "../../lib"),
        ]);
        result.unwrap();
        let layer = layer.path();
        let python = fs::metadata(layer.join("bin/python3.13")).unwrap();
        assert_eq!(python.permissions().mode() & 0o777, 0o755);
        assert_eq!(
            python.modified().unwrap(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
        );
        assert_eq!(
            fs::read_link(layer.join("bin/python3")).unwrap(),
            Path::new("python3.13")
        );
        assert_eq!(
            fs::read(layer.join("lib/libpython3.13.so")).unwrap(),
            b"lib"
        );
        assert_eq!(
            fs::read(layer.join("lib/python3.13/os.py")).unwrap(),
            b"import abc"
        );
        assert!(!layer.join("python").exists());
    }

    fn refused(items: &[Item]) -> (String, &'static str) {
        match unpack(items).1 {
            Err(UnpackProblem::UnsafeEntry(path, reason)) => {
                (path.to_string_lossy().into_owned(), reason)
            }
            other => panic!("expected an unsafe entry, got {other:?}"),
        }
    }

    #[test]
    fn refuses_entries_that_escape_the_layer() {
        assert_eq!(
            refused(&[Item::File("python/../../evil", b"x", 0o644)]),
            (
                "python/../../evil".into(),
                "its path climbs out of the archive's python/ directory"
            )
        );
        assert_eq!(
            refused(&[Item::File("/etc/evil", b"x", 0o644)]),
            (
                "/etc/evil".into(),
                "it is not inside the archive's python/ directory"
            )
        );
        assert_eq!(
            refused(&[Item::File("other/file", b"x", 0o644)]),
            (
                "other/file".into(),
                "it is not inside the archive's python/ directory"
            )
        );
        assert_eq!(
            refused(&[Item::Symlink("python/lib/etc", "/etc")]),
            (
                "python/lib/etc".into(),
                "it is a symlink to an absolute path, outside the layer"
            )
        );
        assert_eq!(
            refused(&[Item::Symlink("python/lib/up", "../../outside")]),
            (
                "python/lib/up".into(),
                "it is a symlink that points outside the layer"
            )
        );
        assert_eq!(
            refused(&[
                Item::Symlink("python/lib", "."),
                Item::File("python/lib/x", b"x", 0o644)
            ]),
            (
                "python/lib/x".into(),
                "it would be written through a symlink"
            )
        );
        assert_eq!(
            refused(&[Item::HardLink("python/passwd", "python/../../etc/passwd")]),
            (
                "python/../../etc/passwd".into(),
                "its path climbs out of the archive's python/ directory"
            )
        );
        assert_eq!(
            refused(&[Item::HardLink("python/passwd", "/etc/passwd")]),
            (
                "/etc/passwd".into(),
                "it is not inside the archive's python/ directory"
            )
        );
        assert_eq!(
            refused(&[Item::Fifo("python/fifo")]),
            (
                "python/fifo".into(),
                "it is neither a file, a directory nor a link"
            )
        );
    }

    /// `python/x1/.../x<depth>/<name>`.
    fn deep(depth: usize, name: &str) -> &'static str {
        let dirs: Vec<String> = (1..=depth).map(|i| format!("x{i}")).collect();
        format!("python/{}/{name}", dirs.join("/")).leak()
    }

    #[test]
    fn refuses_chains_of_links_that_resolve_outside_the_layer() {
        // Each link looks harmless on its own; `u2` resolves to the layer's parent and beyond.
        let up = "../".repeat(20);
        let u2_target: &'static str = format!("u1/{up}").leak();
        assert_eq!(
            refused(&[
                Item::Dir(deep(20, "")),
                Item::Symlink(deep(20, "u1"), up.clone().leak()),
                Item::Symlink(deep(20, "u2"), u2_target),
            ]),
            (
                deep(20, "u2").to_string(),
                "it is a symlink that resolves outside the layer through other links"
            )
        );
        // The same, with the link that completes the chain unpacked last.
        assert_eq!(
            refused(&[
                Item::Dir("python/lib/"),
                Item::Symlink("python/lib/up", "x/../.."),
                Item::Symlink("python/lib/x", "."),
            ]),
            (
                "python/lib/up".into(),
                "it is a symlink that resolves outside the layer through other links"
            )
        );
        // A directory entry over a link is not created (nor chmod-ed) through it.
        assert_eq!(
            refused(&[
                Item::Dir("python/lib/"),
                Item::Symlink("python/include", "lib"),
                Item::Dir("python/include/"),
            ]),
            (
                "python/include/".into(),
                "it would be written through a symlink"
            )
        );
    }

    #[test]
    fn later_entries_replace_earlier_ones_without_writing_through_links() {
        // A link that replaces a directory is a link from then on.
        assert_eq!(
            refused(&[
                Item::Dir("python/lib/"),
                Item::File("python/lib/a", b"a", 0o644),
                Item::Symlink("python/lib", "."),
                Item::File("python/lib/x", b"x", 0o644),
            ]),
            (
                "python/lib/x".into(),
                "it would be written through a symlink"
            )
        );
        let (layer, result) = unpack(&[
            Item::File("python/a", b"first", 0o644),
            Item::File("python/a", b"second", 0o644),
            Item::Symlink("python/b", "a"),
            Item::File("python/b", b"no longer a link", 0o644),
            Item::Dir("python/c/"),
            Item::File("python/c/inner", b"", 0o644),
            Item::File("python/c", b"no longer a directory", 0o644),
        ]);
        result.unwrap();
        let read = |path: &str| fs::read(layer.path().join(path)).unwrap();
        assert_eq!(read("a"), b"second");
        assert_eq!(read("b"), b"no longer a link");
        assert_eq!(read("c"), b"no longer a directory");
        // A directory under what is now a file can't be made.
        let (_layer, result) = unpack(&[
            Item::Symlink("python/lib", "."),
            Item::File("python/lib", b"", 0o644),
            Item::File("python/lib/x", b"x", 0o644),
        ]);
        assert!(
            matches!(result, Err(UnpackProblem::Write(..))),
            "{result:?}"
        );
    }

    #[test]
    fn empties_the_layer_first_without_following_its_links() {
        let outside = tempfile::tempdir().unwrap();
        let layer = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), layer.path().join("lib")).unwrap();
        fs::write(layer.path().join("stale"), b"").unwrap();
        let archive = archive(&[Item::File("python/lib/x", b"x", 0o644)]);
        unpack_runtime(archive.path(), layer.path()).unwrap();
        assert!(layer.path().join("lib").is_dir() && !layer.path().join("lib").is_symlink());
        assert_eq!(fs::read(layer.path().join("lib/x")).unwrap(), b"x");
        assert!(!layer.path().join("stale").exists());
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
    }

    #[test]
    fn keeps_links_that_resolve_inside_the_layer_and_dangling_ones() {
        let (layer, result) = unpack(&[
            Item::Dir("python/lib/python3.13/"),
            Item::Symlink("python/lib/python3.13/config", "../../lib"),
            Item::Symlink(
                "python/lib/python3.13/chain",
                "config/python3.13/config/python3.13/../python3.13",
            ),
            Item::Symlink("python/bin/python3", "python3.13"),
            Item::Symlink("python/bin/missing", "nothing/here"),
        ]);
        result.unwrap();
        assert_eq!(
            fs::canonicalize(layer.path().join("lib/python3.13/chain")).unwrap(),
            fs::canonicalize(layer.path().join("lib/python3.13")).unwrap()
        );
        assert!(fs::symlink_metadata(layer.path().join("bin/missing")).is_ok());
    }

    #[test]
    fn refuses_files_that_are_not_archives() {
        let file = tempfile::NamedTempFile::new().unwrap();
        fs::write(file.path(), b"<html>Not Found</html>").unwrap();
        let layer = tempfile::tempdir().unwrap();
        assert!(matches!(
            unpack_runtime(file.path(), layer.path()),
            Err(UnpackProblem::Read(_))
        ));
    }

    #[test]
    fn unpacking_leaves_out_the_bundled_pip_and_externally_managed() {
        let (layer, result) = unpack(&bundled_pip_runtime());
        result.unwrap();
        assert_bundled_pip_gone(layer.path());
        let remaining = |path: &str| layer.path().join(path).exists();
        // Names that only look like pip's are kept.
        assert!(remaining("bin/pipenv") && remaining("bin/pip-audit"));
        assert!(remaining("lib/python3.13/site-packages/pipx/__init__.py"));
        assert!(remaining("lib/python3.13/EXTERNALLY-MANAGED.txt"));
    }

    /// A runtime archive with python-build-standalone's bundled pip, and names that only look
    /// like it.
    fn bundled_pip_runtime() -> Vec<Item> {
        vec![
            Item::File("python/bin/python3", b"", 0o755),
            Item::File("python/bin/pip", b"", 0o755),
            Item::File("python/bin/pip3", b"", 0o755),
            Item::File("python/bin/pip3.13", b"", 0o755),
            Item::File("python/bin/pipenv", b"", 0o755),
            Item::File("python/bin/pip-audit", b"", 0o755),
            Item::File("python/lib/python3.13/EXTERNALLY-MANAGED", b"", 0o644),
            Item::File("python/lib/python3.13/EXTERNALLY-MANAGED.txt", b"", 0o644),
            Item::Dir("python/lib/python3.13/site-packages/pip/"),
            Item::File(
                "python/lib/python3.13/site-packages/pip/__init__.py",
                b"",
                0o644,
            ),
            Item::File(
                "python/lib/python3.13/site-packages/pip-24.3.1.dist-info/RECORD",
                b"",
                0o644,
            ),
            Item::File(
                "python/lib/python3.13/site-packages/pipx/__init__.py",
                b"",
                0o644,
            ),
            Item::File("python/lib/python3.13/site-packages/README.txt", b"", 0o644),
            Item::File(
                "python/lib/python3.13/ensurepip/_bundled/pip.whl",
                b"",
                0o644,
            ),
        ]
    }

    fn assert_bundled_pip_gone(layer: &Path) {
        let remaining = |path: &str| layer.join(path).exists();
        assert!(remaining("bin/python3"));
        assert!(!remaining("bin/pip") && !remaining("bin/pip3") && !remaining("bin/pip3.13"));
        assert!(!remaining("lib/python3.13/EXTERNALLY-MANAGED"));
        assert!(!remaining("lib/python3.13/site-packages/pip"));
        assert!(!remaining(
            "lib/python3.13/site-packages/pip-24.3.1.dist-info"
        ));
        assert!(remaining("lib/python3.13/site-packages/README.txt"));
        assert!(remaining("lib/python3.13/ensurepip/_bundled/pip.whl"));
    }

    #[test]
    fn tidying_removes_the_bundled_pip_and_externally_managed() {
        // As an archive unpacked by something else than `unpack_runtime` would leave it.
        let layer = tempfile::tempdir().unwrap();
        for item in bundled_pip_runtime() {
            let Item::File(path, contents, _) = item else {
                continue;
            };
            let path = layer.path().join(path.strip_prefix("python/").unwrap());
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, contents).unwrap();
        }
        let artifact = Artifact {
            version: "3.13.1".parse().unwrap(),
            os: "linux".into(),
            arch: "amd64".into(),
            url: "https://example.com/p.tar.gz".into(),
            sha256: "a".repeat(64),
        };
        tidy_runtime(&artifact, layer.path()).unwrap();
        assert_bundled_pip_gone(layer.path());
        assert_eq!(
            fs::read_link(layer.path().join("bin/python")).unwrap(),
            Path::new("python3")
        );

        let wrong_version = Artifact {
            version: "3.12.1".parse().unwrap(),
            ..artifact
        };
        assert_eq!(
            tidy_runtime(&wrong_version, layer.path())
                .unwrap_err()
                .message()
                .body,
            formatdoc! {"
                The archive from https://example.com/p.tar.gz, listed in the runtime inventory as Python 3.12.1,
                doesn't contain python/bin/python3 and python/lib/python3.12/.

                Check that the runtime inventory lists the right archive for this version.
            "}
        );
    }
}

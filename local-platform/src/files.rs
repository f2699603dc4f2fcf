//! File tree helpers: copy, remove, content digest and size of a layer.

use crate::PlatformError;
use filetime::FileTime;
use sha2::{Digest, Sha256};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Copies `from` to `to` recursively, keeping symlinks as symlinks, file permissions and
/// modification times (as unpacking a layer's tar does), and, when run as root, owners (as
/// root unpacking a layer's tar keeps the uid and gid of its headers).
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<(), PlatformError> {
    copy_entry(from, to, rustix::process::geteuid().is_root())
}

fn copy_entry(from: &Path, to: &Path, keep_owner: bool) -> Result<(), PlatformError> {
    use std::os::unix::fs::MetadataExt;
    let metadata =
        fs::symlink_metadata(from).map_err(|error| PlatformError::io("reading", from, &error))?;
    let mtime = FileTime::from_last_modification_time(&metadata);
    let chown = || -> Result<(), PlatformError> {
        if keep_owner {
            std::os::unix::fs::lchown(to, Some(metadata.uid()), Some(metadata.gid()))
                .map_err(|error| PlatformError::io("changing the owner of", to, &error))?;
        }
        Ok(())
    };
    if metadata.file_type().is_symlink() {
        let target =
            fs::read_link(from).map_err(|error| PlatformError::io("reading", from, &error))?;
        std::os::unix::fs::symlink(&target, to)
            .map_err(|error| PlatformError::io("creating", to, &error))?;
        chown()?;
        filetime::set_symlink_file_times(to, mtime, mtime)
            .map_err(|error| PlatformError::io("writing", to, &error))?;
    } else if metadata.is_dir() {
        fs::create_dir_all(to).map_err(|error| PlatformError::io("creating", to, &error))?;
        let entries =
            fs::read_dir(from).map_err(|error| PlatformError::io("reading", from, &error))?;
        for entry in entries {
            let entry = entry.map_err(|error| PlatformError::io("reading", from, &error))?;
            copy_entry(&entry.path(), &to.join(entry.file_name()), keep_owner)?;
        }
        chown()?;
        filetime::set_file_times(to, mtime, mtime)
            .map_err(|error| PlatformError::io("writing", to, &error))?;
        fs::set_permissions(to, metadata.permissions())
            .map_err(|error| PlatformError::io("writing", to, &error))?;
    } else {
        fs::copy(from, to).map_err(|error| PlatformError::io("copying", from, &error))?;
        chown()?;
        // A chown clears the set-user-ID and set-group-ID bits.
        if keep_owner && metadata.mode() & 0o6000 != 0 {
            fs::set_permissions(to, metadata.permissions())
                .map_err(|error| PlatformError::io("writing", to, &error))?;
        }
        filetime::set_file_times(to, mtime, mtime)
            .map_err(|error| PlatformError::io("writing", to, &error))?;
    }
    Ok(())
}

/// The modification time the lifecycle's exporter gives every entry of a layer (and of the
/// app layer): 1980-01-01 00:00:01 UTC (lifecycle `archive/writer.go`, `NormalizedModTime`,
/// set on every tar header by `layers/writer.go`).
pub(crate) const NORMALIZED_MTIME: i64 = 315_532_801;

/// Gives `root` and every entry under it the exporter's [`NORMALIZED_MTIME`] (access time
/// too), as a layer unpacked from the image or the cache has it. Entries that already have
/// it are left alone, so a tree normalised before (a restored layer) keeps its change times.
pub(crate) fn normalise_mtimes(root: &Path) -> Result<(), PlatformError> {
    normalise_root(root)?;
    for relative in sorted_entries(root)? {
        normalised_metadata(&root.join(relative))?;
    }
    Ok(())
}

/// [`normalise_mtimes`] and then [`stamp_tree`], in one walk: each entry is normalised, then
/// stamped as it is now.
pub(crate) fn normalise_and_stamp(root: &Path) -> Result<Stamp, PlatformError> {
    normalise_root(root)?;
    let mut stamper = Stamper::default();
    for relative in sorted_entries(root)? {
        let metadata = normalised_metadata(&root.join(&relative))?;
        stamper.add(&relative, &metadata);
    }
    Ok(stamper.finish())
}

fn normalise_root(root: &Path) -> Result<(), PlatformError> {
    normalised_metadata(root).map(drop)
}

/// Gives `path` the exporter's [`NORMALIZED_MTIME`] unless it has it, and returns its
/// metadata as it is then.
fn normalised_metadata(path: &Path) -> Result<fs::Metadata, PlatformError> {
    let normalized = FileTime::from_unix_time(NORMALIZED_MTIME, 0);
    let metadata =
        fs::symlink_metadata(path).map_err(|error| PlatformError::io("reading", path, &error))?;
    if FileTime::from_last_modification_time(&metadata) == normalized {
        return Ok(metadata);
    }
    let result = if metadata.file_type().is_symlink() {
        filetime::set_symlink_file_times(path, normalized, normalized)
    } else {
        filetime::set_file_times(path, normalized, normalized)
    };
    result.map_err(|error| PlatformError::io("writing", path, &error))?;
    fs::symlink_metadata(path).map_err(|error| PlatformError::io("reading", path, &error))
}

/// Moves `from` to `to` (a rename, or a copy and removal across file systems).
pub(crate) fn move_tree(from: &Path, to: &Path) -> Result<(), PlatformError> {
    if fs::rename(from, to).is_ok() {
        return Ok(());
    }
    copy_tree(from, to)?;
    remove_tree(from)
}

/// Removes a file or directory tree if it exists, making read-only directories writable
/// first (tools such as Go or pip can leave them).
pub(crate) fn remove_tree(path: &Path) -> Result<(), PlatformError> {
    match fs::symlink_metadata(path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(PlatformError::io("reading", path, &error)),
        Ok(metadata) if metadata.is_dir() => {
            if fs::remove_dir_all(path).is_ok() {
                return Ok(());
            }
            make_writable(path);
            fs::remove_dir_all(path).map_err(|error| PlatformError::io("removing", path, &error))
        }
        Ok(_) => fs::remove_file(path).map_err(|error| PlatformError::io("removing", path, &error)),
    }
}

fn make_writable(path: &Path) {
    if let Ok(metadata) = fs::symlink_metadata(path)
        && metadata.is_dir()
    {
        let mut permissions = metadata.permissions();
        permissions.set_mode(permissions.mode() | 0o700);
        let _ = fs::set_permissions(path, permissions);
        if let Ok(entries) = fs::read_dir(path) {
            for entry in entries.flatten() {
                make_writable(&entry.path());
            }
        }
    }
}

/// Every entry under `root`, as sorted paths relative to `root`.
pub(crate) fn sorted_entries(root: &Path) -> Result<Vec<PathBuf>, PlatformError> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), PlatformError> {
        let entries =
            fs::read_dir(dir).map_err(|error| PlatformError::io("reading", dir, &error))?;
        for entry in entries {
            let entry = entry.map_err(|error| PlatformError::io("reading", dir, &error))?;
            let path = entry.path();
            out.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
            let file_type = entry
                .file_type()
                .map_err(|error| PlatformError::io("reading", &path, &error))?;
            if file_type.is_dir() {
                walk(root, &path, out)?;
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(root, root, &mut out)?;
    out.sort();
    Ok(out)
}

/// A layer's content digest and size: sha256 over the sorted relative paths, each entry's
/// kind, the permission bits of files and directories (as a layer tar's headers hold them),
/// file contents and symlink targets. Not mtimes, which the exporter normalises
/// ([`normalise_mtimes`]), nor owners. The size counts regular file bytes.
pub(crate) fn digest_tree(root: &Path) -> Result<(String, u64), PlatformError> {
    let mut hasher = Sha256::new();
    let mut bytes = 0_u64;
    for relative in sorted_entries(root)? {
        let path = root.join(&relative);
        let metadata = fs::symlink_metadata(&path)
            .map_err(|error| PlatformError::io("reading", &path, &error))?;
        hasher.update(relative.as_os_str().as_encoded_bytes());
        hasher.update([0]);
        if metadata.file_type().is_symlink() {
            let target = fs::read_link(&path)
                .map_err(|error| PlatformError::io("reading", &path, &error))?;
            hasher.update(b"link\0");
            hasher.update(target.as_os_str().as_encoded_bytes());
        } else if metadata.is_dir() {
            hasher.update(b"dir\0");
            hasher.update((metadata.permissions().mode() & 0o7777).to_le_bytes());
        } else {
            hasher.update(b"file\0");
            hasher.update((metadata.permissions().mode() & 0o7777).to_le_bytes());
            hasher.update(metadata.len().to_le_bytes());
            let mut file = fs::File::open(&path)
                .map_err(|error| PlatformError::io("reading", &path, &error))?;
            std::io::copy(&mut file, &mut hasher)
                .map_err(|error| PlatformError::io("reading", &path, &error))?;
            bytes += metadata.len();
        }
        hasher.update([0]);
    }
    Ok((format!("sha256:{:x}", hasher.finalize()), bytes))
}

/// What [`stamp_tree`] found under a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// The stamp proper (hex).
    pub(crate) hash: String,
    /// Bytes of the regular files.
    pub(crate) bytes: u64,
    owners: Owners,
}

/// Who owns the entries of a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Owners {
    /// There are no entries.
    #[default]
    NoEntries,
    /// Every entry has this uid and gid.
    One((u32, u32)),
    /// Not all entries have the same.
    Several,
}

impl Stamp {
    /// Whether every entry is owned by `uid`:`gid`.
    pub(crate) fn all_owned_by(&self, uid: u32, gid: u32) -> bool {
        match self.owners {
            Owners::NoEntries => true,
            Owners::One(owner) => owner == (uid, gid),
            Owners::Several => false,
        }
    }
}

/// A stamp of what is under `root` (not `root` itself): every entry's relative path, mode,
/// owner, size, mtime, ctime and inode, and the bytes of its regular files. Equal stamps mean
/// no entry was added, removed, replaced, written, chmodded or chowned in between: userspace
/// can set mtimes but not ctimes, and the kernel gives a change after a `stat` a newer ctime
/// (multigrain timestamps). Cheap: it reads metadata, never contents.
pub(crate) fn stamp_tree(root: &Path) -> Result<Stamp, PlatformError> {
    let mut stamper = Stamper::default();
    for relative in sorted_entries(root)? {
        let path = root.join(&relative);
        let metadata = fs::symlink_metadata(&path)
            .map_err(|error| PlatformError::io("reading", &path, &error))?;
        stamper.add(&relative, &metadata);
    }
    Ok(stamper.finish())
}

/// Builds a [`Stamp`] from the entries of a tree, in sorted order.
#[derive(Default)]
struct Stamper {
    hasher: Sha256,
    bytes: u64,
    owners: Owners,
}

impl Stamper {
    fn add(&mut self, relative: &Path, metadata: &fs::Metadata) {
        use std::os::unix::fs::MetadataExt;
        self.hasher.update(relative.as_os_str().as_encoded_bytes());
        self.hasher.update([0]);
        for number in [
            u64::from(metadata.mode()),
            u64::from(metadata.uid()),
            u64::from(metadata.gid()),
            metadata.len(),
            metadata.mtime().cast_unsigned(),
            metadata.mtime_nsec().cast_unsigned(),
            metadata.ctime().cast_unsigned(),
            metadata.ctime_nsec().cast_unsigned(),
            metadata.ino(),
            metadata.dev(),
        ] {
            self.hasher.update(number.to_le_bytes());
        }
        if metadata.is_file() {
            self.bytes += metadata.len();
        }
        let owner = (metadata.uid(), metadata.gid());
        self.owners = match self.owners {
            Owners::NoEntries => Owners::One(owner),
            Owners::One(common) if common == owner => Owners::One(owner),
            Owners::One(_) | Owners::Several => Owners::Several,
        };
    }

    fn finish(self) -> Stamp {
        Stamp {
            hash: format!("{:x}", self.hasher.finalize()),
            bytes: self.bytes,
            owners: self.owners,
        }
    }
}

/// A digest of the trees' metadata (paths, kinds, sizes, modes, mtimes, symlink targets),
/// cheap enough to tell after each launch whether anything was written.
pub(crate) fn fingerprint(roots: &[PathBuf]) -> Result<String, PlatformError> {
    use std::os::unix::fs::MetadataExt;
    let mut hasher = Sha256::new();
    for root in roots {
        hasher.update(root.as_os_str().as_encoded_bytes());
        hasher.update([0]);
        if !root.exists() {
            continue;
        }
        for relative in sorted_entries(root)? {
            let path = root.join(&relative);
            let metadata = fs::symlink_metadata(&path)
                .map_err(|error| PlatformError::io("reading", &path, &error))?;
            hasher.update(relative.as_os_str().as_encoded_bytes());
            hasher.update([0]);
            for number in [
                metadata.len(),
                u64::from(metadata.mode()),
                metadata.mtime().cast_unsigned(),
                metadata.mtime_nsec().cast_unsigned(),
            ] {
                hasher.update(number.to_le_bytes());
            }
            if metadata.file_type().is_symlink()
                && let Ok(target) = fs::read_link(&path)
            {
                hasher.update(target.as_os_str().as_encoded_bytes());
            }
        }
    }
    Ok(format!("{:x}", hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_sees_every_permission_bit_of_files_and_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("sub")).unwrap();
        fs::write(root.join("sub/file"), "x").unwrap();
        fs::set_permissions(root.join("sub/file"), fs::Permissions::from_mode(0o644)).unwrap();
        let first = digest_tree(root).unwrap().0;
        fs::set_permissions(root.join("sub/file"), fs::Permissions::from_mode(0o600)).unwrap();
        let private = digest_tree(root).unwrap().0;
        assert_ne!(private, first);
        fs::set_permissions(root.join("sub"), fs::Permissions::from_mode(0o700)).unwrap();
        assert_ne!(digest_tree(root).unwrap().0, private);
    }

    #[test]
    fn normalised_mtimes_are_the_exporters_and_survive_copies() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("layer");
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::write(root.join("sub/file"), "x").unwrap();
        std::os::unix::fs::symlink("sub/file", root.join("link")).unwrap();
        normalise_mtimes(&root).unwrap();
        let mtimes = |root: &Path| -> Vec<i64> {
            let mut paths = vec![root.to_path_buf()];
            paths.extend(
                sorted_entries(root)
                    .unwrap()
                    .into_iter()
                    .map(|p| root.join(p)),
            );
            paths
                .iter()
                .map(|path| fs::symlink_metadata(path).unwrap().mtime())
                .collect()
        };
        assert_eq!(mtimes(&root), [NORMALIZED_MTIME; 4]);
        // A second pass changes nothing, not even change times.
        let stamp = stamp_tree(&root).unwrap();
        normalise_mtimes(&root).unwrap();
        assert_eq!(stamp_tree(&root).unwrap(), stamp);
        let copy = dir.path().join("copy");
        copy_tree(&root, &copy).unwrap();
        assert_eq!(mtimes(&copy), [NORMALIZED_MTIME; 4]);
    }

    #[test]
    fn normalising_and_stamping_in_one_walk_is_normalising_then_stamping() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("layer");
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::write(root.join("sub/file"), "xy").unwrap();
        std::os::unix::fs::symlink("sub/file", root.join("link")).unwrap();
        let stamp = normalise_and_stamp(&root).unwrap();
        assert_eq!(stamp, stamp_tree(&root).unwrap());
        assert_eq!(stamp.bytes, 2);
        assert_eq!(
            fs::symlink_metadata(root.join("sub/file"))
                .unwrap()
                .modified()
                .unwrap(),
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(315_532_801)
        );
        // Normalised already: nothing changes, not even a ctime.
        assert_eq!(normalise_and_stamp(&root).unwrap(), stamp);
        normalise_mtimes(&root).unwrap();
        assert_eq!(stamp_tree(&root).unwrap(), stamp);
    }

    #[test]
    fn a_stamp_tells_the_common_owner_and_sees_a_chown() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("layer");
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::write(root.join("sub/file"), "x").unwrap();
        let metadata = fs::metadata(root.join("sub/file")).unwrap();
        let stamp = stamp_tree(&root).unwrap();
        assert!(stamp.all_owned_by(metadata.uid(), metadata.gid()));
        assert!(!stamp.all_owned_by(metadata.uid() + 1, metadata.gid()));
        assert!(
            stamp_tree(&root.join("sub"))
                .unwrap()
                .all_owned_by(metadata.uid(), metadata.gid())
        );
        let empty = dir.path().join("empty");
        fs::create_dir(&empty).unwrap();
        assert!(stamp_tree(&empty).unwrap().all_owned_by(1, 1));
        if rustix::process::geteuid().is_root() {
            // Root's copies keep owners, as root unpacking a tar does.
            std::os::unix::fs::lchown(root.join("sub/file"), Some(1234), Some(1235)).unwrap();
            let changed = stamp_tree(&root).unwrap();
            assert_ne!(changed.hash, stamp.hash);
            assert!(!changed.all_owned_by(metadata.uid(), metadata.gid()));
            let copy = dir.path().join("copy");
            copy_tree(&root, &copy).unwrap();
            let copied = fs::metadata(copy.join("sub/file")).unwrap();
            assert_eq!((copied.uid(), copied.gid()), (1234, 1235));
        }
    }

    #[test]
    fn digest_ignores_mtime_but_sees_content_exec_bit_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("bin")).unwrap();
        fs::write(root.join("bin/tool"), "echo hi").unwrap();
        std::os::unix::fs::symlink("tool", root.join("bin/alias")).unwrap();
        let (first, bytes) = digest_tree(root).unwrap();
        assert_eq!(bytes, 7);

        fs::write(root.join("bin/tool"), "echo hi").unwrap();
        assert_eq!(digest_tree(root).unwrap().0, first);

        fs::set_permissions(root.join("bin/tool"), fs::Permissions::from_mode(0o755)).unwrap();
        let executable = digest_tree(root).unwrap().0;
        assert_ne!(executable, first);

        fs::remove_file(root.join("bin/alias")).unwrap();
        std::os::unix::fs::symlink("other", root.join("bin/alias")).unwrap();
        assert_ne!(digest_tree(root).unwrap().0, executable);
    }

    #[test]
    fn copy_keeps_links_and_modes() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("from");
        fs::create_dir_all(from.join("sub")).unwrap();
        fs::write(from.join("sub/run"), "x").unwrap();
        fs::set_permissions(from.join("sub/run"), fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("sub/run", from.join("link")).unwrap();
        let to = dir.path().join("to");
        copy_tree(&from, &to).unwrap();
        assert_eq!(digest_tree(&from).unwrap(), digest_tree(&to).unwrap());
        let copied = dir.path().join("copied");
        copy_tree(&to, &copied).unwrap();
        let moved = dir.path().join("moved");
        move_tree(&copied, &moved).unwrap();
        assert!(!copied.exists());
        assert_eq!(digest_tree(&from).unwrap(), digest_tree(&moved).unwrap());
        remove_tree(&to).unwrap();
        assert!(!to.exists());
    }
}

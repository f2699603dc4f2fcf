//! File tree helpers: copy, remove, content digest and size of a layer.

use crate::PlatformError;
use filetime::FileTime;
use sha2::{Digest, Sha256};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Copies `from` to `to` recursively, keeping symlinks as symlinks, file permissions and
/// modification times (as unpacking a layer's tar does).
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<(), PlatformError> {
    let metadata =
        fs::symlink_metadata(from).map_err(|error| PlatformError::io("reading", from, &error))?;
    let mtime = FileTime::from_last_modification_time(&metadata);
    if metadata.file_type().is_symlink() {
        let target =
            fs::read_link(from).map_err(|error| PlatformError::io("reading", from, &error))?;
        std::os::unix::fs::symlink(&target, to)
            .map_err(|error| PlatformError::io("creating", to, &error))?;
        filetime::set_symlink_file_times(to, mtime, mtime)
            .map_err(|error| PlatformError::io("writing", to, &error))?;
    } else if metadata.is_dir() {
        fs::create_dir_all(to).map_err(|error| PlatformError::io("creating", to, &error))?;
        let entries =
            fs::read_dir(from).map_err(|error| PlatformError::io("reading", from, &error))?;
        for entry in entries {
            let entry = entry.map_err(|error| PlatformError::io("reading", from, &error))?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        filetime::set_file_times(to, mtime, mtime)
            .map_err(|error| PlatformError::io("writing", to, &error))?;
        fs::set_permissions(to, metadata.permissions())
            .map_err(|error| PlatformError::io("writing", to, &error))?;
    } else {
        fs::copy(from, to).map_err(|error| PlatformError::io("copying", from, &error))?;
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
    let normalized = FileTime::from_unix_time(NORMALIZED_MTIME, 0);
    let mut paths = vec![root.to_path_buf()];
    paths.extend(
        sorted_entries(root)?
            .into_iter()
            .map(|relative| root.join(relative)),
    );
    for path in paths {
        let metadata = fs::symlink_metadata(&path)
            .map_err(|error| PlatformError::io("reading", &path, &error))?;
        if FileTime::from_last_modification_time(&metadata) == normalized {
            continue;
        }
        let result = if metadata.file_type().is_symlink() {
            filetime::set_symlink_file_times(&path, normalized, normalized)
        } else {
            filetime::set_file_times(&path, normalized, normalized)
        };
        result.map_err(|error| PlatformError::io("writing", &path, &error))?;
    }
    Ok(())
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
fn sorted_entries(root: &Path) -> Result<Vec<PathBuf>, PlatformError> {
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

/// A stamp of what is under `root` (not `root` itself): every entry's relative path, mode,
/// size, mtime, ctime and inode, and the bytes of its regular files. Equal stamps mean no
/// entry was added, removed, replaced, written or chmodded in between: userspace can set
/// mtimes but not ctimes, and the kernel gives a change after a `stat` a newer ctime
/// (multigrain timestamps). Cheap: it reads metadata, never contents.
pub(crate) fn stamp_tree(root: &Path) -> Result<(String, u64), PlatformError> {
    use std::os::unix::fs::MetadataExt;
    let mut hasher = Sha256::new();
    let mut bytes = 0_u64;
    for relative in sorted_entries(root)? {
        let path = root.join(&relative);
        let metadata = fs::symlink_metadata(&path)
            .map_err(|error| PlatformError::io("reading", &path, &error))?;
        hasher.update(relative.as_os_str().as_encoded_bytes());
        hasher.update([0]);
        for number in [
            u64::from(metadata.mode()),
            metadata.len(),
            metadata.mtime().cast_unsigned(),
            metadata.mtime_nsec().cast_unsigned(),
            metadata.ctime().cast_unsigned(),
            metadata.ctime_nsec().cast_unsigned(),
            metadata.ino(),
            metadata.dev(),
        ] {
            hasher.update(number.to_le_bytes());
        }
        if metadata.is_file() {
            bytes += metadata.len();
        }
    }
    Ok((format!("{:x}", hasher.finalize()), bytes))
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

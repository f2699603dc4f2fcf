//! A layer tree kept as one file: how the layer store keeps a layer that is only cached.
//!
//! The lifecycle keeps layers as tars; here the store keeps launch layers as dirs (launching
//! copies them), and layers that are only cached as one file each, so that storing one is a
//! single write rather than creating every file again (which costs far more on a file system
//! that has just deleted many files), while the build's own dir stays as the spare copy the
//! next restore takes (`spares.rs`). It is unpacked only when that spare is gone.
//!
//! Format: a magic line, then one record per entry, the root first and then the entries under
//! it in sorted order (a dir before what it holds): kind (`d`, `f`, `l`), relative path, mode,
//! uid, gid, mtime (seconds, nanoseconds), then a file's bytes or a symlink's target. Numbers
//! are little-endian; paths, targets and contents are prefixed with their length.

use crate::PlatformError;
use crate::files::sorted_entries;
use filetime::FileTime;
use std::fs;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

const MAGIC: &[u8] = b"local-platform layer pack 1\n";

/// Writes the tree at `root` (modes, owners, mtimes, symlinks, contents) to the file `to`.
pub(crate) fn pack_tree(root: &Path, to: &Path) -> Result<(), PlatformError> {
    let write_error = |error: std::io::Error| PlatformError::io("writing", to, &error);
    let file = fs::File::create(to).map_err(write_error)?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    out.write_all(MAGIC).map_err(write_error)?;
    let mut relatives = vec![PathBuf::new()];
    relatives.extend(sorted_entries(root)?);
    for relative in relatives {
        let path = root.join(&relative);
        let metadata = fs::symlink_metadata(&path)
            .map_err(|error| PlatformError::io("reading", &path, &error))?;
        let kind = if metadata.file_type().is_symlink() {
            b'l'
        } else if metadata.is_dir() {
            b'd'
        } else {
            b'f'
        };
        let mut header = vec![kind];
        put_bytes(&mut header, relative.as_os_str().as_bytes());
        for number in [metadata.mode(), metadata.uid(), metadata.gid()] {
            header.extend(number.to_le_bytes());
        }
        header.extend(metadata.mtime().to_le_bytes());
        header.extend(metadata.mtime_nsec().to_le_bytes());
        out.write_all(&header).map_err(write_error)?;
        match kind {
            b'l' => {
                let target = fs::read_link(&path)
                    .map_err(|error| PlatformError::io("reading", &path, &error))?;
                let mut bytes = Vec::new();
                put_bytes(&mut bytes, target.as_os_str().as_bytes());
                out.write_all(&bytes).map_err(write_error)?;
            }
            b'f' => {
                let mut file = fs::File::open(&path)
                    .map_err(|error| PlatformError::io("reading", &path, &error))?;
                out.write_all(&metadata.len().to_le_bytes())
                    .map_err(write_error)?;
                let copied = std::io::copy(&mut (&mut file).take(metadata.len()), &mut out)
                    .map_err(|error| PlatformError::io("reading", &path, &error))?;
                if copied != metadata.len() {
                    return Err(PlatformError::new(format!(
                        "{} changed while it was stored.",
                        path.display()
                    )));
                }
            }
            _ => {}
        }
    }
    out.flush().map_err(write_error)
}

/// Recreates at `to` the tree that [`pack_tree`] wrote to `from`, as [`crate::files::copy_tree`]
/// copies one: modes, mtimes, symlinks, and owners when run as root.
pub(crate) fn unpack_tree(from: &Path, to: &Path) -> Result<(), PlatformError> {
    let corrupt = || PlatformError::new(format!("The stored layer {} is corrupt.", from.display()));
    let file = fs::File::open(from).map_err(|error| PlatformError::io("reading", from, &error))?;
    let mut input = BufReader::with_capacity(1 << 20, file);
    let mut magic = vec![0; MAGIC.len()];
    input.read_exact(&mut magic).map_err(|_| corrupt())?;
    if magic != MAGIC {
        return Err(corrupt());
    }
    let keep_owner = rustix::process::geteuid().is_root();
    // Dirs get their mode and mtime once everything is in them, deepest first.
    let mut dirs = Vec::new();
    loop {
        let mut kind = [0_u8];
        match input.read(&mut kind) {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) => return Err(PlatformError::io("reading", from, &error)),
        }
        let relative = PathBuf::from(std::ffi::OsStr::from_bytes(
            &get_bytes(&mut input).ok_or_else(corrupt)?,
        ));
        let mode = get_u32(&mut input).ok_or_else(corrupt)?;
        let uid = get_u32(&mut input).ok_or_else(corrupt)?;
        let gid = get_u32(&mut input).ok_or_else(corrupt)?;
        let seconds = i64::from_le_bytes(get_array(&mut input).ok_or_else(corrupt)?);
        let nanos = i64::from_le_bytes(get_array(&mut input).ok_or_else(corrupt)?);
        let mtime = FileTime::from_unix_time(seconds, u32::try_from(nanos).unwrap_or(0));
        if relative.is_absolute() || relative.components().any(|c| c.as_os_str() == "..") {
            return Err(corrupt());
        }
        let path = to.join(&relative);
        let chown = |path: &Path| -> Result<(), PlatformError> {
            if keep_owner {
                std::os::unix::fs::lchown(path, Some(uid), Some(gid))
                    .map_err(|error| PlatformError::io("changing the owner of", path, &error))?;
            }
            Ok(())
        };
        let write_error = |error: std::io::Error| PlatformError::io("writing", &path, &error);
        match kind[0] {
            b'd' => {
                fs::create_dir_all(&path).map_err(write_error)?;
                chown(&path)?;
                dirs.push((path, mode, mtime));
            }
            b'l' => {
                let target = get_bytes(&mut input).ok_or_else(corrupt)?;
                std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(&target), &path)
                    .map_err(write_error)?;
                chown(&path)?;
                filetime::set_symlink_file_times(&path, mtime, mtime).map_err(write_error)?;
            }
            b'f' => {
                let len = u64::from_le_bytes(get_array(&mut input).ok_or_else(corrupt)?);
                let mut file = fs::File::create(&path).map_err(write_error)?;
                let copied =
                    std::io::copy(&mut (&mut input).take(len), &mut file).map_err(write_error)?;
                if copied != len {
                    return Err(corrupt());
                }
                drop(file);
                chown(&path)?;
                // After the chown, which clears the set-user-ID and set-group-ID bits.
                fs::set_permissions(&path, fs::Permissions::from_mode(mode & 0o7777))
                    .map_err(write_error)?;
                filetime::set_file_times(&path, mtime, mtime).map_err(write_error)?;
            }
            _ => return Err(corrupt()),
        }
    }
    for (path, mode, mtime) in dirs.into_iter().rev() {
        let write_error = |error: std::io::Error| PlatformError::io("writing", &path, &error);
        filetime::set_file_times(&path, mtime, mtime).map_err(write_error)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode & 0o7777))
            .map_err(write_error)?;
    }
    Ok(())
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend((bytes.len() as u64).to_le_bytes());
    out.extend(bytes);
}

fn get_array<const N: usize>(input: &mut impl Read) -> Option<[u8; N]> {
    let mut bytes = [0; N];
    input.read_exact(&mut bytes).ok()?;
    Some(bytes)
}

fn get_u32(input: &mut impl Read) -> Option<u32> {
    get_array(input).map(u32::from_le_bytes)
}

fn get_bytes(input: &mut impl Read) -> Option<Vec<u8>> {
    let len = usize::try_from(u64::from_le_bytes(get_array(input)?)).ok()?;
    let mut bytes = Vec::new();
    input.take(len as u64).read_to_end(&mut bytes).ok()?;
    (bytes.len() == len).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::{digest_tree, normalise_mtimes};

    #[test]
    fn an_unpacked_tree_has_the_packed_ones_digest_modes_and_mtimes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("layer");
        fs::create_dir_all(root.join("lib/empty")).unwrap();
        fs::write(root.join("lib/data"), vec![7_u8; 300_000]).unwrap();
        fs::write(root.join("run"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(root.join("run"), fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("lib/data", root.join("link")).unwrap();
        fs::set_permissions(root.join("lib"), fs::Permissions::from_mode(0o700)).unwrap();
        normalise_mtimes(&root).unwrap();
        let pack = dir.path().join("layer.pack");
        pack_tree(&root, &pack).unwrap();
        let copy = dir.path().join("copy");
        unpack_tree(&pack, &copy).unwrap();
        assert_eq!(digest_tree(&copy).unwrap(), digest_tree(&root).unwrap());
        for relative in ["", "lib", "lib/empty", "lib/data", "run", "link"] {
            let before = fs::symlink_metadata(root.join(relative)).unwrap();
            let after = fs::symlink_metadata(copy.join(relative)).unwrap();
            assert_eq!(after.mode(), before.mode(), "{relative}");
            assert_eq!(after.mtime(), before.mtime(), "{relative}");
            assert_eq!(after.uid(), before.uid(), "{relative}");
        }
    }

    #[test]
    fn a_truncated_pack_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("layer");
        fs::create_dir_all(&root).unwrap();
        fs::write(root.join("file"), "contents").unwrap();
        let pack = dir.path().join("layer.pack");
        pack_tree(&root, &pack).unwrap();
        let bytes = fs::read(&pack).unwrap();
        fs::write(&pack, &bytes[..bytes.len() - 3]).unwrap();
        assert!(unpack_tree(&pack, &dir.path().join("copy")).is_err());
    }
}

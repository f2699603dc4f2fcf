//! The one reader for every file of the app the buildpack reads itself: the package managers'
//! files, the version files, nested requirement and constraint files, lockfiles, the Procfile.
//!
//! Only a regular file is read (a symbolic link is followed to one). Anything else named like
//! one of these files is an error naming the file and what it is, never "absent": a named pipe
//! would block the build forever, a device such as `/dev/zero` would be read until memory runs
//! out, and treating either as missing gives wrong advice. Files are read up to [`MAX_SIZE`].

use crate::error_message::ErrorMessage;
use indoc::formatdoc;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Far larger than any real requirements file, version file, lockfile or Procfile; guards
/// against reading a huge file.
pub(crate) const MAX_SIZE: u64 = 8 * 1024 * 1024;

/// What is at a path, links followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Nothing, or a symbolic link to nothing.
    Missing,
    File,
    Directory,
    /// A named pipe, socket or device: what it is, as "a named pipe".
    Special(&'static str),
}

impl Entry {
    /// Whether something other than a directory is there (a file, or a special file that the
    /// build must reject by name instead of ignoring).
    pub(crate) fn is_present_non_directory(self) -> bool {
        matches!(self, Self::File | Self::Special(_))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AppFileError {
    /// Not a regular file; `what` is "a named pipe", "a directory", ...
    NotAFile {
        file: String,
        what: &'static str,
    },
    TooLarge {
        file: String,
    },
    Read {
        file: String,
        error: String,
    },
}

/// What `path` is, following links, without opening it.
pub(crate) fn inspect(path: &Path) -> io::Result<Entry> {
    match path.metadata() {
        Ok(metadata) => Ok(entry_of(metadata.file_type())),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Entry::Missing),
        Err(error) => Err(error),
    }
}

fn entry_of(file_type: std::fs::FileType) -> Entry {
    if file_type.is_file() {
        Entry::File
    } else if file_type.is_dir() {
        Entry::Directory
    } else if file_type.is_fifo() {
        Entry::Special("a named pipe (FIFO)")
    } else if file_type.is_socket() {
        Entry::Special("a socket")
    } else if file_type.is_char_device() {
        Entry::Special("a character device")
    } else if file_type.is_block_device() {
        Entry::Special("a block device")
    } else {
        Entry::Special("not a regular file")
    }
}

/// Reads the regular file at `path`, shown to users as `file` (its path relative to the app).
/// `Ok(None)` when nothing is there (or a symbolic link points to nothing).
pub(crate) fn read(path: &Path, file: &str) -> Result<Option<Vec<u8>>, AppFileError> {
    let read_error = |error: io::Error| AppFileError::Read {
        file: file.to_string(),
        error: error.to_string(),
    };
    let not_a_file = |what| AppFileError::NotAFile {
        file: file.to_string(),
        what,
    };
    match inspect(path).map_err(read_error)? {
        Entry::Missing => return Ok(None),
        Entry::File => {}
        Entry::Directory => return Err(not_a_file("a directory")),
        Entry::Special(what) => return Err(not_a_file(what)),
    }
    // Opened without blocking, and checked again once open: the path may have been replaced by
    // a named pipe since it was inspected, and opening one for reading would wait for a writer.
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits() | nix::fcntl::OFlag::O_NOCTTY.bits())
        .open(path);
    let opened: File = match opened {
        Ok(opened) => opened,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(read_error(error)),
    };
    match entry_of(opened.metadata().map_err(read_error)?.file_type()) {
        Entry::File => {}
        Entry::Directory => return Err(not_a_file("a directory")),
        Entry::Special(what) => return Err(not_a_file(what)),
        Entry::Missing => return Err(not_a_file("not a regular file")),
    }
    let mut bytes = Vec::new();
    opened
        .take(MAX_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_SIZE {
        return Err(AppFileError::TooLarge {
            file: file.to_string(),
        });
    }
    Ok(Some(bytes))
}

impl AppFileError {
    /// The file, as shown.
    pub(crate) fn file(&self) -> &str {
        match self {
            Self::NotAFile { file, .. } | Self::TooLarge { file } | Self::Read { file, .. } => file,
        }
    }

    /// What is wrong, as a sentence: "`requirements.txt` is a named pipe (FIFO), not a file."
    pub(crate) fn reason(&self) -> String {
        let file = crate::redact::for_message(self.file());
        match self {
            Self::NotAFile { what, .. } => format!("`{file}` is {what}, not a file."),
            Self::TooLarge { .. } => format!(
                "`{file}` is larger than {} MiB, far larger than such a file can be.",
                MAX_SIZE / 1024 / 1024
            ),
            Self::Read { error, .. } => format!("`{file}` could not be read: {error}."),
        }
    }

    pub(crate) fn message(&self) -> ErrorMessage {
        let file = crate::redact::for_message(self.file());
        ErrorMessage::new(
            format!("Unable to read {file}"),
            formatdoc! {"
                {reason}

                The buildpack reads {file} as a regular file (a symbolic link to one is fine).
                Replace it with a regular, readable file, then build again.
            ", reason = self.reason()},
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn mkfifo(path: &Path) {
        nix::unistd::mkfifo(path, nix::sys::stat::Mode::S_IRWXU).unwrap();
    }

    #[test]
    fn reads_files_and_links_to_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "flask\n").unwrap();
        std::os::unix::fs::symlink("a.txt", dir.path().join("b.txt")).unwrap();
        std::os::unix::fs::symlink("none", dir.path().join("broken")).unwrap();
        assert_eq!(
            read(&dir.path().join("b.txt"), "b.txt"),
            Ok(Some(b"flask\n".to_vec()))
        );
        assert_eq!(read(&dir.path().join("broken"), "broken"), Ok(None));
        assert_eq!(read(&dir.path().join("missing"), "missing"), Ok(None));
    }

    #[test]
    fn special_files_are_named_never_opened_or_absent() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("requirements.txt");
        mkfifo(&fifo);
        let error = read(&fifo, "requirements.txt").unwrap_err();
        assert_eq!(
            error.message().render(),
            indoc::indoc! {"
                Error: Unable to read requirements.txt

                `requirements.txt` is a named pipe (FIFO), not a file.

                The buildpack reads requirements.txt as a regular file (a symbolic link to one is fine).
                Replace it with a regular, readable file, then build again."}
        );
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("Procfile")).unwrap();
        assert_eq!(
            read(&dir.path().join("Procfile"), "Procfile"),
            Err(AppFileError::NotAFile {
                file: "Procfile".to_string(),
                what: "a character device"
            })
        );
        assert_eq!(
            inspect(&fifo).unwrap(),
            Entry::Special("a named pipe (FIFO)")
        );
        assert_eq!(
            read(dir.path(), "x").unwrap_err().reason(),
            "`x` is a directory, not a file."
        );
    }

    #[test]
    fn huge_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Pipfile.lock");
        File::create(&path).unwrap().set_len(MAX_SIZE + 1).unwrap();
        assert_eq!(
            read(&path, "Pipfile.lock").unwrap_err().reason(),
            "`Pipfile.lock` is larger than 8 MiB, far larger than such a file can be."
        );
    }
}

//! Reading a version file cheaply and safely: absent, unreadable, too large, not UTF-8 and
//! control characters are told apart.

use crate::app_file::{self, AppFileError, Entry};
use crate::python_version::PythonVersionError;
use std::io;
use std::path::Path;

/// Reads `file` from the app directory, through the buildpack's one reader of app files
/// ([`crate::app_file`]).
///
/// Returns `Ok(None)` when there is nothing by that name (or a broken symlink) or a directory,
/// the same rule detection uses, so a directory named `runtime.txt` counts as no `runtime.txt`.
/// A named pipe, socket or device by that name is an error naming it. A UTF-8 byte order mark
/// is skipped.
pub(super) fn read_text(
    app_dir: &Path,
    file: &'static str,
) -> Result<Option<String>, PythonVersionError> {
    let path = app_dir.join(file);
    let read_error = |error: io::Error| PythonVersionError::ReadFile {
        file,
        error: error.to_string(),
    };
    if app_file::inspect(&path).map_err(read_error)? == Entry::Directory {
        return Ok(None);
    }
    let bytes = match app_file::read(&path, file) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(None),
        Err(AppFileError::TooLarge { .. }) => return Err(PythonVersionError::TooLarge { file }),
        Err(AppFileError::Read { error, .. }) => {
            return Err(PythonVersionError::ReadFile { file, error });
        }
        Err(error @ AppFileError::NotAFile { .. }) => {
            return Err(PythonVersionError::NotAFile(error));
        }
    };
    let text = String::from_utf8(bytes).map_err(|error| {
        let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
        PythonVersionError::NotUtf8 {
            file,
            line: valid.split(|byte| *byte == b'\n').count(),
        }
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    check_control_characters(file, text)?;
    Ok(Some(text.to_string()))
}

/// Rejects control characters other than tab, line feed and carriage return.
pub(super) fn check_control_characters(
    file: &'static str,
    text: &str,
) -> Result<(), PythonVersionError> {
    for (index, line) in text.split('\n').enumerate() {
        if let Some(character) = line
            .chars()
            .find(|character| character.is_control() && !matches!(character, '\t' | '\r'))
        {
            return Err(PythonVersionError::ControlCharacter {
                file,
                line: index + 1,
                character,
            });
        }
    }
    Ok(())
}

/// The 1-based line and column of a byte offset in `text`.
pub(super) fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    (
        1 + before.matches('\n').count(),
        1 + before[line_start..].chars().count(),
    )
}

/// Parses TOML, turning syntax and type errors into an error with the line and column.
pub(super) fn parse_toml<T: serde::de::DeserializeOwned>(
    file: &'static str,
    text: &str,
) -> Result<T, PythonVersionError> {
    toml::from_str(text).map_err(|error| {
        let (line, column) = line_and_column(text, error.span().map_or(0, |span| span.start));
        PythonVersionError::Syntax {
            file,
            line,
            column,
            error: error.message().trim().to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn reads_text_and_skips_a_byte_order_mark() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("runtime.txt"), "\u{feff}python-3.12\r\n").unwrap();
        assert_eq!(
            read_text(dir.path(), "runtime.txt"),
            Ok(Some("python-3.12\r\n".to_string()))
        );
    }

    #[test]
    fn missing_files_directories_and_broken_links_are_absent() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("runtime.txt")).unwrap();
        std::os::unix::fs::symlink("/nonexistent", dir.path().join("Pipfile")).unwrap();
        for file in ["runtime.txt", "Pipfile", ".python-version"] {
            assert_eq!(read_text(dir.path(), file), Ok(None), "{file}");
        }
    }

    #[test]
    fn named_pipes_and_devices_are_errors_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        nix::unistd::mkfifo(
            &dir.path().join(".python-version"),
            nix::sys::stat::Mode::S_IRWXU,
        )
        .unwrap();
        std::os::unix::fs::symlink("/dev/null", dir.path().join("runtime.txt")).unwrap();
        assert_eq!(
            read_text(dir.path(), ".python-version")
                .unwrap_err()
                .message()
                .render(),
            indoc::indoc! {"
                Error: Unable to read .python-version

                `.python-version` is a named pipe (FIFO), not a file.

                The buildpack reads .python-version as a regular file (a symbolic link to one is fine).
                Replace it with a regular, readable file, then build again."}
        );
        assert!(matches!(
            read_text(dir.path(), "runtime.txt"),
            Err(PythonVersionError::NotAFile(AppFileError::NotAFile {
                what: "a character device",
                ..
            }))
        ));
    }

    #[test]
    fn symlink_loops_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("runtime.txt", dir.path().join("runtime.txt")).unwrap();
        assert!(matches!(
            read_text(dir.path(), "runtime.txt"),
            Err(PythonVersionError::ReadFile {
                file: "runtime.txt",
                ..
            })
        ));
    }

    #[test]
    fn rejects_non_utf8_and_control_characters() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".python-version"), b"# pin\n3.1\xff\n").unwrap();
        assert_eq!(
            read_text(dir.path(), ".python-version"),
            Err(PythonVersionError::NotUtf8 {
                file: ".python-version",
                line: 2
            })
        );
        fs::write(dir.path().join("runtime.txt"), "\n\npython-3.12\u{0}\n").unwrap();
        assert_eq!(
            read_text(dir.path(), "runtime.txt"),
            Err(PythonVersionError::ControlCharacter {
                file: "runtime.txt",
                line: 3,
                character: '\u{0}'
            })
        );
    }

    #[test]
    fn rejects_huge_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = std::fs::File::create(dir.path().join("Pipfile.lock")).unwrap();
        file.set_len(app_file::MAX_SIZE + 1).unwrap();
        assert_eq!(
            read_text(dir.path(), "Pipfile.lock"),
            Err(PythonVersionError::TooLarge {
                file: "Pipfile.lock"
            })
        );
    }

    #[test]
    fn finds_lines_and_columns() {
        assert_eq!(line_and_column("ab\ncd\né=x", 9), (3, 3));
        assert_eq!(line_and_column("ab", 0), (1, 1));
    }
}

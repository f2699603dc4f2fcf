//! The inputs of a pip install: `requirements.txt` and every file it pulls in with `-r` /
//! `--requirement` and `-c` / `--constraint` (recursively, each path relative to the file that
//! names it, as pip resolves them), plus local projects it installs from a path. Their SHA-256
//! digest is part of the dependencies layer's cache key, so changing any of them reinstalls.
//!
//! Local projects (`.`, `./libs/foo`, `-e .`, `file:` URLs, archives): a non-editable directory
//! is hashed in full (except `.git` and bytecode) since pip copies it into the environment; an
//! editable one only by its build files (`pyproject.toml`, `setup.py`, `setup.cfg`), since its
//! code is used in place. Remote inputs (`-r https://…`, VCS URLs) are covered by their text only.

use crate::app_file::{self, AppFileError};
use crate::error_message::ErrorMessage;
use crate::redact::for_message;
use indoc::formatdoc;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The files read and their combined digest.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RequirementInputs {
    /// Every requirements/constraints file, relative to the app dir, in the order first read.
    pub(crate) files: Vec<PathBuf>,
    /// Each input (a file's relative path, or `<path> (local project)`) and the lowercase hex
    /// SHA-256 of its contents.
    pub(crate) digests: BTreeMap<String, String>,
}

#[derive(Debug)]
pub(crate) enum RequirementsFileError {
    /// A nested `-r`/`-c` file that does not exist.
    MissingNested {
        including_file: PathBuf,
        line: usize,
        option: String,
        path: PathBuf,
    },
    /// The file is a directory.
    IsDirectory(PathBuf),
    /// The file is not valid UTF-8.
    NotUtf8(PathBuf),
    /// Any other I/O error reading a file.
    Read(PathBuf, io::Error),
    /// A named pipe, socket or device, a file too large, or one that can't be read (the app's
    /// one reader of files, [`crate::app_file`]).
    File(AppFileError),
}

/// Reads `root_file` (e.g. `requirements.txt`, relative to `app_dir`) and everything it
/// includes. `lookup_var` expands `${NAME}` in paths, as pip does.
pub(crate) fn read_requirement_inputs(
    app_dir: &Path,
    root_file: &Path,
    lookup_var: &dyn Fn(&str) -> Option<String>,
) -> Result<RequirementInputs, RequirementsFileError> {
    let mut state = State {
        app_dir,
        lookup_var,
        files: Vec::new(),
        digests: BTreeMap::new(),
    };
    state.read_file(&app_dir.join(root_file))?;
    Ok(RequirementInputs {
        files: state.files,
        digests: state.digests,
    })
}

struct State<'a> {
    app_dir: &'a Path,
    lookup_var: &'a dyn Fn(&str) -> Option<String>,
    files: Vec<PathBuf>,
    digests: BTreeMap<String, String>,
}

impl State<'_> {
    fn relative(&self, path: &Path) -> PathBuf {
        path.strip_prefix(self.app_dir)
            .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
    }

    fn read_file(&mut self, path: &Path) -> Result<(), RequirementsFileError> {
        let path = normalize(path);
        let relative = self.relative(&path);
        if self.files.contains(&relative) {
            return Ok(());
        }
        let bytes = match app_file::read(&path, &relative.display().to_string()) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                return Err(RequirementsFileError::Read(
                    relative,
                    io::Error::from(io::ErrorKind::NotFound),
                ));
            }
            Err(AppFileError::NotAFile {
                what: "a directory",
                ..
            }) => return Err(RequirementsFileError::IsDirectory(relative)),
            Err(error) => return Err(RequirementsFileError::File(error)),
        };
        let text = String::from_utf8(bytes)
            .map_err(|_| RequirementsFileError::NotUtf8(relative.clone()))?;
        self.files.push(relative.clone());
        self.digests
            .insert(relative.display().to_string(), sha256(text.as_bytes()));

        let base_dir = path.parent().unwrap_or(self.app_dir).to_path_buf();
        for (line_number, line) in logical_lines(&text) {
            let tokens: Vec<&str> = line.split_whitespace().collect();
            match tokens.as_slice() {
                [] => {}
                [first, rest @ ..] => {
                    if let Some((option, value)) =
                        option_value(first, rest, &["-r", "--requirement", "-c", "--constraint"])
                    {
                        let value = expand_vars(&value, self.lookup_var);
                        if value.contains("://") {
                            continue;
                        }
                        let nested = base_dir.join(&value);
                        if !nested.exists() {
                            return Err(RequirementsFileError::MissingNested {
                                including_file: relative,
                                line: line_number,
                                option,
                                path: self.relative(&normalize(&nested)),
                            });
                        }
                        self.read_file(&nested)?;
                    } else if let Some((_, value)) =
                        option_value(first, rest, &["-e", "--editable"])
                    {
                        self.hash_local_project(&expand_vars(&value, self.lookup_var), true)?;
                    } else if !first.starts_with('-') {
                        self.hash_local_project(&expand_vars(first, self.lookup_var), false)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Hashes a local project named on a requirement line; anything else (a name, a remote
    /// URL) is already covered by the file's text.
    fn hash_local_project(
        &mut self,
        spec: &str,
        editable: bool,
    ) -> Result<(), RequirementsFileError> {
        let spec = spec.split(['#', ';']).next().unwrap_or(spec).trim();
        let spec = spec.split_once('[').map_or(spec, |(path, _)| path);
        let local = if let Some(path) = spec.strip_prefix("file://") {
            path
        } else if spec.starts_with('.') || spec.starts_with('/') {
            spec
        } else {
            return Ok(());
        };
        // pip resolves requirement-line paths relative to its working directory, the app dir.
        let path = normalize(&self.app_dir.join(local));
        let relative = self.relative(&path);
        if path.is_file() {
            let bytes = fs::read(&path)
                .map_err(|error| RequirementsFileError::Read(relative.clone(), error))?;
            self.digests.insert(
                format!("{} (local project)", relative.display()),
                sha256(&bytes),
            );
        } else if path.is_dir() {
            let mut files = Vec::new();
            if editable {
                for name in ["pyproject.toml", "setup.py", "setup.cfg"] {
                    if path.join(name).is_file() {
                        files.push(path.join(name));
                    }
                }
            } else {
                list_project_files(&path, &mut files)
                    .map_err(|error| RequirementsFileError::Read(relative.clone(), error))?;
            }
            let digest = digest_files(&path, files).map_err(|(file, error)| {
                RequirementsFileError::Read(self.relative(&file), error)
            })?;
            self.digests
                .insert(format!("{} (local project)", relative.display()), digest);
        }
        // A missing local path is left to pip, which reports it with its own message.
        Ok(())
    }
}

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// A SHA-256 over every regular file of the project in `dir` (path and contents), except `.git`
/// and bytecode: what pip copies into the environment when it installs the project.
pub(crate) fn project_digest(dir: &Path) -> io::Result<String> {
    let mut files = Vec::new();
    list_project_files(dir, &mut files)?;
    digest_files(dir, files).map_err(|(_, error)| error)
}

/// A SHA-256 over `files` (paths relative to `root`, and contents), in sorted order.
fn digest_files(root: &Path, mut files: Vec<PathBuf>) -> Result<String, (PathBuf, io::Error)> {
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        let relative = file.strip_prefix(root).unwrap_or(&file).to_path_buf();
        let bytes = fs::read(&file).map_err(|error| (file.clone(), error))?;
        for part in [relative.as_os_str().as_encoded_bytes(), &bytes] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
    }
    Ok(format!("{:x}", hasher.finalize()))
}

fn list_project_files(dir: &Path, files: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == ".git" || name == "__pycache__" || name.ends_with(".pyc") {
            continue;
        }
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            list_project_files(&entry.path(), files)?;
        } else if file_type.is_file() {
            files.push(entry.path());
        }
    }
    Ok(())
}

/// `-r file`, `-rfile`, `--requirement file`, `--requirement=file` → (option as written, value).
fn option_value(first: &str, rest: &[&str], options: &[&str]) -> Option<(String, String)> {
    for option in options {
        if first == *option {
            return rest
                .first()
                .map(|value| ((*option).to_string(), (*value).to_string()));
        }
        if option.starts_with("--") {
            if let Some(value) = first.strip_prefix(&format!("{option}=")) {
                return Some(((*option).to_string(), value.to_string()));
            }
        } else if let Some(value) = first.strip_prefix(option)
            && !value.is_empty()
        {
            return Some(((*option).to_string(), value.to_string()));
        }
    }
    None
}

/// pip's logical lines: `\`-continued lines joined, comments (`#` at the start or after
/// whitespace) removed; numbered by their first physical line (1-based).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let (start, mut joined) = current.take().unwrap_or((index + 1, String::new()));
        if let Some(continued) = raw.strip_suffix('\\') {
            joined.push_str(continued);
            current = Some((start, joined));
            continue;
        }
        joined.push_str(raw);
        lines.push((start, strip_comment(&joined).trim().to_string()));
    }
    if let Some((start, joined)) = current {
        lines.push((start, strip_comment(&joined).trim().to_string()));
    }
    lines
}

fn strip_comment(line: &str) -> &str {
    let mut previous_is_space = true;
    for (index, c) in line.char_indices() {
        if c == '#' && previous_is_space {
            return &line[..index];
        }
        previous_is_space = c.is_whitespace();
    }
    line
}

/// pip expands `${NAME}` (uppercase letters, digits and `_`) from the environment; unknown
/// names stay as written.
fn expand_vars(value: &str, lookup_var: &dyn Fn(&str) -> Option<String>) -> String {
    let mut result = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let (before, after) = rest.split_at(start);
        result.push_str(before);
        let name_end = after[2..].find('}').map(|end| end + 2);
        match name_end {
            Some(end)
                if end > 2
                    && after[2..end]
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') =>
            {
                match lookup_var(&after[2..end]) {
                    Some(expanded) => result.push_str(&expanded),
                    None => result.push_str(&after[..=end]),
                }
                rest = &after[end + 1..];
            }
            _ => {
                result.push_str("${");
                rest = &after[2..];
            }
        }
    }
    result.push_str(rest);
    result
}

/// `a/./b/../c` → `a/c`, without touching the file system (symlinks are not resolved).
fn normalize(path: &Path) -> PathBuf {
    let mut result = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !result.pop() {
                    result.push("..");
                }
            }
            other => result.push(other),
        }
    }
    result
}

/// A path from a requirements file, as a message shows it (see [`for_message`]).
fn shown(path: &Path) -> String {
    for_message(&path.display().to_string())
}

impl RequirementsFileError {
    pub(crate) fn message(&self) -> ErrorMessage {
        match self {
            Self::MissingNested {
                including_file,
                line,
                option,
                path,
            } => ErrorMessage::new(
                format!("Missing requirements file: {}", shown(path)),
                formatdoc! {"
                    Line {line} of {including} includes another file with `{option}`, but
                    {path} does not exist. pip looks for it relative to the directory of
                    {including}.

                    Fix the path on that line, or add the missing file to the app.
                ", including = shown(including_file), path = shown(path)},
            ),
            Self::IsDirectory(path) => ErrorMessage::new(
                format!("Unable to read {}", shown(path)),
                formatdoc! {"
                    {path} is a directory, but pip needs a requirements file there.

                    Replace it with a file that lists the app's dependencies, one per line.
                ", path = shown(path)},
            ),
            Self::NotUtf8(path) => ErrorMessage::new(
                format!("Unable to read {}", shown(path)),
                formatdoc! {"
                    {path} is not valid UTF-8 text, so its requirements can't be read reliably.

                    Save the file with UTF-8 encoding (editors call it \"UTF-8\"; Windows
                    PowerShell's `>` writes UTF-16, for example), then build again.
                ", path = shown(path)},
            ),
            Self::Read(path, error) => ErrorMessage::new(
                format!("Unable to read {}", shown(path)),
                formatdoc! {"
                    {path} could not be read: {error}

                    Check that the file exists and is readable, then build again.
                ", path = shown(path)},
            ),
            Self::File(error) => error.message(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, path: &str, contents: &[u8]) {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    fn read(dir: &Path) -> Result<RequirementInputs, RequirementsFileError> {
        read_requirement_inputs(dir, Path::new("requirements.txt"), &|name| {
            (name == "REQS_DIR").then(|| "requirements".to_string())
        })
    }

    #[test]
    fn follows_nested_files_relative_to_the_including_file() {
        let app = tempfile::tempdir().unwrap();
        write(
            app.path(),
            "requirements.txt",
            b"flask # web\n-r requirements/base.txt\n--constraint=${REQS_DIR}/constraints.txt\n",
        );
        write(
            app.path(),
            "requirements/base.txt",
            b"-rextra.txt\n--requirement \\\n  ../requirements.txt\n",
        );
        write(
            app.path(),
            "requirements/extra.txt",
            b"gunicorn==23.0.0 --hash=sha256:abc\n",
        );
        write(app.path(), "requirements/constraints.txt", b"click<9\n");
        let inputs = read(app.path()).unwrap();
        assert_eq!(
            inputs.files,
            [
                "requirements.txt",
                "requirements/base.txt",
                "requirements/extra.txt",
                "requirements/constraints.txt"
            ]
            .map(PathBuf::from)
        );

        let before = inputs.digests;
        write(
            app.path(),
            "requirements/extra.txt",
            b"gunicorn==23.0.0 --hash=sha256:abd\n",
        );
        assert_ne!(read(app.path()).unwrap().digests, before);
    }

    #[test]
    fn local_projects_are_part_of_the_digest() {
        let app = tempfile::tempdir().unwrap();
        write(app.path(), "requirements.txt", b"-e .\n./libs/helper\n");
        write(app.path(), "pyproject.toml", b"[project]\nname = 'app'\n");
        write(app.path(), "app.py", b"print(1)\n");
        write(
            app.path(),
            "libs/helper/pyproject.toml",
            b"[project]\nname = 'helper'\n",
        );
        write(app.path(), "libs/helper/helper.py", b"X = 1\n");
        let first = read(app.path()).unwrap().digests;

        // The editable app's code is used in place: changing it changes nothing.
        write(app.path(), "app.py", b"print(2)\n");
        assert_eq!(read(app.path()).unwrap().digests, first);
        // Its build file and the copied project's code do.
        write(
            app.path(),
            "pyproject.toml",
            b"[project]\nname = 'app'\nversion = '2'\n",
        );
        let second = read(app.path()).unwrap().digests;
        assert_ne!(second, first);
        write(app.path(), "libs/helper/helper.py", b"X = 2\n");
        assert_ne!(read(app.path()).unwrap().digests, second);
    }

    #[test]
    fn missing_nested_file_names_the_including_file_and_line() {
        let app = tempfile::tempdir().unwrap();
        write(
            app.path(),
            "requirements.txt",
            b"-r requirements/base.txt\n",
        );
        write(
            app.path(),
            "requirements/base.txt",
            b"flask\n\n-c constraints.txt\n",
        );
        let error = read(app.path()).unwrap_err();
        assert_eq!(
            error.message().render(),
            indoc::indoc! {"
                Error: Missing requirements file: requirements/constraints.txt

                Line 3 of requirements/base.txt includes another file with `-c`, but
                requirements/constraints.txt does not exist. pip looks for it relative to the directory of
                requirements/base.txt.

                Fix the path on that line, or add the missing file to the app."}
        );
    }

    #[test]
    fn unreadable_files() {
        let app = tempfile::tempdir().unwrap();
        write(app.path(), "requirements.txt", b"-r nested.txt\n");
        write(app.path(), "nested.txt", b"caf\xe9\n");
        assert_eq!(
            read(app.path()).unwrap_err().message().render(),
            indoc::indoc! {r#"
                Error: Unable to read nested.txt

                nested.txt is not valid UTF-8 text, so its requirements can't be read reliably.

                Save the file with UTF-8 encoding (editors call it "UTF-8"; Windows
                PowerShell's `>` writes UTF-16, for example), then build again."#}
        );

        fs::remove_file(app.path().join("nested.txt")).unwrap();
        fs::create_dir(app.path().join("nested.txt")).unwrap();
        assert_eq!(
            read(app.path()).unwrap_err().message().render(),
            indoc::indoc! {"
                Error: Unable to read nested.txt

                nested.txt is a directory, but pip needs a requirements file there.

                Replace it with a file that lists the app's dependencies, one per line."}
        );
    }

    #[test]
    fn named_pipes_and_devices_are_refused_not_read() {
        let app = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let fifo = outside.path().join("pipe.txt");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        write(
            app.path(),
            "requirements.txt",
            format!("-r {}\n", fifo.display()).as_bytes(),
        );
        assert_eq!(
            read(app.path()).unwrap_err().message().header,
            format!("Unable to read {}", fifo.display())
        );
        write(app.path(), "requirements.txt", b"-c /dev/zero\n");
        assert_eq!(
            read(app.path()).unwrap_err().message().render(),
            indoc::indoc! {"
                Error: Unable to read /dev/zero

                `/dev/zero` is a character device, not a file.

                The buildpack reads /dev/zero as a regular file (a symbolic link to one is fine).
                Replace it with a regular, readable file, then build again."}
        );
    }

    #[test]
    fn comments_and_continuations() {
        assert_eq!(
            logical_lines("a # c\n#x\nb \\\n c\nurl#egg=x\n"),
            vec![
                (1, "a".to_string()),
                (2, String::new()),
                (3, "b  c".to_string()),
                (5, "url#egg=x".to_string())
            ]
        );
    }
}

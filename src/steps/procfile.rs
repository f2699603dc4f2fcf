//! Parsing the app's `Procfile`: one `<type>: <command>` declaration per line.

use crate::error_message::ErrorMessage;
use crate::redact::for_message;
use indoc::formatdoc;
use libcnb::data::launch::ProcessType;

/// One process declared in the Procfile, in file order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Declaration {
    pub(crate) process_type: ProcessType,
    pub(crate) command: String,
    /// 1-based line number in the Procfile.
    pub(crate) line: usize,
    /// The name as the Procfile writes it, when that is not the process type (`Web_1` for
    /// `web-1`).
    pub(crate) written_as: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ProcfileError {
    /// The Procfile could not be read (or isn't a regular file).
    File(crate::app_file::AppFileError),
    /// The bytes are not UTF-8; `line` is where the first invalid byte is.
    NotUtf8 { line: usize },
    /// A line that is neither blank, a comment, nor `<type>: <command>`.
    NotADeclaration { line: usize, text: String },
    /// A declaration whose process type has characters a CNB process type can't have.
    InvalidType {
        line: usize,
        text: String,
        process_type: String,
    },
    /// A command with a NUL byte, which no process can be started with.
    NulInCommand { line: usize, process_type: String },
    /// A declaration with nothing after the colon.
    EmptyCommand { line: usize, process_type: String },
    /// A process type declared twice (`written` holds both names as written when either
    /// was normalised, e.g. `Web` and `web`).
    Duplicate {
        line: usize,
        first_line: usize,
        process_type: String,
        written: Option<(String, String)>,
    },
    /// No declarations at all.
    Empty,
}

/// Parses the Procfile's bytes. Blank lines and lines starting with `#` are ignored; Windows line
/// endings and a leading byte order mark are accepted.
pub(crate) fn parse(bytes: &[u8]) -> Result<Vec<Declaration>, ProcfileError> {
    let text = std::str::from_utf8(bytes).map_err(|error| ProcfileError::NotUtf8 {
        line: bytes[..error.valid_up_to()]
            .split(|byte| *byte == b'\n')
            .count(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);

    let mut declarations: Vec<Declaration> = Vec::new();
    for (index, raw_line) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw_line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some((raw_type, raw_command)) = trimmed.split_once(':') else {
            return Err(ProcfileError::NotADeclaration {
                line,
                text: trimmed.to_string(),
            });
        };
        // Spaces before the colon are part of the name, as for heroku/procfile (which then
        // rejects it), so that `web : cmd` fails here as it would fail there.
        let type_name = raw_type;
        if type_name.trim().is_empty() {
            return Err(ProcfileError::NotADeclaration {
                line,
                text: trimmed.to_string(),
            });
        }
        let process_type =
            normalise_process_type(type_name).ok_or_else(|| ProcfileError::InvalidType {
                line,
                text: trimmed.to_string(),
                process_type: type_name.to_string(),
            })?;
        let command = raw_command.trim();
        if command.is_empty() {
            return Err(ProcfileError::EmptyCommand {
                line,
                process_type: type_name.to_string(),
            });
        }
        if command.contains('\0') {
            return Err(ProcfileError::NulInCommand {
                line,
                process_type: type_name.to_string(),
            });
        }
        if let Some(first) = declarations
            .iter()
            .find(|declaration| declaration.process_type == process_type)
        {
            let first_written = first
                .written_as
                .clone()
                .unwrap_or_else(|| first.process_type.to_string());
            return Err(ProcfileError::Duplicate {
                line,
                first_line: first.line,
                process_type: process_type.to_string(),
                written: (first_written != type_name || type_name != process_type.as_str())
                    .then(|| (first_written, type_name.to_string())),
            });
        }
        declarations.push(Declaration {
            written_as: (type_name != process_type.as_str()).then(|| type_name.to_string()),
            process_type,
            command: command.to_string(),
            line,
        });
    }
    if declarations.is_empty() {
        return Err(ProcfileError::Empty);
    }
    Ok(declarations)
}

/// The process type a Procfile name declares, with heroku/procfile's rules, since
/// `heroku/builder:24` runs heroku/procfile after this buildpack and its processes replace
/// ours type by type: uppercase letters are lowercased and `_` becomes `-`; the result must be
/// 1 to 63 characters of `a-z`, `0-9` and `-`, starting and ending with a letter or digit.
/// `None` for any other name.
fn normalise_process_type(name: &str) -> Option<ProcessType> {
    let normalised = name.to_ascii_lowercase().replace('_', "-");
    let valid_chars = normalised
        .bytes()
        .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    let valid_ends = !normalised.starts_with('-') && !normalised.ends_with('-');
    if normalised.is_empty() || normalised.len() > 63 || !valid_chars || !valid_ends {
        return None;
    }
    normalised.parse().ok()
}

const FORMAT_HELP: &str = "Each line of a Procfile declares one process as '<type>: <command>', \
for example:\n\n    web: gunicorn myproject.wsgi --bind 0.0.0.0:$PORT\n    worker: celery -A \
myproject worker\n\nBlank lines and lines starting with '#' are ignored.";

impl ProcfileError {
    pub(crate) fn message(&self) -> ErrorMessage {
        let header = "Invalid Procfile";
        match self {
            Self::File(error) => error.message(),
            Self::NotUtf8 { line } => ErrorMessage::new(
                header,
                formatdoc! {"
                    Line {line} of the Procfile is not valid UTF-8 text.

                    Save the Procfile with UTF-8 encoding (the default of most editors).
                "},
            ),
            Self::NulInCommand { line, process_type } => ErrorMessage::new(
                header,
                formatdoc! {"
                    Line {line} of the Procfile declares the process type '{process_type}' with a
                    command that contains a NUL byte (U+0000). No process can be started with such
                    a command.

                    Remove the NUL byte: open the Procfile in an editor that shows invisible
                    characters, or write the file again.
                ", process_type = for_message(process_type)},
            ),
            Self::NotADeclaration { line, text } => ErrorMessage::new(
                header,
                formatdoc! {"
                    Line {line} of the Procfile isn't a process declaration:
                        {text}

                    {FORMAT_HELP}
                ", text = for_message(text)},
            ),
            Self::InvalidType {
                line,
                text,
                process_type,
            } => ErrorMessage::new(
                header,
                formatdoc! {"
                    Line {line} of the Procfile declares a process type with an invalid name:
                        {text}

                    '{process_type}' isn't a valid process type: a process type may contain only
                    letters, digits, '-' and '_', must start and end with a letter or digit, and
                    may be at most 63 characters long. Uppercase letters are read as lowercase
                    and '_' as '-' (as heroku/procfile reads them): 'Web_1' is 'web-1'.

                    {FORMAT_HELP}
                ", text = for_message(text), process_type = for_message(process_type)},
            ),
            Self::EmptyCommand { line, process_type } => ErrorMessage::new(
                header,
                formatdoc! {"
                    Line {line} of the Procfile declares the process type '{process_type}' without
                    a command.

                    {FORMAT_HELP}
                ", process_type = for_message(process_type)},
            ),
            Self::Duplicate {
                line,
                first_line,
                process_type,
                written,
            } => {
                let same_type = written.as_ref().map_or_else(String::new, |(first, this)| {
                    format!(
                        "\n\n'{first}' and '{this}' are both the process type '{process_type}'."
                    )
                });
                ErrorMessage::new(
                    header,
                    formatdoc! {"
                        Line {line} of the Procfile declares the process type '{process_type}' again: it
                        is already declared on line {first_line}.{same_type}

                        Each process type may be declared only once. Remove one of the two lines.
                    "},
                )
            }
            Self::Empty => ErrorMessage::new(
                header,
                formatdoc! {"
                    The Procfile declares no processes.

                    {FORMAT_HELP}

                    Delete the Procfile to let the buildpack choose a default 'web' process.
                "},
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libcnb::data::process_type;

    fn declaration(process_type: ProcessType, command: &str, line: usize) -> Declaration {
        Declaration {
            process_type,
            command: command.to_string(),
            line,
            written_as: None,
        }
    }

    #[test]
    fn parses_declarations_comments_and_blank_lines() {
        let procfile = "\u{feff}# The processes\r\n\r\nweb: gunicorn app:app --bind 0.0.0.0:$PORT\r\n  \
                        # indented comment\nworker:celery -A proj worker  \nrelease-task-1: python \
                        manage.py migrate\n";
        assert_eq!(
            parse(procfile.as_bytes()),
            Ok(vec![
                declaration(
                    process_type!("web"),
                    "gunicorn app:app --bind 0.0.0.0:$PORT",
                    3
                ),
                declaration(process_type!("worker"), "celery -A proj worker", 5),
                declaration(
                    process_type!("release-task-1"),
                    "python manage.py migrate",
                    6
                ),
            ])
        );
    }

    #[test]
    fn command_keeps_its_own_colons() {
        assert_eq!(
            parse(b"web: uvicorn main:app --host 0.0.0.0"),
            Ok(vec![declaration(
                process_type!("web"),
                "uvicorn main:app --host 0.0.0.0",
                1
            )])
        );
    }

    #[test]
    fn line_without_colon_is_an_error() {
        let error = parse(b"web: gunicorn app:app\n\nrun the worker\n").unwrap_err();
        assert_eq!(
            error,
            ProcfileError::NotADeclaration {
                line: 3,
                text: "run the worker".to_string()
            }
        );
        assert_eq!(
            error.message().render(),
            indoc::indoc! {"
                Error: Invalid Procfile

                Line 3 of the Procfile isn't a process declaration:
                    run the worker

                Each line of a Procfile declares one process as '<type>: <command>', for example:

                    web: gunicorn myproject.wsgi --bind 0.0.0.0:$PORT
                    worker: celery -A myproject worker

                Blank lines and lines starting with '#' are ignored."}
        );
    }

    #[test]
    fn missing_type_is_an_error() {
        assert_eq!(
            parse(b": gunicorn app:app"),
            Err(ProcfileError::NotADeclaration {
                line: 1,
                text: ": gunicorn app:app".to_string()
            })
        );
    }

    #[test]
    fn invalid_type_is_an_error() {
        let error = parse(b"web gunicorn app:app\n").unwrap_err();
        assert_eq!(
            error,
            ProcfileError::InvalidType {
                line: 1,
                text: "web gunicorn app:app".to_string(),
                process_type: "web gunicorn app".to_string()
            }
        );
        assert_eq!(
            error.message().render(),
            indoc::indoc! {"
                Error: Invalid Procfile

                Line 1 of the Procfile declares a process type with an invalid name:
                    web gunicorn app:app

                'web gunicorn app' isn't a valid process type: a process type may contain only
                letters, digits, '-' and '_', must start and end with a letter or digit, and
                may be at most 63 characters long. Uppercase letters are read as lowercase
                and '_' as '-' (as heroku/procfile reads them): 'Web_1' is 'web-1'.

                Each line of a Procfile declares one process as '<type>: <command>', for example:

                    web: gunicorn myproject.wsgi --bind 0.0.0.0:$PORT
                    worker: celery -A myproject worker

                Blank lines and lines starting with '#' are ignored."}
        );
        assert!(matches!(
            parse("wéb: x".as_bytes()),
            Err(ProcfileError::InvalidType { .. })
        ));
    }

    #[test]
    fn empty_command_is_an_error() {
        let error = parse(b"web: gunicorn app:app\nworker:   \n").unwrap_err();
        assert_eq!(
            error.message().render(),
            indoc::indoc! {"
                Error: Invalid Procfile

                Line 2 of the Procfile declares the process type 'worker' without
                a command.

                Each line of a Procfile declares one process as '<type>: <command>', for example:

                    web: gunicorn myproject.wsgi --bind 0.0.0.0:$PORT
                    worker: celery -A myproject worker

                Blank lines and lines starting with '#' are ignored."}
        );
    }

    #[test]
    fn duplicate_type_is_an_error() {
        let error = parse(b"web: a\nworker: b\n# c\nweb: c\n").unwrap_err();
        assert_eq!(
            error.message().render(),
            indoc::indoc! {"
                Error: Invalid Procfile

                Line 4 of the Procfile declares the process type 'web' again: it
                is already declared on line 1.

                Each process type may be declared only once. Remove one of the two lines."}
        );
    }

    #[test]
    fn non_utf8_is_an_error_naming_the_line() {
        let error = parse(b"web: a\nworker: caf\xe9\n").unwrap_err();
        assert_eq!(error, ProcfileError::NotUtf8 { line: 2 });
        assert_eq!(
            error.message().render(),
            indoc::indoc! {"
                Error: Invalid Procfile

                Line 2 of the Procfile is not valid UTF-8 text.

                Save the Procfile with UTF-8 encoding (the default of most editors)."}
        );
    }

    #[test]
    fn nul_in_a_command_is_refused_with_the_line() {
        let error = parse(b"web: a\nworker: celery\0 worker\n").unwrap_err();
        assert_eq!(
            error.message().render(),
            indoc::indoc! {"
                Error: Invalid Procfile

                Line 2 of the Procfile declares the process type 'worker' with a
                command that contains a NUL byte (U+0000). No process can be started with such
                a command.

                Remove the NUL byte: open the Procfile in an editor that shows invisible
                characters, or write the file again."}
        );
    }

    #[test]
    fn quoted_lines_are_escaped_and_redacted() {
        let error =
            parse(b"HOME=/root\0PIP_INDEX_URL=https://user:secret@host/simple\0\x1b[2J:x\n")
                .unwrap_err();
        let text = error.message().render();
        assert!(!text.contains("secret"), "{text}");
        assert!(!text.contains('\0') && !text.contains('\x1b'), "{text}");
        assert!(
            text.contains(
                "    HOME=/root<U+0000>PIP_INDEX_URL=https://****@host/simple<U+0000><U+001B>[2J:x"
            ),
            "{text}"
        );
    }

    #[test]
    fn procfile_without_declarations_is_an_error() {
        assert_eq!(parse(b"# nothing yet\n\n"), Err(ProcfileError::Empty));
        assert_eq!(parse(b""), Err(ProcfileError::Empty));
    }

    #[test]
    fn names_are_read_as_heroku_procfile_reads_them() {
        let declarations =
            parse(b"Web: gunicorn app:app\nCelery_Worker: celery worker\nx: y\n").unwrap();
        assert_eq!(
            declarations,
            vec![
                Declaration {
                    written_as: Some("Web".to_string()),
                    ..declaration(process_type!("web"), "gunicorn app:app", 1)
                },
                Declaration {
                    written_as: Some("Celery_Worker".to_string()),
                    ..declaration(process_type!("celery-worker"), "celery worker", 2)
                },
                declaration(process_type!("x"), "y", 3),
            ]
        );
        // Names heroku/procfile rejects: '.', a space before the colon, a leading or trailing
        // '-' (or '_'), more than 63 characters.
        let long = format!("{}: x", "a".repeat(64));
        for procfile in [
            "release.task: x",
            "web : x",
            "-web: x",
            "web_: x",
            long.as_str(),
        ] {
            assert!(
                matches!(
                    parse(procfile.as_bytes()),
                    Err(ProcfileError::InvalidType { .. })
                ),
                "{procfile}"
            );
        }
        assert!(parse(format!("{}: x", "a".repeat(63)).as_bytes()).is_ok());
    }

    #[test]
    fn names_that_are_the_same_type_after_normalising_are_duplicates() {
        let error = parse(b"web: a\nWeb: b\n").unwrap_err();
        assert_eq!(
            error.message().render(),
            indoc::indoc! {"
                Error: Invalid Procfile

                Line 2 of the Procfile declares the process type 'web' again: it
                is already declared on line 1.

                'web' and 'Web' are both the process type 'web'.

                Each process type may be declared only once. Remove one of the two lines."}
        );
        assert!(matches!(
            parse(b"celery_worker: a\ncelery-worker: b\n"),
            Err(ProcfileError::Duplicate {
                line: 2,
                first_line: 1,
                ..
            })
        ));
    }
}

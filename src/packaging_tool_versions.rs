//! Every packaging tool version the buildpack installs, pinned in one place.
//!
//! Each tool has its own `requirements/<tool>.txt` holding a single `name==version` line (plus
//! comments), the format Dependabot's pip ecosystem updates. The files are read at compile time,
//! so a version bump is a one-line change to a text file and the buildpack never resolves a tool
//! version at build time. To add a tool: add `requirements/<tool>.txt`, a constant below using
//! [`pinned_version`], and a case in the test at the bottom.
//!
//! pip, uv, Poetry (with its export plugin) and Pipenv are pinned. setuptools and wheel are not:
//! the app's dependencies are installed with pip's `--python` option (or by uv, Poetry's
//! exported requirements through pip, or Pipenv) into the app's virtual environment, so
//! setuptools and wheel in the packaging-tools layer would never be imported (pip builds sdists
//! in isolated build environments that get the build backend each package declares). See the
//! README's "Packaging tools" section.

/// The pip version, from `requirements/pip.txt`.
pub(crate) const PIP_VERSION: &str = pinned_version(include_str!("../requirements/pip.txt"));

/// The uv version, from `requirements/uv.txt`.
pub(crate) const UV_VERSION: &str = pinned_version(include_str!("../requirements/uv.txt"));

/// The Poetry version, from `requirements/poetry.txt`.
pub(crate) const POETRY_VERSION: &str = pinned_version(include_str!("../requirements/poetry.txt"));

/// The version of Poetry's export plugin, from `requirements/poetry-plugin-export.txt`.
pub(crate) const POETRY_PLUGIN_EXPORT_VERSION: &str =
    pinned_version(include_str!("../requirements/poetry-plugin-export.txt"));

/// The Pipenv version, from `requirements/pipenv.txt`.
pub(crate) const PIPENV_VERSION: &str = pinned_version(include_str!("../requirements/pipenv.txt"));

/// The `X` of the first `name==X` line in a requirements file, skipping comments and blank
/// lines. Evaluated at compile time: a malformed file is a compile error, never a build failure.
const fn pinned_version(contents: &'static str) -> &'static str {
    let bytes = contents.as_bytes();
    let mut line_start = 0;
    while line_start < bytes.len() {
        let mut line_end = line_start;
        while line_end < bytes.len() && bytes[line_end] != b'\n' {
            line_end += 1;
        }
        if line_end > line_start && bytes[line_start] != b'#' {
            let mut index = line_start;
            while index + 1 < line_end {
                if bytes[index] == b'=' && bytes[index + 1] == b'=' {
                    let (_, version) = bytes.split_at(index + 2);
                    let (version, _) = version.split_at(line_end - index - 2);
                    return match std::str::from_utf8(version) {
                        Ok(version) => version.trim_ascii(),
                        Err(_) => panic!("the pinned version is not UTF-8"),
                    };
                }
                index += 1;
            }
            panic!("a requirements/*.txt line has no `==` pin");
        }
        line_start = line_end + 1;
    }
    panic!("a requirements/*.txt file has no `name==version` line");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_exact_pins() {
        let is_exact = |version: &str| {
            version
                .split('.')
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
        };
        for version in [
            PIP_VERSION,
            UV_VERSION,
            POETRY_VERSION,
            POETRY_PLUGIN_EXPORT_VERSION,
            PIPENV_VERSION,
        ] {
            assert!(is_exact(version), "{version}");
        }
    }

    #[test]
    fn reads_the_first_pin_after_comments() {
        assert_eq!(pinned_version("# a comment\n\nuv==0.9.2\n"), "0.9.2");
        assert_eq!(pinned_version("pip == 26.3 \n"), "26.3");
    }
}

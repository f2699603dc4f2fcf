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

/// The SHA-256 of pip's wheel, from the `--hash` option in `requirements/pip.txt`.
pub(crate) const PIP_WHEEL_SHA256: &str = pinned_sha256(include_str!("../requirements/pip.txt"));

/// The uv version, from `requirements/uv.txt`.
pub(crate) const UV_VERSION: &str = pinned_version(include_str!("../requirements/uv.txt"));

/// uv's wheel for each CNB target architecture: the wheel's platform tag (its file name is
/// `uv-<version>-py3-none-<tag>.whl`) and its SHA-256, the `--hash` options of
/// `requirements/uv.txt` in the order that file's comment gives. A uv update that changes the
/// tags fails the uv integration tests (the wheel is not on the index under the old name).
pub(crate) const UV_WHEELS: [(&str, &str, &str); 2] = [
    (
        "amd64",
        "manylinux_2_17_x86_64.manylinux2014_x86_64",
        nth_pinned_sha256(include_str!("../requirements/uv.txt"), 0),
    ),
    (
        "arm64",
        "manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64",
        nth_pinned_sha256(include_str!("../requirements/uv.txt"), 1),
    ),
];

/// The Poetry version, from `requirements/poetry.txt`.
pub(crate) const POETRY_VERSION: &str = pinned_version(include_str!("../requirements/poetry.txt"));

/// The version of Poetry's export plugin, from `requirements/poetry-plugin-export.txt`.
pub(crate) const POETRY_PLUGIN_EXPORT_VERSION: &str =
    pinned_version(include_str!("../requirements/poetry-plugin-export.txt"));

/// The Pipenv version, from `requirements/pipenv.txt`.
pub(crate) const PIPENV_VERSION: &str = pinned_version(include_str!("../requirements/pipenv.txt"));

/// The `X` of the first `name==X` line in a requirements file, skipping comments and blank
/// lines; the version ends at the first space (options such as `--hash` may follow it).
/// Evaluated at compile time: a malformed file is a compile error, never a build failure.
const fn pinned_version(contents: &'static str) -> &'static str {
    first_word_after(contents, b"==")
}

/// The `X` of the first `--hash=sha256:X` option of the first `name==version` line, checked to
/// be 64 lowercase hex digits. Evaluated at compile time, like [`pinned_version`].
const fn pinned_sha256(contents: &'static str) -> &'static str {
    nth_pinned_sha256(contents, 0)
}

/// The `X` of the `n`th (from 0) `--hash=sha256:X` option of the first `name==version` line,
/// checked like [`pinned_sha256`].
const fn nth_pinned_sha256(contents: &'static str, n: usize) -> &'static str {
    let digest = nth_word_after(contents, b"--hash=sha256:", n);
    let bytes = digest.as_bytes();
    assert!(bytes.len() == 64, "a pinned SHA-256 is not 64 characters");
    let mut index = 0;
    while index < bytes.len() {
        assert!(
            bytes[index].is_ascii_digit() || matches!(bytes[index], b'a'..=b'f'),
            "a pinned SHA-256 is not lowercase hex"
        );
        index += 1;
    }
    digest
}

/// The text after `marker` up to the next space or the end of the line, on the first line of
/// `contents` that is neither blank nor a comment.
const fn first_word_after(contents: &'static str, marker: &[u8]) -> &'static str {
    nth_word_after(contents, marker, 0)
}

/// [`first_word_after`] for the `n`th (from 0) `marker` on that line.
const fn nth_word_after(contents: &'static str, marker: &[u8], n: usize) -> &'static str {
    let bytes = contents.as_bytes();
    let mut skip = n;
    let mut line_start = 0;
    while line_start < bytes.len() {
        let mut line_end = line_start;
        while line_end < bytes.len() && bytes[line_end] != b'\n' {
            line_end += 1;
        }
        if line_end > line_start && bytes[line_start] != b'#' {
            let mut index = line_start;
            while index + marker.len() <= line_end {
                let mut matched = 0;
                while matched < marker.len() && bytes[index + matched] == marker[matched] {
                    matched += 1;
                }
                if matched == marker.len() && skip > 0 {
                    skip -= 1;
                } else if matched == marker.len() {
                    let mut start = index + marker.len();
                    while start < line_end && bytes[start] == b' ' {
                        start += 1;
                    }
                    let mut end = start;
                    while end < line_end && !bytes[end].is_ascii_whitespace() {
                        end += 1;
                    }
                    let (_, word) = bytes.split_at(start);
                    let (word, _) = word.split_at(end - start);
                    return match std::str::from_utf8(word) {
                        Ok(word) => word,
                        Err(_) => panic!("a requirements/*.txt pin is not UTF-8"),
                    };
                }
                index += 1;
            }
            panic!("the first requirements/*.txt line lacks a `==` pin or the `--hash` asked for");
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
        let hashed = "# c\npip==26.3 --hash=sha256:f3b60b20ffaadd4415ed7957212a38ac63fa4c5fa375bd0f4a797777940fad13\n";
        assert_eq!(pinned_version(hashed), "26.3");
        assert_eq!(
            pinned_sha256(hashed),
            "f3b60b20ffaadd4415ed7957212a38ac63fa4c5fa375bd0f4a797777940fad13"
        );
        assert_eq!(PIP_WHEEL_SHA256.len(), 64);
        let two = "uv==1.0 --hash=sha256:aaaa --hash=sha256:bbbb\n";
        assert_eq!(nth_word_after(two, b"--hash=sha256:", 0), "aaaa");
        assert_eq!(nth_word_after(two, b"--hash=sha256:", 1), "bbbb");
    }

    #[test]
    fn each_uv_wheel_has_its_own_pinned_hash() {
        let [
            (amd64, amd64_tag, amd64_hash),
            (arm64, arm64_tag, arm64_hash),
        ] = UV_WHEELS;
        assert_eq!((amd64, arm64), ("amd64", "arm64"));
        assert!(amd64_tag.contains("x86_64") && arm64_tag.contains("aarch64"));
        assert_ne!(amd64_hash, arm64_hash);
        // The file's comment names the wheels in the order of the hashes.
        let comment = include_str!("../requirements/uv.txt");
        for (tag, order) in [(amd64_tag, 0), (arm64_tag, 1)] {
            let line = comment
                .lines()
                .filter(|line| line.starts_with("#   "))
                .nth(order)
                .unwrap();
            assert!(
                line.ends_with(&format!("uv-{UV_VERSION}-py3-none-{tag}.whl")),
                "{line}"
            );
        }
    }
}

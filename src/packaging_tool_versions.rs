//! Every packaging tool version the buildpack installs, pinned in one place.
//!
//! pip and uv each have their own `requirements/<tool>.txt` holding a single `name==version`
//! line (plus comments), the format Dependabot's pip ecosystem updates. Poetry (with its export
//! plugin) and Pipenv have their whole dependency tree pinned with hashes in
//! `requirements/<tool>.txt`, compiled from `requirements/<tool>.in` by
//! `scripts/compile-tool-requirements`; the buildpack installs those files as they are
//! (`--require-hashes`). The files are read at compile time, so a version bump is a change to a
//! text file and the buildpack never resolves a tool version at build time. To add a tool: add
//! `requirements/<tool>.txt`, a constant below using [`pinned_version`] or
//! [`pinned_version_of`], and a case in the tests at the bottom.
//!
//! setuptools and wheel are not pinned for pip's layer: the app's dependencies are installed
//! with pip's `--python` option (or by uv, Poetry's exported requirements through pip, or
//! Pipenv) into the app's virtual environment, so setuptools and wheel in the packaging-tools
//! layer would never be imported (pip builds sdists in isolated build environments that get the
//! build backend each package declares). See the README's "Packaging tools" section.

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

/// Poetry, its export plugin and every package they need, hash-pinned: `requirements/poetry.txt`,
/// installed into the `poetry` layer as it is.
pub(crate) const POETRY_REQUIREMENTS: &str = include_str!("../requirements/poetry.txt");

/// The Poetry version, from `requirements/poetry.txt`.
pub(crate) const POETRY_VERSION: &str = pinned_version_of(POETRY_REQUIREMENTS, "poetry");

/// The version of Poetry's export plugin, from `requirements/poetry.txt`.
pub(crate) const POETRY_PLUGIN_EXPORT_VERSION: &str =
    pinned_version_of(POETRY_REQUIREMENTS, "poetry-plugin-export");

/// Pipenv and every package it needs, hash-pinned: `requirements/pipenv.txt`, installed into the
/// `pipenv` layer as it is.
pub(crate) const PIPENV_REQUIREMENTS: &str = include_str!("../requirements/pipenv.txt");

/// The Pipenv version, from `requirements/pipenv.txt`.
pub(crate) const PIPENV_VERSION: &str = pinned_version_of(PIPENV_REQUIREMENTS, "pipenv");

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

/// The `X` of the one requirement line `name==X` in `contents` (a compiled requirements file:
/// one line per package, options and hashes on indented continuation lines, comments). `name`
/// matches as the package index does: case aside, and `-`, `_` and `.` alike. The version ends
/// at a space, `;` (a marker) or `\`. Evaluated at compile time: a file with no line for
/// `name`, or with two (one pin per environment marker), is a compile error.
const fn pinned_version_of(contents: &'static str, name: &str) -> &'static str {
    let bytes = contents.as_bytes();
    let mut found: Option<&'static str> = None;
    let mut line_start = 0;
    while line_start < bytes.len() {
        let mut line_end = line_start;
        while line_end < bytes.len() && bytes[line_end] != b'\n' {
            line_end += 1;
        }
        if let Some(version_start) = after_name_and_pin(bytes, line_start, line_end, name) {
            let mut version_end = version_start;
            while version_end < line_end
                && !matches!(bytes[version_end], b' ' | b'\t' | b';' | b'\\' | b'\r')
            {
                version_end += 1;
            }
            assert!(
                version_end > version_start,
                "a requirements/*.txt pin has no version after `==`"
            );
            assert!(
                found.is_none(),
                "a requirements/*.txt file pins the package more than once"
            );
            let (_, version) = bytes.split_at(version_start);
            let (version, _) = version.split_at(version_end - version_start);
            found = match std::str::from_utf8(version) {
                Ok(version) => Some(version),
                Err(_) => panic!("a requirements/*.txt pin is not UTF-8"),
            };
        }
        line_start = line_end + 1;
    }
    match found {
        Some(version) => version,
        None => panic!("a requirements/*.txt file has no `name==version` line for the package"),
    }
}

/// Where the version starts when `bytes[start..end]` (one line) is `name==version...`, with
/// optional spaces around `==`; `None` for other lines (comments, continuation lines, other
/// packages, including those whose name only starts with `name`).
const fn after_name_and_pin(bytes: &[u8], start: usize, end: usize, name: &str) -> Option<usize> {
    let name = name.as_bytes();
    if end - start < name.len() {
        return None;
    }
    let mut index = 0;
    while index < name.len() {
        if normalized(bytes[start + index]) != normalized(name[index]) {
            return None;
        }
        index += 1;
    }
    let mut at = start + name.len();
    while at < end && bytes[at] == b' ' {
        at += 1;
    }
    if at + 2 > end || bytes[at] != b'=' || bytes[at + 1] != b'=' {
        return None;
    }
    at += 2;
    while at < end && bytes[at] == b' ' {
        at += 1;
    }
    Some(at)
}

/// A package-name byte as the index compares it (PEP 503): lowercase, with `_` and `.` as `-`.
const fn normalized(byte: u8) -> u8 {
    match byte {
        b'_' | b'.' => b'-',
        _ => byte.to_ascii_lowercase(),
    }
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

    #[test]
    fn finds_a_named_pin_among_many() {
        let compiled = indoc::indoc! {"
            # header
            poetry-core==2.5.0 \\
                --hash=sha256:aaaa
                # via poetry
            Poetry == 2.5.1 \\
                --hash=sha256:bbbb
            poetry_plugin.export==1.10.1;python_version >= '3.10'
        "};
        assert_eq!(pinned_version_of(compiled, "poetry"), "2.5.1");
        assert_eq!(pinned_version_of(compiled, "poetry-core"), "2.5.0");
        assert_eq!(
            pinned_version_of(compiled, "poetry-plugin-export"),
            "1.10.1"
        );
        assert_eq!(POETRY_VERSION, "2.5.1");
        assert_eq!(POETRY_PLUGIN_EXPORT_VERSION, "1.10.1");
        assert_eq!(PIPENV_VERSION, "2026.10.3");
    }

    #[test]
    #[should_panic(expected = "no `name==version` line for the package")]
    fn a_missing_named_pin_is_an_error() {
        // At compile time, the same panic is a compile error.
        pinned_version_of("poetry-core==2.5.0\n", "poetry");
    }

    #[test]
    #[should_panic(expected = "pins the package more than once")]
    fn a_package_pinned_twice_is_an_error() {
        pinned_version_of(
            "poetry==2.5.1 ; python_version < '3.11'\npoetry==2.5.0 ; python_version >= '3.11'\n",
            "poetry",
        );
    }

    /// The requirements of a compiled file: each one's first line (`name==version ; marker`) and
    /// its `--hash` values, on its line or its continuation lines (after a `\` at the end of a line).
    fn requirements(contents: &str) -> Vec<(String, Vec<String>)> {
        let mut requirements: Vec<(String, Vec<String>)> = Vec::new();
        let mut continued = false;
        for line in contents.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with('#') || trimmed.is_empty() {
                continue;
            }
            let content = trimmed.trim_end_matches('\\').trim();
            let hashes = content
                .split_whitespace()
                .filter_map(|option| option.strip_prefix("--hash="))
                .map(str::to_string);
            if continued {
                let (_, known) = requirements.last_mut().expect("a continued requirement");
                known.extend(hashes);
            } else {
                let first = content
                    .split_once(" --")
                    .map_or(content, |(first, _)| first);
                requirements.push((first.trim().to_string(), hashes.collect()));
            }
            continued = trimmed.ends_with('\\');
        }
        requirements
    }

    /// What `pip install --require-hashes --no-deps` needs of the files: every requirement a
    /// plain `name==version` (an optional marker after it) with at least one SHA-256.
    #[test]
    fn tool_trees_are_fully_pinned_with_hashes() {
        for (file, contents, tools) in [
            (
                "poetry.txt",
                POETRY_REQUIREMENTS,
                &["poetry", "poetry-plugin-export"][..],
            ),
            ("pipenv.txt", PIPENV_REQUIREMENTS, &["pipenv"][..]),
        ] {
            let requirements = requirements(contents);
            assert!(requirements.len() > tools.len(), "{file}: only the tools");
            for (requirement, hashes) in &requirements {
                let pin = requirement.split(';').next().unwrap_or_default().trim();
                let (name, version) = pin
                    .split_once("==")
                    .unwrap_or_else(|| panic!("{file}: `{requirement}` is not an `==` pin"));
                assert!(
                    !name.is_empty()
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
                    "{file}: `{requirement}` is not a plain package name"
                );
                assert!(
                    !version.is_empty() && !version.contains(['*', ',', '<', '>', '=', '!', ' ']),
                    "{file}: `{requirement}` is not an exact version"
                );
                assert!(!hashes.is_empty(), "{file}: `{requirement}` has no --hash");
                for hash in hashes {
                    let digest = hash.strip_prefix("sha256:").unwrap_or_else(|| {
                        panic!("{file}: `{requirement}` has a non-SHA-256 hash {hash}")
                    });
                    assert!(
                        digest.len() == 64
                            && digest
                                .bytes()
                                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                        "{file}: `{requirement}` has a malformed SHA-256 {digest}"
                    );
                }
            }
            for tool in tools {
                assert!(
                    requirements
                        .iter()
                        .any(|(requirement, _)| requirement.starts_with(&format!("{tool}=="))),
                    "{file} doesn't pin {tool}"
                );
            }
        }
    }

    /// The `.in` files are what the `.txt` files were compiled from: a version changed in one but
    /// not compiled into the other fails here.
    #[test]
    fn compiled_files_match_their_inputs() {
        let inputs = [
            (
                include_str!("../requirements/poetry.in"),
                POETRY_REQUIREMENTS,
            ),
            (
                include_str!("../requirements/pipenv.in"),
                PIPENV_REQUIREMENTS,
            ),
        ];
        for (input, compiled) in inputs {
            let pins: Vec<&str> = input
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .collect();
            assert!(!pins.is_empty());
            for pin in pins {
                let (name, version) = pin.split_once("==").expect("an `==` pin");
                assert_eq!(pinned_version_of(compiled, name), version, "{pin}");
            }
        }
    }
}

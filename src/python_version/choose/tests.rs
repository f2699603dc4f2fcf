use super::*;
use std::fs;

const NOVEMBER_2026: YearMonth = YearMonth::new(2026, 11);

fn inventory() -> Vec<Artifact> {
    let amd64 = [
        "3.9.18", "3.10.13", "3.10.19", "3.11.7", "3.11.14", "3.12.0", "3.12.1", "3.12.8",
        "3.13.0", "3.13.1",
    ];
    let arm64 = ["3.12.8", "3.13.1"];
    amd64
        .iter()
        .map(|version| ("amd64", version))
        .chain(arm64.iter().map(|version| ("arm64", version)))
        .map(|(arch, version)| Artifact {
            version: version.parse().unwrap(),
            os: "linux".to_string(),
            arch: arch.to_string(),
            url: format!("https://example.com/python-{version}-{arch}.tar.gz"),
            sha256: "0".repeat(64),
        })
        .collect()
}

fn choose_for(
    files: &[(&str, &str)],
    env: Option<&str>,
    arch: &str,
    previous_build: Option<&str>,
    today: YearMonth,
) -> Result<PythonChoice, PythonVersionError> {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        fs::write(dir.path().join(name), content).unwrap();
    }
    let request = read_version_request(dir.path(), env.map(std::ffi::OsStr::new))?;
    let previous_build = previous_build.map(|version| version.parse().unwrap());
    choose_python(&request, &inventory(), "linux", arch, previous_build, today)
}

fn choose(files: &[(&str, &str)]) -> Result<PythonChoice, PythonVersionError> {
    choose_for(files, None, "amd64", None, NOVEMBER_2026)
}

fn chosen(files: &[(&str, &str)]) -> (String, String, Vec<VersionWarning>) {
    let choice = choose(files).unwrap();
    (
        choice.artifact.version.to_string(),
        choice.explanation,
        choice.warnings,
    )
}

#[test]
fn minor_version_gets_the_newest_patch() {
    let (version, explanation, warnings) = chosen(&[(".python-version", "3.12\n")]);
    assert_eq!(version, "3.12.8");
    assert_eq!(
        explanation,
        "Using Python 3.12.8 (from .python-version: 3.12)"
    );
    assert!(warnings.is_empty());
    let choice = choose_for(
        &[(".python-version", "3.13")],
        None,
        "arm64",
        None,
        NOVEMBER_2026,
    )
    .unwrap();
    assert_eq!(choice.artifact.arch, "arm64");
    assert_eq!(
        choice.artifact.url,
        "https://example.com/python-3.13.1-arm64.tar.gz"
    );
}

#[test]
fn each_source_pins_a_version() {
    for (file, content, expected) in [
        (".python-version", "3.12.1", "from .python-version: 3.12.1"),
        (
            "runtime.txt",
            "python-3.12.1",
            "from runtime.txt: python-3.12.1",
        ),
        (
            "Pipfile",
            "[requires]\npython_full_version = \"3.12.1\"",
            "from Pipfile [requires] python_full_version: 3.12.1",
        ),
        (
            "Pipfile.lock",
            r#"{"_meta": {"requires": {"python_full_version": "3.12.1"}}}"#,
            "from Pipfile.lock _meta.requires.python_full_version: 3.12.1",
        ),
    ] {
        let (version, explanation, _) = chosen(&[(file, content)]);
        assert_eq!(version, "3.12.1");
        assert_eq!(explanation, format!("Using Python 3.12.1 ({expected})"));
    }
    let choice = choose_for(&[], Some("3.11"), "amd64", None, NOVEMBER_2026).unwrap();
    assert_eq!(
        choice.explanation,
        "Using Python 3.11.14 (from BP_PYTHON_VERSION: 3.11)"
    );
}

#[test]
fn exact_and_minor_pins_agree_and_the_exact_one_wins() {
    let (version, explanation, _) = chosen(&[
        (".python-version", "3.12"),
        ("runtime.txt", "python-3.12.1"),
        ("Pipfile", "[requires]\npython_version = \"3.12\""),
    ]);
    assert_eq!(version, "3.12.1");
    assert_eq!(
        explanation,
        "Using Python 3.12.1 (from runtime.txt: python-3.12.1)"
    );
}

#[test]
fn different_pins_conflict() {
    let error = choose(&[
        (".python-version", "3.12\n"),
        ("runtime.txt", "python-3.11.9\n"),
    ])
    .unwrap_err();
    let PythonVersionError::Conflict { first, second } = error else {
        panic!("{error:?}");
    };
    assert_eq!(first.describe(), ".python-version: 3.12");
    assert_eq!(second.describe(), "runtime.txt: python-3.11.9");
    assert!(matches!(
        choose(&[
            ("Pipfile", "[requires]\npython_version = \"3.12\""),
            (
                "Pipfile.lock",
                r#"{"_meta": {"requires": {"python_version": "3.11"}}}"#
            ),
        ]),
        Err(PythonVersionError::Conflict { .. })
    ));
    assert!(matches!(
        choose(&[
            (".python-version", "3.12.1"),
            ("runtime.txt", "python-3.12.8")
        ]),
        Err(PythonVersionError::Conflict { .. })
    ));
}

#[test]
fn the_env_var_overrides_files_and_says_so() {
    let choice = choose_for(
        &[
            (".python-version", "3.11\n"),
            ("runtime.txt", "python-3.12.1\n"),
            ("Pipfile", "[requires]\npython_version = \"3.13\""),
        ],
        Some("3.13"),
        "amd64",
        None,
        NOVEMBER_2026,
    )
    .unwrap();
    assert_eq!(
        choice.explanation,
        "Using Python 3.13.1 (from BP_PYTHON_VERSION: 3.13, which overrides .python-version: \
         3.11 and runtime.txt: python-3.12.1)"
    );
}

#[test]
fn unavailable_versions_list_what_is_available() {
    let error = choose(&[(".python-version", "3.12.99")]).unwrap_err();
    let PythonVersionError::UnknownVersion {
        target,
        same_minor,
        minors,
        ..
    } = error
    else {
        panic!("{error:?}");
    };
    assert_eq!(target, "linux/amd64");
    assert_eq!(
        same_minor,
        ["3.12.0", "3.12.1", "3.12.8"].map(|v| v.parse::<PythonVersion>().unwrap())
    );
    assert_eq!(minors, ["3.10", "3.11", "3.12", "3.13"]);
    let error = choose_for(
        &[(".python-version", "3.11")],
        None,
        "arm64",
        None,
        NOVEMBER_2026,
    )
    .unwrap_err();
    assert!(matches!(
        error,
        PythonVersionError::UnknownVersion { ref same_minor, ref minors, .. }
            if same_minor.is_empty() && minors == &["3.12", "3.13"]
    ));
}

#[test]
fn versions_before_3_10_reached_end_of_life() {
    for (file, content, eol) in [
        ("runtime.txt", "python-2.7.8", Some(YearMonth::new(2020, 1))),
        ("runtime.txt", "python-3.4.1", Some(YearMonth::new(2019, 3))),
        (
            "runtime.txt",
            "python-3.6.4",
            Some(YearMonth::new(2021, 12)),
        ),
        (".python-version", "3.9", Some(YearMonth::new(2025, 10))),
        (".python-version", "1.5", None),
    ] {
        let error = choose(&[(file, content)]).unwrap_err();
        assert!(
            matches!(
                error,
                PythonVersionError::EndOfLife { end_of_life, ref newest, .. }
                    if end_of_life == eol && newest.as_deref() == Some("3.13")
            ),
            "{content}: {error:?}"
        );
    }
}

#[test]
fn python_3_10_builds_with_a_warning_after_its_end_of_life() {
    let choice = choose(&[("runtime.txt", "python-3.10")]).unwrap();
    assert_eq!(choice.artifact.version.to_string(), "3.10.19");
    assert_eq!(
        choice.warnings,
        [VersionWarning::new(
            "Python 3.10 has reached its end of life",
            "Python 3.10 reached its end of life in October 2026 and no longer receives \
             security fixes.\n\nUpgrade the app to a newer version (3.13 is the newest \
             available), test it, then replace runtime.txt with a .python-version file \
             containing:\n  3.13"
        )]
    );
    assert_eq!(
        choice.warnings[0].render(),
        "Warning: Python 3.10 has reached its end of life\n\nPython 3.10 reached its end of \
         life in October 2026 and no longer receives\nsecurity fixes.\n\nUpgrade the app to a \
         newer version (3.13 is the newest available), test it, then\nreplace runtime.txt with \
         a .python-version file containing:\n  3.13"
    );
    // The Pipfile's two-line instruction is refilled into the paragraph; the example is kept.
    let choice = choose(&[("Pipfile", "[requires]\npython_version = \"3.10\"")]).unwrap();
    assert_eq!(
        choice.warnings[0].render(),
        "Warning: Python 3.10 has reached its end of life\n\nPython 3.10 reached its end of \
         life in October 2026 and no longer receives\nsecurity fixes.\n\nUpgrade the app to a \
         newer version (3.13 is the newest available), test it, then\nset the version in the \
         [requires] section of Pipfile (without\npython_full_version) and update Pipfile.lock \
         with 'pipenv lock':\n  python_version = \"3.13\""
    );
    let before = choose_for(
        &[(".python-version", "3.10")],
        None,
        "amd64",
        None,
        YearMonth::new(2026, 9),
    )
    .unwrap();
    assert!(before.warnings.is_empty());
}

#[test]
fn pins_must_satisfy_requires_python() {
    let pyproject = (
        "pyproject.toml",
        "[project]\nrequires-python = \">=3.12\"\n",
    );
    let error = choose(&[(".python-version", "3.11"), pyproject]).unwrap_err();
    assert!(matches!(
        error,
        PythonVersionError::RequiresPythonUnsatisfied { ref suggestion, .. }
            if suggestion.as_deref() == Some("3.13")
    ));
    let (version, _, _) = chosen(&[(".python-version", "3.13"), pyproject]);
    assert_eq!(version, "3.13.1");
    // A minor pin takes the newest patch that satisfies the constraint.
    let (version, _, _) = chosen(&[
        (".python-version", "3.12"),
        (
            "pyproject.toml",
            "[project]\nrequires-python = \"==3.12.1\"\n",
        ),
    ]);
    assert_eq!(version, "3.12.1");
}

#[test]
fn requires_python_chooses_when_nothing_pins() {
    let (version, explanation, warnings) = chosen(&[(
        "pyproject.toml",
        "[project]\nrequires-python = \">=3.10,<3.13\"\n",
    )]);
    assert_eq!(version, "3.12.8");
    assert_eq!(
        explanation,
        "Using Python 3.12.8 (the newest version that satisfies requires-python \
         \">=3.10,<3.13\" in pyproject.toml)"
    );
    assert_eq!(warnings.len(), 1);
    // Unsupported versions are never chosen, even if they satisfy the constraint.
    let error =
        choose(&[("pyproject.toml", "[project]\nrequires-python = \"<3.10\"\n")]).unwrap_err();
    assert!(matches!(
        error,
        PythonVersionError::NoVersionSatisfies { ref minors, .. }
            if minors == &["3.10", "3.11", "3.12", "3.13"]
    ));
}

#[test]
fn no_version_anywhere_uses_the_newest_and_recommends_a_pin() {
    let (version, explanation, warnings) = chosen(&[("requirements.txt", "flask\n")]);
    assert_eq!(version, "3.13.1");
    assert_eq!(
        explanation,
        "Using Python 3.13.1 (the newest version; no version was requested)"
    );
    assert_eq!(
        warnings,
        [VersionWarning::new(
            "No Python version is pinned",
            "No Python version is pinned, so a future buildpack release could change the \
             version this app gets. To pin it, create a .python-version file in the root of \
             the app containing:\n  3.13"
        )]
    );
}

#[test]
fn a_rebuild_keeps_the_previous_minor_version() {
    let choice = choose_for(&[], None, "amd64", Some("3.11.7"), NOVEMBER_2026).unwrap();
    assert_eq!(choice.artifact.version.to_string(), "3.11.14");
    assert_eq!(
        choice.explanation,
        "Using Python 3.11.14 (the minor version of the previous build, which used Python \
         3.11.7; no version is pinned)"
    );
    assert!(choice.warnings[0].body.ends_with("containing:\n  3.11"));
    // A pin always wins over the previous build.
    let choice = choose_for(
        &[(".python-version", "3.12")],
        None,
        "amd64",
        Some("3.11.7"),
        NOVEMBER_2026,
    )
    .unwrap();
    assert_eq!(choice.artifact.version.to_string(), "3.12.8");
}

#[test]
fn a_rebuild_moves_on_when_the_previous_minor_is_gone() {
    for (previous, files, reason) in [
        (
            "3.9.18",
            &[][..],
            "Python 3.9 has reached its end of life and is no longer supported",
        ),
        (
            "3.11.7",
            &[][..],
            "Python 3.11 is no longer available for linux/arm64",
        ),
        (
            "3.12.8",
            &[("pyproject.toml", "[project]\nrequires-python = \">=3.13\"")][..],
            "Python 3.12 doesn't satisfy requires-python \">=3.13\" in pyproject.toml",
        ),
    ] {
        let choice = choose_for(files, None, "arm64", Some(previous), NOVEMBER_2026).unwrap();
        assert_eq!(choice.artifact.version.to_string(), "3.13.1");
        assert_eq!(
            choice.warnings[0],
            VersionWarning::new(
                format!(
                    "Not using Python {} from the previous build",
                    previous.rsplit_once('.').unwrap().0
                ),
                format!(
                    "The previous build used Python {previous}, but {reason}, so this build \
                     uses the newest version instead."
                )
            )
        );
    }
}

#[test]
fn a_target_without_runtimes_is_an_error() {
    let error = choose_for(&[], None, "riscv64", None, NOVEMBER_2026).unwrap_err();
    assert_eq!(
        error,
        PythonVersionError::NoRuntimeForTarget {
            target: "linux/riscv64".to_string()
        }
    );
}

#[test]
fn resolves_from_the_app_directory() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(".python-version"), "3.13\n").unwrap();
    let target = libcnb::Target {
        os: "linux".to_string(),
        arch: "amd64".to_string(),
        arch_variant: None,
        distro_name: "ubuntu".to_string(),
        distro_version: "24.04".to_string(),
    };
    let choice = resolve_python_version(dir.path(), None, &inventory(), &target, None).unwrap();
    assert_eq!(
        choice.explanation,
        "Using Python 3.13.1 (from .python-version: 3.13)"
    );
}

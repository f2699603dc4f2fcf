//! From what the app asked for to one runtime artifact, with the reasons.

use super::eol::{end_of_life, is_supported};
use super::{PythonVersion, PythonVersionError, YearMonth};
use crate::inventory::Artifact;
use crate::version_sources::{
    Pin, RequiresPython, VersionRequest, VersionSource, read_version_request,
};
use std::path::Path;

/// The runtime to install, and what to tell the user about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PythonChoice {
    pub(crate) artifact: Artifact,
    /// `Using Python 3.13.1 (from .python-version: 3.13)`
    pub(crate) explanation: String,
    pub(crate) warnings: Vec<String>,
}

/// Reads every version source in the app (see `version_sources` for the precedence), then
/// chooses the runtime for the build target.
///
/// `previous_build` is the Python version of the app's previous build, if any: when the app
/// pins no version, its minor version is kept.
pub(crate) fn resolve_python_version(
    app_dir: &Path,
    bp_python_version: Option<&str>,
    inventory: &[Artifact],
    target: &libcnb::Target,
    previous_build: Option<PythonVersion>,
) -> Result<PythonChoice, PythonVersionError> {
    let request = read_version_request(app_dir, bp_python_version)?;
    choose_python(
        &request,
        inventory,
        &target.os,
        &target.arch,
        previous_build,
        YearMonth::now(),
    )
}

/// Chooses the runtime for `request` among the inventory's artifacts for the target. `today`
/// decides which end-of-life warnings apply.
pub(crate) fn choose_python(
    request: &VersionRequest,
    inventory: &[Artifact],
    target_os: &str,
    target_arch: &str,
    previous_build: Option<PythonVersion>,
    today: YearMonth,
) -> Result<PythonChoice, PythonVersionError> {
    let target = format!("{target_os}/{target_arch}");
    let available: Vec<&Artifact> = inventory
        .iter()
        .filter(|artifact| artifact.os == target_os && artifact.arch == target_arch)
        .collect();
    let supported: Vec<&Artifact> = available
        .iter()
        .copied()
        .filter(|artifact| is_supported(artifact.version.major, artifact.version.minor))
        .collect();
    let newest_minor = newest(&supported).map(|artifact| artifact.version.major_minor());
    let Some(newest_minor) = newest_minor else {
        return Err(PythonVersionError::NoRuntimeForTarget { target });
    };
    let context = Context {
        requires: request.requires_python.as_ref(),
        supported,
        newest_minor,
        target,
    };
    let (artifact, explanation, mut warnings, source) = if let Some((pin, note)) = pinned(request)?
    {
        let artifact = context.choose_pinned(pin, &available)?;
        let explanation = format!(
            "Using Python {} (from {}{note})",
            artifact.version,
            pin.describe()
        );
        (artifact, explanation, Vec::new(), pin.source)
    } else {
        let (artifact, explanation, warnings) = context.choose_unpinned(previous_build)?;
        (
            artifact,
            explanation,
            warnings,
            VersionSource::PythonVersionFile,
        )
    };
    warnings.extend(context.end_of_life_warning(artifact.version, source, today));
    Ok(PythonChoice {
        artifact: artifact.clone(),
        explanation,
        warnings,
    })
}

/// The pin that decides the version, and a note naming the pins `BP_PYTHON_VERSION` overrides.
/// Pins in files must agree; the first exact one wins, else the first one.
fn pinned(request: &VersionRequest) -> Result<Option<(&Pin, String)>, PythonVersionError> {
    if let Some(pin) = &request.override_pin {
        let overridden: Vec<String> = request
            .pins
            .iter()
            .filter(|other| !other.version.compatible_with(pin.version))
            .map(Pin::describe)
            .collect();
        let note = if overridden.is_empty() {
            String::new()
        } else {
            format!(", which overrides {}", overridden.join(" and "))
        };
        return Ok(Some((pin, note)));
    }
    for (index, first) in request.pins.iter().enumerate() {
        if let Some(second) = request.pins[index + 1..]
            .iter()
            .find(|second| !first.version.compatible_with(second.version))
        {
            return Err(PythonVersionError::Conflict {
                first: Box::new(first.clone()),
                second: Box::new(second.clone()),
            });
        }
    }
    Ok(request
        .pins
        .iter()
        .find(|pin| pin.version.patch.is_some())
        .or(request.pins.first())
        .map(|pin| (pin, String::new())))
}

struct Context<'a> {
    requires: Option<&'a RequiresPython>,
    /// The target's artifacts whose minor version the buildpack supports.
    supported: Vec<&'a Artifact>,
    newest_minor: String,
    target: String,
}

impl<'a> Context<'a> {
    fn satisfies(&self, version: PythonVersion) -> bool {
        self.requires
            .is_none_or(|requires| requires.specifiers.contains(version))
    }

    fn minors(&self) -> Vec<String> {
        let mut minors: Vec<PythonVersion> = self
            .supported
            .iter()
            .map(|artifact| PythonVersion::new(artifact.version.major, artifact.version.minor, 0))
            .collect();
        minors.sort_unstable();
        minors.dedup();
        minors.into_iter().map(PythonVersion::major_minor).collect()
    }

    /// The newest supported version that satisfies `requires-python`, as `X.Y`.
    fn newest_satisfying_minor(&self) -> Option<String> {
        let satisfying: Vec<&Artifact> = self
            .supported
            .iter()
            .copied()
            .filter(|artifact| self.satisfies(artifact.version))
            .collect();
        newest(&satisfying).map(|artifact| artifact.version.major_minor())
    }

    fn choose_pinned(
        &self,
        pin: &Pin,
        available: &[&'a Artifact],
    ) -> Result<&'a Artifact, PythonVersionError> {
        let version = pin.version;
        if !is_supported(version.major, version.minor) {
            return Err(PythonVersionError::EndOfLife {
                pin: Box::new(pin.clone()),
                end_of_life: end_of_life(version.major, version.minor),
                newest: Some(self.newest_minor.clone()),
            });
        }
        let matching: Vec<&Artifact> = available
            .iter()
            .copied()
            .filter(|artifact| version.matches(artifact.version))
            .collect();
        if matching.is_empty() {
            let mut same_minor: Vec<PythonVersion> = available
                .iter()
                .map(|artifact| artifact.version)
                .filter(|other| (other.major, other.minor) == (version.major, version.minor))
                .collect();
            same_minor.sort_unstable();
            same_minor.dedup();
            return Err(PythonVersionError::UnknownVersion {
                pin: Box::new(pin.clone()),
                target: self.target.clone(),
                same_minor,
                minors: self.minors(),
            });
        }
        let satisfying: Vec<&Artifact> = matching
            .into_iter()
            .filter(|artifact| self.satisfies(artifact.version))
            .collect();
        match (newest(&satisfying), self.requires) {
            (Some(artifact), _) => Ok(artifact),
            (None, Some(requires)) => Err(PythonVersionError::RequiresPythonUnsatisfied {
                requires: requires.clone(),
                pin: Box::new(pin.clone()),
                suggestion: self.newest_satisfying_minor(),
            }),
            (None, None) => Err(PythonVersionError::NoRuntimeForTarget {
                target: self.target.clone(),
            }),
        }
    }

    fn choose_unpinned(
        &self,
        previous_build: Option<PythonVersion>,
    ) -> Result<(&'a Artifact, String, Vec<String>), PythonVersionError> {
        let satisfying: Vec<&Artifact> = self
            .supported
            .iter()
            .copied()
            .filter(|artifact| self.satisfies(artifact.version))
            .collect();
        let mut warnings = Vec::new();
        if let Some(previous) = previous_build {
            let same_minor: Vec<&Artifact> = satisfying
                .iter()
                .copied()
                .filter(|artifact| {
                    (artifact.version.major, artifact.version.minor)
                        == (previous.major, previous.minor)
                })
                .collect();
            if let Some(artifact) = newest(&same_minor) {
                let explanation = format!(
                    "Using Python {} (the minor version of the previous build, which used \
                     Python {previous}; no version is pinned)",
                    artifact.version
                );
                warnings.push(pin_recommendation(artifact.version));
                return Ok((artifact, explanation, warnings));
            }
            warnings.push(format!(
                "The previous build used Python {previous}, but {}, so this build uses the \
                 newest version instead.",
                self.why_not_available(previous)
            ));
        }
        let Some(artifact) = newest(&satisfying) else {
            return Err(match self.requires {
                Some(requires) => PythonVersionError::NoVersionSatisfies {
                    requires: requires.clone(),
                    target: self.target.clone(),
                    minors: self.minors(),
                },
                None => PythonVersionError::NoRuntimeForTarget {
                    target: self.target.clone(),
                },
            });
        };
        let explanation = match self.requires {
            Some(requires) => format!(
                "Using Python {} (the newest version that satisfies requires-python \"{}\" in \
                 pyproject.toml)",
                artifact.version, requires.raw
            ),
            None => format!(
                "Using Python {} (the newest version; no version was requested)",
                artifact.version
            ),
        };
        warnings.push(pin_recommendation(artifact.version));
        Ok((artifact, explanation, warnings))
    }

    fn why_not_available(&self, previous: PythonVersion) -> String {
        let minor = previous.major_minor();
        if !is_supported(previous.major, previous.minor) {
            format!("Python {minor} has reached its end of life and is no longer supported")
        } else if self.supported.iter().any(|artifact| {
            (artifact.version.major, artifact.version.minor) == (previous.major, previous.minor)
        }) {
            let raw = self.requires.map_or("", |requires| requires.raw.as_str());
            format!("Python {minor} doesn't satisfy requires-python \"{raw}\" in pyproject.toml")
        } else {
            format!("Python {minor} is no longer available for {}", self.target)
        }
    }

    fn end_of_life_warning(
        &self,
        version: PythonVersion,
        source: VersionSource,
        today: YearMonth,
    ) -> Option<String> {
        let month = end_of_life(version.major, version.minor).filter(|month| *month <= today)?;
        let minor = version.major_minor();
        let upgrade = if self.newest_minor == minor {
            String::new()
        } else {
            format!(
                " Upgrade the app to a newer version ({} is the newest available), test it, \
                 then {}",
                self.newest_minor,
                source.how_to_request(&self.newest_minor)
            )
        };
        Some(format!(
            "Python {minor} reached its end of life in {month} and no longer receives security \
             fixes.{upgrade}"
        ))
    }
}

fn pin_recommendation(version: PythonVersion) -> String {
    format!(
        "No Python version is pinned, so a future buildpack release could change the version \
         this app gets. To pin it, create a .python-version file in the root of the app \
         containing:\n  {}",
        version.major_minor()
    )
}

fn newest<'a>(artifacts: &[&'a Artifact]) -> Option<&'a Artifact> {
    artifacts
        .iter()
        .copied()
        .max_by_key(|artifact| artifact.version)
}

#[cfg(test)]
mod tests {
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
        let request = read_version_request(dir.path(), env)?;
        let previous_build = previous_build.map(|version| version.parse().unwrap());
        choose_python(&request, &inventory(), "linux", arch, previous_build, today)
    }

    fn choose(files: &[(&str, &str)]) -> Result<PythonChoice, PythonVersionError> {
        choose_for(files, None, "amd64", None, NOVEMBER_2026)
    }

    fn chosen(files: &[(&str, &str)]) -> (String, String, Vec<String>) {
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
            [
                "Python 3.10 reached its end of life in October 2026 and no longer receives \
              security fixes. Upgrade the app to a newer version (3.13 is the newest \
              available), test it, then replace runtime.txt with a .python-version file \
              containing:\n  3.13"
            ]
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
            [
                "No Python version is pinned, so a future buildpack release could change the \
              version this app gets. To pin it, create a .python-version file in the root of \
              the app containing:\n  3.13"
            ]
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
        assert!(choice.warnings[0].ends_with("containing:\n  3.11"));
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
                format!(
                    "The previous build used Python {previous}, but {reason}, so this build \
                     uses the newest version instead."
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
}

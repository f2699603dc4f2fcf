//! From what the app asked for to one runtime artifact, with the reasons.

use super::eol::{end_of_life, is_supported};
use super::warning::VersionWarning;
use super::{PythonVersion, PythonVersionError, YearMonth};
use crate::inventory::Artifact;
use crate::version_sources::{
    Pin, RequiresPython, VersionRequest, VersionSource, read_version_request,
};
use std::ffi::OsStr;
use std::path::Path;

/// The runtime to install, and what to tell the user about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PythonChoice {
    pub(crate) artifact: Artifact,
    /// `Using Python 3.13.1 (from .python-version: 3.13)`
    pub(crate) explanation: String,
    pub(crate) warnings: Vec<VersionWarning>,
}

/// Reads every version source in the app (see `version_sources` for the precedence), then
/// chooses the runtime for the build target.
///
/// `bp_python_version` is the platform env var `BP_PYTHON_VERSION`, if set. `previous_build` is
/// the Python version of the app's previous build, if any: when the app pins no version, its
/// minor version is kept.
pub(crate) fn resolve_python_version(
    app_dir: &Path,
    bp_python_version: Option<&OsStr>,
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
    ) -> Result<(&'a Artifact, String, Vec<VersionWarning>), PythonVersionError> {
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
            warnings.push(VersionWarning::new(
                format!(
                    "Not using Python {} from the previous build",
                    previous.major_minor()
                ),
                format!(
                    "The previous build used Python {previous}, but {}, so this build uses the \
                     newest version instead.",
                    self.why_not_available(previous)
                ),
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
    ) -> Option<VersionWarning> {
        let month = end_of_life(version.major, version.minor).filter(|month| *month <= today)?;
        let minor = version.major_minor();
        let upgrade = if self.newest_minor == minor {
            String::new()
        } else {
            format!(
                "\n\nUpgrade the app to a newer version ({} is the newest available), test it, \
                 then {}",
                self.newest_minor,
                source.how_to_request(&self.newest_minor)
            )
        };
        Some(VersionWarning::new(
            format!("Python {minor} has reached its end of life"),
            format!(
                "Python {minor} reached its end of life in {month} and no longer receives \
                 security fixes.{upgrade}"
            ),
        ))
    }
}

fn pin_recommendation(version: PythonVersion) -> VersionWarning {
    VersionWarning::new(
        "No Python version is pinned",
        format!(
            "No Python version is pinned, so a future buildpack release could change the \
             version this app gets. To pin it, create a .python-version file in the root of the \
             app containing:\n  {}",
            version.major_minor()
        ),
    )
}

fn newest<'a>(artifacts: &[&'a Artifact]) -> Option<&'a Artifact> {
    artifacts
        .iter()
        .copied()
        .max_by_key(|artifact| artifact.version)
}

#[cfg(test)]
mod tests;

//! Checks run at the very start of `build()`, before any layer is touched: settings in the build
//! environment that would make the dependency install go somewhere other than the app's virtual
//! environment, or break the Python runtime itself, are rejected with an error naming the
//! variable.
//!
//! Both the buildpack's own process environment and the platform env (`pack build --env`) are
//! checked: with `clear-env = false` the lifecycle exports platform env into the process, but a
//! platform may also only write it to `<platform>/env/`.

use crate::error_message::ErrorMessage;
use indoc::formatdoc;
use std::ffi::OsStr;

/// A variable that must not be set during the build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ForbiddenVar {
    PipUser,
    PipTarget,
    PipPrefix,
    PipRoot,
    PythonHome,
    PythonInspect,
    PythonNoUserSite,
    PythonPlatLibDir,
    PythonUserBase,
    VirtualEnv,
}

impl ForbiddenVar {
    /// Every variable that changes where or how Python and pip install or start (compare
    /// <https://docs.python.org/3/using/cmdline.html#environment-variables> and pip's options).
    /// `PIP_CACHE_DIR` and `PIP_PYTHON` are not here: the buildpack sets the first itself and
    /// removes the second from the tools' env. `PYTHONPATH` is allowed: apps set it for their own
    /// code, and the buildpack's tools and probes run without it.
    const ALL: [Self; 10] = [
        Self::PipUser,
        Self::PipTarget,
        Self::PipPrefix,
        Self::PipRoot,
        Self::PythonHome,
        Self::PythonInspect,
        Self::PythonNoUserSite,
        Self::PythonPlatLibDir,
        Self::PythonUserBase,
        Self::VirtualEnv,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::PipUser => "PIP_USER",
            Self::PipTarget => "PIP_TARGET",
            Self::PipPrefix => "PIP_PREFIX",
            Self::PipRoot => "PIP_ROOT",
            Self::PythonHome => "PYTHONHOME",
            Self::PythonInspect => "PYTHONINSPECT",
            Self::PythonNoUserSite => "PYTHONNOUSERSITE",
            Self::PythonPlatLibDir => "PYTHONPLATLIBDIR",
            Self::PythonUserBase => "PYTHONUSERBASE",
            Self::VirtualEnv => "VIRTUAL_ENV",
        }
    }

    /// Why the variable breaks the build, as a sentence that follows "<NAME> is set, ...".
    fn consequence(self) -> &'static str {
        match self {
            Self::PipUser => {
                "which makes pip install packages into the user's home directory instead of \
                 the app's virtual environment, so they would be missing when the app runs."
            }
            Self::PipTarget => {
                "which makes pip install packages into that directory instead of the app's \
                 virtual environment, so they would be missing when the app runs."
            }
            Self::PipPrefix | Self::PipRoot => {
                "which makes pip install packages under that directory instead of the app's \
                 virtual environment, so they would be missing when the app runs."
            }
            Self::PythonHome => {
                "which makes Python look for its standard library in that directory instead \
                 of the Python installed by this buildpack, so Python fails to start or mixes \
                 two installations."
            }
            Self::PythonInspect => {
                "which makes Python wait for interactive input after each command it runs, so \
                 the build's Python commands don't finish."
            }
            Self::PythonNoUserSite => {
                "which changes the directories Python searches for packages, differently at \
                 build time and when the app runs; the buildpack installs the app's packages \
                 into its virtual environment, where Python finds them without it."
            }
            Self::PythonPlatLibDir => {
                "which makes Python look for its standard library's compiled modules in \
                 another directory than the one the buildpack's Python has them in, so Python \
                 fails to start."
            }
            Self::PythonUserBase => {
                "which makes Python and pip load and install packages in that user directory, \
                 outside the app's virtual environment, so code from there runs while the \
                 buildpack sets up the environment and is missing when the app runs."
            }
            Self::VirtualEnv => {
                "but the buildpack creates the app's virtual environment itself and sets \
                 VIRTUAL_ENV to it, so the value you set would be silently ignored."
            }
        }
    }

    /// Whether `value` turns the setting on. pip reads `PIP_USER=0`/`false`/`no`/`off` as off;
    /// an empty value is treated as unset for every variable.
    fn is_active(self, value: &OsStr) -> bool {
        let value = value.to_string_lossy();
        let value = value.trim();
        match self {
            Self::PipUser => !value.is_empty() && !is_pip_false(value),
            _ => !value.is_empty(),
        }
    }
}

fn is_pip_false(value: &str) -> bool {
    ["0", "false", "no", "off"]
        .iter()
        .any(|falsy| value.eq_ignore_ascii_case(falsy))
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ChecksError {
    /// One or more forbidden variables are set (each listed once, in a fixed order).
    ForbiddenEnvVars(Vec<ForbiddenVar>),
    /// `PIP_NO_INDEX` is on and `PIP_FIND_LINKS` isn't set: pip can't find any package.
    NoIndexWithoutFindLinks,
    /// `BP_PYTHON_COMMAND_TIMEOUT` isn't a time limit.
    InvalidTimeLimit(crate::limited_command::InvalidTimeLimit),
}

/// Rejects the forbidden variables set in the build's process env or its platform env, and
/// settings that would make a step fail.
pub(crate) fn check_build_environment(platform_env: &libcnb::Env) -> Result<(), ChecksError> {
    let environments: [Vec<(std::ffi::OsString, std::ffi::OsString)>; 2] = [
        std::env::vars_os().collect(),
        platform_env
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
    ];
    check_environment(environments.clone())?;
    check_no_index(&environments)?;
    crate::limited_command::time_limit(platform_env).map_err(ChecksError::InvalidTimeLimit)?;
    Ok(())
}

/// `PIP_NO_INDEX` turned on without `PIP_FIND_LINKS`: pip would find no package at all, not
/// even the pip the buildpack installs, and fail with advice about the network.
fn check_no_index<K: AsRef<OsStr>, V: AsRef<OsStr>>(
    environments: &[Vec<(K, V)>],
) -> Result<(), ChecksError> {
    let is_set = |name: &str, active: fn(&str) -> bool| {
        environments.iter().flatten().any(|(key, value)| {
            key.as_ref() == OsStr::new(name) && active(value.as_ref().to_string_lossy().trim())
        })
    };
    if is_set("PIP_NO_INDEX", |value| {
        !value.is_empty() && !is_pip_false(value)
    }) && !is_set("PIP_FIND_LINKS", |value| !value.is_empty())
    {
        return Err(ChecksError::NoIndexWithoutFindLinks);
    }
    Ok(())
}

/// Rejects the forbidden variables found in any of `environments`.
fn check_environment<'a, I, K, V>(environments: I) -> Result<(), ChecksError>
where
    I: IntoIterator<Item = Vec<(K, V)>>,
    K: AsRef<OsStr> + 'a,
    V: AsRef<OsStr> + 'a,
{
    let environments: Vec<Vec<(K, V)>> = environments.into_iter().collect();
    let found: Vec<ForbiddenVar> = ForbiddenVar::ALL
        .into_iter()
        .filter(|var| {
            environments.iter().flatten().any(|(key, value)| {
                key.as_ref() == OsStr::new(var.name()) && var.is_active(value.as_ref())
            })
        })
        .collect();
    if found.is_empty() {
        Ok(())
    } else {
        Err(ChecksError::ForbiddenEnvVars(found))
    }
}

impl ChecksError {
    pub(crate) fn message(&self) -> ErrorMessage {
        match self {
            Self::ForbiddenEnvVars(vars) => {
                let names = vars
                    .iter()
                    .map(|var| var.name())
                    .collect::<Vec<_>>()
                    .join(", ");
                let reasons = vars
                    .iter()
                    .map(|var| format!("- {} is set, {}", var.name(), var.consequence()))
                    .collect::<Vec<_>>()
                    .join("\n");
                ErrorMessage::new(
                    format!("Unsupported environment variable: {names}"),
                    formatdoc! {"
                        The build environment sets variables that would break the install:
                        {reasons}

                        Remove them from the build's environment (for example the `--env`
                        options of `pack build`, or the builder's or CI system's settings), then
                        build again. The buildpack installs the app's dependencies into its own
                        virtual environment and puts it on PATH, so no setting is needed.
                    "},
                )
            }
            Self::NoIndexWithoutFindLinks => ErrorMessage::new(
                "PIP_NO_INDEX is set without PIP_FIND_LINKS",
                formatdoc! {"
                    The build environment sets PIP_NO_INDEX, which stops pip from using any
                    package index, but not PIP_FIND_LINKS, which would tell pip where else to
                    find packages. pip could install nothing, not even the pip the buildpack
                    installs first.

                    For an offline build, also set PIP_FIND_LINKS to a directory (or URL) holding
                    the wheels of every package the app needs, and of pip. Otherwise remove
                    PIP_NO_INDEX from the build's environment.
                "},
            ),
            Self::InvalidTimeLimit(error) => error.message(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        vars.to_vec()
    }

    #[test]
    fn ordinary_environment_passes() {
        assert_eq!(
            check_environment([
                env(&[
                    ("PATH", "/bin"),
                    ("PIP_INDEX_URL", "https://example.com/simple")
                ]),
                env(&[("PIP_USER", "0"), ("PIP_TARGET", ""), ("PYTHONPATH", "/x")]),
            ]),
            Ok(())
        );
    }

    #[test]
    fn forbidden_variables_from_every_source_are_reported_once() {
        assert_eq!(
            check_environment([
                env(&[("VIRTUAL_ENV", "/venv"), ("PIP_USER", "yes")]),
                env(&[("PIP_USER", "1"), ("PYTHONHOME", "/opt/python")]),
            ]),
            Err(ChecksError::ForbiddenEnvVars(vec![
                ForbiddenVar::PipUser,
                ForbiddenVar::PythonHome,
                ForbiddenVar::VirtualEnv
            ]))
        );
    }

    #[test]
    fn python_startup_variables_are_rejected() {
        assert_eq!(
            check_environment([env(&[
                ("PYTHONUSERBASE", "/tmp/u"),
                ("PYTHONINSPECT", "1"),
                ("PYTHONPLATLIBDIR", "lib64"),
                ("PYTHONNOUSERSITE", "1"),
                ("PIP_ROOT", "/")
            ])]),
            Err(ChecksError::ForbiddenEnvVars(vec![
                ForbiddenVar::PipRoot,
                ForbiddenVar::PythonInspect,
                ForbiddenVar::PythonNoUserSite,
                ForbiddenVar::PythonPlatLibDir,
                ForbiddenVar::PythonUserBase,
            ]))
        );
    }

    #[test]
    fn no_index_needs_find_links() {
        assert_eq!(
            check_no_index(&[env(&[("PIP_NO_INDEX", "1")]), env(&[])]),
            Err(ChecksError::NoIndexWithoutFindLinks)
        );
        assert_eq!(
            check_no_index(&[
                env(&[("PIP_NO_INDEX", "1")]),
                env(&[("PIP_FIND_LINKS", "/w")])
            ]),
            Ok(())
        );
        assert_eq!(check_no_index(&[env(&[("PIP_NO_INDEX", "off")])]), Ok(()));
    }

    #[test]
    fn error_message() {
        let error = ChecksError::ForbiddenEnvVars(vec![ForbiddenVar::PipTarget]);
        assert_eq!(
            error.message().render(),
            indoc::indoc! {"
                Error: Unsupported environment variable: PIP_TARGET

                The build environment sets variables that would break the install:
                - PIP_TARGET is set, which makes pip install packages into that directory instead of the app's virtual environment, so they would be missing when the app runs.

                Remove them from the build's environment (for example the `--env`
                options of `pack build`, or the builder's or CI system's settings), then
                build again. The buildpack installs the app's dependencies into its own
                virtual environment and puts it on PATH, so no setting is needed."}
        );
    }
}

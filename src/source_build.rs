//! A package that failed to build from source, for every installer (pip, and uv, Poetry and
//! Pipenv, which compile through the same `sysconfig`): which package, what the output says is
//! missing (a header, a system tool, the C compiler), and the one message a user reads.

use crate::error_message::ErrorMessage;
use indoc::formatdoc;

/// Whether the installer's output says that building a package from source failed.
pub(crate) fn is_build_failure(output: &str) -> bool {
    output.contains("Failed to build")
        || output.contains("Failed building wheel")
        || output.contains("metadata-generation-failed")
        || output.contains("subprocess-exited-with-error")
        || output.contains("The build backend returned an error")
}

/// A package that an installer had to build from source, and couldn't.
#[derive(Debug)]
pub(crate) struct SourceBuildFailure {
    installer: &'static str,
    package: Option<String>,
    hint: Option<String>,
}

impl SourceBuildFailure {
    /// The failure the output of `installer` shows, if it shows one: `uv`, or `pip` and
    /// `Pipenv` (which runs pip, so its output has pip's lines).
    pub(crate) fn from_output(installer: &'static str, output: &str) -> Option<Self> {
        // What the message quotes from the output (a package, a header) never shows a
        // credential.
        let output = &crate::redact::redact_credentials(output);
        if !is_build_failure(output) {
            return None;
        }
        let package = if installer == "uv" {
            uv_failed_package(output)
        } else {
            crate::layers::venv::failed_package(output)
        };
        Some(Self {
            installer,
            package,
            hint: crate::layers::venv::missing_system_dependency(output),
        })
    }

    pub(crate) fn message(&self) -> ErrorMessage {
        build_failed_message(
            self.installer,
            self.package.as_deref(),
            self.hint.as_deref(),
        )
    }
}

/// The package uv names in its `Failed to build` line: `cgreet` for a path source
/// (`cgreet @ file://...`), `psycopg2` for `psycopg2==2.9.10`.
pub(crate) fn uv_failed_package(output: &str) -> Option<String> {
    output.lines().find_map(|line| {
        let (_, rest) = line.split_once("Failed to build `")?;
        let (spec, _) = rest.split_once('`')?;
        let name = spec
            .split([' ', '=', '@', '<', '>', '~', '!', '['])
            .next()
            .unwrap_or_default();
        (!name.is_empty()).then(|| name.to_string())
    })
}

/// A sentence for a build that found no C (or C++) compiler: `error: command 'cc' failed: No
/// such file or directory` (setuptools), `unable to execute 'gcc'` (older distutils),
/// `[Errno 2] No such file or directory: 'clang'`, `sh: 1: cc: not found`.
pub(crate) fn missing_compiler(output: &str) -> Option<String> {
    let compiler = output.lines().find_map(|line| {
        let candidates = [
            quoted_after(line, "command '").filter(|_| line.contains("No such file or directory")),
            quoted_after(line, "unable to execute '"),
            quoted_after(line, "No such file or directory: '"),
            not_found_command(line),
        ];
        candidates
            .into_iter()
            .flatten()
            .find(|command| is_compiler(command))
    })?;
    Some(format!(
        "The build needs a C compiler, but the build image has no `{compiler}`\n\
         (\"No such file or directory\"). The builder image must provide one: gcc as\n\
         `cc`, as Heroku's and Paketo's builders do."
    ))
}

/// The text between `start` and the next `'`.
fn quoted_after<'a>(line: &'a str, start: &str) -> Option<&'a str> {
    let (_, rest) = line.split_once(start)?;
    rest.split_once('\'').map(|(quoted, _)| quoted)
}

/// `cc` in `sh: 1: cc: not found` or `bash: cc: command not found`.
fn not_found_command(line: &str) -> Option<&str> {
    let before = line
        .strip_suffix(": not found")
        .or_else(|| line.strip_suffix(": command not found"))?;
    before.rsplit([' ', ':']).next()
}

fn is_compiler(command: &str) -> bool {
    let name = command.rsplit('/').next().unwrap_or(command);
    let unversioned = match name.rsplit_once('-') {
        Some((base, version)) if version.chars().all(|c| c.is_ascii_digit() || c == '.') => base,
        _ => name,
    };
    ["cc", "c++", "gcc", "g++", "clang", "clang++"].contains(&unversioned)
        || unversioned.ends_with("-gcc")
        || unversioned.ends_with("-g++")
}

/// The error for a package that `installer` had to build from source, and couldn't; `hint`
/// says what the output shows is missing, when it shows it.
pub(crate) fn build_failed_message(
    installer: &str,
    package: Option<&str>,
    hint: Option<&str>,
) -> ErrorMessage {
    let package = package.map_or_else(|| "a package".to_string(), |name| format!("`{name}`"));
    let hint = hint.map_or_else(String::new, |hint| format!("{hint}\n\n"));
    ErrorMessage::new(
        "Unable to build a package from source",
        formatdoc! {"
            {installer} had to build {package} from source (it has no wheel for this Python
            version and platform, or it is a local project), and the build failed:
            see {installer}'s output above.

            {hint}Either use a version of the package that publishes wheels for this
            Python version (check its files on the package index), or, if it needs
            system libraries or headers at build time, add them to the build image
            (for example with a buildpack that installs apt packages).
        "},
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_missing_compiler() {
        for (output, compiler) in [
            (
                "      error: command 'cc' failed: No such file or directory\n",
                "cc",
            ),
            (
                "error: command 'x86_64-linux-gnu-gcc' failed: No such file or directory",
                "x86_64-linux-gnu-gcc",
            ),
            (
                "error: unable to execute 'gcc': No such file or directory",
                "gcc",
            ),
            (
                "error: [Errno 2] No such file or directory: 'clang'",
                "clang",
            ),
            ("sh: 1: cc: not found", "cc"),
            ("/bin/sh: c++: command not found", "c++"),
            (
                "error: command 'clang-18' failed: No such file or directory",
                "clang-18",
            ),
        ] {
            let hint = missing_compiler(output).unwrap_or_else(|| panic!("{output}"));
            assert!(hint.contains(&format!("has no `{compiler}`")), "{hint}");
        }
        for output in [
            "error: command '/usr/bin/cc' failed with exit code 1",
            "fatal error: snappy-c.h: No such file or directory",
            "error: [Errno 2] No such file or directory: 'setup.py'",
            "sh: 1: pg_config: not found",
        ] {
            assert_eq!(missing_compiler(output), None, "{output}");
        }
    }

    #[test]
    fn finds_the_package_uv_failed_to_build() {
        assert_eq!(
            uv_failed_package("  × Failed to build `cgreet @ file:///workspace/vendor/cgreet`\n  ├─▶ The build backend returned an error").as_deref(),
            Some("cgreet")
        );
        assert_eq!(
            uv_failed_package("  × Failed to build `psycopg2==2.9.10`").as_deref(),
            Some("psycopg2")
        );
        assert_eq!(uv_failed_package("error: something else"), None);
    }

    #[test]
    fn the_message_names_the_installer_package_and_compiler() {
        let hint = missing_compiler("error: command 'cc' failed: No such file or directory");
        assert_eq!(
            build_failed_message("uv", Some("cgreet"), hint.as_deref()).render(),
            indoc::indoc! {"
                Error: Unable to build a package from source

                uv had to build `cgreet` from source (it has no wheel for this Python
                version and platform, or it is a local project), and the build failed:
                see uv's output above.

                The build needs a C compiler, but the build image has no `cc`
                (\"No such file or directory\"). The builder image must provide one: gcc as
                `cc`, as Heroku's and Paketo's builders do.

                Either use a version of the package that publishes wheels for this
                Python version (check its files on the package index), or, if it needs
                system libraries or headers at build time, add them to the build image
                (for example with a buildpack that installs apt packages)."}
        );
    }
}

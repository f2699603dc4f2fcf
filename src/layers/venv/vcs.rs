//! A VCS requirement (`git+https://...`) whose checkout failed: told apart from a package that
//! failed to build, with git's own error.

use crate::error_message::ErrorMessage;
use indoc::formatdoc;

/// pip ran git to fetch a VCS requirement, and git failed (unreachable host, unknown repository,
/// missing credentials, a revision that doesn't exist).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct VcsCheckoutError {
    /// The repository pip was cloning, from its "Cloning <url> to <dir>" line.
    url: Option<String>,
    /// git's own error lines (`fatal: ...`, `error: ...`).
    git_errors: Vec<String>,
}

impl VcsCheckoutError {
    /// The failure in pip's (already redacted) output, when a git command is what failed: pip
    /// reports it as `× git <command> ... did not run successfully.`
    pub(crate) fn from_pip_output(output: &str) -> Option<Self> {
        let git_failed = output.lines().any(|line| {
            let line = line.trim_start_matches(|c: char| c.is_whitespace() || c == '×');
            line.starts_with("git ") && line.trim_end().ends_with("did not run successfully.")
        });
        if !git_failed {
            return None;
        }
        let url = output.lines().find_map(|line| {
            let rest = line.trim().strip_prefix("Cloning ")?;
            let end = rest.find(" (to revision").or_else(|| rest.find(" to "))?;
            Some(rest[..end].to_string())
        });
        let mut git_errors: Vec<String> = Vec::new();
        for line in output.lines().map(str::trim) {
            let is_git_error = (line.starts_with("fatal: ") || line.starts_with("error: "))
                && !line.starts_with("error: subprocess-exited-with-error");
            if is_git_error && !git_errors.iter().any(|seen| seen == line) {
                git_errors.push(line.to_string());
            }
        }
        Some(Self { url, git_errors })
    }

    pub(crate) fn message(&self) -> ErrorMessage {
        let repository = self
            .url
            .as_ref()
            .map_or_else(|| "a repository".to_string(), |url| format!("`{url}`"));
        let said = if self.git_errors.is_empty() {
            "see pip's output above".to_string()
        } else {
            let lines: Vec<String> = self
                .git_errors
                .iter()
                .map(|line| format!("  {line}"))
                .collect();
            format!("git said:\n{}", lines.join("\n"))
        };
        ErrorMessage::new(
            "Unable to fetch a package from version control",
            formatdoc! {"
                A requirement is a version control URL, and git could not check out
                {repository}: {said}

                Nothing was built: the repository could not be fetched. Check that the URL and
                the revision after `@` exist, that the build can reach the host, and, for a
                private repository, that the build has access to it (for example a token in
                the URL: git+https://<token>@host/owner/repo.git, shown as **** in the output).
            "},
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLONE_FAILURE: &str = "\
Collecting foo@ git+https://127.0.0.1:1/nothing/foo.git
  Cloning https://127.0.0.1:1/nothing/foo.git to /tmp/pip-install-l3ddtclc/foo_cfd57c8e
  Running command git clone --filter=blob:none --quiet https://127.0.0.1:1/nothing/foo.git /tmp/pip-install-l3ddtclc/foo_cfd57c8e
  fatal: unable to access 'https://127.0.0.1:1/nothing/foo.git/': Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server
  error: subprocess-exited-with-error

  × git clone --filter=blob:none --quiet https://127.0.0.1:1/nothing/foo.git /tmp/pip-install-l3ddtclc/foo_cfd57c8e did not run successfully.
  │ exit code: 128
  ╰─> See above for output.

  note: This error originates from a subprocess, and is likely not a problem with pip.
error: subprocess-exited-with-error
";

    #[test]
    fn a_failed_clone_is_named_with_gits_error() {
        let error = VcsCheckoutError::from_pip_output(CLONE_FAILURE).unwrap();
        assert_eq!(
            error.message().body,
            formatdoc! {"
                A requirement is a version control URL, and git could not check out
                `https://127.0.0.1:1/nothing/foo.git`: git said:
                  fatal: unable to access 'https://127.0.0.1:1/nothing/foo.git/': Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server

                Nothing was built: the repository could not be fetched. Check that the URL and
                the revision after `@` exist, that the build can reach the host, and, for a
                private repository, that the build has access to it (for example a token in
                the URL: git+https://<token>@host/owner/repo.git, shown as **** in the output).
            "}
        );
    }

    #[test]
    fn a_failed_build_is_not_a_failed_checkout() {
        let build_failure = "\
  error: subprocess-exited-with-error

  × Building wheel for fastparse (pyproject.toml) did not run successfully.
  │ exit code: 1
";
        assert_eq!(VcsCheckoutError::from_pip_output(build_failure), None);
    }
}

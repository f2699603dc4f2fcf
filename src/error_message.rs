//! The text a user reads when the build fails. A leaf module: every concern's error type renders
//! into it without importing `errors.rs`, which in turn imports every error type.

/// What a user reads when the build fails: a one-line header, then what happened, where, and how
/// to fix it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ErrorMessage {
    pub(crate) header: String,
    pub(crate) body: String,
}

impl ErrorMessage {
    pub(crate) fn new(header: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            header: header.into(),
            body: body.into(),
        }
    }

    pub(crate) fn render(&self) -> String {
        format!("Error: {}\n\n{}", self.header, self.body.trim_end())
    }
}

//! Warnings about the chosen Python version, shown like the errors: a one-line header, then a body
//! wrapped to a readable width.

/// The width the body's paragraphs are wrapped to, as the errors' bodies are.
const WIDTH: usize = 80;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct VersionWarning {
    pub(crate) header: String,
    /// Paragraphs separated by blank lines; lines indented by spaces are examples to copy.
    pub(crate) body: String,
}

impl VersionWarning {
    pub(crate) fn new(header: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            header: header.into(),
            body: body.into(),
        }
    }

    /// The text for `print::warning`.
    pub(crate) fn render(&self) -> String {
        format!("Warning: {}\n\n{}", self.header, wrap(&self.body, WIDTH))
    }
}

/// Refills each paragraph (consecutive lines that are neither blank nor indented) to lines of at
/// most `width` characters, breaking only between words. Blank lines and indented lines are kept
/// as they are, so examples stay exactly as the user should type them.
fn wrap(text: &str, width: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let flush = |paragraph: &mut Vec<&str>, lines: &mut Vec<String>| {
        let mut line = String::new();
        for word in paragraph.drain(..) {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            lines.push(line);
        }
    };
    for line in text.trim_end().lines() {
        if line.trim().is_empty() || line.starts_with(char::is_whitespace) {
            flush(&mut paragraph, &mut lines);
            lines.push(line.trim_end().to_string());
        } else {
            paragraph.extend(line.split_whitespace());
        }
    }
    flush(&mut paragraph, &mut lines);
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_are_refilled_and_examples_kept() {
        let body = "The quick brown fox jumps over the lazy dog, then does it again.\nAnd \
                    again:\n      indented   example that is long enough to pass the width\n\nA \
                    second paragraph with an unbreakable-word-longer-than-the-width-itself here.";
        assert_eq!(
            wrap(body, 20),
            "The quick brown fox\njumps over the lazy\ndog, then does it\nagain. And again:\n      \
             indented   example that is long enough to pass the width\n\nA second paragraph\n\
             with an\nunbreakable-word-longer-than-the-width-itself\nhere."
        );
    }

    #[test]
    fn render_has_a_header_and_a_wrapped_body() {
        let warning = VersionWarning::new(
            "No Python version is pinned",
            "No Python version is pinned, so a future buildpack release could change the \
             version this app gets. To pin it, create a .python-version file in the root of the \
             app containing:\n  3.13",
        );
        assert_eq!(
            warning.render(),
            "Warning: No Python version is pinned\n\nNo Python version is pinned, so a future \
             buildpack release could change the\nversion this app gets. To pin it, create a \
             .python-version file in the root of\nthe app containing:\n  3.13"
        );
    }
}

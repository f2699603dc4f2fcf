//! Hiding credentials in anything the buildpack prints: commands, error messages and the
//! streamed output of package managers. An index URL like `https://user:token@host/simple` is
//! shown as `https://****@host/simple`. Every package manager module should print commands and
//! stream output through [`redact_credentials`] / [`RedactingWriter`].

use std::fmt::Write as _;
use std::io::{self, Write};
use url::Url;

/// A URL as the build output and error messages show it: `https://user:password@host/p?token=x`
/// becomes `https://****@host/p?****`. User-info and query strings are where credentials go
/// (private mirrors, pre-signed URLs). Anything that isn't an absolute URL (a local path) is
/// returned as it is.
pub(crate) fn redact_url(location: &str) -> String {
    let Ok(mut url) = Url::parse(location) else {
        return location.to_string();
    };
    let has_user_info = !url.username().is_empty() || url.password().is_some();
    if !has_user_info && url.query().is_none() {
        // Unchanged, not re-serialised: the text the user wrote.
        return location.to_string();
    }
    if url.query().is_some() {
        url.set_query(Some("****"));
    }
    if has_user_info {
        // Only fails for URLs that can't have user-info, which then have none.
        let _ = url.set_password(None);
        let _ = url.set_username("****");
    }
    url.to_string()
}

/// A URL as it may be stored in a layer (the SBOM): without user-info, query string or fragment.
/// The archive's SHA-256, stored beside it, identifies the file exactly. Anything that isn't an
/// absolute URL (a local path) is returned as it is.
pub(crate) fn url_without_credentials(location: &str) -> String {
    let Ok(mut url) = Url::parse(location) else {
        return location.to_string();
    };
    if url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none()
    {
        return location.to_string();
    }
    let _ = url.set_password(None);
    let _ = url.set_username("");
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

/// `text` with the user-info part of every `scheme://user[:password]@host` URL replaced by
/// `****`.
pub(crate) fn redact_credentials(text: &str) -> String {
    let mut result = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(index) = rest.find("://") {
        let (before, after) = rest.split_at(index + 3);
        result.push_str(before);
        let authority_end = after
            .find(|c: char| {
                c == '/' || c == '?' || c == '#' || c.is_whitespace() || "\"'<>`,;()[]".contains(c)
            })
            .unwrap_or(after.len());
        let (authority, remainder) = after.split_at(authority_end);
        match authority.rfind('@') {
            Some(at) if at > 0 => {
                result.push_str("****");
                result.push_str(&authority[at..]);
            }
            _ => result.push_str(authority),
        }
        rest = remainder;
    }
    result.push_str(rest);
    result
}

/// A writer that passes through whole lines with credentials redacted (see
/// [`redact_credentials`]). Output is held back only until the next newline or carriage return.
pub(crate) struct RedactingWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> RedactingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self {
            inner,
            pending: Vec::new(),
        }
    }

    fn write_pending(&mut self, up_to: usize) -> io::Result<()> {
        let line: Vec<u8> = self.pending.drain(..up_to).collect();
        let redacted = redact_credentials(&String::from_utf8_lossy(&line));
        self.inner.write_all(redacted.as_bytes())
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(last_break) = self
            .pending
            .iter()
            .rposition(|b| *b == b'\n' || *b == b'\r')
        {
            self.write_pending(last_break + 1)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_pending(self.pending.len())?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// `text` (from a file of the app or a tool's output) made safe to put in a message: URL
/// credentials redacted ([`redact_credentials`]) and every control character other than line
/// feed and tab shown as `<U+001B>`, so that no escape sequence reaches the terminal and no NUL
/// byte is hidden. A carriage return ending a line is dropped.
pub(crate) fn for_message(text: &str) -> String {
    let redacted = redact_credentials(&text.replace("\r\n", "\n"));
    let mut result = String::with_capacity(redacted.len());
    for character in redacted.chars() {
        if character.is_control() && !matches!(character, '\n' | '\t') {
            let _ = write!(result, "<U+{:04X}>", u32::from(character));
        } else {
            result.push(character);
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_user_info_only() {
        assert_eq!(
            redact_credentials(
                "Looking in indexes: https://user:s3cret@pypi.example.com/simple, \
                 https://token@other.example.com/simple https://pypi.org/simple \
                 git+https://x:y@github.com/a/b.git@v1 no-url@here"
            ),
            "Looking in indexes: https://****@pypi.example.com/simple, \
             https://****@other.example.com/simple https://pypi.org/simple \
             git+https://****@github.com/a/b.git@v1 no-url@here"
        );
    }

    #[test]
    fn urls_are_shown_without_user_info_and_query() {
        assert_eq!(
            redact_url("http://user:password@mirror.example.com/python/inventory.toml"),
            "http://****@mirror.example.com/python/inventory.toml"
        );
        assert_eq!(
            redact_url("https://token@host/p.tar.gz?X-Amz-Signature=abc&b=c"),
            "https://****@host/p.tar.gz?****"
        );
        assert_eq!(
            redact_url("https://host/cpython-3.13.1%2B20250115.tar.gz"),
            "https://host/cpython-3.13.1%2B20250115.tar.gz"
        );
        assert_eq!(
            redact_url("/srv/python/inventory.toml"),
            "/srv/python/inventory.toml"
        );
        assert_eq!(
            url_without_credentials("https://u:p@host:8443/a/p.tar.gz?token=1#frag"),
            "https://host:8443/a/p.tar.gz"
        );
        assert_eq!(
            url_without_credentials("https://host/p.tar.gz"),
            "https://host/p.tar.gz"
        );
        assert_eq!(url_without_credentials("/srv/p.tar.gz"), "/srv/p.tar.gz");
    }

    #[test]
    fn messages_get_credentials_redacted_and_control_characters_escaped() {
        assert_eq!(
            for_message(
                "A=1\0PIP_INDEX_URL=https://user:password@host/simple\0\x1b[31mred\r\nnext\r"
            ),
            "A=1<U+0000>PIP_INDEX_URL=https://****@host/simple<U+0000><U+001B>[31mred\nnext<U+000D>"
        );
    }

    #[test]
    fn writer_redacts_across_split_writes() {
        let mut output = Vec::new();
        {
            let mut writer = RedactingWriter::new(&mut output);
            writer.write_all(b"Downloading https://us").unwrap();
            writer
                .write_all(b"er:pass@host/x.whl\nlast https://a:b@c")
                .unwrap();
        }
        assert_eq!(
            String::from_utf8(output).unwrap(),
            "Downloading https://****@host/x.whl\nlast https://****@c"
        );
    }
}

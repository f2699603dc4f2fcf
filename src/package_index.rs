//! Finding a pinned file (a packaging tool's wheel) on the package index the build is configured
//! with, as pip would: `PIP_INDEX_URL` (default `PyPI`) and then each of `PIP_EXTRA_INDEX_URL`,
//! their credentials (`https://user:token@host/simple`, sent as HTTP basic auth to that host
//! only), `PIP_CERT` (else `SSL_CERT_FILE`, else the system's bundle, as pip) for the CA bundle,
//! and `HTTPS_PROXY` / `NO_PROXY`
//! through [`download`].
//!
//! Each index is read through its project page in the simple repository API, whose HTML form
//! (PEP 503) every index serves: an `<a href>` per file, named by its last path segment. The
//! file's contents are checked against a pinned SHA-256 by the caller, so the page only has to
//! say where the file is.

use crate::download::{self, DownloadError, HttpFailure, HttpOptions, VerifiedFile};
use crate::redact::redact_credentials;
use base64::prelude::{BASE64_STANDARD, Engine as _};
use indoc::formatdoc;
use std::ffi::OsString;
use std::path::PathBuf;
use url::Url;

/// pip's default index.
const DEFAULT_INDEX_URL: &str = "https://pypi.org/simple/";

/// A project page is a few hundred kB even for pip's thousands of files on `PyPI`.
const MAX_PAGE_BYTES: u64 = 32 * 1024 * 1024;

/// The indexes to search, in order, and the CA bundle to trust.
#[derive(Debug)]
pub(crate) struct IndexSettings {
    indexes: Vec<String>,
    ca_file: Option<PathBuf>,
}

impl IndexSettings {
    /// The settings pip would take from its environment `vars`.
    pub(crate) fn from_vars(vars: &[(OsString, OsString)]) -> Self {
        let get = |name: &str| {
            vars.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.to_string_lossy().trim().to_string())
                .filter(|value| !value.is_empty())
        };
        let mut indexes = vec![get("PIP_INDEX_URL").unwrap_or_else(|| DEFAULT_INDEX_URL.into())];
        // pip splits the list on whitespace.
        indexes.extend(
            get("PIP_EXTRA_INDEX_URL")
                .unwrap_or_default()
                .split_whitespace()
                .map(String::from),
        );
        let ca_file = get("PIP_CERT")
            .or_else(|| get("SSL_CERT_FILE"))
            .map(PathBuf::from)
            .or_else(system_ca_bundle);
        Self { indexes, ca_file }
    }

    /// Downloads `filename` of `project` from the first index listing it, checked against
    /// `sha256`.
    pub(crate) fn fetch_file(
        &self,
        project: &str,
        filename: &str,
        sha256: &str,
    ) -> Result<VerifiedFile, IndexError> {
        let mut searched = Vec::new();
        for index in &self.indexes {
            let page = project_page(index, project, self.ca_file.clone())?;
            let Some(file_url) = find_file(&page, filename) else {
                searched.push(redact_credentials(index));
                continue;
            };
            let options = page.options_for(&file_url);
            return download::fetch_verified_with(file_url.as_str(), sha256, &options).map_err(
                |error| match error {
                    DownloadError::DigestMismatch { actual, .. } => IndexError::DigestMismatch {
                        url: redact_credentials(file_url.as_str()),
                        actual,
                    },
                    error => IndexError::Download(error),
                },
            );
        }
        Err(IndexError::NotFound { searched })
    }
}

/// The system's CA bundle, which pip trusts by default (through `truststore`, OpenSSL's default
/// paths on Linux): the image's own certificates, which may include a company's proxy CA.
fn system_ca_bundle() -> Option<PathBuf> {
    SYSTEM_CA_BUNDLES
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
}

/// Where Linux distributions keep their CA bundle (Debian and Ubuntu, Fedora and RHEL, Alpine).
const SYSTEM_CA_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// A fetched project page.
struct ProjectPage {
    url: Url,
    html: String,
    /// The index's credentials, as an `Authorization` header value.
    authorization: Option<String>,
    ca_file: Option<PathBuf>,
}

impl ProjectPage {
    /// The request options for a file the page links to: the index's credentials go only to the
    /// index's own host and port (as pip does), never to a CDN elsewhere.
    fn options_for(&self, file_url: &Url) -> HttpOptions {
        let same_origin = file_url.scheme() == self.url.scheme()
            && file_url.host_str() == self.url.host_str()
            && file_url.port_or_known_default() == self.url.port_or_known_default();
        HttpOptions {
            authorization: self.authorization.clone().filter(|_| same_origin),
            ca_file: self.ca_file.clone(),
        }
    }
}

fn project_page(
    index: &str,
    project: &str,
    ca_file: Option<PathBuf>,
) -> Result<ProjectPage, IndexError> {
    let invalid = |problem: String| IndexError::InvalidIndexUrl {
        url: redact_credentials(index),
        problem,
    };
    let mut base = Url::parse(index).map_err(|error| invalid(error.to_string()))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(invalid("it is not an http:// or https:// URL".to_string()));
    }
    let authorization = basic_authorization(&base);
    // Credentials travel in the header, and never appear in a URL we print.
    let _ = base.set_username("");
    let _ = base.set_password(None);
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    // PEP 503: the project's page is `<index>/<normalized name>/`.
    let url = base
        .join(&format!("{project}/"))
        .map_err(|error| invalid(error.to_string()))?;
    let options = HttpOptions {
        authorization: authorization.clone(),
        ca_file: ca_file.clone(),
    };
    let bytes = download::fetch_bytes_with(url.as_str(), MAX_PAGE_BYTES, &options)
        .map_err(|error| IndexError::Page {
            url: url.to_string(),
            error,
        })?
        .bytes;
    Ok(ProjectPage {
        url,
        html: String::from_utf8_lossy(&bytes).into_owned(),
        authorization,
        ca_file,
    })
}

/// `Basic <base64(user:password)>` for a URL with credentials.
fn basic_authorization(url: &Url) -> Option<String> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    let credentials = format!(
        "{}:{}",
        decode(url.username()),
        decode(url.password().unwrap_or_default())
    );
    Some(format!("Basic {}", BASE64_STANDARD.encode(credentials)))
}

/// The absolute URL of the link to `filename` on the page (its `#sha256=` fragment dropped).
fn find_file(page: &ProjectPage, filename: &str) -> Option<Url> {
    hrefs(&page.html)
        .filter_map(|href| page.url.join(&unescape_html(href)).ok())
        .find(|url| {
            url.path_segments()
                .and_then(|mut segments| segments.next_back())
                .is_some_and(|last| {
                    percent_encoding::percent_decode_str(last).decode_utf8_lossy() == filename
                })
        })
        .map(|mut url| {
            url.set_fragment(None);
            url
        })
}

/// The values of the `href` attributes of the page's `<a>` tags.
fn hrefs(html: &str) -> impl Iterator<Item = &str> {
    html.split("<a ").skip(1).filter_map(|tag| {
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        let start = tag.find("href=")? + "href=".len();
        let rest = &tag[start..];
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let rest = &rest[1..];
        Some(&rest[..rest.find(quote)?])
    })
}

fn unescape_html(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[derive(Debug)]
pub(crate) enum IndexError {
    InvalidIndexUrl {
        url: String,
        problem: String,
    },
    /// The project page could not be fetched (`url` without credentials).
    Page {
        url: String,
        error: DownloadError,
    },
    /// No index lists the file.
    NotFound {
        searched: Vec<String>,
    },
    Download(DownloadError),
    DigestMismatch {
        url: String,
        actual: String,
    },
}

impl IndexError {
    /// What went wrong, for the body of the caller's error message.
    pub(crate) fn details(&self, filename: &str, expected_sha256: &str) -> String {
        // The caller's advice replaces the download error's own second paragraph.
        let first_paragraph = |error: &DownloadError| {
            let body = error.message("", "").body;
            body.split("\n\n")
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        };
        match self {
            Self::InvalidIndexUrl { url, problem } => {
                format!("The package index URL {url} is not valid: {problem}")
            }
            Self::Page { url, error } => match error {
                DownloadError::Http {
                    failure: HttpFailure::Status(status),
                    ..
                } if status.starts_with("404") => {
                    format!("The index has no page for the project: {url} answered {status}.")
                }
                error => first_paragraph(error),
            },
            Self::NotFound { searched } => format!(
                "The index does not list {filename} ({}).",
                searched.join(", ")
            ),
            Self::Download(error) => first_paragraph(error),
            Self::DigestMismatch { url, actual } => formatdoc! {"
                The file downloaded from {url} doesn't have the SHA-256 checksum that the
                buildpack pins for {filename}:
                  expected: {expected_sha256}
                  actual:   {actual}
                The file was not used: the index serves another file under that name."},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(url: &str, html: &str) -> ProjectPage {
        ProjectPage {
            url: Url::parse(url).unwrap(),
            html: html.to_string(),
            authorization: Some("Basic x".to_string()),
            ca_file: None,
        }
    }

    #[test]
    fn finds_the_file_by_its_last_path_segment() {
        let html = r#"<html><body>
            <a href="https://files.example/p/pip-26.2-py3-none-any.whl#sha256=aa">pip-26.2-py3-none-any.whl</a>
            <a data-requires-python="&gt;=3.10" href="../../packages/pip-26.3-py3-none-any.whl#sha256=bb">pip-26.3-py3-none-any.whl</a>
        </body></html>"#;
        let page = page("https://mirror.example/root/simple/pip/", html);
        let url = find_file(&page, "pip-26.3-py3-none-any.whl").unwrap();
        assert_eq!(
            url.as_str(),
            "https://mirror.example/root/packages/pip-26.3-py3-none-any.whl"
        );
        assert!(page.options_for(&url).authorization.is_some());
        let elsewhere = find_file(&page, "pip-26.2-py3-none-any.whl").unwrap();
        assert!(page.options_for(&elsewhere).authorization.is_none());
        assert!(find_file(&page, "pip-26.4-py3-none-any.whl").is_none());
    }

    #[test]
    fn settings_come_from_pip_variables() {
        let vars: Vec<(OsString, OsString)> = [
            ("PIP_INDEX_URL", "https://a.example/simple"),
            (
                "PIP_EXTRA_INDEX_URL",
                " https://b.example/simple\thttps://c.example/simple ",
            ),
            ("SSL_CERT_FILE", "/ssl.pem"),
            ("PIP_CERT", "/pip.pem"),
        ]
        .into_iter()
        .map(|(key, value)| (key.into(), value.into()))
        .collect();
        let settings = IndexSettings::from_vars(&vars);
        assert_eq!(
            settings.indexes,
            [
                "https://a.example/simple",
                "https://b.example/simple",
                "https://c.example/simple"
            ]
        );
        assert_eq!(settings.ca_file, Some(PathBuf::from("/pip.pem")));
        assert_eq!(
            IndexSettings::from_vars(&[]).indexes,
            ["https://pypi.org/simple/"]
        );
    }

    #[test]
    fn credentials_become_basic_auth() {
        let url = Url::parse("https://deploy:s3cr%40t@host/simple/").unwrap();
        assert_eq!(
            basic_authorization(&url).unwrap(),
            "Basic ZGVwbG95OnMzY3JAdA=="
        );
        assert!(basic_authorization(&Url::parse("https://host/simple/").unwrap()).is_none());
    }
}

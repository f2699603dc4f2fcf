//! Fetching files from `http(s)://` URLs or local paths: bounded retries, timeouts, proxies and
//! custom CA bundles for HTTP, and SHA-256 verification while the bytes stream to disk.

use crate::error_message::ErrorMessage;
use crate::redact::{redact_credentials, redact_url};
use indoc::formatdoc;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::Duration;
use tempfile::NamedTempFile;

/// How many times one HTTP request is tried before giving up.
const ATTEMPTS: u32 = 3;
/// Waited before the second attempt; doubles before each further attempt.
const FIRST_RETRY_DELAY: Duration = Duration::from_secs(1);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the server may take to start answering.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the whole body may take (a runtime archive is about 30 MB).
const BODY_TIMEOUT: Duration = Duration::from_mins(10);
/// The largest file [`fetch_verified`] accepts: 256 MiB, well above the largest `CPython` archive
/// (python-build-standalone's `install_only` archives are 20 to 70 MB). A server that announces
/// more is refused before the body is read; a body that grows past it is cut off there.
pub(crate) const MAX_VERIFIED_BYTES: u64 = 256 * 1024 * 1024;

/// Whether `location` is fetched over HTTP rather than read from the local filesystem.
pub(crate) fn is_http_url(location: &str) -> bool {
    location.starts_with("http://") || location.starts_with("https://")
}

/// A file fetched into a temporary file outside any layer, with its SHA-256 already verified.
#[derive(Debug)]
pub(crate) struct VerifiedFile {
    file: NamedTempFile,
}

impl VerifiedFile {
    pub(crate) fn path(&self) -> &Path {
        self.file.path()
    }
}

/// Fetches `location` (an `http(s)://` URL or a local path) into a temporary file, computing its
/// SHA-256 as it streams, and fails unless the digest equals `expected_sha256`.
pub(crate) fn fetch_verified(
    location: &str,
    expected_sha256: &str,
) -> Result<VerifiedFile, DownloadError> {
    fetch_verified_with(location, expected_sha256, &HttpOptions::default())
}

/// What a request may need besides the URL: a package index's credentials and CA bundle.
#[derive(Clone, Debug, Default)]
pub(crate) struct HttpOptions {
    /// The `Authorization` header's value, sent to the URL's host only (never across redirects).
    pub(crate) authorization: Option<String>,
    /// A PEM bundle of CA certificates to use instead of `SSL_CERT_FILE`'s or the built-in ones.
    pub(crate) ca_file: Option<PathBuf>,
}

/// [`fetch_verified`] with `options`.
pub(crate) fn fetch_verified_with(
    location: &str,
    expected_sha256: &str,
    options: &HttpOptions,
) -> Result<VerifiedFile, DownloadError> {
    fetch_verified_limited(location, expected_sha256, MAX_VERIFIED_BYTES, options)
}

/// [`fetch_verified_with`], refusing files larger than `max_bytes`.
fn fetch_verified_limited(
    location: &str,
    expected_sha256: &str,
    max_bytes: u64,
    options: &HttpOptions,
) -> Result<VerifiedFile, DownloadError> {
    let too_large = |announced| DownloadError::TooLarge {
        location: location.to_string(),
        max_bytes,
        announced,
    };
    let mut file = NamedTempFile::new().map_err(|error| DownloadError::TempFile {
        location: location.to_string(),
        error,
    })?;
    let actual = if is_http_url(location) {
        http_with_retries(location, max_bytes, options, |reader| {
            // A retry starts from an empty file.
            file.as_file_mut().set_len(0)?;
            let mut file_ref = file.as_file();
            io::Seek::rewind(&mut file_ref)?;
            let mut hashing = HashingWriter::new(file.as_file());
            let copied = io::copy(&mut reader.take(max_bytes + 1), &mut hashing)?;
            (copied <= max_bytes).then(|| hashing.finish()).transpose()
        })?
        .0
        .ok_or_else(|| too_large(None))?
    } else {
        let local_error = |error| DownloadError::LocalFile {
            path: PathBuf::from(location),
            error,
        };
        let source = File::open(location).map_err(local_error)?;
        let mut hashing = HashingWriter::new(file.as_file());
        let copied =
            io::copy(&mut source.take(max_bytes + 1), &mut hashing).map_err(local_error)?;
        if copied > max_bytes {
            return Err(too_large(None));
        }
        hashing.finish().map_err(local_error)?
    };
    if actual.eq_ignore_ascii_case(expected_sha256) {
        Ok(VerifiedFile { file })
    } else {
        Err(DownloadError::DigestMismatch {
            location: location.to_string(),
            expected: expected_sha256.to_ascii_lowercase(),
            actual,
        })
    }
}

/// What [`fetch_bytes`] fetched.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) bytes: Vec<u8>,
    /// For an `http(s)://` URL, the URL the bytes finally came from, after redirects (what
    /// relative references in them resolve against).
    pub(crate) final_url: Option<String>,
}

/// Fetches `location` (an `http(s)://` URL or a local path) into memory, failing on anything
/// larger than `max_bytes`.
pub(crate) fn fetch_bytes(location: &str, max_bytes: u64) -> Result<Fetched, DownloadError> {
    fetch_bytes_with(location, max_bytes, &HttpOptions::default())
}

/// [`fetch_bytes`] with `options`.
pub(crate) fn fetch_bytes_with(
    location: &str,
    max_bytes: u64,
    options: &HttpOptions,
) -> Result<Fetched, DownloadError> {
    let too_large = || DownloadError::TooLarge {
        location: location.to_string(),
        max_bytes,
        announced: None,
    };
    let read_limited = |reader: &mut dyn Read| -> io::Result<Option<Vec<u8>>> {
        let mut bytes = Vec::new();
        reader.take(max_bytes + 1).read_to_end(&mut bytes)?;
        Ok((bytes.len() as u64 <= max_bytes).then_some(bytes))
    };
    if is_http_url(location) {
        let (bytes, final_url) =
            http_with_retries(location, max_bytes, options, |reader| read_limited(reader))?;
        Ok(Fetched {
            bytes: bytes.ok_or_else(too_large)?,
            final_url: Some(final_url),
        })
    } else {
        let mut file = File::open(location).map_err(|error| DownloadError::LocalFile {
            path: PathBuf::from(location),
            error,
        })?;
        let bytes = read_limited(&mut file)
            .map_err(|error| DownloadError::LocalFile {
                path: PathBuf::from(location),
                error,
            })?
            .ok_or_else(too_large)?;
        Ok(Fetched {
            bytes,
            final_url: None,
        })
    }
}

/// Runs one GET of `url` and hands the body to `consume`, retrying with backoff on connection
/// failures, 5xx answers and bodies cut short; never on other answers such as 404, nor when the
/// server announces a body larger than `max_bytes`. Redirects are followed; returns what
/// `consume` returned and the final URL.
fn http_with_retries<T>(
    url: &str,
    max_bytes: u64,
    options: &HttpOptions,
    mut consume: impl FnMut(&mut dyn Read) -> io::Result<T>,
) -> Result<(T, String), DownloadError> {
    let agent = agent(url, options.ca_file.as_deref())?;
    let mut delay = FIRST_RETRY_DELAY;
    let mut attempt = 1;
    loop {
        match http_attempt(&agent, url, max_bytes, options, &mut consume) {
            Ok(value) => return Ok(value),
            Err(Attempt::Final(error)) => return Err(error),
            Err(Attempt::Retryable(failure)) => {
                if attempt >= ATTEMPTS {
                    return Err(DownloadError::Http {
                        url: url.to_string(),
                        failure,
                        attempts: attempt,
                    });
                }
            }
        }
        thread::sleep(delay);
        delay *= 2;
        attempt += 1;
    }
}

enum Attempt {
    Retryable(HttpFailure),
    Final(DownloadError),
}

fn http_attempt<T>(
    agent: &ureq::Agent,
    url: &str,
    max_bytes: u64,
    options: &HttpOptions,
    consume: &mut impl FnMut(&mut dyn Read) -> io::Result<T>,
) -> Result<(T, String), Attempt> {
    let mut request = agent
        .get(url)
        // The bytes on the wire are what the digest covers: never let them be re-encoded.
        .header("Accept-Encoding", "identity");
    if let Some(authorization) = &options.authorization {
        request = request.header("Authorization", authorization);
    }
    let response = request.call().map_err(|error| {
        // Some errors quote the URL.
        let failure = HttpFailure::Connection(redact_credentials(&error.to_string()));
        if is_transient(&error) {
            Attempt::Retryable(failure)
        } else {
            Attempt::Final(DownloadError::Http {
                url: url.to_string(),
                failure,
                attempts: 1,
            })
        }
    })?;
    let status = response.status();
    if status.is_server_error() {
        return Err(Attempt::Retryable(HttpFailure::Status(status.to_string())));
    }
    if !status.is_success() {
        return Err(Attempt::Final(DownloadError::Http {
            url: url.to_string(),
            failure: HttpFailure::Status(status.to_string()),
            attempts: 1,
        }));
    }
    let expected_length = response.body().content_length();
    if let Some(length) = expected_length.filter(|length| *length > max_bytes) {
        return Err(Attempt::Final(DownloadError::TooLarge {
            location: url.to_string(),
            max_bytes,
            announced: Some(length),
        }));
    }
    let final_url = ureq::ResponseExt::get_uri(&response).to_string();
    let mut reader = CountingReader {
        inner: response.into_body().into_reader(),
        count: 0,
        error: None,
    };
    match consume(&mut reader) {
        Ok(value) => Ok((value, final_url)),
        // Writing the temporary file failed: retrying won't help.
        Err(error) if reader.error.is_none() => Err(Attempt::Final(DownloadError::TempFile {
            location: url.to_string(),
            error,
        })),
        Err(_) => Err(Attempt::Retryable(HttpFailure::Truncated {
            received: reader.count,
            expected: expected_length,
            error: reader.error.unwrap_or_default(),
        })),
    }
}

fn is_transient(error: &ureq::Error) -> bool {
    matches!(
        error,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::Protocol(_)
            | ureq::Error::ConnectProxyFailed(_)
    )
}

/// An HTTP client with timeouts, the proxy from `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` (minus
/// `NO_PROXY`), and, when `SSL_CERT_FILE` is set, the CA certificates from that file instead of
/// the built-in ones (for TLS-intercepting corporate proxies and private mirrors).
fn agent(url: &str, ca_file: Option<&Path>) -> Result<ureq::Agent, DownloadError> {
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_recv_response(Some(RESPONSE_TIMEOUT))
        .timeout_recv_body(Some(BODY_TIMEOUT))
        .proxy(ureq::Proxy::try_from_env());
    let cert_file = ca_file.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("SSL_CERT_FILE")
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    });
    if let Some(cert_file) = cert_file {
        let certificates =
            read_certificates(&cert_file).map_err(|problem| DownloadError::CertificateFile {
                url: url.to_string(),
                path: cert_file.clone(),
                problem,
            })?;
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(certificates)))
                .build(),
        );
    }
    Ok(config.build().new_agent())
}

fn read_certificates(path: &Path) -> Result<Vec<ureq::tls::Certificate<'static>>, String> {
    let pem = std::fs::read(path).map_err(|error| error.to_string())?;
    let mut certificates = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        if let ureq::tls::PemItem::Certificate(certificate) = item.map_err(|e| e.to_string())? {
            certificates.push(certificate);
        }
    }
    if certificates.is_empty() {
        Err("it holds no PEM certificates".to_string())
    } else {
        Ok(certificates)
    }
}

/// Counts the bytes read and remembers the first read error, to tell a body that was cut short
/// from a failure to write what was read.
struct CountingReader<R> {
    inner: R,
    count: u64,
    error: Option<String>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(read) => {
                self.count += read as u64;
                Ok(read)
            }
            Err(error) => {
                self.error = Some(error.to_string());
                Err(error)
            }
        }
    }
}

struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
        }
    }

    fn finish(mut self) -> io::Result<String> {
        self.inner.flush()?;
        Ok(hex(&self.hasher.finalize()))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

#[derive(Debug)]
pub(crate) enum DownloadError {
    /// The HTTP request failed for good (after `attempts` tries).
    Http {
        url: String,
        failure: HttpFailure,
        attempts: u32,
    },
    LocalFile {
        path: PathBuf,
        error: io::Error,
    },
    DigestMismatch {
        location: String,
        expected: String,
        actual: String,
    },
    TooLarge {
        location: String,
        max_bytes: u64,
        /// The `Content-Length` the server announced, when that is what exceeded `max_bytes`.
        announced: Option<u64>,
    },
    CertificateFile {
        url: String,
        path: PathBuf,
        problem: String,
    },
    TempFile {
        location: String,
        error: io::Error,
    },
}

#[derive(Debug)]
pub(crate) enum HttpFailure {
    /// No answer: refused connection, unknown host, timeout, TLS failure, ...
    Connection(String),
    /// An answer with a status other than 2xx, e.g. `404 Not Found`.
    Status(String),
    /// The body ended before all of it arrived.
    Truncated {
        received: u64,
        expected: Option<u64>,
        error: String,
    },
}

impl DownloadError {
    /// The error a user sees. `what` names the file, e.g. "the Python 3.13.1 runtime";
    /// `fix_location` says how to fix a location where no file is (a 404, a missing local file).
    /// Every URL in it is redacted ([`redact_url`]).
    pub(crate) fn message(&self, what: &str, fix_location: &str) -> ErrorMessage {
        let header = format!("Unable to download {what}");
        match self {
            Self::Http {
                url,
                failure,
                attempts,
            } => ErrorMessage::new(
                header,
                http_failure_body(&redact_url(url), failure, *attempts, fix_location),
            ),
            Self::LocalFile { path, error } => ErrorMessage::new(
                format!("Unable to read {what}"),
                formatdoc! {"
                    The file {path} could not be read: {error}

                    {fix_location}
                ", path = path.display()},
            ),
            Self::DigestMismatch {
                location,
                expected,
                actual,
            } => ErrorMessage::new(
                header,
                formatdoc! {"
                    The file downloaded from {location} doesn't have the SHA-256 checksum that
                    the runtime inventory lists for it:
                      expected: {expected}
                      actual:   {actual}

                    The file was not used. Either it was corrupted or altered on its way (a broken
                    mirror or proxy, or tampering), or the inventory lists the wrong checksum for
                    it. Try the build again; if it keeps failing, check the file on the server
                    against the inventory.
                ", location = redact_url(location)},
            ),
            Self::TooLarge {
                location,
                max_bytes,
                announced,
            } => {
                let location = redact_url(location);
                let limit = human_size(*max_bytes);
                let happened = match announced {
                    Some(length) => format!(
                        "The server announced {length} bytes for {location},\nmore than the \
                         {limit} limit for {what}: nothing was downloaded."
                    ),
                    None => format!(
                        "{location} is larger than the {limit} limit for\n{what}: the download \
                         was stopped there."
                    ),
                };
                ErrorMessage::new(
                    header,
                    formatdoc! {"
                        {happened}

                        No file that large can be what was asked for. Check that the location is
                        right, and that the server (or a proxy in between) serves the file itself.
                    "},
                )
            }
            Self::CertificateFile { url, path, problem } => ErrorMessage::new(
                header,
                formatdoc! {"
                    {url} can't be fetched because the CA certificate bundle that SSL_CERT_FILE
                    names ({path}) is unusable: {problem}

                    Point SSL_CERT_FILE at a readable PEM file of CA certificates, or unset it to
                    use the buildpack's built-in certificates.
                ", url = redact_url(url), path = path.display()},
            ),
            Self::TempFile { location, error } => ErrorMessage::new(
                header,
                formatdoc! {"
                    {location} could not be saved to a temporary file: {error}

                    Check that the build has free disk space in its temporary directory.
                ", location = redact_url(location)},
            ),
        }
    }
}

/// `bytes` in the largest binary unit that divides it (`1 GiB`), else in bytes.
fn human_size(bytes: u64) -> String {
    for (unit, size) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{} {unit}", bytes / size);
        }
    }
    format!("{bytes} bytes")
}

fn http_failure_body(
    url: &str,
    failure: &HttpFailure,
    attempts: u32,
    fix_location: &str,
) -> String {
    let tries = if attempts == 1 {
        String::new()
    } else {
        format!(" (tried {attempts} times)")
    };
    match failure {
        HttpFailure::Connection(error) => formatdoc! {"
            The request for {url} failed{tries}: {error}

            Check that the server is reachable from the build, and that a proxy
            (HTTPS_PROXY) or a custom CA bundle (SSL_CERT_FILE) is set if the network
            needs one.
        "},
        HttpFailure::Status(status) if status.starts_with("404") => formatdoc! {"
            The server answered {status} for {url}: the file isn't there.

            {fix_location}
        "},
        HttpFailure::Status(status) if status.starts_with('5') => formatdoc! {"
            The server answered {status} for {url}{tries}.

            This is a problem on the server's side, which is often temporary: try
            the build again later.
        "},
        HttpFailure::Status(status) => formatdoc! {"
            The server answered {status} for {url}.

            Check that the URL is right and that the server allows the build to
            download it.
        "},
        HttpFailure::Truncated {
            received,
            expected,
            error,
        } => {
            let of = expected.map_or(String::new(), |total| format!(" of {total}"));
            formatdoc! {"
                The download of {url} broke off after {received}{of} bytes{tries}: {error}

                The connection to the server is unreliable: try the build again.
            "}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::net::TcpListener;

    /// A tiny HTTP server on 127.0.0.1 that answers the n-th request with the n-th canned
    /// response (raw bytes), then counts how many requests it saw.
    fn serve(responses: Vec<Vec<u8>>) -> (String, thread::JoinHandle<usize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/file.tar.gz", listener.local_addr().unwrap());
        let handle = thread::spawn(move || {
            let mut served = 0;
            for response in responses {
                let (mut stream, _) = listener.accept().unwrap();
                let mut reader = io::BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
                    line.clear();
                }
                stream.write_all(&response).unwrap();
                served += 1;
            }
            served
        });
        (url, handle)
    }

    fn ok(body: &[u8]) -> Vec<u8> {
        let mut response = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        response.extend_from_slice(body);
        response
    }

    fn status(line: &str) -> Vec<u8> {
        format!("HTTP/1.1 {line}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").into_bytes()
    }

    fn sha256(bytes: &[u8]) -> String {
        hex(&Sha256::digest(bytes))
    }

    #[test]
    fn downloads_and_verifies() {
        let (url, server) = serve(vec![ok(b"archive bytes")]);
        let file = fetch_verified(&url, &sha256(b"archive bytes")).unwrap();
        assert_eq!(std::fs::read(file.path()).unwrap(), b"archive bytes");
        assert_eq!(server.join().unwrap(), 1);
    }

    #[test]
    fn retries_server_errors_then_succeeds() {
        let (url, server) = serve(vec![
            status("500 Internal Server Error"),
            status("503 Service Unavailable"),
            ok(b"third time"),
        ]);
        let file = fetch_verified(&url, &sha256(b"third time")).unwrap();
        assert_eq!(std::fs::read(file.path()).unwrap(), b"third time");
        assert_eq!(server.join().unwrap(), 3);
    }

    #[test]
    fn gives_up_after_three_server_errors() {
        let (url, server) = serve(vec![status("500 Internal Server Error"); 3]);
        let error = fetch_verified(&url, &sha256(b"")).unwrap_err();
        assert_eq!(server.join().unwrap(), 3);
        assert_eq!(
            error.message("the Python 3.13.1 runtime", "FIX"),
            ErrorMessage::new(
                "Unable to download the Python 3.13.1 runtime",
                formatdoc! {"
                    The server answered 500 Internal Server Error for {url} (tried 3 times).

                    This is a problem on the server's side, which is often temporary: try
                    the build again later.
                "}
            )
        );
    }

    #[test]
    fn never_retries_not_found() {
        let (url, server) = serve(vec![status("404 Not Found")]);
        let error = fetch_verified(&url, &sha256(b"")).unwrap_err();
        assert_eq!(server.join().unwrap(), 1);
        assert_eq!(
            error.message("X", "Check the URL.").body,
            formatdoc! {"
                The server answered 404 Not Found for {url}: the file isn't there.

                Check the URL.
            "}
        );
    }

    #[test]
    fn truncated_body_is_retried_then_reported() {
        let truncated =
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nonly 20 bytes here!!"
                .to_vec();
        let (url, server) = serve(vec![truncated; 3]);
        let error = fetch_verified(&url, &sha256(b"")).unwrap_err();
        assert_eq!(server.join().unwrap(), 3);
        let body = error.message("X", "FIX").body;
        assert!(
            body.starts_with(&format!(
                "The download of {url} broke off after 20 of 100 bytes (tried 3 times): "
            )),
            "{body}"
        );
    }

    #[test]
    fn digest_mismatch_shows_both_digests() {
        let (url, _server) = serve(vec![ok(b"tampered")]);
        let expected = sha256(b"original");
        let error = fetch_verified(&url, &expected.to_ascii_uppercase()).unwrap_err();
        let body = error.message("X", "FIX").body;
        assert!(
            body.contains(&format!(
                "  expected: {expected}\n  actual:   {}\n",
                sha256(b"tampered")
            )),
            "{body}"
        );
    }

    #[test]
    fn connection_refused_is_retried_then_reported() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/x.tar.gz", listener.local_addr().unwrap());
        drop(listener);
        let error = fetch_verified(&url, &sha256(b"")).unwrap_err();
        assert!(
            matches!(
                &error,
                DownloadError::Http {
                    failure: HttpFailure::Connection(_),
                    attempts: 3,
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn local_files_are_copied_and_verified() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("python.tar.gz");
        std::fs::write(&path, b"local").unwrap();
        let location = path.to_str().unwrap();
        let file = fetch_verified(location, &sha256(b"local")).unwrap();
        assert_eq!(std::fs::read(file.path()).unwrap(), b"local");
        assert!(matches!(
            fetch_verified(location, &sha256(b"other")),
            Err(DownloadError::DigestMismatch { .. })
        ));
        let missing = dir.path().join("missing.tar.gz");
        let error = fetch_verified(missing.to_str().unwrap(), &sha256(b"")).unwrap_err();
        assert_eq!(
            error.message("X", "Check the path.").body,
            formatdoc! {"
                The file {} could not be read: No such file or directory (os error 2)

                Check the path.
            ", missing.display()}
        );
    }

    #[test]
    fn oversized_files_are_refused() {
        // Announced: refused before the body is read, and not retried.
        let announced =
            b"HTTP/1.1 200 OK\r\nContent-Length: 2147483648\r\nConnection: close\r\n\r\nxx"
                .to_vec();
        let (url, server) = serve(vec![announced]);
        let error = fetch_verified(&url, &sha256(b"")).unwrap_err();
        assert_eq!(server.join().unwrap(), 1);
        assert_eq!(
            error.message("the Python 3.13.1 runtime", "FIX").body,
            formatdoc! {"
                The server announced 2147483648 bytes for {url},
                more than the 256 MiB limit for the Python 3.13.1 runtime: nothing was downloaded.

                No file that large can be what was asked for. Check that the location is
                right, and that the server (or a proxy in between) serves the file itself.
            "}
        );
        // Not announced (chunked): cut off at the limit.
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n".to_vec();
        let (url, _server) = serve(vec![chunked]);
        let error =
            fetch_verified_limited(&url, &sha256(b""), 10, &HttpOptions::default()).unwrap_err();
        assert!(
            matches!(
                error,
                DownloadError::TooLarge {
                    max_bytes: 10,
                    announced: None,
                    ..
                }
            ),
            "{error:?}"
        );
        assert_eq!(
            error.message("X", "FIX").body.lines().next().unwrap(),
            format!("{url} is larger than the 10 bytes limit for")
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.tar.gz");
        std::fs::write(&path, b"0123456789a").unwrap();
        assert!(matches!(
            fetch_verified_limited(
                path.to_str().unwrap(),
                &sha256(b""),
                10,
                &HttpOptions::default()
            ),
            Err(DownloadError::TooLarge { .. })
        ));
        std::fs::write(&path, b"0123456789").unwrap();
        fetch_verified_limited(
            path.to_str().unwrap(),
            &sha256(b"0123456789"),
            10,
            &HttpOptions::default(),
        )
        .unwrap();
    }

    #[test]
    fn messages_show_urls_without_credentials() {
        let (url, _server) = serve(vec![status("404 Not Found")]);
        let secret_url = url.replace("http://", "http://user:s3cret@") + "?token=t0ken";
        let body = fetch_verified(&secret_url, &sha256(b""))
            .unwrap_err()
            .message("X", "FIX")
            .body;
        let shown = url.replace("http://", "http://****@") + "?****";
        assert!(
            body.starts_with(&format!("The server answered 404 Not Found for {shown}:")),
            "{body}"
        );
        assert!(
            !body.contains("s3cret") && !body.contains("t0ken"),
            "{body}"
        );
    }

    #[test]
    fn fetch_bytes_reports_the_url_after_redirects() {
        let (url, _server) = serve(vec![
            b"HTTP/1.1 302 Found\r\nLocation: /moved/inventory.toml\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
            ok(b"moved"),
        ]);
        let fetched = fetch_bytes(&url, 10).unwrap();
        assert_eq!(fetched.bytes, b"moved");
        let expected = url.replace("/file.tar.gz", "/moved/inventory.toml");
        assert_eq!(fetched.final_url.unwrap(), expected);
    }

    #[test]
    fn fetch_bytes_enforces_the_limit() {
        let (url, _server) = serve(vec![ok(b"0123456789"), ok(b"0123456789")]);
        assert_eq!(fetch_bytes(&url, 10).unwrap().bytes, b"0123456789");
        assert!(matches!(
            fetch_bytes(&url, 9),
            Err(DownloadError::TooLarge { max_bytes: 9, .. })
        ));
    }
}

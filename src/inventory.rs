//! The runtime inventory: which `CPython` archives exist, per version and arch, with their SHA-256.
//! The buildpack compiles one in (`python-inventory.toml`); `BP_PYTHON_INVENTORY` replaces it.

use crate::download::{self, DownloadError};
use crate::error_message::ErrorMessage;
use crate::python_version::PythonVersion;
use crate::redact::redact_url;
use indoc::formatdoc;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// Platform env var naming an inventory (local path or `http(s)://` URL) to use instead of the
/// built-in one.
pub(crate) const INVENTORY_ENV_VAR: &str = "BP_PYTHON_INVENTORY";

const BUILT_IN_INVENTORY: &str = include_str!("../python-inventory.toml");

/// An inventory larger than this is certainly not one.
const MAX_INVENTORY_BYTES: u64 = 16 * 1024 * 1024;

/// One downloadable `CPython` build: an archive in python-build-standalone's `install_only_stripped`
/// layout (a single top-level `python/` directory) and its SHA-256 digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Artifact {
    pub(crate) version: PythonVersion,
    /// CNB target OS, e.g. `linux`.
    pub(crate) os: String,
    /// CNB target arch: `amd64` or `arm64`.
    pub(crate) arch: String,
    /// Absolute `http(s)://` URL or local file path, already resolved against the inventory's
    /// own location.
    pub(crate) url: String,
    /// Lowercase hex SHA-256 of the archive.
    pub(crate) sha256: String,
}

/// The runtimes available to this build, and where the list came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Inventory {
    pub(crate) location: InventoryLocation,
    pub(crate) artifacts: Vec<Artifact>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum InventoryLocation {
    /// `python-inventory.toml`, compiled into the buildpack.
    BuiltIn,
    /// An `http(s)://` URL given with `BP_PYTHON_INVENTORY`.
    Url(String),
    /// A local file given with `BP_PYTHON_INVENTORY`.
    Path(PathBuf),
}

impl fmt::Display for InventoryLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BuiltIn => write!(f, "the buildpack's built-in runtime inventory"),
            Self::Url(url) => write!(
                f,
                "the runtime inventory {} (from {INVENTORY_ENV_VAR})",
                redact_url(url)
            ),
            Self::Path(path) => write!(
                f,
                "the runtime inventory {} (from {INVENTORY_ENV_VAR})",
                path.display()
            ),
        }
    }
}

/// The inventory `BP_PYTHON_INVENTORY` names in the platform env (a relative path is relative to
/// the app; a `file://` URL names a local file), or else the built-in one. Relative `url`s of an
/// inventory fetched over HTTP resolve against the URL it finally came from, after redirects, as
/// browsers and pip resolve them.
pub(crate) fn load_inventory(
    platform_env: &libcnb::Env,
    app_dir: &Path,
) -> Result<Inventory, InventoryError> {
    let Some(value) = platform_env.get(INVENTORY_ENV_VAR) else {
        return built_in_inventory();
    };
    let value = value
        .to_str()
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .ok_or(InventoryError::BadEnvVar)?;
    let (location, source) = if download::is_http_url(value) {
        (InventoryLocation::Url(value.to_string()), value.to_string())
    } else {
        let path = if value.starts_with("file:") {
            file_url_path(value)?
        } else {
            app_dir.join(value)
        };
        let source = path.to_str().ok_or(InventoryError::BadEnvVar)?.to_string();
        (InventoryLocation::Path(path), source)
    };
    let fetched =
        download::fetch_bytes(&source, MAX_INVENTORY_BYTES).map_err(InventoryError::Fetch)?;
    let text = String::from_utf8(fetched.bytes).map_err(|_| InventoryError::NotUtf8 {
        location: location.clone(),
    })?;
    let base = fetched
        .final_url
        .map_or_else(|| location.clone(), InventoryLocation::Url);
    let artifacts = parse_inventory_relative_to(&text, &location, &base)?;
    Ok(Inventory {
        location,
        artifacts,
    })
}

pub(crate) fn built_in_inventory() -> Result<Inventory, InventoryError> {
    Ok(Inventory {
        location: InventoryLocation::BuiltIn,
        artifacts: parse_inventory(BUILT_IN_INVENTORY, &InventoryLocation::BuiltIn)?,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InventoryFile {
    #[serde(default)]
    artifacts: Vec<ArtifactEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArtifactEntry {
    version: String,
    os: String,
    arch: String,
    url: String,
    sha256: String,
}

/// The local path of a `file://` URL (`file:///srv/python/inventory.toml`).
fn file_url_path(value: &str) -> Result<PathBuf, InventoryError> {
    let bad = || InventoryError::BadFileUrl {
        value: redact_url(value),
    };
    let url = url::Url::parse(value).map_err(|_| bad())?;
    if url.scheme() != "file" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad());
    }
    // Fails for a host other than `localhost`: a file URL can only name this machine's files.
    url.to_file_path().map_err(|()| bad())
}

/// Parses and checks an inventory's text; relative `url`s resolve against `location`.
pub(crate) fn parse_inventory(
    text: &str,
    location: &InventoryLocation,
) -> Result<Vec<Artifact>, InventoryError> {
    parse_inventory_relative_to(text, location, location)
}

/// [`parse_inventory`] with relative `url`s resolved against `base` (where the inventory was
/// finally fetched from), and `location` (where it was asked for) named in errors.
fn parse_inventory_relative_to(
    text: &str,
    location: &InventoryLocation,
    base: &InventoryLocation,
) -> Result<Vec<Artifact>, InventoryError> {
    let file: InventoryFile = toml::from_str(text).map_err(|error| InventoryError::Syntax {
        location: location.clone(),
        error: error.to_string(),
    })?;
    if file.artifacts.is_empty() {
        return Err(InventoryError::NoArtifacts {
            location: location.clone(),
        });
    }
    let mut artifacts: Vec<Artifact> = Vec::with_capacity(file.artifacts.len());
    for (index, entry) in file.artifacts.into_iter().enumerate() {
        let invalid = |problem: String| InventoryError::InvalidArtifact {
            location: location.clone(),
            number: index + 1,
            problem,
        };
        let artifact = check_entry(entry, base).map_err(invalid)?;
        if artifacts.iter().any(|other| {
            other.version == artifact.version
                && other.os == artifact.os
                && other.arch == artifact.arch
        }) {
            return Err(invalid(format!(
                "Python {} for {}/{} is listed more than once.",
                artifact.version, artifact.os, artifact.arch
            )));
        }
        artifacts.push(artifact);
    }
    Ok(artifacts)
}

fn check_entry(entry: ArtifactEntry, location: &InventoryLocation) -> Result<Artifact, String> {
    let version = entry.version.parse::<PythonVersion>().map_err(|()| {
        format!(
            "version \"{}\" is not an exact Python version such as \"3.13.1\".",
            entry.version
        )
    })?;
    if entry.os != "linux" {
        return Err(format!(
            "os \"{}\" is not supported: the only OS is \"linux\".",
            entry.os
        ));
    }
    if !matches!(entry.arch.as_str(), "amd64" | "arm64") {
        return Err(format!(
            "arch \"{}\" is not supported: use \"amd64\" or \"arm64\".",
            entry.arch
        ));
    }
    if entry.sha256.len() != 64 || !entry.sha256.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(format!(
            "sha256 \"{}\" is not a SHA-256 digest (64 hexadecimal characters).",
            entry.sha256
        ));
    }
    let url = resolve_url(&entry.url, location)?;
    Ok(Artifact {
        version,
        os: entry.os,
        arch: entry.arch,
        url,
        sha256: entry.sha256.to_ascii_lowercase(),
    })
}

/// An absolute `http(s)://` URL stays as it is; anything else is a path relative to the
/// inventory's own location (its URL or its directory), or an absolute path beside a local one.
fn resolve_url(reference: &str, location: &InventoryLocation) -> Result<String, String> {
    if reference.trim().is_empty() {
        return Err("url is empty.".to_string());
    }
    if download::is_http_url(reference) {
        return Ok(reference.to_string());
    }
    if let Some((scheme, _)) = reference.split_once("://") {
        let reference = redact_url(reference);
        return Err(format!(
            "url \"{reference}\" uses \"{scheme}://\", which is not supported: use an http:// or \
             https:// URL, or a path relative to the inventory."
        ));
    }
    match location {
        InventoryLocation::BuiltIn => Err(format!(
            "url \"{reference}\" is not an http:// or https:// URL."
        )),
        InventoryLocation::Url(base) => join_url(base, reference)
            .ok_or_else(|| format!("url \"{}\" is not a valid URL path.", redact_url(reference))),
        InventoryLocation::Path(inventory) => {
            let directory = inventory.parent().unwrap_or(Path::new("/"));
            directory
                .join(reference)
                .to_str()
                .map(ToString::to_string)
                .ok_or_else(|| format!("url \"{reference}\" is not a valid UTF-8 path."))
        }
    }
}

/// Resolves `reference` (a path, possibly with `..`, or starting with `/`) against the URL `base`
/// (RFC 3986 reference resolution).
fn join_url(base: &str, reference: &str) -> Option<String> {
    Some(
        url::Url::parse(base)
            .ok()?
            .join(reference)
            .ok()?
            .to_string(),
    )
}

#[derive(Debug)]
pub(crate) enum InventoryError {
    /// `BP_PYTHON_INVENTORY` is empty or not UTF-8.
    BadEnvVar,
    /// `BP_PYTHON_INVENTORY` is a `file:` URL that names no local path.
    BadFileUrl {
        value: String,
    },
    /// `BP_PYTHON_INVENTORY` names a location that can't be fetched.
    Fetch(DownloadError),
    NotUtf8 {
        location: InventoryLocation,
    },
    Syntax {
        location: InventoryLocation,
        error: String,
    },
    NoArtifacts {
        location: InventoryLocation,
    },
    /// `number` counts `[[artifacts]]` entries from 1.
    InvalidArtifact {
        location: InventoryLocation,
        number: usize,
        problem: String,
    },
}

const FORMAT_HELP: &str = "\
Each [[artifacts]] entry needs: version (an exact version such as \"3.13.1\"), os (\"linux\"),
arch (\"amd64\" or \"arm64\"), url (an http:// or https:// URL, or a path relative to the
inventory) and sha256 (the archive's SHA-256, 64 hexadecimal characters). The README section
\"Mirrors and offline builds\" describes the format.";

impl InventoryError {
    pub(crate) fn message(&self) -> ErrorMessage {
        let header = "Invalid Python runtime inventory";
        match self {
            Self::BadEnvVar => ErrorMessage::new(
                format!("Invalid {INVENTORY_ENV_VAR}"),
                formatdoc! {"
                    {INVENTORY_ENV_VAR} is set, but not to a usable location. It must be the path
                    of a runtime inventory file (relative to the app, or absolute, or as a file://
                    URL) or its http:// or https:// URL.

                    Set it to the inventory's location, or unset it to use the buildpack's
                    built-in inventory.
                "},
            ),
            Self::BadFileUrl { value } => ErrorMessage::new(
                format!("Invalid {INVENTORY_ENV_VAR}"),
                formatdoc! {"
                    {INVENTORY_ENV_VAR} is set to {value},
                    which is not the file:// URL of a local file. A file URL names a file of the
                    build machine by its absolute path, for example file:///srv/python/inventory.toml.

                    Set it to the inventory's location, or unset it to use the buildpack's
                    built-in inventory.
                "},
            ),
            Self::Fetch(error) => error.message(
                "the Python runtime inventory",
                &format!(
                    "Check that {INVENTORY_ENV_VAR} names the inventory's location, or unset it \
                     to use\nthe buildpack's built-in inventory."
                ),
            ),
            Self::NotUtf8 { location } => ErrorMessage::new(
                header,
                formatdoc! {"
                    {location} is not a UTF-8 text file. It must be a TOML file.

                    {FORMAT_HELP}
                ", location = capitalized(location)},
            ),
            Self::Syntax { location, error } => ErrorMessage::new(
                header,
                formatdoc! {"
                    {location} is not a valid inventory:
                    {error}

                    {FORMAT_HELP}
                ", location = capitalized(location), error = error.trim_end()},
            ),
            Self::NoArtifacts { location } => ErrorMessage::new(
                header,
                formatdoc! {"
                    {location} lists no Python runtimes (no [[artifacts]] entries).

                    {FORMAT_HELP}
                ", location = capitalized(location)},
            ),
            Self::InvalidArtifact {
                location,
                number,
                problem,
            } => ErrorMessage::new(
                header,
                formatdoc! {"
                    In {location}, [[artifacts]] entry {number} is invalid: {problem}

                    {FORMAT_HELP}
                "},
            ),
        }
    }
}

fn capitalized(location: &InventoryLocation) -> String {
    let text = location.to_string();
    let mut chars = text.chars();
    chars.next().map_or(text.clone(), |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built_in() -> Vec<Artifact> {
        built_in_inventory().unwrap().artifacts
    }

    #[test]
    fn every_built_in_entry_is_well_formed() {
        let artifacts = built_in();
        assert!(artifacts.len() > 10);
        for artifact in &artifacts {
            assert_eq!(artifact.os, "linux");
            assert!(["amd64", "arm64"].contains(&artifact.arch.as_str()));
            assert!(
                artifact
                    .url
                    .starts_with("https://github.com/astral-sh/python-build-standalone/"),
                "{}",
                artifact.url
            );
            assert!(
                artifact
                    .url
                    .ends_with("-unknown-linux-gnu-install_only_stripped.tar.gz"),
                "{}",
                artifact.url
            );
            let url_arch = match artifact.arch.as_str() {
                "amd64" => "x86_64",
                _ => "aarch64",
            };
            assert!(
                artifact
                    .url
                    .contains(&format!("/cpython-{}%2B", artifact.version))
                    && artifact.url.contains(&format!("-{url_arch}-")),
                "{artifact:?}"
            );
            assert_eq!(artifact.sha256.len(), 64);
            assert!(
                artifact
                    .sha256
                    .bytes()
                    .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
            );
            assert!(artifact.version >= PythonVersion::new(3, 10, 0));
        }
    }

    #[test]
    fn every_supported_minor_is_present_for_both_arches() {
        let artifacts = built_in();
        for minor in 10..=14 {
            for arch in ["amd64", "arm64"] {
                assert!(
                    artifacts.iter().any(|artifact| artifact.version.major == 3
                        && artifact.version.minor == minor
                        && artifact.arch == arch),
                    "no Python 3.{minor} for {arch}"
                );
            }
        }
    }

    fn entry(url: &str) -> String {
        format!(
            "[[artifacts]]\nversion = \"3.13.1\"\nos = \"linux\"\narch = \"amd64\"\nurl = \"{url}\"\nsha256 = \"{}\"\n",
            "AB".repeat(32)
        )
    }

    #[test]
    fn relative_urls_resolve_against_an_inventory_url() {
        let base = InventoryLocation::Url("http://127.0.0.1:8000/runtimes/inventory.toml".into());
        for (reference, expected) in [
            (
                "python.tar.gz",
                "http://127.0.0.1:8000/runtimes/python.tar.gz",
            ),
            (
                "./a/python.tar.gz",
                "http://127.0.0.1:8000/runtimes/a/python.tar.gz",
            ),
            ("../python.tar.gz", "http://127.0.0.1:8000/python.tar.gz"),
            (
                "../../../python.tar.gz",
                "http://127.0.0.1:8000/python.tar.gz",
            ),
            (
                "/other/python.tar.gz",
                "http://127.0.0.1:8000/other/python.tar.gz",
            ),
            (
                "p.tar.gz?token=1",
                "http://127.0.0.1:8000/runtimes/p.tar.gz?token=1",
            ),
            (
                "https://example.com/p.tar.gz",
                "https://example.com/p.tar.gz",
            ),
        ] {
            let artifacts = parse_inventory(&entry(reference), &base).unwrap();
            assert_eq!(artifacts[0].url, expected, "{reference}");
        }
        assert_eq!(
            join_url("https://mirror.example.com", "p.tar.gz").unwrap(),
            "https://mirror.example.com/p.tar.gz"
        );
        assert_eq!(
            join_url("https://mirror.example.com/i.toml?x=/y", "p.tar.gz").unwrap(),
            "https://mirror.example.com/p.tar.gz"
        );
    }

    #[test]
    fn relative_urls_resolve_against_an_inventory_directory() {
        let base = InventoryLocation::Path(PathBuf::from("/mirror/python/inventory.toml"));
        let artifacts = parse_inventory(&entry("cpython-3.13.1.tar.gz"), &base).unwrap();
        assert_eq!(artifacts[0].url, "/mirror/python/cpython-3.13.1.tar.gz");
        let artifacts = parse_inventory(&entry("/elsewhere/p.tar.gz"), &base).unwrap();
        assert_eq!(artifacts[0].url, "/elsewhere/p.tar.gz");
        // The digest is normalised to lowercase.
        assert_eq!(artifacts[0].sha256, "ab".repeat(32));
    }

    #[test]
    fn the_built_in_inventory_needs_absolute_urls() {
        let error = parse_inventory(&entry("python.tar.gz"), &InventoryLocation::BuiltIn)
            .unwrap_err()
            .message();
        assert_eq!(
            error.body,
            formatdoc! {"
                In the buildpack's built-in runtime inventory, [[artifacts]] entry 1 is invalid: url \"python.tar.gz\" is not an http:// or https:// URL.

                {FORMAT_HELP}
            "}
        );
    }

    fn invalid(text: &str) -> ErrorMessage {
        parse_inventory(
            text,
            &InventoryLocation::Path(PathBuf::from("/app/inventory.toml")),
        )
        .unwrap_err()
        .message()
    }

    fn problem(field: &str, value: &str) -> String {
        let text = entry("p.tar.gz").replace(
            &format!(
                "{field} = \"{}\"",
                match field {
                    "version" => "3.13.1".to_string(),
                    "os" => "linux".to_string(),
                    "arch" => "amd64".to_string(),
                    "url" => "p.tar.gz".to_string(),
                    _ => "AB".repeat(32),
                }
            ),
            &format!("{field} = \"{value}\""),
        );
        let message = invalid(&format!(
            "{}\n{text}",
            entry("q.tar.gz").replace("3.13.1", "3.12.1")
        ));
        assert_eq!(message.header, "Invalid Python runtime inventory");
        let first_line = message.body.lines().next().unwrap().to_string();
        first_line
            .strip_prefix(
                "In the runtime inventory /app/inventory.toml (from BP_PYTHON_INVENTORY), \
                 [[artifacts]] entry 2 is invalid: ",
            )
            .unwrap_or(&first_line)
            .to_string()
    }

    #[test]
    fn malformed_entries_are_named() {
        assert_eq!(
            problem("version", "3.13"),
            "version \"3.13\" is not an exact Python version such as \"3.13.1\"."
        );
        assert_eq!(
            problem("os", "windows"),
            "os \"windows\" is not supported: the only OS is \"linux\"."
        );
        assert_eq!(
            problem("arch", "x86_64"),
            "arch \"x86_64\" is not supported: use \"amd64\" or \"arm64\"."
        );
        assert_eq!(
            problem("sha256", "abc"),
            "sha256 \"abc\" is not a SHA-256 digest (64 hexadecimal characters)."
        );
        assert_eq!(
            problem("sha256", &"g".repeat(64)),
            format!(
                "sha256 \"{}\" is not a SHA-256 digest (64 hexadecimal characters).",
                "g".repeat(64)
            )
        );
        assert_eq!(
            problem("url", "ftp://mirror/p.tar.gz"),
            "url \"ftp://mirror/p.tar.gz\" uses \"ftp://\", which is not supported: use an \
             http:// or https:// URL, or a path relative to the inventory."
        );
        assert_eq!(problem("url", ""), "url is empty.");
        assert_eq!(
            problem("version", "3.12.1"),
            "Python 3.12.1 for linux/amd64 is listed more than once."
        );
    }

    #[test]
    fn malformed_files_are_explained() {
        assert_eq!(
            invalid("").body,
            formatdoc! {"
                The runtime inventory /app/inventory.toml (from BP_PYTHON_INVENTORY) lists no Python runtimes (no [[artifacts]] entries).

                {FORMAT_HELP}
            "}
        );
        let body = invalid("[[artifacts]]\nversion = 3.13\n").body;
        assert!(
            body.starts_with(
                "The runtime inventory /app/inventory.toml (from BP_PYTHON_INVENTORY) is not a \
                 valid inventory:\nTOML parse error at line 2, column 11\n"
            ),
            "{body}"
        );
        assert!(
            body.contains("invalid type: floating point `3.13`, expected a string"),
            "{body}"
        );
        let body = invalid(&format!("{}extra = 1\n", entry("p.tar.gz"))).body;
        assert!(body.contains("unknown field `extra`"), "{body}");
        let body = invalid("[[artifacts]]\nversion = \"3.13.1\"\n").body;
        assert!(body.contains("missing field `os`"), "{body}");
        let body = invalid("artifacts = [").body;
        assert!(body.contains("TOML parse error at line 1"), "{body}");
    }

    fn platform_env(value: &str) -> libcnb::Env {
        let mut env = libcnb::Env::new();
        env.insert(INVENTORY_ENV_VAR, value);
        env
    }

    #[test]
    fn bp_python_inventory_replaces_the_built_in_one() {
        let app = tempfile::tempdir().unwrap();
        std::fs::create_dir(app.path().join("mirror")).unwrap();
        std::fs::write(app.path().join("mirror/inventory.toml"), entry("p.tar.gz")).unwrap();
        let inventory = load_inventory(&platform_env("mirror/inventory.toml"), app.path()).unwrap();
        assert_eq!(
            inventory.location,
            InventoryLocation::Path(app.path().join("mirror/inventory.toml"))
        );
        assert_eq!(
            inventory.artifacts[0].url,
            app.path().join("mirror/p.tar.gz").to_str().unwrap()
        );
        assert_eq!(
            load_inventory(&libcnb::Env::new(), app.path()).unwrap(),
            built_in_inventory().unwrap()
        );
    }

    #[test]
    fn bp_python_inventory_may_be_a_file_url() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("my mirror/inventory.toml");
        std::fs::create_dir(path.parent().unwrap()).unwrap();
        std::fs::write(&path, entry("p.tar.gz")).unwrap();
        let url = url::Url::from_file_path(&path).unwrap().to_string();
        assert!(url.contains("my%20mirror"), "{url}");
        let inventory = load_inventory(&platform_env(&url), Path::new("/app")).unwrap();
        assert_eq!(inventory.location, InventoryLocation::Path(path.clone()));
        assert_eq!(
            inventory.artifacts[0].url,
            dir.path().join("my mirror/p.tar.gz").to_str().unwrap()
        );
        let error = load_inventory(&platform_env("file://mirror/inventory.toml"), dir.path())
            .unwrap_err()
            .message();
        assert_eq!(
            error,
            ErrorMessage::new(
                "Invalid BP_PYTHON_INVENTORY",
                formatdoc! {"
                    BP_PYTHON_INVENTORY is set to file://mirror/inventory.toml,
                    which is not the file:// URL of a local file. A file URL names a file of the
                    build machine by its absolute path, for example file:///srv/python/inventory.toml.

                    Set it to the inventory's location, or unset it to use the buildpack's
                    built-in inventory.
                "}
            )
        );
    }

    #[test]
    fn bp_python_inventory_problems_are_explained() {
        let app = tempfile::tempdir().unwrap();
        let error = load_inventory(&platform_env("  "), app.path()).unwrap_err();
        assert_eq!(error.message().header, "Invalid BP_PYTHON_INVENTORY");

        let error = load_inventory(&platform_env("missing.toml"), app.path()).unwrap_err();
        assert_eq!(
            error.message(),
            ErrorMessage::new(
                "Unable to read the Python runtime inventory",
                formatdoc! {"
                    The file {path} could not be read: No such file or directory (os error 2)

                    Check that BP_PYTHON_INVENTORY names the inventory's location, or unset it to use
                    the buildpack's built-in inventory.
                ", path = app.path().join("missing.toml").display()}
            )
        );

        std::fs::write(app.path().join("binary.toml"), b"\xff\xfe[[artifacts]]").unwrap();
        let error = load_inventory(&platform_env("binary.toml"), app.path()).unwrap_err();
        assert!(matches!(error, InventoryError::NotUtf8 { .. }));
    }
}

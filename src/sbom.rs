//! The Software Bill of Materials of the image: one `CycloneDX` JSON document per launch layer
//! (`<layer>.sbom.cdx.json`), listing what the layer holds.
//!
//! - `python`: `CPython`, with its version, the archive it came from and that archive's SHA-256
//!   (the digest the download was verified against).
//! - `venv`: every distribution installed in the environment, read from its `*.dist-info` (or
//!   `*.egg-info`) metadata in `site-packages` after the install.
//!
//! The documents hold no timestamps or random serial numbers, and components are sorted, so two
//! builds of the same inputs give byte-identical SBOMs. They are written on every build, also when
//! a cached layer is reused, so an SBOM always describes the layer as exported.

use crate::error_message::ErrorMessage;
use crate::inventory::Artifact;
use indoc::formatdoc;
use libcnb::data::sbom::SbomFormat;
use libcnb::sbom::Sbom;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Write;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The `CycloneDX` version the documents follow.
const SPEC_VERSION: &str = "1.5";

/// One entry of an SBOM.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub(crate) struct Component {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref")]
    bom_ref: String,
    name: String,
    version: String,
    purl: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
    #[serde(rename = "externalReferences", skip_serializing_if = "Vec::is_empty")]
    external_references: Vec<ExternalReference>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
struct Hash {
    alg: &'static str,
    content: String,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
struct ExternalReference {
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
}

#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "bomFormat")]
    bom_format: &'static str,
    #[serde(rename = "specVersion")]
    spec_version: &'static str,
    version: u32,
    components: &'a [Component],
}

/// A `CycloneDX` JSON document listing `components` in the given order.
pub(crate) fn cyclonedx_json(components: &[Component]) -> Vec<u8> {
    let bom = Document {
        bom_format: "CycloneDX",
        spec_version: SPEC_VERSION,
        version: 1,
        components,
    };
    // Serialising plain strings and integers cannot fail.
    let mut json = serde_json::to_vec_pretty(&bom).unwrap_or_default();
    json.push(b'\n');
    json
}

fn cyclonedx_sbom(components: &[Component]) -> Sbom {
    Sbom::from_bytes(SbomFormat::CycloneDxJson, cyclonedx_json(components))
}

/// The SBOM of the `python` layer: the `CPython` runtime from `artifact`.
pub(crate) fn python_runtime_sbom(artifact: &Artifact) -> Sbom {
    cyclonedx_sbom(&[python_runtime_component(artifact)])
}

/// The archive's URL is stored without credentials (user-info, query string): the SBOM is in
/// the image and the cache.
fn python_runtime_component(artifact: &Artifact) -> Component {
    let version = artifact.version.to_string();
    let url = crate::redact::url_without_credentials(&artifact.url);
    let purl = format!(
        "pkg:generic/cpython@{}?checksum=sha256:{}&download_url={}",
        purl_encode(&version),
        artifact.sha256,
        purl_encode(&url)
    );
    Component {
        kind: "application",
        bom_ref: purl.clone(),
        name: String::from("CPython"),
        version,
        purl,
        hashes: vec![Hash {
            alg: "SHA-256",
            content: artifact.sha256.clone(),
        }],
        external_references: vec![ExternalReference {
            kind: "distribution",
            url,
        }],
    }
}

/// The SBOM of a virtual environment: every distribution installed in `site_packages`.
pub(crate) fn environment_sbom(site_packages: &Path) -> Result<Sbom, SbomError> {
    Ok(cyclonedx_sbom(&installed_distributions(site_packages)?))
}

/// The distributions installed in `site_packages`, from the `Name` and `Version` of each
/// `*.dist-info/METADATA` (or `*.egg-info/PKG-INFO`, or an `*.egg-info` file), sorted by purl.
pub(crate) fn installed_distributions(site_packages: &Path) -> Result<Vec<Component>, SbomError> {
    let read_error = |path: &Path, error: io::Error| SbomError::ReadMetadata {
        path: path.to_path_buf(),
        error: error.to_string(),
    };
    let entries = match fs::read_dir(site_packages) {
        Ok(entries) => entries,
        // An environment without packages (nothing to install) may have no site-packages yet.
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(read_error(site_packages, error)),
    };
    let mut components = BTreeSet::new();
    for entry in entries {
        let entry = entry.map_err(|error| read_error(site_packages, error))?;
        let dir_name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.path().is_dir();
        // A `.dist-info` dir holds `METADATA`; a `.egg-info` dir holds `PKG-INFO`, and an
        // `.egg-info` file (old distutils installs) is the `PKG-INFO` itself.
        let path = match (dir_name.rsplit_once('.').map(|(_, ext)| ext), is_dir) {
            (Some("dist-info"), true) => entry.path().join("METADATA"),
            (Some("egg-info"), true) => entry.path().join("PKG-INFO"),
            (Some("egg-info"), false) => entry.path(),
            _ => continue,
        };
        let bytes = fs::read(&path).map_err(|error| read_error(&path, error))?;
        let (name, version) = name_and_version(&String::from_utf8_lossy(&bytes))
            .ok_or_else(|| SbomError::IncompleteMetadata { path: path.clone() })?;
        components.insert(pypi_component(&name, &version));
    }
    let mut components: Vec<Component> = components.into_iter().collect();
    components.sort_by(|a, b| a.purl.cmp(&b.purl));
    Ok(components)
}

/// `Name` and `Version` from the headers of a core metadata file (the email-style header block
/// before the first empty line).
fn name_and_version(metadata: &str) -> Option<(String, String)> {
    let mut name = None;
    let mut version = None;
    for line in metadata.lines() {
        if line.trim().is_empty() {
            break;
        }
        if let Some((key, value)) = line.split_once(':') {
            let value = value.trim();
            match key.trim().to_ascii_lowercase().as_str() {
                "name" if name.is_none() && !value.is_empty() => name = Some(value.to_string()),
                "version" if version.is_none() && !value.is_empty() => {
                    version = Some(value.to_string());
                }
                _ => {}
            }
        }
    }
    Some((name?, version?))
}

fn pypi_component(name: &str, version: &str) -> Component {
    let purl = format!(
        "pkg:pypi/{}@{}",
        purl_encode(&normalize_name(name)),
        purl_encode(version)
    );
    Component {
        kind: "library",
        bom_ref: purl.clone(),
        name: name.to_string(),
        version: version.to_string(),
        purl,
        hashes: Vec::new(),
        external_references: Vec::new(),
    }
}

/// A project name normalised as `PyPI` (PEP 503) and the `pypi` purl type do: lowercase, with
/// every run of `-`, `_` and `.` replaced by one `-`.
pub(crate) fn normalize_name(name: &str) -> String {
    let mut normalized = String::with_capacity(name.len());
    let mut in_separator_run = false;
    for character in name.chars() {
        if matches!(character, '-' | '_' | '.') {
            if !in_separator_run {
                normalized.push('-');
            }
            in_separator_run = true;
        } else {
            normalized.extend(character.to_lowercase());
            in_separator_run = false;
        }
    }
    normalized
}

/// Percent-encodes everything but the unreserved characters of RFC 3986, as purl components
/// require.
fn purl_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

#[derive(Debug)]
pub(crate) enum SbomError {
    /// A file or directory of the environment could not be read.
    ReadMetadata { path: PathBuf, error: String },
    /// A distribution's metadata has no `Name` or no `Version`.
    IncompleteMetadata { path: PathBuf },
}

impl SbomError {
    pub(crate) fn message(&self) -> ErrorMessage {
        match self {
            Self::ReadMetadata { path, error } => ErrorMessage::new(
                "Could not list the installed packages for the SBOM",
                formatdoc! {"
                    Reading {path} failed: {error}

                    The image's Software Bill of Materials lists every package installed in the
                    virtual environment, read from the packages' metadata after the install.
                    Rebuild the app; if this keeps happening, clear the build cache
                    (pack build --clear-cache).
                ", path = path.display()},
            ),
            Self::IncompleteMetadata { path } => ErrorMessage::new(
                "An installed package has no name or version",
                formatdoc! {"
                    The metadata file {path} has no `Name` or no `Version` header, so the
                    package cannot be listed in the image's Software Bill of Materials.

                    The package was installed with broken metadata. Reinstall it from a fixed
                    release, or clear the build cache (pack build --clear-cache) if the
                    environment was left incomplete by an interrupted build.
                ", path = path.display()},
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python_version::PythonVersion;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn names_are_normalised_as_pypi_does() {
        assert_eq!(normalize_name("Flask"), "flask");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
        assert_eq!(normalize_name("typing_extensions"), "typing-extensions");
        assert_eq!(normalize_name("A-_.B"), "a-b");
    }

    #[test]
    fn metadata_headers_give_name_and_version() {
        let metadata =
            "Metadata-Version: 2.1\nName: Flask\nVersion: 3.0.0\nSummary: x\n\nName: NotAHeader\n";
        assert_eq!(
            name_and_version(metadata),
            Some((String::from("Flask"), String::from("3.0.0")))
        );
        assert_eq!(name_and_version("Name: x\n\nVersion: 1\n"), None);
    }

    #[test]
    fn an_environment_lists_its_distributions_sorted_as_exact_json() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path();
        write(
            &site.join("zope.interface-6.1.dist-info/METADATA"),
            "Metadata-Version: 2.1\nName: zope.interface\nVersion: 6.1\n",
        );
        write(
            &site.join("Flask-3.0.0.dist-info/METADATA"),
            "Metadata-Version: 2.1\nName: Flask\nVersion: 3.0.0\n\nLong description\n",
        );
        write(
            &site.join("legacy.egg-info/PKG-INFO"),
            "Metadata-Version: 1.0\nName: legacy_pkg\nVersion: 1.0+local\n",
        );
        write(
            &site.join("old_distutils-0.1-py3.12.egg-info"),
            "Metadata-Version: 1.0\nName: old_distutils\nVersion: 0.1\n",
        );
        // Not distributions: a package dir and a .pth file.
        write(&site.join("flask/__init__.py"), "");
        write(&site.join("distutils-precedence.pth"), "");

        let json =
            String::from_utf8(cyclonedx_json(&installed_distributions(site).unwrap())).unwrap();
        assert_eq!(
            json,
            indoc::indoc! {r#"
                {
                  "bomFormat": "CycloneDX",
                  "specVersion": "1.5",
                  "version": 1,
                  "components": [
                    {
                      "type": "library",
                      "bom-ref": "pkg:pypi/flask@3.0.0",
                      "name": "Flask",
                      "version": "3.0.0",
                      "purl": "pkg:pypi/flask@3.0.0"
                    },
                    {
                      "type": "library",
                      "bom-ref": "pkg:pypi/legacy-pkg@1.0%2Blocal",
                      "name": "legacy_pkg",
                      "version": "1.0+local",
                      "purl": "pkg:pypi/legacy-pkg@1.0%2Blocal"
                    },
                    {
                      "type": "library",
                      "bom-ref": "pkg:pypi/old-distutils@0.1",
                      "name": "old_distutils",
                      "version": "0.1",
                      "purl": "pkg:pypi/old-distutils@0.1"
                    },
                    {
                      "type": "library",
                      "bom-ref": "pkg:pypi/zope-interface@6.1",
                      "name": "zope.interface",
                      "version": "6.1",
                      "purl": "pkg:pypi/zope-interface@6.1"
                    }
                  ]
                }
            "#}
        );
    }

    #[test]
    fn an_environment_without_site_packages_lists_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let json = cyclonedx_json(&installed_distributions(&dir.path().join("missing")).unwrap());
        assert_eq!(
            String::from_utf8(json).unwrap(),
            "{\n  \"bomFormat\": \"CycloneDX\",\n  \"specVersion\": \"1.5\",\n  \"version\": 1,\n  \"components\": []\n}\n"
        );
    }

    #[test]
    fn metadata_without_a_version_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken-1.dist-info/METADATA");
        write(&path, "Metadata-Version: 2.1\nName: broken\n");
        let error = installed_distributions(dir.path()).unwrap_err();
        assert_eq!(
            error.message().header,
            "An installed package has no name or version"
        );
        assert!(error.message().body.starts_with(&format!(
            "The metadata file {} has no `Name`",
            path.display()
        )));
    }

    #[test]
    fn the_runtime_sbom_names_cpython_with_its_archive_and_digest() {
        let artifact = Artifact {
            version: PythonVersion::new(3, 12, 1),
            os: String::from("linux"),
            arch: String::from("amd64"),
            url: String::from("https://example.com/cpython-3.12.1.tar.gz"),
            sha256: "ab".repeat(32),
        };
        let json = String::from_utf8(python_runtime_sbom(&artifact).data).unwrap();
        let sha = "ab".repeat(32);
        let purl = format!(
            "pkg:generic/cpython@3.12.1?checksum=sha256:{sha}&download_url=https%3A%2F%2Fexample.com%2Fcpython-3.12.1.tar.gz"
        );
        assert_eq!(
            json,
            format!(
                indoc::indoc! {r#"
                    {{
                      "bomFormat": "CycloneDX",
                      "specVersion": "1.5",
                      "version": 1,
                      "components": [
                        {{
                          "type": "application",
                          "bom-ref": "{purl}",
                          "name": "CPython",
                          "version": "3.12.1",
                          "purl": "{purl}",
                          "hashes": [
                            {{
                              "alg": "SHA-256",
                              "content": "{sha}"
                            }}
                          ],
                          "externalReferences": [
                            {{
                              "type": "distribution",
                              "url": "https://example.com/cpython-3.12.1.tar.gz"
                            }}
                          ]
                        }}
                      ]
                    }}
                "#},
                purl = purl,
                sha = sha
            )
        );
    }
}

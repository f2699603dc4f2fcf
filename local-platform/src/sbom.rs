//! Software Bill of Materials files, as the lifecycle handles them (Buildpack API 0.7+):
//! after `bin/build`, every `<layers>/<bp>/*.sbom.*.json` is validated against the formats the
//! buildpack declares in `buildpack.toml` (`sbom-formats`); the exporter puts the SBOMs of
//! launch layers and `launch.sbom.<ext>` into the image at
//! `<layers>/sbom/launch/<bp>/[<layer>/]sbom.<ext>`, and the cacher keeps the SBOMs of cached
//! layers at `sbom/cache/<bp>/<layer>/sbom.<ext>`; the restorer puts them back as
//! `<layer>.sbom.<ext>` next to the restored `<layer>.toml`.

use crate::PlatformError;
use crate::buildpack::Buildpack;
use crate::files::copy_tree;
use crate::layers::{DeclaredLayer, LayerTypes};
use std::fs;
use std::path::{Path, PathBuf};

/// The SBOM formats of the spec: file extension and media type.
pub(crate) const FORMATS: [(&str, &str); 3] = [
    ("cdx.json", "application/vnd.cyclonedx+json"),
    ("spdx.json", "application/spdx+json"),
    ("syft.json", "application/vnd.syft+json"),
];

/// What an SBOM file describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SbomOwner {
    /// `launch.sbom.<ext>`: the app's dependencies outside any layer.
    Launch,
    /// `build.sbom.<ext>`: build dependencies outside any layer.
    Build,
    /// `<layer>.sbom.<ext>` of a declared layer.
    Layer { name: String, types: LayerTypes },
}

/// One SBOM file the buildpack left in its layers dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SbomFile {
    pub(crate) owner: SbomOwner,
    /// `cdx.json`, `spdx.json` or `syft.json`.
    pub(crate) ext: &'static str,
    pub(crate) path: PathBuf,
}

impl SbomFile {
    /// Whether the image gets this file: `launch.sbom.<ext>` and the SBOMs of launch layers.
    pub(crate) fn for_launch(&self) -> bool {
        match &self.owner {
            SbomOwner::Launch => true,
            SbomOwner::Build => false,
            SbomOwner::Layer { types, .. } => types.launch,
        }
    }

    /// The layer this file describes, if any.
    pub(crate) fn layer(&self) -> Option<&str> {
        match &self.owner {
            SbomOwner::Layer { name, .. } => Some(name),
            SbomOwner::Launch | SbomOwner::Build => None,
        }
    }

    /// `sbom.<ext>`: the file's name in the image and the cache.
    pub(crate) fn stored_name(&self) -> String {
        format!("sbom.{}", self.ext)
    }
}

/// The SBOM files in `bp_layers_dir` (`*.sbom.*.json`, sorted), failing like the lifecycle on a
/// format the spec doesn't know or the buildpack didn't declare. Files of layers without a
/// `<layer>.toml` (or with every type false) are not part of the build and are skipped.
pub(crate) fn read_sbom_files(
    bp_layers_dir: &Path,
    layers: &[DeclaredLayer],
    buildpack: &Buildpack,
) -> Result<Vec<SbomFile>, PlatformError> {
    let entries = fs::read_dir(bp_layers_dir)
        .map_err(|error| PlatformError::io("reading", bp_layers_dir, &error))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| PlatformError::io("reading", bp_layers_dir, &error))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // The lifecycle's glob: `*.sbom.*.json`.
        let matches = name.strip_suffix(".json").is_some_and(|stem| {
            stem.find(".sbom.")
                .is_some_and(|at| at + ".sbom.".len() <= stem.len())
        });
        if matches && !entry.path().is_dir() {
            names.push(name);
        }
    }
    names.sort();
    let declared: Vec<String> = buildpack
        .sbom_formats
        .iter()
        .map(|format| media_type_essence(format))
        .collect();
    let mut files = Vec::new();
    for name in names {
        let path = bp_layers_dir.join(&name);
        let base = name.split('.').next().unwrap_or_default();
        let owner = match base {
            "launch" => SbomOwner::Launch,
            "build" => SbomOwner::Build,
            _ => match layers.iter().find(|layer| layer.name == base) {
                Some(layer) => SbomOwner::Layer {
                    name: layer.name.clone(),
                    types: layer.types,
                },
                None => continue,
            },
        };
        let Some((ext, media_type)) = FORMATS
            .iter()
            .find(|(ext, _)| name.ends_with(&format!(".sbom.{ext}")))
        else {
            return Err(PlatformError::new(format!(
                "unsupported SBOM file format: '{}'",
                path.display()
            )));
        };
        if !declared.iter().any(|declared| declared == media_type) {
            return Err(PlatformError::new(format!(
                "validating SBOM file '{}' for buildpack: '{}': undeclared SBOM media type: '{media_type}'",
                path.display(),
                buildpack.display_name()
            )));
        }
        files.push(SbomFile { owner, ext, path });
    }
    Ok(files)
}

/// A media type without parameters, lowercase (`application/spdx+json; version=2.2` →
/// `application/spdx+json`), as the lifecycle compares them.
fn media_type_essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Copies `files` into `root` (a `sbom/<kind>/<bp>` dir of the image or the cache) as
/// `[<layer>/]sbom.<ext>`.
pub(crate) fn store_sbom_files<'a>(
    files: impl IntoIterator<Item = &'a SbomFile>,
    root: &Path,
) -> Result<usize, PlatformError> {
    let mut count = 0;
    for file in files {
        let dir = match file.layer() {
            Some(layer) => root.join(layer),
            None => root.to_path_buf(),
        };
        fs::create_dir_all(&dir).map_err(|error| PlatformError::io("creating", &dir, &error))?;
        copy_tree(&file.path, &dir.join(file.stored_name()))?;
        count += 1;
    }
    Ok(count)
}

/// Puts the stored SBOMs of `layer` (in `root/<layer>/sbom.<ext>`) back into the layers dir
/// as `<layer>.sbom.<ext>`.
pub(crate) fn restore_layer_sboms(
    root: &Path,
    layer: &str,
    bp_layers_dir: &Path,
) -> Result<(), PlatformError> {
    for (ext, _) in FORMATS {
        let stored = root.join(layer).join(format!("sbom.{ext}"));
        if stored.is_file() {
            copy_tree(&stored, &bp_layers_dir.join(format!("{layer}.sbom.{ext}")))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buildpack(formats: &[&str]) -> Buildpack {
        Buildpack {
            dir: PathBuf::from("/bp"),
            id: String::from("test/bp"),
            version: String::from("1.0.0"),
            api: String::from("0.10"),
            clear_env: false,
            sbom_formats: formats.iter().map(ToString::to_string).collect(),
        }
    }

    fn layer(name: &str, launch: bool, cache: bool) -> DeclaredLayer {
        DeclaredLayer {
            name: name.to_string(),
            types: LayerTypes {
                launch,
                build: false,
                cache,
            },
            metadata: serde_json::Value::Null,
            has_dir: true,
        }
    }

    #[test]
    fn the_lifecycle_glob_picks_the_sbom_files_of_declared_layers() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "web.sbom.cdx.json",
            "web.sbom.syft.json",
            "launch.sbom.cdx.json",
            "build.sbom.cdx.json",
            "undeclared.sbom.cdx.json",
            "web.toml",
            "web.sbom.json",
            "notes.json",
        ] {
            fs::write(dir.path().join(name), "{}").unwrap();
        }
        fs::create_dir(dir.path().join("dir.sbom.cdx.json")).unwrap();
        let files = read_sbom_files(
            dir.path(),
            &[layer("web", true, false)],
            &buildpack(&[
                "application/vnd.cyclonedx+json",
                "Application/Vnd.Syft+JSON; version=16",
            ]),
        )
        .unwrap();
        let summary: Vec<(SbomOwner, &str, bool)> = files
            .iter()
            .map(|file| (file.owner.clone(), file.ext, file.for_launch()))
            .collect();
        let web = SbomOwner::Layer {
            name: String::from("web"),
            types: LayerTypes {
                launch: true,
                build: false,
                cache: false,
            },
        };
        assert_eq!(
            summary,
            [
                (SbomOwner::Build, "cdx.json", false),
                (SbomOwner::Launch, "cdx.json", true),
                (web.clone(), "cdx.json", true),
                (web, "syft.json", true),
            ]
        );
    }

    #[test]
    fn a_buildpack_declaring_no_formats_may_write_no_sbom() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("launch.sbom.cdx.json");
        fs::write(&path, "{}").unwrap();
        let error = read_sbom_files(dir.path(), &[], &buildpack(&[])).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "validating SBOM file '{}' for buildpack: 'test/bp@1.0.0': undeclared SBOM media type: 'application/vnd.cyclonedx+json'",
                path.display()
            )
        );
    }
}

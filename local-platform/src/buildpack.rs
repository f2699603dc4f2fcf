//! The buildpack the platform runs: its descriptor, and packaging a libcnb crate into a
//! buildpack directory (`buildpack.toml`, `bin/build`, `bin/detect`).

use crate::PlatformError;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// A buildpack directory and what its `buildpack.toml` declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buildpack {
    /// The buildpack directory (`CNB_BUILDPACK_DIR`).
    pub dir: PathBuf,
    /// `buildpack.id`.
    pub id: String,
    /// `buildpack.version`.
    pub version: String,
    /// The Buildpack API (`api`).
    pub api: String,
    /// `buildpack.clear-env`: when true, platform env vars are not applied to the process env.
    pub clear_env: bool,
    /// `buildpack.sbom-formats`: the SBOM media types the buildpack may write.
    pub sbom_formats: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Descriptor {
    api: String,
    buildpack: DescriptorBuildpack,
}

#[derive(serde::Deserialize)]
struct DescriptorBuildpack {
    id: String,
    version: String,
    #[serde(rename = "clear-env", default)]
    clear_env: bool,
    #[serde(rename = "sbom-formats", default)]
    sbom_formats: Vec<String>,
}

impl Buildpack {
    /// Reads a buildpack directory (which must hold `buildpack.toml` and `bin/detect`,
    /// `bin/build`).
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, PlatformError> {
        let dir = std::path::absolute(dir.as_ref())
            .map_err(|error| PlatformError::io("resolving", dir.as_ref(), &error))?;
        let descriptor_path = dir.join("buildpack.toml");
        let text = fs::read_to_string(&descriptor_path)
            .map_err(|error| PlatformError::io("reading", &descriptor_path, &error))?;
        let descriptor: Descriptor = toml::from_str(&text).map_err(|error| {
            PlatformError::new(format!(
                "Invalid buildpack descriptor {}: {}",
                descriptor_path.display(),
                error.message()
            ))
        })?;
        for phase in ["detect", "build"] {
            let executable = dir.join("bin").join(phase);
            if !executable.is_file() {
                return Err(PlatformError::new(format!(
                    "The buildpack in {} has no executable bin/{phase}.",
                    dir.display()
                )));
            }
        }
        Ok(Self {
            dir,
            id: descriptor.buildpack.id,
            version: descriptor.buildpack.version,
            api: descriptor.api,
            clear_env: descriptor.buildpack.clear_env,
            sbom_formats: descriptor.buildpack.sbom_formats,
        })
    }

    /// `<id>@<version>`, as the lifecycle names a buildpack in its output.
    #[must_use]
    pub fn display_name(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    /// The buildpack's directory name under the layers dir (`/` becomes `_`).
    #[must_use]
    pub fn escaped_id(&self) -> String {
        self.id.replace('/', "_")
    }
}

/// Packages the libcnb buildpack crate at `manifest_dir` once per process and per crate:
/// `cargo build --bin <crate binary>` with the running executable's profile, then a buildpack
/// directory with `buildpack.toml` and `bin/build`, `bin/detect` symlinked to the binary
/// (libcnb picks the phase from the executable's file name).
pub fn package_crate_once(manifest_dir: &Path) -> Result<Buildpack, PlatformError> {
    static PACKAGED: OnceLock<Mutex<HashMap<PathBuf, Result<Buildpack, String>>>> = OnceLock::new();
    let packaged = PACKAGED.get_or_init(|| Mutex::new(HashMap::new()));
    let mut packaged = packaged
        .lock()
        .map_err(|_| PlatformError::new("A previous packaging attempt panicked."))?;
    let result = packaged
        .entry(manifest_dir.to_path_buf())
        .or_insert_with(|| package_crate(manifest_dir).map_err(|error| error.to_string()));
    result.clone().map_err(PlatformError::new)
}

/// Packages the libcnb buildpack crate at `manifest_dir` (see [`package_crate_once`]).
pub fn package_crate(manifest_dir: &Path) -> Result<Buildpack, PlatformError> {
    let manifest_path = manifest_dir.join("Cargo.toml");
    let manifest_text = fs::read_to_string(&manifest_path)
        .map_err(|error| PlatformError::io("reading", &manifest_path, &error))?;
    let manifest: toml::Table = toml::from_str(&manifest_text).map_err(|error| {
        PlatformError::new(format!(
            "Invalid {}: {}",
            manifest_path.display(),
            error.message()
        ))
    })?;
    let binary_name = crate_binary_name(&manifest).ok_or_else(|| {
        PlatformError::new(format!(
            "{} declares no package name or binary.",
            manifest_path.display()
        ))
    })?;

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| String::from("cargo"));
    let mut command = Command::new(cargo);
    command
        .current_dir(manifest_dir)
        .args([
            "build",
            "--bin",
            &binary_name,
            "--message-format=json-render-diagnostics",
        ])
        .args(profile_args())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let output = command
        .output()
        .map_err(|error| PlatformError::new(format!("Could not run cargo: {error}")))?;
    if !output.status.success() {
        return Err(PlatformError::new(format!(
            "Building the buildpack binary `{binary_name}` failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let executable = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == *binary_name
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| {
            PlatformError::new(format!(
                "cargo built no executable for the binary `{binary_name}`."
            ))
        })?;

    let profile_dir = executable.parent().unwrap_or(Path::new("."));
    let buildpack_dir = profile_dir
        .join("local-platform-buildpacks")
        .join(&binary_name);
    lay_out_buildpack_dir(
        &buildpack_dir,
        &manifest_dir.join("buildpack.toml"),
        &executable,
    )?;
    Buildpack::from_dir(&buildpack_dir)
}

fn crate_binary_name(manifest: &toml::Table) -> Option<String> {
    let first_bin = manifest
        .get("bin")
        .and_then(toml::Value::as_array)
        .and_then(|bins| bins.first())
        .and_then(|bin| bin.get("name"))
        .and_then(toml::Value::as_str);
    let package_name = manifest
        .get("package")
        .and_then(|package| package.get("name"))
        .and_then(toml::Value::as_str);
    first_bin.or(package_name).map(String::from)
}

/// The cargo profile flags matching the running executable (`target/<profile>/[deps/]exe`).
fn profile_args() -> Vec<String> {
    let Ok(exe) = std::env::current_exe() else {
        return Vec::new();
    };
    let mut dir = exe.parent();
    if dir
        .and_then(Path::file_name)
        .is_some_and(|name| name == "deps" || name == "examples")
    {
        dir = dir.and_then(Path::parent);
    }
    match dir.and_then(Path::file_name).and_then(|name| name.to_str()) {
        Some("release") => vec![String::from("--release")],
        Some("debug") | None => Vec::new(),
        Some(profile) => vec![String::from("--profile"), String::from(profile)],
    }
}

/// Writes the buildpack dir atomically file by file, so that concurrent test processes
/// packaging the same crate never see a half-written directory.
fn lay_out_buildpack_dir(
    buildpack_dir: &Path,
    descriptor: &Path,
    executable: &Path,
) -> Result<(), PlatformError> {
    let bin_dir = buildpack_dir.join("bin");
    fs::create_dir_all(&bin_dir)
        .map_err(|error| PlatformError::io("creating", &bin_dir, &error))?;
    let unique = format!(".tmp-{}", std::process::id());

    let descriptor_tmp = buildpack_dir.join(format!("buildpack.toml{unique}"));
    fs::copy(descriptor, &descriptor_tmp)
        .map_err(|error| PlatformError::io("copying", descriptor, &error))?;
    rename(&descriptor_tmp, &buildpack_dir.join("buildpack.toml"))?;

    for phase in ["build", "detect"] {
        let link_tmp = bin_dir.join(format!("{phase}{unique}"));
        let _ = fs::remove_file(&link_tmp);
        std::os::unix::fs::symlink(executable, &link_tmp)
            .map_err(|error| PlatformError::io("creating", &link_tmp, &error))?;
        rename(&link_tmp, &bin_dir.join(phase))?;
    }
    Ok(())
}

fn rename(from: &Path, to: &Path) -> Result<(), PlatformError> {
    fs::rename(from, to).map_err(|error| PlatformError::io("writing", to, &error))
}

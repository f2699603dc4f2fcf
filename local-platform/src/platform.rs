//! The lifecycle's phases for one buildpack: analyze, detect, restore, build, export; and
//! the image and cache stores that persist between builds in a work dir.
//!
//! Work dir layout (paths stay the same across builds and at launch, because venvs and
//! shebangs hardcode absolute paths):
//!
//! ```text
//! <work>/app                 the app dir (build and launch cwd)
//! <work>/layers/<bp-id>/     the buildpack's layers dir (build), launch layers only (launch)
//! <work>/platform/env/NAME   platform env vars
//! <work>/home                HOME during detect and build
//! <work>/store/image/        the last exported image: image.json (its layers), app/,
//!                            sbom/launch/<bp-id>/ (its SBOM layer)
//! <work>/store/cache/        the build cache: cache.json (its layers), sbom/cache/<bp-id>/
//! <work>/store/layers/<hex>/ the layers of both, by content digest (`<hex>.pack`: a layer
//!                            only cached, as one file)
//! <work>/spare/<name>/       spare copies of stored layers (see `spares.rs`)
//! <work>/cnb/buildpacks/<bp-id>/<version>/
//!                            the buildpack, staged for a build user who can't read it
//! ```
//!
//! With a build user (`build_user.rs`), `app`, `layers`, `home` and `tmp` are theirs, `<work>`
//! is searchable but not listable, and `store` is root's alone.

use crate::PlatformError;
use crate::build_user::BuildUser;
use crate::buildpack::Buildpack;
use crate::files::{
    copy_tree, digest_tree, fingerprint, move_tree, normalise_and_stamp, normalise_mtimes,
    remove_tree, stamp_tree,
};
use crate::layers::{self, BuildOutputFiles, LayerTypes, Process};
use crate::output::Output;
use crate::pack::{pack_tree, unpack_tree};
use crate::sbom::{self, SbomFile};
use crate::spares::Spares;
use crate::target::Target;
use crate::timings::timed;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The `PATH` of the build and run images.
pub(crate) const DEFAULT_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Env vars whose platform values are prepended (with `:`) rather than overriding.
const PATH_LIKE_VARS: [&str; 5] = [
    "PATH",
    "LD_LIBRARY_PATH",
    "LIBRARY_PATH",
    "CPATH",
    "PKG_CONFIG_PATH",
];

// Lifecycle exit codes (platform spec), as `pack` reports them.
const CODE_FAILED_DETECT: i32 = 20;
const CODE_FAILED_DETECT_WITH_ERRORS: i32 = 21;
const CODE_FAILED_BUILD: i32 = 51;
const CODE_FAILED_EXPORT: i32 = 62;

/// One build: the app, the platform env, and options.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// The app source, copied to `<work>/app` before the build.
    pub app_dir: PathBuf,
    /// Platform env vars (`pack build --env`), written to `<platform>/env/NAME`.
    pub env: BTreeMap<String, String>,
    /// `pack build --clear-cache`: restore nothing (no cached layers, no layer metadata, no
    /// `store.toml`) and start the cache afresh. The previous image stays, so the exporter can
    /// still reuse its layers.
    pub clear_cache: bool,
    /// The image name used in output.
    pub image_name: String,
}

/// The result of a build the lifecycle ran to the end (success) or stopped (failure).
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    /// Whether `pack build` would have succeeded.
    pub success: bool,
    /// The lifecycle exit code (0, 20 detect failed, 21 detect errored, 51 build failed,
    /// 62 export failed).
    pub exit_code: i32,
    /// The exported image, on success.
    pub export: Option<ExportSnapshot>,
}

/// What the exporter put in the image: launch layers, processes and sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportSnapshot {
    /// The image name.
    pub image: String,
    /// Launch layers, sorted by name.
    pub layers: Vec<LayerSnapshot>,
    /// Processes from `launch.toml`.
    pub processes: Vec<Process>,
    /// Total bytes of regular files in the launch layers.
    pub launch_bytes: u64,
    /// Layers cached for the next build, sorted by name.
    pub cached_layers: Vec<String>,
}

/// One exported launch layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerSnapshot {
    pub name: String,
    pub types: LayerTypes,
    /// The layer's `[metadata]`, as stored in the image (JSON).
    pub metadata: serde_json::Value,
    /// `sha256:...` over the layer's files (paths, contents, permission bits, symlink targets).
    pub digest: String,
    /// Bytes of regular files in the layer.
    pub bytes: u64,
    /// Whether the previous image had this layer with the same digest ("Reusing layer").
    pub unchanged: bool,
}

impl ExportSnapshot {
    /// The launch layer called `name`.
    #[must_use]
    pub fn layer(&self, name: &str) -> Option<&LayerSnapshot> {
        self.layers.iter().find(|layer| layer.name == name)
    }

    /// The default process: the one with `default = true`. Since platform API 0.6 the
    /// exporter sets no default otherwise, not even `web` (that fallback is only for
    /// buildpacks older than Buildpack API 0.6).
    #[must_use]
    pub fn default_process(&self) -> Option<&Process> {
        self.processes.iter().find(|process| process.default)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredLayer {
    sha: String,
    data: serde_json::Value,
    types: LayerTypes,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ImageRecord {
    /// Unique per export: tells whether `<work>/app` and `<work>/layers` hold this image.
    id: String,
    buildpack: String,
    layers: BTreeMap<String, StoredLayer>,
    store: Option<serde_json::Value>,
    export: ExportSnapshot,
}

/// A layer the restorer put in the layers dir: the stored layer it came from, and its stamp
/// then, which tells at export whether the build left it as it was.
struct RestoredLayer {
    sha: String,
    stamp: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CacheRecord {
    layers: BTreeMap<String, StoredLayer>,
}

/// What launching needs: the materialised app and layers, and the image's processes.
#[derive(Debug, Clone)]
pub struct LaunchImage {
    pub app_dir: PathBuf,
    pub layers_dir: PathBuf,
    /// Launch layer dirs in launcher order (layer name alphabetically).
    pub layer_dirs: Vec<PathBuf>,
    pub export: ExportSnapshot,
}

/// A local platform for one buildpack, with its state in a work dir.
#[derive(Debug, Clone)]
pub struct Platform {
    work_dir: PathBuf,
    buildpack: Buildpack,
    target: Target,
    /// Who detect and build run as (see `build_user.rs`); `None`: the calling user.
    build_user: Option<BuildUser>,
    /// Whether `HOME` of detect and build is read-only (to prove nothing writes there).
    read_only_home: bool,
    /// The build image's `PATH` (the default, unless a test stands in for another image).
    build_image_path: String,
}

enum DetectResult {
    Pass(Vec<toml::Value>),
    Fail { code: i32 },
}

impl Platform {
    /// A platform keeping its state (app, layers, image, cache) in `work_dir`.
    pub fn new(work_dir: impl AsRef<Path>, buildpack: Buildpack) -> Result<Self, PlatformError> {
        let work_dir = work_dir.as_ref();
        fs::create_dir_all(work_dir)
            .map_err(|error| PlatformError::io("creating", work_dir, &error))?;
        let work_dir = work_dir
            .canonicalize()
            .map_err(|error| PlatformError::io("resolving", work_dir, &error))?;
        Ok(Self {
            work_dir,
            buildpack,
            target: Target::host(),
            build_user: BuildUser::from_env()?,
            read_only_home: false,
            build_image_path: String::from(DEFAULT_PATH),
        })
    }

    /// Runs detect and build as `user` (`None`: as the calling user) instead of the default
    /// of [`BuildUser::from_env`].
    #[must_use]
    pub fn with_build_user(mut self, user: Option<BuildUser>) -> Self {
        self.build_user = user;
        self
    }

    /// Makes `HOME` of detect and build a read-only, empty dir.
    #[must_use]
    pub fn with_read_only_home(mut self, read_only: bool) -> Self {
        self.read_only_home = read_only;
        self
    }

    /// Who detect and build run as (`None`: the calling user).
    #[must_use]
    pub fn build_user(&self) -> Option<BuildUser> {
        self.build_user
    }

    /// `<work>/home`: `HOME` of detect and build.
    #[must_use]
    pub fn home_dir(&self) -> PathBuf {
        self.work_dir.join("home")
    }

    /// Builds as on a build image whose `PATH` is `path` instead of the default, for example
    /// one that lacks a tool (a C compiler). The run image keeps the default.
    #[must_use]
    pub fn with_build_image_path(mut self, path: impl Into<String>) -> Self {
        self.build_image_path = path.into();
        self
    }

    #[must_use]
    pub fn work_dir(&self) -> &Path {
        &self.work_dir
    }

    #[must_use]
    pub fn buildpack(&self) -> &Buildpack {
        &self.buildpack
    }

    /// `<work>/app`: the app dir during build and launch.
    #[must_use]
    pub fn app_dir(&self) -> PathBuf {
        self.work_dir.join("app")
    }

    /// `<work>/layers`: the layers root (`CNB_LAYERS_DIR` at launch).
    #[must_use]
    pub fn layers_root(&self) -> PathBuf {
        self.work_dir.join("layers")
    }

    /// `<work>/layers/<escaped buildpack id>`.
    #[must_use]
    pub fn buildpack_layers_dir(&self) -> PathBuf {
        self.layers_root().join(self.buildpack.escaped_id())
    }

    fn store_dir(&self) -> PathBuf {
        self.work_dir.join("store")
    }

    fn image_dir(&self) -> PathBuf {
        self.store_dir().join("image")
    }

    fn cache_dir(&self) -> PathBuf {
        self.store_dir().join("cache")
    }

    fn stored_layers_dir(&self) -> PathBuf {
        self.store_dir().join("layers")
    }

    /// Where the stored layer with digest `sha` is, as a dir (a launch layer).
    fn stored_layer_dir(&self, sha: &str) -> PathBuf {
        self.stored_layers_dir()
            .join(sha.strip_prefix("sha256:").unwrap_or(sha))
    }

    /// Where the stored layer with digest `sha` is, as one file (a layer only cached; see
    /// `pack.rs`).
    fn stored_layer_pack(&self, sha: &str) -> PathBuf {
        let hex = sha.strip_prefix("sha256:").unwrap_or(sha);
        self.stored_layers_dir()
            .join(format!("{hex}{STORED_PACK_SUFFIX}"))
    }

    /// Copies the stored layer with digest `sha` to `to`, from its dir or its pack.
    fn copy_stored_layer(&self, sha: &str, to: &Path) -> Result<(), PlatformError> {
        let dir = self.stored_layer_dir(sha);
        if dir.is_dir() {
            copy_tree(&dir, to)
        } else {
            unpack_tree(&self.stored_layer_pack(sha), to)
        }
    }

    /// The last exported image, if any.
    pub fn last_export(&self) -> Result<Option<ExportSnapshot>, PlatformError> {
        Ok(self.read_image()?.map(|image| image.export))
    }

    fn read_image(&self) -> Result<Option<ImageRecord>, PlatformError> {
        read_json(&self.image_dir().join("image.json"))
    }

    fn read_cache(&self) -> Result<Option<CacheRecord>, PlatformError> {
        read_json(&self.cache_dir().join("cache.json"))
    }

    /// Runs a whole build, printing what `pack build` prints to `output`. A failed build
    /// (detect, build or export) changes neither the image nor the cache.
    pub fn build(
        &self,
        request: &BuildRequest,
        output: &Output,
    ) -> Result<BuildOutcome, PlatformError> {
        timed(
            || "prepare workspace".into(),
            || self.prepare_workspace(request),
        )?;
        let previous_image = self.read_image()?;

        output.line("===> ANALYZING");
        if previous_image.is_none() {
            output.line(&format!(
                "Previous image with name \"{}\" not found",
                request.image_name
            ));
        }

        output.line("===> DETECTING");
        let plan_entries = match timed(|| "detect".into(), || self.detect(output))? {
            DetectResult::Pass(entries) => entries,
            DetectResult::Fail { code } => return Ok(failed(output, code)),
        };
        output.line("1 of 1 buildpacks participating");
        output.line(&format!("{} {}", self.buildpack.id, self.buildpack.version));

        let bp_layers_dir = self.buildpack_layers_dir();
        fs::create_dir_all(&bp_layers_dir)
            .map_err(|error| PlatformError::io("creating", &bp_layers_dir, &error))?;
        output.line("===> RESTORING");
        let restored = if request.clear_cache {
            // `pack build --clear-cache` runs the restorer with `-skip-restore` (since Platform
            // API 0.10 the phase still runs): it restores no layer metadata or data, but the
            // lifecycle's `MetadataRestorer` still writes `store.toml` from the previous image.
            remove_tree(&self.cache_dir())?;
            output.line("Skipping buildpack layer analysis");
            restore_store_toml(previous_image.as_ref(), &bp_layers_dir)?;
            self.hand_over_layers_dir(&BTreeMap::new())?;
            BTreeMap::new()
        } else {
            timed(
                || "restore".into(),
                || self.restore(previous_image.as_ref(), &bp_layers_dir, output),
            )?
        };

        output.line("===> BUILDING");
        let plan_path = self.work_dir.join("tmp").join("plan.toml");
        write_buildpack_plan(&plan_path, &plan_entries)?;
        let status = timed(
            || "bin/build".into(),
            || self.run_build(&bp_layers_dir, &plan_path, output),
        )?;
        if !status.success() {
            let reason = status.code().map_or_else(
                || String::from("signal: killed"),
                |code| format!("exit status {code}"),
            );
            output.line(&format!("ERROR: failed to build: {reason}"));
            return Ok(failed(output, CODE_FAILED_BUILD));
        }
        let build_output = match layers::read_build_output(&bp_layers_dir) {
            Ok(build_output) => build_output,
            Err(error) => {
                output.line(&format!("ERROR: failed to build: {error}"));
                return Ok(failed(output, CODE_FAILED_BUILD));
            }
        };
        let sboms =
            match sbom::read_sbom_files(&bp_layers_dir, &build_output.layers, &self.buildpack) {
                Ok(sboms) => sboms,
                Err(error) => {
                    output.line(&format!("ERROR: failed to build: {error}"));
                    return Ok(failed(output, CODE_FAILED_BUILD));
                }
            };

        output.line("===> EXPORTING");
        match timed(
            || "export".into(),
            || {
                self.export(
                    request,
                    previous_image.as_ref(),
                    &build_output,
                    &sboms,
                    &restored,
                    output,
                )
            },
        ) {
            Ok(export) => {
                output.line(&format!(
                    "Successfully built image '{}'",
                    request.image_name
                ));
                Ok(BuildOutcome {
                    success: true,
                    exit_code: 0,
                    export: Some(export),
                })
            }
            Err(error) => {
                output.line(&format!("ERROR: failed to export: {error}"));
                Ok(failed(output, CODE_FAILED_EXPORT))
            }
        }
    }

    fn prepare_workspace(&self, request: &BuildRequest) -> Result<(), PlatformError> {
        // Stores from before layers were kept by digest hold nothing this version can use.
        if self.image_dir().join("layers").exists() || self.cache_dir().join("layers").exists() {
            remove_tree(&self.store_dir())?;
        }
        timed(
            || "  park spares".into(),
            || Spares::load(&self.work_dir).park(&self.buildpack_layers_dir()),
        )?;
        for dir in [
            "app",
            "layers",
            "home",
            "platform",
            "tmp",
            STAGED_BUILDPACKS,
            MATERIALISED_MARKER,
        ] {
            timed(
                || format!("  remove {dir}"),
                || remove_tree(&self.work_dir.join(dir)),
            )?;
        }
        let app_source = request
            .app_dir
            .canonicalize()
            .map_err(|error| PlatformError::io("reading the app dir", &request.app_dir, &error))?;
        if !app_source.is_dir() {
            return Err(PlatformError::new(format!(
                "The app dir {} is not a directory.",
                app_source.display()
            )));
        }
        timed(
            || "  copy app".into(),
            || copy_tree(&app_source, &self.app_dir()),
        )?;
        let env_dir = self.work_dir.join("platform").join("env");
        for dir in [
            env_dir.clone(),
            self.work_dir.join("home"),
            self.work_dir.join("tmp"),
        ] {
            fs::create_dir_all(&dir)
                .map_err(|error| PlatformError::io("creating", &dir, &error))?;
        }
        for (name, value) in &request.env {
            if name.is_empty() || name.contains(['/', '=', '\0']) {
                return Err(PlatformError::new(format!(
                    "Invalid platform env var name '{name}'."
                )));
            }
            let path = env_dir.join(name);
            fs::write(&path, value).map_err(|error| PlatformError::io("writing", &path, &error))?;
        }
        if self.read_only_home {
            set_mode(&self.home_dir(), 0o555)?;
        }
        timed(
            || "  hand over workspace".into(),
            || self.hand_over_workspace(),
        )
    }

    /// With a build user: what the phases write becomes theirs (the app dir, `HOME`, the plan
    /// dir), what they only read stays readable, and the stores become unreachable to them (in
    /// a real build the cache and the image are not in the build container at all). A buildpack
    /// dir the user can't read is staged into the work dir, as builders keep buildpacks in
    /// `/cnb/buildpacks/<id>/<version>`, readable by all.
    fn hand_over_workspace(&self) -> Result<(), PlatformError> {
        let Some(user) = self.build_user else {
            return Ok(());
        };
        // Searchable but not listable: the user reaches app/, layers/, home/, platform/, tmp/.
        set_mode(&self.work_dir, 0o711)?;
        let store = self.store_dir();
        fs::create_dir_all(&store)
            .map_err(|error| PlatformError::io("creating", &store, &error))?;
        set_mode(&store, 0o700)?;
        user.ensure_owner(&self.app_dir())?;
        user.ensure_owner(&self.work_dir.join("tmp"))?;
        if !self.read_only_home {
            user.ensure_owner(&self.home_dir())?;
        }
        if !user.can_read_tree(&self.buildpack.dir) {
            link_or_copy_tree(&self.buildpack.dir, &self.staged_buildpack_dir())?;
        }
        Ok(())
    }

    /// Where a buildpack the build user can't read is staged.
    fn staged_buildpack_dir(&self) -> PathBuf {
        self.work_dir
            .join(STAGED_BUILDPACKS)
            .join("buildpacks")
            .join(self.buildpack.escaped_id())
            .join(&self.buildpack.version)
    }

    /// The buildpack dir that detect and build run from (`CNB_BUILDPACK_DIR`).
    fn phase_buildpack_dir(&self) -> PathBuf {
        let staged = self.staged_buildpack_dir();
        if staged.is_dir() {
            staged
        } else {
            self.buildpack.dir.clone()
        }
    }

    /// A phase's command, run as the build user if there is one.
    fn phase_command(&self, phase: &str) -> Command {
        let mut command = Command::new(self.phase_buildpack_dir().join("bin").join(phase));
        if let Some(user) = self.build_user {
            user.apply(&mut command);
        }
        command
    }

    /// Why a phase could not start, with a hint when it was to run as the build user.
    fn spawn_error(&self, phase: &str, error: &std::io::Error) -> PlatformError {
        let hint = self.build_user.map_or_else(String::new, |user| {
            format!(
                " (it runs as the user {}:{}; set {}/{} to choose another)",
                user.uid,
                user.gid,
                crate::USER_ID_VAR,
                crate::GROUP_ID_VAR
            )
        });
        PlatformError::new(format!(
            "Could not run the buildpack's bin/{phase}: {error}{hint}"
        ))
    }

    /// The platform env vars, from `<platform>/env/`.
    fn platform_env(&self) -> Result<BTreeMap<String, String>, PlatformError> {
        let env_dir = self.work_dir.join("platform").join("env");
        let mut env = BTreeMap::new();
        let entries = fs::read_dir(&env_dir)
            .map_err(|error| PlatformError::io("reading", &env_dir, &error))?;
        for entry in entries {
            let entry = entry.map_err(|error| PlatformError::io("reading", &env_dir, &error))?;
            let value = fs::read_to_string(entry.path())
                .map_err(|error| PlatformError::io("reading", &entry.path(), &error))?;
            env.insert(entry.file_name().to_string_lossy().into_owned(), value);
        }
        Ok(env)
    }

    /// The env of `bin/detect` and `bin/build`: the build image's base env, the platform env
    /// applied unless the buildpack sets `clear-env`, then the `CNB_*` variables.
    ///
    /// `HOME` is the build user's home (lifecycle `priv.SetEnvironmentForUser`), which in a
    /// builder is a writable dir of the image, fresh in each build container: here a fresh
    /// `<work>/home` owned by that user.
    fn phase_env(&self) -> Result<BTreeMap<String, String>, PlatformError> {
        let mut env = BTreeMap::from([
            (String::from("PATH"), self.build_image_path.clone()),
            (
                String::from("HOME"),
                self.home_dir().to_string_lossy().into_owned(),
            ),
        ]);
        if !self.buildpack.clear_env {
            for (name, value) in self.platform_env()? {
                match env.get(&name) {
                    Some(existing) if PATH_LIKE_VARS.contains(&name.as_str()) => {
                        let joined = format!("{value}:{existing}");
                        env.insert(name, joined);
                    }
                    _ => {
                        env.insert(name, value);
                    }
                }
            }
        }
        env.insert(
            String::from("CNB_BUILDPACK_DIR"),
            self.phase_buildpack_dir().to_string_lossy().into_owned(),
        );
        env.insert(
            String::from("CNB_PLATFORM_DIR"),
            self.work_dir
                .join("platform")
                .to_string_lossy()
                .into_owned(),
        );
        // The lifecycle appends the target env after the platform env and the CNB_* dirs
        // (`buildpack/build.go`, `buildpack/detect.go`), so a platform env file can't override it.
        env.extend(self.target.env());
        Ok(env)
    }

    fn detect(&self, output: &Output) -> Result<DetectResult, PlatformError> {
        let plan_path = self.work_dir.join("tmp").join("build-plan.toml");
        fs::write(&plan_path, "")
            .map_err(|error| PlatformError::io("writing", &plan_path, &error))?;
        if let Some(user) = self.build_user {
            user.ensure_owner(&plan_path)?;
        }
        let platform_dir = self.work_dir.join("platform");
        let mut env = self.phase_env()?;
        env.insert(
            String::from("CNB_BUILD_PLAN_PATH"),
            plan_path.to_string_lossy().into_owned(),
        );

        let (reader, writer) = std::io::pipe()
            .map_err(|error| PlatformError::new(format!("Could not create a pipe: {error}")))?;
        let writer_err = writer
            .try_clone()
            .map_err(|error| PlatformError::new(format!("Could not create a pipe: {error}")))?;
        let mut command = self.phase_command("detect");
        command
            .arg(&platform_dir)
            .arg(&plan_path)
            .current_dir(self.app_dir())
            .env_clear()
            .envs(&env)
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(writer_err);
        let mut child = command
            .spawn()
            .map_err(|error| self.spawn_error("detect", &error))?;
        drop(command);
        let combined = Output::captured();
        let pump = combined.pump(reader);
        let status = child.wait().map_err(|error| {
            PlatformError::new(format!("Could not wait for bin/detect: {error}"))
        })?;
        let _ = pump.join();
        let detect_output = combined.stdout();
        let name = self.buildpack.display_name();

        let code = status.code().unwrap_or(1);
        let print_output_block = || {
            if !detect_output.is_empty() {
                output.line(&format!("======== Output: {name} ========"));
                output.write_stdout(detect_output.as_bytes());
                if !detect_output.ends_with('\n') {
                    output.line("");
                }
            }
        };
        match code {
            0 => {}
            100 => {
                print_output_block();
                output.line("======== Results ========");
                output.line(&format!("fail: {name}"));
                print_no_group_passed(output, "no buildpacks participating");
                return Ok(DetectResult::Fail {
                    code: CODE_FAILED_DETECT,
                });
            }
            other => {
                print_output_block();
                output.line("======== Results ========");
                output.line(&format!("err:  {name} ({other})"));
                print_no_group_passed(output, "buildpack(s) failed with err");
                return Ok(DetectResult::Fail {
                    code: CODE_FAILED_DETECT_WITH_ERRORS,
                });
            }
        }

        let plan_text = fs::read_to_string(&plan_path)
            .map_err(|error| PlatformError::io("reading", &plan_path, &error))?;
        let plan: toml::Table = match toml::from_str(&plan_text) {
            Ok(plan) => plan,
            Err(error) => {
                output.line(&format!(
                    "ERROR: failed to detect: failed to parse build plan {}: toml: {}",
                    plan_path.display(),
                    error.message()
                ));
                return Ok(DetectResult::Fail {
                    code: CODE_FAILED_DETECT_WITH_ERRORS,
                });
            }
        };
        match resolve_plan(&plan) {
            Ok(entries) => Ok(DetectResult::Pass(entries)),
            Err(reason) => {
                print_output_block();
                output.line("======== Results ========");
                output.line(&format!("pass: {name}"));
                output.line("Resolving plan... (try #1)");
                output.line(&format!("fail: {name} {reason}"));
                print_no_group_passed(output, "no buildpacks participating");
                Ok(DetectResult::Fail {
                    code: CODE_FAILED_DETECT,
                })
            }
        }
    }

    /// The restorer: cached layers come back with metadata and contents; launch-only layers
    /// of the previous image come back as metadata only; `store.toml` comes back from the
    /// previous image. Restored `<layer>.toml` files hold only `[metadata]`.
    ///
    /// A cached layer's data is a copy of the stored layer: a spare copy when one is intact.
    fn restore(
        &self,
        previous_image: Option<&ImageRecord>,
        bp_layers_dir: &Path,
        output: &Output,
    ) -> Result<BTreeMap<String, RestoredLayer>, PlatformError> {
        let bp_id = &self.buildpack.id;
        let cache = self.read_cache()?.unwrap_or_default();
        let mut names: Vec<&String> = cache.layers.keys().collect();
        if let Some(image) = previous_image {
            names.extend(image.layers.keys());
        }
        names.sort();
        names.dedup();
        let mut data_from_cache = Vec::new();
        for name in names {
            let layer_toml = bp_layers_dir.join(format!("{name}.toml"));
            let in_image = previous_image.and_then(|image| image.layers.get(name));
            if let Some(cached) = cache.layers.get(name) {
                let source = if in_image.is_some() {
                    "app image"
                } else {
                    "cache"
                };
                output.line(&format!(
                    "Restoring metadata for \"{bp_id}:{name}\" from {source}"
                ));
                layers::write_metadata_toml(&layer_toml, &cached.data)?;
                sbom::restore_layer_sboms(
                    &self.sbom_dir(&self.cache_dir(), "cache"),
                    name,
                    bp_layers_dir,
                )?;
                data_from_cache.push((name, &cached.sha));
            } else if let Some(launched) = in_image
                && launched.types.launch
                && !launched.types.cache
            {
                output.line(&format!(
                    "Restoring metadata for \"{bp_id}:{name}\" from app image"
                ));
                layers::write_metadata_toml(&layer_toml, &launched.data)?;
                sbom::restore_layer_sboms(
                    &self.sbom_dir(&self.image_dir(), "launch"),
                    name,
                    bp_layers_dir,
                )?;
            }
        }
        let spares = Spares::load(&self.work_dir);
        let mut restored = BTreeMap::new();
        for (name, sha) in data_from_cache {
            output.line(&format!("Restoring data for \"{bp_id}:{name}\" from cache"));
            let dir = bp_layers_dir.join(name);
            let taken = timed(
                || format!("  take spare {name}"),
                || spares.take(name, sha, &dir),
            )?;
            let mut stamp = if let Some(stamp) = taken {
                stamp
            } else {
                timed(
                    || format!("  copy stored {name}"),
                    || self.copy_stored_layer(sha, &dir),
                )?;
                stamp_tree(&dir)?
            };
            // The restorer runs as the build user (lifecycle `restorer.go`: `EnsureOwner` of
            // the layers dir, then `RunAs`): restored files are theirs. The stamp tells whether
            // the entries all are already (a copy kept from the last build, or of a layer the
            // build user wrote), so only the layer dir itself needs a look; if not, they are
            // chowned and stamped again (a chown changes ctimes).
            if let Some(user) = self.build_user {
                timed(
                    || format!("  ensure owner {name}"),
                    || {
                        if stamp.all_owned_by(user.uid, user.gid) {
                            user.ensure_owner_of_entry(&dir)?;
                        } else if user.ensure_owner(&dir)? {
                            stamp = stamp_tree(&dir)?;
                        }
                        Ok::<_, PlatformError>(())
                    },
                )?;
            }
            restored.insert(
                name.clone(),
                RestoredLayer {
                    sha: sha.clone(),
                    stamp: stamp.hash,
                },
            );
        }
        restore_store_toml(previous_image, bp_layers_dir)?;
        timed(
            || "  hand over layers dir".into(),
            || self.hand_over_layers_dir(&restored),
        )?;
        Ok(restored)
    }

    /// With a build user: the layers dir and everything the restorer wrote into it (besides
    /// the restored layer dirs, handed over as they were restored) become the user's, as the
    /// lifecycle's `EnsureOwner` of `<layers>` does.
    fn hand_over_layers_dir(
        &self,
        restored: &BTreeMap<String, RestoredLayer>,
    ) -> Result<(), PlatformError> {
        let Some(user) = self.build_user else {
            return Ok(());
        };
        let bp_layers_dir = self.buildpack_layers_dir();
        for dir in [self.layers_root(), bp_layers_dir.clone()] {
            std::os::unix::fs::lchown(&dir, Some(user.uid), Some(user.gid))
                .map_err(|error| PlatformError::io("changing the owner of", &dir, &error))?;
        }
        let entries = fs::read_dir(&bp_layers_dir)
            .map_err(|error| PlatformError::io("reading", &bp_layers_dir, &error))?;
        for entry in entries {
            let entry =
                entry.map_err(|error| PlatformError::io("reading", &bp_layers_dir, &error))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !restored.contains_key(&name) {
                user.ensure_owner(&entry.path())?;
            }
        }
        Ok(())
    }

    fn run_build(
        &self,
        bp_layers_dir: &Path,
        plan_path: &Path,
        output: &Output,
    ) -> Result<std::process::ExitStatus, PlatformError> {
        let mut env = self.phase_env()?;
        env.insert(
            String::from("CNB_LAYERS_DIR"),
            bp_layers_dir.to_string_lossy().into_owned(),
        );
        env.insert(
            String::from("CNB_BP_PLAN_PATH"),
            plan_path.to_string_lossy().into_owned(),
        );
        // The lifecycle gives `bin/build` one writer for both stdout and stderr, its own
        // stdout (buildpacks/lifecycle buildpack/build.go, `runBuildCmd`: `cmd.Stdout` and
        // `cmd.Stderr` are both `inputs.Out`), which `pack` prints on its stdout: so does this
        // platform, through one pipe, which also keeps the order of the two streams.
        let (reader, writer) = std::io::pipe()
            .map_err(|error| PlatformError::new(format!("Could not create a pipe: {error}")))?;
        let writer_err = writer
            .try_clone()
            .map_err(|error| PlatformError::new(format!("Could not create a pipe: {error}")))?;
        let mut command = self.phase_command("build");
        command
            .arg(bp_layers_dir)
            .arg(self.work_dir.join("platform"))
            .arg(plan_path)
            .current_dir(self.app_dir())
            .env_clear()
            .envs(&env)
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(writer_err);
        let mut child = command
            .spawn()
            .map_err(|error| self.spawn_error("build", &error))?;
        // The parent's copies of the pipe's write end must go, or the pump never sees EOF.
        drop(command);
        let pump = output.pump(reader);
        let status = child.wait().map_err(|error| {
            PlatformError::new(format!("Could not wait for bin/build: {error}"))
        })?;
        let _ = pump.join();
        Ok(status)
    }

    /// The exporter (image) and cacher (cache): layers go into the layer store by digest, and
    /// the new records are written next to the current ones, then swapped in only once
    /// complete. Stored layers neither record uses any more are removed last.
    fn export(
        &self,
        request: &BuildRequest,
        previous_image: Option<&ImageRecord>,
        build_output: &BuildOutputFiles,
        sboms: &[SbomFile],
        restored: &BTreeMap<String, RestoredLayer>,
        output: &Output,
    ) -> Result<ExportSnapshot, PlatformError> {
        let new_image_dir = self.store_dir().join("image.new");
        let new_cache_dir = self.store_dir().join("cache.new");
        for dir in [&new_image_dir, &new_cache_dir] {
            remove_tree(dir)?;
        }
        for dir in [&new_image_dir, &new_cache_dir, &self.stored_layers_dir()] {
            fs::create_dir_all(dir).map_err(|error| PlatformError::io("creating", dir, &error))?;
        }
        let mut spares = Spares::load(&self.work_dir);

        let (image_layers, snapshots) =
            self.export_launch_layers(previous_image, build_output, restored, &mut spares, output)?;
        self.export_launch_sboms(sboms, &image_layers, &new_image_dir, output)?;
        timed(
            || "  app layer".into(),
            || {
                normalise_mtimes(&self.app_dir())?;
                move_tree(&self.app_dir(), &new_image_dir.join("app"))
            },
        )?;
        output.line("Adding 1/1 app layer(s)");
        if let Some(process) = build_output
            .processes
            .iter()
            .find(|process| process.default)
        {
            output.line(&format!(
                "Setting default process type '{}'",
                process.r#type
            ));
        }
        output.line(&format!("Saving {}...", request.image_name));
        let image_id = unique_id();
        let short_id: String = sha256_hex(image_id.as_bytes()).chars().take(12).collect();
        output.line(&format!(
            "*** Images ({short_id}):\n      {}",
            request.image_name
        ));
        let cache_layers =
            self.export_cache_layers(build_output, &image_layers, restored, &mut spares, output)?;
        self.export_cache_sboms(sboms, &cache_layers, &new_cache_dir, output)?;

        let export = ExportSnapshot {
            image: request.image_name.clone(),
            launch_bytes: snapshots.iter().map(|layer| layer.bytes).sum(),
            layers: snapshots,
            processes: build_output.processes.clone(),
            cached_layers: cache_layers.keys().cloned().collect(),
        };
        write_json(
            &new_image_dir.join("image.json"),
            &ImageRecord {
                id: image_id,
                buildpack: self.buildpack.display_name(),
                layers: image_layers.clone(),
                store: build_output.store.clone(),
                export: export.clone(),
            },
        )?;
        write_json(
            &new_cache_dir.join("cache.json"),
            &CacheRecord {
                layers: cache_layers.clone(),
            },
        )?;
        timed(
            || "  swap in".into(),
            || {
                swap_in(&new_image_dir, &self.image_dir())?;
                swap_in(&new_cache_dir, &self.cache_dir())
            },
        )?;

        let in_use: BTreeMap<&String, &String> = image_layers
            .iter()
            .chain(&cache_layers)
            .map(|(name, layer)| (name, &layer.sha))
            .collect();
        timed(
            || "  remove unused".into(),
            || self.remove_unused_stored_layers(&in_use.values().copied().collect()),
        )?;
        spares.retain(&in_use)?;
        spares.save()?;
        Ok(export)
    }

    /// `<store>/sbom/<kind>/<bp>`: where the image (`launch`) or the cache (`cache`)
    /// keeps this buildpack's SBOMs, as the lifecycle lays them out under `<layers>/sbom/`.
    fn sbom_dir(&self, store: &Path, kind: &str) -> PathBuf {
        store
            .join("sbom")
            .join(kind)
            .join(self.buildpack.escaped_id())
    }

    /// The image's SBOM layer: `launch.sbom.<ext>` and the SBOMs of the exported launch
    /// layers, at `sbom/launch/<bp>/[<layer>/]sbom.<ext>`.
    fn export_launch_sboms(
        &self,
        sboms: &[SbomFile],
        image_layers: &BTreeMap<String, StoredLayer>,
        new_image_dir: &Path,
        output: &Output,
    ) -> Result<(), PlatformError> {
        let files = sboms.iter().filter(|file| {
            file.for_launch()
                && file
                    .layer()
                    .is_none_or(|name| image_layers.contains_key(name))
        });
        let stored = sbom::store_sbom_files(files, &self.sbom_dir(new_image_dir, "launch"))?;
        if stored > 0 {
            let verb =
                sbom_layer_verb(&self.image_dir().join("sbom"), &new_image_dir.join("sbom"))?;
            output.line(&format!(
                "{verb} layer 'buildpacksio/lifecycle:launch.sbom'"
            ));
        }
        Ok(())
    }

    /// The cache's SBOM layer: the SBOMs of the cached layers, at
    /// `sbom/cache/<bp>/<layer>/sbom.<ext>`.
    fn export_cache_sboms(
        &self,
        sboms: &[SbomFile],
        cache_layers: &BTreeMap<String, StoredLayer>,
        new_cache_dir: &Path,
        output: &Output,
    ) -> Result<(), PlatformError> {
        let files = sboms.iter().filter(|file| {
            file.layer()
                .is_some_and(|name| cache_layers.contains_key(name))
        });
        let stored = sbom::store_sbom_files(files, &self.sbom_dir(new_cache_dir, "cache"))?;
        if stored > 0 {
            let verb =
                sbom_layer_verb(&self.cache_dir().join("sbom"), &new_cache_dir.join("sbom"))?;
            output.line(&format!(
                "{verb} cache layer 'buildpacksio/lifecycle:cache.sbom'"
            ));
        }
        Ok(())
    }

    /// Copies the launch SBOMs of the last exported image to `output_dir`, laid out as
    /// `pack sbom download` does: `layers/sbom/launch/<bp>/[<layer>/]sbom.<ext>`.
    pub fn download_sbom_files(&self, output_dir: &Path) -> Result<(), PlatformError> {
        self.require_image()?;
        let launch = self.image_dir().join("sbom").join("launch");
        let target = output_dir.join("layers").join("sbom").join("launch");
        if launch.is_dir() {
            fs::create_dir_all(output_dir.join("layers").join("sbom"))
                .map_err(|error| PlatformError::io("creating", output_dir, &error))?;
            copy_tree(&launch, &target)?;
        }
        Ok(())
    }

    /// Puts the layer dir `name`, as the build left it, into the layer store, and returns its
    /// digest and bytes. A restored layer the build left as it was is the stored layer it came
    /// from (no need to read its files again). A layer the store already holds stays in the
    /// work dir as a spare copy of it. A new launch layer is moved into the store (launching
    /// makes the copy that the next restore takes); a new layer that is only cached is packed
    /// into one file there and its dir kept as the spare, as only the next restore would
    /// copy it back.
    fn store_built_layer(
        &self,
        name: &str,
        launch: bool,
        restored: &BTreeMap<String, RestoredLayer>,
        spares: &mut Spares,
    ) -> Result<(String, u64), PlatformError> {
        let dir = self.buildpack_layers_dir().join(name);
        // The exporter and the cacher write layers with normalised mtimes (a no-op for a
        // restored layer, which already has them); the stamp is taken in the same walk.
        let stamp = timed(
            || format!("  normalise and stamp {name}"),
            || normalise_and_stamp(&dir),
        )?;
        let digest = match restored.get(name) {
            Some(restored) if restored.stamp == stamp.hash => restored.sha.clone(),
            _ => timed(|| format!("  digest {name}"), || digest_tree(&dir))?.0,
        };
        let stored = self.stored_layer_dir(&digest);
        let pack = self.stored_layer_pack(&digest);
        timed(
            || format!("  keep or store {name}"),
            || {
                if stored.is_dir() || (!launch && pack.is_file()) {
                    spares.keep(name, &digest, stamp.hash.clone(), &dir)
                } else if launch {
                    move_tree(&dir, &stored)
                } else {
                    let partial = pack.with_extension("partial");
                    pack_tree(&dir, &partial)?;
                    fs::rename(&partial, &pack)
                        .map_err(|error| PlatformError::io("writing", &pack, &error))?;
                    spares.keep(name, &digest, stamp.hash.clone(), &dir)
                }
            },
        )?;
        Ok((digest, stamp.bytes))
    }

    /// The stored layer with digest `sha`, for a layer the build kept from before without its
    /// dir (a `<layer>.toml` only).
    fn reused_stored_layer(&self, sha: &str) -> Result<PathBuf, PlatformError> {
        let stored = self.stored_layer_dir(sha);
        if !stored.is_dir() {
            return Err(PlatformError::new(format!(
                "The layer store has no layer {sha} ({} is missing).",
                stored.display()
            )));
        }
        Ok(stored)
    }

    fn remove_unused_stored_layers(&self, in_use: &BTreeSet<&String>) -> Result<(), PlatformError> {
        let dir = self.stored_layers_dir();
        let entries =
            fs::read_dir(&dir).map_err(|error| PlatformError::io("reading", &dir, &error))?;
        for entry in entries {
            let entry = entry.map_err(|error| PlatformError::io("reading", &dir, &error))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let hex = name.strip_suffix(STORED_PACK_SUFFIX).unwrap_or(&name);
            let sha = format!("sha256:{hex}");
            if !in_use.contains(&sha) {
                remove_tree(&entry.path())?;
            }
        }
        Ok(())
    }

    /// Launch layers into the new image: the layer dir, or (a `<layer>.toml` without dir)
    /// the previous image's layer.
    fn export_launch_layers(
        &self,
        previous_image: Option<&ImageRecord>,
        build_output: &BuildOutputFiles,
        restored: &BTreeMap<String, RestoredLayer>,
        spares: &mut Spares,
        output: &Output,
    ) -> Result<(BTreeMap<String, StoredLayer>, Vec<LayerSnapshot>), PlatformError> {
        let bp_id = &self.buildpack.id;
        let mut image_layers = BTreeMap::new();
        let mut snapshots = Vec::new();
        for layer in build_output
            .layers
            .iter()
            .filter(|layer| layer.types.launch)
        {
            let name = &layer.name;
            let previous = previous_image.and_then(|image| image.layers.get(name));
            let (digest, bytes) = if layer.has_dir {
                self.store_built_layer(name, true, restored, spares)?
            } else if let Some(previous) = previous {
                let stored = self.reused_stored_layer(&previous.sha)?;
                (previous.sha.clone(), stamp_tree(&stored)?.bytes)
            } else {
                return Err(PlatformError::new(format!(
                    "failed to export layers: cannot reuse '{bp_id}:{name}', previous image has no metadata for layer '{bp_id}:{name}'"
                )));
            };
            let unchanged = previous.is_some_and(|previous| previous.sha == digest);
            let verb = if unchanged { "Reusing" } else { "Adding" };
            output.line(&format!("{verb} layer '{bp_id}:{name}'"));
            image_layers.insert(
                name.clone(),
                StoredLayer {
                    sha: digest.clone(),
                    data: layer.metadata.clone(),
                    types: layer.types,
                },
            );
            snapshots.push(LayerSnapshot {
                name: name.clone(),
                types: layer.types,
                metadata: layer.metadata.clone(),
                digest,
                bytes,
                unchanged,
            });
        }
        Ok((image_layers, snapshots))
    }

    /// Cache layers into the new cache: a launch layer as exported to the image, else the
    /// layer dir, else (a `<layer>.toml` without dir) the previous cache's layer.
    fn export_cache_layers(
        &self,
        build_output: &BuildOutputFiles,
        image_layers: &BTreeMap<String, StoredLayer>,
        restored: &BTreeMap<String, RestoredLayer>,
        spares: &mut Spares,
        output: &Output,
    ) -> Result<BTreeMap<String, StoredLayer>, PlatformError> {
        let bp_id = &self.buildpack.id;
        let previous_cache = self.read_cache()?.unwrap_or_default();
        let mut cache_layers = BTreeMap::new();
        for layer in build_output.layers.iter().filter(|layer| layer.types.cache) {
            let name = &layer.name;
            let previous = previous_cache.layers.get(name);
            let digest = if let Some(exported) = image_layers.get(name) {
                exported.sha.clone()
            } else if layer.has_dir {
                self.store_built_layer(name, false, restored, spares)?.0
            } else if let Some(previous) = previous {
                if !self.stored_layer_pack(&previous.sha).is_file() {
                    self.reused_stored_layer(&previous.sha)?;
                }
                previous.sha.clone()
            } else {
                continue;
            };
            let unchanged = previous.is_some_and(|previous| previous.sha == digest);
            let verb = if unchanged { "Reusing" } else { "Adding" };
            output.line(&format!("{verb} cache layer '{bp_id}:{name}'"));
            cache_layers.insert(
                name.clone(),
                StoredLayer {
                    sha: digest,
                    data: layer.metadata.clone(),
                    types: layer.types,
                },
            );
        }
        Ok(cache_layers)
    }

    /// Materialises what the image holds at the build's paths: `<work>/app` from the
    /// exported app, `<work>/layers/<bp>/` with only the exported launch layers (no
    /// `<layer>.toml`, no cache or build-only layers), copied from the store or moved from
    /// their spare copies.
    ///
    /// Skipped when the dirs still hold exactly what the last materialisation put there
    /// (same image, and no path, size, mode or mtime changed since).
    pub fn materialise(&self) -> Result<LaunchImage, PlatformError> {
        let image = self.require_image()?;
        let marker = self.work_dir.join(MATERIALISED_MARKER);
        let roots = [self.app_dir(), self.layers_root()];
        if let Ok(recorded) = fs::read_to_string(&marker)
            && recorded == format!("{} {}", image.id, fingerprint(&roots)?)
        {
            return self.launch_image();
        }
        let bp_layers_dir = self.buildpack_layers_dir();
        let mut spares = Spares::load(&self.work_dir);
        spares.park(&bp_layers_dir)?;
        remove_tree(&marker)?;
        remove_tree(&self.app_dir())?;
        remove_tree(&self.layers_root())?;
        copy_tree(&self.image_dir().join("app"), &self.app_dir())?;
        fs::create_dir_all(&bp_layers_dir)
            .map_err(|error| PlatformError::io("creating", &bp_layers_dir, &error))?;
        // The image's SBOM layer: `<layers>/sbom/launch/...`.
        let image_sboms = self.image_dir().join("sbom");
        if image_sboms.is_dir() {
            copy_tree(&image_sboms, &self.layers_root().join("sbom"))?;
        }
        for (name, layer) in &image.layers {
            let dir = bp_layers_dir.join(name);
            if spares.take(name, &layer.sha, &dir)?.is_none() {
                copy_tree(&self.stored_layer_dir(&layer.sha), &dir)?;
                spares.record(name, &layer.sha, stamp_tree(&dir)?.hash)?;
            }
        }
        spares.save()?;
        let recorded = format!("{} {}", image.id, fingerprint(&roots)?);
        fs::write(&marker, recorded)
            .map_err(|error| PlatformError::io("writing", &marker, &error))?;
        self.launch_image()
    }

    /// The image as last materialised, without copying anything.
    pub fn launch_image(&self) -> Result<LaunchImage, PlatformError> {
        let image = self.require_image()?;
        let bp_layers_dir = self.buildpack_layers_dir();
        Ok(LaunchImage {
            app_dir: self.app_dir(),
            layers_dir: self.layers_root(),
            layer_dirs: image
                .layers
                .keys()
                .map(|name| bp_layers_dir.join(name))
                .collect(),
            export: image.export,
        })
    }

    fn require_image(&self) -> Result<ImageRecord, PlatformError> {
        self.read_image()?.ok_or_else(|| {
            PlatformError::new(format!(
                "No image in {}: run a successful build first.",
                self.work_dir.display()
            ))
        })
    }
}

/// The file name suffix of a stored layer kept as one file (`pack.rs`).
const STORED_PACK_SUFFIX: &str = ".pack";

/// `<work>/<marker>`: `<image id> <fingerprint>` of the last materialisation.
const MATERIALISED_MARKER: &str = "materialised";

/// `store.toml` comes back from the previous image, as the lifecycle's `MetadataRestorer`
/// writes it (`restoreStoreTOML`), whether or not layers are restored.
fn restore_store_toml(
    previous_image: Option<&ImageRecord>,
    bp_layers_dir: &Path,
) -> Result<(), PlatformError> {
    if let Some(store) = previous_image.and_then(|image| image.store.as_ref()) {
        layers::write_metadata_toml(&bp_layers_dir.join("store.toml"), store)?;
    }
    Ok(())
}

/// `<work>/cnb/buildpacks/<id>/<version>`: a buildpack staged for a build user who can't read
/// it where it is.
const STAGED_BUILDPACKS: &str = "cnb";

fn set_mode(path: &Path, mode: u32) -> Result<(), PlatformError> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|error| PlatformError::io("changing the mode of", path, &error))
}

/// Copies the tree at `from` to `to`, following symlinks, hard-linking files where it can
/// (same file system) instead of copying them.
fn link_or_copy_tree(from: &Path, to: &Path) -> Result<(), PlatformError> {
    let metadata =
        fs::metadata(from).map_err(|error| PlatformError::io("reading", from, &error))?;
    if metadata.is_dir() {
        fs::create_dir_all(to).map_err(|error| PlatformError::io("creating", to, &error))?;
        set_mode(to, 0o755)?;
        let entries =
            fs::read_dir(from).map_err(|error| PlatformError::io("reading", from, &error))?;
        for entry in entries {
            let entry = entry.map_err(|error| PlatformError::io("reading", from, &error))?;
            link_or_copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        return Ok(());
    }
    let real = from
        .canonicalize()
        .map_err(|error| PlatformError::io("resolving", from, &error))?;
    // Readable (and, for executables, runnable) by all, as in `/cnb/buildpacks`. A hard link
    // shares the file's mode, so only a file that already grants that is linked.
    let mode = metadata.permissions().mode() & 0o7777;
    let wanted = if mode & 0o100 == 0 {
        mode | 0o444
    } else {
        mode | 0o555
    };
    if mode == wanted && fs::hard_link(&real, to).is_ok() {
        return Ok(());
    }
    fs::copy(&real, to).map_err(|error| PlatformError::io("copying", from, &error))?;
    set_mode(to, wanted)
}

fn unique_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    format!("{}-{nanos}", std::process::id())
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// "Reusing" when the SBOM layer at `new` has the digest of the previous one at `previous`,
/// else "Adding".
fn sbom_layer_verb(previous: &Path, new: &Path) -> Result<&'static str, PlatformError> {
    let unchanged = previous.is_dir() && digest_tree(previous)?.0 == digest_tree(new)?.0;
    Ok(if unchanged { "Reusing" } else { "Adding" })
}

fn failed(output: &Output, code: i32) -> BuildOutcome {
    output.error_line(&format!(
        "ERROR: failed to build: executing lifecycle: failed with status code: {code}"
    ));
    BuildOutcome {
        success: false,
        exit_code: code,
        export: None,
    }
}

fn print_no_group_passed(output: &Output, reason: &str) {
    output.line("ERROR: No buildpack groups passed detection.");
    output.line("ERROR: Please check that you are running against the correct path.");
    output.line(&format!("ERROR: failed to detect: {reason}"));
}

/// Resolves the build plan of a single buildpack: the first of the top-level plan and its
/// `[[or]]` alternatives whose requires are all provided and whose provides are all
/// required. Returns the buildpack plan entries (the requires).
fn resolve_plan(plan: &toml::Table) -> Result<Vec<toml::Value>, String> {
    let mut alternatives = vec![plan.clone()];
    if let Some(toml::Value::Array(ors)) = plan.get("or") {
        alternatives.extend(ors.iter().filter_map(toml::Value::as_table).cloned());
    }
    let names = |table: &toml::Table, key: &str| -> Vec<String> {
        table
            .get(key)
            .and_then(toml::Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| {
                        item.get("name")
                            .and_then(toml::Value::as_str)
                            .map(String::from)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut first_reason = None;
    for alternative in &alternatives {
        let provides = names(alternative, "provides");
        let requires = names(alternative, "requires");
        let reason = if let Some(missing) = requires.iter().find(|name| !provides.contains(name)) {
            Some(format!("requires {missing}"))
        } else {
            provides
                .iter()
                .find(|name| !requires.contains(name))
                .map(|unused| format!("provides unused {unused}"))
        };
        match reason {
            None => {
                return Ok(alternative
                    .get("requires")
                    .and_then(toml::Value::as_array)
                    .cloned()
                    .unwrap_or_default());
            }
            Some(reason) => {
                first_reason.get_or_insert(reason);
            }
        }
    }
    Err(first_reason.unwrap_or_default())
}

fn write_buildpack_plan(path: &Path, entries: &[toml::Value]) -> Result<(), PlatformError> {
    let mut plan = toml::Table::new();
    plan.insert(
        String::from("entries"),
        toml::Value::Array(entries.to_vec()),
    );
    let text = toml::to_string(&plan).map_err(|error| {
        PlatformError::new(format!("Could not encode the buildpack plan: {error}"))
    })?;
    fs::write(path, text).map_err(|error| PlatformError::io("writing", path, &error))
}

fn swap_in(new: &Path, current: &Path) -> Result<(), PlatformError> {
    let old = current.with_extension("old");
    remove_tree(&old)?;
    if current.exists() {
        fs::rename(current, &old)
            .map_err(|error| PlatformError::io("replacing", current, &error))?;
    }
    fs::rename(new, current).map_err(|error| PlatformError::io("replacing", current, &error))?;
    remove_tree(&old)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, PlatformError> {
    match fs::read_to_string(path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(PlatformError::io("reading", path, &error)),
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|error| {
            PlatformError::new(format!(
                "Corrupt platform state in {}: {error}",
                path.display()
            ))
        }),
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), PlatformError> {
    let text = serde_json::to_string_pretty(value).map_err(|error| {
        PlatformError::new(format!("Could not encode {}: {error}", path.display()))
    })?;
    fs::write(path, text).map_err(|error| PlatformError::io("writing", path, &error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_resolution_for_one_buildpack() {
        let plan: toml::Table = toml::from_str(
            "[[provides]]\nname = \"python\"\n[[requires]]\nname = \"python\"\n[requires.metadata]\nv = \"3\"\n",
        )
        .unwrap();
        let entries = resolve_plan(&plan).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["metadata"]["v"].as_str(), Some("3"));

        let unused: toml::Table = toml::from_str("[[provides]]\nname = \"python\"\n").unwrap();
        assert_eq!(resolve_plan(&unused).unwrap_err(), "provides unused python");

        let alternative: toml::Table = toml::from_str(
            "[[requires]]\nname = \"node\"\n[[or]]\n[[or.provides]]\nname = \"python\"\n[[or.requires]]\nname = \"python\"\n",
        )
        .unwrap();
        assert_eq!(resolve_plan(&alternative).unwrap().len(), 1);
        assert!(resolve_plan(&toml::Table::new()).unwrap().is_empty());
    }
}

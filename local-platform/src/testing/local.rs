//! The local backend of the test API.

use crate::build_user::BuildUser;
use crate::buildpack::{Buildpack, package_crate_once};
use crate::files::copy_tree;
use crate::launch::{LAUNCH_ERROR_CODE, LaunchCommand, RunningProcess, launch_command};
use crate::output::Output;
use crate::platform::{BuildRequest, ExportSnapshot, LaunchImage, Platform};
use libcnb_data::buildpack::BuildpackId;
use libcnb_data::layer::LayerName;
use libcnb_data::sbom::SbomFormat;
use std::borrow::Borrow;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Display;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;
use tempfile::TempDir;

/// A build's configuration (as `libcnb_test::BuildConfig`).
#[derive(Clone)]
pub struct BuildConfig {
    app_dir: PathBuf,
    builder_name: String,
    buildpacks: Vec<BuildpackReference>,
    env: HashMap<String, String>,
    app_dir_preprocessor: Option<Rc<dyn Fn(PathBuf)>>,
    expected_pack_result: PackResult,
    build_user: BuildUserChoice,
    read_only_home: bool,
    build_image_path: Option<String>,
}

/// Who a build's phases run as.
#[derive(Clone, Copy)]
enum BuildUserChoice {
    /// [`BuildUser::from_env`].
    FromEnv,
    /// This user, or (`None`) the calling user.
    Given(Option<BuildUser>),
}

impl BuildConfig {
    /// `app_dir` is relative to the `CARGO_MANIFEST_DIR` of the running test (or absolute).
    /// The builder name is only shown in output: the local platform has no builder image.
    pub fn new(builder_name: impl Into<String>, app_dir: impl AsRef<Path>) -> Self {
        Self {
            app_dir: app_dir.as_ref().to_path_buf(),
            builder_name: builder_name.into(),
            buildpacks: vec![BuildpackReference::CurrentCrate],
            env: HashMap::new(),
            app_dir_preprocessor: None,
            expected_pack_result: PackResult::Success,
            build_user: BuildUserChoice::FromEnv,
            read_only_home: false,
            build_image_path: None,
        }
    }

    /// Local only: who detect and build run as: `Some(user)`, or `None` for the calling user.
    /// Without this, [`BuildUser::from_env`] decides (1000:1000 when the tests run as root).
    pub fn build_user(&mut self, user: Option<BuildUser>) -> &mut Self {
        self.build_user = BuildUserChoice::Given(user);
        self
    }

    /// Local only: `HOME` of detect and build is an empty dir that nobody but root can write,
    /// to prove that the buildpack writes nothing there (check `<work_dir>/home` afterwards).
    pub fn read_only_home(&mut self) -> &mut Self {
        self.read_only_home = true;
        self
    }

    /// The buildpacks to run. The local platform runs exactly one.
    pub fn buildpacks(&mut self, buildpacks: impl Into<Vec<BuildpackReference>>) -> &mut Self {
        self.buildpacks = buildpacks.into();
        self
    }

    /// A platform env var (`pack build --env`).
    pub fn env(&mut self, k: impl Into<String>, v: impl Into<String>) -> &mut Self {
        self.env.insert(k.into(), v.into());
        self
    }

    /// Several platform env vars.
    pub fn envs<K: Into<String>, V: Into<String>, I: IntoIterator<Item = (K, V)>>(
        &mut self,
        envs: I,
    ) -> &mut Self {
        for (key, value) in envs {
            self.env(key, value);
        }
        self
    }

    /// A function run on the (copied) app dir before the build.
    pub fn app_dir_preprocessor<F: 'static + Fn(PathBuf)>(&mut self, f: F) -> &mut Self {
        self.app_dir_preprocessor = Some(Rc::new(f));
        self
    }

    /// Replaces the app dir.
    pub fn app_dir<P: Into<PathBuf>>(&mut self, path: P) -> &mut Self {
        self.app_dir = path.into();
        self
    }

    /// Local only: the build image's `PATH` instead of the default, to stand for a build image
    /// that lacks a tool (with `pack`, choose another builder image).
    pub fn build_image_path(&mut self, path: impl Into<String>) -> &mut Self {
        self.build_image_path = Some(path.into());
        self
    }

    /// Whether the build is expected to succeed or fail.
    pub fn expected_pack_result(&mut self, pack_result: PackResult) -> &mut Self {
        self.expected_pack_result = pack_result;
        self
    }
}

/// Which buildpack to run (as `libcnb_test::BuildpackReference`).
#[derive(Debug, Clone, Eq, PartialEq)]
pub enum BuildpackReference {
    /// The buildpack crate of the running test (`CARGO_MANIFEST_DIR`), built with cargo.
    CurrentCrate,
    /// A buildpack directory (relative to `CARGO_MANIFEST_DIR`, or absolute). `pack` accepts
    /// the same path.
    Other(String),
}

/// The expected outcome of the build.
#[derive(Debug, Clone, Eq, PartialEq)]
pub enum PackResult {
    Success,
    Failure,
}

/// A command's output (as `libcnb_test::LogOutput`).
#[derive(Debug, Default)]
pub struct LogOutput {
    pub stdout: String,
    pub stderr: String,
}

impl Display for LogOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let LogOutput { stdout, stderr } = self;
        write!(f, "## stderr:\n\n{stderr}\n## stdout:\n\n{stdout}\n")
    }
}

/// Runs builds (as `libcnb_test::TestRunner`). Every build gets its own temporary work dir,
/// so tests can run in parallel.
#[derive(Default)]
pub struct TestRunner {}

impl TestRunner {
    /// Builds the app, then runs `f` with the result. Panics (with the build output) if the
    /// result is not the expected one.
    pub fn build<C: Borrow<BuildConfig>, F: FnOnce(TestContext)>(&self, config: C, f: F) {
        let work = tempfile::Builder::new()
            .prefix("local-platform-")
            .tempdir()
            .unwrap_or_else(|error| panic!("Error creating a temporary work dir: {error}"));
        self.build_internal(work, config.borrow(), false, f);
    }

    fn build_internal<F: FnOnce(TestContext)>(
        &self,
        work: TempDir,
        config: &BuildConfig,
        clear_cache: bool,
        f: F,
    ) {
        let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").map_or_else(
            |error| panic!("Error determining Cargo manifest directory: {error}"),
            PathBuf::from,
        );
        let source_app_dir = if config.app_dir.is_relative() {
            manifest_dir.join(&config.app_dir)
        } else {
            config.app_dir.clone()
        };
        assert!(
            source_app_dir.is_dir(),
            "App dir is not a valid directory: {}",
            source_app_dir.display()
        );
        let app_copy = tempfile::tempdir()
            .unwrap_or_else(|error| panic!("Error creating a temporary app dir: {error}"));
        let app_dir = app_copy.path().join("app");
        copy_tree(&source_app_dir, &app_dir).unwrap_or_else(|error| {
            panic!("Error copying app fixture to temporary location: {error}")
        });
        if let Some(preprocessor) = &config.app_dir_preprocessor {
            preprocessor(app_dir.clone());
        }

        let buildpack = match config.buildpacks.as_slice() {
            [BuildpackReference::CurrentCrate] => {
                package_crate_once(&manifest_dir).unwrap_or_else(|error| {
                    panic!("Error packaging current crate as buildpack: {error}")
                })
            }
            [BuildpackReference::Other(path)] => Buildpack::from_dir(manifest_dir.join(path))
                .unwrap_or_else(|error| panic!("Error reading buildpack '{path}': {error}")),
            other => panic!(
                "The local platform runs exactly one buildpack, got {}: {other:?}",
                other.len()
            ),
        };
        let mut platform = Platform::new(work.path(), buildpack)
            .unwrap_or_else(|error| panic!("Error preparing the local platform: {error}"))
            .with_read_only_home(config.read_only_home);
        if let BuildUserChoice::Given(user) = config.build_user {
            platform = platform.with_build_user(user);
        }
        if let Some(path) = &config.build_image_path {
            platform = platform.with_build_image_path(path);
        }
        let image_name = format!(
            "libcnbtest_{}",
            work.path()
                .file_name()
                .map(|name| name
                    .to_string_lossy()
                    .replace("local-platform-", "")
                    .to_lowercase())
                .unwrap_or_default()
        );
        let request = BuildRequest {
            app_dir,
            env: config
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            clear_cache,
            image_name,
        };
        let output = Output::captured();
        let outcome = platform.build(&request, &output).unwrap_or_else(|error| {
            panic!(
                "Error performing pack build:\n\n{error}\n\n{}",
                log_output(&output)
            )
        });
        let log_output = log_output(&output);
        match (&config.expected_pack_result, outcome.success) {
            (PackResult::Success, true) | (PackResult::Failure, false) => {}
            (PackResult::Failure, true) => {
                panic!("The pack build was expected to fail, but did not:\n\n{log_output}");
            }
            (PackResult::Success, false) => panic!(
                "Error performing pack build:\n\npack command failed with exit code {} (builder {}):\n\n{log_output}",
                outcome.exit_code, config.builder_name
            ),
        }
        drop(app_copy);

        f(TestContext {
            pack_stdout: log_output.stdout,
            pack_stderr: log_output.stderr,
            config: config.clone(),
            runner: self,
            state: BuildState {
                platform,
                work,
                export: outcome.export,
                running_containers: Cell::new(0),
                launches: Cell::new(0),
            },
        });
    }
}

fn log_output(output: &Output) -> LogOutput {
    LogOutput {
        stdout: output.stdout(),
        stderr: output.stderr(),
    }
}

struct BuildState {
    platform: Platform,
    work: TempDir,
    export: Option<ExportSnapshot>,
    running_containers: Cell<usize>,
    launches: Cell<usize>,
}

/// A finished build (as `libcnb_test::TestContext`).
pub struct TestContext<'a> {
    /// What `pack build` printed to stdout: the lifecycle's output, and the buildpack's
    /// stdout and stderr (the lifecycle hands both to one writer).
    pub pack_stdout: String,
    /// What `pack build` printed to stderr: only pack's own errors (empty after a successful
    /// build).
    pub pack_stderr: String,
    /// The config of this build.
    pub config: BuildConfig,
    runner: &'a TestRunner,
    state: BuildState,
}

impl TestContext<'_> {
    /// Runs a shell command in the image through the launcher (`bash -c`), with the launch
    /// env. Panics with the output if it exits non-zero.
    pub fn run_shell_command(&self, command: impl Into<String>) -> LogOutput {
        let image = self.launch_image();
        let mut launch = launch_command(
            &image,
            &LaunchCommand::shell(command),
            &BTreeMap::new(),
            &self.launch_home(),
        )
        .unwrap_or_else(|error| panic!("Error running container:\n\n{error}"));
        let output = launch
            .output()
            .unwrap_or_else(|error| panic!("Error running container:\n\n{error}"));
        let log_output = LogOutput {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert!(
            output.status.success(),
            "Error running container:\n\nCommand exited with a non-zero exit code: {}\n\n{log_output}",
            output.status.code().unwrap_or(-1)
        );
        log_output
    }

    /// Starts the image as a container would (see [`ContainerConfig`]), runs `f`, then kills
    /// the process and its children. Exposed ports are mapped to free ports on 127.0.0.1.
    pub fn start_container<C: Borrow<ContainerConfig>, F: FnOnce(ContainerContext)>(
        &self,
        config: C,
        f: F,
    ) {
        let config = config.borrow().clone();
        let image = self.launch_image();
        let mut port_map = HashMap::new();
        let mut env: BTreeMap<String, String> = config
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for port in &config.exposed_ports {
            let host_port = free_port();
            port_map.insert(*port, host_port);
            if env.get("PORT") == Some(&port.to_string()) {
                env.insert(String::from("PORT"), host_port.to_string());
            }
        }
        let what = LaunchCommand::from_docker(
            config.entrypoint.as_deref(),
            config.command.as_deref(),
            &image.export.processes,
        );
        let home = self.launch_home();
        let command = launch_command(&image, &what, &env, &home).unwrap_or_else(|error| {
            // Docker starts the container; the launcher fails inside it.
            let mut failing = std::process::Command::new("/bin/sh");
            failing.args([
                "-c",
                "printf '%s\\n' \"$0\" >&2; exit \"$1\"",
                &error.to_string(),
                &LAUNCH_ERROR_CODE.to_string(),
            ]);
            failing
        });
        let launches = self.state.launches.get() + 1;
        self.state.launches.set(launches);
        let container_name = format!("container-{launches}");
        let log_dir = self
            .state
            .platform
            .work_dir()
            .join("containers")
            .join(&container_name);
        let process = RunningProcess::spawn(command, &log_dir)
            .unwrap_or_else(|error| panic!("Error starting container:\n\n{error}"));

        self.state
            .running_containers
            .set(self.state.running_containers.get() + 1);
        let context = ContainerContext {
            container_name,
            config,
            port_map,
            process: RefCell::new(process),
            image,
            env,
            home,
        };
        f(context);
        self.state
            .running_containers
            .set(self.state.running_containers.get() - 1);
    }

    /// Copies the launch SBOMs of the built image (after a failed build, the previous image,
    /// as `pack sbom download` with the same image name) into a temporary directory, laid out
    /// as `pack sbom download` does, and runs `f` with them. The files are removed when `f`
    /// returns.
    ///
    /// # Panics
    ///
    /// Panics if there is no image or the files could not be copied.
    pub fn download_sbom_files<R, F: Fn(SbomFiles) -> R>(&self, f: F) -> R {
        let temp_dir = tempfile::tempdir().unwrap_or_else(|error| {
            panic!("Couldn't create temporary directory for SBOM files: {error}")
        });
        self.state
            .platform
            .download_sbom_files(temp_dir.path())
            .unwrap_or_else(|error| panic!("Error downloading SBOM files:\n\n{error}"));
        f(SbomFiles {
            sbom_files_directory: temp_dir.path().to_path_buf(),
        })
    }

    /// Builds again in the same work dir (restoring layers per the platform spec).
    pub fn rebuild<C: Borrow<BuildConfig>, F: FnOnce(TestContext)>(self, config: C, f: F) {
        self.runner
            .build_internal(self.state.work, config.borrow(), false, f);
    }

    /// Local only: builds again like `pack build --clear-cache` (nothing restored, cache
    /// dropped; the previous image stays).
    pub fn rebuild_with_clear_cache<C: Borrow<BuildConfig>, F: FnOnce(TestContext)>(
        self,
        config: C,
        f: F,
    ) {
        self.runner
            .build_internal(self.state.work, config.borrow(), true, f);
    }

    /// Local only: the export snapshot of this build (launch layers with digests, sizes and
    /// whether each is unchanged since the previous build; processes). Panics if the build
    /// failed.
    #[must_use]
    pub fn export(&self) -> &ExportSnapshot {
        self.state
            .export
            .as_ref()
            .unwrap_or_else(|| panic!("The build failed: there is no exported image."))
    }

    /// Local only: the work dir (`app/`, `layers/`, `store/`), stable across rebuilds.
    #[must_use]
    pub fn work_dir(&self) -> &Path {
        self.state.platform.work_dir()
    }

    fn launch_home(&self) -> PathBuf {
        self.state.platform.work_dir().join("launch-home")
    }

    /// Materialises the last exported image (after a failed build, the previous one, as
    /// with `pack`), unless a container is running in it.
    fn launch_image(&self) -> LaunchImage {
        if self.state.running_containers.get() > 0 {
            // Like `docker run` next to a running container: share the materialised image.
            if let Ok(image) = self.state.platform.launch_image() {
                return image;
            }
        }
        self.state
            .platform
            .materialise()
            .unwrap_or_else(|error| panic!("Error preparing the image: {error}"))
    }
}

/// Downloaded SBOM files (as `libcnb_test::SbomFiles`).
pub struct SbomFiles {
    sbom_files_directory: PathBuf,
}

/// Which SBOM of a buildpack (as `libcnb_test::SbomType`).
pub enum SbomType {
    /// `launch.sbom.<ext>`: the buildpack's launch SBOM outside any layer.
    Launch,
    /// The SBOM of one launch layer.
    Layer(LayerName),
}

impl SbomFiles {
    /// The path of one downloaded SBOM file (which exists only if the image has it).
    pub fn path_for<I: Borrow<BuildpackId>, T: Borrow<SbomType>, F: Borrow<SbomFormat>>(
        &self,
        buildpack_id: I,
        sbom_type: T,
        format: F,
    ) -> PathBuf {
        let dir = self
            .sbom_files_directory
            .join("layers")
            .join("sbom")
            .join("launch")
            .join(buildpack_id.borrow().replace('/', "_"));
        let dir = match sbom_type.borrow() {
            SbomType::Layer(layer_name) => dir.join(layer_name.as_str()),
            SbomType::Launch => dir,
        };
        dir.join(match format.borrow() {
            SbomFormat::CycloneDxJson => "sbom.cdx.json",
            SbomFormat::SpdxJson => "sbom.spdx.json",
            SbomFormat::SyftJson => "sbom.syft.json",
        })
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_or_else(
            |error| panic!("Error finding a free port: {error}"),
            |address| address.port(),
        )
}

/// A container's configuration (as `libcnb_test::ContainerConfig`).
#[derive(Clone, Default)]
pub struct ContainerConfig {
    entrypoint: Option<String>,
    command: Option<Vec<String>>,
    env: HashMap<String, String>,
    exposed_ports: HashSet<u16>,
}

impl ContainerConfig {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The entrypoint: `launcher`, a process type, or another program (run without the
    /// launcher, as Docker would).
    pub fn entrypoint(&mut self, entrypoint: impl Into<String>) -> &mut Self {
        self.entrypoint = Some(entrypoint.into());
        self
    }

    /// The command (Docker `CMD`): arguments to the entrypoint.
    pub fn command<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, command: I) -> &mut Self {
        self.command = Some(command.into_iter().map(S::into).collect());
        self
    }

    /// Exposes a container port: it is mapped to a free port on 127.0.0.1, and `PORT` is set
    /// to that port when the configured `PORT` equals this port.
    pub fn expose_port(&mut self, port: u16) -> &mut Self {
        self.exposed_ports.insert(port);
        self
    }

    /// An env var set before the launcher runs (`docker run -e`).
    pub fn env(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Several env vars.
    pub fn envs<K: Into<String>, V: Into<String>, I: IntoIterator<Item = (K, V)>>(
        &mut self,
        envs: I,
    ) -> &mut Self {
        for (key, value) in envs {
            self.env(key, value);
        }
        self
    }
}

/// A running container (as `libcnb_test::ContainerContext`).
pub struct ContainerContext {
    pub container_name: String,
    config: ContainerConfig,
    port_map: HashMap<u16, u16>,
    process: RefCell<RunningProcess>,
    image: LaunchImage,
    env: BTreeMap<String, String>,
    home: PathBuf,
}

impl ContainerContext {
    /// The container's output so far.
    #[must_use]
    pub fn logs_now(&self) -> LogOutput {
        let (stdout, stderr) = self.process.borrow().logs();
        LogOutput { stdout, stderr }
    }

    /// Waits for the container to exit, then returns its output.
    #[must_use]
    pub fn logs_wait(&self) -> LogOutput {
        let exited = self
            .process
            .borrow_mut()
            .wait_timeout(Duration::from_mins(10));
        assert!(
            exited.is_some(),
            "Error fetching container logs: the container did not exit within 10 minutes:\n\n{}",
            self.logs_now()
        );
        self.logs_now()
    }

    /// The 127.0.0.1 address an exposed port is mapped to.
    #[must_use]
    pub fn address_for_port(&self, port: u16) -> SocketAddr {
        assert!(
            self.config.exposed_ports.contains(&port),
            "Unknown port: Port {port} needs to be exposed first using `ContainerConfig::expose_port`"
        );
        if let Some(status) = self.process.borrow_mut().try_status() {
            panic!(
                "Error obtaining container port mapping:\nthe container exited ({status})\nThis normally means that the container crashed. Container logs:\n\n{}",
                self.logs_now()
            );
        }
        SocketAddr::from(([127, 0, 0, 1], self.port_map[&port]))
    }

    /// Runs a shell command in the running container through the launcher (`bash -c`, with
    /// the launch env). Panics with the output if it exits non-zero.
    pub fn shell_exec(&self, command: impl AsRef<str>) -> LogOutput {
        let mut launch = launch_command(
            &self.image,
            &LaunchCommand::shell(command.as_ref()),
            &self.env,
            &self.home,
        )
        .unwrap_or_else(|error| panic!("Error performing docker exec:\n\n{error}"));
        let output = launch
            .output()
            .unwrap_or_else(|error| panic!("Error performing docker exec:\n\n{error}"));
        let log_output = LogOutput {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert!(
            output.status.success(),
            "Error performing docker exec:\n\nCommand exited with a non-zero exit code: {}\n\n{log_output}",
            output.status.code().unwrap_or(-1)
        );
        log_output
    }
}

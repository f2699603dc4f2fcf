//! `local-platform`: build an app with the buildpack and launch it, without Docker.
//!
//! ```text
//! local-platform build <app-dir> [--env K=V]... [--clear-cache] [--work-dir DIR] [--buildpack DIR] [--user UID:GID]
//! local-platform launch [--work-dir DIR] [--env K=V]... [--process TYPE | --entrypoint E] [-- <arg>...]
//! local-platform sbom [--work-dir DIR] [--output-dir DIR]
//! ```

use local_platform::{
    BuildRequest, BuildUser, Buildpack, LaunchCommand, Output, Platform, launch_command,
    package_crate,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

// Dependencies of the library only.
use command_fds as _;
use filetime as _;
#[cfg(test)]
use indoc as _;
use libcnb_data as _;
#[cfg(feature = "pack")]
use libcnb_test as _;
use rustix as _;
use serde as _;
use serde_json as _;
use sha2 as _;
use tempfile as _;
use toml as _;
use which as _;

/// The launcher's exit code when it fails before starting a process.
#[expect(clippy::cast_possible_truncation)]
const LAUNCH_EXIT_CODE: u8 = local_platform::LAUNCH_ERROR_CODE as u8;

const USAGE: &str = "\
Usage:
  local-platform build <app-dir> [--env K=V]... [--clear-cache] [--work-dir DIR] [--buildpack DIR] [--user UID:GID]
  local-platform launch [--work-dir DIR] [--env K=V]... [--process TYPE | --entrypoint E] [-- <arg>...]
  local-platform sbom [--work-dir DIR] [--output-dir DIR]

build    Detects and builds <app-dir> with the buildpack (default: this repository's
         buildpack crate, built with cargo; --buildpack takes a buildpack directory).
         Layers are restored from the previous build in the same work dir
         (default: target/local-platform/<app-dir name>).
         Started as root, detect and build run as --user (default: $CNB_USER_ID:
         $CNB_GROUP_ID, or 1000:1000), as the lifecycle does; launch stays root.
launch   Runs the last built image as `docker run` would. Without options: the image's
         entrypoint (the default process). `-- <command>...`: the command, through the
         launcher (`--entrypoint launcher`): one argument is a bash script, several are
         words bash expands, `-- -- <program> <arg>...` runs the program directly.
         `--process TYPE [-- <arg>...]`: that process, the args replacing its default
         args. `--entrypoint E [-- <arg>...]`: Docker's --entrypoint. PORT defaults to 8080.
sbom     Writes the last built image's launch SBOMs to --output-dir (default: the
         current dir) as `pack sbom download` does: layers/sbom/launch/<bp>/...";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `-h` / `--help` anywhere before a `--` (after it, the words are the launched command's).
    let wants_help = args
        .iter()
        .take_while(|arg| *arg != "--")
        .any(|arg| arg == "-h" || arg == "--help");
    if wants_help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let result = match args.first().map(String::as_str) {
        Some("build") => build(&args[1..]),
        Some("launch") => launch(&args[1..]),
        Some("sbom") => sbom(&args[1..]),
        _ => Err(format!("Expected a subcommand.\n\n{USAGE}")),
    };
    result.unwrap_or_else(|message| {
        eprintln!("local-platform: {message}");
        ExitCode::from(2)
    })
}

#[derive(Default)]
struct Options {
    positional: Vec<String>,
    env: BTreeMap<String, String>,
    clear_cache: bool,
    work_dir: Option<PathBuf>,
    buildpack: Option<PathBuf>,
    process: Option<String>,
    entrypoint: Option<String>,
    user: Option<String>,
    command: Vec<String>,
    output_dir: Option<PathBuf>,
}

fn parse(args: &[String], allowed: &[&str]) -> Result<Options, String> {
    let mut options = Options::default();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let flag = arg.as_str();
        if flag.starts_with("--") && flag != "--" && !allowed.contains(&flag) {
            return Err(format!("Unknown option {flag}.\n\n{USAGE}"));
        }
        let mut value = || {
            iter.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value.\n\n{USAGE}"))
        };
        match flag {
            "--env" => {
                let pair = value()?;
                let (key, val) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("--env expects KEY=VALUE, got '{pair}'."))?;
                options.env.insert(key.to_string(), val.to_string());
            }
            "--clear-cache" => options.clear_cache = true,
            "--work-dir" => options.work_dir = Some(PathBuf::from(value()?)),
            "--buildpack" => options.buildpack = Some(PathBuf::from(value()?)),
            "--process" => options.process = Some(value()?),
            "--entrypoint" => options.entrypoint = Some(value()?),
            "--user" => options.user = Some(value()?),
            "--output-dir" => options.output_dir = Some(PathBuf::from(value()?)),
            "--" => {
                options.command = iter.cloned().collect();
                break;
            }
            _ => options.positional.push(arg.clone()),
        }
    }
    Ok(options)
}

/// `target/` of this build of the CLI (`target/<profile>/local-platform`).
fn target_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target"))
}

fn last_work_dir_file() -> PathBuf {
    target_dir().join("local-platform").join("last-work-dir")
}

fn build(args: &[String]) -> Result<ExitCode, String> {
    let options = parse(
        args,
        &[
            "--env",
            "--clear-cache",
            "--work-dir",
            "--buildpack",
            "--user",
        ],
    )?;
    let [app_dir] = options.positional.as_slice() else {
        return Err(format!("build takes exactly one app dir.\n\n{USAGE}"));
    };
    let app_dir = std::path::absolute(app_dir).map_err(|error| error.to_string())?;
    if !app_dir.is_dir() {
        return Err(format!(
            "The app dir {} is not a directory.",
            app_dir.display()
        ));
    }
    let app_name = app_dir.file_name().map_or_else(
        || String::from("app"),
        |name| name.to_string_lossy().into_owned(),
    );
    let work_dir = options
        .work_dir
        .clone()
        .unwrap_or_else(|| target_dir().join("local-platform").join(&app_name));

    let buildpack = if let Some(dir) = &options.buildpack {
        Buildpack::from_dir(dir)
    } else {
        eprintln!("Building the buildpack with cargo...");
        package_crate(&Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
    }
    .map_err(|error| error.to_string())?;
    let mut platform =
        Platform::new(&work_dir, buildpack.clone()).map_err(|error| error.to_string())?;
    if let Some(user) = &options.user {
        let user = BuildUser::parse(user).map_err(|error| error.to_string())?;
        platform = platform.with_build_user(Some(user));
    }
    let remember = [
        (
            platform.work_dir().join("buildpack-dir"),
            buildpack.dir.clone(),
        ),
        (last_work_dir_file(), platform.work_dir().to_path_buf()),
    ];
    for (file, value) in remember {
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(|error| error.to_string())?;
        }
        std::fs::write(&file, value.to_string_lossy().as_bytes())
            .map_err(|error| error.to_string())?;
    }

    let request = BuildRequest {
        app_dir,
        env: options.env,
        clear_cache: options.clear_cache,
        image_name: app_name,
    };
    let outcome = platform
        .build(&request, &Output::echoed())
        .map_err(|error| error.to_string())?;
    let Some(export) = outcome.export else {
        return Ok(ExitCode::FAILURE);
    };
    println!("\nWork dir: {}", platform.work_dir().display());
    println!("Launch layers ({} bytes):", export.launch_bytes);
    for layer in &export.layers {
        let short_digest: String = layer.digest.chars().take(19).collect();
        println!(
            "  {:<20} {:>12} bytes  {short_digest}  {}",
            layer.name,
            layer.bytes,
            if layer.unchanged { "unchanged" } else { "new" }
        );
    }
    println!("Cached layers: {}", export.cached_layers.join(", "));
    println!("Processes:");
    for process in &export.processes {
        let mut line = process.command.join(" ");
        if !process.args.is_empty() {
            line = format!("{line} {}", process.args.join(" "));
        }
        let default = if process.default { " (default)" } else { "" };
        println!("  {}{default}: {line}", process.r#type);
    }
    println!(
        "\nRun it: cargo run -p local-platform -- launch --work-dir {}",
        platform.work_dir().display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The work dir of `--work-dir` or the last build, and a platform on it.
fn last_build(options: &Options) -> Result<(PathBuf, Platform), String> {
    let work_dir = match options.work_dir.clone() {
        Some(dir) => dir,
        None => std::fs::read_to_string(last_work_dir_file())
            .map(PathBuf::from)
            .map_err(|_| String::from("No previous build found: pass --work-dir."))?,
    };
    let buildpack_dir = std::fs::read_to_string(work_dir.join("buildpack-dir"))
        .map_err(|_| format!("{} holds no build: run `build` first.", work_dir.display()))?;
    let buildpack = Buildpack::from_dir(buildpack_dir).map_err(|error| error.to_string())?;
    let platform = Platform::new(&work_dir, buildpack).map_err(|error| error.to_string())?;
    Ok((work_dir, platform))
}

fn sbom(args: &[String]) -> Result<ExitCode, String> {
    let options = parse(args, &["--work-dir", "--output-dir"])?;
    if let Some(unexpected) = options.positional.first() {
        return Err(format!("Unexpected argument {unexpected}.\n\n{USAGE}"));
    }
    let (_, platform) = last_build(&options)?;
    let output_dir = options
        .output_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    platform
        .download_sbom_files(&output_dir)
        .map_err(|error| error.to_string())?;
    let mut files = Vec::new();
    collect_files(&output_dir.join("layers").join("sbom"), &mut files)
        .map_err(|error| error.to_string())?;
    files.sort();
    if files.is_empty() {
        println!("The image has no launch SBOM.");
    }
    for file in files {
        println!("{}", file.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

fn launch(args: &[String]) -> Result<ExitCode, String> {
    let mut options = parse(args, &["--env", "--work-dir", "--process", "--entrypoint"])?;
    if !options.positional.is_empty() {
        return Err(format!(
            "Unexpected argument {}; put a command after --.\n\n{USAGE}",
            options.positional[0]
        ));
    }
    let (work_dir, platform) = last_build(&options)?;
    let image = platform.materialise().map_err(|error| error.to_string())?;

    let processes = &image.export.processes;
    let command = Some(options.command.as_slice()).filter(|command| !command.is_empty());
    let what = match (options.process.take(), options.entrypoint.take()) {
        (Some(_), Some(_)) => {
            return Err(String::from(
                "Give either --process or --entrypoint, not both.",
            ));
        }
        (Some(process_type), None) => {
            if !processes
                .iter()
                .any(|process| process.r#type == process_type)
            {
                let types: Vec<&str> = processes.iter().map(|p| p.r#type.as_str()).collect();
                return Err(format!(
                    "The image has no process type '{process_type}' (it has: {}).",
                    if types.is_empty() {
                        String::from("none")
                    } else {
                        types.join(", ")
                    }
                ));
            }
            LaunchCommand::from_docker(
                Some(&format!("/cnb/process/{process_type}")),
                command,
                processes,
            )
        }
        (None, Some(entrypoint)) => {
            LaunchCommand::from_docker(Some(&entrypoint), command, processes)
        }
        (None, None) if command.is_some() => {
            LaunchCommand::from_docker(Some("launcher"), command, processes)
        }
        (None, None) => LaunchCommand::from_docker(None, None, processes),
    };
    options
        .env
        .entry(String::from("PORT"))
        .or_insert_with(|| String::from("8080"));
    let mut command =
        match launch_command(&image, &what, &options.env, &work_dir.join("launch-home")) {
            Ok(command) => command,
            Err(error) => {
                eprintln!("{error}");
                return Ok(ExitCode::from(LAUNCH_EXIT_CODE));
            }
        };
    let status = command
        .stdin(std::process::Stdio::inherit())
        .status()
        .map_err(|error| format!("ERROR: failed to launch: {error}"))?;
    Ok(status
        .code()
        .and_then(|code| u8::try_from(code).ok())
        .map_or(ExitCode::FAILURE, ExitCode::from))
}

//! Installing a wheel into a virtual environment by unpacking it, as the binary distribution
//! format specifies (<https://packaging.python.org/en/latest/specifications/binary-distribution-format/>),
//! without running an installer: the packaging tools are pinned wheels whose SHA-256 the
//! buildpack checks first, so unpacking them is all an installer would do, in a fraction of the
//! time it takes to start one.
//!
//! What the specification asks of an installer, and what this does:
//! - refuse a `Wheel-Version` whose major version it doesn't know (only 1 exists);
//! - check every file against its hash in `RECORD`, and refuse files that `RECORD` doesn't list;
//! - unpack the root into `site-packages` (purelib and platlib are the same directory in a
//!   virtual environment), and `<name>.data/<scheme>/` into that scheme's directory, rewriting a
//!   script's `#!python` line to the environment's interpreter;
//! - write a script for each `console_scripts` entry point of `entry_points.txt`;
//! - write `INSTALLER`, and `RECORD` anew for the files as installed.
//!
//! Nothing is written outside the environment: paths that are absolute or climb out with `..`,
//! links and special files are refused, and files are created new, never written through what is
//! there already.

use crate::error_message::ErrorMessage;
use base64::prelude::{BASE64_URL_SAFE_NO_PAD, Engine as _};
use indoc::formatdoc;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

/// A virtual environment to install into.
pub(crate) struct Environment<'a> {
    /// The environment's root (holds `bin/` and `pyvenv.cfg`).
    pub(crate) root: &'a Path,
    /// Its `lib/python3.X/site-packages`.
    pub(crate) site_packages: &'a Path,
}

/// Installs the wheel file `wheel` (named `wheel_name`, for messages) into `environment`.
pub(crate) fn install_wheel(
    wheel: &Path,
    wheel_name: &str,
    environment: &Environment,
) -> Result<(), WheelError> {
    let error = |problem: String| WheelError {
        wheel: wheel_name.to_string(),
        problem,
    };
    let file = File::open(wheel).map_err(|e| error(e.to_string()))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| error(e.to_string()))?;
    let dist_info =
        dist_info_dir(&archive).ok_or_else(|| error("it has no .dist-info/WHEEL".into()))?;
    let data_dir = format!("{}.data", dist_info.trim_end_matches(".dist-info"));

    let wheel_metadata = read_entry(&mut archive, &format!("{dist_info}/WHEEL")).map_err(error)?;
    check_wheel_version(&String::from_utf8_lossy(&wheel_metadata)).map_err(error)?;
    let record_text = read_entry(&mut archive, &format!("{dist_info}/RECORD")).map_err(error)?;
    let record = parse_record(&String::from_utf8_lossy(&record_text));

    let mut installed = Installed::new(environment.site_packages);
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(|e| error(e.to_string()))?;
        let Some(name) = entry.enclosed_name() else {
            return Err(error(format!(
                "its entry {:?} leaves the install directory",
                entry.name()
            )));
        };
        if entry.is_dir() {
            continue;
        }
        if entry.is_symlink()
            || entry
                .unix_mode()
                .is_some_and(|mode| mode & 0o170_000 != 0o100_000 && mode & 0o170_000 != 0)
        {
            return Err(error(format!(
                "its entry {} is not a regular file",
                name.display()
            )));
        }
        let archive_path = name.to_string_lossy().into_owned();
        let mut contents = Vec::new();
        entry
            .read_to_end(&mut contents)
            .map_err(|e| error(format!("{archive_path}: {e}")))?;
        let is_record = archive_path == format!("{dist_info}/RECORD")
            || archive_path == format!("{dist_info}/RECORD.jws")
            || archive_path == format!("{dist_info}/RECORD.p7s");
        if is_record {
            // RECORD is written anew below.
            continue;
        }
        match record.get(&archive_path) {
            Some(expected) if *expected == record_hash(&contents) => {}
            Some(_) => {
                return Err(error(format!(
                    "{archive_path} doesn't match its hash in RECORD"
                )));
            }
            None => return Err(error(format!("{archive_path} is not listed in RECORD"))),
        }
        let executable = entry.unix_mode().is_some_and(|mode| mode & 0o111 != 0);
        let (target, contents, executable) =
            install_target(&name, &data_dir, environment, contents, executable).map_err(error)?;
        installed
            .write(&target, &contents, executable)
            .map_err(error)?;
    }

    let entry_points = read_entry(&mut archive, &format!("{dist_info}/entry_points.txt"))
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    write_console_scripts(&entry_points, environment, &mut installed).map_err(error)?;
    let dist_info_path = environment.site_packages.join(&dist_info);
    installed
        .write(
            &dist_info_path.join("INSTALLER"),
            b"python-buildpack\n",
            false,
        )
        .map_err(error)?;
    let record = installed.record(&dist_info_path.join("RECORD"));
    installed
        .write(&dist_info_path.join("RECORD"), record.as_bytes(), false)
        .map_err(error)
}

/// Where an archive entry goes (and its contents and mode there): the root into
/// `site-packages`, `<name>.data/<scheme>/` into that scheme's directory.
fn install_target(
    name: &Path,
    data_dir: &str,
    environment: &Environment,
    contents: Vec<u8>,
    executable: bool,
) -> Result<(PathBuf, Vec<u8>, bool), String> {
    let Ok(rest) = name.strip_prefix(data_dir) else {
        return Ok((environment.site_packages.join(name), contents, executable));
    };
    let mut components = rest.components();
    let scheme = components.next();
    let rest = components.as_path();
    match scheme {
        Some(Component::Normal(scheme)) if scheme == "purelib" || scheme == "platlib" => {
            Ok((environment.site_packages.join(rest), contents, executable))
        }
        Some(Component::Normal(scheme)) if scheme == "scripts" => Ok((
            environment.root.join("bin").join(rest),
            rewrite_shebang(contents, &environment.root.join("bin/python")),
            true,
        )),
        Some(Component::Normal(scheme)) if scheme == "data" => {
            Ok((environment.root.join(rest), contents, executable))
        }
        _ => Err(format!(
            "its entry {} is in no install scheme the buildpack supports",
            name.display()
        )),
    }
}

/// A script in `bin/` for each `console_scripts` entry point, as pip writes them.
fn write_console_scripts(
    entry_points: &str,
    environment: &Environment,
    installed: &mut Installed,
) -> Result<(), String> {
    let python = environment.root.join("bin/python");
    for (script, target) in console_scripts(entry_points) {
        let (module, function) = target
            .split_once(':')
            .ok_or_else(|| format!("its console script {script} has no `module:function`"))?;
        if script.contains('/') || script.starts_with('.') {
            return Err(format!(
                "its console script name {script:?} is not a file name"
            ));
        }
        let import_name = function.split('.').next().unwrap_or(function);
        let contents = formatdoc! {r#"
            #!{python}
            import sys
            from {module} import {import_name}
            if __name__ == "__main__":
                sys.exit({function}())
        "#, python = python.display()};
        installed.write(
            &environment.root.join("bin").join(script),
            contents.as_bytes(),
            true,
        )?;
    }
    Ok(())
}

/// The `<name>-<version>.dist-info` directory at the archive's root that holds `WHEEL`.
fn dist_info_dir(archive: &zip::ZipArchive<File>) -> Option<String> {
    archive.file_names().find_map(|name| {
        let name = name.ok()?;
        let (dir, file) = name.split_once('/')?;
        (dir.ends_with(".dist-info") && file == "WHEEL").then(|| dir.to_string())
    })
}

fn read_entry(archive: &mut zip::ZipArchive<File>, name: &str) -> Result<Vec<u8>, String> {
    let mut entry = archive
        .by_name(name)
        .map_err(|error| format!("{name}: {error}"))?;
    let mut bytes = Vec::new();
    entry
        .read_to_end(&mut bytes)
        .map_err(|error| format!("{name}: {error}"))?;
    Ok(bytes)
}

/// "If a Wheel-Version is greater than the installer's, the installer must fail" (major version;
/// a greater minor version only deserves a warning, and there is none yet).
fn check_wheel_version(wheel_metadata: &str) -> Result<(), String> {
    let version = wheel_metadata
        .lines()
        .find_map(|line| line.strip_prefix("Wheel-Version:"))
        .map(str::trim)
        .ok_or_else(|| "its WHEEL file has no Wheel-Version".to_string())?;
    match version.split('.').next() {
        Some("1") => Ok(()),
        _ => Err(format!("its Wheel-Version {version} is not 1.x")),
    }
}

/// `RECORD`'s `path -> sha256=<urlsafe base64>` (CSV rows `path,hash,size`).
fn parse_record(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.rsplitn(3, ',');
            let _size = fields.next()?;
            let hash = fields.next()?;
            let path = fields.next()?;
            let path = path
                .strip_prefix('"')
                .and_then(|path| path.strip_suffix('"'))
                .map_or_else(|| path.to_string(), |path| path.replace("\"\"", "\""));
            Some((path, hash.to_string()))
        })
        .collect()
}

fn record_hash(contents: &[u8]) -> String {
    format!(
        "sha256={}",
        BASE64_URL_SAFE_NO_PAD.encode(Sha256::digest(contents))
    )
}

/// `#!python` (or `#!pythonw`) becomes the environment's interpreter, as the specification asks.
fn rewrite_shebang(contents: Vec<u8>, python: &Path) -> Vec<u8> {
    let first_line_end = contents
        .iter()
        .position(|byte| *byte == b'\n')
        .unwrap_or(contents.len());
    let first_line = &contents[..first_line_end];
    if first_line.trim_ascii_end() == b"#!python" || first_line.trim_ascii_end() == b"#!pythonw" {
        let mut rewritten = format!("#!{}", python.display()).into_bytes();
        rewritten.extend_from_slice(&contents[first_line_end..]);
        rewritten
    } else {
        contents
    }
}

/// The `name = module:function` lines of `entry_points.txt`'s `[console_scripts]` section
/// (extras in `[...]` dropped).
fn console_scripts(entry_points: &str) -> Vec<(String, String)> {
    let mut in_section = false;
    let mut scripts = Vec::new();
    for line in entry_points.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[console_scripts]";
        } else if in_section
            && !line.starts_with(['#', ';'])
            && let Some((name, target)) = line.split_once('=')
        {
            let target = target.split('[').next().unwrap_or(target);
            scripts.push((name.trim().to_string(), target.trim().to_string()));
        }
    }
    scripts
}

/// The files written so far, for `RECORD`.
struct Installed<'a> {
    site_packages: &'a Path,
    files: Vec<(PathBuf, String, usize)>,
}

impl<'a> Installed<'a> {
    fn new(site_packages: &'a Path) -> Self {
        Self {
            site_packages,
            files: Vec::new(),
        }
    }

    fn write(&mut self, path: &Path, contents: &[u8], executable: bool) -> Result<(), String> {
        let fail = |error: std::io::Error| format!("{}: {error}", path.display());
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(fail)?;
        }
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if executable { 0o755 } else { 0o644 })
            .open(path)
            .and_then(|mut file| file.write_all(contents))
            .map_err(fail)?;
        if !path.ends_with("RECORD") {
            self.files
                .push((path.to_path_buf(), record_hash(contents), contents.len()));
        }
        Ok(())
    }

    /// `RECORD` for the installed files, paths relative to `site-packages` as installers write
    /// them (`../../../bin/pip` for a script).
    fn record(&self, record_path: &Path) -> String {
        let mut lines: Vec<String> = self
            .files
            .iter()
            .map(|(path, hash, size)| format!("{},{hash},{size}", self.relative(path)))
            .collect();
        lines.push(format!("{},,", self.relative(record_path)));
        lines.sort();
        lines.join("\n") + "\n"
    }

    fn relative(&self, path: &Path) -> String {
        if let Ok(inside) = path.strip_prefix(self.site_packages) {
            return inside.to_string_lossy().into_owned();
        }
        // Scripts and data sit under the environment, three levels up from site-packages
        // (`lib/python3.X/site-packages`).
        let root = self
            .site_packages
            .ancestors()
            .nth(3)
            .unwrap_or(self.site_packages);
        let inside = path.strip_prefix(root).unwrap_or(path);
        format!("../../../{}", inside.to_string_lossy())
    }
}

/// A wheel that could not be installed.
#[derive(Debug)]
pub(crate) struct WheelError {
    wheel: String,
    problem: String,
}

impl WheelError {
    pub(crate) fn message(&self, tool: &str) -> ErrorMessage {
        ErrorMessage::new(
            format!("Unable to install {tool}"),
            formatdoc! {"
                The buildpack could not unpack {wheel}: {problem}

                The wheel's checksum matched the one the buildpack pins, so this is most likely
                a problem with the build machine's disk. Try the build again; if it keeps
                failing, please open an issue with this output.
            ", wheel = self.wheel, problem = self.problem},
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;
    use zip::write::SimpleFileOptions;

    fn wheel(dir: &Path, files: &[(&str, &str)], record_extra: &str) -> PathBuf {
        let path = dir.join("demo-1.0-py3-none-any.whl");
        let mut writer = zip::ZipWriter::new(File::create(&path).unwrap());
        let mut record = String::new();
        for (name, contents) in files {
            writer
                .start_file(*name, SimpleFileOptions::default().unix_permissions(0o644))
                .unwrap();
            writer.write_all(contents.as_bytes()).unwrap();
            let _ = writeln!(
                record,
                "{name},{},{}",
                record_hash(contents.as_bytes()),
                contents.len()
            );
        }
        record.push_str(record_extra);
        record.push_str("demo-1.0.dist-info/RECORD,,\n");
        writer
            .start_file("demo-1.0.dist-info/RECORD", SimpleFileOptions::default())
            .unwrap();
        writer.write_all(record.as_bytes()).unwrap();
        writer.finish().unwrap();
        path
    }

    const WHEEL: (&str, &str) = (
        "demo-1.0.dist-info/WHEEL",
        "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n",
    );

    fn install(files: &[(&str, &str)]) -> (tempfile::TempDir, Result<(), WheelError>) {
        let dir = tempfile::tempdir().unwrap();
        let wheel = wheel(dir.path(), files, "");
        let root = dir.path().join("venv");
        let site_packages = root.join("lib/python3.13/site-packages");
        let result = install_wheel(
            &wheel,
            "demo-1.0-py3-none-any.whl",
            &Environment {
                root: &root,
                site_packages: &site_packages,
            },
        );
        (dir, result)
    }

    #[test]
    fn unpacks_files_scripts_and_entry_points() {
        let (dir, result) = install(&[
            WHEEL,
            ("demo/__init__.py", "X = 1\n"),
            (
                "demo-1.0.dist-info/entry_points.txt",
                "[console_scripts]\ndemo = demo.cli:main.run [extra]\n\n[other]\nx = y:z\n",
            ),
            ("demo-1.0.data/scripts/tool", "#!python\nprint(1)\n"),
        ]);
        result.unwrap();
        let root = dir.path().join("venv");
        let site = root.join("lib/python3.13/site-packages");
        assert_eq!(
            fs::read_to_string(site.join("demo/__init__.py")).unwrap(),
            "X = 1\n"
        );
        assert_eq!(
            fs::read_to_string(root.join("bin/tool")).unwrap(),
            format!("#!{}/bin/python\nprint(1)\n", root.display())
        );
        assert_eq!(
            fs::read_to_string(root.join("bin/demo")).unwrap(),
            format!(
                "#!{}/bin/python\nimport sys\nfrom demo.cli import main\nif __name__ == \"__main__\":\n    sys.exit(main.run())\n",
                root.display()
            )
        );
        let record = fs::read_to_string(site.join("demo-1.0.dist-info/RECORD")).unwrap();
        assert!(record.contains("../../../bin/demo,sha256="), "{record}");
        assert!(
            record.contains("demo-1.0.dist-info/INSTALLER,sha256="),
            "{record}"
        );
        assert!(record.contains("demo-1.0.dist-info/RECORD,,\n"), "{record}");
        assert!(!record.contains(".data"), "{record}");
    }

    #[test]
    fn refuses_what_record_does_not_vouch_for() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = wheel(dir.path(), &[WHEEL], "demo/extra.py,sha256=AAAA,1\n");
        let root = dir.path().join("venv");
        let site_packages = root.join("lib/python3.13/site-packages");
        // A RECORD line for a file the archive lacks is harmless; a wrong hash is not.
        install_wheel(
            &wheel,
            "w",
            &Environment {
                root: &root,
                site_packages: &site_packages,
            },
        )
        .unwrap();

        let path = dir.path().join("bad.whl");
        let mut writer = zip::ZipWriter::new(File::create(&path).unwrap());
        writer
            .start_file(WHEEL.0, SimpleFileOptions::default())
            .unwrap();
        writer.write_all(WHEEL.1.as_bytes()).unwrap();
        writer
            .start_file("demo-1.0.dist-info/RECORD", SimpleFileOptions::default())
            .unwrap();
        writer
            .write_all(b"demo-1.0.dist-info/WHEEL,sha256=wrong,1\n")
            .unwrap();
        writer.finish().unwrap();
        let root = dir.path().join("venv2");
        let site_packages = root.join("lib/python3.13/site-packages");
        let error = install_wheel(
            &path,
            "bad.whl",
            &Environment {
                root: &root,
                site_packages: &site_packages,
            },
        )
        .unwrap_err();
        assert_eq!(
            error.problem,
            "demo-1.0.dist-info/WHEEL doesn't match its hash in RECORD"
        );
    }

    #[test]
    fn refuses_paths_outside_and_unknown_wheel_versions() {
        let (_dir, result) = install(&[WHEEL, ("../evil.py", "x")]);
        assert!(
            result
                .unwrap_err()
                .problem
                .contains("leaves the install directory"),
        );
        let (_dir, result) = install(&[(WHEEL.0, "Wheel-Version: 2.0\n")]);
        assert_eq!(
            result.unwrap_err().problem,
            "its Wheel-Version 2.0 is not 1.x"
        );
    }
}

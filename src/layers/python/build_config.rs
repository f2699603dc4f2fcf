//! The runtime's build configuration: the compilers and paths a C extension is built with.
//!
//! python-build-standalone's `x86_64` archives were built with clang inside a `/install` prefix,
//! and the build configuration they ship records it (astral-sh/python-build-standalone#209):
//! `CC='clang -pthread'`, `CXX='clang++ -pthread'`, `AR='/tools/llvm/bin/llvm-ar'`, and
//! `-L/install/lib` or `prefix=/install`. Build images have gcc as `cc` but no clang, so every
//! package compiled from source would fail (`No such file or directory: 'clang'`). When the
//! `python` layer is installed, [`adjust`] rewrites these recorded values, and only these, in
//! the files that hold them: `_sysconfigdata_*.py` (what `sysconfig` and so setuptools read),
//! `_sysconfig_vars_*.json` and `build-details.json` (3.14), `config-3.X-*/Makefile`,
//! `lib/pkgconfig/*.pc` and `bin/python3.X-config`. The interpreter and the standard library
//! stay byte-identical. (uv rewrites the same values when it installs a standalone Python,
//! astral-sh/uv#9916; this is our own take on the idea.)
//!
//! The patched files are part of the cached layer: [`PATCH_VERSION`] is in the layer's metadata,
//! so changing what is patched discards the cached runtimes, with a reason.

use bullet_stream::global::print;
use indoc::formatdoc;
use libcnb::layer_env::{LayerEnv, ModificationBehavior, Scope};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error_message::ErrorMessage;

/// The version of the patch logic below. Bump it whenever what [`adjust`] writes changes, so
/// that cached `python` layers patched the old way are rebuilt.
pub(crate) const PATCH_VERSION: &str = "1";

/// Variables whose value starts with the command that compiles, links or archives.
const COMMAND_VARIABLES: [&str; 9] = [
    "CC",
    "CXX",
    "CPP",
    "LDSHARED",
    "BLDSHARED",
    "LDCXXSHARED",
    "LINKCC",
    "MAINCC",
    "AR",
];

/// The build prefix python-build-standalone's archives were built in.
const BUILD_PREFIX: &str = "/install";

/// What a file holds, and so what is adjusted in it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Python or JSON `'KEY': 'value'` lines: commands and the prefix.
    Sysconfig,
    /// `KEY= value` lines: commands and the prefix.
    Makefile,
    /// Only the prefix.
    PrefixOnly,
}

/// Rewrites the build configuration of the runtime in `layer_dir` (see the module docs) and
/// prints, in one line, what it adjusted. Must run before the standard library is compiled, so
/// that `_sysconfigdata_*.pyc` holds the adjusted values.
pub(crate) fn adjust(layer_dir: &Path, major_minor: &str) -> Result<(), BuildConfigError> {
    let files = config_files(layer_dir, major_minor).map_err(BuildConfigError::Io)?;
    let layer = layer_dir.to_string_lossy();
    let mut replaced: Vec<(String, String)> = Vec::new();
    let mut changed_files = 0;
    for (path, kind) in files {
        let Ok(text) = fs::read_to_string(&path) else {
            // Not UTF-8 text: not a build configuration this module knows how to read.
            continue;
        };
        let patched = patch_text(&text, kind, &layer, &mut replaced);
        if patched == text {
            continue;
        }
        if !is_safe_path(&layer) {
            return Err(BuildConfigError::UnsafeLayerPath(layer_dir.to_path_buf()));
        }
        write_keeping_permissions(&path, &patched).map_err(BuildConfigError::Io)?;
        remove_stale_bytecode(&path).map_err(BuildConfigError::Io)?;
        changed_files += 1;
    }
    if changed_files > 0 {
        let changes = replaced
            .iter()
            .map(|(from, to)| format!("{from} → {to}"))
            .collect::<Vec<_>>()
            .join(", ");
        print::sub_bullet(format!(
            "Adjusted the runtime's build configuration for this image ({changed_files} files): {changes}"
        ));
    }
    Ok(())
}

/// The env a C build needs at build time, for this buildpack and later ones: the runtime's
/// headers on `CPATH` and its `.pc` files on `PKG_CONFIG_PATH`, for builds that don't ask
/// `sysconfig` (a Makefile, `pkg-config python3`). Not at launch: the app doesn't compile.
pub(crate) fn with_build_env(env: LayerEnv, layer_dir: &Path, major_minor: &str) -> LayerEnv {
    let mut env = env;
    for (name, dir) in [
        (
            "CPATH",
            layer_dir.join(format!("include/python{major_minor}")),
        ),
        ("PKG_CONFIG_PATH", layer_dir.join("lib/pkgconfig")),
    ] {
        if dir.is_dir() {
            env = env
                .chainable_insert(Scope::Build, ModificationBehavior::Prepend, name, dir)
                .chainable_insert(Scope::Build, ModificationBehavior::Delimiter, name, ":");
        }
    }
    env
}

/// The files of the runtime that record its build configuration. Symlinks (`python3.pc`,
/// `python3-config`) are left alone: their targets are in the list.
fn config_files(layer_dir: &Path, major_minor: &str) -> io::Result<Vec<(PathBuf, Kind)>> {
    let stdlib = layer_dir.join(format!("lib/python{major_minor}"));
    let mut files = Vec::new();
    for entry in read_dir_sorted(&stdlib)? {
        let name = entry.file_name().unwrap_or_default().to_string_lossy();
        let is_sysconfig = (name.starts_with("_sysconfigdata_") && name.ends_with(".py"))
            || (name.starts_with("_sysconfig_vars_") && name.ends_with(".json"));
        if is_sysconfig {
            files.push((entry, Kind::Sysconfig));
        } else if name == "build-details.json" {
            files.push((entry, Kind::PrefixOnly));
        } else if name.starts_with(&format!("config-{major_minor}")) {
            files.push((entry.join("Makefile"), Kind::Makefile));
        }
    }
    for entry in read_dir_sorted(&layer_dir.join("lib/pkgconfig"))? {
        if entry.extension().is_some_and(|extension| extension == "pc") {
            files.push((entry, Kind::PrefixOnly));
        }
    }
    files.push((
        layer_dir.join(format!("bin/python{major_minor}-config")),
        Kind::PrefixOnly,
    ));
    files.retain(|(path, _)| {
        fs::symlink_metadata(path).is_ok_and(|metadata| metadata.file_type().is_file())
    });
    Ok(files)
}

fn read_dir_sorted(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut paths = match fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|entry| entry.map(|entry| entry.path()))
            .collect::<io::Result<Vec<_>>>()?,
        Err(error) if error.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(error) => return Err(error),
    };
    paths.sort();
    Ok(paths)
}

/// The adjusted text, each replacement made recorded (once) in `replaced`.
fn patch_text(text: &str, kind: Kind, layer: &str, replaced: &mut Vec<(String, String)>) -> String {
    let mut record = |from: &str, to: &str| {
        let pair = (from.to_string(), to.to_string());
        if !replaced.contains(&pair) {
            replaced.push(pair);
        }
    };
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut line = line.to_string();
        let command = match kind {
            Kind::Sysconfig => sysconfig_command(&line),
            Kind::Makefile => makefile_command(&line),
            Kind::PrefixOnly => None,
        };
        if let Some((start, end)) = command
            && let Some(replacement) = image_command(&line[start..end])
        {
            record(&line[start..end], replacement);
            line.replace_range(start..end, replacement);
        }
        let (prefixed, count) = replace_prefix(&line, layer);
        if count > 0 {
            record(BUILD_PREFIX, layer);
        }
        out.push_str(&prefixed);
    }
    out
}

/// The byte range of the command (the value's first word) on a `'CC': 'clang -pthread',` line
/// of `_sysconfigdata_*.py` (pprint's layout: the first entry follows `build_time_vars = {`) or a
/// `"CC": "clang -pthread",` line of the JSON variant, when the key is a [`COMMAND_VARIABLES`].
fn sysconfig_command(line: &str) -> Option<(usize, usize)> {
    let rest = line.trim_start();
    let rest = rest.strip_prefix("build_time_vars = ").unwrap_or(rest);
    let rest = rest.strip_prefix('{').unwrap_or(rest).trim_start();
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let rest = &rest[1..];
    let (key, rest) = rest.split_once(quote)?;
    if !COMMAND_VARIABLES.contains(&key) {
        return None;
    }
    let rest = rest.strip_prefix(':')?.trim_start();
    let value_quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let value = &rest[1..];
    let start = line.len() - value.len();
    let length = value
        .find(|c: char| c.is_whitespace() || c == value_quote)
        .unwrap_or(value.len());
    Some((start, start + length))
}

/// The byte range of the command on a Makefile `CC=\t\tclang -pthread` line.
fn makefile_command(line: &str) -> Option<(usize, usize)> {
    let (key, value) = line.split_once('=')?;
    if !COMMAND_VARIABLES.contains(&key.trim_end()) || key.starts_with([' ', '\t']) {
        return None;
    }
    let value_trimmed = value.trim_start_matches([' ', '\t']);
    let start = line.len() - value_trimmed.len();
    let length = value_trimmed
        .find(char::is_whitespace)
        .unwrap_or(value_trimmed.len());
    (length > 0).then_some((start, start + length))
}

/// The image's command for a build-machine-only one: `clang` → `cc`, `clang++` → `c++`,
/// `llvm-ar` → `ar` (by name or path, versioned or not), and the cross compilers of the
/// aarch64 archives (`/usr/bin/aarch64-linux-gnu-gcc` → `cc`). Others are kept.
fn image_command(command: &str) -> Option<&'static str> {
    let name = command.rsplit('/').next().unwrap_or(command);
    let unversioned = match name.rsplit_once('-') {
        Some((base, version))
            if !version.is_empty() && version.chars().all(|c| c.is_ascii_digit()) =>
        {
            base
        }
        _ => name,
    };
    match unversioned {
        "clang" => Some("cc"),
        "clang++" => Some("c++"),
        "llvm-ar" => Some("ar"),
        _ if name.ends_with("-linux-gnu-gcc") => Some("cc"),
        _ if name.ends_with("-linux-gnu-g++") => Some("c++"),
        _ => None,
    }
}

/// Replaces the build prefix where a path starts with it (`/install`, `/install/lib`,
/// `-L/install/lib`, `prefix=/install`, `-Wl,-rpath,/install/lib`), not where it is part of
/// another path (`/usr/bin/install`, `/installer`).
fn replace_prefix(line: &str, layer: &str) -> (String, usize) {
    let mut out = String::with_capacity(line.len());
    let mut count = 0;
    let mut rest = line;
    let mut before: &str = "";
    while let Some(index) = rest.find(BUILD_PREFIX) {
        let preceding = format!("{before}{}", &rest[..index]);
        let after = &rest[index + BUILD_PREFIX.len()..];
        let starts_path = match preceding.chars().next_back() {
            None => true,
            Some(c) if " \t'\"=:,(".contains(c) => true,
            Some('I' | 'L') => preceding.ends_with("-I") || preceding.ends_with("-L"),
            Some(_) => false,
        };
        let ends_component = after
            .chars()
            .next()
            .is_none_or(|c| c.is_whitespace() || "/'\":,;)".contains(c));
        out.push_str(&rest[..index]);
        if starts_path && ends_component {
            out.push_str(layer);
            count += 1;
        } else {
            out.push_str(BUILD_PREFIX);
        }
        before = &rest[index..index + BUILD_PREFIX.len()];
        rest = after;
    }
    out.push_str(rest);
    (out, count)
}

/// Whether `path` can be written into a Python string, a JSON string, a Makefile and a shell
/// script as it is, without quoting.
fn is_safe_path(path: &str) -> bool {
    path.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._+-@".contains(c))
}

fn write_keeping_permissions(path: &Path, text: &str) -> io::Result<()> {
    let permissions = fs::metadata(path)?.permissions();
    fs::write(path, text)?;
    fs::set_permissions(path, permissions)
}

/// A `.pyc` the archive shipped for a patched module would hold the old values.
fn remove_stale_bytecode(path: &Path) -> io::Result<()> {
    let (Some(dir), Some(stem)) = (path.parent(), path.file_stem()) else {
        return Ok(());
    };
    if path.extension().is_none_or(|extension| extension != "py") {
        return Ok(());
    }
    let prefix = format!("{}.", stem.to_string_lossy());
    for entry in read_dir_sorted(&dir.join("__pycache__"))? {
        let name = entry.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".pyc") {
            fs::remove_file(&entry)?;
        }
    }
    Ok(())
}

#[derive(Debug)]
pub(crate) enum BuildConfigError {
    Io(io::Error),
    /// The layer's path has characters that can't be written into the configuration files.
    UnsafeLayerPath(PathBuf),
}

impl BuildConfigError {
    pub(crate) fn message(&self) -> ErrorMessage {
        match self {
            Self::Io(error) => ErrorMessage::new(
                "Unable to adjust the Python runtime's build configuration",
                formatdoc! {"
                    The buildpack could not rewrite the runtime's build configuration (the
                    compilers and paths C extensions are built with): {error}

                    This is most likely a problem with the build machine's disk. Try the build
                    again; if it keeps failing, please open an issue with this output.
                "},
            ),
            Self::UnsafeLayerPath(path) => ErrorMessage::new(
                "Unable to adjust the Python runtime's build configuration",
                formatdoc! {"
                    The Python layer's path {path} holds characters that can't be written into
                    the runtime's build configuration without quoting (only letters, digits and
                    / . _ + - @ can).

                    Run the build with a layers directory whose path has none of them (the CNB
                    default, /layers, works).
                ", path = path.display()},
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Patches `text` as a file of `kind` in a layer at `/layers/bp/python`.
    fn patched(text: &str, kind: Kind) -> (String, Vec<(String, String)>) {
        let mut replaced = Vec::new();
        let text = patch_text(text, kind, "/layers/bp/python", &mut replaced);
        (text, replaced)
    }

    #[test]
    fn sysconfigdata_commands_and_prefix() {
        // As python-build-standalone's x86_64 archives have it (pprint's layout, 3.12).
        let source = indoc::indoc! {r#"
            # system configuration generated and used by the sysconfig module
            build_time_vars = {'ABIFLAGS': '',
             'AR': '/tools/llvm/bin/llvm-ar',
             'BINDIR': '/install/bin',
             'BLDSHARED': 'clang -pthread -shared -L/install/lib '
                          '-Wl,-rpath,/install/lib',
             'CC': 'clang -pthread',
             'CCSHARED': '-fPIC',
             'CONFIG_ARGS': "'--prefix=/install' '--with-lto' 'CC=clang'",
             'CXX': 'clang++ -pthread',
             'INSTALL': '/usr/bin/install -c',
             'LDCXXSHARED': 'clang++ -pthread -shared',
             'LDSHARED': 'clang-18 -pthread -shared',
             'LINKCC': 'clang -pthread',
             'MACHDEP': 'linux',
             'srcdir': '/installer/src'}
        "#};
        let (text, replaced) = patched(source, Kind::Sysconfig);
        assert_eq!(
            text,
            indoc::indoc! {r#"
                # system configuration generated and used by the sysconfig module
                build_time_vars = {'ABIFLAGS': '',
                 'AR': 'ar',
                 'BINDIR': '/layers/bp/python/bin',
                 'BLDSHARED': 'cc -pthread -shared -L/layers/bp/python/lib '
                              '-Wl,-rpath,/layers/bp/python/lib',
                 'CC': 'cc -pthread',
                 'CCSHARED': '-fPIC',
                 'CONFIG_ARGS': "'--prefix=/layers/bp/python' '--with-lto' 'CC=clang'",
                 'CXX': 'c++ -pthread',
                 'INSTALL': '/usr/bin/install -c',
                 'LDCXXSHARED': 'c++ -pthread -shared',
                 'LDSHARED': 'cc -pthread -shared',
                 'LINKCC': 'cc -pthread',
                 'MACHDEP': 'linux',
                 'srcdir': '/installer/src'}
            "#}
        );
        let pairs: Vec<_> = replaced
            .iter()
            .map(|(from, to)| format!("{from} → {to}"))
            .collect();
        assert_eq!(
            pairs,
            [
                "/tools/llvm/bin/llvm-ar → ar",
                "/install → /layers/bp/python",
                "clang → cc",
                "clang++ → c++",
                "clang-18 → cc",
            ]
        );
    }

    #[test]
    fn json_sysconfig_makefile_and_pkgconfig() {
        let (json, _) = patched(
            "{\n    \"AR\": \"/tools/llvm/bin/llvm-ar\",\n    \"CC\": \"clang -pthread\",\n    \"prefix\": \"/install\"\n}\n",
            Kind::Sysconfig,
        );
        assert_eq!(
            json,
            "{\n    \"AR\": \"ar\",\n    \"CC\": \"cc -pthread\",\n    \"prefix\": \"/layers/bp/python\"\n}\n"
        );
        let (makefile, _) = patched(
            "CC=\t\tclang -pthread\nCXX=\t\tclang++ -pthread\nLINKCC=\t\t$(PURIFY) $(CC)\nAR=\t\t/tools/llvm/bin/llvm-ar\nprefix=\t\t/install\n\t$(CC) -c clang.c\nCCSHARED=\tclang\n",
            Kind::Makefile,
        );
        assert_eq!(
            makefile,
            "CC=\t\tcc -pthread\nCXX=\t\tc++ -pthread\nLINKCC=\t\t$(PURIFY) $(CC)\nAR=\t\tar\nprefix=\t\t/layers/bp/python\n\t$(CC) -c clang.c\nCCSHARED=\tclang\n"
        );
        let (pc, _) = patched(
            "prefix=/install\nlibdir=/install/lib\nCflags: -I${includedir}/python3.12\nLibs.private: -ldl -L/install/lib -Wl,-rpath,/install/lib\n",
            Kind::PrefixOnly,
        );
        assert_eq!(
            pc,
            "prefix=/layers/bp/python\nlibdir=/layers/bp/python/lib\nCflags: -I${includedir}/python3.12\nLibs.private: -ldl -L/layers/bp/python/lib -Wl,-rpath,/layers/bp/python/lib\n"
        );
        // A prefix-only file keeps its compiler names.
        assert_eq!(patched("CC=clang\n", Kind::PrefixOnly).0, "CC=clang\n");
    }

    #[test]
    fn commands_of_the_image_and_others_are_kept() {
        for kept in [
            "gcc",
            "cc",
            "ar",
            "/usr/bin/gcc-12",
            "$(CC)",
            "clangd",
            "ccache",
        ] {
            assert_eq!(image_command(kept), None, "{kept}");
        }
        assert_eq!(image_command("/usr/bin/aarch64-linux-gnu-gcc"), Some("cc"));
        assert_eq!(image_command("/usr/bin/aarch64-linux-gnu-g++"), Some("c++"));
        assert_eq!(image_command("/tools/llvm/bin/clang++"), Some("c++"));
        assert_eq!(image_command("llvm-ar-17"), Some("ar"));
        let (text, replaced) = patched(" 'CC': 'gcc -pthread',\n", Kind::Sysconfig);
        assert_eq!(text, " 'CC': 'gcc -pthread',\n");
        assert!(replaced.is_empty());
    }

    #[test]
    fn adjusts_the_files_of_a_layer_and_drops_their_stale_bytecode() {
        let layer = tempfile::tempdir().unwrap();
        let root = layer.path().join("python");
        let write = |path: &str, text: &str| {
            let path = root.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        };
        let sysconfigdata = "lib/python3.12/_sysconfigdata__linux_x86_64-linux-gnu.py";
        write(
            sysconfigdata,
            "build_time_vars = {'CC': 'clang -pthread',\n 'prefix': '/install'}\n",
        );
        write(
            "lib/python3.12/__pycache__/_sysconfigdata__linux_x86_64-linux-gnu.cpython-312.pyc",
            "old",
        );
        write("lib/python3.12/__pycache__/os.cpython-312.pyc", "kept");
        write(
            "lib/python3.12/config-3.12-x86_64-linux-gnu/Makefile",
            "CC=\t\tclang -pthread\n",
        );
        write("lib/pkgconfig/python-3.12.pc", "prefix=/install\n");
        std::os::unix::fs::symlink("python-3.12.pc", root.join("lib/pkgconfig/python3.pc"))
            .unwrap();
        write("bin/python3.12-config", "#!/bin/sh\nprefix=\"/install\"\n");
        fs::set_permissions(
            root.join("bin/python3.12-config"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        write("lib/python3.12/os.py", "# /install clang\n");

        adjust(&root, "3.12").unwrap();
        let read = |path: &str| fs::read_to_string(root.join(path)).unwrap();
        let layer = root.to_string_lossy();
        assert_eq!(
            read(sysconfigdata),
            format!("build_time_vars = {{'CC': 'cc -pthread',\n 'prefix': '{layer}'}}\n")
        );
        assert!(!root.join("lib/python3.12/__pycache__/_sysconfigdata__linux_x86_64-linux-gnu.cpython-312.pyc").exists());
        assert_eq!(
            read("lib/python3.12/__pycache__/os.cpython-312.pyc"),
            "kept"
        );
        assert_eq!(
            read("lib/python3.12/config-3.12-x86_64-linux-gnu/Makefile"),
            "CC=\t\tcc -pthread\n"
        );
        assert_eq!(
            read("lib/pkgconfig/python-3.12.pc"),
            format!("prefix={layer}\n")
        );
        assert!(
            fs::symlink_metadata(root.join("lib/pkgconfig/python3.pc"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            read("bin/python3.12-config"),
            format!("#!/bin/sh\nprefix=\"{layer}\"\n")
        );
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(
                &fs::metadata(root.join("bin/python3.12-config"))
                    .unwrap()
                    .permissions()
            ) & 0o777,
            0o755
        );
        // Only the build configuration: the standard library is left as it is.
        assert_eq!(read("lib/python3.12/os.py"), "# /install clang\n");
    }

    #[test]
    fn a_layer_path_that_needs_quoting_is_an_error() {
        let layer = tempfile::tempdir().unwrap();
        let root = layer.path().join("it's python");
        fs::create_dir_all(root.join("lib/pkgconfig")).unwrap();
        fs::write(
            root.join("lib/pkgconfig/python-3.12.pc"),
            "prefix=/install\n",
        )
        .unwrap();
        let error = adjust(&root, "3.12").unwrap_err();
        assert!(matches!(error, BuildConfigError::UnsafeLayerPath(_)));
        assert!(error.message().body.contains("it's python"));
    }

    #[test]
    fn build_env_points_at_the_headers_and_pc_files() {
        let layer = tempfile::tempdir().unwrap();
        fs::create_dir_all(layer.path().join("include/python3.12")).unwrap();
        fs::create_dir_all(layer.path().join("lib/pkgconfig")).unwrap();
        let mut image = libcnb::Env::new();
        image.insert("CPATH", "/invalid");
        let env = with_build_env(LayerEnv::new(), layer.path(), "3.12");
        let build = env.apply(Scope::Build, &image);
        assert_eq!(
            build.get("CPATH").unwrap(),
            format!("{}/include/python3.12:/invalid", layer.path().display()).as_str()
        );
        assert_eq!(
            build.get("PKG_CONFIG_PATH").unwrap(),
            format!("{}/lib/pkgconfig", layer.path().display()).as_str()
        );
        let launch = env.apply(Scope::Launch, &image);
        assert_eq!(launch.get("CPATH").unwrap(), "/invalid");
        assert_eq!(launch.get("PKG_CONFIG_PATH"), None);
    }
}

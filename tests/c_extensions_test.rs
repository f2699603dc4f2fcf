//! C extensions compile with the build image's compiler, although the runtime archives (like
//! python-build-standalone's `x86_64` releases, which the test runtimes reproduce) record clang,
//! llvm-ar and a `/install` prefix in their build configuration.

use crate::support::{build_output, default_build_config};
use local_platform::testing::{TestRunner, assert_contains, assert_not_contains};

/// What the launched Python's `sysconfig` says about compilers.
const PRINT_COMPILERS: &str = "python -c 'import sysconfig; print(*(sysconfig.get_config_var(name) \
     for name in (\"CC\", \"CXX\", \"LDSHARED\", \"AR\")), sep=\"|\")'";

#[test]
fn pip_compiles_a_local_c_extension_with_the_images_compiler() {
    TestRunner::default().build(default_build_config("pip_c_extension"), |context| {
        let output = build_output(&context);
        assert_contains!(
            output,
            "Adjusted the runtime's build configuration for this image (5 files): \
             /tools/llvm/bin/llvm-ar → ar, /install → "
        );
        assert_contains!(output, ", clang → cc, clang++ → c++\n");
        assert_contains!(output, "Successfully installed cgreet-1.0.0");
        assert_not_contains!(output, "clang'");

        let greeting =
            context.run_shell_command("python -c 'import cgreet; print(cgreet.greet())'");
        assert_eq!(greeting.stdout, "hello from C\n");

        let compilers = context.run_shell_command(PRINT_COMPILERS);
        let values: Vec<&str> = compilers.stdout.trim_end().split('|').collect();
        assert_eq!(values[0], "cc -pthread");
        assert_eq!(values[1], "c++ -pthread");
        assert!(
            values[2].starts_with("cc -pthread -shared"),
            "{}",
            values[2]
        );
        assert_eq!(values[3], "ar");
        assert_not_contains!(compilers.stdout, "clang");
        assert_not_contains!(compilers.stdout, "/install");
    });
}

#[test]
fn the_build_env_points_later_buildpacks_at_the_runtimes_headers_and_pc_files() {
    TestRunner::default().build(default_build_config("pip_c_extension"), |context| {
        // The python layer as the image holds it: its build env files and `.pc` files.
        let script = "import sys, sysconfig\n\
                      layer = sys.base_prefix\n\
                      minor = sysconfig.get_python_version()\n\
                      read = lambda path: open(f'{layer}/{path}').read()\n\
                      print(layer)\n\
                      print(read('env.build/CPATH.prepend') == f'{layer}/include/python{minor}')\n\
                      print(read('env.build/CPATH.delim'))\n\
                      print(read('env.build/PKG_CONFIG_PATH.prepend') == f'{layer}/lib/pkgconfig')\n\
                      print(read('env.build/PKG_CONFIG_PATH.delim'))\n\
                      print(f'prefix={layer}\\n' in read(f'lib/pkgconfig/python-{minor}.pc'))\n\
                      print('/install' in read(f'lib/pkgconfig/python-{minor}.pc'))";
        let result = context.run_shell_command(format!("python -c \"{script}\""));
        let lines: Vec<&str> = result.stdout.lines().collect();
        assert!(lines[0].ends_with("/community_python/python"), "{}", lines[0]);
        assert_eq!(lines[1..], ["True", ":", "True", ":", "True", "False"]);
    });
}

#[test]
fn pip_compiles_a_pypi_sdist_forced_with_no_binary() {
    TestRunner::default().build(default_build_config("pip_sdist_no_binary"), |context| {
        let output = build_output(&context);
        assert_contains!(output, "Building wheel for mmh3 (pyproject.toml)");
        assert_contains!(output, "Created wheel for mmh3: filename=mmh3-5.1.0-cp");
        assert_contains!(output, "Successfully installed mmh3-5.1.0");
        // The module is the extension pip compiled (a shared object), and it works.
        let result = context.run_shell_command(
            "python -c 'import mmh3; print(mmh3.__file__.endswith(\".so\"), mmh3.hash(\"foo\"))'",
        );
        assert_eq!(result.stdout, "True -156908512\n");
    });
}

/// A build image's `PATH` with every command of the default one but the C and C++ compilers.
#[cfg(not(feature = "pack"))]
fn path_without_a_c_compiler() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary dir");
    let is_compiler = |name: &str| {
        ["cc", "c++", "c89", "c99", "gcc", "g++", "cpp"].contains(&name)
            || name.starts_with("gcc-")
            || name.starts_with("g++-")
            || name.starts_with("clang")
            || name.contains("-gcc")
            || name.contains("-g++")
            || name.starts_with("c89-")
            || name.starts_with("c99-")
    };
    for source in ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin"] {
        let Ok(entries) = std::fs::read_dir(source) else {
            continue;
        };
        for entry in entries {
            let entry = entry.expect("a directory entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            let link = dir.path().join(&name);
            if !is_compiler(&name) && std::fs::symlink_metadata(&link).is_err() {
                std::os::unix::fs::symlink(entry.path(), link).expect("a symlink");
            }
        }
    }
    dir
}

#[cfg(not(feature = "pack"))]
#[test]
fn a_build_image_without_a_c_compiler_gets_a_clear_error() {
    let path = path_without_a_c_compiler();
    let mut config = crate::support::failing_build_config("pip_c_extension");
    config.build_image_path(path.path().to_string_lossy());
    TestRunner::default().build(config, |context| {
        let output = build_output(&context);
        assert_contains!(output, "error: [Errno 2] No such file or directory: 'cc'");
        assert_contains!(
            output,
            indoc::indoc! {"
                ! Error: Unable to build a package from source
                !
                ! pip had to build `cgreet` from source (it has no wheel for this Python
                ! version and platform, or it is a local project), and the build failed:
                ! see pip's output above.
                !
                ! The build needs a C compiler, but the build image has no `cc`
                ! (\"No such file or directory\"). The builder image must provide one: gcc as
                ! `cc`, as Heroku's and Paketo's builders do.
                !
                ! Either use a version of the package that publishes wheels for this
                ! Python version (check its files on the package index), or, if it needs
                ! system libraries or headers at build time, add them to the build image
                ! (for example with a buildpack that installs apt packages).
            "}
        );
        assert_not_contains!(output, "panicked");
    });
}

#[test]
fn uv_compiles_a_local_c_extension_with_the_images_compiler() {
    TestRunner::default().build(default_build_config("uv_c_extension"), |context| {
        let output = build_output(&context);
        assert_contains!(
            output,
            "Adjusted the runtime's build configuration for this image"
        );
        assert_contains!(output, "cgreet==1.0.0 (from file://");
        let greeting =
            context.run_shell_command("python -c 'import cgreet; print(cgreet.greet())'");
        assert_eq!(greeting.stdout, "hello from C\n");
    });
}

#[test]
fn pipenv_compiles_a_local_c_extension_with_the_images_compiler() {
    TestRunner::default().build(default_build_config("pipenv_c_extension"), |context| {
        let output = build_output(&context);
        assert_contains!(
            output,
            "Adjusted the runtime's build configuration for this image"
        );
        let greeting =
            context.run_shell_command("python -c 'import cgreet; print(cgreet.greet())'");
        assert_eq!(greeting.stdout, "hello from C\n");
        let compilers = context.run_shell_command(PRINT_COMPILERS);
        assert_not_contains!(compilers.stdout, "clang");
    });
}

/// The error a build image without a C compiler gives `installer` for the `cgreet` package.
#[cfg(not(feature = "pack"))]
fn no_compiler_error(installer: &str) -> String {
    format!(
        indoc::indoc! {"
            ! Error: Unable to build a package from source
            !
            ! {installer} had to build `cgreet` from source (it has no wheel for this Python
            ! version and platform, or it is a local project), and the build failed:
            ! see {installer}'s output above.
            !
            ! The build needs a C compiler, but the build image has no `cc`
            ! (\"No such file or directory\"). The builder image must provide one: gcc as
            ! `cc`, as Heroku's and Paketo's builders do.
        "},
        installer = installer
    )
}

#[cfg(not(feature = "pack"))]
#[test]
fn uv_and_pipenv_on_a_build_image_without_a_c_compiler_get_the_same_error() {
    let path = path_without_a_c_compiler();
    std::thread::scope(|scope| {
        for (fixture, installer) in [("uv_c_extension", "uv"), ("pipenv_c_extension", "Pipenv")] {
            let path = path.path().to_string_lossy().into_owned();
            scope.spawn(move || {
                let mut config = crate::support::failing_build_config(fixture);
                config.build_image_path(path);
                TestRunner::default().build(config, |context| {
                    let output = build_output(&context);
                    assert_contains!(output, "No such file or directory: 'cc'");
                    assert_contains!(output, &no_compiler_error(installer));
                    assert_not_contains!(output, "panicked");
                });
            });
        }
    });
}

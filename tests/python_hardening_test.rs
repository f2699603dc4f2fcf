//! Hostile runtime archives and inventories: links that lead out of the `python` layer,
//! credentials in inventory URLs, redirects, `file://` inventories and oversized downloads.

use crate::support::runtime_server::{
    Fault, OVERSIZED_LENGTH, ScopedInventory, available_versions, ensure_test_runtimes,
    runtime_server_url, serve_crafted, test_runtimes_dir,
};
use crate::support::{build_output, default_build_config, failing_build_config};
use indoc::formatdoc;
use local_platform::testing::TestRunner;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The app of these tests asks for Python 3.12.
const FIXTURE: &str = "python_version_file";

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// The newest 3.12 release of the test runtimes.
fn python_3_12() -> String {
    available_versions()
        .into_iter()
        .rfind(|version| version.starts_with("3.12."))
        .expect("the test runtimes include CPython 3.12")
}

fn archive_name(version: &str) -> String {
    format!(
        "cpython-{version}-{}-unknown-linux-gnu-install_only_stripped.tar.gz",
        std::env::consts::ARCH
    )
}

fn cnb_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => panic!("unsupported test architecture {other}"),
    }
}

/// An inventory with one artifact: Python `version` at `url` with `sha256`.
fn inventory(version: &str, url: &str, sha256: &str) -> Vec<u8> {
    formatdoc! {r#"
        [[artifacts]]
        version = "{version}"
        os = "linux"
        arch = "{arch}"
        url = "{url}"
        sha256 = "{sha256}"
    "#, arch = cnb_arch()}
    .into_bytes()
}

/// Serves `archive` as Python `version`'s runtime beside an inventory listing it; returns the
/// inventory's URL and the archive's.
fn serve_runtime(version: &str, archive: Vec<u8>) -> (String, String) {
    let name = archive_name(version);
    let inventory = inventory(version, &name, &sha256_hex(&archive));
    let base = serve_crafted(vec![
        ("inventory.toml".to_string(), inventory),
        (name.clone(), archive),
    ]);
    (format!("{base}inventory.toml"), format!("{base}{name}"))
}

/// A directory outside every layer that a hostile archive aims at, laid out like the runtime's
/// `bin/` and `lib/` (so that tidying and running `python3` would find what they look for).
fn canary() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("create the canary directory");
    let write = |path: &str, contents: &str, mode: u32| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("write the canary directory"))
            .expect("write the canary directory");
        std::fs::write(&path, contents).expect("write the canary directory");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .expect("write the canary directory");
    };
    write("bin/python3", "#!/bin/sh\ntouch \"$0.ran\"\n", 0o755);
    for pip in ["pip", "pip3", "pip3.12"] {
        write(&format!("bin/{pip}"), "#!/bin/sh\n", 0o755);
    }
    write("lib/python3.12/os.py", "", 0o644);
    write(
        "lib/python3.12/EXTERNALLY-MANAGED",
        "[externally-managed]\n",
        0o644,
    );
    write("lib/python3.12/site-packages/pip/__init__.py", "", 0o644);
    dir
}

/// Every entry under `root` (itself included): path, type, mode, mtime and contents (a link's
/// target), to compare byte for byte and mtime for mtime.
fn snapshot(root: &Path) -> Vec<String> {
    let mut entries = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(path) = pending.pop() {
        let metadata = std::fs::symlink_metadata(&path).expect("read the canary directory");
        let contents = if metadata.file_type().is_symlink() {
            format!(
                "-> {}",
                std::fs::read_link(&path)
                    .expect("read the canary directory")
                    .display()
            )
        } else if metadata.is_dir() {
            for entry in std::fs::read_dir(&path).expect("read the canary directory") {
                pending.push(entry.expect("read the canary directory").path());
            }
            "dir".to_string()
        } else {
            sha256_hex(&std::fs::read(&path).expect("read the canary directory"))
        };
        entries.push(format!(
            "{} {:o} {}.{:09} {contents}",
            path.strip_prefix(root)
                .expect("read the canary directory")
                .display(),
            metadata.mode(),
            metadata.mtime(),
            metadata.mtime_nsec(),
        ));
    }
    entries.sort();
    entries
}

/// `x1/x2/.../x20`, the directories of the chain.
fn chain_dirs() -> PathBuf {
    (1..=20).map(|i| format!("x{i}")).collect()
}

/// Appends the chain of the issue: `x1/.../x20/u1 -> ../..(20 times)` and
/// `x1/.../x20/u2 -> u1/../..(20 times)`. Each looks harmless on its own; `u2` resolves to `/`.
/// Then each `(name, path)` of `links` becomes `python/<name> -> x1/.../x20/u2/<path>`.
fn append_chain<W: std::io::Write>(builder: &mut tar::Builder<W>, links: &[(&str, &Path)]) {
    let dirs = chain_dirs();
    let mut path = PathBuf::from("python");
    for dir in &dirs {
        path.push(dir);
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(0o755);
        header.set_size(0);
        builder
            .append_data(&mut header, &path, std::io::empty())
            .expect("build the archive");
    }
    let up = "../".repeat(20);
    let mut link = |name: PathBuf, target: String| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_mode(0o777);
        header.set_size(0);
        builder
            .append_link(&mut header, name, target)
            .expect("build the archive");
    };
    link(path.join("u1"), up.clone());
    link(path.join("u2"), format!("u1/{up}"));
    for (name, outside) in links {
        let outside = outside.strip_prefix("/").expect("an absolute path");
        link(
            Path::new("python").join(name),
            format!("{}/u2/{}", dirs.display(), outside.display()),
        );
    }
}

fn gzip(tar: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut encoder, tar).expect("gzip the archive");
    encoder.finish().expect("gzip the archive")
}

/// The message the build fails with for the chain's `u2`.
fn refused_u2(archive_url: &str) -> String {
    formatdoc! {"
        ! Error: Unable to unpack the Python runtime
        !
        ! The archive from {archive_url} was refused because of its entry python/{dirs}/u2: it is a symlink that resolves outside the layer through other links.
        !
        ! The runtime archive must be a .tar.gz in python-build-standalone's
        ! install_only layout: one top-level python/ directory, with no links
        ! pointing outside it. Check the archive that the runtime inventory lists.
    ", dirs = chain_dirs().display()}
}

/// A stub archive whose `bin` and `lib` lead, through the chain, to a directory outside the
/// layer: the build would add `bin/python` there, delete the pips and `EXTERNALLY-MANAGED`, and
/// run its `bin/python3`. It is refused, and the directory is left as it was.
#[test]
fn python_archive_with_a_chain_of_links_out_of_the_layer_is_refused() {
    let canary = canary();
    let before = snapshot(canary.path());
    let mut builder = tar::Builder::new(Vec::new());
    append_chain(
        &mut builder,
        &[
            ("bin", &canary.path().join("bin")),
            ("lib", &canary.path().join("lib")),
        ],
    );
    let version = python_3_12();
    let (inventory_url, archive_url) =
        serve_runtime(&version, gzip(&builder.into_inner().unwrap()));
    let mut config = failing_build_config(FIXTURE);
    config.env("BP_PYTHON_INVENTORY", &inventory_url);
    TestRunner::default().build(&config, |context| {
        let output = build_output(&context);
        let expected = refused_u2(&archive_url);
        assert!(
            output.contains(&expected),
            "expected:\n{expected}\nin:\n{output}"
        );
        assert!(!output.contains("compileall"), "{output}");
    });
    assert_eq!(snapshot(canary.path()), before);
}

/// A real runtime with the chain added (`python/etc-link` leading to a directory outside the
/// layer) would build, and the image and cache would hold a link to the build machine's files.
/// It is refused, and the directory is left as it was.
#[test]
fn python_real_runtime_with_a_chain_of_links_out_of_the_layer_is_refused() {
    let canary = canary();
    let before = snapshot(canary.path());
    let version = python_3_12();
    let original = std::fs::read(test_runtimes_dir().join(archive_name(&version))).unwrap();
    let mut builder = tar::Builder::new(Vec::new());
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(original.as_slice()));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut header = entry.header().clone();
        let path = entry.path().unwrap().into_owned();
        if let Some(target) = entry.link_name().unwrap().map(std::borrow::Cow::into_owned) {
            builder.append_link(&mut header, &path, target).unwrap();
        } else {
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            builder
                .append_data(&mut header, &path, data.as_slice())
                .unwrap();
        }
    }
    append_chain(&mut builder, &[("etc-link", canary.path())]);
    let (inventory_url, archive_url) =
        serve_runtime(&version, gzip(&builder.into_inner().unwrap()));
    let mut config = failing_build_config(FIXTURE);
    config.env("BP_PYTHON_INVENTORY", &inventory_url);
    TestRunner::default().build(&config, |context| {
        let output = build_output(&context);
        let expected = refused_u2(&archive_url);
        assert!(
            output.contains(&expected),
            "expected:\n{expected}\nin:\n{output}"
        );
    });
    assert_eq!(snapshot(canary.path()), before);
}

/// Every file under `dir` (not following links) whose bytes contain one of `secrets`.
fn files_containing(dir: &Path, secrets: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let metadata = std::fs::symlink_metadata(&path).expect("read the platform's work dir");
        let bytes = if metadata.file_type().is_symlink() {
            std::fs::read_link(&path)
                .expect("read the platform's work dir")
                .into_os_string()
                .into_encoded_bytes()
        } else if metadata.is_dir() {
            for entry in std::fs::read_dir(&path).expect("read the platform's work dir") {
                pending.push(entry.expect("read the platform's work dir").path());
            }
            continue;
        } else {
            std::fs::read(&path).expect("read the platform's work dir")
        };
        for secret in secrets {
            if bytes
                .windows(secret.len())
                .any(|window| window == secret.as_bytes())
            {
                found.push(format!("{} holds {secret}", path.display()));
            }
        }
    }
    found
}

/// Secrets in `BP_PYTHON_INVENTORY` and in an inventory entry's URL: user-info and query strings.
const SECRETS: [&str; 4] = ["inv-s3cret", "inv-t0ken", "entry-s3cret", "entry-t0ken"];

/// `http://127.0.0.1:<port>/` with user-info, for `path` (on the runtime server) and a query.
fn with_credentials(url: &str, user_info: &str, query: &str) -> String {
    format!(
        "{}?{query}",
        url.replacen("http://", &format!("http://{user_info}@"), 1)
    )
}

/// An inventory (at a URL with credentials) whose entry's URL has credentials too: the build
/// output shows neither, and no file of the image, the cache or the layers holds them (the
/// `python` layer's SBOM records the URL without them). The platform's own copy of the env
/// (`<work>/platform/env`, the user's input) is left out of the search.
#[test]
fn python_inventory_credentials_are_never_shown_nor_stored() {
    let version = python_3_12();
    let name = archive_name(&version);
    let archive = std::fs::read(test_runtimes_dir().join(&name)).unwrap();
    let archive_url = runtime_server_url(&format!("/{name}"));
    let (inventory_url, shown) =
        credentialed_inventory(&version, &archive_url, &sha256_hex(&archive));
    let mut config = default_build_config(FIXTURE);
    config.env("BP_PYTHON_INVENTORY", &inventory_url);
    TestRunner::default().build(&config, |context| {
        let output = build_output(&context);
        assert!(
            output.contains(&format!("  - Downloading {shown} ...")),
            "{output}"
        );
        for secret in SECRETS {
            assert!(!output.contains(secret), "{secret} in:\n{output}");
        }
        let work = context.work_dir();
        let mut found = Vec::new();
        for entry in std::fs::read_dir(work).unwrap() {
            let path = entry.unwrap().path();
            if path != work.join("platform") {
                found.extend(files_containing(&path, &SECRETS));
            }
        }
        assert_eq!(found, Vec::<String>::new());
        let sbom =
            std::fs::read_to_string(work.join("layers/community_python/python.sbom.cdx.json"))
                .unwrap();
        assert!(
            sbom.contains(&format!("\"url\": \"{archive_url}\"")),
            "{sbom}"
        );
    });
}

/// An inventory served with credentials in its own URL and in its entry's `url` (pointing at
/// `archive_url`): the inventory URL to build with, and the archive URL as the build shows it.
fn credentialed_inventory(version: &str, archive_url: &str, sha256: &str) -> (String, String) {
    let entry_url = with_credentials(archive_url, "entry-user:entry-s3cret", "token=entry-t0ken");
    let base = serve_crafted(vec![(
        "inventory.toml".to_string(),
        inventory(version, &entry_url, sha256),
    )]);
    let inventory_url = with_credentials(
        &format!("{base}inventory.toml"),
        "inv-user:inv-s3cret",
        "token=inv-t0ken",
    );
    let shown = format!(
        "{}?****",
        archive_url.replacen("http://", "http://****@", 1)
    );
    (inventory_url, shown)
}

/// A download error names the URL without its credentials.
#[test]
fn python_download_errors_show_no_credentials() {
    let version = python_3_12();
    let missing_url = runtime_server_url("/no-such-runtime.tar.gz");
    let (inventory_url, shown) = credentialed_inventory(&version, &missing_url, &"0".repeat(64));
    let mut config = failing_build_config(FIXTURE);
    config.env("BP_PYTHON_INVENTORY", &inventory_url);
    TestRunner::default().build(&config, |context| {
        let output = build_output(&context);
        let expected = formatdoc! {"
            ! The server answered 404 Not Found for {shown}: the file isn't there.
        "};
        assert!(
            output.contains(&expected),
            "expected:\n{expected}\nin:\n{output}"
        );
        for secret in SECRETS {
            assert!(!output.contains(secret), "{secret} in:\n{output}");
        }
    });
}

/// An inventory reached through a redirect: its relative URLs resolve against the URL it was
/// finally served from.
#[test]
fn python_inventory_behind_a_redirect_resolves_against_the_final_url() {
    let mut config = default_build_config(FIXTURE);
    config.env(
        "BP_PYTHON_INVENTORY",
        runtime_server_url("/redirect/inventory.toml"),
    );
    TestRunner::default().build(&config, |context| {
        let output = build_output(&context);
        let archive_url = runtime_server_url(&format!("/{}", archive_name(&python_3_12())));
        assert!(
            output.contains(&format!("  - Downloading {archive_url} ...")),
            "{output}"
        );
    });
}

/// `BP_PYTHON_INVENTORY` may be a `file://` URL.
#[test]
fn python_inventory_from_a_file_url() {
    ensure_test_runtimes();
    let mut config = default_build_config(FIXTURE);
    config.env(
        "BP_PYTHON_INVENTORY",
        format!(
            "file://{}",
            test_runtimes_dir().join("inventory.toml").display()
        ),
    );
    TestRunner::default().build(&config, |context| {
        let output = build_output(&context);
        let archive = test_runtimes_dir().join(archive_name(&python_3_12()));
        assert!(
            output.contains(&format!("  - Copying {} ...", archive.display())),
            "{output}"
        );
    });
}

/// A server that announces more than the download cap is refused at once, without retries.
#[test]
fn python_runtime_larger_than_the_cap_is_refused() {
    let inventory = ScopedInventory::with_fault(Fault::Oversized);
    let mut config = failing_build_config(FIXTURE);
    config.env("BP_PYTHON_INVENTORY", inventory.url());
    TestRunner::default().build(&config, |context| {
        let output = build_output(&context);
        let version = python_3_12();
        let url = inventory
            .url()
            .replace("inventory.toml", &archive_name(&version));
        let expected = formatdoc! {"
            ! Error: Unable to download the Python {version} runtime
            !
            ! The server announced {OVERSIZED_LENGTH} bytes for {url},
            ! more than the 256 MiB limit for the Python {version} runtime: nothing was downloaded.
            !
            ! No file that large can be what was asked for. Check that the location is
            ! right, and that the server (or a proxy in between) serves the file itself.
        "};
        assert!(
            output.contains(&expected),
            "expected:\n{expected}\nin:\n{output}"
        );
        let archives = inventory
            .requests()
            .iter()
            .filter(|path| path.ends_with(".tar.gz"))
            .count();
        assert_eq!(archives, 1);
    });
}

/// A `git+https://` requirement whose clone fails is reported as a failed checkout, with git's
/// error, not as a package that failed to build.
#[test]
fn pip_vcs_requirement_whose_clone_fails() {
    TestRunner::default().build(failing_build_config("pip_vcs_clone_failure"), |context| {
        let output = build_output(&context);
        let expected = formatdoc! {"
            ! Error: Unable to fetch a package from version control
            !
            ! A requirement is a version control URL, and git could not check out
            ! `https://127.0.0.1:1/example/example-package.git`: git said:
            !   fatal: unable to access 'https://127.0.0.1:1/example/example-package.git/': Failed to connect to 127.0.0.1 port 1"};
        assert!(output.contains(&expected), "expected:\n{expected}\nin:\n{output}");
        assert!(!output.contains("Unable to build a package from source"), "{output}");
    });
}

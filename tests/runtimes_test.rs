//! The test runtimes (`scripts/build-test-runtimes`) and the server that serves them.

#[cfg(not(feature = "pack"))]
use crate::support::default_build_config;
use crate::support::runtime_server::{
    self, Fault, InventoryArtifact, ScopedInventory, available_versions, ensure_test_runtimes,
    fault_inventory_url, inventory_url, runtime_server_url, test_runtimes_dir,
};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;

#[cfg(not(feature = "pack"))]
use local_platform::testing::{TestRunner, assert_contains};

fn parse_inventory(text: &str) -> Vec<InventoryArtifact> {
    runtime_server::parse_inventory(text).expect("the inventory parses")
}

fn local_inventory() -> Vec<InventoryArtifact> {
    ensure_test_runtimes();
    let path = test_runtimes_dir().join("inventory.toml");
    parse_inventory(&std::fs::read_to_string(&path).expect("the script wrote inventory.toml"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// GET `url`: status and the whole body (or the error that reading the body ended with).
fn get(url: &str) -> (u16, Result<Vec<u8>, std::io::Error>) {
    let mut response = agent()
        .get(url)
        .call()
        .unwrap_or_else(|error| panic!("GET {url}: {error}"));
    let status = response.status().as_u16();
    let mut body = Vec::new();
    let read = response
        .body_mut()
        .as_reader()
        .read_to_end(&mut body)
        .map(|_| body);
    (status, read)
}

/// URL of an inventory's artifact, resolved against the inventory URL as the buildpack does.
fn artifact_url(inventory_url: &str, artifact: &InventoryArtifact) -> String {
    let (base, _) = inventory_url
        .rsplit_once('/')
        .expect("an inventory URL has a path");
    format!("{base}/{}", artifact.url)
}

#[test]
fn inventory_lists_every_pyenv_runtime_3_10_and_newer() {
    let pyenv_root = pyenv_root();
    let mut expected: Vec<String> = std::fs::read_dir(pyenv_root.join("versions"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| {
            let parts: Vec<&str> = name.split('.').collect();
            parts.len() == 3
                && parts[0] == "3"
                && parts[1].parse::<u32>().is_ok_and(|minor| minor >= 10)
                && parts[2].parse::<u32>().is_ok()
        })
        .collect();
    expected.sort_by_key(|version| {
        version
            .split('.')
            .map(|part| part.parse::<u32>().unwrap())
            .collect::<Vec<_>>()
    });
    assert!(
        !expected.is_empty(),
        "no pyenv CPython 3.10+ on this machine"
    );

    let inventory = local_inventory();
    let versions: Vec<&str> = inventory.iter().map(|a| a.version.as_str()).collect();
    assert_eq!(versions, expected);
    assert_eq!(available_versions(), expected);

    let (triple_arch, cnb_arch) = match std::env::consts::ARCH {
        "x86_64" => ("x86_64", "amd64"),
        "aarch64" => ("aarch64", "arm64"),
        other => panic!("unsupported test architecture {other}"),
    };
    for artifact in &inventory {
        assert_eq!(artifact.os, "linux");
        assert_eq!(artifact.arch, cnb_arch);
        assert_eq!(
            artifact.url,
            format!(
                "cpython-{}-{triple_arch}-unknown-linux-gnu-install_only_stripped.tar.gz",
                artifact.version
            )
        );
        assert_eq!(artifact.sha256.len(), 64);
        assert!(
            artifact
                .sha256
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
    }
}

fn pyenv_root() -> PathBuf {
    std::env::var_os("PYENV_ROOT")
        .filter(|value| !value.is_empty())
        .map_or_else(
            || PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".pyenv"),
            PathBuf::from,
        )
}

fn unpack(archive: &[u8], destination: &Path) -> Vec<String> {
    let mut entries = Vec::new();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    for entry in tar.entries().expect("unpack the archive") {
        let mut entry = entry.expect("unpack the archive");
        let header = entry.header();
        assert_eq!(header.mtime().expect("unpack the archive"), 0);
        assert_eq!(
            (
                header.uid().expect("unpack the archive"),
                header.gid().expect("unpack the archive")
            ),
            (0, 0)
        );
        entries.push(
            entry
                .path()
                .expect("unpack the archive")
                .to_string_lossy()
                .into_owned(),
        );
        assert!(entry.unpack_in(destination).expect("unpack the archive"));
    }
    entries
}

/// Unpacks an archive of the inventory into a temporary directory, checking its digest and its
/// python-build-standalone layout. Returns the directory (deleted on drop), its `python/` dir
/// and the `X.Y` version.
fn unpack_runtime(artifact: &InventoryArtifact) -> (tempfile::TempDir, PathBuf, String) {
    let archive =
        std::fs::read(test_runtimes_dir().join(&artifact.url)).expect("read the runtime archive");
    assert_eq!(sha256_hex(&archive), artifact.sha256, "{}", artifact.url);

    let temp_dir = tempfile::tempdir().expect("create a temporary directory");
    let root = temp_dir
        .path()
        .canonicalize()
        .expect("canonicalize the temporary directory");
    let entries = unpack(&archive, &root);
    assert!(
        entries
            .iter()
            .all(|path| path == "python" || path.starts_with("python/")),
        "{} has entries outside python/",
        artifact.url
    );
    assert!(
        entries
            .windows(2)
            .all(|pair| Path::new(&pair[0]) < Path::new(&pair[1])),
        "{} entries are not sorted",
        artifact.url
    );
    let minor = artifact
        .version
        .rsplit_once('.')
        .map(|(minor, _)| minor)
        .expect("an X.Y.Z version");
    let python = root.join("python");
    for expected in [
        "bin/python3".to_string(),
        format!("bin/python{minor}"),
        "bin/pip3".to_string(),
        format!("lib/libpython{minor}.so"),
        format!("lib/libpython{minor}.so.1.0"),
        format!("lib/python{minor}/os.py"),
        format!("lib/python{minor}/site-packages/pip/__init__.py"),
        format!("lib/python{minor}/ensurepip/__init__.py"),
    ] {
        assert!(
            python.join(&expected).exists(),
            "{}: missing python/{expected}",
            artifact.url
        );
    }
    (temp_dir, python, minor.to_string())
}

/// Each archive, unpacked into a fresh directory, runs with the pyenv tree hidden (a tmpfs
/// mounted over `PYENV_ROOT` in a private mount namespace): `sys.prefix` is the unpacked
/// directory, `libpython` is mapped from there, the modules real apps need import, and the
/// rewritten `pip3` script starts.
#[test]
fn runtime_archives_are_relocatable_with_pyenv_hidden() {
    let pyenv_root = pyenv_root();
    let inventory = local_inventory();
    // One thread per archive: most of the time goes to unpacking and starting pip.
    let check = |artifact: &InventoryArtifact| {
        let (_temp_dir, python, minor) = unpack_runtime(artifact);

        let probe = "import ctypes, json, platform, sqlite3, ssl, sys, venv\n\
                     ctypes.CDLL(None)\n\
                     ssl.create_default_context()\n\
                     sqlite3.connect(':memory:').execute('select 1')\n\
                     maps = sorted({l.split()[-1] for l in open('/proc/self/maps') if 'libpython' in l})\n\
                     print(json.dumps({'prefix': sys.prefix, 'version': platform.python_version(), 'libpython': maps}))";
        let output = Command::new("unshare")
            .args([
                "-m",
                "sh",
                "-c",
                r#"mount -t tmpfs none "$1" || exit 98
                   [ ! -e "$1/versions" ] || exit 97
                   "$2/python3" -c "$3" && "$2/pip3" --version"#,
                "sh",
            ])
            .arg(&pyenv_root)
            .arg(python.join("bin"))
            .arg(probe)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("LANG", "C.UTF-8")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .expect("run unshare (util-linux)");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{} with {} hidden: {} (98: cannot mount over it, this test needs root; \
             97: still visible)\nstdout: {stdout}\nstderr: {stderr}",
            artifact.url,
            pyenv_root.display(),
            output.status,
        );
        let mut lines = stdout.lines();
        let report: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(
            report,
            serde_json::json!({
                "prefix": python.to_str().unwrap(),
                "version": artifact.version,
                "libpython": [python.join(format!("lib/libpython{minor}.so.1.0")).to_str().unwrap()],
            }),
            "{}",
            artifact.url
        );
        let pip_version = lines.next().unwrap();
        assert!(
            pip_version.contains(&format!(
                "from {}/lib/python{minor}/site-packages/pip (python {minor})",
                python.display()
            )),
            "{pip_version}"
        );
    };
    std::thread::scope(|scope| {
        for artifact in &inventory {
            scope.spawn(|| check(artifact));
        }
    });
}

#[test]
fn runtime_server_serves_the_inventory_and_intact_archives() {
    let url = inventory_url();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let (status, body) = get(&url);
    assert_eq!(status, 200);
    let served = parse_inventory(&String::from_utf8(body.unwrap()).unwrap());
    let local = local_inventory();
    assert_eq!(served.len(), local.len());
    for (artifact, expected) in served.iter().zip(&local) {
        assert_eq!(artifact.url, expected.url);
        assert_eq!(artifact.sha256, expected.sha256);
        let (status, body) = get(&artifact_url(&url, artifact));
        assert_eq!(status, 200);
        assert_eq!(sha256_hex(&body.unwrap()), artifact.sha256);
    }

    for path in [
        "/no-such-file.tar.gz",
        "/.stamp.json",
        "/../Cargo.toml",
        "/a/b/c",
    ] {
        assert_eq!(get(&runtime_server_url(path)).0, 404, "{path}");
    }
}

#[test]
fn fault_inventories_point_at_failing_archives() {
    let local = local_inventory();
    let first = &local[0];

    for (fault, expected_status) in [(Fault::ServerError, 500), (Fault::NotFound, 404)] {
        let url = fault_inventory_url(fault);
        let (status, body) = get(&url);
        assert_eq!(status, 200, "{fault:?} inventory");
        let served = parse_inventory(&String::from_utf8(body.unwrap()).unwrap());
        let versions: Vec<&str> = served.iter().map(|a| a.version.as_str()).collect();
        let expected_versions: Vec<&str> = local.iter().map(|a| a.version.as_str()).collect();
        assert_eq!(versions, expected_versions, "{fault:?}");
        for artifact in &served {
            let (status, _) = get(&artifact_url(&url, artifact));
            assert_eq!(status, expected_status, "{fault:?} {}", artifact.url);
        }
    }

    // Wrong digest: the archive is intact, the inventory's digest is not its digest.
    let url = fault_inventory_url(Fault::WrongDigest);
    let served = parse_inventory(&String::from_utf8(get(&url).1.unwrap()).unwrap());
    for (artifact, expected) in served.iter().zip(&local) {
        assert_eq!(artifact.version, expected.version);
        assert_ne!(artifact.sha256, expected.sha256);
        assert_eq!(artifact.sha256.len(), 64);
        let (status, body) = get(&artifact_url(&url, artifact));
        assert_eq!(status, 200);
        assert_eq!(sha256_hex(&body.unwrap()), expected.sha256);
    }

    // Truncated body: the announced length is the archive's, the connection closes halfway.
    let url = fault_inventory_url(Fault::TruncatedBody);
    let served = parse_inventory(&String::from_utf8(get(&url).1.unwrap()).unwrap());
    let archive_url = artifact_url(&url, &served[0]);
    let size = std::fs::metadata(test_runtimes_dir().join(&first.url))
        .unwrap()
        .len();
    let (head, body) = raw_get(&archive_url);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains(&format!("\r\nContent-Length: {size}\r\n")),
        "{head}"
    );
    assert_eq!(body.len() as u64, size / 2);
    let (status, read) = get(&archive_url);
    assert_eq!(status, 200);
    assert!(read.is_err(), "a real client must see the truncated body");
}

/// A GET without an HTTP library: the response head as text and the body bytes up to EOF.
fn raw_get(url: &str) -> (String, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("raw HTTP GET");
    let (authority, path) = rest.split_at(rest.find('/').expect("raw HTTP GET"));
    let mut stream = TcpStream::connect(authority).expect("raw HTTP GET");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .expect("raw HTTP GET");
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("raw HTTP GET");
        head.push_str(&line);
        if line == "\r\n" || line.is_empty() {
            break;
        }
    }
    let mut body = Vec::new();
    reader.read_to_end(&mut body).expect("raw HTTP GET");
    (head, body)
}

#[test]
fn scoped_inventory_records_its_requests() {
    let scoped = ScopedInventory::new();
    let other = ScopedInventory::with_fault(Fault::NotFound);
    assert_ne!(scoped.url(), other.url());
    assert_eq!(scoped.requests(), Vec::<String>::new());

    let (status, body) = get(scoped.url());
    assert_eq!(status, 200);
    let served = parse_inventory(&String::from_utf8(body.unwrap()).unwrap());
    let artifact = served.last().unwrap();
    let (status, body) = get(&artifact_url(scoped.url(), artifact));
    assert_eq!(status, 200);
    assert_eq!(sha256_hex(&body.unwrap()), artifact.sha256);

    let (status, _) = get(&artifact_url(other.url(), artifact));
    assert_eq!(status, 404);

    assert_eq!(
        scoped.requests(),
        vec!["/inventory.toml".to_string(), format!("/{}", artifact.url)]
    );
    assert_eq!(
        other.requests(),
        vec![format!("/fault/status-404/{}", artifact.url)]
    );
}

/// `default_build_config` end to end with the real buildpack: the runtime comes over HTTP from
/// the runtime server despite the hostile env, runs in the image, and the rebuild reuses it
/// without downloading it again.
#[cfg(not(feature = "pack"))]
#[test]
fn the_default_build_config_installs_python_from_the_runtime_server() {
    let version = available_versions()
        .into_iter()
        .rfind(|version| version.starts_with("3.12."))
        .expect("the test runtimes include CPython 3.12 (pyenv install 3.12)");
    let archive = format!(
        "/cpython-{version}-{}-unknown-linux-gnu-install_only_stripped.tar.gz",
        std::env::consts::ARCH
    );
    let scoped = ScopedInventory::new();
    let mut config = default_build_config("python_3_12");
    config.env("BP_PYTHON_INVENTORY", scoped.url());

    TestRunner::default().build(&config, |context| {
        assert_contains!(context.pack_stdout, &format!("Installing Python {version}"));
        assert_eq!(scoped.requests(), ["/inventory.toml", archive.as_str()]);

        let output = context.run_shell_command(
            "python3 -c 'import platform, sqlite3, ssl, sys; print(platform.python_version(), sys.base_prefix)'",
        );
        let (reported_version, prefix) = output.stdout.trim().split_once(' ').unwrap();
        assert_eq!(reported_version, version);
        assert!(!prefix.contains(".pyenv"), "{prefix}");
        assert!(prefix.contains("/python"), "{prefix}");

        context.rebuild(&config, |context| {
            assert_contains!(context.pack_stdout, &format!("Using cached Python {version}"));
            assert_eq!(
                scoped.requests(),
                ["/inventory.toml", archive.as_str(), "/inventory.toml"]
            );
        });
    });
}

/// The `x86_64` test runtimes record python-build-standalone's real build configuration (clang,
/// llvm-ar, the `/install` prefix: see `scripts/build-test-runtimes`), so that the tests build C
/// extensions through the same adjustment as users' builds.
#[test]
fn x86_64_test_runtimes_record_python_build_standalones_build_configuration() {
    if !cfg!(target_arch = "x86_64") {
        return;
    }
    for artifact in local_inventory() {
        let archive = std::fs::read(test_runtimes_dir().join(&artifact.url)).unwrap();
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive.as_slice()));
        let (mut sysconfigdata, mut makefile) = (String::new(), String::new());
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let name = path.rsplit('/').next().unwrap_or_default().to_string();
            if name.starts_with("_sysconfigdata_")
                && Path::new(&name)
                    .extension()
                    .is_some_and(|extension| extension == "py")
            {
                entry.read_to_string(&mut sysconfigdata).unwrap();
            } else if name == "Makefile" && path.contains("/config-") {
                entry.read_to_string(&mut makefile).unwrap();
            }
        }
        for line in [
            "'CC': 'clang -pthread'",
            "'CXX': 'clang++ -pthread'",
            "'LDSHARED': 'clang -pthread -shared",
            "'LDCXXSHARED': 'clang++ -pthread -shared",
            "'LINKCC': 'clang -pthread'",
            "'AR': '/tools/llvm/bin/llvm-ar'",
            "'prefix': '/install'",
        ] {
            assert!(sysconfigdata.contains(line), "{}: no {line}", artifact.url);
        }
        for line in [
            "\nCC=\t\tclang -pthread\n",
            "\nCXX=\t\tclang++ -pthread\n",
            "\nAR=\t\t/tools/llvm/bin/llvm-ar\n",
        ] {
            assert!(makefile.contains(line), "{}: no {line:?}", artifact.url);
        }
    }
}

//! An HTTP/1.1 server on 127.0.0.1 that serves `target/test-runtimes/` (the relocatable `CPython`
//! archives and `inventory.toml` written by `scripts/build-test-runtimes`), so that builds get
//! real runtimes over real HTTP without reaching the internet.
//!
//! One server per test process, started on first use; the script runs first (once per process;
//! it returns at once when its cache is up to date).
//!
//! Routes:
//! - `/<file>`: a file of `target/test-runtimes/` (`inventory.toml`, the archives).
//! - `/fault/<kind>/inventory.toml`: the inventory with the same relative URLs, so its artifacts
//!   resolve to `/fault/<kind>/<archive>`, where the fault happens (see [`Fault`]).
//! - `/scoped/<n>/...`: any of the above, recorded for [`ScopedInventory::requests`].
//! - `/crafted/<n>/<file>`: files a test made (hostile archives, inventories), see [`serve_crafted`].
//! - `/redirect/inventory.toml`: `302 Found` to `/inventory.toml`, whose relative URLs must then
//!   resolve against the final URL.
//! - `/index-with-only-pip/simple/`: a package index (PEP 503) that has pip, by redirecting to
//!   `PyPI`'s page for it, and nothing else: a private index lacking the package managers.
//! - `/tampered/<wheel>/simple/`: a package index that has every project of `PyPI` (redirecting
//!   to its pages) except the one `<wheel>` (a wheel's file name) belongs to, whose page lists
//!   only `<wheel>`, served with other bytes than `PyPI`'s: a mirror that changed a file.
//!
//! Every response closes the connection.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread;

/// What `/tampered/<wheel>/files/<wheel>` serves instead of the wheel.
pub(crate) const TAMPERED_WHEEL: &[u8] = b"not the wheel PyPI has\n";

/// A fault the server injects into archive downloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Archive requests answer `500 Internal Server Error`.
    ServerError,
    /// Archive requests answer `404 Not Found`.
    NotFound,
    /// Archive responses announce the whole `Content-Length`, send half the body, then close.
    TruncatedBody,
    /// The inventory's `sha256` values are wrong; the archives themselves are served intact.
    WrongDigest,
    /// Archive responses announce a `Content-Length` of [`OVERSIZED_LENGTH`] bytes (more than
    /// any runtime archive can be), send a few bytes, then close.
    Oversized,
}

/// The length [`Fault::Oversized`] announces: 5 GiB.
pub(crate) const OVERSIZED_LENGTH: u64 = 5 * 1024 * 1024 * 1024;

impl Fault {
    const ALL: [Fault; 5] = [
        Fault::ServerError,
        Fault::NotFound,
        Fault::TruncatedBody,
        Fault::WrongDigest,
        Fault::Oversized,
    ];

    fn route(self) -> &'static str {
        match self {
            Fault::ServerError => "status-500",
            Fault::NotFound => "status-404",
            Fault::TruncatedBody => "truncated",
            Fault::WrongDigest => "wrong-digest",
            Fault::Oversized => "oversized",
        }
    }

    fn from_route(route: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|fault| fault.route() == route)
    }
}

/// The directory `scripts/build-test-runtimes` writes to.
pub(crate) fn test_runtimes_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-runtimes")
}

/// URL of the test inventory (every runtime built from this machine's pyenv).
pub(crate) fn inventory_url() -> String {
    runtime_server_url("/inventory.toml")
}

/// URL of an inventory whose artifacts all hit `fault` when downloaded.
pub(crate) fn fault_inventory_url(fault: Fault) -> String {
    runtime_server_url(&format!("/fault/{}/inventory.toml", fault.route()))
}

/// URL of `path` (starting with `/`) on the runtime server, e.g. to point
/// `BP_PYTHON_INVENTORY` at a URL that answers 404 (`/no-such-inventory.toml`) or 500
/// (`/fault/status-500/inventory-unavailable.toml`).
pub(crate) fn runtime_server_url(path: &str) -> String {
    format!("{}{path}", server().base_url)
}

/// The Python versions in the test inventory, oldest first (e.g. `["3.10.13", ..., "3.13.0"]`).
pub(crate) fn available_versions() -> Vec<String> {
    server()
        .artifacts
        .iter()
        .map(|artifact| artifact.version.clone())
        .collect()
}

/// The test inventory (or a fault inventory) under a URL prefix of its own, so that a test can
/// see which requests its builds made (for example, that a rebuild downloaded no runtime)
/// while other tests use the same server.
pub(crate) struct ScopedInventory {
    scope: String,
    url: String,
}

impl ScopedInventory {
    pub(crate) fn new() -> Self {
        Self::with_inventory_path("/inventory.toml")
    }

    pub(crate) fn with_fault(fault: Fault) -> Self {
        Self::with_inventory_path(&format!("/fault/{}/inventory.toml", fault.route()))
    }

    fn with_inventory_path(inventory_path: &str) -> Self {
        static NEXT_SCOPE: AtomicUsize = AtomicUsize::new(1);
        let scope = format!("/scoped/{}", NEXT_SCOPE.fetch_add(1, Ordering::Relaxed));
        let url = runtime_server_url(&format!("{scope}{inventory_path}"));
        Self { scope, url }
    }

    /// The inventory URL to pass as `BP_PYTHON_INVENTORY`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Paths requested under this scope so far, in order, without the scope prefix
    /// (e.g. `["/inventory.toml", "/cpython-3.13.0-...tar.gz"]`).
    pub(crate) fn requests(&self) -> Vec<String> {
        let prefix = format!("{}/", self.scope);
        server()
            .requests
            .lock()
            .expect("request log lock poisoned")
            .iter()
            .filter_map(|path| path.strip_prefix(&prefix).map(|rest| format!("/{rest}")))
            .collect()
    }
}

/// Serves `files` (name, bytes) under a URL prefix of their own, and returns that prefix (ending
/// with `/`): `<prefix><name>` answers the file's bytes, as long as the test process runs.
// Under `--features pack` the tests that use it are left out (builds in a container can't reach
// 127.0.0.1).
#[cfg_attr(feature = "pack", allow(dead_code))]
pub(crate) fn serve_crafted(files: Vec<(String, Vec<u8>)>) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    let scope = NEXT.fetch_add(1, Ordering::Relaxed).to_string();
    let server = server();
    server
        .crafted
        .lock()
        .expect("crafted files lock poisoned")
        .extend(
            files
                .into_iter()
                .map(|(name, bytes)| ((scope.clone(), name), bytes)),
        );
    format!("{}/crafted/{scope}/", server.base_url)
}

struct RuntimeServer {
    base_url: String,
    /// Files of [`serve_crafted`], by (scope, name).
    crafted: Mutex<std::collections::HashMap<(String, String), Vec<u8>>>,
    dir: PathBuf,
    inventory: String,
    artifacts: Vec<InventoryArtifact>,
    requests: Mutex<Vec<String>>,
}

#[derive(serde::Deserialize)]
struct Inventory {
    artifacts: Vec<InventoryArtifact>,
}

/// One `[[artifacts]]` entry of an inventory file.
#[derive(serde::Deserialize, Debug)]
pub(crate) struct InventoryArtifact {
    pub(crate) version: String,
    pub(crate) os: String,
    pub(crate) arch: String,
    pub(crate) url: String,
    pub(crate) sha256: String,
}

/// The artifacts of an inventory file's text.
pub(crate) fn parse_inventory(text: &str) -> Result<Vec<InventoryArtifact>, toml::de::Error> {
    toml::from_str::<Inventory>(text).map(|inventory| inventory.artifacts)
}

fn server() -> &'static RuntimeServer {
    static SERVER: OnceLock<RuntimeServer> = OnceLock::new();
    SERVER.get_or_init(start_server)
}

/// Runs `scripts/build-test-runtimes` once per test process. It rebuilds the archives when they
/// are missing or stale, and returns at once otherwise.
pub(crate) fn ensure_test_runtimes() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-test-runtimes");
        let output = Command::new(&script).output().unwrap_or_else(|error| {
            panic!(
                "Could not run {} ({error}). It needs python3 on PATH.",
                script.display()
            )
        });
        assert!(
            output.status.success(),
            "{} failed ({}), so the integration tests have no Python runtimes to serve. \
             It needs patchelf (`apt-get install -y patchelf`) and a pyenv CPython 3.10+ \
             built with --enable-shared. Its output:\n{}{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    });
}

fn start_server() -> RuntimeServer {
    ensure_test_runtimes();
    let dir = test_runtimes_dir();
    let inventory_path = dir.join("inventory.toml");
    let inventory = std::fs::read_to_string(&inventory_path)
        .unwrap_or_else(|error| panic!("Cannot read {}: {error}", inventory_path.display()));
    let artifacts = parse_inventory(&inventory)
        .unwrap_or_else(|error| panic!("Invalid {}: {error}", inventory_path.display()));

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the runtime server to 127.0.0.1");
    let port = listener
        .local_addr()
        .expect("runtime server address")
        .port();
    thread::Builder::new()
        .name("runtime-server".to_string())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                // A connection that fails (client gone) only concerns that connection.
                let _ = thread::Builder::new()
                    .name("runtime-server-connection".to_string())
                    .spawn(move || handle_connection(stream));
            }
        })
        .expect("spawn the runtime server thread");

    RuntimeServer {
        base_url: format!("http://127.0.0.1:{port}"),
        dir,
        inventory,
        artifacts,
        requests: Mutex::new(Vec::new()),
        crafted: Mutex::new(std::collections::HashMap::new()),
    }
}

fn handle_connection(stream: TcpStream) {
    let Ok(reader_stream) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(reader_stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Read (and ignore) the headers up to the blank line; requests have no body.
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => return,
            Ok(_) if header.trim_end().is_empty() => break,
            Ok(_) => {}
        }
    }
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        let _ = respond_text(stream, 400, "Bad Request", "malformed request line\n", true);
        return;
    };
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        let _ = respond_text(
            stream,
            405,
            "Method Not Allowed",
            "only GET and HEAD\n",
            head_only,
        );
        return;
    }
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let _ = route(stream, path, head_only);
}

fn route(stream: TcpStream, path: &str, head_only: bool) -> std::io::Result<()> {
    let server = server();
    server
        .requests
        .lock()
        .expect("request log lock poisoned")
        .push(path.to_string());

    let mut segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if segments.len() > 2 && segments[0] == "scoped" {
        segments.drain(..2);
    }
    match segments.as_slice() {
        ["fault", kind, file] => match Fault::from_route(kind) {
            Some(fault) if *file == "inventory.toml" => respond(
                stream,
                200,
                "OK",
                "application/toml",
                fault_inventory(fault, &server.artifacts).as_bytes(),
                head_only,
            ),
            Some(Fault::ServerError) => respond_text(
                stream,
                500,
                "Internal Server Error",
                "injected fault: internal server error\n",
                head_only,
            ),
            None | Some(Fault::NotFound) => not_found(stream, path, head_only),
            Some(Fault::Oversized) => {
                let mut stream = stream;
                write_head(
                    &mut stream,
                    200,
                    "OK",
                    "application/octet-stream",
                    OVERSIZED_LENGTH,
                )?;
                if !head_only {
                    stream.write_all(&[0; 4096])?;
                }
                stream.flush()?;
                stream.shutdown(Shutdown::Write)
            }
            Some(fault @ (Fault::TruncatedBody | Fault::WrongDigest)) => serve_file(
                stream,
                server,
                path,
                file,
                head_only,
                fault == Fault::TruncatedBody,
            ),
        },
        ["inventory.toml"] => respond(
            stream,
            200,
            "OK",
            "application/toml",
            server.inventory.as_bytes(),
            head_only,
        ),
        ["redirect", "inventory.toml"] => {
            redirect(stream, &format!("{}/inventory.toml", server.base_url))
        }
        ["crafted", scope, file] => {
            let body = server
                .crafted
                .lock()
                .expect("crafted files lock poisoned")
                .get(&((*scope).to_string(), (*file).to_string()))
                .cloned();
            match body {
                Some(body) => respond(
                    stream,
                    200,
                    "OK",
                    "application/octet-stream",
                    &body,
                    head_only,
                ),
                None => not_found(stream, path, head_only),
            }
        }
        [file] => serve_file(stream, server, path, file, head_only, false),
        ["index-with-only-pip", "simple", "pip", ""] => {
            redirect(stream, "https://pypi.org/simple/pip/")
        }
        ["tampered", wheel, rest @ ..] => tampered_index(stream, path, wheel, rest, head_only),
        _ => not_found(stream, path, head_only),
    }
}

/// The routes under `/tampered/<wheel>/`: the index's pages (`simple/<project>/`) and the
/// changed wheel (`files/<wheel>`).
fn tampered_index(
    stream: TcpStream,
    path: &str,
    wheel: &str,
    rest: &[&str],
    head_only: bool,
) -> std::io::Result<()> {
    match rest {
        ["simple", project, ""] => {
            if normalized_project(project) == normalized_project(wheel_project(wheel)) {
                let page = format!(
                    "<!DOCTYPE html>\n<html><body>\n<a href=\"/tampered/{wheel}/files/{wheel}\">{wheel}</a>\n</body></html>\n"
                );
                respond(stream, 200, "OK", "text/html", page.as_bytes(), head_only)
            } else {
                redirect(stream, &format!("https://pypi.org/simple/{project}/"))
            }
        }
        ["files", file] if *file == wheel => respond(
            stream,
            200,
            "OK",
            "application/octet-stream",
            TAMPERED_WHEEL,
            head_only,
        ),
        _ => not_found(stream, path, head_only),
    }
}

/// The project a wheel's file name (`<name>-<version>-<tags>.whl`) belongs to, as written there.
fn wheel_project(wheel: &str) -> &str {
    wheel.split('-').next().unwrap_or_default()
}

/// A project name as the index compares it (PEP 503): lowercase, runs of `-`, `_` and `.` as `-`.
fn normalized_project(name: &str) -> String {
    name.split(['-', '_', '.'])
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
        .to_lowercase()
}

/// The real inventory with the fault's route as base: URLs stay relative, so they resolve to
/// `/fault/<kind>/<archive>`; for [`Fault::WrongDigest`] every digest is reversed (still 64 hex
/// characters, so it parses, but never the archive's digest).
fn fault_inventory(fault: Fault, artifacts: &[InventoryArtifact]) -> String {
    let mut inventory = format!(
        "# Fault-injection inventory ({}) of the test runtime server.\n",
        fault.route()
    );
    for artifact in artifacts {
        let sha256 = if fault == Fault::WrongDigest {
            artifact.sha256.chars().rev().collect()
        } else {
            artifact.sha256.clone()
        };
        let _ = write!(
            inventory,
            "\n[[artifacts]]\nversion = \"{}\"\nos = \"{}\"\narch = \"{}\"\nurl = \"{}\"\nsha256 = \"{sha256}\"\n",
            artifact.version, artifact.os, artifact.arch, artifact.url
        );
    }
    inventory
}

fn serve_file(
    mut stream: TcpStream,
    server: &RuntimeServer,
    path: &str,
    file: &str,
    head_only: bool,
    truncate: bool,
) -> std::io::Result<()> {
    // Only the plain files of the directory: no hidden files (stamp, lock, staging), no subdirs.
    if file.is_empty() || file.starts_with('.') || file.contains('\\') {
        return not_found(stream, path, head_only);
    }
    let Ok(mut contents) = File::open(server.dir.join(file)) else {
        return not_found(stream, path, head_only);
    };
    let length = contents.metadata()?.len();
    write_head(&mut stream, 200, "OK", "application/octet-stream", length)?;
    if !head_only {
        if truncate {
            std::io::copy(&mut (&mut contents).take(length / 2), &mut stream)?;
        } else {
            std::io::copy(&mut contents, &mut stream)?;
        }
    }
    stream.flush()?;
    // Half-close: the client reads to EOF (which, after a truncated body, comes early).
    stream.shutdown(Shutdown::Write)
}

fn redirect(mut stream: TcpStream, location: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes())?;
    stream.flush()?;
    stream.shutdown(Shutdown::Write)
}

fn not_found(stream: TcpStream, path: &str, head_only: bool) -> std::io::Result<()> {
    respond_text(
        stream,
        404,
        "Not Found",
        &format!("{path} not found\n"),
        head_only,
    )
}

fn respond_text(
    stream: TcpStream,
    status: u16,
    reason: &str,
    body: &str,
    head_only: bool,
) -> std::io::Result<()> {
    respond(
        stream,
        status,
        reason,
        "text/plain; charset=utf-8",
        body.as_bytes(),
        head_only,
    )
}

fn respond(
    mut stream: TcpStream,
    status: u16,
    reason: &str,
    content_type: &str,
    body: &[u8],
    head_only: bool,
) -> std::io::Result<()> {
    write_head(&mut stream, status, reason, content_type, body.len() as u64)?;
    if !head_only {
        stream.write_all(body)?;
    }
    stream.flush()?;
    // Half-close: the client reads to EOF (which, after a truncated body, comes early).
    stream.shutdown(Shutdown::Write)
}

fn write_head(
    stream: &mut TcpStream,
    status: u16,
    reason: &str,
    content_type: &str,
    content_length: u64,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {content_length}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes())
}

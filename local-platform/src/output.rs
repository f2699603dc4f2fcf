//! Captured (and optionally echoed) platform output: what `pack` would print.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

/// The build's stdout and stderr, as `pack build` would print them: stdout has the lifecycle's
/// output and both streams of the buildpack's `bin/detect` and `bin/build`; stderr has only the
/// platform's own errors (pack's `ERROR: failed to build: ...`).
#[derive(Debug, Clone, Default)]
pub struct Output {
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    echo: bool,
}

impl Output {
    /// Output that is only captured.
    #[must_use]
    pub fn captured() -> Self {
        Self::default()
    }

    /// Output that is captured and also written to this process's stdout and stderr as it
    /// arrives (for the CLI).
    #[must_use]
    pub fn echoed() -> Self {
        Self {
            echo: true,
            ..Self::default()
        }
    }

    /// Everything written to stdout so far.
    #[must_use]
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap_or_else(PoisonError::into_inner))
            .into_owned()
    }

    /// Everything written to stderr so far.
    #[must_use]
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap_or_else(PoisonError::into_inner))
            .into_owned()
    }

    pub(crate) fn write_stdout(&self, bytes: &[u8]) {
        append(&self.stdout, bytes);
        if self.echo {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(bytes);
            let _ = out.flush();
        }
    }

    pub(crate) fn write_stderr(&self, bytes: &[u8]) {
        append(&self.stderr, bytes);
        if self.echo {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(bytes);
            let _ = err.flush();
        }
    }

    /// A line on stdout.
    pub(crate) fn line(&self, line: &str) {
        self.write_stdout(format!("{line}\n").as_bytes());
    }

    /// A line on stderr.
    pub(crate) fn error_line(&self, line: &str) {
        self.write_stderr(format!("{line}\n").as_bytes());
    }

    /// Copies a child's pipe into stdout on a thread, as it arrives.
    pub(crate) fn pump(&self, mut reader: impl Read + Send + 'static) -> JoinHandle<()> {
        let output = self.clone();
        std::thread::spawn(move || {
            let mut buffer = [0_u8; 8192];
            loop {
                match reader.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => output.write_stdout(&buffer[..n]),
                }
            }
        })
    }
}

fn append(buffer: &Mutex<Vec<u8>>, bytes: &[u8]) {
    buffer
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .extend_from_slice(bytes);
}

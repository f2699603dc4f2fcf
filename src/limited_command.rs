//! Running the commands the buildpack runs for itself on the app (the installed-packages probes,
//! Django's checks and `collectstatic`) with a time limit and bounded memory:
//!
//! - The time limit is [`TIME_LIMIT_VAR`] (default [`DEFAULT_TIME_LIMIT`]). When it runs out,
//!   the command's whole process group is killed and the error names the command, how long it
//!   ran and the usual causes, with its last lines of output.
//! - Output streamed to the user is passed on as it comes (credentials redacted), never
//!   accumulated; output captured for parsing is capped at [`CAPTURE_LIMIT`] per stream; the
//!   output kept for an error message is its last [`TAIL_LINES`] lines.

use crate::error_message::ErrorMessage;
use crate::redact::{RedactingWriter, for_message};
use indoc::formatdoc;
use std::collections::VecDeque;
use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The env var that sets the time limit of each command.
pub(crate) const TIME_LIMIT_VAR: &str = "BP_PYTHON_COMMAND_TIMEOUT";

/// Generous: collectstatic of a large project with compression takes minutes, not ten.
pub(crate) const DEFAULT_TIME_LIMIT: Duration = Duration::from_mins(10);

/// How much of each stream is captured for parsing.
const CAPTURE_LIMIT: usize = 1024 * 1024;

/// How many of the last lines of output an error message shows.
pub(crate) const TAIL_LINES: usize = 200;

/// A line longer than this is cut in the tail.
const MAX_LINE: usize = 2000;

/// The time limit from `BP_PYTHON_COMMAND_TIMEOUT` (platform env first, then the process env):
/// whole seconds, or a number followed by `s`, `m` or `h`; unset or empty gives the default.
pub(crate) fn time_limit(platform_env: &libcnb::Env) -> Result<Duration, InvalidTimeLimit> {
    let value = platform_env
        .get(TIME_LIMIT_VAR)
        .cloned()
        .or_else(|| std::env::var_os(TIME_LIMIT_VAR));
    match value {
        None => Ok(DEFAULT_TIME_LIMIT),
        Some(value) => parse_time_limit(&value),
    }
}

fn parse_time_limit(value: &OsStr) -> Result<Duration, InvalidTimeLimit> {
    let text = value.to_string_lossy();
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(DEFAULT_TIME_LIMIT);
    }
    let (number, unit) = match trimmed.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((index, _)) => trimmed.split_at(index),
        None => (trimmed, "s"),
    };
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => 0,
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|number| number.checked_mul(seconds_per_unit))
        .filter(|seconds| *seconds > 0)
        .map(Duration::from_secs)
        .ok_or_else(|| InvalidTimeLimit(for_message(&text)))
}

/// `BP_PYTHON_COMMAND_TIMEOUT` is set to something that isn't a duration.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct InvalidTimeLimit(String);

impl InvalidTimeLimit {
    pub(crate) fn message(&self) -> ErrorMessage {
        ErrorMessage::new(
            format!("Invalid {TIME_LIMIT_VAR}"),
            formatdoc! {"
                {TIME_LIMIT_VAR} is set to '{value}', which isn't a time limit.

                Set it to a whole number of seconds (600), or of minutes or hours with a unit
                (15m, 1h), or unset it to get the default of 10 minutes.
            ", value = self.0},
        )
    }
}

/// What the command's output goes to.
pub(crate) enum Output {
    /// Captured, for parsing (up to [`CAPTURE_LIMIT`] bytes of each stream).
    Capture,
    /// Streamed to the user as it comes, credentials redacted.
    Stream(Box<dyn Write + Send + Sync>, Box<dyn Write + Send + Sync>),
}

/// How a command that ran ended.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    /// Captured stdout ([`Output::Capture`] only), at most [`CAPTURE_LIMIT`] bytes.
    pub(crate) stdout: Vec<u8>,
    /// Whether stdout was longer than what was captured.
    pub(crate) truncated: bool,
    /// The last lines of stdout and stderr together, for an error message.
    pub(crate) tail: Tail,
}

#[derive(Debug)]
pub(crate) enum RunError {
    /// The command could not be started.
    Spawn(io::Error),
    /// The time limit ran out: the command was killed.
    TimedOut(Box<TimedOut>),
}

/// A command stopped at its time limit.
#[derive(Debug)]
pub(crate) struct TimedOut {
    pub(crate) elapsed: Duration,
    pub(crate) limit: Duration,
    /// Its last lines of output.
    pub(crate) tail: Tail,
}

/// Runs `command` (stdin closed, in its own process group) within `limit`.
pub(crate) fn run(
    command: &mut Command,
    limit: Duration,
    output: Output,
) -> Result<Finished, RunError> {
    let started = Instant::now();
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = command.spawn().map_err(RunError::Spawn)?;
    // Bounded, so that a command printing faster than its output is written out waits (the
    // pipe fills) instead of its output piling up in memory.
    let (sender, receiver) = mpsc::sync_channel::<(bool, Vec<u8>)>(16);
    for (is_stderr, pipe) in [
        (
            false,
            child
                .stdout
                .take()
                .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
        ),
        (
            true,
            child
                .stderr
                .take()
                .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
        ),
    ] {
        if let Some(mut pipe) = pipe {
            let sender = sender.clone();
            // Not joined: a process that escaped the group may keep a pipe open after a kill.
            std::thread::spawn(move || {
                let mut buffer = vec![0; 64 * 1024];
                while let Ok(read) = pipe.read(&mut buffer) {
                    if read == 0 || sender.send((is_stderr, buffer[..read].to_vec())).is_err() {
                        break;
                    }
                }
            });
        }
    }
    drop(sender);

    let mut sink = Sink::new(output);
    let mut exited: Option<(ExitStatus, Instant)> = None;
    loop {
        let elapsed = started.elapsed();
        if exited.is_none() && elapsed >= limit {
            kill_group(&mut child);
            sink.flush();
            return Err(RunError::TimedOut(Box::new(TimedOut {
                elapsed,
                limit,
                tail: sink.tail,
            })));
        }
        match receiver.recv_timeout(Duration::from_millis(100).min(limit.saturating_sub(elapsed))) {
            Ok((is_stderr, chunk)) => sink.write(is_stderr, &chunk),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if exited.is_none()
            && let Ok(Some(status)) = child.try_wait()
        {
            exited = Some((status, Instant::now()));
        }
        // Output left by a process the command started in the background isn't waited for
        // long once the command itself has exited.
        if let Some((_, at)) = exited
            && at.elapsed() > Duration::from_secs(2)
        {
            break;
        }
    }
    let status = match exited {
        Some((status, _)) => status,
        None => wait_within(&mut child, started, limit).map_err(|elapsed| {
            sink.flush();
            RunError::TimedOut(Box::new(TimedOut {
                elapsed,
                limit,
                tail: std::mem::take(&mut sink.tail),
            }))
        })?,
    };
    sink.flush();
    Ok(Finished {
        status,
        stdout: sink.stdout,
        truncated: sink.truncated,
        tail: sink.tail,
    })
}

/// Waits for a command whose output has ended, killing it when the limit runs out.
fn wait_within(
    child: &mut Child,
    started: Instant,
    limit: Duration,
) -> Result<ExitStatus, Duration> {
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Ok(status);
        }
        let elapsed = started.elapsed();
        if elapsed >= limit {
            kill_group(child);
            return Err(elapsed);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kills the command and everything it started (its process group), then reaps it.
fn kill_group(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}

struct Sink {
    streams: Option<(Box<dyn Write + Send + Sync>, Box<dyn Write + Send + Sync>)>,
    stdout: Vec<u8>,
    truncated: bool,
    tail: Tail,
}

impl Sink {
    fn new(output: Output) -> Self {
        Self {
            streams: match output {
                Output::Capture => None,
                Output::Stream(stdout, stderr) => Some((
                    Box::new(RedactingWriter::new(stdout)),
                    Box::new(RedactingWriter::new(stderr)),
                )),
            },
            stdout: Vec::new(),
            truncated: false,
            tail: Tail::default(),
        }
    }

    fn write(&mut self, is_stderr: bool, chunk: &[u8]) {
        self.tail.push(chunk);
        if let Some((stdout, stderr)) = &mut self.streams {
            let _ = if is_stderr { stderr } else { stdout }.write_all(chunk);
            return;
        }
        // Captured stderr is only ever shown in an error, from the tail.
        if is_stderr {
            return;
        }
        let captured = &mut self.stdout;
        let room = CAPTURE_LIMIT.saturating_sub(captured.len());
        if chunk.len() > room {
            self.truncated = true;
        }
        captured.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    fn flush(&mut self) {
        if let Some((stdout, stderr)) = &mut self.streams {
            let _ = stdout.flush();
            let _ = stderr.flush();
        }
    }
}

/// The last [`TAIL_LINES`] lines of a command's output.
#[derive(Debug, Default)]
pub(crate) struct Tail {
    lines: VecDeque<Vec<u8>>,
    partial: Vec<u8>,
    dropped: usize,
}

impl Tail {
    fn push(&mut self, chunk: &[u8]) {
        for &byte in chunk {
            if byte == b'\n' {
                let line = std::mem::take(&mut self.partial);
                self.push_line(line);
            } else if self.partial.len() < MAX_LINE {
                self.partial.push(byte);
            }
        }
    }

    fn push_line(&mut self, line: Vec<u8>) {
        self.lines.push_back(line);
        if self.lines.len() > TAIL_LINES {
            self.lines.pop_front();
            self.dropped += 1;
        }
    }

    /// All the output, as it came (invalid UTF-8 replaced), if no line was left out.
    pub(crate) fn whole_text(&self) -> Option<String> {
        if self.dropped > 0 {
            return None;
        }
        let mut text = Vec::new();
        for line in &self.lines {
            text.extend_from_slice(line);
            text.push(b'\n');
        }
        text.extend_from_slice(&self.partial);
        Some(String::from_utf8_lossy(&text).into_owned())
    }

    /// The lines, each after `indent`, credentials redacted and control characters escaped; a
    /// first line says how many earlier lines are left out.
    pub(crate) fn render(&self, indent: &str) -> String {
        let mut lines: Vec<String> = self
            .lines
            .iter()
            .chain((!self.partial.is_empty()).then_some(&self.partial))
            .map(|line| format!("{indent}{}", for_message(&String::from_utf8_lossy(line))))
            .map(|line| line.trim_end().to_string())
            .collect();
        while lines.first().is_some_and(String::is_empty) {
            lines.remove(0);
        }
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        if lines.is_empty() {
            return String::new();
        }
        if self.dropped > 0 {
            lines.insert(
                0,
                format!("{indent}({} earlier lines are not shown)", self.dropped),
            );
        }
        lines.join("\n")
    }
}

/// `12 s`, `2 min 5 s`.
pub(crate) fn describe_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match (seconds / 60, seconds % 60) {
        (0, seconds) => format!("{seconds} s"),
        (minutes, 0) => format!("{minutes} min"),
        (minutes, seconds) => format!("{minutes} min {seconds} s"),
    }
}

/// The message for a command that ran out of time. `purpose` completes "The buildpack ran
/// '<command>' ..." and `causes` lists what usually makes it hang.
pub(crate) fn timed_out_message(
    command: &str,
    purpose: &str,
    timed_out: &TimedOut,
    causes: &str,
) -> ErrorMessage {
    let TimedOut {
        elapsed,
        limit,
        tail,
    } = timed_out;
    let output = tail.render("    ");
    let output = if output.is_empty() {
        "It printed nothing.".to_string()
    } else {
        format!("Its last output:\n\n{output}")
    };
    ErrorMessage::new(
        format!("'{command}' timed out"),
        formatdoc! {"
            The buildpack ran '{command}' {purpose}, and stopped it after
            {elapsed}: it was still running at the time limit of {limit}.

            {output}

            {causes}

            If the command needs more time, raise the limit with {TIME_LIMIT_VAR} in the
            build's environment, in seconds or with a unit (with pack: 'pack build --env
            {TIME_LIMIT_VAR}=30m').
        ", elapsed = describe_duration(*elapsed), limit = describe_duration(*limit)},
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn captures_output_and_status() {
        let finished = run(
            &mut sh("echo out; echo err >&2; exit 3"),
            Duration::from_secs(30),
            Output::Capture,
        )
        .unwrap();
        assert_eq!(finished.status.code(), Some(3));
        assert_eq!(finished.stdout, b"out\n");
        // stderr is kept in the tail only (both pipes are read at once: in either order).
        let tail = finished.tail.render("");
        assert!(tail == "out\nerr" || tail == "err\nout", "{tail}");
        assert!(!finished.truncated);
    }

    #[test]
    fn a_command_that_hangs_is_killed_with_its_children() {
        let started = Instant::now();
        let error = run(
            &mut sh("echo waiting; sleep 600 & sleep 600"),
            Duration::from_secs(1),
            Output::Capture,
        )
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10));
        let RunError::TimedOut(timed_out) = error else {
            panic!("{error:?}");
        };
        assert_eq!(timed_out.tail.render("    "), "    waiting");
        assert_eq!(
            timed_out_message("sh -c x", "to test", &timed_out, "Causes.").render(),
            indoc::indoc! {"
                Error: 'sh -c x' timed out

                The buildpack ran 'sh -c x' to test, and stopped it after
                1 s: it was still running at the time limit of 1 s.

                Its last output:

                    waiting

                Causes.

                If the command needs more time, raise the limit with BP_PYTHON_COMMAND_TIMEOUT in the
                build's environment, in seconds or with a unit (with pack: 'pack build --env
                BP_PYTHON_COMMAND_TIMEOUT=30m')."}
        );
    }

    #[test]
    fn output_kept_is_bounded() {
        let finished = run(
            &mut sh("yes 'a line of output' | head -c 20000000; echo; echo last"),
            Duration::from_mins(1),
            Output::Capture,
        )
        .unwrap();
        assert_eq!(finished.stdout.len(), CAPTURE_LIMIT);
        assert!(finished.truncated);
        let tail = finished.tail.render("    ");
        assert_eq!(tail.lines().count(), TAIL_LINES + 1);
        assert!(
            tail.starts_with("    (") && tail.ends_with("    last"),
            "{tail}"
        );
    }

    struct Lines(mpsc::Sender<Vec<u8>>);

    impl Write for Lines {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let _ = self.0.send(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn streamed_output_is_passed_on_redacted() {
        let (sender, receiver) = mpsc::channel();
        let finished = run(
            &mut sh("echo https://user:secret@host/x"),
            Duration::from_secs(30),
            Output::Stream(Box::new(Lines(sender.clone())), Box::new(Lines(sender))),
        )
        .unwrap();
        assert!(finished.status.success());
        assert!(finished.stdout.is_empty());
        let streamed: Vec<u8> = receiver.try_iter().flatten().collect();
        assert_eq!(streamed, b"https://****@host/x\n");
    }

    #[test]
    fn time_limits() {
        for (value, seconds) in [
            ("", 600),
            ("90", 90),
            (" 15m ", 900),
            ("1h", 3600),
            ("5s", 5),
        ] {
            assert_eq!(
                parse_time_limit(OsStr::new(value)),
                Ok(Duration::from_secs(seconds)),
                "{value}"
            );
        }
        for value in ["0", "-1", "1.5m", "10 min", "abc", "1d"] {
            assert!(parse_time_limit(OsStr::new(value)).is_err(), "{value}");
        }
        assert_eq!(
            parse_time_limit(OsStr::new("ten\u{1b}"))
                .unwrap_err()
                .message()
                .render(),
            indoc::indoc! {"
                Error: Invalid BP_PYTHON_COMMAND_TIMEOUT

                BP_PYTHON_COMMAND_TIMEOUT is set to 'ten<U+001B>', which isn't a time limit.

                Set it to a whole number of seconds (600), or of minutes or hours with a unit
                (15m, 1h), or unset it to get the default of 10 minutes."}
        );
    }

    #[test]
    fn durations() {
        assert_eq!(describe_duration(Duration::from_millis(5900)), "5 s");
        assert_eq!(describe_duration(Duration::from_mins(10)), "10 min");
        assert_eq!(describe_duration(Duration::from_secs(125)), "2 min 5 s");
    }
}

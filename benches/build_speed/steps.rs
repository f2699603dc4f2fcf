//! Where a build's time goes, from the timings the buildpack prints: each timed line of the build
//! output (`- Unpacking ... (2.0s)`, `- Done (5.5s)` after a streamed command) is put in one step,
//! named by what it does, and a step's lines are summed.

use std::time::Duration;

/// The steps in the order a build runs them, as the report lists them.
pub(crate) const STEP_ORDER: [&str; 9] = [
    "runtime download",
    "runtime unpack",
    "stdlib bytecode",
    "pip layer",
    "package manager layer",
    "virtual environment",
    "install",
    "app bytecode",
    "collectstatic",
];

/// The time of each step found in `output` (a build's whole output, colours or not), in
/// [`STEP_ORDER`]; lines that fit no step are "other".
pub(crate) fn steps(output: &str) -> Vec<(String, Duration)> {
    let mut section = String::new();
    let mut bullet = String::new();
    let mut totals: Vec<(String, Duration)> = Vec::new();
    for line in strip_ansi(output).lines() {
        let trimmed = line.trim_start();
        if let Some(title) = trimmed.strip_prefix("## ") {
            section = title.to_string();
            continue;
        }
        if line.starts_with("- ") {
            bullet = line.to_string();
        }
        let Some(duration) = timing(trimmed) else {
            continue;
        };
        let step = classify(&section, &bullet, trimmed);
        match totals.iter_mut().find(|(name, _)| *name == step) {
            Some((_, total)) => *total += duration,
            None => totals.push((step.to_string(), duration)),
        }
    }
    totals.sort_by_key(|(name, _)| {
        STEP_ORDER
            .iter()
            .position(|step| step == name)
            .unwrap_or(STEP_ORDER.len())
    });
    totals
}

fn classify(section: &str, bullet: &str, line: &str) -> &'static str {
    if section.starts_with("Installing Python") {
        if line.contains("Downloading") || line.contains("Copying") {
            "runtime download"
        } else if line.contains("to bytecode") || line.contains("compileall") {
            "stdlib bytecode"
        } else {
            "runtime unpack"
        }
    } else if bullet.contains("(used during the build only)") {
        // A tool layer's steps, its own bytecode included.
        if bullet.starts_with("- pip ") {
            "pip layer"
        } else {
            "package manager layer"
        }
    } else if line.contains("site-packages to bytecode") || line.contains("compileall") {
        "app bytecode"
    } else if section.contains("static files") || line.contains("collectstatic") {
        "collectstatic"
    } else if line.contains("-m venv") {
        "virtual environment"
    } else if section.starts_with("Installing dependencies") {
        "install"
    } else {
        "other"
    }
}

/// The duration at the end of a timed line: `(2.0s)`, `(< 0.1s)`, `(1m 5s)`, `(850ms)`.
fn timing(line: &str) -> Option<Duration> {
    let inner = line.strip_suffix(')')?;
    let inner = &inner[inner.rfind('(')? + 1..];
    let inner = inner.trim().trim_start_matches("< ");
    let mut total = 0.0;
    let mut any = false;
    for part in inner.split_whitespace() {
        let (number, factor) = if let Some(number) = part.strip_suffix("ms") {
            (number, 0.001)
        } else if let Some(number) = part.strip_suffix('s') {
            (number, 1.0)
        } else if let Some(number) = part.strip_suffix('m') {
            (number, 60.0)
        } else {
            return None;
        };
        total += number.parse::<f64>().ok()? * factor;
        any = true;
    }
    any.then(|| Duration::from_secs_f64(total))
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The benchmark's self-check of [`steps`].
pub(crate) fn self_check() -> Result<(), String> {
    let output = "\
## Installing Python

- Installing Python 3.12.1
  - Downloading http://127.0.0.1:1/cpython.tar.gz ... (0.2s)
  - Verified the SHA-256 checksum (fdeac5c3f728)
  - Unpacking ..... (2.0s)
  - Compiling /l/python/lib/python3.12 to bytecode: 8 shards ... (1.5s)

## Installing dependencies with pip

- pip 26.3 (used during the build only)
  - Running `python3 -m venv --without-pip /l/pip` ... (0.1s)
  - Downloading pip-26.3-py3-none-any.whl ... (< 0.1s)
  - Unpacking .... (250ms)
  - Compiling /l/pip/lib/python3.12/site-packages to bytecode: 8 shards ... (0.3s)
- Virtual environment `/l/venv`
  - Running `python3 -m venv --without-pip /l/venv` ... (0.1s)
  - Running `pip install -r requirements.txt`

      Successfully installed flask-3.1.3

  - Done (5.5s)
  - Compiling /l/venv/lib/python3.12/site-packages to bytecode: 8 shards ... (1m 2s)
";
    let found = steps(output);
    let ms = |name: &str| {
        found
            .iter()
            .find(|(step, _)| step == name)
            .map(|(_, duration)| duration.as_millis())
    };
    let expected: [(&str, u128); 7] = [
        ("runtime download", 200),
        ("runtime unpack", 2000),
        ("stdlib bytecode", 1500),
        ("pip layer", 750),
        ("virtual environment", 100),
        ("install", 5500),
        ("app bytecode", 62000),
    ];
    for (name, millis) in expected {
        if ms(name) != Some(millis) {
            return Err(format!(
                "{name}: {:?} ms instead of {millis} ({found:?})",
                ms(name)
            ));
        }
    }
    let order: Vec<&str> = found.iter().map(|(name, _)| name.as_str()).collect();
    if order != expected.map(|(name, _)| name) {
        return Err(format!("steps out of order: {order:?}"));
    }
    Ok(())
}

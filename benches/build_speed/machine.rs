//! The machine the benchmark ran on, and the date, for the report.

use std::fs;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// `- key: value` lines: CPU model, cores, memory, OS, kernel, load average.
pub(crate) fn describe() -> Vec<String> {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let os_release = fs::read_to_string("/etc/os-release").unwrap_or_default();
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    vec![
        format!(
            "CPU: {}",
            cpu_model(&cpuinfo).unwrap_or_else(|| String::from("unknown"))
        ),
        format!("Cores available: {cores}"),
        format!(
            "Memory: {}",
            memory_total(&meminfo).unwrap_or_else(|| String::from("unknown"))
        ),
        format!(
            "OS: {}, Linux {} ({})",
            os_name(&os_release).unwrap_or_else(|| String::from("unknown")),
            kernel.trim(),
            std::env::consts::ARCH
        ),
    ]
}

/// The 1, 5 and 15 minute load averages (`1.52 1.20 0.98`), which tell whether other work
/// shared the machine.
pub(crate) fn load_average() -> String {
    fs::read_to_string("/proc/loadavg").ok().map_or_else(
        || String::from("unknown"),
        |text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        },
    )
}

/// `git describe`-like text for the measured source: `abc1234` or `abc1234 (with local changes)`.
pub(crate) fn commit() -> Option<String> {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    let hash = run(&["rev-parse", "--short", "HEAD"])?;
    let dirty = run(&["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|status| !status.is_empty());
    Some(if dirty {
        format!("{hash} (with local changes)")
    } else {
        hash
    })
}

pub(crate) fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(key, _)| key.trim() == "model name")
        .map(|(_, value)| value.trim().to_string())
}

pub(crate) fn memory_total(meminfo: &str) -> Option<String> {
    let kib: u64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    #[allow(clippy::cast_precision_loss)]
    let gib = kib as f64 / 1024.0 / 1024.0;
    Some(format!("{gib:.1} GiB"))
}

pub(crate) fn os_name(os_release: &str) -> Option<String> {
    os_release
        .lines()
        .find_map(|line| line.strip_prefix("PRETTY_NAME="))
        .map(|value| value.trim_matches('"').to_string())
}

/// Now, as `YYYY-MM-DD HH:MM UTC`.
pub(crate) fn now_utc() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    format_utc(seconds)
}

/// Seconds since the Unix epoch as `YYYY-MM-DD HH:MM UTC` (proleptic Gregorian calendar).
pub(crate) fn format_utc(seconds: u64) -> String {
    let days = seconds / 86_400;
    let minute_of_day = (seconds % 86_400) / 60;
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        minute_of_day / 60,
        minute_of_day % 60
    )
}

/// The calendar date `days` after 1970-01-01: count 400-year eras from 0000-03-01, so that
/// the leap day is the last day of each computed year.
fn civil_date(days: u64) -> (u64, u64, u64) {
    const DAYS_PER_ERA: u64 = 146_097;
    // 1970-01-01 is day 719_468 counted from 0000-03-01.
    let days = days + 719_468;
    let era = days / DAYS_PER_ERA;
    let day_of_era = days % DAYS_PER_ERA;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months counted from March: 0 = March, ..., 11 = February.
    let march_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * march_month + 2) / 5 + 1;
    let month = if march_month < 10 {
        march_month + 3
    } else {
        march_month - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

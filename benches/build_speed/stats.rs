//! Statistics and human-readable units for the benchmark's tables.

use std::time::Duration;

/// Median, minimum and maximum of a set of wall times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Spread {
    pub(crate) median: Duration,
    pub(crate) min: Duration,
    pub(crate) max: Duration,
}

/// The spread of `samples`, or `None` when there are none. With an even number of samples the
/// median is the mean of the two middle ones.
pub(crate) fn spread(samples: &[Duration]) -> Option<Spread> {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let (&min, &max) = (sorted.first()?, sorted.last()?);
    let middle = sorted.len() / 2;
    let median = if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2
    };
    Some(Spread { median, min, max })
}

/// A wall time with a precision that suits its size: `850 ms`, `4.27 s`, `31.4 s`, `2 min 05 s`.
pub(crate) fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1_000 {
        format!("{millis} ms")
    } else if millis < 10_000 {
        format!("{:.2} s", duration.as_secs_f64())
    } else if millis < 120_000 {
        format!("{:.1} s", duration.as_secs_f64())
    } else {
        let seconds = (millis + 500) / 1_000;
        format!("{} min {:02} s", seconds / 60, seconds % 60)
    }
}

/// A byte count in binary units: `512 B`, `3.4 KiB`, `41.2 MiB`, `1.03 GiB`.
pub(crate) fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    #[allow(clippy::cast_precision_loss)]
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value < 10.0 {
        format!("{value:.2} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `part` as a percentage of `whole` (0 when `whole` is zero).
pub(crate) fn percent(part: Duration, whole: Duration) -> f64 {
    if whole.is_zero() {
        0.0
    } else {
        part.as_secs_f64() / whole.as_secs_f64() * 100.0
    }
}

//! Per-step durations of a build, printed to stderr when `LOCAL_PLATFORM_TIMINGS` is set (to
//! anything but `0` or empty): where a build's platform time goes, next to `bin/build`'s.

use std::sync::OnceLock;
use std::time::Instant;

/// The env var that turns the timings on.
pub const TIMINGS_VAR: &str = "LOCAL_PLATFORM_TIMINGS";

fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| {
        std::env::var_os(TIMINGS_VAR).is_some_and(|value| !value.is_empty() && value != "0")
    })
}

/// Runs `f`, printing `local-platform: <label>: <ms> ms` to stderr when timings are on.
pub(crate) fn timed<T>(label: impl FnOnce() -> String, f: impl FnOnce() -> T) -> T {
    if !enabled() {
        return f();
    }
    let start = Instant::now();
    let result = f();
    let elapsed = start.elapsed();
    eprintln!(
        "local-platform: {}: {:.1} ms",
        label(),
        elapsed.as_secs_f64() * 1000.0
    );
    result
}

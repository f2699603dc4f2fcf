//! The test API: mirrors `libcnb-test` 0.30.4 so that the same test bodies run on this local
//! platform (default) or on real `pack` + Docker (crate feature `pack`, which re-exports
//! `libcnb-test`'s items instead).
//!
//! Local-only extras (not available under `pack`): [`TestContext::export`] (the export
//! snapshot: launch layers with digests, sizes and "unchanged" flags, processes),
//! [`TestContext::work_dir`], [`TestContext::rebuild_with_clear_cache`].

#[cfg(feature = "pack")]
pub use libcnb_test::{
    BuildConfig, BuildpackReference, ContainerConfig, ContainerContext, LogOutput, PackResult,
    SbomFiles, SbomType, TestContext, TestRunner, assert_contains, assert_empty,
    assert_not_contains,
};

#[cfg(not(feature = "pack"))]
mod local;
#[cfg(not(feature = "pack"))]
pub use local::*;

#[cfg(not(feature = "pack"))]
pub use crate::{assert_contains, assert_empty, assert_not_contains};

/// Asserts that `left` contains `right` (as `libcnb_test::assert_contains!`).
#[cfg(not(feature = "pack"))]
#[macro_export]
macro_rules! assert_contains {
    ($left:expr, $right:expr $(,)?) => {{
        if !$left.contains($right) {
            ::std::panic!(
                "assertion failed: `(left contains right)`\nleft (unescaped):\n{}\n\nleft (escaped): `{:?}`\nright: `{:?}`",
                $left, $left, $right,
            )
        }
    }};
    ($left:expr, $right:expr, $($arg:tt)+) => {{
        if !$left.contains($right) {
            ::std::panic!(
                "assertion failed: `(left contains right)`\nleft (unescaped):\n{}\n\nleft (escaped): `{:?}`\nright: `{:?}`: {}",
                $left, $left, $right, ::core::format_args!($($arg)+)
            )
        }
    }};
}

/// Asserts that `left` does not contain `right` (as `libcnb_test::assert_not_contains!`).
///
/// Unlike libcnb-test's, it also fails when `left` is empty: such an assertion passes whatever
/// the build did, which is what happens under real `pack` to one on a stream that `pack` leaves
/// empty (`pack_stderr` of a successful build: the buildpack's output is in `pack_stdout`). The
/// local suite runs with this check, so no test can rely on a stream empty under `pack`; assert
/// emptiness with `assert_empty!`.
#[cfg(not(feature = "pack"))]
#[macro_export]
macro_rules! assert_not_contains {
    (@non_empty $left:expr, $right:expr) => {{
        if $left.is_empty() {
            ::std::panic!(
                "assertion failed: `(left does not contain right)` on an empty left: it would pass whatever the build printed\nright: `{:?}`\nUnder real pack a buildpack's output (stdout and stderr) is in `pack_stdout` and `pack_stderr` is empty after a successful build: assert on the stream that holds the output, or use `assert_empty!`.",
                $right,
            )
        }
    }};
    ($left:expr, $right:expr $(,)?) => {{
        $crate::assert_not_contains!(@non_empty $left, $right);
        if $left.contains($right) {
            ::std::panic!(
                "assertion failed: `(left does not contain right)`\nleft (unescaped):\n{}\n\nleft (escaped): `{:?}`\nright: `{:?}`",
                $left, $left, $right,
            )
        }
    }};
    ($left:expr, $right:expr, $($arg:tt)+) => {{
        $crate::assert_not_contains!(@non_empty $left, $right);
        if $left.contains($right) {
            ::std::panic!(
                "assertion failed: `(left does not contain right)`\nleft (unescaped):\n{}\n\nleft (escaped): `{:?}`\nright: `{:?}`: {}",
                $left, $left, $right, ::core::format_args!($($arg)+)
            )
        }
    }};
}

/// Asserts that a value is empty (as `libcnb_test::assert_empty!`).
#[cfg(not(feature = "pack"))]
#[macro_export]
macro_rules! assert_empty {
    ($value:expr $(,)?) => {{
        if !$value.is_empty() {
            ::std::panic!(
                "assertion failed: `(is empty)`\nvalue (unescaped):\n{}\n\nvalue (escaped): `{:?}`",
                $value, $value,
            )
        }
    }};
    ($value:expr, $($arg:tt)+) => {{
        if !$value.is_empty() {
            ::std::panic!(
                "assertion failed: `(is empty)`\nvalue (unescaped):\n{}\n\nvalue (escaped): `{:?}`: {}",
                $value, $value, ::core::format_args!($($arg)+)
            )
        }
    }};
}

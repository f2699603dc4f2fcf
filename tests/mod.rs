//! Integration tests: each builds real apps with the packaged buildpack through the local CNB
//! platform (or real `pack` with `--features pack`).

// The test crate sees every dependency of the buildpack, most of which only the buildpack uses.
#![allow(unused_crate_dependencies)]

#[cfg(not(feature = "pack"))]
mod bytecode_test;
mod c_extensions_test;
mod detect_test;
mod django_test;
mod hooks_test;
// `read_only_home` is local only.
#[cfg(not(feature = "pack"))]
mod home_test;
mod installer_test;
// Builds that need the host's 127.0.0.1 (the test runtime server as the inventory or as a
// package index), which a `pack` build container can't reach: local backend only.
#[cfg(not(feature = "pack"))]
mod local_platform_test;
mod lockfile_apps;
mod package_manager_test;
mod pip_test;
mod pipenv_test;
mod poetry_test;
mod processes_test;
mod pyproject_test;
// Crafted archives and inventories on 127.0.0.1, and the local platform's work dir.
#[cfg(not(feature = "pack"))]
mod python_hardening_test;
// Needs the host's 127.0.0.1 too.
#[cfg(not(feature = "pack"))]
mod python_test;
mod robustness_test;
mod runtimes_test;
mod sbom_test;
mod support;
// Needs the host's 127.0.0.1 too.
#[cfg(not(feature = "pack"))]
mod tool_install_test;
mod uv_test;
mod versions_test;

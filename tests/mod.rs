//! Integration tests: each builds real apps with the packaged buildpack through the local CNB
//! platform (or real `pack` with `--features pack`).

// The test crate sees every dependency of the buildpack, most of which only the buildpack uses.
#![allow(unused_crate_dependencies)]

#[cfg(not(feature = "pack"))]
mod bytecode_test;
mod detect_test;
mod django_test;
mod local_platform_test;
mod lockfile_apps;
mod package_manager_test;
mod pip_test;
mod pipenv_test;
mod poetry_test;
mod processes_test;
mod python_test;
mod runtimes_test;
mod sbom_test;
mod support;
mod tool_install_test;
mod uv_test;
mod versions_test;

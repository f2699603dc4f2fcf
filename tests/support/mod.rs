//! Shared support for the integration tests.
//!
//! - [`runtime_server`]: the HTTP server on 127.0.0.1 that serves the test runtimes built by
//!   `scripts/build-test-runtimes`, with fault-injection routes.
//! - [`default_build_config`]: the build configuration every integration test starts from.

pub(crate) mod runtime_server;

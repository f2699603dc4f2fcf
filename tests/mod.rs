//! Integration tests: each builds real apps with the packaged buildpack through the local CNB
//! platform (or real `pack` with `--features pack`).

mod local_platform_test;

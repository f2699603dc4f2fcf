//! A local CNB platform: see the crate description.

pub mod launch_env;

//! A local CNB platform: see the crate description.

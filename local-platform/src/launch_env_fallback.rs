//! A minimal stand-in for `launch_env::compose_launch_env` (written by another helper, with
//! exec.d and the full modifier rules). Same signature; delete this file and switch the
//! `use` in `launch.rs` once `launch_env.rs` is merged.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// A launch layer dir, in launcher order.
pub(crate) struct LaunchLayer {
    pub(crate) path: PathBuf,
}

#[derive(Debug)]
pub(crate) struct LaunchEnvError(String);

impl fmt::Display for LaunchEnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `bin/` → PATH, `lib/` → `LD_LIBRARY_PATH`, then `env/`, `env.launch/` and
/// `env.launch/<process>/` files (`NAME` / `NAME.override`, `.default`, `.append`,
/// `.prepend` with `NAME.delim`), layer by layer.
pub(crate) fn compose_launch_env(
    base: &BTreeMap<String, String>,
    layers: &[LaunchLayer],
    process_type: Option<&str>,
) -> Result<BTreeMap<String, String>, LaunchEnvError> {
    let mut env = base.clone();
    for layer in layers {
        for (dir, var) in [("bin", "PATH"), ("lib", "LD_LIBRARY_PATH")] {
            let path = layer.path.join(dir);
            if path.is_dir() {
                let value = path.to_string_lossy().into_owned();
                let joined = match env.get(var) {
                    Some(existing) if !existing.is_empty() => format!("{value}:{existing}"),
                    _ => value,
                };
                env.insert(String::from(var), joined);
            }
        }
        apply_env_dir(&mut env, &layer.path.join("env"))?;
        apply_env_dir(&mut env, &layer.path.join("env.launch"))?;
        if let Some(process_type) = process_type {
            apply_env_dir(&mut env, &layer.path.join("env.launch").join(process_type))?;
        }
    }
    Ok(env)
}

fn apply_env_dir(env: &mut BTreeMap<String, String>, dir: &Path) -> Result<(), LaunchEnvError> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    let mut files: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter(|entry| entry.path().is_file())
        .map(|entry| {
            (
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            )
        })
        .collect();
    files.sort();
    let read = |path: &Path| {
        fs::read_to_string(path)
            .map_err(|error| LaunchEnvError(format!("Error reading {}: {error}", path.display())))
    };
    for (file_name, path) in &files {
        let (name, action) = file_name
            .rsplit_once('.')
            .unwrap_or((file_name.as_str(), "override"));
        if action == "delim" {
            continue;
        }
        let value = read(path)?;
        let delim = fs::read_to_string(dir.join(format!("{name}.delim"))).unwrap_or_default();
        let existing = env.get(name).cloned();
        let new_value = match (action, existing) {
            ("default", Some(existing)) => existing,
            ("prepend", Some(existing)) => format!("{value}{delim}{existing}"),
            ("append", Some(existing)) => format!("{existing}{delim}{value}"),
            _ => value,
        };
        env.insert(name.to_string(), new_value);
    }
    Ok(())
}

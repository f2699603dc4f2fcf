//! Spare copies of stored layers, kept in the work dir between builds.
//!
//! The stores are never handed to a buildpack or an app: restoring and materialising give
//! them copies. Copying a runtime or a venv (thousands of files) for every build and launch
//! is most of a warm rebuild's time, and deleting the copies afterwards costs as much again.
//! So a copy whose contents are known to equal a stored layer is kept as a spare, with its
//! [`stamp_tree`] stamp, and the next restore or materialise moves it into place (a rename)
//! instead of copying the layer again. A spare is used only while its stamp is unchanged,
//! so one that a build or an app wrote to is never mistaken for the stored layer.
//!
//! At most one copy of a layer exists: at `<work>/spare/<name>`, or in use at
//! `<work>/layers/<bp>/<name>`. The records are in `<work>/spare.json`.

use crate::PlatformError;
use crate::files::{Stamp, move_tree, remove_tree, stamp_tree};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SpareRecord {
    /// The digest of the stored layer the copy equals.
    sha: String,
    /// The copy's [`stamp_tree`] stamp when it was known to equal that layer.
    stamp: String,
}

/// The spare copies of one work dir.
#[derive(Debug)]
pub(crate) struct Spares {
    dir: PathBuf,
    records_path: PathBuf,
    records: BTreeMap<String, SpareRecord>,
}

impl Spares {
    /// The spares of `work_dir`. Unreadable records mean no spares.
    pub(crate) fn load(work_dir: &Path) -> Self {
        let records_path = work_dir.join("spare.json");
        let records = fs::read_to_string(&records_path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        Self {
            dir: work_dir.join("spare"),
            records_path,
            records,
        }
    }

    pub(crate) fn save(&self) -> Result<(), PlatformError> {
        let text = serde_json::to_string_pretty(&self.records).map_err(|error| {
            PlatformError::new(format!("Could not encode the spare layer records: {error}"))
        })?;
        fs::write(&self.records_path, text)
            .map_err(|error| PlatformError::io("writing", &self.records_path, &error))
    }

    /// Moves the copies in use in `layers_dir` (left there by the last build or launch) back
    /// to the spares, before `layers_dir` is emptied. Whether they are still intact is
    /// checked when they are next used.
    pub(crate) fn park(&self, layers_dir: &Path) -> Result<(), PlatformError> {
        for name in self.records.keys() {
            let in_use = layers_dir.join(name);
            if in_use.is_dir() {
                let spare = self.dir.join(name);
                remove_tree(&spare)?;
                self.create_dir()?;
                move_tree(&in_use, &spare)?;
            }
        }
        Ok(())
    }

    /// Moves the spare copy of `name` to `to` if it still holds exactly the stored layer
    /// `sha` (its stamp is the recorded one), and returns that stamp. A spare that no longer does
    /// is removed.
    pub(crate) fn take(
        &self,
        name: &str,
        sha: &str,
        to: &Path,
    ) -> Result<Option<Stamp>, PlatformError> {
        let spare = self.dir.join(name);
        let Some(record) = self.records.get(name) else {
            return Ok(None);
        };
        if !spare.is_dir() {
            return Ok(None);
        }
        if record.sha != sha {
            return Ok(None);
        }
        let stamp = stamp_tree(&spare)?;
        if stamp.hash != record.stamp {
            remove_tree(&spare)?;
            return Ok(None);
        }
        move_tree(&spare, to)?;
        Ok(Some(stamp))
    }

    /// Records that the copy of `name` in use (at its place in a layers dir) holds exactly the
    /// stored layer `sha`, as stamped `stamp`, and drops any older spare copy of it.
    pub(crate) fn record(
        &mut self,
        name: &str,
        sha: &str,
        stamp: String,
    ) -> Result<(), PlatformError> {
        remove_tree(&self.dir.join(name))?;
        self.records.insert(
            name.to_string(),
            SpareRecord {
                sha: sha.to_string(),
                stamp,
            },
        );
        Ok(())
    }

    /// Keeps `dir` (a layer dir holding exactly the stored layer `sha`, as stamped `stamp`)
    /// as the spare copy of `name`.
    pub(crate) fn keep(
        &mut self,
        name: &str,
        sha: &str,
        stamp: String,
        dir: &Path,
    ) -> Result<(), PlatformError> {
        self.record(name, sha, stamp)?;
        self.create_dir()?;
        move_tree(dir, &self.dir.join(name))
    }

    /// Removes the spares that are not copies of the stored layers `in_use` (name to digest).
    pub(crate) fn retain(
        &mut self,
        in_use: &BTreeMap<&String, &String>,
    ) -> Result<(), PlatformError> {
        let stale: Vec<String> = self
            .records
            .iter()
            .filter(|(name, record)| in_use.get(name) != Some(&&record.sha))
            .map(|(name, _)| name.clone())
            .collect();
        for name in stale {
            remove_tree(&self.dir.join(&name))?;
            self.records.remove(&name);
        }
        Ok(())
    }

    fn create_dir(&self) -> Result<(), PlatformError> {
        fs::create_dir_all(&self.dir)
            .map_err(|error| PlatformError::io("creating", &self.dir, &error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn layer(root: &Path) {
        fs::create_dir_all(root.join("bin")).unwrap();
        fs::write(root.join("bin/tool"), "v1").unwrap();
    }

    #[test]
    fn a_kept_copy_is_taken_back_while_untouched() {
        let work = tempfile::tempdir().unwrap();
        let in_use = work.path().join("layers/venv");
        layer(&in_use);
        let mut spares = Spares::load(work.path());
        let stamp = stamp_tree(&in_use).unwrap();
        spares
            .keep("venv", "sha256:a", stamp.hash.clone(), &in_use)
            .unwrap();
        spares.save().unwrap();
        assert!(!in_use.exists());

        let spares = Spares::load(work.path());
        assert_eq!(spares.take("venv", "sha256:b", &in_use).unwrap(), None);
        assert_eq!(
            spares.take("venv", "sha256:a", &in_use).unwrap(),
            Some(stamp)
        );
        assert_eq!(fs::read_to_string(in_use.join("bin/tool")).unwrap(), "v1");
    }

    #[test]
    fn a_copy_written_to_after_it_was_recorded_is_not_used() {
        let work = tempfile::tempdir().unwrap();
        let layers = work.path().join("layers");
        let in_use = layers.join("venv");
        layer(&in_use);
        let mut spares = Spares::load(work.path());
        spares
            .record("venv", "sha256:a", stamp_tree(&in_use).unwrap().hash)
            .unwrap();
        // Same size, and the mtime put back: only the ctime tells.
        let mtime = fs::metadata(in_use.join("bin/tool"))
            .unwrap()
            .modified()
            .unwrap();
        let mut file = fs::OpenOptions::new()
            .write(true)
            .open(in_use.join("bin/tool"))
            .unwrap();
        file.write_all(b"v2").unwrap();
        file.set_modified(mtime).unwrap();
        drop(file);

        spares.park(&layers).unwrap();
        assert!(!in_use.exists());
        assert_eq!(spares.take("venv", "sha256:a", &in_use).unwrap(), None);
        assert!(!in_use.exists());
        assert!(!work.path().join("spare/venv").exists());
    }

    #[test]
    fn spares_of_layers_no_longer_stored_are_removed() {
        let work = tempfile::tempdir().unwrap();
        let in_use = work.path().join("layers/old");
        layer(&in_use);
        let mut spares = Spares::load(work.path());
        let stamp = stamp_tree(&in_use).unwrap().hash;
        spares.keep("old", "sha256:a", stamp, &in_use).unwrap();
        spares.retain(&BTreeMap::new()).unwrap();
        assert!(!work.path().join("spare/old").exists());
        assert_eq!(spares.take("old", "sha256:a", &in_use).unwrap(), None);
    }
}

//! The unprivileged user that `bin/detect` and `bin/build` run as when the platform is started
//! as root, as the lifecycle runs them, and the ownership of what they write.
//!
//! The rules followed (buildpacks/lifecycle, `cmd/lifecycle/*.go` and `priv/user_linux.go`):
//!
//! - the detector and the builder refuse to run as root: they run as `CNB_USER_ID` /
//!   `CNB_GROUP_ID`, the build image's user (Platform spec: the build image's `User` is a
//!   non-root user with a writable home directory, and its `Env` has `CNB_USER_ID` and
//!   `CNB_GROUP_ID`);
//! - before dropping privileges (`priv.RunAs`: setresgid, then setresuid), the analyzer,
//!   restorer and creator chown the layers dir and the cache to that user
//!   (`priv.EnsureOwner`), and `pack` puts the app dir into the build container owned by it;
//! - `priv.SetEnvironmentForUser` sets `HOME` to that user's home directory.

use crate::PlatformError;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// The env var giving the build user's uid (as in a builder image's env).
pub const USER_ID_VAR: &str = "CNB_USER_ID";
/// The env var giving the build user's primary gid.
pub const GROUP_ID_VAR: &str = "CNB_GROUP_ID";

/// A uid and primary gid that detect and build run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildUser {
    pub uid: u32,
    pub gid: u32,
}

impl BuildUser {
    /// The user of `heroku/builder:24` and of most builders: 1000:1000.
    pub const DEFAULT: Self = Self {
        uid: 1000,
        gid: 1000,
    };

    /// The build user of a platform started now: none (phases run as the calling user) unless
    /// this process runs as root; then `CNB_USER_ID` / `CNB_GROUP_ID` (each defaulting to 1000).
    /// `CNB_USER_ID=0` keeps the phases as root, which the lifecycle never does.
    pub fn from_env() -> Result<Option<Self>, PlatformError> {
        let read = |name: &str, default: u32| match std::env::var(name) {
            Err(_) => Ok(default),
            Ok(value) => value.trim().parse::<u32>().map_err(|_| {
                PlatformError::new(format!(
                    "Invalid {name} '{value}': expected a numeric id such as 1000."
                ))
            }),
        };
        let uid = read(USER_ID_VAR, Self::DEFAULT.uid)?;
        let gid = read(GROUP_ID_VAR, Self::DEFAULT.gid)?;
        if !rustix::process::geteuid().is_root() || uid == 0 {
            return Ok(None);
        }
        Ok(Some(Self { uid, gid }))
    }

    /// Parses `UID:GID`.
    pub fn parse(text: &str) -> Result<Self, PlatformError> {
        let invalid = || {
            PlatformError::new(format!(
                "Invalid build user '{text}': expected UID:GID, such as 1000:1000."
            ))
        };
        let (uid, gid) = text.split_once(':').ok_or_else(invalid)?;
        Ok(Self {
            uid: uid.parse().map_err(|_| invalid())?,
            gid: gid.parse().map_err(|_| invalid())?,
        })
    }

    /// Makes `command` run as this user (std drops the supplementary groups when root sets a
    /// uid, as the lifecycle's `setresuid` leaves none).
    pub(crate) fn apply(self, command: &mut Command) {
        command.uid(self.uid).gid(self.gid);
    }

    /// Gives `path` and everything under it to this user (without following symlinks),
    /// touching only entries it doesn't already own (so their ctime stays as it was). Returns
    /// whether anything changed.
    pub(crate) fn ensure_owner(self, path: &Path) -> Result<bool, PlatformError> {
        let Some((metadata, mut changed)) = self.ensure_owner_of_entry(path)? else {
            return Ok(false);
        };
        if metadata.is_dir() {
            let entries =
                fs::read_dir(path).map_err(|error| PlatformError::io("reading", path, &error))?;
            for entry in entries {
                let entry = entry.map_err(|error| PlatformError::io("reading", path, &error))?;
                changed |= self.ensure_owner(&entry.path())?;
            }
        }
        Ok(changed)
    }

    /// Gives `path` itself (not what is under it) to this user, unless it is theirs. Returns
    /// its metadata from before and whether it changed, or `None` if there is no `path`.
    pub(crate) fn ensure_owner_of_entry(
        self,
        path: &Path,
    ) -> Result<Option<(fs::Metadata, bool)>, PlatformError> {
        let metadata = match fs::symlink_metadata(path) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(PlatformError::io("reading", path, &error)),
            Ok(metadata) => metadata,
        };
        let owned = metadata.uid() == self.uid && metadata.gid() == self.gid;
        if !owned {
            std::os::unix::fs::lchown(path, Some(self.uid), Some(self.gid))
                .map_err(|error| PlatformError::io("changing the owner of", path, &error))?;
        }
        Ok(Some((metadata, !owned)))
    }

    /// Whether this user can read everything under `dir` (following symlinks, as running
    /// `bin/build` does) and reach it: every parent dir searchable, files readable, dirs
    /// readable and searchable.
    pub(crate) fn can_read_tree(self, dir: &Path) -> bool {
        let Ok(real) = dir.canonicalize() else {
            return false;
        };
        let parents_searchable = real
            .ancestors()
            .skip(1)
            .all(|parent| fs::metadata(parent).is_ok_and(|metadata| self.allows(&metadata, 0o1)));
        parents_searchable && self.can_read_entry(&real)
    }

    fn can_read_entry(self, path: &Path) -> bool {
        let Ok(metadata) = fs::metadata(path) else {
            return false;
        };
        if !metadata.is_dir() {
            return self.allows(&metadata, 0o4);
        }
        if !self.allows(&metadata, 0o5) {
            return false;
        }
        let Ok(entries) = fs::read_dir(path) else {
            return false;
        };
        entries.flatten().all(|entry| {
            let path = entry.path();
            // A symlink to a file elsewhere (libcnb's `bin/build`): its target's parents too.
            if entry.file_type().is_ok_and(|kind| kind.is_symlink()) {
                self.can_read_tree(&path)
            } else {
                self.can_read_entry(&path)
            }
        })
    }

    /// Whether the `bits` (`r` 4, `w` 2, `x` 1) are granted to this user by `metadata`'s mode
    /// (owner, else group, else other class, as the kernel checks).
    fn allows(self, metadata: &fs::Metadata, bits: u32) -> bool {
        let mode = metadata.permissions().mode();
        let class = if metadata.uid() == self.uid {
            mode >> 6
        } else if metadata.gid() == self.gid {
            mode >> 3
        } else {
            mode
        };
        class & bits == bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uid_and_gid() {
        assert_eq!(
            BuildUser::parse("1001:1002").unwrap(),
            BuildUser {
                uid: 1001,
                gid: 1002
            }
        );
        assert_eq!(
            BuildUser::parse("1000").unwrap_err().to_string(),
            "Invalid build user '1000': expected UID:GID, such as 1000:1000."
        );
        assert!(BuildUser::parse("a:1").is_err());
    }
}

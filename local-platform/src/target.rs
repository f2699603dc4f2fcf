//! The build target (`CNB_TARGET_*`), taken from the host as a lifecycle takes it from the
//! build image.

use std::collections::BTreeMap;

/// The target the platform reports to the buildpack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub os: String,
    pub arch: String,
    pub arch_variant: Option<String>,
    pub distro_name: String,
    pub distro_version: String,
}

impl Target {
    /// The host's target: OS and architecture in CNB (Go) spelling, distro from
    /// `/etc/os-release` (`ID`, `VERSION_ID`).
    #[must_use]
    pub fn host() -> Self {
        let (arch, arch_variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "aarch64" => ("arm64", None),
            "arm" => ("arm", Some(String::from("v7"))),
            "x86" => ("386", None),
            other => (other, None),
        };
        let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        Self {
            os: String::from(std::env::consts::OS),
            arch: String::from(arch),
            arch_variant,
            distro_name: os_release_field(&os_release, "ID").unwrap_or_default(),
            distro_version: os_release_field(&os_release, "VERSION_ID").unwrap_or_default(),
        }
    }

    /// The `CNB_TARGET_*` variables.
    #[must_use]
    pub fn env(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::from([
            (String::from("CNB_TARGET_OS"), self.os.clone()),
            (String::from("CNB_TARGET_ARCH"), self.arch.clone()),
            (
                String::from("CNB_TARGET_DISTRO_NAME"),
                self.distro_name.clone(),
            ),
            (
                String::from("CNB_TARGET_DISTRO_VERSION"),
                self.distro_version.clone(),
            ),
        ]);
        if let Some(variant) = &self.arch_variant {
            env.insert(String::from("CNB_TARGET_ARCH_VARIANT"), variant.clone());
        }
        env
    }
}

fn os_release_field(os_release: &str, key: &str) -> Option<String> {
    os_release.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.strip_prefix('=')?;
        Some(
            value
                .trim()
                .trim_matches('"')
                .trim_matches('\'')
                .to_string(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_os_release_fields() {
        let text = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\nID=debian\n";
        assert_eq!(os_release_field(text, "ID").as_deref(), Some("debian"));
        assert_eq!(os_release_field(text, "VERSION_ID").as_deref(), Some("12"));
        assert_eq!(os_release_field(text, "VERSION"), None);
    }
}

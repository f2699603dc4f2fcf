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

    /// The `CNB_TARGET_*` variables. OS and arch are always set; the arch variant and the
    /// distro name and version only when known: the lifecycle leaves them unset, not empty,
    /// otherwise (`platform/target_data.go`, `EnvVarsFor`: `appendIfNotEmpty`).
    #[must_use]
    pub fn env(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::from([
            (String::from("CNB_TARGET_OS"), self.os.clone()),
            (String::from("CNB_TARGET_ARCH"), self.arch.clone()),
        ]);
        for (name, value) in [
            ("CNB_TARGET_ARCH_VARIANT", self.arch_variant.as_deref()),
            ("CNB_TARGET_DISTRO_NAME", Some(self.distro_name.as_str())),
            (
                "CNB_TARGET_DISTRO_VERSION",
                Some(self.distro_version.as_str()),
            ),
        ] {
            if let Some(value) = value.filter(|value| !value.is_empty()) {
                env.insert(name.to_string(), value.to_string());
            }
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

    #[test]
    fn unknown_optional_fields_are_unset_not_empty() {
        let target = Target {
            os: String::from("linux"),
            arch: String::from("amd64"),
            arch_variant: None,
            distro_name: String::new(),
            distro_version: String::new(),
        };
        let names: Vec<String> = target.env().into_keys().collect();
        assert_eq!(names, ["CNB_TARGET_ARCH", "CNB_TARGET_OS"]);
        let known = Target {
            arch_variant: Some(String::from("v8")),
            distro_name: String::from("ubuntu"),
            distro_version: String::from("24.04"),
            ..target
        };
        assert_eq!(known.env()["CNB_TARGET_DISTRO_VERSION"], "24.04");
        assert_eq!(known.env()["CNB_TARGET_ARCH_VARIANT"], "v8");
    }
}

use std::fmt;
use std::str::FromStr;

/// An exact CPython version, such as `3.13.1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct PythonVersion {
    pub(crate) major: u16,
    pub(crate) minor: u16,
    pub(crate) patch: u16,
}

impl PythonVersion {
    pub(crate) const fn new(major: u16, minor: u16, patch: u16) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// The `X.Y` part, as used in paths such as `lib/python3.13`.
    pub(crate) fn major_minor(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }
}

impl fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for PythonVersion {
    type Err = ();

    /// Parses exactly `X.Y.Z` (digits only).
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let parts = value
            .split('.')
            .map(|part| {
                if !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()) {
                    part.parse::<u16>().map_err(|_| ())
                } else {
                    Err(())
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        match parts[..] {
            [major, minor, patch] => Ok(Self::new(major, minor, patch)),
            _ => Err(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_exact_versions() {
        let version: PythonVersion = "3.13.10".parse().unwrap();
        assert_eq!(version, PythonVersion::new(3, 13, 10));
        assert_eq!(version.to_string(), "3.13.10");
        assert_eq!(version.major_minor(), "3.13");
    }

    #[test]
    fn rejects_anything_but_three_numeric_parts() {
        for value in [
            "3.13",
            "3.13.1.2",
            "3.13.x",
            "",
            "3..1",
            " 3.13.1",
            "3.13.1rc1",
        ] {
            assert!(value.parse::<PythonVersion>().is_err(), "{value}");
        }
    }
}

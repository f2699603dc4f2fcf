mod choose;
mod eol;
mod error;
mod warning;

pub(crate) use choose::resolve_python_version;
pub(crate) use eol::YearMonth;
pub(crate) use error::PythonVersionError;

use std::fmt;
use std::str::FromStr;

/// An exact `CPython` version, such as `3.13.1`.
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
    pub(crate) fn major_minor(self) -> String {
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
        match numeric_parts(value)?[..] {
            [major, minor, patch] => Ok(Self::new(major, minor, patch)),
            _ => Err(()),
        }
    }
}

/// A version as users write it: `X.Y` (the newest patch release of that minor version) or
/// `X.Y.Z` (exactly that release).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RequestedVersion {
    pub(crate) major: u16,
    pub(crate) minor: u16,
    pub(crate) patch: Option<u16>,
}

impl RequestedVersion {
    /// Whether the exact version `version` is one this request asks for.
    pub(crate) fn matches(self, version: PythonVersion) -> bool {
        self.major == version.major
            && self.minor == version.minor
            && self.patch.is_none_or(|patch| patch == version.patch)
    }

    /// Whether both requests can be met by one version: `3.12` and `3.12.1` can, `3.12.1` and
    /// `3.12.2` can't.
    pub(crate) fn compatible_with(self, other: Self) -> bool {
        self.major == other.major
            && self.minor == other.minor
            && (self.patch.is_none() || other.patch.is_none() || self.patch == other.patch)
    }
}

impl fmt::Display for RequestedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            Some(patch) => write!(f, "{}.{}.{patch}", self.major, self.minor),
            None => write!(f, "{}.{}", self.major, self.minor),
        }
    }
}

impl FromStr for RequestedVersion {
    type Err = ();

    /// Parses exactly `X.Y` or `X.Y.Z` (digits only).
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let parts = numeric_parts(value)?;
        match parts[..] {
            [major, minor] => Ok(Self {
                major,
                minor,
                patch: None,
            }),
            [major, minor, patch] => Ok(Self {
                major,
                minor,
                patch: Some(patch),
            }),
            _ => Err(()),
        }
    }
}

/// Splits `value` at dots into numbers, rejecting empty parts, signs and anything but ASCII digits.
fn numeric_parts(value: &str) -> Result<Vec<u16>, ()> {
    value
        .split('.')
        .map(|part| {
            if !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()) {
                part.parse::<u16>().map_err(|_| ())
            } else {
                Err(())
            }
        })
        .collect()
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

    #[test]
    fn parses_requested_versions() {
        let minor: RequestedVersion = "3.12".parse().unwrap();
        let exact: RequestedVersion = "3.12.1".parse().unwrap();
        assert_eq!((minor.major, minor.minor, minor.patch), (3, 12, None));
        assert_eq!(exact.patch, Some(1));
        assert_eq!(minor.to_string(), "3.12");
        assert_eq!(exact.to_string(), "3.12.1");
        for value in [
            "3", "3.12.1.0", "3.12.x", "v3.12", "3.12-dev", "system", "", "3. 12",
        ] {
            assert!(value.parse::<RequestedVersion>().is_err(), "{value}");
        }
    }

    #[test]
    fn requested_versions_match_and_agree() {
        let minor: RequestedVersion = "3.12".parse().unwrap();
        let exact: RequestedVersion = "3.12.1".parse().unwrap();
        let other: RequestedVersion = "3.12.2".parse().unwrap();
        let older: RequestedVersion = "3.11".parse().unwrap();
        assert!(minor.matches(PythonVersion::new(3, 12, 7)));
        assert!(!minor.matches(PythonVersion::new(3, 13, 0)));
        assert!(exact.matches(PythonVersion::new(3, 12, 1)));
        assert!(!exact.matches(PythonVersion::new(3, 12, 2)));
        assert!(minor.compatible_with(exact) && exact.compatible_with(minor));
        assert!(!exact.compatible_with(other));
        assert!(!minor.compatible_with(older));
    }
}

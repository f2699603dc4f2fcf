//! PEP 440 version specifier sets, as written in `requires-python` (`>=3.10,<3.14`, `~=3.12`,
//! `==3.12.*`). Only final releases are compared, since the runtime inventory holds only those.

use crate::python_version::PythonVersion;
use std::cmp::Ordering;

/// A parsed specifier set: a version satisfies it when it satisfies every clause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SpecifierSet(Vec<Specifier>);

#[derive(Clone, Debug, PartialEq, Eq)]
struct Specifier {
    operator: Operator,
    release: Vec<u64>,
    wildcard: bool,
    /// The version as written, for `===`.
    text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    Compatible,
    Equal,
    NotEqual,
    LessEqual,
    GreaterEqual,
    Less,
    Greater,
    Arbitrary,
}

/// Operators longest first, so that `===` is not read as `==`.
const OPERATORS: [(&str, Operator); 8] = [
    ("===", Operator::Arbitrary),
    ("~=", Operator::Compatible),
    ("==", Operator::Equal),
    ("!=", Operator::NotEqual),
    ("<=", Operator::LessEqual),
    (">=", Operator::GreaterEqual),
    ("<", Operator::Less),
    (">", Operator::Greater),
];

impl SpecifierSet {
    /// Parses a comma-separated specifier set. The error says what is wrong, in a sentence.
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        if value.trim().is_empty() {
            return Ok(Self(Vec::new()));
        }
        value
            .split(',')
            .map(|clause| Specifier::parse(clause.trim()))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub(crate) fn contains(&self, version: PythonVersion) -> bool {
        self.0.iter().all(|specifier| specifier.contains(version))
    }
}

impl Specifier {
    fn parse(clause: &str) -> Result<Self, String> {
        if clause.is_empty() {
            return Err(
                "it has an empty clause (two commas in a row, or a comma at the end)".into(),
            );
        }
        let Some((symbol, operator)) = OPERATORS
            .into_iter()
            .find(|(symbol, _)| clause.starts_with(symbol))
        else {
            return Err(format!(
                "'{clause}' doesn't start with a comparison operator (one of ~= == != <= >= < > ===)"
            ));
        };
        let text = clause[symbol.len()..].trim();
        if operator == Operator::Arbitrary {
            return Ok(Self {
                operator,
                release: Vec::new(),
                wildcard: false,
                text: text.into(),
            });
        }
        let (number, wildcard) = match text.strip_suffix(".*") {
            Some(prefix) if matches!(operator, Operator::Equal | Operator::NotEqual) => {
                (prefix, true)
            }
            Some(_) => {
                return Err(format!(
                    "'{clause}' uses a wildcard (.*), which only == and != allow"
                ));
            }
            None => (text, false),
        };
        let release = number
            .split('.')
            .map(|part| {
                if !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()) {
                    part.parse::<u64>().ok()
                } else {
                    None
                }
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                if text.contains(char::is_whitespace) {
                    format!(
                        "'{clause}' has a space inside; separate clauses with commas, as in \
                         >=3.10,<3.14"
                    )
                } else {
                    format!(
                        "'{text}' in '{clause}' isn't a final release version like 3.12 or 3.12.1 \
                         (pre-, post- and dev-releases aren't supported here)"
                    )
                }
            })?;
        if operator == Operator::Compatible && release.len() < 2 {
            return Err(format!(
                "'{clause}' needs at least two version parts after ~=, as in ~=3.12"
            ));
        }
        Ok(Self {
            operator,
            release,
            wildcard,
            text: text.into(),
        })
    }

    fn contains(&self, version: PythonVersion) -> bool {
        let candidate = [
            u64::from(version.major),
            u64::from(version.minor),
            u64::from(version.patch),
        ];
        let ordering = compare_padded(&candidate, &self.release);
        match self.operator {
            Operator::Equal if self.wildcard => has_prefix(&candidate, &self.release),
            Operator::NotEqual if self.wildcard => !has_prefix(&candidate, &self.release),
            Operator::Equal => ordering == Ordering::Equal,
            Operator::NotEqual => ordering != Ordering::Equal,
            Operator::LessEqual => ordering != Ordering::Greater,
            Operator::GreaterEqual => ordering != Ordering::Less,
            Operator::Less => ordering == Ordering::Less,
            Operator::Greater => ordering == Ordering::Greater,
            Operator::Compatible => {
                ordering != Ordering::Less
                    && has_prefix(&candidate, &self.release[..self.release.len() - 1])
            }
            Operator::Arbitrary => self.text == version.to_string(),
        }
    }
}

/// Compares release segments, the shorter one padded with zeros (`3.12` == `3.12.0`).
fn compare_padded(left: &[u64], right: &[u64]) -> Ordering {
    (0..left.len().max(right.len()))
        .map(|index| {
            let left = left.get(index).copied().unwrap_or(0);
            left.cmp(&right.get(index).copied().unwrap_or(0))
        })
        .find(|ordering| ordering.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// `==3.12.*` matching: the release, padded with zeros, starts with `prefix`.
fn has_prefix(release: &[u64], prefix: &[u64]) -> bool {
    prefix
        .iter()
        .enumerate()
        .all(|(index, part)| release.get(index).copied().unwrap_or(0) == *part)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(specifiers: &str, version: &str) -> bool {
        SpecifierSet::parse(specifiers)
            .unwrap()
            .contains(version.parse().unwrap())
    }

    #[test]
    fn compares_versions() {
        let cases = [
            (">=3.10", "3.10.0", true),
            (">=3.10", "3.9.18", false),
            (">=3.10,<3.14", "3.13.9", true),
            (">=3.10, <3.14", "3.14.0", false),
            (" >= 3.10 , < 3.13 ", "3.12.1", true),
            ("<=3.12", "3.12.0", true),
            ("<=3.12", "3.12.1", false),
            (">3.12", "3.12.0", false),
            (">3.12", "3.12.1", true),
            ("~=3.12", "3.13.0", true),
            ("~=3.12", "4.0.0", false),
            ("~=3.12", "3.11.9", false),
            ("~=3.12.1", "3.12.5", true),
            ("~=3.12.1", "3.13.0", false),
            ("~=3.12.1", "3.12.0", false),
            ("==3.12.*", "3.12.7", true),
            ("==3.12.*", "3.13.0", false),
            ("==3.*", "3.13.0", true),
            ("!=3.11.*", "3.11.2", false),
            ("!=3.11.*", "3.12.0", true),
            ("==3.12.1", "3.12.1", true),
            ("==3.12.1", "3.12.2", false),
            ("==3.12", "3.12.0", true),
            ("==3.12", "3.12.1", false),
            ("!=3.12.1", "3.12.1", false),
            ("===3.12.1", "3.12.1", true),
            ("===3.12", "3.12.0", false),
            ("", "3.13.0", true),
        ];
        for (specifiers, version, expected) in cases {
            assert_eq!(
                allows(specifiers, version),
                expected,
                "{specifiers} {version}"
            );
        }
    }

    #[test]
    fn explains_invalid_specifiers() {
        let cases = [
            (
                "3.12",
                "'3.12' doesn't start with a comparison operator (one of ~= == != <= >= < > ===)",
            ),
            (
                ">=3.10,",
                "it has an empty clause (two commas in a row, or a comma at the end)",
            ),
            (
                ">=3.*",
                "'>=3.*' uses a wildcard (.*), which only == and != allow",
            ),
            (
                ">=3.10 <3.14",
                "'>=3.10 <3.14' has a space inside; separate clauses with commas, as in >=3.10,<3.14",
            ),
            (
                ">=3.13.0rc1",
                "'3.13.0rc1' in '>=3.13.0rc1' isn't a final release version like 3.12 or 3.12.1 (pre-, post- and dev-releases aren't supported here)",
            ),
            (
                "~=3",
                "'~=3' needs at least two version parts after ~=, as in ~=3.12",
            ),
            (
                "^3.10",
                "'^3.10' doesn't start with a comparison operator (one of ~= == != <= >= < > ===)",
            ),
        ];
        for (specifiers, expected) in cases {
            assert_eq!(
                SpecifierSet::parse(specifiers),
                Err(expected.to_string()),
                "{specifiers}"
            );
        }
    }
}

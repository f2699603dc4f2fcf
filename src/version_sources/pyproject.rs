//! `pyproject.toml` `[project] requires-python` (PEP 621): a constraint on the version.

use super::file::{line_and_column, parse_toml, read_text};
use super::{RequiresPython, SpecifierSet};
use crate::python_version::PythonVersionError;
use serde::Deserialize;
use std::path::Path;
use toml::Spanned;

pub(super) const FILE: &str = "pyproject.toml";

#[derive(Deserialize)]
struct Pyproject {
    project: Option<Project>,
}

#[derive(Deserialize)]
struct Project {
    #[serde(rename = "requires-python")]
    requires_python: Option<Spanned<String>>,
}

pub(super) fn read(app_dir: &Path) -> Result<Option<RequiresPython>, PythonVersionError> {
    read_text(app_dir, FILE)?.map_or(Ok(None), |text| parse(&text))
}

fn parse(text: &str) -> Result<Option<RequiresPython>, PythonVersionError> {
    let pyproject: Pyproject = parse_toml(FILE, text)?;
    let Some(value) = pyproject
        .project
        .and_then(|project| project.requires_python)
    else {
        return Ok(None);
    };
    let line = line_and_column(text, value.span().start).0;
    let raw = value.into_inner().trim().to_string();
    let specifiers =
        SpecifierSet::parse(&raw).map_err(|problem| PythonVersionError::InvalidRequiresPython {
            line,
            value: raw.clone(),
            problem,
        })?;
    Ok(Some(RequiresPython {
        raw,
        line,
        specifiers,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_requires_python() {
        let requires = parse(
            "[build-system]\nrequires = [\"hatchling\"]\n\n[project]\nname = \"app\"\n\
             requires-python = \">=3.10,<3.14\"\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!((requires.raw.as_str(), requires.line), (">=3.10,<3.14", 6));
        assert!(requires.specifiers.contains("3.13.1".parse().unwrap()));
    }

    #[test]
    fn no_project_table_or_key_means_no_constraint() {
        assert_eq!(parse("[tool.poetry]\nname = \"app\"\n"), Ok(None));
        assert_eq!(parse("[project]\nname = \"app\"\n"), Ok(None));
    }

    #[test]
    fn rejects_invalid_specifiers_and_toml() {
        assert_eq!(
            parse("[project]\nrequires-python = \"^3.10\"\n"),
            Err(PythonVersionError::InvalidRequiresPython {
                line: 2,
                value: "^3.10".to_string(),
                problem: "'^3.10' doesn't start with a comparison operator (one of ~= == != <= >= \
                          < > ===)"
                    .to_string()
            })
        );
        assert!(matches!(
            parse("[project\n"),
            Err(PythonVersionError::Syntax {
                file: "pyproject.toml",
                ..
            })
        ));
    }
}

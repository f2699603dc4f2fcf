//! The buildpack's output files, read and validated as the lifecycle does after `bin/build`:
//! `<layer>.toml`, `launch.toml`, `store.toml`, `build.toml`; and layer metadata's round trip
//! through JSON between builds.

use crate::PlatformError;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::Path;

/// A layer's types, from the `[types]` table of `<layer>.toml`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerTypes {
    pub launch: bool,
    pub build: bool,
    pub cache: bool,
}

/// A layer the buildpack declared with a `<layer>.toml`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DeclaredLayer {
    pub(crate) name: String,
    pub(crate) types: LayerTypes,
    /// The `[metadata]` table, as JSON (the form the lifecycle stores it in).
    pub(crate) metadata: serde_json::Value,
    /// Whether `<layers>/<bp>/<name>/` exists.
    pub(crate) has_dir: bool,
}

/// A process from `launch.toml` (Buildpack API 0.10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    /// The process type (`web`, `worker`, ...).
    pub r#type: String,
    /// The command and its fixed arguments.
    pub command: Vec<String>,
    /// Default arguments, replaced by user-provided arguments at launch.
    pub args: Vec<String>,
    /// Whether this is the image's default process.
    pub default: bool,
    /// The working directory, if not the app dir.
    pub working_dir: Option<String>,
}

/// What the buildpack left in its layers dir after a successful `bin/build`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BuildOutputFiles {
    /// Layers with at least one type set, sorted by name.
    pub(crate) layers: Vec<DeclaredLayer>,
    /// Names of layers ignored because every type is false.
    pub(crate) ignored: Vec<String>,
    pub(crate) processes: Vec<Process>,
    /// `store.toml`'s `[metadata]` table as JSON, if the file exists.
    pub(crate) store: Option<serde_json::Value>,
}

const RESERVED_FILES: [&str; 3] = ["launch.toml", "build.toml", "store.toml"];

/// Reads the layers dir of one buildpack after `bin/build`, failing like the lifecycle on
/// invalid files. Layer directories without a `<layer>.toml` are ignored.
pub(crate) fn read_build_output(bp_layers_dir: &Path) -> Result<BuildOutputFiles, PlatformError> {
    let mut layers = Vec::new();
    let mut ignored = Vec::new();
    let mut names = Vec::new();
    let entries = fs::read_dir(bp_layers_dir)
        .map_err(|error| PlatformError::io("reading", bp_layers_dir, &error))?;
    for entry in entries {
        let entry = entry.map_err(|error| PlatformError::io("reading", bp_layers_dir, &error))?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() || RESERVED_FILES.contains(&file_name.as_str()) {
            continue;
        }
        if let Some(name) = file_name.strip_suffix(".toml") {
            names.push(name.to_string());
        }
    }
    names.sort();
    for name in names {
        let toml_path = bp_layers_dir.join(format!("{name}.toml"));
        let (types, metadata) = read_layer_toml(&toml_path)?;
        if types == LayerTypes::default() {
            ignored.push(name);
            continue;
        }
        let has_dir = bp_layers_dir.join(&name).is_dir();
        layers.push(DeclaredLayer {
            name,
            types,
            metadata,
            has_dir,
        });
    }

    let launch_path = bp_layers_dir.join("launch.toml");
    let processes = if launch_path.exists() {
        read_launch_toml(&launch_path)?
    } else {
        Vec::new()
    };

    let build_path = bp_layers_dir.join("build.toml");
    if build_path.exists() {
        parse_toml_file(&build_path)?;
    }

    let store_path = bp_layers_dir.join("store.toml");
    let store = if store_path.exists() {
        let table = parse_toml_file(&store_path)?;
        match table.get("metadata") {
            None => Some(serde_json::Value::Object(serde_json::Map::new())),
            Some(toml::Value::Table(metadata)) => {
                Some(toml_to_json(&toml::Value::Table(metadata.clone())))
            }
            Some(_) => {
                return Err(PlatformError::new(format!(
                    "failed to read {}: [metadata] must be a table",
                    store_path.display()
                )));
            }
        }
    } else {
        None
    };

    Ok(BuildOutputFiles {
        layers,
        ignored,
        processes,
        store,
    })
}

fn parse_toml_file(path: &Path) -> Result<toml::Table, PlatformError> {
    let text =
        fs::read_to_string(path).map_err(|error| PlatformError::io("reading", path, &error))?;
    toml::from_str(&text).map_err(|error| {
        PlatformError::new(format!(
            "failed to parse {}: toml: {}",
            path.display(),
            error.message()
        ))
    })
}

fn read_layer_toml(path: &Path) -> Result<(LayerTypes, serde_json::Value), PlatformError> {
    let table = parse_toml_file(path)?;
    if ["launch", "build", "cache"]
        .iter()
        .any(|key| table.contains_key(*key))
    {
        return Err(PlatformError::new(format!(
            "the launch, cache and build flags should be in the types table of {}",
            path.display()
        )));
    }
    let mut types = LayerTypes::default();
    match table.get("types") {
        None => {}
        Some(toml::Value::Table(types_table)) => {
            for (key, value) in types_table {
                let flag = match key.as_str() {
                    "launch" => &mut types.launch,
                    "build" => &mut types.build,
                    "cache" => &mut types.cache,
                    _ => continue,
                };
                *flag = value.as_bool().ok_or_else(|| {
                    PlatformError::new(format!(
                        "failed to parse {}: toml: types.{key} must be a boolean, found {}",
                        path.display(),
                        value.type_str()
                    ))
                })?;
            }
        }
        Some(other) => {
            return Err(PlatformError::new(format!(
                "failed to parse {}: toml: types must be a table, found {}",
                path.display(),
                other.type_str()
            )));
        }
    }
    let metadata = match table.get("metadata") {
        None => serde_json::Value::Null,
        Some(value) => toml_to_json(value),
    };
    Ok((types, metadata))
}

fn read_launch_toml(path: &Path) -> Result<Vec<Process>, PlatformError> {
    let table = parse_toml_file(path)?;
    let invalid = |message: String| {
        PlatformError::new(format!("failed to read {}: {message}", path.display()))
    };
    let Some(entries) = table.get("processes") else {
        return Ok(Vec::new());
    };
    let entries = entries
        .as_array()
        .ok_or_else(|| invalid(String::from("processes must be an array of tables")))?;
    let mut processes = Vec::new();
    for entry in entries {
        let entry = entry
            .as_table()
            .ok_or_else(|| invalid(String::from("processes must be an array of tables")))?;
        if entry.contains_key("direct") {
            return Err(invalid(String::from(
                "process.direct is not supported on this buildpack version",
            )));
        }
        let process_type = entry
            .get("type")
            .and_then(toml::Value::as_str)
            .unwrap_or("");
        if process_type.is_empty() {
            return Err(invalid(String::from("type is required for all processes")));
        }
        if !process_type
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(invalid(format!(
                "invalid process type '{process_type}': type may only contain characters [A-Za-z0-9._-]"
            )));
        }
        let strings = |key: &str| -> Result<Vec<String>, PlatformError> {
            match entry.get(key) {
                None => Ok(Vec::new()),
                Some(toml::Value::Array(items)) => items
                    .iter()
                    .map(|item| {
                        item.as_str().map(String::from).ok_or_else(|| {
                            invalid(format!(
                                "process '{process_type}': {key} must be an array of strings"
                            ))
                        })
                    })
                    .collect(),
                Some(_) => Err(invalid(format!(
                    "process '{process_type}': {key} must be an array of strings"
                ))),
            }
        };
        let command = strings("command")?;
        if command.is_empty() {
            return Err(invalid(format!(
                "process '{process_type}': command must be a non-empty array of strings"
            )));
        }
        let args = strings("args")?;
        let default = match entry.get("default") {
            None => false,
            Some(value) => value.as_bool().ok_or_else(|| {
                invalid(format!(
                    "process '{process_type}': default must be a boolean"
                ))
            })?,
        };
        let working_dir = match entry.get("working-dir") {
            None => None,
            Some(value) => Some(value.as_str().map(String::from).ok_or_else(|| {
                invalid(format!(
                    "process '{process_type}': working-dir must be a string"
                ))
            })?),
        };
        processes.push(Process {
            r#type: process_type.to_string(),
            command,
            args,
            default,
            working_dir,
        });
    }
    if processes.iter().filter(|process| process.default).count() > 1 {
        return Err(invalid(String::from(
            "multiple default process types aren't allowed",
        )));
    }
    Ok(processes)
}

/// TOML → JSON as the lifecycle stores layer metadata in the image label and cache.
/// Datetimes become strings.
pub(crate) fn toml_to_json(value: &toml::Value) -> serde_json::Value {
    match value {
        toml::Value::String(string) => serde_json::Value::String(string.clone()),
        toml::Value::Integer(integer) => serde_json::Value::from(*integer),
        toml::Value::Float(float) => serde_json::Number::from_f64(*float)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        toml::Value::Boolean(boolean) => serde_json::Value::Bool(*boolean),
        toml::Value::Datetime(datetime) => serde_json::Value::String(datetime.to_string()),
        toml::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(toml_to_json).collect())
        }
        toml::Value::Table(table) => serde_json::Value::Object(
            table
                .iter()
                .map(|(key, value)| (key.clone(), toml_to_json(value)))
                .collect(),
        ),
    }
}

/// JSON → TOML as the lifecycle restores metadata: every JSON number decodes as a float (so
/// an integer written by a buildpack comes back as `1.0`), nulls are dropped, and keys come
/// back sorted (Go's TOML encoder sorts map keys).
pub(crate) fn json_to_toml(value: &serde_json::Value) -> Option<toml::Value> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::Bool(boolean) => Some(toml::Value::Boolean(*boolean)),
        serde_json::Value::Number(number) => number.as_f64().map(toml::Value::Float),
        serde_json::Value::String(string) => Some(toml::Value::String(string.clone())),
        serde_json::Value::Array(items) => Some(toml::Value::Array(
            items.iter().filter_map(json_to_toml).collect(),
        )),
        serde_json::Value::Object(object) => Some(toml::Value::Table(
            object
                .iter()
                .filter_map(|(key, value)| json_to_toml(value).map(|value| (key.clone(), value)))
                .collect(),
        )),
    }
}

/// Writes a restored `<layer>.toml` (or `store.toml`): only the `[metadata]` table, as the
/// lifecycle does for Buildpack API 0.6+ (types are all false until the buildpack sets them).
pub(crate) fn write_metadata_toml(
    path: &Path,
    metadata: &serde_json::Value,
) -> Result<(), PlatformError> {
    let mut root = toml::Table::new();
    if let Some(toml::Value::Table(table)) = json_to_toml(metadata) {
        root.insert(String::from("metadata"), toml::Value::Table(table));
    }
    let text = toml::to_string(&root).map_err(|error| {
        PlatformError::new(format!("Could not encode {}: {error}", path.display()))
    })?;
    fs::write(path, text).map_err(|error| PlatformError::io("writing", path, &error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use indoc::indoc;

    fn layers_dir(files: &[(&str, &str)], dirs: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in files {
            fs::write(dir.path().join(name), content).unwrap();
        }
        for name in dirs {
            fs::create_dir(dir.path().join(name)).unwrap();
        }
        dir
    }

    #[test]
    fn metadata_round_trip_turns_integers_into_floats() {
        let metadata: toml::Value = toml::from_str(indoc! {r#"
            version = "3.13.0"
            count = 3
            ratio = 0.5
            flags = [1, "a"]
            [nested]
            size = 10
        "#})
        .unwrap();
        let restored = json_to_toml(&toml_to_json(&metadata)).unwrap();
        assert_eq!(
            toml::to_string(&restored).unwrap(),
            indoc! {r#"
                count = 3.0
                flags = [1.0, "a"]
                ratio = 0.5
                version = "3.13.0"

                [nested]
                size = 10.0
            "#}
        );
    }

    #[test]
    fn ignores_all_false_layers_and_dirs_without_toml() {
        let dir = layers_dir(
            &[
                (
                    "kept.toml",
                    "[types]\nlaunch = true\n[metadata]\na = \"b\"\n",
                ),
                ("off.toml", "[types]\nlaunch = false\n"),
                ("bare.toml", "[metadata]\nx = 1\n"),
            ],
            &["kept", "off", "no-toml"],
        );
        let output = read_build_output(dir.path()).unwrap();
        assert_eq!(output.layers.len(), 1);
        assert_eq!(output.layers[0].name, "kept");
        assert!(output.layers[0].has_dir);
        assert_eq!(output.ignored, vec!["bare", "off"]);
    }

    #[test]
    fn rejects_top_level_types_and_non_boolean_types() {
        let dir = layers_dir(&[("bad.toml", "launch = true\n")], &[]);
        let error = read_build_output(dir.path()).unwrap_err().to_string();
        assert!(
            error.starts_with("the launch, cache and build flags should be in the types table of ")
        );

        let dir = layers_dir(&[("bad.toml", "[types]\nlaunch = \"yes\"\n")], &[]);
        let error = read_build_output(dir.path()).unwrap_err().to_string();
        assert!(
            error.ends_with("bad.toml: toml: types.launch must be a boolean, found string"),
            "{error}"
        );
    }

    #[test]
    fn validates_launch_toml() {
        let cases = [
            (
                "[[processes]]\ntype = \"we b\"\ncommand = [\"x\"]\n",
                "invalid process type 'we b': type may only contain characters [A-Za-z0-9._-]",
            ),
            (
                "[[processes]]\ntype = \"web\"\ncommand = \"python app.py\"\n",
                "process 'web': command must be an array of strings",
            ),
            (
                "[[processes]]\ntype = \"web\"\ncommand = []\n",
                "process 'web': command must be a non-empty array of strings",
            ),
            (
                "[[processes]]\ncommand = [\"x\"]\n",
                "type is required for all processes",
            ),
            (
                "[[processes]]\ntype = \"web\"\ncommand = [\"x\"]\ndirect = true\n",
                "process.direct is not supported on this buildpack version",
            ),
            (
                "[[processes]]\ntype = \"a\"\ncommand = [\"x\"]\ndefault = true\n[[processes]]\ntype = \"b\"\ncommand = [\"y\"]\ndefault = true\n",
                "multiple default process types aren't allowed",
            ),
        ];
        for (launch_toml, expected) in cases {
            let dir = layers_dir(&[("launch.toml", launch_toml)], &[]);
            let error = read_build_output(dir.path()).unwrap_err().to_string();
            assert!(
                error.ends_with(&format!("launch.toml: {expected}")),
                "{error}"
            );
        }

        let dir = layers_dir(
            &[(
                "launch.toml",
                "[[processes]]\ntype = \"web\"\ncommand = [\"python\", \"-m\", \"http.server\"]\nargs = [\"8080\"]\ndefault = true\nworking-dir = \"sub\"\n",
            )],
            &[],
        );
        assert_eq!(
            read_build_output(dir.path()).unwrap().processes,
            vec![Process {
                r#type: String::from("web"),
                command: vec![
                    String::from("python"),
                    String::from("-m"),
                    String::from("http.server")
                ],
                args: vec![String::from("8080")],
                default: true,
                working_dir: Some(String::from("sub")),
            }]
        );
    }
}

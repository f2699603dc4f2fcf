//! The image's Software Bill of Materials, as `pack sbom download` gives it: the `python` layer
//! lists `CPython` with its version, archive and SHA-256; the `venv` layer lists exactly the
//! distributions installed in the environment. Same inputs give byte-identical SBOMs; a new
//! dependency shows up.

use crate::lockfile_apps::{app_report, with_files_from};
use crate::support::{default_build_config, runtime_server};
use libcnb::data::layer::LayerName;
use libcnb::data::sbom::SbomFormat;
use libcnb::data::{buildpack_id, layer_name};
use local_platform::testing::{BuildConfig, SbomType, TestContext, TestRunner, assert_contains};
use std::path::PathBuf;

/// The `CycloneDX` SBOMs of the `python` and `venv` layers, as downloaded from the image.
#[derive(Debug, PartialEq, Eq)]
struct LaunchSboms {
    python: String,
    venv: String,
}

fn download_sboms(context: &TestContext) -> LaunchSboms {
    context.download_sbom_files(|files| {
        let read = |layer: LayerName| {
            let path = files.path_for(
                buildpack_id!("community/python"),
                SbomType::Layer(layer),
                SbomFormat::CycloneDxJson,
            );
            std::fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
        };
        LaunchSboms {
            python: read(layer_name!("python")),
            venv: read(layer_name!("venv")),
        }
    })
}

/// A component of an SBOM: name, version, purl.
fn components(sbom: &str) -> Vec<(String, String, String)> {
    let document: serde_json::Value = serde_json::from_str(sbom).expect("an SBOM is JSON");
    assert_eq!(document["bomFormat"], "CycloneDX");
    assert_eq!(document["specVersion"], "1.5");
    assert_eq!(document["version"], 1);
    document["components"]
        .as_array()
        .expect("components is an array")
        .iter()
        .map(|component| {
            let field = |key: &str| component[key].as_str().unwrap_or_default().to_string();
            (field("name"), field("version"), field("purl"))
        })
        .collect()
}

/// What the image has installed, as `name==version` lines, from `importlib.metadata` in the
/// launched image.
fn installed_in_image(context: &TestContext) -> Vec<String> {
    let script = "import importlib.metadata as m\n\
                  for d in m.distributions(): print(d.metadata[\"Name\"] + \"==\" + d.version)";
    let mut lines: Vec<String> = context
        .run_shell_command(format!("python -c '{script}'"))
        .stdout
        .lines()
        .map(String::from)
        .collect();
    lines.sort_by_key(|line| line.to_lowercase());
    lines
}

fn listed_in_sbom(venv_sbom: &str) -> Vec<String> {
    let mut lines: Vec<String> = components(venv_sbom)
        .into_iter()
        .map(|(name, version, _)| format!("{name}=={version}"))
        .collect();
    lines.sort_by_key(|line| line.to_lowercase());
    lines
}

/// The URL and SHA-256 of the runtime archive the build installs for `version`: from the test
/// runtime server's inventory, or under `pack` from the buildpack's own.
fn runtime_archive(version: &str) -> (String, String) {
    let arch = match std::env::consts::ARCH {
        "aarch64" => "arm64",
        _ => "amd64",
    };
    let inventory_path: PathBuf = if cfg!(feature = "pack") {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python-inventory.toml")
    } else {
        runtime_server::test_runtimes_dir().join("inventory.toml")
    };
    let inventory: toml::Table =
        toml::from_str(&std::fs::read_to_string(&inventory_path).expect("reading the inventory"))
            .expect("the inventory is TOML");
    let artifact = inventory["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .find(|artifact| {
            artifact["version"].as_str() == Some(version) && artifact["arch"].as_str() == Some(arch)
        })
        .unwrap_or_else(|| {
            panic!(
                "no {version} {arch} runtime in {}",
                inventory_path.display()
            )
        });
    let url = artifact["url"].as_str().expect("url");
    let url = if url.starts_with("https://") || url.starts_with("http://") {
        url.to_string()
    } else {
        runtime_server::runtime_server_url(&format!("/{url}"))
    };
    (
        url,
        artifact["sha256"].as_str().expect("sha256").to_string(),
    )
}

/// Asserts that the `python` layer's SBOM lists exactly the runtime the image runs.
fn assert_runtime_sbom(context: &TestContext, python_sbom: &str) {
    let version = context
        .run_shell_command("python -c 'import platform; print(platform.python_version())'")
        .stdout
        .trim()
        .to_string();
    let (url, sha256) = runtime_archive(&version);
    let document: serde_json::Value = serde_json::from_str(python_sbom).expect("JSON");
    let listed = components(python_sbom);
    assert_eq!(listed.len(), 1, "{python_sbom}");
    let (name, listed_version, purl) = &listed[0];
    assert_eq!(name, "CPython");
    assert_eq!(listed_version, &version);
    assert!(
        purl.starts_with(&format!(
            "pkg:generic/cpython@{version}?checksum=sha256:{sha256}&download_url=http"
        )),
        "{purl}"
    );
    let component = &document["components"][0];
    assert_eq!(
        component["hashes"],
        serde_json::json!([{"alg": "SHA-256", "content": sha256}])
    );
    assert_eq!(
        component["externalReferences"],
        serde_json::json!([{"type": "distribution", "url": url}])
    );
}

/// `test-fixtures/<fixture>` with `line` appended to its `requirements.txt`.
fn with_requirement(fixture: &str, line: &'static str) -> BuildConfig {
    let mut config = default_build_config(fixture);
    config.app_dir_preprocessor(move |app_dir: PathBuf| {
        let path = app_dir.join("requirements.txt");
        let text = std::fs::read_to_string(&path).expect("reading requirements.txt");
        std::fs::write(&path, format!("{text}{line}\n")).expect("writing requirements.txt");
    });
    config
}

#[test]
fn pip_app_sbom_lists_the_runtime_and_every_installed_package() {
    TestRunner::default().build(default_build_config("pip_flask_gunicorn"), |context| {
        let sboms = download_sboms(&context);
        assert_runtime_sbom(&context, &sboms.python);
        let listed = listed_in_sbom(&sboms.venv);
        assert_eq!(listed, installed_in_image(&context));
        assert!(listed.contains(&String::from("Flask==3.1.3")), "{listed:?}");
        assert!(
            listed.contains(&String::from("gunicorn==27.0.1")),
            "{listed:?}"
        );
        assert!(
            components(&sboms.venv)
                .iter()
                .any(|(_, _, purl)| purl == "pkg:pypi/flask@3.1.3"),
            "{}",
            sboms.venv
        );

        // A warm rebuild of the same app reuses both layers: the same SBOMs, byte for byte.
        context.rebuild(default_build_config("pip_flask_gunicorn"), |context| {
            assert_eq!(download_sboms(&context), sboms);
            assert_contains!(
                context.pack_stdout,
                "Reusing layer 'buildpacksio/lifecycle:launch.sbom'\n"
            );

            // A new requirement: the environment's SBOM lists it, the runtime's is unchanged.
            context.rebuild(
                with_requirement("pip_flask_gunicorn", "six==1.16.0"),
                |context| {
                    assert_contains!(
                        context.pack_stdout,
                        "Adding layer 'buildpacksio/lifecycle:launch.sbom'\n"
                    );
                    let updated = download_sboms(&context);
                    assert_eq!(updated.python, sboms.python);
                    let listed = listed_in_sbom(&updated.venv);
                    assert_eq!(listed, installed_in_image(&context));
                    let mut expected = listed_in_sbom(&sboms.venv);
                    expected.push(String::from("six==1.16.0"));
                    expected.sort_by_key(|line| line.to_lowercase());
                    assert_eq!(listed, expected);
                },
            );
        });
    });
}

#[test]
fn uv_app_sbom_lists_exactly_the_locked_packages() {
    TestRunner::default().build(default_build_config("uv_basic"), |context| {
        let sboms = download_sboms(&context);
        assert_runtime_sbom(&context, &sboms.python);
        assert_eq!(
            components(&sboms.venv),
            [
                ("python-dateutil", "4.0.0", "pkg:pypi/python-dateutil@4.0.0"),
                (
                    "typing_extensions",
                    "4.16.0",
                    "pkg:pypi/typing-extensions@4.16.0"
                ),
                ("tzdata", "2026.6", "pkg:pypi/tzdata@2026.6"),
            ]
            .map(|(name, version, purl)| (
                name.to_string(),
                version.to_string(),
                purl.to_string()
            ))
        );
        // The same list as the app reports at launch (its `importlib.metadata` listing).
        let report = app_report(&context);
        for line in listed_in_sbom(&sboms.venv) {
            assert!(report.contains(&format!("\n{line}\n")), "{report}");
        }

        context.rebuild(default_build_config("uv_basic"), |context| {
            assert_eq!(download_sboms(&context), sboms);

            // `six` moved to the main dependencies: uv updates the environment in place, and
            // its SBOM lists `six`.
            let updated_app = with_files_from(
                "uv_basic",
                "uv_lock_updated",
                &["pyproject.toml", "uv.lock"],
            );
            context.rebuild(updated_app, |context| {
                let updated = download_sboms(&context);
                assert_eq!(updated.python, sboms.python);
                assert_eq!(
                    listed_in_sbom(&updated.venv),
                    [
                        "python-dateutil==4.0.0",
                        "six==1.16.0",
                        "typing_extensions==4.16.0",
                        "tzdata==2026.6",
                    ]
                );
                assert_eq!(listed_in_sbom(&updated.venv), installed_in_image(&context));
            });
        });
    });
}

#[test]
fn poetry_and_pipenv_app_sboms_list_what_the_app_reports() {
    for fixture in ["poetry_basic", "pipenv_basic"] {
        TestRunner::default().build(default_build_config(fixture), |context| {
            let sboms = download_sboms(&context);
            assert_runtime_sbom(&context, &sboms.python);
            // `app.py` prints the Python version, then every installed distribution, then a line
            // about its imports.
            let report = app_report(&context);
            let reported: Vec<&str> = report.lines().filter(|line| line.contains("==")).collect();
            assert_eq!(listed_in_sbom(&sboms.venv), reported, "{fixture}");
            assert_eq!(
                reported,
                [
                    "python-dateutil==4.0.0",
                    "typing_extensions==4.16.0",
                    "tzdata==2026.6"
                ],
                "{fixture}"
            );
        });
    }
}

/// Local only (it edits the platform's stores): layers cached by a buildpack version that wrote
/// no SBOM come back without one, and the build, reusing them, still gives the image its SBOMs.
#[cfg(not(feature = "pack"))]
#[test]
fn reused_layers_get_their_sbom_even_when_the_cache_has_none() {
    TestRunner::default().build(default_build_config("uv_basic"), |context| {
        let sboms = download_sboms(&context);
        for store in ["cache", "image"] {
            let dir = context.work_dir().join("store").join(store).join("sbom");
            assert!(dir.is_dir(), "{}", dir.display());
            std::fs::remove_dir_all(&dir).unwrap();
        }
        context.rebuild(default_build_config("uv_basic"), |context| {
            let out = crate::support::build_output(&context);
            assert_contains!(out, "- Using cached Python ");
            assert_contains!(out, "- Skipping the install: ");
            assert_eq!(download_sboms(&context), sboms);
        });
    });
}

//! Choosing a default `web` process for an app without a Procfile, from the app's files and the
//! web servers installed. Only unambiguous cases get a process; every other case is explained.

use crate::steps::installed::InstalledPackages;
use std::path::Path;

/// The outcome of looking for a default `web` process.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Detection {
    /// The command to run (a `bash -c` script) and why it was chosen.
    Chosen { command: String, reason: String },
    /// Why no process could be chosen.
    NoneChosen { reason: String },
}

/// Where the server listens: all interfaces, on `$PORT` (8000 when it isn't set, as when the
/// image runs with a plain `docker run`).
const PORT: &str = "${PORT:-8000}";

fn gunicorn(target: &str) -> String {
    format!("gunicorn {target} --bind 0.0.0.0:{PORT}")
}

fn uvicorn(target: &str) -> String {
    format!("uvicorn {target} --host 0.0.0.0 --port {PORT}")
}

pub(crate) fn detect(app_dir: &Path, installed: &InstalledPackages) -> Detection {
    if app_dir.join("manage.py").is_file() && installed.django.is_some() {
        return detect_django(app_dir, installed);
    }
    detect_module_app(app_dir, installed)
}

fn detect_django(app_dir: &Path, installed: &InstalledPackages) -> Detection {
    let wsgi = match django_wsgi_application(app_dir) {
        Ok(wsgi) => wsgi,
        Err(reason) => return Detection::NoneChosen { reason },
    };
    if installed.gunicorn.is_none() {
        return Detection::NoneChosen {
            reason: format!(
                "This is a Django project (WSGI application '{}', {}), but gunicorn isn't \
                 installed. Add gunicorn to the app's dependencies to get a default 'web' process.",
                wsgi.dotted, wsgi.found_in
            ),
        };
    }
    Detection::Chosen {
        command: gunicorn(&wsgi.gunicorn_target()),
        reason: format!(
            "Django project with gunicorn installed: WSGI application '{}' ({})",
            wsgi.dotted, wsgi.found_in
        ),
    }
}

/// A Django project's WSGI application and how it was found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct WsgiApplication {
    /// Dotted path, e.g. `mysite.wsgi.application`.
    pub(crate) dotted: String,
    /// For the build output, e.g. `WSGI_APPLICATION in mysite/settings.py`.
    pub(crate) found_in: String,
}

impl WsgiApplication {
    /// `module:attribute`, the form gunicorn and uvicorn take.
    fn gunicorn_target(&self) -> String {
        match self.dotted.rsplit_once('.') {
            Some((module, attribute)) => format!("{module}:{attribute}"),
            None => self.dotted.clone(),
        }
    }
}

/// Finds the WSGI application of the Django project in `app_dir`: the settings module named in
/// `manage.py` (`DJANGO_SETTINGS_MODULE`), then `WSGI_APPLICATION` in that settings file, or
/// failing that a `wsgi.py` next to the settings. The module must exist in the app.
pub(crate) fn django_wsgi_application(app_dir: &Path) -> Result<WsgiApplication, String> {
    let manage_py = std::fs::read_to_string(app_dir.join("manage.py"))
        .map_err(|error| format!("manage.py could not be read: {error}"))?;
    let settings_module = string_assigned_after(&manage_py, "DJANGO_SETTINGS_MODULE")
        .filter(|module| is_dotted_name(module))
        .ok_or_else(|| {
            "This is a Django project, but manage.py doesn't set DJANGO_SETTINGS_MODULE to a \
             settings module, so its WSGI application can't be found."
                .to_string()
        })?;
    let settings_path = module_file(app_dir, &settings_module);
    let from_settings = settings_path.as_ref().and_then(|path| {
        let source = std::fs::read_to_string(app_dir.join(path)).ok()?;
        let dotted = string_assigned_after(&source, "WSGI_APPLICATION")?;
        Some(WsgiApplication {
            dotted,
            found_in: format!("WSGI_APPLICATION in {path}"),
        })
    });
    // Failing that, the project template's layout: `<project>/wsgi.py` next to
    // `<project>/settings.py`.
    let wsgi = from_settings.unwrap_or_else(|| {
        let dotted = match settings_module.rsplit_once('.') {
            Some((package, _)) => format!("{package}.wsgi.application"),
            None => "wsgi.application".to_string(),
        };
        WsgiApplication {
            dotted,
            found_in: format!(
                "no WSGI_APPLICATION found in the settings module '{settings_module}', so the \
                 wsgi.py next to it"
            ),
        }
    });
    let module = wsgi
        .dotted
        .rsplit_once('.')
        .map_or(wsgi.dotted.as_str(), |(module, _)| module);
    if !is_dotted_name(&wsgi.dotted) || module_file(app_dir, module).is_none() {
        return Err(format!(
            "This is a Django project, but its WSGI application '{}' ({}) isn't a module in \
             the app.",
            wsgi.dotted, wsgi.found_in
        ));
    }
    Ok(wsgi)
}

/// The app-relative path of a dotted module's source (`a.b` → `a/b.py` or `a/b/__init__.py`).
fn module_file(app_dir: &Path, dotted: &str) -> Option<String> {
    let base = dotted.replace('.', "/");
    [format!("{base}.py"), format!("{base}/__init__.py")]
        .into_iter()
        .find(|path| app_dir.join(path).is_file())
}

fn is_dotted_name(name: &str) -> bool {
    name.split('.').all(|part| {
        let mut chars = part.chars();
        chars
            .next()
            .is_some_and(|first| first.is_alphabetic() || first == '_')
            && chars.all(|char| char.is_alphanumeric() || char == '_')
    })
}

/// The first string literal after the first `key` that isn't itself inside a string's quotes,
/// skipping the key's own closing quote: `KEY = "value"`, `setdefault("KEY", "value")`. Comment
/// lines are ignored.
fn string_assigned_after(source: &str, key: &str) -> Option<String> {
    for line in source.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let Some(position) = line.find(key) else {
            continue;
        };
        let rest = &line[position + key.len()..];
        // A quoted key (`"KEY", "value"`) is followed by its closing quote.
        let rest = rest
            .strip_prefix('"')
            .or_else(|| rest.strip_prefix('\''))
            .unwrap_or(rest);
        let separator = rest.trim_start();
        if !(separator.starts_with('=') || separator.starts_with(',')) {
            continue;
        }
        let after = separator[1..].trim_start();
        let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let value = &after[1..];
        return value
            .find(quote)
            .map(|end| value[..end].to_string())
            .filter(|value| !value.is_empty());
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interface {
    Wsgi,
    Asgi,
}

/// A module in the app root that defines an `app` or `application` object.
#[derive(Debug)]
struct Candidate {
    module: &'static str,
    object: &'static str,
    interface: Interface,
}

impl Candidate {
    fn describe(&self) -> String {
        let kind = match self.interface {
            Interface::Wsgi => "WSGI",
            Interface::Asgi => "ASGI",
        };
        format!(
            "{}.py defines the {kind} app '{}'",
            self.module, self.object
        )
    }

    fn server(&self) -> &'static str {
        match self.interface {
            Interface::Wsgi => "gunicorn",
            Interface::Asgi => "uvicorn",
        }
    }
}

/// Frameworks whose apps are ASGI apps: a module importing one of them is served by uvicorn.
const ASGI_FRAMEWORKS: [&str; 5] = [
    "fastapi",
    "starlette",
    "quart",
    "litestar",
    "django.core.asgi",
];

/// `wsgi.py` and `asgi.py` are entry points by name and win over `app.py` and `main.py`, which
/// often are the modules that the entry points import.
const ENTRY_POINT_MODULES: [&str; 2] = ["wsgi", "asgi"];
const APP_MODULES: [&str; 2] = ["app", "main"];

fn detect_module_app(app_dir: &Path, installed: &InstalledPackages) -> Detection {
    let candidates = |modules: &[&'static str]| -> Vec<Candidate> {
        modules
            .iter()
            .filter_map(|module| {
                let source = std::fs::read_to_string(app_dir.join(format!("{module}.py"))).ok()?;
                let object = app_object(&source)?;
                let interface = match *module {
                    "wsgi" => Interface::Wsgi,
                    "asgi" => Interface::Asgi,
                    _ if imports_any(&source, &ASGI_FRAMEWORKS) => Interface::Asgi,
                    _ => Interface::Wsgi,
                };
                Some(Candidate {
                    module,
                    object,
                    interface,
                })
            })
            .collect()
    };
    let is_installed = |candidate: &Candidate| match candidate.interface {
        Interface::Wsgi => installed.gunicorn.is_some(),
        Interface::Asgi => installed.uvicorn.is_some(),
    };

    let mut found = Vec::new();
    for group in [&ENTRY_POINT_MODULES[..], &APP_MODULES[..]] {
        let group_candidates = candidates(group);
        let (servable, unservable): (Vec<_>, Vec<_>) =
            group_candidates.into_iter().partition(is_installed);
        match &servable[..] {
            [candidate] => {
                let target = format!("{}:{}", candidate.module, candidate.object);
                return Detection::Chosen {
                    command: match candidate.interface {
                        Interface::Wsgi => gunicorn(&target),
                        Interface::Asgi => uvicorn(&target),
                    },
                    reason: format!(
                        "{}, and {} is installed",
                        candidate.describe(),
                        candidate.server()
                    ),
                };
            }
            [] => found.extend(unservable),
            several => {
                return Detection::NoneChosen {
                    reason: format!(
                        "More than one module could be the web app: {}.",
                        several
                            .iter()
                            .map(Candidate::describe)
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                };
            }
        }
    }
    let reason = if found.is_empty() {
        if app_dir.join("manage.py").is_file() {
            "The app has a manage.py, but Django isn't installed.".to_string()
        } else {
            "No Django project (manage.py), and no app.py, main.py, wsgi.py or asgi.py defining \
             an 'app' or 'application' object, was found."
                .to_string()
        }
    } else {
        found
            .iter()
            .map(|candidate| {
                format!(
                    "{}, but {} isn't installed.",
                    candidate.describe(),
                    candidate.server()
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    Detection::NoneChosen { reason }
}

/// `app` or `application` when the module defines it at top level (an assignment, a function or
/// class, or an import), `app` first.
fn app_object(source: &str) -> Option<&'static str> {
    ["app", "application"]
        .into_iter()
        .find(|name| defines_top_level(source, name))
}

fn defines_top_level(source: &str, name: &str) -> bool {
    source.lines().any(|line| {
        if line.starts_with(char::is_whitespace) {
            return false;
        }
        let line = line.split('#').next().unwrap_or_default().trim_end();
        if let Some(rest) = line.strip_prefix(name) {
            // `app = ...`, `app: Flask = ...`, but not `app == x`, `apps = ...` or `app.run()`.
            let rest = rest.trim_start();
            return (rest.starts_with('=') && !rest.starts_with("=="))
                || (rest.starts_with(':') && rest.contains('='));
        }
        for keyword in ["def ", "async def ", "class "] {
            if let Some(rest) = line.strip_prefix(keyword) {
                return rest
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with(['(', ':']));
            }
        }
        if line.starts_with("from ") || line.starts_with("import ") {
            let imported = line.rsplit_once(" import ").map_or_else(
                || line.trim_start_matches("import "),
                |(_, imported)| imported,
            );
            return imported
                .trim_matches(|c| c == '(' || c == ')')
                .split(',')
                .any(|item| item.split_whitespace().last() == Some(name));
        }
        false
    })
}

/// Whether the source imports one of the packages (or a submodule of it).
fn imports_any(source: &str, packages: &[&str]) -> bool {
    source.lines().any(|line| {
        let line = line.trim_start();
        let module = line
            .strip_prefix("from ")
            .or_else(|| line.strip_prefix("import "))
            .and_then(|rest| rest.split([' ', ',']).next());
        module.is_some_and(|module| {
            packages.iter().any(|package| {
                module == *package
                    || module
                        .strip_prefix(package)
                        .is_some_and(|rest| rest.starts_with('.'))
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn app(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, contents) in files {
            let path = dir.path().join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, contents).unwrap();
        }
        dir
    }

    fn installed(django: bool, gunicorn: bool, uvicorn: bool) -> InstalledPackages {
        let version = |yes: bool| yes.then(|| "1.0".to_string());
        InstalledPackages {
            django: version(django),
            gunicorn: version(gunicorn),
            uvicorn: version(uvicorn),
        }
    }

    const MANAGE_PY: &str = r#"#!/usr/bin/env python
import os
import sys

def main():
    """Run administrative tasks."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
"#;

    #[test]
    fn django_project_with_gunicorn() {
        let dir = app(&[
            ("manage.py", MANAGE_PY),
            (
                "mysite/settings.py",
                "# WSGI_APPLICATION = 'old.wsgi.app'\nWSGI_APPLICATION = 'mysite.wsgi.application'\n",
            ),
            ("mysite/wsgi.py", "application = get_wsgi_application()\n"),
        ]);
        assert_eq!(
            detect(dir.path(), &installed(true, true, false)),
            Detection::Chosen {
                command: "gunicorn mysite.wsgi:application --bind 0.0.0.0:${PORT:-8000}"
                    .to_string(),
                reason: "Django project with gunicorn installed: WSGI application \
                         'mysite.wsgi.application' (WSGI_APPLICATION in mysite/settings.py)"
                    .to_string()
            }
        );
    }

    #[test]
    fn django_settings_package_falls_back_to_wsgi_py() {
        let dir = app(&[
            (
                "manage.py",
                "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings.production')\n",
            ),
            ("proj/settings/__init__.py", ""),
            ("proj/settings/production.py", "from .base import *\n"),
            ("proj/settings/wsgi.py", "application = 1\n"),
        ]);
        assert_eq!(
            django_wsgi_application(dir.path()),
            Ok(WsgiApplication {
                dotted: "proj.settings.wsgi.application".to_string(),
                found_in: "no WSGI_APPLICATION found in the settings module \
                           'proj.settings.production', so the wsgi.py next to it"
                    .to_string()
            })
        );
    }

    #[test]
    fn django_wsgi_module_must_exist() {
        let dir = app(&[
            ("manage.py", MANAGE_PY),
            (
                "mysite/settings.py",
                "WSGI_APPLICATION = \"mysite.wsgi.application\"\n",
            ),
        ]);
        assert_eq!(
            detect(dir.path(), &installed(true, true, false)),
            Detection::NoneChosen {
                reason: "This is a Django project, but its WSGI application \
                         'mysite.wsgi.application' (WSGI_APPLICATION in mysite/settings.py) isn't \
                         a module in the app."
                    .to_string()
            }
        );
    }

    #[test]
    fn django_without_settings_module() {
        let dir = app(&[("manage.py", "print('hi')\n")]);
        assert_eq!(
            detect(dir.path(), &installed(true, true, false)),
            Detection::NoneChosen {
                reason: "This is a Django project, but manage.py doesn't set \
                         DJANGO_SETTINGS_MODULE to a settings module, so its WSGI application \
                         can't be found."
                    .to_string()
            }
        );
    }

    #[test]
    fn django_without_gunicorn() {
        let dir = app(&[
            ("manage.py", MANAGE_PY),
            (
                "mysite/settings.py",
                "WSGI_APPLICATION = 'mysite.wsgi.application'\n",
            ),
            ("mysite/wsgi.py", "application = 1\n"),
        ]);
        assert_eq!(
            detect(dir.path(), &installed(true, false, true)),
            Detection::NoneChosen {
                reason: "This is a Django project (WSGI application 'mysite.wsgi.application', \
                         WSGI_APPLICATION in mysite/settings.py), but gunicorn isn't installed. \
                         Add gunicorn to the app's dependencies to get a default 'web' process."
                    .to_string()
            }
        );
    }

    #[test]
    fn flask_app_with_gunicorn() {
        let dir = app(&[(
            "app.py",
            "from flask import Flask\n\napp = Flask(__name__)\n\n@app.route('/')\ndef index():\n    \
             return 'hi'\n",
        )]);
        assert_eq!(
            detect(dir.path(), &installed(false, true, false)),
            Detection::Chosen {
                command: "gunicorn app:app --bind 0.0.0.0:${PORT:-8000}".to_string(),
                reason: "app.py defines the WSGI app 'app', and gunicorn is installed".to_string()
            }
        );
    }

    #[test]
    fn flask_app_without_gunicorn() {
        let dir = app(&[("app.py", "from flask import Flask\napp = Flask(__name__)\n")]);
        assert_eq!(
            detect(dir.path(), &installed(false, false, true)),
            Detection::NoneChosen {
                reason: "app.py defines the WSGI app 'app', but gunicorn isn't installed."
                    .to_string()
            }
        );
    }

    #[test]
    fn wsgi_py_wins_over_the_app_it_imports() {
        let dir = app(&[
            ("app.py", "app = Flask(__name__)\n"),
            ("wsgi.py", "from app import app as application\n"),
        ]);
        assert_eq!(
            detect(dir.path(), &installed(false, true, false)),
            Detection::Chosen {
                command: "gunicorn wsgi:application --bind 0.0.0.0:${PORT:-8000}".to_string(),
                reason: "wsgi.py defines the WSGI app 'application', and gunicorn is installed"
                    .to_string()
            }
        );
    }

    #[test]
    fn fastapi_app_with_uvicorn() {
        let dir = app(&[(
            "main.py",
            "from fastapi import FastAPI\n\napp: FastAPI = FastAPI()\n",
        )]);
        assert_eq!(
            detect(dir.path(), &installed(false, false, true)),
            Detection::Chosen {
                command: "uvicorn main:app --host 0.0.0.0 --port ${PORT:-8000}".to_string(),
                reason: "main.py defines the ASGI app 'app', and uvicorn is installed".to_string()
            }
        );
    }

    #[test]
    fn fastapi_app_needs_uvicorn_not_gunicorn() {
        let dir = app(&[("app.py", "import fastapi\napp = fastapi.FastAPI()\n")]);
        assert_eq!(
            detect(dir.path(), &installed(false, true, false)),
            Detection::NoneChosen {
                reason: "app.py defines the ASGI app 'app', but uvicorn isn't installed."
                    .to_string()
            }
        );
    }

    #[test]
    fn two_servable_apps_are_ambiguous() {
        let dir = app(&[
            ("app.py", "from flask import Flask\napp = Flask(__name__)\n"),
            (
                "main.py",
                "from starlette.applications import Starlette\napp = Starlette()\n",
            ),
        ]);
        assert_eq!(
            detect(dir.path(), &installed(false, true, true)),
            Detection::NoneChosen {
                reason: "More than one module could be the web app: app.py defines the WSGI app \
                         'app'; main.py defines the ASGI app 'app'."
                    .to_string()
            }
        );
        // With only one of the servers installed, only one of them can be served.
        assert!(matches!(
            detect(dir.path(), &installed(false, false, true)),
            Detection::Chosen { .. }
        ));
    }

    #[test]
    fn nothing_to_serve() {
        let dir = app(&[("main.py", "def main():\n    app = 1\n\nmain()\n")]);
        assert_eq!(
            detect(dir.path(), &installed(false, true, true)),
            Detection::NoneChosen {
                reason: "No Django project (manage.py), and no app.py, main.py, wsgi.py or \
                         asgi.py defining an 'app' or 'application' object, was found."
                    .to_string()
            }
        );
        let dir = app(&[("manage.py", MANAGE_PY)]);
        assert_eq!(
            detect(dir.path(), &installed(false, true, true)),
            Detection::NoneChosen {
                reason: "The app has a manage.py, but Django isn't installed.".to_string()
            }
        );
    }

    #[test]
    fn recognises_top_level_definitions_only() {
        for source in [
            "app = Flask(__name__)",
            "app=create_app()",
            "app: Flask = Flask(__name__)",
            "def app(environ, start_response):",
            "async def app(scope, receive, send):",
            "class app:",
            "from mypkg import create, app",
            "from mypkg.web import (app)",
            "from mypkg import application as app",
            "import mypkg.web as app",
        ] {
            assert_eq!(app_object(source), Some("app"), "{source}");
        }
        for source in [
            "    app = Flask(__name__)",
            "app == 1",
            "apps = []",
            "app.run()",
            "def apple():",
            "from app import views",
            "# app = 1",
            "application_name = 'x'",
        ] {
            assert_eq!(app_object(source), None, "{source}");
        }
        assert_eq!(
            app_object("application = get_wsgi_application()"),
            Some("application")
        );
    }

    #[test]
    fn recognises_asgi_framework_imports() {
        assert!(imports_any("from fastapi import FastAPI", &ASGI_FRAMEWORKS));
        assert!(imports_any(
            "import starlette.applications",
            &ASGI_FRAMEWORKS
        ));
        assert!(imports_any(
            "from django.core.asgi import x",
            &ASGI_FRAMEWORKS
        ));
        assert!(!imports_any("import fastapi_utils", &ASGI_FRAMEWORKS));
        assert!(!imports_any("from flask import Flask", &ASGI_FRAMEWORKS));
    }
}

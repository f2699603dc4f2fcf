//! Choosing a default `web` process for an app without a Procfile, from the app's files and the
//! web servers installed. Only unambiguous cases get a process; every other case is explained.

use crate::steps::installed::InstalledPackages;
use crate::steps::manage_py::ManagePy;
use std::path::{Path, PathBuf};

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

/// `gunicorn <target>`, started in `chdir` (a shell word) when the module is imported from
/// there.
fn gunicorn(target: &str, chdir: Option<&str>) -> String {
    let chdir = chdir
        .map(|dir| format!(" --chdir {dir}"))
        .unwrap_or_default();
    format!("gunicorn {target}{chdir} --bind 0.0.0.0:{PORT}")
}

/// `uvicorn <target>`, importing it from `import_dir` (a shell word) rather than the app's root.
fn uvicorn(target: &str, import_dir: Option<&str>) -> String {
    let import_dir = import_dir
        .map(|dir| format!(" --app-dir {dir}"))
        .unwrap_or_default();
    format!("uvicorn {target}{import_dir} --host 0.0.0.0 --port {PORT}")
}

/// `manage_py` is the app's Django project, if it has one ([`ManagePy::find`]).
pub(crate) fn detect(
    app_dir: &Path,
    installed: &InstalledPackages,
    manage_py: Option<&ManagePy>,
) -> Detection {
    match manage_py {
        Some(manage_py) if installed.django.is_some() => {
            detect_django(&Project::new(app_dir, manage_py), installed)
        }
        _ => detect_module_app(app_dir, installed, manage_py),
    }
}

/// A Django project: its `manage.py` and the directory its modules are imported from.
struct Project<'a> {
    /// The absolute directory of `manage.py`.
    dir: PathBuf,
    manage_py: &'a ManagePy,
}

impl<'a> Project<'a> {
    fn new(app_dir: &Path, manage_py: &'a ManagePy) -> Self {
        Self {
            dir: app_dir.join(manage_py.dir()),
            manage_py,
        }
    }

    /// A path relative to the project's directory as the user sees it, from the app's root.
    fn shown(&self, path: &str) -> String {
        self.manage_py
            .dir()
            .join(path)
            .to_string_lossy()
            .into_owned()
    }

    /// "Django project", or "Django project (backend/manage.py)" when it isn't in the root.
    fn name(&self) -> String {
        if self.manage_py.is_in_root() {
            "Django project".to_string()
        } else {
            format!("Django project ({})", self.manage_py.shown())
        }
    }

    /// Where the servers import the project from, when it isn't the app's root.
    fn server_dir(&self) -> Option<String> {
        (!self.manage_py.is_in_root()).then(|| self.manage_py.dir_shell_word())
    }

    /// "the app", or "the app's directory 'backend'".
    fn modules_location(&self) -> String {
        if self.manage_py.is_in_root() {
            "the app".to_string()
        } else {
            format!(
                "the app's directory '{}'",
                self.manage_py.dir().to_string_lossy()
            )
        }
    }
}

fn detect_django(project: &Project, installed: &InstalledPackages) -> Detection {
    let settings = match django_settings(project) {
        Ok(settings) => settings,
        Err(reason) => return Detection::NoneChosen { reason },
    };
    let name = project.name();
    let gunicorn_installed = installed.gunicorn.is_some();
    let uvicorn_installed = installed.uvicorn.is_some();
    let wsgi = settings.application(project, Interface::Wsgi);
    let asgi = settings.application(project, Interface::Asgi);
    // ASGI_APPLICATION (the setting Channels reads) says the project is meant to be served over
    // ASGI; without it, a project that has gunicorn keeps being served over WSGI.
    if uvicorn_installed && (!gunicorn_installed || asgi.from_settings) {
        if let Err(reason) = asgi.check_module(project) {
            return Detection::NoneChosen { reason };
        }
        let why = if gunicorn_installed {
            format!("{name} with uvicorn and gunicorn installed, and ASGI_APPLICATION set")
        } else {
            format!("{name} with uvicorn installed (and not gunicorn)")
        };
        return Detection::Chosen {
            command: uvicorn(&asgi.server_target(), project.server_dir().as_deref()),
            reason: format!(
                "{why}: ASGI application '{}' ({})",
                asgi.dotted, asgi.found_in
            ),
        };
    }
    if !gunicorn_installed {
        let found: Vec<String> = [&wsgi, &asgi]
            .into_iter()
            .filter(|application| application.check_module(project).is_ok())
            .map(DjangoApplication::describe)
            .collect();
        let found = if found.is_empty() {
            String::new()
        } else {
            format!(" ({})", found.join("; "))
        };
        return Detection::NoneChosen {
            reason: format!(
                "This is a {name}{found}, but neither gunicorn nor uvicorn is \
                 installed. Add gunicorn (to serve the project over WSGI) or uvicorn (over \
                 ASGI) to the app's dependencies to get a default 'web' process."
            ),
        };
    }
    if let Err(reason) = wsgi.check_module(project) {
        return Detection::NoneChosen { reason };
    }
    let note = if asgi.from_settings {
        // Only when uvicorn isn't installed: otherwise ASGI was chosen above.
        format!(
            ". The settings set ASGI_APPLICATION '{}', but uvicorn isn't installed: add uvicorn \
             to the app's dependencies to serve the project over ASGI",
            asgi.dotted
        )
    } else if uvicorn_installed {
        ". uvicorn is installed too, but the settings don't set ASGI_APPLICATION, so the \
         project is served over WSGI"
            .to_string()
    } else {
        String::new()
    };
    Detection::Chosen {
        command: gunicorn(&wsgi.server_target(), project.server_dir().as_deref()),
        reason: format!(
            "{name} with gunicorn installed: WSGI application '{}' ({}){note}",
            wsgi.dotted, wsgi.found_in
        ),
    }
}

/// A Django project's WSGI or ASGI application and how it was found.
#[derive(Debug, PartialEq, Eq)]
struct DjangoApplication {
    /// Dotted path, e.g. `mysite.wsgi.application`.
    dotted: String,
    /// For the build output, e.g. `WSGI_APPLICATION in mysite/settings.py`.
    found_in: String,
    /// Whether the settings name it (`WSGI_APPLICATION` / `ASGI_APPLICATION`), rather than it
    /// being the project template's `wsgi.py` / `asgi.py` next to the settings.
    from_settings: bool,
    interface: Interface,
}

impl DjangoApplication {
    /// `module:attribute`, the form gunicorn and uvicorn take.
    fn server_target(&self) -> String {
        match self.dotted.rsplit_once('.') {
            Some((module, attribute)) => format!("{module}:{attribute}"),
            None => self.dotted.clone(),
        }
    }

    /// Whether the application's module is a module in the project's directory, as a server
    /// needs.
    fn check_module(&self, project: &Project) -> Result<(), String> {
        let module = self
            .dotted
            .rsplit_once('.')
            .map_or(self.dotted.as_str(), |(module, _)| module);
        if is_dotted_name(&self.dotted) && module_file(&project.dir, module).is_some() {
            return Ok(());
        }
        Err(format!(
            "This is a {}, but its {} application '{}' ({}) isn't a module in {}.",
            project.name(),
            self.interface.name(),
            self.dotted,
            self.found_in,
            project.modules_location()
        ))
    }

    /// `WSGI application 'mysite.wsgi.application', WSGI_APPLICATION in mysite/settings.py`
    fn describe(&self) -> String {
        format!(
            "{} application '{}', {}",
            self.interface.name(),
            self.dotted,
            self.found_in
        )
    }
}

/// The settings module named in a Django project's `manage.py`, and its file in the project's
/// directory.
#[derive(Debug)]
struct DjangoSettings {
    /// e.g. `mysite.settings`
    module: String,
    /// e.g. `mysite/settings.py`, relative to the project's directory, when the module is a file
    /// there.
    path: Option<String>,
}

/// Reads `DJANGO_SETTINGS_MODULE` from the project's `manage.py`.
fn django_settings(project: &Project) -> Result<DjangoSettings, String> {
    let shown = project.manage_py.shown();
    let manage_py = read_source(&project.dir.join("manage.py"), &shown)
        .map_err(|error| format!("{shown} could not be read: {error}"))?;
    let module = string_assigned_after(&manage_py, "DJANGO_SETTINGS_MODULE")
        .filter(|module| is_dotted_name(module))
        .ok_or_else(|| {
            format!(
                "This is a Django project, but {shown} doesn't set DJANGO_SETTINGS_MODULE to a \
                 settings module, so its WSGI and ASGI applications can't be found."
            )
        })?;
    let path = module_file(&project.dir, &module);
    Ok(DjangoSettings { module, path })
}

impl DjangoSettings {
    /// The project's application for `interface`: `WSGI_APPLICATION` / `ASGI_APPLICATION` in the
    /// settings file, or failing that a `wsgi.py` / `asgi.py` next to the settings (the project
    /// template's layout). See [`DjangoApplication::check_module`] for whether it exists.
    fn application(&self, project: &Project, interface: Interface) -> DjangoApplication {
        let kind = interface.name();
        let setting = format!("{kind}_APPLICATION");
        let module_name = kind.to_lowercase();
        let from_settings = self.path.as_ref().and_then(|path| {
            let source = read_source(&project.dir.join(path), path).ok()?;
            let dotted = string_assigned_after(&source, &setting)?;
            Some(DjangoApplication {
                dotted,
                found_in: format!("{setting} in {}", project.shown(path)),
                from_settings: true,
                interface,
            })
        });
        from_settings.unwrap_or_else(|| {
            let dotted = match self.module.rsplit_once('.') {
                Some((package, _)) => format!("{package}.{module_name}.application"),
                None => format!("{module_name}.application"),
            };
            DjangoApplication {
                dotted,
                found_in: format!(
                    "no {setting} found in the settings module '{}', so the {module_name}.py \
                     next to it",
                    self.module
                ),
                from_settings: false,
                interface,
            }
        })
    }
}

/// The path of a dotted module's source relative to `dir`, the directory it is imported from
/// (`a.b` → `a/b.py` or `a/b/__init__.py`).
fn module_file(dir: &Path, dotted: &str) -> Option<String> {
    let base = dotted.replace('.', "/");
    [format!("{base}.py"), format!("{base}/__init__.py")]
        .into_iter()
        .find(|path| dir.join(path).is_file())
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

impl Interface {
    fn name(self) -> &'static str {
        match self {
            Self::Wsgi => "WSGI",
            Self::Asgi => "ASGI",
        }
    }
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
        format!(
            "{}.py defines the {} app '{}'",
            self.module,
            self.interface.name(),
            self.object
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

fn detect_module_app(
    app_dir: &Path,
    installed: &InstalledPackages,
    manage_py: Option<&ManagePy>,
) -> Detection {
    let candidates = |modules: &[&'static str]| -> Vec<Candidate> {
        modules
            .iter()
            .filter_map(|module| {
                let file = format!("{module}.py");
                let source = read_source(&app_dir.join(&file), &file).ok()?;
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
                        Interface::Wsgi => gunicorn(&target, None),
                        Interface::Asgi => uvicorn(&target, None),
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
        if let Some(manage_py) = manage_py {
            format!(
                "The app has a {}, but Django isn't installed.",
                manage_py.shown()
            )
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

/// A Python source file of the app, through the one reader of app files (so a named pipe named
/// `app.py` can't block the build); not UTF-8 or absent is an error.
fn read_source(path: &Path, shown: &str) -> Result<String, String> {
    let bytes = crate::app_file::read(path, shown)
        .map_err(|error| error.reason())?
        .ok_or_else(|| "it does not exist".to_string())?;
    String::from_utf8(bytes).map_err(|_| "it isn't UTF-8 text".to_string())
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

    /// What the build decides for the app in `dir`, with its `manage.py` found as the build
    /// finds it.
    fn detect_app(dir: &Path, installed: &InstalledPackages) -> Detection {
        detect(dir, installed, ManagePy::find(dir).as_ref())
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
            detect_app(dir.path(), &installed(true, true, false)),
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
    fn django_settings_package_falls_back_to_wsgi_py_and_asgi_py() {
        let dir = app(&[
            (
                "manage.py",
                "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings.production')\n",
            ),
            ("proj/settings/__init__.py", ""),
            ("proj/settings/production.py", "from .base import *\n"),
            ("proj/settings/wsgi.py", "application = 1\n"),
        ]);
        let manage_py = ManagePy::find(dir.path()).unwrap();
        let project = Project::new(dir.path(), &manage_py);
        let settings = django_settings(&project).unwrap();
        let wsgi = settings.application(&project, Interface::Wsgi);
        assert_eq!(
            wsgi,
            DjangoApplication {
                dotted: "proj.settings.wsgi.application".to_string(),
                found_in: "no WSGI_APPLICATION found in the settings module \
                           'proj.settings.production', so the wsgi.py next to it"
                    .to_string(),
                from_settings: false,
                interface: Interface::Wsgi,
            }
        );
        assert_eq!(wsgi.check_module(&project), Ok(()));
        let asgi = settings.application(&project, Interface::Asgi);
        assert_eq!(asgi.dotted, "proj.settings.asgi.application");
        assert_eq!(
            asgi.check_module(&project),
            Err("This is a Django project, but its ASGI application \
                 'proj.settings.asgi.application' (no ASGI_APPLICATION found in the settings \
                 module 'proj.settings.production', so the asgi.py next to it) isn't a module \
                 in the app."
                .to_string())
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
            detect_app(dir.path(), &installed(true, true, false)),
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
            detect_app(dir.path(), &installed(true, true, false)),
            Detection::NoneChosen {
                reason: "This is a Django project, but manage.py doesn't set \
                         DJANGO_SETTINGS_MODULE to a settings module, so its WSGI and ASGI \
                         applications can't be found."
                    .to_string()
            }
        );
    }

    /// `django-admin startproject mysite`: both a `wsgi.py` and an `asgi.py`, and
    /// `WSGI_APPLICATION` (but no `ASGI_APPLICATION`) in the settings.
    fn startproject(settings_extra: &str) -> tempfile::TempDir {
        app(&[
            ("manage.py", MANAGE_PY),
            (
                "mysite/settings.py",
                &format!("WSGI_APPLICATION = 'mysite.wsgi.application'\n{settings_extra}"),
            ),
            ("mysite/__init__.py", ""),
            ("mysite/wsgi.py", "application = get_wsgi_application()\n"),
            ("mysite/asgi.py", "application = get_asgi_application()\n"),
        ])
    }

    #[test]
    fn django_with_uvicorn_and_not_gunicorn_is_served_over_asgi() {
        let dir = startproject("");
        assert_eq!(
            detect_app(dir.path(), &installed(true, false, true)),
            Detection::Chosen {
                command: "uvicorn mysite.asgi:application --host 0.0.0.0 --port ${PORT:-8000}"
                    .to_string(),
                reason: "Django project with uvicorn installed (and not gunicorn): ASGI \
                         application 'mysite.asgi.application' (no ASGI_APPLICATION found in \
                         the settings module 'mysite.settings', so the asgi.py next to it)"
                    .to_string()
            }
        );
    }

    #[test]
    fn django_with_both_servers_stays_on_wsgi_unless_asgi_application_is_set() {
        let dir = startproject("");
        assert_eq!(
            detect_app(dir.path(), &installed(true, true, true)),
            Detection::Chosen {
                command: "gunicorn mysite.wsgi:application --bind 0.0.0.0:${PORT:-8000}"
                    .to_string(),
                reason: "Django project with gunicorn installed: WSGI application \
                         'mysite.wsgi.application' (WSGI_APPLICATION in mysite/settings.py). \
                         uvicorn is installed too, but the settings don't set \
                         ASGI_APPLICATION, so the project is served over WSGI"
                    .to_string()
            }
        );
        // As a Channels project sets it.
        let dir = startproject("ASGI_APPLICATION = \"mysite.asgi.application\"\n");
        assert_eq!(
            detect_app(dir.path(), &installed(true, true, true)),
            Detection::Chosen {
                command: "uvicorn mysite.asgi:application --host 0.0.0.0 --port ${PORT:-8000}"
                    .to_string(),
                reason: "Django project with uvicorn and gunicorn installed, and \
                         ASGI_APPLICATION set: ASGI application 'mysite.asgi.application' \
                         (ASGI_APPLICATION in mysite/settings.py)"
                    .to_string()
            }
        );
    }

    #[test]
    fn django_asgi_application_without_uvicorn_is_served_over_wsgi_with_a_note() {
        let dir = startproject("ASGI_APPLICATION = 'mysite.asgi.application'\n");
        assert_eq!(
            detect_app(dir.path(), &installed(true, true, false)),
            Detection::Chosen {
                command: "gunicorn mysite.wsgi:application --bind 0.0.0.0:${PORT:-8000}"
                    .to_string(),
                reason: "Django project with gunicorn installed: WSGI application \
                         'mysite.wsgi.application' (WSGI_APPLICATION in mysite/settings.py). \
                         The settings set ASGI_APPLICATION 'mysite.asgi.application', but \
                         uvicorn isn't installed: add uvicorn to the app's dependencies to \
                         serve the project over ASGI"
                    .to_string()
            }
        );
    }

    #[test]
    fn django_with_uvicorn_needs_an_asgi_module() {
        // A project from before Django 3.0, which had no asgi.py.
        let dir = app(&[
            ("manage.py", MANAGE_PY),
            (
                "mysite/settings.py",
                "WSGI_APPLICATION = 'mysite.wsgi.application'\n",
            ),
            ("mysite/wsgi.py", "application = 1\n"),
        ]);
        assert_eq!(
            detect_app(dir.path(), &installed(true, false, true)),
            Detection::NoneChosen {
                reason: "This is a Django project, but its ASGI application \
                         'mysite.asgi.application' (no ASGI_APPLICATION found in the settings \
                         module 'mysite.settings', so the asgi.py next to it) isn't a module in \
                         the app."
                    .to_string()
            }
        );
    }

    #[test]
    fn django_without_a_server() {
        let dir = startproject("");
        assert_eq!(
            detect_app(dir.path(), &installed(true, false, false)),
            Detection::NoneChosen {
                reason: "This is a Django project (WSGI application 'mysite.wsgi.application', \
                         WSGI_APPLICATION in mysite/settings.py; ASGI application \
                         'mysite.asgi.application', no ASGI_APPLICATION found in the settings \
                         module 'mysite.settings', so the asgi.py next to it), but neither \
                         gunicorn nor uvicorn is installed. Add gunicorn (to serve the project \
                         over WSGI) or uvicorn (over ASGI) to the app's dependencies to get a \
                         default 'web' process."
                    .to_string()
            }
        );
        let dir = app(&[
            ("manage.py", MANAGE_PY),
            ("mysite/settings.py", "DEBUG = True\n"),
        ]);
        assert_eq!(
            detect_app(dir.path(), &installed(true, false, false)),
            Detection::NoneChosen {
                reason: "This is a Django project, but neither gunicorn nor uvicorn is \
                         installed. Add gunicorn (to serve the project over WSGI) or uvicorn \
                         (over ASGI) to the app's dependencies to get a default 'web' process."
                    .to_string()
            }
        );
    }

    /// `startproject` in `backend/`, with the dependency files at the app's root.
    fn startproject_in_backend(settings_extra: &str) -> tempfile::TempDir {
        app(&[
            ("requirements.txt", "Django\n"),
            ("backend/manage.py", MANAGE_PY),
            (
                "backend/mysite/settings.py",
                &format!("WSGI_APPLICATION = 'mysite.wsgi.application'\n{settings_extra}"),
            ),
            ("backend/mysite/__init__.py", ""),
            (
                "backend/mysite/wsgi.py",
                "application = get_wsgi_application()\n",
            ),
            (
                "backend/mysite/asgi.py",
                "application = get_asgi_application()\n",
            ),
        ])
    }

    #[test]
    fn django_project_in_a_subdirectory_is_served_from_there() {
        let dir = startproject_in_backend("");
        assert_eq!(
            detect_app(dir.path(), &installed(true, true, false)),
            Detection::Chosen {
                command: "gunicorn mysite.wsgi:application --chdir backend --bind \
                          0.0.0.0:${PORT:-8000}"
                    .to_string(),
                reason: "Django project (backend/manage.py) with gunicorn installed: WSGI \
                         application 'mysite.wsgi.application' (WSGI_APPLICATION in \
                         backend/mysite/settings.py)"
                    .to_string()
            }
        );
        assert_eq!(
            detect_app(dir.path(), &installed(true, false, true)),
            Detection::Chosen {
                command: "uvicorn mysite.asgi:application --app-dir backend --host 0.0.0.0 \
                          --port ${PORT:-8000}"
                    .to_string(),
                reason: "Django project (backend/manage.py) with uvicorn installed (and not \
                         gunicorn): ASGI application 'mysite.asgi.application' (no \
                         ASGI_APPLICATION found in the settings module 'mysite.settings', so \
                         the asgi.py next to it)"
                    .to_string()
            }
        );
        let dir = startproject_in_backend("ASGI_APPLICATION = 'mysite.asgi.application'\n");
        assert_eq!(
            detect_app(dir.path(), &installed(true, true, true)),
            Detection::Chosen {
                command: "uvicorn mysite.asgi:application --app-dir backend --host 0.0.0.0 \
                          --port ${PORT:-8000}"
                    .to_string(),
                reason: "Django project (backend/manage.py) with uvicorn and gunicorn \
                         installed, and ASGI_APPLICATION set: ASGI application \
                         'mysite.asgi.application' (ASGI_APPLICATION in \
                         backend/mysite/settings.py)"
                    .to_string()
            }
        );
    }

    #[test]
    fn django_project_in_a_subdirectory_with_a_quoted_directory() {
        let dir = app(&[
            ("my site/manage.py", MANAGE_PY),
            ("my site/mysite/wsgi.py", "application = 1\n"),
        ]);
        assert_eq!(
            detect_app(dir.path(), &installed(true, true, false)),
            Detection::Chosen {
                command: "gunicorn mysite.wsgi:application --chdir 'my site' --bind \
                          0.0.0.0:${PORT:-8000}"
                    .to_string(),
                reason: "Django project (my site/manage.py) with gunicorn installed: WSGI \
                         application 'mysite.wsgi.application' (no WSGI_APPLICATION found in \
                         the settings module 'mysite.settings', so the wsgi.py next to it)"
                    .to_string()
            }
        );
    }

    #[test]
    fn django_project_in_a_subdirectory_resolves_modules_from_there() {
        // The settings at the app's root don't count: Python imports them from backend/.
        let dir = app(&[
            ("backend/manage.py", MANAGE_PY),
            (
                "mysite/settings.py",
                "WSGI_APPLICATION = 'mysite.wsgi.application'\n",
            ),
            ("mysite/wsgi.py", "application = 1\n"),
        ]);
        assert_eq!(
            detect_app(dir.path(), &installed(true, true, false)),
            Detection::NoneChosen {
                reason: "This is a Django project (backend/manage.py), but its WSGI application \
                         'mysite.wsgi.application' (no WSGI_APPLICATION found in the settings \
                         module 'mysite.settings', so the wsgi.py next to it) isn't a module in \
                         the app's directory 'backend'."
                    .to_string()
            }
        );
        let dir = app(&[("src/site/manage.py", "print('hi')\n")]);
        assert_eq!(
            detect_app(dir.path(), &installed(true, true, false)),
            Detection::NoneChosen {
                reason: "This is a Django project, but src/site/manage.py doesn't set \
                         DJANGO_SETTINGS_MODULE to a settings module, so its WSGI and ASGI \
                         applications can't be found."
                    .to_string()
            }
        );
        let dir = startproject_in_backend("");
        assert_eq!(
            detect_app(dir.path(), &installed(false, true, false)),
            Detection::NoneChosen {
                reason: "The app has a backend/manage.py, but Django isn't installed.".to_string()
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
            detect_app(dir.path(), &installed(false, true, false)),
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
            detect_app(dir.path(), &installed(false, false, true)),
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
            detect_app(dir.path(), &installed(false, true, false)),
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
            detect_app(dir.path(), &installed(false, false, true)),
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
            detect_app(dir.path(), &installed(false, true, false)),
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
            detect_app(dir.path(), &installed(false, true, true)),
            Detection::NoneChosen {
                reason: "More than one module could be the web app: app.py defines the WSGI app \
                         'app'; main.py defines the ASGI app 'app'."
                    .to_string()
            }
        );
        // With only one of the servers installed, only one of them can be served.
        assert!(matches!(
            detect_app(dir.path(), &installed(false, false, true)),
            Detection::Chosen { .. }
        ));
    }

    #[test]
    fn nothing_to_serve() {
        let dir = app(&[("main.py", "def main():\n    app = 1\n\nmain()\n")]);
        assert_eq!(
            detect_app(dir.path(), &installed(false, true, true)),
            Detection::NoneChosen {
                reason: "No Django project (manage.py), and no app.py, main.py, wsgi.py or \
                         asgi.py defining an 'app' or 'application' object, was found."
                    .to_string()
            }
        );
        let dir = app(&[("manage.py", MANAGE_PY)]);
        assert_eq!(
            detect_app(dir.path(), &installed(false, true, true)),
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

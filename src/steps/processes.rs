//! The image's processes: the ones the app's Procfile declares, or else a default `web` process.

use crate::steps::default_process::{self, Detection};
use crate::steps::installed::InstalledPackages;
use crate::steps::manage_py::ManagePy;
use crate::steps::procfile::{self, ProcfileError};
use bullet_stream::global::print;
use libcnb::data::launch::{Launch, LaunchBuilder, ProcessBuilder, ProcessType};
use libcnb::data::process_type;
use std::path::Path;

/// Decides the processes and prints why. Each command runs through `bash -c`, so that shell
/// syntax such as `$PORT` works as it does in a Procfile on other platforms; `web` is the
/// default process. `manage_py` is the app's Django project, if it has one.
///
/// The shell is the process's `command` and the command string its `args`, as heroku/procfile
/// writes them: under Buildpack API 0.9+ the launcher replaces a process's `args` with the
/// user's (Platform spec, launcher: "MUST replace any buildpack provided default `<args>` with
/// any user-provided `<args>`"), so `docker run IMAGE 'python manage.py migrate'` runs that
/// command instead of the default one.
pub(crate) fn processes(
    app_dir: &Path,
    installed: &InstalledPackages,
    manage_py: Option<&ManagePy>,
) -> Result<Launch, ProcfileError> {
    print::h2("Processes");
    let mut launch = LaunchBuilder::new();
    match read_procfile(app_dir)? {
        Some(bytes) => {
            let declarations = procfile::parse(&bytes)?;
            print::bullet("Using the processes declared in the Procfile");
            for declaration in &declarations {
                print::sub_bullet(format!(
                    "{}: {}",
                    declaration.process_type, declaration.command
                ));
                if let Some(written) = &declaration.written_as {
                    print::sub_bullet(format!(
                        "The Procfile writes '{written}', read as '{}' (process types are \
                         lowercase, with '-' for '_', as heroku/procfile reads them): write '{}' \
                         in the Procfile",
                        declaration.process_type, declaration.process_type
                    ));
                }
                let is_web = declaration.process_type == process_type!("web");
                launch.process(
                    shell_process(declaration.process_type.clone(), &declaration.command)
                        .default(is_web)
                        .build(),
                );
            }
            if !declarations
                .iter()
                .any(|declaration| declaration.process_type == process_type!("web"))
            {
                print::sub_bullet(
                    "The Procfile declares no 'web' process, so the image has no default process",
                );
            }
        }
        None => match default_process::detect(app_dir, installed, manage_py) {
            Detection::Chosen { command, reason } => {
                print::bullet("No Procfile, so the buildpack chose a default 'web' process");
                print::sub_bullet(reason);
                print::sub_bullet(format!("web: {command}"));
                launch.process(
                    shell_process(process_type!("web"), &command)
                        .default(true)
                        .build(),
                );
            }
            Detection::NoneChosen { reason } => {
                print::bullet("No Procfile, and no default 'web' process could be chosen");
                print::sub_bullet(reason);
                print::sub_bullet(
                    "To declare the app's processes, add a Procfile to the root of the app, with \
                     lines like 'web: gunicorn myapp.wsgi --bind 0.0.0.0:$PORT'",
                );
            }
        },
    }
    Ok(launch.build())
}

/// A process running `command` with `bash -c`, the command string in `args` (user-provided
/// args replace it).
fn shell_process(process_type: ProcessType, command: &str) -> ProcessBuilder {
    let mut builder = ProcessBuilder::new(process_type, ["bash", "-c"]);
    builder.args([command]);
    builder
}

/// The Procfile's bytes, through the one reader of app files (regular files only, size capped).
fn read_procfile(app_dir: &Path) -> Result<Option<Vec<u8>>, ProcfileError> {
    crate::app_file::read(&app_dir.join("Procfile"), "Procfile").map_err(ProcfileError::File)
}

#[cfg(test)]
mod tests {
    use super::*;
    use libcnb::data::launch::Process;

    fn launch_for(files: &[(&str, &[u8])], installed: &InstalledPackages) -> Launch {
        let dir = tempfile::tempdir().unwrap();
        for (name, contents) in files {
            std::fs::write(dir.path().join(name), contents).unwrap();
        }
        processes(dir.path(), installed, None).unwrap()
    }

    fn process(process_type: &str, command: &str, default: bool) -> Process {
        ProcessBuilder::new(process_type.parse().unwrap(), ["bash", "-c"])
            .args([command])
            .default(default)
            .build()
    }

    #[test]
    fn procfile_processes_run_with_bash_and_web_is_the_default() {
        let launch = launch_for(
            &[
                (
                    "Procfile",
                    b"worker: celery worker\nweb: gunicorn app:app\n",
                ),
                // Ignored: the Procfile decides.
                ("app.py", b"app = Flask(__name__)\n"),
            ],
            &InstalledPackages::default(),
        );
        assert_eq!(
            launch.processes,
            vec![
                process("worker", "celery worker", false),
                process("web", "gunicorn app:app", true),
            ]
        );
    }

    #[test]
    fn procfile_types_are_normalised_as_heroku_procfile_does() {
        let launch = launch_for(
            &[(
                "Procfile",
                b"Web: gunicorn app:app\nCelery_Worker: celery worker\n",
            )],
            &InstalledPackages::default(),
        );
        assert_eq!(
            launch.processes,
            vec![
                process("web", "gunicorn app:app", true),
                process("celery-worker", "celery worker", false),
            ]
        );
    }

    #[test]
    fn default_web_process_without_procfile() {
        let installed = InstalledPackages {
            gunicorn: Some("23.0.0".to_string()),
            ..InstalledPackages::default()
        };
        let launch = launch_for(&[("app.py", b"app = Flask(__name__)\n")], &installed);
        assert_eq!(
            launch.processes,
            vec![process(
                "web",
                "gunicorn app:app --bind 0.0.0.0:${PORT:-8000}",
                true
            )]
        );
        assert!(launch_for(&[], &installed).processes.is_empty());
    }

    #[test]
    fn invalid_procfile_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Procfile"), b"web\n").unwrap();
        assert_eq!(
            processes(dir.path(), &InstalledPackages::default(), None).unwrap_err(),
            ProcfileError::NotADeclaration {
                line: 1,
                text: "web".to_string()
            }
        );
    }
}

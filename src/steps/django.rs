//! Django's `collectstatic`, run at build time so the image contains the app's static files.

use crate::PythonBuildpack;
use crate::error_message::ErrorMessage;
use crate::errors::BuildpackError;
use crate::limited_command::{self, Output, RunError, TimedOut};
use crate::steps::StepsError;
use crate::steps::collectstatic_cache::{self, Changes, Inputs, Snapshot};
use crate::steps::installed::InstalledPackages;
use crate::steps::manage_py::ManagePy;
use bullet_stream::global::print;
use bullet_stream::style;
use indoc::formatdoc;
use libcnb::build::BuildContext;
use libcnb::layer::{EmptyLayerCause, LayerState};
use libcnb::{Env, Platform};
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::Duration;

#[derive(Debug)]
pub(crate) enum DjangoError {
    /// A command could not be started at all.
    Spawn { command: String, error: String },
    /// `manage.py collectstatic` failed; its output was streamed.
    Collectstatic { command: String, status: ExitStatus },
    /// A command ran out of time and was stopped.
    TimedOut {
        command: String,
        timed_out: Box<TimedOut>,
    },
    /// Reading the inputs of the static files cache, or storing or restoring its files, failed.
    Cache(collectstatic_cache::CacheError),
}

/// Runs `python manage.py collectstatic --noinput` for a Django app (`manage_py`, when it has
/// one), in the directory of its `manage.py`, or explains why not, or puts back what it wrote in
/// the last build when nothing it reads has changed (see [`collectstatic_cache`], which looks at
/// the whole app dir). `env` is the whole build env (with the dependencies' Python on `PATH`)
/// that the commands run with.
pub(crate) fn collectstatic(
    context: &BuildContext<PythonBuildpack>,
    env: &Env,
    installed: &InstalledPackages,
    manage_py: Option<&ManagePy>,
    limit: Duration,
) -> Result<(), libcnb::Error<BuildpackError>> {
    let app_dir = &context.app_dir;
    let Some(manage_py) = manage_py else {
        return Ok(());
    };
    let project_dir = app_dir.join(manage_py.dir());
    print::h2("Django static files");
    print_location(manage_py);
    let Some(django_version) = &installed.django else {
        print::bullet(format!(
            "Skipping 'manage.py collectstatic': the app has a {}, but Django isn't installed",
            manage_py.shown()
        ));
        collectstatic_cache::remove_layer(context).map_err(DjangoError::Cache)?;
        return Ok(());
    };
    if let Some(value) = [context.platform.env(), env]
        .into_iter()
        .find_map(|env| env.get_string_lossy("DISABLE_COLLECTSTATIC"))
        .filter(|value| is_enabled(value))
    {
        print::bullet(format!(
            "Skipping 'manage.py collectstatic' since DISABLE_COLLECTSTATIC is set to '{value}'"
        ));
        collectstatic_cache::remove_layer(context).map_err(DjangoError::Cache)?;
        return Ok(());
    }

    let before = Snapshot::take(app_dir).map_err(DjangoError::Cache)?;
    let inputs =
        Inputs::gather(context, env, django_version, &before, limit).map_err(DjangoError::Cache)?;
    let layer = collectstatic_cache::open_layer(context, &inputs)?;
    match &layer.state {
        LayerState::Restored { .. } => {
            print::bullet(
                "Reusing the static files from the last build (nothing collectstatic reads has \
                 changed)",
            );
            let timer = print::sub_start_timer("Restoring the files it wrote into the app");
            collectstatic_cache::restore(&layer.path(), app_dir).map_err(DjangoError::Cache)?;
            timer.done();
            return Ok(());
        }
        LayerState::Empty {
            cause: EmptyLayerCause::RestoredLayerAction { cause: changes },
        } => print::bullet(format!(
            "Discarding the cached static files because: {}",
            changes.join("; ")
        )),
        LayerState::Empty {
            cause: EmptyLayerCause::InvalidMetadataAction { .. },
        } => print::bullet(
            "Discarding the cached static files because they are from an incomplete or older \
             build",
        ),
        LayerState::Empty {
            cause: EmptyLayerCause::NewlyCreated,
        } => {}
    }

    print::bullet(format!(
        "Generating static files with Django {django_version}"
    ));
    if let Some(reason) = run_collectstatic(&project_dir, env, manage_py, limit)? {
        print::bullet(format!("Skipping 'manage.py collectstatic' since {reason}"));
        collectstatic_cache::remove_layer(context).map_err(DjangoError::Cache)?;
        return Ok(());
    }

    let after = Snapshot::take(app_dir).map_err(DjangoError::Cache)?;
    let changes = Changes::between(&before, &after);
    if changes.worth_caching() {
        collectstatic_cache::store(app_dir, &layer.path(), &changes, &after, &inputs)
            .map_err(DjangoError::Cache)?;
        layer.write_metadata(inputs.metadata)?;
        let files = changes.written_files(&after);
        print::sub_bullet(format!(
            "Stored the {files} {} it wrote into the app, for the next build",
            if files == 1 { "file" } else { "files" }
        ));
    } else {
        print::sub_bullet(
            "It wrote no static files inside the app (STATIC_ROOT is elsewhere), so there is \
             nothing to cache: it runs again on every build",
        );
        collectstatic_cache::remove_layer(context).map_err(DjangoError::Cache)?;
    }
    Ok(())
}

/// Runs `manage.py collectstatic` in `project_dir`, its output streamed. Returns why it doesn't
/// apply, if Django answers that it has no such command: whether `django.contrib.staticfiles`
/// is enabled is a question for Django itself, whose commands are listed only when their app is
/// in `INSTALLED_APPS`. Asking it first (`manage.py help collectstatic`, as Heroku's classic
/// buildpack does) would load the settings and the app registry a second time: 0.3-0.4 s of
/// every build that collects static files.
fn run_collectstatic(
    project_dir: &Path,
    env: &Env,
    manage_py: &ManagePy,
    limit: Duration,
) -> Result<Option<&'static str>, DjangoError> {
    let mut command = python_command(
        project_dir,
        env,
        &["manage.py", "collectstatic", "--noinput"],
    );
    // As the user reproduces it from the app's root.
    let name = manage_py.command_from_root("python manage.py collectstatic --noinput");
    // Streamed as it comes and never accumulated: collectstatic can print a line per file.
    let result = print::sub_stream_with(
        format!(
            "Running {}",
            style::command("python manage.py collectstatic --noinput")
        ),
        |stdout, stderr| limited_command::run(&mut command, limit, Output::Stream(stdout, stderr)),
    );
    match result {
        Ok(finished) if finished.status.success() => Ok(None),
        Ok(finished) => {
            // Only an answer seen whole can be trusted to be only "Unknown command".
            if let Some(reason) = finished
                .tail
                .whole_text()
                .and_then(|output| skip_reason(&output))
            {
                return Ok(Some(reason));
            }
            Err(DjangoError::Collectstatic {
                command: name,
                status: finished.status,
            })
        }
        Err(RunError::Spawn(error)) => Err(spawn_error(&name, &error)),
        Err(RunError::TimedOut(timed_out)) => Err(DjangoError::TimedOut {
            command: name,
            timed_out,
        }),
    }
}

/// Names a `manage.py` that isn't in the app's root, and the others as shallow as it.
fn print_location(manage_py: &ManagePy) {
    if manage_py.is_in_root() {
        return;
    }
    print::bullet(format!(
        "Using {} (the app has no manage.py in its root); its commands run in the directory '{}'",
        manage_py.shown(),
        manage_py.dir().display()
    ));
    let others = manage_py.others();
    if !others.is_empty() {
        print::sub_bullet(format!(
            "Also found at the same depth, and not used: {} (the first path in sorted order is \
             used)",
            others.join(", ")
        ));
    }
}

impl From<DjangoError> for libcnb::Error<BuildpackError> {
    fn from(error: DjangoError) -> Self {
        StepsError::Django(error).into()
    }
}

fn python_command(dir: &Path, env: &Env, args: &[&str]) -> Command {
    let mut command = Command::new("python");
    command.args(args).current_dir(dir).env_clear().envs(env);
    command
}

fn spawn_error(command: &str, error: &std::io::Error) -> DjangoError {
    DjangoError::Spawn {
        command: command.to_string(),
        error: error.to_string(),
    }
}

/// Why collectstatic doesn't apply, from the output of a failed `manage.py collectstatic`:
/// Django says "Unknown command" when no installed app provides the command, which is also all
/// it knows without settings. Settings that fail to load make Django print a traceback instead
/// (it looks the command up again to show the real error): that is no reason to skip.
fn skip_reason(stderr: &str) -> Option<&'static str> {
    if !stderr.contains("Unknown command: 'collectstatic'")
        || stderr.contains("Traceback (most recent call last)")
    {
        None
    } else if stderr.contains("No Django settings specified.") {
        Some(
            "no Django settings module is specified (neither manage.py nor the environment sets \
             DJANGO_SETTINGS_MODULE)",
        )
    } else {
        Some("the 'django.contrib.staticfiles' app isn't in INSTALLED_APPS")
    }
}

/// What usually makes a Django command hang at build time.
const HANG_CAUSES: &str = "This usually means that the app's Django settings (or a module they import) \
wait for something when they are loaded: most often a connection to a database, cache or other \
service that can't be reached from the build, or code that waits for input. Make the settings \
connect lazily, or only when the app runs; run the command locally to reproduce it. To skip \
generating static files instead, set DISABLE_COLLECTSTATIC=1 in the build's environment.";

/// `DISABLE_COLLECTSTATIC` turns the step off unless it is empty, `0` or `false`.
fn is_enabled(value: &str) -> bool {
    !matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "" | "0" | "false"
    )
}

fn describe_status(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal".to_string(),
    }
}

impl DjangoError {
    pub(crate) fn message(&self) -> ErrorMessage {
        match self {
            Self::TimedOut { command, timed_out } => limited_command::timed_out_message(
                command,
                "to generate the app's static files",
                timed_out,
                HANG_CAUSES,
            ),
            Self::Spawn { command, error } => ErrorMessage::new(
                "Unable to run Django's manage.py",
                formatdoc! {"
                    The command '{command}' could not be started: {error}
                "},
            ),
            Self::Cache(collectstatic_cache::CacheError { action, details }) => ErrorMessage::new(
                "Unable to cache Django's static files",
                formatdoc! {"
                    The buildpack keeps the files 'manage.py collectstatic' writes into the app,
                    to reuse them in the next build if nothing they depend on changes. That
                    failed while {action}:

                    {details}

                    If this keeps happening, clear the build cache (with pack: 'pack build
                    --clear-cache'), or set DISABLE_COLLECTSTATIC=1 in the build's environment to
                    skip generating static files.
                "},
            ),
            Self::Collectstatic { command, status } => {
                let status = describe_status(*status);
                ErrorMessage::new(
                    "Unable to generate Django static files",
                    formatdoc! {"
                        Django's static files could not be collected: the command
                        '{command}' failed ({status}). Its output is shown above.

                        Common causes are a STATIC_ROOT that isn't set in the settings, an import
                        error in the settings, or settings that need an environment variable (such
                        as DATABASE_URL) that is only set when the app runs. Run
                        '{command}' locally to reproduce the error.

                        If the app doesn't need its static files generated at build time, set
                        DISABLE_COLLECTSTATIC=1 in the build's environment (with pack:
                        'pack build --env DISABLE_COLLECTSTATIC=1').
                    "},
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_only_for_an_unknown_command_without_a_traceback() {
        assert_eq!(
            skip_reason("Unknown command: 'collectstatic'\nType 'manage.py help' for usage.\n"),
            Some("the 'django.contrib.staticfiles' app isn't in INSTALLED_APPS")
        );
        assert_eq!(
            skip_reason(
                "No Django settings specified.\nUnknown command: 'collectstatic'\nType \
                 'manage.py help' for usage.\n"
            ),
            Some(
                "no Django settings module is specified (neither manage.py nor the environment \
                 sets DJANGO_SETTINGS_MODULE)"
            )
        );
        assert_eq!(
            skip_reason(
                "Traceback (most recent call last):\n  ...\nKeyError: 'collectstatic'\n\
                 Unknown command: 'collectstatic'\n"
            ),
            None
        );
        assert_eq!(
            skip_reason("ModuleNotFoundError: No module named 'x'\n"),
            None
        );
    }

    #[test]
    fn collectstatic_failure_message() {
        use std::os::unix::process::ExitStatusExt;
        let error = DjangoError::Collectstatic {
            command: "python manage.py collectstatic --noinput".to_string(),
            status: ExitStatus::from_raw(1 << 8),
        };
        assert_eq!(
            error.message().render(),
            indoc::indoc! {"
                Error: Unable to generate Django static files

                Django's static files could not be collected: the command
                'python manage.py collectstatic --noinput' failed (exit status 1). Its output is shown above.

                Common causes are a STATIC_ROOT that isn't set in the settings, an import
                error in the settings, or settings that need an environment variable (such
                as DATABASE_URL) that is only set when the app runs. Run
                'python manage.py collectstatic --noinput' locally to reproduce the error.

                If the app doesn't need its static files generated at build time, set
                DISABLE_COLLECTSTATIC=1 in the build's environment (with pack:
                'pack build --env DISABLE_COLLECTSTATIC=1')."}
        );
    }

    #[test]
    fn failure_in_a_subdirectory_names_the_command_to_run_from_the_root() {
        use std::os::unix::process::ExitStatusExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("backend")).unwrap();
        std::fs::write(dir.path().join("backend/manage.py"), "").unwrap();
        let manage_py = ManagePy::find(dir.path()).unwrap();
        let error = DjangoError::Collectstatic {
            command: manage_py.command_from_root("python manage.py collectstatic --noinput"),
            status: ExitStatus::from_raw(1 << 8),
        };
        let message = error.message().render();
        assert!(
            message.contains(
                "the command\n'cd backend && python manage.py collectstatic --noinput' failed \
                 (exit status 1)."
            ),
            "{message}"
        );
    }

    #[test]
    fn disable_values() {
        for value in ["1", "true", "yes", "on"] {
            assert!(is_enabled(value), "{value}");
        }
        for value in ["", "0", "false", "FALSE", " 0 "] {
            assert!(!is_enabled(value), "{value}");
        }
    }
}

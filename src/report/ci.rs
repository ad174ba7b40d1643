//! What a scan adds when it runs in a CI system: `--ci-output auto` (the
//! default) looks at the environment, `github` forces the GitHub Actions
//! output, `azure` the Azure Pipelines output, `none` turns it off.

use std::io::Write;
use std::path::Path;

use clap::ValueEnum;

use crate::findings::Report;

/// The `--ci-output` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CiOutput {
    /// Detect the CI system from the environment (`GITHUB_ACTIONS=true`,
    /// `TF_BUILD=True`).
    Auto,
    /// GitHub Actions: annotations, job summary, step outputs.
    Github,
    /// Azure Pipelines: logging commands (issues, task result, the SARIF
    /// artifact) and a build summary.
    Azure,
    /// Nothing beyond the report.
    #[value(name = "none")]
    Off,
}

/// A CI system the tool writes extra output for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Github,
    Azure,
}

impl CiOutput {
    /// The platform to write for, given a way to read environment variables.
    pub fn platform(self, var: impl Fn(&str) -> Option<String>) -> Option<Platform> {
        match self {
            CiOutput::Off => None,
            CiOutput::Github => Some(Platform::Github),
            CiOutput::Azure => Some(Platform::Azure),
            // GitHub sets GITHUB_ACTIONS to exactly `true` on its runners;
            // the Azure Pipelines agent sets TF_BUILD to `True`.
            CiOutput::Auto => {
                if var("GITHUB_ACTIONS").as_deref() == Some("true") {
                    Some(Platform::Github)
                } else if var("TF_BUILD").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
                    Some(Platform::Azure)
                } else {
                    None
                }
            }
        }
    }
}

/// How the run went, for the CI output.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    /// A JSON or SARIF report went to standard output, so commands must go
    /// to standard error to keep it parseable.
    pub report_on_stdout: bool,
    /// The exit code the scan will end with.
    pub exit_code: i32,
    /// The SARIF file written with `--format sarif --output FILE`.
    pub sarif_file: Option<&'a Path>,
}

/// The CI platform a run writes for: `ci`'s choice.
pub fn platform(ci: CiOutput) -> Option<Platform> {
    ci.platform(|name: &str| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

/// Writes the CI output for `report`, all but the end of the task (see
/// [`finish`]), so that pull-request comments posted after it can still add
/// warnings to the step.
pub fn emit(report: &Report, ci: CiOutput, run: Run<'_>) -> anyhow::Result<()> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let report_on_stdout = run.report_on_stdout;
    match platform(ci) {
        None => Ok(()),
        Some(Platform::Azure) => emit_azure(report, run),
        Some(Platform::Github) => {
            if report_on_stdout {
                let mut err = std::io::stderr().lock();
                super::github::write_annotations(report, &mut err)?;
                err.flush()?;
            } else {
                let mut out = std::io::stdout().lock();
                super::github::write_annotations(report, &mut out)?;
                out.flush()?;
            }
            // A summary or outputs file that cannot be written must not hide
            // the scan's result: say so and go on.
            let mut err = std::io::stderr().lock();
            if let Some(path) = var("GITHUB_STEP_SUMMARY") {
                if let Err(e) = super::github::append(&path, &super::github::summary(report)) {
                    writeln!(err, "warning: cannot append the job summary to {path}: {e}")?;
                }
            }
            if let Some(path) = var("GITHUB_OUTPUT") {
                if let Err(e) = super::github::append(&path, &super::github::outputs(report)) {
                    writeln!(
                        err,
                        "warning: cannot append the step outputs to {path}: {e}"
                    )?;
                }
            }
            Ok(())
        }
    }
}

/// Azure Pipelines: the agent reads logging commands from standard output
/// and standard error alike, so, as for GitHub, they go to standard error
/// when a JSON or SARIF report is on standard output.
fn emit_azure(report: &Report, run: Run<'_>) -> anyhow::Result<()> {
    use super::azure;
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut lines = Vec::new();
    azure::write_issues(report, &mut lines)?;
    let mut lines = String::from_utf8(lines)?;
    let mut warnings = Vec::new();
    match run.sarif_file {
        Some(path) => {
            let absolute = std::path::absolute(path)?;
            lines.push_str(&azure::upload_sarif(&absolute));
            lines.push('\n');
        }
        None => warnings.push(azure::SCANS_TAB_HINT.to_string()),
    }
    // A summary that cannot be written must not hide the scan's result.
    let temp = var("AGENT_TEMPDIRECTORY")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    match azure::write_summary(report, &temp) {
        Ok(path) => {
            let absolute = std::path::absolute(&path)?;
            lines.push_str(&azure::upload_summary(&absolute));
            lines.push('\n');
        }
        Err(e) => warnings.push(format!(
            "warning: cannot write the build summary under {}: {e}",
            temp.display()
        )),
    }
    let mut err = std::io::stderr().lock();
    for w in &warnings {
        writeln!(err, "{w}")?;
    }
    err.flush()?;
    drop(err);
    write_commands(&lines, run.report_on_stdout)
}

/// Writes logging commands on standard output, or on standard error when a
/// JSON or SARIF report is on standard output.
fn write_commands(lines: &str, report_on_stdout: bool) -> anyhow::Result<()> {
    if report_on_stdout {
        let mut err = std::io::stderr().lock();
        err.write_all(lines.as_bytes())?;
        err.flush()?;
    } else {
        let mut out = std::io::stdout().lock();
        out.write_all(lines.as_bytes())?;
        out.flush()?;
    }
    Ok(())
}

/// Ends the step's CI output: on Azure Pipelines, `##vso[task.complete]`
/// with the result that matches the exit code. Written last because the
/// agent takes it as the task's end.
pub fn finish(report: &Report, ci: CiOutput, run: Run<'_>) -> anyhow::Result<()> {
    if platform(ci) != Some(Platform::Azure) {
        return Ok(());
    }
    let line = format!("{}\n", super::azure::complete(report, run.exit_code));
    write_commands(&line, run.report_on_stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn auto_detects_github_actions_only_when_true() {
        let auto = CiOutput::Auto;
        assert_eq!(
            auto.platform(env(&[("GITHUB_ACTIONS", "true")])),
            Some(Platform::Github)
        );
        assert_eq!(auto.platform(env(&[("GITHUB_ACTIONS", "false")])), None);
        assert_eq!(auto.platform(env(&[])), None);
    }

    #[test]
    fn auto_detects_azure_pipelines_when_tf_build_is_true() {
        let auto = CiOutput::Auto;
        for value in ["True", "true", "TRUE"] {
            let pairs: &'static [(&str, &str)] = match value {
                "True" => &[("TF_BUILD", "True")],
                "true" => &[("TF_BUILD", "true")],
                _ => &[("TF_BUILD", "TRUE")],
            };
            assert_eq!(auto.platform(env(pairs)), Some(Platform::Azure), "{value}");
        }
        assert_eq!(auto.platform(env(&[("TF_BUILD", "False")])), None);
        assert_eq!(auto.platform(env(&[("TF_BUILD", "1")])), None);
        assert_eq!(
            CiOutput::Azure.platform(env(&[("GITHUB_ACTIONS", "true")])),
            Some(Platform::Azure)
        );
        assert_eq!(CiOutput::Off.platform(env(&[("TF_BUILD", "True")])), None);
    }

    #[test]
    fn explicit_choices_ignore_the_environment() {
        assert_eq!(
            CiOutput::Off.platform(env(&[("GITHUB_ACTIONS", "true")])),
            None
        );
        assert_eq!(CiOutput::Github.platform(env(&[])), Some(Platform::Github));
    }
}

//! What a scan adds when it runs in a CI system: `--ci-output auto` (the
//! default) looks at the environment, `github` forces the GitHub Actions
//! output, `none` turns it off. Azure Pipelines (`TF_BUILD=True`) is meant to
//! become one more [`Platform`] here.

use std::io::Write;

use clap::ValueEnum;

use crate::findings::Report;

/// The `--ci-output` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CiOutput {
    /// Detect the CI system from the environment (`GITHUB_ACTIONS=true`).
    Auto,
    /// GitHub Actions: annotations, job summary, step outputs.
    Github,
    /// Nothing beyond the report.
    #[value(name = "none")]
    Off,
}

/// A CI system the tool writes extra output for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Github,
}

impl CiOutput {
    /// The platform to write for, given a way to read environment variables.
    pub fn platform(self, var: impl Fn(&str) -> Option<String>) -> Option<Platform> {
        match self {
            CiOutput::Off => None,
            CiOutput::Github => Some(Platform::Github),
            // GitHub sets GITHUB_ACTIONS to exactly `true` on its runners.
            CiOutput::Auto => {
                (var("GITHUB_ACTIONS").as_deref() == Some("true")).then_some(Platform::Github)
            }
        }
    }
}

/// Writes the CI output for `report`. `report_on_stdout` says that a JSON or
/// SARIF report went to standard output, so workflow commands must go to
/// standard error to keep it parseable (the runner reads both streams).
pub fn emit(report: &Report, ci: CiOutput, report_on_stdout: bool) -> anyhow::Result<()> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match ci.platform(var) {
        None => Ok(()),
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
        assert_eq!(auto.platform(env(&[("TF_BUILD", "True")])), None);
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

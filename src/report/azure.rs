//! Azure Pipelines output: `##vso[...]` logging commands (an issue per
//! finding, the task result, the SARIF file as the `CodeAnalysisLogs`
//! artifact the Scans tab reads) and a Markdown build summary
//! (`task.uploadsummary`). [`super::ci`] decides when they are written.
//!
//! Notes (the lowest level) are not logged as issues: `type=warning` is the
//! lowest issue type Azure has, and a note logged as a warning would read as
//! more than it is. Notes are in the summary, the report and the SARIF file.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::findings::{Level, Outcome, Report};

/// Escapes a logging command's message as the agent unescapes it.
///
/// Follows `escapeData` in microsoft/azure-pipelines-task-lib,
/// `node/taskcommand.ts`: `%` → `%AZP25` first (so an already-escaped
/// sequence in the text stays literal), then CR → `%0D`, LF → `%0A`.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%AZP25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a logging command's property value: as [`escape_data`], and `]`
/// (which would end the properties) and `;` (which would end the value).
///
/// Follows `escapeProperty` (`escape` in older versions) in
/// microsoft/azure-pipelines-task-lib, `node/taskcommand.ts`.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(']', "%5D").replace(';', "%3B")
}

/// One logging command: `##vso[{command} k=v;k=v;]{message}`. Like the task
/// library, an empty value leaves its property out, and every property ends
/// with `;`.
fn command(command: &str, properties: &[(&str, String)], message: &str) -> String {
    let mut line = format!("##vso[{command}");
    let props: Vec<_> = properties.iter().filter(|(_, v)| !v.is_empty()).collect();
    if !props.is_empty() {
        line.push(' ');
        for (k, v) in props {
            let _ = write!(line, "{k}={};", escape_property(v));
        }
    }
    line.push(']');
    line.push_str(&escape_data(message));
    line
}

/// A `task.logissue` for each unique finding that is not suppressed (notes
/// left out, see the module documentation), then one error for each file
/// that could not be scanned.
pub fn write_issues(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    for u in report.unique_findings() {
        let f = u.finding;
        if f.suppression.is_some() {
            continue;
        }
        let kind = match f.level {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => continue,
        };
        let r = &f.region;
        let props = [
            ("type", kind.to_string()),
            ("sourcepath", r.file.clone()),
            ("linenumber", r.start_line.to_string()),
            ("columnnumber", r.start_column.to_string()),
            ("code", f.rule_id.to_string()),
        ];
        let mut message = f.message.clone();
        if !u.parameter_files.is_empty() {
            let _ = write!(
                message,
                "\nEvaluated with: {}",
                u.parameter_files.join(", ")
            );
        }
        if let Some(fix) = &f.fix {
            let _ = write!(message, "\nFix: {}", fix.description);
        }
        let _ = write!(message, "\nMore: aks-authorized-ips explain {}", f.rule_id);
        writeln!(out, "{}", command("task.logissue", &props, &message))?;
    }
    for e in &report.errors {
        let mut props = vec![
            ("type", "error".to_string()),
            ("sourcepath", e.file.clone()),
        ];
        if e.line > 0 {
            props.push(("linenumber", e.line.to_string()));
            props.push(("columnnumber", e.column.to_string()));
        }
        props.push(("code", "aks-authorized-ips".to_string()));
        writeln!(out, "{}", command("task.logissue", &props, &e.message))?;
    }
    Ok(())
}

/// `##vso[task.logissue type=warning;]message`: a warning on the build that
/// is not a finding (for example, PR threads that could not be posted).
pub fn warning(message: &str) -> String {
    command("task.logissue", &[("type", "warning".to_string())], message)
}

/// The task result: `Failed` when the exit code is not 0,
/// `SucceededWithIssues` when there are live errors or warnings below
/// `--fail-on` or clusters whose outcome is unknown, else `Succeeded`.
pub fn result(report: &Report, exit_code: i32) -> &'static str {
    if exit_code != 0 {
        return "Failed";
    }
    let counts = report.finding_counts();
    let issues = counts.errors + counts.warnings > 0;
    if issues || report.count_outcome(Outcome::Unknown) > 0 {
        "SucceededWithIssues"
    } else {
        "Succeeded"
    }
}

/// `##vso[task.complete result=...;]` with a one-line account of the scan.
pub fn complete(report: &Report, exit_code: i32) -> String {
    let counts = report.finding_counts();
    let live = |level: Level| counts.of(level);
    let message = format!(
        "aks-authorized-ips: {} errors, {} warnings, {} notes, {} unknown cluster evaluations, {} files not scanned (exit code {exit_code})",
        live(Level::Error),
        live(Level::Warning),
        live(Level::Note),
        report.count_outcome(Outcome::Unknown),
        report.errors.len(),
    );
    command(
        "task.complete",
        &[("result", result(report, exit_code).to_string())],
        &message,
    )
}

/// `##vso[artifact.upload ...]` publishing `sarif` (absolute) as the
/// `CodeAnalysisLogs` artifact, which the Scans tab (SARIF SAST Scans Tab
/// extension) reads.
pub fn upload_sarif(sarif: &Path) -> String {
    command(
        "artifact.upload",
        &[
            ("containerfolder", "CodeAnalysisLogs".to_string()),
            ("artifactname", "CodeAnalysisLogs".to_string()),
        ],
        &sarif.to_string_lossy(),
    )
}

/// The hint written instead of [`upload_sarif`] when no SARIF file was
/// written.
pub const SCANS_TAB_HINT: &str = "aks-authorized-ips: the Scans tab needs a SARIF file: add `--format sarif --output FILE` to publish it as the CodeAnalysisLogs artifact";

/// Writes the build summary (the same Markdown as the GitHub job summary)
/// to a folder of its own under `temp_dir` and returns its path. The file
/// name is the section's title on the build's Extensions tab.
pub fn write_summary(report: &Report, temp_dir: &Path) -> std::io::Result<PathBuf> {
    let dir = temp_dir.join(format!("aks-authorized-ips-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("aks-authorized-ips.md");
    std::fs::write(&path, super::github::summary(report))?;
    Ok(path)
}

/// `##vso[task.uploadsummary]path`.
pub fn upload_summary(path: &Path) -> String {
    command("task.uploadsummary", &[], &path.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_escaping_follows_the_task_library() {
        assert_eq!(escape_data("a%b\r\nc;d]e"), "a%AZP25b%0D%0Ac;d]e");
        // `%` first: an already-escaped sequence stays literal.
        assert_eq!(escape_data("%0A"), "%AZP250A");
        assert_eq!(escape_data("%AZP25"), "%AZP25AZP25");
    }

    #[test]
    fn property_escaping_also_covers_semicolons_and_brackets() {
        assert_eq!(escape_property("a%b\r\nc;d]e"), "a%AZP25b%0D%0Ac%3Bd%5De");
        assert_eq!(
            escape_property("x;type=error]##vso[task.complete result=Failed]"),
            "x%3Btype=error%5D##vso[task.complete result=Failed%5D"
        );
        assert_eq!(escape_property("%3B"), "%AZP253B");
    }

    #[test]
    fn hostile_values_stay_inside_their_property_and_line() {
        let line = command(
            "task.logissue",
            &[
                ("type", "error".into()),
                (
                    "sourcepath",
                    "a;code=X]\r\n##vso[task.complete result=Succeeded]".into(),
                ),
            ],
            "bad\n##vso[task.complete result=Succeeded]%",
        );
        assert_eq!(
            line,
            "##vso[task.logissue type=error;sourcepath=a%3Bcode=X%5D%0D%0A##vso[task.complete \
             result=Succeeded%5D;]bad%0A##vso[task.complete result=Succeeded]%AZP25"
        );
        assert_eq!(line.lines().count(), 1);
        // The agent reads the first `##vso[` of a line and the first `]`
        // after it: ours, at the start, and the end of our properties.
        assert_eq!(line.find("##vso["), Some(0));
        let first_bracket = line.find(']').expect("a closing bracket");
        assert!(
            line[..first_bracket].ends_with("result=Succeeded%5D;"),
            "{line}"
        );
    }

    #[test]
    fn empty_properties_are_left_out() {
        assert_eq!(
            command("task.uploadsummary", &[], "/t/s.md"),
            "##vso[task.uploadsummary]/t/s.md"
        );
        assert_eq!(
            command("x.y", &[("a", String::new()), ("b", "1".into())], ""),
            "##vso[x.y b=1;]"
        );
    }
}

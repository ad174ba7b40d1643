//! GitHub Actions output: workflow-command annotations, a Markdown job
//! summary (appended to `GITHUB_STEP_SUMMARY`) and step outputs (appended to
//! `GITHUB_OUTPUT`). [`super::ci`] decides when they are written.
//!
//! Annotations are a preview (GitHub shows at most 10 errors and 10 warnings
//! per step); the summary is the record.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write;

use super::markdown::{code, code_block, escape};
use crate::findings::{Level, Outcome, Report, ResourceReport};

/// Rows in the summary's table of failing and unknown clusters.
pub const MAX_ROWS: usize = 200;
/// Errors and notices listed in the summary.
pub const MAX_PROBLEMS: usize = 50;
/// Characters of template text kept per table cell.
const MAX_CELL: usize = 300;
/// GitHub rejects a step summary over 1 MiB; the table stops well before.
const TABLE_BUDGET: usize = 512 * 1024;

/// Escapes a workflow command's message, as the runner unescapes it.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value: as [`escape_data`], and `:`
/// and `,`, which would end the value.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// One workflow command: `::{command} k=v,k=v::{message}`.
fn command(command: &str, properties: &[(&str, String)], message: &str) -> String {
    let props: Vec<String> = properties
        .iter()
        .map(|(k, v)| format!("{k}={}", escape_property(v)))
        .collect();
    format!("::{command} {}::{}", props.join(","), escape_data(message))
}

fn level_command(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Note => "notice",
    }
}

/// An annotation for each unique finding that is not suppressed, then one
/// for each error and notice.
pub fn write_annotations(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    for u in report.unique_findings() {
        let f = u.finding;
        if f.suppression.is_some() {
            continue;
        }
        let r = &f.region;
        let mut props = vec![("file", r.file.clone()), ("line", r.start_line.to_string())];
        // The runner drops columns when the lines differ; our end column is
        // exclusive, GitHub's inclusive.
        if r.end_line == r.start_line {
            props.push(("col", r.start_column.to_string()));
            props.push(("endLine", r.end_line.to_string()));
            let end = r.end_column.saturating_sub(1).max(r.start_column);
            props.push(("endColumn", end.to_string()));
        } else {
            props.push(("endLine", r.end_line.to_string()));
        }
        props.push(("title", f.rule_id.to_string()));
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
        writeln!(out, "{}", command(level_command(f.level), &props, &message))?;
    }
    let problems = report
        .errors
        .iter()
        .map(|e| ("error", e))
        .chain(report.notices.iter().map(|n| ("notice", n)));
    for (kind, e) in problems {
        let mut props = vec![("file", e.file.clone())];
        if e.line > 0 {
            props.push(("line", e.line.to_string()));
            props.push(("col", e.column.to_string()));
        }
        props.push(("title", "aks-authorized-ips".to_string()));
        writeln!(out, "{}", command(kind, &props, &e.message))?;
    }
    Ok(())
}

/// Appends `text` to the file at `path`, creating it; never truncates.
pub fn append(path: &str, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.flush()
}

/// Clusters (file, line, name) with at least one evaluation of `outcome`.
fn distinct_clusters(report: &Report, outcome: Outcome) -> usize {
    report
        .resources
        .iter()
        .filter(|r| r.outcome == outcome)
        .map(|r| (&r.file, r.line, &r.name))
        .collect::<BTreeSet<_>>()
        .len()
}

/// The step outputs, one `name=value` line each.
pub fn outputs(report: &Report) -> String {
    let findings = report.finding_counts().live();
    format!(
        "findings={findings}\nfailed-clusters={}\nunknown-clusters={}\n",
        distinct_clusters(report, Outcome::Fail),
        distinct_clusters(report, Outcome::Unknown),
    )
}

/// Template text for a table cell: cut to [`MAX_CELL`] characters, escaped.
fn cell(text: &str) -> String {
    let mut cut: String = text.chars().take(MAX_CELL).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    escape(&cut)
}

fn cluster_cell(r: &ResourceReport) -> String {
    match &r.parameter_file {
        Some(p) => format!("{} (with {})", cell(&r.name), cell(p)),
        None => cell(&r.name),
    }
}

/// The job summary, Markdown. Every piece of text that comes from a template
/// or a path is escaped, so it shows as written and links, mentions and HTML
/// nothing.
pub fn summary(report: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## aks-authorized-ips\n");

    let counts = report.finding_counts();
    let count = |level: Level| counts.of(level);
    let suppressed = counts.suppressed;
    let _ = writeln!(
        s,
        "{} cluster evaluations (a template alone or with one of its parameter files).\n",
        report.resources.len()
    );
    s.push_str("| Outcome | Evaluations |\n| --- | ---: |\n");
    for outcome in [
        Outcome::Pass,
        Outcome::Fail,
        Outcome::NotApplicable,
        Outcome::Unknown,
    ] {
        let _ = writeln!(
            s,
            "| {} | {} |",
            outcome.as_str(),
            report.count_outcome(outcome)
        );
    }
    s.push('\n');
    s.push_str("| Findings | Count |\n| --- | ---: |\n");
    for level in [Level::Error, Level::Warning, Level::Note] {
        let _ = writeln!(s, "| {} | {} |", level.as_str(), count(level));
    }
    let _ = writeln!(s, "| suppressed | {suppressed} |\n");

    write_table(&mut s, report);
    write_problems(&mut s, report);
    write_how_to_fix(&mut s, report);
    s
}

/// The table of failing and unknown clusters: a row per live finding of a
/// failing evaluation, a row with the reason for an unknown one.
fn write_table(s: &mut String, report: &Report) {
    let mut rows = Vec::new();
    for r in &report.resources {
        match r.outcome {
            Outcome::Fail => {
                let live: Vec<_> = r
                    .findings
                    .iter()
                    .filter(|f| f.suppression.is_none() && f.level == Level::Error)
                    .collect();
                for f in &live {
                    rows.push(format!(
                        "| {}:{} | {} | {} | {} |",
                        cell(&f.region.file),
                        f.region.start_line,
                        cluster_cell(r),
                        code(f.rule_id),
                        cell(&f.message)
                    ));
                }
                if live.is_empty() {
                    rows.push(format!(
                        "| {}:{} | {} | | {} |",
                        cell(&r.file),
                        r.line,
                        cluster_cell(r),
                        cell(r.reason.as_deref().unwrap_or("fails"))
                    ));
                }
            }
            Outcome::Unknown => rows.push(format!(
                "| {}:{} | {} | | unknown: {} |",
                cell(&r.file),
                r.line,
                cluster_cell(r),
                cell(
                    r.reason
                        .as_deref()
                        .unwrap_or("depends on deployment values")
                )
            )),
            Outcome::Pass | Outcome::NotApplicable => {}
        }
    }
    if rows.is_empty() {
        return;
    }
    s.push_str("### Failing and unknown clusters\n\n");
    s.push_str("| File | Cluster | Rule | Message |\n| --- | --- | --- | --- |\n");
    let start = s.len();
    let mut shown = 0;
    for row in &rows {
        if shown == MAX_ROWS || s.len() - start + row.len() > TABLE_BUDGET {
            break;
        }
        s.push_str(row);
        s.push('\n');
        shown += 1;
    }
    if shown < rows.len() {
        let _ = writeln!(
            s,
            "\n{} more rows left out; the full list is in the text, JSON or SARIF report.",
            rows.len() - shown
        );
    }
    s.push('\n');
}

fn write_problems(s: &mut String, report: &Report) {
    for (title, list) in [("Errors", &report.errors), ("Notices", &report.notices)] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(s, "### {title}\n");
        for e in list.iter().take(MAX_PROBLEMS) {
            let place = if e.line == 0 {
                cell(&e.file)
            } else {
                format!("{}:{}:{}", cell(&e.file), e.line, e.column)
            };
            let _ = writeln!(s, "- {place}: {}", cell(&e.message));
        }
        if list.len() > MAX_PROBLEMS {
            let _ = writeln!(s, "- … and {} more", list.len() - MAX_PROBLEMS);
        }
        s.push('\n');
    }
}

/// Per rule with a live finding: what it reports, the documented fix for
/// each kind of file it fired in (ARM JSON, Bicep), and where to read more.
fn write_how_to_fix(s: &mut String, report: &Report) {
    let unique = report.unique_findings();
    let live: Vec<_> = unique
        .iter()
        .filter(|u| u.finding.suppression.is_none())
        .collect();
    if live.is_empty() {
        return;
    }
    s.push_str("### How to fix\n\n");
    for rule in crate::rules::RULES.iter() {
        let fired: Vec<_> = live
            .iter()
            .filter(|u| u.finding.rule_id == rule.id)
            .collect();
        if fired.is_empty() {
            continue;
        }
        let _ = writeln!(s, "#### {}\n\n{}\n", code(rule.id), rule.short_description);
        let kinds = [
            (false, "Azure template (ARM JSON)", "json"),
            (true, "Bicep", "bicep"),
        ];
        for (bicep, heading, language) in kinds {
            if !fired.iter().any(|u| u.resource.from_bicep == bicep) {
                continue;
            }
            if let Some(example) = crate::rules::docs::example(rule, heading) {
                let _ = writeln!(
                    s,
                    "{heading}, for example:\n\n{}\n",
                    code_block(language, example)
                );
            }
        }
        let _ = writeln!(
            s,
            "More: {} or {}\n",
            code(&format!("aks-authorized-ips explain {}", rule.id)),
            crate::rules::docs::help_uri(rule)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_escaping_keeps_colons_and_commas() {
        assert_eq!(escape_data("a%b\r\nc:d,e"), "a%25b%0D%0Ac:d,e");
        assert_eq!(escape_data("::error::x"), "::error::x");
        // Escaping `%` first: an already-escaped sequence stays literal.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn property_escaping_also_covers_colons_and_commas() {
        assert_eq!(escape_property("a%b\r\nc:d,e"), "a%25b%0D%0Ac%3Ad%2Ce");
        assert_eq!(escape_property("x,title=y::z"), "x%2Ctitle=y%3A%3Az");
    }

    #[test]
    fn commands_escape_properties_and_message() {
        let line = command(
            "error",
            &[("file", "a,b:c.json".into()), ("title", "T".into())],
            "bad\nthing",
        );
        assert_eq!(line, "::error file=a%2Cb%3Ac.json,title=T::bad%0Athing");
    }
}

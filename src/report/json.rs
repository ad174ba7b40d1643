//! The JSON report, version 1: a contract other tools read. Fields may be
//! added; none is renamed or removed without a new version.

use std::io::Write;

use serde::Serialize;

use crate::findings::{ErrorReport, Level, Outcome, Report, Safety, SuppressionSource};

pub const VERSION: u32 = 1;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport<'a> {
    version: u32,
    resources: Vec<JsonResource<'a>>,
    errors: Vec<JsonError<'a>>,
    /// Added in version 1: what was not followed; never fails a run.
    notices: Vec<JsonError<'a>>,
    /// Added in version 1: findings (unique template locations) that are
    /// suppressed; they are listed with the others but never fail.
    suppressed_findings: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonResource<'a> {
    file: &'a str,
    parameter_file: Option<&'a str>,
    name: &'a str,
    #[serde(rename = "type")]
    resource_type: &'a str,
    line: u32,
    outcome: Outcome,
    reason: Option<&'a str>,
    findings: Vec<JsonFinding<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonFinding<'a> {
    rule_id: &'a str,
    level: Level,
    message: &'a str,
    file: &'a str,
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
    fingerprint: &'a str,
    /// Added in version 1: set when the finding is suppressed, else null.
    suppressed: Option<JsonSuppressed<'a>>,
    /// Added in version 1: the fix the tool can apply, else null.
    fix: Option<JsonFix<'a>>,
    /// Added in version 1: when there is no fix, the rule's example of the
    /// right setting, in Bicep for a template compiled from Bicep, else in
    /// ARM JSON; null when there is a fix.
    example: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonFix<'a> {
    description: &'a str,
    safety: Safety,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonSuppressed<'a> {
    source: SuppressionSource,
    justification: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonError<'a> {
    file: &'a str,
    line: u32,
    column: u32,
    message: &'a str,
}

impl<'a> From<&'a ErrorReport> for JsonError<'a> {
    fn from(e: &'a ErrorReport) -> Self {
        JsonError {
            file: &e.file,
            line: e.line,
            column: e.column,
            message: &e.message,
        }
    }
}

/// The rule's documented example for the kind of file the user edits.
fn example_for(rule_id: &str, from_bicep: bool) -> Option<&'static str> {
    let heading = if from_bicep {
        "Bicep"
    } else {
        "Azure template (ARM JSON)"
    };
    crate::rules::find(rule_id).and_then(|rule| crate::rules::docs::example(rule, heading))
}

pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let doc = JsonReport {
        version: VERSION,
        resources: report
            .resources
            .iter()
            .map(|r| JsonResource {
                file: &r.file,
                parameter_file: r.parameter_file.as_deref(),
                name: &r.name,
                resource_type: &r.resource_type,
                line: r.line,
                outcome: r.outcome,
                reason: r.reason.as_deref(),
                findings: r
                    .findings
                    .iter()
                    .map(|f| JsonFinding {
                        rule_id: f.rule_id,
                        level: f.level,
                        message: &f.message,
                        file: &f.region.file,
                        line: f.region.start_line,
                        column: f.region.start_column,
                        end_line: f.region.end_line,
                        end_column: f.region.end_column,
                        fingerprint: &f.fingerprint,
                        example: match f.fix {
                            Some(_) => None,
                            None => example_for(f.rule_id, r.from_bicep),
                        },
                        fix: f.fix.as_ref().map(|fix| JsonFix {
                            description: &fix.description,
                            safety: fix.safety,
                        }),
                        suppressed: f.suppression.as_ref().map(|s| JsonSuppressed {
                            source: s.source,
                            justification: &s.justification,
                        }),
                    })
                    .collect(),
            })
            .collect(),
        errors: report.errors.iter().map(JsonError::from).collect(),
        notices: report.notices.iter().map(JsonError::from).collect(),
        suppressed_findings: report.suppressed_count(),
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

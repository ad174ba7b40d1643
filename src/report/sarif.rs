//! SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.
//!
//! What code scanning needs (see `design/FACTS.md` in the shared folder):
//! every rule with descriptions, help text and markdown, tags and a
//! `security-severity`; repo-relative URIs with `/`; `partialFingerprints`
//! without line numbers; one result per template location.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::json;
use serde_sarif::sarif::{
    Artifact, ArtifactChange, ArtifactContent, ArtifactLocation, Invocation, Location, Message,
    MultiformatMessageString, Notification, PhysicalLocation, PropertyBag, Region, Replacement,
    ReportingConfiguration, ReportingDescriptor, Result as SarifResult, ResultLevel, Run,
    RunAutomationDetails, Sarif, Suppression as SarifSuppression, Tool, ToolComponent,
};

use crate::findings::{Fix, Level, Region as ReportRegion, Report, Safety, SuppressionSource};
use crate::rules::{Rule, RULES};

pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
/// The key of our fingerprint in `partialFingerprints`; bump the version if
/// the way it is computed ever changes.
pub const FINGERPRINT_KEY: &str = "aksAuthorizedIps/v1";
const TOOL_NAME: &str = "aks-authorized-ips";
const PSRULE_PAGE: &str =
    "https://azure.github.io/PSRule.Rules.Azure/en/rules/Azure.AKS.AuthorizedIPs/";
const AKS_ARTICLE: &str = "https://learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges";
/// `runAutomationDetails.id`: GitHub takes what comes before the last `/` as
/// the analysis category. Stable, so alerts stay with their category; the
/// upload-sarif action's `category` input overrides it.
pub const AUTOMATION_ID: &str = "aks-authorized-ips/";
/// The base every artifact URI is relative to: the report base.
pub const SRCROOT: &str = "%SRCROOT%";

/// Every file the log mentions, in order of first mention: `run.artifacts`,
/// which each artifact location points into by `index`.
struct Artifacts {
    uris: Vec<String>,
    index: std::collections::HashMap<String, i64>,
    /// Whether `%SRCROOT%` is defined (the report knows its base).
    rooted: bool,
}

impl Artifacts {
    fn location(&mut self, path: &str) -> ArtifactLocation {
        let uri = uri_path(path);
        let next = self.uris.len() as i64;
        let index = *self.index.entry(uri.clone()).or_insert_with(|| {
            self.uris.push(uri.clone());
            next
        });
        let location = ArtifactLocation::builder().uri(uri).index(index);
        if self.rooted {
            location.uri_base_id(SRCROOT).build()
        } else {
            location.build()
        }
    }

    fn physical(&mut self, region: &ReportRegion) -> PhysicalLocation {
        PhysicalLocation::builder()
            .artifact_location(self.location(&region.file))
            .region(
                Region::builder()
                    .start_line(i64::from(region.start_line))
                    .start_column(i64::from(region.start_column))
                    .end_line(i64::from(region.end_line))
                    .end_column(i64::from(region.end_column))
                    .build(),
            )
            .build()
    }

    fn artifacts(&self) -> Vec<Artifact> {
        self.uris
            .iter()
            .map(|uri| {
                let location = ArtifactLocation::builder().uri(uri.clone());
                let location = if self.rooted {
                    location.uri_base_id(SRCROOT).build()
                } else {
                    location.build()
                };
                // Every file the log names was read as a template or a
                // parameter file; the role also tells the multitool the
                // list is more than a repeat of the locations (SARIF2004).
                Artifact::builder()
                    .location(location)
                    .roles(vec![json!("analysisTarget")])
                    .build()
            })
            .collect()
    }
}

pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let sarif = build(report);
    serde_json::to_writer_pretty(&mut *out, &sarif)?;
    writeln!(out)
}

/// Builds the SARIF log for a report.
pub fn build(report: &Report) -> Sarif {
    let driver = ToolComponent::builder()
        .name(TOOL_NAME)
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri(AKS_ARTICLE)
        .rules(RULES.iter().map(|r| descriptor(r)).collect::<Vec<_>>())
        .build();

    let mut table = Artifacts {
        uris: Vec::new(),
        index: Default::default(),
        rooted: report.base.is_some(),
    };
    let results: Vec<SarifResult> = report
        .unique_findings()
        .into_iter()
        .map(|u| {
            let f = u.finding;
            let rule_index = RULES.iter().position(|r| r.id == f.rule_id).unwrap_or(0);
            // First, so the artifacts list the file of each result before
            // the files that explain it.
            let primary = table.physical(&f.region);
            let mut related: Vec<Location> = Vec::new();
            for p in &u.parameter_files {
                related.push(
                    Location::builder()
                        .id(related.len() as i64)
                        .physical_location(
                            PhysicalLocation::builder()
                                .artifact_location(table.location(p))
                                .build(),
                        )
                        .message(Message::from(
                            format!("evaluated with the parameter file {p}").as_str(),
                        ))
                        .build(),
                );
            }
            for r in &f.related {
                related.push(
                    Location::builder()
                        .id(related.len() as i64)
                        .physical_location(table.physical(&r.region))
                        .message(Message::from(r.message.as_str()))
                        .build(),
                );
            }
            let mut fingerprints = BTreeMap::new();
            fingerprints.insert(FINGERPRINT_KEY.to_string(), f.fingerprint.clone());
            let base = SarifResult::builder()
                .rule_id(f.rule_id)
                .rule_index(rule_index as i64)
                .level(result_level(f.level))
                .message(Message::from(f.message.as_str()))
                .locations(vec![Location::builder().physical_location(primary).build()])
                .partial_fingerprints(fingerprints);
            let mut result = base.build();
            if !related.is_empty() {
                result.related_locations = Some(related);
            }
            if let Some(s) = &f.suppression {
                let kind = match s.source {
                    SuppressionSource::Template => "inSource",
                    SuppressionSource::Config | SuppressionSource::PsRule => "external",
                };
                result.suppressions = Some(vec![SarifSuppression::builder()
                    .kind(json!(kind))
                    .status(json!("accepted"))
                    .justification(s.justification.as_str())
                    .build()]);
            }
            result.fixes = f.fix.as_ref().map(|fix| vec![sarif_fix(fix, &mut table)]);
            result
        })
        .collect();

    let levelled = report
        .errors
        .iter()
        .map(|e| (e, "error"))
        .chain(report.notices.iter().map(|e| (e, "warning")));
    let notifications: Vec<Notification> = levelled
        .map(|(e, level)| {
            let location = if e.line == 0 {
                PhysicalLocation::builder()
                    .artifact_location(table.location(&e.file))
                    .build()
            } else {
                PhysicalLocation::builder()
                    .artifact_location(table.location(&e.file))
                    .region(
                        Region::builder()
                            .start_line(i64::from(e.line))
                            .start_column(i64::from(e.column.max(1)))
                            .build(),
                    )
                    .build()
            };
            Notification::builder()
                .level(json!(level))
                .message(Message::from(e.message.as_str()))
                .locations(vec![Location::builder()
                    .physical_location(location)
                    .build()])
                .build()
        })
        .collect();

    let invocation = Invocation::builder()
        .execution_successful(true)
        .tool_execution_notifications(notifications)
        .build();

    let mut run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .automation_details(RunAutomationDetails::builder().id(AUTOMATION_ID).build())
        .artifacts(table.artifacts())
        .results(results)
        .invocations(vec![invocation])
        .column_kind(json!("unicodeCodePoints"))
        .build();
    if let Some(base) = &report.base {
        let mut bases = BTreeMap::new();
        bases.insert(
            SRCROOT.to_string(),
            ArtifactLocation::builder().uri(file_uri(base)).build(),
        );
        run.original_uri_base_ids = Some(bases);
    }

    Sarif::builder()
        .schema(SCHEMA_URI)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

fn descriptor(rule: &Rule) -> ReportingDescriptor {
    let mut extra = BTreeMap::new();
    extra.insert(
        "security-severity".to_string(),
        json!(rule.security_severity),
    );
    extra.insert("precision".to_string(), json!("very-high"));
    extra.insert(
        "problem.severity".to_string(),
        json!(match rule.level {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "recommendation",
        }),
    );
    if let Some(reference) = rule.reference {
        extra.insert("ref".to_string(), json!(reference));
    }
    let properties = PropertyBag::builder()
        .tags(rule.tags.iter().map(|t| t.to_string()).collect::<Vec<_>>())
        .additional_properties(extra)
        .build();
    ReportingDescriptor::builder()
        .id(rule.id)
        .name(rule.name)
        .short_description(
            MultiformatMessageString::builder()
                .text(rule.short_description)
                .build(),
        )
        .full_description(
            MultiformatMessageString::builder()
                .text(rule.full_description)
                .build(),
        )
        .help(
            MultiformatMessageString::builder()
                .text(crate::rules::docs::plain_text(rule))
                .markdown(crate::rules::docs::markdown(rule))
                .build(),
        )
        .help_uri(if rule.reference.is_some() {
            PSRULE_PAGE
        } else {
            AKS_ARTICLE
        })
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(rule.level.as_str()))
                .build(),
        )
        .properties(properties)
        .build()
}

/// A fix as SARIF `fixes[]`: one artifact change per file, its edits as
/// replacements (an insertion deletes an empty region), and the safety in
/// the properties.
fn sarif_fix(fix: &Fix, table: &mut Artifacts) -> serde_sarif::sarif::Fix {
    let mut changes: Vec<ArtifactChange> = Vec::new();
    let mut files: Vec<&str> = fix.edits.iter().map(|e| e.file.as_str()).collect();
    files.dedup();
    for file in files {
        let replacements: Vec<Replacement> = fix
            .edits
            .iter()
            .filter(|e| e.file == file)
            .map(|e| {
                let r = &e.region;
                Replacement::builder()
                    .deleted_region(
                        Region::builder()
                            .start_line(i64::from(r.start_line))
                            .start_column(i64::from(r.start_column))
                            .end_line(i64::from(r.end_line))
                            .end_column(i64::from(r.end_column))
                            .build(),
                    )
                    .inserted_content(
                        ArtifactContent::builder()
                            .text(e.replacement.as_str())
                            .build(),
                    )
                    .build()
            })
            .collect();
        changes.push(
            ArtifactChange::builder()
                .artifact_location(table.location(file))
                .replacements(replacements)
                .build(),
        );
    }
    let mut extra = BTreeMap::new();
    extra.insert(
        "safety".to_string(),
        json!(match fix.safety {
            Safety::Safe => "safe",
            Safety::Unsafe => "unsafe",
        }),
    );
    serde_sarif::sarif::Fix::builder()
        .description(Message::from(fix.description.as_str()))
        .artifact_changes(changes)
        .properties(PropertyBag::builder().additional_properties(extra).build())
        .build()
}

fn result_level(level: Level) -> ResultLevel {
    match level {
        Level::Error => ResultLevel::Error,
        Level::Warning => ResultLevel::Warning,
        Level::Note => ResultLevel::Note,
    }
}

/// An absolute folder as a `file:` URI ending in `/` (`file:///C:/x/` on
/// Windows).
pub fn file_uri(folder: &std::path::Path) -> String {
    let path = folder.to_string_lossy().replace('\\', "/");
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        return "file:///".to_string();
    }
    let mut out = String::from("file://");
    if !path.starts_with('/') {
        out.push('/');
    }
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out.push('/');
    out
}

/// Percent-encodes a `/`-separated relative path into a URI reference.
pub fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(
            uri_path("infra/my aks/a#b.json"),
            "infra/my%20aks/a%23b.json"
        );
        assert_eq!(uri_path("é.json"), "%C3%A9.json");
    }

    #[test]
    fn the_base_is_a_file_uri_ending_in_a_slash() {
        use std::path::Path;
        assert_eq!(
            file_uri(Path::new("/work/my repo")),
            "file:///work/my%20repo/"
        );
        assert_eq!(file_uri(Path::new("/")), "file:///");
        assert_eq!(file_uri(Path::new("C:\\src\\x")), "file:///C:/src/x/");
    }
}

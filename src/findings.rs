//! Stage 5: the one findings model every reporter reads.
//!
//! Rules produce [`Finding`]s whose locations are symbolic ([`Origin`]: a file
//! id and a byte span). The scan turns them into [`FindingReport`]s with
//! repo-relative paths, lines and columns, so reporters never need the
//! source text again and never re-evaluate anything.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::evaluate::Origin;
use crate::rules::Rule;

/// How serious a finding is. Ordered from least to most serious.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Note,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// The verdict on one cluster in one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Pass,
    Fail,
    /// A private cluster: the rule does not apply.
    NotApplicable,
    /// The verdict depends on a value only known at deployment.
    Unknown,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::NotApplicable => "not-applicable",
            Outcome::Unknown => "unknown",
        }
    }
}

/// A secondary place that explains a finding, such as where a value came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Related {
    pub origin: Origin,
    pub message: String,
}

/// One problem a rule found, before locations are made concrete.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static Rule,
    pub message: String,
    /// The exact entry or property to change.
    pub primary: Origin,
    pub related: Vec<Related>,
    /// Tells apart findings of one rule on one cluster (the entry's text, the
    /// node pool's name); part of the fingerprint, so it must not hold lines.
    pub discriminator: String,
    /// What to change, symbolically; the scan makes it edits (see [`crate::fix`]).
    pub fix: Option<FixIntent>,
}

impl Finding {
    pub fn new(rule: &'static Rule, primary: Origin, message: impl Into<String>) -> Self {
        Finding {
            rule,
            message: message.into(),
            primary,
            related: Vec::new(),
            discriminator: String::new(),
            fix: None,
        }
    }

    pub fn with_fix(mut self, fix: Option<FixIntent>) -> Self {
        self.fix = fix;
        self
    }

    pub fn discriminator(mut self, d: impl Into<String>) -> Self {
        self.discriminator = d.into();
        self
    }

    pub fn level(&self) -> Level {
        self.rule.level
    }
}

/// A concrete place: repo-relative path with `/`, 1-based lines and columns
/// (columns count Unicode code points); `end_column` is exclusive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    pub file: String,
    pub start_line: u32,
    pub start_column: u32,
    pub end_line: u32,
    pub end_column: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelatedReport {
    pub region: Region,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingReport {
    pub rule_id: &'static str,
    pub level: Level,
    pub message: String,
    pub region: Region,
    /// The text of the first line of the region, for terminal output.
    pub snippet: String,
    pub related: Vec<RelatedReport>,
    /// Stable across edits elsewhere in the file: no line numbers in it.
    pub fingerprint: String,
    /// How to fix it, as edits, when the tool knows.
    pub fix: Option<Fix>,
    /// Set when a configuration, `ps-rule.yaml` or the template itself
    /// suppresses the finding: it stays visible but never fails the run.
    pub suppression: Option<Suppression>,
}

/// Whether applying a fix can change what else is deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Safety {
    /// Cannot change which addresses reach the API server.
    Safe,
    /// Changes access: a person must choose the values.
    Unsafe,
}

/// A fix: byte-range edits on the file the user must change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// One line: what the fix does.
    pub description: String,
    pub safety: Safety,
    /// Non-overlapping edits, in one file or several, sorted by file and start.
    pub edits: Vec<Edit>,
    /// The changed lines, for a diff in the terminal.
    pub preview: Vec<Hunk>,
}

/// A fix as a rule sees it: values and their places, not text. The scan
/// turns it into [`Edit`]s once it has the file's text, and drops it when the
/// text at the place is not the literal the rule expects (an expression, a
/// value shared through `concat`).
#[derive(Debug, Clone, PartialEq)]
pub struct FixIntent {
    pub description: String,
    pub safety: Safety,
    pub change: Change,
}

/// The change a fix makes. Every place is in one file.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Write the string `with` in place of the string literal at `at`, which
    /// must read `expected`.
    ReplaceString {
        at: Origin,
        expected: String,
        with: String,
    },
    /// Drop the element at `entry` from the array literal at `list`, whose
    /// elements must be exactly `elements`; `kept`, the element that makes it
    /// redundant, must be a literal string of the same array.
    RemoveElement {
        list: Origin,
        elements: Vec<Origin>,
        entry: Origin,
        kept: Origin,
    },
    /// Replace the value at `at` by an array of the strings `ranges`. The
    /// value must be an array literal whose elements are exactly `elements`,
    /// or `null` when `elements` is empty.
    ReplaceWithList {
        at: Origin,
        elements: Vec<Origin>,
        ranges: Vec<String>,
    },
    /// Insert the properties `keys` (each an object inside the one before,
    /// the last one holding the array of `ranges`) as the first property of
    /// the object literal at `object`, which must not have `keys[0]` yet.
    InsertProperty {
        object: Origin,
        keys: Vec<&'static str>,
        ranges: Vec<String>,
    },
}

impl Change {
    /// The place whose file the change edits.
    pub fn origin(&self) -> Origin {
        match self {
            Change::ReplaceString { at, .. } | Change::ReplaceWithList { at, .. } => *at,
            Change::RemoveElement { list, .. } => *list,
            Change::InsertProperty { object, .. } => *object,
        }
    }
}

/// Lines of a file before and after a fix, for terminal output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hunk {
    pub file: String,
    /// 1-based number of the first line of `old` (where `new` goes when
    /// `old` is empty).
    pub start_line: u32,
    pub old: Vec<String>,
    pub new: Vec<String>,
}

/// Replace bytes `start..end` of `file` with `replacement`. `region` is the
/// same range as lines and columns, for SARIF and diffs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edit {
    pub file: String,
    pub start: usize,
    pub end: usize,
    pub region: Region,
    pub replacement: String,
}

/// Where a suppression came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuppressionSource {
    /// `.aks-authorized-ips.yaml` or `--config`.
    Config,
    /// PSRule's `ps-rule.yaml`.
    PsRule,
    /// The resource's own `metadata` in the template.
    Template,
}

impl SuppressionSource {
    /// Where the suppression was written, for the terminal.
    pub fn describe(self) -> &'static str {
        match self {
            SuppressionSource::Config => "the configuration",
            SuppressionSource::PsRule => "ps-rule.yaml",
            SuppressionSource::Template => "the template's metadata",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppression {
    pub source: SuppressionSource,
    pub justification: String,
}

/// One cluster judged in one evaluation (a template alone, or a template
/// with one of its parameter files).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceReport {
    pub file: String,
    pub parameter_file: Option<String>,
    pub name: String,
    pub resource_type: String,
    pub line: u32,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub findings: Vec<FindingReport>,
    /// The template was compiled from Bicep: fixes are shown in Bicep.
    pub from_bicep: bool,
}

/// A file (or part of one) the tool could not read, parse or evaluate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ErrorReport {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// What discovery saw, for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanStats {
    pub files_read: usize,
    pub templates: usize,
    pub parameter_files: usize,
    /// Parameter files whose template was not found among the scanned files.
    pub unlinked_parameter_files: usize,
}

/// Everything a reporter needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub resources: Vec<ResourceReport>,
    pub errors: Vec<ErrorReport>,
    /// What was not followed (templates linked by URI): shown, never failing.
    pub notices: Vec<ErrorReport>,
    pub stats: ScanStats,
    /// The folder report paths are relative to (SARIF's `%SRCROOT%`).
    pub base: Option<std::path::PathBuf>,
    /// Report paths of the templates and parameter files this run read and
    /// parsed: a finding that is gone from one of them is fixed; one on a
    /// file outside them (another scan's, or one that did not parse) is not.
    #[serde(skip)]
    pub scanned: std::collections::BTreeSet<String>,
}

impl Report {
    /// Every finding with the resource it belongs to.
    pub fn findings(&self) -> impl Iterator<Item = (&ResourceReport, &FindingReport)> {
        self.resources
            .iter()
            .flat_map(|r| r.findings.iter().map(move |f| (r, f)))
    }

    /// Whether this run can tell that a finding on `file` is gone: the file
    /// was read and parsed, or it no longer exists.
    pub fn can_tell_gone(&self, file: &str) -> bool {
        let same = |a: &str| a.replace('\\', "/") == file.replace('\\', "/");
        if self.scanned.contains(file) || self.scanned.iter().any(|s| same(s)) {
            return true;
        }
        let base = self.base.clone().unwrap_or_else(|| ".".into());
        !base.join(file).exists()
    }

    /// The unique findings no suppression covers: what pull-request
    /// comments are about.
    pub fn live_unique_findings(&self) -> Vec<UniqueFinding<'_>> {
        self.unique_findings()
            .into_iter()
            .filter(|u| u.finding.suppression.is_none())
            .collect()
    }

    /// Findings that are the same template location and rule, reached through
    /// several parameter files, collapse into one (with the parameter files
    /// that lead to it), in a stable order.
    pub fn unique_findings(&self) -> Vec<UniqueFinding<'_>> {
        let mut out: Vec<UniqueFinding<'_>> = Vec::new();
        let mut seen = std::collections::HashMap::new();
        for (resource, finding) in self.findings() {
            let key = (finding.rule_id, &finding.region, &finding.fingerprint);
            match seen.get(&key) {
                Some(&i) => {
                    let entry: &mut UniqueFinding<'_> = &mut out[i];
                    // Suppressed through one parameter file only (a path
                    // glob on it): the location still has a live finding.
                    if entry.finding.suppression.is_some() && finding.suppression.is_none() {
                        entry.finding = finding;
                        entry.resource = resource;
                    }
                    if let Some(p) = &resource.parameter_file {
                        if !entry.parameter_files.contains(&p.as_str()) {
                            entry.parameter_files.push(p);
                        }
                    }
                }
                None => {
                    seen.insert(key, out.len());
                    out.push(UniqueFinding {
                        resource,
                        finding,
                        parameter_files: resource
                            .parameter_file
                            .iter()
                            .map(String::as_str)
                            .collect(),
                    });
                }
            }
        }
        out.sort_by(|a, b| {
            (&a.finding.region, a.finding.rule_id, &a.finding.fingerprint).cmp(&(
                &b.finding.region,
                b.finding.rule_id,
                &b.finding.fingerprint,
            ))
        });
        out
    }

    /// The most serious level among all findings that are not suppressed.
    pub fn worst_level(&self) -> Option<Level> {
        self.findings()
            .filter(|(_, f)| f.suppression.is_none())
            .map(|(_, f)| f.level)
            .max()
    }

    /// Unique findings that are suppressed.
    pub fn suppressed_count(&self) -> usize {
        self.unique_findings()
            .iter()
            .filter(|u| u.finding.suppression.is_some())
            .count()
    }

    /// Unique findings (one per template location) by level, leaving out
    /// suppressed ones, which are counted apart.
    pub fn finding_counts(&self) -> FindingCounts {
        let mut counts = FindingCounts::default();
        for u in self.unique_findings() {
            match (&u.finding.suppression, u.finding.level) {
                (Some(_), _) => counts.suppressed += 1,
                (None, Level::Error) => counts.errors += 1,
                (None, Level::Warning) => counts.warnings += 1,
                (None, Level::Note) => counts.notes += 1,
            }
        }
        counts
    }

    pub fn count_outcome(&self, outcome: Outcome) -> usize {
        self.resources
            .iter()
            .filter(|r| r.outcome == outcome)
            .count()
    }
}

/// How many unique findings a report has, by level; suppressed apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FindingCounts {
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
    pub suppressed: usize,
}

impl FindingCounts {
    /// Findings that are not suppressed.
    pub fn live(&self) -> usize {
        self.errors + self.warnings + self.notes
    }

    pub fn of(&self, level: Level) -> usize {
        match level {
            Level::Error => self.errors,
            Level::Warning => self.warnings,
            Level::Note => self.notes,
        }
    }
}

pub struct UniqueFinding<'a> {
    pub resource: &'a ResourceReport,
    pub finding: &'a FindingReport,
    pub parameter_files: Vec<&'a str>,
}

/// A stable fingerprint: SHA-256 of the rule id, the repo-relative path, the
/// cluster's identity (type and name as written) and the discriminator,
/// separated by NUL. Line numbers stay out so alerts survive edits above them.
pub fn fingerprint(
    rule_id: &str,
    path: &str,
    cluster_identity: &str,
    discriminator: &str,
) -> String {
    let mut hasher = Sha256::new();
    for part in [rule_id, path, cluster_identity, discriminator] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_stable_and_separates_parts() {
        let a = fingerprint("R", "a/b.json", "T/x", "");
        assert_eq!(a, fingerprint("R", "a/b.json", "T/x", ""));
        assert_eq!(a.len(), 32);
        assert_ne!(a, fingerprint("R", "a/b.jso", "nT/x", ""));
        // Pinned (computed independently with Python's hashlib): a change
        // here churns every user's code-scanning alerts.
        assert_eq!(
            fingerprint(
                "Azure.AKS.AuthorizedIPs",
                "infra/aks.json",
                "microsoft.containerservice/managedclusters/aks-prod",
                ""
            ),
            "cc27c383a4be12f9128c5f4346054f44"
        );
    }
}

//! What a user can change without editing templates: the configuration file
//! (`.aks-authorized-ips.yaml`), PSRule's `ps-rule.yaml` suppressions, and a
//! cluster's own `metadata` entry in the template.
//!
//! Rules can be turned off or given another level; findings can be
//! suppressed, with a justification. Suppressed findings stay in every report
//! (marked, with the justification) but never fail the run or the cluster.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use glob::Pattern;
use serde::de::{self, Deserializer};
use serde::Deserialize;

use crate::discover::Filters;
use crate::evaluate::{EvalError, Kind, Origin, Value};
use crate::findings::{FindingReport, Level, Suppression, SuppressionSource};
use crate::rules::{self, Rule, AUTHORIZED_IPS};

/// Configuration file names looked for in the scanned root, in order.
pub const FILE_NAMES: [&str; 2] = [".aks-authorized-ips.yaml", ".aks-authorized-ips.yml"];
/// PSRule's options file names looked for in the scanned root, in order.
pub const PS_RULE_FILE_NAMES: [&str; 2] = ["ps-rule.yaml", "ps-rule.yml"];
/// The justification of a suppression taken from `ps-rule.yaml`, which has none.
pub const PS_RULE_JUSTIFICATION: &str = "suppressed in ps-rule.yaml";
/// The key under a resource's `metadata` that suppresses findings for it.
pub const METADATA_KEY: &str = "aks-authorized-ips";

/// Everything the configuration changes. The default changes nothing.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Rules turned off or given another level.
    pub rules: Vec<RuleOverride>,
    /// `broadPrefix`; `--broad-prefix` wins over it.
    pub broad_prefix: Option<u8>,
    pub suppressions: Vec<ConfigSuppression>,
    /// Cluster names PSRule's `ps-rule.yaml` suppresses `Azure.AKS.AuthorizedIPs`
    /// for, lowercase.
    pub ps_rule_targets: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct RuleOverride {
    pub rule: &'static Rule,
    pub enabled: bool,
    pub level: Option<Level>,
}

/// One entry of `suppressions:`.
#[derive(Debug, Clone)]
pub struct ConfigSuppression {
    /// `None`: every rule.
    pub rule: Option<&'static Rule>,
    /// Matched case-insensitively against the cluster's evaluated name.
    pub cluster: Option<Pattern>,
    /// Matched like `--include` against the template's or the parameter
    /// file's report path.
    pub path: Option<Pattern>,
    pub justification: String,
}

/// A cluster's `metadata.aks-authorized-ips` in the template.
#[derive(Debug, Clone, Default)]
pub struct TemplateSuppression {
    pub rules: Vec<&'static Rule>,
    pub justification: String,
}

/// The folder whose configuration applies: the first path when it is a
/// folder, else the current directory.
pub fn scanned_root(paths: &[PathBuf]) -> PathBuf {
    match paths.first() {
        Some(p) if p.is_dir() => p.clone(),
        _ => PathBuf::from("."),
    }
}

/// Loads the configuration: `explicit` (from `--config`), else
/// `.aks-authorized-ips.yaml` (or `.yml`) in `root`; and `ps-rule.yaml` (or
/// `.yml`) in `root`. A missing explicit file, unreadable or invalid YAML,
/// an unknown key or rule id are errors naming the file, line and column.
pub fn load(root: &Path, explicit: Option<&Path>) -> anyhow::Result<Config> {
    let file = match explicit {
        Some(path) => {
            if !path.is_file() {
                return Err(anyhow!(
                    "--config {}: no such file",
                    crate::discover::display_path(path, &std::env::current_dir()?)
                ));
            }
            Some(path.to_path_buf())
        }
        None => first_existing(root, &FILE_NAMES),
    };
    let mut config = match &file {
        Some(path) => {
            let text = read(path)?;
            parse(&text).map_err(|e| anyhow!("{}{e}", shown(path)))?
        }
        None => Config::default(),
    };
    if let Some(path) = first_existing(root, &PS_RULE_FILE_NAMES) {
        let text = read(path.as_path())?;
        config.ps_rule_targets =
            parse_ps_rule(&text).map_err(|e| anyhow!("{}{e}", shown(&path)))?;
    }
    Ok(config)
}

fn first_existing(root: &Path, names: &[&str]) -> Option<PathBuf> {
    names.iter().map(|n| root.join(n)).find(|p| p.is_file())
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// `path:` for messages: relative to the current directory when inside it.
fn shown(path: &Path) -> String {
    let base = std::env::current_dir().unwrap_or_default();
    format!("{}:", crate::discover::display_path(path, &base))
}

/// Formats a YAML error as `line:column: message` (the caller puts the file
/// in front), without serde_yaml's trailing "at line L column C".
///
/// serde_yaml places an error raised by our own checks at the start of the
/// enclosing mapping; an unknown rule id is placed exactly, by finding the
/// id in the text.
fn located(e: &serde_yaml::Error, text: &str) -> String {
    let message = e.to_string();
    let Some(l) = e.location() else {
        return format!(" {message}");
    };
    let suffix = format!(" at line {} column {}", l.line(), l.column());
    let message = message
        .strip_suffix(&suffix)
        .map(str::to_string)
        .unwrap_or(message);
    let (mut line, mut column) = (l.line(), l.column());
    let id = message
        .split_once(UNKNOWN_RULE)
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(id, _)| id);
    if let Some(offset) = id.and_then(|id| text.get(l.index()..)?.find(id).map(|o| o + l.index())) {
        let before = &text[..offset];
        line = before.matches('\n').count() + 1;
        column = before.rsplit('\n').next().map_or(0, |s| s.chars().count()) + 1;
    }
    format!("{line}:{column}: {message}")
}

const UNKNOWN_RULE: &str = "unknown rule id `";

/// Parses the text of a configuration file.
pub fn parse(text: &str) -> Result<Config, String> {
    let raw: Option<RawConfig> = serde_yaml::from_str(text).map_err(|e| located(&e, text))?;
    let Some(raw) = raw else {
        return Ok(Config::default());
    };
    Ok(Config {
        rules: raw
            .rules
            .into_iter()
            .map(|(RuleRef(rule), r)| RuleOverride {
                rule,
                enabled: r.enabled.unwrap_or(true),
                level: r.level,
            })
            .collect(),
        broad_prefix: raw.broad_prefix,
        suppressions: raw
            .suppressions
            .into_iter()
            .map(|s| ConfigSuppression {
                rule: s.rule.map(|r| r.0),
                cluster: s.cluster.map(|g| g.0),
                path: s.path.map(|g| g.0),
                justification: s.justification,
            })
            .collect(),
        ps_rule_targets: Vec::new(),
    })
}

/// Reads the target names `ps-rule.yaml` suppresses `Azure.AKS.AuthorizedIPs`
/// (or `AZR-000030`) for. Every other key of the file is PSRule's business.
pub fn parse_ps_rule(text: &str) -> Result<Vec<String>, String> {
    #[derive(Deserialize)]
    struct PsRule {
        #[serde(default)]
        suppression: Option<BTreeMap<String, serde_yaml::Value>>,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Entry {
        Names(Vec<String>),
        Map {
            #[serde(rename = "targetName", default)]
            target_name: Vec<String>,
        },
    }
    let file: Option<PsRule> = serde_yaml::from_str(text).map_err(|e| located(&e, text))?;
    let mut targets = Vec::new();
    for (key, value) in file.and_then(|f| f.suppression).unwrap_or_default() {
        let ours = key.eq_ignore_ascii_case(AUTHORIZED_IPS.id)
            || AUTHORIZED_IPS
                .reference
                .is_some_and(|r| key.eq_ignore_ascii_case(r));
        if !ours || value.is_null() {
            continue;
        }
        let entry: Entry = serde_yaml::from_value(value).map_err(|_| {
            format!(" suppression.{key} must be a list of target names or {{targetName: [...]}}")
        })?;
        let names = match entry {
            Entry::Names(n) => n,
            Entry::Map { target_name } => target_name,
        };
        targets.extend(names.into_iter().map(|n| n.to_lowercase()));
    }
    Ok(targets)
}

impl Config {
    fn rule_override(&self, rule_id: &str) -> Option<&RuleOverride> {
        // The last entry for a rule wins, as YAML's last key would.
        self.rules.iter().rev().find(|o| o.rule.id == rule_id)
    }

    pub fn is_enabled(&self, rule_id: &str) -> bool {
        self.rule_override(rule_id).map_or(true, |o| o.enabled)
    }

    /// The level a rule's findings get.
    pub fn level_of(&self, rule: &Rule) -> Level {
        self.rule_override(rule.id)
            .and_then(|o| o.level)
            .unwrap_or(rule.level)
    }

    /// The configuration or `ps-rule.yaml` suppression that covers a finding
    /// of `rule_id` on the cluster `name` evaluated from `paths` (the
    /// template, and the parameter file when there is one).
    pub fn suppression_for(
        &self,
        rule_id: &str,
        name: &str,
        paths: &[&str],
    ) -> Option<Suppression> {
        let name_lower = name.to_lowercase();
        let cluster_options = glob::MatchOptions {
            case_sensitive: false,
            require_literal_separator: false,
            require_literal_leading_dot: false,
        };
        for s in &self.suppressions {
            if s.rule.is_some_and(|r| r.id != rule_id) {
                continue;
            }
            if s.cluster
                .as_ref()
                .is_some_and(|c| !c.matches_with(name, cluster_options))
            {
                continue;
            }
            if s.path
                .as_ref()
                .is_some_and(|p| !paths.iter().any(|path| Filters::pattern_matches(p, path)))
            {
                continue;
            }
            return Some(Suppression {
                source: SuppressionSource::Config,
                justification: s.justification.clone(),
            });
        }
        // PSRule has no range checks: its suppression covers what it judged.
        if rule_id == AUTHORIZED_IPS.id && self.ps_rule_targets.contains(&name_lower) {
            return Some(Suppression {
                source: SuppressionSource::PsRule,
                justification: PS_RULE_JUSTIFICATION.to_string(),
            });
        }
        None
    }

    /// Applies the configuration and the template's own suppression to the
    /// findings of one cluster evaluation: drops turned-off rules, sets
    /// levels, marks suppressed findings. Returns whether an error-level
    /// finding remains unsuppressed (the cluster fails).
    pub fn apply(
        &self,
        findings: &mut Vec<FindingReport>,
        in_template: Option<&TemplateSuppression>,
        name: &str,
        paths: &[&str],
    ) -> bool {
        findings.retain(|f| self.is_enabled(f.rule_id));
        for f in findings.iter_mut() {
            if let Some(rule) = rules::find(f.rule_id) {
                f.level = self.level_of(rule);
            }
            f.suppression = in_template
                .filter(|t| t.rules.iter().any(|r| r.id == f.rule_id))
                .map(|t| Suppression {
                    source: SuppressionSource::Template,
                    justification: t.justification.clone(),
                })
                .or_else(|| self.suppression_for(f.rule_id, name, paths));
        }
        findings
            .iter()
            .any(|f| f.level == Level::Error && f.suppression.is_none())
    }
}

/// Reads `metadata.aks-authorized-ips` of a resource as written. Problems
/// (a missing justification, an unknown rule id, an unknown key) are errors
/// at their place; with any of them nothing is suppressed.
pub fn template_suppression(
    written: &Value,
    resource: Origin,
) -> (Option<TemplateSuppression>, Vec<EvalError>) {
    let Some(property) = written
        .get("metadata")
        .and_then(|m| m.property(METADATA_KEY))
    else {
        return (None, Vec::new());
    };
    let at = |v: &Value| v.origin.or(property.name_origin).unwrap_or(resource);
    let key_origin = property.name_origin.unwrap_or(resource);
    let mut errors = Vec::new();
    let mut error = |origin: Origin, message: String| {
        errors.push(EvalError {
            origin,
            message: format!("metadata.{METADATA_KEY}: {message}"),
        })
    };
    let Kind::Object(members) = &property.value.kind else {
        error(
            at(&property.value),
            "must be an object with `ignore` (rule ids) and `justification`".into(),
        );
        return (None, errors);
    };
    let mut suppression = TemplateSuppression::default();
    let mut has_ignore = false;
    let mut has_justification = false;
    for member in members {
        let name_at = member.name_origin.unwrap_or(key_origin);
        if member.name.eq_ignore_ascii_case("ignore") {
            has_ignore = true;
            let Some(items) = member.value.as_array() else {
                error(
                    at(&member.value),
                    "`ignore` must be a list of rule ids".into(),
                );
                continue;
            };
            for item in items {
                match item.as_str().and_then(find_rule) {
                    Some(rule) => suppression.rules.push(rule),
                    None => error(
                        at(item),
                        format!(
                            "`ignore` names an unknown rule id{}; the ids are listed in the README",
                            item.as_str().map(|s| format!(" `{s}`")).unwrap_or_default()
                        ),
                    ),
                }
            }
        } else if member.name.eq_ignore_ascii_case("justification") {
            has_justification = true;
            match member.value.as_str() {
                Some(text) if !text.trim().is_empty() => {
                    suppression.justification = text.to_string()
                }
                _ => error(
                    at(&member.value),
                    "`justification` must be a non-empty string saying why".into(),
                ),
            }
        } else {
            error(
                name_at,
                format!(
                    "unknown key `{}`; expected `ignore` and `justification`",
                    member.name
                ),
            );
        }
    }
    if !has_ignore {
        error(
            key_origin,
            "`ignore` (a list of rule ids) is missing".into(),
        );
    }
    if !has_justification {
        error(
            key_origin,
            "a suppression needs a `justification` saying why".into(),
        );
    }
    if errors.is_empty() {
        (Some(suppression), errors)
    } else {
        (None, errors)
    }
}

/// A rule by id, or the main rule by its PSRule reference; case-insensitive.
pub fn find_rule(id: &str) -> Option<&'static Rule> {
    rules::find(id).or_else(|| {
        AUTHORIZED_IPS
            .reference
            .filter(|r| r.eq_ignore_ascii_case(id))
            .map(|_| &AUTHORIZED_IPS)
    })
}

// ---- The file's shape. Unknown keys are errors everywhere. ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawConfig {
    #[serde(default)]
    rules: BTreeMap<RuleRef, RawRule>,
    #[serde(default, deserialize_with = "broad_prefix")]
    broad_prefix: Option<u8>,
    #[serde(default)]
    suppressions: Vec<RawSuppression>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawRule {
    enabled: Option<bool>,
    level: Option<Level>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    try_from = "RawSuppressionFields"
)]
struct RawSuppression {
    rule: Option<RuleRef>,
    cluster: Option<Glob>,
    path: Option<Glob>,
    justification: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSuppressionFields {
    rule: Option<RuleRef>,
    cluster: Option<Glob>,
    path: Option<Glob>,
    #[serde(deserialize_with = "justification")]
    justification: String,
}

impl TryFrom<RawSuppressionFields> for RawSuppression {
    type Error = String;

    fn try_from(s: RawSuppressionFields) -> Result<Self, String> {
        if s.cluster.is_none() && s.path.is_none() {
            return Err("a suppression needs `cluster` or `path` (or both)".into());
        }
        Ok(RawSuppression {
            rule: s.rule,
            cluster: s.cluster,
            path: s.path,
            justification: s.justification,
        })
    }
}

/// A rule id (or `AZR-000030`), checked while reading so an unknown id gets
/// the line and column.
#[derive(Debug, Clone, Copy)]
struct RuleRef(&'static Rule);

impl PartialEq for RuleRef {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id
    }
}
impl Eq for RuleRef {}
impl PartialOrd for RuleRef {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for RuleRef {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.id.cmp(other.0.id)
    }
}

impl<'de> Deserialize<'de> for RuleRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = String::deserialize(d)?;
        find_rule(&id).map(RuleRef).ok_or_else(|| {
            de::Error::custom(format!(
                "{UNKNOWN_RULE}{id}`; known: {}",
                rules::RULES
                    .iter()
                    .map(|r| r.id)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }
}

/// A glob, checked while reading.
struct Glob(Pattern);

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let text = text.strip_prefix("./").unwrap_or(&text);
        Pattern::new(text)
            .map(Glob)
            .map_err(|e| de::Error::custom(format!("{text:?} is not a valid glob pattern: {e}")))
    }
}

fn justification<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    if text.trim().is_empty() {
        return Err(de::Error::custom(
            "`justification` must say why the finding is accepted; it cannot be empty",
        ));
    }
    Ok(text)
}

fn broad_prefix<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
    let n = u64::deserialize(d)?;
    if !(1..=32).contains(&n) {
        return Err(de::Error::custom(format!(
            "`broadPrefix` must be a prefix length from 1 to 32, not {n}"
        )));
    }
    Ok(Some(n as u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse(text).expect_err("an error")
    }

    #[test]
    fn a_full_file_reads() {
        let c = parse(
            "rules:\n  Azure.AKS.AuthorizedIPs.Redundant:\n    enabled: false\n  \
             Azure.AKS.AuthorizedIPs.Broad:\n    level: error\nbroadPrefix: 12\n\
             suppressions:\n  - rule: AZR-000030\n    cluster: \"aks-legacy-*\"\n    \
             justification: legacy\n  - path: \"infra/**\"\n    justification: x\n",
        )
        .expect("valid");
        assert_eq!(c.broad_prefix, Some(12));
        assert!(!c.is_enabled("Azure.AKS.AuthorizedIPs.Redundant"));
        assert_eq!(c.level_of(&rules::BROAD), Level::Error);
        assert_eq!(
            c.suppressions[0].rule.map(|r| r.id),
            Some(AUTHORIZED_IPS.id)
        );
        assert!(c
            .suppression_for(AUTHORIZED_IPS.id, "AKS-Legacy-1", &["a.json"])
            .is_some());
        assert!(c
            .suppression_for(rules::BROAD.id, "x", &["infra/a/b.json"])
            .is_some());
        assert!(c
            .suppression_for(rules::BROAD.id, "x", &["b.json"])
            .is_none());
        assert!(parse("").expect("empty").suppressions.is_empty());
        assert!(parse("# only a comment\n")
            .expect("comment")
            .rules
            .is_empty());
    }

    #[test]
    fn errors_carry_line_and_column() {
        assert!(error("broadPrefix: 8\nrule:\n  x: 1\n").starts_with("2:1: unknown field `rule`"));
        let e = error("rules:\n  Azure.AKS.AuthorizedIPs:\n    enabled: false\n  Azure.AKS.Nope:\n    enabled: false\n");
        assert!(e.starts_with("4:3:"), "{e}");
        assert!(e.contains("unknown rule id `Azure.AKS.Nope`"), "{e}");
        // Our own checks are placed at the entry.
        let e = error("suppressions:\n  - cluster: a\n    justification: \"\"\n");
        assert!(e.starts_with("2:5:") && e.contains("justification"), "{e}");
        let e = error("suppressions:\n  - cluster: a\n");
        assert!(e.contains("missing field `justification`"), "{e}");
        assert!(e.starts_with("2:"), "{e}");
        let e = error("suppressions:\n  - rule: Azure.AKS.AuthorizedIPs\n    justification: j\n");
        assert!(e.contains("`cluster` or `path`"), "{e}");
        assert!(e.starts_with("2:"), "{e}");
        let e = error("broadPrefix: 40\n");
        assert!(e.starts_with("1:") && e.contains("1 to 32"), "{e}");
        let e = error("rules:\n  Azure.AKS.AuthorizedIPs:\n    level: fatal\n");
        assert!(
            e.starts_with("3:") && e.contains("unknown variant `fatal`"),
            "{e}"
        );
    }

    #[test]
    fn ps_rule_reads_both_shapes_and_ignores_the_rest() {
        let t = parse_ps_rule(
            "configuration:\n  AZURE_X: 1\ninput:\n  pathIgnore: ['*.md']\nsuppression:\n  \
             Azure.AKS.AuthorizedIPs:\n    - AKS-One\n  AZR-000030:\n    targetName:\n      - two\n  \
             Azure.Other:\n    if: {field: x}\n",
        )
        .expect("valid");
        assert_eq!(t, ["two", "aks-one"], "in key order");
        assert!(parse_ps_rule("").expect("empty").is_empty());
        assert!(parse_ps_rule("suppression:\n  AZR-000030: 3\n").is_err());
    }
}

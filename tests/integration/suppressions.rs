//! The configuration file, `ps-rule.yaml` and template metadata: rules off,
//! levels, the Broad threshold, and suppressions, through the real binary in
//! a temporary folder.

use std::path::Path;

use serde_json::Value;

use crate::sarif::schema_errors;
use crate::util::{run, run_json, template_with_ranges, write};

const MAIN: &str = "Azure.AKS.AuthorizedIPs";
const BROAD: &str = "Azure.AKS.AuthorizedIPs.Broad";
const REDUNDANT: &str = "Azure.AKS.AuthorizedIPs.Redundant";

/// A folder with `infra/open.json` (cluster `aks-open`, no ranges: one
/// error) and `infra/legacy/broad.json` (cluster `aks-legacy-1`: a Broad
/// warning for 10.0.0.0/7 and a Redundant note for the repeated 20.0.0.0/8).
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    write(
        dir.path(),
        "infra/open.json",
        template_with_ranges("aks-open", "[]"),
    );
    write(
        dir.path(),
        "infra/legacy/broad.json",
        template_with_ranges(
            "aks-legacy-1",
            r#"["10.0.0.0/7", "20.0.0.0/8", "20.0.0.0/8"]"#,
        ),
    );
    dir
}

fn config(dir: &Path, yaml: &str) {
    write(dir, ".aks-authorized-ips.yaml", yaml);
}

/// (rule id, level, suppression source or null) of every finding, in order.
fn findings(json: &Value) -> Vec<(String, String, Value)> {
    json["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .flat_map(|r| r["findings"].as_array().expect("findings").iter())
        .map(|f| {
            (
                f["ruleId"].as_str().expect("ruleId").to_string(),
                f["level"].as_str().expect("level").to_string(),
                f["suppressed"]["source"].clone(),
            )
        })
        .collect()
}

fn outcome_of(json: &Value, name: &str) -> String {
    json["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no cluster {name}"))["outcome"]
        .as_str()
        .expect("outcome")
        .to_string()
}

fn has_rule(json: &Value, rule: &str) -> bool {
    findings(json).iter().any(|(r, _, _)| r == rule)
}

#[test]
fn without_configuration_the_repo_fails_on_the_open_cluster() {
    let dir = repo();
    let (code, json) = run_json(dir.path(), &["scan"]);
    assert_eq!(code, 1);
    assert_eq!(outcome_of(&json, "aks-open"), "fail");
    assert_eq!(outcome_of(&json, "aks-legacy-1"), "pass");
    assert!(has_rule(&json, BROAD) && has_rule(&json, REDUNDANT));
    assert_eq!(json["suppressedFindings"], 0);
    assert!(findings(&json).iter().all(|(_, _, s)| s.is_null()));
}

#[test]
fn a_rule_turned_off_gives_no_finding() {
    let dir = repo();
    config(
        dir.path(),
        "rules:\n  Azure.AKS.AuthorizedIPs.Redundant:\n    enabled: false\n",
    );
    let (code, json) = run_json(dir.path(), &["scan"]);
    assert_eq!(code, 1);
    assert!(!has_rule(&json, REDUNDANT));
    assert!(has_rule(&json, BROAD));

    // The main rule off: nothing fails any more.
    config(dir.path(), "rules:\n  AZR-000030:\n    enabled: false\n");
    let (code, json) = run_json(dir.path(), &["scan"]);
    assert_eq!(code, 0, "{json:#}");
    assert!(!has_rule(&json, MAIN));
    assert_eq!(outcome_of(&json, "aks-open"), "pass");
}

#[test]
fn a_level_override_changes_the_finding_and_the_outcome() {
    let dir = repo();
    config(
        dir.path(),
        "rules:\n  Azure.AKS.AuthorizedIPs.Broad:\n    level: error\n  \
         Azure.AKS.AuthorizedIPs:\n    level: warning\n",
    );
    let (code, json) = run_json(dir.path(), &["scan"]);
    assert_eq!(code, 1, "Broad is now an error");
    assert_eq!(outcome_of(&json, "aks-legacy-1"), "fail");
    assert_eq!(
        outcome_of(&json, "aks-open"),
        "pass",
        "a warning does not fail"
    );
    let levels: Vec<(String, String)> = findings(&json)
        .into_iter()
        .map(|(r, l, _)| (r, l))
        .collect();
    assert!(
        levels.contains(&(MAIN.into(), "warning".into())),
        "{levels:?}"
    );
    assert!(
        levels.contains(&(BROAD.into(), "error".into())),
        "{levels:?}"
    );
    // --fail-on warning still sees the lowered finding.
    let (code, _) = run_json(dir.path(), &["scan", "--fail-on", "warning"]);
    assert_eq!(code, 1);
}

#[test]
fn a_suppression_by_cluster_glob_keeps_the_finding_visible_and_passes() {
    let dir = repo();
    config(
        dir.path(),
        "suppressions:\n  - rule: Azure.AKS.AuthorizedIPs\n    cluster: \"AKS-OP*\"\n    \
         justification: \"reached only through the bastion\"\n",
    );
    let (code, json) = run_json(dir.path(), &["scan"]);
    assert_eq!(code, 0, "only a suppressed error remains: {json:#}");
    assert_eq!(outcome_of(&json, "aks-open"), "pass");
    assert_eq!(json["suppressedFindings"], 1);
    let open = json["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["name"] == "aks-open")
        .expect("aks-open");
    let finding = &open["findings"][0];
    assert_eq!(finding["ruleId"], MAIN);
    assert_eq!(finding["level"], "error", "the level is kept");
    assert_eq!(
        finding["suppressed"],
        serde_json::json!({"source": "config", "justification": "reached only through the bastion"})
    );
    // The other cluster's findings are not suppressed (another name).
    assert!(findings(&json)
        .iter()
        .filter(|(r, _, _)| r != MAIN)
        .all(|(_, _, s)| s.is_null()));

    let (code, text, _) = run(dir.path(), &["scan"]);
    assert_eq!(code, 0);
    assert!(
        text.contains("error[Azure.AKS.AuthorizedIPs] (suppressed):"),
        "{text}"
    );
    assert!(
        text.contains("= suppressed in the configuration: reached only through the bastion"),
        "{text}"
    );
    assert!(
        text.contains("Findings: 0 errors, 1 warning, 1 note, 1 suppressed."),
        "{text}"
    );
}

#[test]
fn a_suppression_by_path_glob_matches_like_include() {
    let dir = repo();
    config(
        dir.path(),
        "suppressions:\n  - path: \"infra/legacy/**\"\n    justification: legacy, being replaced\n",
    );
    let (code, json) = run_json(dir.path(), &["scan"]);
    assert_eq!(code, 1, "the open cluster is elsewhere");
    for (rule, _, source) in findings(&json) {
        if rule == MAIN {
            assert!(source.is_null());
        } else {
            assert_eq!(source, "config", "{rule}");
        }
    }
    assert_eq!(json["suppressedFindings"], 2);

    // `*` stays in one folder: `infra/*` does not reach infra/legacy/.
    config(
        dir.path(),
        "suppressions:\n  - path: \"infra/*\"\n    justification: j\n",
    );
    let (_, json) = run_json(dir.path(), &["scan"]);
    assert_eq!(json["suppressedFindings"], 1, "only infra/open.json");
    // A pattern without `/` matches the file name, in any folder.
    config(
        dir.path(),
        "suppressions:\n  - path: \"broad.json\"\n    rule: Azure.AKS.AuthorizedIPs.Broad\n    justification: j\n",
    );
    let (_, json) = run_json(dir.path(), &["scan"]);
    assert_eq!(json["suppressedFindings"], 1);
    assert!(findings(&json)
        .iter()
        .all(|(r, _, s)| (r == BROAD) != s.is_null()));
}

#[test]
fn the_configuration_is_read_from_the_first_path_when_it_is_a_folder() {
    let dir = repo();
    write(
        dir.path(),
        "infra/.aks-authorized-ips.yml",
        "suppressions:\n  - cluster: aks-open\n    justification: j\n",
    );
    // From the repo root, `scan infra` reads infra/.aks-authorized-ips.yml.
    let (code, json) = run_json(dir.path(), &["scan", "infra"]);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["suppressedFindings"], 1);
    // `scan` alone reads the current folder, which has none.
    let (code, _) = run_json(dir.path(), &["scan"]);
    assert_eq!(code, 1);
}

#[test]
fn a_configuration_error_names_the_file_line_and_column() {
    let dir = repo();
    let expect_error = |yaml: &str, wanted: &[&str]| {
        config(dir.path(), yaml);
        let (code, stdout, stderr) = run(dir.path(), &["scan"]);
        assert_eq!(code, 2, "{yaml}: {stdout}{stderr}");
        assert!(stdout.is_empty(), "nothing is scanned: {stdout}");
        for w in wanted {
            assert!(stderr.contains(w), "{yaml}: wanted {w:?} in {stderr}");
        }
    };
    expect_error(
        "rules:\n  Azure.AKS.AuthorizedIPs.Broad:\n    level: error\n    enable: false\n",
        &[".aks-authorized-ips.yaml:4:", "unknown field `enable`"],
    );
    expect_error(
        "broadPrefix: 12\nsupressions: []\n",
        &[
            ".aks-authorized-ips.yaml:2:1:",
            "unknown field `supressions`",
        ],
    );
    expect_error(
        "rules:\n  Azure.AKS.AuthorizedIPs:\n    enabled: true\n  Azure.AKS.AuthorizedIPs.Wide:\n    enabled: false\n",
        &[
            ".aks-authorized-ips.yaml:4:3:",
            "unknown rule id `Azure.AKS.AuthorizedIPs.Wide`",
        ],
    );
    expect_error(
        "suppressions:\n  - cluster: x\n    rule: Nope\n    justification: j\n",
        &[".aks-authorized-ips.yaml:3:11:", "unknown rule id `Nope`"],
    );
    expect_error(
        "suppressions:\n  - cluster: aks-open\n",
        &[
            ".aks-authorized-ips.yaml:2:",
            "missing field `justification`",
        ],
    );
    expect_error(
        "suppressions:\n  - cluster: aks-open\n    justification: \"  \"\n",
        &[".aks-authorized-ips.yaml:2:5:", "cannot be empty"],
    );
    expect_error(
        "suppressions:\n  - rule: AZR-000030\n    justification: j\n",
        &[".aks-authorized-ips.yaml:2:", "`cluster` or `path`"],
    );
    expect_error(
        "broadPrefix: 0\n",
        &[".aks-authorized-ips.yaml:1:", "1 to 32"],
    );
    expect_error("rules: [\n", &[".aks-authorized-ips.yaml:"]);
}

#[test]
fn an_explicit_config_is_used_and_a_missing_one_is_an_error() {
    let dir = repo();
    // The root's file would fail the run: --config replaces it.
    config(dir.path(), "not: valid\n");
    write(
        dir.path(),
        "ci/aks.yaml",
        "suppressions:\n  - cluster: aks-open\n    justification: j\n",
    );
    let (code, json) = run_json(dir.path(), &["scan", "--config", "ci/aks.yaml"]);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["suppressedFindings"], 1);

    let (code, stdout, stderr) = run(dir.path(), &["scan", "--config", "ci/missing.yaml"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("--config ci/missing.yaml: no such file"),
        "{stderr}"
    );
}

#[test]
fn broad_prefix_comes_from_the_config_and_the_flag_wins() {
    let dir = repo();
    let broad = |args: &[&str]| -> usize {
        let (_, json) = run_json(dir.path(), args);
        findings(&json)
            .iter()
            .filter(|(r, _, _)| r == BROAD)
            .count()
    };
    assert_eq!(broad(&["scan"]), 1, "/7 is wider than the default /8");
    config(dir.path(), "broadPrefix: 12\n");
    assert_eq!(broad(&["scan"]), 3, "/7 and both /8 are wider than /12");
    assert_eq!(broad(&["scan", "--broad-prefix", "7"]), 0, "the flag wins");
    assert_eq!(broad(&["scan", "--broad-prefix", "8"]), 1);
}

#[test]
fn ps_rule_yaml_suppresses_the_main_rule_by_target_name() {
    for (file, yaml) in [
        (
            "ps-rule.yaml",
            "configuration:\n  AZURE_AKS_CLUSTER_MINIMUM_VERSION: 1.30.0\nsuppression:\n  \
             Azure.AKS.AuthorizedIPs:\n    - AKS-Open\n  Azure.AKS.Version:\n    - x\n",
        ),
        (
            "ps-rule.yml",
            "suppression:\n  Azure.AKS.AuthorizedIPs:\n    targetName:\n      - aks-open\n",
        ),
        ("ps-rule.yaml", "suppression:\n  AZR-000030:\n    - aks-open\n"),
        (
            "ps-rule.yaml",
            "input:\n  pathIgnore: ['*.md']\nsuppression:\n  AZR-000030:\n    targetName: [aks-open, aks-legacy-1]\n",
        ),
    ] {
        let dir = repo();
        write(dir.path(), file, yaml);
        let (code, json) = run_json(dir.path(), &["scan"]);
        assert_eq!(code, 0, "{yaml}: {json:#}");
        assert_eq!(outcome_of(&json, "aks-open"), "pass");
        let main: Vec<_> = findings(&json)
            .into_iter()
            .filter(|(r, _, _)| r == MAIN)
            .collect();
        assert_eq!(main.len(), 1);
        assert_eq!(main[0].2, "ps-rule", "{yaml}");
        // PSRule has no range checks: its suppression does not cover ours.
        assert!(findings(&json)
            .iter()
            .filter(|(r, _, _)| r != MAIN)
            .all(|(_, _, s)| s.is_null()));
        let open = &json["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["name"] == "aks-open")
            .expect("aks-open")["findings"][0];
        assert_eq!(open["suppressed"]["justification"], "suppressed in ps-rule.yaml");
    }
}

#[test]
fn ps_rule_yaml_with_an_unreadable_suppression_is_an_error() {
    let dir = repo();
    write(
        dir.path(),
        "ps-rule.yaml",
        "suppression:\n  AZR-000030: 12\n",
    );
    let (code, _, stderr) = run(dir.path(), &["scan"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("ps-rule.yaml:"), "{stderr}");
    assert!(stderr.contains("suppression.AZR-000030"), "{stderr}");
}

/// A template whose cluster carries `metadata` (JSON text).
fn template_with_metadata(metadata: &str) -> String {
    template_with_ranges("aks-meta", r#"["0.0.0.0/0"]"#).replace(
        r#""location": "westeurope","#,
        &format!("\"location\": \"westeurope\",\n      \"metadata\": {metadata},"),
    )
}

#[test]
fn template_metadata_suppresses_the_rules_it_names() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    write(
        dir.path(),
        "aks.json",
        template_with_metadata(
            r#"{"aks-authorized-ips": {"ignore": ["Azure.AKS.AuthorizedIPs.Unrestricted"], "justification": "a lab cluster, deleted nightly"}}"#,
        ),
    );
    let (code, json) = run_json(dir.path(), &["scan"]);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(outcome_of(&json, "aks-meta"), "pass");
    let f = &json["resources"][0]["findings"][0];
    assert_eq!(f["ruleId"], "Azure.AKS.AuthorizedIPs.Unrestricted");
    assert_eq!(f["suppressed"]["source"], "template");
    assert_eq!(
        f["suppressed"]["justification"],
        "a lab cluster, deleted nightly"
    );

    // A rule it does not name is not suppressed.
    write(
        dir.path(),
        "aks.json",
        template_with_metadata(
            r#"{"aks-authorized-ips": {"ignore": ["Azure.AKS.AuthorizedIPs.Broad"], "justification": "j"}}"#,
        ),
    );
    let (code, json) = run_json(dir.path(), &["scan"]);
    assert_eq!(code, 1);
    assert!(json["resources"][0]["findings"][0]["suppressed"].is_null());
}

#[test]
fn template_metadata_without_justification_is_an_error_at_its_place() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    write(
        dir.path(),
        "aks.json",
        template_with_metadata(
            r#"{"aks-authorized-ips": {"ignore": ["Azure.AKS.AuthorizedIPs.Unrestricted"]}}"#,
        ),
    );
    let (code, json) = run_json(dir.path(), &["scan"]);
    assert_eq!(code, 2, "{json:#}");
    let error = &json["errors"][0];
    assert_eq!(error["file"], "aks.json");
    assert_eq!(error["line"], 10, "the metadata line: {error:#}");
    assert_eq!(error["column"], 20, "{error:#}");
    assert!(error["message"]
        .as_str()
        .is_some_and(|m| m.contains("justification")));
    // Nothing is suppressed by a broken entry.
    assert!(json["resources"][0]["findings"][0]["suppressed"].is_null());

    write(
        dir.path(),
        "aks.json",
        template_with_metadata(
            r#"{"aks-authorized-ips": {"ignore": ["Azure.AKS.Nope"], "justification": "j"}}"#,
        ),
    );
    let (code, json) = run_json(dir.path(), &["scan"]);
    assert_eq!(code, 2);
    assert!(json["errors"][0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("`Azure.AKS.Nope`")));
}

#[test]
fn suppressed_findings_are_sarif_suppressions_and_the_log_stays_valid() {
    let dir = repo();
    config(
        dir.path(),
        "suppressions:\n  - cluster: aks-open\n    justification: behind a firewall\n",
    );
    write(
        dir.path(),
        "meta/aks.json",
        template_with_metadata(
            r#"{"aks-authorized-ips": {"ignore": ["Azure.AKS.AuthorizedIPs.Unrestricted"], "justification": "lab"}}"#,
        ),
    );
    let (code, stdout, stderr) = run(dir.path(), &["scan", "--format", "sarif"]);
    assert_eq!(code, 0, "{stderr}");
    let sarif: Value = serde_json::from_str(&stdout).expect("SARIF is JSON");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let suppressions: Vec<(&str, &Value)> = results
        .iter()
        .filter_map(|r| Some((r["ruleId"].as_str()?, r.get("suppressions")?)))
        .collect();
    assert_eq!(
        suppressions,
        [
            (
                MAIN,
                &serde_json::json!([{"kind": "external", "status": "accepted", "justification": "behind a firewall"}])
            ),
            (
                "Azure.AKS.AuthorizedIPs.Unrestricted",
                &serde_json::json!([{"kind": "inSource", "status": "accepted", "justification": "lab"}])
            ),
        ]
    );
    if let Some(errors) = schema_errors(&sarif) {
        assert!(
            errors.is_empty(),
            "SARIF is not valid:\n{}",
            errors.join("\n")
        );
    }
}

//! The template expansion engine, one construct at a time, on the small
//! templates in `tests/fixtures/engine/`: parameters (parameter files,
//! defaults, `nullable`, Key Vault references, wrong types), variables
//! (including variable `copy`), functions in the ranges, resource and
//! property `copy`, `condition`, nested deployments in both scopes,
//! languageVersion 2.0, child resources, one finding per template location,
//! and the limits that keep hostile templates from crashing the scan.

use aks_authorized_ips::findings::{FindingReport, Outcome, Report, ResourceReport};
use aks_authorized_ips::report::sarif;
use proptest::prelude::*;

use crate::scan::{assert_findings, assert_outcome};
use crate::util::{
    fixtures, judge_fixture, run, run_json, scan_fixtures, scan_in, source_at, write,
};

const AUTHORIZED_IPS: &str = "Azure.AKS.AuthorizedIPs";
const INVALID_RANGE: &str = "Azure.AKS.AuthorizedIPs.InvalidRange";
const UNRESTRICTED: &str = "Azure.AKS.AuthorizedIPs.Unrestricted";
const NODE_PUBLIC_IP: &str = "Azure.AKS.AuthorizedIPs.NodePublicIP";

/// The one evaluation of the cluster called `name`.
fn cluster<'r>(report: &'r Report, name: &str) -> &'r ResourceReport {
    let found: Vec<&ResourceReport> = report.resources.iter().filter(|r| r.name == name).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one evaluation of {name}, got {:#?}",
        report.resources
    );
    found[0]
}

/// The evaluated names, in order.
fn names(report: &Report) -> Vec<&str> {
    report.resources.iter().map(|r| r.name.as_str()).collect()
}

fn assert_no_errors(report: &Report) {
    assert!(
        report.errors.is_empty(),
        "unexpected errors {:#?}",
        report.errors
    );
}

fn reason(r: &ResourceReport) -> &str {
    r.reason
        .as_deref()
        .expect("an unknown outcome has a reason")
}

/// Asserts that `finding` has a related location at `file:line:column`
/// (relative to `tests/fixtures`), where the text starts with `token`.
fn assert_related(finding: &FindingReport, file: &str, line: u32, column: u32, token: &str) {
    let found = finding.related.iter().find(|r| {
        r.region.file == file && r.region.start_line == line && r.region.start_column == column
    });
    let Some(related) = found else {
        panic!(
            "no related location at {file}:{line}:{column}; related: {:#?}",
            finding.related
        );
    };
    let at = source_at(&fixtures().join(file), line, column);
    assert!(
        at.starts_with(token),
        "the related location {file}:{line}:{column} should point at {token:?}, but the text there is {at:?}"
    );
    assert!(
        related.message.contains("authorizedIPRanges"),
        "the related message names the cluster's property: {}",
        related.message
    );
}

/// Asserts that an error is reported at `file:line:column` with `words` in
/// its message.
fn assert_error_at(report: &Report, file: &str, line: u32, column: u32, words: &str) {
    assert!(
        report.errors.iter().any(|e| e.file == file
            && e.line == line
            && e.column == column
            && e.message.contains(words)),
        "expected an error at {file}:{line}:{column} saying {words:?}; errors: {:#?}",
        report.errors
    );
}

// --- parameters ------------------------------------------------------------

#[test]
fn a_parameter_file_value_wins_over_the_default_and_the_finding_points_at_it() {
    let report = scan_fixtures(&["engine/params/file-wins"]);
    assert_no_errors(&report);
    assert_eq!(report.resources.len(), 1);
    let r = &report.resources[0];
    assert_eq!(
        r.parameter_file.as_deref(),
        Some("engine/params/file-wins/main.parameters.json")
    );
    // The default is a good range; the parameter file's `[]` is what counts.
    assert_outcome(r, Outcome::Fail);
    assert_findings(r, &[(AUTHORIZED_IPS, 5, 26, "[]")]);
    let finding = &r.findings[0];
    assert_eq!(
        finding.region.file,
        "engine/params/file-wins/main.parameters.json"
    );
    assert_related(
        finding,
        "engine/params/file-wins/main.json",
        15,
        33,
        "\"[parameters('ranges')]\"",
    );
}

#[test]
fn the_default_value_is_used_when_the_template_is_judged_alone() {
    let r = judge_fixture("engine/params/file-wins/main.json");
    assert_eq!(r.parameter_file, None);
    assert_outcome(&r, Outcome::Pass);
    assert_findings(&r, &[]);
}

#[test]
fn a_default_value_can_be_an_expression_over_other_parameters() {
    let report = scan_fixtures(&["engine/params/default-expression.json"]);
    assert_no_errors(&report);
    assert_eq!(
        names(&report),
        ["aks-default-expression", "aks-default-alias"]
    );
    // union(office, ['198.51.100.0/24']): two good ranges.
    let r = cluster(&report, "aks-default-expression");
    assert_outcome(r, Outcome::Pass);
    assert_findings(r, &[]);
    // alias = parameters('nothing') = []: the finding points at the `[]`
    // the value came from, and back at the cluster's property.
    let r = cluster(&report, "aks-default-alias");
    assert_outcome(r, Outcome::Fail);
    assert_findings(r, &[(AUTHORIZED_IPS, 7, 51, "[]")]);
    assert_related(
        &r.findings[0],
        "engine/params/default-expression.json",
        29,
        33,
        "\"[parameters('alias')]\"",
    );
}

#[test]
fn a_nullable_parameter_without_a_value_is_null_and_fails() {
    let r = judge_fixture("engine/params/nullable.json");
    assert_outcome(&r, Outcome::Fail);
    assert_findings(
        &r,
        &[(AUTHORIZED_IPS, 16, 33, "\"[parameters('ranges')]\"")],
    );
    assert!(
        r.findings[0].message.contains("is null"),
        "{:?}",
        r.findings[0].message
    );
}

#[test]
fn a_parameter_without_value_or_default_is_unknown_and_says_how_to_supply_it() {
    let r = judge_fixture("engine/params/no-value.json");
    assert_outcome(&r, Outcome::Unknown);
    assert_findings(&r, &[]);
    let reason = reason(&r);
    assert!(reason.contains("`allowedRanges`"), "{reason}");
    assert!(reason.contains("parameter file"), "{reason}");
    assert!(reason.contains("defaultValue"), "{reason}");
}

#[test]
fn a_parameter_file_value_of_the_wrong_type_is_an_error_at_the_entry() {
    let report = scan_fixtures(&["engine/params/wrong-type"]);
    assert_eq!(report.errors.len(), 1, "{:#?}", report.errors);
    assert_error_at(
        &report,
        "engine/params/wrong-type/main.parameters.json",
        5,
        26,
        "parameter `ranges` is declared `array`",
    );
    let e = &report.errors[0];
    let at = source_at(&fixtures().join(&e.file), e.line, e.column);
    assert!(at.starts_with("\"203.0.113.0/24\""), "{at}");
    assert_eq!(report.resources.len(), 1);
    let r = &report.resources[0];
    assert_ne!(r.outcome, Outcome::Pass, "{r:#?}");
    assert_outcome(r, Outcome::Fail);
    assert_findings(r, &[(INVALID_RANGE, 5, 26, "\"203.0.113.0/24\"")]);
}

#[test]
fn a_key_vault_reference_in_the_parameter_file_is_unknown() {
    let report = scan_fixtures(&["engine/params/key-vault"]);
    assert_no_errors(&report);
    let r = cluster(&report, "aks-key-vault");
    // The template default `[]` would fail; the reference replaces it.
    assert_outcome(r, Outcome::Unknown);
    assert_findings(r, &[]);
    let reason = reason(r);
    assert!(reason.contains("`ranges`"), "{reason}");
    assert!(reason.contains("Key Vault"), "{reason}");
}

// --- variables -------------------------------------------------------------

#[test]
fn ranges_from_a_variable_point_at_the_variable() {
    let r = judge_fixture("engine/variables/from-variable.json");
    assert_outcome(&r, Outcome::Fail);
    assert_findings(&r, &[(UNRESTRICTED, 5, 20, "\"0.0.0.0/0\"")]);
    assert_related(
        &r.findings[0],
        "engine/variables/from-variable.json",
        15,
        33,
        "\"[variables('openRanges')]\"",
    );
}

#[test]
fn a_variable_built_from_other_variables_and_a_parameter() {
    // office + ['192.0.2.0/24'] (concat), union the parameter's default:
    // three ranges, and the name counts them.
    let r = judge_fixture("engine/variables/composed.json");
    assert_eq!(r.name, "aks-3");
    assert_outcome(&r, Outcome::Pass);
    assert_findings(&r, &[]);
}

#[test]
fn a_variable_copy_makes_the_ranges_with_copy_index_by_name() {
    let r = judge_fixture("engine/variables/copy.json");
    assert_eq!(
        r.name,
        "aks-203.0.113.10/32+203.0.113.20/32+203.0.113.30/32"
    );
    assert_outcome(&r, Outcome::Pass);
    assert_findings(&r, &[]);
}

#[test]
fn a_variable_that_refers_to_itself_is_an_error_not_a_crash() {
    let report = scan_fixtures(&["engine/variables/self-reference.json"]);
    assert_error_at(
        &report,
        "engine/variables/self-reference.json",
        5,
        22,
        "variable `loop` refers to itself",
    );
    let r = cluster(&report, "aks-self-reference");
    assert_outcome(r, Outcome::Unknown);
    assert!(reason(r).contains("refers to itself"), "{}", reason(r));
}

// --- functions in the ranges -----------------------------------------------

#[test]
fn functions_in_the_ranges_are_evaluated() {
    let report = scan_fixtures(&["engine/functions/functions.json"]);
    assert_no_errors(&report);
    assert_eq!(
        names(&report),
        [
            "aks-if",
            "aks-union",
            "aks-coalesce",
            "aks-tryget",
            "aks-tryget-missing",
            "aks-concat",
            "aks-split",
            "aks-reference"
        ]
    );
    // if(false, ..., ['0.0.0.0/0']) takes the else branch.
    let r = cluster(&report, "aks-if");
    assert_outcome(r, Outcome::Fail);
    assert_findings(r, &[(UNRESTRICTED, 18, 33, "\"[if(parameters('strict')")]);
    // union(createObject(...), createObject(...)).b, coalesce over a null
    // nullable parameter, tryGet of a nested default, concat of two arrays,
    // split of a comma-separated string: all good ranges.
    for name in [
        "aks-union",
        "aks-coalesce",
        "aks-tryget",
        "aks-concat",
        "aks-split",
    ] {
        let r = cluster(&report, name);
        assert_outcome(r, Outcome::Pass);
        assert_findings(r, &[]);
    }
    // tryGet of a missing key is null; coalesce falls back to [].
    let r = cluster(&report, "aks-tryget-missing");
    assert_outcome(r, Outcome::Fail);
    assert_findings(r, &[(AUTHORIZED_IPS, 66, 33, "\"[coalesce(tryGet(")]);
    assert!(r.findings[0].message.contains("is empty"));
}

#[test]
fn reference_in_the_ranges_is_unknown_and_the_reason_names_it() {
    let report = scan_fixtures(&["engine/functions/functions.json"]);
    let r = cluster(&report, "aks-reference");
    assert_outcome(r, Outcome::Unknown);
    assert_findings(r, &[]);
    assert!(reason(r).contains("reference"), "{}", reason(r));
}

// --- resource copy -----------------------------------------------------------

#[test]
fn a_cluster_in_a_copy_loop_of_three_is_three_evaluations() {
    let report = scan_fixtures(&["engine/copy/count-3.json"]);
    assert_no_errors(&report);
    assert_eq!(names(&report), ["aks-0", "aks-1", "aks-2"]);
    for r in &report.resources {
        assert_outcome(r, Outcome::Pass);
        assert_eq!(r.line, 6, "every copy is at the one declaration");
    }
}

#[test]
fn a_copy_loop_of_zero_deploys_nothing() {
    let report = scan_fixtures(&["engine/copy/count-0.json"]);
    assert_no_errors(&report);
    assert!(report.resources.is_empty(), "{:#?}", report.resources);
    assert_eq!(report.stats.templates, 1);
}

#[test]
fn a_copy_count_without_a_value_is_unknown_and_names_the_parameter() {
    let report = scan_fixtures(&["engine/copy/count-unknown.json"]);
    assert_no_errors(&report);
    assert_eq!(report.resources.len(), 1);
    let r = &report.resources[0];
    assert_outcome(r, Outcome::Unknown);
    // The name cannot be evaluated: the expression text stands for it.
    assert_eq!(r.name, "[concat('aks-', copyIndex())]");
    assert!(reason(r).contains("`clusterCount`"), "{}", reason(r));
    assert!(reason(r).contains("copies"), "{}", reason(r));
}

#[test]
fn a_copy_count_over_800_is_an_error_at_the_count() {
    let report = scan_fixtures(&["engine/copy/count-801.json"]);
    assert_eq!(report.errors.len(), 1, "{:#?}", report.errors);
    assert_error_at(&report, "engine/copy/count-801.json", 11, 46, "800");
    let e = &report.errors[0];
    assert!(e.message.contains("801"), "{}", e.message);
    assert!(
        source_at(&fixtures().join(&e.file), e.line, e.column).starts_with("801"),
        "the error points at the count"
    );
    assert!(
        report.resources.iter().all(|r| r.outcome != Outcome::Pass),
        "{:#?}",
        report.resources
    );
}

#[test]
fn named_loops_are_told_apart_by_copy_index_with_a_name() {
    let report = scan_fixtures(&["engine/copy/named-loops.json"]);
    assert_no_errors(&report);
    // copyIndex('regionLoop', 1) counts from 1; the property copy inside
    // still sees the resource loop's index by name.
    assert_eq!(names(&report), ["aks-westeurope-1", "aks-northeurope-2"]);
    for r in &report.resources {
        assert_outcome(r, Outcome::Pass);
        assert_findings(r, &[]);
    }
}

// --- property copy -----------------------------------------------------------

#[test]
fn a_property_copy_makes_the_ranges() {
    let report = scan_fixtures(&["engine/copy/property-copy.json"]);
    assert_no_errors(&report);
    // Three entries from a count parameter; the third is 0.0.0.0/0.
    let r = cluster(&report, "aks-property-copy");
    assert_outcome(r, Outcome::Fail);
    assert_findings(r, &[(UNRESTRICTED, 26, 24, "\"[if(equals(copyIndex(")]);
}

#[test]
fn a_property_copy_makes_the_agent_pools() {
    let report = scan_fixtures(&["engine/copy/property-copy.json"]);
    // pool1 of three has enableNodePublicIP = true.
    let r = cluster(&report, "aks-pool-copy");
    assert_outcome(r, Outcome::Pass);
    assert_findings(r, &[(NODE_PUBLIC_IP, 45, 37, "\"[equals(copyIndex(")]);
}

// --- condition ---------------------------------------------------------------

#[test]
fn conditions_decide_which_clusters_are_judged() {
    let report = scan_fixtures(&["engine/conditions/conditions.json"]);
    assert_no_errors(&report);
    // aks-literal-false: `false`; aks-prod-only: environment is 'dev'.
    assert_eq!(
        names(&report),
        ["aks-non-prod", "aks-literal-true", "aks-maybe"]
    );
    let r = cluster(&report, "aks-non-prod");
    assert_outcome(r, Outcome::Fail);
    assert_findings(r, &[(AUTHORIZED_IPS, 31, 73, "[]")]);
    let r = cluster(&report, "aks-literal-true");
    assert_outcome(r, Outcome::Pass);
    // The ranges are `[]`, but whether it is deployed decides first.
    let r = cluster(&report, "aks-maybe");
    assert_outcome(r, Outcome::Unknown);
    assert_findings(r, &[]);
    assert!(reason(r).contains("condition"), "{}", reason(r));
    assert!(reason(r).contains("`deployAks`"), "{}", reason(r));
}

// --- nested deployments --------------------------------------------------------

#[test]
fn an_outer_scope_nested_deployment_uses_the_parents_parameters_and_variables() {
    let r = judge_fixture("engine/nested/outer-scope.json");
    assert_eq!(r.name, "aks-outer", "the parent's variable");
    assert_outcome(&r, Outcome::Fail);
    // The parent's default `[]`, and back at the nested cluster's property.
    assert_findings(&r, &[(AUTHORIZED_IPS, 5, 50, "[]")]);
    assert_related(
        &r.findings[0],
        "engine/nested/outer-scope.json",
        28,
        41,
        "\"[parameters('ranges')]\"",
    );
}

#[test]
fn an_inner_scope_nested_deployment_uses_what_is_passed_and_its_own_defaults() {
    let report = scan_fixtures(&["engine/nested/inner-scope.json"]);
    assert_no_errors(&report);
    assert_eq!(names(&report), ["aks-passed", "aks-own-default"]);
    // `passed` is the parent's `office`.
    let r = cluster(&report, "aks-passed");
    assert_outcome(r, Outcome::Pass);
    // The nested template's own `ranges` default, not the parent's
    // 0.0.0.0/0 of the same name.
    let r = cluster(&report, "aks-own-default");
    assert_outcome(r, Outcome::Pass);
    assert_findings(r, &[]);
}

#[test]
fn ranges_are_passed_down_three_inner_deployments() {
    let r = judge_fixture("engine/nested/three-levels.json");
    assert_eq!(r.name, "aks-level-3");
    assert_outcome(&r, Outcome::Fail);
    // 0.0.0.0/0 in the root default, three levels up.
    assert_findings(&r, &[(UNRESTRICTED, 9, 9, "\"0.0.0.0/0\"")]);
    assert_related(
        &r.findings[0],
        "engine/nested/three-levels.json",
        108,
        57,
        "\"[parameters('ranges')]\"",
    );
}

#[test]
fn a_nested_deployment_in_a_copy_loop_gets_copy_index_as_a_parameter() {
    let report = scan_fixtures(&["engine/nested/copy-loop.json"]);
    assert_no_errors(&report);
    assert_eq!(names(&report), ["aks-0", "aks-1"]);
    assert_outcome(cluster(&report, "aks-0"), Outcome::Pass);
    let r = cluster(&report, "aks-1");
    assert_outcome(r, Outcome::Fail);
    assert_findings(
        r,
        &[(AUTHORIZED_IPS, 30, 41, "\"[if(equals(parameters('index')")],
    );
}

#[test]
fn a_linked_template_is_a_notice_not_an_error() {
    let report = scan_fixtures(&["engine/nested/template-link"]);
    assert_no_errors(&report);
    assert_eq!(report.notices.len(), 1, "{:#?}", report.notices);
    let n = &report.notices[0];
    assert_eq!(n.file, "engine/nested/template-link/main.json");
    assert_eq!((n.line, n.column), (11, 25));
    assert!(n.message.contains("templateLink"), "{}", n.message);
    assert!(
        source_at(&fixtures().join(&n.file), n.line, n.column).starts_with('{'),
        "points at the templateLink object"
    );
    assert_outcome(cluster(&report, "aks-beside-link"), Outcome::Pass);

    // The binary: exit code 0 (everything else passes), the notice in JSON.
    let (code, json) = run_json(&fixtures(), &["scan", "engine/nested/template-link"]);
    assert_eq!(code, 0, "{json:#}");
    let notices = json["notices"].as_array().expect("notices is an array");
    assert_eq!(notices.len(), 1, "{json:#}");
    assert_eq!(notices[0]["file"], "engine/nested/template-link/main.json");
    assert_eq!(notices[0]["line"], 11);
    assert_eq!(notices[0]["column"], 25);
    assert!(notices[0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("templateLink")));
    assert_eq!(json["errors"].as_array().map(Vec::len), Some(0));
    let (code, _, _) = run(&fixtures(), &["scan", "engine/nested/template-link"]);
    assert_eq!(code, 0, "the text format exits the same");
}

// --- languageVersion 2.0 --------------------------------------------------------

#[test]
fn language_version_2_symbolic_resources_existing_and_user_functions() {
    let report = scan_fixtures(&["engine/language-v2/symbolic.json"]);
    assert_no_errors(&report);
    // The `existing` cluster is not judged; the user function maps two
    // addresses to two /32 ranges.
    assert_eq!(names(&report), ["aks-2"]);
    let r = &report.resources[0];
    assert_outcome(r, Outcome::Pass);
    assert_findings(r, &[]);
}

// --- child resources -------------------------------------------------------------

#[test]
fn agent_pools_are_not_judged_as_clusters() {
    let report = scan_fixtures(&["engine/child/agent-pools.json"]);
    assert_no_errors(&report);
    assert_eq!(names(&report), ["aks-with-pools"]);
    assert_outcome(&report.resources[0], Outcome::Pass);
}

// --- one finding per template location ------------------------------------------

#[test]
fn one_default_through_two_parameter_files_is_two_evaluations_and_one_sarif_result() {
    let report = scan_fixtures(&["engine/params/shared-default"]);
    assert_no_errors(&report);
    let dev = "engine/params/shared-default/main.parameters.dev.json";
    let prod = "engine/params/shared-default/main.parameters.prod.json";
    let got: Vec<(Option<&str>, &str)> = report
        .resources
        .iter()
        .map(|r| (r.parameter_file.as_deref(), r.name.as_str()))
        .collect();
    assert_eq!(got, [(Some(dev), "aks-dev"), (Some(prod), "aks-prod")]);
    for r in &report.resources {
        assert_outcome(r, Outcome::Fail);
        assert_findings(r, &[(AUTHORIZED_IPS, 6, 50, "[]")]);
    }
    assert_eq!(
        report.resources[0].findings[0].fingerprint, report.resources[1].findings[0].fingerprint,
        "one template location, one fingerprint"
    );

    let sarif = serde_json::to_value(sarif::build(&report)).expect("SARIF serializes");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{results:#?}");
    let related = results[0]["relatedLocations"]
        .as_array()
        .expect("relatedLocations");
    let uris: Vec<&str> = related
        .iter()
        .filter_map(|l| l["physicalLocation"]["artifactLocation"]["uri"].as_str())
        .collect();
    assert!(uris.contains(&dev) && uris.contains(&prod), "{uris:?}");
}

#[test]
fn sarif_related_locations_lead_from_a_parameter_file_value_to_the_template() {
    let report = scan_fixtures(&["engine/params/file-wins"]);
    let sarif = serde_json::to_value(sarif::build(&report)).expect("SARIF serializes");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{results:#?}");
    let primary = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(
        primary["artifactLocation"]["uri"],
        "engine/params/file-wins/main.parameters.json"
    );
    assert_eq!(primary["region"]["startLine"], 5);
    let related = results[0]["relatedLocations"]
        .as_array()
        .expect("relatedLocations");
    assert!(
        related.iter().any(|l| {
            let p = &l["physicalLocation"];
            p["artifactLocation"]["uri"] == "engine/params/file-wins/main.json"
                && p["region"]["startLine"] == 15
                && p["region"]["startColumn"] == 33
        }),
        "the template's expression site is related: {related:#?}"
    );
}

// --- limits -----------------------------------------------------------------------

#[test]
fn a_user_function_that_calls_itself_is_an_error_not_a_stack_overflow() {
    let report = scan_fixtures(&["engine/limits/recursive-function.json"]);
    assert_error_at(
        &report,
        "engine/limits/recursive-function.json",
        23,
        35,
        "nested more than",
    );
    let r = cluster(&report, "aks-recursive");
    assert_outcome(r, Outcome::Unknown);
}

/// A chain of `depth` inner-scope deployments with a cluster at the bottom.
fn deep_chain(depth: usize) -> String {
    let schema = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#";
    let mut template = serde_json::json!({
        "$schema": schema,
        "contentVersion": "1.0.0.0",
        "parameters": { "ranges": { "type": "array" } },
        "resources": [{
            "type": "Microsoft.ContainerService/managedClusters",
            "apiVersion": "2024-02-01",
            "name": "aks-deep",
            "properties": { "apiServerAccessProfile": {
                "authorizedIPRanges": "[parameters('ranges')]" } }
        }]
    });
    for level in (0..depth).rev() {
        let mut parent = serde_json::json!({
            "$schema": schema,
            "contentVersion": "1.0.0.0",
            "parameters": { "ranges": { "type": "array" } },
            "resources": [{
                "type": "Microsoft.Resources/deployments",
                "apiVersion": "2022-09-01",
                "name": format!("level{level}"),
                "properties": {
                    "mode": "Incremental",
                    "expressionEvaluationOptions": { "scope": "inner" },
                    "parameters": { "ranges": { "value": "[parameters('ranges')]" } },
                    "template": template
                }
            }]
        });
        if level == 0 {
            parent["parameters"]["ranges"]["defaultValue"] = serde_json::json!(["203.0.113.0/24"]);
        }
        template = parent;
    }
    serde_json::to_string_pretty(&template).expect("JSON")
}

#[test]
fn a_chain_of_40_nested_deployments_is_an_error_about_depth() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "deep.json", deep_chain(40));
    let report = scan_in(dir.path(), &["deep.json"]);
    assert!(report.resources.is_empty(), "{:#?}", report.resources);
    assert_eq!(report.errors.len(), 1, "{:#?}", report.errors);
    let e = &report.errors[0];
    assert_eq!(e.file, "deep.json");
    assert!(e.line > 1 && e.column > 0, "{e:?}");
    assert!(e.message.contains("deeper than"), "{}", e.message);

    // Within the limit, the ranges reach the bottom.
    write(dir.path(), "ok.json", deep_chain(30));
    let report = scan_in(dir.path(), &["ok.json"]);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(names(&report), ["aks-deep"]);
    assert_outcome(&report.resources[0], Outcome::Pass);
}

/// A chain of `depth` outer-scope deployments with a cluster at the bottom.
fn deep_outer_chain(depth: usize) -> String {
    let schema = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#";
    let mut resources = serde_json::json!([{
        "type": "Microsoft.ContainerService/managedClusters",
        "apiVersion": "2024-02-01",
        "name": "aks-deep-outer",
        "properties": { "apiServerAccessProfile": {
            "authorizedIPRanges": "[parameters('ranges')]" } }
    }]);
    for level in (0..depth).rev() {
        resources = serde_json::json!([{
            "type": "Microsoft.Resources/deployments",
            "apiVersion": "2022-09-01",
            "name": format!("level{level}"),
            "properties": {
                "mode": "Incremental",
                "template": { "$schema": schema, "resources": resources }
            }
        }]);
    }
    let template = serde_json::json!({
        "$schema": schema,
        "contentVersion": "1.0.0.0",
        "parameters": { "ranges": { "type": "array", "defaultValue": ["203.0.113.0/24"] } },
        "resources": resources
    });
    serde_json::to_string(&template).expect("JSON")
}

#[test]
fn a_chain_of_outer_scope_nested_deployments_has_the_same_depth_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "deep.json", deep_outer_chain(40));
    let report = scan_in(dir.path(), &["deep.json"]);
    assert!(report.resources.is_empty(), "{:#?}", report.resources);
    assert_eq!(report.errors.len(), 1, "{:#?}", report.errors);
    assert!(
        report.errors[0].message.contains("deeper than"),
        "{}",
        report.errors[0].message
    );

    // As deep as the JSON reader allows: no crash.
    write(dir.path(), "deeper.json", deep_outer_chain(100));
    let report = scan_in(dir.path(), &["deeper.json"]);
    assert!(report.resources.is_empty(), "{:#?}", report.resources);
    assert_eq!(report.errors.len(), 1, "{:#?}", report.errors);

    write(dir.path(), "ok.json", deep_outer_chain(30));
    let report = scan_in(dir.path(), &["ok.json"]);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(names(&report), ["aks-deep-outer"]);
    assert_outcome(&report.resources[0], Outcome::Pass);
}

// --- random templates never panic -------------------------------------------------

const KEYS: &[&str] = &[
    "resources",
    "type",
    "name",
    "properties",
    "copy",
    "count",
    "input",
    "condition",
    "parameters",
    "variables",
    "template",
    "expressionEvaluationOptions",
    "scope",
    "value",
    "defaultValue",
    "apiServerAccessProfile",
    "authorizedIPRanges",
    "functions",
    "namespace",
    "members",
    "output",
    "existing",
    "templateLink",
    "nullable",
];

const STRINGS: &[&str] = &[
    "Microsoft.Resources/deployments",
    "Microsoft.ContainerService/managedClusters",
    "Microsoft.ContainerService/managedClusters",
    "Microsoft.Resources/deployments",
    "inner",
    "outer",
    "[parameters('a')]",
    "[parameters('b')]",
    "[copyIndex()]",
    "[copyIndex('loop')]",
    "[variables('v')]",
    "[variables('w')]",
    "[if(parameters('a'), variables('v'), createArray('0.0.0.0/0'))]",
    "[union(variables('v'), parameters('a'))]",
    "[concat(parameters('a'), copyIndex())]",
    "[ns.f(parameters('a'))]",
    "[reference('x').ip]",
    "[range(0, parameters('b'))]",
    "[length(variables('v'))]",
    "[[literal",
    "[unterminated('",
    "203.0.113.0/24",
    "0.0.0.0/0",
    "",
];

fn leaf() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        4 => proptest::sample::select(STRINGS).prop_map(serde_json::Value::from),
        1 => "[a-z\\[\\]'(), ]{0,12}".prop_map(serde_json::Value::from),
        2 => (-3i64..900).prop_map(serde_json::Value::from),
        1 => any::<bool>().prop_map(serde_json::Value::from),
        1 => Just(serde_json::Value::Null),
    ]
}

fn json_tree() -> impl Strategy<Value = serde_json::Value> {
    leaf().prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::vec((proptest::sample::select(KEYS), inner), 0..6).prop_map(
                |members| {
                    serde_json::Value::Object(
                        members
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), v))
                            .collect(),
                    )
                }
            ),
        ]
    })
}

/// A template whose top-level sections are random trees, with resources
/// that are mostly clusters and deployments.
fn template() -> impl Strategy<Value = serde_json::Value> {
    let resource = (
        proptest::sample::select(&STRINGS[..4]),
        json_tree(),
        json_tree(),
        proptest::option::of(json_tree()),
        proptest::option::of(json_tree()),
    )
        .prop_map(|(ty, name, properties, copy, condition)| {
            let mut r = serde_json::json!({
                "type": ty,
                "apiVersion": "2024-02-01",
                "name": name,
                "properties": properties,
            });
            if let Some(copy) = copy {
                r["copy"] = copy;
            }
            if let Some(condition) = condition {
                r["condition"] = condition;
            }
            r
        });
    (
        json_tree(),
        json_tree(),
        proptest::collection::vec(resource, 0..4),
        json_tree(),
    )
        .prop_map(|(parameters, variables, resources, functions)| {
            serde_json::json!({
                "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "parameters": parameters,
                "variables": variables,
                "functions": functions,
                "resources": resources,
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_templates_never_panic_the_scan(
        template in template(),
        parameters in json_tree(),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "t.json", serde_json::to_string_pretty(&template).expect("JSON"));
        let parameter_file = serde_json::json!({
            "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
            "parameters": parameters,
        });
        write(dir.path(), "t.parameters.json", parameter_file.to_string());
        let report = scan_in(dir.path(), &["."]);
        // Every evaluation has an outcome, and an unknown one a reason.
        for r in &report.resources {
            prop_assert!(r.outcome != Outcome::Unknown || r.reason.is_some());
        }
    }
}

// --- parameters that do not match the template ------------------------------

#[test]
fn a_parameter_file_setting_an_undeclared_parameter_is_an_error_at_its_value() {
    let report = scan_fixtures(&["engine/params/undeclared"]);
    assert_eq!(report.errors.len(), 1, "{:#?}", report.errors);
    assert_error_at(
        &report,
        "engine/params/undeclared/main.parameters.json",
        6,
        30,
        "sets parameter `clusterSku`, which the template does not declare",
    );
    // The declared parameters are still used: the cluster itself passes.
    assert_outcome(cluster(&report, "aks-undeclared"), Outcome::Pass);
}

#[test]
fn a_nested_template_parameter_without_value_says_to_pass_it_in_the_deployment() {
    let report = scan_fixtures(&["engine/nested/missing-inner"]);
    assert_no_errors(&report);
    let r = cluster(&report, "aks-missing-inner");
    assert_outcome(r, Outcome::Unknown);
    let why = reason(r);
    assert!(
        why.contains("parameter `ranges` of a nested template has no value"),
        "{why}"
    );
    assert!(why.contains("deployment's `parameters`"), "{why}");
}

#[test]
fn separate_agent_pool_resources_are_checked_for_node_public_ips() {
    let report = scan_fixtures(&["engine/child/agent-pools-public-ips.json"]);
    assert_no_errors(&report);
    assert_eq!(names(&report), ["aks-pools"]);
    let r = &report.resources[0];
    assert_outcome(r, Outcome::Pass);
    // `edge` (a child in the cluster's resources) and `batch` (its name
    // built with format) give public IPs without a prefix; `prefixed` has
    // one; `aks-elsewhere/public` belongs to another cluster; `spot` is
    // deployed only when a parameter without a value says so, and `never`
    // is not deployed.
    assert_findings(
        r,
        &[
            (NODE_PUBLIC_IP, 25, 77, "true }"),
            (NODE_PUBLIC_IP, 33, 73, "\"[true()]\""),
        ],
    );
    let messages: Vec<&str> = r.findings.iter().map(|f| f.message.as_str()).collect();
    assert!(messages[0].contains("`edge`"), "{messages:?}");
    assert!(messages[1].contains("`batch`"), "{messages:?}");
}

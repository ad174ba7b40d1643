//! Every fixture through the library API: the outcome, the exact rule ids,
//! and the exact line and column of each finding's primary location, checked
//! against the fixture's text at that place.

use aks_authorized_ips::findings::{Level, Outcome, ResourceReport};

use crate::util::{fixtures, judge_fixture, scan_fixtures, scan_in, source_at, write};

const AUTHORIZED_IPS: &str = "Azure.AKS.AuthorizedIPs";
const INVALID_RANGE: &str = "Azure.AKS.AuthorizedIPs.InvalidRange";
const UNRESTRICTED: &str = "Azure.AKS.AuthorizedIPs.Unrestricted";
const HOST_BITS: &str = "Azure.AKS.AuthorizedIPs.HostBits";
const REDUNDANT: &str = "Azure.AKS.AuthorizedIPs.Redundant";
const TOO_MANY: &str = "Azure.AKS.AuthorizedIPs.TooMany";
const PRIVATE_CLUSTER: &str = "Azure.AKS.AuthorizedIPs.PrivateCluster";
const BASIC_LOAD_BALANCER: &str = "Azure.AKS.AuthorizedIPs.BasicLoadBalancer";
const BROAD: &str = "Azure.AKS.AuthorizedIPs.Broad";
const NODE_PUBLIC_IP: &str = "Azure.AKS.AuthorizedIPs.NodePublicIP";

/// A finding as expected: rule id, line, column, and the text that starts
/// at that place in the fixture (the entry or property that is wrong).
pub(crate) type Expected<'a> = (&'a str, u32, u32, &'a str);

/// Asserts that `resource` has exactly the `expected` findings, in any
/// order, each pointing at its text in the fixture.
pub(crate) fn assert_findings(resource: &ResourceReport, expected: &[Expected<'_>]) {
    let mut actual: Vec<(&str, u32, u32)> = resource
        .findings
        .iter()
        .map(|f| (f.rule_id, f.region.start_line, f.region.start_column))
        .collect();
    actual.sort();
    let mut wanted: Vec<(&str, u32, u32)> = expected.iter().map(|e| (e.0, e.1, e.2)).collect();
    wanted.sort();
    assert_eq!(
        actual, wanted,
        "{} ({}): findings differ; all: {:#?}",
        resource.file, resource.name, resource.findings
    );
    for (rule, line, column, token) in expected {
        let finding = resource
            .findings
            .iter()
            .find(|f| {
                f.rule_id == *rule
                    && f.region.start_line == *line
                    && f.region.start_column == *column
            })
            .expect("matched above");
        let file = fixtures().join(&finding.region.file);
        let at = source_at(&file, *line, *column);
        assert!(
            at.starts_with(token),
            "{rule} at {}:{line}:{column} should point at {token:?}, but the text there is {at:?}",
            finding.region.file
        );
        assert_eq!(
            finding.snippet,
            source_at(&file, *line, 1),
            "the snippet is the finding's whole line"
        );
        assert!(
            finding.message.contains(&format!("`{}`", resource.name)),
            "the message names the cluster: {}",
            finding.message
        );
    }
}

pub(crate) fn assert_outcome(resource: &ResourceReport, outcome: Outcome) {
    assert_eq!(
        resource.outcome, outcome,
        "{} ({}): {:#?}",
        resource.file, resource.name, resource
    );
    if outcome == Outcome::Unknown {
        assert!(resource.reason.is_some(), "an unknown outcome has a reason");
    } else {
        assert_eq!(resource.reason, None, "only unknown outcomes have a reason");
    }
}

// --- pass ---------------------------------------------------------------

#[test]
fn a_public_cluster_with_a_documentation_range_passes() {
    let r = judge_fixture("rules/pass.json");
    assert_outcome(&r, Outcome::Pass);
    assert_findings(&r, &[]);
    assert_eq!(r.name, "aks-pass");
    assert_eq!(
        r.resource_type,
        "Microsoft.ContainerService/managedClusters"
    );
    assert_eq!(r.file, "rules/pass.json");
    assert_eq!(r.parameter_file, None);
    assert_eq!(r.line, 5, "the line of the resource object");
}

#[test]
fn the_outbound_only_range_0_0_0_0_32_passes() {
    let r = judge_fixture("rules/pass-outbound-only.json");
    assert_outcome(&r, Outcome::Pass);
    assert_findings(&r, &[]);
}

#[test]
fn property_names_and_the_type_match_case_insensitively_and_the_last_duplicate_wins() {
    // `AuthorizedIpRanges: []` is followed by `AuthorizedIpRanges: [...]`.
    let r = judge_fixture("rules/case-and-duplicates.json");
    assert_outcome(&r, Outcome::Pass);
    assert_findings(&r, &[]);
}

// --- fail: the ranges are missing, null or empty -----------------------

#[test]
fn missing_ranges_point_at_the_api_server_access_profile_key() {
    let r = judge_fixture("rules/missing-ranges.json");
    assert_outcome(&r, Outcome::Fail);
    assert_findings(&r, &[(AUTHORIZED_IPS, 12, 9, "\"apiServerAccessProfile\"")]);
    let message = &r.findings[0].message;
    assert!(
        message.contains("properties.apiServerAccessProfile.authorizedIPRanges")
            && message.contains("not set"),
        "{message}"
    );
    assert_eq!(r.findings[0].level, Level::Error);
}

#[test]
fn a_missing_access_profile_points_at_the_properties_key() {
    let r = judge_fixture("rules/missing-profile.json");
    assert_outcome(&r, Outcome::Fail);
    assert_findings(&r, &[(AUTHORIZED_IPS, 10, 7, "\"properties\"")]);
}

#[test]
fn missing_properties_point_at_the_name_key() {
    let r = judge_fixture("rules/missing-properties.json");
    assert_outcome(&r, Outcome::Fail);
    assert_findings(
        &r,
        &[(AUTHORIZED_IPS, 8, 7, "\"name\": \"aks-missing-properties\"")],
    );
}

#[test]
fn empty_ranges_fail_at_the_empty_list() {
    let r = judge_fixture("rules/empty-ranges.json");
    assert_outcome(&r, Outcome::Fail);
    assert_findings(&r, &[(AUTHORIZED_IPS, 12, 33, "[]")]);
    assert!(r.findings[0].message.contains("is empty"));
}

#[test]
fn null_ranges_fail_at_the_null() {
    let r = judge_fixture("rules/null-ranges.json");
    assert_outcome(&r, Outcome::Fail);
    assert_findings(&r, &[(AUTHORIZED_IPS, 12, 33, "null")]);
    assert!(r.findings[0].message.contains("is null"));
}

// --- not applicable ------------------------------------------------------

#[test]
fn a_private_cluster_is_not_applicable() {
    let r = judge_fixture("rules/private.json");
    assert_outcome(&r, Outcome::NotApplicable);
    assert_findings(&r, &[]);
}

#[test]
fn a_private_cluster_flag_written_as_the_string_true_is_not_applicable() {
    let r = judge_fixture("rules/private-string.json");
    assert_outcome(&r, Outcome::NotApplicable);
    assert_findings(&r, &[]);
}

// --- unknown -------------------------------------------------------------

#[test]
fn ranges_from_an_expression_are_unknown_and_the_reason_names_it() {
    let r = judge_fixture("rules/unknown-ranges.json");
    assert_outcome(&r, Outcome::Unknown);
    assert_findings(&r, &[]);
    let reason = r.reason.as_deref().expect("reason");
    assert!(
        reason.contains("parameter `ranges` has no value"),
        "{reason}"
    );
    assert!(
        reason.contains("parameter file"),
        "says how to supply it: {reason}"
    );
    assert!(reason.contains("authorizedIPRanges"), "{reason}");
}

#[test]
fn a_private_flag_from_an_expression_is_unknown_and_the_reason_names_it() {
    let r = judge_fixture("rules/unknown-private.json");
    assert_outcome(&r, Outcome::Unknown);
    assert_findings(&r, &[]);
    let reason = r.reason.as_deref().expect("reason");
    assert!(
        reason.contains("parameter `private` has no value"),
        "{reason}"
    );
    assert!(reason.contains("enablePrivateCluster"), "{reason}");
}

#[test]
fn a_condition_from_an_expression_is_unknown_and_the_reason_names_it() {
    let r = judge_fixture("rules/unknown-condition.json");
    assert_outcome(&r, Outcome::Unknown);
    assert_findings(&r, &[]);
    let reason = r.reason.as_deref().expect("reason");
    assert!(
        reason.contains("parameter `deployAks` has no value"),
        "{reason}"
    );
    assert!(reason.contains("condition"), "{reason}");
}

#[test]
fn a_cluster_whose_condition_is_false_is_not_judged() {
    let report = scan_fixtures(&["rules/condition-false.json"]);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert!(report.resources.is_empty(), "{:#?}", report.resources);
    assert_eq!(report.stats.templates, 1);
}

// --- every finding kind --------------------------------------------------

#[test]
fn each_invalid_entry_is_reported_at_the_entry() {
    let r = judge_fixture("rules/invalid-range.json");
    assert_outcome(&r, Outcome::Fail);
    assert_findings(
        &r,
        &[
            (INVALID_RANGE, 14, 13, "\"not-a-cidr\""),
            (INVALID_RANGE, 15, 13, "\"10.0.0.0/33\""),
            (INVALID_RANGE, 16, 13, "\"2001:db8::/32\""),
            (INVALID_RANGE, 17, 13, "42"),
            (INVALID_RANGE, 18, 13, "\"10.0.0/8\""),
        ],
    );
    let messages: Vec<&str> = r.findings.iter().map(|f| f.message.as_str()).collect();
    assert!(messages.iter().any(|m| m.contains("IPv6")), "{messages:#?}");
    // Each reason reads on from the entry it explains.
    let expected = [
        "`not-a-cidr` is neither an IPv4 CIDR",
        "`10.0.0.0/33` has the prefix length `/33`, which is not between /0 and /32",
        "`2001:db8::/32` is an IPv6 range",
        "`10.0.0/8` has `10.0.0` before the `/`, which is not an IPv4 address",
    ];
    for text in expected {
        assert!(
            messages.iter().any(|m| m.contains(text)),
            "{text}: {messages:#?}"
        );
    }
    assert!(
        messages
            .iter()
            .any(|m| m.contains("#5") && m.contains("number")),
        "{messages:#?}"
    );
}

#[test]
fn ranges_written_as_a_string_instead_of_an_array_are_an_invalid_range() {
    let r = judge_fixture("rules/invalid-range-not-array.json");
    assert_outcome(&r, Outcome::Fail);
    assert_findings(&r, &[(INVALID_RANGE, 12, 33, "\"203.0.113.0/24\"")]);
    assert!(r.findings[0].message.contains("must be an array"));
}

#[test]
fn zero_slash_zero_is_unrestricted_and_silences_broad_and_redundant() {
    // 0.0.0.0/0 alone would also be Broad, and 203.0.113.0/24 inside it
    // Redundant; neither is reported while the list is void.
    let r = judge_fixture("rules/unrestricted.json");
    assert_outcome(&r, Outcome::Fail);
    assert_findings(&r, &[(UNRESTRICTED, 14, 13, "\"0.0.0.0/0\"")]);
}

#[test]
fn two_halves_that_cover_every_address_are_unrestricted() {
    let r = judge_fixture("rules/unrestricted-halves.json");
    assert_outcome(&r, Outcome::Fail);
    assert_findings(&r, &[(UNRESTRICTED, 13, 13, "\"0.0.0.0/1\"")]);
    let message = &r.findings[0].message;
    assert!(
        message.contains("`0.0.0.0/1`") && message.contains("`128.0.0.0/1`"),
        "{message}"
    );
}

#[test]
fn host_bits_are_a_warning_with_the_network_address_and_the_cluster_still_passes() {
    let r = judge_fixture("rules/host-bits.json");
    assert_outcome(&r, Outcome::Pass);
    assert_findings(&r, &[(HOST_BITS, 12, 52, "\"137.117.106.90/29\"")]);
    assert_eq!(r.findings[0].level, Level::Warning);
    assert!(r.findings[0].message.contains("137.117.106.88/29"));
}

#[test]
fn duplicates_and_ranges_inside_other_ranges_are_redundant_notes() {
    let r = judge_fixture("rules/redundant.json");
    assert_outcome(&r, Outcome::Pass);
    assert_findings(
        &r,
        &[
            (REDUNDANT, 15, 13, "\"203.0.113.0/24\""),
            (REDUNDANT, 17, 13, "\"10.1.2.0/24\""),
        ],
    );
    assert!(r.findings.iter().all(|f| f.level == Level::Note));
    assert!(r.findings[0].message.contains("repeats"));
    assert!(r.findings[1].message.contains("inside `10.1.0.0/16`"));
}

#[test]
fn more_than_200_ranges_are_too_many_at_the_list() {
    let r = judge_fixture("rules/too-many.json");
    assert_outcome(&r, Outcome::Fail);
    assert_findings(&r, &[(TOO_MANY, 12, 33, "[")]);
    assert!(r.findings[0].message.contains("201"));
}

#[test]
fn ranges_on_a_private_cluster_are_an_error_at_the_list() {
    let r = judge_fixture("rules/private-with-ranges.json");
    assert_outcome(&r, Outcome::Fail);
    assert_findings(&r, &[(PRIVATE_CLUSTER, 13, 33, "[\"203.0.113.0/24\"]")]);
}

#[test]
fn ranges_with_the_basic_load_balancer_are_an_error_at_the_sku() {
    let r = judge_fixture("rules/basic-load-balancer.json");
    assert_outcome(&r, Outcome::Fail);
    assert_findings(&r, &[(BASIC_LOAD_BALANCER, 16, 30, "\"basic\"")]);
}

#[test]
fn a_range_wider_than_slash_8_is_broad_but_slash_8_itself_is_not() {
    let r = judge_fixture("rules/broad.json");
    assert_outcome(&r, Outcome::Pass);
    assert_findings(&r, &[(BROAD, 13, 13, "\"10.0.0.0/7\"")]);
    assert_eq!(r.findings[0].level, Level::Warning);
    assert!(r.findings[0].message.contains("33,554,432"));
}

#[test]
fn the_broad_prefix_setting_moves_the_threshold() {
    let flagged = |prefix: u8| -> Vec<u32> {
        let report = crate::util::scan_with(&fixtures(), &["rules/broad.json"], |o| {
            o.settings.broad_prefix = prefix;
        });
        report.resources[0]
            .findings
            .iter()
            .map(|f| f.region.start_line)
            .collect()
    };
    assert_eq!(flagged(16), [13, 14], "/7 and /8 are wider than /16");
    assert_eq!(flagged(8), [13]);
    assert_eq!(flagged(7), Vec::<u32>::new(), "/7 is not wider than /7");
}

#[test]
fn a_node_pool_with_public_ips_and_no_prefix_is_flagged_and_one_with_a_prefix_is_not() {
    let r = judge_fixture("rules/node-public-ip.json");
    assert_outcome(&r, Outcome::Pass);
    assert_findings(&r, &[(NODE_PUBLIC_IP, 18, 35, "true")]);
    assert!(r.findings[0].message.contains("`open`"));
}

#[test]
fn legacy_api_versions_read_properties_api_server_authorized_ip_ranges() {
    let report = scan_fixtures(&["rules/legacy-api.json"]);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let names: Vec<&str> = report.resources.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "aks-legacy-pass",
            "aks-legacy-open",
            "aks-legacy-modern-place",
            "aks-before-the-setting"
        ]
    );
    let [pass, open, modern, old] = &report.resources[..] else {
        unreachable!("four clusters")
    };
    assert_outcome(pass, Outcome::Pass);
    assert_findings(pass, &[]);
    assert_outcome(open, Outcome::Fail);
    assert_findings(open, &[(UNRESTRICTED, 20, 41, "\"0.0.0.0/0\"")]);
    // 2019-04-01 has no apiServerAccessProfile: ranges there do not count.
    assert_outcome(modern, Outcome::Fail);
    assert_findings(
        modern,
        &[(AUTHORIZED_IPS, 29, 9, "\"apiServerAccessProfile\"")],
    );
    assert!(modern.findings[0]
        .message
        .contains("properties.apiServerAuthorizedIPRanges"));
    // Before 2019-02-01 there is no setting at all: say so.
    assert_outcome(old, Outcome::Fail);
    assert_findings(old, &[(AUTHORIZED_IPS, 39, 7, "\"properties\"")]);
    assert!(
        old.findings[0].message.contains("2018-03-31"),
        "{}",
        old.findings[0].message
    );
}

// --- template structure ----------------------------------------------------

#[test]
fn language_version_2_resources_are_judged_and_existing_references_are_not() {
    let r = judge_fixture("structure/language-v2.json");
    assert_eq!(r.name, "aks-v2");
    assert_eq!(r.line, 12);
    assert_outcome(&r, Outcome::Pass);
}

#[test]
fn a_cluster_in_an_inline_nested_deployment_is_judged_at_its_place() {
    let r = judge_fixture("structure/nested-deployment.json");
    assert_eq!(r.name, "aks-nested");
    assert_eq!(r.line, 16);
    assert_outcome(&r, Outcome::Fail);
    assert_findings(
        &r,
        &[(AUTHORIZED_IPS, 22, 17, "\"apiServerAccessProfile\"")],
    );
}

#[test]
fn child_resources_of_a_cluster_are_not_judged_as_clusters() {
    let r = judge_fixture("structure/child-resource.json");
    assert_eq!(r.name, "aks-parent");
    assert_outcome(&r, Outcome::Pass);
}

#[test]
fn comments_trailing_commas_raw_newlines_and_a_bom_are_read_with_exact_positions() {
    let r = judge_fixture("structure/tolerant.jsonc");
    assert_eq!(r.name, "aks-tolerant");
    assert_eq!(r.line, 12);
    assert_outcome(&r, Outcome::Pass);
    assert_findings(&r, &[(HOST_BITS, 21, 13, "\"137.117.106.90/29\"")]);
}

#[test]
fn a_bicep_generated_template_is_judged() {
    let r = judge_fixture("structure/bicep.json");
    assert_eq!(r.name, "aks-bicep");
    assert_outcome(&r, Outcome::Fail);
    assert_findings(&r, &[(UNRESTRICTED, 30, 13, "\"0.0.0.0/0\"")]);
}

// --- parameter files -----------------------------------------------------

#[test]
fn a_template_is_judged_once_per_parameter_file_linked_by_name() {
    let report = scan_fixtures(&["params/convention"]);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let evaluations: Vec<(&str, Option<&str>)> = report
        .resources
        .iter()
        .map(|r| (r.file.as_str(), r.parameter_file.as_deref()))
        .collect();
    assert_eq!(
        evaluations,
        [
            (
                "params/convention/main.json",
                Some("params/convention/main.parameters.json")
            ),
            (
                "params/convention/main.json",
                Some("params/convention/main.parameters.prod.json")
            ),
        ]
    );
    for r in &report.resources {
        assert_outcome(r, Outcome::Pass);
        assert_findings(r, &[(HOST_BITS, 15, 34, "\"137.117.106.90/29\"")]);
    }
    // The same template location through two parameter files is one finding.
    let unique = report.unique_findings();
    assert_eq!(unique.len(), 1);
    assert_eq!(
        unique[0].parameter_files,
        [
            "params/convention/main.parameters.json",
            "params/convention/main.parameters.prod.json"
        ]
    );
    assert_eq!(report.stats.parameter_files, 2);
    assert_eq!(report.stats.unlinked_parameter_files, 0);
}

#[test]
fn a_parameter_file_is_linked_by_its_metadata_template_path() {
    let report = scan_fixtures(&["params/metadata"]);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(report.resources.len(), 1);
    let r = &report.resources[0];
    assert_eq!(r.file, "params/metadata/templates/cluster.json");
    assert_eq!(
        r.parameter_file.as_deref(),
        Some("params/metadata/env/dev.json")
    );
    // The ranges come from the linked parameter file's value.
    assert_outcome(r, Outcome::Pass);
    assert!(r.reason.is_none());
}

#[test]
fn a_parameter_file_without_its_template_is_counted_as_unlinked() {
    let report = scan_fixtures(&["params/orphan.parameters.json"]);
    assert!(report.errors.is_empty());
    assert!(report.resources.is_empty());
    assert_eq!(report.stats.parameter_files, 1);
    assert_eq!(report.stats.unlinked_parameter_files, 1);
}

// --- broken and foreign files ---------------------------------------------

#[test]
fn a_template_that_is_not_valid_json_is_an_error_at_the_line_and_column() {
    let report = scan_fixtures(&["broken/invalid-template.json"]);
    assert!(report.resources.is_empty());
    assert_eq!(report.errors.len(), 1, "{:#?}", report.errors);
    let e = &report.errors[0];
    assert_eq!(e.file, "broken/invalid-template.json");
    assert_eq!((e.line, e.column), (8, 7));
    assert!(e.message.contains("not valid JSON"), "{}", e.message);
    assert!(e.message.contains("expected `,`"), "{}", e.message);
    let at = source_at(&fixtures().join(&e.file), e.line, e.column);
    assert!(at.starts_with("\"apiVersion\""), "{at}");
}

#[test]
fn broken_json_that_does_not_name_a_deployment_schema_is_skipped_silently() {
    let report = scan_fixtures(&["broken/not-a-template.json"]);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert!(report.resources.is_empty());
    assert_eq!(report.stats.files_read, 1);
    assert_eq!(report.stats.templates, 0);
}

#[test]
fn a_package_json_is_skipped_silently() {
    let report = scan_fixtures(&["broken/package.json"]);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert!(report.resources.is_empty());
    assert_eq!(report.stats.templates, 0);
    assert_eq!(report.stats.parameter_files, 0);
}

#[test]
fn a_parse_error_on_the_first_line_after_a_bom_counts_columns_without_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "bom.json",
        "\u{feff}{\"$schema\": \"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#\", x}",
    );
    let report = scan_in(dir.path(), &["bom.json"]);
    assert_eq!(report.errors.len(), 1, "{:#?}", report.errors);
    let e = &report.errors[0];
    assert_eq!((e.file.as_str(), e.line, e.column), ("bom.json", 1, 96));
}

#[test]
fn a_resources_section_that_is_not_a_list_is_an_error_and_other_files_are_judged() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "bad.json",
        r#"{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "resources": "Microsoft.ContainerService/managedClusters"
}
"#,
    );
    write(
        dir.path(),
        "good.json",
        crate::util::template_with_ranges("aks-good", r#"["203.0.113.0/24"]"#),
    );
    let report = scan_in(dir.path(), &["."]);
    assert_eq!(report.errors.len(), 1, "{:#?}", report.errors);
    let e = &report.errors[0];
    assert_eq!((e.file.as_str(), e.line, e.column), ("bad.json", 3, 16));
    assert_eq!(report.resources.len(), 1);
    assert_eq!(report.resources[0].outcome, Outcome::Pass);
}

// --- fingerprints -----------------------------------------------------------

#[test]
fn fingerprints_survive_lines_added_above_the_finding() {
    let finding_in = |prefix_lines: usize| {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = crate::util::template_with_ranges("aks-fp", r#"["0.0.0.0/0"]"#).replacen(
            '{',
            &format!("{{{}", "\n".repeat(prefix_lines)),
            1,
        );
        write(dir.path(), "infra/aks.json", text);
        let report = scan_in(dir.path(), &["infra"]);
        let f = report.resources[0].findings[0].clone();
        (f.region.start_line, f.fingerprint)
    };
    let (line_a, fp_a) = finding_in(0);
    let (line_b, fp_b) = finding_in(5);
    assert_eq!(line_b, line_a + 5);
    assert_eq!(fp_a, fp_b);
    assert_eq!(fp_a.len(), 32);
}

#[test]
fn fingerprints_differ_between_entries_of_one_cluster() {
    let r = judge_fixture("rules/invalid-range.json");
    let mut prints: Vec<&str> = r.findings.iter().map(|f| f.fingerprint.as_str()).collect();
    prints.sort();
    prints.dedup();
    assert_eq!(prints.len(), r.findings.len());
}

// --- the whole tree -------------------------------------------------------

/// The fixture folders of the scanner core (`engine/` and others have
/// their own tests).
pub(crate) const CORE_FOLDERS: &[&str] = &["broken", "params", "report", "rules", "structure"];

#[test]
fn scanning_the_fixture_tree_judges_the_known_set() {
    let report = scan_fixtures(CORE_FOLDERS);
    let got: Vec<(&str, Option<&str>, &str, &str)> = report
        .resources
        .iter()
        .map(|r| {
            (
                r.file.as_str(),
                r.parameter_file.as_deref(),
                r.name.as_str(),
                r.outcome.as_str(),
            )
        })
        .collect();
    let main = "params/convention/main.json";
    let expected: Vec<(&str, Option<&str>, &str, &str)> = vec![
        (
            main,
            Some("params/convention/main.parameters.json"),
            "aks-convention",
            "pass",
        ),
        (
            main,
            Some("params/convention/main.parameters.prod.json"),
            "aks-convention",
            "pass",
        ),
        (
            "params/metadata/templates/cluster.json",
            Some("params/metadata/env/dev.json"),
            "aks-metadata",
            "pass",
        ),
        (
            "report/aks.json",
            Some("report/aks.parameters.json"),
            "aks-web",
            "fail",
        ),
        (
            "report/aks.json",
            Some("report/aks.parameters.json"),
            "aks-jobs",
            "fail",
        ),
        ("report/unknown.json", None, "aks-unknown", "unknown"),
        (
            "rules/basic-load-balancer.json",
            None,
            "aks-basic-lb",
            "fail",
        ),
        ("rules/broad.json", None, "aks-broad", "pass"),
        ("rules/case-and-duplicates.json", None, "aks-case", "pass"),
        ("rules/empty-ranges.json", None, "aks-empty", "fail"),
        ("rules/host-bits.json", None, "aks-host-bits", "pass"),
        (
            "rules/invalid-range-not-array.json",
            None,
            "aks-not-array",
            "fail",
        ),
        ("rules/invalid-range.json", None, "aks-invalid", "fail"),
        ("rules/legacy-api.json", None, "aks-legacy-pass", "pass"),
        ("rules/legacy-api.json", None, "aks-legacy-open", "fail"),
        (
            "rules/legacy-api.json",
            None,
            "aks-legacy-modern-place",
            "fail",
        ),
        (
            "rules/legacy-api.json",
            None,
            "aks-before-the-setting",
            "fail",
        ),
        (
            "rules/missing-profile.json",
            None,
            "aks-missing-profile",
            "fail",
        ),
        (
            "rules/missing-properties.json",
            None,
            "aks-missing-properties",
            "fail",
        ),
        (
            "rules/missing-ranges.json",
            None,
            "aks-missing-ranges",
            "fail",
        ),
        ("rules/node-public-ip.json", None, "aks-node-ips", "pass"),
        ("rules/null-ranges.json", None, "aks-null", "fail"),
        (
            "rules/pass-outbound-only.json",
            None,
            "aks-outbound-only",
            "pass",
        ),
        ("rules/pass.json", None, "aks-pass", "pass"),
        (
            "rules/private-string.json",
            None,
            "aks-private-string",
            "not-applicable",
        ),
        (
            "rules/private-with-ranges.json",
            None,
            "aks-private-ranges",
            "fail",
        ),
        ("rules/private.json", None, "aks-private", "not-applicable"),
        ("rules/redundant.json", None, "aks-redundant", "pass"),
        ("rules/too-many.json", None, "aks-too-many", "fail"),
        (
            "rules/unknown-condition.json",
            None,
            "aks-unknown-condition",
            "unknown",
        ),
        (
            "rules/unknown-private.json",
            None,
            "aks-unknown-private",
            "unknown",
        ),
        (
            "rules/unknown-ranges.json",
            None,
            "aks-unknown-ranges",
            "unknown",
        ),
        ("rules/unrestricted-halves.json", None, "aks-halves", "fail"),
        ("rules/unrestricted.json", None, "aks-open", "fail"),
        ("structure/bicep.json", None, "aks-bicep", "fail"),
        ("structure/child-resource.json", None, "aks-parent", "pass"),
        ("structure/language-v2.json", None, "aks-v2", "pass"),
        (
            "structure/nested-deployment.json",
            None,
            "aks-nested",
            "fail",
        ),
        ("structure/tolerant.jsonc", None, "aks-tolerant", "pass"),
    ];
    assert_eq!(got, expected);

    let errors: Vec<(&str, u32, u32)> = report
        .errors
        .iter()
        .map(|e| (e.file.as_str(), e.line, e.column))
        .collect();
    assert_eq!(
        errors,
        [
            ("broken/invalid-template.json", 8, 7),
            ("report/broken.json", 4, 69)
        ]
    );

    // Every file is read; the two broken templates and the two foreign
    // files are neither templates nor parameter files.
    let json_files: usize = CORE_FOLDERS
        .iter()
        .map(|f| walk_count(&fixtures().join(f)))
        .sum();
    assert_eq!(report.stats.files_read, json_files);
    assert_eq!(report.stats.parameter_files, 5);
    assert_eq!(report.stats.unlinked_parameter_files, 1);
    assert_eq!(
        report.stats.templates + report.stats.parameter_files + 4,
        json_files
    );
}

/// `.json` and `.jsonc` files under `dir`.
fn walk_count(dir: &std::path::Path) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).expect("read the fixtures folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            count += walk_count(&path);
        } else if path
            .extension()
            .is_some_and(|e| e == "json" || e == "jsonc")
        {
            count += 1;
        }
    }
    count
}

//! SARIF against the SARIF 2.1.0 schema (from the shared folder, when it is
//! there) and against what GitHub code scanning needs.

use std::path::PathBuf;

use aks_authorized_ips::cli::Format;
use aks_authorized_ips::rules::RULES;
use serde_json::Value;

use crate::scan::CORE_FOLDERS;
use crate::util::{manifest_dir, render, scan_fixtures};

/// SARIF for the whole fixture tree: every finding kind, parameter-file
/// evaluations, unknowns and two broken templates.
fn fixture_sarif() -> Value {
    let report = scan_fixtures(CORE_FOLDERS);
    serde_json::from_str(&render(&report, Format::Sarif)).expect("SARIF is JSON")
}

fn schema_path() -> PathBuf {
    manifest_dir().join("../shared/schemas/sarif-schema-2.1.0.json")
}

/// The SARIF 2.1.0 schema's validator, or `None` (with a note) when the
/// shared folder does not hold the schema.
fn validator() -> Option<jsonschema::Validator> {
    let path = schema_path();
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("skipped: ../shared/schemas/sarif-schema-2.1.0.json not found");
        return None;
    };
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    // The schema is draft-04 and all its `$ref`s point inside it
    // (`#/definitions/...`), so nothing is fetched: jsonschema is built
    // without its HTTP and file resolvers.
    Some(
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("the SARIF schema compiles"),
    )
}

/// What the schema finds wrong in a log, or `None` without the schema.
pub(crate) fn schema_errors(sarif: &Value) -> Option<Vec<String>> {
    let validator = validator()?;
    Some(
        validator
            .iter_errors(sarif)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect(),
    )
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let Some(validator) = validator() else {
        return;
    };

    let sarif = fixture_sarif();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF is not valid:\n{}",
        errors.join("\n")
    );

    // The validator really checks: a wrong level and a missing message fail.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(
        !validator.is_valid(&broken),
        "an unknown level must be invalid"
    );
    let mut broken = sarif;
    broken["runs"][0]["results"][0]
        .as_object_mut()
        .expect("a result")
        .remove("message");
    assert!(!validator.is_valid(&broken), "a result needs a message");
}

#[test]
fn every_rule_has_what_github_code_scanning_shows() {
    let sarif = fixture_sarif();
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let ids: Vec<&str> = rules
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    let expected: Vec<&str> = RULES.iter().map(|r| r.id).collect();
    assert_eq!(ids, expected, "every rule, in the registry's order");
    for rule in rules {
        let id = rule["id"].as_str().expect("id");
        for pointer in [
            "/shortDescription/text",
            "/fullDescription/text",
            "/help/text",
            "/help/markdown",
            "/properties/security-severity",
        ] {
            let text = rule.pointer(pointer).and_then(Value::as_str);
            assert!(
                text.is_some_and(|t| !t.trim().is_empty()),
                "{id}: {pointer} is missing or empty"
            );
        }
        let severity: f64 = rule["properties"]["security-severity"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("security-severity is a number in a string");
        assert!((0.0..=10.0).contains(&severity), "{id}: {severity}");
        let tags = rule["properties"]["tags"].as_array().expect("tags");
        assert!(!tags.is_empty(), "{id}: tags");
        assert!(tags.iter().any(|t| t == "security"), "{id}: a security tag");
        assert!(
            rule["help"]["markdown"]
                .as_str()
                .is_some_and(|m| m.contains(id)),
            "{id}: its help names it"
        );
    }
    assert_eq!(rules[0]["id"], "Azure.AKS.AuthorizedIPs");
    assert_eq!(rules[0]["properties"]["ref"], "AZR-000030");
}

#[test]
fn every_result_has_a_relative_uri_a_region_and_a_fingerprint() {
    let sarif = fixture_sarif();
    let run = &sarif["runs"][0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    assert_eq!(sarif["version"], "2.1.0");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let results = run["results"].as_array().expect("results");
    assert!(results.len() >= 20, "the fixtures give many results");
    for result in results {
        let location = &result["locations"][0]["physicalLocation"];
        let uri = location["artifactLocation"]["uri"].as_str().expect("uri");
        assert!(
            !uri.starts_with("file:") && !uri.starts_with('/') && !uri.contains('\\'),
            "{uri} must be repo-relative with /"
        );
        assert!(
            uri.starts_with("rules/")
                || uri.starts_with("structure/")
                || uri.starts_with("params/")
                || uri.starts_with("report/"),
            "{uri}"
        );
        let region = &location["region"];
        assert!(
            region["startLine"].as_u64().is_some_and(|l| l >= 1),
            "{result:#}"
        );
        assert!(
            region["startColumn"].as_u64().is_some_and(|c| c >= 1),
            "{result:#}"
        );
        let fingerprint = result["partialFingerprints"]["aksAuthorizedIps/v1"]
            .as_str()
            .expect("partialFingerprints");
        assert_eq!(fingerprint.len(), 32);
        assert!(result["message"]["text"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        // ruleIndex points at the rule with that id.
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(["error", "warning", "note"].contains(&result["level"].as_str().expect("level")));
    }
}

#[test]
fn findings_reached_through_two_parameter_files_are_one_result_naming_both() {
    let sarif = fixture_sarif();
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let convention: Vec<&Value> = results
        .iter()
        .filter(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                == "params/convention/main.json"
        })
        .collect();
    assert_eq!(convention.len(), 1, "{convention:#?}");
    let related: Vec<&str> = convention[0]["relatedLocations"]
        .as_array()
        .expect("relatedLocations")
        .iter()
        .map(|l| {
            l["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .expect("uri")
        })
        .collect();
    assert_eq!(
        related,
        [
            "params/convention/main.parameters.json",
            "params/convention/main.parameters.prod.json"
        ]
    );
}

#[test]
fn parse_errors_are_tool_execution_notifications() {
    let sarif = fixture_sarif();
    let notifications = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .expect("toolExecutionNotifications");
    let places: Vec<(&str, u64, u64)> = notifications
        .iter()
        .map(|n| {
            assert_eq!(n["level"], "error");
            assert!(n["message"]["text"].as_str().is_some_and(|m| !m.is_empty()));
            let location = &n["locations"][0]["physicalLocation"];
            (
                location["artifactLocation"]["uri"].as_str().expect("uri"),
                location["region"]["startLine"].as_u64().expect("startLine"),
                location["region"]["startColumn"]
                    .as_u64()
                    .expect("startColumn"),
            )
        })
        .collect();
    assert_eq!(
        places,
        [
            ("broken/invalid-template.json", 8, 7),
            ("report/broken.json", 4, 69)
        ]
    );
}

#[test]
fn a_missing_path_is_a_notification_without_a_region() {
    let report = scan_fixtures(&["no-such-file.json"]);
    let sarif: Value = serde_json::from_str(&render(&report, Format::Sarif)).expect("JSON");
    let notification = &sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"][0];
    let location = &notification["locations"][0]["physicalLocation"];
    assert!(location.get("region").is_none(), "{location:#}");
    assert!(location["artifactLocation"]["uri"]
        .as_str()
        .is_some_and(|u| u.ends_with("no-such-file.json")));
}

#[test]
fn every_artifact_location_is_relative_to_srcroot_and_indexed_into_artifacts() {
    let sarif = fixture_sarif();
    let run = &sarif["runs"][0];
    assert_eq!(run["automationDetails"]["id"], "aks-authorized-ips/");
    let root = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .expect("%SRCROOT%");
    assert!(
        root.starts_with("file:///") && root.ends_with("/tests/fixtures/"),
        "{root}"
    );
    let artifacts: Vec<&str> = run["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .map(|a| {
            assert_eq!(a["location"]["uriBaseId"], "%SRCROOT%");
            a["location"]["uri"].as_str().expect("uri")
        })
        .collect();
    let mut unique = artifacts.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), artifacts.len(), "each file once");
    // Every artifactLocation anywhere in the run points at its artifact.
    fn walk(v: &Value, artifacts: &[&str], seen: &mut usize) {
        match v {
            Value::Object(map) => {
                if let Some(location) = map.get("artifactLocation") {
                    let index = location["index"].as_u64().expect("index") as usize;
                    assert_eq!(location["uri"], artifacts[index]);
                    assert_eq!(location["uriBaseId"], "%SRCROOT%");
                    *seen += 1;
                }
                map.values().for_each(|x| walk(x, artifacts, seen));
            }
            Value::Array(items) => items.iter().for_each(|x| walk(x, artifacts, seen)),
            _ => {}
        }
    }
    let mut seen = 0;
    walk(&run["results"], &artifacts, &mut seen);
    walk(&run["invocations"], &artifacts, &mut seen);
    assert!(seen > 20, "{seen}");
    // Results stay sorted by place, then rule.
    let places: Vec<(String, u64, u64, String)> = run["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let l = &r["locations"][0]["physicalLocation"];
            (
                l["artifactLocation"]["uri"]
                    .as_str()
                    .expect("uri")
                    .to_string(),
                l["region"]["startLine"].as_u64().expect("line"),
                l["region"]["startColumn"].as_u64().expect("column"),
                r["ruleId"].as_str().expect("ruleId").to_string(),
            )
        })
        .collect();
    let mut sorted = places.clone();
    sorted.sort();
    assert_eq!(places, sorted);
}

//! Fixes, round trip: each fixture is copied to a temporary folder, scanned,
//! fixed, re-parsed and re-scanned. The fixed finding is gone, no finding or
//! error appears that was not there before, and the text keeps its layout
//! (exact results for the layouts that matter). Then SARIF `fixes` against
//! the schema, and `scan --fix` through the real binary on the examples.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use aks_authorized_ips::cli::Format;
use aks_authorized_ips::findings::{Report, Safety};
use aks_authorized_ips::fix::{scan_and_fix, FixRun};
use aks_authorized_ips::ScanOptions;
use serde_json::Value;

use crate::util::{manifest_dir, render, run, scan_in, template_with_ranges, write};

const HOST_BITS: &str = "Azure.AKS.AuthorizedIPs.HostBits";
const REDUNDANT: &str = "Azure.AKS.AuthorizedIPs.Redundant";
const UNRESTRICTED: &str = "Azure.AKS.AuthorizedIPs.Unrestricted";
const AUTHORIZED_IPS: &str = "Azure.AKS.AuthorizedIPs";

fn options(dir: &Path) -> ScanOptions {
    let mut options = ScanOptions::new(vec![dir.to_path_buf()]);
    options.base = dir.to_path_buf();
    options
}

fn fingerprints(report: &Report) -> BTreeSet<(String, String)> {
    report
        .findings()
        .map(|(_, f)| (f.rule_id.to_string(), f.fingerprint.clone()))
        .collect()
}

fn rules(report: &Report) -> Vec<&'static str> {
    report.findings().map(|(_, f)| f.rule_id).collect()
}

/// Writes `files` to a new folder, checks that `rule` is found with a fix of
/// `safety`, applies the fixes (unsafe ones too when `safety` is unsafe) and
/// checks the round trip. Returns the folder and the run.
fn round_trip(files: &[(&str, &str)], rule: &str, safety: Safety) -> (tempfile::TempDir, FixRun) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        write(dir.path(), name, text);
    }
    let before = scan_in(dir.path(), &["."]);
    assert!(before.errors.is_empty(), "{:#?}", before.errors);
    let with_fix: Vec<_> = before
        .findings()
        .filter(|(_, f)| f.rule_id == rule)
        .collect();
    assert!(!with_fix.is_empty(), "no {rule} in {:?}", rules(&before));
    for (_, f) in &with_fix {
        let fix = f
            .fix
            .as_ref()
            .unwrap_or_else(|| panic!("{rule} has no fix: {f:#?}"));
        assert_eq!(fix.safety, safety, "{rule}");
        assert!(!fix.edits.is_empty() && !fix.preview.is_empty());
    }

    let run = scan_and_fix(&options(dir.path()), safety == Safety::Unsafe);
    assert!(run.failed.is_empty(), "{:?}", run.failed);
    assert!(run.skipped.is_empty(), "{:?}", run.skipped);
    assert!(!run.applied.is_empty());
    for (name, _) in files {
        let text = std::fs::read_to_string(dir.path().join(name)).expect("read");
        aks_authorized_ips::parse::parse(&text)
            .unwrap_or_else(|e| panic!("{name} no longer parses ({e}):\n{text}"));
    }
    let after = scan_in(dir.path(), &["."]);
    assert!(after.errors.is_empty(), "{:#?}", after.errors);
    assert_eq!(fingerprints(&after), fingerprints(&run.report));
    assert!(
        !rules(&after).contains(&rule),
        "{rule} is still there: {:#?}",
        after.findings().collect::<Vec<_>>()
    );
    let new: Vec<_> = fingerprints(&after)
        .difference(&fingerprints(&before))
        .cloned()
        .collect();
    assert!(new.is_empty(), "new findings after the fix: {new:?}");
    (dir, run)
}

fn read(dir: &tempfile::TempDir, name: &str) -> String {
    std::fs::read_to_string(dir.path().join(name)).expect("read")
}

/// The template of `template_with_ranges`, with the ranges line replaced.
fn expect_ranges(ranges: &str) -> String {
    template_with_ranges("aks", ranges)
}

#[test]
fn host_bits_writes_the_network_address() {
    let t = template_with_ranges("aks", r#"["137.117.106.90/29", "203.0.113.0/24"]"#);
    let (dir, run) = round_trip(&[("t.json", &t)], HOST_BITS, Safety::Safe);
    assert_eq!(
        read(&dir, "t.json"),
        expect_ranges(r#"["137.117.106.88/29", "203.0.113.0/24"]"#)
    );
    assert_eq!(run.applied.len(), 1);
    assert_eq!(run.files_changed(), 1);
}

#[test]
fn redundant_entries_go_with_one_comma_in_one_line_arrays() {
    for (ranges, fixed) in [
        (
            r#"["203.0.113.0/25", "203.0.113.0/24", "198.51.100.0/24"]"#,
            r#"["203.0.113.0/24", "198.51.100.0/24"]"#,
        ),
        (
            r#"["203.0.113.0/24", "203.0.113.0/25", "198.51.100.0/24"]"#,
            r#"["203.0.113.0/24", "198.51.100.0/24"]"#,
        ),
        (
            r#"["203.0.113.0/24", "198.51.100.0/24", "203.0.113.0/25"]"#,
            r#"["203.0.113.0/24", "198.51.100.0/24"]"#,
        ),
        (
            r#"["203.0.113.0/24", "203.0.113.0/25",]"#,
            r#"["203.0.113.0/24",]"#,
        ),
        (
            r#"["203.0.113.0/24", "203.0.113.0/24", "203.0.113.0/24"]"#,
            r#"["203.0.113.0/24"]"#,
        ),
    ] {
        let t = template_with_ranges("aks", ranges);
        let (dir, _) = round_trip(&[("t.json", &t)], REDUNDANT, Safety::Safe);
        assert_eq!(read(&dir, "t.json"), expect_ranges(fixed), "{ranges}");
    }
}

#[test]
fn redundant_entries_go_with_their_line_in_multi_line_arrays() {
    let list = "[\n            \"203.0.113.0/24\", // office\n            \"203.0.113.128/25\", // inside the office\n            /* CI agents */\n            \"198.51.100.0/24\"\n          ]";
    let t = template_with_ranges("aks", list);
    let (dir, _) = round_trip(&[("t.jsonc", &t)], REDUNDANT, Safety::Safe);
    assert_eq!(
        read(&dir, "t.jsonc"),
        expect_ranges(
            "[\n            \"203.0.113.0/24\", // office\n            /* CI agents */\n            \"198.51.100.0/24\"\n          ]"
        )
    );

    // The last entry: the one before gives up its comma, keeps its comment.
    let list =
        "[\n            \"203.0.113.0/24\", // office\n            \"203.0.113.7\"\n          ]";
    let t = template_with_ranges("aks", list);
    let (dir, _) = round_trip(&[("t.json", &t)], REDUNDANT, Safety::Safe);
    assert_eq!(
        read(&dir, "t.json"),
        expect_ranges("[\n            \"203.0.113.0/24\" // office\n          ]")
    );

    // A trailing comma (JSONC) stays a trailing comma.
    let list = "[\n            \"203.0.113.7\",\n            \"203.0.113.0/24\",\n          ]";
    let t = template_with_ranges("aks", list);
    let (dir, _) = round_trip(&[("t.json", &t)], REDUNDANT, Safety::Safe);
    assert_eq!(
        read(&dir, "t.json"),
        expect_ranges("[\n            \"203.0.113.0/24\",\n          ]")
    );
}

#[test]
fn overlapping_fixes_are_applied_in_later_rounds() {
    // `10.1.2.3/16` has host bits and is inside `10.0.0.0/8`: both fixes
    // touch it; one is applied, then the other on the re-scanned text.
    let t = template_with_ranges("aks", "[\n  \"10.0.0.0/8\",\n  \"10.1.2.3/16\"\n]");
    let (dir, run) = round_trip(&[("t.json", &t)], REDUNDANT, Safety::Safe);
    assert_eq!(
        read(&dir, "t.json"),
        expect_ranges("[\n  \"10.0.0.0/8\"\n]")
    );
    assert!(!rules(&run.report).contains(&HOST_BITS));
}

#[test]
fn crlf_and_a_byte_order_mark_are_kept() {
    let t = template_with_ranges("aks", r#"["203.0.113.0/24", "203.0.113.9/24"]"#);
    let crlf = format!("\u{feff}{}", t.replace('\n', "\r\n"));
    let (dir, _) = round_trip(&[("t.json", &crlf)], HOST_BITS, Safety::Safe);
    let fixed = read(&dir, "t.json");
    assert!(fixed.starts_with('\u{feff}'), "the BOM is kept");
    assert!(!fixed.replace("\r\n", "").contains('\n'), "CRLF only");
    assert!(fixed.contains(r#"["203.0.113.0/24"]"#), "{fixed}");
}

const PROFILE_WITHOUT_RANGES: &str = r#"{
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "resources": [
        {
            "type": "Microsoft.ContainerService/managedClusters",
            "apiVersion": "2024-02-01",
            "name": "aks",
            "properties": {
                // Public on purpose.
                "apiServerAccessProfile": {
                    "enablePrivateCluster": false
                }
            }
        }
    ]
}
"#;

#[test]
fn a_missing_list_is_inserted_into_the_profile() {
    let (dir, run) = round_trip(
        &[("t.json", PROFILE_WITHOUT_RANGES)],
        AUTHORIZED_IPS,
        Safety::Unsafe,
    );
    assert_eq!(
        read(&dir, "t.json"),
        PROFILE_WITHOUT_RANGES.replace(
            "{\n                    \"enablePrivateCluster\"",
            "{\n                    \"authorizedIPRanges\": [\"0.0.0.0/32\"],\n                    \"enablePrivateCluster\""
        )
    );
    assert!(run.applied[0].description.contains("0.0.0.0/32"));
    assert!(run.applied[0].description.contains("administrators"));
}

#[test]
fn a_missing_profile_is_inserted_into_properties() {
    let t = PROFILE_WITHOUT_RANGES.replace(
        "\"apiServerAccessProfile\": {\n                    \"enablePrivateCluster\": false\n                }",
        "\"dnsPrefix\": \"aks\"",
    );
    let (dir, _) = round_trip(&[("t.json", &t)], AUTHORIZED_IPS, Safety::Unsafe);
    assert_eq!(
        read(&dir, "t.json"),
        t.replace(
            "// Public on purpose.\n                \"dnsPrefix\"",
            "// Public on purpose.\n                \"apiServerAccessProfile\": {\n                    \"authorizedIPRanges\": [\"0.0.0.0/32\"]\n                },\n                \"dnsPrefix\""
        )
    );
    // An empty profile gets the list one level deeper than its line.
    let t = PROFILE_WITHOUT_RANGES.replace(
        "{\n                    \"enablePrivateCluster\": false\n                }",
        "{}",
    );
    let (dir, _) = round_trip(&[("t.json", &t)], AUTHORIZED_IPS, Safety::Unsafe);
    assert!(read(&dir, "t.json").contains(
        "\"apiServerAccessProfile\": {\n                    \"authorizedIPRanges\": [\"0.0.0.0/32\"]\n                }"
    ));
}

#[test]
fn empty_and_null_lists_are_replaced_where_they_are_written() {
    for ranges in ["[]", "null", "[ ]"] {
        let t = template_with_ranges("aks", ranges);
        let (dir, _) = round_trip(&[("t.json", &t)], AUTHORIZED_IPS, Safety::Unsafe);
        assert_eq!(read(&dir, "t.json"), expect_ranges(r#"["0.0.0.0/32"]"#));
    }

    // A parameter's default `[]`: the default is what changes.
    let template = std::fs::read_to_string(manifest_dir().join("examples/from-parameters.json"))
        .expect("example");
    let (dir, _) = round_trip(&[("t.json", &template)], AUTHORIZED_IPS, Safety::Unsafe);
    assert_eq!(
        read(&dir, "t.json"),
        template.replace(r#""defaultValue": []"#, r#""defaultValue": ["0.0.0.0/32"]"#)
    );

    // A parameter file's `[]`: the parameter file changes, not the template.
    let parameters = r#"{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "clusterName": { "value": "aks-test" },
    "authorizedIPRanges": { "value": [] }
  }
}
"#;
    let (dir, _) = round_trip(
        &[("t.json", &template), ("t.parameters.json", parameters)],
        AUTHORIZED_IPS,
        Safety::Unsafe,
    );
    assert_eq!(read(&dir, "t.json"), template);
    assert_eq!(
        read(&dir, "t.parameters.json"),
        parameters.replace(r#""value": []"#, r#""value": ["0.0.0.0/32"]"#)
    );
}

#[test]
fn an_unrestricted_list_becomes_the_placeholder() {
    for ranges in [
        r#"["0.0.0.0/0"]"#,
        "[\n    \"0.0.0.0/1\",\n    \"128.0.0.0/1\"\n]",
    ] {
        let t = template_with_ranges("aks", ranges);
        let (dir, run) = round_trip(&[("t.json", &t)], UNRESTRICTED, Safety::Unsafe);
        assert_eq!(read(&dir, "t.json"), expect_ranges(r#"["0.0.0.0/32"]"#));
        assert!(run.applied[0].description.contains("add the networks"));
        assert!(!rules(&run.report).contains(&AUTHORIZED_IPS));
    }
}

#[test]
fn unsafe_fixes_wait_for_unsafe_fixes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = template_with_ranges("aks", r#"["0.0.0.0/0", "10.1.2.3/8"]"#);
    write(dir.path(), "t.json", &t);
    let run = scan_and_fix(&options(dir.path()), false);
    assert_eq!(run.applied.len(), 1, "only HostBits");
    assert_eq!(run.unsafe_left, 1);
    assert!(rules(&run.report).contains(&UNRESTRICTED));
    assert!(read(&dir, "t.json").contains(r#"["0.0.0.0/0", "10.0.0.0/8"]"#));
}

#[test]
fn no_fix_where_the_text_is_not_a_literal_to_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Built by expressions: the entries are not written anywhere as such.
    write(
        dir.path(),
        "computed.json",
        template_with_ranges(
            "computed",
            r#""[concat(createArray('203.0.113.0/24'), createArray('203.0.113.0/24', concat('137.117.106.', '90/29')))]""#,
        ),
    );
    // One variable twice: removing "the second" would remove both.
    let twice = template_with_ranges("twice", r#""[concat(variables('r'), variables('r'))]""#)
        .replace(
            "\"resources\"",
            "\"variables\": {\"r\": [\"203.0.113.0/24\"]},\n  \"resources\"",
        );
    write(dir.path(), "twice.json", twice);
    // An expression that gives an empty list.
    write(
        dir.path(),
        "empty.json",
        template_with_ranges("empty", r#""[createArray()]""#),
    );
    let report = scan_in(dir.path(), &["."]);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let found: Vec<(&str, bool)> = report
        .findings()
        .map(|(_, f)| (f.rule_id, f.fix.is_some()))
        .collect();
    assert!(found.contains(&(HOST_BITS, false)), "{found:?}");
    assert!(found.contains(&(REDUNDANT, false)), "{found:?}");
    assert!(found.contains(&(AUTHORIZED_IPS, false)), "{found:?}");
    assert!(found.iter().all(|(_, fix)| !fix), "{found:?}");
}

#[test]
fn a_file_that_does_not_parse_is_never_touched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = template_with_ranges("aks", r#"["203.0.113.9/24"]"#);
    let broken = template_with_ranges("broken", r#"["203.0.113.9/24",, ]"#);
    write(dir.path(), "good.json", &good);
    write(dir.path(), "broken.json", &broken);
    let run = scan_and_fix(&options(dir.path()), true);
    assert_eq!(read(&dir, "broken.json"), broken);
    assert_eq!(
        read(&dir, "good.json"),
        expect_ranges(r#"["203.0.113.0/24"]"#)
    );
    assert_eq!(
        run.report.errors.len(),
        1,
        "the broken file is still reported"
    );
}

#[test]
fn sarif_fixes_validate_and_mark_the_safety() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "a.json",
        template_with_ranges("a", r#"["203.0.113.9/24", "203.0.113.0/25", "0.0.0.0/0"]"#),
    );
    write(dir.path(), "b.json", PROFILE_WITHOUT_RANGES);
    write(
        dir.path(),
        "c.json",
        template_with_ranges("c", "[\n  \"198.51.100.0/24\",\n  \"198.51.100.7\"\n]"),
    );
    let report = scan_in(dir.path(), &["."]);
    let sarif: Value = serde_json::from_str(&render(&report, Format::Sarif)).expect("JSON");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let mut safeties = BTreeSet::new();
    for result in results {
        let Some(fixes) = result["fixes"].as_array() else {
            continue;
        };
        let fix = &fixes[0];
        assert!(fix["description"]["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty()));
        safeties.insert(
            fix["properties"]["safety"]
                .as_str()
                .expect("safety")
                .to_string(),
        );
        let change = &fix["artifactChanges"][0];
        assert!(change["artifactLocation"]["uri"]
            .as_str()
            .is_some_and(|u| u.ends_with(".json")));
        for r in change["replacements"].as_array().expect("replacements") {
            let region = &r["deletedRegion"];
            for key in ["startLine", "startColumn", "endLine", "endColumn"] {
                assert!(region[key].as_u64().is_some_and(|n| n >= 1), "{r:#}");
            }
            assert!(r["insertedContent"]["text"].is_string(), "{r:#}");
        }
    }
    assert_eq!(
        safeties,
        BTreeSet::from(["safe".to_string(), "unsafe".to_string()])
    );
    // The Missing fix inserts: an empty deleted region.
    let insert = results
        .iter()
        .find(|r| r["ruleId"] == AUTHORIZED_IPS)
        .expect("the missing list");
    let region = &insert["fixes"][0]["artifactChanges"][0]["replacements"][0]["deletedRegion"];
    assert_eq!(region["startLine"], region["endLine"]);
    assert_eq!(region["startColumn"], region["endColumn"]);

    let Ok(text) = std::fs::read_to_string(schema_path()) else {
        println!("skipped: ../shared/schemas/sarif-schema-2.1.0.json not found");
        return;
    };
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF is not valid:\n{}",
        errors.join("\n")
    );
}

fn schema_path() -> PathBuf {
    manifest_dir().join("../shared/schemas/sarif-schema-2.1.0.json")
}

#[test]
fn text_output_shows_the_fix_as_a_diff() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "a.json",
        template_with_ranges("a", r#"["203.0.113.9/24"]"#),
    );
    let text = render(&scan_in(dir.path(), &["."]), Format::Text);
    assert!(
        text.contains(
            "help: Write `203.0.113.0/24`, the network address of `203.0.113.9/24`: it allows the same addresses (safe fix)"
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"12 -           "authorizedIPRanges": ["203.0.113.9/24"]"#),
        "{text}"
    );
    assert!(
        text.contains(r#"12 +           "authorizedIPRanges": ["203.0.113.0/24"]"#),
        "{text}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn snapshot(dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for entry in walk(dir) {
        let text = std::fs::read_to_string(&entry).expect("read");
        let rel = entry
            .strip_prefix(dir)
            .expect("inside")
            .to_string_lossy()
            .replace('\\', "/");
        files.push((rel, text));
    }
    files.sort();
    files
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn scan_fix_fixes_the_safe_findings_in_the_examples() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&manifest_dir().join("examples"), dir.path());
    let before = snapshot(dir.path());

    let (code, stdout, stderr) = run(dir.path(), &["scan", "--fix"]);
    assert_eq!(code, 1, "unsafe findings remain:\n{stdout}\n{stderr}");
    assert!(stderr.contains("Fixed 2 findings in 1 file."), "{stderr}");
    assert!(
        stderr.contains(HOST_BITS) && stderr.contains(REDUNDANT),
        "{stderr}"
    );
    assert!(stderr.contains("--unsafe-fixes"), "{stderr}");
    assert!(!stdout.contains(&format!("[{HOST_BITS}]")), "{stdout}");
    assert!(!stdout.contains(&format!("[{REDUNDANT}]")), "{stdout}");
    assert!(stdout.contains(&format!("[{UNRESTRICTED}]")), "{stdout}");

    let after = snapshot(dir.path());
    assert_eq!(before.len(), after.len(), "no file added or removed");
    for ((name, old), (_, new)) in before.iter().zip(&after) {
        if name == "range-mistakes.jsonc" {
            assert_ne!(old, new);
            assert!(
                new.contains("\"137.117.106.88/29\",   // host bits set"),
                "{new}"
            );
            assert!(!new.contains("203.0.113.128/25"), "{new}");
            assert!(new.contains("// Azure accepts comments"), "comments stay");
        } else {
            assert_eq!(old, new, "{name} must not change");
        }
        if name.ends_with(".json") || name.ends_with(".jsonc") {
            aks_authorized_ips::parse::parse(new).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    // Once more: nothing left to fix safely.
    let (code, _, stderr) = run(dir.path(), &["scan", "--fix"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("Fixed 0 findings in 0 files."), "{stderr}");

    // With the unsafe fixes, no cluster fails on AuthorizedIPs or Unrestricted.
    let (code, stdout, stderr) = run(
        dir.path(),
        &["scan", "--fix", "--unsafe-fixes", "--format", "json"],
    );
    assert!(stderr.contains("Fixed 3 findings in 3 files."), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    let remaining: Vec<&str> = report["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .flat_map(|r| r["findings"].as_array().expect("findings"))
        .map(|f| f["ruleId"].as_str().expect("ruleId"))
        .collect();
    assert!(
        !remaining.contains(&AUTHORIZED_IPS) && !remaining.contains(&UNRESTRICTED),
        "{remaining:?}"
    );
    assert_eq!(
        code, 1,
        "InvalidRange is for a person to fix: {remaining:?}"
    );
}

#[test]
fn unsafe_fixes_needs_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, stderr) = run(dir.path(), &["scan", "--unsafe-fixes"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--fix"), "{stderr}");
}

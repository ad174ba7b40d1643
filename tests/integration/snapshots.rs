//! Each renderer on one shared fixture set, `tests/fixtures/report/`: several
//! finding kinds (InvalidRange, HostBits, Redundant, Broad, NodePublicIP and
//! a missing setting), a parameter-file evaluation, an unknown and a broken
//! template. The real binary runs with CI variables cleared, from the
//! fixtures folder; snapshots live in `tests/snapshots/`.
//!
//! To accept a changed snapshot after reviewing it:
//! `INSTA_UPDATE=always cargo test --test integration snapshots`, then read the
//! `.snap` files before committing them.

use serde_json::Value;

use crate::util::{fixtures, redact, run};

/// Runs `scan report --format FORMAT` and returns its redacted stdout.
fn report_output(format: &str) -> String {
    let (code, stdout, stderr) = run(&fixtures(), &["scan", "report", "--format", format]);
    assert_eq!(code, 2, "the set holds a broken template: {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    redact(&stdout)
}

macro_rules! snapshot_settings {
    ($body:block) => {
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, $body)
    };
}

#[test]
fn text_report_snapshot() {
    let text = report_output("text");
    assert!(!text.contains('\u{1b}'), "no colour in a pipe");
    snapshot_settings!({
        insta::assert_snapshot!("report_text", text);
    });
}

#[test]
fn json_report_snapshot() {
    let json = report_output("json");
    serde_json::from_str::<Value>(&json).expect("valid JSON");
    snapshot_settings!({
        insta::assert_snapshot!("report_json", json);
    });
}

#[test]
fn sarif_report_snapshot() {
    let mut sarif: Value = serde_json::from_str(&report_output("sarif")).expect("valid JSON");
    let driver = &mut sarif["runs"][0]["tool"]["driver"];
    for key in ["version", "semanticVersion"] {
        assert_eq!(driver[key], env!("CARGO_PKG_VERSION"));
        driver[key] = Value::from("[version]");
    }
    // %SRCROOT% is the absolute folder the binary ran in (already redacted
    // when the path needs no percent-encoding; replaced in any case).
    let srcroot = &mut sarif["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"];
    let uri = srcroot.as_str().expect("%SRCROOT% is set");
    assert!(uri.starts_with("file://") && uri.ends_with('/'), "{uri}");
    *srcroot = Value::from("file:///[fixtures]/");
    let driver = &mut sarif["runs"][0]["tool"]["driver"];
    // The rule documentation is long and has its own source files; keep the
    // snapshot about the log's shape and results.
    for rule in driver["rules"].as_array_mut().expect("rules") {
        for key in ["text", "markdown"] {
            assert!(rule["help"][key].as_str().is_some_and(|t| !t.is_empty()));
            rule["help"][key] = Value::from("[rule documentation]");
        }
    }
    snapshot_settings!({
        insta::assert_json_snapshot!("report_sarif", sarif);
    });
}

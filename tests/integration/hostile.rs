//! Hostile input, generated at test time: a file over the size limit, deep
//! nesting, bytes that are not UTF-8 and a UTF-16 file. Each is an error with
//! the file, a line and a column; a good template beside them is still
//! judged; nothing panics; the binary exits 2.

use std::path::Path;

use aks_authorized_ips::findings::{ErrorReport, Outcome, Report};

use crate::util::{run_json, scan_in, template_with_ranges, write};

const SCHEMA: &str =
    "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#";

/// Writes every hostile file and one good template into `dir`.
fn hostile_tree(dir: &Path) {
    // Over 32 MiB, the padding inside a string.
    let mut huge = format!("{{\"$schema\": \"{SCHEMA}\", \"padding\": \"").into_bytes();
    huge.resize(huge.len() + 32 * 1024 * 1024 + 1, b'a');
    huge.extend_from_slice(b"\"}\n");
    write(dir, "huge.json", huge);

    // 100,000 `[` on the second line.
    let deep = format!(
        "{{\"$schema\": \"{SCHEMA}\", \"x\":\n{}",
        "[".repeat(100_000)
    );
    write(dir, "deep.json", deep);

    // A Latin-1 `é` on line 3.
    let mut latin1 = format!("{{\n  \"$schema\": \"{SCHEMA}\",\n  \"name\": \"caf").into_bytes();
    latin1.extend_from_slice(b"\xe9\"\n}\n");
    write(dir, "latin1.json", latin1);

    // UTF-16LE with a byte-order mark.
    let template = template_with_ranges("aks-utf16", r#"["203.0.113.0/24"]"#);
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in template.encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    write(dir, "utf16.json", utf16);

    write(
        dir,
        "good.json",
        template_with_ranges("aks-good", r#"["203.0.113.0/24"]"#),
    );
}

fn error<'r>(report: &'r Report, file: &str) -> &'r ErrorReport {
    report
        .errors
        .iter()
        .find(|e| e.file == file)
        .unwrap_or_else(|| panic!("no error for {file}: {:#?}", report.errors))
}

#[test]
fn hostile_files_are_errors_with_places_and_the_good_template_is_still_judged() {
    let dir = tempfile::tempdir().expect("tempdir");
    hostile_tree(dir.path());
    let report = scan_in(dir.path(), &["."]);

    assert_eq!(report.errors.len(), 4, "{:#?}", report.errors);

    let huge = error(&report, "huge.json");
    assert!(
        huge.message.contains("32 MiB limit") && huge.message.contains("not scanned"),
        "{}",
        huge.message
    );
    assert_eq!((huge.line, huge.column), (1, 1));

    let deep = error(&report, "deep.json");
    assert!(deep.message.contains("nesting"), "{}", deep.message);
    // The object is level 1; the 512th `[` is level 513, one too many.
    assert_eq!((deep.line, deep.column), (2, 512));

    let latin1 = error(&report, "latin1.json");
    assert!(
        latin1.message.contains("not valid UTF-8"),
        "{}",
        latin1.message
    );
    assert_eq!((latin1.line, latin1.column), (3, 15));

    let utf16 = error(&report, "utf16.json");
    assert!(utf16.message.contains("UTF-16"), "{}", utf16.message);
    assert_eq!((utf16.line, utf16.column), (1, 1));

    assert_eq!(report.resources.len(), 1, "{:#?}", report.resources);
    assert_eq!(report.resources[0].file, "good.json");
    assert_eq!(report.resources[0].outcome, Outcome::Pass);
}

#[test]
fn the_binary_reports_hostile_files_and_exits_2_without_panicking() {
    let dir = tempfile::tempdir().expect("tempdir");
    hostile_tree(dir.path());
    let (code, json) = run_json(dir.path(), &["scan"]);
    assert_eq!(code, 2);
    let mut files: Vec<&str> = json["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["file"].as_str().expect("file"))
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["deep.json", "huge.json", "latin1.json", "utf16.json"]
    );
    assert_eq!(json["resources"][0]["file"], "good.json");
    assert_eq!(json["resources"][0]["outcome"], "pass");
}

#[test]
fn hostile_files_that_are_not_templates_are_skipped_silently() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut huge = b"{\"padding\": \"".to_vec();
    huge.resize(huge.len() + 32 * 1024 * 1024 + 1, b'a');
    huge.extend_from_slice(b"\"}\n");
    write(dir.path(), "huge-data.json", huge);
    write(dir.path(), "deep-data.json", "[".repeat(100_000));
    write(dir.path(), "latin1-data.json", b"{\"name\": \"caf\xe9\"}\n");
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("{\"a\": 1}".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    write(dir.path(), "utf16-data.json", utf16);
    let report = scan_in(dir.path(), &["."]);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(report.stats.files_read, 4);
}

#[test]
fn nesting_just_under_the_limit_is_read() {
    // A template nested 500 levels deep inside `metadata` still works.
    let dir = tempfile::tempdir().expect("tempdir");
    let template = template_with_ranges("aks-deep", r#"["203.0.113.0/24"]"#).replacen(
        "\"contentVersion\"",
        &format!(
            "\"metadata\": {}{},\n  \"contentVersion\"",
            "[".repeat(500),
            "]".repeat(500)
        ),
        1,
    );
    write(dir.path(), "deep-ok.json", template);
    let report = scan_in(dir.path(), &["deep-ok.json"]);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(report.resources[0].outcome, Outcome::Pass);
}

#[test]
fn unclosed_strings_comments_and_containers_are_errors_at_their_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let head = format!("{{\n  \"$schema\": \"{SCHEMA}\",\n");
    write(
        dir.path(),
        "string.json",
        format!("{head}  \"x\": \"never closed\n}}\n"),
    );
    write(
        dir.path(),
        "comment.json",
        format!("{head}  /* never closed\n"),
    );
    write(dir.path(), "array.json", format!("{head}  \"x\": [1, 2\n"));
    let report = scan_in(dir.path(), &["."]);
    let places: Vec<(&str, u32, u32)> = report
        .errors
        .iter()
        .map(|e| (e.file.as_str(), e.line, e.column))
        .collect();
    assert_eq!(
        places,
        [
            ("array.json", 3, 8),
            ("comment.json", 3, 3),
            ("string.json", 3, 8)
        ]
    );
}

//! The real binary, run the way a user or a CI job runs it: CI variables
//! cleared, the current directory set, exit codes and output checked.

use std::path::Path;

use crate::util::{bin, fixtures, json_files, run, run_json, template_with_ranges, write};

const PASSING: &[&str] = &[
    "rules/pass.json",
    "rules/pass-outbound-only.json",
    "structure/language-v2.json",
];

fn passing_template(name: &str) -> String {
    template_with_ranges(name, r#"["203.0.113.0/24"]"#)
}

fn failing_template(name: &str) -> String {
    template_with_ranges(name, "[]")
}

// --- exit codes -------------------------------------------------------------

#[test]
fn exit_code_is_0_when_every_cluster_passes() {
    let mut args = vec!["scan"];
    args.extend(PASSING);
    let (code, stdout, _) = run(&fixtures(), &args);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("3 pass"), "{stdout}");
}

#[test]
fn exit_code_is_1_on_an_error_level_finding() {
    let (code, stdout, _) = run(&fixtures(), &["scan", "rules/empty-ranges.json"]);
    assert_eq!(code, 1, "{stdout}");
}

#[test]
fn warnings_fail_only_with_fail_on_warning_or_note() {
    // host-bits.json has one warning and nothing else.
    let file = "rules/host-bits.json";
    let code = |fail_on: &str| run(&fixtures(), &["scan", file, "--fail-on", fail_on]).0;
    assert_eq!(run(&fixtures(), &["scan", file]).0, 0, "default is error");
    assert_eq!(code("error"), 0);
    assert_eq!(code("warning"), 1);
    assert_eq!(code("note"), 1);
    assert_eq!(code("never"), 0);
}

#[test]
fn notes_fail_only_with_fail_on_note() {
    // redundant.json has notes and nothing else.
    let file = "rules/redundant.json";
    let code = |fail_on: &str| run(&fixtures(), &["scan", file, "--fail-on", fail_on]).0;
    assert_eq!(code("error"), 0);
    assert_eq!(code("warning"), 0);
    assert_eq!(code("note"), 1);
    assert_eq!(code("never"), 0);
}

#[test]
fn fail_on_never_exits_0_despite_errors() {
    let (code, _, _) = run(
        &fixtures(),
        &["scan", "rules/empty-ranges.json", "--fail-on", "never"],
    );
    assert_eq!(code, 0);
}

#[test]
fn a_broken_template_exits_2_even_with_fail_on_never() {
    let (code, _, _) = run(&fixtures(), &["scan", "broken", "--fail-on", "never"]);
    assert_eq!(code, 2);
}

#[test]
fn a_missing_path_exits_2_and_the_other_paths_are_still_scanned() {
    let (code, json) = run_json(&fixtures(), &["scan", "no/such/dir", "rules/pass.json"]);
    assert_eq!(code, 2);
    assert_eq!(json_files(&json), ["rules/pass.json"]);
    assert_eq!(json["resources"][0]["outcome"], "pass");
    let errors = json["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["file"], "no/such/dir");
    assert!(errors[0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("no such file")));

    let (code, stdout, _) = run(&fixtures(), &["scan", "no/such/dir", "rules/pass.json"]);
    assert_eq!(code, 2);
    assert!(stdout.contains("no/such/dir"), "{stdout}");
}

#[test]
fn a_broken_template_exits_2_and_the_other_files_are_still_judged_and_reported() {
    let (code, json) = run_json(&fixtures(), &["scan", "broken", "rules"]);
    assert_eq!(code, 2);
    let files = json_files(&json);
    assert!(files.contains(&"rules/pass.json".to_string()), "{files:#?}");
    assert!(
        files.contains(&"rules/empty-ranges.json".to_string()),
        "{files:#?}"
    );
    let errors = json["errors"].as_array().expect("errors");
    assert_eq!(
        errors.len(),
        1,
        "only the template is an error: {errors:#?}"
    );
    assert_eq!(errors[0]["file"], "broken/invalid-template.json");
    assert_eq!(errors[0]["line"], 8);
    assert_eq!(errors[0]["column"], 7);

    // Text output reports the error with its place, and the findings too.
    let (code, stdout, _) = run(&fixtures(), &["scan", "broken", "rules"]);
    assert_eq!(code, 2);
    assert!(
        stdout.contains("error: broken/invalid-template.json:8:7: not valid JSON"),
        "{stdout}"
    );
    assert!(stdout.contains("rules/empty-ranges.json:12:33"), "{stdout}");
}

#[test]
fn bad_arguments_exit_2() {
    let (code, _, stderr) = run(&fixtures(), &["scan", "--no-such-flag"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = run(&fixtures(), &["scan", "--fail-on", "sometimes"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = run(&fixtures(), &["scan", "--broad-prefix", "0"]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn an_invalid_glob_exits_2_with_a_message_naming_it() {
    for flag in ["--include", "--exclude"] {
        let (code, stdout, stderr) = run(&fixtures(), &["scan", flag, "[abc"]);
        assert_eq!(code, 2, "{stdout}{stderr}");
        assert!(
            stderr.contains(flag) && stderr.contains("[abc") && stderr.contains("not a valid glob"),
            "{stderr}"
        );
        assert!(stdout.is_empty(), "no report on bad arguments: {stdout}");
    }
}

#[test]
fn the_broad_prefix_flag_moves_the_threshold() {
    let broad = |args: &[&str]| -> usize {
        let mut all = vec!["scan", "rules/broad.json"];
        all.extend(args);
        let (_, json) = run_json(&fixtures(), &all);
        json["resources"][0]["findings"]
            .as_array()
            .expect("findings")
            .len()
    };
    assert_eq!(broad(&[]), 1);
    assert_eq!(broad(&["--broad-prefix", "16"]), 2);
    assert_eq!(broad(&["--broad-prefix", "7"]), 0);
}

// --- the JSON contract ------------------------------------------------------

fn keys(value: &serde_json::Value) -> Vec<&str> {
    value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn json_output_follows_the_version_1_contract() {
    let (code, json) = run_json(&fixtures(), &["scan", "report"]);
    assert_eq!(code, 2, "report/ holds a broken template");
    assert_eq!(
        keys(&json),
        [
            "version",
            "resources",
            "errors",
            "notices",
            "suppressedFindings"
        ]
    );
    assert_eq!(json["version"], 1);

    let resources = json["resources"].as_array().expect("resources");
    assert_eq!(resources.len(), 3);
    for r in resources {
        assert_eq!(
            keys(r),
            [
                "file",
                "parameterFile",
                "name",
                "type",
                "line",
                "outcome",
                "reason",
                "findings"
            ]
        );
        assert!(r["file"].is_string() && r["name"].is_string() && r["type"].is_string());
        assert!(r["line"].as_u64().is_some_and(|l| l >= 1));
        assert!(r["parameterFile"].is_string() || r["parameterFile"].is_null());
        let outcome = r["outcome"].as_str().expect("outcome");
        assert!(["pass", "fail", "not-applicable", "unknown"].contains(&outcome));
        assert_eq!(r["reason"].is_string(), outcome == "unknown", "{r:#}");
        for f in r["findings"].as_array().expect("findings") {
            assert_eq!(
                keys(f),
                [
                    "ruleId",
                    "level",
                    "message",
                    "file",
                    "line",
                    "column",
                    "endLine",
                    "endColumn",
                    "fingerprint",
                    "suppressed",
                    "fix",
                    "example"
                ]
            );
            // Every finding says what to change: a fix, or the example.
            assert!(
                f["fix"].is_null() != f["example"].is_null(),
                "exactly one of fix and example: {f}"
            );
            assert!(f["suppressed"].is_null(), "nothing is suppressed here");
            if !f["fix"].is_null() {
                assert!(f["fix"]["description"].is_string());
                assert!(["safe", "unsafe"].contains(&f["fix"]["safety"].as_str().expect("safety")));
            }
            assert!(f["ruleId"]
                .as_str()
                .is_some_and(|id| id.starts_with("Azure.AKS.AuthorizedIPs")));
            assert!(["error", "warning", "note"].contains(&f["level"].as_str().expect("level")));
            assert!(f["line"].as_u64().is_some_and(|l| l >= 1));
            assert!(f["column"].as_u64().is_some_and(|c| c >= 1));
        }
    }
    // A parameter-file evaluation and one judged alone.
    assert_eq!(resources[0]["parameterFile"], "report/aks.parameters.json");
    assert!(resources[2]["parameterFile"].is_null());
    assert!(resources[2]["reason"]
        .as_str()
        .is_some_and(|r| r.contains("parameter `ranges` has no value")));

    let errors = json["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1);
    assert_eq!(keys(&errors[0]), ["file", "line", "column", "message"]);
    assert_eq!(errors[0]["file"], "report/broken.json");
}

// --- paths ----------------------------------------------------------------

#[test]
fn paths_are_relative_to_the_current_directory_with_forward_slashes() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "sub/dir/x.json", failing_template("aks-x"));
    for arg in ["sub/dir", "./sub/dir/", "sub/dir/x.json", "sub/../sub/dir"] {
        let (code, json) = run_json(dir.path(), &["scan", arg]);
        assert_eq!(code, 1, "{arg}");
        assert_eq!(json_files(&json), ["sub/dir/x.json"], "{arg}");
        let finding = &json["resources"][0]["findings"][0];
        assert_eq!(finding["file"], "sub/dir/x.json", "{arg}");
    }
    // The default path is the current directory.
    let (_, json) = run_json(dir.path(), &["scan"]);
    assert_eq!(json_files(&json), ["sub/dir/x.json"]);
    // From inside the folder.
    let (_, json) = run_json(&dir.path().join("sub"), &["scan", "dir"]);
    assert_eq!(json_files(&json), ["dir/x.json"]);
}

#[test]
fn paths_outside_the_current_directory_are_shown_as_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "infra/x.json", failing_template("aks-x"));
    std::fs::create_dir_all(dir.path().join("tools")).expect("mkdir");
    let (_, json) = run_json(&dir.path().join("tools"), &["scan", "../infra"]);
    assert_eq!(json_files(&json), ["../infra/x.json"]);
}

#[test]
fn github_workspace_makes_paths_relative_to_the_workspace() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "infra/aks/x.json", failing_template("aks-x"));
    let inside = dir.path().join("infra");
    for var in ["GITHUB_WORKSPACE", "BUILD_SOURCESDIRECTORY"] {
        let output = bin(&inside)
            .env(var, dir.path())
            .args(["scan", "aks", "--format", "json"])
            .output()
            .expect("runs");
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
        assert_eq!(json_files(&json), ["infra/aks/x.json"], "{var}");
    }
    // A workspace that does not exist is ignored.
    let output = bin(&inside)
        .env("GITHUB_WORKSPACE", dir.path().join("nowhere"))
        .args(["scan", "aks", "--format", "json"])
        .output()
        .expect("runs");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json_files(&json), ["aks/x.json"]);
}

#[test]
fn sarif_uris_are_relative_to_the_current_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "sub/dir/x.json", failing_template("aks-x"));
    let (code, stdout, _) = run(dir.path(), &["scan", "sub/dir", "--format", "sarif"]);
    assert_eq!(code, 1);
    let sarif: serde_json::Value = serde_json::from_str(&stdout).expect("SARIF is JSON");
    let uri = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
        ["artifactLocation"]["uri"];
    assert_eq!(uri, "sub/dir/x.json");
}

// --- output ---------------------------------------------------------------

#[test]
fn the_output_flag_writes_the_report_to_the_file_and_nothing_to_stdout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("report.json");
    for format in ["json", "sarif", "text"] {
        let target_arg = target.to_str().expect("UTF-8 temp path");
        let output = bin(&fixtures())
            .args([
                "scan",
                "rules/empty-ranges.json",
                "--format",
                format,
                "--output",
                target_arg,
            ])
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(1), "{format}");
        assert!(output.stdout.is_empty(), "{format}: stdout must be empty");
        let written = std::fs::read_to_string(&target).expect("the report was written");
        assert!(
            written.contains("rules/empty-ranges.json"),
            "{format}: {written}"
        );
        if format != "text" {
            serde_json::from_str::<serde_json::Value>(&written).expect("valid JSON");
        }
    }
}

#[test]
fn an_output_file_that_cannot_be_written_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("no/such/folder/report.json");
    let (code, _, stderr) = run(
        &fixtures(),
        &[
            "scan",
            "rules/pass.json",
            "--output",
            target.to_str().expect("UTF-8"),
        ],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot write the report"), "{stderr}");
}

#[test]
fn text_output_shows_file_line_column_and_the_offending_line() {
    let (code, stdout, _) = run(&fixtures(), &["scan", "rules/host-bits.json"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("warning[Azure.AKS.AuthorizedIPs.HostBits]"),
        "{stdout}"
    );
    assert!(stdout.contains("rules/host-bits.json:12:52"), "{stdout}");
    assert!(
        stdout.contains(
            r#"12 |           "authorizedIPRanges": ["203.0.113.0/24", "137.117.106.90/29"]"#
        ),
        "the offending line is shown: {stdout}"
    );
    // The underline sits under the entry.
    let caret_line = stdout
        .lines()
        .find(|l| l.contains('^'))
        .expect("an underline");
    let carets = caret_line.trim_start_matches([' ', '|']);
    assert_eq!(
        carets,
        "^".repeat("\"137.117.106.90/29\"".len()),
        "{caret_line}"
    );
    assert!(stdout.contains("Summary:"), "{stdout}");
}

#[test]
fn text_output_is_not_coloured_when_piped_and_no_color_beats_clicolor_force() {
    let (_, plain, _) = run(&fixtures(), &["scan", "rules/empty-ranges.json"]);
    assert!(!plain.contains('\u{1b}'), "no escape codes in a pipe");

    let forced = bin(&fixtures())
        .env("CLICOLOR_FORCE", "1")
        .args(["scan", "rules/empty-ranges.json"])
        .output()
        .expect("runs");
    let forced = String::from_utf8(forced.stdout).expect("UTF-8");
    assert!(
        forced.contains("\u{1b}["),
        "CLICOLOR_FORCE colours: {forced:?}"
    );

    let both = bin(&fixtures())
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .args(["scan", "rules/empty-ranges.json"])
        .output()
        .expect("runs");
    let both = String::from_utf8(both.stdout).expect("UTF-8");
    assert_eq!(both, plain, "NO_COLOR wins");
}

#[test]
fn json_and_sarif_output_are_never_coloured() {
    for format in ["json", "sarif"] {
        let output = bin(&fixtures())
            .env("CLICOLOR_FORCE", "1")
            .args(["scan", "rules/empty-ranges.json", "--format", format])
            .output()
            .expect("runs");
        let stdout = String::from_utf8(output.stdout).expect("UTF-8");
        assert!(!stdout.contains('\u{1b}'), "{format}");
        serde_json::from_str::<serde_json::Value>(&stdout).expect("valid JSON");
    }
}

// --- filters ----------------------------------------------------------------

/// A tree with files at several depths, each a failing template.
fn filter_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for rel in [
        "infra/aks.json",
        "infra/aks.generated.json",
        "infra/nested/deep.json",
        "other/aks.json",
        "other/deep.json",
    ] {
        write(dir.path(), rel, failing_template("aks"));
    }
    dir
}

fn scanned(dir: &Path, args: &[&str]) -> Vec<String> {
    let mut all = vec!["scan"];
    all.extend(args);
    let (_, json) = run_json(dir, &all);
    json_files(&json)
}

#[test]
fn an_include_pattern_with_a_slash_matches_the_path_and_star_stays_in_one_folder() {
    let dir = filter_tree();
    assert_eq!(
        scanned(dir.path(), &["--include", "infra/*.json"]),
        ["infra/aks.generated.json", "infra/aks.json"]
    );
    assert_eq!(
        scanned(dir.path(), &["--include", "infra/**/*.json"]),
        [
            "infra/aks.generated.json",
            "infra/aks.json",
            "infra/nested/deep.json"
        ]
    );
    assert_eq!(
        scanned(dir.path(), &["--include", "./other/*.json"]),
        ["other/aks.json", "other/deep.json"],
        "a leading ./ is ignored"
    );
}

#[test]
fn an_include_pattern_without_a_slash_matches_the_file_name_in_any_folder() {
    let dir = filter_tree();
    assert_eq!(
        scanned(dir.path(), &["--include", "deep.json"]),
        ["infra/nested/deep.json", "other/deep.json"]
    );
}

#[test]
fn exclude_patterns_drop_files_and_win_over_include() {
    let dir = filter_tree();
    assert_eq!(
        scanned(
            dir.path(),
            &["--exclude", "*.generated.json", "--exclude", "other/*"]
        ),
        ["infra/aks.json", "infra/nested/deep.json"]
    );
    assert_eq!(
        scanned(
            dir.path(),
            &["--include", "infra/**/*.json", "--exclude", "deep.json"]
        ),
        ["infra/aks.generated.json", "infra/aks.json"]
    );
}

#[test]
fn gitignored_files_are_not_scanned_even_outside_a_git_repository() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), ".gitignore", "ignored/\nskip.json\n");
    write(
        dir.path(),
        "ignored/aks.json",
        failing_template("aks-ignored"),
    );
    write(dir.path(), "sub/skip.json", failing_template("aks-skipped"));
    write(dir.path(), "sub/kept.json", passing_template("aks-kept"));
    let (code, json) = run_json(dir.path(), &["scan"]);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json_files(&json), ["sub/kept.json"]);
}

#[test]
fn a_file_named_on_the_command_line_is_scanned_even_when_gitignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), ".gitignore", "skip.json\n");
    write(dir.path(), "skip.json", failing_template("aks-skipped"));
    let (code, json) = run_json(dir.path(), &["scan", "skip.json"]);
    assert_eq!(code, 1);
    assert_eq!(json_files(&json), ["skip.json"]);
}

#[test]
fn only_json_and_jsonc_files_are_read_from_folders() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a.json", failing_template("aks-a"));
    write(dir.path(), "b.jsonc", failing_template("aks-b"));
    write(dir.path(), "c.txt", failing_template("aks-c"));
    write(
        dir.path(),
        "d.bicep",
        "resource aks 'Microsoft.ContainerService/managedClusters@2024-02-01' = {}",
    );
    let (_, json) = run_json(dir.path(), &["scan"]);
    assert_eq!(json_files(&json), ["a.json", "b.jsonc"]);
}

// --- help and version -----------------------------------------------------

#[test]
fn version_prints_the_crate_version() {
    let (code, stdout, _) = run(&fixtures(), &["--version"]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout.trim(),
        format!("aks-authorized-ips {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_lists_the_flags_and_the_exit_codes() {
    let (code, stdout, _) = run(&fixtures(), &["--help"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("scan"), "{stdout}");
    assert!(stdout.contains("Exit codes"), "{stdout}");

    let (code, stdout, _) = run(&fixtures(), &["scan", "--help"]);
    assert_eq!(code, 0);
    for text in [
        "--format",
        "--output",
        "--include",
        "--exclude",
        "--fail-on",
        "--broad-prefix",
        "Exit codes",
    ] {
        assert!(stdout.contains(text), "scan --help lacks {text}: {stdout}");
    }
}

//! The binary in GitHub Actions: workflow-command annotations, the job
//! summary appended to `GITHUB_STEP_SUMMARY`, the outputs in `GITHUB_OUTPUT`,
//! and nothing of it when detection is off.

use std::path::{Path, PathBuf};

use crate::util::{bin, fixtures, template_with_ranges, write};

/// A run inside a fake GitHub Actions job: its summary and outputs files.
struct Job {
    dir: tempfile::TempDir,
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
    summary: String,
    outputs: String,
}

impl Job {
    fn new() -> Self {
        Job {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn summary_path(&self) -> PathBuf {
        self.dir.path().join("step_summary.md")
    }

    fn output_path(&self) -> PathBuf {
        self.dir.path().join("github_output")
    }

    /// Runs `scan` in `workspace` with `GITHUB_ACTIONS=true` unless `actions`
    /// is false (the other variables are set either way).
    fn run_with(&self, workspace: &Path, args: &[&str], actions: bool) -> Outcome {
        let mut cmd = bin(workspace);
        if actions {
            cmd.env("GITHUB_ACTIONS", "true");
        }
        cmd.env("GITHUB_WORKSPACE", workspace)
            .env("GITHUB_STEP_SUMMARY", self.summary_path())
            .env("GITHUB_OUTPUT", self.output_path())
            .arg("scan")
            .args(args);
        let output = cmd.output().expect("the binary runs");
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        let stderr = String::from_utf8(output.stderr).expect("UTF-8");
        assert!(!stderr.contains("panicked"), "{stderr}");
        Outcome {
            code: output.status.code().expect("exit code"),
            stdout: String::from_utf8(output.stdout).expect("UTF-8"),
            stderr,
            summary: read(self.summary_path()),
            outputs: read(self.output_path()),
        }
    }

    fn run(&self, workspace: &Path, args: &[&str]) -> Outcome {
        self.run_with(workspace, args, true)
    }
}

const MIXED: &[&str] = &[
    "rules/empty-ranges.json",
    "rules/host-bits.json",
    "rules/unknown-ranges.json",
    "rules/pass.json",
];

/// Lines the runner reads as workflow commands: it trims leading
/// whitespace, then looks for `::`.
fn workflow_commands(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("::"))
        .collect()
}

#[test]
fn annotations_point_at_the_finding() {
    let job = Job::new();
    let mut args = MIXED.to_vec();
    args.extend(["--output", "/dev/null"]);
    let out = job.run(&fixtures(), &args);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let commands = workflow_commands(&out.stdout);
    assert_eq!(commands.len(), 2, "{}", out.stdout);
    assert!(
        commands[0].starts_with(
            "::error file=rules/empty-ranges.json,line=12,col=33,endLine=12,endColumn=34,\
             title=Azure.AKS.AuthorizedIPs::AKS cluster `aks-empty`"
        ),
        "{}",
        commands[0]
    );
    assert!(
        commands[1].starts_with(
            "::warning file=rules/host-bits.json,line=12,col=52,endLine=12,endColumn=70,\
             title=Azure.AKS.AuthorizedIPs.HostBits::"
        ),
        "{}",
        commands[1]
    );
    // Multi-line messages stay on one line.
    assert!(commands[0].contains("%0AMore: aks-authorized-ips explain Azure.AKS.AuthorizedIPs"));
}

#[test]
fn notes_are_notices_and_errors_are_annotated() {
    let job = Job::new();
    let out = job.run(&fixtures(), &["rules/redundant.json", "broken"]);
    let commands = workflow_commands(&out.stdout);
    assert!(
        commands
            .iter()
            .any(|c| c.starts_with("::notice file=rules/redundant.json,line=15,col=13,")),
        "{}",
        out.stdout
    );
    assert!(
        commands
            .iter()
            .any(|c| c.starts_with("::error file=broken/")
                && c.contains(",title=aks-authorized-ips::")),
        "{}",
        out.stdout
    );
    assert!(out.summary.contains("### Errors"), "{}", out.summary);
}

#[test]
fn the_text_report_and_the_annotations_share_stdout() {
    let job = Job::new();
    let out = job.run(&fixtures(), &["rules/empty-ranges.json"]);
    assert!(out.stdout.contains("error[Azure.AKS.AuthorizedIPs]"));
    assert_eq!(workflow_commands(&out.stdout).len(), 1, "{}", out.stdout);
}

#[test]
fn sarif_on_stdout_stays_valid_json_and_annotations_go_to_stderr() {
    let job = Job::new();
    let mut args = MIXED.to_vec();
    args.extend(["--format", "sarif"]);
    let out = job.run(&fixtures(), &args);
    let sarif: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", out.stdout));
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(workflow_commands(&out.stderr).len(), 2, "{}", out.stderr);
    assert!(out.summary.contains("## aks-authorized-ips"));
}

#[test]
fn hostile_text_cannot_forge_workflow_commands() {
    let job = Job::new();
    let ws = tempfile::tempdir().expect("temp dir");
    let name = "evil%25\\r\\n::error file=x::pwned,title=t:x";
    // A file name with `%`, CR, LF, `,` and `:`, which would end a property
    // value or the command.
    write(
        ws.path(),
        "infra/a%0A,b:c\r\n::error file=y::forged.json",
        template_with_ranges(name, "[]"),
    );
    let out = job.run(ws.path(), &["infra", "--output", "/dev/null"]);
    let commands = workflow_commands(&out.stdout);
    assert_eq!(
        commands.len(),
        1,
        "one annotation, no forged one:\n{}",
        out.stdout
    );
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    let c = commands[0];
    assert!(
        c.starts_with(
            "::error file=infra/a%250A%2Cb%3Ac%0D%0A%3A%3Aerror file=y%3A%3Aforged.json,line=12,"
        ),
        "{c}"
    );
    // The rules already show line breaks in names as spaces; `%` is escaped
    // and `::` in the message cannot end anything.
    assert!(
        c.contains("`evil%2525  ::error file=x::pwned,title=t:x`"),
        "{c}"
    );
}

#[test]
fn summary_has_counts_rows_and_how_to_fix() {
    let job = Job::new();
    let out = job.run(&fixtures(), MIXED);
    let s = &out.summary;
    assert!(s.starts_with("## aks-authorized-ips\n"), "{s}");
    for row in [
        "| pass | 2 |",
        "| fail | 1 |",
        "| not-applicable | 0 |",
        "| unknown | 1 |",
        "| error | 1 |",
        "| warning | 1 |",
        "| note | 0 |",
        "| suppressed | 0 |",
    ] {
        assert!(s.contains(row), "missing {row:?} in:\n{s}");
    }
    assert!(
        s.contains(
            "| rules\\/empty\\-ranges\\.json:12 | aks\\-empty | ` Azure.AKS.AuthorizedIPs ` |"
        ),
        "{s}"
    );
    assert!(s.contains("aks\\-unknown\\-ranges | | unknown: "), "{s}");
    assert!(s.contains("### How to fix"), "{s}");
    assert!(
        s.contains("#### ` Azure.AKS.AuthorizedIPs.HostBits `"),
        "{s}"
    );
    assert!(s.contains("```json\n"), "the ARM example: {s}");
    assert!(s.contains("` aks-authorized-ips explain Azure.AKS.AuthorizedIPs `"));
}

#[test]
fn summary_escapes_template_text() {
    let job = Job::new();
    let ws = tempfile::tempdir().expect("temp dir");
    let name = "@org/admins [x](https://evil.example) <img src=x>";
    write(
        ws.path(),
        "infra/@team [y](http:x).json",
        template_with_ranges(name, "[]"),
    );
    let out = job.run(ws.path(), &["infra"]);
    let s = &out.summary;
    assert!(s.contains("@\u{200B}org"), "{s}");
    assert!(!s.contains("@org"), "{s}");
    assert!(!s.contains("@team"), "{s}");
    assert!(!s.contains("](http"), "{s}");
    // markdown::escape writes `\<`, which GitHub shows as a plain `<`.
    assert!(s.contains("\\<img src\\=x\\>"), "{s}");
    assert!(
        !s.match_indices("<img")
            .any(|(i, _)| !s[..i].ends_with('\\')),
        "an unescaped <img: {s}"
    );
}

#[test]
fn summary_and_outputs_are_appended() {
    let job = Job::new();
    std::fs::write(job.summary_path(), "# Earlier step\n\n").expect("write");
    std::fs::write(job.output_path(), "earlier=1\n").expect("write");
    job.run(&fixtures(), MIXED);
    let out = job.run(&fixtures(), MIXED);
    assert!(out
        .summary
        .starts_with("# Earlier step\n\n## aks-authorized-ips\n"));
    assert_eq!(out.summary.matches("## aks-authorized-ips\n").count(), 2);
    assert!(out.outputs.starts_with("earlier=1\n"), "{}", out.outputs);
}

#[test]
fn outputs_count_findings_and_clusters() {
    let job = Job::new();
    let out = job.run(&fixtures(), MIXED);
    assert_eq!(
        out.outputs,
        "findings=2\nfailed-clusters=1\nunknown-clusters=1\n"
    );
    // Suppressed findings do not count; an all-pass scan has zeros.
    let job = Job::new();
    let out = job.run(&fixtures(), &["rules/pass.json"]);
    assert_eq!(
        out.outputs,
        "findings=0\nfailed-clusters=0\nunknown-clusters=0\n"
    );
    assert!(workflow_commands(&out.stdout).is_empty());
}

#[test]
fn nothing_is_written_outside_actions_or_when_turned_off() {
    let job = Job::new();
    let out = job.run_with(&fixtures(), MIXED, false);
    assert!(workflow_commands(&out.stdout).is_empty(), "{}", out.stdout);
    assert!(!job.summary_path().exists());
    assert!(!job.output_path().exists());

    let out = job.run(&fixtures(), &[MIXED, &["--ci-output", "none"]].concat());
    assert!(workflow_commands(&out.stdout).is_empty(), "{}", out.stdout);
    assert!(!job.summary_path().exists());
    assert!(!job.output_path().exists());
}

#[test]
fn github_output_can_be_forced_and_missing_files_are_skipped() {
    let job = Job::new();
    let out = bin(&fixtures())
        .env("GITHUB_WORKSPACE", fixtures())
        .args(["scan", "rules/empty-ranges.json", "--ci-output", "github"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    assert_eq!(workflow_commands(&stdout).len(), 1, "{stdout}");
    assert!(
        out.stderr.is_empty(),
        "no warning when the files are not set"
    );
    assert!(!job.summary_path().exists());
}

#[test]
fn the_summary_table_is_capped() {
    let job = Job::new();
    let ws = tempfile::tempdir().expect("temp dir");
    let resources: Vec<String> = (0..230)
        .map(|i| {
            format!(
                r#"{{"type": "Microsoft.ContainerService/managedClusters",
                   "apiVersion": "2024-02-01", "name": "aks-{i}", "location": "westeurope",
                   "properties": {{"apiServerAccessProfile": {{"authorizedIPRanges": []}}}}}}"#
            )
        })
        .collect();
    let template = format!(
        r#"{{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
           "contentVersion": "1.0.0.0", "resources": [{}]}}"#,
        resources.join(",")
    );
    write(ws.path(), "many.json", template);
    let out = job.run(ws.path(), &["many.json", "--output", "/dev/null"]);
    assert_eq!(
        workflow_commands(&out.stdout).len(),
        230,
        "annotations are all written"
    );
    let rows = out
        .summary
        .lines()
        .filter(|l| l.starts_with("| many"))
        .count();
    assert_eq!(rows, 200, "{}", out.summary);
    assert!(
        out.summary.contains("30 more rows left out"),
        "{}",
        out.summary
    );
    assert!(
        out.outputs.contains("failed-clusters=230\n"),
        "{}",
        out.outputs
    );
}

#[test]
fn a_line_break_in_a_file_name_cannot_start_a_command_in_any_output() {
    let ws = tempfile::tempdir().expect("temp dir");
    let file = "infra/a\n  ::error file=y::forged.json";
    write(
        ws.path(),
        file,
        template_with_ranges("aks", r#"["10.0.0.1/8"]"#),
    );
    // The text report and its annotation on stdout.
    let out = Job::new().run(ws.path(), &["infra", "--fail-on", "never"]);
    assert_eq!(workflow_commands(&out.stdout).len(), 1, "{}", out.stdout);
    assert!(workflow_commands(&out.stderr).is_empty(), "{}", out.stderr);
    // `--fix` lists what it changed on stderr.
    let out = Job::new().run(ws.path(), &["infra", "--fix", "--output", "/dev/null"]);
    assert!(
        out.stderr.contains("fixed: infra/a\u{fffd}"),
        "{}",
        out.stderr
    );
    assert!(workflow_commands(&out.stderr).is_empty(), "{}", out.stderr);
}

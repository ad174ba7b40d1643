//! The binary in Azure Pipelines: `##vso[...]` logging commands (issues,
//! the task result, the SARIF artifact, the build summary), escaped so that
//! template text cannot add a command, and nothing of it when detection is
//! off.

use std::path::Path;

use crate::util::{bin, fixtures, template_with_ranges, write};

/// A run inside a fake Azure Pipelines job.
struct Job {
    temp: tempfile::TempDir,
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Job {
    fn new() -> Self {
        Job {
            temp: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Runs `scan` in `sources` with `TF_BUILD=True` unless `tf_build` is
    /// false (the other variables are set either way).
    fn run_with(&self, sources: &Path, args: &[&str], tf_build: bool) -> Outcome {
        let mut cmd = bin(sources);
        for (k, _) in std::env::vars() {
            if k.starts_with("GITHUB_") {
                cmd.env_remove(k);
            }
        }
        if tf_build {
            cmd.env("TF_BUILD", "True");
        }
        cmd.env("BUILD_SOURCESDIRECTORY", sources)
            .env("AGENT_TEMPDIRECTORY", self.temp.path())
            .arg("scan")
            .args(args);
        let output = cmd.output().expect("the binary runs");
        let stderr = String::from_utf8(output.stderr).expect("UTF-8");
        assert!(!stderr.contains("panicked"), "{stderr}");
        Outcome {
            code: output.status.code().expect("exit code"),
            stdout: String::from_utf8(output.stdout).expect("UTF-8"),
            stderr,
        }
    }

    fn run(&self, sources: &Path, args: &[&str]) -> Outcome {
        self.run_with(sources, args, true)
    }

    /// Whether anything was written under the agent's temp folder.
    fn temp_is_empty(&self) -> bool {
        std::fs::read_dir(self.temp.path())
            .expect("read temp")
            .next()
            .is_none()
    }
}

const MIXED: &[&str] = &[
    "rules/empty-ranges.json",
    "rules/host-bits.json",
    "rules/unknown-ranges.json",
    "rules/pass.json",
];

/// Lines the agent reads as logging commands: it looks for `##vso[`
/// anywhere in a line.
fn logging_commands(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.contains("##vso[")).collect()
}

fn issues<'a>(commands: &[&'a str]) -> Vec<&'a str> {
    commands
        .iter()
        .copied()
        .filter(|c| c.starts_with("##vso[task.logissue "))
        .collect()
}

fn task_complete<'a>(commands: &[&'a str]) -> &'a str {
    let done: Vec<_> = commands
        .iter()
        .copied()
        .filter(|c| c.starts_with("##vso[task.complete "))
        .collect();
    assert_eq!(done.len(), 1, "one task.complete: {commands:#?}");
    done[0]
}

/// The file a `task.uploadsummary` command names, read.
fn summary(commands: &[&str]) -> String {
    let line = commands
        .iter()
        .find(|c| c.starts_with("##vso[task.uploadsummary]"))
        .unwrap_or_else(|| panic!("no uploadsummary: {commands:#?}"));
    let path = &line["##vso[task.uploadsummary]".len()..];
    assert!(Path::new(path).is_absolute(), "{path}");
    std::fs::read_to_string(path).expect("the summary file exists")
}

#[test]
fn issues_point_at_the_finding() {
    let job = Job::new();
    let mut args = MIXED.to_vec();
    args.extend(["--output", "/dev/null"]);
    let out = job.run(&fixtures(), &args);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let commands = logging_commands(&out.stdout);
    let issues = issues(&commands);
    assert_eq!(issues.len(), 2, "{}", out.stdout);
    assert!(
        issues[0].starts_with(
            "##vso[task.logissue type=error;sourcepath=rules/empty-ranges.json;linenumber=12;\
             columnnumber=33;code=Azure.AKS.AuthorizedIPs;]AKS cluster `aks-empty`"
        ),
        "{}",
        issues[0]
    );
    assert!(
        issues[1].starts_with(
            "##vso[task.logissue type=warning;sourcepath=rules/host-bits.json;linenumber=12;\
             columnnumber=52;code=Azure.AKS.AuthorizedIPs.HostBits;]"
        ),
        "{}",
        issues[1]
    );
    assert!(issues[0].contains("%0AMore: aks-authorized-ips explain Azure.AKS.AuthorizedIPs"));
    assert!(task_complete(&commands).starts_with("##vso[task.complete result=Failed;]"));
    // Every line on stdout is one of ours.
    assert_eq!(commands.len(), out.stdout.lines().count(), "{}", out.stdout);
    assert!(out.stderr.contains("the Scans tab needs"), "{}", out.stderr);
}

#[test]
fn notes_are_not_issues_and_file_errors_are() {
    let job = Job::new();
    let out = job.run(
        &fixtures(),
        &["rules/redundant.json", "broken", "--output", "/dev/null"],
    );
    let commands = logging_commands(&out.stdout);
    let issues = issues(&commands);
    assert!(
        !issues
            .iter()
            .any(|c| c.contains("sourcepath=rules/redundant.json")),
        "{}",
        out.stdout
    );
    assert!(
        issues.iter().any(
            |c| c.starts_with("##vso[task.logissue type=error;sourcepath=broken/")
                && c.contains(";code=aks-authorized-ips;]")
        ),
        "{}",
        out.stdout
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(task_complete(&commands).starts_with("##vso[task.complete result=Failed;]"));
}

#[test]
fn task_result_follows_the_outcome() {
    // Passing: nothing to report.
    let out = Job::new().run(&fixtures(), &["rules/pass.json", "--output", "/dev/null"]);
    assert_eq!(out.code, 0);
    let commands = logging_commands(&out.stdout);
    assert!(issues(&commands).is_empty(), "{}", out.stdout);
    assert!(task_complete(&commands).starts_with("##vso[task.complete result=Succeeded;]"));

    // A warning below --fail-on error.
    let out = Job::new().run(
        &fixtures(),
        &["rules/host-bits.json", "--output", "/dev/null"],
    );
    assert_eq!(out.code, 0);
    let commands = logging_commands(&out.stdout);
    assert!(
        task_complete(&commands).starts_with("##vso[task.complete result=SucceededWithIssues;]"),
        "{}",
        out.stdout
    );

    // The same warning at --fail-on warning fails.
    let out = Job::new().run(
        &fixtures(),
        &[
            "rules/host-bits.json",
            "--fail-on",
            "warning",
            "--output",
            "/dev/null",
        ],
    );
    assert_eq!(out.code, 1);
    let commands = logging_commands(&out.stdout);
    assert!(task_complete(&commands).starts_with("##vso[task.complete result=Failed;]"));

    // An unknown cluster is an issue, not a failure.
    let out = Job::new().run(
        &fixtures(),
        &["rules/unknown-ranges.json", "--output", "/dev/null"],
    );
    assert_eq!(out.code, 0);
    let commands = logging_commands(&out.stdout);
    assert!(
        task_complete(&commands).starts_with("##vso[task.complete result=SucceededWithIssues;]")
    );

    // A failing run under --fail-on never: exit 0, issues.
    let out = Job::new().run(
        &fixtures(),
        &[
            "rules/empty-ranges.json",
            "--fail-on",
            "never",
            "--output",
            "/dev/null",
        ],
    );
    assert_eq!(out.code, 0);
    let commands = logging_commands(&out.stdout);
    assert!(
        task_complete(&commands).starts_with("##vso[task.complete result=SucceededWithIssues;]")
    );
}

#[test]
fn a_sarif_file_is_uploaded_as_code_analysis_logs() {
    let job = Job::new();
    let out_dir = tempfile::tempdir().expect("temp dir");
    let sarif = out_dir.path().join("aks.sarif");
    let sarif_arg = sarif.to_str().expect("UTF-8 path");
    let mut args = MIXED.to_vec();
    args.extend(["--format", "sarif", "--output", sarif_arg]);
    let out = job.run(&fixtures(), &args);
    let commands = logging_commands(&out.stdout);
    let upload = format!(
        "##vso[artifact.upload containerfolder=CodeAnalysisLogs;artifactname=CodeAnalysisLogs;]{}",
        sarif.display()
    );
    assert!(commands.contains(&upload.as_str()), "{}", out.stdout);
    assert!(sarif.exists());
    assert!(
        !out.stderr.contains("the Scans tab needs"),
        "{}",
        out.stderr
    );

    // A relative --output is made absolute.
    let job = Job::new();
    let ws = tempfile::tempdir().expect("temp dir");
    write(ws.path(), "infra/a.json", template_with_ranges("aks", "[]"));
    let out = job.run(
        ws.path(),
        &["infra", "--format", "sarif", "--output", "out.sarif"],
    );
    let commands = logging_commands(&out.stdout);
    let upload = commands
        .iter()
        .find(|c| c.starts_with("##vso[artifact.upload "))
        .expect("an artifact.upload");
    let path = upload.rsplit(']').next().expect("a path");
    assert!(Path::new(path).is_absolute(), "{upload}");
    assert!(path.ends_with("out.sarif"), "{upload}");
}

#[test]
fn sarif_on_stdout_stays_valid_json_and_commands_go_to_stderr() {
    let job = Job::new();
    let mut args = MIXED.to_vec();
    args.extend(["--format", "sarif"]);
    let out = job.run(&fixtures(), &args);
    let sarif: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", out.stdout));
    assert_eq!(sarif["version"], "2.1.0");
    let commands = logging_commands(&out.stderr);
    assert_eq!(issues(&commands).len(), 2, "{}", out.stderr);
    task_complete(&commands);
}

#[test]
fn the_summary_is_written_and_attached() {
    let job = Job::new();
    let out = job.run(&fixtures(), MIXED);
    let commands = logging_commands(&out.stdout);
    let s = summary(&commands);
    assert!(s.starts_with("## aks-authorized-ips\n"), "{s}");
    assert!(s.contains("| fail | 1 |"), "{s}");
    assert!(s.contains("### How to fix"), "{s}");
    // Under the agent's temp folder.
    assert!(!job.temp_is_empty());
    // The text report and the commands share stdout.
    assert!(out.stdout.contains("error[Azure.AKS.AuthorizedIPs]"));
}

#[test]
fn hostile_text_cannot_forge_logging_commands() {
    let job = Job::new();
    let ws = tempfile::tempdir().expect("temp dir");
    let name = "evil%AZP25;]\\r\\n##vso[task.complete result=Succeeded]@org [x](https://e.example)";
    // A file name with `%`, `;`, `]`, CR, LF and a command of its own.
    let file = "infra/a%3B;b]c\r\n##vso[task.complete result=Succeeded]d.json";
    write(ws.path(), file, template_with_ranges(name, "[]"));
    let out = job.run(ws.path(), &["infra", "--output", "/dev/null"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let commands = logging_commands(&out.stdout);
    // Every line is ours: an issue, the summary, the result.
    assert_eq!(commands.len(), 3, "{}", out.stdout);
    assert_eq!(out.stdout.lines().count(), 3, "{}", out.stdout);
    for c in &commands {
        // The agent reads the first `##vso[` of a line and its first `]`.
        assert_eq!(c.find("##vso["), Some(0), "{c}");
    }
    let issue = issues(&commands)[0];
    assert!(
        issue.starts_with(
            "##vso[task.logissue type=error;sourcepath=infra/a%AZP253B%3Bb%5Dc%0D%0A\
             ##vso[task.complete result=Succeeded%5Dd.json;linenumber=12;"
        ),
        "{issue}"
    );
    let first_bracket = issue.find(']').expect("]");
    assert!(
        issue[..first_bracket].ends_with(";code=Azure.AKS.AuthorizedIPs;"),
        "{issue}"
    );
    assert!(task_complete(&commands).starts_with("##vso[task.complete result=Failed;]"));
    // The summary escapes the template text.
    let s = summary(&commands);
    assert!(s.contains("@\u{200B}org"), "{s}");
    assert!(!s.contains("](http"), "{s}");
}

#[test]
fn nothing_is_written_outside_pipelines_or_when_turned_off() {
    let job = Job::new();
    let out = job.run_with(&fixtures(), MIXED, false);
    assert!(logging_commands(&out.stdout).is_empty(), "{}", out.stdout);
    assert!(logging_commands(&out.stderr).is_empty(), "{}", out.stderr);
    assert!(job.temp_is_empty());

    let out = job.run(&fixtures(), &[MIXED, &["--ci-output", "none"]].concat());
    assert!(logging_commands(&out.stdout).is_empty(), "{}", out.stdout);
    assert!(logging_commands(&out.stderr).is_empty(), "{}", out.stderr);
    assert!(job.temp_is_empty());
}

#[test]
fn azure_output_can_be_forced() {
    let job = Job::new();
    let out = job.run_with(
        &fixtures(),
        &[
            "rules/empty-ranges.json",
            "--ci-output",
            "azure",
            "--output",
            "/dev/null",
        ],
        false,
    );
    let commands = logging_commands(&out.stdout);
    assert_eq!(issues(&commands).len(), 1, "{}", out.stdout);
    task_complete(&commands);
}

#[test]
fn template_text_in_reports_on_stdout_cannot_issue_commands() {
    let job = Job::new();
    let ws = tempfile::tempdir().expect("temp dir");
    let name = "aks ##VSO[task.complete result=Succeeded]x";
    write(
        ws.path(),
        "infra/aks.json",
        template_with_ranges(name, "[]"),
    );

    // The text report shares standard output with our own commands: a line
    // that is not ours must not hold the prefix anywhere.
    let text = job.run(ws.path(), &["infra"]);
    assert_eq!(text.code, 1, "{}", text.stderr);
    assert!(
        text.stdout.contains("aks ##"),
        "the name is shown: {}",
        text.stdout
    );
    for line in text.stdout.lines() {
        if !line.starts_with("##vso[") {
            assert!(!line.to_ascii_lowercase().contains("##vso["), "{line}");
        }
    }

    // JSON and SARIF on standard output: same values, no prefix.
    for format in ["json", "sarif"] {
        let out = job.run(ws.path(), &["infra", "--format", format]);
        assert!(
            !out.stdout.to_ascii_lowercase().contains("##vso["),
            "{format}: {}",
            out.stdout
        );
        let value: serde_json::Value = serde_json::from_str(&out.stdout).expect("valid JSON");
        assert!(
            value.to_string().contains(name),
            "{format}: the name survives decoding"
        );
    }
}

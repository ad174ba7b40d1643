//! Helpers shared by the test modules.

use std::path::{Path, PathBuf};

use aks_authorized_ips::cli::Format;
use aks_authorized_ips::findings::{Report, ResourceReport};
use aks_authorized_ips::{report, scan, ScanOptions};

/// Variables that change what the binary prints or where paths are relative
/// to; every binary run starts without them.
pub const CI_VARIABLES: &[&str] = &[
    "GITHUB_WORKSPACE",
    "BUILD_SOURCESDIRECTORY",
    "GITHUB_ACTIONS",
    "TF_BUILD",
    "AGENT_TEMPDIRECTORY",
    "NO_COLOR",
    "CLICOLOR_FORCE",
    "CLICOLOR",
];

/// Proxy settings a test machine may have: tests against stand-ins on
/// 127.0.0.1 clear them, and set them only to test proxies.
pub const PROXY_VARIABLES: &[&str] = &[
    "AGENT_PROXYURL",
    "AGENT_PROXYUSERNAME",
    "AGENT_PROXYPASSWORD",
    "AGENT_PROXYBYPASSLIST",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fixtures`, absolute.
pub fn fixtures() -> PathBuf {
    manifest_dir().join("tests").join("fixtures")
}

/// Scans `paths` (relative to `base`) with default settings; report paths
/// are relative to `base`.
pub fn scan_in(base: &Path, paths: &[&str]) -> Report {
    scan_with(base, paths, |_| {})
}

/// Like [`scan_in`], letting the caller change the options first.
pub fn scan_with(base: &Path, paths: &[&str], tweak: impl FnOnce(&mut ScanOptions)) -> Report {
    let mut options = ScanOptions::new(paths.iter().map(|p| base.join(p)).collect());
    options.base = base.to_path_buf();
    tweak(&mut options);
    scan(&options)
}

/// Scans fixtures given relative to `tests/fixtures`.
pub fn scan_fixtures(paths: &[&str]) -> Report {
    scan_in(&fixtures(), paths)
}

/// Scans one fixture that declares exactly one cluster and returns its
/// evaluation; fails on any error.
pub fn judge_fixture(path: &str) -> ResourceReport {
    let report = scan_fixtures(&[path]);
    assert!(
        report.errors.is_empty(),
        "{path}: unexpected errors {:#?}",
        report.errors
    );
    assert_eq!(
        report.resources.len(),
        1,
        "{path}: expected one cluster evaluation, got {:#?}",
        report.resources
    );
    report.resources.into_iter().next().expect("one resource")
}

/// Renders a report in a format, without colour.
pub fn render(report: &Report, format: Format) -> String {
    let mut out = Vec::new();
    report::render(report, format, &mut out, false).expect("rendering to memory cannot fail");
    String::from_utf8(out).expect("reports are UTF-8")
}

/// The text of `file` from 1-based `line` and `column` (code points) to the
/// end of that line; a BOM takes no column.
pub fn source_at(file: &Path, line: u32, column: u32) -> String {
    let text = std::fs::read_to_string(file).expect("fixture is readable UTF-8");
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let line_text = text
        .split('\n')
        .nth(line as usize - 1)
        .unwrap_or_else(|| panic!("{} has no line {line}", file.display()));
    line_text.chars().skip(column as usize - 1).collect()
}

/// The binary, with CI variables removed and run from `dir`.
pub fn bin(dir: &Path) -> assert_cmd::Command {
    let mut cmd =
        assert_cmd::Command::cargo_bin("aks-authorized-ips").expect("the binary is built");
    for var in CI_VARIABLES {
        cmd.env_remove(var);
    }
    cmd.current_dir(dir);
    cmd
}

/// Runs the binary and returns (exit code, stdout, stderr).
pub fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = bin(dir).args(args).output().expect("the binary runs");
    let code = output.status.code().expect("the binary exits with a code");
    let stdout = String::from_utf8(output.stdout).expect("stdout is UTF-8");
    let stderr = String::from_utf8(output.stderr).expect("stderr is UTF-8");
    assert!(
        !stderr.contains("panicked"),
        "the binary panicked on {args:?}:\n{stderr}"
    );
    (code, stdout, stderr)
}

/// Runs the binary with `--format json` appended and parses its output.
pub fn run_json(dir: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let (code, stdout, stderr) = run(dir, &all);
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{args:?}: output is not JSON ({e}):\n{stdout}\n{stderr}"));
    (code, json)
}

/// `file` of every resource in a JSON report, in order.
pub fn json_files(report: &serde_json::Value) -> Vec<String> {
    report["resources"]
        .as_array()
        .expect("resources is an array")
        .iter()
        .map(|r| r["file"].as_str().expect("file is a string").to_string())
        .collect()
}

/// Replaces machine-specific text (absolute paths, the version) so output
/// can be compared across machines.
pub fn redact(text: &str) -> String {
    let fixtures = fixtures();
    let mut out = text.replace(&*fixtures.to_string_lossy(), "[fixtures]");
    out = out.replace(&*manifest_dir().to_string_lossy(), "[crate]");
    out
}

/// A minimal template declaring one cluster whose
/// `apiServerAccessProfile.authorizedIPRanges` is `ranges` (JSON text).
pub fn template_with_ranges(name: &str, ranges: &str) -> String {
    format!(
        r#"{{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "resources": [
    {{
      "type": "Microsoft.ContainerService/managedClusters",
      "apiVersion": "2024-02-01",
      "name": "{name}",
      "location": "westeurope",
      "properties": {{
        "apiServerAccessProfile": {{
          "authorizedIPRanges": {ranges}
        }}
      }}
    }}
  ]
}}
"#
    )
}

/// Writes `contents` to `dir/rel`, creating folders.
pub fn write(dir: &Path, rel: &str, contents: impl AsRef<[u8]>) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create the fixture folder");
    }
    std::fs::write(&path, contents).expect("write the fixture");
}

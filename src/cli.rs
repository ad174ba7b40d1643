//! Command-line arguments and the mapping from a scan to an exit code.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use glob::Pattern;

use crate::discover::Filters;
use crate::findings::{Level, Report};
use crate::report;
use crate::report::ci::{CiOutput, Platform};
use crate::rules::RuleSettings;
use crate::ScanOptions;

/// Exit codes, documented in the README.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

const EXAMPLES: &str = "\
Examples:
  aks-authorized-ips scan                       scan the current folder
  aks-authorized-ips scan infra/ --format sarif --output aks.sarif
  aks-authorized-ips scan --include 'infra/**/*.json' --exclude '*.generated.json'
  aks-authorized-ips scan --fail-on warning     also fail on warnings
  aks-authorized-ips scan --fix                 apply the safe fixes in place
  aks-authorized-ips scan --pr-comments         also comment on the pull request (GitHub, Azure Repos)

Exit codes:
  0  no finding at or above --fail-on
  1  findings at or above --fail-on
  2  the tool could not do its job (bad arguments, a missing path, a template
     it could not read or parse); reported after every other file was scanned";

#[derive(Debug, Parser)]
#[command(
    name = "aks-authorized-ips",
    version,
    about = "Checks that AKS clusters in ARM templates and Bicep output restrict their API server to authorized IP ranges.",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find ARM templates and parameter files under PATHs and judge every AKS cluster in them.
    #[command(after_help = EXAMPLES)]
    Scan(ScanArgs),
    /// List every rule with its level and what it reports.
    Rules(crate::explain::RulesArgs),
    /// Print a rule's documentation: what it checks, why, and how to fix it.
    Explain(crate::explain::ExplainArgs),
}

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Files or folders to scan. Folders are walked, honouring .gitignore.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,

    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Only scan files matching GLOB (repeatable). A pattern with `/` matches the
    /// repo-relative path (`*` stays in one folder, `**` crosses folders); one
    /// without `/` matches the file name.
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,

    /// Skip files matching GLOB (repeatable); same matching as --include.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// Lowest finding level that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,

    /// Azure.AKS.AuthorizedIPs.Broad flags ranges wider than this prefix length
    /// [default: the config file's broadPrefix, else 8].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=32))]
    pub broad_prefix: Option<u8>,

    /// Read the configuration from FILE instead of .aks-authorized-ips.yaml in
    /// the scanned root (the first PATH when it is a folder, else the current
    /// directory).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Apply the safe fixes (HostBits, Redundant) to the files in place, then
    /// report the findings that remain. What changed is listed on stderr.
    #[arg(long)]
    pub fix: bool,

    /// With --fix, also apply the unsafe fixes, which change who can reach
    /// the API server (they write the placeholder 0.0.0.0/32: add your own
    /// ranges before deploying).
    #[arg(long, requires = "fix")]
    pub unsafe_fixes: bool,

    /// Extra output for the CI system: `auto` writes GitHub Actions
    /// annotations, job summary and step outputs when GITHUB_ACTIONS=true,
    /// Azure Pipelines logging commands and a build summary when
    /// TF_BUILD=True; `github` and `azure` force one; `none` writes nothing.
    #[arg(long, value_enum, value_name = "WHERE", default_value_t = CiOutput::Auto)]
    pub ci_output: CiOutput,

    /// Comment on the pull request being built. On GitHub Actions
    /// (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_TOKEN): one review with
    /// an inline comment per new finding on a changed line. On Azure
    /// Pipelines with Azure Repos (SYSTEM_PULLREQUEST_PULLREQUESTID,
    /// SYSTEM_ACCESSTOKEN): a thread per new finding on a changed file and
    /// one summary thread. Never changes the exit code.
    #[arg(long)]
    pub pr_comments: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Note,
    Never,
}

impl FailOn {
    fn threshold(self) -> Option<Level> {
        match self {
            FailOn::Error => Some(Level::Error),
            FailOn::Warning => Some(Level::Warning),
            FailOn::Note => Some(Level::Note),
            FailOn::Never => None,
        }
    }
}

/// The exit code for a finished scan.
pub fn exit_code(report: &Report, fail_on: FailOn) -> i32 {
    if !report.errors.is_empty() {
        return EXIT_ERROR;
    }
    match (fail_on.threshold(), report.worst_level()) {
        (Some(threshold), Some(worst)) if worst >= threshold => EXIT_FINDINGS,
        _ => EXIT_OK,
    }
}

/// Runs a parsed command line and returns the exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Scan(args) => scan(args),
        Command::Rules(args) => crate::explain::rules(args),
        Command::Explain(args) => crate::explain::explain(args),
    }
}

fn parse_globs(patterns: &[String], flag: &str) -> anyhow::Result<Vec<Pattern>> {
    patterns
        .iter()
        .map(|p| {
            let p = p.strip_prefix("./").unwrap_or(p);
            Pattern::new(p).with_context(|| format!("{flag} {p:?} is not a valid glob pattern"))
        })
        .collect()
}

fn scan(args: ScanArgs) -> anyhow::Result<i32> {
    // A bad configuration stops the run before scanning, like a bad argument.
    let config = crate::config::load(
        &crate::config::scanned_root(&args.paths),
        args.config.as_deref(),
    )?;
    let mut options = ScanOptions::new(args.paths);
    options.filters = Filters {
        include: parse_globs(&args.include, "--include")?,
        exclude: parse_globs(&args.exclude, "--exclude")?,
    };
    options.settings = RuleSettings {
        broad_prefix: args
            .broad_prefix
            .or(config.broad_prefix)
            .unwrap_or(RuleSettings::default().broad_prefix),
    };
    options.config = config;
    let (report, fix_failed) = if args.fix {
        fix_then_report(&options, args.unsafe_fixes)?
    } else {
        (crate::scan(&options), false)
    };

    match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot write the report to {}", path.display()))?;
            let mut file = std::io::BufWriter::new(file);
            report::render(&report, args.format, &mut file, false)?;
            file.flush()
                .with_context(|| format!("cannot write the report to {}", path.display()))?;
        }
        None => {
            let mut out = anstream::stdout();
            report::render(&report, args.format, &mut out, true)?;
            out.flush()?;
        }
    }
    // Workflow commands must not break a JSON or SARIF report on stdout.
    let code = if fix_failed {
        EXIT_ERROR
    } else {
        exit_code(&report, args.fail_on)
    };
    let run = report::ci::Run {
        report_on_stdout: args.output.is_none() && args.format != Format::Text,
        exit_code: code,
        sarif_file: args
            .output
            .as_deref()
            .filter(|_| args.format == Format::Sarif),
    };
    report::ci::emit(&report, args.ci_output, run)?;

    // The report is written first: comments that cannot be posted lose
    // nothing, and never change the exit code.
    if args.pr_comments {
        post_pr_comments(&report, args.ci_output);
    }
    report::ci::finish(&report, args.ci_output, run)?;
    Ok(code)
}

/// `--pr-comments`: a review on GitHub, threads on Azure Repos. The platform
/// is `--ci-output`'s, or the detected one when that is `none`.
fn post_pr_comments(report: &Report, ci_output: CiOutput) {
    let mut err = std::io::stderr();
    let platform = report::ci::platform(ci_output).or_else(|| report::ci::platform(CiOutput::Auto));
    match platform {
        Some(Platform::Azure) => crate::azure_devops::post_threads(report, &mut err),
        Some(Platform::Github) => crate::github::post_review(report, &mut err),
        None => {
            let _ = writeln!(
                err,
                "note: --pr-comments: not running in GitHub Actions (GITHUB_ACTIONS=true) or \
                 Azure Pipelines (TF_BUILD=True); nothing posted"
            );
        }
    }
}

/// `--fix`: applies the fixes, lists what changed on stderr, and returns the
/// report of the fixed files and whether a file could not be fixed.
fn fix_then_report(options: &ScanOptions, unsafe_too: bool) -> anyhow::Result<(Report, bool)> {
    let run = crate::fix::scan_and_fix(options, unsafe_too);
    let mut err = anstream::stderr();
    crate::fix::write_summary(&run, &mut err)?;
    err.flush()?;
    let failed = !run.failed.is_empty();
    Ok((run.report, failed))
}

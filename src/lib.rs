//! aks-authorized-ips: checks that AKS clusters declared in ARM templates and
//! Bicep output restrict their API server to authorized IP ranges.
//!
//! The pipeline, one module per stage:
//! [`discover`] → [`parse`] → [`evaluate`] → [`rules`] → [`findings`] → [`report`].

pub mod azure_devops;
pub mod cli;
pub mod config;
pub mod discover;
pub mod evaluate;
pub mod explain;
pub mod findings;
pub mod fix;
pub mod github;
pub mod net;
pub mod parse;
pub mod report;
pub mod rules;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use discover::{Candidate, FileKind, Filters};
use evaluate::{Document, FileId, Origin};
use findings::{
    fingerprint, ErrorReport, Finding, FindingReport, Region, RelatedReport, Report,
    ResourceReport, ScanStats,
};
use parse::{LineIndex, Node, ReadError};
use rules::RuleSettings;

/// What to scan and how.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub paths: Vec<PathBuf>,
    pub filters: Filters,
    /// Paths in reports are relative to this folder.
    pub base: PathBuf,
    pub settings: RuleSettings,
    /// Threads that read and parse files; 0 means one per core.
    pub threads: usize,
    /// Rules turned off or relevelled, and suppressions (see [`config`]).
    pub config: config::Config,
}

impl ScanOptions {
    pub fn new(paths: Vec<PathBuf>) -> Self {
        ScanOptions {
            paths,
            filters: Filters::default(),
            base: discover::report_base(),
            settings: RuleSettings::default(),
            threads: 0,
            config: config::Config::default(),
        }
    }
}

/// A file that is ours: a template or parameter file, read and parsed.
struct SourceFile {
    display: String,
    text: String,
    /// The whole tree for a template that may declare a cluster; for other
    /// files, only what `classify` reads until [`SourceFile::parse_whole`].
    root: Node,
    kind: FileKind,
    /// Whether the text mentions `managedClusters`; when not, the template
    /// declares no cluster, and only its outline was kept.
    has_cluster: bool,
    lines: OnceLock<LineIndex>,
}

impl SourceFile {
    fn lines(&self) -> &LineIndex {
        self.lines.get_or_init(|| LineIndex::new(&self.text))
    }

    /// Builds the whole tree of a file loaded in outline. Loading checked
    /// the whole text with the same rules, so this parse cannot fail.
    fn parse_whole(&mut self) {
        if self.has_cluster {
            return; // loaded whole
        }
        if let Ok(root) = parse::parse(&self.text) {
            self.root = root;
        }
    }
}

/// What loading one candidate gave.
enum Loaded {
    Source(SourceFile),
    Error(ErrorReport),
    /// Not a deployment file: skipped.
    NotOurs,
}

/// Runs the whole pipeline and returns the report. Per-file problems are in
/// `report.errors`; the scan always goes on with the other files.
pub fn scan(options: &ScanOptions) -> Report {
    let (candidates, missing) = discover::walk(&options.paths, &options.filters, &options.base);
    let mut errors: Vec<ErrorReport> = missing
        .iter()
        .map(|p| ErrorReport {
            file: discover::display_path(p, &options.base),
            line: 0,
            column: 0,
            message: "no such file or folder".into(),
        })
        .collect();

    let loaded = load_all(&candidates, options.threads);
    let mut stats = ScanStats {
        files_read: candidates.len(),
        ..ScanStats::default()
    };
    let mut files: Vec<SourceFile> = Vec::new();
    for item in loaded {
        match item {
            Loaded::Source(f) => files.push(f),
            Loaded::Error(e) => errors.push(e),
            Loaded::NotOurs => {}
        }
    }

    let template_ids: Vec<usize> = (0..files.len())
        .filter(|&i| matches!(files[i].kind, FileKind::Template { .. }))
        .collect();
    let parameter_ids: Vec<usize> = (0..files.len())
        .filter(|&i| matches!(files[i].kind, FileKind::Parameters { .. }))
        .collect();
    stats.templates = template_ids.len();
    stats.parameter_files = parameter_ids.len();

    let template_paths: Vec<&str> = template_ids
        .iter()
        .map(|&i| files[i].display.as_str())
        .collect();
    let parameter_refs: Vec<(&str, Option<&str>)> = parameter_ids
        .iter()
        .map(|&i| {
            let declared = match &files[i].kind {
                FileKind::Parameters { template } => template.as_deref(),
                _ => None,
            };
            (files[i].display.as_str(), declared)
        })
        .collect();
    let links = discover::link_parameters(&template_paths, &parameter_refs);
    let mut parameter_files_of: Vec<Vec<usize>> = vec![Vec::new(); template_ids.len()];
    for (p, link) in links.iter().enumerate() {
        match link {
            Some(t) => parameter_files_of[*t].push(parameter_ids[p]),
            None => stats.unlinked_parameter_files += 1,
        }
    }

    // Parameter files were read only in outline: build the trees of those
    // that a cluster's evaluation reads.
    for (t, &template_id) in template_ids.iter().enumerate() {
        if files[template_id].has_cluster {
            for &p in &parameter_files_of[t] {
                files[p].parse_whole();
            }
        }
    }

    let mut resources = Vec::new();
    let mut notices = Vec::new();
    for (t, &template_id) in template_ids.iter().enumerate() {
        let template = &files[template_id];
        if !template.has_cluster {
            continue;
        }
        let template_doc = Document {
            root: &template.root,
            file: FileId(template_id as u32),
        };
        let evaluations: Vec<Option<usize>> = if parameter_files_of[t].is_empty() {
            vec![None]
        } else {
            parameter_files_of[t].iter().copied().map(Some).collect()
        };
        let mut eval_errors = Vec::new();
        let mut eval_notices = Vec::new();
        for parameter_id in evaluations {
            let parameters = parameter_id.map(|p| Document {
                root: &files[p].root,
                file: FileId(p as u32),
            });
            let evaluation = evaluate::evaluate(template_doc, parameters);
            eval_errors.extend(evaluation.errors);
            eval_notices.extend(evaluation.notices);
            for resource in &evaluation.resources {
                let judgement = rules::judge(resource, &options.settings);
                let (in_template, problems) =
                    config::template_suppression(&resource.written, resource.origin);
                eval_errors.extend(problems);
                let line = position(&files, resource.origin).0.line;
                // The name as written, not as evaluated: one template location
                // keeps one fingerprint whatever the parameter file or copy.
                let identity = format!(
                    "{}/{}",
                    resource.resource_type.to_ascii_lowercase(),
                    resource.declared_name
                );
                let mut findings: Vec<FindingReport> = judgement
                    .findings
                    .iter()
                    .map(|f| concrete(&files, f, &template.display, &identity))
                    .collect();
                let mut paths = vec![template.display.as_str()];
                paths.extend(parameter_id.map(|p| files[p].display.as_str()));
                let fails = options.config.apply(
                    &mut findings,
                    in_template.as_ref(),
                    &resource.name,
                    &paths,
                );
                let (outcome, reason) = judgement.settle(fails);
                resources.push(ResourceReport {
                    from_bicep: matches!(template.kind, FileKind::Template { bicep: true }),
                    file: template.display.clone(),
                    parameter_file: parameter_id.map(|p| files[p].display.clone()),
                    name: resource.name.clone(),
                    resource_type: resource.resource_type.clone(),
                    line,
                    outcome,
                    reason,
                    findings,
                });
            }
        }
        errors.extend(located(&files, eval_errors));
        notices.extend(located(&files, eval_notices));
    }

    errors.sort();
    notices.sort();
    Report {
        resources,
        errors,
        notices,
        stats,
        base: Some(options.base.clone()),
        scanned: files.iter().map(|f| f.display.clone()).collect(),
    }
}

/// Problems with a place, made concrete. The same problem in a template is
/// met once per parameter file: it is reported once.
fn located(files: &[SourceFile], mut problems: Vec<evaluate::EvalError>) -> Vec<ErrorReport> {
    problems.sort_by_key(|e| e.origin);
    problems.dedup_by(|a, b| a.origin == b.origin && a.message == b.message);
    problems
        .into_iter()
        .map(|e| {
            let (start, _) = position(files, e.origin);
            ErrorReport {
                file: files[e.origin.file.0 as usize].display.clone(),
                line: start.line,
                column: start.column,
                message: e.message,
            }
        })
        .collect()
}

/// Stack for the reading threads: the parser recurses once per nesting level
/// (up to `parse::json::MAX_DEPTH`), and debug builds have large frames.
const WORKER_STACK_BYTES: usize = 16 * 1024 * 1024;

/// Reads and parses every candidate on `threads` threads, keeping order.
fn load_all(candidates: &[Candidate], threads: usize) -> Vec<Loaded> {
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(candidates.len().max(1));
    let next = AtomicUsize::new(0);
    // Each worker takes the next unclaimed file until none is left.
    let drain = || {
        let mut out = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(candidate) = candidates.get(i) else {
                break;
            };
            out.push((i, load(candidate)));
        }
        out
    };
    let mut results: Vec<(usize, Loaded)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .stack_size(WORKER_STACK_BYTES)
                    .spawn_scoped(scope, drain)
                    .ok()
            })
            .collect();
        let mut results = Vec::new();
        for worker in workers {
            results.extend(
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        results
    });
    // If no thread could be started, nothing was claimed: read here.
    results.extend(drain());
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, l)| l).collect()
}

/// Reads, sniffs, parses and classifies one file.
fn load(candidate: &Candidate) -> Loaded {
    let error = |line: u32, column: u32, message: String| {
        Loaded::Error(ErrorReport {
            file: candidate.display.clone(),
            line,
            column,
            message,
        })
    };
    let text = match parse::read_text(&candidate.path) {
        Ok(text) => text,
        Err(ReadError::Io(e)) => return error(0, 0, format!("cannot read the file: {e}")),
        Err(ReadError::TooLarge(len)) => {
            // Only files that claim to be templates are worth an error.
            if !head_names_schema(&candidate.path) {
                return Loaded::NotOurs;
            }
            return error(
                1,
                1,
                format!(
                    "the file is {:.1} MiB, over the {} MiB limit; it was not scanned",
                    len as f64 / 1_048_576.0,
                    parse::MAX_FILE_BYTES / 1_048_576
                ),
            );
        }
        Err(ReadError::NotUtf8 {
            offset,
            valid_prefix,
        }) => {
            if !head_names_schema(&candidate.path) {
                return Loaded::NotOurs;
            }
            let pos = LineIndex::new(&valid_prefix).position(&valid_prefix, offset);
            let utf16 = std::fs::read(&candidate.path)
                .map(|b| b.starts_with(&[0xFF, 0xFE]) || b.starts_with(&[0xFE, 0xFF]))
                .unwrap_or(false);
            let message = if utf16 {
                "the file is encoded as UTF-16; save it as UTF-8 to have it scanned".to_string()
            } else {
                format!("the file is not valid UTF-8 (byte {offset}); save it as UTF-8 to have it scanned")
            };
            return error(pos.line, pos.column, message);
        }
    };
    if !discover::names_deployment_schema(text.as_bytes()) {
        return Loaded::NotOurs;
    }
    // Only templates that can declare a cluster need their whole tree now
    // (parameter files' trees are built in `scan` when a cluster needs them);
    // for the rest the values `classify` reads are enough, and the outline
    // parse still checks all of the text, so a broken file is still an error.
    let has_cluster = discover::may_declare_cluster(&text);
    let parsed = if has_cluster {
        parse::parse(&text)
    } else {
        parse::json::parse_outline(&text, discover::CLASSIFY_OUTLINE)
    };
    let root = match parsed {
        Ok(root) => root,
        Err(e) => {
            let pos = LineIndex::new(&text).position(&text, e.offset);
            return error(
                pos.line,
                pos.column,
                format!("not valid JSON: {}", e.message),
            );
        }
    };
    let kind = discover::classify(&root);
    if kind == FileKind::Other {
        return Loaded::NotOurs;
    }
    let text = match kind {
        FileKind::Template { .. } if !has_cluster => String::new(),
        _ => text,
    };
    Loaded::Source(SourceFile {
        display: candidate.display.clone(),
        text,
        root,
        kind,
        has_cluster,
        lines: OnceLock::new(),
    })
}

/// Whether the first 64 KiB of a file name a deployment schema, decoding
/// UTF-16 when the file starts with its byte-order mark.
fn head_names_schema(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(64 * 1024).read_to_end(&mut head));
    if read.is_err() {
        return false;
    }
    let utf16 = |bytes: &[u8], le: bool| -> Vec<u8> {
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units).into_bytes()
    };
    let text = if head.starts_with(&[0xFF, 0xFE]) {
        utf16(&head[2..], true)
    } else if head.starts_with(&[0xFE, 0xFF]) {
        utf16(&head[2..], false)
    } else {
        head
    };
    discover::names_deployment_schema(&text)
}

/// Start and end positions of an origin.
fn position(files: &[SourceFile], origin: Origin) -> (parse::Position, parse::Position) {
    let file = &files[origin.file.0 as usize];
    let lines = file.lines();
    (
        lines.position(&file.text, origin.span.start as usize),
        lines.position(&file.text, origin.span.end as usize),
    )
}

fn region(files: &[SourceFile], origin: Origin) -> Region {
    let (start, end) = position(files, origin);
    Region {
        file: files[origin.file.0 as usize].display.clone(),
        start_line: start.line,
        start_column: start.column,
        end_line: end.line,
        end_column: end.column,
    }
}

/// Makes a rule's fix edits on the text of the file it changes.
fn concrete_fix(files: &[SourceFile], intent: &findings::FixIntent) -> Option<findings::Fix> {
    let file = files.get(intent.change.origin().file.0 as usize)?;
    fix::concrete(intent, &file.text, &file.root, file.lines(), &file.display)
}

/// Makes a finding's locations concrete.
fn concrete(
    files: &[SourceFile],
    finding: &Finding,
    template_path: &str,
    identity: &str,
) -> FindingReport {
    let region = region(files, finding.primary);
    let file = &files[finding.primary.file.0 as usize];
    let snippet = file
        .lines()
        .line_text(&file.text, region.start_line)
        .to_string();
    FindingReport {
        rule_id: finding.rule.id,
        level: finding.level(),
        message: finding.message.clone(),
        snippet,
        related: finding
            .related
            .iter()
            .map(|r| RelatedReport {
                region: self::region(files, r.origin),
                message: r.message.clone(),
            })
            .collect(),
        fix: finding
            .fix
            .as_ref()
            .and_then(|intent| concrete_fix(files, intent)),
        suppression: None,
        fingerprint: fingerprint(
            finding.rule.id,
            template_path,
            identity,
            &finding.discriminator,
        ),
        region,
    }
}

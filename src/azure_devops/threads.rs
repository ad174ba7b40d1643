//! What to say on an Azure Repos pull request: a thread per new finding on a
//! file the pull request changes, one summary thread for the rest, and the
//! threads to resolve or reopen, from the report, the PR's changed files and
//! the threads already there. Pure: no network, so every decision is
//! unit-testable.
//!
//! Azure Repos, unlike GitHub, takes a thread on any line of a changed file,
//! so a finding on a changed file is always commented where it is.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};

use crate::findings::{Report, UniqueFinding};
use crate::report::comment::{finding_body, findings_table, line_end, line_start, place};
use crate::report::markdown::escape;

/// At most this many new threads per run; the rest go in the summary thread.
pub const MAX_THREADS: usize = 30;
/// The most lines one thread (and its suggestion) covers.
const MAX_SPAN: u32 = 60;

/// The thread property holding a finding's fingerprint.
pub const FINGERPRINT_PROPERTY: &str = "aks-authorized-ips.fingerprint";
/// The thread property that marks the summary thread.
pub const KIND_PROPERTY: &str = "aks-authorized-ips.kind";

const MARKER: &str = "<!-- aks-authorized-ips";

fn marker(key: &str, value: &str) -> String {
    format!("{MARKER} {key}={value} -->")
}

/// Values of `key` in our markers at the start of a line of `content` (a
/// quote in a reply starts with `>`, so quoting our comment does not count).
fn marker_values<'a>(content: &'a str, key: &str) -> Vec<&'a str> {
    let prefix = format!("{MARKER} {key}=");
    content
        .lines()
        .filter_map(|l| l.trim_end().strip_prefix(prefix.as_str()))
        .filter_map(|rest| rest.strip_suffix(" -->"))
        .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric()))
        .collect()
}

/// A string-valued thread property as the service stores it.
fn property(value: &str) -> Value {
    json!({ "$type": "System.String", "$value": value })
}

/// A property's value as the service returns it (`{"$type", "$value"}`),
/// or a plain string.
fn read_property<'a>(thread: &'a Value, key: &str) -> Option<&'a str> {
    let v = thread.get("properties")?.get(key)?;
    v.get("$value")
        .and_then(Value::as_str)
        .or_else(|| v.as_str())
}

/// One of our earlier threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub id: u64,
    /// The finding's fingerprint; `None` for the summary thread.
    pub fingerprint: Option<String>,
    /// `active`, `fixed`, `wontFix`, `closed`, `byDesign`, `pending`, ….
    pub status: String,
    /// The first comment (ours): its id and text.
    pub comment_id: u64,
    pub content: String,
    /// The file it is on, as a report path (no leading `/`).
    pub file: Option<String>,
}

impl Existing {
    fn is_summary(&self) -> bool {
        self.fingerprint.is_none()
    }
    /// Still open for discussion: `active` or `pending` (a missing status
    /// reads as active).
    fn is_open(&self) -> bool {
        matches!(self.status.as_str(), "active" | "pending" | "unknown" | "")
    }
}

/// Our threads among a PR's threads: a fingerprint property (or, if a
/// service dropped the properties, the marker in the first comment), or the
/// summary marker. Deleted threads and comments are skipped.
pub fn existing_threads(threads: &[Value]) -> Vec<Existing> {
    threads
        .iter()
        .filter(|t| t.get("isDeleted").and_then(Value::as_bool) != Some(true))
        .filter_map(|t| {
            let id = t.get("id")?.as_u64()?;
            let first = t
                .get("comments")?
                .as_array()?
                .iter()
                .filter(|c| c.get("isDeleted").and_then(Value::as_bool) != Some(true))
                .min_by_key(|c| c.get("id").and_then(Value::as_u64).unwrap_or(u64::MAX))?;
            let comment_id = first.get("id")?.as_u64()?;
            let content = first
                .get("content")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let valid = |v: &&str| !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric());
            let fingerprint = read_property(t, FINGERPRINT_PROPERTY)
                .filter(valid)
                .map(str::to_string)
                .or_else(|| {
                    marker_values(&content, "fingerprint")
                        .first()
                        .map(|s| s.to_string())
                });
            let summary = read_property(t, KIND_PROPERTY) == Some("summary")
                || content.lines().any(|l| l.trim_end() == summary_marker());
            if fingerprint.is_none() && !summary {
                return None;
            }
            Some(Existing {
                id,
                fingerprint,
                status: t
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                comment_id,
                content,
                file: t
                    .pointer("/threadContext/filePath")
                    .and_then(Value::as_str)
                    .map(|p| p.trim_start_matches('/').to_string()),
            })
        })
        .collect()
}

fn summary_marker() -> String {
    format!("{MARKER} summary -->")
}

/// A file of the pull request: its path (with the leading `/`) and the
/// change tracking id the service gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedFile {
    pub change_tracking_id: Option<u64>,
}

/// The files a PR iteration's changes add or edit (deleted ones have no
/// right side to comment on), keyed by path with the leading `/`.
pub fn changed_files(change_entries: &[Value]) -> HashMap<String, ChangedFile> {
    change_entries
        .iter()
        .filter_map(|c| {
            let change = c.get("changeType").and_then(Value::as_str).unwrap_or("");
            if change.split(',').any(|t| t.trim() == "delete") {
                return None;
            }
            let item = c.get("item")?;
            if item.get("isFolder").and_then(Value::as_bool) == Some(true) {
                return None;
            }
            let path = item.get("path")?.as_str()?.to_string();
            let change_tracking_id = c.get("changeTrackingId").and_then(Value::as_u64);
            Some((path, ChangedFile { change_tracking_id }))
        })
        .collect()
}

/// What the plan does with the summary thread.
#[derive(Debug, Clone, PartialEq)]
pub enum SummaryAction {
    /// Post a new summary thread.
    Create(Value),
    /// Rewrite our earlier summary's first comment and set its status.
    Update {
        thread_id: u64,
        comment_id: u64,
        content: String,
        status: &'static str,
    },
}

/// Everything one run does.
#[derive(Debug, Default)]
pub struct Plan {
    /// New threads, as `POST …/threads` takes them.
    pub create: Vec<Value>,
    /// Threads whose finding is gone, with our first comment's id: set to
    /// `fixed`, with a reply.
    pub fixed: Vec<(u64, u64)>,
    /// Threads resolved as fixed whose finding is back, with our first
    /// comment's id: set to `active`, with a reply.
    pub reopened: Vec<(u64, u64)>,
    pub summary: Option<SummaryAction>,
    /// Findings that already have a thread.
    pub already_said: usize,
}

pub struct Inputs<'a> {
    pub report: &'a Report,
    /// The PR's files, keyed by path with the leading `/`.
    pub changes: &'a HashMap<String, ChangedFile>,
    pub existing: &'a [Existing],
    /// The PR's latest iteration, which the threads are placed in.
    pub iteration: u64,
    /// Reads a report path's text (for suggestions and line lengths).
    pub read: &'a dyn Fn(&str) -> Option<String>,
}

/// A report path as Azure Repos names it: `/` first, `/` between folders.
pub fn repo_path(file: &str) -> String {
    let file = file.replace('\\', "/");
    format!("/{}", file.trim_start_matches("./").trim_start_matches('/'))
}

pub fn plan(inputs: &Inputs<'_>) -> Plan {
    let findings = inputs.report.live_unique_findings();
    let current: HashSet<&str> = findings
        .iter()
        .map(|u| u.finding.fingerprint.as_str())
        .collect();
    let mut by_fingerprint: HashMap<&str, Vec<&Existing>> = HashMap::new();
    for e in inputs.existing {
        if let Some(fp) = &e.fingerprint {
            by_fingerprint.entry(fp.as_str()).or_default().push(e);
        }
    }

    let mut plan = Plan::default();
    let mut texts: HashMap<String, Option<String>> = HashMap::new();
    let mut listed: Vec<&UniqueFinding<'_>> = Vec::new();
    for u in &findings {
        let f = u.finding;
        if let Some(threads) = by_fingerprint.get(f.fingerprint.as_str()) {
            plan.already_said += 1;
            // Only a thread we (or a reviewer) resolved as fixed reopens: a
            // reviewer's "won't fix", "by design" or "closed" is respected.
            if !threads.iter().any(|t| t.is_open()) {
                plan.reopened.extend(
                    threads
                        .iter()
                        .filter(|t| t.status == "fixed")
                        .map(|t| (t.id, t.comment_id))
                        .take(1),
                );
            }
            continue;
        }
        let path = repo_path(&f.region.file);
        let Some(changed) = inputs.changes.get(&path) else {
            listed.push(u);
            continue;
        };
        if plan.create.len() >= MAX_THREADS {
            listed.push(u);
            continue;
        }
        let text = texts
            .entry(f.region.file.clone())
            .or_insert_with(|| (inputs.read)(&f.region.file));
        let placement = place(f, text.as_deref(), &|s, e| {
            s >= 1 && e >= s && e - s < MAX_SPAN
        });
        let (start, end, suggestion) = match placement {
            Some(p) => (p.start, p.end, p.suggestion),
            None => (f.region.start_line.max(1), f.region.start_line.max(1), None),
        };
        plan.create.push(thread_request(
            &path,
            changed,
            inputs.iteration,
            start,
            end,
            end_offset(text.as_deref(), end),
            &thread_content(u, suggestion.as_deref()),
            &f.fingerprint,
        ));
    }

    // Gone from a file this run read (or a file that is gone): fixed. A
    // thread on a file another scan step covers is left alone.
    for e in inputs.existing {
        if let Some(fp) = &e.fingerprint {
            let can_tell = e
                .file
                .as_deref()
                .map_or(true, |f| inputs.report.can_tell_gone(f));
            if e.is_open() && !current.contains(fp.as_str()) && can_tell {
                plan.fixed.push((e.id, e.comment_id));
            }
        }
    }
    plan.fixed.sort_unstable();
    plan.fixed.dedup();

    plan.summary = summary_action(inputs.existing, &listed);
    plan
}

/// The offset just past the last character of `line` (offsets start at 1),
/// so the thread covers whole lines.
fn end_offset(text: Option<&str>, line: u32) -> u32 {
    let Some(text) = text else { return 1 };
    match (line_start(text, line), line_end(text, line)) {
        (Some(s), Some(e)) => {
            let chars = text[s..e].trim_end_matches('\r').chars().count();
            u32::try_from(chars).unwrap_or(u32::MAX - 1) + 1
        }
        _ => 1,
    }
}

#[allow(clippy::too_many_arguments)]
fn thread_request(
    path: &str,
    changed: &ChangedFile,
    iteration: u64,
    start: u32,
    end: u32,
    end_offset: u32,
    content: &str,
    fingerprint: &str,
) -> Value {
    let mut thread = json!({
        "comments": [{ "parentCommentId": 0, "content": content, "commentType": "text" }],
        "status": "active",
        "threadContext": {
            "filePath": path,
            "rightFileStart": { "line": start, "offset": 1 },
            "rightFileEnd": { "line": end, "offset": end_offset },
        },
        "properties": { FINGERPRINT_PROPERTY: property(fingerprint) },
    });
    // Tied to the iteration it was made on, so the service keeps it on the
    // right lines as later pushes move them. Equal first and second
    // iterations compare against the common commit, like the PR's diff.
    if let Some(id) = changed.change_tracking_id {
        thread["pullRequestThreadContext"] = json!({
            "changeTrackingId": id,
            "iterationContext": {
                "firstComparingIteration": iteration,
                "secondComparingIteration": iteration,
            },
        });
    }
    thread
}

fn thread_content(u: &UniqueFinding<'_>, suggestion: Option<&str>) -> String {
    format!(
        "{}\n{}\n",
        finding_body(u.resource, u.finding, suggestion),
        marker("fingerprint", &u.finding.fingerprint)
    )
}

/// The reply on a thread set to `fixed`.
pub fn fixed_reply(build: Option<&str>) -> String {
    match build {
        Some(b) => format!(
            "**Fixed:** aks-authorized-ips no longer reports this finding (build {}).",
            escape(b)
        ),
        None => "**Fixed:** aks-authorized-ips no longer reports this finding.".to_string(),
    }
}

/// The reply on a thread set back to `active`.
pub fn reopened_reply(build: Option<&str>) -> String {
    match build {
        Some(b) => format!(
            "**Reported again:** aks-authorized-ips finds this again (build {}).",
            escape(b)
        ),
        None => "**Reported again:** aks-authorized-ips finds this again.".to_string(),
    }
}

fn listed_fingerprints(content: &str) -> Vec<String> {
    let mut v: Vec<String> = marker_values(content, "summarised")
        .into_iter()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// The summary thread: created when findings are listed and there is none,
/// rewritten when the list changed, resolved when it empties.
fn summary_action(existing: &[Existing], listed: &[&UniqueFinding<'_>]) -> Option<SummaryAction> {
    let mut wanted: Vec<String> = listed
        .iter()
        .map(|u| u.finding.fingerprint.clone())
        .collect();
    wanted.sort();
    wanted.dedup();
    let earlier = existing
        .iter()
        .filter(|e| e.is_summary())
        .min_by_key(|e| e.id);
    match earlier {
        None if listed.is_empty() => None,
        None => Some(SummaryAction::Create(json!({
            "comments": [{ "parentCommentId": 0, "content": summary_content(listed), "commentType": "text" }],
            "status": "active",
            "properties": { KIND_PROPERTY: property("summary") },
        }))),
        Some(e) => {
            let status = if listed.is_empty() { "fixed" } else { "active" };
            let same_list = listed_fingerprints(&e.content) == wanted;
            let same_status = (status == "active") == e.is_open();
            if same_list && same_status {
                return None;
            }
            Some(SummaryAction::Update {
                thread_id: e.id,
                comment_id: e.comment_id,
                content: summary_content(listed),
                status,
            })
        }
    }
}

fn summary_content(listed: &[&UniqueFinding<'_>]) -> String {
    let mut out = String::from("### aks-authorized-ips\n\n");
    if listed.is_empty() {
        out.push_str(
            "Every finding this thread listed is fixed or now has a thread of its own.\n\n",
        );
    } else {
        out.push_str(&format!(
            "{} finding{} in files this pull request does not change (or over the limit of {MAX_THREADS} threads per run):\n\n",
            listed.len(),
            if listed.len() == 1 { "" } else { "s" }
        ));
        out.push_str(&findings_table(listed));
        out.push_str(
            "\nRun `aks-authorized-ips explain RULE` for each rule's help and fix, or see the build's Scans tab.\n\n",
        );
    }
    out.push_str(&summary_marker());
    out.push('\n');
    for u in listed {
        out.push_str(&marker("summarised", &u.finding.fingerprint));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(id: u64, status: &str, props: Value, content: &str) -> Value {
        json!({
            "id": id,
            "status": status,
            "properties": props,
            "comments": [
                { "id": 2, "content": "a reply", "commentType": "text" },
                { "id": 1, "content": content, "commentType": "text" },
            ],
        })
    }

    #[test]
    fn our_threads_are_found_by_property_or_marker() {
        let threads = vec![
            thread(
                7,
                "active",
                json!({ FINGERPRINT_PROPERTY: { "$type": "System.String", "$value": "abc" } }),
                "body",
            ),
            thread(
                8,
                "fixed",
                json!({}),
                &format!("x\n{}\n", marker("fingerprint", "def")),
            ),
            thread(
                9,
                "active",
                json!({}),
                &format!("> {}", marker("fingerprint", "zzz")),
            ),
            thread(10, "active", json!({ KIND_PROPERTY: "summary" }), "table"),
            json!({ "id": 11, "isDeleted": true, "properties": { FINGERPRINT_PROPERTY: "q" }, "comments": [{ "id": 1, "content": "" }] }),
        ];
        let e = existing_threads(&threads);
        let found: Vec<_> = e
            .iter()
            .map(|e| (e.id, e.fingerprint.clone(), e.comment_id))
            .collect();
        assert_eq!(
            found,
            vec![
                (7, Some("abc".into()), 1),
                (8, Some("def".into()), 1),
                (10, None, 1)
            ]
        );
        assert!(e[0].is_open() && !e[1].is_open());
    }

    #[test]
    fn deleted_files_are_not_commentable() {
        let changes = json!([
            { "changeTrackingId": 1, "item": { "path": "/a.json" }, "changeType": "edit" },
            { "changeTrackingId": 2, "item": { "path": "/b.json" }, "changeType": "delete" },
            { "changeTrackingId": 3, "item": { "path": "/c.json" }, "changeType": "edit, rename" },
            { "item": { "path": "/d", "isFolder": true }, "changeType": "add" },
        ]);
        let files = changed_files(changes.as_array().expect("array"));
        let mut paths: Vec<_> = files.keys().cloned().collect();
        paths.sort();
        assert_eq!(paths, vec!["/a.json", "/c.json"]);
        assert_eq!(files["/c.json"].change_tracking_id, Some(3));
    }

    #[test]
    fn paths_get_a_leading_slash() {
        assert_eq!(repo_path("infra/aks.json"), "/infra/aks.json");
        assert_eq!(repo_path("./a.json"), "/a.json");
        assert_eq!(repo_path("infra\\aks.json"), "/infra/aks.json");
    }

    #[test]
    fn end_offsets_cover_the_whole_line() {
        assert_eq!(end_offset(Some("ab\r\nçé\n"), 2), 3);
        assert_eq!(end_offset(Some("ab"), 1), 3);
        assert_eq!(end_offset(None, 1), 1);
        assert_eq!(end_offset(Some("ab"), 9), 1);
    }
}

//! Fixes: the text edits that carry out a rule's [`FixIntent`], and applying
//! them to files (`scan --fix`).
//!
//! Rules see values and their places, not text, so they describe a fix
//! symbolically ([`Change`]). Here, with the file's text and tree, a change
//! becomes byte edits that keep the file's layout: the indentation of the
//! lines around, one-line or multi-line arrays and objects, commas (trailing
//! ones too) and comments on other lines. When the text at the place is not
//! the literal the change expects, there is no fix: a fix never guesses.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::evaluate::{classify_string, StringKind};
use crate::findings::{Change, Edit, Fix, FixIntent, Hunk, Region, Report, Safety};
use crate::parse::{Json, LineIndex, Node, Span};

/// A byte-range edit of a file's text: replace `start..end` with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextEdit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

impl TextEdit {
    fn new(start: usize, end: usize, text: impl Into<String>) -> Self {
        TextEdit {
            start,
            end,
            text: text.into(),
        }
    }
}

/// Makes a rule's fix concrete for the file it edits: `text` and `root` are
/// that file's text and tree, `display` its path in reports.
pub fn concrete(
    intent: &FixIntent,
    text: &str,
    root: &Node,
    lines: &LineIndex,
    display: &str,
) -> Option<Fix> {
    let mut edits = text_edits(&intent.change, text, root)?;
    edits.sort_by_key(|e| (e.start, e.end));
    let valid = edits.iter().all(|e| {
        e.start <= e.end && text.is_char_boundary(e.start) && text.is_char_boundary(e.end)
    }) && edits.windows(2).all(|w| w[0].end <= w[1].start);
    if edits.is_empty() || !valid {
        return None;
    }
    let region = |start: usize, end: usize| {
        let (s, e) = (lines.position(text, start), lines.position(text, end));
        Region {
            file: display.to_string(),
            start_line: s.line,
            start_column: s.column,
            end_line: e.line,
            end_column: e.column,
        }
    };
    let preview = preview(text, lines, &edits, display);
    Some(Fix {
        description: intent.description.clone(),
        safety: intent.safety,
        edits: edits
            .into_iter()
            .map(|e| Edit {
                file: display.to_string(),
                region: region(e.start, e.end),
                start: e.start,
                end: e.end,
                replacement: e.text,
            })
            .collect(),
        preview,
    })
}

/// The edits for a change, or `None` when the text is not what it expects.
pub fn text_edits(change: &Change, text: &str, root: &Node) -> Option<Vec<TextEdit>> {
    match change {
        Change::ReplaceString { at, expected, with } => {
            let node = node_at(root, at.span)?;
            if !is_literal_string(node) || node.as_str() != Some(expected.as_str()) {
                return None;
            }
            let (start, end) = (node.span.start as usize, node.span.end as usize);
            Some(vec![TextEdit::new(start, end, json_string(with))])
        }
        Change::RemoveElement {
            list,
            elements,
            entry,
            kept,
        } => {
            let items = node_at(root, list.span)?.as_array()?;
            if !same_places(items, elements) {
                return None;
            }
            let index = items.iter().position(|n| n.span == entry.span)?;
            let kept = items.iter().position(|n| n.span == kept.span)?;
            if index == kept
                || !is_literal_string(&items[index])
                || !is_literal_string(&items[kept])
            {
                return None;
            }
            Some(remove_element(text, items, index))
        }
        Change::ReplaceWithList {
            at,
            elements,
            ranges,
        } => {
            let node = node_at(root, at.span)?;
            let expected = match &node.value {
                Json::Null => elements.is_empty(),
                Json::Array(items) => same_places(items, elements),
                _ => false,
            };
            if !expected {
                return None;
            }
            let (start, end) = (node.span.start as usize, node.span.end as usize);
            Some(vec![TextEdit::new(start, end, list_text(ranges))])
        }
        Change::InsertProperty {
            object,
            keys,
            ranges,
        } => {
            let node = node_at(root, object.span)?;
            let first = keys.first()?;
            if node.as_object().is_none() || node.member(first).is_some() {
                return None;
            }
            Some(insert_first_property(text, node, keys, ranges))
        }
    }
}

/// The node whose span is exactly `span`.
fn node_at(root: &Node, span: Span) -> Option<&Node> {
    let mut node = root;
    loop {
        if node.span == span {
            return Some(node);
        }
        let contains = |n: &Node| n.span.start <= span.start && span.end <= n.span.end;
        node = match &node.value {
            Json::Array(items) => items.iter().find(|n| contains(n))?,
            Json::Object(members) => members.iter().map(|m| &m.value).find(|n| contains(n))?,
            _ => return None,
        };
    }
}

fn same_places(items: &[Node], elements: &[crate::evaluate::Origin]) -> bool {
    items.len() == elements.len() && items.iter().zip(elements).all(|(n, o)| n.span == o.span)
}

/// A string written as such, not an ARM expression.
fn is_literal_string(node: &Node) -> bool {
    node.as_str()
        .is_some_and(|s| matches!(classify_string(s), StringKind::Literal))
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

fn list_text(ranges: &[String]) -> String {
    let items: Vec<String> = ranges.iter().map(|r| json_string(r)).collect();
    format!("[{}]", items.join(", "))
}

fn is_line_break(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

fn has_line_break(s: &str) -> bool {
    s.bytes().any(is_line_break)
}

/// Offset of the start of the line holding `pos`.
fn line_start(text: &str, pos: usize) -> usize {
    text.as_bytes()[..pos]
        .iter()
        .rposition(|&b| is_line_break(b))
        .map_or(0, |i| i + 1)
}

/// Offset of the line break that ends the line holding `pos` (or the end).
fn line_end(text: &str, pos: usize) -> usize {
    text.as_bytes()[pos..]
        .iter()
        .position(|&b| is_line_break(b))
        .map_or(text.len(), |i| pos + i)
}

/// Offset just after the line break at `pos` (`\r\n`, `\n` or `\r`).
fn after_line_break(text: &str, pos: usize) -> usize {
    let b = text.as_bytes();
    match b.get(pos) {
        Some(b'\r') if b.get(pos + 1) == Some(&b'\n') => pos + 2,
        Some(b'\r' | b'\n') => pos + 1,
        _ => pos,
    }
}

/// The white space that starts the line holding `pos` (a BOM is not part of it).
fn indentation(text: &str, pos: usize) -> &str {
    let start = line_start(text, pos);
    let line = &text[start..line_end(text, start)];
    let line = line.strip_prefix('\u{feff}').unwrap_or(line);
    let width = line.len() - line.trim_start_matches([' ', '\t']).len();
    &line[..width]
}

fn skip_blanks(text: &str, mut pos: usize) -> usize {
    let b = text.as_bytes();
    while matches!(b.get(pos), Some(b' ' | b'\t')) {
        pos += 1;
    }
    pos
}

/// Skips white space and comments from `pos`.
fn skip_trivia(text: &str, mut pos: usize) -> usize {
    let b = text.as_bytes();
    loop {
        match b.get(pos) {
            Some(b' ' | b'\t' | b'\n' | b'\r') => pos += 1,
            Some(b'/') if b.get(pos + 1) == Some(&b'/') => pos = line_end(text, pos),
            Some(b'/') if b.get(pos + 1) == Some(&b'*') => match text[pos + 2..].find("*/") {
                Some(i) => pos = pos + 2 + i + 2,
                None => return text.len(),
            },
            _ => return pos,
        }
    }
}

/// When the rest of the line after `pos` is only blanks, a comma and a
/// comment, the offset after its line break.
fn rest_of_line_is_trivia(text: &str, pos: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = skip_blanks(text, pos);
    if b.get(i) == Some(&b',') {
        i = skip_blanks(text, i + 1);
    }
    if text[i..].starts_with("//") {
        i = line_end(text, i);
    } else if text[i..].starts_with("/*") {
        let close = i + 2 + text[i + 2..].find("*/")?;
        if has_line_break(&text[i..close]) {
            return None;
        }
        i = skip_blanks(text, close + 2);
    }
    match b.get(i) {
        None => Some(i),
        Some(&c) if is_line_break(c) => Some(after_line_break(text, i)),
        _ => None,
    }
}

/// Edits that remove `items[index]` from its array with exactly one comma,
/// keeping the layout of the rest: a multi-line array loses the entry's whole
/// line (and a comment on that line, which is about the entry); a one-line
/// array loses the entry and the comma and space after it (or before it,
/// for the last entry).
pub fn remove_element(text: &str, items: &[Node], index: usize) -> Vec<TextEdit> {
    let (start, end) = (
        items[index].span.start as usize,
        items[index].span.end as usize,
    );
    let prev_end = index.checked_sub(1).map(|i| items[i].span.end as usize);
    let next_start = items.get(index + 1).map(|n| n.span.start as usize);
    let after = skip_trivia(text, end);
    let has_comma = text.as_bytes().get(after) == Some(&b',');

    let own_line = line_start(text, start);
    let alone_before = text[own_line..start]
        .trim_start_matches('\u{feff}')
        .bytes()
        .all(|b| b == b' ' || b == b'\t');
    if alone_before {
        if let Some(line_after) = rest_of_line_is_trivia(text, end) {
            let mut edits = Vec::new();
            // The last entry without a trailing comma: the entry before it
            // becomes last and gives up its comma.
            if !has_comma {
                if let Some(prev_end) = prev_end {
                    let comma = skip_trivia(text, prev_end);
                    if text.as_bytes().get(comma) == Some(&b',') && comma < own_line {
                        edits.push(TextEdit::new(comma, comma + 1, ""));
                    }
                }
            }
            edits.push(TextEdit::new(own_line, line_after, ""));
            return edits;
        }
    }
    let same_line = |a: usize, b: usize| !has_line_break(&text[a..b]);
    match (prev_end, next_start) {
        (_, Some(next)) if same_line(end, next) => vec![TextEdit::new(start, next, "")],
        (Some(prev), _) if same_line(prev, start) => vec![TextEdit::new(prev, end, "")],
        (_, Some(next)) => vec![TextEdit::new(start, next, "")],
        (Some(prev), None) => vec![TextEdit::new(prev, end, "")],
        (None, None) => {
            let stop = if has_comma { after + 1 } else { end };
            vec![TextEdit::new(start, stop, "")]
        }
    }
}

/// The line break the file uses.
fn newline(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

/// One level of indentation in the file: a tab when lines are indented with
/// tabs, else the smallest indentation in spaces (two when there is none).
fn indent_unit(text: &str) -> String {
    let mut smallest: Option<usize> = None;
    for line in text.lines() {
        if line.starts_with('\t') {
            return "\t".into();
        }
        let width = line.len() - line.trim_start_matches(' ').len();
        if width > 0 && width < line.len() {
            smallest = Some(smallest.map_or(width, |s| s.min(width)));
        }
    }
    " ".repeat(smallest.unwrap_or(2).clamp(1, 8))
}

/// `"k1": {"k2": [...]}` on one line, or laid out on lines indented from
/// `indent` (the indentation of the property's own line).
fn property_text(
    keys: &[&str],
    ranges: &[String],
    multiline: bool,
    indent: &str,
    unit: &str,
    nl: &str,
) -> String {
    let (key, rest) = match keys.split_first() {
        Some(split) => split,
        None => return list_text(ranges),
    };
    let value = if rest.is_empty() {
        list_text(ranges)
    } else if multiline {
        let inner = format!("{indent}{unit}");
        format!(
            "{{{nl}{inner}{}{nl}{indent}}}",
            property_text(rest, ranges, true, &inner, unit, nl)
        )
    } else {
        format!("{{{}}}", property_text(rest, ranges, false, "", unit, nl))
    };
    format!("{}: {value}", json_string(key))
}

/// An edit that inserts the property as the first of `object`.
pub fn insert_first_property(
    text: &str,
    object: &Node,
    keys: &[&str],
    ranges: &[String],
) -> Vec<TextEdit> {
    let nl = newline(text);
    let open = object.span.start as usize;
    let close = (object.span.end as usize).saturating_sub(1);
    let object_indent = indentation(text, open);
    match object.as_object().and_then(<[_]>::first) {
        Some(first) => {
            let key = first.key_span.start as usize;
            if has_line_break(&text[open..key]) {
                let indent = indentation(text, key);
                let unit = indent
                    .strip_prefix(object_indent)
                    .filter(|u| !u.is_empty())
                    .map_or_else(|| indent_unit(text), str::to_string);
                let property = property_text(keys, ranges, true, indent, &unit, nl);
                vec![TextEdit::new(key, key, format!("{property},{nl}{indent}"))]
            } else {
                let property = property_text(keys, ranges, false, "", "", nl);
                vec![TextEdit::new(key, key, format!("{property}, "))]
            }
        }
        None => {
            if !has_line_break(text) {
                let property = property_text(keys, ranges, false, "", "", nl);
                return vec![TextEdit::new(open + 1, open + 1, property)];
            }
            let unit = indent_unit(text);
            let indent = format!("{object_indent}{unit}");
            let property = property_text(keys, ranges, true, &indent, &unit, nl);
            let inside = &text[open + 1..close];
            if has_line_break(inside) {
                vec![TextEdit::new(
                    open + 1,
                    open + 1,
                    format!("{nl}{indent}{property}"),
                )]
            } else if inside.trim().is_empty() {
                vec![TextEdit::new(
                    open + 1,
                    close,
                    format!("{nl}{indent}{property}{nl}{object_indent}"),
                )]
            } else {
                vec![TextEdit::new(
                    open + 1,
                    open + 1,
                    format!("{nl}{indent}{property}{nl}{object_indent}"),
                )]
            }
        }
    }
}

/// Applies non-overlapping edits sorted by start.
pub fn apply_edits(text: &str, edits: &[TextEdit]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for e in edits {
        out.push_str(&text[at..e.start]);
        out.push_str(&e.text);
        at = e.end;
    }
    out.push_str(&text[at..]);
    out
}

/// The lines the edits change, before and after, without the unchanged
/// lines around them.
fn preview(text: &str, lines: &LineIndex, edits: &[TextEdit], display: &str) -> Vec<Hunk> {
    let (Some(first), Some(last_end)) = (edits.first(), edits.iter().map(|e| e.end).max()) else {
        return Vec::new();
    };
    let from = line_start(text, first.start);
    let to = line_end(text, last_end);
    let local: Vec<TextEdit> = edits
        .iter()
        .map(|e| TextEdit::new(e.start - from, e.end - from, e.text.clone()))
        .collect();
    let old_text = &text[from..to];
    let new_text = apply_edits(old_text, &local);
    let split = |s: &str| -> Vec<String> {
        s.split('\n')
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect()
    };
    let mut old = split(old_text);
    let mut new = split(&new_text);
    if let Some(l) = old.first_mut() {
        *l = l.trim_start_matches('\u{feff}').to_string();
    }
    if let Some(l) = new.first_mut() {
        *l = l.trim_start_matches('\u{feff}').to_string();
    }
    let mut start_line = lines.position(text, from).line;
    while !old.is_empty() && !new.is_empty() && old[0] == new[0] {
        old.remove(0);
        new.remove(0);
        start_line += 1;
    }
    while !old.is_empty() && !new.is_empty() && old.last() == new.last() {
        old.pop();
        new.pop();
    }
    vec![Hunk {
        file: display.to_string(),
        start_line,
        old,
        new,
    }]
}

/// Whether `scan --fix` applies a fix of this safety.
pub fn applies(safety: Safety, unsafe_too: bool) -> bool {
    safety == Safety::Safe || unsafe_too
}

/// One fix `scan --fix` applied, skipped or could not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixNote {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub rule_id: &'static str,
    pub description: String,
    pub safety: Safety,
}

/// What `scan --fix` did, and the report of the scan after it.
#[derive(Debug)]
pub struct FixRun {
    /// The scan of the fixed files: the findings that remain.
    pub report: Report,
    pub applied: Vec<FixNote>,
    /// Fixes still offered after the last round (they overlapped others).
    pub skipped: Vec<FixNote>,
    /// Files that could not be fixed, and why.
    pub failed: Vec<(String, String)>,
    /// Unsafe fixes left because `--unsafe-fixes` was not given.
    pub unsafe_left: usize,
}

impl FixRun {
    pub fn files_changed(&self) -> usize {
        self.applied
            .iter()
            .map(|n| n.file.as_str())
            .collect::<BTreeSet<_>>()
            .len()
    }
}

/// Rounds of fixing: a fix that overlaps another is applied in the next
/// round, on the re-scanned text.
const MAX_ROUNDS: usize = 5;

/// Scans, applies the fixes `--fix` allows file by file, and scans again
/// until no fix is left (or [`MAX_ROUNDS`]). A file is only changed when it
/// parses before and after the edits, and it is written atomically.
pub fn scan_and_fix(options: &crate::ScanOptions, unsafe_too: bool) -> FixRun {
    let (candidates, _) = crate::discover::walk(&options.paths, &options.filters, &options.base);
    let paths: HashMap<String, PathBuf> = candidates
        .into_iter()
        .map(|c| (c.display, c.path))
        .collect();
    let mut applied = Vec::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    let mut report = crate::scan(options);
    for _ in 0..MAX_ROUNDS {
        let untouchable: BTreeSet<&str> = failed.iter().map(|(f, _)| f.as_str()).collect();
        let plans = plan(&report, unsafe_too, &untouchable);
        if plans.iter().all(|(_, p)| p.accepted.is_empty()) {
            break;
        }
        let mut changed = false;
        for (file, plan) in plans {
            if plan.accepted.is_empty() {
                continue;
            }
            let Some(path) = paths.get(&file) else {
                failed.push((file, "the file was not found again".into()));
                continue;
            };
            let edits: Vec<TextEdit> = plan
                .accepted
                .iter()
                .flat_map(|(_, fix)| fix.edits.iter())
                .map(|e| TextEdit::new(e.start, e.end, e.replacement.clone()))
                .collect();
            match apply_to_file(path, edits) {
                Ok(()) => {
                    changed = true;
                    applied.extend(plan.accepted.into_iter().map(|(note, _)| note));
                }
                Err(why) => failed.push((file, why)),
            }
        }
        if !changed {
            break;
        }
        report = crate::scan(options);
    }
    let untouchable: BTreeSet<&str> = failed.iter().map(|(f, _)| f.as_str()).collect();
    let skipped = plan(&report, unsafe_too, &untouchable)
        .into_values()
        .flat_map(|p| p.accepted.into_iter().chain(p.skipped))
        .map(|(note, _)| note)
        .collect();
    let unsafe_left = if unsafe_too {
        0
    } else {
        report
            .unique_findings()
            .iter()
            .filter(|u| u.finding.suppression.is_none())
            .filter(|u| {
                u.finding
                    .fix
                    .as_ref()
                    .is_some_and(|f| f.safety == Safety::Unsafe)
            })
            .count()
    };
    FixRun {
        report,
        applied,
        skipped,
        failed,
        unsafe_left,
    }
}

#[derive(Default)]
struct FilePlan {
    accepted: Vec<(FixNote, Fix)>,
    skipped: Vec<(FixNote, Fix)>,
}

/// Which fixes to apply in each file: in order of position, each fix whose
/// edits do not touch those of a fix already accepted.
fn plan(
    report: &Report,
    unsafe_too: bool,
    untouchable: &BTreeSet<&str>,
) -> BTreeMap<String, FilePlan> {
    let mut by_file: BTreeMap<String, Vec<(FixNote, Fix)>> = BTreeMap::new();
    for u in report.unique_findings() {
        let f = u.finding;
        let Some(fix) = &f.fix else { continue };
        let Some(file) = fix.edits.first().map(|e| e.file.clone()) else {
            continue;
        };
        if f.suppression.is_some()
            || !applies(fix.safety, unsafe_too)
            || untouchable.contains(file.as_str())
            || fix.edits.iter().any(|e| e.file != file)
        {
            continue;
        }
        let note = FixNote {
            file: f.region.file.clone(),
            line: f.region.start_line,
            column: f.region.start_column,
            rule_id: f.rule_id,
            description: fix.description.clone(),
            safety: fix.safety,
        };
        by_file.entry(file).or_default().push((note, fix.clone()));
    }
    by_file
        .into_iter()
        .map(|(file, mut fixes)| {
            fixes.sort_by_key(|(_, fix)| (fix.edits[0].start, fix.edits[0].end));
            let mut plan = FilePlan::default();
            let mut taken: Vec<(usize, usize)> = Vec::new();
            for (note, fix) in fixes {
                if plan.accepted.iter().any(|(_, f)| f.edits == fix.edits) {
                    // Another finding's fix makes the same change.
                    plan.accepted.push((note, fix));
                    continue;
                }
                let clash = fix
                    .edits
                    .iter()
                    .any(|e| taken.iter().any(|&t| overlaps(t, (e.start, e.end))));
                if clash {
                    plan.skipped.push((note, fix));
                } else {
                    taken.extend(fix.edits.iter().map(|e| (e.start, e.end)));
                    plan.accepted.push((note, fix));
                }
            }
            (file, plan)
        })
        .collect()
}

/// Whether two byte ranges conflict: they share a byte, they start at the
/// same place, or one is an insertion strictly inside the other.
fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
    (a.0 < b.1 && b.0 < a.1) || a.0 == b.0
}

/// Applies edits to a file: only when it parses before and after, written
/// to a temporary file in the same folder and renamed over it.
fn apply_to_file(path: &Path, mut edits: Vec<TextEdit>) -> Result<(), String> {
    edits.sort_by_key(|e| (e.start, e.end));
    edits.dedup();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    crate::parse::parse(&text)
        .map_err(|e| format!("it is not valid JSON ({e}), so no fix was applied"))?;
    let fits = edits.iter().all(|e| {
        e.end <= text.len() && text.is_char_boundary(e.start) && text.is_char_boundary(e.end)
    }) && edits.windows(2).all(|w| w[0].end <= w[1].start);
    if !fits {
        return Err("it changed since it was scanned; no fix was applied".into());
    }
    let fixed = apply_edits(&text, &edits);
    crate::parse::parse(&fixed).map_err(|e| {
        format!("the fixed text would not be valid JSON ({e}); the file was left unchanged")
    })?;
    write_atomically(path, fixed.as_bytes()).map_err(|e| format!("cannot write it: {e}"))
}

/// Writes `contents` to a new file next to `path`, then renames it over
/// `path`, so a reader sees the old file or the new one, never half of one.
pub fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    // Through a symbolic link, replace the file it points to, not the link.
    let path = std::fs::canonicalize(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let permissions = std::fs::metadata(&path)?.permissions();
    for attempt in 0..100 {
        let temp = dir.join(format!(
            ".{name}.{}-{attempt}.aks-fix.tmp",
            std::process::id()
        ));
        let mut file = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
        {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        let written = file
            .write_all(contents)
            .and_then(|()| file.sync_all())
            .and_then(|()| std::fs::set_permissions(&temp, permissions.clone()))
            .and_then(|()| std::fs::rename(&temp, &path));
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        return written;
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "no free name for a temporary file",
    ))
}

/// A path or message on one line: a line break in a file name must not start
/// a line of its own (in GitHub Actions, one starting with `::` is a command).
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// What `scan --fix` did, for standard error.
pub fn write_summary(run: &FixRun, out: &mut dyn Write) -> std::io::Result<()> {
    for n in &run.applied {
        writeln!(
            out,
            "fixed: {}:{}:{}: [{}] {}",
            one_line(&n.file),
            n.line,
            n.column,
            n.rule_id,
            one_line(&n.description)
        )?;
    }
    for n in &run.skipped {
        writeln!(
            out,
            "not fixed: {}:{}:{}: [{}] it overlaps another fix; run --fix again",
            one_line(&n.file),
            n.line,
            n.column,
            n.rule_id
        )?;
    }
    for (file, why) in &run.failed {
        writeln!(
            out,
            "error: could not fix {}: {}",
            one_line(file),
            one_line(why)
        )?;
    }
    let findings = if run.applied.len() == 1 {
        "finding"
    } else {
        "findings"
    };
    let files = if run.files_changed() == 1 {
        "file"
    } else {
        "files"
    };
    writeln!(
        out,
        "Fixed {} {findings} in {} {files}.",
        run.applied.len(),
        run.files_changed()
    )?;
    if run.unsafe_left > 0 {
        writeln!(
            out,
            "{} unsafe {} not applied: they change who can reach the API server; review them \
             and add --unsafe-fixes to apply them.",
            run.unsafe_left,
            if run.unsafe_left == 1 {
                "fix was"
            } else {
                "fixes were"
            }
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    fn array_of(text: &str) -> Vec<Node> {
        let root = parse(text).expect("parse");
        fn find(n: &Node) -> Option<Vec<Node>> {
            match &n.value {
                Json::Array(items) => Some(items.clone()),
                Json::Object(members) => members.iter().find_map(|m| find(&m.value)),
                _ => None,
            }
        }
        find(&root).expect("an array")
    }

    fn remove(text: &str, index: usize) -> String {
        let items = array_of(text);
        let out = apply_edits(text, &remove_element(text, &items, index));
        parse(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        out
    }

    #[test]
    fn removes_from_one_line_arrays() {
        let t = r#"{"a": ["x", "y", "z"]}"#;
        assert_eq!(remove(t, 0), r#"{"a": ["y", "z"]}"#);
        assert_eq!(remove(t, 1), r#"{"a": ["x", "z"]}"#);
        assert_eq!(remove(t, 2), r#"{"a": ["x", "y"]}"#);
        assert_eq!(remove(r#"["x", "y",]"#, 1), r#"["x",]"#);
        assert_eq!(remove(r#"["x" , /* c */ "y"]"#, 1), r#"["x"]"#);
    }

    #[test]
    fn removes_whole_lines_from_multi_line_arrays() {
        let t = "[\n  \"x\", // one\n  \"y\", // two\n  \"z\"  // three\n]\n";
        assert_eq!(remove(t, 0), "[\n  \"y\", // two\n  \"z\"  // three\n]\n");
        assert_eq!(remove(t, 1), "[\n  \"x\", // one\n  \"z\"  // three\n]\n");
        // The new last entry gives up its comma; its comment stays.
        assert_eq!(remove(t, 2), "[\n  \"x\", // one\n  \"y\" // two\n]\n");
        let trailing = "[\r\n\t\"x\",\r\n\t\"y\",\r\n]";
        assert_eq!(remove(trailing, 1), "[\r\n\t\"x\",\r\n]");
        assert_eq!(remove(trailing, 0), "[\r\n\t\"y\",\r\n]");
    }

    #[test]
    fn removes_entries_sharing_a_line() {
        let t = "[\n  \"x\", \"y\",\n  \"z\"\n]";
        assert_eq!(remove(t, 0), "[\n  \"y\",\n  \"z\"\n]");
        assert_eq!(remove(t, 1), "[\n  \"x\",\n  \"z\"\n]");
        assert_eq!(remove("[\"x\",\n \"y\"]", 0), "[\"y\"]");
        assert_eq!(remove("[\"x\",\n \"y\"]", 1), "[\"x\"]");
    }

    fn insert(text: &str, keys: &[&str]) -> String {
        let root = parse(text).expect("parse");
        let object = root.get("p").expect("p");
        let out = apply_edits(
            text,
            &insert_first_property(text, object, keys, &["0.0.0.0/32".to_string()]),
        );
        parse(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        out
    }

    #[test]
    fn inserts_a_first_property_with_the_layout_around() {
        let t = "{\n    \"p\": {\n        \"a\": 1\n    }\n}";
        assert_eq!(
            insert(t, &["k"]),
            "{\n    \"p\": {\n        \"k\": [\"0.0.0.0/32\"],\n        \"a\": 1\n    }\n}"
        );
        assert_eq!(
            insert(t, &["o", "k"]),
            "{\n    \"p\": {\n        \"o\": {\n            \"k\": [\"0.0.0.0/32\"]\n        },\n        \"a\": 1\n    }\n}"
        );
        assert_eq!(
            insert("{\"p\": { \"a\": 1 }}", &["o", "k"]),
            "{\"p\": { \"o\": {\"k\": [\"0.0.0.0/32\"]}, \"a\": 1 }}"
        );
    }

    #[test]
    fn inserts_into_an_empty_object_one_level_deeper() {
        let t = "{\n  \"p\": {}\n}";
        assert_eq!(
            insert(t, &["k"]),
            "{\n  \"p\": {\n    \"k\": [\"0.0.0.0/32\"]\n  }\n}"
        );
        let t = "{\n\t\"p\": {\n\t}\n}";
        assert_eq!(
            insert(t, &["k"]),
            "{\n\t\"p\": {\n\t\t\"k\": [\"0.0.0.0/32\"]\n\t}\n}"
        );
        assert_eq!(
            insert("{\"p\":{}}", &["k"]),
            "{\"p\":{\"k\": [\"0.0.0.0/32\"]}}"
        );
    }

    #[test]
    fn finds_nodes_and_layout() {
        let t = "\u{feff}{\r\n   \"a\": [1, {\"b\": null}]\r\n}";
        let root = parse(t).expect("parse");
        let b = root.get("a").and_then(|a| a.as_array()).expect("a")[1]
            .get("b")
            .expect("b");
        assert_eq!(node_at(&root, b.span).map(|n| &n.value), Some(&Json::Null));
        assert!(node_at(&root, Span::new(0, 1)).is_none());
        assert_eq!(indentation(t, b.span.start as usize), "   ");
        assert_eq!(newline(t), "\r\n");
        assert_eq!(
            indent_unit("{\n    \"a\": {\n        \"b\": 1\n    }\n}"),
            "    "
        );
        assert_eq!(rest_of_line_is_trivia("\"x\", // c\nz", 3), Some(10));
        assert_eq!(rest_of_line_is_trivia("\"x\", \"y\"\n", 3), None);
        assert!(overlaps((3, 5), (4, 4)) && overlaps((3, 3), (3, 5)) && !overlaps((3, 5), (5, 6)));
    }
}

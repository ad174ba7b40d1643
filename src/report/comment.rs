//! What a pull-request comment says about a finding, shared by the GitHub
//! review ([`crate::github`]) and the Azure Repos threads
//! ([`crate::azure_devops`]): where it goes, the one-click suggestion when the
//! fix is an edit of the commented lines, and the Markdown body.

use crate::findings::{FindingReport, ResourceReport, Safety, UniqueFinding};
use crate::report::markdown::{code, code_block, escape};

/// Where a finding is commented: lines `start..=end`, and the new text of
/// those lines when the fix is an edit of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub start: u32,
    pub end: u32,
    pub suggestion: Option<String>,
}

/// Where to comment on finding `f`, given `can_cover(start, end)`: whether
/// one comment may cover lines `start..=end` (on GitHub, lines of one hunk of
/// the diff). The finding's whole region when it may, else its last line;
/// when the fix's edits are on those lines, a suggestion replaces them; when
/// they are on other lines one comment may cover, the comment goes there
/// instead so the fix is one click. `None` when no line may be commented.
pub fn place(
    f: &FindingReport,
    text: Option<&str>,
    can_cover: &dyn Fn(u32, u32) -> bool,
) -> Option<Placement> {
    let (s, e) = (
        f.region.start_line,
        f.region.end_line.max(f.region.start_line),
    );
    let range = if can_cover(s, e) {
        Some((s, e))
    } else if can_cover(e, e) {
        Some((e, e))
    } else {
        None
    };
    if let (Some((s, e)), Some(text)) = (range, text) {
        if let Some(suggestion) = suggestion(f, text, s, e) {
            return Some(Placement {
                start: s,
                end: e,
                suggestion: Some(suggestion),
            });
        }
    }
    if let (Some(fix), Some(text)) = (&f.fix, text) {
        let from = fix.edits.iter().map(|e| e.region.start_line).min();
        let to = fix.edits.iter().map(|e| e.region.end_line).max();
        if let (Some(from), Some(to)) = (from, to) {
            if can_cover(from, to) {
                if let Some(suggestion) = suggestion(f, text, from, to) {
                    return Some(Placement {
                        start: from,
                        end: to,
                        suggestion: Some(suggestion),
                    });
                }
            }
        }
    }
    range.map(|(start, end)| Placement {
        start,
        end,
        suggestion: None,
    })
}

/// The new text of lines `start..=end` once the finding's fix is applied,
/// when every edit of the fix is on those lines of the finding's file.
pub fn suggestion(f: &FindingReport, text: &str, start: u32, end: u32) -> Option<String> {
    let fix = f.fix.as_ref()?;
    if fix.edits.is_empty()
        || !fix.edits.iter().all(|e| {
            e.file == f.region.file && e.region.start_line >= start && e.region.end_line <= end
        })
    {
        return None;
    }
    let from = line_start(text, start)?;
    let to = line_end(text, end)?;
    let mut edits: Vec<_> = fix.edits.iter().collect();
    edits.sort_by_key(|e| e.start);
    let mut out = String::new();
    let mut at = from;
    for e in edits {
        if e.start < at
            || e.end > to
            || !text.is_char_boundary(e.start)
            || !text.is_char_boundary(e.end)
        {
            return None;
        }
        out.push_str(&text[at..e.start]);
        out.push_str(&e.replacement);
        at = e.end;
    }
    out.push_str(&text[at..to]);
    let out = out.trim_start_matches('\u{feff}');
    let lines: Vec<&str> = out.split('\n').map(|l| l.trim_end_matches('\r')).collect();
    Some(lines.join("\n"))
}

/// Byte offset where 1-based `line` starts.
pub fn line_start(text: &str, line: u32) -> Option<usize> {
    if line == 0 {
        return None;
    }
    if line == 1 {
        return Some(0);
    }
    text.match_indices('\n')
        .nth(line as usize - 2)
        .map(|(i, _)| i + 1)
}

/// Byte offset where 1-based `line` ends (before its line break).
pub fn line_end(text: &str, line: u32) -> Option<usize> {
    let start = line_start(text, line)?;
    Some(text[start..].find('\n').map_or(text.len(), |i| start + i))
}

/// A ```` ```suggestion ```` block whose fence the content cannot close; an
/// empty one deletes the lines.
pub fn suggestion_block(new_text: &str) -> String {
    if new_text.trim().is_empty() {
        return "```suggestion\n```".to_string();
    }
    code_block("suggestion", new_text)
}

/// The Markdown of one finding's comment: level, rule, cluster and message,
/// the rule's short help, then the fix as a ```` ```suggestion ```` block when
/// `suggestion` holds the new text of the commented lines, else the rule's
/// example for the file's kind (Bicep or ARM JSON). Text from templates is
/// escaped. No marker: each platform adds its own.
pub fn finding_body(
    resource: &ResourceReport,
    f: &FindingReport,
    suggestion: Option<&str>,
) -> String {
    let rule = crate::rules::find(f.rule_id);
    let mut out = format!(
        "**{}** {} on cluster **{}**\n\n{}\n",
        f.level.as_str(),
        code(f.rule_id),
        escape(&resource.name),
        escape(&f.message)
    );
    if let Some(rule) = rule {
        out.push_str(&format!("\n{}\n", escape(rule.short_description)));
    }
    match (suggestion, &f.fix) {
        (Some(new_text), Some(fix)) => {
            let safety = match fix.safety {
                Safety::Safe => "Suggested fix",
                Safety::Unsafe => "Suggested fix (unsafe: it changes who can reach the API server)",
            };
            out.push_str(&format!(
                "\n**{safety}:** {}\n\n{}\n",
                escape(&fix.description),
                suggestion_block(new_text)
            ));
            // Plain Markdown: GitHub's `> [!WARNING]` shows as text on
            // Azure Repos.
            if fix.safety == Safety::Unsafe {
                out.push_str(
                    "\n> **Warning:** `0.0.0.0/32` only lets the cluster reach its own API server. \
                     Before merging, **add the ranges your administrators and CI/CD agents use**, \
                     or they will be locked out of the cluster.\n",
                );
                if let Some(example) = rule.and_then(|r| rule_example(r, resource.from_bicep)) {
                    out.push_str(&format!("\nThe rule's example, {example}"));
                }
            }
        }
        _ => {
            if let Some(example) = rule.and_then(|r| rule_example(r, resource.from_bicep)) {
                out.push_str(&format!("\n**How to fix**, {example}"));
            }
        }
    }
    if let Some(rule) = rule {
        out.push_str(&format!(
            "\nMore: `aks-authorized-ips explain {}` or [the rule's documentation]({}).\n",
            rule.id,
            crate::rules::docs::help_uri(rule)
        ));
    }
    out
}

/// "in Bicep, for example:" and the rule's documented example for the
/// template's kind, as a fenced block.
fn rule_example(rule: &crate::rules::Rule, from_bicep: bool) -> Option<String> {
    let (heading, language, name) = if from_bicep {
        ("Bicep", "bicep", "Bicep")
    } else {
        ("Azure template (ARM JSON)", "json", "an ARM template")
    };
    let example = crate::rules::docs::example(rule, heading)?;
    Some(format!(
        "in {name}, for example:\n\n{}\n",
        code_block(language, example)
    ))
}

/// A Markdown table of findings (file, line, level, rule, cluster, message),
/// for the findings a platform cannot comment where they are.
pub fn findings_table(listed: &[&UniqueFinding<'_>]) -> String {
    let mut out = String::from(
        "| File | Line | Level | Rule | Cluster | Message |\n|---|---|---|---|---|---|\n",
    );
    for u in listed {
        let f = u.finding;
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            escape(&f.region.file),
            f.region.start_line,
            f.level.as_str(),
            code(f.rule_id),
            escape(&u.resource.name),
            escape(&f.message)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_found() {
        let t = "a\nbb\r\nccc";
        assert_eq!(line_start(t, 2), Some(2));
        assert_eq!(line_end(t, 2), Some(5));
        assert_eq!(line_end(t, 3), Some(t.len()));
        assert_eq!(line_start(t, 4), None);
    }
}

//! What to say on a pull request: the inline comments, the review body and
//! the comments to mark fixed, from the report, the PR's diff and what was
//! said before. Pure: no network, so every decision is unit-testable.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use super::diff::FileDiff;
use crate::findings::{FindingReport, Report, ResourceReport, UniqueFinding};
use crate::report::comment::{finding_body, findings_table, place};

/// At most this many inline comments per review; the rest go in the body.
pub const MAX_INLINE: usize = 30;

const MARKER: &str = "<!-- aks-authorized-ips";

/// The hidden marker that ties a comment to a finding.
pub fn fingerprint_marker(fp: &str) -> String {
    format!("{MARKER} fingerprint={fp} -->")
}

fn state_marker(fixed: bool) -> String {
    format!(
        "{MARKER} state={} -->",
        if fixed { "fixed" } else { "open" }
    )
}

/// The marker for a finding listed in a review's body: `summarised` when it
/// was not on a commentable line, `refused` when GitHub refused the inline
/// comments (those are never tried inline again).
fn listed_marker(key: &str, fp: &str) -> String {
    format!("{MARKER} {key}={fp} -->")
}

/// Reads `key` from our markers at the start of a line of `body` (a quote
/// in a reply starts with `>`, so quoting our comment does not count).
fn marker_values<'a>(body: &'a str, key: &str) -> Vec<&'a str> {
    let prefix = format!("{MARKER} {key}=");
    body.lines()
        .filter_map(|l| l.trim_end().strip_prefix(prefix.as_str()))
        .filter_map(|rest| rest.strip_suffix(" -->"))
        .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric()))
        .collect()
}

/// One of our earlier inline comments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub id: u64,
    pub fingerprint: String,
    pub fixed: bool,
    pub body: String,
    /// The file it is on, as GitHub names it (a report path).
    pub path: Option<String>,
}

/// Whether `item` (a comment or a review) was written by the identity this
/// run posts as: a bot (the workflow's `GITHUB_TOKEN` posts as
/// `github-actions[bot]`, a GitHub App as its own bot) or `me`, the token's
/// user when it is a person's token. A marker in a comment someone else
/// wrote (the pull request's author, say) must not silence a finding.
pub fn written_by_us(item: &Value, me: Option<&str>) -> bool {
    let Some(user) = item.get("user") else {
        return false;
    };
    let bot = user
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("Bot"));
    let login = user.get("login").and_then(Value::as_str);
    bot || (me.is_some() && login.is_some_and(|l| Some(l) == me))
}

/// Our comments among a PR's review comments (replies are skipped).
pub fn existing_comments(comments: &[Value], me: Option<&str>) -> Vec<Existing> {
    comments
        .iter()
        .filter(|c| written_by_us(c, me))
        .filter(|c| c.get("in_reply_to_id").map_or(true, Value::is_null))
        .filter_map(|c| {
            let id = c.get("id")?.as_u64()?;
            let body = c.get("body")?.as_str()?;
            let fingerprint = marker_values(body, "fingerprint").first()?.to_string();
            let fixed = marker_values(body, "state").contains(&"fixed");
            Some(Existing {
                id,
                fingerprint,
                fixed,
                body: body.to_string(),
                path: c.get("path").and_then(Value::as_str).map(str::to_string),
            })
        })
        .collect()
}

/// Fingerprints our earlier reviews listed in their body under `key`
/// (`summarised` or `refused`, see [`listed_marker`]).
pub fn listed_before(reviews: &[Value], key: &str, me: Option<&str>) -> HashSet<String> {
    reviews
        .iter()
        .filter(|r| written_by_us(r, me))
        .filter_map(|r| r.get("body").and_then(Value::as_str))
        .flat_map(|b| marker_values(b, key))
        .map(str::to_string)
        .collect()
}

/// An inline comment, as `POST …/reviews` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewComment {
    pub path: String,
    pub line: u32,
    pub side: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_side: Option<&'static str>,
    pub body: String,
}

/// Everything one run says.
#[derive(Debug, Default)]
pub struct Plan {
    pub comments: Vec<ReviewComment>,
    /// The review's body; `None` when there is nothing new to say.
    pub body: Option<String>,
    /// The body to post instead, with no inline comment, when GitHub refuses
    /// the review's comments (422): every new finding in its table.
    pub body_without_comments: Option<String>,
    /// Comments to update: id and new body.
    pub fixed: Vec<(u64, String)>,
    /// Findings already commented or summarised by an earlier run.
    pub already_said: usize,
}

pub struct Inputs<'a> {
    pub report: &'a Report,
    /// The PR's files and their commentable lines.
    pub diffs: &'a HashMap<String, FileDiff>,
    pub existing: &'a [Existing],
    pub summarised_before: &'a HashSet<String>,
    /// Findings whose inline comment GitHub refused before: body only.
    pub refused_before: &'a HashSet<String>,
    /// Reads a report path's text (for suggestions).
    pub read: &'a dyn Fn(&str) -> Option<String>,
}

pub fn plan(inputs: &Inputs<'_>) -> Plan {
    let findings = inputs.report.live_unique_findings();
    let current: HashSet<&str> = findings
        .iter()
        .map(|u| u.finding.fingerprint.as_str())
        .collect();
    let open: HashSet<&str> = inputs
        .existing
        .iter()
        .filter(|e| !e.fixed)
        .map(|e| e.fingerprint.as_str())
        .collect();

    let mut plan = Plan::default();
    let mut texts: HashMap<String, Option<String>> = HashMap::new();
    let mut listed: Vec<&UniqueFinding<'_>> = Vec::new();
    let mut inline: Vec<&UniqueFinding<'_>> = Vec::new();
    let mut elsewhere = 0;
    for u in &findings {
        let f = u.finding;
        // A finding an earlier review only listed in its body is commented
        // inline once a later push brings its lines into the diff.
        let listed_before = inputs.summarised_before.contains(&f.fingerprint);
        if open.contains(f.fingerprint.as_str()) || inputs.refused_before.contains(&f.fingerprint) {
            plan.already_said += 1;
            continue;
        }
        let Some(diff) = inputs.diffs.get(&f.region.file) else {
            if listed_before {
                plan.already_said += 1;
            } else {
                elsewhere += 1;
            }
            continue;
        };
        let text = texts
            .entry(f.region.file.clone())
            .or_insert_with(|| (inputs.read)(&f.region.file));
        let placement = place(f, text.as_deref(), &|s, e| diff.same_hunk(s, e));
        if listed_before && (placement.is_none() || plan.comments.len() >= MAX_INLINE) {
            plan.already_said += 1;
            continue;
        }
        match placement {
            Some(p) if plan.comments.len() < MAX_INLINE => {
                inline.push(u);
                plan.comments.push(ReviewComment {
                    path: f.region.file.clone(),
                    line: p.end,
                    side: "RIGHT",
                    start_line: (p.start < p.end).then_some(p.start),
                    start_side: (p.start < p.end).then_some("RIGHT"),
                    body: comment_body(u.resource, f, p.suggestion.as_deref()),
                });
            }
            _ => listed.push(u),
        }
    }

    // Gone from a file this run read (or a file that is gone): fixed. A
    // comment on a file another scan step covers is left alone.
    for e in inputs.existing {
        let can_tell = e
            .path
            .as_deref()
            .map_or(true, |p| inputs.report.can_tell_gone(p));
        if !e.fixed && !current.contains(e.fingerprint.as_str()) && can_tell {
            plan.fixed.push((e.id, fixed_body(&e.body)));
        }
    }
    // Several comments can carry one fingerprint (a run that raced another):
    // each is updated once.
    plan.fixed.sort_by_key(|(id, _)| *id);
    plan.fixed.dedup_by_key(|(id, _)| *id);

    if !plan.comments.is_empty() || !listed.is_empty() {
        plan.body = Some(review_body(plan.comments.len(), &listed, elsewhere, false));
    }
    if !plan.comments.is_empty() {
        inline.extend(listed.iter().copied());
        plan.body_without_comments = Some(review_body(0, &inline, elsewhere, true));
    }
    plan
}

/// A finding's inline comment: the shared body, then our hidden markers.
fn comment_body(resource: &ResourceReport, f: &FindingReport, suggestion: Option<&str>) -> String {
    format!(
        "{}\n{}\n{}\n",
        finding_body(resource, f, suggestion),
        fingerprint_marker(&f.fingerprint),
        state_marker(false)
    )
}

/// An earlier comment's body, marked fixed (its marker kept).
fn fixed_body(old: &str) -> String {
    let open = state_marker(false);
    let kept: String = if old.contains(&open) {
        old.replace(&open, &state_marker(true))
    } else {
        format!("{}\n{}\n", old.trim_end(), state_marker(true))
    };
    format!("**Fixed:** aks-authorized-ips no longer reports this finding.\n\n---\n\n{kept}")
}

/// The review's body. `refused`: GitHub refused the inline comments, so
/// every new finding is in the table, marked never to be tried inline again.
fn review_body(
    inline: usize,
    listed: &[&UniqueFinding<'_>],
    elsewhere: usize,
    refused: bool,
) -> String {
    let mut out = String::from("### aks-authorized-ips\n\n");
    if refused {
        out.push_str(
            "GitHub did not accept comments on the lines of this diff, so the new findings are listed here.\n\n",
        );
    }
    if inline > 0 {
        out.push_str(&format!(
            "{inline} new finding{} on lines this pull request changes, commented inline.\n\n",
            if inline == 1 { "" } else { "s" }
        ));
    }
    if !listed.is_empty() && !refused {
        out.push_str(&format!(
            "{} finding{} not on a line of this diff (or over the limit of {MAX_INLINE} inline comments):\n\n",
            listed.len(),
            if listed.len() == 1 { "" } else { "s" }
        ));
    }
    if !listed.is_empty() {
        out.push_str(&findings_table(listed));
        out.push('\n');
    }
    if elsewhere > 0 {
        out.push_str(&format!(
            "{elsewhere} more finding{} in files this pull request does not change (see the report or code scanning).\n\n",
            if elsewhere == 1 { " is" } else { "s are" }
        ));
    }
    out.push_str(&format!("{MARKER} review -->\n"));
    let key = if refused { "refused" } else { "summarised" };
    for u in listed {
        out.push_str(&listed_marker(key, &u.finding.fingerprint));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_identity_counts() {
        let person = serde_json::json!({"user": {"login": "octocat", "type": "User"}});
        assert!(!written_by_us(&person, None));
        assert!(written_by_us(&person, Some("octocat")));
        assert!(!written_by_us(&person, Some("someone-else")));
        assert!(written_by_us(
            &serde_json::json!({"user": {"login": "my-app[bot]", "type": "Bot"}}),
            None
        ));
        assert!(!written_by_us(&serde_json::json!({"body": "x"}), None));
    }

    #[test]
    fn markers_round_trip_and_quotes_do_not_count() {
        let body = format!(
            "x\n{}\n{}\n",
            fingerprint_marker("abc123"),
            state_marker(false)
        );
        let bot = serde_json::json!({"login": "github-actions[bot]", "type": "Bot"});
        let c = serde_json::json!([
            {"id": 1, "body": body, "user": bot},
            {"id": 2, "body": format!("> {}", fingerprint_marker("def")), "user": bot},
            {"id": 3, "body": body, "in_reply_to_id": 1, "user": bot},
            {"id": 4, "body": format!("x\n{}\n", fingerprint_marker("ghi")), "user": {"login": "mallory", "type": "User"}},
        ]);
        let e = existing_comments(c.as_array().unwrap(), None);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].fingerprint, "abc123");
        assert!(!e[0].fixed);
        let fixed = fixed_body(&e[0].body);
        let again = existing_comments(
            &[serde_json::json!({"id": 1, "body": fixed, "user": bot})],
            None,
        );
        assert!(again[0].fixed);
        assert_eq!(again[0].fingerprint, "abc123");
    }
}

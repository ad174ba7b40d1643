//! `scan --pr-comments`: one pull-request review per run, with an inline
//! comment per new finding on a line of the diff (a one-click suggestion when
//! the fix is an edit of those lines), the rest summarised in the review body,
//! and earlier comments whose finding is gone marked fixed.
//!
//! Nothing here changes the exit code: the report is written before the
//! first request, and every problem (no pull request, no token, a read-only
//! token on a fork, rate limits, network errors) ends as a message on
//! stderr. The token never appears in any message.

pub mod client;
pub mod diff;
pub mod review;

use std::collections::{HashMap, HashSet};
use std::io::Write;

use serde_json::{json, Value};

use crate::findings::Report;
use client::{Api, ApiError};
use diff::FileDiff;

const DEFAULT_API_URL: &str = "https://api.github.com";

/// The pull request a run comments on, from the workflow's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub api_url: String,
    pub owner: String,
    pub repo: String,
    pub number: u64,
    pub head_sha: String,
    /// The PR comes from a fork: the workflow's token is read-only on a
    /// `pull_request` event.
    pub fork: bool,
    pub token: String,
}

/// Why nothing is posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Expected (not a pull request event): a note.
    Note(String),
    /// Something is missing or wrong: a warning.
    Warning(String),
}

/// Reads the pull request from `GITHUB_EVENT_NAME`, `GITHUB_EVENT_PATH`,
/// `GITHUB_REPOSITORY`, `GITHUB_API_URL` and `GITHUB_TOKEN`.
pub fn context_from_env(var: &dyn Fn(&str) -> Option<String>) -> Result<Context, Skip> {
    let event = var("GITHUB_EVENT_NAME").unwrap_or_default();
    if event != "pull_request" && event != "pull_request_target" {
        return Err(Skip::Note(if event.is_empty() {
            "--pr-comments: not running in a GitHub Actions pull request (GITHUB_EVENT_NAME is not set); nothing posted".into()
        } else {
            format!("--pr-comments: the event is {event:?}, not a pull request; nothing posted")
        }));
    }
    let token = var("GITHUB_TOKEN")
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            Skip::Warning(
                "--pr-comments: GITHUB_TOKEN is not set, so no review can be posted; pass the \
             workflow's token (`env: GITHUB_TOKEN: ${{ github.token }}`)"
                    .into(),
            )
        })?;
    let token = token.trim().to_string();
    let path = var("GITHUB_EVENT_PATH")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| Skip::Warning("--pr-comments: GITHUB_EVENT_PATH is not set".into()))?;
    let payload: Value = std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        .map_err(|e| {
            Skip::Warning(format!(
                "--pr-comments: cannot read the event payload {path}: {e}"
            ))
        })?;
    let pr = payload.get("pull_request");
    let number = pr
        .and_then(|p| p.get("number"))
        .and_then(Value::as_u64)
        .or_else(|| payload.get("number").and_then(Value::as_u64));
    let head = pr.and_then(|p| p.get("head"));
    let head_sha = head.and_then(|h| h.get("sha")).and_then(Value::as_str);
    let (Some(number), Some(head_sha)) = (number, head_sha) else {
        return Err(Skip::Warning(
            "--pr-comments: the event payload has no pull_request.number or pull_request.head.sha"
                .into(),
        ));
    };
    let base_repo = payload
        .pointer("/repository/full_name")
        .and_then(Value::as_str);
    let full_name = var("GITHUB_REPOSITORY")
        .filter(|r| !r.is_empty())
        .or_else(|| base_repo.map(str::to_string))
        .unwrap_or_default();
    let Some((owner, repo)) = full_name
        .split_once('/')
        .filter(|(o, r)| valid_name(o) && valid_name(r))
    else {
        return Err(Skip::Warning(format!(
            "--pr-comments: GITHUB_REPOSITORY {full_name:?} is not owner/name"
        )));
    };
    let head_repo = head
        .and_then(|h| h.pointer("/repo/full_name"))
        .and_then(Value::as_str);
    let fork = match (head_repo, base_repo) {
        (Some(h), Some(b)) => !h.eq_ignore_ascii_case(b),
        // A deleted fork has `head.repo: null`.
        (None, Some(_)) => head.is_some_and(|h| h.get("repo").is_some_and(Value::is_null)),
        _ => false,
    };
    let api_url = var("GITHUB_API_URL")
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_API_URL.to_string());
    Ok(Context {
        api_url: api_url.trim_end_matches('/').to_string(),
        owner: owner.to_string(),
        repo: repo.to_string(),
        number,
        head_sha: head_sha.to_string(),
        fork,
        token,
    })
}

/// Owner and repository names as GitHub allows them (they go into paths).
fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Posts the review for `report` on the workflow's pull request; reports
/// what it did, or why it did not, on `err`.
pub fn post_review(report: &Report, err: &mut dyn Write) {
    let ctx = match context_from_env(&|k| std::env::var(k).ok()) {
        Ok(ctx) => ctx,
        Err(Skip::Note(m)) => {
            let _ = writeln!(err, "note: {m}");
            return;
        }
        Err(Skip::Warning(m)) => {
            let _ = writeln!(err, "warning: {m}");
            return;
        }
    };
    let token = ctx.token.clone();
    let mut out = Vec::new();
    run(report, &ctx, &mut out);
    // Belt and braces: whatever was written, the token is not in it.
    let text = crate::net::redact(&String::from_utf8_lossy(&out), &token);
    let _ = err.write_all(text.as_bytes());
}

fn run(report: &Report, ctx: &Context, err: &mut dyn Write) {
    let api = match Api::new(&ctx.api_url, &ctx.token) {
        Ok(api) => api,
        Err(m) => {
            let _ = writeln!(
                err,
                "warning: --pr-comments: {}",
                crate::net::redact(&m, &ctx.token)
            );
            return;
        }
    };
    let pr = format!("/repos/{}/{}/pulls/{}", ctx.owner, ctx.repo, ctx.number);
    let read_failed = |what: &str, e: &ApiError| {
        format!(
            "warning: --pr-comments: cannot read the pull request's {what}: {}; no review posted \
             (the report is complete){}",
            api.redact(&e.to_string()),
            permission_hint(e, "pull-requests: read", ctx.fork)
        )
    };

    let files = match api.get_all(&format!("{pr}/files?per_page=100")) {
        Ok(files) => files,
        Err(e) => {
            let _ = writeln!(err, "{}", read_failed("files", &e));
            return;
        }
    };
    let diffs: HashMap<String, FileDiff> = files
        .iter()
        .filter(|f| f.get("status").and_then(Value::as_str) != Some("removed"))
        .filter_map(|f| {
            let name = f.get("filename")?.as_str()?.to_string();
            let patch = f.get("patch").and_then(Value::as_str);
            Some((name, FileDiff::from_patch(patch)))
        })
        .collect();
    let comments = match api.get_all(&format!("{pr}/comments?per_page=100")) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(err, "{}", read_failed("review comments", &e));
            return;
        }
    };
    let reviews = match api.get_all(&format!("{pr}/reviews?per_page=100")) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "{}", read_failed("reviews", &e));
            return;
        }
    };
    // Who this run posts as, when the token is a person's: the workflow's
    // GITHUB_TOKEN and GitHub App tokens cannot read /user (403) and post
    // as bots, which `written_by_us` recognises.
    let me = api
        .get("/user")
        .ok()
        .and_then(|u| u.get("login").and_then(Value::as_str).map(str::to_string));
    let me = me.as_deref();
    let existing = review::existing_comments(&comments, me);
    let summarised: HashSet<String> = review::listed_before(&reviews, "summarised", me);
    let refused: HashSet<String> = review::listed_before(&reviews, "refused", me);
    let base = report.base.clone().unwrap_or_else(|| ".".into());
    let read = move |path: &str| std::fs::read_to_string(base.join(path)).ok();
    let plan = review::plan(&review::Inputs {
        report,
        diffs: &diffs,
        existing: &existing,
        summarised_before: &summarised,
        refused_before: &refused,
        read: &read,
    });

    match &plan.body {
        None => {
            let _ = writeln!(
                err,
                "--pr-comments: nothing new to say on pull request #{} ({} finding{} already commented)",
                ctx.number,
                plan.already_said,
                if plan.already_said == 1 { "" } else { "s" }
            );
        }
        Some(body) => {
            let request = json!({
                "commit_id": ctx.head_sha,
                "body": body,
                "event": "COMMENT",
                "comments": plan.comments,
            });
            match api.post(&format!("{pr}/reviews"), &request) {
                Ok(_) => {
                    let _ = writeln!(
                        err,
                        "--pr-comments: posted a review on pull request #{} with {} inline comment{}",
                        ctx.number,
                        plan.comments.len(),
                        if plan.comments.len() == 1 { "" } else { "s" }
                    );
                }
                // A 422 was not applied: the findings go in the body of a
                // review without inline comments, which cannot be refused
                // for a line.
                Err(e @ ApiError::Status { status: 422, .. })
                    if plan.body_without_comments.is_some() =>
                {
                    let body = plan.body_without_comments.as_deref().unwrap_or_default();
                    let request = json!({
                        "commit_id": ctx.head_sha,
                        "body": body,
                        "event": "COMMENT",
                        "comments": [],
                    });
                    let retried = api.post(&format!("{pr}/reviews"), &request);
                    let _ = match retried {
                        Ok(_) => writeln!(
                            err,
                            "warning: --pr-comments: GitHub refused the inline comments ({e}); posted the review without inline comments, its findings in the body"
                        ),
                        Err(e2) => writeln!(
                            err,
                            "{}",
                            post_failed("post the review without inline comments", &e2, ctx.fork)
                        ),
                    };
                }
                Err(e) => {
                    let _ = writeln!(err, "{}", post_failed("post the review", &e, ctx.fork));
                }
            }
        }
    }

    for (id, body) in &plan.fixed {
        let path = format!("/repos/{}/{}/pulls/comments/{id}", ctx.owner, ctx.repo);
        match api.patch(&path, &json!({ "body": body })) {
            Ok(_) => {
                let _ = writeln!(err, "--pr-comments: marked comment {id} fixed");
            }
            Err(e) => {
                let _ = writeln!(
                    err,
                    "{}",
                    post_failed(&format!("mark comment {id} fixed"), &e, ctx.fork)
                );
            }
        }
    }
}

fn post_failed(what: &str, e: &ApiError, fork: bool) -> String {
    let detail = e.to_string();
    match e {
        ApiError::Status { status: 422, .. } => {
            format!("warning: --pr-comments: GitHub refused to {what}: {detail}")
        }
        _ => format!(
            "warning: --pr-comments: cannot {what}: {detail}{}",
            permission_hint(e, "pull-requests: write", fork)
        ),
    }
}

/// What to change when GitHub says 403 or 404.
fn permission_hint(e: &ApiError, permission: &str, fork: bool) -> String {
    match e {
        ApiError::Status {
            status: 403 | 404, ..
        } => {
            let mut hint = format!(
                ". The token needs the `{permission}` permission: add `permissions: {{ {permission} }}` to the job"
            );
            if fork {
                hint.push_str(
                    "; this pull request comes from a fork, and on `pull_request` events GitHub \
                     gives fork pull requests a read-only token, so review comments cannot be \
                     posted (the SARIF upload still works)",
                );
            }
            hint
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::test_env as env;

    #[test]
    fn not_a_pull_request_is_a_note() {
        let e = env(&[("GITHUB_EVENT_NAME", "push"), ("GITHUB_TOKEN", "t")]);
        assert!(matches!(context_from_env(&e), Err(Skip::Note(_))));
        let e = env(&[("GITHUB_EVENT_NAME", "pull_request")]);
        assert!(
            matches!(context_from_env(&e), Err(Skip::Warning(m)) if m.contains("GITHUB_TOKEN"))
        );
    }

    #[test]
    fn fork_is_detected_from_the_payload() {
        let dir = std::env::temp_dir().join(format!("aks-ips-ctx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("event.json");
        std::fs::write(
            &path,
            r#"{"pull_request":{"number":7,"head":{"sha":"abc","repo":{"full_name":"me/r"}}},"repository":{"full_name":"o/r"}}"#,
        )
        .unwrap();
        let p = path.to_string_lossy().to_string();
        let vars = [
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_TOKEN", "t"),
            ("GITHUB_EVENT_PATH", p.as_str()),
            ("GITHUB_REPOSITORY", "o/r"),
        ];
        let e = env(&vars);
        let ctx = context_from_env(&e).unwrap();
        assert!(ctx.fork);
        assert_eq!((ctx.number, ctx.head_sha.as_str()), (7, "abc"));
        assert_eq!(ctx.api_url, DEFAULT_API_URL);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

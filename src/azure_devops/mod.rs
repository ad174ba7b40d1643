//! `scan --pr-comments` on Azure Pipelines: threads on the Azure Repos pull
//! request that triggered the build, through the REST API (api-version 7.1).
//! A thread per new finding on a file the pull request changes (with a
//! one-click suggestion when the fix is an edit of the commented lines), one
//! summary thread for the rest, and earlier threads whose finding is gone
//! set to `fixed`.
//!
//! Nothing here changes the exit code: the report, the SARIF file and the
//! logging commands are written before the first request, and every problem
//! (not a PR build, no token, a missing permission, 5xx, timeouts) ends as a
//! warning. The token never appears in any message.

pub mod client;
pub mod threads;

use std::io::Write;

use serde_json::{json, Value};

use crate::findings::Report;
use client::{Api, ApiError};
use threads::SummaryAction;

/// Changes read per request (the service's largest page).
const CHANGES_PAGE: u64 = 2000;
/// Pages of changes followed at most.
const MAX_CHANGE_PAGES: u64 = 50;

/// The pull request a run comments on, from the agent's variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// `{collection}{project}/_apis/git/repositories/{repository}`.
    pub repository_url: String,
    pub pull_request: u64,
    pub token: String,
    /// `BUILD_BUILDNUMBER`, named in the replies.
    pub build: Option<String>,
}

/// Why nothing is posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Expected (not a pull-request build): a note.
    Note(String),
    /// Something is missing or wrong: a warning.
    Warning(String),
}

const TOKEN_HINT: &str = "map the pipeline's token into the step's environment: \
    `env: SYSTEM_ACCESSTOKEN: $(System.AccessToken)` (the Azure Pipelines task does this \
    through its prComments input only when the variable is mapped)";

/// Reads the pull request from `SYSTEM_PULLREQUEST_PULLREQUESTID`,
/// `SYSTEM_TEAMFOUNDATIONCOLLECTIONURI`, `SYSTEM_TEAMPROJECT`,
/// `BUILD_REPOSITORY_ID` and `SYSTEM_ACCESSTOKEN`.
pub fn context_from_env(var: &dyn Fn(&str) -> Option<String>) -> Result<Context, Skip> {
    let var = |k: &str| {
        var(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let Some(pr) = var("SYSTEM_PULLREQUEST_PULLREQUESTID") else {
        return Err(Skip::Note(
            "--pr-comments: not a pull-request build (SYSTEM_PULLREQUEST_PULLREQUESTID is not set); nothing posted"
                .into(),
        ));
    };
    if let Some(provider) = var("BUILD_REPOSITORY_PROVIDER") {
        if !provider.eq_ignore_ascii_case("TfsGit") {
            return Err(Skip::Note(format!(
                "--pr-comments: pull-request threads are for Azure Repos Git, and this repository's provider is {provider:?}; nothing posted (on GitHub, use the GitHub Action's review comments)"
            )));
        }
    }
    let pull_request = pr.parse::<u64>().map_err(|_| {
        Skip::Warning(format!(
            "--pr-comments: SYSTEM_PULLREQUEST_PULLREQUESTID {pr:?} is not a number"
        ))
    })?;
    let token = var("SYSTEM_ACCESSTOKEN").ok_or_else(|| {
        Skip::Warning(format!(
            "--pr-comments: SYSTEM_ACCESSTOKEN is not set, so no thread can be posted; {TOKEN_HINT}"
        ))
    })?;
    // An unexpanded macro means the variable was mapped but not defined.
    if token.starts_with("$(") {
        return Err(Skip::Warning(format!(
            "--pr-comments: SYSTEM_ACCESSTOKEN holds an unexpanded variable; {TOKEN_HINT}"
        )));
    }
    let missing = |name: &str| {
        Skip::Warning(format!(
            "--pr-comments: {name} is not set; run inside an Azure Pipelines job"
        ))
    };
    let collection = var("SYSTEM_TEAMFOUNDATIONCOLLECTIONURI")
        .ok_or_else(|| missing("SYSTEM_TEAMFOUNDATIONCOLLECTIONURI"))?;
    let project = var("SYSTEM_TEAMPROJECT")
        .or_else(|| var("SYSTEM_TEAMPROJECTID"))
        .ok_or_else(|| missing("SYSTEM_TEAMPROJECT"))?;
    let repository = var("BUILD_REPOSITORY_ID").ok_or_else(|| missing("BUILD_REPOSITORY_ID"))?;
    Ok(Context {
        repository_url: format!(
            "{}/{}/_apis/git/repositories/{}",
            collection.trim_end_matches('/'),
            encode_segment(&project),
            encode_segment(&repository)
        ),
        pull_request,
        token,
        build: var("BUILD_BUILDNUMBER"),
    })
}

/// Percent-encodes one path segment (project names may hold spaces).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What a run says: progress as plain lines, problems as warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Info(String),
    Warning(String),
}

/// Posts the threads for `report` on the build's pull request, and writes
/// what it did, or why it did not, on `err`: warnings as
/// `##vso[task.logissue type=warning]` so they show on the build.
pub fn post_threads(report: &Report, err: &mut dyn Write) {
    let messages = match context_from_env(&|k| std::env::var(k).ok()) {
        Ok(ctx) => {
            let token = ctx.token.clone();
            run(report, &ctx)
                .into_iter()
                .map(|m| match m {
                    Message::Info(t) => Message::Info(crate::net::redact(&t, &token)),
                    Message::Warning(t) => Message::Warning(crate::net::redact(&t, &token)),
                })
                .collect()
        }
        Err(Skip::Note(m)) => vec![Message::Info(format!("note: {m}"))],
        Err(Skip::Warning(m)) => vec![Message::Warning(m)],
    };
    for m in messages {
        let _ = match m {
            Message::Info(t) => writeln!(err, "{t}"),
            Message::Warning(t) => writeln!(err, "{}", crate::report::azure::warning(&t)),
        };
    }
}

/// Reads the PR, plans and posts; returns what to tell the user.
pub fn run(report: &Report, ctx: &Context) -> Vec<Message> {
    let mut said = Vec::new();
    let api = match Api::new(&ctx.repository_url, &ctx.token) {
        Ok(api) => api,
        Err(m) => {
            said.push(Message::Warning(format!("--pr-comments: {m}")));
            return said;
        }
    };
    let pr = format!("/pullRequests/{}", ctx.pull_request);
    let read_failed = |what: &str, e: &ApiError| {
        Message::Warning(format!(
            "--pr-comments: cannot read the pull request's {what}: {e}; no thread posted (the report is complete){}",
            permission_hint(e, false)
        ))
    };

    let iteration = match api.get(&format!("{pr}/iterations")) {
        Ok(v) => v
            .get("value")
            .and_then(Value::as_array)
            .and_then(|its| its.iter().filter_map(|i| i.get("id")?.as_u64()).max()),
        Err(e) => {
            said.push(read_failed("iterations", &e));
            return said;
        }
    };
    let Some(iteration) = iteration else {
        said.push(Message::Warning(
            "--pr-comments: the pull request has no iteration yet; no thread posted".into(),
        ));
        return said;
    };

    // `$compareTo=0` compares with the common commit: the PR's whole diff.
    let mut entries = Vec::new();
    let mut skip = 0;
    for _ in 0..MAX_CHANGE_PAGES {
        let path = format!(
            "{pr}/iterations/{iteration}/changes?$top={CHANGES_PAGE}&$skip={skip}&$compareTo=0"
        );
        match api.get(&path) {
            Ok(mut v) => {
                let Some(Value::Array(page)) = v.get_mut("changeEntries").map(Value::take) else {
                    said.push(Message::Warning(
                        "--pr-comments: the pull request's changes came back without `changeEntries`; no thread posted (the report is complete)".into(),
                    ));
                    return said;
                };
                let count = page.len() as u64;
                entries.extend(page);
                let next = v.get("nextSkip").and_then(Value::as_u64).unwrap_or(0);
                if next == 0 || count == 0 {
                    break;
                }
                skip = next;
            }
            Err(e) => {
                said.push(read_failed("changes", &e));
                return said;
            }
        }
    }
    let changes = threads::changed_files(&entries);

    // Without the list of threads nothing can be posted safely: every
    // finding would look new and be posted again.
    let existing = match api.get(&format!("{pr}/threads")) {
        Ok(v) => match v.get("value").and_then(Value::as_array) {
            Some(list) => threads::existing_threads(list),
            None => {
                said.push(Message::Warning(
                    "--pr-comments: the pull request's threads came back without a `value` list; no thread posted (the report is complete)".into(),
                ));
                return said;
            }
        },
        Err(e) => {
            said.push(read_failed("threads", &e));
            return said;
        }
    };

    let base = report.base.clone().unwrap_or_else(|| ".".into());
    let read = move |path: &str| std::fs::read_to_string(base.join(path)).ok();
    let plan = threads::plan(&threads::Inputs {
        report,
        changes: &changes,
        existing: &existing,
        iteration,
        read: &read,
    });

    let mut poster = Poster {
        api: &api,
        pr: &pr,
        said: &mut said,
        stopped: false,
    };
    let mut posted = 0;
    for thread in &plan.create {
        if poster.send(
            PostKind::Post,
            &format!("{pr}/threads"),
            thread,
            "post a thread",
        ) {
            posted += 1;
        }
    }
    let build = ctx.build.as_deref();
    for &(id, comment) in &plan.fixed {
        poster.set_status(id, comment, "fixed", &threads::fixed_reply(build));
    }
    for &(id, comment) in &plan.reopened {
        poster.set_status(id, comment, "active", &threads::reopened_reply(build));
    }
    let summary_note = match &plan.summary {
        None => "",
        Some(SummaryAction::Create(thread)) => {
            let path = format!("{pr}/threads");
            match poster.send(PostKind::Post, &path, thread, "post the summary thread") {
                true => "; posted the summary thread",
                false => "",
            }
        }
        Some(SummaryAction::Update {
            thread_id,
            comment_id,
            content,
            status,
        }) => {
            let path = format!("{pr}/threads/{thread_id}/comments/{comment_id}");
            let body = json!({ "content": content });
            match poster.send(PostKind::Patch, &path, &body, "update the summary thread") {
                true => {
                    poster.send(
                        PostKind::Patch,
                        &format!("{pr}/threads/{thread_id}"),
                        &json!({ "status": status }),
                        "set the summary thread's status",
                    );
                    "; updated the summary thread"
                }
                false => "",
            }
        }
    };

    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let stopped = poster.stopped;
    said.push(Message::Info(format!(
        "--pr-comments: pull request {}: {posted} new thread{}, {} resolved as fixed, {} reopened, {} finding{} already had a thread{summary_note}{}",
        ctx.pull_request,
        plural(posted),
        plan.fixed.len(),
        plan.reopened.len(),
        plan.already_said,
        plural(plan.already_said),
        if stopped { " (stopped early, see the warning)" } else { "" }
    )));
    said
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PostKind {
    Post,
    Patch,
}

/// Sends the plan's writes, and stops at the first refusal that would
/// refuse every later write too (no permission, a token not accepted).
struct Poster<'a> {
    api: &'a Api,
    pr: &'a str,
    said: &'a mut Vec<Message>,
    stopped: bool,
}

impl Poster<'_> {
    fn send(&mut self, kind: PostKind, path: &str, body: &Value, what: &str) -> bool {
        if self.stopped {
            return false;
        }
        let result = match kind {
            PostKind::Post => self.api.post(path, body),
            PostKind::Patch => self.api.patch(path, body),
        };
        match result {
            Ok(_) => true,
            Err(e) => {
                let fatal = matches!(e.status(), Some(401 | 403));
                self.said.push(Message::Warning(format!(
                    "--pr-comments: cannot {what}: {e}{}",
                    permission_hint(&e, true)
                )));
                if fatal {
                    self.stopped = true;
                }
                false
            }
        }
    }

    /// Sets thread `id`'s status, then replies why under our `comment`.
    fn set_status(&mut self, id: u64, comment: u64, status: &str, reply: &str) {
        let thread = format!("{}/threads/{id}", self.pr);
        let what = format!("set thread {id} to {status}");
        if self.send(
            PostKind::Patch,
            &thread,
            &json!({ "status": status }),
            &what,
        ) {
            let comment =
                json!({ "parentCommentId": comment, "content": reply, "commentType": "text" });
            self.send(
                PostKind::Post,
                &format!("{thread}/comments"),
                &comment,
                &format!("reply on thread {id}"),
            );
        }
    }
}

/// What to change when Azure DevOps refuses: the token (401) or the build
/// identity's permission on the repository (403, and 404 when the job's
/// authorization scope hides the repository).
fn permission_hint(e: &ApiError, writing: bool) -> String {
    match e.status() {
        Some(401) => format!(". The token was not accepted: {TOKEN_HINT}"),
        Some(403) if writing => {
            ". Grant the build identity (\"<project> Build Service (<organization>)\") \
            the \"Contribute to pull requests\" permission on the repository: Project settings > \
            Repositories > the repository > Security"
                .to_string()
        }
        Some(403 | 404) => {
            ". The build identity needs \"Read\" on the repository (Project settings > \
            Repositories > Security), and, when the repository is in another project, the \
            pipeline setting \"Limit job authorization scope to current project\" turned off"
                .to_string()
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::test_env as env;

    const FULL: &[(&str, &str)] = &[
        ("SYSTEM_PULLREQUEST_PULLREQUESTID", "42"),
        (
            "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI",
            "https://dev.azure.com/contoso/",
        ),
        ("SYSTEM_TEAMPROJECT", "Platform Team"),
        (
            "BUILD_REPOSITORY_ID",
            "2f0d7d1e-5a4e-4a3a-9e59-3c2a1c6f8b10",
        ),
        ("BUILD_REPOSITORY_PROVIDER", "TfsGit"),
        ("SYSTEM_ACCESSTOKEN", "tok"),
    ];

    #[test]
    fn the_repository_url_is_built_from_the_agent_variables() {
        let ctx = context_from_env(&env(FULL)).expect("context");
        assert_eq!(
            ctx.repository_url,
            "https://dev.azure.com/contoso/Platform%20Team/_apis/git/repositories/2f0d7d1e-5a4e-4a3a-9e59-3c2a1c6f8b10"
        );
        assert_eq!(ctx.pull_request, 42);
    }

    #[test]
    fn missing_pieces_are_notes_or_warnings() {
        assert!(matches!(context_from_env(&env(&[])), Err(Skip::Note(_))));
        let github: Vec<_> = FULL
            .iter()
            .map(|&(k, v)| {
                if k == "BUILD_REPOSITORY_PROVIDER" {
                    (k, "GitHub")
                } else {
                    (k, v)
                }
            })
            .collect();
        assert!(
            matches!(context_from_env(&env(&github)), Err(Skip::Note(m)) if m.contains("GitHub"))
        );
        let no_token: Vec<_> = FULL
            .iter()
            .copied()
            .filter(|(k, _)| *k != "SYSTEM_ACCESSTOKEN")
            .collect();
        assert!(
            matches!(context_from_env(&env(&no_token)), Err(Skip::Warning(m)) if m.contains("$(System.AccessToken)"))
        );
        let unexpanded: Vec<_> = FULL
            .iter()
            .map(|&(k, v)| {
                if k == "SYSTEM_ACCESSTOKEN" {
                    (k, "$(System.AccessToken)")
                } else {
                    (k, v)
                }
            })
            .collect();
        assert!(matches!(
            context_from_env(&env(&unexpanded)),
            Err(Skip::Warning(_))
        ));
    }

    #[test]
    fn hints_name_the_permission() {
        let forbidden = ApiError::Status {
            status: 403,
            message: "TF401027".into(),
        };
        assert!(permission_hint(&forbidden, true).contains("Contribute to pull requests"));
        assert!(permission_hint(&ApiError::Network("x".into()), true).is_empty());
    }
}

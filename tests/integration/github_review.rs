//! `scan --pr-comments` against an in-process stand-in for the GitHub API on
//! 127.0.0.1: the real binary, the real HTTP stack, no network.
//!
//! The stand-in behaves like GitHub for the calls the tool makes: it checks
//! the token, paginates with `Link` headers (two items a page, so every
//! listing takes several pages), rejects a review whose comment is not on a
//! line of the diff (422, as GitHub does: the whole review fails), answers
//! 403 to a read-only token, and can answer with a rate limit or a 5xx. It
//! validates every request body against the operation's request schema in
//! `../shared/schemas/github-rest-subset.json` when that file is present.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use serde_json::{json, Value};

use crate::stand_in::{
    connect_proxy, listen, request_schemas, select, HttpRequest, HttpResponse, ProxyLog, Recorded,
};
use crate::util::{CI_VARIABLES, PROXY_VARIABLES};

const TOKEN: &str = "ghs_standInSecretToken123";
const OWNER_REPO: &str = "octo/infra";
const PR: u64 = 7;
const HEAD_SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const PAGE_SIZE: usize = 2;

#[derive(Default)]
struct State {
    port: u16,
    token: String,
    read_only: bool,
    files: Vec<Value>,
    comments: Vec<Value>,
    reviews: Vec<Value>,
    next_id: u64,
    requests: Vec<Recorded>,
    /// GETs whose path starts with this answer 403 with rate-limit headers
    /// (`remaining: 0`, reset in 1 s) this many times first.
    rate_limit: Option<(String, usize)>,
    /// GETs whose path starts with this answer 502 this many times first.
    server_error: Option<(String, usize)>,
    /// POSTs of a review answer 429 with `retry-after: 1` this many times.
    post_rate_limit: usize,
    /// Reviews with inline comments are refused (422, "Line could not be
    /// resolved") this many times, as GitHub does when the diff moved on.
    refuse_inline: usize,
    /// The next review POST is processed, then the connection is dropped
    /// without an answer (as a timeout or a reset would look).
    drop_post_answer: bool,
    /// Problems the stand-in saw in requests (schema, auth, bad lines).
    problems: Vec<String>,
}

struct StandIn {
    state: Arc<Mutex<State>>,
    port: u16,
}

/// The operation a request is, as the schema file names it.
fn operation(method: &str, path: &str) -> Option<&'static str> {
    let segs: Vec<&str> = path.split('/').collect();
    match (method, segs.as_slice()) {
        ("POST", ["", "repos", _, _, "pulls", _, "reviews"]) => {
            Some("POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews")
        }
        ("PATCH", ["", "repos", _, _, "pulls", "comments", _]) => {
            Some("PATCH /repos/{owner}/{repo}/pulls/comments/{comment_id}")
        }
        _ => None,
    }
}

/// Right-side lines of a patch, walked line by line (independently of the
/// tool's own parser, so a bug there shows up here as a 422).
fn right_lines(patch: &str) -> Vec<(u32, usize)> {
    let mut out = Vec::new();
    let mut line = 0;
    let mut hunk = 0;
    for l in patch.split('\n') {
        if let Some(rest) = l.strip_prefix("@@ ") {
            let plus = rest.split(' ').find(|p| p.starts_with('+')).unwrap();
            line = plus[1..].split(',').next().unwrap().parse().unwrap();
            hunk += 1;
        } else if l.starts_with('+') || l.starts_with(' ') {
            out.push((line, hunk));
            line += 1;
        }
    }
    out
}

impl StandIn {
    fn start(files: Vec<Value>) -> StandIn {
        let state = Arc::new(Mutex::new(State {
            token: TOKEN.into(),
            files,
            next_id: 1000,
            ..State::default()
        }));
        let schemas = Arc::new(request_schemas(
            "github-rest-subset.json",
            "request bodies not validated",
        ));
        let shared = state.clone();
        let port = listen(Arc::new(move |req: HttpRequest| {
            let (status, headers, payload) = respond(
                &req.method,
                &req.target,
                &req.headers,
                req.body,
                &shared,
                &schemas,
            );
            HttpResponse {
                status,
                headers,
                content_type: "application/json",
                body: payload.to_string(),
            }
        }));
        // Link headers name the port, known once the listener is up.
        state.lock().unwrap().port = port;
        StandIn { state, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    fn requests(&self, method: &str, suffix: &str) -> Vec<Recorded> {
        self.with(|s| select(&s.requests, method, suffix))
    }

    fn assert_no_problems(&self) {
        let problems = self.with(|s| s.problems.clone());
        assert!(problems.is_empty(), "the stand-in saw: {problems:#?}");
    }
}

type Answer = (u16, Vec<(String, String)>, Value);

fn respond(
    method: &str,
    target: &str,
    headers: &HashMap<String, String>,
    body: Option<Value>,
    state: &Mutex<State>,
    schemas: &Option<HashMap<String, jsonschema::Validator>>,
) -> Answer {
    let mut s = state.lock().unwrap();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    s.requests.push(Recorded {
        method: method.into(),
        target: target.into(),
        body: body.clone(),
    });
    let auth = headers.get("authorization").cloned().unwrap_or_default();
    if auth != format!("Bearer {}", s.token) && auth != format!("token {}", s.token) {
        s.problems
            .push(format!("{method} {path}: bad authorization"));
        return (401, vec![], json!({"message": "Bad credentials"}));
    }
    if let (Some(op), Some(schemas)) = (operation(method, path), schemas) {
        let instance = body.clone().unwrap_or(Value::Null);
        let errors: Vec<String> = schemas[op]
            .iter_errors(&instance)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        if !errors.is_empty() {
            s.problems.push(format!("{op}: {errors:?}"));
            return (
                422,
                vec![],
                json!({"message": "Invalid request", "errors": errors}),
            );
        }
    }
    if method == "GET" {
        if let Some((prefix, n)) = s.rate_limit.clone() {
            if n > 0 && path.starts_with(&prefix) {
                s.rate_limit = Some((prefix, n - 1));
                let reset = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs()
                    + 1;
                return (
                    403,
                    vec![
                        ("x-ratelimit-limit".into(), "5000".into()),
                        ("x-ratelimit-remaining".into(), "0".into()),
                        ("x-ratelimit-reset".into(), reset.to_string()),
                    ],
                    json!({"message": "API rate limit exceeded"}),
                );
            }
        }
        if let Some((prefix, n)) = s.server_error.clone() {
            if n > 0 && path.starts_with(&prefix) {
                s.server_error = Some((prefix, n - 1));
                return (502, vec![], json!({"message": "Server Error"}));
            }
        }
    }
    let pr = format!("/repos/{OWNER_REPO}/pulls/{PR}");
    let page: usize = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("page="))
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);
    let list = |s: &State, items: &[Value]| -> Answer {
        let from = (page - 1) * PAGE_SIZE;
        let chunk: Vec<Value> = items.iter().skip(from).take(PAGE_SIZE).cloned().collect();
        let mut extra = vec![];
        if from + PAGE_SIZE < items.len() {
            extra.push((
                "link".to_string(),
                format!(
                    "<http://127.0.0.1:{}{path}?per_page=100&page={}>; rel=\"next\", <http://127.0.0.1:{}{path}?page=99>; rel=\"last\"",
                    s.port,
                    page + 1,
                    s.port
                ),
            ));
        }
        (200, extra, Value::Array(chunk))
    };
    match method {
        // The workflow's token is an installation token: no user behind it.
        "GET" if path == "/user" => (
            403,
            vec![],
            json!({"message": "Resource not accessible by integration"}),
        ),
        "GET" if path == format!("{pr}/files") => list(&s, &s.files),
        "GET" if path == format!("{pr}/comments") => list(&s, &s.comments),
        "GET" if path == format!("{pr}/reviews") => list(&s, &s.reviews),
        "POST" if path == format!("{pr}/reviews") => {
            if s.read_only {
                return (
                    403,
                    vec![],
                    json!({"message": "Resource not accessible by integration", "status": "403"}),
                );
            }
            if s.post_rate_limit > 0 {
                s.post_rate_limit -= 1;
                return (
                    429,
                    vec![("retry-after".into(), "1".into())],
                    json!({"message": "You have exceeded a secondary rate limit."}),
                );
            }
            let body = body.unwrap_or(Value::Null);
            let comments = body["comments"].as_array().cloned().unwrap_or_default();
            if s.refuse_inline > 0 && !comments.is_empty() {
                s.refuse_inline -= 1;
                return (
                    422,
                    vec![],
                    json!({"message": "Unprocessable Entity", "errors": ["Line could not be resolved"]}),
                );
            }
            for c in &comments {
                let file = s.files.iter().find(|f| f["filename"] == c["path"]);
                let lines = file
                    .and_then(|f| f["patch"].as_str())
                    .map(right_lines)
                    .unwrap_or_default();
                let hunk_of = |n: &Value| {
                    n.as_u64()
                        .and_then(|n| lines.iter().find(|(l, _)| u64::from(*l) == n))
                        .map(|(_, h)| *h)
                };
                let end = hunk_of(&c["line"]);
                let ok = c["side"] == "RIGHT"
                    && end.is_some()
                    && (c.get("start_line").is_none() || hunk_of(&c["start_line"]) == end);
                if !ok {
                    s.problems.push(format!("comment outside the diff: {c}"));
                    return (
                        422,
                        vec![],
                        json!({"message": "Unprocessable Entity", "errors": ["Line could not be resolved"]}),
                    );
                }
            }
            s.next_id += 1;
            let review_id = s.next_id;
            for c in comments {
                s.next_id += 1;
                let id = s.next_id;
                s.comments.push(json!({
                    "id": id, "pull_request_review_id": review_id, "path": c["path"],
                    "line": c["line"], "body": c["body"], "user": {"login": "github-actions[bot]", "type": "Bot"},
                }));
            }
            s.reviews.push(json!({
                "id": review_id, "body": body["body"], "state": "COMMENTED",
                "user": {"login": "github-actions[bot]", "type": "Bot"},
            }));
            if s.drop_post_answer {
                s.drop_post_answer = false;
                return (0, vec![], Value::Null);
            }
            (
                200,
                vec![],
                json!({"id": review_id, "body": body["body"], "state": "COMMENTED", "commit_id": body["commit_id"]}),
            )
        }
        "PATCH" if path.starts_with(&format!("/repos/{OWNER_REPO}/pulls/comments/")) => {
            if s.read_only {
                return (
                    403,
                    vec![],
                    json!({"message": "Resource not accessible by integration"}),
                );
            }
            let id: u64 = path.rsplit('/').next().unwrap().parse().unwrap_or(0);
            let new_body = body
                .as_ref()
                .map(|b| b["body"].clone())
                .unwrap_or(Value::Null);
            match s.comments.iter_mut().find(|c| c["id"] == id) {
                Some(c) => {
                    c["body"] = new_body;
                    (200, vec![], c.clone())
                }
                None => (404, vec![], json!({"message": "Not Found"})),
            }
        }
        _ => {
            s.problems.push(format!("unexpected {method} {target}"));
            (404, vec![], json!({"message": "Not Found"}))
        }
    }
}

/// A workspace with templates, and the event payload outside it.
struct Workspace {
    dir: tempfile::TempDir,
    event: PathBuf,
}

fn workspace(files: &[(&str, &str)], fork: bool) -> Workspace {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join("repo").join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let head_repo = if fork { "someone/infra" } else { OWNER_REPO };
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        json!({
            "action": "synchronize",
            "number": PR,
            "pull_request": {"number": PR, "head": {"sha": HEAD_SHA, "repo": {"full_name": head_repo}}},
            "repository": {"full_name": OWNER_REPO},
        })
        .to_string(),
    )
    .unwrap();
    Workspace { dir, event }
}

impl Workspace {
    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn write(&self, path: &str, text: &str) {
        std::fs::write(self.repo().join(path), text).unwrap();
    }

    /// Runs `scan --pr-comments` against the stand-in; exit code, stdout, stderr.
    fn run(&self, api: &StandIn, token: &str) -> (i32, String, String) {
        self.run_env(api, token, &[])
    }

    /// As [`Workspace::run`], with `vars` set too.
    fn run_env(&self, api: &StandIn, token: &str, vars: &[(&str, &str)]) -> (i32, String, String) {
        let sarif = self.dir.path().join("out.sarif");
        let mut cmd = Command::cargo_bin("aks-authorized-ips").unwrap();
        for v in CI_VARIABLES.iter().chain(PROXY_VARIABLES) {
            cmd.env_remove(v);
        }
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd
            .current_dir(self.repo())
            .env("GITHUB_WORKSPACE", self.repo())
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", "pull_request")
            .env("GITHUB_EVENT_PATH", &self.event)
            .env("GITHUB_REPOSITORY", OWNER_REPO)
            .env("GITHUB_API_URL", api.url())
            .env("GITHUB_TOKEN", token)
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("GITHUB_OUTPUT")
            .args(["scan", ".", "--format", "sarif", "--output"])
            .arg(&sarif)
            .arg("--pr-comments")
            .timeout(std::time::Duration::from_secs(120))
            .output()
            .unwrap();
        assert!(sarif.exists(), "the SARIF file is written whatever happens");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        for text in [&stdout, &stderr] {
            assert!(!text.contains(TOKEN), "the token leaked: {text}");
        }
        (out.status.code().unwrap_or(-1), stdout, stderr)
    }
}

/// A template with two clusters. `aks-prod` (lines 5-18) has a range with
/// host bits on line 13 and a redundant one; `aks-dev` (lines 19-27) lists no
/// ranges at all.
pub const TEMPLATE: &str = r#"{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "resources": [
    {
      "type": "Microsoft.ContainerService/managedClusters",
      "apiVersion": "2024-02-01",
      "name": "aks-prod",
      "location": "westeurope",
      "properties": {
        "apiServerAccessProfile": {
          "authorizedIPRanges": [
            "137.117.106.90/29",
            "203.0.113.0/24",
            "203.0.113.7"
          ]
        }
      }
    },
    {
      "type": "Microsoft.ContainerService/managedClusters",
      "apiVersion": "2024-02-01",
      "name": "aks-dev",
      "location": "westeurope",
      "properties": {
        "dnsPrefix": "dev"
      }
    }
  ]
}
"#;

/// A diff of `TEMPLATE` whose one hunk covers lines 9-16 (the ranges of
/// `aks-prod`), not `aks-dev`.
fn patch_ranges() -> String {
    let lines: Vec<&str> = TEMPLATE.lines().collect();
    let mut p = String::from("@@ -9,7 +9,8 @@\n");
    for n in 9..=16 {
        let marker = if n == 13 { '+' } else { ' ' };
        p.push(marker);
        p.push_str(lines[n - 1]);
        p.push('\n');
    }
    p.trim_end().to_string()
}

fn pr_files(extra: &[Value]) -> Vec<Value> {
    let mut files = vec![
        json!({"filename": "README.md", "status": "modified", "patch": "@@ -1 +1 @@\n-a\n+b"}),
        json!({"filename": "infra/aks.json", "status": "modified", "patch": patch_ranges()}),
        json!({"filename": "logo.png", "status": "added"}),
    ];
    files.extend(extra.iter().cloned());
    files
}

fn review_posts(api: &StandIn) -> Vec<Value> {
    api.requests("POST", "/reviews")
        .into_iter()
        .map(|r| r.body.unwrap())
        .collect()
}

#[test]
fn first_run_posts_one_review_with_comments_on_diff_lines_only() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE)], false);
    let api = StandIn::start(pr_files(&[]));
    let (code, _, stderr) = ws.run(&api, TOKEN);
    assert_eq!(code, 1, "exit code as without --pr-comments: {stderr}");
    api.assert_no_problems();
    let posts = review_posts(&api);
    assert_eq!(posts.len(), 1, "{stderr}");
    let review = &posts[0];
    assert_eq!(review["event"], "COMMENT");
    assert_eq!(review["commit_id"], HEAD_SHA);
    let comments = review["comments"].as_array().unwrap();
    assert!(!comments.is_empty(), "{review:#}");
    for c in comments {
        assert_eq!(c["path"], "infra/aks.json");
        let line = c["line"].as_u64().unwrap();
        assert!(
            (9..=16).contains(&line),
            "comment on line {line} outside the diff"
        );
        assert_eq!(c["side"], "RIGHT");
        assert!(c["body"]
            .as_str()
            .unwrap()
            .contains("<!-- aks-authorized-ips fingerprint="));
    }
    // The HostBits finding carries a one-click suggestion of its own line.
    let host_bits = comments
        .iter()
        .find(|c| {
            c["body"]
                .as_str()
                .unwrap()
                .contains("Azure.AKS.AuthorizedIPs.HostBits")
        })
        .expect("a HostBits comment");
    assert_eq!(host_bits["line"], 13);
    let body = host_bits["body"].as_str().unwrap();
    assert!(
        body.contains("```suggestion\n            \"137.117.106.88/29\",\n```"),
        "{body}"
    );
    // aks-dev is outside the diff: in the review body, not inline.
    assert!(comments
        .iter()
        .all(|c| !c["body"].as_str().unwrap().contains("aks\\-dev")));
    let text = review["body"].as_str().unwrap();
    assert!(text.contains("aks\\-dev"), "{text}");
    assert!(text.contains("| File | Line |"), "{text}");
    assert!(stderr.contains("posted a review"), "{stderr}");
}

#[test]
fn rerun_posts_nothing_new_and_a_fix_marks_the_comment_fixed() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE)], false);
    let api = StandIn::start(pr_files(&[]));
    ws.run(&api, TOKEN);
    let first = api.with(|s| s.comments.len());
    assert!(first > 0);
    // The same findings again: no review, no duplicate comment, even though
    // the listings take several pages.
    let (_, _, stderr) = ws.run(&api, TOKEN);
    api.assert_no_problems();
    assert_eq!(review_posts(&api).len(), 1, "{stderr}");
    assert_eq!(api.with(|s| s.comments.len()), first);
    assert!(stderr.contains("nothing new"), "{stderr}");
    assert!(
        api.requests("GET", "/comments").len() > 1,
        "the listing was paginated"
    );

    // The host bits fixed: that comment is marked fixed, nothing else.
    ws.write(
        "infra/aks.json",
        &TEMPLATE.replace("137.117.106.90/29", "137.117.106.88/29"),
    );
    let (_, _, stderr) = ws.run(&api, TOKEN);
    api.assert_no_problems();
    let patches = api.requests("PATCH", "");
    assert_eq!(patches.len(), 1, "{stderr}");
    let body = patches[0].body.as_ref().unwrap()["body"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(body.starts_with("**Fixed:**"), "{body}");
    assert!(body.contains("state=fixed"), "{body}");
    assert!(
        body.contains("<!-- aks-authorized-ips fingerprint="),
        "{body}"
    );
    assert_eq!(review_posts(&api).len(), 1);
    // And once marked, it is not patched again.
    ws.run(&api, TOKEN);
    assert_eq!(api.requests("PATCH", "").len(), 1);
}

#[test]
fn fork_pull_request_with_a_read_only_token_warns_and_keeps_the_exit_code() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE)], true);
    let api = StandIn::start(pr_files(&[]));
    api.with(|s| s.read_only = true);
    let (code, _, stderr) = ws.run(&api, TOKEN);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("warning:"), "{stderr}");
    assert!(stderr.contains("pull-requests: write"), "{stderr}");
    assert!(stderr.contains("fork"), "{stderr}");
    assert_eq!(
        api.requests("POST", "/reviews").len(),
        1,
        "a POST is never re-sent"
    );
}

#[test]
fn rate_limited_get_is_retried() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE)], false);
    let api = StandIn::start(pr_files(&[]));
    api.with(|s| s.rate_limit = Some((format!("/repos/{OWNER_REPO}/pulls/{PR}/files"), 1)));
    let (_, _, stderr) = ws.run(&api, TOKEN);
    assert_eq!(review_posts(&api).len(), 1, "{stderr}");
    assert!(
        api.requests("GET", "/files").len() >= 3,
        "retried, then paginated"
    );
}

#[test]
fn server_errors_are_retried_then_reported() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE)], false);
    let api = StandIn::start(pr_files(&[]));
    api.with(|s| s.server_error = Some((format!("/repos/{OWNER_REPO}/pulls/{PR}/comments"), 1)));
    let (_, _, stderr) = ws.run(&api, TOKEN);
    assert_eq!(review_posts(&api).len(), 1, "one 502 is retried: {stderr}");

    let ws = workspace(&[("infra/aks.json", TEMPLATE)], false);
    let api = StandIn::start(pr_files(&[]));
    api.with(|s| s.server_error = Some((format!("/repos/{OWNER_REPO}/pulls/{PR}/files"), 100)));
    let (code, _, stderr) = ws.run(&api, TOKEN);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("warning:") && stderr.contains("502"),
        "{stderr}"
    );
    assert!(review_posts(&api).is_empty());
}

#[test]
fn names_with_markdown_and_mentions_are_escaped() {
    let hostile = "@octo/admins [x](https://evil.example) <img src=x>";
    let template = TEMPLATE.replace("aks-prod", hostile);
    let ws = workspace(&[("infra/aks.json", &template)], false);
    let api = StandIn::start(pr_files(&[]));
    ws.run(&api, TOKEN);
    api.assert_no_problems();
    let posts = review_posts(&api);
    assert_eq!(posts.len(), 1);
    let mut bodies: Vec<String> = posts[0]["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap().to_string())
        .collect();
    bodies.push(posts[0]["body"].as_str().unwrap().to_string());
    assert!(
        bodies.iter().any(|b| b.contains("@\u{200B}octo")),
        "{bodies:#?}"
    );
    for b in &bodies {
        assert!(!b.contains("@octo"), "an unescaped mention: {b}");
        assert!(!b.replace("\\<", "").contains("<img"), "raw HTML: {b}");
        assert!(!b.contains("](https://evil"), "a link: {b}");
    }
}

#[test]
fn no_pull_request_or_no_token_posts_nothing() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE)], false);
    let api = StandIn::start(pr_files(&[]));
    let (code, _, stderr) = ws.run(&api, "");
    assert_eq!(code, 1);
    assert!(stderr.contains("GITHUB_TOKEN"), "{stderr}");
    assert!(api.with(|s| s.requests.is_empty()));

    // A wrong token: the stand-in says 401 and the run still ends cleanly.
    let (code, _, stderr) = ws.run(&api, "ghs_wrongToken");
    assert_eq!(code, 1);
    assert!(stderr.contains("401"), "{stderr}");
    assert!(!stderr.contains("ghs_wrongToken"), "{stderr}");
}

/// The patch of a new file: every line added.
fn new_file_patch(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut p = format!("@@ -0,0 +1,{} @@", lines.len());
    for l in lines {
        p.push_str("\n+");
        p.push_str(l);
    }
    p
}

fn inline_bodies(review: &Value) -> Vec<String> {
    review["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn missing_list_gets_an_unsafe_suggestion_that_asks_for_admin_ranges() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE)], false);
    let api = StandIn::start(vec![json!({
        "filename": "infra/aks.json", "status": "added", "patch": new_file_patch(TEMPLATE)
    })]);
    let (_, _, stderr) = ws.run(&api, TOKEN);
    api.assert_no_problems();
    let posts = review_posts(&api);
    assert_eq!(posts.len(), 1, "{stderr}");
    let bodies = inline_bodies(&posts[0]);
    let missing = bodies
        .iter()
        .find(|b| b.contains("` Azure.AKS.AuthorizedIPs `") && b.contains("aks\\-dev"))
        .expect("the missing list is commented inline");
    assert!(missing.contains("```suggestion\n"), "{missing}");
    assert!(missing.contains("0.0.0.0/32"), "{missing}");
    assert!(missing.contains("unsafe"), "{missing}");
    assert!(
        missing.contains("add the ranges your administrators and CI/CD agents use"),
        "{missing}"
    );
    // Everything was inline: the body lists nothing.
    assert!(!posts[0]["body"].as_str().unwrap().contains("| File |"));
}

#[test]
fn finding_without_a_fix_shows_the_example_for_bicep_output() {
    let bicep = TEMPLATE
        .replace(
            "\"contentVersion\": \"1.0.0.0\",",
            "\"contentVersion\": \"1.0.0.0\",\n  \"metadata\": { \"_generator\": { \"name\": \"bicep\", \"version\": \"0.30.0\" } },",
        )
        .replace("\"137.117.106.90/29\"", "\"not-a-cidr\"");
    let ws = workspace(&[("infra/aks.json", &bicep)], false);
    let api = StandIn::start(vec![json!({
        "filename": "infra/aks.json", "status": "added", "patch": new_file_patch(&bicep)
    })]);
    ws.run(&api, TOKEN);
    api.assert_no_problems();
    let posts = review_posts(&api);
    let bodies = inline_bodies(&posts[0]);
    let unrestricted = bodies
        .iter()
        .find(|b| b.contains("InvalidRange"))
        .expect("an InvalidRange comment");
    assert!(unrestricted.contains("in Bicep"), "{unrestricted}");
    assert!(unrestricted.contains("```bicep\n"), "{unrestricted}");
}

#[test]
fn at_most_thirty_inline_comments_the_rest_in_the_body() {
    let entries: Vec<String> = (0..35)
        .map(|i| format!("            \"10.{i}.0.1/24\""))
        .collect();
    let template = TEMPLATE.replace(
        "            \"137.117.106.90/29\",\n            \"203.0.113.0/24\",\n            \"203.0.113.7\"",
        &entries.join(",\n"),
    );
    let ws = workspace(&[("infra/aks.json", &template)], false);
    let api = StandIn::start(vec![json!({
        "filename": "infra/aks.json", "status": "added", "patch": new_file_patch(&template)
    })]);
    ws.run(&api, TOKEN);
    api.assert_no_problems();
    let posts = review_posts(&api);
    assert_eq!(posts[0]["comments"].as_array().unwrap().len(), 30);
    let body = posts[0]["body"].as_str().unwrap();
    assert!(body.contains("| File |"), "{body}");
    // A re-run comments the rest inline (they are on diff lines), lists
    // nothing again; the run after that has nothing to say.
    ws.run(&api, TOKEN);
    api.assert_no_problems();
    let posts = review_posts(&api);
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[1]["comments"].as_array().unwrap().len(), 6);
    assert!(!posts[1]["body"].as_str().unwrap().contains("| File |"));
    ws.run(&api, TOKEN);
    assert_eq!(review_posts(&api).len(), 2);
}

#[test]
fn a_review_github_refuses_is_posted_again_without_inline_comments() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE)], false);
    let api = StandIn::start(pr_files(&[]));
    api.with(|s| s.refuse_inline = 1);
    let (code, _, stderr) = ws.run(&api, TOKEN);
    assert_eq!(code, 1);
    let posts = review_posts(&api);
    assert_eq!(posts.len(), 2, "{stderr}");
    assert!(!posts[0]["comments"].as_array().unwrap().is_empty());
    assert!(posts[1]["comments"].as_array().unwrap().is_empty());
    let body = posts[1]["body"].as_str().unwrap();
    assert!(
        body.contains("| File |") && body.contains("aks\\-prod"),
        "{body}"
    );
    assert!(
        stderr.contains("422") && stderr.contains("without inline comments"),
        "{stderr}"
    );
    // The next run lists nothing again.
    ws.run(&api, TOKEN);
    assert_eq!(review_posts(&api).len(), 2);
}

#[test]
fn a_rate_limited_post_is_sent_again_a_dropped_one_never() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE)], false);
    let api = StandIn::start(pr_files(&[]));
    api.with(|s| s.post_rate_limit = 1);
    let (_, _, stderr) = ws.run(&api, TOKEN);
    api.assert_no_problems();
    assert_eq!(api.requests("POST", "/reviews").len(), 2, "{stderr}");
    assert_eq!(api.with(|s| s.reviews.len()), 1);

    let ws = workspace(&[("infra/aks.json", TEMPLATE)], false);
    let api = StandIn::start(pr_files(&[]));
    api.with(|s| s.drop_post_answer = true);
    let (code, _, stderr) = ws.run(&api, TOKEN);
    assert_eq!(code, 1);
    assert_eq!(api.requests("POST", "/reviews").len(), 1, "{stderr}");
    assert!(stderr.contains("not sent again"), "{stderr}");
    // The review did land: the next run finds its comments.
    ws.run(&api, TOKEN);
    assert_eq!(api.requests("POST", "/reviews").len(), 1);
}

#[test]
fn a_template_that_no_longer_parses_does_not_mark_its_comments_fixed() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE)], false);
    let api = StandIn::start(pr_files(&[]));
    ws.run(&api, TOKEN);
    assert!(api.with(|s| !s.comments.is_empty()));
    // Its findings are unknown now, not gone.
    ws.write("infra/aks.json", &TEMPLATE[..TEMPLATE.len() / 2]);
    let (code, _, stderr) = ws.run(&api, TOKEN);
    assert_eq!(code, 2, "{stderr}");
    api.assert_no_problems();
    assert!(api.requests("PATCH", "").is_empty(), "{stderr}");
    // Deleted: gone, so fixed.
    std::fs::remove_file(ws.repo().join("infra/aks.json")).unwrap();
    let (_, _, stderr) = ws.run(&api, TOKEN);
    let fixed = api.requests("PATCH", "").len();
    assert_eq!(fixed, api.with(|s| s.comments.len()), "{stderr}");
}

#[test]
fn the_review_goes_through_the_proxy_the_environment_names() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE)], false);
    let api = StandIn::start(pr_files(&[]));
    let log = Arc::new(Mutex::new(ProxyLog::default()));
    let proxy = format!("http://127.0.0.1:{}", connect_proxy(log.clone()));
    // The stand-in speaks plain HTTP, so HTTP_PROXY is the one that applies.
    let (code, _, stderr) = ws.run_env(&api, TOKEN, &[("HTTP_PROXY", &proxy)]);
    assert_eq!(code, 1);
    api.assert_no_problems();
    assert_eq!(review_posts(&api).len(), 1, "{stderr}");
    let connects = log.lock().unwrap().connects.clone();
    assert_eq!(
        connects.len(),
        api.with(|s| s.requests.len()),
        "every request tunnelled"
    );
    let api_host = format!("127.0.0.1:{}", api.port);
    assert!(
        connects.iter().all(|(target, _)| target == &api_host),
        "{connects:?}"
    );

    // NO_PROXY names the API's host: straight to it.
    let ws = workspace(&[("infra/aks.json", TEMPLATE)], false);
    let api = StandIn::start(pr_files(&[]));
    let before = log.lock().unwrap().connects.len();
    ws.run_env(
        &api,
        TOKEN,
        &[("HTTP_PROXY", &proxy), ("NO_PROXY", "127.0.0.1")],
    );
    assert_eq!(review_posts(&api).len(), 1);
    assert_eq!(log.lock().unwrap().connects.len(), before);
}

#[test]
fn a_marker_in_someone_elses_comment_does_not_silence_a_finding() {
    // Our comments' bodies, as a first run writes them.
    let ws = workspace(&[("infra/aks.json", TEMPLATE)], false);
    let api = StandIn::start(pr_files(&[]));
    ws.run(&api, TOKEN);
    let ours = api.with(|s| s.comments.clone());
    assert!(!ours.is_empty());

    // The same bodies, posted by the pull request's author before the scan.
    let api = StandIn::start(pr_files(&[]));
    api.with(|s| {
        s.comments = ours
            .iter()
            .map(|c| {
                let mut c = c.clone();
                c["user"] = json!({"login": "mallory", "type": "User"});
                c
            })
            .collect();
    });
    let (_, _, stderr) = ws.run(&api, TOKEN);
    api.assert_no_problems();
    let posts = review_posts(&api);
    assert_eq!(posts.len(), 1, "{stderr}");
    assert_eq!(
        posts[0]["comments"].as_array().unwrap().len(),
        ours.len(),
        "every finding commented again"
    );
    assert!(
        api.requests("PATCH", "").is_empty(),
        "nobody else's comment is edited"
    );
}

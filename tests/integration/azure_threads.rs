//! `scan --pr-comments` on Azure Pipelines against an in-process stand-in
//! for the Azure DevOps REST API on 127.0.0.1: the real binary, the real
//! HTTP stack, no network.
//!
//! The stand-in behaves like the service for the calls the tool makes: it
//! wants `api-version=7.1` and the bearer token (a wrong one gets the
//! sign-in page with 203, as the service serves it), pages the iteration's
//! changes with `nextSkip` (two entries a page), stores threads and returns
//! their properties as `{"$type", "$value"}`, answers 403 with the service's
//! TF401027 message when the build identity may not contribute, and can
//! answer 429, 5xx or nothing at all. Request bodies are validated against
//! `../shared/schemas/azure-devops-git-threads-subset.json` when it is
//! present; the published schema is loose, so the fields the tool relies on
//! (leading `/`, lines and offsets, string enums, the iteration context,
//! string properties) are checked here as well.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use serde_json::{json, Value};

use crate::github_review::TEMPLATE;
use crate::stand_in::{
    connect_proxy, listen, request_schemas, select, HttpRequest, HttpResponse, ProxyLog, Recorded,
};
use crate::util::{CI_VARIABLES, PROXY_VARIABLES};

const TOKEN: &str = "azdoStandInSecretToken0123456789";
const ORG: &str = "contoso";
const PROJECT: &str = "Platform Team";
const REPO_ID: &str = "2f0d7d1e-5a4e-4a3a-9e59-3c2a1c6f8b10";
const PR: u64 = 42;
const CHANGES_PAGE: usize = 2;
const BUILD_SERVICE: &str = "Platform Team Build Service (contoso)";

/// The agent's variables that could leak into a test from the machine.
const AGENT_VARIABLES: &[&str] = &[
    "SYSTEM_PULLREQUEST_PULLREQUESTID",
    "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI",
    "SYSTEM_TEAMPROJECT",
    "SYSTEM_TEAMPROJECTID",
    "BUILD_REPOSITORY_ID",
    "BUILD_REPOSITORY_PROVIDER",
    "SYSTEM_ACCESSTOKEN",
    "BUILD_BUILDNUMBER",
    "GITHUB_EVENT_NAME",
    "GITHUB_TOKEN",
];

#[derive(Default)]
struct State {
    iterations: Vec<u64>,
    /// The latest iteration's change entries, as the service lists them.
    changes: Vec<Value>,
    threads: Vec<Value>,
    next_thread: u64,
    requests: Vec<Recorded>,
    /// The build identity lacks "Contribute to pull requests".
    read_only: bool,
    /// GETs whose path ends with this answer 503 this many times first.
    get_server_error: Option<(String, usize)>,
    /// POSTs of a thread answer 500 (not processed) this many times first.
    post_server_error: usize,
    /// POSTs of a thread answer 429 with `Retry-After: 1` this many times.
    post_rate_limit: usize,
    /// The next thread POST is processed, then the connection is dropped.
    drop_post_answer: bool,
    /// The thread listing answers JSON without its `value` list.
    threads_without_value: bool,
    /// Problems the stand-in saw in requests (schema, auth, fields).
    problems: Vec<String>,
}

struct StandIn {
    state: Arc<Mutex<State>>,
    port: u16,
}

const OPS: &str =
    "/{organization}/{project}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}";

/// The part of a path after the pull request, and the operation it is.
fn operation(method: &str, rest: &[&str]) -> Option<String> {
    let tail = match (method, rest) {
        ("POST", ["threads"]) => "/threads",
        ("PATCH", ["threads", _]) => "/threads/{threadId}",
        ("POST", ["threads", _, "comments"]) => "/threads/{threadId}/comments",
        ("PATCH", ["threads", _, "comments", _]) => "/threads/{threadId}/comments/{commentId}",
        _ => return None,
    };
    Some(format!("{method} {OPS}{tail}"))
}

const STATUSES: &[&str] = &[
    "active", "fixed", "wontFix", "closed", "byDesign", "pending",
];

/// The fields the tool relies on, beyond the loose published schema.
fn check_thread(s: &State, body: &Value) -> Vec<String> {
    let mut problems = vec![];
    if !body["status"]
        .as_str()
        .is_some_and(|v| STATUSES.contains(&v))
    {
        problems.push(format!(
            "status is not a string enum value: {}",
            body["status"]
        ));
    }
    let comments = body["comments"].as_array().cloned().unwrap_or_default();
    if comments.len() != 1
        || !comments[0]["content"]
            .as_str()
            .is_some_and(|c| !c.trim().is_empty())
        || comments[0]["commentType"] != "text"
    {
        problems.push(format!(
            "not one text comment with content: {}",
            body["comments"]
        ));
    }
    if let Some(props) = body.get("properties") {
        for (k, v) in props.as_object().cloned().unwrap_or_default() {
            let ok = v.is_string() || (v["$type"] == "System.String" && v["$value"].is_string());
            if !ok {
                problems.push(format!("property {k} is not a string: {v}"));
            }
        }
    }
    if let Some(ctx) = body.get("threadContext") {
        let path = ctx["filePath"].as_str().unwrap_or("");
        if !path.starts_with('/') {
            problems.push(format!("filePath without the leading /: {path:?}"));
        }
        let change = s
            .changes
            .iter()
            .find(|c| c["item"]["path"] == path && c["changeType"] != "delete");
        if change.is_none() {
            problems.push(format!("{path} is not a file this pull request changes"));
        }
        let pos = |name: &str| -> Option<(u64, u64)> {
            Some((ctx[name]["line"].as_u64()?, ctx[name]["offset"].as_u64()?))
        };
        match (pos("rightFileStart"), pos("rightFileEnd")) {
            (Some((l1, o1)), Some((l2, o2))) if l1 >= 1 && o1 >= 1 && o2 >= 1 && l1 <= l2 => {}
            other => problems.push(format!("bad right-side range: {other:?}")),
        }
        if ctx.get("leftFileStart").is_some() || ctx.get("leftFileEnd").is_some() {
            problems.push("a left-side range on a new-side finding".into());
        }
        let latest = s.iterations.iter().max().copied().unwrap_or(0);
        let it = &body["pullRequestThreadContext"]["iterationContext"];
        if it["secondComparingIteration"].as_u64() != Some(latest) {
            problems.push(format!("not placed in the latest iteration {latest}: {it}"));
        }
        let tracking = &body["pullRequestThreadContext"]["changeTrackingId"];
        if change.is_some_and(|c| &c["changeTrackingId"] != tracking) {
            problems.push(format!("changeTrackingId {tracking} is not the file's"));
        }
    }
    problems
}

/// Properties as the service returns them.
fn stored_properties(props: Option<&Value>) -> Value {
    let mut out = serde_json::Map::new();
    for (k, v) in props
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
    {
        let value = if v.is_string() {
            v
        } else {
            v["$value"].clone()
        };
        out.insert(k, json!({ "$type": "System.String", "$value": value }));
    }
    Value::Object(out)
}

fn comment(id: u64, parent: u64, content: &Value) -> Value {
    json!({
        "id": id,
        "parentCommentId": parent,
        "content": content,
        "commentType": "text",
        "author": { "displayName": BUILD_SERVICE, "id": "b1d0e0e0-0000-0000-0000-000000000001" },
        "isDeleted": false,
    })
}

impl StandIn {
    fn start(changes: Vec<Value>) -> StandIn {
        let state = Arc::new(Mutex::new(State {
            iterations: vec![1, 2, 3],
            changes,
            next_thread: 100,
            ..State::default()
        }));
        let schemas = Arc::new(request_schemas(
            "azure-devops-git-threads-subset.json",
            "request bodies checked only for the fields the tool relies on",
        ));
        let shared = state.clone();
        let port = listen(Arc::new(move |req| respond(req, &shared, &schemas)));
        StandIn { state, port }
    }

    fn collection_uri(&self) -> String {
        format!("http://127.0.0.1:{}/{ORG}/", self.port)
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    fn requests(&self, method: &str, suffix: &str) -> Vec<Recorded> {
        self.with(|s| select(&s.requests, method, suffix))
    }

    /// Bodies of the thread POSTs (not the reply comments).
    fn thread_posts(&self) -> Vec<Value> {
        self.requests("POST", "/threads")
            .into_iter()
            .filter_map(|r| r.body)
            .collect()
    }

    fn assert_no_problems(&self) {
        let problems = self.with(|s| s.problems.clone());
        assert!(problems.is_empty(), "the stand-in saw: {problems:#?}");
    }
}

fn respond(
    req: HttpRequest,
    state: &Mutex<State>,
    schemas: &Option<HashMap<String, jsonschema::Validator>>,
) -> HttpResponse {
    let mut s = state.lock().unwrap();
    s.requests.push(Recorded {
        method: req.method.clone(),
        target: req.target.clone(),
        body: req.body.clone(),
    });
    let method = req.method.as_str();
    let path = req.path().to_string();
    if req.headers.get("authorization") != Some(&format!("Bearer {TOKEN}")) {
        // What the service gives a request whose token it does not accept.
        return HttpResponse {
            status: 203,
            headers: vec![],
            content_type: "text/html; charset=utf-8",
            body: "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head></html>".into(),
        };
    }
    if req.query("api-version") != Some("7.1") {
        s.problems
            .push(format!("{method} {}: api-version is not 7.1", req.target));
        return HttpResponse::json(
            400,
            json!({ "message": "VS800075: The project with id ... api-version" }),
        );
    }
    let prefix =
        format!("/{ORG}/Platform%20Team/_apis/git/repositories/{REPO_ID}/pullRequests/{PR}/");
    let Some(rest) = path.strip_prefix(&prefix) else {
        s.problems.push(format!("unexpected {method} {path}"));
        return HttpResponse::json(404, json!({ "message": "TF401019: not found" }));
    };
    let rest: Vec<&str> = rest.split('/').collect();

    if let Some(op) = operation(method, &rest) {
        if let (Some(schemas), Some(body)) = (schemas, &req.body) {
            let errors: Vec<String> = schemas[&op]
                .iter_errors(body)
                .map(|e| format!("{e} at {}", e.instance_path))
                .collect();
            if !errors.is_empty() {
                s.problems.push(format!("{op}: {errors:?}"));
                return HttpResponse::json(400, json!({ "message": format!("{errors:?}") }));
            }
        }
        if req.body.is_none() {
            s.problems.push(format!("{op}: no body"));
        }
        if s.read_only {
            return HttpResponse::json(
                403,
                json!({
                    "$id": "1",
                    "innerException": null,
                    "message": format!("TF401027: You need the Git 'PullRequestContribute' permission to perform this action. Details: identity '{BUILD_SERVICE}', scope 'repository'."),
                    "typeName": "Microsoft.TeamFoundation.Git.Server.GitNeedsPermissionException, Microsoft.TeamFoundation.Git.Server",
                    "typeKey": "GitNeedsPermissionException",
                    "errorCode": 0,
                    "eventId": 3000
                }),
            );
        }
    }

    if method == "GET" {
        if let Some((suffix, n)) = s.get_server_error.clone() {
            if n > 0 && path.ends_with(&suffix) {
                s.get_server_error = Some((suffix, n - 1));
                return HttpResponse::json(503, json!({ "message": "Service Unavailable" }));
            }
        }
    }

    let body = req.body.clone().unwrap_or(Value::Null);
    match (method, rest.as_slice()) {
        ("GET", ["iterations"]) => {
            let value: Vec<Value> = s.iterations.iter().map(|id| json!({ "id": id })).collect();
            HttpResponse::json(200, json!({ "value": value, "count": value.len() }))
        }
        ("GET", ["iterations", id, "changes"]) => {
            let latest = s.iterations.iter().max().copied().unwrap_or(0);
            if id.parse::<u64>().ok() != Some(latest) {
                s.problems.push(format!(
                    "changes of iteration {id}, not the latest {latest}"
                ));
            }
            if req.query("$compareTo") != Some("0") {
                s.problems
                    .push("changes not compared with the common commit ($compareTo=0)".into());
            }
            let skip: usize = req.query("$skip").and_then(|v| v.parse().ok()).unwrap_or(0);
            let page: Vec<Value> = s
                .changes
                .iter()
                .skip(skip)
                .take(CHANGES_PAGE)
                .cloned()
                .collect();
            let mut answer = json!({ "changeEntries": page });
            if skip + CHANGES_PAGE < s.changes.len() {
                answer["nextSkip"] = json!(skip + CHANGES_PAGE);
                answer["nextTop"] = json!(CHANGES_PAGE);
            }
            HttpResponse::json(200, answer)
        }
        ("GET", ["threads"]) if s.threads_without_value => HttpResponse::json(200, json!({})),
        ("GET", ["threads"]) => {
            HttpResponse::json(200, json!({ "value": s.threads, "count": s.threads.len() }))
        }
        ("POST", ["threads"]) => {
            if s.post_rate_limit > 0 {
                s.post_rate_limit -= 1;
                return HttpResponse::json(429, json!({ "message": "TF400733: request blocked" }))
                    .with_header("Retry-After", "1");
            }
            if s.post_server_error > 0 {
                s.post_server_error -= 1;
                return HttpResponse::json(500, json!({ "message": "Internal Server Error" }));
            }
            let problems = check_thread(&s, &body);
            if !problems.is_empty() {
                s.problems.extend(problems.clone());
                return HttpResponse::json(400, json!({ "message": format!("{problems:?}") }));
            }
            s.next_thread += 1;
            let id = s.next_thread;
            let mut thread = json!({
                "id": id,
                "status": body["status"],
                "comments": [comment(1, 0, &body["comments"][0]["content"])],
                "properties": stored_properties(body.get("properties")),
                "isDeleted": false,
            });
            for key in ["threadContext", "pullRequestThreadContext"] {
                if let Some(v) = body.get(key) {
                    thread[key] = v.clone();
                }
            }
            s.threads.push(thread.clone());
            if s.drop_post_answer {
                s.drop_post_answer = false;
                return HttpResponse {
                    status: 0,
                    headers: vec![],
                    content_type: "",
                    body: String::new(),
                };
            }
            HttpResponse::json(200, thread)
        }
        ("PATCH", ["threads", id]) => {
            let Some(t) = s
                .threads
                .iter_mut()
                .find(|t| t["id"].as_u64() == id.parse::<u64>().ok())
            else {
                return HttpResponse::json(404, json!({ "message": "TF401180: thread not found" }));
            };
            if let Some(status) = body.get("status") {
                t["status"] = status.clone();
            }
            let t = t.clone();
            if !body["status"]
                .as_str()
                .is_some_and(|v| STATUSES.contains(&v))
            {
                s.problems
                    .push(format!("status is not a string enum value: {body}"));
            }
            HttpResponse::json(200, t)
        }
        ("POST", ["threads", id, "comments"]) => {
            let Some(t) = s
                .threads
                .iter_mut()
                .find(|t| t["id"].as_u64() == id.parse::<u64>().ok())
            else {
                return HttpResponse::json(404, json!({ "message": "TF401180: thread not found" }));
            };
            let comments = t["comments"].as_array_mut().expect("comments");
            let parent = body["parentCommentId"].as_u64().unwrap_or(0);
            let parent_exists = comments.iter().any(|c| c["id"].as_u64() == Some(parent));
            let next = comments.len() as u64 + 1;
            comments.push(comment(next, parent, &body["content"]));
            let c = comments.last().cloned().unwrap_or(Value::Null);
            if !parent_exists || body["commentType"] != "text" {
                s.problems
                    .push(format!("a reply to no comment of thread {id}: {body}"));
            }
            HttpResponse::json(200, c)
        }
        ("PATCH", ["threads", id, "comments", cid]) => {
            let Some(t) = s
                .threads
                .iter_mut()
                .find(|t| t["id"].as_u64() == id.parse::<u64>().ok())
            else {
                return HttpResponse::json(404, json!({ "message": "TF401180: thread not found" }));
            };
            let Some(c) = t["comments"].as_array_mut().and_then(|cs| {
                cs.iter_mut()
                    .find(|c| c["id"].as_u64() == cid.parse::<u64>().ok())
            }) else {
                return HttpResponse::json(404, json!({ "message": "comment not found" }));
            };
            c["content"] = body["content"].clone();
            HttpResponse::json(200, c.clone())
        }
        _ => {
            s.problems
                .push(format!("unexpected {method} {}", req.target));
            HttpResponse::json(404, json!({ "message": "not found" }))
        }
    }
}

fn change(id: u64, path: &str, kind: &str) -> Value {
    json!({
        "changeTrackingId": id,
        "changeId": id,
        "item": { "objectId": format!("{id:040x}"), "path": path },
        "changeType": kind,
    })
}

/// The PR changes `infra/aks.json` among other files (more than a page of
/// them), not `legacy/old.json`.
fn pr_changes() -> Vec<Value> {
    vec![
        change(1, "/README.md", "edit"),
        change(2, "/docs/gone.md", "delete"),
        change(3, "/infra/aks.json", "edit"),
        change(4, "/logo.png", "add"),
        change(5, "/infra/params.json", "add"),
    ]
}

/// A template outside the PR's changes, with one cluster that lists no
/// ranges.
const LEGACY: &str = r#"{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "resources": [
    {
      "type": "Microsoft.ContainerService/managedClusters",
      "apiVersion": "2024-02-01",
      "name": "aks-legacy",
      "location": "westeurope",
      "properties": { "dnsPrefix": "legacy" }
    }
  ]
}
"#;

struct Workspace {
    dir: tempfile::TempDir,
}

fn workspace(files: &[(&str, &str)]) -> Workspace {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join("repo").join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("agent-temp")).unwrap();
    Workspace { dir }
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    /// Every logging command, from both streams.
    fn commands(&self) -> Vec<String> {
        self.stdout
            .lines()
            .chain(self.stderr.lines())
            .filter(|l| l.starts_with("##vso["))
            .map(str::to_string)
            .collect()
    }

    fn warnings(&self) -> Vec<String> {
        self.commands()
            .into_iter()
            .filter(|c| c.starts_with("##vso[task.logissue type=warning;]"))
            .collect()
    }
}

impl Workspace {
    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.repo().join(path)).unwrap()
    }

    fn write(&self, path: &str, text: &str) {
        std::fs::write(self.repo().join(path), text).unwrap();
    }

    /// Runs `scan --pr-comments` as the Azure Pipelines task would, with
    /// `vars` added to (or, empty, removed from) the agent's variables.
    fn run_with(&self, api: &StandIn, vars: &[(&str, &str)]) -> Outcome {
        self.run_on(api, vars, &["."])
    }

    /// As [`Workspace::run_with`], scanning `paths`.
    fn run_on(&self, api: &StandIn, vars: &[(&str, &str)], paths: &[&str]) -> Outcome {
        let sarif = self.dir.path().join("out.sarif");
        let mut cmd = Command::cargo_bin("aks-authorized-ips").unwrap();
        for v in CI_VARIABLES
            .iter()
            .chain(AGENT_VARIABLES)
            .chain(PROXY_VARIABLES)
        {
            cmd.env_remove(v);
        }
        let uri = api.collection_uri();
        let mut env: Vec<(&str, &str)> = vec![
            ("TF_BUILD", "True"),
            ("SYSTEM_PULLREQUEST_PULLREQUESTID", "42"),
            ("SYSTEM_TEAMFOUNDATIONCOLLECTIONURI", &uri),
            ("SYSTEM_TEAMPROJECT", PROJECT),
            ("BUILD_REPOSITORY_ID", REPO_ID),
            ("BUILD_REPOSITORY_PROVIDER", "TfsGit"),
            ("SYSTEM_ACCESSTOKEN", TOKEN),
            ("BUILD_BUILDNUMBER", "20261123.4"),
        ];
        for (k, v) in vars {
            env.retain(|(name, _)| name != k);
            if !v.is_empty() {
                env.push((k, v));
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd
            .current_dir(self.repo())
            .env("BUILD_SOURCESDIRECTORY", self.repo())
            .env("AGENT_TEMPDIRECTORY", self.dir.path().join("agent-temp"))
            .arg("scan")
            .args(paths)
            .args(["--format", "sarif", "--output"])
            .arg(&sarif)
            .arg("--pr-comments")
            .timeout(std::time::Duration::from_secs(120))
            .output()
            .unwrap();
        let sarif_text =
            std::fs::read_to_string(&sarif).expect("the SARIF file is written whatever happens");
        let outcome = Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        };
        for text in [&outcome.stdout, &outcome.stderr, &sarif_text] {
            assert!(!text.contains(TOKEN), "the token leaked: {text}");
        }
        // The logging commands are written whatever happens to the threads,
        // and the task's end comes last.
        let commands = outcome.commands();
        assert!(
            commands
                .iter()
                .any(|c| c.starts_with("##vso[artifact.upload")),
            "{commands:#?}"
        );
        let complete: Vec<_> = commands
            .iter()
            .filter(|c| c.starts_with("##vso[task.complete"))
            .collect();
        assert_eq!(complete.len(), 1, "{commands:#?}");
        assert!(
            outcome.stdout.trim_end().ends_with(complete[0].as_str()),
            "task.complete is the last line: {}",
            outcome.stdout
        );
        outcome
    }

    fn run(&self, api: &StandIn) -> Outcome {
        self.run_with(api, &[])
    }
}

/// The threads on a file (the summary thread has no `threadContext`).
fn file_threads(posts: &[Value]) -> Vec<&Value> {
    posts
        .iter()
        .filter(|t| t.get("threadContext").is_some())
        .collect()
}

fn content(thread: &Value) -> String {
    thread["comments"][0]["content"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Lines `start..=end` (1-based) of `text` replaced by a suggestion block's
/// text, as Azure Repos applies it.
fn apply_suggestion(text: &str, thread: &Value) -> String {
    let body = content(thread);
    let start = body.find("```suggestion\n").expect("a suggestion block") + "```suggestion\n".len();
    let end = body[start..].find("\n```").expect("the block ends") + start;
    let new_text = &body[start..end];
    let ctx = &thread["threadContext"];
    let first = ctx["rightFileStart"]["line"].as_u64().unwrap() as usize;
    let last = ctx["rightFileEnd"]["line"].as_u64().unwrap() as usize;
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out: Vec<&str> = lines[..first - 1].to_vec();
    out.extend(new_text.split('\n'));
    out.extend(&lines[last..]);
    out.join("\n")
}

#[test]
fn first_run_posts_a_thread_per_finding_on_changed_files_and_one_summary() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE), ("legacy/old.json", LEGACY)]);
    let api = StandIn::start(pr_changes());
    let out = ws.run(&api);
    assert_eq!(
        out.code, 1,
        "exit code as without --pr-comments: {}",
        out.stderr
    );
    api.assert_no_problems();
    assert!(
        api.requests("GET", "/changes").len() >= 3,
        "the changes were paged"
    );
    let posts = api.thread_posts();
    let (file_threads, summaries): (Vec<&Value>, Vec<&Value>) =
        posts.iter().partition(|t| t.get("threadContext").is_some());
    assert!(file_threads.len() >= 3, "{posts:#?}");
    for t in &file_threads {
        assert_eq!(t["threadContext"]["filePath"], "/infra/aks.json");
        assert_eq!(t["status"], "active");
        assert!(t["properties"]["aks-authorized-ips.fingerprint"]["$value"].is_string());
        assert!(content(t).contains("aks-authorized-ips explain"), "{t:#}");
    }
    // The host-bits range is on line 13: its thread covers that line and
    // offers a suggestion that, applied, leaves no host-bits finding.
    let host_bits = file_threads
        .iter()
        .find(|t| content(t).contains("137\\.117\\.106\\.90\\/29"))
        .expect("a thread on the host-bits range");
    assert_eq!(host_bits["threadContext"]["rightFileStart"]["line"], 13);
    assert_eq!(host_bits["threadContext"]["rightFileEnd"]["line"], 13);
    assert_eq!(
        host_bits["threadContext"]["rightFileEnd"]["offset"],
        TEMPLATE.lines().nth(12).unwrap().chars().count() + 1
    );
    let fixed = apply_suggestion(&ws.read("infra/aks.json"), host_bits);
    assert!(fixed.contains("\"137.117.106.88/29\""), "{fixed}");
    ws.write("infra/aks.json", &fixed);
    let (_, report, _) = crate::util::run(&ws.repo(), &["scan", ".", "--format", "json"]);
    assert!(!report.contains("137.117.106.90/29"), "{report}");
    ws.write("infra/aks.json", TEMPLATE);

    // The cluster without ranges gets the unsafe suggestion and its warning.
    let missing = file_threads
        .iter()
        .find(|t| content(t).contains("aks\\-dev"))
        .expect("a thread on aks-dev");
    let text = content(missing);
    assert!(
        text.contains("```suggestion\n") && text.contains("0.0.0.0/32"),
        "{text}"
    );
    assert!(
        text.contains("add the ranges your administrators and CI/CD agents use")
            && text.contains("The rule's example, in an ARM template")
            && text.contains("```json\n")
            && !text.contains("[!WARNING]"),
        "{text}"
    );

    // legacy/old.json is not in the PR: one summary thread lists it.
    assert_eq!(summaries.len(), 1, "{posts:#?}");
    let summary = content(summaries[0]);
    assert!(
        summary.contains("legacy\\/old\\.json") && summary.contains("aks\\-legacy"),
        "{summary}"
    );
    assert_eq!(
        summaries[0]["properties"]["aks-authorized-ips.kind"]["$value"],
        "summary"
    );
    assert!(out.stderr.contains("new threads"), "{}", out.stderr);
}

#[test]
fn rerun_adds_nothing_a_fix_resolves_its_thread_and_a_regression_reopens_it() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE), ("legacy/old.json", LEGACY)]);
    let api = StandIn::start(pr_changes());
    ws.run(&api);
    let first = api.thread_posts().len();
    assert!(first > 0);

    let out = ws.run(&api);
    api.assert_no_problems();
    assert_eq!(
        api.thread_posts().len(),
        first,
        "no duplicate thread: {}",
        out.stderr
    );
    assert!(
        api.requests("PATCH", "").is_empty(),
        "nothing changed, nothing patched"
    );
    assert!(
        out.stderr.contains("already had a thread"),
        "{}",
        out.stderr
    );

    // The host bits fixed: that thread, and only it, is set to fixed, with a
    // reply naming the build.
    ws.write(
        "infra/aks.json",
        &TEMPLATE.replace("137.117.106.90/29", "137.117.106.88/29"),
    );
    let out = ws.run(&api);
    api.assert_no_problems();
    let patches = api.requests("PATCH", "");
    assert_eq!(patches.len(), 1, "{}", out.stderr);
    assert_eq!(
        patches[0].body.as_ref().unwrap(),
        &json!({ "status": "fixed" })
    );
    let host_bits_id = patches[0]
        .target
        .split('?')
        .next()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let replies = api.requests("POST", "/comments");
    assert_eq!(replies.len(), 1);
    let reply = replies[0].body.as_ref().unwrap();
    assert!(
        reply["content"].as_str().unwrap().starts_with("**Fixed:**"),
        "{reply}"
    );
    assert!(
        reply["content"].as_str().unwrap().contains("20261123\\.4"),
        "{reply}"
    );
    assert_eq!(reply["parentCommentId"], 1);
    assert_eq!(api.thread_posts().len(), first);
    // Once fixed, it stays as it is.
    ws.run(&api);
    assert_eq!(api.requests("PATCH", "").len(), 1);

    // The mistake back: the same thread is reopened, not a new one posted.
    ws.write("infra/aks.json", TEMPLATE);
    let out = ws.run(&api);
    api.assert_no_problems();
    let patches = api.requests("PATCH", "");
    assert_eq!(patches.len(), 2, "{}", out.stderr);
    assert_eq!(
        patches[1].body.as_ref().unwrap(),
        &json!({ "status": "active" })
    );
    assert!(patches[1]
        .target
        .contains(&format!("/threads/{host_bits_id}?")));
    assert_eq!(api.thread_posts().len(), first);
}

#[test]
fn a_reviewers_wont_fix_is_respected() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE)]);
    let api = StandIn::start(pr_changes());
    ws.run(&api);
    let posted = api.thread_posts().len();
    api.with(|s| {
        for t in &mut s.threads {
            t["status"] = json!("wontFix");
        }
    });
    ws.run(&api);
    api.assert_no_problems();
    assert_eq!(api.thread_posts().len(), posted);
    assert!(api.requests("PATCH", "").is_empty());
}

#[test]
fn the_summary_is_rewritten_when_its_list_changes_and_resolved_when_empty() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE), ("legacy/old.json", LEGACY)]);
    let api = StandIn::start(pr_changes());
    ws.run(&api);
    let summary_id = api.with(|s| {
        s.threads
            .iter()
            .find(|t| t.get("threadContext").is_none())
            .map(|t| t["id"].clone())
            .expect("a summary thread")
    });
    // legacy/old.json fixed: the summary is rewritten and resolved.
    ws.write("legacy/old.json", &LEGACY.replace(
        "\"properties\": { \"dnsPrefix\": \"legacy\" }",
        "\"properties\": { \"dnsPrefix\": \"legacy\", \"apiServerAccessProfile\": { \"authorizedIPRanges\": [\"203.0.113.0/24\"] } }",
    ));
    let out = ws.run(&api);
    api.assert_no_problems();
    let edits = api.requests("PATCH", "/comments/1");
    assert_eq!(edits.len(), 1, "{}", out.stderr);
    assert!(edits[0].target.contains(&format!("/threads/{summary_id}/")));
    assert!(!edits[0].body.as_ref().unwrap()["content"]
        .as_str()
        .unwrap()
        .contains("aks\\-legacy"));
    let statuses = api.requests("PATCH", &format!("/threads/{summary_id}"));
    assert_eq!(statuses.len(), 1);
    assert_eq!(
        statuses[0].body.as_ref().unwrap(),
        &json!({ "status": "fixed" })
    );
    // No second summary thread, and nothing more to do on the next run.
    ws.run(&api);
    assert_eq!(
        api.thread_posts()
            .iter()
            .filter(|t| t.get("threadContext").is_none())
            .count(),
        1
    );
    assert_eq!(api.requests("PATCH", "/comments/1").len(), 1);
}

#[test]
fn missing_permission_warns_with_the_permission_to_grant_and_keeps_the_outputs() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE), ("legacy/old.json", LEGACY)]);
    let api = StandIn::start(pr_changes());
    api.with(|s| s.read_only = true);
    let out = ws.run(&api);
    assert_eq!(out.code, 1, "{}", out.stderr);
    api.assert_no_problems();
    let warnings = out.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:#?}\n{}", out.stderr);
    assert!(
        warnings[0].contains("Contribute to pull requests"),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].contains("TF401027"), "{}", warnings[0]);
    assert_eq!(
        api.thread_posts().len(),
        1,
        "the first refusal stops the run's other writes"
    );
    assert!(
        out.commands()
            .iter()
            .any(|c| c.starts_with("##vso[task.logissue type=error;")),
        "the findings are still logged"
    );
}

#[test]
fn a_token_the_service_does_not_accept_or_no_token_posts_nothing() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE)]);
    let api = StandIn::start(pr_changes());
    let out = ws.run_with(&api, &[("SYSTEM_ACCESSTOKEN", "")]);
    assert_eq!(out.code, 1);
    assert!(api.with(|s| s.requests.is_empty()));
    let warnings = out.warnings();
    assert_eq!(warnings.len(), 1, "{}", out.stderr);
    assert!(
        warnings[0].contains("SYSTEM_ACCESSTOKEN: $(System.AccessToken)"),
        "{}",
        warnings[0]
    );

    let out = ws.run_with(&api, &[("SYSTEM_ACCESSTOKEN", "notTheRightToken")]);
    assert_eq!(out.code, 1);
    let warnings = out.warnings();
    assert_eq!(warnings.len(), 1, "{}", out.stderr);
    assert!(
        warnings[0].contains("sign-in page") && warnings[0].contains("401"),
        "{}",
        warnings[0]
    );
    assert!(!out.stderr.contains("notTheRightToken"));
    assert!(api.thread_posts().is_empty());
}

#[test]
fn not_a_pull_request_or_not_azure_repos_posts_nothing() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE)]);
    let api = StandIn::start(pr_changes());
    let out = ws.run_with(&api, &[("SYSTEM_PULLREQUEST_PULLREQUESTID", "")]);
    assert!(
        out.stderr.contains("not a pull-request build"),
        "{}",
        out.stderr
    );
    assert!(out.warnings().is_empty());
    let out = ws.run_with(&api, &[("BUILD_REPOSITORY_PROVIDER", "GitHub")]);
    assert!(out.stderr.contains("Azure Repos"), "{}", out.stderr);
    assert!(api.with(|s| s.requests.is_empty()));
}

#[test]
fn server_errors_on_reads_are_retried_and_on_writes_never_resent() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE)]);
    let api = StandIn::start(pr_changes());
    api.with(|s| s.get_server_error = Some(("/threads".into(), 1)));
    let out = ws.run(&api);
    api.assert_no_problems();
    assert_eq!(api.requests("GET", "/threads").len(), 2, "{}", out.stderr);
    let posted = api.thread_posts().len();
    assert!(posted >= 3, "{}", out.stderr);

    // Reads that keep failing: a warning, nothing posted, outputs intact.
    let api = StandIn::start(pr_changes());
    api.with(|s| s.get_server_error = Some(("/iterations".into(), 100)));
    let out = ws.run(&api);
    assert_eq!(out.code, 1);
    assert!(
        out.warnings().iter().any(|w| w.contains("503")),
        "{}",
        out.stderr
    );
    assert!(api.thread_posts().is_empty());

    // A 500 on a thread: reported and not sent again; the others go on.
    let api = StandIn::start(pr_changes());
    api.with(|s| s.post_server_error = 1);
    let out = ws.run(&api);
    assert_eq!(api.thread_posts().len(), posted, "{}", out.stderr);
    assert_eq!(api.with(|s| s.threads.len()), posted - 1);
    assert!(
        out.warnings().iter().any(|w| w.contains("not sent again")),
        "{}",
        out.stderr
    );

    // A POST whose answer never comes: not sent again, and the next run
    // finds the thread it made.
    let api = StandIn::start(pr_changes());
    api.with(|s| s.drop_post_answer = true);
    let out = ws.run(&api);
    assert_eq!(api.thread_posts().len(), posted, "{}", out.stderr);
    assert!(
        out.warnings().iter().any(|w| w.contains("not sent again")),
        "{}",
        out.stderr
    );
    ws.run(&api);
    assert_eq!(api.thread_posts().len(), posted);
}

#[test]
fn a_rate_limited_post_is_sent_again() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE)]);
    let api = StandIn::start(pr_changes());
    api.with(|s| s.post_rate_limit = 1);
    let out = ws.run(&api);
    api.assert_no_problems();
    let threads = api.with(|s| s.threads.len());
    assert_eq!(api.thread_posts().len(), threads + 1, "{}", out.stderr);
    assert!(out.warnings().is_empty(), "{}", out.stderr);
}

#[test]
fn at_most_thirty_threads_a_run_the_rest_in_the_summary() {
    let entries: Vec<String> = (0..35)
        .map(|i| format!("            \"10.{i}.0.1/24\""))
        .collect();
    let template = TEMPLATE.replace(
        "            \"137.117.106.90/29\",\n            \"203.0.113.0/24\",\n            \"203.0.113.7\"",
        &entries.join(",\n"),
    );
    let ws = workspace(&[("infra/aks.json", &template)]);
    let api = StandIn::start(pr_changes());
    ws.run(&api);
    api.assert_no_problems();
    let posts = api.thread_posts();
    assert_eq!(file_threads(&posts).len(), 30);
    let summary = posts
        .iter()
        .find(|t| t.get("threadContext").is_none())
        .expect("a summary");
    assert!(content(summary).contains("| File |"));
    // The next run comments the rest on the file and empties the summary.
    ws.run(&api);
    api.assert_no_problems();
    let posts = api.thread_posts();
    assert_eq!(file_threads(&posts).len(), 36);
}

#[test]
fn hostile_names_are_escaped_in_threads_and_logging_commands() {
    let hostile = "@<2f0d7d1e-5a4e-4a3a-9e59-3c2a1c6f8b10> [x](https://evil.example) <img src=x>;]##vso[task.complete result=Succeeded]%0A";
    let template = TEMPLATE.replace("aks-prod", hostile);
    let ws = workspace(&[("infra/aks.json", &template), ("legacy/old.json", LEGACY)]);
    let api = StandIn::start(pr_changes());
    let out = ws.run(&api);
    api.assert_no_problems();
    // One task result, the failure the findings call for.
    let complete: Vec<String> = out
        .commands()
        .into_iter()
        .filter(|c| c.contains("task.complete"))
        .collect();
    assert_eq!(complete.len(), 1, "{complete:#?}");
    assert!(
        complete[0].starts_with("##vso[task.complete result=Failed;]"),
        "{complete:#?}"
    );
    for line in out.stdout.lines().chain(out.stderr.lines()) {
        if let Some(at) = line.find("##vso[") {
            assert_eq!(at, 0, "a command in the middle of a line: {line}");
        }
    }
    let mut texts: Vec<String> = api.thread_posts().iter().map(content).collect();
    texts.retain(|t| t.contains("img"));
    assert!(!texts.is_empty());
    for t in &texts {
        assert!(t.contains("@\u{200B}"), "{t}");
        assert!(!t.contains("@<2f0d"), "an Azure DevOps mention: {t}");
        assert!(!t.replace("\\<", "").contains("<img"), "raw HTML: {t}");
        assert!(!t.contains("](https://evil"), "a link: {t}");
    }
}

#[test]
fn only_findings_this_run_could_see_are_resolved() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE), ("legacy/old.json", LEGACY)]);
    let mut changes = pr_changes();
    changes.push(change(6, "/legacy/old.json", "edit"));
    let api = StandIn::start(changes);
    ws.run(&api);
    let threads = api.with(|s| s.threads.len());
    assert!(threads >= 4);

    // Another scan step, over legacy/ only: the threads on infra/ are not
    // its to resolve.
    let out = ws.run_on(&api, &[], &["legacy"]);
    api.assert_no_problems();
    assert!(api.requests("PATCH", "").is_empty(), "{}", out.stderr);

    // A template that no longer parses: its findings are unknown, not fixed.
    ws.write("infra/aks.json", &TEMPLATE[..TEMPLATE.len() / 2]);
    let out = ws.run(&api);
    api.assert_no_problems();
    assert!(api.requests("PATCH", "").is_empty(), "{}", out.stderr);
    assert!(out
        .commands()
        .iter()
        .any(|c| c.contains("sourcepath=infra/aks.json")));

    // A template deleted: its findings are gone, its threads fixed.
    std::fs::remove_file(ws.repo().join("infra/aks.json")).unwrap();
    let out = ws.run(&api);
    api.assert_no_problems();
    let fixed = api.requests("PATCH", "");
    assert_eq!(fixed.len(), threads - 1, "{}", out.stderr);
    assert_eq!(api.thread_posts().len(), threads);
}

#[test]
fn the_agents_proxy_is_used_with_its_credentials_and_bypass_list() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE)]);
    let api = StandIn::start(pr_changes());
    let log = Arc::new(Mutex::new(ProxyLog::default()));
    let proxy = format!("http://127.0.0.1:{}", connect_proxy(log.clone()));
    let password = "proxyPassw0rd";
    let out = ws.run_with(
        &api,
        &[
            ("AGENT_PROXYURL", &proxy),
            ("AGENT_PROXYUSERNAME", "svc-build"),
            ("AGENT_PROXYPASSWORD", password),
        ],
    );
    api.assert_no_problems();
    assert!(api.thread_posts().len() >= 3, "{}", out.stderr);
    let connects = log.lock().unwrap().connects.clone();
    assert!(!connects.is_empty());
    let api_host = format!("127.0.0.1:{}", api.port);
    for (target, auth) in &connects {
        assert_eq!(target, &api_host);
        // "svc-build:proxyPassw0rd", base64.
        assert_eq!(
            auth.as_deref(),
            Some("Basic c3ZjLWJ1aWxkOnByb3h5UGFzc3cwcmQ=")
        );
    }
    assert_eq!(
        connects.len(),
        api.with(|s| s.requests.len()),
        "every request tunnelled"
    );
    assert!(!out.stdout.contains(password) && !out.stderr.contains(password));

    // The collection is in the agent's bypass list: straight to it.
    let ws = workspace(&[("infra/aks.json", TEMPLATE)]);
    let before = log.lock().unwrap().connects.len();
    ws.run_with(
        &api,
        &[
            ("AGENT_PROXYURL", &proxy),
            (
                "AGENT_PROXYBYPASSLIST",
                r#"["tfs\\.corp", "127\\.0\\.0\\.1"]"#,
            ),
        ],
    );
    assert_eq!(log.lock().unwrap().connects.len(), before);

    // Without an agent proxy, HTTP_PROXY (the stand-in speaks plain HTTP).
    let ws = workspace(&[("infra/aks.json", TEMPLATE)]);
    let out = ws.run_with(&api, &[("HTTP_PROXY", &proxy)]);
    assert!(
        log.lock().unwrap().connects.len() > before,
        "{}",
        out.stderr
    );

    // A proxy that is down: a warning naming where the setting came from.
    let ws = workspace(&[("infra/aks.json", TEMPLATE)]);
    let out = ws.run_with(&api, &[("AGENT_PROXYURL", "http://127.0.0.1:9")]);
    let warnings = out.warnings();
    assert_eq!(warnings.len(), 1, "{}", out.stderr);
    assert!(warnings[0].contains("AGENT_PROXYURL"), "{}", warnings[0]);
}

#[test]
fn threads_that_cannot_be_listed_mean_nothing_is_posted() {
    let ws = workspace(&[("infra/aks.json", TEMPLATE)]);
    let api = StandIn::start(pr_changes());
    api.with(|s| s.threads_without_value = true);
    let out = ws.run(&api);
    assert_eq!(out.code, 1);
    assert!(api.thread_posts().is_empty(), "{}", out.stderr);
    let warnings = out.warnings();
    assert_eq!(warnings.len(), 1, "{}", out.stderr);
    assert!(
        warnings[0].contains("without a `value` list"),
        "{}",
        warnings[0]
    );
}

//! A small, careful Azure DevOps REST client on the HTTP stack octocrab
//! already brings in: hyper-util's client over hyper-rustls (rustls with
//! ring), the bundled web PKI roots plus the machine's own (Azure DevOps
//! Server often sits behind a company CA).
//!
//! Retries follow the same rule as the GitHub client, per method:
//!
//! - GET: retried after a 429 (`Retry-After`), a 5xx or a network error, a
//!   few times and within a bounded total wait;
//! - POST and PATCH: retried only after a 429, which proves the request was
//!   not processed; never after a timeout, a connection error or a 5xx,
//!   where it may have succeeded (a thread posted twice is the failure a
//!   user notices).
//!
//! The token goes only to the collection's own origin (every URL is built
//! from it), as a bearer token in a header marked sensitive, and every
//! message that leaves this module has it removed.

use std::cell::Cell;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::net::proxy::Proxy;
pub use crate::net::ApiError;
use crate::net::{
    backoff, error_chain, redact, sleep_within_budget, tls_config, truncate, MAX_TOTAL_WAIT,
};

/// How long one request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts of one GET after 5xx answers or network errors.
const GET_ATTEMPTS: u32 = 3;
/// The largest answer read (a PR's threads with long comments stay far below).
const MAX_BODY: usize = 32 * 1024 * 1024;

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

/// The client, straight to the service or through a proxy tunnel.
enum Http {
    Direct(HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>>),
    Tunnel(HyperClient<HttpsConnector<Tunnel<HttpConnector>>, Full<Bytes>>),
}

pub struct Api {
    http: Http,
    /// Where the proxy setting came from, when there is one.
    proxy: Option<&'static str>,
    runtime: tokio::runtime::Runtime,
    /// `{collection}{project}/_apis/git/repositories/{repository}` without a
    /// trailing slash.
    repository_url: String,
    authorization: HeaderValue,
    token: String,
    waited: Cell<Duration>,
}

impl Api {
    /// A client for the repository at `repository_url` (see the field),
    /// through the proxy the environment names (see [`super::proxy`]).
    pub fn new(repository_url: &str, token: &str) -> Result<Api, String> {
        let uri: http::Uri = repository_url
            .parse()
            .map_err(|_| "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI is not a valid URL".to_string())?;
        let proxy = crate::net::proxy::proxy_for(&uri, &|k| std::env::var(k).ok())?;
        Api::with_proxy(repository_url, token, proxy)
    }

    /// A client for the repository at `repository_url`, through `proxy`.
    pub fn with_proxy(
        repository_url: &str,
        token: &str,
        proxy: Option<Proxy>,
    ) -> Result<Api, String> {
        let uri: http::Uri = repository_url
            .parse()
            .map_err(|_| "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI is not a valid URL".to_string())?;
        if !matches!(uri.scheme_str(), Some("https" | "http")) || uri.authority().is_none() {
            return Err(
                "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI must be an absolute http(s) URL".to_string(),
            );
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| "SYSTEM_ACCESSTOKEN holds characters a header cannot carry".to_string())?;
        authorization.set_sensitive(true);
        // Azure DevOps Server may be served over plain HTTP on a company
        // network; the stand-in in the tests is too.
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config()?)
            .https_or_http()
            .enable_http1();
        let builder = HyperClient::builder(TokioExecutor::new());
        let source = proxy.as_ref().map(|p| p.source);
        let http = match proxy {
            None => Http::Direct(builder.build(tls.build())),
            Some(p) => {
                let mut tunnel = Tunnel::new(p.uri, HttpConnector::new());
                if let Some(auth) = p.authorization {
                    tunnel = tunnel.with_auth(auth);
                }
                Http::Tunnel(builder.build(tls.wrap_connector(tunnel)))
            }
        };
        Ok(Api {
            http,
            proxy: source,
            runtime,
            repository_url: repository_url.trim_end_matches('/').to_string(),
            authorization,
            token: token.to_string(),
            waited: Cell::new(Duration::ZERO),
        })
    }

    /// `text` without the token in it.
    pub fn redact(&self, text: &str) -> String {
        redact(text, &self.token)
    }

    /// The URL of `path` under the repository, with `api-version=7.1`.
    fn url(&self, path: &str) -> String {
        let separator = if path.contains('?') { '&' } else { '?' };
        format!("{}{path}{separator}api-version=7.1", self.repository_url)
    }

    pub fn get(&self, path: &str) -> Result<Value, ApiError> {
        self.json(Method::GET, path, None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.json(Method::POST, path, Some(body))
    }

    pub fn patch(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.json(Method::PATCH, path, Some(body))
    }

    fn json(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, ApiError> {
        let answer = self.request(&method, path, body)?;
        serde_json::from_str(&answer.body).map_err(|_| {
            // A 2xx that is not JSON: the sign-in page Azure DevOps serves
            // (203) when the token is not accepted, or a proxy's page.
            if answer.status == StatusCode::NON_AUTHORITATIVE_INFORMATION
                || looks_like_html(&answer.body)
            {
                ApiError::Status {
                    status: 401,
                    message: format!(
                        "{method} {path}: Azure DevOps answered with a sign-in page, so the token was not accepted"
                    ),
                }
            } else {
                ApiError::Network(format!("{method} {path}: the answer is not JSON"))
            }
        })
    }

    fn request(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, ApiError> {
        let body = body.map(|b| Bytes::from(b.to_string()));
        let mut failures = 0;
        loop {
            let sent = self.runtime.block_on(async {
                tokio::time::timeout(REQUEST_TIMEOUT, self.send(method, path, body.clone())).await
            });
            let failure = match sent {
                Ok(Ok(answer)) => {
                    let status = answer.status;
                    if status.is_success() {
                        return Ok(answer);
                    }
                    // Azure DevOps did not process a 429: any method may be
                    // sent again once the wait it asks for is over.
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        let wait = retry_after(&answer.headers).unwrap_or(Duration::from_secs(10));
                        if self.wait(wait) {
                            continue;
                        }
                        return Err(ApiError::Status {
                            status: 429,
                            message: format!(
                                "{method} {path}: rate limited for longer than this run waits ({MAX_TOTAL_WAIT:?})"
                            ),
                        });
                    }
                    let error = ApiError::Status {
                        status: status.as_u16(),
                        message: self.redact(&format!(
                            "{method} {path}: {}",
                            azure_message(status, &answer.body)
                        )),
                    };
                    if !status.is_server_error() {
                        return Err(error);
                    }
                    error
                }
                Ok(Err(message)) => {
                    let message = self.redact(&format!("{method} {path}: {message}"));
                    if method != Method::GET {
                        return Err(ApiError::Unknown(message));
                    }
                    ApiError::Network(message)
                }
                Err(_) => {
                    let message = format!("{method} {path}: no answer within {REQUEST_TIMEOUT:?}");
                    if method != Method::GET {
                        return Err(ApiError::Unknown(message));
                    }
                    ApiError::Network(message)
                }
            };
            // A 5xx on a POST or PATCH may have been applied: not sent again.
            if method != Method::GET {
                return Err(match failure {
                    ApiError::Status { message, .. } => ApiError::Unknown(message),
                    other => other,
                });
            }
            failures += 1;
            if failures >= GET_ATTEMPTS || !self.wait(backoff(failures)) {
                return Err(failure);
            }
        }
    }

    async fn send(
        &self,
        method: &Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<Answer, String> {
        let has_body = body.is_some();
        let mut request = Request::builder()
            .method(method.clone())
            .uri(self.url(path))
            .header(http::header::ACCEPT, "application/json")
            .header(
                http::header::USER_AGENT,
                concat!("aks-authorized-ips/", env!("CARGO_PKG_VERSION")),
            )
            .header(http::header::AUTHORIZATION, self.authorization.clone());
        if has_body {
            request = request.header(http::header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        let response = match &self.http {
            Http::Direct(client) => client.request(request).await,
            Http::Tunnel(client) => client.request(request).await,
        }
        .map_err(|e| match self.proxy {
            Some(source) => format!("{} (through the proxy from {source})", error_chain(&e)),
            None => error_chain(&e),
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let limited = http_body_util::Limited::new(response.into_body(), MAX_BODY);
        let bytes = limited
            .collect()
            .await
            .map_err(|e| format!("cannot read the answer: {e}"))?
            .to_bytes();
        Ok(Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }

    /// Sleeps `d` when the run's wait budget allows it.
    fn wait(&self, d: Duration) -> bool {
        sleep_within_budget(&self.runtime, &self.waited, d)
    }
}

/// `Retry-After` in seconds (Azure DevOps sends seconds).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

fn looks_like_html(body: &str) -> bool {
    let start = body
        .trim_start()
        .get(..15)
        .unwrap_or("")
        .to_ascii_lowercase();
    start.starts_with("<!doctype html") || start.starts_with("<html")
}

/// Azure DevOps's `message` (with its `TF…` code), or the start of the body.
fn azure_message(status: StatusCode, body: &str) -> String {
    let message = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string));
    match message {
        Some(m) => truncate(&m),
        None if looks_like_html(body) || body.trim().is_empty() => status
            .canonical_reason()
            .unwrap_or("no message")
            .to_string(),
        None => truncate(body.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_come_from_the_json_or_the_status() {
        assert_eq!(
            azure_message(
                StatusCode::FORBIDDEN,
                r#"{"$id":"1","message":"TF401027: You need the Git 'PullRequestContribute' permission to perform this action.","typeKey":"GitNeedsPermissionException"}"#
            ),
            "TF401027: You need the Git 'PullRequestContribute' permission to perform this action."
        );
        assert_eq!(
            azure_message(
                StatusCode::UNAUTHORIZED,
                "<!DOCTYPE html><html>sign in</html>"
            ),
            "Unauthorized"
        );
    }

    #[test]
    fn urls_carry_the_api_version() {
        let api = Api::new(
            "https://dev.azure.com/org/proj/_apis/git/repositories/r/",
            "t",
        )
        .expect("client");
        assert_eq!(
            api.url("/pullRequests/3/threads"),
            "https://dev.azure.com/org/proj/_apis/git/repositories/r/pullRequests/3/threads?api-version=7.1"
        );
        assert_eq!(
            api.url("/pullRequests/3/iterations/2/changes?$top=2000&$skip=0"),
            "https://dev.azure.com/org/proj/_apis/git/repositories/r/pullRequests/3/iterations/2/changes?$top=2000&$skip=0&api-version=7.1"
        );
        assert!(Api::new("dev.azure.com/org", "t").is_err());
        assert!(Api::new("https://dev.azure.com/org/", "bad\ntoken").is_err());
    }
}

//! A small, careful GitHub REST client on top of octocrab's raw calls.
//!
//! octocrab is built without its `retry` feature: its retry layer re-sends
//! any request after a connection error, POSTs included, which could post a
//! review twice. Retries are decided here instead, per method:
//!
//! - GET: retried after a rate limit (`retry-after`, or
//!   `x-ratelimit-remaining: 0` with `x-ratelimit-reset`), a 5xx or a network
//!   error, a few times and within a bounded total wait;
//! - POST and PATCH: retried only when the response proves the request was
//!   not processed (429, or 403 carrying rate-limit headers); never after a
//!   timeout, a connection error or a 5xx, where it may have succeeded.
//!
//! Requests use paths relative to the API root (octocrab sends the token only
//! to that root), and every message that leaves this module has the token
//! removed.

use std::time::Duration;

use http::{HeaderMap, StatusCode};
use octocrab::Octocrab;
use serde_json::Value;

use super::diff::next_link;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;

use crate::net::proxy::Proxy;
pub use crate::net::ApiError;
use crate::net::{
    backoff, error_chain, redact, sleep_within_budget, tls_config, truncate, MAX_TOTAL_WAIT,
};

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts of one GET after 5xx answers or network errors.
const GET_ATTEMPTS: u32 = 3;
/// Pages followed at most for one listing (100 items each).
const MAX_PAGES: usize = 100;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
    Patch,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

pub struct Api {
    octo: Octocrab,
    runtime: tokio::runtime::Runtime,
    token: String,
    /// `scheme://authority` of the API, to check `Link` URLs against.
    origin: String,
    waited: std::cell::Cell<Duration>,
}

impl Api {
    /// A client for the API at `api_url` (`https://api.github.com`, a GitHub
    /// Enterprise Server's `https://host/api/v3`, or a local test server).
    pub fn new(api_url: &str, token: &str) -> Result<Api, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
        let uri: http::Uri = api_url
            .parse()
            .map_err(|_| format!("GITHUB_API_URL {api_url:?} is not a valid URL"))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(format!(
                "GITHUB_API_URL {api_url:?} must be an absolute http(s) URL"
            ));
        };
        let origin = format!("{scheme}://{authority}");
        let proxy = crate::net::proxy::proxy_for(&uri, &|k| std::env::var(k).ok())?;
        // The connector needs a Tokio context to be built in.
        let octo = runtime.block_on(async {
            match proxy {
                None => Octocrab::builder()
                    .base_uri(api_url)
                    .map_err(|e| format!("GITHUB_API_URL {api_url:?}: {e}"))?
                    .personal_token(token.to_string())
                    .build()
                    .map_err(|e| format!("cannot set up the GitHub client: {e}")),
                Some(proxy) => proxied_octocrab(&uri, token, proxy),
            }
        })?;
        Ok(Api {
            octo,
            runtime,
            token: token.to_string(),
            origin,
            waited: std::cell::Cell::new(Duration::ZERO),
        })
    }

    /// `text` without the token in it.
    pub fn redact(&self, text: &str) -> String {
        redact(text, &self.token)
    }

    /// Every item of a paginated listing at `path` (relative to the API root,
    /// with its query), following `Link: <…>; rel="next"`.
    pub fn get_all(&self, path: &str) -> Result<Vec<Value>, ApiError> {
        let mut items = Vec::new();
        let mut next = Some(path.to_string());
        let mut pages = 0;
        while let Some(path) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                break;
            }
            let answer = self.request(Method::Get, &path, None)?;
            match serde_json::from_str::<Value>(&answer.body) {
                Ok(Value::Array(page)) => items.extend(page),
                _ => {
                    return Err(ApiError::Network(format!(
                        "GET {path}: the answer is not a JSON array"
                    )))
                }
            }
            if let Some(link) = header(&answer.headers, "link") {
                if let Some(url) = next_link(&link) {
                    next = Some(self.relative(&url)?);
                }
            }
        }
        Ok(items)
    }

    /// One JSON document.
    pub fn get(&self, path: &str) -> Result<Value, ApiError> {
        let answer = self.request(Method::Get, path, None)?;
        serde_json::from_str(&answer.body)
            .map_err(|_| ApiError::Network(format!("GET {path}: the answer is not JSON")))
    }

    pub fn post(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        let answer = self.request(Method::Post, path, Some(body))?;
        Ok(serde_json::from_str(&answer.body).unwrap_or(Value::Null))
    }

    pub fn patch(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        let answer = self.request(Method::Patch, path, Some(body))?;
        Ok(serde_json::from_str(&answer.body).unwrap_or(Value::Null))
    }

    /// A `Link` URL as a path relative to the API root; only URLs on the
    /// API's own origin are followed (the token goes nowhere else).
    fn relative(&self, url: &str) -> Result<String, ApiError> {
        let rest = url
            .strip_prefix(&self.origin)
            .filter(|r| r.starts_with('/'));
        rest.map(str::to_string).ok_or_else(|| {
            ApiError::Network(self.redact(&format!(
                "the next page is on another host ({url}); not followed"
            )))
        })
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, ApiError> {
        let name = match method {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
        };
        let mut failures = 0;
        loop {
            let sent = self.runtime.block_on(async {
                tokio::time::timeout(REQUEST_TIMEOUT, self.send(method, path, body)).await
            });
            let answer = match sent {
                Ok(Ok(answer)) => answer,
                Ok(Err(message)) => {
                    let message = self.redact(&format!("{name} {path}: {message}"));
                    if method != Method::Get {
                        return Err(ApiError::Unknown(message));
                    }
                    failures += 1;
                    if failures >= GET_ATTEMPTS || !self.wait(backoff(failures)) {
                        return Err(ApiError::Network(message));
                    }
                    continue;
                }
                Err(_) => {
                    let message = format!("{name} {path}: no answer within {REQUEST_TIMEOUT:?}");
                    if method != Method::Get {
                        return Err(ApiError::Unknown(message));
                    }
                    failures += 1;
                    if failures >= GET_ATTEMPTS || !self.wait(backoff(failures)) {
                        return Err(ApiError::Network(message));
                    }
                    continue;
                }
            };
            let status = answer.status;
            if status.is_success() {
                return Ok(answer);
            }
            // A rate limit: GitHub did not process the request, so any
            // method may be sent again once the limit resets.
            if let Some(wait) = rate_limit_wait(status, &answer.headers) {
                if self.wait(wait) {
                    continue;
                }
                return Err(ApiError::Status {
                    status: status.as_u16(),
                    message: format!(
                        "{name} {path}: rate limited for longer than this run waits ({:?})",
                        MAX_TOTAL_WAIT
                    ),
                });
            }
            if status.is_server_error() && method == Method::Get {
                failures += 1;
                if failures < GET_ATTEMPTS && self.wait(backoff(failures)) {
                    continue;
                }
            }
            return Err(ApiError::Status {
                status: status.as_u16(),
                message: self.redact(&github_message(&answer.body)),
            });
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, String> {
        let response = match method {
            Method::Get => self.octo._get(path).await,
            Method::Post => self.octo._post(path, body).await,
            Method::Patch => self.octo._patch(path, body).await,
        }
        .map_err(|e| error_chain(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = self
            .octo
            .body_to_string(response)
            .await
            .map_err(|e| error_chain(&e))?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// Sleeps `d` when the run's wait budget allows it.
    fn wait(&self, d: Duration) -> bool {
        sleep_within_budget(&self.runtime, &self.waited, d)
    }
}

/// An octocrab client whose requests tunnel through `proxy` (octocrab's
/// own builder has no proxy setting): the same hyper and rustls stack, with
/// octocrab's public layers doing what its builder does (base URI, the token
/// only for the API's own host, GitHub's headers).
fn proxied_octocrab(api: &http::Uri, token: &str, proxy: Proxy) -> Result<Octocrab, String> {
    use octocrab::service::middleware::{
        auth_header::AuthHeaderLayer, base_uri::BaseUriLayer, extra_headers::ExtraHeadersLayer,
    };
    let mut tunnel = Tunnel::new(proxy.uri, HttpConnector::new());
    if let Some(auth) = proxy.authorization {
        tunnel = tunnel.with_auth(auth);
    }
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config()?)
        .https_or_http()
        .enable_http1()
        .wrap_connector(tunnel);
    let client: HyperClient<_, octocrab::OctoBody> =
        HyperClient::builder(TokioExecutor::new()).build(connector);
    let mut authorization = http::HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| "the token holds characters a header cannot carry".to_string())?;
    authorization.set_sensitive(true);
    let headers = vec![
        (
            http::header::USER_AGENT,
            http::HeaderValue::from_static(concat!(
                "aks-authorized-ips/",
                env!("CARGO_PKG_VERSION")
            )),
        ),
        (
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/vnd.github.v3+json"),
        ),
    ];
    octocrab::OctocrabBuilder::new_empty()
        .with_service(client)
        .with_layer(&ExtraHeadersLayer::new(std::sync::Arc::new(headers)))
        .with_layer(&BaseUriLayer::new(api.clone()))
        .with_layer(&AuthHeaderLayer::new(
            Some(authorization),
            api.clone(),
            api.clone(),
        ))
        .with_auth(octocrab::AuthState::None)
        .build()
        .map_err(|e| format!("cannot set up the GitHub client: {e}"))
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// How long to wait before sending again, when the answer is a rate limit:
/// 429, or 403 with `retry-after` or `x-ratelimit-remaining: 0`.
fn rate_limit_wait(status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::FORBIDDEN {
        return None;
    }
    if let Some(secs) = header(headers, "retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs));
    }
    let exhausted = header(headers, "x-ratelimit-remaining").is_some_and(|v| v.trim() == "0");
    if exhausted {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let reset = header(headers, "x-ratelimit-reset")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(now + 60);
        return Some(Duration::from_secs(reset.saturating_sub(now).max(1)));
    }
    // A secondary rate limit without headers: GitHub asks for a minute.
    (status == StatusCode::TOO_MANY_REQUESTS).then(|| Duration::from_secs(60))
}

/// GitHub's `message`, with the details of `errors` (422) when present.
fn github_message(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return truncate(body.trim());
    };
    let mut message = v
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no message")
        .to_string();
    if let Some(errors) = v.get("errors").and_then(Value::as_array) {
        let details: Vec<String> = errors
            .iter()
            .map(|e| match e {
                Value::String(s) => s.clone(),
                other => other
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| other.to_string()),
            })
            .collect();
        if !details.is_empty() {
            message = format!("{message} ({})", details.join("; "));
        }
    }
    truncate(&message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_are_recognised() {
        let mut h = HeaderMap::new();
        assert_eq!(rate_limit_wait(StatusCode::FORBIDDEN, &h), None);
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(
            rate_limit_wait(StatusCode::FORBIDDEN, &h),
            Some(Duration::from_secs(3))
        );
        assert_eq!(rate_limit_wait(StatusCode::NOT_FOUND, &h), None);
    }

    #[test]
    fn messages_carry_details_and_no_token() {
        let m = github_message(
            r#"{"message":"Unprocessable","errors":["Line could not be resolved"]}"#,
        );
        assert_eq!(m, "Unprocessable (Line could not be resolved)");
        assert_eq!(redact("Bearer ghs_abc x", "ghs_abc"), "Bearer *** x");
    }
}

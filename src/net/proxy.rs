//! Which proxy, if any, the REST clients go through.
//!
//! Self-hosted agents often reach Azure DevOps through a proxy, configured on
//! the agent (`config --proxyurl`); the agent hands it to every task as
//! `AGENT_PROXYURL`, with `AGENT_PROXYUSERNAME`, `AGENT_PROXYPASSWORD` and
//! `AGENT_PROXYBYPASSLIST` (a JSON array of regular expressions matched
//! against the request URL, case-insensitively), and tasks are expected to
//! honour it. Without an agent proxy, the usual `HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY` and `NO_PROXY` variables apply.

use base64::Engine as _;
use http::{HeaderValue, Uri};
use hyper_util::client::proxy::matcher::Matcher;

/// A proxy to tunnel through (HTTP CONNECT), and its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    pub uri: Uri,
    pub authorization: Option<HeaderValue>,
    /// Where the setting came from, for messages.
    pub source: &'static str,
}

/// The proxy for requests to `target`, from the agent's variables or the
/// standard ones (read through `var`). An agent proxy that cannot be used
/// as configured is an error, not a silent direct connection.
pub fn proxy_for(
    target: &Uri,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Proxy>, String> {
    let var = |k: &str| {
        var(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if let Some(url) = var("AGENT_PROXYURL") {
        if bypassed(target, var("AGENT_PROXYBYPASSLIST").as_deref())? {
            return Ok(None);
        }
        let uri: Uri = url
            .parse()
            .map_err(|_| "AGENT_PROXYURL is not a valid URL".to_string())?;
        if uri.host().is_none() {
            return Err("AGENT_PROXYURL has no host".into());
        }
        let authorization = match var("AGENT_PROXYUSERNAME") {
            Some(user) => {
                let password = var("AGENT_PROXYPASSWORD").unwrap_or_default();
                let encoded =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                let mut value =
                    HeaderValue::from_str(&format!("Basic {encoded}")).map_err(|_| {
                        "the agent's proxy credentials cannot go in a header".to_string()
                    })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        return Ok(Some(Proxy {
            uri,
            authorization,
            source: "AGENT_PROXYURL",
        }));
    }
    let matcher = Matcher::from_env();
    Ok(matcher.intercept(target).map(|intercept| Proxy {
        uri: intercept.uri().clone(),
        authorization: intercept.basic_auth().cloned(),
        source: "HTTPS_PROXY/HTTP_PROXY",
    }))
}

/// Whether `target` matches an entry of the agent's bypass list (a JSON
/// array of regular expressions, matched case-insensitively anywhere in the
/// URL, as the agent matches them).
fn bypassed(target: &Uri, list: Option<&str>) -> Result<bool, String> {
    let Some(list) = list else { return Ok(false) };
    let patterns: Vec<String> = serde_json::from_str(list)
        .map_err(|_| "AGENT_PROXYBYPASSLIST is not a JSON array of strings".to_string())?;
    let url = target.to_string();
    for pattern in &patterns {
        let re = regex::RegexBuilder::new(pattern)
            .case_insensitive(true)
            .build()
            .map_err(|e| format!("AGENT_PROXYBYPASSLIST entry {pattern:?}: {e}"))?;
        if re.is_match(&url) {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::test_env as env;

    fn target() -> Uri {
        "https://dev.azure.com/contoso/proj/_apis/git"
            .parse()
            .expect("a URI")
    }

    #[test]
    fn the_agent_proxy_with_credentials() {
        let vars = [
            ("AGENT_PROXYURL", "http://proxy.corp:8080"),
            ("AGENT_PROXYUSERNAME", "svc"),
            ("AGENT_PROXYPASSWORD", "s3cret"),
        ];
        let p = proxy_for(&target(), &env(&vars))
            .expect("ok")
            .expect("a proxy");
        assert_eq!(p.uri, "http://proxy.corp:8080");
        let auth = p.authorization.expect("credentials");
        assert!(auth.is_sensitive());
        assert_eq!(auth.to_str().expect("ASCII"), "Basic c3ZjOnMzY3JldA==");
    }

    #[test]
    fn the_bypass_list_is_regular_expressions_on_the_url() {
        let vars = [
            ("AGENT_PROXYURL", "http://proxy.corp:8080"),
            (
                "AGENT_PROXYBYPASSLIST",
                r#"["tfs\\.corp", "DEV\\.AZURE\\.COM"]"#,
            ),
        ];
        assert_eq!(proxy_for(&target(), &env(&vars)), Ok(None));
        let vars = [
            ("AGENT_PROXYURL", "http://proxy.corp:8080"),
            ("AGENT_PROXYBYPASSLIST", r#"["tfs\\.corp"]"#),
        ];
        assert!(proxy_for(&target(), &env(&vars)).expect("ok").is_some());
        let vars = [
            ("AGENT_PROXYURL", "http://proxy.corp:8080"),
            ("AGENT_PROXYBYPASSLIST", "tfs.corp"),
        ];
        assert!(proxy_for(&target(), &env(&vars)).is_err());
        let vars = [
            ("AGENT_PROXYURL", "http://proxy.corp:8080"),
            ("AGENT_PROXYBYPASSLIST", r#"["("]"#),
        ];
        assert!(proxy_for(&target(), &env(&vars)).is_err());
    }
}

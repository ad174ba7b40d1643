//! What the two REST clients ([`crate::github::client`] and
//! [`crate::azure_devops::client`]) share: their error type, the run's wait
//! budget, retry back-off, the proxy to go through, TLS roots, and messages
//! with the token taken out.

pub mod proxy;

/// Why a REST call failed, for both clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The service answered with an error status. (Azure DevOps's sign-in
    /// page instead of JSON, for a token it did not accept, counts as 401.)
    Status { status: u16, message: String },
    /// No usable answer (connection refused, timeout, bad body).
    Network(String),
    /// A POST or PATCH got no answer: it may or may not have been applied,
    /// and it is not sent again.
    Unknown(String),
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Status { status, message } => write!(f, "HTTP {status}: {message}"),
            ApiError::Network(m) => write!(f, "{m}"),
            ApiError::Unknown(m) => write!(
                f,
                "{m}; the request may or may not have been applied, so it was not sent again"
            ),
        }
    }
}

use std::sync::Arc;
use std::time::Duration;

/// The longest the whole run waits for rate limits and back-offs.
pub const MAX_TOTAL_WAIT: Duration = Duration::from_secs(60);

/// Sleeps `d` on `runtime` when `waited` plus `d` stays within the run's
/// budget ([`MAX_TOTAL_WAIT`]), and adds it to `waited`.
pub fn sleep_within_budget(
    runtime: &tokio::runtime::Runtime,
    waited: &std::cell::Cell<Duration>,
    d: Duration,
) -> bool {
    let total = waited.get() + d;
    if total > MAX_TOTAL_WAIT {
        return false;
    }
    waited.set(total);
    // The timer is made inside the runtime, which owns the clock.
    runtime.block_on(async move { tokio::time::sleep(d).await });
    true
}

/// The wait before retrying a GET after `failures` failures.
pub fn backoff(failures: u32) -> Duration {
    Duration::from_millis(500 * u64::from(failures))
}

/// `s` cut to 500 characters, for messages quoted from a service.
pub fn truncate(s: &str) -> String {
    match s.char_indices().nth(500) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// An error and its sources, on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Removes every occurrence of `token` from `text`.
pub fn redact(text: &str, token: &str) -> String {
    if token.is_empty() {
        return text.to_string();
    }
    text.replace(token, "***")
}

/// rustls with ring (the provider octocrab uses), trusting the bundled web
/// PKI roots and whatever the machine trusts (a company CA).
pub fn tls_config() -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    // Missing or unreadable system stores are normal on bare runners.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// For tests: an environment of `pairs`, as the `var` readers take it.
#[cfg(test)]
pub fn test_env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |k| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    }
}

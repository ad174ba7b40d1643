//! The HTTP/1.1 plumbing of the in-process stand-ins for REST services
//! (`github_review`, `azure_threads`): a listener on 127.0.0.1 that hands each request to a
//! handler and writes its answer, one connection per request.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use serde_json::Value;

/// One request as the handler sees it.
pub struct HttpRequest {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Header names lower-cased.
    pub headers: HashMap<String, String>,
    /// The JSON body; `Value::Null` for a body that is not JSON.
    pub body: Option<Value>,
}

impl HttpRequest {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The query's `key`, percent-decoding left out (our keys need none).
    pub fn query(&self, key: &str) -> Option<&str> {
        let query = self.target.split_once('?')?.1;
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
    }
}

/// The request-body schemas of the operations in `../shared/schemas/FILE`,
/// by "METHOD /path/template"; `None`, saying so with `missing`, when the
/// file is not there.
pub fn request_schemas(
    file: &str,
    missing: &str,
) -> Option<HashMap<String, jsonschema::Validator>> {
    let path = crate::util::manifest_dir()
        .join("../shared/schemas")
        .join(file);
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("skipped: ../shared/schemas/{file} not found; {missing}");
        return None;
    };
    let all: Value = serde_json::from_str(&text).expect("the schema file is JSON");
    let mut out = HashMap::new();
    for (op, spec) in all.as_object().expect("an object") {
        if let Some(schema) = spec.get("requestBody").filter(|s| s.is_object()) {
            let v = jsonschema::options()
                .build(schema)
                .unwrap_or_else(|e| panic!("{op}: the request schema compiles: {e}"));
            out.insert(op.clone(), v);
        }
    }
    Some(out)
}

/// A request a stand-in received, kept for the test's assertions.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub body: Option<Value>,
}

/// The `method` requests among `requests` whose path (without the query)
/// ends with `suffix`.
pub fn select(requests: &[Recorded], method: &str, suffix: &str) -> Vec<Recorded> {
    requests
        .iter()
        .filter(|r| {
            let path = r.target.split('?').next().unwrap_or("");
            r.method == method && path.ends_with(suffix)
        })
        .cloned()
        .collect()
}

/// An answer. Status 0 drops the connection without one (what a timeout or
/// a reset looks like to the client).
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub content_type: &'static str,
    pub body: String,
}

impl HttpResponse {
    pub fn json(status: u16, body: Value) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![],
            content_type: "application/json; charset=utf-8",
            body: body.to_string(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> HttpResponse {
        self.headers.push((name.into(), value.into()));
        self
    }
}

pub type Handler = Arc<dyn Fn(HttpRequest) -> HttpResponse + Send + Sync>;

/// Serves `handler` on a free port of 127.0.0.1 until the test ends; returns
/// the port.
pub fn listen(handler: Handler) -> u16 {
    accept(move |stream| {
        let _ = serve(stream, &handler);
    })
}

/// Accepts connections on a free port of 127.0.0.1, each on a thread of its
/// own, until the test ends; returns the port.
fn accept(on_connection: impl Fn(TcpStream) + Send + Sync + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("an address").port();
    let on_connection = Arc::new(on_connection);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let on_connection = on_connection.clone();
            std::thread::spawn(move || on_connection(stream));
        }
    });
    port
}

/// An HTTP/1.1 request's line and headers (names lower-cased).
fn read_head(
    reader: &mut BufReader<TcpStream>,
) -> std::io::Result<(String, String, HashMap<String, String>)> {
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    Ok((method, target, headers))
}

fn serve(stream: TcpStream, handler: &Handler) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let (method, target, headers) = read_head(&mut reader)?;
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let body = (!body.is_empty()).then(|| serde_json::from_slice(&body).unwrap_or(Value::Null));
    let answer = handler(HttpRequest {
        method,
        target,
        headers,
        body,
    });
    if answer.status == 0 {
        return Ok(());
    }
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n",
        answer.status,
        answer.content_type,
        answer.body.len()
    )?;
    for (k, v) in &answer.headers {
        write!(out, "{k}: {v}\r\n")?;
    }
    write!(out, "\r\n{}", answer.body)?;
    out.flush()
}

/// What a stand-in proxy saw: each CONNECT's target and its
/// `proxy-authorization` header.
#[derive(Debug, Clone, Default)]
pub struct ProxyLog {
    pub connects: Vec<(String, Option<String>)>,
}

/// A forward proxy on 127.0.0.1 that takes HTTP CONNECT, as corporate
/// proxies do, and pipes the tunnel to its target; returns its port.
pub fn connect_proxy(log: Arc<std::sync::Mutex<ProxyLog>>) -> u16 {
    accept(move |stream| {
        let _ = tunnel(stream, &log);
    })
}

fn tunnel(client: TcpStream, log: &std::sync::Mutex<ProxyLog>) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let (method, target, headers) = read_head(&mut reader)?;
    let auth = headers.get("proxy-authorization").cloned();
    log.lock()
        .expect("the log")
        .connects
        .push((target.clone(), auth));
    let mut client_out = client;
    if method != "CONNECT" {
        write!(
            client_out,
            "HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n"
        )?;
        return Ok(());
    }
    let server = TcpStream::connect(&target)?;
    write!(client_out, "HTTP/1.1 200 Connection established\r\n\r\n")?;
    client_out.flush()?;
    // Bytes the reader buffered past the head belong to the tunnel.
    let buffered = reader.buffer().to_vec();
    let mut server_in = server.try_clone()?;
    server_in.write_all(&buffered)?;
    let mut server_out = server;
    let mut client_in = reader.into_inner();
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_in, &mut server_in);
        let _ = server_in.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut server_out, &mut client_out);
    let _ = client_out.shutdown(std::net::Shutdown::Write);
    let _ = up.join();
    Ok(())
}

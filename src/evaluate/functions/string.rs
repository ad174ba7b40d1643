//! String functions: concat, format, split, join, replace, toLower, toUpper,
//! trim, string, json, base64, base64ToString, base64ToJson, uriComponent,
//! uriComponentToString, uri, dataUri, dataUriToString, startsWith,
//! endsWith, indexOf, lastIndexOf, substring, padLeft.
//!
//! Lengths and indexes count UTF-16 code units, as .NET (and so Azure) does.
//! `indexOf`, `lastIndexOf`, `startsWith` and `endsWith` ignore case as
//! Azure documents; the case folding here is per code unit, exact for ASCII.

use super::{
    arity, array, check_items, check_string, int, known, object, string, want_int, want_str, Res,
    MAX_STRING_BYTES,
};
use crate::evaluate::value::{Kind, Value};
use crate::parse::{Json, Node, Number};

fn utf16(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

fn from_utf16(units: &[u16]) -> String {
    String::from_utf16_lossy(units)
}

/// How Azure turns a scalar into text inside `concat`, `format`, `join` and
/// `string`: booleans as .NET prints them (`True`), null as empty.
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    Some(match &v.kind {
        Kind::String(s) => s.clone(),
        Kind::Int(i) => i.to_string(),
        Kind::Float(f) => f.to_string(),
        Kind::Bool(true) => "True".into(),
        Kind::Bool(false) => "False".into(),
        Kind::Null => String::new(),
        _ => return None,
    })
}

/// Compact JSON, as Azure's `string()` writes objects and arrays.
pub(crate) fn to_json(v: &Value, out: &mut String) -> Result<(), String> {
    if out.len() > MAX_STRING_BYTES {
        return Err(format!(
            "the result is a string over the {MAX_STRING_BYTES}-byte limit"
        ));
    }
    match &v.kind {
        Kind::Null => out.push_str("null"),
        Kind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Kind::Int(i) => out.push_str(&i.to_string()),
        Kind::Float(f) => out.push_str(&f.to_string()),
        Kind::String(s) => out.push_str(&serde_json::Value::String(s.clone()).to_string()),
        Kind::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                to_json(item, out)?;
            }
            out.push(']');
        }
        Kind::Object(props) => {
            out.push('{');
            for (i, p) in super::dedup_props(props).into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(p.name.clone()).to_string());
                out.push(':');
                to_json(&p.value, out)?;
            }
            out.push('}');
        }
        Kind::Unknown(r) => return Err(r.clone()),
    }
    Ok(())
}

/// A parsed JSON node as a value; strings stay strings (no expressions).
pub(crate) fn from_json(node: &Node) -> Value {
    match &node.value {
        Json::Null => known(Kind::Null),
        Json::Bool(b) => known(Kind::Bool(*b)),
        Json::Number(Number::Int(i)) => int(*i),
        Json::Number(Number::Float(f)) => known(Kind::Float(*f)),
        Json::String(s) => string(s.clone()),
        Json::Array(items) => array(items.iter().map(from_json).collect()),
        Json::Object(members) => object(
            members
                .iter()
                .map(|m| (m.key.clone(), from_json(&m.value)))
                .collect(),
        ),
    }
}

fn parse_json(name: &str, text: &str) -> Res {
    // Azure's reader (Newtonsoft) also takes numbers without a leading
    // zero: quickstart templates write json('.25').
    let trimmed = text.trim();
    if let Some(digits) = trimmed
        .strip_prefix('.')
        .or_else(|| trimmed.strip_prefix("-."))
    {
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(f) = format!("0.{digits}").parse::<f64>() {
                return Ok(known(Kind::Float(if trimmed.starts_with('-') {
                    -f
                } else {
                    f
                })));
            }
        }
    }
    let node = crate::parse::parse(text).map_err(|e| {
        format!(
            "the function `{name}` got text that is not valid JSON: {}",
            e.message
        )
    })?;
    let v = from_json(&node);
    check_items(super::size_of(&v) as usize)?;
    Ok(v)
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(BASE64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if clean.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        let mut pad = 0;
        for (i, &c) in chunk.iter().enumerate() {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                b'=' if i >= 2 => {
                    pad += 1;
                    0
                }
                _ => return None,
            };
            if pad > 0 && c != b'=' {
                return None;
            }
            n = (n << 6) | u32::from(v);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

fn decode_base64_text(name: &str, text: &str) -> Result<String, String> {
    let bytes = base64_decode(text)
        .ok_or_else(|| format!("the function `{name}` got text that is not valid base64"))?;
    String::from_utf8(bytes)
        .map_err(|_| format!("the function `{name}` decoded bytes that are not UTF-8"))
}

/// `Uri.EscapeDataString`: everything but unreserved characters is
/// percent-encoded, in upper-case hex.
pub(crate) fn escape_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn unescape_data(name: &str, s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| format!("the function `{name}` decoded bytes that are not UTF-8"))
}

/// `uri(baseUri, relativeUri)` by the rules Azure documents: an absolute
/// relative URI wins; a base ending in `/` is followed by the relative URI
/// (one slash kept when both have one); otherwise the base's last segment is
/// replaced.
fn uri(base: &str, relative: &str) -> Result<String, String> {
    if relative.contains("://") {
        return Ok(relative.to_string());
    }
    let scheme_end = base.find("://").ok_or_else(|| {
        format!("the function `uri` needs an absolute base URI, but got '{base}'")
    })?;
    if base.ends_with('/') {
        return Ok(format!(
            "{base}{}",
            relative.strip_prefix('/').unwrap_or(relative)
        ));
    }
    let after_scheme = scheme_end + 3;
    match base[after_scheme..].rfind('/') {
        Some(i) => Ok(format!(
            "{}{}",
            &base[..after_scheme + i + 1],
            relative.strip_prefix('/').unwrap_or(relative)
        )),
        None => Ok(format!(
            "{base}/{}",
            relative.strip_prefix('/').unwrap_or(relative)
        )),
    }
}

/// .NET composite formatting: `{index[,alignment][:format]}` with `{{` and
/// `}}` escapes. Integer format strings D, N, X and x (with a precision)
/// are supported; others are an error.
pub(crate) fn format(text: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '{' {
            if chars.get(i + 1) == Some(&'{') {
                out.push('{');
                i += 2;
                continue;
            }
            let close = chars[i..]
                .iter()
                .position(|&c| c == '}')
                .map(|p| p + i)
                .ok_or("the format string has a `{` that is not closed")?;
            let item: String = chars[i + 1..close].iter().collect();
            let (head, spec) = match item.split_once(':') {
                Some((h, s)) => (h, Some(s)),
                None => (item.as_str(), None),
            };
            let (index, align) =
                match head.split_once(',') {
                    Some((ix, al)) => (
                        ix,
                        Some(al.trim().parse::<i64>().map_err(|_| {
                            format!("the format item {{{item}}} has a bad alignment")
                        })?),
                    ),
                    None => (head, None),
                };
            let index: usize = index
                .trim()
                .parse()
                .map_err(|_| format!("the format item {{{item}}} has no valid index"))?;
            let arg = args.get(index).ok_or_else(|| {
                format!(
                    "the format item {{{index}}} refers to argument {index}, but only {} were given",
                    args.len()
                )
            })?;
            let mut piece = format_one(arg, spec)?;
            if let Some(width) = align {
                let pad = (width.unsigned_abs() as usize).min(MAX_STRING_BYTES);
                let len = piece.chars().count();
                if len < pad {
                    let fill = " ".repeat(pad - len);
                    piece = if width > 0 {
                        fill + &piece
                    } else {
                        piece + &fill
                    };
                }
            }
            out.push_str(&piece);
            if out.len() > MAX_STRING_BYTES {
                return Err(format!(
                    "the result is a string over the {MAX_STRING_BYTES}-byte limit"
                ));
            }
            i = close + 1;
        } else if c == '}' {
            if chars.get(i + 1) == Some(&'}') {
                out.push('}');
                i += 2;
            } else {
                return Err("the format string has a `}` that is not escaped as `}}`".into());
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    Ok(out)
}

fn format_one(arg: &Value, spec: Option<&str>) -> Result<String, String> {
    let Some(spec) = spec.filter(|s| !s.is_empty()) else {
        return match scalar_text(arg) {
            Some(s) => Ok(s),
            None => {
                let mut s = String::new();
                to_json(arg, &mut s)?;
                Ok(s)
            }
        };
    };
    let Kind::Int(n) = arg.kind else {
        return Err(format!(
            "the format specifier `{spec}` is supported here only for integers"
        ));
    };
    let mut spec_chars = spec.chars();
    let letter: String = spec_chars.next().map(String::from).unwrap_or_default();
    let precision_text = spec_chars.as_str();
    let given: Option<usize> = if precision_text.is_empty() {
        None
    } else {
        precision_text
            .parse::<usize>()
            .ok()
            .filter(|p| *p <= 100)
            .map(Some)
            .ok_or_else(|| format!("the format specifier `{spec}` is not supported"))?
    };
    let precision = given.unwrap_or(0);
    match letter.as_str() {
        "D" | "d" => {
            let body = format!("{:0width$}", n.unsigned_abs(), width = precision);
            Ok(if n < 0 { format!("-{body}") } else { body })
        }
        "X" => Ok(format!("{:0width$X}", n, width = precision)),
        "x" => Ok(format!("{:0width$x}", n, width = precision)),
        "N" | "n" => {
            let digits = n.unsigned_abs().to_string();
            let mut grouped = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(c);
            }
            let sign = if n < 0 { "-" } else { "" };
            // .NET's N without a precision shows two decimals.
            let p = given.unwrap_or(2);
            let frac = if p > 0 {
                format!(".{}", "0".repeat(p))
            } else {
                String::new()
            };
            Ok(format!("{sign}{grouped}{frac}"))
        }
        _ => Err(format!("the format specifier `{spec}` is not supported")),
    }
}

/// `String.Split(string[], None)`: at each position the first delimiter (in
/// the given order) that matches splits; empty delimiters are ignored.
fn split(input: &str, delimiters: &[&str]) -> Vec<String> {
    let delimiters: Vec<&str> = delimiters
        .iter()
        .copied()
        .filter(|d| !d.is_empty())
        .collect();
    let mut parts = Vec::new();
    let mut last = 0;
    let mut i = 0;
    let bytes = input.as_bytes();
    'outer: while i < bytes.len() {
        if input.is_char_boundary(i) {
            for d in &delimiters {
                if input[i..].starts_with(d) {
                    parts.push(input[last..i].to_string());
                    i += d.len();
                    last = i;
                    continue 'outer;
                }
            }
        }
        i += 1;
    }
    parts.push(input[last..].to_string());
    parts
}

fn fold(units: &[u16]) -> Vec<u16> {
    units
        .iter()
        .map(|&u| {
            if (b'A' as u16..=b'Z' as u16).contains(&u) {
                u + 32
            } else {
                u
            }
        })
        .collect()
}

fn find_units(hay: &[u16], needle: &[u16], last: bool) -> i64 {
    if needle.is_empty() {
        return if last {
            hay.len().saturating_sub(1) as i64
        } else {
            0
        };
    }
    if needle.len() > hay.len() {
        return -1;
    }
    let positions = 0..=hay.len() - needle.len();
    let hit = if last {
        positions
            .rev()
            .find(|&i| hay[i..i + needle.len()] == *needle)
    } else {
        positions
            .into_iter()
            .find(|&i| hay[i..i + needle.len()] == *needle)
    };
    hit.map_or(-1, |i| i as i64)
}

fn join_text(name: &str, items: &[Value]) -> Result<Vec<String>, String> {
    items
        .iter()
        .map(|v| {
            scalar_text(v).ok_or_else(|| {
                format!(
                    "the function `{name}` joins strings, but an element is {}",
                    v.type_name()
                )
            })
        })
        .collect()
}

pub(super) fn strict(lower: &str, name: &str, args: &[Value]) -> Option<Res> {
    let one_str = || -> Result<&str, String> {
        arity(name, args, 1, 1)?;
        want_str(name, &args[0], "its argument")
    };
    Some(match lower {
        "concat" => concat(name, args),
        "format" => (|| {
            arity(name, args, 1, usize::MAX)?;
            let text = want_str(name, &args[0], "the format string")?;
            if let Some(r) = args[1..].iter().find_map(Value::deep_unknown) {
                return Ok(super::unknown(r.to_string()));
            }
            check_string(format(text, &args[1..])?)
        })(),
        "split" => (|| {
            arity(name, args, 2, 2)?;
            let input = want_str(name, &args[0], "the input")?;
            let delimiters: Vec<&str> = match &args[1].kind {
                Kind::String(s) => vec![s.as_str()],
                Kind::Array(items) => items
                    .iter()
                    .map(|d| want_str(name, d, "a delimiter"))
                    .collect::<Result<_, _>>()?,
                _ => {
                    return Err(format!(
                        "the function `{name}` expects a string or an array of delimiters"
                    ))
                }
            };
            let parts = split(input, &delimiters);
            check_items(parts.len())?;
            Ok(array(parts.into_iter().map(string).collect()))
        })(),
        "join" => (|| {
            arity(name, args, 2, 2)?;
            let Kind::Array(items) = &args[0].kind else {
                return Err(format!("the function `{name}` expects an array first"));
            };
            if let Some(r) = items.iter().find_map(Value::deep_unknown) {
                return Ok(super::unknown(r.to_string()));
            }
            let delimiter = want_str(name, &args[1], "the delimiter")?;
            check_string(join_text(name, items)?.join(delimiter))
        })(),
        "replace" => (|| {
            arity(name, args, 3, 3)?;
            let original = want_str(name, &args[0], "the original string")?;
            let old = want_str(name, &args[1], "the string to replace")?;
            let new = want_str(name, &args[2], "the replacement")?;
            if old.is_empty() {
                return Err(format!(
                    "the function `{name}` cannot replace an empty string"
                ));
            }
            let count = original.matches(old).count();
            let size = original.len() - count * old.len() + count.saturating_mul(new.len());
            if size > MAX_STRING_BYTES {
                return Err(format!(
                    "the result is a string over the {MAX_STRING_BYTES}-byte limit"
                ));
            }
            Ok(string(original.replace(old, new)))
        })(),
        "tolower" => one_str().map(|s| string(s.to_lowercase())),
        "toupper" => one_str().map(|s| string(s.to_uppercase())),
        "trim" => one_str().map(|s| string(s.trim())),
        "string" => (|| {
            arity(name, args, 1, 1)?;
            match scalar_text(&args[0]) {
                Some(s) => Ok(string(s)),
                None => {
                    if let Some(r) = args[0].deep_unknown() {
                        return Ok(super::unknown(r.to_string()));
                    }
                    let mut s = String::new();
                    to_json(&args[0], &mut s)?;
                    check_string(s)
                }
            }
        })(),
        "json" => one_str().and_then(|s| parse_json(name, s)),
        "base64" => one_str().and_then(|s| check_string(base64_encode(s.as_bytes()))),
        "base64tostring" => one_str()
            .and_then(|s| decode_base64_text(name, s))
            .map(string),
        "base64tojson" => one_str()
            .and_then(|s| decode_base64_text(name, s))
            .and_then(|t| parse_json(name, &t)),
        "uricomponent" => one_str().and_then(|s| check_string(escape_data(s))),
        "uricomponenttostring" => one_str().and_then(|s| unescape_data(name, s)).map(string),
        "datauri" => (|| {
            arity(name, args, 1, 1)?;
            let text = scalar_text(&args[0])
                .ok_or_else(|| format!("the function `{name}` expects a string"))?;
            check_string(format!(
                "data:text/plain;charset=utf8;base64,{}",
                base64_encode(text.as_bytes())
            ))
        })(),
        "datauritostring" => one_str().and_then(|s| {
            let (head, data) = s
                .strip_prefix("data:")
                .and_then(|rest| rest.split_once(','))
                .ok_or_else(|| format!("the function `{name}` expects a data URI"))?;
            if head.ends_with(";base64") {
                decode_base64_text(name, data).map(string)
            } else {
                unescape_data(name, data).map(string)
            }
        }),
        "uri" => (|| {
            arity(name, args, 2, 2)?;
            let base = want_str(name, &args[0], "the base URI")?;
            let relative = want_str(name, &args[1], "the relative URI")?;
            check_string(uri(base, relative)?)
        })(),
        "startswith" | "endswith" | "indexof" | "lastindexof" => (|| {
            arity(name, args, 2, 2)?;
            let hay = fold(&utf16(want_str(name, &args[0], "the string to search")?));
            let needle = fold(&utf16(want_str(name, &args[1], "the string to find")?));
            Ok(match lower {
                "startswith" => super::boolean(hay.starts_with(&needle)),
                "endswith" => super::boolean(hay.ends_with(&needle)),
                "indexof" => int(find_units(&hay, &needle, false)),
                _ => int(find_units(&hay, &needle, true)),
            })
        })(),
        "substring" => (|| {
            arity(name, args, 2, 3)?;
            let s = utf16(want_str(name, &args[0], "the string")?);
            let start = want_int(name, &args[1], "the start index")?;
            let start = usize::try_from(start)
                .ok()
                .filter(|&st| st <= s.len())
                .ok_or_else(|| format!("the start index {start} is outside the string"))?;
            let len = match args.get(2) {
                Some(l) => {
                    let l = want_int(name, l, "the length")?;
                    usize::try_from(l)
                        .ok()
                        .filter(|&l| start + l <= s.len())
                        .ok_or_else(|| {
                            format!("the index and length must refer to a location within the string, but the length {l} is not")
                        })?
                }
                None => s.len() - start,
            };
            Ok(string(from_utf16(&s[start..start + len])))
        })(),
        "padleft" => (|| {
            arity(name, args, 2, 3)?;
            let text = match &args[0].kind {
                Kind::String(s) => s.clone(),
                Kind::Int(i) => i.to_string(),
                _ => return Err(format!("the function `{name}` pads a string or an integer")),
            };
            let width = want_int(name, &args[1], "the total length")?;
            if width < 0 || width as u64 > (MAX_STRING_BYTES / 4) as u64 {
                return Err(format!(
                    "the total length {width} of `{name}` is out of range"
                ));
            }
            let fill = match args.get(2) {
                Some(c) => {
                    let c = want_str(name, c, "the padding character")?;
                    let mut chars = c.chars();
                    match (chars.next(), chars.next()) {
                        (Some(ch), None) => ch,
                        _ => {
                            return Err(format!(
                                "the padding character of `{name}` must be one character"
                            ))
                        }
                    }
                }
                None => ' ',
            };
            let units = text.encode_utf16().count();
            let missing = (width as usize).saturating_sub(units);
            let mut out: String = std::iter::repeat(fill).take(missing).collect();
            out.push_str(&text);
            check_string(out)
        })(),
        _ => return None,
    })
}

/// `concat`: all arrays (concatenated), or strings and scalars (joined).
fn concat(name: &str, args: &[Value]) -> Res {
    if args.iter().any(|a| matches!(a.kind, Kind::Array(_))) {
        let mut out = Vec::new();
        for a in args {
            match &a.kind {
                Kind::Array(items) => {
                    check_items(out.len() + items.len())?;
                    out.extend(items.iter().cloned());
                }
                Kind::Null => {}
                _ => {
                    return Err(format!(
                        "the function `{name}` cannot concatenate an array with {}",
                        a.type_name()
                    ))
                }
            }
        }
        return Ok(array(out));
    }
    let mut out = String::new();
    for a in args {
        let piece = scalar_text(a)
            .ok_or_else(|| format!("the function `{name}` cannot concatenate {}", a.type_name()))?;
        out.push_str(&piece);
        if out.len() > MAX_STRING_BYTES {
            return Err(format!(
                "the result is a string over the {MAX_STRING_BYTES}-byte limit"
            ));
        }
    }
    Ok(string(out))
}

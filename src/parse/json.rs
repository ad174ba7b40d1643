//! A JSON reader that keeps a byte span for every value and key, and accepts
//! what Azure Resource Manager accepts: `//` and `/* */` comments, trailing
//! commas, raw control characters (newlines, tabs) inside strings and a UTF-8
//! byte-order mark. Duplicate keys: the last one wins, as in Azure.
//!
//! Hostile input cannot crash it: nesting is limited to [`MAX_DEPTH`] levels
//! and every error carries the byte offset where reading stopped.

use std::fmt;

/// Deepest nesting of arrays and objects we read. Real templates stay far
/// below 100; the limit only exists so a file of `[[[[...` cannot exhaust
/// the stack.
pub const MAX_DEPTH: usize = 512;

/// Half-open byte range `[start, end)` into the file's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        // Files are capped well below 4 GiB before they reach the parser.
        Span {
            start: start as u32,
            end: end as u32,
        }
    }
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Node>),
    Object(Vec<Member>),
}

/// A value with the span of its text (for strings, the quotes included).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Json,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

impl Node {
    /// Looks a property up case-insensitively, as ARM does. When an object
    /// holds keys that differ only in case, the last one wins.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.member(key).map(|m| &m.value)
    }

    pub fn member(&self, key: &str) -> Option<&Member> {
        match &self.value {
            Json::Object(members) => members
                .iter()
                .rev()
                .find(|m| m.key.eq_ignore_ascii_case(key)),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Node]> {
        match &self.value {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[Member]> {
        match &self.value {
            Json::Object(members) => Some(members),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset where reading stopped.
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses one JSON document. A leading byte-order mark is skipped; spans still
/// count it, so they index into `text` as given.
pub fn parse(text: &str) -> Result<Node, ParseError> {
    parse_with(text, usize::MAX)
}

/// Checks a whole document like [`parse`] (same errors at the same offsets),
/// but builds values only down to `keep_depth` levels of nesting; deeper
/// arrays and objects come back empty and deeper strings empty. Classifying a
/// file needs only its top levels, and building the rest is most of the cost.
pub fn parse_shallow(text: &str, keep_depth: usize) -> Result<Node, ParseError> {
    parse_with(text, keep_depth)
}

fn parse_with(text: &str, keep_depth: usize) -> Result<Node, ParseError> {
    let mut parser = Parser {
        bytes: text.as_bytes(),
        text,
        pos: 0,
        depth: 0,
        keep_depth,
    };
    if text.starts_with('\u{feff}') {
        parser.pos = 3;
    }
    parser.skip_trivia()?;
    if parser.pos >= parser.bytes.len() {
        return Err(parser.error_here("the file is empty: expected a JSON value"));
    }
    let node = parser.value()?;
    parser.skip_trivia()?;
    if parser.pos < parser.bytes.len() {
        return Err(parser.error_here(format!(
            "unexpected {} after the end of the JSON document",
            parser.describe_here()
        )));
    }
    Ok(node)
}

struct Parser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
    depth: usize,
    /// Values inside more than this many levels are checked, not built.
    keep_depth: usize,
}

impl<'a> Parser<'a> {
    fn error_at(&self, offset: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            offset,
            message: message.into(),
        }
    }

    fn error_here(&self, message: impl Into<String>) -> ParseError {
        self.error_at(self.pos, message)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Names what stands at the current position, for error messages.
    fn describe_here(&self) -> String {
        match self
            .text
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
        {
            None => "end of file".to_string(),
            Some(c) if c.is_control() => format!("character U+{:04X}", c as u32),
            Some(c) => format!("`{c}`"),
        }
    }

    /// Skips white space and comments.
    fn skip_trivia(&mut self) -> Result<(), ParseError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.pos += 1,
                Some(b'/') => match self.bytes.get(self.pos + 1) {
                    Some(b'/') => {
                        self.pos += 2;
                        while let Some(b) = self.peek() {
                            if b == b'\n' || b == b'\r' {
                                break;
                            }
                            self.pos += 1;
                        }
                    }
                    Some(b'*') => {
                        let start = self.pos;
                        self.pos += 2;
                        loop {
                            match self.peek() {
                                None => {
                                    return Err(self.error_at(
                                        start,
                                        "this `/*` comment is never closed with `*/`",
                                    ))
                                }
                                Some(b'*') if self.bytes.get(self.pos + 1) == Some(&b'/') => {
                                    self.pos += 2;
                                    break;
                                }
                                Some(_) => self.pos += 1,
                            }
                        }
                    }
                    _ => {
                        return Err(
                            self.error_here("unexpected `/`: a comment starts with `//` or `/*`")
                        )
                    }
                },
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self) -> Result<Node, ParseError> {
        let start = self.pos;
        match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => {
                let s = self.string()?;
                Ok(Node {
                    value: Json::String(s),
                    span: Span::new(start, self.pos),
                })
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.keyword("true", Json::Bool(true)),
            Some(b'f') => self.keyword("false", Json::Bool(false)),
            Some(b'n') => self.keyword("null", Json::Null),
            None => Err(self.error_here("unexpected end of file: expected a value")),
            Some(b'\'') => Err(self.error_here(
                "strings must use double quotes `\"`, not single quotes",
            )),
            Some(_) => Err(self.error_here(format!(
                "unexpected {}: expected a value (object, array, string, number, true, false or null)",
                self.describe_here()
            ))),
        }
    }

    fn keyword(&mut self, word: &str, value: Json) -> Result<Node, ParseError> {
        let start = self.pos;
        let end = start + word.len();
        let follows_ident = self
            .bytes
            .get(end)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
        if self.bytes.get(start..end) == Some(word.as_bytes()) && !follows_ident {
            self.pos = end;
            Ok(Node {
                value,
                span: Span::new(start, end),
            })
        } else {
            Err(self.error_here(format!(
                "unexpected {}: expected a value (did you mean `{word}`?)",
                self.describe_here()
            )))
        }
    }

    fn keeping(&self) -> bool {
        self.depth <= self.keep_depth
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_here(format!(
                "nesting deeper than {MAX_DEPTH} levels of arrays and objects"
            )));
        }
        Ok(())
    }

    fn array(&mut self) -> Result<Node, ParseError> {
        let start = self.pos;
        self.enter()?;
        self.pos += 1; // [
        let mut items = Vec::new();
        loop {
            self.skip_trivia()?;
            match self.peek() {
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                None => {
                    return Err(self.error_at(start, "this array is never closed with `]`"));
                }
                _ => {}
            }
            let item = self.value()?;
            if self.keeping() {
                items.push(item);
            }
            self.skip_trivia()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                None => return Err(self.error_at(start, "this array is never closed with `]`")),
                _ => {
                    return Err(self.error_here(format!(
                        "unexpected {}: expected `,` or `]` after an array element",
                        self.describe_here()
                    )))
                }
            }
        }
        self.depth -= 1;
        Ok(Node {
            value: Json::Array(items),
            span: Span::new(start, self.pos),
        })
    }

    fn object(&mut self) -> Result<Node, ParseError> {
        let start = self.pos;
        self.enter()?;
        self.pos += 1; // {
        let mut members: Vec<Member> = Vec::new();
        let mut index: Option<std::collections::HashMap<String, usize>> = None;
        loop {
            self.skip_trivia()?;
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                Some(b'"') => {}
                None => return Err(self.error_at(start, "this object is never closed with `}`")),
                _ => {
                    return Err(self.error_here(format!(
                        "unexpected {}: expected a property name in double quotes or `}}`",
                        self.describe_here()
                    )))
                }
            }
            let key_start = self.pos;
            let key = self.string()?;
            let key_span = Span::new(key_start, self.pos);
            self.skip_trivia()?;
            if self.peek() != Some(b':') {
                return Err(self.error_here(format!(
                    "unexpected {}: expected `:` after the property name \"{}\"",
                    self.describe_here(),
                    truncate(&key, 60)
                )));
            }
            self.pos += 1;
            self.skip_trivia()?;
            let value = self.value()?;
            let member = Member {
                key,
                key_span,
                value,
            };
            if self.keeping() {
                // Last one wins, as when Azure reads a template with a duplicate
                // key. Large objects get a hash index so hostile files with
                // many keys cannot make this quadratic.
                let found = match &mut index {
                    Some(index) => index.get(member.key.as_str()).copied(),
                    None => members.iter().position(|m| m.key == member.key),
                };
                match found {
                    Some(i) => members[i] = member,
                    None => {
                        if let Some(index) = &mut index {
                            index.insert(member.key.clone(), members.len());
                        }
                        members.push(member);
                        if index.is_none() && members.len() > 32 {
                            index = Some(
                                members
                                    .iter()
                                    .enumerate()
                                    .map(|(i, m)| (m.key.clone(), i))
                                    .collect(),
                            );
                        }
                    }
                }
            }
            self.skip_trivia()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                None => return Err(self.error_at(start, "this object is never closed with `}`")),
                _ => {
                    return Err(self.error_here(format!(
                        "unexpected {}: expected `,` or `}}` after a property",
                        self.describe_here()
                    )))
                }
            }
        }
        self.depth -= 1;
        Ok(Node {
            value: Json::Object(members),
            span: Span::new(start, self.pos),
        })
    }

    /// Reads a double-quoted string, the cursor on the opening quote.
    fn string(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        let build = self.keeping();
        self.pos += 1;
        let mut out = String::new();
        let mut run_start = self.pos;
        loop {
            // Fast path: jump to the next quote or backslash.
            self.pos = match memchr::memchr2(b'"', b'\\', &self.bytes[self.pos..]) {
                Some(i) => self.pos + i,
                None => self.bytes.len(),
            };
            match self.peek() {
                None => return Err(self.error_at(start, "this string is never closed with `\"`")),
                Some(b'"') => {
                    if build {
                        out.push_str(&self.text[run_start..self.pos]);
                    }
                    self.pos += 1;
                    return Ok(out);
                }
                _ => {
                    // A backslash.
                    if build {
                        out.push_str(&self.text[run_start..self.pos]);
                    }
                    let escape_at = self.pos;
                    self.pos += 1;
                    let Some(c) = self.peek() else {
                        return Err(self.error_at(start, "this string is never closed with `\"`"));
                    };
                    self.pos += 1;
                    match c {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let high = self.hex4(escape_at)?;
                            let c = if (0xD800..0xDC00).contains(&high)
                                && self.bytes.get(self.pos) == Some(&b'\\')
                                && self.bytes.get(self.pos + 1) == Some(&b'u')
                            {
                                let save = self.pos;
                                self.pos += 2;
                                let low = self.hex4(escape_at)?;
                                if (0xDC00..0xE000).contains(&low) {
                                    char::from_u32(
                                        0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00),
                                    )
                                } else {
                                    self.pos = save;
                                    None
                                }
                            } else {
                                char::from_u32(high)
                            };
                            // A lone surrogate cannot be held in a Rust string.
                            out.push(c.unwrap_or('\u{fffd}'));
                        }
                        _ => {
                            let shown = self.text[escape_at..].chars().take(2).collect::<String>();
                            return Err(self.error_at(
                                escape_at,
                                format!("invalid escape `{shown}` in a string"),
                            ));
                        }
                    }
                    // The escape may have ended inside a multi-byte character
                    // only if the input was not UTF-8, which `&str` rules out;
                    // still, resynchronise on a character boundary.
                    while !self.text.is_char_boundary(self.pos) {
                        self.pos += 1;
                    }
                    run_start = self.pos;
                }
            }
        }
    }

    fn hex4(&mut self, escape_at: usize) -> Result<u32, ParseError> {
        let digits = self.bytes.get(self.pos..self.pos + 4);
        let value = digits
            .filter(|d| d.iter().all(u8::is_ascii_hexdigit))
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok());
        match value {
            Some(v) => {
                self.pos += 4;
                Ok(v)
            }
            None => Err(self.error_at(
                escape_at,
                "invalid `\\u` escape: expected four hexadecimal digits",
            )),
        }
    }

    fn number(&mut self) -> Result<Node, ParseError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.pos == int_start {
            return Err(self.error_at(start, "invalid number: expected a digit after `-`"));
        }
        if self.bytes[int_start] == b'0' && self.pos - int_start > 1 {
            return Err(self.error_at(start, "invalid number: leading zeros are not allowed"));
        }
        let mut is_float = false;
        if self.peek() == Some(b'.') {
            is_float = true;
            self.pos += 1;
            let frac_start = self.pos;
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.pos += 1;
            }
            if self.pos == frac_start {
                return Err(self.error_at(start, "invalid number: expected a digit after `.`"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            is_float = true;
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            let exp_start = self.pos;
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.pos += 1;
            }
            if self.pos == exp_start {
                return Err(
                    self.error_at(start, "invalid number: expected a digit in the exponent")
                );
            }
        }
        let text = &self.text[start..self.pos];
        let number = if is_float {
            Number::Float(text.parse().unwrap_or(f64::NAN))
        } else {
            match text.parse::<i64>() {
                Ok(i) => Number::Int(i),
                Err(_) => Number::Float(text.parse().unwrap_or(f64::NAN)),
            }
        };
        Ok(Node {
            value: Json::Number(number),
            span: Span::new(start, self.pos),
        })
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max_chars).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Node {
        match parse(text) {
            Ok(node) => node,
            Err(e) => panic!("{text:?} should parse, got {e:?}"),
        }
    }

    fn err(text: &str) -> ParseError {
        match parse(text) {
            Ok(node) => panic!("{text:?} should fail, got {node:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn spans_cover_values_and_keys() {
        let text = r#"{ "a": [1, "x"], "b": null }"#;
        let root = ok(text);
        assert_eq!(root.span, Span::new(0, text.len()));
        let a = root.member("a").expect("a");
        assert_eq!(&text[a.key_span.range()], "\"a\"");
        assert_eq!(&text[a.value.span.range()], "[1, \"x\"]");
        let x = &a.value.as_array().expect("array")[1];
        assert_eq!(&text[x.span.range()], "\"x\"");
    }

    #[test]
    fn accepts_what_azure_accepts() {
        let text =
            "\u{feff}{\n // line\n \"a\": /* block */ [1, 2,],\n \"b\": \"multi\nline\ttab\",\n}";
        let root = ok(text);
        assert_eq!(
            root.get("b").and_then(Node::as_str),
            Some("multi\nline\ttab")
        );
        assert_eq!(
            root.get("a").and_then(Node::as_array).map(<[Node]>::len),
            Some(2)
        );
    }

    #[test]
    fn duplicate_keys_last_wins_and_lookup_ignores_case() {
        let root = ok(r#"{"a": 1, "A": 2, "a": 3}"#);
        let obj = root.as_object().expect("object");
        assert_eq!(obj.len(), 2);
        assert_eq!(obj[0].value.value, Json::Number(Number::Int(3)));
        // "A" was written after the first "a", so a case-insensitive lookup finds it.
        assert_eq!(
            root.get("a").map(|n| &n.value),
            Some(&Json::Number(Number::Int(2)))
        );
    }

    #[test]
    fn escapes_decode() {
        let root = ok(r#""a\"b\\c\/\n\u00e9\ud83d\ude00\ud800x""#);
        assert_eq!(root.as_str(), Some("a\"b\\c/\né😀\u{fffd}x"));
    }

    #[test]
    fn numbers() {
        assert_eq!(ok("-12").value, Json::Number(Number::Int(-12)));
        assert_eq!(ok("1.5e2").value, Json::Number(Number::Float(150.0)));
        assert_eq!(
            ok("99999999999999999999").value,
            Json::Number(Number::Float(1e20))
        );
        assert_eq!(err("01").offset, 0);
        assert_eq!(err("-").offset, 0);
        assert_eq!(err("1.").offset, 0);
    }

    #[test]
    fn errors_point_at_the_problem() {
        assert_eq!(err(r#"{"a" 1}"#).offset, 5);
        assert_eq!(err(r#"{"a": 1 "b": 2}"#).offset, 8);
        assert_eq!(err("[1, 2").offset, 0);
        assert_eq!(err("\"abc").offset, 0);
        assert_eq!(err("/* never closed").offset, 0);
        assert_eq!(err("{} x").offset, 3);
        assert_eq!(err("").offset, 0);
        assert_eq!(err("[tru]").offset, 1);
        assert_eq!(err("[1,,2]").offset, 3);
        assert_eq!(err(r#""\x""#).offset, 1);
        assert_eq!(err("{'a': 1}").offset, 1);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        let e = err(&deep);
        assert!(e.message.contains("nesting deeper"), "{}", e.message);
        let ok_depth = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        ok(&ok_depth);
    }

    #[test]
    fn non_ascii_before_an_error_keeps_byte_offsets() {
        let text = "{\"é\": x}";
        assert_eq!(err(text).offset, text.find('x').expect("x"));
    }

    #[test]
    fn shallow_parse_keeps_top_levels_and_reports_the_same_errors() {
        let text = r#"{"$schema": "s", "metadata": {"_generator": {"name": "bicep"}}, "deep": {"a": {"b": {"c": "x"}}}}"#;
        let root = parse_shallow(text, 3).expect("parse");
        let generator = root
            .get("metadata")
            .and_then(|m| m.get("_generator"))
            .and_then(|g| g.get("name"));
        assert_eq!(generator.and_then(Node::as_str), Some("bicep"));
        let b = root
            .get("deep")
            .and_then(|d| d.get("a"))
            .and_then(|a| a.get("b"));
        assert_eq!(b.and_then(Node::as_object).map(<[Member]>::len), Some(0));
        let broken = r#"{"a": {"b": {"c": {"d": [1, 2 3]}}}}"#;
        assert_eq!(
            parse_shallow(broken, 1).map_err(|e| e.offset),
            parse(broken).map_err(|e| e.offset)
        );
    }

    #[test]
    fn many_keys_with_duplicates_stay_last_wins() {
        let mut text = String::from("{");
        for i in 0..1000 {
            text.push_str(&format!("\"k{}\": {i},", i % 500));
        }
        text.push('}');
        let root = ok(&text);
        let members = root.as_object().expect("object");
        assert_eq!(members.len(), 500);
        assert_eq!(
            root.get("k7").map(|n| &n.value),
            Some(&Json::Number(Number::Int(507)))
        );
    }
}

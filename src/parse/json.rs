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
    document(text, Parser::value)
}

/// Members of an object that [`parse_outline`] builds: `key` (matched ASCII
/// case-insensitively, as [`Node::get`] looks keys up) and, when its value is
/// an object, the members kept of that in turn.
#[derive(Debug, Clone, Copy)]
pub struct Outline {
    pub key: &'static str,
    pub keep: &'static [Outline],
}

/// Checks a whole document like [`parse`] (same errors at the same offsets),
/// but builds only the object members `outline` names, down its levels:
/// scalars there are built, and everything else comes back as an empty array
/// or object. The rest is checked without allocating. Classifying a file
/// needs a handful of values, and building the rest is most of the cost.
///
/// [`Node::get`] on the result finds what it would find on [`parse`]'s tree
/// for the keys named, because every member with a matching key is kept, in
/// order, with the same duplicate handling.
pub fn parse_outline(text: &str, outline: &[Outline]) -> Result<Node, ParseError> {
    document(text, |p| p.outline_value(outline))
}

fn document<'a>(
    text: &'a str,
    value: impl FnOnce(&mut Parser<'a>) -> Result<Node, ParseError>,
) -> Result<Node, ParseError> {
    let mut parser = Parser {
        bytes: text.as_bytes(),
        text,
        pos: 0,
        depth: 0,
    };
    if text.starts_with('\u{feff}') {
        parser.pos = 3;
    }
    parser.skip_trivia()?;
    if parser.pos >= parser.bytes.len() {
        return Err(parser.error_here("the file is empty: expected a JSON value"));
    }
    let node = value(&mut parser)?;
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
}

/// Object members with the last of equal keys winning in place of the first,
/// as when Azure reads a template with a duplicate key.
#[derive(Default)]
struct Members {
    members: Vec<Member>,
    /// Large objects get a hash index so hostile files with many keys cannot
    /// make this quadratic.
    index: Option<std::collections::HashMap<String, usize>>,
}

impl Members {
    fn insert(&mut self, member: Member) {
        let found = match &self.index {
            Some(index) => index.get(member.key.as_str()).copied(),
            None => self.members.iter().position(|m| m.key == member.key),
        };
        match found {
            Some(i) => self.members[i] = member,
            None => {
                if let Some(index) = &mut self.index {
                    index.insert(member.key.clone(), self.members.len());
                }
                self.members.push(member);
                if self.index.is_none() && self.members.len() > 32 {
                    self.index = Some(
                        self.members
                            .iter()
                            .enumerate()
                            .map(|(i, m)| (m.key.clone(), i))
                            .collect(),
                    );
                }
            }
        }
    }
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
    #[inline]
    fn skip_trivia(&mut self) -> Result<(), ParseError> {
        // Often there is none (`"key":`, `1,`): say so without a call.
        match self.peek() {
            Some(b) if b > b' ' && b != b'/' => Ok(()),
            _ => self.skip_some_trivia(),
        }
    }

    fn skip_some_trivia(&mut self) -> Result<(), ParseError> {
        loop {
            self.skip_white_space();
            match self.peek() {
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

    fn skip_white_space(&mut self) {
        const SPACES: u64 = u64::from_le_bytes([b' '; 8]);
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b' ' => match self.bytes[self.pos..].first_chunk::<8>() {
                    // Indentation comes in long runs of spaces: take up to
                    // eight at a time (the first differing byte ends the run).
                    Some(chunk) => {
                        let diff = u64::from_le_bytes(*chunk) ^ SPACES;
                        self.pos += if diff == 0 {
                            8
                        } else {
                            diff.trailing_zeros() as usize / 8
                        };
                    }
                    None => self.pos += 1,
                },
                b'\t' | b'\n' | b'\r' => self.pos += 1,
                _ => return,
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
            _ => Err(self.not_a_value()),
        }
    }

    /// Checks a value without building it.
    fn skip_value(&mut self) -> Result<(), ParseError> {
        match self.peek() {
            Some(b'{') => self.members(|p| {
                let key_start = p.pos;
                p.skip_string()?;
                p.colon(key_start)?;
                p.skip_value()
            }),
            Some(b'[') => self.items(Self::skip_value),
            Some(b'"') => self.skip_string().map(drop),
            Some(b'-' | b'0'..=b'9') => self.lex_number().map(drop),
            Some(b't') => self.lex_keyword("true"),
            Some(b'f') => self.lex_keyword("false"),
            Some(b'n') => self.lex_keyword("null"),
            _ => Err(self.not_a_value()),
        }
    }

    /// A value as [`parse_outline`] builds it.
    fn outline_value(&mut self, outline: &[Outline]) -> Result<Node, ParseError> {
        let start = self.pos;
        let value = match self.peek() {
            Some(b'{') => {
                let mut members = Members::default();
                self.members(|p| {
                    let key_start = p.pos;
                    let escaped = p.skip_string()?;
                    let key_end = p.pos;
                    // Most keys have no escape: compare their text as it stands.
                    let raw = &p.text[key_start + 1..key_end - 1];
                    let key = if escaped {
                        p.pos = key_start;
                        let key = p.string()?;
                        std::borrow::Cow::Owned(key)
                    } else {
                        std::borrow::Cow::Borrowed(raw)
                    };
                    p.colon(key_start)?;
                    match outline.iter().find(|o| o.key.eq_ignore_ascii_case(&key)) {
                        Some(o) => {
                            let value = p.outline_value(o.keep)?;
                            members.insert(Member {
                                key: key.into_owned(),
                                key_span: Span::new(key_start, key_end),
                                value,
                            });
                            Ok(())
                        }
                        None => p.skip_value(),
                    }
                })?;
                Json::Object(members.members)
            }
            Some(b'[') => {
                self.items(Self::skip_value)?;
                Json::Array(Vec::new())
            }
            _ => return self.value(),
        };
        Ok(Node {
            value,
            span: Span::new(start, self.pos),
        })
    }

    /// The error for a value that cannot start here.
    fn not_a_value(&self) -> ParseError {
        match self.peek() {
            None => self.error_here("unexpected end of file: expected a value"),
            Some(b'\'') => {
                self.error_here("strings must use double quotes `\"`, not single quotes")
            }
            Some(_) => self.error_here(format!(
                "unexpected {}: expected a value (object, array, string, number, true, false or null)",
                self.describe_here()
            )),
        }
    }

    fn keyword(&mut self, word: &str, value: Json) -> Result<Node, ParseError> {
        let start = self.pos;
        self.lex_keyword(word)?;
        Ok(Node {
            value,
            span: Span::new(start, self.pos),
        })
    }

    fn lex_keyword(&mut self, word: &str) -> Result<(), ParseError> {
        let start = self.pos;
        let end = start + word.len();
        let follows_ident = self
            .bytes
            .get(end)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
        if self.bytes.get(start..end) == Some(word.as_bytes()) && !follows_ident {
            self.pos = end;
            Ok(())
        } else {
            Err(self.error_here(format!(
                "unexpected {}: expected a value (did you mean `{word}`?)",
                self.describe_here()
            )))
        }
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
        let mut items = Vec::new();
        self.items(|p| {
            items.push(p.value()?);
            Ok(())
        })?;
        Ok(Node {
            value: Json::Array(items),
            span: Span::new(start, self.pos),
        })
    }

    /// Reads an array, the cursor on its `[`, handing each element to `item`,
    /// which must read it.
    fn items(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<(), ParseError>,
    ) -> Result<(), ParseError> {
        let start = self.pos;
        self.enter()?;
        self.pos += 1; // [
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
            item(self)?;
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
        Ok(())
    }

    fn object(&mut self) -> Result<Node, ParseError> {
        let start = self.pos;
        let mut members = Members::default();
        self.members(|p| {
            let key_start = p.pos;
            let key = p.string()?;
            let key_span = Span::new(key_start, p.pos);
            p.colon(key_start)?;
            let value = p.value()?;
            members.insert(Member {
                key,
                key_span,
                value,
            });
            Ok(())
        })?;
        Ok(Node {
            value: Json::Object(members.members),
            span: Span::new(start, self.pos),
        })
    }

    /// Reads an object, the cursor on its `{`, handing each member to
    /// `member` with the cursor on the key's opening quote; it must read the
    /// key, the colon (with [`Parser::colon`]) and the value.
    fn members(
        &mut self,
        mut member: impl FnMut(&mut Self) -> Result<(), ParseError>,
    ) -> Result<(), ParseError> {
        let start = self.pos;
        self.enter()?;
        self.pos += 1; // {
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
            member(self)?;
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
        Ok(())
    }

    /// Reads the `:` after a property name (and the trivia around it); the
    /// name starts at `key_start`, and is decoded again only for an error.
    fn colon(&mut self, key_start: usize) -> Result<(), ParseError> {
        self.skip_trivia()?;
        if self.peek() != Some(b':') {
            let here = self.pos;
            self.pos = key_start;
            let key = self.string().unwrap_or_default();
            self.pos = here;
            return Err(self.error_here(format!(
                "unexpected {}: expected `:` after the property name \"{}\"",
                self.describe_here(),
                truncate(&key, 60)
            )));
        }
        self.pos += 1;
        self.skip_trivia()
    }

    /// Reads a double-quoted string, the cursor on the opening quote.
    fn string(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            self.skip_to_quote_or_backslash();
            out.push_str(&self.text[run_start..self.pos]);
            match self.peek() {
                None => return Err(self.error_at(start, "this string is never closed with `\"`")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                _ => out.push(self.escape(start)?),
            }
        }
    }

    /// Checks a double-quoted string, the cursor on the opening quote;
    /// returns whether it holds an escape.
    fn skip_string(&mut self) -> Result<bool, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut escaped = false;
        loop {
            self.skip_to_quote_or_backslash();
            match self.peek() {
                None => return Err(self.error_at(start, "this string is never closed with `\"`")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(escaped);
                }
                _ => {
                    self.escape(start)?;
                    escaped = true;
                }
            }
        }
    }

    /// Moves to the next `"` or `\`, or to the end.
    fn skip_to_quote_or_backslash(&mut self) {
        const ONES: u64 = u64::from_le_bytes([0x01; 8]);
        const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
        const QUOTES: u64 = u64::from_le_bytes([b'"'; 8]);
        const BACKSLASHES: u64 = u64::from_le_bytes([b'\\'; 8]);
        // Most strings are short: look eight bytes at a time first, as
        // memchr's vector search costs more to set up than that saves.
        let short_end = self.bytes.len().min(self.pos + 32);
        while let Some(chunk) = self.bytes[self.pos..short_end].first_chunk::<8>() {
            let word = u64::from_le_bytes(*chunk);
            // A zero byte in `q` or `b` is a match; the lowest high bit of
            // `found` marks the first one.
            let (q, b) = (word ^ QUOTES, word ^ BACKSLASHES);
            let found = (q.wrapping_sub(ONES) & !q | b.wrapping_sub(ONES) & !b) & HIGHS;
            if found != 0 {
                self.pos += found.trailing_zeros() as usize / 8;
                return;
            }
            self.pos += 8;
        }
        self.pos = match memchr::memchr2(b'"', b'\\', &self.bytes[self.pos..]) {
            Some(i) => self.pos + i,
            None => self.bytes.len(),
        };
    }

    /// Decodes the escape the cursor is on (its backslash), in the string
    /// that starts at `start`.
    fn escape(&mut self, start: usize) -> Result<char, ParseError> {
        let escape_at = self.pos;
        self.pos += 1;
        let Some(c) = self.peek() else {
            return Err(self.error_at(start, "this string is never closed with `\"`"));
        };
        self.pos += 1;
        let decoded = match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
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
                        char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
                    } else {
                        self.pos = save;
                        None
                    }
                } else {
                    char::from_u32(high)
                };
                // A lone surrogate cannot be held in a Rust string.
                c.unwrap_or('\u{fffd}')
            }
            _ => {
                let shown = self.text[escape_at..].chars().take(2).collect::<String>();
                return Err(
                    self.error_at(escape_at, format!("invalid escape `{shown}` in a string"))
                );
            }
        };
        // The escape may have ended inside a multi-byte character only if
        // the input was not UTF-8, which `&str` rules out; still,
        // resynchronise on a character boundary.
        while !self.text.is_char_boundary(self.pos) {
            self.pos += 1;
        }
        Ok(decoded)
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
        let is_float = self.lex_number()?;
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

    /// Checks a number and moves past it; returns whether it has a fraction
    /// or an exponent.
    fn lex_number(&mut self) -> Result<bool, ParseError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        self.skip_digits();
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
            self.skip_digits();
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
            self.skip_digits();
            if self.pos == exp_start {
                return Err(
                    self.error_at(start, "invalid number: expected a digit in the exponent")
                );
            }
        }
        Ok(is_float)
    }

    fn skip_digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
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

    const OUTLINE: &[Outline] = &[
        Outline {
            key: "$schema",
            keep: &[],
        },
        Outline {
            key: "metadata",
            keep: &[Outline {
                key: "_generator",
                keep: &[Outline {
                    key: "name",
                    keep: &[],
                }],
            }],
        },
    ];

    #[test]
    fn outline_keeps_the_members_named() {
        let text = r#"{"$schema": "s", "metadata": {"_generator": {"name": "bicep", "v": 1}, "x": [1]}, "deep": {"a": {"b": "c"}}, "list": [{"$schema": "no"}]}"#;
        let root = parse_outline(text, OUTLINE).expect("parse");
        assert_eq!(root.span, Span::new(0, text.len()));
        assert_eq!(root.get("$schema").and_then(Node::as_str), Some("s"));
        let generator = root.get("metadata").and_then(|m| m.get("_generator"));
        let name = generator.and_then(|g| g.member("name")).expect("name");
        assert_eq!(name.value.as_str(), Some("bicep"));
        assert_eq!(&text[name.key_span.range()], "\"name\"");
        assert_eq!(&text[name.value.span.range()], "\"bicep\"");
        assert_eq!(generator.and_then(|g| g.get("v")), None);
        assert_eq!(root.get("deep"), None);
        assert_eq!(root.get("list"), None);
        let metadata = root.get("metadata").expect("metadata");
        assert_eq!(metadata.as_object().map(<[Member]>::len), Some(1));
        // A named member whose value is not an object comes back empty.
        let odd = parse_outline(r#"{"metadata": [1, 2], "$schema": {"a": 1}}"#, OUTLINE);
        let odd = odd.expect("parse");
        assert_eq!(odd.get("metadata").and_then(Node::as_array), Some(&[][..]));
        assert_eq!(odd.get("$schema").and_then(Node::as_object), Some(&[][..]));
    }

    #[test]
    fn outline_looks_up_like_the_whole_tree() {
        // Case variants, duplicates and escaped keys: `get` must find the
        // same value on the outline as on the whole tree.
        for text in [
            r#"{"$schema": "a", "$SCHEMA": "b", "$schema": "c"}"#,
            r#"{"$Schema": "a", "$schema": "b"}"#,
            r#"{"\u0024schema": "escaped", "x": "\"\\"}"#,
            r#"{"$schema": "a", "\u0024SCHEMA": "b"}"#,
            r#"{"metadata": {"_generator": {"name": "x"}}, "METADATA": {"_generator": {"NAME": "bicep"}}}"#,
            r#"{"metadata": {"_generator": {"name": "x"}}, "metadata": {"other": 1}}"#,
            r#"{"$schema": 1, "$schema": null, "$schema": true}"#,
            r#"["$schema", {"$schema": "a"}]"#,
            "{\"$schema\" : \"a\", \"metadata\" /* c */ : {\"_generator\"\n:{\"name\"\t: \"b\"}}}",
            r#""$schema""#,
        ] {
            let whole = parse(text).expect("parse");
            let outline = parse_outline(text, OUTLINE).expect("outline");
            let lookup = |root: &Node| {
                (
                    root.get("$schema").map(|n| n.value.clone()),
                    root.get("metadata")
                        .and_then(|m| m.get("_generator"))
                        .and_then(|g| g.get("name"))
                        .cloned(),
                )
            };
            assert_eq!(lookup(&outline), lookup(&whole), "{text}");
        }
    }

    /// Every file under `tests/fixtures` and `examples`.
    fn fixture_texts() -> Vec<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut dirs = vec![root.join("tests/fixtures"), root.join("examples")];
        let mut texts = Vec::new();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("fixture folder") {
                let path = entry.expect("fixture entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if let Ok(text) = std::fs::read_to_string(&path) {
                    texts.push(text);
                }
            }
        }
        assert!(texts.len() > 20, "fixtures not found");
        texts
    }

    /// `parse_outline` must fail exactly when `parse` does, with the same
    /// offset and message.
    fn assert_same_verdict(text: &str) {
        let whole = parse(text).err();
        for outline in [OUTLINE, &[]] {
            assert_eq!(
                parse_outline(text, outline).err(),
                whole,
                "outline and whole parse disagree on {text:?}"
            );
        }
    }

    #[test]
    fn outline_reports_the_same_errors_on_fixtures_and_their_mutations() {
        for text in fixture_texts() {
            assert_same_verdict(&text);
            let boundaries: Vec<usize> = text
                .char_indices()
                .map(|(i, _)| i)
                .chain([text.len()])
                .collect();
            // About 40 places per file keep this quick in debug builds.
            let step = (boundaries.len() / 40).max(1);
            for (n, &at) in boundaries.iter().enumerate().step_by(step) {
                assert_same_verdict(&text[..at]);
                if let Some(&next) = boundaries.get(n + 1) {
                    assert_same_verdict(&format!("{}{}", &text[..at], &text[next..]));
                }
                for insert in [
                    ",",
                    "}",
                    "]",
                    "{",
                    "[",
                    "\"",
                    "\\",
                    "/",
                    "/*",
                    ":",
                    "x",
                    "0",
                    "-",
                    "'",
                    "\u{1}",
                    "é",
                    "\\u12",
                    "\\ud800\\u",
                ] {
                    assert_same_verdict(&format!("{}{insert}{}", &text[..at], &text[at..]));
                }
            }
        }
    }

    #[test]
    fn outline_reports_the_same_errors_on_broken_inputs() {
        for text in [
            "",
            "   ",
            "\u{feff}",
            "{",
            "{\"a\"",
            "{\"a\" 1}",
            "{\"a\\n\\u00e9\" 1}",
            "{\"$schema\" 1}",
            "{\"metadata\": {\"_generator\": {\"name\" 1}}}",
            "{\"metadata\": {\"_generator\": [1 2]}}",
            "{\"a\": 1 \"b\": 2}",
            "{\"a\": 1,,}",
            "{,}",
            "[1, 2",
            "[1,,2]",
            "[tru]",
            "[truex]",
            "nul",
            "\"abc",
            "\"a\\",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\ud800\\u12\"",
            "\"\\ud800\\u0041\"",
            "\"\\ud800\\udc00\"",
            "01",
            "-",
            "1.",
            "1e",
            "1e+",
            "-01.5",
            "/* never closed",
            "/ x",
            "{} x",
            "{} /",
            "{'a': 1}",
            "{\"a\": 'b'}",
            "[\u{1}]",
            "{\"a\": [1, {\"b\": [2, {\"c\": x}]}]}",
            "{\"$schema\": \"s\", \"metadata\": {\"_generator\": {\"name\": \"bicep\"}}, \"x\": [}",
        ] {
            assert_same_verdict(text);
        }
        let deep = "[".repeat(100_000);
        assert_same_verdict(&deep);
        let deep_objects = "{\"metadata\":".repeat(100_000);
        assert_same_verdict(&deep_objects);
        let ok_depth = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_same_verdict(&ok_depth);
    }

    proptest::proptest! {
        /// Short strings over JSON's punctuation hit error paths that real
        /// files rarely do.
        #[test]
        fn outline_and_parse_agree_on_any_input(
            text in r#"[{}\[\]",:0-9a-z$ \n/*\\.eE+\-]{0,40}"#
        ) {
            assert_same_verdict(&text);
        }

        /// Token soups with the names the outline keeps, so that its own
        /// paths (kept keys, escaped keys, trivia around `:`) meet errors.
        #[test]
        fn outline_and_parse_agree_on_token_soups(
            tokens in proptest::collection::vec(
                proptest::sample::select(vec![
                    "{", "}", "[", "]", ":", ",", " ", "\n", "/**/", "//c\n", "\"$schema\"",
                    "\"\\u0024SCHEMA\"", "\"metadata\"", "\"_generator\"", "\"name\"", "\"x\"",
                    "\"\\x\"", "1", "-0.5e3", "01", "true", "nul", "'a'",
                ]),
                0..24,
            )
        ) {
            assert_same_verdict(&tokens.concat());
        }
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

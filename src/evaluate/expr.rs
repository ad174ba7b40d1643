//! ARM template expressions: the text between the brackets of a `"[...]"`
//! string, lexed and parsed into an [`Expr`] tree.
//!
//! Grammar (whitespace, including newlines, is allowed between any tokens):
//!
//! ```text
//! expression := primary ( '.' identifier | '[' expression ']' )*
//! primary    := call | string | integer | 'true' | 'false' | 'null'
//! call       := name '(' ( expression ( ',' expression )* )? ')'
//! name       := identifier ( '.' identifier )*      -- e.g. __bicep.myFunc
//! string     := "'" ( any character but "'" | "''" )* "'"
//! integer    := '-'? digit+
//! ```
//!
//! Function names are kept as written; callers compare them
//! case-insensitively. `true`, `false` and `null` are keywords, and also
//! functions when called (`true()`).
//!
//! **Offsets.** Every node carries byte offsets into the *whole* expression
//! string, brackets included, as stored after JSON unescaping. To map one into
//! the file, add the string node's span start plus one (for the opening
//! quote). This is exact unless the JSON string contains escapes (`\"`,
//! `\u0041`, `\n`...) before the offset, which make the file text longer
//! than the unescaped string; positions after such an escape point a few
//! bytes early. Real templates rarely escape inside expressions, so callers
//! accept that imprecision.
//!
//! The `[[` escape (a literal string starting with `[`) is not an
//! expression; callers decide with [`super::value::classify_string`] before
//! calling [`parse_expression`].

use std::fmt;

use super::value::Value;

/// Deepest nesting of calls, accesses and brackets the parser accepts.
pub const MAX_DEPTH: usize = 128;

/// Longest expression text the parser accepts, in bytes.
pub const MAX_EXPRESSION_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    /// Byte offset of the node's first character in the expression string.
    pub start: usize,
    /// Byte offset just past the node's last character.
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    String(String),
    Int(i64),
    Bool(bool),
    Null,
    /// `name(args...)`; the name as written, possibly namespaced (`udf.fn`).
    Call {
        name: String,
        args: Vec<Expr>,
    },
    /// `target.name`
    Property {
        target: Box<Expr>,
        name: String,
    },
    /// `target[index]`
    Index {
        target: Box<Expr>,
        index: Box<Expr>,
    },
    /// A value already known, never produced by the parser: lets a caller
    /// embed a value (a user function's literal output, a test input) in a
    /// tree.
    Value(Value),
}

impl Expr {
    pub fn new(kind: ExprKind, start: usize, end: usize) -> Self {
        Expr { kind, start, end }
    }

    /// The function name when the node is a call to it (case-insensitive).
    pub fn is_call_to(&self, function: &str) -> bool {
        matches!(&self.kind, ExprKind::Call { name, .. } if name.eq_ignore_ascii_case(function))
    }
}

/// A syntax error, at a byte offset in the expression string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    pub offset: usize,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at offset {})", self.message, self.offset)
    }
}

impl std::error::Error for SyntaxError {}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// An identifier, possibly dotted when it names a function: the lexer
    /// keeps `a.b` together only when it is directly followed by `(`.
    Ident(String),
    Str(String),
    Int(i64),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// Splits the text between `base` and `end` into tokens.
fn lex(s: &str, base: usize, end: usize) -> Result<Vec<Token>, SyntaxError> {
    let bytes = s.as_bytes();
    let mut tokens = Vec::new();
    let mut i = base;
    let mut after_value = false;
    while i < end {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let tok = match b {
            b'(' => {
                i += 1;
                Tok::LParen
            }
            b')' => {
                i += 1;
                Tok::RParen
            }
            b'[' => {
                i += 1;
                Tok::LBracket
            }
            b']' => {
                i += 1;
                Tok::RBracket
            }
            b',' => {
                i += 1;
                Tok::Comma
            }
            b'.' => {
                i += 1;
                Tok::Dot
            }
            b'\'' => {
                i += 1;
                let mut text = String::new();
                let mut chunk = i;
                loop {
                    if i >= end {
                        return Err(SyntaxError {
                            message: "the string is not closed: a `'` is missing".into(),
                            offset: start,
                        });
                    }
                    if bytes[i] == b'\'' {
                        text.push_str(&s[chunk..i]);
                        if i + 1 < end && bytes[i + 1] == b'\'' {
                            text.push('\'');
                            i += 2;
                            chunk = i;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                Tok::Str(text)
            }
            b'-' | b'0'..=b'9' => {
                if b == b'-' {
                    i += 1;
                    if i >= end || !bytes[i].is_ascii_digit() {
                        return Err(SyntaxError {
                            message: "a `-` must be followed by digits".into(),
                            offset: start,
                        });
                    }
                }
                while i < end && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                let text = &s[start..i];
                match text.parse::<i64>() {
                    Ok(n) => Tok::Int(n),
                    Err(_) => {
                        return Err(SyntaxError {
                            message: format!("the integer {text} is out of the 64-bit range"),
                            offset: start,
                        })
                    }
                }
            }
            _ if is_ident_start(b) => {
                i += 1;
                while i < end && is_ident_char(bytes[i]) {
                    i += 1;
                }
                // A dotted name is one token only when a call follows it,
                // and never right after a value (`x().a.b` are accesses).
                if !after_value {
                    let mut j = i;
                    while j + 1 < end && bytes[j] == b'.' && is_ident_start(bytes[j + 1]) {
                        let mut k = j + 2;
                        while k < end && is_ident_char(bytes[k]) {
                            k += 1;
                        }
                        j = k;
                    }
                    if j > i {
                        let mut k = j;
                        while k < end && bytes[k].is_ascii_whitespace() {
                            k += 1;
                        }
                        if k < end && bytes[k] == b'(' {
                            i = j;
                        }
                    }
                }
                Tok::Ident(s[start..i].to_string())
            }
            _ => {
                let c = s[i..].chars().next().unwrap_or('?');
                return Err(SyntaxError {
                    message: format!("unexpected character `{c}`"),
                    offset: start,
                });
            }
        };
        after_value = matches!(
            tok,
            Tok::RParen | Tok::RBracket | Tok::Str(_) | Tok::Int(_) | Tok::Dot
        );
        tokens.push(Token { tok, start, end: i });
    }
    tokens.push(Token {
        tok: Tok::End,
        start: end,
        end,
    });
    Ok(tokens)
}

struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        // The token list always ends with `End`, and `pos` never passes it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn error<T>(&self, message: impl Into<String>, offset: usize) -> Result<T, SyntaxError> {
        Err(SyntaxError {
            message: message.into(),
            offset,
        })
    }

    fn expression(&mut self, depth: usize) -> Result<Expr, SyntaxError> {
        if depth > MAX_DEPTH {
            return self.error(
                format!("the expression is nested more than {MAX_DEPTH} levels deep"),
                self.peek().start,
            );
        }
        let mut expr = self.primary(depth)?;
        let mut accesses = 0usize;
        loop {
            match self.peek().tok {
                Tok::Dot => {
                    self.next();
                    let t = self.next();
                    match t.tok {
                        Tok::Ident(name) if !name.contains('.') => {
                            let start = expr.start;
                            expr = Expr::new(
                                ExprKind::Property {
                                    target: Box::new(expr),
                                    name,
                                },
                                start,
                                t.end,
                            );
                        }
                        _ => return self.error("expected a property name after `.`", t.start),
                    }
                }
                Tok::LBracket => {
                    self.next();
                    let index = self.expression(depth + 1)?;
                    let t = self.next();
                    if t.tok != Tok::RBracket {
                        return self.error("expected `]` to close the index", t.start);
                    }
                    let start = expr.start;
                    expr = Expr::new(
                        ExprKind::Index {
                            target: Box::new(expr),
                            index: Box::new(index),
                        },
                        start,
                        t.end,
                    );
                }
                _ => break,
            }
            // Chained accesses nest the tree too: cap them like calls, so
            // dropping or walking the tree cannot overflow the stack.
            accesses += 1;
            if depth + accesses > MAX_DEPTH {
                return self.error(
                    format!("the expression is nested more than {MAX_DEPTH} levels deep"),
                    self.peek().start,
                );
            }
        }
        Ok(expr)
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, SyntaxError> {
        let t = self.next();
        match t.tok {
            Tok::Str(s) => Ok(Expr::new(ExprKind::String(s), t.start, t.end)),
            Tok::Int(n) => Ok(Expr::new(ExprKind::Int(n), t.start, t.end)),
            Tok::Ident(name) => {
                if self.peek().tok == Tok::LParen {
                    self.next();
                    let mut args = Vec::new();
                    if self.peek().tok == Tok::RParen {
                        let close = self.next();
                        return Ok(Expr::new(ExprKind::Call { name, args }, t.start, close.end));
                    }
                    loop {
                        args.push(self.expression(depth + 1)?);
                        let sep = self.next();
                        match sep.tok {
                            Tok::Comma => continue,
                            Tok::RParen => {
                                return Ok(Expr::new(
                                    ExprKind::Call { name, args },
                                    t.start,
                                    sep.end,
                                ))
                            }
                            Tok::End => {
                                return self.error(
                                    format!("the call to `{name}` is not closed: a `)` is missing"),
                                    sep.start,
                                )
                            }
                            _ => {
                                return self.error(
                                    format!("expected `,` or `)` in the call to `{name}`"),
                                    sep.start,
                                )
                            }
                        }
                    }
                }
                let kind = if name.eq_ignore_ascii_case("true") {
                    ExprKind::Bool(true)
                } else if name.eq_ignore_ascii_case("false") {
                    ExprKind::Bool(false)
                } else if name.eq_ignore_ascii_case("null") {
                    ExprKind::Null
                } else {
                    return self.error(
                        format!("`{name}` is not a function call: a `(` is missing"),
                        t.end,
                    );
                };
                Ok(Expr::new(kind, t.start, t.end))
            }
            Tok::End => self.error("an expression is missing", t.start),
            _ => self.error("expected a function call, a string or a number", t.start),
        }
    }
}

/// Parses a whole expression string, brackets included (`"[f(1)]"`).
pub fn parse_expression(s: &str) -> Result<Expr, SyntaxError> {
    if s.len() > MAX_EXPRESSION_BYTES {
        return Err(SyntaxError {
            message: format!(
                "the expression is {} bytes long, over the {MAX_EXPRESSION_BYTES}-byte limit",
                s.len()
            ),
            offset: 0,
        });
    }
    if !(s.len() >= 2 && s.starts_with('[') && s.ends_with(']')) {
        return Err(SyntaxError {
            message: "an expression must start with `[` and end with `]`".into(),
            offset: 0,
        });
    }
    parse_inner(s, 1, s.len() - 1)
}

/// Parses the text of `s` between byte offsets `start` and `end` (the part
/// inside the brackets); offsets in the tree stay relative to `s`.
pub fn parse_inner(s: &str, start: usize, end: usize) -> Result<Expr, SyntaxError> {
    let end = end.min(s.len());
    let start = start.min(end);
    if !s.is_char_boundary(start) || !s.is_char_boundary(end) {
        return Err(SyntaxError {
            message: "the expression bounds are not on character boundaries".into(),
            offset: start,
        });
    }
    let tokens = lex(s, start, end)?;
    let mut parser = Parser {
        tokens: &tokens,
        pos: 0,
    };
    let expr = parser.expression(0)?;
    let rest = parser.next();
    if rest.tok != Tok::End {
        return Err(SyntaxError {
            message: "unexpected text after the end of the expression".into(),
            offset: rest.start,
        });
    }
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(e: &Expr) -> (&str, &[Expr]) {
        match &e.kind {
            ExprKind::Call { name, args } => (name, args),
            other => panic!("not a call: {other:?}"),
        }
    }

    #[test]
    fn parses_calls_literals_and_accesses() {
        let e = parse_expression("[concat('a''b', -12, true, null(), parameters('p').x[0]['y'])]")
            .expect("parse");
        let (name, args) = call(&e);
        assert_eq!(name, "concat");
        assert_eq!(args[0].kind, ExprKind::String("a'b".into()));
        assert_eq!(args[1].kind, ExprKind::Int(-12));
        assert_eq!(args[2].kind, ExprKind::Bool(true));
        assert!(args[3].is_call_to("NULL"));
        match &args[4].kind {
            ExprKind::Index { target, index } => {
                assert_eq!(index.kind, ExprKind::String("y".into()));
                assert!(matches!(target.kind, ExprKind::Index { .. }));
            }
            other => panic!("{other:?}"),
        }
        // Offsets are into the whole string.
        assert_eq!((e.start, e.end), (1, 61));
        assert_eq!((args[0].start, args[0].end), (8, 14));
    }

    #[test]
    fn namespaced_functions_and_property_chains() {
        let e = parse_expression("[__bicep.myFunc(udf.fn(1)).a.b]").expect("parse");
        match &e.kind {
            ExprKind::Property { target, name } => {
                assert_eq!(name, "b");
                match &target.kind {
                    ExprKind::Property { target, name } => {
                        assert_eq!(name, "a");
                        let (n, args) = call(target);
                        assert_eq!(n, "__bicep.myFunc");
                        assert_eq!(call(&args[0]).0, "udf.fn");
                    }
                    other => panic!("{other:?}"),
                }
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn whitespace_and_newlines_between_tokens() {
        let e = parse_expression("[ if (\n  equals( 1 , 1 ) ,\r\n 'a' ,\t'b' ) . x [ 0 ] ]")
            .expect("parse");
        assert!(matches!(e.kind, ExprKind::Index { .. }));
    }

    #[test]
    fn syntax_errors_have_offsets() {
        let cases: &[(&str, usize, &str)] = &[
            ("[concat('a']", 11, "not closed"),
            ("[concat('a'", 0, "must start"),
            ("[]", 1, "missing"),
            ("[foo]", 4, "not a function call"),
            ("[f(1 2)]", 5, "expected `,`"),
            ("[f(1,)]", 5, "expected a function call"),
            ("[f(1)) ]", 5, "unexpected text"),
            ("[f(1).]", 6, "property name"),
            ("[f(1)[0]", 7, "close the index"),
            ("[- 1]", 1, "digits"),
            ("[f(99999999999999999999)]", 3, "64-bit"),
            ("[f(#)]", 3, "unexpected character"),
            ("[f(1)[0 ]x]", 9, "unexpected text"),
            ("[f(]", 3, "missing"),
        ];
        for (text, offset, fragment) in cases {
            match parse_expression(text) {
                Err(e) => {
                    assert!(
                        e.message.contains(fragment),
                        "{text}: {e:?} does not mention {fragment}"
                    );
                    assert_eq!(e.offset, *offset, "{text}: {e:?}");
                }
                Ok(v) => panic!("{text} parsed: {v:?}"),
            }
        }
    }

    #[test]
    fn nesting_is_capped() {
        let deep = format!("[{}1{}]", "f(".repeat(200), ")".repeat(200));
        let e = parse_expression(&deep).expect_err("too deep");
        assert!(e.message.contains("nested"));
        let ok = format!("[{}1{}]", "f(".repeat(100), ")".repeat(100));
        assert!(parse_expression(&ok).is_ok());
        let chain = format!("[f(){}]", ".a".repeat(500));
        assert!(parse_expression(&chain).is_err());
    }

    #[test]
    fn keywords_are_case_insensitive_and_callable() {
        let e = parse_expression("[f(TRUE, False, Null, true())]").expect("parse");
        let (_, args) = call(&e);
        assert_eq!(args[0].kind, ExprKind::Bool(true));
        assert_eq!(args[1].kind, ExprKind::Bool(false));
        assert_eq!(args[2].kind, ExprKind::Null);
        assert!(args[3].is_call_to("true"));
    }

    #[test]
    fn non_ascii_strings_keep_offsets_on_boundaries() {
        let e = parse_expression("[concat('ü€', 'x')]").expect("parse");
        let (_, args) = call(&e);
        assert_eq!(args[0].kind, ExprKind::String("ü€".into()));
        assert_eq!(args[1].start, 17);
    }
}

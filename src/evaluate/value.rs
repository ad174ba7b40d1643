//! The values a template evaluates to: JSON, plus `Unknown` for what cannot be
//! known before deployment. Each value remembers where it came from, so a
//! finding can point at the text a user must change.

use crate::parse::{Json, Node, Number, Span};

/// Index of a file in the scan's file table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A place in a file: the span of the text a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    pub file: FileId,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub kind: Kind,
    /// Where the value was written, if it was written anywhere.
    pub origin: Option<Origin>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Array(Vec<Value>),
    Object(Vec<Property>),
    /// A value that depends on something only known at deployment; the
    /// reason names it and says how to supply it.
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    pub name: String,
    pub name_origin: Option<Origin>,
    pub value: Value,
}

impl Value {
    pub fn new(kind: Kind, origin: Option<Origin>) -> Self {
        Value { kind, origin }
    }

    pub fn unknown(reason: impl Into<String>, origin: Option<Origin>) -> Self {
        Value::new(Kind::Unknown(reason.into()), origin)
    }

    /// A value computed by an expression: it was written nowhere.
    pub fn computed(kind: Kind) -> Self {
        Value::new(kind, None)
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self.kind, Kind::Unknown(_))
    }

    /// The reason of the first Unknown anywhere inside the value, if any.
    pub fn deep_unknown(&self) -> Option<&str> {
        match &self.kind {
            Kind::Unknown(r) => Some(r),
            Kind::Array(items) => items.iter().find_map(Value::deep_unknown),
            Kind::Object(props) => props.iter().find_map(|p| p.value.deep_unknown()),
            _ => None,
        }
    }

    /// Converts a parsed node without evaluating anything: a string that is
    /// an ARM expression (`[...]`, but not the `[[` escape) becomes Unknown.
    pub fn literal(node: &Node, file: FileId) -> Value {
        let origin = Some(Origin {
            file,
            span: node.span,
        });
        let kind = match &node.value {
            Json::Null => Kind::Null,
            Json::Bool(b) => Kind::Bool(*b),
            Json::Number(Number::Int(i)) => Kind::Int(*i),
            Json::Number(Number::Float(f)) => Kind::Float(*f),
            Json::String(s) => match classify_string(s) {
                StringKind::Literal => Kind::String(s.clone()),
                StringKind::Escaped => Kind::String(s[1..].to_string()),
                StringKind::Expression => Kind::Unknown(format!(
                    "the value is the expression `{}`, which this version does not evaluate",
                    shorten(s, 120)
                )),
            },
            Json::Array(items) => {
                Kind::Array(items.iter().map(|n| Value::literal(n, file)).collect())
            }
            Json::Object(members) => Kind::Object(
                members
                    .iter()
                    .map(|m| Property {
                        name: m.key.clone(),
                        name_origin: Some(Origin {
                            file,
                            span: m.key_span,
                        }),
                        value: Value::literal(&m.value, file),
                    })
                    .collect(),
            ),
        };
        Value { kind, origin }
    }

    /// Case-insensitive property lookup; the last match wins.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.property(name).map(|p| &p.value)
    }

    pub fn property(&self, name: &str) -> Option<&Property> {
        match &self.kind {
            Kind::Object(props) => props
                .iter()
                .rev()
                .find(|p| p.name.eq_ignore_ascii_case(name)),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match &self.kind {
            Kind::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn unknown_reason(&self) -> Option<&str> {
        match &self.kind {
            Kind::Unknown(r) => Some(r),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Null)
    }

    /// A short name for the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) | Kind::Float(_) => "a number",
            Kind::String(_) => "a string",
            Kind::Array(_) => "an array",
            Kind::Object(_) => "an object",
            Kind::Unknown(_) => "unknown",
        }
    }
}

pub enum StringKind {
    Literal,
    /// Starts with `[[`: a literal whose first `[` is dropped.
    Escaped,
    Expression,
}

/// ARM's rule: a string that starts with `[` and ends with `]` is an
/// expression, unless it starts with `[[`.
pub fn classify_string(s: &str) -> StringKind {
    if s.starts_with("[[") {
        StringKind::Escaped
    } else if s.len() >= 2 && s.starts_with('[') && s.ends_with(']') {
        StringKind::Expression
    } else {
        StringKind::Literal
    }
}

/// Cuts long template text for messages, on a character boundary.
pub fn shorten(s: &str, max_chars: usize) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max_chars {
        one_line
    } else {
        let mut t: String = one_line.chars().take(max_chars).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    #[test]
    fn expressions_become_unknown_and_escapes_literal() {
        let node = parse(r#"{"a": "[parameters('x')]", "b": "[[not]", "c": "[x"}"#).expect("parse");
        let v = Value::literal(&node, FileId(0));
        assert!(v.get("a").and_then(Value::unknown_reason).is_some());
        assert_eq!(v.get("B").and_then(Value::as_str), Some("[not]"));
        assert_eq!(v.get("c").and_then(Value::as_str), Some("[x"));
    }
}

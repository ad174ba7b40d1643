//! The evaluator of ARM expressions: [`eval`] walks an [`Expr`] and calls
//! the template functions with Azure's semantics.
//!
//! **Unknown.** A value that is only known at deployment (`reference()`,
//! `list*()`, `utcNow()`, a parameter without a value...) is
//! [`Kind::Unknown`] with a reason. Every function propagates an Unknown
//! argument (the result keeps the reason of the first one), except where the
//! result does not depend on it: `if`, `and`, `or` and `coalesce` are lazy
//! and skip what they do not need; `createArray` and `createObject` hold
//! Unknown elements; functions that only look at the shape of an array or an
//! object (`length`, `empty`, `first`, `take`, `contains` on object keys...)
//! answer when the shape is known.
//!
//! **Errors.** Where Azure would fail the deployment (a wrong argument type,
//! an index out of range, integer overflow, division by zero), [`eval`]
//! returns an [`EvalError`] with the span of the call that failed.
//!
//! **Limits.** Strings over [`MAX_STRING_BYTES`], arrays and objects over
//! [`MAX_ITEMS`] entries, user function calls nested over
//! [`MAX_CALL_DEPTH`], and evaluations over [`MAX_WORK`] units of work are
//! errors, so hostile templates cannot exhaust memory or time.

mod array;
mod cidr;
mod hash;
mod lambda;
mod logical;
mod numeric;
mod object;
mod scope;
mod string;

#[cfg(test)]
mod tests;

pub use scope::Scope;

use super::expr::{Expr, ExprKind};
use super::value::{Kind, Property, Value};

/// Longest string a function may produce, in bytes.
pub const MAX_STRING_BYTES: usize = 4 * 1024 * 1024;
/// Most elements an array, or properties an object, a function may produce.
pub const MAX_ITEMS: usize = 100_000;
/// Deepest nesting of user-defined function calls.
pub const MAX_CALL_DEPTH: usize = 32;
/// Units of work (function calls, elements and bytes produced) one
/// evaluation may spend.
pub const MAX_WORK: u64 = 10_000_000;
/// Deepest nesting of arrays and objects a function may produce (parsed
/// JSON is capped at 512 levels already).
pub const MAX_VALUE_DEPTH: usize = 600;
/// Deepest recursion of the evaluator, user function bodies included.
pub const MAX_EVAL_DEPTH: usize = 512;

/// A user-defined function (`functions` section): its parameter names and
/// the expression of its output. The output of a function whose `output.value`
/// is not a string expression is an [`ExprKind::Value`].
#[derive(Debug, Clone, PartialEq)]
pub struct UserFunction {
    pub parameters: Vec<String>,
    pub output: Expr,
}

/// What an expression can see of the template being evaluated.
pub trait Context {
    /// `parameters(name)`: the parameter's value (Unknown, with a reason,
    /// when it has none), or `Err` with a message when no such parameter is
    /// declared.
    fn parameter(&mut self, name: &str) -> Result<Value, String>;
    /// `variables(name)`, likewise.
    fn variable(&mut self, name: &str) -> Result<Value, String>;
    /// `copyIndex()`: the current iteration of the copy loop named `loop_name`,
    /// or of the innermost loop when `None`, counted from 0; `Err` outside a
    /// loop.
    fn copy_index(&mut self, loop_name: Option<&str>) -> Result<Value, String>;
    /// A user-defined function by its full name (`namespace.name`), compared
    /// case-insensitively.
    fn user_function(&self, name: &str) -> Option<UserFunction>;
    /// The deployment scope the scope functions describe.
    fn scope(&self) -> Scope {
        Scope::default()
    }
}

/// An error Azure would raise, with the span of the expression node that
/// raised it (byte offsets in the expression string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    pub message: String,
    pub start: usize,
    pub end: usize,
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EvalError {}

/// Evaluates an expression tree.
pub fn eval(expr: &Expr, ctx: &mut dyn Context) -> Result<Value, EvalError> {
    let mut ev = Eval {
        ctx,
        lambdas: Vec::new(),
        udf_frames: Vec::new(),
        work: 0,
        depth: 0,
    };
    ev.eval(expr)
}

/// Function errors before they get a span.
type Res = Result<Value, String>;

struct Eval<'c> {
    ctx: &'c mut dyn Context,
    /// Lambda variables in scope, innermost last.
    lambdas: Vec<(String, Value)>,
    /// Arguments of the user functions being evaluated, innermost last.
    udf_frames: Vec<Vec<(String, Value)>>,
    work: u64,
    /// Current recursion depth of `eval`.
    depth: usize,
}

pub(crate) fn known(kind: Kind) -> Value {
    Value::computed(kind)
}

pub(crate) fn string(s: impl Into<String>) -> Value {
    known(Kind::String(s.into()))
}

pub(crate) fn int(i: i64) -> Value {
    known(Kind::Int(i))
}

pub(crate) fn boolean(b: bool) -> Value {
    known(Kind::Bool(b))
}

pub(crate) fn null() -> Value {
    known(Kind::Null)
}

pub(crate) fn array(items: Vec<Value>) -> Value {
    known(Kind::Array(items))
}

pub(crate) fn object(props: Vec<(String, Value)>) -> Value {
    known(Kind::Object(
        props
            .into_iter()
            .map(|(name, value)| Property {
                name,
                name_origin: None,
                value,
            })
            .collect(),
    ))
}

pub(crate) fn unknown(reason: impl Into<String>) -> Value {
    Value::unknown(reason, None)
}

/// Rough size of a value, in work units.
pub(crate) fn size_of(v: &Value) -> u64 {
    measure(v).0
}

/// Size (in work units) and nesting depth of a value, without recursion, so
/// a hostile value cannot overflow the stack here.
pub(crate) fn measure(v: &Value) -> (u64, usize) {
    let mut size = 0u64;
    let mut deepest = 0usize;
    let mut stack: Vec<(&Value, usize)> = vec![(v, 1)];
    while let Some((v, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        size = size.saturating_add(1);
        match &v.kind {
            Kind::String(s) | Kind::Unknown(s) => {
                size = size.saturating_add(s.len() as u64 / 16);
            }
            Kind::Array(items) => stack.extend(items.iter().map(|i| (i, depth + 1))),
            Kind::Object(props) => {
                for p in props {
                    size = size.saturating_add(1 + p.name.len() as u64 / 16);
                    stack.push((&p.value, depth + 1));
                }
            }
            _ => {}
        }
    }
    (size, deepest)
}

pub(crate) fn check_string(s: String) -> Res {
    if s.len() > MAX_STRING_BYTES {
        Err(format!(
            "the result is a string of {} bytes, over the {MAX_STRING_BYTES}-byte limit",
            s.len()
        ))
    } else {
        Ok(string(s))
    }
}

pub(crate) fn check_items(n: usize) -> Result<(), String> {
    if n > MAX_ITEMS {
        Err(format!(
            "the result has {n} elements, over the limit of {MAX_ITEMS}"
        ))
    } else {
        Ok(())
    }
}

/// Argument checks with Azure-like messages.
pub(crate) fn arity(name: &str, args: &[Value], min: usize, max: usize) -> Result<(), String> {
    if args.len() < min || args.len() > max {
        let expected = if min == max {
            format!("{min}")
        } else if max == usize::MAX {
            format!("at least {min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(format!(
            "the function `{name}` takes {expected} argument(s), but {} were given",
            args.len()
        ));
    }
    Ok(())
}

pub(crate) fn want_str<'a>(name: &str, v: &'a Value, what: &str) -> Result<&'a str, String> {
    match &v.kind {
        Kind::String(s) => Ok(s),
        _ => Err(format!(
            "the function `{name}` expects a string for {what}, but got {}",
            v.type_name()
        )),
    }
}

pub(crate) fn want_int(name: &str, v: &Value, what: &str) -> Result<i64, String> {
    match &v.kind {
        Kind::Int(i) => Ok(*i),
        Kind::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(*f as i64),
        _ => Err(format!(
            "the function `{name}` expects an integer for {what}, but got {}",
            v.type_name()
        )),
    }
}

pub(crate) fn want_bool(name: &str, v: &Value, what: &str) -> Result<bool, String> {
    match &v.kind {
        Kind::Bool(b) => Ok(*b),
        _ => Err(format!(
            "the function `{name}` expects a boolean for {what}, but got {}",
            v.type_name()
        )),
    }
}

/// Equality as Azure's `equals` sees it (strings case-sensitive, objects by
/// case-insensitive keys regardless of order), in three values: `None` when
/// the answer depends on an Unknown.
pub(crate) fn equal3(a: &Value, b: &Value) -> Option<bool> {
    match (&a.kind, &b.kind) {
        (Kind::Unknown(_), _) | (_, Kind::Unknown(_)) => None,
        (Kind::Null, Kind::Null) => Some(true),
        (Kind::Bool(x), Kind::Bool(y)) => Some(x == y),
        (Kind::Int(x), Kind::Int(y)) => Some(x == y),
        (Kind::Float(x), Kind::Float(y)) => Some(x == y),
        (Kind::Int(x), Kind::Float(y)) | (Kind::Float(y), Kind::Int(x)) => Some(*x as f64 == *y),
        (Kind::String(x), Kind::String(y)) => Some(x == y),
        (Kind::Array(x), Kind::Array(y)) => {
            if x.len() != y.len() {
                return Some(false);
            }
            let mut result = Some(true);
            for (p, q) in x.iter().zip(y) {
                match equal3(p, q) {
                    Some(false) => return Some(false),
                    None => result = None,
                    Some(true) => {}
                }
            }
            result
        }
        (Kind::Object(x), Kind::Object(y)) => {
            let xs = dedup_props(x);
            let ys = dedup_props(y);
            if xs.len() != ys.len() {
                return Some(false);
            }
            let mut result = Some(true);
            for p in &xs {
                let Some(q) = ys.iter().find(|q| q.name.eq_ignore_ascii_case(&p.name)) else {
                    return Some(false);
                };
                match equal3(&p.value, &q.value) {
                    Some(false) => return Some(false),
                    None => result = None,
                    Some(true) => {}
                }
            }
            result
        }
        _ => Some(false),
    }
}

/// The properties of an object with duplicate keys removed (the last wins),
/// in first-seen order.
pub(crate) fn dedup_props(props: &[Property]) -> Vec<&Property> {
    let mut out: Vec<&Property> = Vec::with_capacity(props.len());
    for p in props {
        if let Some(slot) = out
            .iter_mut()
            .find(|q| q.name.eq_ignore_ascii_case(&p.name))
        {
            *slot = p;
        } else {
            out.push(p);
        }
    }
    out
}

/// The reason an Unknown argument gives, for functions that need every
/// argument to be known.
fn first_unknown(args: &[Value]) -> Option<&str> {
    args.iter().find_map(Value::unknown_reason)
}

/// Functions whose value exists only once the deployment runs: `reference`,
/// every `list*` (listKeys, listSecrets...), `utcNow`, `newGuid`,
/// `pickZones` (depends on the region's zones), `deployer` (the identity
/// that deploys) and the deprecated `providers`.
fn runtime_only(lower: &str) -> bool {
    matches!(
        lower,
        "reference" | "utcnow" | "newguid" | "pickzones" | "deployer" | "providers"
    ) || lower.starts_with("list")
}

/// Valid functions this version does not compute (date arithmetic): their
/// result is Unknown, with a reason that names them.
fn not_evaluated(lower: &str) -> bool {
    matches!(
        lower,
        "datetimeadd" | "datetimetoepoch" | "datetimefromepoch"
    )
}

impl Eval<'_> {
    fn charge(&mut self, units: u64) -> Result<(), String> {
        self.work = self.work.saturating_add(units);
        if self.work > MAX_WORK {
            Err(format!(
                "the evaluation needs more than {MAX_WORK} units of work; it was stopped"
            ))
        } else {
            Ok(())
        }
    }

    fn err(&self, expr: &Expr, message: String) -> EvalError {
        EvalError {
            message,
            start: expr.start,
            end: expr.end,
        }
    }

    fn eval(&mut self, expr: &Expr) -> Result<Value, EvalError> {
        if self.depth >= MAX_EVAL_DEPTH {
            return Err(self.err(
                expr,
                format!("the evaluation nests more than {MAX_EVAL_DEPTH} levels deep"),
            ));
        }
        self.depth += 1;
        let result = self.eval_node(expr);
        self.depth -= 1;
        result
    }

    fn eval_node(&mut self, expr: &Expr) -> Result<Value, EvalError> {
        self.charge(1).map_err(|m| self.err(expr, m))?;
        match &expr.kind {
            ExprKind::String(s) => Ok(string(s.clone())),
            ExprKind::Int(i) => Ok(int(*i)),
            ExprKind::Bool(b) => Ok(boolean(*b)),
            ExprKind::Null => Ok(null()),
            ExprKind::Value(v) => {
                self.charge(size_of(v)).map_err(|m| self.err(expr, m))?;
                Ok(v.clone())
            }
            ExprKind::Property { target, name } => {
                let t = self.eval(target)?;
                access_property(t, name).map_err(|m| self.err(expr, m))
            }
            ExprKind::Index { target, index } => {
                let t = self.eval(target)?;
                let i = self.eval(index)?;
                access_index(t, &i).map_err(|m| self.err(expr, m))
            }
            ExprKind::Call { name, args } => self.call(expr, name, args),
        }
    }

    fn eval_all(&mut self, args: &[Expr]) -> Result<Vec<Value>, EvalError> {
        args.iter().map(|a| self.eval(a)).collect()
    }

    fn call(&mut self, expr: &Expr, name: &str, args: &[Expr]) -> Result<Value, EvalError> {
        let lower = name.to_ascii_lowercase();
        if lower.contains('.') {
            return self.call_user_function(expr, name, args);
        }
        if runtime_only(&lower) {
            // Arguments are still checked for errors, then dropped.
            for a in args {
                self.eval(a)?;
            }
            return Ok(unknown(format!(
                "the value of {name}(...) is only known during the deployment"
            )));
        }
        if not_evaluated(&lower) {
            for a in args {
                self.eval(a)?;
            }
            return Ok(unknown(format!(
                "{name}(...) is not evaluated by this version of the scanner"
            )));
        }
        // Functions that decide themselves which arguments to evaluate.
        let lazy = match lower.as_str() {
            "if" => Some(logical::if_(self, expr, args)),
            "and" => Some(logical::and(self, expr, args)),
            "or" => Some(logical::or(self, expr, args)),
            "coalesce" => Some(logical::coalesce(self, args)),
            "map" | "filter" | "reduce" | "sort" | "toobject" | "mapvalues" | "groupby" => {
                Some(lambda::call(self, expr, &lower, args))
            }
            "lambda" => {
                return Err(self.err(
                    expr,
                    "`lambda` can only be an argument of map, filter, reduce, sort, toObject, mapValues or groupBy".into(),
                ))
            }
            _ => None,
        };
        if let Some(result) = lazy {
            return result;
        }
        let values = self.eval_all(args)?;
        // Containers keep Unknown elements; everything else propagates an
        // Unknown argument.
        let holds_unknowns = matches!(lower.as_str(), "createarray" | "createobject");
        if !holds_unknowns {
            if let Some(reason) = first_unknown(&values) {
                return Ok(unknown(reason.to_string()));
            }
        }
        let result = self.strict(&lower, name, values);
        match result {
            Ok(v) => {
                let (size, depth) = measure(&v);
                self.charge(size).map_err(|m| self.err(expr, m))?;
                if depth > MAX_VALUE_DEPTH {
                    return Err(self.err(
                        expr,
                        format!("the result nests arrays and objects more than {MAX_VALUE_DEPTH} levels deep"),
                    ));
                }
                Ok(v)
            }
            Err(m) => Err(self.err(expr, m)),
        }
    }

    /// Functions that take evaluated arguments, none of them Unknown at the
    /// top level (except for createArray and createObject).
    fn strict(&mut self, lower: &str, name: &str, args: Vec<Value>) -> Res {
        match lower {
            "parameters" => self.parameters(name, &args),
            "variables" => {
                arity(name, &args, 1, 1)?;
                let n = want_str(name, &args[0], "the variable name")?;
                if !self.udf_frames.is_empty() {
                    return Err("user-defined functions cannot use variables".into());
                }
                let v = self.ctx.variable(n)?;
                self.charge(size_of(&v))?;
                Ok(v)
            }
            "copyindex" => self.copy_index(name, &args),
            "lambdavariables" => {
                arity(name, &args, 1, 1)?;
                let n = want_str(name, &args[0], "the variable name")?;
                self.lambdas
                    .iter()
                    .rev()
                    .find(|(k, _)| k.eq_ignore_ascii_case(n))
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| format!("no lambda variable is named `{n}` here"))
            }
            "true" => {
                arity(name, &args, 0, 0)?;
                Ok(boolean(true))
            }
            "false" => {
                arity(name, &args, 0, 0)?;
                Ok(boolean(false))
            }
            "null" => {
                arity(name, &args, 0, 0)?;
                Ok(null())
            }
            _ => {
                if let Some(r) = logical::strict(lower, name, &args) {
                    return r;
                }
                if let Some(r) = numeric::strict(lower, name, &args) {
                    return r;
                }
                if let Some(r) = array::strict(lower, name, &args) {
                    return r;
                }
                if let Some(r) = string::strict(lower, name, &args) {
                    return r;
                }
                if let Some(r) = object::strict(lower, name, &args) {
                    return r;
                }
                if let Some(r) = hash::strict(lower, name, &args) {
                    return r;
                }
                if let Some(r) = cidr::strict(lower, name, &args) {
                    return r;
                }
                let scope = self.ctx.scope();
                if let Some(r) = scope::strict(&scope, lower, name, &args) {
                    return r;
                }
                Err(format!("the template function `{name}` is not valid"))
            }
        }
    }

    fn parameters(&mut self, name: &str, args: &[Value]) -> Res {
        arity(name, args, 1, 1)?;
        let n = want_str(name, &args[0], "the parameter name")?;
        if let Some(frame) = self.udf_frames.last() {
            return frame
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
                .ok_or_else(|| format!("the user-defined function has no parameter `{n}`"));
        }
        let v = self.ctx.parameter(n)?;
        self.charge(size_of(&v))?;
        Ok(v)
    }

    fn copy_index(&mut self, name: &str, args: &[Value]) -> Res {
        arity(name, args, 0, 2)?;
        let (loop_name, offset) = match args {
            [] => (None, 0),
            [a] => match &a.kind {
                Kind::String(s) => (Some(s.as_str()), 0),
                _ => (None, want_int(name, a, "the offset")?),
            },
            [a, b, ..] => (
                Some(want_str(name, a, "the loop name")?),
                want_int(name, b, "the offset")?,
            ),
        };
        let index = self.ctx.copy_index(loop_name)?;
        match &index.kind {
            Kind::Int(i) => i
                .checked_add(offset)
                .map(int)
                .ok_or_else(|| "copyIndex() overflows a 64-bit integer".to_string()),
            Kind::Unknown(_) => Ok(index),
            _ => Err("the copy index is not an integer".into()),
        }
    }

    fn call_user_function(
        &mut self,
        expr: &Expr,
        name: &str,
        args: &[Expr],
    ) -> Result<Value, EvalError> {
        let Some(function) = self.ctx.user_function(name) else {
            return Err(self.err(
                expr,
                format!("the user-defined function `{name}` is not declared"),
            ));
        };
        if self.udf_frames.len() >= MAX_CALL_DEPTH {
            return Err(self.err(
                expr,
                format!("user-defined functions are nested more than {MAX_CALL_DEPTH} calls deep"),
            ));
        }
        if function.parameters.len() != args.len() {
            return Err(self.err(
                expr,
                format!(
                    "the user-defined function `{name}` takes {} argument(s), but {} were given",
                    function.parameters.len(),
                    args.len()
                ),
            ));
        }
        let values = self.eval_all(args)?;
        let frame = function.parameters.iter().cloned().zip(values).collect();
        self.udf_frames.push(frame);
        // A function body sees only its own parameters, not the caller's
        // lambda variables.
        let saved = std::mem::take(&mut self.lambdas);
        let result = self.eval(&function.output);
        self.lambdas = saved;
        self.udf_frames.pop();
        result
    }
}

/// `value.name`
fn access_property(target: Value, name: &str) -> Res {
    match &target.kind {
        Kind::Unknown(_) => Ok(target),
        Kind::Object(_) => target
            .get(name)
            .cloned()
            .ok_or_else(|| format!("the object has no property `{name}`")),
        _ => Err(format!(
            "cannot read the property `{name}` of {}",
            target.type_name()
        )),
    }
}

/// `value[index]`
fn access_index(target: Value, index: &Value) -> Res {
    if target.is_unknown() {
        return Ok(target);
    }
    if let Kind::Unknown(r) = &index.kind {
        return Ok(unknown(r.clone()));
    }
    match (&target.kind, &index.kind) {
        (Kind::Object(_), Kind::String(name)) => access_property(target.clone(), name),
        (Kind::Array(items), Kind::Int(i)) => usize::try_from(*i)
            .ok()
            .and_then(|i| items.get(i))
            .cloned()
            .ok_or_else(|| {
                format!(
                    "the index {i} is out of range for an array of {} elements",
                    items.len()
                )
            }),
        _ => Err(format!(
            "cannot index {} with {}",
            target.type_name(),
            index.type_name()
        )),
    }
}

//! Logical and comparison functions: if, and, or, not, coalesce, equals,
//! less, lessOrEquals, greater, greaterOrEquals, bool.

use std::cmp::Ordering;

use super::{arity, boolean, equal3, null, unknown, want_bool, Eval, Res};
use crate::evaluate::expr::Expr;
use crate::evaluate::functions::EvalError;
use crate::evaluate::value::{Kind, Value};

/// `if(condition, whenTrue, whenFalse)`: only the branch taken is evaluated.
pub(super) fn if_(ev: &mut Eval<'_>, expr: &Expr, args: &[Expr]) -> Result<Value, EvalError> {
    if args.len() != 3 {
        return Err(ev.err(
            expr,
            format!(
                "the function `if` takes 3 arguments, but {} were given",
                args.len()
            ),
        ));
    }
    let condition = ev.eval(&args[0])?;
    match &condition.kind {
        Kind::Bool(true) => ev.eval(&args[1]),
        Kind::Bool(false) => ev.eval(&args[2]),
        Kind::Unknown(reason) => {
            // Both branches may still agree.
            let reason = reason.clone();
            let a = ev.eval(&args[1]);
            let b = ev.eval(&args[2]);
            // Running out of work is not a branch's own error: it stops all.
            ev.charge(0).map_err(|m| ev.err(expr, m))?;
            match (a, b) {
                (Ok(a), Ok(b)) if equal3(&a, &b) == Some(true) => Ok(a),
                _ => Ok(unknown(reason)),
            }
        }
        _ => Err(ev.err(
            expr,
            format!(
                "the condition of `if` must be a boolean, but it is {}",
                condition.type_name()
            ),
        )),
    }
}

/// `and(a, b, ...)`: stops at the first false; an Unknown decides only when
/// no later argument is false.
pub(super) fn and(ev: &mut Eval<'_>, expr: &Expr, args: &[Expr]) -> Result<Value, EvalError> {
    short_circuit(ev, expr, args, "and", false)
}

/// `or(a, b, ...)`: stops at the first true.
pub(super) fn or(ev: &mut Eval<'_>, expr: &Expr, args: &[Expr]) -> Result<Value, EvalError> {
    short_circuit(ev, expr, args, "or", true)
}

fn short_circuit(
    ev: &mut Eval<'_>,
    expr: &Expr,
    args: &[Expr],
    name: &str,
    decisive: bool,
) -> Result<Value, EvalError> {
    if args.len() < 2 {
        return Err(ev.err(
            expr,
            format!(
                "the function `{name}` takes at least 2 arguments, but {} were given",
                args.len()
            ),
        ));
    }
    let mut pending: Option<String> = None;
    for a in args {
        let v = ev.eval(a)?;
        match &v.kind {
            Kind::Bool(b) if *b == decisive => return Ok(boolean(decisive)),
            Kind::Bool(_) => {}
            Kind::Unknown(r) => {
                pending.get_or_insert_with(|| r.clone());
            }
            _ => {
                return Err(ev.err(
                    a,
                    format!(
                        "the function `{name}` expects booleans, but got {}",
                        v.type_name()
                    ),
                ))
            }
        }
    }
    Ok(match pending {
        Some(r) => unknown(r),
        None => boolean(!decisive),
    })
}

/// `coalesce(a, b, ...)`: the first argument that is not null; later ones are
/// not evaluated.
pub(super) fn coalesce(ev: &mut Eval<'_>, args: &[Expr]) -> Result<Value, EvalError> {
    for a in args {
        let v = ev.eval(a)?;
        if !v.is_null() {
            // An Unknown may be null: the result is unknown then.
            return Ok(v);
        }
    }
    Ok(null())
}

/// Ordering for less/greater: integers with integers, strings with strings
/// (ordinal, case-sensitive).
fn compare(name: &str, a: &Value, b: &Value) -> Result<Ordering, String> {
    match (&a.kind, &b.kind) {
        (Kind::Int(x), Kind::Int(y)) => Ok(x.cmp(y)),
        (Kind::Int(_) | Kind::Float(_), Kind::Int(_) | Kind::Float(_)) => {
            let x = as_f64(a);
            let y = as_f64(b);
            x.partial_cmp(&y)
                .ok_or_else(|| format!("the function `{name}` cannot compare NaN"))
        }
        (Kind::String(x), Kind::String(y)) => Ok(x.cmp(y)),
        _ => Err(format!(
            "the function `{name}` compares two integers or two strings, but got {} and {}",
            a.type_name(),
            b.type_name()
        )),
    }
}

fn as_f64(v: &Value) -> f64 {
    match v.kind {
        Kind::Int(i) => i as f64,
        Kind::Float(f) => f,
        _ => f64::NAN,
    }
}

pub(super) fn strict(lower: &str, name: &str, args: &[Value]) -> Option<Res> {
    Some(match lower {
        "not" => arity(name, args, 1, 1)
            .and_then(|()| want_bool(name, &args[0], "its argument"))
            .map(|b| boolean(!b)),
        "equals" => arity(name, args, 2, 2).map(|()| match equal3(&args[0], &args[1]) {
            Some(b) => boolean(b),
            None => unknown(
                args.iter()
                    .find_map(Value::deep_unknown)
                    .unwrap_or("a compared value is unknown")
                    .to_string(),
            ),
        }),
        "less" | "lessorequals" | "greater" | "greaterorequals" => arity(name, args, 2, 2)
            .and_then(|()| compare(name, &args[0], &args[1]))
            .map(|o| {
                boolean(match lower {
                    "less" => o == Ordering::Less,
                    "lessorequals" => o != Ordering::Greater,
                    "greater" => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                })
            }),
        "bool" => arity(name, args, 1, 1).and_then(|()| match &args[0].kind {
            Kind::Bool(b) => Ok(boolean(*b)),
            Kind::Int(i) => Ok(boolean(*i != 0)),
            Kind::String(s) if s.eq_ignore_ascii_case("true") => Ok(boolean(true)),
            Kind::String(s) if s.eq_ignore_ascii_case("false") => Ok(boolean(false)),
            _ => Err(format!(
                "the function `bool` cannot convert {} to a boolean",
                args[0].type_name()
            )),
        }),
        _ => return None,
    })
}

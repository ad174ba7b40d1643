//! Numeric functions: add, sub, mul, div, mod, min, max, int, float.

use super::{arity, int, known, unknown, want_int, Res};
use crate::evaluate::value::{Kind, Value};

fn overflow(name: &str) -> String {
    format!("the result of `{name}` overflows a 64-bit integer")
}

/// min/max take integers, or one array of integers.
fn extreme(name: &str, args: &[Value], max: bool) -> Res {
    arity(name, args, 1, usize::MAX)?;
    let items: &[Value] = match (&args[0].kind, args.len()) {
        (Kind::Array(items), 1) => items,
        _ => args,
    };
    if items.is_empty() {
        return Err(format!("the function `{name}` needs at least one value"));
    }
    if let Some(r) = items.iter().find_map(Value::unknown_reason) {
        return Ok(unknown(r.to_string()));
    }
    let mut best: Option<i64> = None;
    for v in items {
        let i = want_int(name, v, "its values")?;
        best = Some(match best {
            Some(b) if (max && b >= i) || (!max && b <= i) => b,
            _ => i,
        });
    }
    best.map(int)
        .ok_or_else(|| format!("the function `{name}` needs at least one value"))
}

pub(super) fn strict(lower: &str, name: &str, args: &[Value]) -> Option<Res> {
    let binary = |f: fn(i64, i64) -> Option<i64>, zero_check: bool| -> Res {
        arity(name, args, 2, 2)?;
        let a = want_int(name, &args[0], "the first operand")?;
        let b = want_int(name, &args[1], "the second operand")?;
        if zero_check && b == 0 {
            return Err(format!("the function `{name}` cannot divide by zero"));
        }
        f(a, b).map(int).ok_or_else(|| overflow(name))
    };
    Some(match lower {
        "add" => binary(i64::checked_add, false),
        "sub" => binary(i64::checked_sub, false),
        "mul" => binary(i64::checked_mul, false),
        // .NET integer division truncates toward zero, as Rust's does.
        "div" => binary(i64::checked_div, true),
        "mod" => binary(i64::checked_rem, true),
        "min" => extreme(name, args, false),
        "max" => extreme(name, args, true),
        "int" => arity(name, args, 1, 1).and_then(|()| match &args[0].kind {
            Kind::Int(i) => Ok(int(*i)),
            Kind::Float(f) if f.is_finite() && f.abs() < 9.2e18 => Ok(int(f.trunc() as i64)),
            Kind::String(s) => s
                .trim()
                .parse::<i64>()
                .map(int)
                .map_err(|_| format!("the function `int` cannot convert '{s}' to an integer")),
            _ => Err(format!(
                "the function `int` cannot convert {} to an integer",
                args[0].type_name()
            )),
        }),
        "float" => arity(name, args, 1, 1).and_then(|()| match &args[0].kind {
            Kind::Int(i) => Ok(known(Kind::Float(*i as f64))),
            Kind::Float(f) => Ok(known(Kind::Float(*f))),
            Kind::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(|f| known(Kind::Float(f)))
                .ok_or_else(|| format!("the function `float` cannot convert '{s}' to a number")),
            _ => Err(format!(
                "the function `float` cannot convert {} to a number",
                args[0].type_name()
            )),
        }),
        _ => return None,
    })
}

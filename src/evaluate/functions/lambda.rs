//! Lambda functions: map, filter, reduce, sort, toObject, mapValues,
//! groupBy. Their lambda arguments are `lambda('x', ..., body)` calls whose
//! body is evaluated per element, with `lambdaVariables('x')` bound.

use super::{array, check_items, int, object, unknown, Eval, EvalError};
use crate::evaluate::expr::{Expr, ExprKind};
use crate::evaluate::value::{Kind, Property, Value};

struct Lambda<'e> {
    params: Vec<String>,
    body: &'e Expr,
}

fn lambda_of<'e>(
    ev: &mut Eval<'_>,
    function: &str,
    expr: &'e Expr,
) -> Result<Lambda<'e>, EvalError> {
    let ExprKind::Call { name, args } = &expr.kind else {
        return Err(ev.err(
            expr,
            format!("the function `{function}` expects a lambda here"),
        ));
    };
    if !name.eq_ignore_ascii_case("lambda") || args.is_empty() {
        return Err(ev.err(
            expr,
            format!("the function `{function}` expects a lambda here"),
        ));
    }
    let (body, names) = args
        .split_last()
        .ok_or_else(|| ev.err(expr, "a lambda needs a body".into()))?;
    let mut params = Vec::with_capacity(names.len());
    for n in names {
        match &n.kind {
            ExprKind::String(s) => params.push(s.clone()),
            _ => return Err(ev.err(n, "lambda parameter names must be string literals".into())),
        }
    }
    Ok(Lambda { params, body })
}

impl Eval<'_> {
    /// Calls a lambda; arguments beyond its parameters are dropped (so a
    /// one-parameter lambda ignores the index `map` also offers).
    fn apply(&mut self, lambda: &Lambda<'_>, args: Vec<Value>) -> Result<Value, EvalError> {
        let before = self.lambdas.len();
        for (name, value) in lambda.params.iter().zip(args) {
            self.lambdas.push((name.clone(), value));
        }
        let result = self.eval(lambda.body);
        self.lambdas.truncate(before);
        result
    }
}

fn want_array(
    ev: &Eval<'_>,
    function: &str,
    expr: &Expr,
    v: Value,
) -> Result<Result<Vec<Value>, Value>, EvalError> {
    match v.kind {
        Kind::Array(items) => Ok(Ok(items)),
        Kind::Unknown(r) => Ok(Err(unknown(r))),
        _ => Err(ev.err(
            expr,
            format!(
                "the function `{function}` expects an array, but got {}",
                v.type_name()
            ),
        )),
    }
}

fn key_text(
    ev: &Eval<'_>,
    function: &str,
    expr: &Expr,
    key: &Value,
) -> Result<Option<String>, EvalError> {
    match &key.kind {
        Kind::String(s) => Ok(Some(s.clone())),
        Kind::Unknown(_) => Ok(None),
        _ => Err(ev.err(
            expr,
            format!(
                "the function `{function}` needs string keys, but a key is {}",
                key.type_name()
            ),
        )),
    }
}

pub(super) fn call(
    ev: &mut Eval<'_>,
    expr: &Expr,
    lower: &str,
    args: &[Expr],
) -> Result<Value, EvalError> {
    let (min, max) = match lower {
        "reduce" => (3, 3),
        "toobject" => (2, 3),
        _ => (2, 2),
    };
    if args.len() < min || args.len() > max {
        return Err(ev.err(
            expr,
            format!(
                "the function `{lower}` takes {min} to {max} arguments, but {} were given",
                args.len()
            ),
        ));
    }
    let input = ev.eval(&args[0])?;
    if lower == "mapvalues" {
        let lambda = lambda_of(ev, lower, &args[1])?;
        let props = match input.kind {
            Kind::Object(props) => props,
            Kind::Unknown(r) => return Ok(unknown(r)),
            _ => return Err(ev.err(expr, "the function `mapValues` expects an object".into())),
        };
        let mut out = Vec::with_capacity(props.len());
        for p in props {
            let v = ev.apply(&lambda, vec![p.value])?;
            out.push(Property {
                name: p.name,
                name_origin: p.name_origin,
                value: v,
            });
        }
        return Ok(super::known(Kind::Object(out)));
    }
    let items = match want_array(ev, lower, expr, input)? {
        Ok(items) => items,
        Err(u) => return Ok(u),
    };
    match lower {
        "map" => {
            let lambda = lambda_of(ev, lower, &args[1])?;
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                out.push(ev.apply(&lambda, vec![item, int(i as i64)])?);
            }
            Ok(array(out))
        }
        "filter" => {
            let lambda = lambda_of(ev, lower, &args[1])?;
            let mut out = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                let keep = ev.apply(&lambda, vec![item.clone(), int(i as i64)])?;
                match keep.kind {
                    Kind::Bool(true) => out.push(item),
                    Kind::Bool(false) => {}
                    Kind::Unknown(r) => return Ok(unknown(r)),
                    _ => {
                        return Err(ev.err(
                            &args[1],
                            "the lambda of `filter` must return a boolean".into(),
                        ))
                    }
                }
            }
            Ok(array(out))
        }
        "reduce" => {
            let mut acc = ev.eval(&args[1])?;
            let lambda = lambda_of(ev, lower, &args[2])?;
            for (i, item) in items.into_iter().enumerate() {
                acc = ev.apply(&lambda, vec![acc, item, int(i as i64)])?;
            }
            Ok(acc)
        }
        "sort" => {
            let lambda = lambda_of(ev, lower, &args[1])?;
            sort(ev, &lambda, &args[1], items)
        }
        "toobject" => {
            let key_lambda = lambda_of(ev, lower, &args[1])?;
            let value_lambda = match args.get(2) {
                Some(e) => Some(lambda_of(ev, lower, e)?),
                None => None,
            };
            let mut out: Vec<(String, Value)> = Vec::new();
            for item in items {
                let key = ev.apply(&key_lambda, vec![item.clone()])?;
                let Some(key) = key_text(ev, lower, &args[1], &key)? else {
                    return Ok(unknown(
                        key.unknown_reason()
                            .unwrap_or("a key is unknown")
                            .to_string(),
                    ));
                };
                let value = match &value_lambda {
                    Some(l) => ev.apply(l, vec![item])?,
                    None => item,
                };
                match out.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(&key)) {
                    Some(slot) => slot.1 = value,
                    None => out.push((key, value)),
                }
            }
            Ok(object(out))
        }
        "groupby" => {
            let lambda = lambda_of(ev, lower, &args[1])?;
            let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
            for item in items {
                let key = ev.apply(&lambda, vec![item.clone()])?;
                let Some(key) = key_text(ev, lower, &args[1], &key)? else {
                    return Ok(unknown(
                        key.unknown_reason()
                            .unwrap_or("a key is unknown")
                            .to_string(),
                    ));
                };
                match groups
                    .iter_mut()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&key))
                {
                    Some(g) => g.1.push(item),
                    None => groups.push((key, vec![item])),
                }
            }
            check_items(groups.len()).map_err(|m| ev.err(expr, m))?;
            Ok(object(
                groups.into_iter().map(|(k, v)| (k, array(v))).collect(),
            ))
        }
        _ => Err(ev.err(expr, format!("`{lower}` is not a lambda function"))),
    }
}

/// Stable merge sort; `lambda(a, b)` says whether `a` goes before `b`.
fn sort(
    ev: &mut Eval<'_>,
    lambda: &Lambda<'_>,
    at: &Expr,
    items: Vec<Value>,
) -> Result<Value, EvalError> {
    let mut items = items;
    let mut width = 1;
    let n = items.len();
    while width < n {
        let mut merged = Vec::with_capacity(n);
        let mut start = 0;
        while start < n {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut i, mut j) = (start, mid);
            while i < mid && j < end {
                // Take the right element first only when it sorts strictly before.
                let before = ev.apply(lambda, vec![items[j].clone(), items[i].clone()])?;
                match before.kind {
                    Kind::Bool(true) => {
                        merged.push(items[j].clone());
                        j += 1;
                    }
                    Kind::Bool(false) => {
                        merged.push(items[i].clone());
                        i += 1;
                    }
                    Kind::Unknown(r) => return Ok(unknown(r)),
                    _ => {
                        return Err(ev.err(at, "the lambda of `sort` must return a boolean".into()))
                    }
                }
            }
            merged.extend_from_slice(&items[i..mid]);
            merged.extend_from_slice(&items[j..end]);
            start = end;
        }
        items = merged;
        width *= 2;
    }
    Ok(array(items))
}

//! Array functions (most also take strings): length, empty, contains,
//! first, last, skip, take, range, array, createArray, flatten, union,
//! intersection, indexOf and lastIndexOf on arrays, indexFromEnd,
//! tryIndexFromEnd.

use super::{
    arity, array, boolean, check_items, equal3, int, null, object, string, unknown, want_int, Res,
};
use crate::evaluate::value::{Kind, Property, Value};

/// Azure's documented limit on `range`'s count.
pub const MAX_RANGE: i64 = 10_000;

fn take_units(s: &str, n: usize, from_end: bool) -> String {
    let units: Vec<u16> = s.encode_utf16().collect();
    let n = n.min(units.len());
    if from_end {
        String::from_utf16_lossy(&units[n..])
    } else {
        String::from_utf16_lossy(&units[..n])
    }
}

/// Whether `items` holds `wanted`, in three values.
pub(crate) fn holds(items: &[Value], wanted: &Value) -> Option<bool> {
    let mut result = Some(false);
    for item in items {
        match equal3(item, wanted) {
            Some(true) => return Some(true),
            None => result = None,
            Some(false) => {}
        }
    }
    result
}

fn unknown_in(args: &[Value]) -> Option<Value> {
    args.iter()
        .find_map(Value::deep_unknown)
        .map(|r| unknown(r.to_string()))
}

pub(super) fn strict(lower: &str, name: &str, args: &[Value]) -> Option<Res> {
    Some(match lower {
        "length" => arity(name, args, 1, 1).and_then(|()| match &args[0].kind {
            Kind::String(s) => Ok(int(s.encode_utf16().count() as i64)),
            Kind::Array(items) => Ok(int(items.len() as i64)),
            Kind::Object(props) => Ok(int(super::dedup_props(props).len() as i64)),
            _ => Err(format!(
                "the function `length` takes a string, an array or an object, but got {}",
                args[0].type_name()
            )),
        }),
        "empty" => arity(name, args, 1, 1).and_then(|()| match &args[0].kind {
            Kind::Null => Ok(boolean(true)),
            Kind::String(s) => Ok(boolean(s.is_empty())),
            Kind::Array(items) => Ok(boolean(items.is_empty())),
            Kind::Object(props) => Ok(boolean(props.is_empty())),
            _ => Err(format!(
                "the function `empty` takes a string, an array or an object, but got {}",
                args[0].type_name()
            )),
        }),
        "contains" => arity(name, args, 2, 2).and_then(|()| contains(name, &args[0], &args[1])),
        "first" | "last" => arity(name, args, 1, 1).and_then(|()| {
            let first = lower == "first";
            match &args[0].kind {
                Kind::String(s) => {
                    let units: Vec<u16> = s.encode_utf16().collect();
                    let unit = if first { units.first() } else { units.last() };
                    Ok(string(unit.map_or(String::new(), |u| {
                        String::from_utf16_lossy(std::slice::from_ref(u))
                    })))
                }
                Kind::Array(items) => {
                    let item = if first { items.first() } else { items.last() };
                    Ok(item.cloned().unwrap_or_else(null))
                }
                _ => Err(format!(
                    "the function `{name}` takes a string or an array, but got {}",
                    args[0].type_name()
                )),
            }
        }),
        "skip" | "take" => arity(name, args, 2, 2).and_then(|()| {
            let n = want_int(name, &args[1], "the count")?.max(0);
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            let skip = lower == "skip";
            match &args[0].kind {
                Kind::String(s) => Ok(string(take_units(s, n, skip))),
                Kind::Array(items) => {
                    let n = n.min(items.len());
                    Ok(array(if skip {
                        items[n..].to_vec()
                    } else {
                        items[..n].to_vec()
                    }))
                }
                _ => Err(format!(
                    "the function `{name}` takes a string or an array, but got {}",
                    args[0].type_name()
                )),
            }
        }),
        "range" => arity(name, args, 2, 2).and_then(|()| {
            let start = want_int(name, &args[0], "the start index")?;
            let count = want_int(name, &args[1], "the count")?;
            if !(0..=MAX_RANGE).contains(&count) {
                return Err(format!(
                    "the count of `range` must be between 0 and {MAX_RANGE}, but it is {count}"
                ));
            }
            if start
                .checked_add(count)
                .map_or(true, |end| end > i64::from(i32::MAX) + 1)
            {
                return Err("the start index and count of `range` add up past 2147483647".into());
            }
            Ok(array((start..start + count).map(int).collect()))
        }),
        "array" => arity(name, args, 1, 1).map(|()| match &args[0].kind {
            Kind::Array(_) => args[0].clone(),
            _ => array(vec![args[0].clone()]),
        }),
        "createarray" => check_items(args.len()).map(|()| array(args.to_vec())),
        "flatten" => arity(name, args, 1, 1).and_then(|()| {
            let Kind::Array(items) = &args[0].kind else {
                return Err(format!("the function `{name}` takes an array of arrays"));
            };
            let mut out = Vec::new();
            for item in items {
                match &item.kind {
                    Kind::Array(inner) => {
                        check_items(out.len() + inner.len())?;
                        out.extend(inner.iter().cloned());
                    }
                    Kind::Unknown(r) => return Ok(unknown(r.clone())),
                    _ => return Err(format!("the function `{name}` takes an array of arrays")),
                }
            }
            Ok(array(out))
        }),
        "union" => union(name, args),
        "intersection" => intersection(name, args),
        "indexof" | "lastindexof"
            if matches!(args.first().map(|a| &a.kind), Some(Kind::Array(_))) =>
        {
            arity(name, args, 2, 2).and_then(|()| {
                let Kind::Array(items) = &args[0].kind else {
                    return Err(format!("the function `{name}` takes an array"));
                };
                let order: Box<dyn Iterator<Item = (usize, &Value)>> = if lower == "indexof" {
                    Box::new(items.iter().enumerate())
                } else {
                    Box::new(items.iter().enumerate().rev())
                };
                for (i, item) in order {
                    match equal3(item, &args[1]) {
                        Some(true) => return Ok(int(i as i64)),
                        None => return Ok(unknown_in(args).unwrap_or_else(|| unknown("unknown"))),
                        Some(false) => {}
                    }
                }
                Ok(int(-1))
            })
        }
        "indexfromend" | "tryindexfromend" => arity(name, args, 2, 2).and_then(|()| {
            let Kind::Array(items) = &args[0].kind else {
                return Err(format!("the function `{name}` takes an array"));
            };
            let n = want_int(name, &args[1], "the index")?;
            let pos = usize::try_from(n)
                .ok()
                .filter(|&n| n >= 1 && n <= items.len())
                .map(|n| items.len() - n);
            match pos {
                Some(p) => Ok(items[p].clone()),
                None if lower == "tryindexfromend" => Ok(null()),
                None => Err(format!(
                    "the index {n} from the end is out of range for an array of {} elements",
                    items.len()
                )),
            }
        }),
        _ => return None,
    })
}

fn contains(name: &str, container: &Value, item: &Value) -> Res {
    match (&container.kind, &item.kind) {
        (Kind::String(s), _) => {
            let needle = super::string::scalar_text(item)
                .ok_or_else(|| format!("the function `{name}` looks for a string in a string"))?;
            Ok(boolean(s.contains(&needle)))
        }
        (Kind::Object(props), _) => {
            let key = super::string::scalar_text(item)
                .ok_or_else(|| format!("the function `{name}` looks for a key in an object"))?;
            Ok(boolean(
                props.iter().any(|p| p.name.eq_ignore_ascii_case(&key)),
            ))
        }
        (Kind::Array(items), _) => Ok(match holds(items, item) {
            Some(b) => boolean(b),
            None => unknown_in(std::slice::from_ref(container))
                .or_else(|| unknown_in(std::slice::from_ref(item)))
                .unwrap_or_else(|| unknown("an element is unknown")),
        }),
        (Kind::Null, _) => Ok(boolean(false)),
        _ => Err(format!(
            "the function `{name}` takes a string, an object or an array, but got {}",
            container.type_name()
        )),
    }
}

fn union(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1, usize::MAX)?;
    if args
        .iter()
        .all(|a| matches!(a.kind, Kind::Array(_) | Kind::Null))
    {
        if let Some(u) = unknown_in(args) {
            return Ok(u);
        }
        let mut out: Vec<Value> = Vec::new();
        for a in args {
            if let Kind::Array(items) = &a.kind {
                for item in items {
                    if holds(&out, item) != Some(true) {
                        check_items(out.len() + 1)?;
                        out.push(item.clone());
                    }
                }
            }
        }
        return Ok(array(out));
    }
    if args
        .iter()
        .all(|a| matches!(a.kind, Kind::Object(_) | Kind::Null))
    {
        let mut out: Vec<Property> = Vec::new();
        for a in args {
            if let Kind::Object(props) = &a.kind {
                for p in props {
                    merge_into(&mut out, p, 0)?;
                }
            }
        }
        return Ok(super::known(Kind::Object(out)));
    }
    Err(format!(
        "the function `{name}` takes all arrays or all objects"
    ))
}

/// Merges a property into an object as `union` does: a later value wins,
/// except that two objects merge key by key, at any depth.
fn merge_into(out: &mut Vec<Property>, p: &Property, depth: usize) -> Result<(), String> {
    if depth > 64 {
        return Err("the objects given to `union` are nested too deeply".into());
    }
    match out
        .iter_mut()
        .find(|q| q.name.eq_ignore_ascii_case(&p.name))
    {
        Some(existing) => match (&mut existing.value.kind, &p.value.kind) {
            (Kind::Object(inner), Kind::Object(new)) => {
                for np in new {
                    merge_into(inner, np, depth + 1)?;
                }
                existing.value.origin = None;
            }
            (Kind::Unknown(r), Kind::Object(_)) => {
                existing.value = unknown(r.clone());
            }
            _ => existing.value = p.value.clone(),
        },
        None => {
            check_items(out.len() + 1)?;
            out.push(p.clone());
        }
    }
    Ok(())
}

fn intersection(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2, usize::MAX)?;
    if args.iter().all(|a| matches!(a.kind, Kind::Array(_))) {
        if let Some(u) = unknown_in(args) {
            return Ok(u);
        }
        let mut out: Vec<Value> = Vec::new();
        if let Kind::Array(first) = &args[0].kind {
            for item in first {
                let everywhere = args[1..].iter().all(|a| match &a.kind {
                    Kind::Array(items) => holds(items, item) == Some(true),
                    _ => false,
                });
                if everywhere && holds(&out, item) != Some(true) {
                    out.push(item.clone());
                }
            }
        }
        return Ok(array(out));
    }
    if args.iter().all(|a| matches!(a.kind, Kind::Object(_))) {
        if let Some(u) = unknown_in(args) {
            return Ok(u);
        }
        let mut out = Vec::new();
        if let Kind::Object(first) = &args[0].kind {
            for p in super::dedup_props(first) {
                let everywhere = args[1..].iter().all(|a| {
                    a.get(&p.name)
                        .is_some_and(|v| equal3(v, &p.value) == Some(true))
                });
                if everywhere {
                    out.push((p.name.clone(), p.value.clone()));
                }
            }
        }
        return Ok(object(out));
    }
    Err(format!(
        "the function `{name}` takes all arrays or all objects"
    ))
}

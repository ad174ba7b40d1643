//! Object functions: createObject, shallowMerge, items, objectKeys, tryGet.

use super::{arity, array, check_items, null, object, string, unknown, want_str, Res};
use crate::evaluate::value::{Kind, Value};

pub(super) fn strict(lower: &str, name: &str, args: &[Value]) -> Option<Res> {
    Some(match lower {
        "createobject" => (|| {
            if args.len() % 2 != 0 {
                return Err(format!(
                    "the function `{name}` takes pairs of keys and values, but got {} arguments",
                    args.len()
                ));
            }
            check_items(args.len() / 2)?;
            let mut props = Vec::with_capacity(args.len() / 2);
            for pair in args.chunks(2) {
                if let Kind::Unknown(r) = &pair[0].kind {
                    return Ok(unknown(r.clone()));
                }
                let key = want_str(name, &pair[0], "a key")?;
                props.push((key.to_string(), pair[1].clone()));
            }
            Ok(object(props))
        })(),
        "shallowmerge" => arity(name, args, 1, 1).and_then(|()| {
            let Kind::Array(items) = &args[0].kind else {
                return Err(format!("the function `{name}` takes an array of objects"));
            };
            let mut out: Vec<crate::evaluate::value::Property> = Vec::new();
            for item in items {
                match &item.kind {
                    Kind::Object(props) => {
                        for p in props {
                            match out
                                .iter_mut()
                                .find(|q| q.name.eq_ignore_ascii_case(&p.name))
                            {
                                Some(q) => q.value = p.value.clone(),
                                None => {
                                    check_items(out.len() + 1)?;
                                    out.push(p.clone());
                                }
                            }
                        }
                    }
                    Kind::Null => {}
                    Kind::Unknown(r) => return Ok(unknown(r.clone())),
                    _ => return Err(format!("the function `{name}` takes an array of objects")),
                }
            }
            Ok(super::known(Kind::Object(out)))
        }),
        "items" => arity(name, args, 1, 1).and_then(|()| {
            let Kind::Object(props) = &args[0].kind else {
                return Err(format!("the function `{name}` takes an object"));
            };
            let mut entries: Vec<_> = super::dedup_props(props);
            // Azure returns the entries sorted by key.
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(array(
                entries
                    .into_iter()
                    .map(|p| {
                        object(vec![
                            ("key".into(), string(p.name.clone())),
                            ("value".into(), p.value.clone()),
                        ])
                    })
                    .collect(),
            ))
        }),
        "objectkeys" => arity(name, args, 1, 1).and_then(|()| {
            let Kind::Object(props) = &args[0].kind else {
                return Err(format!("the function `{name}` takes an object"));
            };
            Ok(array(
                super::dedup_props(props)
                    .into_iter()
                    .map(|p| string(p.name.clone()))
                    .collect(),
            ))
        }),
        "tryget" => arity(name, args, 2, usize::MAX).and_then(|()| {
            let mut current = args[0].clone();
            for key in &args[1..] {
                current = match (&current.kind, &key.kind) {
                    (Kind::Unknown(_), _) => return Ok(current),
                    (Kind::Object(_), Kind::String(k)) => {
                        current.get(k).cloned().unwrap_or_else(null)
                    }
                    (Kind::Array(items), Kind::Int(i)) => usize::try_from(*i)
                        .ok()
                        .and_then(|i| items.get(i))
                        .cloned()
                        .unwrap_or_else(null),
                    (Kind::Null, _) => null(),
                    _ => {
                        return Err(format!(
                            "the function `{name}` cannot look up {} in {}",
                            key.type_name(),
                            current.type_name()
                        ))
                    }
                };
            }
            Ok(current)
        }),
        _ => return None,
    })
}

//! Template expansion: from a template (and a parameter file) to the
//! clusters Azure would deploy, with every value the rules read evaluated.
//!
//! A [`Frame`] is one deployment's view: its parameters, variables and user
//! functions, and the copy loops it is inside. It implements the expression
//! engine's [`Context`]. Values are computed lazily and only where the
//! verdict can depend on them, so an unrelated property the engine cannot
//! evaluate does not get in the way.
//!
//! Parameter values come, in order, from the parameter file (or, for a
//! nested deployment in `inner` scope, from its parent), from `defaultValue`,
//! from `null` when the parameter is `nullable`; otherwise the value is
//! Unknown, with a reason that names the parameter and how to supply it.

use std::collections::HashMap;

use crate::parse::{Json, Member, Node, Span};

use super::expr::{parse_expression, Expr, ExprKind};
use super::functions::{self, Context, UserFunction};
use super::value::{classify_string, shorten, FileId, Kind, Origin, Property, StringKind, Value};
use super::{
    Deployed, DeployedResource, Document, EvalError, Evaluation, AGENT_POOLS, MANAGED_CLUSTERS,
};

const DEPLOYMENTS: &str = "Microsoft.Resources/deployments";
/// Azure's limit on a copy loop's count.
pub const MAX_COPY_COUNT: i64 = 800;
/// Nested deployments inside nested deployments, at most.
pub const MAX_DEPLOYMENT_DEPTH: usize = 32;
/// Resource instances one template may expand to, at most (copy loops of
/// nested deployments multiply).
pub const MAX_RESOURCE_INSTANCES: usize = 20_000;

/// Which parts of a cluster the rules read; everything else is left out.
enum Select {
    All,
    Keys(&'static [(&'static str, Select)]),
}

const CLUSTER_SELECT: Select = Select::Keys(&[
    ("name", Select::All),
    ("apiVersion", Select::All),
    (
        "properties",
        Select::Keys(&[
            ("apiServerAccessProfile", Select::All),
            ("apiServerAuthorizedIPRanges", Select::All),
            (
                "networkProfile",
                Select::Keys(&[("loadBalancerSku", Select::All)]),
            ),
            ("agentPoolProfiles", Select::All),
        ]),
    ),
]);

/// What the NodePublicIP check reads of a separate `agentPools` resource.
const AGENT_POOL_SELECT: Select = Select::Keys(&[
    ("name", Select::All),
    (
        "properties",
        Select::Keys(&[
            ("enableNodePublicIP", Select::All),
            ("nodePublicIPPrefixID", Select::All),
            ("nodePublicIPPrefixIDs", Select::All),
        ]),
    ),
]);

/// Expands a template into the clusters it deploys.
pub fn expand(template: Document<'_>, parameters: Option<Document<'_>>) -> Evaluation {
    let mut out = Evaluation::default();
    let mut budget = MAX_RESOURCE_INSTANCES;
    let supplied = parameters
        .map(|p| parameter_file_values(p, &mut out))
        .unwrap_or_default();
    let mut frame = Frame::new(template.root, template.file, supplied, 0, &mut out);
    if let Some(resources) = template.root.get("resources") {
        frame.walk_resources(resources, None, &Deployed::Yes, &mut out, &mut budget);
    }
    out.errors.append(&mut frame.errors);
    attach_agent_pools(&mut out);
    out
}

/// Gives each cluster the `agentPools` resources whose name puts them in it.
fn attach_agent_pools(out: &mut Evaluation) {
    let pools = std::mem::take(&mut out.agent_pools);
    for (cluster, pool) in pools {
        let owner = out
            .resources
            .iter_mut()
            .find(|r| r.name.eq_ignore_ascii_case(&cluster));
        if let Some(owner) = owner {
            owner.agent_pools.push(pool);
        }
    }
}

/// A value given for a parameter from outside the template.
struct Supplied {
    /// The name as written where the value was given.
    name: String,
    value: Value,
    /// Set for parameter-file values, which are checked against the declared type.
    from_file: bool,
}

/// Reads the `parameters` of a parameter file: literal values, or Key Vault
/// references, which are only known at deployment.
fn parameter_file_values(doc: Document<'_>, out: &mut Evaluation) -> HashMap<String, Supplied> {
    let Some(params) = doc.root.get("parameters") else {
        return HashMap::new();
    };
    let Some(members) = params.as_object() else {
        out.errors.push(EvalError {
            origin: Origin {
                file: doc.file,
                span: params.span,
            },
            message: "`parameters` in a parameter file must be an object".into(),
        });
        return HashMap::new();
    };
    supplied_values(members, doc.file, true, |v| Value::literal(v, doc.file))
}

/// The values given for parameters, by lowercased name: `{"value": ...}`
/// through `value_of` (a literal in a parameter file, evaluated in the parent
/// for a nested deployment), or a Key Vault reference, known only during the
/// deployment. Entries with neither are not given.
fn supplied_values(
    members: &[Member],
    file: FileId,
    from_file: bool,
    mut value_of: impl FnMut(&Node) -> Value,
) -> HashMap<String, Supplied> {
    let mut values = HashMap::new();
    for m in members {
        let value = if let Some(v) = m.value.get("value") {
            value_of(v)
        } else if m.value.get("reference").is_some() {
            let place = if from_file {
                " in the parameter file"
            } else {
                ""
            };
            Value::unknown(
                format!(
                    "parameter `{}` is a Key Vault reference{place}, known only during the deployment",
                    m.key
                ),
                Some(Origin { file, span: m.value.span }),
            )
        } else {
            continue;
        };
        values.insert(
            m.key.to_ascii_lowercase(),
            Supplied {
                name: m.key.clone(),
                value,
                from_file,
            },
        );
    }
    values
}

enum ParamState<'t> {
    Resolved(Value),
    /// Not computed yet: the default expression.
    Default(&'t Node),
    /// Being computed: a default that refers to itself.
    Busy,
}

enum VarDef<'t> {
    Node(&'t Node),
    /// A variable made by a variable `copy` entry.
    Copy {
        count: &'t Node,
        input: &'t Node,
        name: String,
    },
}

enum VarState {
    Resolved(Value),
    Busy,
}

/// One deployment's view of names and loops.
struct Frame<'t> {
    file: FileId,
    params: HashMap<String, (String, ParamState<'t>)>,
    variables: HashMap<String, VarDef<'t>>,
    var_states: HashMap<String, VarState>,
    functions: HashMap<String, UserFunction>,
    /// Copy loops we are inside, innermost last: (name, index).
    loops: Vec<(String, Value)>,
    /// Evaluated names of the clusters whose child `resources` we are in,
    /// innermost last (a child's short name is relative to its parent's).
    parent_names: Vec<String>,
    depth: usize,
    errors: Vec<EvalError>,
}

impl<'t> Frame<'t> {
    fn new(
        template: &'t Node,
        file: FileId,
        mut supplied: HashMap<String, Supplied>,
        depth: usize,
        out: &mut Evaluation,
    ) -> Self {
        let mut frame = Frame {
            file,
            params: HashMap::new(),
            variables: HashMap::new(),
            var_states: HashMap::new(),
            functions: HashMap::new(),
            loops: Vec::new(),
            parent_names: Vec::new(),
            depth,
            errors: Vec::new(),
        };
        for m in template
            .get("parameters")
            .and_then(Node::as_object)
            .unwrap_or(&[])
        {
            let key = m.key.to_ascii_lowercase();
            let state = match supplied.remove(&key) {
                Some(s) => {
                    if s.from_file {
                        frame.check_type(&m.key, &m.value, &s.value, out);
                    }
                    ParamState::Resolved(s.value)
                }
                None => match m.value.get("defaultValue") {
                    Some(default) => ParamState::Default(default),
                    None if is_true(m.value.get("nullable")) => {
                        ParamState::Resolved(Value::new(Kind::Null, None))
                    }
                    None => ParamState::Resolved(Value::unknown(
                        if depth == 0 {
                            format!(
                                "parameter `{}` has no value: give it in a parameter file, or a defaultValue in the template",
                                m.key
                            )
                        } else {
                            format!(
                                "parameter `{}` of a nested template has no value: pass it in the deployment's `parameters`, or give it a defaultValue",
                                m.key
                            )
                        },
                        Some(frame.origin(m.key_span)),
                    )),
                },
            };
            frame.params.insert(key, (m.key.clone(), state));
        }
        // Azure rejects a deployment that sets a parameter the template does
        // not declare.
        let mut undeclared: Vec<Supplied> = supplied.into_values().collect();
        undeclared.sort_by(|a, b| a.name.cmp(&b.name));
        for given in undeclared {
            let name = &given.name;
            if let Some(origin) = given.value.origin {
                let from = if given.from_file {
                    "the parameter file"
                } else {
                    "the deployment"
                };
                out.errors.push(EvalError {
                    origin,
                    message: format!(
                        "{from} sets parameter `{name}`, which the template does not declare; Azure rejects the deployment"
                    ),
                });
            }
        }
        if let Some(vars) = template.get("variables").and_then(Node::as_object) {
            for m in vars {
                if m.key.eq_ignore_ascii_case("copy") {
                    for entry in m.value.as_array().unwrap_or(&[]) {
                        let (Some(name), Some(count), Some(input)) = (
                            entry.get("name").and_then(Node::as_str),
                            entry.get("count"),
                            entry.get("input"),
                        ) else {
                            frame.error(
                                entry.span,
                                "a variable `copy` entry needs `name`, `count` and `input`",
                            );
                            continue;
                        };
                        frame.variables.insert(
                            name.to_ascii_lowercase(),
                            VarDef::Copy {
                                count,
                                input,
                                name: name.to_string(),
                            },
                        );
                    }
                } else {
                    frame
                        .variables
                        .insert(m.key.to_ascii_lowercase(), VarDef::Node(&m.value));
                }
            }
        }
        frame.read_functions(template);
        frame
    }

    fn origin(&self, span: Span) -> Origin {
        Origin {
            file: self.file,
            span,
        }
    }

    fn error(&mut self, span: Span, message: impl Into<String>) {
        self.errors.push(EvalError {
            origin: self.origin(span),
            message: message.into(),
        });
    }

    /// A parameter-file value of the wrong type fails the deployment.
    fn check_type(&mut self, name: &str, declaration: &Node, value: &Value, out: &mut Evaluation) {
        let Some(declared) = declaration.get("type").and_then(Node::as_str) else {
            return;
        };
        let ok = match (declared.to_ascii_lowercase().as_str(), &value.kind) {
            (_, Kind::Unknown(_)) => true,
            ("string" | "securestring", Kind::String(_)) => true,
            ("int", Kind::Int(_)) => true,
            ("bool", Kind::Bool(_)) => true,
            ("array", Kind::Array(_)) => true,
            ("object" | "secureobject", Kind::Object(_)) => true,
            // A nullable parameter takes null.
            (_, Kind::Null) => is_true(declaration.get("nullable")),
            (
                "string" | "securestring" | "int" | "bool" | "array" | "object" | "secureobject",
                _,
            ) => false,
            _ => true,
        };
        if !ok {
            if let Some(origin) = value.origin {
                out.errors.push(EvalError {
                    origin,
                    message: format!(
                        "parameter `{name}` is declared `{declared}` in the template, but the parameter file gives {}",
                        value.type_name()
                    ),
                });
            }
        }
    }

    fn read_functions(&mut self, template: &'t Node) {
        for namespace in template
            .get("functions")
            .and_then(Node::as_array)
            .unwrap_or(&[])
        {
            let Some(ns) = namespace.get("namespace").and_then(Node::as_str) else {
                continue;
            };
            for m in namespace
                .get("members")
                .and_then(Node::as_object)
                .unwrap_or(&[])
            {
                let parameters = m
                    .value
                    .get("parameters")
                    .and_then(Node::as_array)
                    .unwrap_or(&[])
                    .iter()
                    .filter_map(|p| p.get("name").and_then(Node::as_str).map(str::to_string))
                    .collect();
                let Some(output) = m.value.get("output").and_then(|o| o.get("value")) else {
                    continue;
                };
                let expr = match output.as_str().map(|s| (s, classify_string(s))) {
                    Some((s, StringKind::Expression)) => match parse_expression(s) {
                        Ok(e) => e,
                        Err(e) => {
                            self.error(
                                output.span,
                                format!("syntax error in function `{ns}.{}`: {e}", m.key),
                            );
                            continue;
                        }
                    },
                    _ => Expr::new(ExprKind::Value(Value::literal(output, self.file)), 0, 0),
                };
                self.functions.insert(
                    format!("{ns}.{}", m.key).to_ascii_lowercase(),
                    UserFunction {
                        parameters,
                        output: expr,
                    },
                );
            }
        }
    }

    /// Evaluates a JSON node: expressions are evaluated, objects and arrays
    /// element by element (with property `copy`), literals kept.
    fn eval_node(&mut self, node: &Node) -> Value {
        self.eval_selected(node, &Select::All)
    }

    fn eval_selected(&mut self, node: &Node, select: &Select) -> Value {
        let origin = Some(self.origin(node.span));
        match &node.value {
            Json::String(s) => self.eval_string(node, s),
            Json::Array(items) => Value::new(
                Kind::Array(items.iter().map(|n| self.eval_node(n)).collect()),
                origin,
            ),
            Json::Object(members) => {
                let mut props: Vec<Property> = Vec::new();
                for m in members {
                    if m.key.eq_ignore_ascii_case("copy") && m.value.as_array().is_some() {
                        self.property_copy(&m.value, select, &mut props);
                        continue;
                    }
                    let child_select = match select {
                        Select::All => &Select::All,
                        Select::Keys(keys) => {
                            match keys.iter().find(|(k, _)| k.eq_ignore_ascii_case(&m.key)) {
                                Some((_, s)) => s,
                                None => continue,
                            }
                        }
                    };
                    let name = match classify_string(&m.key) {
                        StringKind::Expression => {
                            let key_node = Node {
                                value: Json::String(m.key.clone()),
                                span: m.key_span,
                            };
                            match self.eval_string(&key_node, &m.key).kind {
                                Kind::String(s) => s,
                                // An unknown key cannot be looked up; keep its text.
                                _ => m.key.clone(),
                            }
                        }
                        StringKind::Escaped => m.key[1..].to_string(),
                        StringKind::Literal => m.key.clone(),
                    };
                    let value = self.eval_selected(&m.value, child_select);
                    props.push(Property {
                        name,
                        name_origin: Some(self.origin(m.key_span)),
                        value,
                    });
                }
                Value::new(Kind::Object(props), origin)
            }
            _ => Value::literal(node, self.file),
        }
    }

    fn eval_string(&mut self, node: &Node, s: &str) -> Value {
        let origin = Some(self.origin(node.span));
        match classify_string(s) {
            StringKind::Literal => Value::new(Kind::String(s.to_string()), origin),
            StringKind::Escaped => Value::new(Kind::String(s[1..].to_string()), origin),
            StringKind::Expression => {
                let expr = match parse_expression(s) {
                    Ok(expr) => expr,
                    Err(e) => {
                        self.errors.push(EvalError {
                            origin: self.origin(inner_span(node, e.offset, e.offset + 1)),
                            message: format!(
                                "the expression `{}` does not parse: {}",
                                shorten(s, 80),
                                e.message
                            ),
                        });
                        return Value::unknown(
                            format!("the expression `{}` does not parse", shorten(s, 80)),
                            origin,
                        );
                    }
                };
                match functions::eval(&expr, self) {
                    Ok(mut v) => {
                        if v.origin.is_none() {
                            v.origin = origin;
                        }
                        v
                    }
                    Err(e) => {
                        self.errors.push(EvalError {
                            origin: self.origin(inner_span(node, e.start, e.end)),
                            message: format!(
                                "the expression `{}` fails: {}",
                                shorten(s, 80),
                                e.message
                            ),
                        });
                        Value::unknown(
                            format!("the expression `{}` fails: {}", shorten(s, 80), e.message),
                            origin,
                        )
                    }
                }
            }
        }
    }

    /// Property iteration: `"copy": [{"name", "count", "input"}]` inside
    /// `properties` makes the property `name` an array of `count` inputs.
    fn property_copy(&mut self, entries: &Node, select: &Select, props: &mut Vec<Property>) {
        for entry in entries.as_array().unwrap_or(&[]) {
            let (Some(name), Some(count), Some(input)) = (
                entry.get("name").and_then(Node::as_str),
                entry.get("count"),
                entry.get("input"),
            ) else {
                self.error(
                    entry.span,
                    "a property `copy` entry needs `name`, `count` and `input`",
                );
                continue;
            };
            let child_select = match select {
                Select::All => &Select::All,
                Select::Keys(keys) => match keys.iter().find(|(k, _)| k.eq_ignore_ascii_case(name))
                {
                    Some((_, s)) => s,
                    None => continue,
                },
            };
            let value = self.copy_array(name, count, input, child_select);
            props.push(Property {
                name: name.to_string(),
                name_origin: Some(self.origin(entry.span)),
                value,
            });
        }
    }

    /// `count` copies of `input`, with `copyIndex(name)` counting them.
    fn copy_array(&mut self, name: &str, count: &Node, input: &Node, select: &Select) -> Value {
        let origin = Some(self.origin(input.span));
        match self.copy_count(count) {
            Ok(n) => {
                let mut items = Vec::new();
                for i in 0..n {
                    self.loops
                        .push((name.to_ascii_lowercase(), Value::computed(Kind::Int(i))));
                    items.push(self.eval_selected(input, select));
                    self.loops.pop();
                }
                Value::new(Kind::Array(items), origin)
            }
            Err(reason) => Value::unknown(reason, origin),
        }
    }

    /// A copy loop's count: a whole number from 0 to 800, or why not.
    fn copy_count(&mut self, count: &Node) -> Result<i64, String> {
        let value = self.eval_node(count);
        match value.kind {
            Kind::Int(n) if (0..=MAX_COPY_COUNT).contains(&n) => Ok(n),
            Kind::Int(n) => {
                self.error(
                    count.span,
                    format!("a copy count must be between 0 and {MAX_COPY_COUNT}, not {n}"),
                );
                Err(format!("the copy count {n} is out of range"))
            }
            Kind::Unknown(reason) => Err(format!("the number of copies is unknown: {reason}")),
            _ => {
                self.error(
                    count.span,
                    format!("a copy count must be an integer, not {}", value.type_name()),
                );
                Err("the copy count is not an integer".into())
            }
        }
    }

    fn walk_resources(
        &mut self,
        resources: &'t Node,
        parent_type: Option<&str>,
        inherited: &Deployed,
        out: &mut Evaluation,
        budget: &mut usize,
    ) {
        let items: Vec<&'t Node> = match &resources.value {
            Json::Array(items) => items.iter().collect(),
            // languageVersion 2.0: resources keyed by symbolic name.
            Json::Object(members) => members.iter().map(|m| &m.value).collect(),
            _ => {
                self.error(
                    resources.span,
                    "`resources` must be an array, or an object keyed by symbolic name",
                );
                return;
            }
        };
        for resource in items {
            self.walk_resource(resource, parent_type, inherited, out, budget);
        }
    }

    fn walk_resource(
        &mut self,
        resource: &'t Node,
        parent_type: Option<&str>,
        inherited: &Deployed,
        out: &mut Evaluation,
        budget: &mut usize,
    ) {
        if resource.as_object().is_none() {
            self.error(resource.span, "a resource must be an object");
            return;
        }
        // `existing` resources are references to resources deployed elsewhere.
        if is_true(resource.get("existing")) {
            return;
        }
        let Some(copy) = resource.get("copy") else {
            self.instance(resource, parent_type, inherited, out, budget);
            return;
        };
        let name = copy
            .get("name")
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let Some(count) = copy.get("count") else {
            self.error(copy.span, "a resource `copy` needs a `count`");
            return;
        };
        match self.copy_count(count) {
            Ok(n) => {
                for i in 0..n {
                    self.loops
                        .push((name.clone(), Value::computed(Kind::Int(i))));
                    self.instance(resource, parent_type, inherited, out, budget);
                    self.loops.pop();
                }
            }
            Err(reason) => {
                // One instance stands for all of them; its index is unknown.
                let deployed = Deployed::Unknown(reason.clone());
                self.loops.push((name, Value::unknown(reason, None)));
                self.instance(resource, parent_type, &deployed, out, budget);
                self.loops.pop();
            }
        }
    }

    /// One instance of a resource (one iteration of its copy loop).
    fn instance(
        &mut self,
        resource: &'t Node,
        parent_type: Option<&str>,
        inherited: &Deployed,
        out: &mut Evaluation,
        budget: &mut usize,
    ) {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        if *budget == 0 {
            self.error(
                resource.span,
                format!("the template expands to more than {MAX_RESOURCE_INSTANCES} resources; the rest was not evaluated"),
            );
            return;
        }
        let deployed = match resource.get("condition") {
            None => inherited.clone(),
            Some(condition) => {
                let value = self.eval_node(condition);
                match &value.kind {
                    Kind::Bool(false) => return,
                    Kind::String(s) if s.eq_ignore_ascii_case("false") => return,
                    Kind::Unknown(reason) => Deployed::Unknown(format!(
                        "the resource is deployed only when its `condition` holds, and {reason}"
                    )),
                    _ => inherited.clone(),
                }
            }
        };
        let declared_type = resource.get("type").and_then(Node::as_str).unwrap_or("");
        let declared_type = declared_type.trim_end_matches('/');
        let full_type = match parent_type {
            Some(parent) if !declared_type.contains('/') => format!("{parent}/{declared_type}"),
            _ => declared_type.to_string(),
        };

        if full_type.eq_ignore_ascii_case(MANAGED_CLUSTERS) {
            let body = self.eval_selected(resource, &CLUSTER_SELECT);
            let raw_name = resource.get("name").and_then(Node::as_str).unwrap_or("");
            let name = match body.get("name").map(|n| &n.kind) {
                Some(Kind::String(s)) => s.clone(),
                _ => raw_name.to_string(),
            };
            out.resources.push(DeployedResource {
                resource_type: declared_type.to_string(),
                name: name.clone(),
                declared_name: raw_name.to_string(),
                body,
                written: Value::literal(resource, self.file),
                origin: self.origin(resource.span),
                deployed: deployed.clone(),
                agent_pools: Vec::new(),
            });
            // Its child resources are named after it.
            if let Some(children) = resource.get("resources") {
                self.parent_names.push(name);
                self.walk_resources(children, Some(&full_type), &deployed, out, budget);
                self.parent_names.pop();
            }
            return;
        }

        // A node pool of its own: `cluster/pool` at the top level, `pool`
        // inside its cluster's `resources`. Only a pool surely deployed, with
        // a name that says which cluster, is handed to the rules.
        if full_type.eq_ignore_ascii_case(AGENT_POOLS) && deployed == Deployed::Yes {
            let body = self.eval_selected(resource, &AGENT_POOL_SELECT);
            let cluster = match (body.get("name").map(|n| &n.kind), parent_type) {
                (Some(Kind::String(name)), Some(_)) => self
                    .parent_names
                    .last()
                    .cloned()
                    .filter(|_| !name.contains('/')),
                (Some(Kind::String(name)), None) => {
                    name.split_once('/').map(|(c, _)| c.to_string())
                }
                _ => None,
            };
            if let Some(cluster) = cluster {
                out.agent_pools.push((cluster.to_ascii_lowercase(), body));
            }
        }

        if full_type.eq_ignore_ascii_case(DEPLOYMENTS) {
            self.nested(resource, &deployed, out, budget);
        }

        if let Some(children) = resource.get("resources") {
            self.walk_resources(children, Some(&full_type), &deployed, out, budget);
        }
    }

    /// A nested deployment: an inline template in `outer` scope (the
    /// parent's names) or `inner` scope (its own, with parameters passed in).
    fn nested(
        &mut self,
        resource: &'t Node,
        deployed: &Deployed,
        out: &mut Evaluation,
        budget: &mut usize,
    ) {
        let Some(properties) = resource.get("properties") else {
            return;
        };
        let Some(template) = properties
            .get("template")
            .filter(|t| t.as_object().is_some())
        else {
            if let Some(link) = properties.get("templateLink") {
                out.notices.push(EvalError {
                    origin: self.origin(link.span),
                    message: "this nested deployment links to a template by URI (`templateLink`), which is not followed: clusters in it are not judged".into(),
                });
            }
            return;
        };
        if self.depth + 1 > MAX_DEPLOYMENT_DEPTH {
            self.error(resource.span, format!("nested deployments deeper than {MAX_DEPLOYMENT_DEPTH} levels are not evaluated"));
            return;
        }
        let inner = properties
            .get("expressionEvaluationOptions")
            .and_then(|o| o.get("scope"))
            .and_then(Node::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("inner"));
        let Some(resources) = template.get("resources") else {
            return;
        };
        if !inner {
            // Same names, one level deeper: the depth limit counts it too.
            self.depth += 1;
            self.walk_resources(resources, None, deployed, out, budget);
            self.depth -= 1;
            return;
        }
        let given = properties
            .get("parameters")
            .and_then(Node::as_object)
            .unwrap_or(&[]);
        let file = self.file;
        let supplied = supplied_values(given, file, false, |v| self.eval_node(v));
        let mut child = Frame::new(template, self.file, supplied, self.depth + 1, out);
        child.walk_resources(resources, None, deployed, out, budget);
        self.errors.append(&mut child.errors);
    }
}

impl Context for Frame<'_> {
    fn parameter(&mut self, name: &str) -> Result<Value, String> {
        let key = name.to_ascii_lowercase();
        let Some((declared, state)) = self.params.get_mut(&key) else {
            return Err(format!("the template declares no parameter `{name}`"));
        };
        let declared = declared.clone();
        match std::mem::replace(state, ParamState::Busy) {
            ParamState::Resolved(v) => {
                self.params
                    .insert(key, (declared, ParamState::Resolved(v.clone())));
                Ok(v)
            }
            ParamState::Busy => Err(format!(
                "the default value of parameter `{declared}` refers to itself"
            )),
            ParamState::Default(node) => {
                let value = self.eval_node(node);
                self.params
                    .insert(key, (declared, ParamState::Resolved(value.clone())));
                Ok(value)
            }
        }
    }

    fn variable(&mut self, name: &str) -> Result<Value, String> {
        let key = name.to_ascii_lowercase();
        match self.var_states.get(&key) {
            Some(VarState::Resolved(v)) => return Ok(v.clone()),
            Some(VarState::Busy) => return Err(format!("variable `{name}` refers to itself")),
            None => {}
        }
        let Some(def) = self.variables.get(&key) else {
            return Err(format!("the template declares no variable `{name}`"));
        };
        let def = match def {
            VarDef::Node(n) => VarDef::Node(n),
            VarDef::Copy { count, input, name } => VarDef::Copy {
                count,
                input,
                name: name.clone(),
            },
        };
        self.var_states.insert(key.clone(), VarState::Busy);
        // A variable does not see the copy loops of the place that uses it.
        let loops = std::mem::take(&mut self.loops);
        let value = match def {
            VarDef::Node(node) => self.eval_node(node),
            VarDef::Copy { count, input, name } => {
                self.copy_array(&name, count, input, &Select::All)
            }
        };
        self.loops = loops;
        self.var_states
            .insert(key, VarState::Resolved(value.clone()));
        Ok(value)
    }

    fn copy_index(&mut self, loop_name: Option<&str>) -> Result<Value, String> {
        let found = match loop_name {
            None => self.loops.last(),
            Some(name) => self
                .loops
                .iter()
                .rev()
                .find(|(n, _)| n.eq_ignore_ascii_case(name)),
        };
        match (found, loop_name) {
            (Some((_, index)), _) => Ok(index.clone()),
            (None, Some(name)) => Err(format!(
                "copyIndex('{name}') is used outside a copy loop of that name"
            )),
            (None, None) => Err("copyIndex() is used outside a copy loop".into()),
        }
    }

    fn user_function(&self, name: &str) -> Option<UserFunction> {
        self.functions.get(&name.to_ascii_lowercase()).cloned()
    }
}

fn is_true(node: Option<&Node>) -> bool {
    matches!(node.map(|n| &n.value), Some(Json::Bool(true)))
}

/// The span, in the file, of bytes `start..end` of an expression string held
/// in `node`. Exact when the string has no JSON escapes before `end`;
/// otherwise a few bytes early, still on the right string.
fn inner_span(node: &Node, start: usize, end: usize) -> Span {
    let base = node.span.start as usize + 1;
    let limit = node.span.end as usize;
    let s = (base + start).min(limit);
    let e = (base + end).clamp(s, limit);
    Span::new(s, e)
}

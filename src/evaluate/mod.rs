//! Stage 3: turn a template (and, optionally, one parameter file) into the
//! resources Azure would deploy, as values.
//!
//! This version reads values literally: any `[...]` expression becomes
//! `Unknown`, with a reason that names the expression, so the rule can say
//! "unknown" instead of guessing. The expression engine replaces this.

pub mod expr;
pub mod functions;
pub mod value;

pub use value::{classify_string, shorten, FileId, Kind, Origin, Property, StringKind, Value};

use crate::parse::{Json, Node};

/// The AKS resource type, compared case-insensitively.
pub const MANAGED_CLUSTERS: &str = "Microsoft.ContainerService/managedClusters";
const DEPLOYMENTS: &str = "Microsoft.Resources/deployments";

/// Whether a resource is deployed, as far as its `condition` tells.
#[derive(Debug, Clone, PartialEq)]
pub enum Deployed {
    Yes,
    /// The condition is an expression we cannot decide; the reason says which.
    Unknown(String),
}

/// One resource the template would deploy.
#[derive(Debug, Clone)]
pub struct DeployedResource {
    /// Full type, for child resources including the parent's.
    pub resource_type: String,
    /// The evaluated name, or the name's text when it cannot be evaluated.
    pub name: String,
    /// The whole resource declaration as a value.
    pub body: Value,
    /// The resource object in the template.
    pub origin: Origin,
    pub deployed: Deployed,
}

/// A problem in the template that stops part of it from being evaluated.
#[derive(Debug, Clone)]
pub struct EvalError {
    pub origin: Origin,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Evaluation {
    pub resources: Vec<DeployedResource>,
    pub errors: Vec<EvalError>,
}

/// A parsed template or parameter file and its place in the file table.
#[derive(Clone, Copy)]
pub struct Document<'a> {
    pub root: &'a Node,
    pub file: FileId,
}

/// Finds the AKS clusters a template deploys. `_parameters` is the linked
/// parameter file, if any; literal reading does not use its values yet.
pub fn evaluate(template: Document<'_>, _parameters: Option<Document<'_>>) -> Evaluation {
    let mut evaluation = Evaluation::default();
    if let Some(resources) = template.root.get("resources") {
        walk_resources(
            resources,
            None,
            &Deployed::Yes,
            template.file,
            &mut evaluation,
        );
    }
    evaluation
}

fn walk_resources(
    resources: &Node,
    parent_type: Option<&str>,
    inherited: &Deployed,
    file: FileId,
    out: &mut Evaluation,
) {
    match &resources.value {
        Json::Array(items) => {
            for item in items {
                walk_resource(item, parent_type, inherited, file, out);
            }
        }
        // languageVersion 2.0: resources keyed by symbolic name.
        Json::Object(members) => {
            for member in members {
                walk_resource(&member.value, parent_type, inherited, file, out);
            }
        }
        _ => out.errors.push(EvalError {
            origin: Origin {
                file,
                span: resources.span,
            },
            message: "`resources` must be an array, or an object keyed by symbolic name".into(),
        }),
    }
}

fn walk_resource(
    resource: &Node,
    parent_type: Option<&str>,
    inherited: &Deployed,
    file: FileId,
    out: &mut Evaluation,
) {
    if resource.as_object().is_none() {
        out.errors.push(EvalError {
            origin: Origin {
                file,
                span: resource.span,
            },
            message: "a resource must be an object".into(),
        });
        return;
    }
    // `existing` resources are references to resources deployed elsewhere.
    if matches!(
        resource.get("existing").map(|n| &n.value),
        Some(Json::Bool(true))
    ) {
        return;
    }
    let deployed = match deployed_by_condition(resource, file) {
        None => return,
        Some(Deployed::Unknown(reason)) => Deployed::Unknown(reason),
        Some(Deployed::Yes) => inherited.clone(),
    };
    let declared_type = resource.get("type").and_then(Node::as_str).unwrap_or("");
    let full_type = match parent_type {
        Some(parent) if !declared_type.contains('/') => format!("{parent}/{declared_type}"),
        _ => declared_type.to_string(),
    };

    if full_type.eq_ignore_ascii_case(MANAGED_CLUSTERS) {
        let name = match resource.get("name").and_then(Node::as_str) {
            Some(name) => match classify_string(name) {
                StringKind::Escaped => name[1..].to_string(),
                _ => name.to_string(),
            },
            None => String::new(),
        };
        out.resources.push(DeployedResource {
            resource_type: declared_type.to_string(),
            name,
            body: Value::literal(resource, file),
            origin: Origin {
                file,
                span: resource.span,
            },
            deployed: deployed.clone(),
        });
    }

    // Inline nested deployments carry a whole template.
    if full_type.eq_ignore_ascii_case(DEPLOYMENTS) {
        if let Some(nested) = resource
            .get("properties")
            .and_then(|p| p.get("template"))
            .and_then(|t| t.get("resources"))
        {
            walk_resources(nested, None, &deployed, file, out);
        }
    }

    // Child resources declared inside their parent.
    if let Some(children) = resource.get("resources") {
        walk_resources(children, Some(&full_type), &deployed, file, out);
    }
}

/// `None` when the condition is literally false (the resource is not
/// deployed), otherwise whether it is deployed.
fn deployed_by_condition(resource: &Node, file: FileId) -> Option<Deployed> {
    let Some(condition) = resource.get("condition") else {
        return Some(Deployed::Yes);
    };
    match Value::literal(condition, file).kind {
        Kind::Bool(false) => None,
        Kind::String(s) if s.eq_ignore_ascii_case("false") => None,
        Kind::Unknown(reason) => Some(Deployed::Unknown(format!(
            "the resource is deployed only when its `condition` holds, and {reason}"
        ))),
        _ => Some(Deployed::Yes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    fn clusters(text: &str) -> Evaluation {
        let root = parse(text).expect("parse");
        evaluate(
            Document {
                root: &root,
                file: FileId(0),
            },
            None,
        )
    }

    #[test]
    fn finds_clusters_everywhere_they_can_be_declared() {
        let text = r#"{
          "resources": [
            {"type": "microsoft.containerservice/MANAGEDCLUSTERS", "name": "a"},
            {"type": "Microsoft.ContainerService/managedClusters", "name": "ref", "existing": true},
            {"type": "Microsoft.ContainerService/managedClusters", "name": "off", "condition": false},
            {"type": "Microsoft.ContainerService/managedClusters", "name": "maybe", "condition": "[parameters('on')]"},
            {"type": "Microsoft.Resources/deployments", "name": "nested",
             "properties": {"template": {"resources": {
               "sym": {"type": "Microsoft.ContainerService/managedClusters", "name": "inner"}}}}}
          ]
        }"#;
        let e = clusters(text);
        let names: Vec<_> = e.resources.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a", "maybe", "inner"]);
        assert!(matches!(e.resources[1].deployed, Deployed::Unknown(_)));
        assert_eq!(e.resources[2].deployed, Deployed::Yes);
    }

    #[test]
    fn a_broken_resources_section_is_an_error() {
        let e = clusters(r#"{"resources": "nope"}"#);
        assert_eq!(e.errors.len(), 1);
    }
}

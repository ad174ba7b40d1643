//! Stage 3: turn a template (and, optionally, one parameter file) into the
//! resources Azure would deploy, as values.
//!
//! [`expr`] parses ARM expressions, [`functions`] evaluates them with
//! Azure's semantics, and [`template`] expands a template: parameters,
//! variables, copy loops, conditions and nested deployments. What cannot be
//! known before deployment is [`Kind::Unknown`] with a reason, so the rule
//! can say "unknown" instead of guessing.

pub mod expr;
pub mod functions;
pub mod template;
pub mod value;

pub use value::{classify_string, shorten, FileId, Kind, Origin, Property, StringKind, Value};

use crate::parse::Node;

/// The AKS resource type, compared case-insensitively.
pub const MANAGED_CLUSTERS: &str = "Microsoft.ContainerService/managedClusters";
/// Node pools declared as resources of their own, beside the cluster's
/// `agentPoolProfiles` (Bicep modules often do this).
pub const AGENT_POOLS: &str = "Microsoft.ContainerService/managedClusters/agentPools";

/// Whether a resource is deployed, as far as its `condition` tells.
#[derive(Debug, Clone, PartialEq)]
pub enum Deployed {
    Yes,
    /// The condition (or a copy count) depends on a value we cannot know;
    /// the reason says which.
    Unknown(String),
}

/// One resource the template would deploy.
#[derive(Debug, Clone)]
pub struct DeployedResource {
    /// The type as declared (a child's may be short; see the walker).
    pub resource_type: String,
    /// The evaluated name, or the name's text when it cannot be evaluated.
    pub name: String,
    /// The name as written in the template (an expression stays as text):
    /// the same for every parameter file and copy, so fingerprints are too.
    pub declared_name: String,
    /// The parts of the resource the rules read, evaluated.
    pub body: Value,
    /// The resource as written, unevaluated: where each property's text is,
    /// for pointing at the place an evaluated value flowed through.
    pub written: Value,
    /// The resource object in the template.
    pub origin: Origin,
    pub deployed: Deployed,
    /// The cluster's node pools declared as `agentPools` resources of the
    /// same deployment (surely deployed, name matched to this cluster):
    /// each the evaluated `name` and the `properties` the rules read.
    pub agent_pools: Vec<Value>,
}

/// A problem in a template or parameter file, at a place in it.
#[derive(Debug, Clone)]
pub struct EvalError {
    pub origin: Origin,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Evaluation {
    pub resources: Vec<DeployedResource>,
    /// `agentPools` resources, by the lowercased name of the cluster they
    /// belong to; [`template::expand`] hands them to their clusters.
    pub agent_pools: Vec<(String, Value)>,
    /// What Azure would reject: these make the run exit 2.
    pub errors: Vec<EvalError>,
    /// What was not followed (linked templates): reported, not failing.
    pub notices: Vec<EvalError>,
}

/// A parsed template or parameter file and its place in the file table.
#[derive(Clone, Copy)]
pub struct Document<'a> {
    pub root: &'a Node,
    pub file: FileId,
}

/// Finds the AKS clusters a template deploys, evaluated with the values of
/// `parameters` (a parameter file), or with the template's defaults.
pub fn evaluate(template: Document<'_>, parameters: Option<Document<'_>>) -> Evaluation {
    template::expand(template, parameters)
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
          "parameters": {"on": {"type": "bool"}},
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

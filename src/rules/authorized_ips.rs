//! `Azure.AKS.AuthorizedIPs` (PSRule ref AZR-000030): a cluster that is not
//! private must restrict its API server to authorized IP ranges. This file
//! decides the outcome for a cluster and calls the checks on the ranges
//! themselves (`ranges.rs`) and on the cluster settings they depend on
//! (`cluster_config.rs`). Documentation: `docs/Azure.AKS.AuthorizedIPs.md`.

use crate::evaluate::{shorten, Deployed, DeployedResource, Kind, Origin, Value};
use crate::findings::{Change, Finding, FixIntent, Level, Outcome, Related, Safety};

use super::ranges::OUTBOUND_ONLY;
use super::{cluster_config, ranges, AUTHORIZED_IPS, INVALID_RANGE, PRIVATE_CLUSTER};

/// Settings a user can change.
#[derive(Debug, Clone)]
pub struct RuleSettings {
    /// `Broad` flags an entry whose prefix is shorter than this (wider range).
    pub broad_prefix: u8,
}

impl Default for RuleSettings {
    fn default() -> Self {
        RuleSettings { broad_prefix: 8 }
    }
}

/// The verdict on one cluster.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub outcome: Outcome,
    /// For `unknown`: which value decides and how to supply it.
    pub reason: Option<String>,
    pub findings: Vec<Finding>,
    /// The outcome and reason when no error-level finding counts (the
    /// configuration turned it off, lowered it or suppressed it): pass,
    /// unknown, or not-applicable for a private cluster.
    pub without_errors: (Outcome, Option<String>),
}

impl Judgement {
    fn unknown(reason: String) -> Self {
        Judgement {
            outcome: Outcome::Unknown,
            reason: Some(reason.clone()),
            findings: Vec::new(),
            without_errors: (Outcome::Unknown, Some(reason)),
        }
    }

    /// The outcome once the configuration has been applied: `fails` tells
    /// whether an error-level finding remains unsuppressed.
    pub fn settle(&self, fails: bool) -> (Outcome, Option<String>) {
        if fails {
            (Outcome::Fail, None)
        } else {
            self.without_errors.clone()
        }
    }
}

/// What the template says about the ranges property.
enum RangesSetting<'v> {
    /// Not written (or the API version has no such setting).
    Missing,
    Null(&'v Value),
    Unknown(&'v str),
    NotAnArray(&'v Value),
    List(&'v Value, &'v [Value]),
}

/// Judges one cluster declaration.
pub fn judge(resource: &DeployedResource, settings: &RuleSettings) -> Judgement {
    if let Deployed::Unknown(reason) = &resource.deployed {
        return Judgement::unknown(reason.clone());
    }
    let cluster = display_name(&resource.name);
    let body = &resource.body;

    // Where to point when the setting is missing: the closest enclosing
    // property that exists, never the whole resource.
    let mut missing_anchor = anchor_of_resource(resource);

    let properties = match body.property("properties") {
        None => None,
        Some(p) => match &p.value.kind {
            Kind::Null => None,
            Kind::Unknown(reason) => {
                return Judgement::unknown(format!("`properties`: {reason}"));
            }
            _ => {
                missing_anchor = p.name_origin.unwrap_or(missing_anchor);
                Some(&p.value)
            }
        },
    };

    let profile = match properties.and_then(|p| p.property("apiServerAccessProfile")) {
        None => None,
        Some(p) => match &p.value.kind {
            Kind::Null => None,
            Kind::Unknown(reason) => {
                return Judgement::unknown(format!(
                    "`properties.apiServerAccessProfile`: {reason}"
                ));
            }
            _ => {
                missing_anchor = p.name_origin.unwrap_or(missing_anchor);
                Some(&p.value)
            }
        },
    };

    let private = match profile.and_then(|p| p.get("enablePrivateCluster")) {
        None => false,
        Some(v) => match &v.kind {
            Kind::Bool(b) => *b,
            Kind::String(s) => s.eq_ignore_ascii_case("true"),
            Kind::Unknown(reason) => {
                return Judgement::unknown(format!(
                    "whether the cluster is private decides whether the rule applies, and \
                     `apiServerAccessProfile.enablePrivateCluster`: {reason}"
                ));
            }
            _ => false,
        },
    };

    let api_version = body.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let (ranges_setting, property_path) = read_ranges(api_version, properties, profile);
    let mut findings = Vec::new();

    if private {
        return match ranges_setting {
            RangesSetting::List(list, items) if !items.is_empty() => {
                let anchor = list.origin.unwrap_or(missing_anchor);
                findings.push(Finding::new(
                    &PRIVATE_CLUSTER,
                    anchor,
                    format!(
                        "AKS cluster {cluster} is private, and AKS does not support authorized IP \
                         ranges on a private cluster: remove `{property_path}`"
                    ),
                ));
                point_back_at_the_cluster(resource, &mut findings);
                Judgement {
                    outcome: Outcome::Fail,
                    reason: None,
                    findings,
                    without_errors: (Outcome::NotApplicable, None),
                }
            }
            RangesSetting::Unknown(reason) => Judgement::unknown(format!(
                "the cluster is private, so any authorized IP range would be an error, and \
                 `{property_path}`: {reason}"
            )),
            _ => Judgement {
                outcome: Outcome::NotApplicable,
                reason: None,
                findings,
                without_errors: (Outcome::NotApplicable, None),
            },
        };
    }

    // From here on the cluster is public.
    let mut unknowns: Vec<String> = Vec::new();
    match ranges_setting {
        RangesSetting::Missing => {
            let why = if api_version_lacks_setting(api_version) {
                format!(" (API version {api_version} has no such setting: use 2019-08-01 or later)")
            } else {
                String::new()
            };
            let fix = if why.is_empty() {
                insert_ranges_fix(resource, properties, profile, property_path)
            } else {
                None
            };
            findings.push(
                Finding::new(
                    &AUTHORIZED_IPS,
                    missing_anchor,
                    format!(
                        "AKS cluster {cluster} is public and its API server accepts every address: \
                         `{property_path}` is not set{why}"
                    ),
                )
                .with_fix(fix),
            );
        }
        RangesSetting::Null(v) => findings.push(
            Finding::new(
                &AUTHORIZED_IPS,
                v.origin.unwrap_or(missing_anchor),
                format!(
                    "AKS cluster {cluster} is public and its API server accepts every address: \
                     `{property_path}` is null"
                ),
            )
            .with_fix(v.origin.map(outbound_only_list_fix)),
        ),
        RangesSetting::Unknown(reason) => unknowns.push(format!("`{property_path}`: {reason}")),
        RangesSetting::NotAnArray(v) => findings.push(Finding::new(
            &INVALID_RANGE,
            v.origin.unwrap_or(missing_anchor),
            format!(
                "AKS cluster {cluster}: `{property_path}` must be an array of IP ranges, but it \
                 is {}; Azure rejects the deployment",
                v.type_name()
            ),
        )),
        RangesSetting::List(list, []) => findings.push(
            Finding::new(
                &AUTHORIZED_IPS,
                list.origin.unwrap_or(missing_anchor),
                format!(
                    "AKS cluster {cluster} is public and its API server accepts every address: \
                     `{property_path}` is empty"
                ),
            )
            .with_fix(list.origin.map(outbound_only_list_fix)),
        ),
        RangesSetting::List(list, items) => {
            let anchor = list.origin.unwrap_or(missing_anchor);
            ranges::check(
                &cluster,
                anchor,
                list.origin,
                items,
                settings,
                &mut findings,
                &mut unknowns,
            );
            cluster_config::check_load_balancer(&cluster, properties, &mut findings, &mut unknowns);
        }
    }
    cluster_config::check_node_public_ips(
        &cluster,
        properties,
        &resource.agent_pools,
        &mut findings,
    );

    point_back_at_the_cluster(resource, &mut findings);

    let without_errors = if unknowns.is_empty() {
        (Outcome::Pass, None)
    } else {
        (Outcome::Unknown, Some(unknowns.join("; ")))
    };
    let (outcome, reason) = if findings.iter().any(|f| f.level() == Level::Error) {
        (Outcome::Fail, None)
    } else {
        without_errors.clone()
    };
    Judgement {
        outcome,
        reason,
        findings,
        without_errors,
    }
}

/// What the fixes for a missing, null or empty list say.
fn outbound_only_description(what: &str) -> String {
    format!(
        "{what} with `{OUTBOUND_ONLY}`, the documented value that allows only the cluster's own \
         outbound IP; before deploying, add the ranges your administrators and CI/CD agents \
         reach the API server from, or they will be locked out"
    )
}

/// A `null` or `[]` written somewhere (in the cluster, a parameter's default,
/// a parameter file) becomes `["0.0.0.0/32"]`.
fn outbound_only_list_fix(at: Origin) -> FixIntent {
    FixIntent {
        description: outbound_only_description("Set the authorized IP ranges"),
        safety: Safety::Unsafe,
        change: Change::ReplaceWithList {
            at,
            elements: Vec::new(),
            ranges: vec![OUTBOUND_ONLY.to_string()],
        },
    }
}

/// A missing setting is inserted into the profile, or into `properties`
/// with a new profile, when that object is written inside the cluster.
fn insert_ranges_fix(
    resource: &DeployedResource,
    properties: Option<&Value>,
    profile: Option<&Value>,
    property_path: &str,
) -> Option<FixIntent> {
    let inside = |v: &Value| {
        v.origin.filter(|o| {
            o.file == resource.origin.file
                && resource.origin.span.start <= o.span.start
                && o.span.end <= resource.origin.span.end
        })
    };
    let (object, keys) = match (property_path.rsplit('.').next(), profile) {
        (Some("apiServerAuthorizedIPRanges"), _) => {
            (inside(properties?)?, vec!["apiServerAuthorizedIPRanges"])
        }
        (_, Some(profile)) => (inside(profile)?, vec!["authorizedIPRanges"]),
        (_, None) => {
            let properties = properties?;
            // A profile written as `null` would still win over an inserted one.
            if properties.property("apiServerAccessProfile").is_some() {
                return None;
            }
            (
                inside(properties)?,
                vec!["apiServerAccessProfile", "authorizedIPRanges"],
            )
        }
    };
    Some(FixIntent {
        description: outbound_only_description(&format!("Add `{property_path}`")),
        safety: Safety::Unsafe,
        change: Change::InsertProperty {
            object,
            keys,
            ranges: vec![OUTBOUND_ONLY.to_string()],
        },
    })
}

/// The API versions 2019-02-01 to 2019-06-01 carried the ranges directly
/// under `properties`; earlier ones had no such setting.
fn read_ranges<'v>(
    api_version: &str,
    properties: Option<&'v Value>,
    profile: Option<&'v Value>,
) -> (RangesSetting<'v>, &'static str) {
    const MODERN: &str = "properties.apiServerAccessProfile.authorizedIPRanges";
    const LEGACY: &str = "properties.apiServerAuthorizedIPRanges";
    let date = api_version.get(..10).unwrap_or("");
    let (value, path) = if ("2019-02-01"..="2019-06-01").contains(&date) {
        (
            properties.and_then(|p| p.get("apiServerAuthorizedIPRanges")),
            LEGACY,
        )
    } else if api_version_lacks_setting(api_version) {
        (None, MODERN)
    } else {
        (profile.and_then(|p| p.get("authorizedIPRanges")), MODERN)
    };
    let setting = match value {
        None => RangesSetting::Missing,
        Some(v) => match &v.kind {
            Kind::Null => RangesSetting::Null(v),
            Kind::Unknown(reason) => RangesSetting::Unknown(reason),
            Kind::Array(items) => RangesSetting::List(v, items),
            _ => RangesSetting::NotAnArray(v),
        },
    };
    (setting, path)
}

fn api_version_lacks_setting(api_version: &str) -> bool {
    let date = api_version.get(..10).unwrap_or("");
    date.len() == 10 && date < "2019-02-01"
}

/// The resource's `name` value, or its `type`, or the resource itself: a
/// place on the resource's first lines rather than its whole extent.
fn anchor_of_resource(resource: &DeployedResource) -> Origin {
    resource
        .body
        .property("name")
        .and_then(|p| p.name_origin)
        .or_else(|| resource.body.property("type").and_then(|p| p.name_origin))
        .unwrap_or(resource.origin)
}

/// The cluster's name for messages, in backticks.
pub(super) fn display_name(name: &str) -> String {
    if name.is_empty() {
        "(unnamed)".to_string()
    } else {
        format!("`{}`", shorten(name, 80))
    }
}

/// A finding points at the value to change. When that value was written
/// outside the cluster (a parameter file, a default, a variable), the place in
/// the cluster that pulls it in is added as a related location, so the reader
/// sees how the value got there.
fn point_back_at_the_cluster(resource: &DeployedResource, findings: &mut [Finding]) {
    let inside = |o: Origin| {
        o.file == resource.origin.file
            && resource.origin.span.start <= o.span.start
            && o.span.end <= resource.origin.span.end
    };
    for finding in findings.iter_mut() {
        if inside(finding.primary) {
            continue;
        }
        let path = property_path_of(finding.rule.id);
        if let Some((site, written_path, is_expression)) = written_site(&resource.written, path) {
            let how = if is_expression {
                "through the expression here"
            } else {
                "here"
            };
            finding.related.push(Related {
                origin: site,
                message: format!("the cluster's `{written_path}` takes this value {how}"),
            });
        }
    }
}

/// The property of the cluster each rule judges.
fn property_path_of(rule_id: &str) -> &'static [&'static str] {
    match rule_id {
        "Azure.AKS.AuthorizedIPs.BasicLoadBalancer" => {
            &["properties", "networkProfile", "loadBalancerSku"]
        }
        "Azure.AKS.AuthorizedIPs.NodePublicIP" => &["properties", "agentPoolProfiles"],
        _ => &["properties", "apiServerAccessProfile", "authorizedIPRanges"],
    }
}

/// The deepest property along `path` that is written in the declaration: its
/// value's place, the path to it, and whether it is an expression.
fn written_site(written: &Value, path: &[&str]) -> Option<(Origin, String, bool)> {
    let mut current = written;
    let mut found = None;
    let mut walked: Vec<&str> = Vec::new();
    for key in path {
        let Some(property) = current.property(key) else {
            break;
        };
        walked.push(key);
        let is_expression = property.value.unknown_reason().is_some();
        if let Some(origin) = property.value.origin {
            found = Some((origin, walked.join("."), is_expression));
        }
        if is_expression {
            break;
        }
        current = &property.value;
    }
    found
}

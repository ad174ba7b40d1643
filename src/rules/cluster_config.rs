//! Cluster settings that authorized IP ranges depend on: the load balancer
//! SKU (BasicLoadBalancer) and node public IPs (NodePublicIP).

use crate::evaluate::{Kind, Value};
use crate::findings::Finding;

use super::{BASIC_LOAD_BALANCER, NODE_PUBLIC_IP};

/// Ranges need the Standard load balancer. Called only when ranges are set.
pub(super) fn check_load_balancer(
    cluster: &str,
    properties: Option<&Value>,
    findings: &mut Vec<Finding>,
    unknowns: &mut Vec<String>,
) {
    let Some(sku) = properties
        .and_then(|p| p.get("networkProfile"))
        .and_then(|n| n.get("loadBalancerSku"))
    else {
        return;
    };
    match &sku.kind {
        Kind::String(s) if s.eq_ignore_ascii_case("basic") => {
            if let Some(origin) = sku.origin {
                findings.push(Finding::new(
                    &BASIC_LOAD_BALANCER,
                    origin,
                    format!(
                        "AKS cluster {cluster} sets authorized IP ranges with the `basic` load \
                         balancer; AKS supports them only with `standard`"
                    ),
                ));
            }
        }
        Kind::Unknown(reason) => unknowns.push(format!(
            "authorized IP ranges need the standard load balancer, and \
             `networkProfile.loadBalancerSku`: {reason}"
        )),
        _ => {}
    }
}

/// Node pools with their own public IPs need a public IP prefix, which must
/// be among the authorized ranges. A warning: it does not change the outcome.
/// `pools` are the cluster's `agentPools` resources (name and properties),
/// checked like the entries of `agentPoolProfiles`.
pub(super) fn check_node_public_ips(
    cluster: &str,
    properties: Option<&Value>,
    pools: &[Value],
    findings: &mut Vec<Finding>,
) {
    let profiles = properties
        .and_then(|p| p.get("agentPoolProfiles"))
        .and_then(Value::as_array)
        .unwrap_or(&[]);
    // (the pool's settings, its name, its number among the profiles)
    let in_profiles = profiles.iter().enumerate().map(|(i, pool)| {
        (
            Some(pool),
            pool.get("name").and_then(Value::as_str),
            Some(i),
        )
    });
    let separate = pools.iter().map(|pool| {
        // `cluster/pool` or `pool`: the pool's own name is the last part.
        let name = pool
            .get("name")
            .and_then(Value::as_str)
            .map(|n| n.rsplit('/').next().unwrap_or(n));
        (pool.get("properties"), name, None)
    });
    for (settings, name, index) in in_profiles.chain(separate) {
        let Some(flag) = settings.and_then(|p| p.get("enableNodePublicIP")) else {
            continue;
        };
        let enabled = match &flag.kind {
            Kind::Bool(b) => *b,
            Kind::String(s) => s.eq_ignore_ascii_case("true"),
            _ => false,
        };
        // Newer API versions also take a list, `nodePublicIPPrefixIDs`.
        let has_prefix = ["nodePublicIPPrefixID", "nodePublicIPPrefixIDs"]
            .iter()
            .any(
                |key| match settings.and_then(|p| p.get(key)).map(|v| &v.kind) {
                    None | Some(Kind::Null) => false,
                    Some(Kind::String(s)) => !s.is_empty(),
                    Some(Kind::Array(items)) => !items.is_empty(),
                    Some(_) => true,
                },
            );
        if !enabled || has_prefix {
            continue;
        }
        let pool_name = match (name, index) {
            (Some(n), _) => format!("`{n}`"),
            (None, Some(i)) => format!("#{}", i + 1),
            (None, None) => "(unnamed)".to_string(),
        };
        if let Some(origin) = flag.origin {
            findings.push(
                Finding::new(
                    &NODE_PUBLIC_IP,
                    origin,
                    format!(
                        "AKS cluster {cluster}: node pool {pool_name} gives nodes public IPs \
                         without `nodePublicIPPrefixID`, so their addresses cannot be among the \
                         authorized ranges"
                    ),
                )
                .discriminator(pool_name),
            );
        }
    }
}

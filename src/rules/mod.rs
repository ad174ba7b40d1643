//! Stage 4: the AKS authorized-IP rule and its checks on the ranges.
//!
//! Every rule is a [`Rule`] constant whose documentation is a Markdown file in
//! `src/rules/docs/`, compiled in; the same text feeds SARIF `help`, the
//! `rules` and `explain` commands and the generated pages in `docs/rules/`
//! (see [`docs`]). Adding a rule means: its constant, one line in [`RULES`],
//! its doc, its fixtures, and regenerating the pages.

mod authorized_ips;
mod cluster_config;
pub mod docs;
mod ranges;

pub use authorized_ips::{judge, Judgement, RuleSettings};

use crate::findings::Level;

#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    /// PascalCase name for SARIF `name`.
    pub name: &'static str,
    pub level: Level,
    /// One line: what is wrong.
    pub short_description: &'static str,
    /// A few sentences: what the rule checks and why.
    pub full_description: &'static str,
    /// The rule's documentation, Markdown.
    pub help_markdown: &'static str,
    /// GitHub's 0.0–10.0 score as a string (7.0–8.9 shows as "high").
    pub security_severity: &'static str,
    pub tags: &'static [&'static str],
    /// PSRule's stable reference, for the rule PSRule also has.
    pub reference: Option<&'static str>,
}

const TAGS: &[&str] = &[
    "security",
    "azure",
    "aks",
    "network",
    "SE:06 Network controls",
];

pub static AUTHORIZED_IPS: Rule = Rule {
    id: "Azure.AKS.AuthorizedIPs",
    name: "AuthorizedIPs",
    level: Level::Error,
    short_description: "Restrict the API server of a public AKS cluster to authorized IP ranges.",
    full_description: "A cluster that is not private must list at least one range in \
        properties.apiServerAccessProfile.authorizedIPRanges; without one, its API server \
        accepts connections from every address on the internet.",
    help_markdown: include_str!("docs/Azure.AKS.AuthorizedIPs.md"),
    security_severity: "8.0",
    tags: TAGS,
    reference: Some("AZR-000030"),
};

pub static INVALID_RANGE: Rule = Rule {
    id: "Azure.AKS.AuthorizedIPs.InvalidRange",
    name: "AuthorizedIPsInvalidRange",
    level: Level::Error,
    short_description: "An authorized IP range is not an IPv4 address or CIDR.",
    full_description: "Each entry of authorizedIPRanges must be an IPv4 CIDR such as \
        203.0.113.0/24 or a single IPv4 address; Azure rejects the deployment otherwise.",
    help_markdown: include_str!("docs/Azure.AKS.AuthorizedIPs.InvalidRange.md"),
    security_severity: "5.0",
    tags: TAGS,
    reference: None,
};

pub static UNRESTRICTED: Rule = Rule {
    id: "Azure.AKS.AuthorizedIPs.Unrestricted",
    name: "AuthorizedIPsUnrestricted",
    level: Level::Error,
    short_description: "The authorized IP ranges allow every address.",
    full_description: "Together the ranges cover the whole IPv4 space (0.0.0.0/0, or halves \
        that add up to it), so the restriction does nothing.",
    help_markdown: include_str!("docs/Azure.AKS.AuthorizedIPs.Unrestricted.md"),
    security_severity: "8.0",
    tags: TAGS,
    reference: None,
};

pub static HOST_BITS: Rule = Rule {
    id: "Azure.AKS.AuthorizedIPs.HostBits",
    name: "AuthorizedIPsHostBits",
    level: Level::Warning,
    short_description: "A CIDR is not written at its network address.",
    full_description: "An authorized range such as 137.117.106.90/29 has host bits set; AKS \
        expects the network address (137.117.106.88/29), and the written form hides which \
        addresses are really allowed.",
    help_markdown: include_str!("docs/Azure.AKS.AuthorizedIPs.HostBits.md"),
    security_severity: "3.0",
    tags: TAGS,
    reference: None,
};

pub static REDUNDANT: Rule = Rule {
    id: "Azure.AKS.AuthorizedIPs.Redundant",
    name: "AuthorizedIPsRedundant",
    level: Level::Note,
    short_description: "An authorized IP range is repeated or contained in another.",
    full_description: "The entry adds no address that another entry does not already allow; \
        removing it changes nothing and keeps the list readable.",
    help_markdown: include_str!("docs/Azure.AKS.AuthorizedIPs.Redundant.md"),
    security_severity: "1.0",
    tags: TAGS,
    reference: None,
};

pub static TOO_MANY: Rule = Rule {
    id: "Azure.AKS.AuthorizedIPs.TooMany",
    name: "AuthorizedIPsTooMany",
    level: Level::Error,
    short_description: "More authorized IP ranges than AKS accepts.",
    full_description:
        "AKS accepts at most 200 authorized IP ranges; a longer list fails to deploy.",
    help_markdown: include_str!("docs/Azure.AKS.AuthorizedIPs.TooMany.md"),
    security_severity: "5.0",
    tags: TAGS,
    reference: None,
};

pub static PRIVATE_CLUSTER: Rule = Rule {
    id: "Azure.AKS.AuthorizedIPs.PrivateCluster",
    name: "AuthorizedIPsPrivateCluster",
    level: Level::Error,
    short_description: "Authorized IP ranges are set on a private cluster.",
    full_description: "A private cluster's API server has no public endpoint, and AKS does not \
        support authorized IP ranges on it.",
    help_markdown: include_str!("docs/Azure.AKS.AuthorizedIPs.PrivateCluster.md"),
    security_severity: "5.0",
    tags: TAGS,
    reference: None,
};

pub static BASIC_LOAD_BALANCER: Rule = Rule {
    id: "Azure.AKS.AuthorizedIPs.BasicLoadBalancer",
    name: "AuthorizedIPsBasicLoadBalancer",
    level: Level::Error,
    short_description: "Authorized IP ranges need the Standard load balancer.",
    full_description: "AKS supports authorized IP ranges only on clusters that use the Standard \
        load balancer SKU; networkProfile.loadBalancerSku is basic.",
    help_markdown: include_str!("docs/Azure.AKS.AuthorizedIPs.BasicLoadBalancer.md"),
    security_severity: "5.0",
    tags: TAGS,
    reference: None,
};

pub static BROAD: Rule = Rule {
    id: "Azure.AKS.AuthorizedIPs.Broad",
    name: "AuthorizedIPsBroad",
    level: Level::Warning,
    short_description: "An authorized IP range is very wide.",
    full_description: "One entry allows more addresses than the configured prefix (by default \
        wider than /8, over 16 million addresses), which leaves the API server open to a large \
        part of the internet.",
    help_markdown: include_str!("docs/Azure.AKS.AuthorizedIPs.Broad.md"),
    security_severity: "6.0",
    tags: TAGS,
    reference: None,
};

pub static NODE_PUBLIC_IP: Rule = Rule {
    id: "Azure.AKS.AuthorizedIPs.NodePublicIP",
    name: "AuthorizedIPsNodePublicIP",
    level: Level::Warning,
    short_description: "A node pool uses node public IPs without a public IP prefix.",
    full_description: "Nodes with their own public IPs reach the API server from addresses that \
        cannot be authorized in advance unless the pool draws them from a public IP prefix \
        (nodePublicIPPrefixID) that is among the authorized ranges.",
    help_markdown: include_str!("docs/Azure.AKS.AuthorizedIPs.NodePublicIP.md"),
    security_severity: "4.0",
    tags: TAGS,
    reference: None,
};

/// Every rule, in the order reports list them.
pub static RULES: [&Rule; 10] = [
    &AUTHORIZED_IPS,
    &INVALID_RANGE,
    &UNRESTRICTED,
    &HOST_BITS,
    &REDUNDANT,
    &TOO_MANY,
    &PRIVATE_CLUSTER,
    &BASIC_LOAD_BALANCER,
    &BROAD,
    &NODE_PUBLIC_IP,
];

/// Looks a rule up by id, case-insensitively.
pub fn find(id: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.id.eq_ignore_ascii_case(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_docs_name_their_rule() {
        for (i, rule) in RULES.iter().enumerate() {
            assert!(
                RULES[i + 1..].iter().all(|r| r.id != rule.id),
                "{}",
                rule.id
            );
            assert!(
                rule.help_markdown.contains(rule.id),
                "the doc of {} must name it",
                rule.id
            );
        }
        assert_eq!(
            find("azure.aks.authorizedips").map(|r| r.id),
            Some(AUTHORIZED_IPS.id)
        );
    }
}

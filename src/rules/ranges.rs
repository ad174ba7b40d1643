//! Checks on the authorized IP ranges themselves: InvalidRange, Unrestricted,
//! HostBits, Redundant, TooMany and Broad. No other tool in this field looks
//! inside the list; Azure itself rejects some of these at deployment.

use std::net::Ipv4Addr;
use std::str::FromStr;

use ipnet::Ipv4Net;

use crate::evaluate::{shorten, Kind, Origin, Value};
use crate::findings::{Change, Finding, FixIntent, Safety};

use super::authorized_ips::RuleSettings;
use super::{BROAD, HOST_BITS, INVALID_RANGE, REDUNDANT, TOO_MANY, UNRESTRICTED};

/// The most ranges AKS accepts on one cluster (current documentation).
pub const MAX_RANGES: usize = 200;

/// The documented special value: only the cluster's own outbound IP. It names
/// no real address range, so containment and coverage leave it alone.
pub(super) const OUTBOUND_ONLY: &str = "0.0.0.0/32";

/// One entry that parsed as an IPv4 range.
struct Entry<'v> {
    index: usize,
    text: &'v str,
    origin: Origin,
    /// Whether `origin` is the entry's own text (not the list's, for a
    /// value computed by an expression).
    written: bool,
    /// As written, host bits included.
    net: Ipv4Net,
}

impl Entry<'_> {
    fn network(&self) -> Ipv4Net {
        self.net.trunc()
    }
    fn first(&self) -> u64 {
        u64::from(u32::from(self.net.network()))
    }
    fn last(&self) -> u64 {
        u64::from(u32::from(self.net.broadcast()))
    }
    fn is_outbound_only(&self) -> bool {
        self.network().to_string() == OUTBOUND_ONLY
    }
}

/// Parses an entry as Azure reads it: an IPv4 CIDR, or a bare IPv4 address
/// meaning /32. Returns why not, otherwise.
pub fn parse_range(text: &str) -> Result<Ipv4Net, String> {
    if let Some((addr, prefix)) = text.split_once('/') {
        if addr.parse::<std::net::Ipv6Addr>().is_ok() {
            return Err("is an IPv6 range; authorized IP ranges are IPv4".into());
        }
        let addr = Ipv4Addr::from_str(addr).map_err(|_| {
            format!(
                "has `{}` before the `/`, which is not an IPv4 address",
                shorten(addr, 60)
            )
        })?;
        let prefix_ok =
            !prefix.is_empty() && prefix.len() <= 2 && prefix.bytes().all(|b| b.is_ascii_digit());
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| prefix_ok && *p <= 32)
            .ok_or_else(|| {
                format!(
                    "has the prefix length `/{}`, which is not between /0 and /32",
                    shorten(prefix, 20)
                )
            })?;
        Ipv4Net::new(addr, prefix).map_err(|e| e.to_string())
    } else if text.parse::<std::net::Ipv6Addr>().is_ok() {
        Err("is an IPv6 address; authorized IP ranges are IPv4".into())
    } else {
        let addr = Ipv4Addr::from_str(text).map_err(|_| {
            "is neither an IPv4 CIDR (like 203.0.113.0/24) nor an IPv4 address".to_string()
        })?;
        Ok(Ipv4Net::new(addr, 32).unwrap_or_default())
    }
}

/// Runs every check on a non-empty list. Entries whose value is unknown add
/// to `unknowns`: they could be anything, so only findings on the known
/// entries are certain.
///
/// `literal` is the list's own place when it has one: fixes that remove an
/// entry or replace the list need it, and the place of every entry.
pub(super) fn check(
    cluster: &str,
    list_origin: Origin,
    literal: Option<Origin>,
    items: &[Value],
    settings: &RuleSettings,
    findings: &mut Vec<Finding>,
    unknowns: &mut Vec<String>,
) {
    if items.len() > MAX_RANGES {
        findings.push(Finding::new(
            &TOO_MANY,
            list_origin,
            format!(
                "AKS cluster {cluster} lists {} authorized IP ranges; AKS accepts at most {MAX_RANGES}",
                items.len()
            ),
        ));
    }

    // The list and each of its entries as written, when they are.
    let list_parts: Option<(Origin, Vec<Origin>)> = literal
        .and_then(|list| Some((list, items.iter().map(|i| i.origin).collect::<Option<_>>()?)));

    let mut entries = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let origin = item.origin.unwrap_or(list_origin);
        match &item.kind {
            Kind::String(text) => match parse_range(text) {
                Ok(net) => entries.push(Entry {
                    index,
                    text,
                    origin,
                    written: item.origin.is_some(),
                    net,
                }),
                Err(why) => findings.push(
                    Finding::new(
                        &INVALID_RANGE,
                        origin,
                        format!(
                            "AKS cluster {cluster}: authorized IP range `{}` {why}; Azure rejects the deployment",
                            shorten(text, 80)
                        ),
                    )
                    .discriminator(text.as_str()),
                ),
            },
            Kind::Unknown(reason) => {
                unknowns.push(format!("authorized IP range #{}: {reason}", index + 1))
            }
            _ => findings.push(
                Finding::new(
                    &INVALID_RANGE,
                    origin,
                    format!(
                        "AKS cluster {cluster}: authorized IP range #{} is {}, not a string with an IPv4 range",
                        index + 1,
                        item.type_name()
                    ),
                )
                .discriminator(format!("#{index}")),
            ),
        }
    }

    for entry in &entries {
        if entry.net.addr() != entry.net.network() {
            findings.push(
                Finding::new(
                    &HOST_BITS,
                    entry.origin,
                    format!(
                        "AKS cluster {cluster}: `{}` is not written at its network address; write `{}`",
                        entry.text,
                        entry.network()
                    ),
                )
                .discriminator(entry.text)
                .with_fix(host_bits_fix(entry)),
            );
        }
    }

    if let Some(widest) = covers_everything(&entries) {
        let message = if widest.net.prefix_len() == 0 {
            format!(
                "AKS cluster {cluster}: `{}` authorizes every IPv4 address, so the API server is not restricted at all",
                widest.text
            )
        } else {
            let listed: Vec<String> = entries
                .iter()
                .filter(|e| !e.is_outbound_only())
                .map(|e| format!("`{}`", e.text))
                .collect();
            format!(
                "AKS cluster {cluster}: together, the authorized ranges {} cover every IPv4 address, so the API server is not restricted at all",
                listed.join(", ")
            )
        };
        let fix = list_parts.clone().map(|(at, elements)| FixIntent {
            description: format!(
                "Replace the ranges with `{OUTBOUND_ONLY}` as a placeholder, then add the \
                 networks that really need the API server (your administrators' and CI/CD \
                 agents' ranges): `{OUTBOUND_ONLY}` alone allows only the cluster's own \
                 outbound IP"
            ),
            safety: Safety::Unsafe,
            change: Change::ReplaceWithList {
                at,
                elements,
                ranges: vec![OUTBOUND_ONLY.to_string()],
            },
        });
        findings.push(
            Finding::new(&UNRESTRICTED, widest.origin, message)
                .discriminator(widest.text)
                .with_fix(fix),
        );
        // Redundant and Broad are moot until the list is replaced; HostBits
        // and InvalidRange stay, as each names a mistake in one entry.
        return;
    }

    for (redundant, kept) in redundant_entries(&entries) {
        let message = if redundant.network() == kept.network() {
            format!(
                "AKS cluster {cluster}: `{}` repeats `{}` (entry #{}); remove it",
                redundant.text,
                kept.text,
                kept.index + 1
            )
        } else {
            format!(
                "AKS cluster {cluster}: `{}` is already inside `{}` (entry #{}); remove it",
                redundant.text,
                kept.text,
                kept.index + 1
            )
        };
        let fix = match &list_parts {
            Some((list, elements)) if redundant.written && kept.written => Some(FixIntent {
                description: if redundant.network() == kept.network() {
                    format!("Remove the repeated `{}`", redundant.text)
                } else {
                    format!(
                        "Remove `{}`: `{}` already allows all its addresses",
                        redundant.text, kept.text
                    )
                },
                safety: Safety::Safe,
                change: Change::RemoveElement {
                    list: *list,
                    elements: elements.clone(),
                    entry: redundant.origin,
                    kept: kept.origin,
                },
            }),
            _ => None,
        };
        findings.push(
            Finding::new(&REDUNDANT, redundant.origin, message)
                .discriminator(format!("{}#{}", redundant.text, redundant.index))
                .with_fix(fix),
        );
    }

    for entry in &entries {
        if entry.net.prefix_len() < settings.broad_prefix {
            let addresses = 1u64 << (32 - u32::from(entry.net.prefix_len()));
            findings.push(
                Finding::new(
                    &BROAD,
                    entry.origin,
                    format!(
                        "AKS cluster {cluster}: `{}` authorizes {} addresses, wider than /{}; list the networks that really need the API server",
                        entry.text,
                        group_thousands(addresses),
                        settings.broad_prefix
                    ),
                )
                .discriminator(entry.text),
            );
        }
    }
}

/// Writing the network address allows exactly the same addresses.
fn host_bits_fix(entry: &Entry) -> Option<FixIntent> {
    entry.written.then(|| FixIntent {
        description: format!(
            "Write `{}`, the network address of `{}`: it allows the same addresses",
            entry.network(),
            entry.text
        ),
        safety: Safety::Safe,
        change: Change::ReplaceString {
            at: entry.origin,
            expected: entry.text.to_string(),
            with: entry.network().to_string(),
        },
    })
}

/// The widest entry, when the entries together cover all of IPv4.
fn covers_everything<'a, 'v>(entries: &'a [Entry<'v>]) -> Option<&'a Entry<'v>> {
    let mut spans: Vec<(u64, u64)> = entries
        .iter()
        .filter(|e| !e.is_outbound_only())
        .map(|e| (e.first(), e.last()))
        .collect();
    spans.sort_unstable();
    let mut next_uncovered: u64 = 0;
    for (first, last) in spans {
        if first > next_uncovered {
            return None;
        }
        next_uncovered = next_uncovered.max(last + 1);
    }
    if next_uncovered > u64::from(u32::MAX) {
        entries
            .iter()
            .filter(|e| !e.is_outbound_only())
            .min_by_key(|e| (e.net.prefix_len(), e.index))
    } else {
        None
    }
}

/// Pairs (redundant entry, entry that already covers it). CIDR blocks either
/// nest or do not overlap, so one sorted sweep finds every containment:
/// sorted by start, then widest first, then as written, an entry is covered
/// exactly when an earlier one reaches at least as far.
fn redundant_entries<'a, 'v>(entries: &'a [Entry<'v>]) -> Vec<(&'a Entry<'v>, &'a Entry<'v>)> {
    let mut order: Vec<&Entry> = entries.iter().collect();
    order.sort_by_key(|e| (e.first(), e.net.prefix_len(), e.index));
    let mut out = Vec::new();
    let mut reach: Option<&Entry> = None;
    for entry in order {
        match reach {
            Some(cover) if cover.last() >= entry.last() => {
                // The outbound-only marker is not an address; only an exact
                // repeat of it is redundant.
                if !entry.is_outbound_only() || cover.is_outbound_only() {
                    out.push((entry, cover));
                }
            }
            _ => reach = Some(entry),
        }
    }
    out.sort_by_key(|(e, _)| e.index);
    out
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_azure_accepts() {
        assert_eq!(
            parse_range("203.0.113.7").map(|n| n.to_string()),
            Ok("203.0.113.7/32".into())
        );
        assert_eq!(parse_range("10.0.0.0/8").map(|n| n.prefix_len()), Ok(8));
        assert_eq!(parse_range("0.0.0.0/32").map(|n| n.prefix_len()), Ok(32));
        assert!(parse_range("137.117.106.90/29").is_ok());
        for bad in [
            "",
            "not-a-cidr",
            "10.0.0.0/33",
            "10.0.0/8",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "::/0",
            "2001:db8::1",
            "10.0.0.0/8 ",
            "010.0.0.0/8",
        ] {
            assert!(parse_range(bad).is_err(), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(group_thousands(33_554_432), "33,554,432");
        assert_eq!(group_thousands(256), "256");
    }
}

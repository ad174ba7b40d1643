//! CIDR functions: parseCidr, cidrSubnet, cidrHost.
//!
//! IPv4 reserves the network and broadcast addresses: the first usable host
//! is the network address + 1 and the last is the broadcast - 1 (for /31 and
//! /32, the whole range). IPv6 has no broadcast: `parseCidr` calls the whole
//! range usable. `cidrHost(n)` is the network address + 1 + n in both
//! families, as Azure's documented examples show (`cidrHost('10.144.3.0/24',
//! 0)` = `10.144.3.1`, `cidrHost('fdad:3236:5555:3000::/52', 0)` =
//! `fdad:3236:5555:3000::1`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{arity, int, object, string, want_int, want_str, Res};
use crate::evaluate::value::Value;

struct Cidr {
    v6: bool,
    /// The address with host bits cleared.
    network: u128,
    prefix: u32,
}

impl Cidr {
    fn bits(&self) -> u32 {
        if self.v6 {
            128
        } else {
            32
        }
    }

    fn host_mask(&self) -> u128 {
        let host_bits = self.bits() - self.prefix;
        if host_bits == 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        }
    }

    fn all_ones(&self) -> u128 {
        if self.v6 {
            u128::MAX
        } else {
            u128::from(u32::MAX)
        }
    }

    fn last(&self) -> u128 {
        self.network | self.host_mask()
    }

    fn usable(&self) -> (u128, u128) {
        if self.v6 || self.prefix >= 31 {
            (self.network, self.last())
        } else {
            (self.network + 1, self.last() - 1)
        }
    }

    fn show(&self, address: u128) -> String {
        if self.v6 {
            Ipv6Addr::from(address).to_string()
        } else {
            // Addresses of an IPv4 CIDR fit in 32 bits by construction.
            Ipv4Addr::from(u32::try_from(address).unwrap_or(u32::MAX)).to_string()
        }
    }
}

fn parse(name: &str, text: &str) -> Result<Cidr, String> {
    let bad = || format!("the function `{name}` got '{text}', which is not a CIDR range");
    let (address, prefix) = text.trim().split_once('/').ok_or_else(bad)?;
    let address: IpAddr = address.parse().map_err(|_| bad())?;
    let prefix: u32 = prefix.parse().map_err(|_| bad())?;
    let (v6, raw) = match address {
        IpAddr::V4(a) => (false, u128::from(u32::from(a))),
        IpAddr::V6(a) => (true, u128::from(a)),
    };
    let mut c = Cidr {
        v6,
        network: 0,
        prefix,
    };
    if prefix > c.bits() {
        return Err(bad());
    }
    c.network = raw & (c.all_ones() & !c.host_mask());
    Ok(c)
}

pub(super) fn strict(lower: &str, name: &str, args: &[Value]) -> Option<Res> {
    Some(match lower {
        "parsecidr" => (|| {
            arity(name, args, 1, 1)?;
            let c = parse(name, want_str(name, &args[0], "the range")?)?;
            let (first, last) = c.usable();
            let netmask = c.all_ones() & !c.host_mask();
            let mut props = vec![
                ("network".into(), string(c.show(c.network))),
                ("netmask".into(), string(c.show(netmask))),
            ];
            if !c.v6 {
                props.push(("broadcast".into(), string(c.show(c.last()))));
            }
            props.push(("firstUsable".into(), string(c.show(first))));
            props.push(("lastUsable".into(), string(c.show(last))));
            props.push(("cidr".into(), int(i64::from(c.prefix))));
            Ok(object(props))
        })(),
        "cidrsubnet" => {
            (|| {
                arity(name, args, 3, 3)?;
                let c = parse(name, want_str(name, &args[0], "the range")?)?;
                let new_prefix = want_int(name, &args[1], "the new prefix length")?;
                let index = want_int(name, &args[2], "the subnet index")?;
                let new_prefix = u32::try_from(new_prefix)
                    .ok()
                    .filter(|p| *p >= c.prefix && *p <= c.bits())
                    .ok_or_else(|| {
                        format!(
                            "the new prefix length {new_prefix} must be between {} and {}",
                            c.prefix,
                            c.bits()
                        )
                    })?;
                let count_bits = new_prefix - c.prefix;
                let index = u128::try_from(index)
                .ok()
                .filter(|i| count_bits >= 127 || *i < (1u128 << count_bits))
                .ok_or_else(|| {
                    format!("the subnet index {index} is out of range for /{new_prefix} subnets of /{}", c.prefix)
                })?;
                let shift = c.bits() - new_prefix;
                let offset = if shift >= 128 { 0 } else { index << shift };
                Ok(string(format!(
                    "{}/{new_prefix}",
                    c.show(c.network | offset)
                )))
            })()
        }
        "cidrhost" => (|| {
            arity(name, args, 2, 2)?;
            let c = parse(name, want_str(name, &args[0], "the range")?)?;
            let index = want_int(name, &args[1], "the host index")?;
            let (_, last) = c.usable();
            let host = u128::try_from(index)
                .ok()
                .and_then(|i| c.network.checked_add(1)?.checked_add(i))
                .filter(|h| *h <= last)
                .ok_or_else(|| format!("the host index {index} is outside the range"))?;
            Ok(string(c.show(host)))
        })(),
        _ => return None,
    })
}

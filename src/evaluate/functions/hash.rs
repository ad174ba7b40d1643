//! `uniqueString` and `guid`, with Azure's algorithms.
//!
//! `uniqueString(a, b, ...)` joins its arguments with `-`, hashes the UTF-8
//! bytes with the 64-bit MurmurHash variant Azure uses (MurmurHash3's x86
//! mixing, two 32-bit lanes, seed 0), and writes the 64 bits as 13
//! characters of base 32 (`a`–`z`, `2`–`7`), most significant first. The
//! check value `uniqueString('hello', 'world')` = `a7wkljktk6wne` is the one
//! published with a reverse-engineered port of Azure's implementation
//! (JasonWhall/go-azure-uniquestring, hash 571013382255652050).
//!
//! `guid(a, b, ...)` is the RFC 4122 version 5 (SHA-1) UUID of the arguments
//! joined with `-`, in the namespace `11fb06fb-712d-4ddd-98c7-e71bbd588830`,
//! as Microsoft's own ports (Terraform's `uuidv5` recipes for ARM role
//! assignment names, Bicep docs) describe it.

use sha1::{Digest, Sha1};

use super::{arity, string, want_str, Res};
use crate::evaluate::value::Value;

fn fmix(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

fn le32(bytes: &[u8]) -> u32 {
    let mut n = 0u32;
    for (i, b) in bytes.iter().take(4).enumerate() {
        n |= u32::from(*b) << (8 * i);
    }
    n
}

/// Azure's MurmurHash64.
pub(crate) fn murmur64(data: &[u8]) -> u64 {
    const C1: u32 = 0x239b_961b;
    const C2: u32 = 0xab0e_9789;
    let mut h1: u32 = 0;
    let mut h2: u32 = 0;
    let mut chunks = data.chunks_exact(8);
    for block in &mut chunks {
        let mut k1 = le32(&block[..4]);
        let mut k2 = le32(&block[4..]);
        k1 = k1.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h1 ^= k1;
        h1 = h1
            .rotate_left(19)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x561c_cd1b);
        k2 = k2.wrapping_mul(C2).rotate_left(17).wrapping_mul(C1);
        h2 ^= k2;
        h2 = h2
            .rotate_left(13)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x0bca_a747);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let k1 = le32(&tail[..tail.len().min(4)]);
        h1 ^= k1.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        if tail.len() > 4 {
            let k2 = le32(&tail[4..]);
            h2 ^= k2.wrapping_mul(C2).rotate_left(17).wrapping_mul(C1);
        }
    }
    let len = data.len() as u32;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    (u64::from(h2) << 32) | u64::from(h1)
}

pub(crate) fn unique_string(parts: &[&str]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut hash = murmur64(parts.join("-").as_bytes());
    let mut out = String::with_capacity(13);
    for _ in 0..13 {
        out.push(ALPHABET[(hash >> 59) as usize] as char);
        hash <<= 5;
    }
    out
}

pub(crate) fn guid(parts: &[&str]) -> String {
    const NAMESPACE: [u8; 16] = [
        0x11, 0xfb, 0x06, 0xfb, 0x71, 0x2d, 0x4d, 0xdd, 0x98, 0xc7, 0xe7, 0x1b, 0xbd, 0x58, 0x88,
        0x30,
    ];
    let mut sha = Sha1::new();
    sha.update(NAMESPACE);
    sha.update(parts.join("-").as_bytes());
    let digest = sha.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

pub(super) fn strict(lower: &str, name: &str, args: &[Value]) -> Option<Res> {
    let parts = || -> Result<Vec<&str>, String> {
        arity(name, args, 1, usize::MAX)?;
        args.iter()
            .map(|a| want_str(name, a, "each argument"))
            .collect()
    };
    Some(match lower {
        "uniquestring" => parts().map(|p| string(unique_string(&p))),
        "guid" => parts().map(|p| string(guid(&p))),
        _ => return None,
    })
}

//! Address and network lists: OFAC's sanctioned digital-currency addresses (shipped with thaw),
//! the platform's own deny and allow lists of addresses, and IP/CIDR lists.

use std::collections::HashSet;
use std::net::IpAddr;

/// The OFAC lists shipped in `data/ofac` (see its SOURCE.md), one address per line per asset.
pub const OFAC_LISTS: &[(&str, &str)] = &[
    ("ARB", include_str!("../../../../data/ofac/sanctioned_addresses_ARB.txt")),
    ("BCH", include_str!("../../../../data/ofac/sanctioned_addresses_BCH.txt")),
    ("BSC", include_str!("../../../../data/ofac/sanctioned_addresses_BSC.txt")),
    ("BSV", include_str!("../../../../data/ofac/sanctioned_addresses_BSV.txt")),
    ("BTG", include_str!("../../../../data/ofac/sanctioned_addresses_BTG.txt")),
    ("DASH", include_str!("../../../../data/ofac/sanctioned_addresses_DASH.txt")),
    ("ETC", include_str!("../../../../data/ofac/sanctioned_addresses_ETC.txt")),
    ("ETH", include_str!("../../../../data/ofac/sanctioned_addresses_ETH.txt")),
    ("LTC", include_str!("../../../../data/ofac/sanctioned_addresses_LTC.txt")),
    ("TRX", include_str!("../../../../data/ofac/sanctioned_addresses_TRX.txt")),
    ("USDC", include_str!("../../../../data/ofac/sanctioned_addresses_USDC.txt")),
    ("USDT", include_str!("../../../../data/ofac/sanctioned_addresses_USDT.txt")),
    ("XBT", include_str!("../../../../data/ofac/sanctioned_addresses_XBT.txt")),
    ("XMR", include_str!("../../../../data/ofac/sanctioned_addresses_XMR.txt")),
    ("XRP", include_str!("../../../../data/ofac/sanctioned_addresses_XRP.txt")),
    ("XVG", include_str!("../../../../data/ofac/sanctioned_addresses_XVG.txt")),
    ("ZEC", include_str!("../../../../data/ofac/sanctioned_addresses_ZEC.txt")),
];

/// The form addresses are compared in: EVM (`0x…`) and bech32 addresses are case-insensitive
/// and compared in lowercase; others (base58) exactly.
pub fn normalize_address(a: &str) -> String {
    let a = a.trim();
    let lower = a.to_ascii_lowercase();
    let case_insensitive =
        lower.starts_with("0x") || ["bc1", "tb1", "ltc1", "bitcoincash:", "zs1"].iter().any(|p| lower.starts_with(p));
    if case_insensitive { lower } else { a.to_string() }
}

/// A set of addresses, each remembered with the list it came from.
#[derive(Debug, Clone, Default)]
pub struct AddressList {
    addresses: HashSet<String>,
}

impl AddressList {
    pub fn insert(&mut self, address: &str) {
        let a = normalize_address(address);
        if !a.is_empty() {
            self.addresses.insert(a);
        }
    }

    /// Adds every non-empty, non-comment line of a list in the OFAC files' format.
    pub fn extend_from_text(&mut self, text: &str) {
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            self.insert(line);
        }
    }

    pub fn contains(&self, address: &str) -> bool {
        !self.addresses.is_empty() && self.addresses.contains(&normalize_address(address))
    }

    pub fn len(&self) -> usize {
        self.addresses.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }

    pub fn ofac() -> AddressList {
        let mut l = AddressList::default();
        for (_, text) in OFAC_LISTS {
            l.extend_from_text(text);
        }
        l
    }
}

/// An IPv4 or IPv6 network such as `203.0.113.0/24`; a bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return None;
        }
        Some(Cidr { network: addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.prefix == 0 { 0 } else { u32::MAX << (32 - self.prefix as u32) };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - self.prefix as u32) };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

pub fn any_contains(list: &[Cidr], ip: IpAddr) -> bool {
    list.iter().any(|c| c.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_ofac_lists_are_loaded_and_0x_addresses_match_in_any_case() {
        let l = AddressList::ofac();
        assert!(l.len() > 600, "{} addresses", l.len());
        assert!(l.contains("0x01e2919679362dFBC9ee1644Ba9C6da6D6245BB1"));
        assert!(l.contains("0x01E2919679362DFBC9EE1644BA9C6DA6D6245BB1"), "case-insensitive for 0x");
        assert!(l.contains("123WBUDmSJv4GctdVEz6Qq6z8nXSKrJ4KX"));
        assert!(!l.contains("123wbudmsjv4gctdvez6qq6z8nxskrj4kx"), "base58 is case-sensitive");
        assert!(!l.contains("0x0000000000000000000000000000000000000000"));
    }

    #[test]
    fn cidrs_match_their_networks_only() {
        let c = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(c.contains("203.0.113.77".parse().unwrap()));
        assert!(!c.contains("203.0.114.1".parse().unwrap()));
        assert!(!c.contains("::1".parse().unwrap()));
        let single = Cidr::parse("198.51.100.7").unwrap();
        assert!(single.contains("198.51.100.7".parse().unwrap()) && !single.contains("198.51.100.8".parse().unwrap()));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_none() && Cidr::parse("nonsense").is_none());
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
    }
}

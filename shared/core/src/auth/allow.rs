//! The allow-list: source networks whose login attempts are never counted, so that health
//! checks, bastions and the team's own addresses can never lock an account.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::settings::SettingsError;

/// CIDR ranges whose attempts are ignored. Default: loopback (`127.0.0.0/8`, `::1/128`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList {
    nets: Vec<IpNet>,
}

impl Default for AllowList {
    fn default() -> Self {
        Self::parse("127.0.0.0/8,::1/128").unwrap_or_else(|_| Self::empty())
    }
}

impl AllowList {
    /// An allow-list that allows nothing: every source is counted.
    pub fn empty() -> Self {
        Self { nets: Vec::new() }
    }

    pub fn new(nets: Vec<IpNet>) -> Self {
        Self {
            nets: nets.into_iter().map(|n| n.trunc()).collect(),
        }
    }

    /// Parses `10.0.0.0/8, 2001:db8::/32, 192.0.2.7`; a bare address means that one host.
    /// The word `none` gives an empty list (a blank value means "default" to the env reader).
    /// The error's value is the offending entry; the caller names the setting.
    pub fn parse(list: &str) -> Result<Self, String> {
        if list.trim().eq_ignore_ascii_case("none") {
            return Ok(Self::empty());
        }
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim) {
            if item.is_empty() {
                return Err("empty entry in the list".to_owned());
            }
            let net = item
                .parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{item:?} is not a CIDR (a.b.c.d/n or x:y::/n) or an IP"))?;
            nets.push(net.trunc());
        }
        Ok(Self { nets })
    }

    pub(crate) fn from_setting(name: &'static str, raw: &str) -> Result<Self, SettingsError> {
        Self::parse(raw).map_err(|reason| SettingsError::invalid(name, raw, reason))
    }

    /// Whether attempts from `ip` must be ignored. IPv4-mapped IPv6 addresses are matched
    /// as IPv4 so `::ffff:127.0.0.1` is loopback too.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|n| n.contains(&ip))
    }

    pub fn nets(&self) -> &[IpNet] {
        &self.nets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn default_allows_loopback_only() {
        let a = AllowList::default();
        assert!(a.contains(ip("127.0.0.1")));
        assert!(a.contains(ip("127.200.3.4")));
        assert!(a.contains(ip("::1")));
        assert!(a.contains(ip("::ffff:127.0.0.1")));
        assert!(!a.contains(ip("10.0.0.1")));
        assert!(!a.contains(ip("2001:db8::1")));
    }

    #[test]
    fn parses_ranges_hosts_and_none() {
        let a = AllowList::parse(" 10.0.0.0/8 ,2001:db8::/32, 192.0.2.7").expect("valid list");
        assert!(a.contains(ip("10.255.0.1")));
        assert!(a.contains(ip("2001:db8:1::5")));
        assert!(a.contains(ip("192.0.2.7")));
        assert!(!a.contains(ip("192.0.2.8")));
        assert!(AllowList::parse("none").expect("none").nets().is_empty());
        // Host bits set is a common way of writing a range; it means the range.
        assert!(
            AllowList::parse("10.1.2.3/16")
                .expect("host bits")
                .contains(ip("10.1.9.9"))
        );
    }

    #[test]
    fn rejects_bad_entries() {
        assert!(AllowList::parse("10.0.0.0/33").is_err());
        assert!(AllowList::parse("10.0.0.0/8,,::1/128").is_err());
        assert!(AllowList::parse("localhost").is_err());
        let e = AllowList::from_setting("APPTRACK_ALLOW_CIDRS", "1.2.3.0/99").expect_err("bad");
        assert!(
            e.to_string()
                .contains("APPTRACK_ALLOW_CIDRS=\"1.2.3.0/99\""),
            "{e}"
        );
    }
}

//! Numbers and IPv4 addresses written straight into a string. `core::fmt` goes through its
//! formatting machinery for each (width and padding checks, and a buffer per address); a
//! proxied request writes a dozen of them, in Wasm that V8 may still run in its baseline tier.

use std::fmt::Write;
use std::net::IpAddr;

/// Appends `n` in decimal, as `{n}` would.
pub fn push_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut len = 0;
    for slot in buf.iter_mut().rev() {
        // A digit: `n % 10` is below 10.
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
        if n == 0 {
            break;
        }
    }
    let digits = buf.get(buf.len() - len..).unwrap_or_default();
    out.extend(digits.iter().map(|&d| char::from(d)));
}

/// Appends `ip` as `{ip}` would: IPv4 directly, IPv6 through `core::fmt` (rarer, and its
/// compression rules are not worth writing twice).
pub fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_u64(out, octet.into());
            }
        }
        // Writing into a String cannot fail.
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

/// `n` in decimal, as `n.to_string()` would make it.
pub fn text(n: u64) -> String {
    let mut out = String::with_capacity(20);
    push_u64(&mut out, n);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_display_writes_them() {
        for n in [
            0,
            1,
            9,
            10,
            99,
            100,
            443,
            65_535,
            1_795_000_000_123,
            u64::MAX,
        ] {
            let mut out = String::from("x");
            push_u64(&mut out, n);
            assert_eq!(out, format!("x{n}"));
            assert_eq!(text(n), n.to_string());
        }
    }

    #[test]
    fn addresses_as_display_writes_them() {
        for ip in [
            "0.0.0.0",
            "203.0.113.7",
            "255.255.255.255",
            "10.0.0.1",
            "::1",
            "2001:db8::1",
            "::ffff:1.2.3.4",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut out = String::new();
            push_ip(&mut out, ip);
            assert_eq!(out, ip.to_string());
        }
    }
}

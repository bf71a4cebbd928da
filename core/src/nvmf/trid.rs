//! Parsing a transport ID from `ADDR:PORT`, the one rule every front end uses (scenario files,
//! the runtime's config, command line and RPCs). The model's transport is TCP over IPv4 (SPDK's
//! `trtype TCP adrfam IPv4`), so the address must be a dotted-quad IPv4 address and the port a
//! decimal u16; the address is kept in its canonical form, so two spellings of one address are
//! one listener.

use super::Trid;
use std::fmt;
use std::net::SocketAddrV4;
use std::str::FromStr;

/// A string that is not `IPv4:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadTrid(pub String);

impl fmt::Display for BadTrid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad transport address '{}' (expected IPv4:PORT)", self.0)
    }
}

impl std::error::Error for BadTrid {}

impl FromStr for Trid {
    type Err = BadTrid;

    fn from_str(s: &str) -> Result<Trid, BadTrid> {
        let addr: SocketAddrV4 = s.parse().map_err(|_| BadTrid(s.to_string()))?;
        Ok(Trid::tcp(&addr.ip().to_string(), addr.port()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ipv4_and_port() {
        assert_eq!("127.0.0.1:4420".parse(), Ok(Trid::tcp("127.0.0.1", 4420)));
        assert_eq!("0.0.0.0:0".parse(), Ok(Trid::tcp("0.0.0.0", 0)));
        assert_eq!("10.0.0.2:65535".parse(), Ok(Trid::tcp("10.0.0.2", 65535)));
    }

    #[test]
    fn rejects_what_is_not_ipv4_colon_port() {
        for bad in [
            "",
            "127.0.0.1",
            ":4420",
            "localhost:4420",
            "127.0.0.1:",
            "127.0.0.1:65536",
            "127.0.0.1:-1",
            "127.0.0.1:44x",
            "256.0.0.1:4420",
            "[::1]:4420",
            "::1:4420",
            "127.0.0.1:4420 ",
        ] {
            assert_eq!(
                bad.parse::<Trid>(),
                Err(BadTrid(bad.to_string())),
                "{bad:?}"
            );
        }
        assert_eq!(
            BadTrid("x".into()).to_string(),
            "bad transport address 'x' (expected IPv4:PORT)"
        );
    }
}

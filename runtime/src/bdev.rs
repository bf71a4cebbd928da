//! RAM block devices as the runtime holds them (`bdev_malloc_create`, `[[bdev]]` in the config):
//! geometry plus the bdev UUID. Invariant: a bdev's UUID never changes once created; without a
//! configured one it is a random version-4 UUID (SPDK's bdev layer generates one the same way
//! at registration), so two bdevs or two target instances never share it.

use crate::config::ConfigError;

/// A RAM block device held by the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bdev {
    pub block_size: u32,
    pub num_blocks: u64,
    pub uuid: [u8; 16],
}

impl Bdev {
    /// A bdev with `uuid`, or a fresh random one.
    pub fn new(block_size: u32, num_blocks: u64, uuid: Option<[u8; 16]>) -> std::io::Result<Bdev> {
        let uuid = match uuid {
            Some(u) => u,
            None => random_uuid()?,
        };
        Ok(Bdev {
            block_size,
            num_blocks,
            uuid,
        })
    }

    pub fn validate(&self, name: &str) -> Result<(), ConfigError> {
        if self.block_size < 512 || !self.block_size.is_power_of_two() || self.num_blocks == 0 {
            return Err(ConfigError::BadBdev(name.to_string()));
        }
        Ok(())
    }
}

/// A version-4 (random) UUID from the OS's random source.
pub fn random_uuid() -> std::io::Result<[u8; 16]> {
    use std::io::Read;
    let mut u = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut u)?;
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    Ok(u)
}

/// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (any case) into 16 bytes.
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let hex: Vec<u8> = b.iter().copied().filter(|c| *c != b'-').collect();
    parse_hex::<16>(std::str::from_utf8(&hex).ok()?)
}

/// Parses exactly `2 * N` hex digits (SPDK's `decode_hex_string_be` for NGUID / EUI64).
pub fn parse_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lower case (as `spdk_uuid_fmt_lower`).
pub fn fmt_uuid(id: &[u8; 16]) -> String {
    let h: String = id.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_and_hex_round_trip() {
        let u = parse_uuid("0123ABCD-4567-89ab-cdef-0123456789AB").unwrap();
        assert_eq!(fmt_uuid(&u), "0123abcd-4567-89ab-cdef-0123456789ab");
        assert_eq!(parse_hex::<2>("0aFf"), Some([0x0a, 0xff]));
        assert_eq!(parse_hex::<2>("0aF"), None);
        assert_eq!(parse_uuid("0123abcd_4567-89ab-cdef-0123456789ab"), None);
    }

    #[test]
    fn random_uuids_differ_and_are_version_4() {
        let a = random_uuid().unwrap();
        let b = random_uuid().unwrap();
        assert_ne!(a, b);
        assert_eq!((a[6] >> 4, a[8] >> 6), (4, 0b10));
        let fixed = [7u8; 16];
        assert_eq!(Bdev::new(512, 8, Some(fixed)).unwrap().uuid, fixed);
    }
}

//! The 8-byte NVMe/TCP common header, the PDU type table and CRC32C digests.
//!
//! Owns: field offsets of the common header, the per-type fixed header lengths (`hlen`), which
//! types carry header/data digests, which direction each type travels, and the digest function.
//! Invariant: `PduType::hlen` is the single source of every fixed header length; the encoder
//! and the decoder both read it.

use super::bytes::{get_u32, put_u32};
use super::{PduType, Role};

/// Common header length.
pub const COMMON_HEADER_LEN: usize = 8;
/// Length of a header or data digest.
pub const DIGEST_LEN: usize = 4;
/// Longest PDU header (`hlen` of ICReq/ICResp).
pub const MAX_HLEN: usize = 128;
/// Largest TermReq `plen`: 24-byte header plus at most 128 bytes of the offending header.
pub const TERM_REQ_MAX_PLEN: usize = 152;
/// Most bytes of an offending PDU header echoed in a TermReq.
pub const TERM_REQ_MAX_DATA: usize = 128;

/// Common header flag bits.
pub mod flags {
    /// A header digest follows the PDU header.
    pub const HDGSTF: u8 = 1 << 0;
    /// A data digest follows the PDU data.
    pub const DDGSTF: u8 = 1 << 1;
    /// Last data PDU of a transfer (H2CData, C2HData).
    pub const LAST_PDU: u8 = 1 << 2;
    /// C2HData: the command completed successfully, no CapsuleResp follows.
    pub const SUCCESS: u8 = 1 << 3;
}

/// Byte offsets of the common header fields (also the `fei` of a bad field).
pub mod field {
    pub const PDU_TYPE: usize = 0;
    pub const FLAGS: usize = 1;
    pub const HLEN: usize = 2;
    pub const PDO: usize = 3;
    pub const PLEN: usize = 4;
}

/// The parsed common header (no validation beyond the length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommonHeader {
    pub pdu_type: u8,
    pub flags: u8,
    pub hlen: u8,
    pub pdo: u8,
    pub plen: u32,
}

impl CommonHeader {
    /// Reads the first 8 bytes of `b`. Caller MUST pass at least 8 bytes.
    #[inline]
    pub fn parse(b: &[u8]) -> CommonHeader {
        CommonHeader {
            pdu_type: b[field::PDU_TYPE],
            flags: b[field::FLAGS],
            hlen: b[field::HLEN],
            pdo: b[field::PDO],
            plen: get_u32(b, field::PLEN),
        }
    }

    /// Writes the header into the first 8 bytes of `b`.
    pub fn write(&self, b: &mut [u8]) {
        b[field::PDU_TYPE] = self.pdu_type;
        b[field::FLAGS] = self.flags;
        b[field::HLEN] = self.hlen;
        b[field::PDO] = self.pdo;
        put_u32(b, field::PLEN, self.plen);
    }
}

impl PduType {
    /// Every PDU type, in type-byte order.
    pub const ALL: [PduType; 9] = [
        PduType::IcReq,
        PduType::IcResp,
        PduType::H2CTermReq,
        PduType::C2HTermReq,
        PduType::CapsuleCmd,
        PduType::CapsuleResp,
        PduType::H2CData,
        PduType::C2HData,
        PduType::R2T,
    ];

    /// The type for a type byte, `None` for reserved values (0x08, 0x0A..).
    pub fn from_u8(v: u8) -> Option<PduType> {
        PduType::ALL.into_iter().find(|t| *t as u8 == v)
    }

    /// The fixed header length (`hlen`) of this type.
    pub fn hlen(self) -> usize {
        match self {
            PduType::IcReq | PduType::IcResp => 128,
            PduType::CapsuleCmd => 72,
            _ => 24,
        }
    }

    /// Whether a negotiated header digest follows this type's header.
    pub fn has_header_digest(self) -> bool {
        !matches!(
            self,
            PduType::IcReq | PduType::IcResp | PduType::H2CTermReq | PduType::C2HTermReq
        )
    }

    /// Whether this type may carry data protected by a data digest.
    pub fn may_carry_digested_data(self) -> bool {
        matches!(
            self,
            PduType::CapsuleCmd | PduType::H2CData | PduType::C2HData
        )
    }

    /// Whether this type travels host to controller (decoded by `Role::Target`).
    pub fn is_host_to_controller(self) -> bool {
        matches!(
            self,
            PduType::IcReq | PduType::H2CTermReq | PduType::CapsuleCmd | PduType::H2CData
        )
    }

    /// Whether a decoder serving `role` may receive this type.
    pub fn received_by(self, role: Role) -> bool {
        self.is_host_to_controller() == (role == Role::Target)
    }

    /// Short name used in traces.
    pub fn name(self) -> &'static str {
        match self {
            PduType::IcReq => "ICReq",
            PduType::IcResp => "ICResp",
            PduType::H2CTermReq => "H2CTermReq",
            PduType::C2HTermReq => "C2HTermReq",
            PduType::CapsuleCmd => "CapsuleCmd",
            PduType::CapsuleResp => "CapsuleResp",
            PduType::H2CData => "H2CData",
            PduType::C2HData => "C2HData",
            PduType::R2T => "R2T",
        }
    }
}

pub use super::crc::crc32c;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_table() {
        for t in PduType::ALL {
            assert_eq!(PduType::from_u8(t as u8), Some(t));
            assert!(t.hlen() <= MAX_HLEN);
            assert_ne!(t.received_by(Role::Target), t.received_by(Role::Host));
        }
        assert_eq!(PduType::from_u8(0x08), None);
        assert_eq!(PduType::from_u8(0x0a), None);
        assert_eq!(PduType::CapsuleCmd.hlen(), 72);
    }

    #[test]
    fn common_header_round_trip() {
        let ch = CommonHeader {
            pdu_type: 4,
            flags: 3,
            hlen: 72,
            pdo: 80,
            plen: 0x0102_0304,
        };
        let mut b = [0xa5u8; 8];
        ch.write(&mut b);
        assert_eq!(b, [4, 3, 72, 80, 4, 3, 2, 1]);
        assert_eq!(CommonHeader::parse(&b), ch);
    }
}

//! The 64-byte submission queue entry and its SGL descriptor.
//!
//! Owns: SQE byte offsets. Invariant: `Sqe::parse(&sqe.to_bytes()) == sqe` for every `Sqe`
//! (every byte of the entry is a field).

use super::bytes::{get_u32, get_u64, put_u32, put_u64};
use super::{SglDescriptor, Sqe, SGL_IN_CAPSULE, SGL_TRANSPORT};

/// SQE length.
pub const SQE_LEN: usize = 64;
/// SGL descriptor length.
pub const SGL_LEN: usize = 16;

/// Byte offsets inside the SQE.
pub mod field {
    pub const OPC: usize = 0;
    pub const FLAGS: usize = 1;
    pub const CID: usize = 2;
    pub const NSID: usize = 4;
    pub const CDW2: usize = 8;
    pub const CDW3: usize = 12;
    pub const MPTR: usize = 16;
    pub const SGL1: usize = 24;
    pub const CDW10: usize = 40;
}

/// SQE flags byte: PSDT = 01b (SGLs, metadata contiguous), as SPDK and Linux send.
pub const SQE_FLAGS_SGL: u8 = 0x40;

impl SglDescriptor {
    /// In-capsule data of `len` bytes (offset 0).
    pub fn in_capsule(len: u32) -> SglDescriptor {
        SglDescriptor {
            addr: 0,
            len,
            kind: SGL_IN_CAPSULE,
        }
    }

    /// Data of `len` bytes moved by R2T/H2CData or C2HData.
    pub fn transport(len: u32) -> SglDescriptor {
        SglDescriptor {
            addr: 0,
            len,
            kind: SGL_TRANSPORT,
        }
    }

    /// Parses 16 bytes. Caller MUST pass at least 16.
    pub fn parse(b: &[u8]) -> SglDescriptor {
        SglDescriptor {
            addr: get_u64(b, 0),
            len: get_u32(b, 8),
            kind: b[15],
        }
    }

    /// Writes 16 bytes (bytes 12..15 zero).
    pub fn write(&self, b: &mut [u8]) {
        put_u64(b, 0, self.addr);
        put_u32(b, 8, self.len);
        b[12..15].fill(0);
        b[15] = self.kind;
    }
}

impl Sqe {
    /// Parses 64 bytes. Caller MUST pass at least 64.
    pub fn parse(b: &[u8]) -> Sqe {
        // One length check here; every field access below is then in bounds by the type.
        let b: &[u8; SQE_LEN] = b[..SQE_LEN].try_into().expect("64 bytes");
        let cdw = |i: usize| get_u32(b, field::CDW10 + 4 * i);
        Sqe {
            opc: b[field::OPC],
            flags: b[field::FLAGS],
            cid: super::bytes::get_u16(b, field::CID),
            nsid: get_u32(b, field::NSID),
            cdw2: get_u32(b, field::CDW2),
            cdw3: get_u32(b, field::CDW3),
            mptr: get_u64(b, field::MPTR),
            sgl1: SglDescriptor::parse(&b[field::SGL1..field::SGL1 + SGL_LEN]),
            cdw10: cdw(0),
            cdw11: cdw(1),
            cdw12: cdw(2),
            cdw13: cdw(3),
            cdw14: cdw(4),
            cdw15: cdw(5),
        }
    }

    /// Writes the 64 bytes into `b` (at least 64 long).
    pub fn write(&self, b: &mut [u8]) {
        b[field::OPC] = self.opc;
        b[field::FLAGS] = self.flags;
        super::bytes::put_u16(b, field::CID, self.cid);
        put_u32(b, field::NSID, self.nsid);
        put_u32(b, field::CDW2, self.cdw2);
        put_u32(b, field::CDW3, self.cdw3);
        put_u64(b, field::MPTR, self.mptr);
        self.sgl1.write(&mut b[field::SGL1..field::SGL1 + SGL_LEN]);
        let cdws = [
            self.cdw10, self.cdw11, self.cdw12, self.cdw13, self.cdw14, self.cdw15,
        ];
        for (i, v) in cdws.into_iter().enumerate() {
            put_u32(b, field::CDW10 + 4 * i, v);
        }
    }

    /// The 64 bytes of this entry.
    pub fn to_bytes(&self) -> [u8; SQE_LEN] {
        let mut b = [0u8; SQE_LEN];
        self.write(&mut b);
        b
    }

    /// Fabrics command type (byte 4), meaningful when `opc == OPC_FABRICS`.
    pub fn fctype(&self) -> u8 {
        self.nsid as u8
    }

    /// This entry with SGL1 set to `sgl`.
    #[must_use]
    pub fn with_sgl(mut self, sgl: SglDescriptor) -> Sqe {
        self.sgl1 = sgl;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqe_golden_offsets() {
        let sqe = Sqe {
            opc: 0x7f,
            flags: 0x40,
            cid: 0x0102,
            nsid: 0x01,
            cdw2: 0x0403_0201,
            cdw3: 0x0807_0605,
            mptr: 0x1122_3344_5566_7788,
            sgl1: SglDescriptor::in_capsule(1024),
            cdw10: 0xa0a1_a2a3,
            cdw11: 0xb0b1_b2b3,
            cdw12: 0xc0c1_c2c3,
            cdw13: 0xd0d1_d2d3,
            cdw14: 0xe0e1_e2e3,
            cdw15: 0xf0f1_f2f3,
        };
        let mut b = [0xa5u8; 64];
        sqe.write(&mut b);
        assert_eq!(&b[0..8], &[0x7f, 0x40, 0x02, 0x01, 0x01, 0, 0, 0]);
        assert_eq!(
            &b[24..40],
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0x01]
        );
        assert_eq!(&b[40..44], &[0xa3, 0xa2, 0xa1, 0xa0]);
        assert_eq!(&b[60..64], &[0xf3, 0xf2, 0xf1, 0xf0]);
        assert_eq!(Sqe::parse(&b), sqe);
        assert_eq!(sqe.fctype(), 0x01);
    }
}

//! The 16-byte completion queue entry and the status field.
//!
//! Owns: CQE byte offsets and the status bit layout (P bit 0, SC 1-8, SCT 9-11, CRD 12-13,
//! M 14, DNR 15). Invariant: `Cqe::parse(&cqe.to_bytes()) == cqe` whenever the status fields
//! fit their widths (SCT 3 bits, CRD 2 bits); the phase bit is always emitted as 0 (fabrics).

use super::bytes::{get_u16, get_u32, put_u16, put_u32};
use super::{status, Cqe, Status};
use std::fmt;

/// CQE length.
pub const CQE_LEN: usize = 16;

/// Byte offsets inside the CQE.
pub mod field {
    pub const CDW0: usize = 0;
    pub const CDW1: usize = 4;
    pub const SQHD: usize = 8;
    pub const SQID: usize = 10;
    pub const CID: usize = 12;
    pub const STATUS: usize = 14;
}

impl Status {
    /// Builds a status from SCT and SC (no retry delay, more or DNR).
    pub const fn new(sct: u8, sc: u8) -> Status {
        Status {
            sct,
            sc,
            crd: 0,
            more: false,
            dnr: false,
        }
    }

    /// The same status with DNR set.
    #[must_use]
    pub const fn with_dnr(mut self) -> Status {
        self.dnr = true;
        self
    }

    /// The CQE status field (phase bit 0). SCT and CRD are masked to their widths.
    pub fn to_u16(self) -> u16 {
        (u16::from(self.sc) << 1)
            | (u16::from(self.sct & 0x7) << 9)
            | (u16::from(self.crd & 0x3) << 12)
            | (u16::from(self.more) << 14)
            | (u16::from(self.dnr) << 15)
    }

    /// Parses the CQE status field, ignoring the phase bit.
    pub fn from_u16(v: u16) -> Status {
        Status {
            sc: (v >> 1) as u8,
            sct: ((v >> 9) & 0x7) as u8,
            crd: ((v >> 12) & 0x3) as u8,
            more: v & (1 << 14) != 0,
            dnr: v & (1 << 15) != 0,
        }
    }

    /// The name of a status the project uses, ignoring CRD/M/DNR.
    pub fn name(self) -> Option<&'static str> {
        let key = Status::new(self.sct, self.sc);
        KNOWN.iter().find(|(s, _)| *s == key).map(|(_, n)| *n)
    }
}

const KNOWN: [(Status, &str); 16] = [
    (status::SUCCESS, "SUCCESS"),
    (status::INVALID_OPCODE, "INVALID_OPCODE"),
    (status::INVALID_FIELD, "INVALID_FIELD"),
    (status::DATA_TRANSFER_ERROR, "DATA_TRANSFER_ERROR"),
    (status::INTERNAL_DEVICE_ERROR, "INTERNAL_DEVICE_ERROR"),
    (status::ABORTED_SQ_DELETION, "ABORTED_SQ_DELETION"),
    (status::INVALID_NAMESPACE, "INVALID_NAMESPACE"),
    (status::COMMAND_SEQUENCE_ERROR, "COMMAND_SEQUENCE_ERROR"),
    (status::LBA_OUT_OF_RANGE, "LBA_OUT_OF_RANGE"),
    (status::NAMESPACE_NOT_READY, "NAMESPACE_NOT_READY"),
    (status::KEEP_ALIVE_INVALID, "KEEP_ALIVE_INVALID"),
    (
        status::ASYNC_EVENT_LIMIT_EXCEEDED,
        "ASYNC_EVENT_LIMIT_EXCEEDED",
    ),
    (
        status::CONNECT_INCOMPATIBLE_FORMAT,
        "CONNECT_INCOMPATIBLE_FORMAT",
    ),
    (status::CONTROLLER_BUSY, "CONTROLLER_BUSY"),
    (
        status::CONNECT_INVALID_PARAMETERS,
        "CONNECT_INVALID_PARAMETERS",
    ),
    (status::CONNECT_INVALID_HOST, "CONNECT_INVALID_HOST"),
];

impl fmt::Display for Status {
    /// `SUCCESS`, `CONTROLLER_BUSY dnr`, or `sct=2 sc=0x81` for unnamed codes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n)?,
            None => write!(f, "sct={} sc={:#04x}", self.sct, self.sc)?,
        }
        if self.crd != 0 {
            write!(f, " crd={}", self.crd)?;
        }
        if self.more {
            f.write_str(" more")?;
        }
        if self.dnr {
            f.write_str(" dnr")?;
        }
        Ok(())
    }
}

impl Cqe {
    /// Parses 16 bytes. Caller MUST pass at least 16.
    pub fn parse(b: &[u8]) -> Cqe {
        Cqe {
            cdw0: get_u32(b, field::CDW0),
            cdw1: get_u32(b, field::CDW1),
            sqhd: get_u16(b, field::SQHD),
            sqid: get_u16(b, field::SQID),
            cid: get_u16(b, field::CID),
            status: Status::from_u16(get_u16(b, field::STATUS)),
        }
    }

    /// Writes the 16 bytes into `b` (at least 16 long).
    pub fn write(&self, b: &mut [u8]) {
        put_u32(b, field::CDW0, self.cdw0);
        put_u32(b, field::CDW1, self.cdw1);
        put_u16(b, field::SQHD, self.sqhd);
        put_u16(b, field::SQID, self.sqid);
        put_u16(b, field::CID, self.cid);
        put_u16(b, field::STATUS, self.status.to_u16());
    }

    /// The 16 bytes of this entry.
    pub fn to_bytes(&self) -> [u8; CQE_LEN] {
        let mut b = [0u8; CQE_LEN];
        self.write(&mut b);
        b
    }

    /// A completion of command `cid` with `status` and result `cdw0`.
    pub fn new(cid: u16, status: Status, cdw0: u32) -> Cqe {
        Cqe {
            cdw0,
            cid,
            status,
            ..Cqe::default()
        }
    }

    /// The 64-bit result of a Property Get (CQE bytes 0..8).
    pub fn result_u64(&self) -> u64 {
        u64::from(self.cdw0) | u64::from(self.cdw1) << 32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bits() {
        let s = Status {
            sct: 1,
            sc: 0x82,
            crd: 2,
            more: true,
            dnr: true,
        };
        assert_eq!(
            s.to_u16(),
            (0x82 << 1) | (1 << 9) | (2 << 12) | (1 << 14) | (1 << 15)
        );
        assert_eq!(Status::from_u16(s.to_u16()), s);
        assert_eq!(Status::from_u16(s.to_u16() | 1), s, "phase bit ignored");
        assert_eq!(status::CONNECT_INVALID_PARAMETERS.to_u16(), 0x0304);
        assert_eq!(s.to_string(), "CONNECT_INVALID_PARAMETERS crd=2 more dnr");
        assert_eq!(Status::new(2, 0x81).to_string(), "sct=2 sc=0x81");
    }

    #[test]
    fn cqe_golden() {
        let cqe = Cqe {
            cdw0: 0x0000_0001,
            cdw1: 0x0a0b_0c0d,
            sqhd: 0x0203,
            sqid: 0,
            cid: 0x0405,
            status: status::CONTROLLER_BUSY,
        };
        let mut b = [0xa5u8; 16];
        cqe.write(&mut b);
        assert_eq!(
            b,
            [1, 0, 0, 0, 0x0d, 0x0c, 0x0b, 0x0a, 3, 2, 0, 0, 5, 4, 0x02, 0x03]
        );
        assert_eq!(Cqe::parse(&b), cqe);
        assert_eq!(cqe.result_u64(), 0x0a0b_0c0d_0000_0001);
    }
}

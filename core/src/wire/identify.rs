//! Identify Controller and Identify Namespace data structures (4096 bytes each).
//!
//! Owns: the byte offsets of the fields the target fills (NVMe Base 2.0, checked against the
//! `offsetof` of SPDK's `struct spdk_nvme_ctrlr_data` and `struct spdk_nvme_ns_data`). Invariant: `parse(&x.to_bytes()) == Some(x)` when
//! the strings fit their fields (sn 20, mn 40, fr 8 ASCII bytes without trailing spaces;
//! subnqn at most 255 bytes).

use super::bytes::{
    get_cstr, get_padded, get_u16, get_u32, get_u64, put_cstr, put_padded, put_u16, put_u32,
    put_u64,
};
use super::{IdentifyController, IdentifyNamespace};

/// Identify data length.
pub const IDENTIFY_LEN: usize = 4096;

/// Identify Controller byte offsets.
pub mod ctrl_field {
    pub const VID: usize = 0;
    pub const SSVID: usize = 2;
    pub const SN: usize = 4;
    pub const MN: usize = 24;
    pub const FR: usize = 64;
    pub const MDTS: usize = 77;
    pub const CNTLID: usize = 78;
    pub const VER: usize = 80;
    pub const OAES: usize = 92;
    pub const CNTRLTYPE: usize = 111;
    pub const AERL: usize = 259;
    pub const KAS: usize = 320;
    pub const SQES: usize = 512;
    pub const CQES: usize = 513;
    pub const MAXCMD: usize = 514;
    pub const NN: usize = 516;
    pub const SGLS: usize = 536;
    pub const SUBNQN: usize = 768;
    pub const IOCCSZ: usize = 1792;
    pub const IORCSZ: usize = 1796;
    pub const ICDOFF: usize = 1800;
    pub const MSDBD: usize = 1803;
}

/// Identify Namespace byte offsets.
pub mod ns_field {
    pub const NSZE: usize = 0;
    pub const NCAP: usize = 8;
    pub const NUSE: usize = 16;
    pub const NLBAF: usize = 25;
    pub const FLBAS: usize = 26;
    /// LBA format 0 (u32 at 128): LBADS is its byte 2.
    pub const LBAF0_LBADS: usize = 130;
}

impl IdentifyController {
    pub(crate) fn build_bytes(&self) -> Vec<u8> {
        use ctrl_field::*;
        let mut b = vec![0u8; IDENTIFY_LEN];
        put_u16(&mut b, VID, self.vid);
        put_u16(&mut b, SSVID, self.ssvid);
        put_padded(&mut b[SN..SN + 20], &self.sn);
        put_padded(&mut b[MN..MN + 40], &self.mn);
        put_padded(&mut b[FR..FR + 8], &self.fr);
        b[MDTS] = self.mdts;
        put_u16(&mut b, CNTLID, self.cntlid);
        put_u32(&mut b, VER, self.ver);
        put_u32(&mut b, OAES, self.oaes);
        b[CNTRLTYPE] = self.cntrltype;
        b[AERL] = self.aerl;
        put_u16(&mut b, KAS, self.kas);
        b[SQES] = self.sqes;
        b[CQES] = self.cqes;
        put_u16(&mut b, MAXCMD, self.maxcmd);
        put_u32(&mut b, NN, self.nn);
        put_u32(&mut b, SGLS, self.sgls);
        put_cstr(&mut b[SUBNQN..SUBNQN + 256], &self.subnqn);
        put_u32(&mut b, IOCCSZ, self.ioccsz);
        put_u32(&mut b, IORCSZ, self.iorcsz);
        put_u16(&mut b, ICDOFF, self.icdoff);
        b[MSDBD] = self.msdbd;
        b
    }

    pub(crate) fn parse_bytes(b: &[u8]) -> Option<IdentifyController> {
        use ctrl_field::*;
        if b.len() < IDENTIFY_LEN {
            return None;
        }
        Some(IdentifyController {
            vid: get_u16(b, VID),
            ssvid: get_u16(b, SSVID),
            sn: get_padded(&b[SN..SN + 20]),
            mn: get_padded(&b[MN..MN + 40]),
            fr: get_padded(&b[FR..FR + 8]),
            mdts: b[MDTS],
            cntlid: get_u16(b, CNTLID),
            ver: get_u32(b, VER),
            oaes: get_u32(b, OAES),
            cntrltype: b[CNTRLTYPE],
            aerl: b[AERL],
            kas: get_u16(b, KAS),
            sqes: b[SQES],
            cqes: b[CQES],
            maxcmd: get_u16(b, MAXCMD),
            nn: get_u32(b, NN),
            sgls: get_u32(b, SGLS),
            subnqn: get_cstr(&b[SUBNQN..SUBNQN + 256])?,
            ioccsz: get_u32(b, IOCCSZ),
            iorcsz: get_u32(b, IORCSZ),
            icdoff: get_u16(b, ICDOFF),
            msdbd: b[MSDBD],
        })
    }
}

impl IdentifyNamespace {
    pub(crate) fn build_bytes(&self) -> Vec<u8> {
        use ns_field::*;
        let mut b = vec![0u8; IDENTIFY_LEN];
        put_u64(&mut b, NSZE, self.nsze);
        put_u64(&mut b, NCAP, self.ncap);
        put_u64(&mut b, NUSE, self.nuse);
        b[NLBAF] = self.nlbaf;
        b[FLBAS] = self.flbas;
        b[LBAF0_LBADS] = self.lbads;
        b
    }

    pub(crate) fn parse_bytes(b: &[u8]) -> Option<IdentifyNamespace> {
        use ns_field::*;
        if b.len() < IDENTIFY_LEN {
            return None;
        }
        Some(IdentifyNamespace {
            nsze: get_u64(b, NSZE),
            ncap: get_u64(b, NCAP),
            nuse: get_u64(b, NUSE),
            nlbaf: b[NLBAF],
            flbas: b[FLBAS],
            lbads: b[LBAF0_LBADS],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spdk_like() -> IdentifyController {
        IdentifyController {
            vid: 0x8086,
            ssvid: 0x8086,
            sn: "SPDK00000000000001".into(),
            mn: "SPDK bdev Controller".into(),
            fr: "24.01".into(),
            mdts: 5,
            cntlid: 1,
            ver: 0x0001_0300,
            oaes: 1 << 8,
            cntrltype: 1,
            aerl: 3,
            kas: 100,
            sqes: 0x66,
            cqes: 0x44,
            maxcmd: 128,
            nn: 32,
            sgls: 0x0010_0005,
            subnqn: "nqn.2016-06.io.spdk:cnode1".into(),
            ioccsz: 260,
            iorcsz: 1,
            icdoff: 0,
            msdbd: 1,
        }
    }

    #[test]
    fn controller_offsets() {
        let id = spdk_like();
        let b = id.to_bytes();
        assert_eq!(b.len(), 4096);
        assert_eq!(&b[78..80], &[1, 0], "cntlid@78");
        assert_eq!(&b[320..322], &[100, 0], "kas@320");
        assert_eq!((b[512], b[513]), (0x66, 0x44));
        assert_eq!(&b[516..520], &[32, 0, 0, 0], "nn@516");
        assert_eq!(b[536] & 1, 1, "sgls bit 0");
        assert_eq!(&b[768..772], b"nqn.");
        assert_eq!(&b[1792..1796], &[4, 1, 0, 0], "ioccsz@1792");
        assert_eq!(&b[1800..1802], &[0, 0], "icdoff@1800");
        assert_eq!(b[1803], 1);
        assert_eq!(&b[4..24], b"SPDK00000000000001  ");
        assert_eq!(b[259], 3);
        assert_eq!(IdentifyController::parse(&b), Some(id));
        assert_eq!(IdentifyController::parse(&b[..4095]), None);
    }

    #[test]
    fn namespace_offsets() {
        let ns = IdentifyNamespace {
            nsze: 131_072,
            ncap: 131_072,
            nuse: 131_072,
            nlbaf: 0,
            flbas: 0,
            lbads: 9,
        };
        let b = ns.to_bytes();
        assert_eq!(&b[0..8], &[0, 0, 2, 0, 0, 0, 0, 0]);
        assert_eq!(&b[128..132], &[0, 0, 9, 0]);
        assert_eq!(IdentifyNamespace::parse(&b), Some(ns));
        assert_eq!(IdentifyNamespace::parse(&[0u8; 10]), None);
    }
}

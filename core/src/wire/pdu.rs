//! `Pdu` encoding (`emit`) and decoding of an already validated PDU (`parse_validated`).
//!
//! Owns: the byte offsets of every PDU-specific header field and the layout rule the encoder
//! follows (no padding: `pdo = hlen + header digest`; digests only on the types that carry
//! them). Invariant: `emit` output is accepted by `PduDecoder` with the same digests, and
//! decodes to an equal `Pdu` (callers MUST keep TermReq data <= 128 bytes and data PDUs
//! non-empty; `emit` `debug_assert!`s both).

use super::bytes::{get_u16, get_u32, put_u16, put_u32};
use super::common_header::{crc32c, flags, CommonHeader, DIGEST_LEN, MAX_HLEN, TERM_REQ_MAX_DATA};
use super::spares::Spares;
use super::{
    C2HData, CapsuleCmd, CapsuleResp, Cqe, Digests, FatalErrorStatus, H2CData, IcReq, IcResp, Pdu,
    PduType, Sqe, TermReq, R2T,
};

/// Byte offsets of the PDU-specific header fields (after the 8-byte common header).
pub mod field {
    /// ICReq/ICResp: PDU format version.
    pub const PFV: usize = 8;
    /// ICReq HPDA / ICResp CPDA.
    pub const PDA: usize = 10;
    /// ICReq/ICResp digest bits.
    pub const DGST: usize = 11;
    /// ICReq MAXR2T / ICResp MAXH2CDATA.
    pub const IC_MAX: usize = 12;
    /// TermReq fatal error status.
    pub const FES: usize = 8;
    /// TermReq fatal error information.
    pub const FEI: usize = 10;
    /// CapsuleCmd SQE / CapsuleResp CQE.
    pub const ENTRY: usize = 8;
    /// Data PDUs and R2T: command capsule CID.
    pub const CCCID: usize = 8;
    /// H2CData and R2T: transfer tag.
    pub const TTAG: usize = 10;
    /// Data offset (H2C/C2HData `datao`, R2T `r2to`).
    pub const OFFSET: usize = 12;
    /// Data length (H2C/C2HData `datal`, R2T `r2tl`).
    pub const LENGTH: usize = 16;
}

/// Digest bits of ICReq/ICResp byte 11.
const DGST_HDGST: u8 = 1 << 0;
const DGST_DDGST: u8 = 1 << 1;

impl Digests {
    /// Both digests off.
    pub const NONE: Digests = Digests {
        header: false,
        data: false,
    };
    /// Both digests on.
    pub const BOTH: Digests = Digests {
        header: true,
        data: true,
    };

    /// The ICReq/ICResp digest byte.
    pub fn to_bits(self) -> u8 {
        (u8::from(self.header) * DGST_HDGST) | (u8::from(self.data) * DGST_DDGST)
    }

    /// Parses the ICReq/ICResp digest byte (reserved bits ignored).
    pub fn from_bits(b: u8) -> Digests {
        Digests {
            header: b & DGST_HDGST != 0,
            data: b & DGST_DDGST != 0,
        }
    }
}

/// Where the parts of one encoded PDU go.
struct EmitLayout {
    hd: bool,
    dd: bool,
    pdo: usize,
    plen: usize,
}

impl Pdu {
    pub(crate) fn type_of(&self) -> PduType {
        match self {
            Pdu::IcReq(_) => PduType::IcReq,
            Pdu::IcResp(_) => PduType::IcResp,
            Pdu::H2CTermReq(_) => PduType::H2CTermReq,
            Pdu::C2HTermReq(_) => PduType::C2HTermReq,
            Pdu::CapsuleCmd(_) => PduType::CapsuleCmd,
            Pdu::CapsuleResp(_) => PduType::CapsuleResp,
            Pdu::H2CData(_) => PduType::H2CData,
            Pdu::C2HData(_) => PduType::C2HData,
            Pdu::R2T(_) => PduType::R2T,
        }
    }

    /// The payload that follows the header (TermReq: the echoed header, truncated to 128).
    pub fn payload(&self) -> &[u8] {
        match self {
            Pdu::H2CTermReq(t) | Pdu::C2HTermReq(t) => {
                &t.data[..t.data.len().min(TERM_REQ_MAX_DATA)]
            }
            Pdu::CapsuleCmd(c) => &c.data,
            Pdu::H2CData(d) => &d.data,
            Pdu::C2HData(d) => &d.data,
            _ => &[],
        }
    }

    fn emit_layout(&self, digests: Digests) -> EmitLayout {
        let ty = self.type_of();
        let hd = digests.header && ty.has_header_digest();
        let header_len = ty.hlen() + usize::from(hd) * DIGEST_LEN;
        let data_len = self.payload().len();
        if ty.may_carry_digested_data() && data_len > 0 {
            let dd = digests.data;
            let plen = header_len + data_len + usize::from(dd) * DIGEST_LEN;
            return EmitLayout {
                hd,
                dd,
                pdo: header_len,
                plen,
            };
        }
        EmitLayout {
            hd,
            dd: false,
            pdo: 0,
            plen: header_len + data_len,
        }
    }

    pub(crate) fn encoded_len_of(&self, digests: Digests) -> usize {
        self.emit_layout(digests).plen
    }

    pub(crate) fn emit_into(&self, digests: Digests, out: &mut Vec<u8>) {
        let lay = self.emit_layout(digests);
        out.reserve(lay.plen);
        self.emit_header(&lay, out);
        let data = self.payload();
        out.extend_from_slice(data);
        if lay.dd {
            out.extend_from_slice(&crc32c(data).to_le_bytes());
        }
    }

    /// The encoded headers (and header digest) alone, and whether a data digest follows the
    /// data (`PduBytes`).
    pub(crate) fn emit_head(&self, digests: Digests) -> (Vec<u8>, bool) {
        let lay = self.emit_layout(digests);
        let mut head = Vec::with_capacity(lay.plen - self.payload().len());
        self.emit_header(&lay, &mut head);
        (head, lay.dd)
    }

    fn emit_header(&self, lay: &EmitLayout, out: &mut Vec<u8>) {
        debug_assert!(
            self.check_emittable(),
            "emit of an unencodable PDU: {self:?}"
        );
        let ty = self.type_of();
        let hlen = ty.hlen();
        let mut h = [0u8; MAX_HLEN];
        CommonHeader {
            pdu_type: ty as u8,
            flags: self.flag_bits(lay),
            hlen: hlen as u8,
            pdo: lay.pdo as u8,
            plen: lay.plen as u32,
        }
        .write(&mut h);
        self.write_specific(&mut h);
        out.extend_from_slice(&h[..hlen]);
        if lay.hd {
            out.extend_from_slice(&crc32c(&h[..hlen]).to_le_bytes());
        }
    }

    /// The caller duties of `emit` (see the module doc).
    fn check_emittable(&self) -> bool {
        match self {
            Pdu::H2CTermReq(t) | Pdu::C2HTermReq(t) => t.data.len() <= TERM_REQ_MAX_DATA,
            Pdu::H2CData(d) => !d.data.is_empty(),
            Pdu::C2HData(d) => !d.data.is_empty() && (d.last || !d.success),
            _ => true,
        }
    }

    fn flag_bits(&self, lay: &EmitLayout) -> u8 {
        let mut f = 0;
        if lay.hd {
            f |= flags::HDGSTF;
        }
        if lay.dd {
            f |= flags::DDGSTF;
        }
        match self {
            Pdu::H2CData(d) if d.last => f |= flags::LAST_PDU,
            Pdu::C2HData(d) => {
                f |= (u8::from(d.last) * flags::LAST_PDU) | (u8::from(d.success) * flags::SUCCESS);
            }
            _ => {}
        }
        f
    }

    /// Writes the type-specific header fields into `h` (zeroed, at least `hlen` long).
    fn write_specific(&self, h: &mut [u8]) {
        match self {
            Pdu::IcReq(ic) => write_ic(h, ic.pfv, ic.hpda, ic.digests, ic.maxr2t),
            Pdu::IcResp(ic) => write_ic(h, ic.pfv, ic.cpda, ic.digests, ic.maxh2cdata),
            Pdu::H2CTermReq(t) | Pdu::C2HTermReq(t) => {
                put_u16(h, field::FES, t.fes as u16);
                put_u32(h, field::FEI, t.fei);
            }
            Pdu::CapsuleCmd(c) => c.sqe.write(&mut h[field::ENTRY..]),
            Pdu::CapsuleResp(r) => r.cqe.write(&mut h[field::ENTRY..]),
            Pdu::H2CData(d) => write_data_hdr(h, d.cccid, d.ttag, d.datao, d.data.len()),
            Pdu::C2HData(d) => write_data_hdr(h, d.cccid, 0, d.datao, d.data.len()),
            Pdu::R2T(r) => write_data_hdr(h, r.cccid, r.ttag, r.r2to, r.r2tl as usize),
        }
    }
}

fn write_ic(h: &mut [u8], pfv: u16, pda: u8, digests: Digests, max: u32) {
    put_u16(h, field::PFV, pfv);
    h[field::PDA] = pda;
    h[field::DGST] = digests.to_bits();
    put_u32(h, field::IC_MAX, max);
}

fn write_data_hdr(h: &mut [u8], cccid: u16, ttag: u16, offset: u32, len: usize) {
    put_u16(h, field::CCCID, cccid);
    put_u16(h, field::TTAG, ttag);
    put_u32(h, field::OFFSET, offset);
    put_u32(h, field::LENGTH, len as u32);
}

/// Builds the `Pdu` from a header and data the decoder has fully validated (`h` holds at least
/// `ty.hlen()` bytes; `fes` of a TermReq was checked). Command and data PDUs take their data
/// buffer from `spares` when one is there.
#[inline]
pub(crate) fn parse_validated(
    ty: PduType,
    flag_bits: u8,
    h: &[u8],
    data: &[u8],
    spares: &mut Spares,
) -> Pdu {
    match ty {
        PduType::IcReq => Pdu::IcReq(IcReq {
            pfv: get_u16(h, field::PFV),
            hpda: h[field::PDA],
            digests: Digests::from_bits(h[field::DGST]),
            maxr2t: get_u32(h, field::IC_MAX),
        }),
        PduType::IcResp => Pdu::IcResp(IcResp {
            pfv: get_u16(h, field::PFV),
            cpda: h[field::PDA],
            digests: Digests::from_bits(h[field::DGST]),
            maxh2cdata: get_u32(h, field::IC_MAX),
        }),
        PduType::H2CTermReq => Pdu::H2CTermReq(parse_term(h, data)),
        PduType::C2HTermReq => Pdu::C2HTermReq(parse_term(h, data)),
        PduType::CapsuleCmd => Pdu::CapsuleCmd(CapsuleCmd {
            sqe: Sqe::parse(&h[field::ENTRY..]),
            data: spares.filled(data),
        }),
        PduType::CapsuleResp => Pdu::CapsuleResp(CapsuleResp {
            cqe: Cqe::parse(&h[field::ENTRY..]),
        }),
        PduType::H2CData => Pdu::H2CData(H2CData {
            cccid: get_u16(h, field::CCCID),
            ttag: get_u16(h, field::TTAG),
            datao: get_u32(h, field::OFFSET),
            last: flag_bits & flags::LAST_PDU != 0,
            data: spares.filled(data),
        }),
        PduType::C2HData => Pdu::C2HData(C2HData {
            cccid: get_u16(h, field::CCCID),
            datao: get_u32(h, field::OFFSET),
            last: flag_bits & flags::LAST_PDU != 0,
            success: flag_bits & flags::SUCCESS != 0,
            data: spares.filled(data),
        }),
        PduType::R2T => Pdu::R2T(R2T {
            cccid: get_u16(h, field::CCCID),
            ttag: get_u16(h, field::TTAG),
            r2to: get_u32(h, field::OFFSET),
            r2tl: get_u32(h, field::LENGTH),
        }),
    }
}

fn parse_term(h: &[u8], data: &[u8]) -> TermReq {
    TermReq {
        fes: FatalErrorStatus::from_u16(get_u16(h, field::FES))
            .unwrap_or(FatalErrorStatus::InvalidHeaderField),
        fei: get_u32(h, field::FEI),
        data: data.to_vec(),
    }
}

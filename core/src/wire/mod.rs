//! NVMe/TCP wire codec (NVMe/TCP transport spec 1.0, NVMe-oF 1.1, NVMe base 2.0), little-endian.
//!
//! Owns: every PDU the target and host exchange, as a validated `Repr` (`Pdu` and its variant
//! structs) with `emit`, the streaming `PduDecoder` that turns a byte stream split anywhere into
//! whole PDUs, the SQE/CQE views, the fabrics and admin/I/O command layer (`Command`), the Identify
//! data structures and the status codes.
//!
//! Invariants kept: decoding never panics and never buffers more than one PDU (bounded by
//! `DecoderConfig::max_pdu_len`); every malformed input maps to a `WireError` carrying the
//! spec's fatal error status and error-information field, so the receiver can send the right
//! TermReq and close. `emit` produces exactly what `decode` accepts (round trip).
//!
//! CONTRACT NOTE: the public names in this module are the interface the host, the target, the
//! simulator and the runtime are written against. Add freely; do not rename or remove.
//!
//! Files: `common_header` (8-byte header, type table), `pdu` (emit, PDU field offsets),
//! `decoder` (streaming validation, FES/FEI mapping), `view` (`PduBuf` checked view,
//! `Pdu::parse`), `sqe`/`cqe` (entries, status), `command` (opcodes, `Command`, CONNECT data),
//! `identify`, `nvme` (the command-layer types: `Command`, CONNECT, Identify, status and
//! property constants), `display` (the one PDU renderer, used by traces), `crc` (digests), `error` (`WireError` constructors).
//!
//! Spec choices (details in `decoder`): a `plen` above `max_pdu_len` is an invalid PDU Length
//! field (FES 1, FEI 4); data beyond `max_data_len` is "data transfer limit exceeded" (FES 5);
//! a header digest error carries the received digest in FEI (Wireshark's "PDU header digest");
//! a data digest error is fatal in `decode` (FES 3, as SPDK sends) and per-PDU in
//! `PduDecoder::decode_tolerant` (the spec's Transient Transport Error); a TermReq is accepted
//! before the IC exchange (SPDK's target answers a bad ICReq with one). "Data transfer out of
//! range" (FES 4) needs command state, so the target reports it, not the decoder.

// Submodules are free to reorganise; the re-exports below are the contract.

mod bytes;
pub mod command;
pub mod common_header;
pub mod cqe;
mod crc;
pub mod decoder;
pub mod display;
mod error;
pub mod identify;
mod nvme;
pub mod pdu;
mod pdu_bytes;
mod spares;
pub(crate) use spares::Spares;
pub mod sqe;
pub mod view;

pub use common_header::{crc32c, flags as pdu_flags, CommonHeader, COMMON_HEADER_LEN, DIGEST_LEN};
pub use decoder::{Decoded, PduDecoder};
pub use display::PduDisplay;
pub use nvme::*;
pub use pdu_bytes::PduBytes;
pub use view::PduBuf;

use serde::{Deserialize, Serialize};

/// Which digests are enabled on a connection (negotiated by ICReq/ICResp).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Digests {
    /// HDGST: CRC32C over the PDU header of CapsuleCmd/Resp, H2C/C2HData and R2T.
    pub header: bool,
    /// DDGST: CRC32C over the data of CapsuleCmd (with in-capsule data), H2CData and C2HData.
    pub data: bool,
}

/// The PDU type byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum PduType {
    IcReq = 0x00,
    IcResp = 0x01,
    H2CTermReq = 0x02,
    C2HTermReq = 0x03,
    CapsuleCmd = 0x04,
    CapsuleResp = 0x05,
    H2CData = 0x06,
    C2HData = 0x07,
    R2T = 0x09,
}

/// Initialize Connection Request (host to controller).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IcReq {
    pub pfv: u16,
    pub hpda: u8,
    pub digests: Digests,
    /// Maximum outstanding R2Ts, 0's based.
    pub maxr2t: u32,
}

/// Initialize Connection Response (controller to host).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IcResp {
    pub pfv: u16,
    pub cpda: u8,
    pub digests: Digests,
    pub maxh2cdata: u32,
}

/// Fatal error status of a TermReq (field FES).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u16)]
pub enum FatalErrorStatus {
    /// FEI holds the byte offset of the bad header field.
    InvalidHeaderField = 1,
    PduSequenceError = 2,
    HeaderDigestError = 3,
    DataOutOfRange = 4,
    /// R2T or data transfer limit exceeded.
    LimitExceeded = 5,
    UnsupportedParameter = 6,
}

/// H2CTermReq / C2HTermReq body.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TermReq {
    pub fes: FatalErrorStatus,
    /// Fatal error information (e.g. the offending header field's byte offset).
    pub fei: u32,
    /// The offending PDU header (at most 128 bytes), copied after the 24-byte TermReq header.
    pub data: Vec<u8>,
}

/// SGL descriptor (16 bytes at SQE offset 24).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct SglDescriptor {
    pub addr: u64,
    pub len: u32,
    /// Byte 15: `(type << 4) | subtype`; see `SGL_IN_CAPSULE` and `SGL_TRANSPORT`.
    pub kind: u8,
}

/// SGL data block + offset: in-capsule data (addr must be 0).
pub const SGL_IN_CAPSULE: u8 = 0x01;
/// SGL transport data block + transport specific: data moves by R2T/H2CData or C2HData.
pub const SGL_TRANSPORT: u8 = 0x5A;

/// Submission queue entry (64 bytes), every field kept so emit/parse round trips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Sqe {
    pub opc: u8,
    pub flags: u8,
    pub cid: u16,
    /// Bytes 4..8: NSID, or for fabrics commands `fctype` in byte 4.
    pub nsid: u32,
    pub cdw2: u32,
    pub cdw3: u32,
    pub mptr: u64,
    pub sgl1: SglDescriptor,
    pub cdw10: u32,
    pub cdw11: u32,
    pub cdw12: u32,
    pub cdw13: u32,
    pub cdw14: u32,
    pub cdw15: u32,
}

/// Completion status field (CQE bytes 14..16, without the phase bit).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Status {
    /// Status code type (0 generic, 1 command specific, 2 media, 3 path).
    pub sct: u8,
    /// Status code.
    pub sc: u8,
    /// Command retry delay (2 bits).
    pub crd: u8,
    pub more: bool,
    pub dnr: bool,
}

/// Completion queue entry (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Cqe {
    pub cdw0: u32,
    pub cdw1: u32,
    pub sqhd: u16,
    pub sqid: u16,
    pub cid: u16,
    pub status: Status,
}

/// CapsuleCmd: an SQE plus optional in-capsule data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CapsuleCmd {
    pub sqe: Sqe,
    pub data: Vec<u8>,
}

/// CapsuleResp: a CQE.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CapsuleResp {
    pub cqe: Cqe,
}

/// Host-to-controller data (answer to an R2T).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct H2CData {
    pub cccid: u16,
    pub ttag: u16,
    pub datao: u32,
    pub last: bool,
    pub data: Vec<u8>,
}

/// Controller-to-host data (read data).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct C2HData {
    pub cccid: u16,
    pub datao: u32,
    pub last: bool,
    /// The command completed successfully; no CapsuleResp follows.
    pub success: bool,
    pub data: Vec<u8>,
}

/// Ready to transfer (controller asks for write data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct R2T {
    pub cccid: u16,
    pub ttag: u16,
    pub r2to: u32,
    pub r2tl: u32,
}

/// One NVMe/TCP PDU, validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Pdu {
    IcReq(IcReq),
    IcResp(IcResp),
    H2CTermReq(TermReq),
    C2HTermReq(TermReq),
    CapsuleCmd(CapsuleCmd),
    CapsuleResp(CapsuleResp),
    H2CData(H2CData),
    C2HData(C2HData),
    R2T(R2T),
}

/// Which side of the connection a decoder serves; it decides which PDU types are legal and
/// which PDU must come first (ICReq for a target, ICResp for a host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Decodes host-to-controller PDUs.
    Target,
    /// Decodes controller-to-host PDUs.
    Host,
}

/// Limits and negotiated parameters of one connection's decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DecoderConfig {
    pub role: Role,
    /// Largest `plen` accepted (bounds the buffer); larger is `InvalidHeaderField` with FEI 4
    /// (the PDU Length field), checked before anything beyond the header is buffered.
    pub max_pdu_len: u32,
    /// Largest data payload (in-capsule data, H2CData/C2HData `datal`); larger is
    /// `LimitExceeded` (the spec's "data transfer limit exceeded", FEI 0).
    pub max_data_len: u32,
    /// Digests in force; `PduDecoder::set_digests` changes them after IC negotiation.
    pub digests: Digests,
}

/// A fatal wire error: what to put in the TermReq, and a human reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[error("{reason} (fes {fes:?}, fei {fei})")]
pub struct WireError {
    pub fes: FatalErrorStatus,
    pub fei: u32,
    /// The offending PDU header bytes (at most 128), echoed in the TermReq.
    pub header: Vec<u8>,
    pub reason: String,
}

// ---- Contract signatures (bodies are filled by the codec implementation) ----

impl Status {
    /// Whether this is SCT 0 / SC 0.
    pub fn is_success(self) -> bool {
        self.sct == 0 && self.sc == 0
    }
}

impl Pdu {
    /// The type byte of this PDU.
    pub fn pdu_type(&self) -> PduType {
        self.type_of()
    }

    /// Total encoded length (`plen`) with the given digests in force.
    pub fn encoded_len(&self, digests: Digests) -> usize {
        self.encoded_len_of(digests)
    }

    /// Appends the encoded PDU to `out`. Digests apply only to the PDU types that carry them.
    pub fn emit(&self, digests: Digests, out: &mut Vec<u8>) {
        self.emit_into(digests, out);
    }

    /// `emit` into a fresh buffer.
    pub fn to_bytes(&self, digests: Digests) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len(digests));
        self.emit(digests, &mut out);
        out
    }
}

impl WireError {
    /// The TermReq body that reports this error to the peer.
    pub fn term_req(&self) -> TermReq {
        TermReq {
            fes: self.fes,
            fei: self.fei,
            data: self.header.clone(),
        }
    }
}

impl Command {
    /// Typed view of an SQE. CONNECT data is parsed separately with `ConnectData::parse`.
    pub fn parse(sqe: &Sqe, queue: QueueKind) -> Command {
        Command::parse_sqe(sqe, queue)
    }

    /// The SQE that carries this command, with command id `cid` (SGL left for the caller).
    pub fn to_sqe(&self, cid: u16) -> Sqe {
        self.build_sqe(cid)
    }
}

impl ConnectData {
    /// Parses the 1024-byte CONNECT data.
    pub fn parse(data: &[u8]) -> Result<ConnectData, WireError> {
        ConnectData::parse_bytes(data)
    }

    /// The 1024-byte CONNECT data.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.build_bytes()
    }
}

impl IdentifyController {
    /// The 4096-byte Identify Controller data structure.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.build_bytes()
    }

    /// Parses an Identify Controller data structure (at least 4096 bytes).
    pub fn parse(data: &[u8]) -> Option<IdentifyController> {
        IdentifyController::parse_bytes(data)
    }
}

impl IdentifyNamespace {
    /// The 4096-byte Identify Namespace data structure.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.build_bytes()
    }

    /// Parses an Identify Namespace data structure (at least 4096 bytes).
    pub fn parse(data: &[u8]) -> Option<IdentifyNamespace> {
        IdentifyNamespace::parse_bytes(data)
    }
}

impl AsyncEvent {
    /// Namespace attribute changed notice (type 2, info 0, log page 0x04).
    pub const NAMESPACE_CHANGED: AsyncEvent = AsyncEvent {
        event_type: 2,
        info: 0,
        log_page: 0x04,
    };

    pub fn to_cdw0(self) -> u32 {
        u32::from(self.event_type) | u32::from(self.info) << 8 | u32::from(self.log_page) << 16
    }

    pub fn from_cdw0(cdw0: u32) -> AsyncEvent {
        AsyncEvent {
            event_type: (cdw0 & 0x7) as u8,
            info: (cdw0 >> 8) as u8,
            log_page: (cdw0 >> 16) as u8,
        }
    }
}

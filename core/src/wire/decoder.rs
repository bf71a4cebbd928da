//! The streaming per-connection PDU decoder.
//!
//! Owns: validation of every PDU a peer sends, in three stages that each look only at a fixed
//! prefix of the PDU, so the same bytes give the same result however the stream is split:
//! 1. the 8-byte common header: type (FEI 0), direction (FEI 0), IC sequence, `hlen` (FEI 2)
//!    and the HDGSTF flag (FEI 1); this fixes the header length;
//! 2. the whole header (`hlen` + header digest): the header digest (FEI = received digest),
//!    then DDGSTF (FEI 1), `pdo` (FEI 3), `plen` and its limit (FEI 4), type-specific fields;
//!    this fixes `plen` (bounded by `max_pdu_len` before anything larger is buffered);
//! 3. the whole PDU: the data digest, then the `Pdu` is built.
//!
//! Invariants: at most one PDU is buffered (`buf.len() < plen <= max_pdu_len`); a PDU that
//! arrives whole in the caller's slice is parsed in place (only its data is copied, once, into
//! the `Pdu`); decoding never panics; the first error is sticky.
//!
//! Data digest errors. NVMe/TCP 1.0 treats a data digest error as a per-command error (the
//! command completes with Transient Transport Error) and has no FES for it. `decode` keeps the
//! contract's "every error is fatal" shape and reports it as `HeaderDigestError` with FEI 0,
//! which is what SPDK's initiator (`nvme_tcp_pdu_payload_handle`) and SPDK targets before the
//! accel-sequence rework send in their TermReq; `decode_tolerant` instead returns the PDU with
//! `data_digest_ok == false` so a caller can follow the spec's per-command rule.

mod checks;

use super::bytes::get_u32;
use super::common_header::{
    crc32c, field as ch, flags, CommonHeader, COMMON_HEADER_LEN, DIGEST_LEN, TERM_REQ_MAX_PLEN,
};
use super::pdu::{field as pf, parse_validated};
use super::spares::Spares;
use super::{DecoderConfig, Digests, FatalErrorStatus, Pdu, PduType, Role, WireError};

/// Largest padding between header and data a peer may ask for (PDA 31 -> 128-byte alignment).
const MAX_PAD: usize = 128;
/// Smallest MAXH2CDATA a controller may announce.
pub const MIN_MAXH2CDATA: u32 = 4096;
/// Largest HPDA/CPDA.
pub const MAX_PDA: u8 = 31;

/// A decoded PDU and whether its data digest (if any) matched.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decoded {
    pub pdu: Pdu,
    /// False only when a negotiated data digest did not match the data.
    pub data_digest_ok: bool,
}

/// Where the parts of one received PDU are (fixed by stage 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Layout {
    ty: PduType,
    flags: u8,
    /// `hlen` (no digest).
    hlen: usize,
    dd: bool,
    data_start: usize,
    /// End of data (before the data digest).
    data_end: usize,
    plen: usize,
}

/// Progress on the PDU being buffered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Stage {
    /// Waiting for the 8-byte common header.
    Common,
    /// Common header valid; waiting for `header_len` bytes.
    Header { ty: PduType, header_len: usize },
    /// Header valid; waiting for `plen` bytes.
    Body(Layout),
}

/// Streaming decoder for one connection direction.
///
/// Calling order: `new`, then `decode` repeatedly with whatever bytes arrived;
/// after IC negotiation call `set_digests`. After an `Err` the connection is dead: send
/// `err.term_req()` and close; further calls return the same error.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PduDecoder {
    config: DecoderConfig,
    // invariant: buf.len() < the stage's target length; capacity <= max(plen, 8 + header).
    buf: Vec<u8>,
    stage: Stage,
    /// The IC PDU of this direction was decoded.
    ic_done: bool,
    /// Sticky first error.
    error: Option<WireError>,
    /// The current call tolerates data digest errors (`decode_tolerant`).
    tolerant: bool,
    /// Emptied data buffers for the next PDUs (`recycle`; invisible to `==` and `Hash`).
    spares: Spares,
}

impl PduDecoder {
    pub fn new(config: DecoderConfig) -> Self {
        PduDecoder {
            config,
            buf: Vec::new(),
            stage: Stage::Common,
            ic_done: false,
            error: None,
            tolerant: false,
            spares: Spares::default(),
        }
    }

    /// A decoder that already saw (`ic_done`) or still expects the IC PDU (`Pdu::parse`).
    pub(crate) fn with_ic_done(config: DecoderConfig, ic_done: bool) -> Self {
        let mut dec = PduDecoder::new(config);
        dec.ic_done = ic_done;
        dec
    }

    /// Changes the digests in force (after ICReq/ICResp).
    pub fn set_digests(&mut self, digests: Digests) {
        self.config.digests = digests;
    }

    /// Hands back a data buffer the caller is done with (a completed write's), so that the
    /// next PDU's data fills it instead of a new allocation. Never changes what is decoded.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        self.spares.put(buf, self.config.max_data_len as usize);
    }

    /// The configuration in force.
    pub fn config(&self) -> &DecoderConfig {
        &self.config
    }

    /// Consumes bytes from the front of `input` until one whole PDU is assembled (returned as
    /// `Ok(Some)`) or `input` is empty (`Ok(None)`: incomplete, partial PDU buffered).
    /// Buffers at most one PDU. Call again with the rest of `input`.
    #[inline]
    pub fn decode(&mut self, input: &mut &[u8]) -> Result<Option<Pdu>, WireError> {
        self.tolerant = false;
        Ok(self.run(input)?.map(|d| d.pdu))
    }

    /// Like `decode`, but a data digest mismatch is not fatal: the PDU is returned with
    /// `data_digest_ok == false` (the spec's per-command Transient Transport Error rule).
    pub fn decode_tolerant(&mut self, input: &mut &[u8]) -> Result<Option<Decoded>, WireError> {
        self.tolerant = true;
        self.run(input)
    }

    #[inline]
    fn run(&mut self, input: &mut &[u8]) -> Result<Option<Decoded>, WireError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let r = match self.fast_path(input) {
            Some(r) => r,
            None => self.fill(input),
        };
        if let Err(e) = &r {
            self.error = Some(e.clone());
            self.buf = Vec::new();
        }
        r
    }

    /// Bytes of an incomplete PDU currently buffered.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Whether the decoder has failed (every further call returns the error).
    pub fn error(&self) -> Option<&WireError> {
        self.error.as_ref()
    }

    /// A whole PDU at the front of `input` with nothing buffered: parse in place.
    #[inline]
    fn fast_path(&mut self, input: &mut &[u8]) -> Option<Result<Option<Decoded>, WireError>> {
        if !self.buf.is_empty() || input.len() < COMMON_HEADER_LEN {
            return None;
        }
        let (ty, header_len) = match self.check_common(&input[..COMMON_HEADER_LEN]) {
            Ok(v) => v,
            Err(e) => return Some(Err(e)),
        };
        if input.len() < header_len {
            return None;
        }
        let lay = match self.check_header(ty, &input[..header_len]) {
            Ok(l) => l,
            Err(e) => return Some(Err(e)),
        };
        if input.len() < lay.plen {
            return None;
        }
        let (pdu_bytes, rest) = input.split_at(lay.plen);
        *input = rest;
        Some(self.finish(&lay, pdu_bytes).map(Some))
    }

    /// Buffers bytes stage by stage until a PDU is whole or `input` runs out.
    fn fill(&mut self, input: &mut &[u8]) -> Result<Option<Decoded>, WireError> {
        loop {
            let want = match self.stage {
                Stage::Common => COMMON_HEADER_LEN,
                Stage::Header { header_len, .. } => header_len,
                Stage::Body(lay) => lay.plen,
            };
            let take = want.saturating_sub(self.buf.len()).min(input.len());
            let (head, rest) = input.split_at(take);
            self.buf.extend_from_slice(head);
            *input = rest;
            if self.buf.len() < want {
                return Ok(None);
            }
            if let Some(done) = self.advance()? {
                return Ok(Some(done));
            }
        }
    }

    /// Runs the check of the stage whose bytes are all buffered.
    fn advance(&mut self) -> Result<Option<Decoded>, WireError> {
        match self.stage {
            Stage::Common => {
                let (ty, header_len) = self.check_common(&self.buf)?;
                self.buf.reserve_exact(header_len - self.buf.len());
                self.stage = Stage::Header { ty, header_len };
            }
            Stage::Header { ty, .. } => {
                let lay = self.check_header(ty, &self.buf)?;
                self.buf.reserve_exact(lay.plen - self.buf.len());
                self.stage = Stage::Body(lay);
            }
            Stage::Body(lay) => {
                let buf = std::mem::take(&mut self.buf);
                let done = self.finish(&lay, &buf);
                self.buf = buf;
                self.buf.clear();
                self.stage = Stage::Common;
                return done.map(Some);
            }
        }
        Ok(None)
    }

    /// Stage 3: the data digest, then the `Pdu`.
    #[inline]
    fn finish(&mut self, lay: &Layout, pdu: &[u8]) -> Result<Decoded, WireError> {
        let data = &pdu[lay.data_start..lay.data_end];
        let data_digest_ok = !lay.dd || crc32c(data) == get_u32(pdu, lay.data_end);
        if !data_digest_ok && !self.tolerant {
            let reason = format!("{} data digest mismatch", lay.ty.name());
            let header = &pdu[..lay.hlen];
            return Err(WireError::new(
                FatalErrorStatus::HeaderDigestError,
                0,
                header,
                reason,
            ));
        }
        if matches!(lay.ty, PduType::IcReq | PduType::IcResp) {
            self.ic_done = true;
        }
        Ok(Decoded {
            pdu: parse_validated(lay.ty, lay.flags, &pdu[..lay.hlen], data, &mut self.spares),
            data_digest_ok,
        })
    }
}

/// Data-carrying PDU: `pdo` after the header (plus at most 128 bytes of padding), at least one
/// data byte, and `plen` = `pdo` + data + digest.
fn check_data_layout(
    lay: &mut Layout,
    pdo: u8,
    header_len: usize,
    h: &[u8],
) -> Result<(), WireError> {
    let pdo = usize::from(pdo);
    if pdo < header_len || pdo > header_len + MAX_PAD {
        let reason = format!(
            "{} pdo {pdo} with a {header_len}-byte header",
            lay.ty.name()
        );
        return Err(WireError::bad_field(h, ch::PDO, reason));
    }
    let ddgst = usize::from(lay.dd) * DIGEST_LEN;
    if lay.plen <= pdo + ddgst {
        let reason = format!(
            "{} plen {} leaves no data after pdo {pdo}",
            lay.ty.name(),
            lay.plen
        );
        return Err(WireError::bad_field(h, ch::PLEN, reason));
    }
    lay.data_start = pdo;
    lay.data_end = lay.plen - ddgst;
    Ok(())
}

/// PDU without data: `pdo` 0 and `plen` = header (with digest).
fn check_no_data_layout(
    lay: &Layout,
    pdo: u8,
    header_len: usize,
    h: &[u8],
) -> Result<(), WireError> {
    if pdo != 0 {
        let reason = format!("{} without data has pdo {pdo}", lay.ty.name());
        return Err(WireError::bad_field(h, ch::PDO, reason));
    }
    if lay.plen != header_len {
        let reason = format!(
            "{} plen {} (expected {header_len})",
            lay.ty.name(),
            lay.plen
        );
        return Err(WireError::bad_field(h, ch::PLEN, reason));
    }
    Ok(())
}

/// ICReq/ICResp: PFV 0, PDA <= 31, and for ICResp a usable MAXH2CDATA.
fn check_ic(ty: PduType, h: &[u8]) -> Result<(), WireError> {
    let pfv = super::bytes::get_u16(h, pf::PFV);
    if pfv != 0 {
        return Err(WireError::unsupported(
            h,
            pf::PFV,
            format!("PDU format version {pfv}"),
        ));
    }
    let pda = h[pf::PDA];
    if pda > MAX_PDA {
        let reason = format!("{} PDA {pda} above {MAX_PDA}", ty.name());
        return Err(WireError::bad_field(h, pf::PDA, reason));
    }
    let max = get_u32(h, pf::IC_MAX);
    if ty == PduType::IcResp && (max < MIN_MAXH2CDATA || max & 3 != 0) {
        let reason = format!("MAXH2CDATA {max} (must be a multiple of 4, at least 4096)");
        return Err(WireError::bad_field(h, pf::IC_MAX, reason));
    }
    Ok(())
}

#[cfg(test)]
mod tests;

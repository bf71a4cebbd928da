//! A zero-copy checked view over one encoded PDU (smoltcp's `Packet<T>`), and whole-PDU
//! parsing into the `Pdu` Repr.
//!
//! Owns: `PduBuf`, whose accessors never panic once `new_checked` succeeded (`check_len`
//! guarantees the common header, the `hlen`-byte header and `plen` bytes are present), and
//! `Pdu::parse`, which validates one complete PDU exactly as `PduDecoder` does.

use super::common_header::{field, CommonHeader, COMMON_HEADER_LEN};
use super::{DecoderConfig, Digests, Pdu, PduDecoder, PduType, Role, WireError};

/// A view of one encoded PDU at the start of `buffer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PduBuf<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> PduBuf<T> {
    /// Wraps `buffer` without checks; accessors may panic on a short buffer.
    pub fn new_unchecked(buffer: T) -> PduBuf<T> {
        PduBuf { buffer }
    }

    /// Wraps `buffer` after `check_len`.
    pub fn new_checked(buffer: T) -> Result<PduBuf<T>, WireError> {
        let view = PduBuf::new_unchecked(buffer);
        view.check_len()?;
        Ok(view)
    }

    /// The buffer holds the common header, `hlen` header bytes and all `plen` bytes, and
    /// `hlen <= plen`. Errors carry FEI 4 (`plen`) or 2 (`hlen`).
    pub fn check_len(&self) -> Result<(), WireError> {
        let b = self.buffer.as_ref();
        if b.len() < COMMON_HEADER_LEN {
            return Err(WireError::bad_field(
                b,
                field::PLEN,
                "shorter than a common header",
            ));
        }
        let ch = &b[..COMMON_HEADER_LEN];
        let c = CommonHeader::parse(ch);
        if usize::from(c.hlen) < COMMON_HEADER_LEN || c.plen < u32::from(c.hlen) {
            return Err(WireError::bad_field(
                ch,
                field::HLEN,
                "hlen outside 8..=plen",
            ));
        }
        if (b.len() as u64) < u64::from(c.plen) {
            let reason = format!("plen {} but only {} bytes", c.plen, b.len());
            return Err(WireError::bad_field(ch, field::PLEN, reason));
        }
        Ok(())
    }

    /// The common header fields.
    pub fn common_header(&self) -> CommonHeader {
        CommonHeader::parse(self.buffer.as_ref())
    }

    /// The PDU type, `None` for reserved values.
    pub fn pdu_type(&self) -> Option<PduType> {
        PduType::from_u8(self.buffer.as_ref()[field::PDU_TYPE])
    }

    /// The `hlen` bytes of the PDU header (without header digest).
    pub fn header(&self) -> &[u8] {
        &self.buffer.as_ref()[..usize::from(self.common_header().hlen)]
    }

    /// All `plen` bytes of the PDU.
    pub fn pdu(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.common_header().plen as usize]
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl Pdu {
    /// Parses exactly one complete PDU received by `role` with `digests` in force, applying
    /// every check `PduDecoder` applies (IC PDUs are accepted as if first on the connection,
    /// others as if after it). Bytes beyond `plen` or a short buffer are an error (FEI 4).
    pub fn parse(bytes: &[u8], role: Role, digests: Digests) -> Result<Pdu, WireError> {
        PduBuf::new_checked(bytes)?;
        let is_ic = matches!(
            PduBuf::new_unchecked(bytes).pdu_type(),
            Some(PduType::IcReq | PduType::IcResp)
        );
        let config = DecoderConfig {
            role,
            max_pdu_len: u32::MAX,
            max_data_len: u32::MAX,
            digests,
        };
        let mut dec = PduDecoder::with_ic_done(config, !is_ic);
        let mut input = bytes;
        let pdu = dec.decode(&mut input)?;
        match pdu {
            Some(p) if input.is_empty() => Ok(p),
            _ => {
                let reason = format!("plen does not cover the {} bytes given", bytes.len());
                Err(WireError::bad_field(
                    &bytes[..COMMON_HEADER_LEN],
                    field::PLEN,
                    reason,
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{CapsuleResp, Cqe, FatalErrorStatus, IcReq};

    #[test]
    fn checked_view_guarantees_lengths() {
        let resp = Pdu::CapsuleResp(CapsuleResp {
            cqe: Cqe::default(),
        });
        let b = resp.to_bytes(Digests::BOTH);
        let v = PduBuf::new_checked(&b[..]).unwrap();
        assert_eq!(v.pdu_type(), Some(PduType::CapsuleResp));
        assert_eq!(v.header().len(), 24);
        assert_eq!(v.pdu().len(), 28);
        assert_eq!(PduBuf::new_checked(&b[..27]).unwrap_err().fei, 4);
        assert_eq!(PduBuf::new_checked(&b[..7]).unwrap_err().fei, 4);
        let mut bad = b.clone();
        bad[2] = 4;
        assert_eq!(PduBuf::new_checked(&bad[..]).unwrap_err().fei, 2);
    }

    #[test]
    fn parse_one_pdu() {
        let resp = Pdu::CapsuleResp(CapsuleResp {
            cqe: Cqe::default(),
        });
        let b = resp.to_bytes(Digests::BOTH);
        assert_eq!(Pdu::parse(&b, Role::Host, Digests::BOTH).unwrap(), resp);
        let e = Pdu::parse(&b, Role::Target, Digests::BOTH).unwrap_err();
        assert_eq!((e.fes, e.fei), (FatalErrorStatus::InvalidHeaderField, 0));
        let mut long = b.clone();
        long.push(0);
        assert_eq!(
            Pdu::parse(&long, Role::Host, Digests::BOTH)
                .unwrap_err()
                .fei,
            4
        );
        let ic = Pdu::IcReq(IcReq {
            pfv: 0,
            hpda: 0,
            digests: Digests::NONE,
            maxr2t: 0,
        });
        let b = ic.to_bytes(Digests::NONE);
        assert_eq!(Pdu::parse(&b, Role::Target, Digests::BOTH).unwrap(), ic);
    }
}

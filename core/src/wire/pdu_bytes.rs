//! `PduBytes`: one encoded PDU, held in up to three parts so that a data PDU's payload is sent
//! from where it lies instead of being copied behind its header.
//!
//! Owns: the split of an encoded PDU into `head` (common header, PDU-specific header, header
//! digest), `data` (the payload, moved out of the `Pdu` by `Pdu::into_pdu_bytes`, never copied)
//! and `ddgst` (the data digest).
//!
//! Invariant kept: the parts, in order, are exactly the bytes `Pdu::to_bytes` gives. Equality,
//! hashing, `Debug` and serde see only those bytes (serde as a byte sequence, as `Vec<u8>`), so
//! where a PDU is split never shows in a trace, a recording or a comparison.

use super::{Digests, Pdu, DIGEST_LEN};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::hash::{Hash, Hasher};

/// One encoded PDU in parts (see the module doc).
#[derive(Clone, Default)]
pub struct PduBytes {
    head: Vec<u8>,
    data: Vec<u8>,
    ddgst: Option<[u8; DIGEST_LEN]>,
}

impl PduBytes {
    /// The encoded length.
    pub fn len(&self) -> usize {
        self.head.len() + self.data.len() + self.ddgst.map_or(0, |d| d.len())
    }

    /// Whether there are no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first byte (the PDU type), if any.
    pub fn first(&self) -> Option<u8> {
        self.parts().next().map(|p| p[0])
    }

    /// The non-empty parts, in order: what a vectored write sends.
    pub fn parts(&self) -> impl Iterator<Item = &[u8]> {
        let ddgst = self.ddgst.as_ref().map_or(&[][..], |d| &d[..]);
        [&self.head[..], &self.data[..], ddgst]
            .into_iter()
            .filter(|p| !p.is_empty())
    }

    /// The data part's buffer (empty for a PDU without data), for reuse once the bytes are
    /// sent (`Target::recycle`).
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    /// The bytes, in order.
    pub fn bytes(&self) -> impl Iterator<Item = u8> + '_ {
        self.parts().flat_map(|p| p.iter().copied())
    }

    /// The bytes in one buffer (a copy, unless the PDU is in one part already).
    pub fn into_vec(self) -> Vec<u8> {
        if self.data.is_empty() && self.ddgst.is_none() {
            return self.head;
        }
        self.to_vec()
    }

    /// The bytes in a new buffer.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        self.parts().for_each(|p| out.extend_from_slice(p));
        out
    }
}

impl From<Vec<u8>> for PduBytes {
    /// Bytes already encoded in one buffer.
    fn from(head: Vec<u8>) -> PduBytes {
        PduBytes {
            head,
            ..PduBytes::default()
        }
    }
}

impl Pdu {
    /// Encodes the PDU, moving its data (CapsuleCmd in-capsule data, H2CData, C2HData) into
    /// the result instead of copying it. The bytes are those of `to_bytes`.
    pub fn into_pdu_bytes(mut self, digests: Digests) -> PduBytes {
        if data_mut(&mut self).is_none() {
            return PduBytes::from(self.to_bytes(digests));
        }
        // The headers carry the data's length: encode them before the data moves out.
        let (head, with_ddgst) = self.emit_head(digests);
        let data = data_mut(&mut self).map(std::mem::take).unwrap_or_default();
        let ddgst = with_ddgst.then(|| super::crc32c(&data).to_le_bytes());
        PduBytes { head, data, ddgst }
    }
}

/// The data a PDU carries after its headers, where it can move out uncopied.
fn data_mut(pdu: &mut Pdu) -> Option<&mut Vec<u8>> {
    match pdu {
        Pdu::CapsuleCmd(c) => Some(&mut c.data),
        Pdu::H2CData(d) => Some(&mut d.data),
        Pdu::C2HData(d) => Some(&mut d.data),
        _ => None,
    }
}

impl PartialEq for PduBytes {
    fn eq(&self, other: &PduBytes) -> bool {
        self.len() == other.len() && self.bytes().eq(other.bytes())
    }
}

impl Eq for PduBytes {}

impl Hash for PduBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.len());
        self.parts().for_each(|p| state.write(p));
    }
}

impl fmt::Debug for PduBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.bytes()).finish()
    }
}

impl Serialize for PduBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.bytes())
    }
}

impl<'de> Deserialize<'de> for PduBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PduBytes, D::Error> {
        Vec::<u8>::deserialize(d).map(PduBytes::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{C2HData, CapsuleCmd, H2CData, Sqe, TermReq};

    fn pdus() -> Vec<Pdu> {
        let data = (0..=255u8).cycle().take(4096).collect::<Vec<_>>();
        vec![
            Pdu::C2HData(C2HData {
                cccid: 7,
                datao: 0,
                last: true,
                success: true,
                data: data.clone(),
            }),
            Pdu::H2CData(H2CData {
                cccid: 3,
                ttag: 1,
                datao: 512,
                last: true,
                data: data.clone(),
            }),
            Pdu::CapsuleCmd(CapsuleCmd {
                sqe: Sqe::default(),
                data: data[..1024].to_vec(),
            }),
            Pdu::CapsuleCmd(CapsuleCmd {
                sqe: Sqe::default(),
                data: Vec::new(),
            }),
            Pdu::C2HTermReq(TermReq {
                fes: crate::wire::FatalErrorStatus::InvalidHeaderField,
                fei: 4,
                data: data[..100].to_vec(),
            }),
        ]
    }

    #[test]
    fn parts_are_the_encoded_bytes_with_every_digest_choice() {
        for (header, data) in [(false, false), (true, false), (false, true), (true, true)] {
            let digests = Digests { header, data };
            for pdu in pdus() {
                let whole = pdu.to_bytes(digests);
                let parts = pdu.clone().into_pdu_bytes(digests);
                assert_eq!(parts.len(), whole.len(), "{pdu:?} {digests:?}");
                assert_eq!(parts.to_vec(), whole, "{pdu:?} {digests:?}");
                assert_eq!(parts.first(), whole.first().copied());
                assert_eq!(
                    parts,
                    PduBytes::from(whole.clone()),
                    "equality sees only bytes"
                );
                assert_eq!(format!("{parts:?}"), format!("{whole:?}"));
                assert_eq!(parts.clone().into_vec(), whole);
            }
        }
    }

    #[test]
    fn data_moves_uncopied_and_serde_sees_a_byte_sequence() {
        let mut pdus = pdus();
        let pdu = pdus.swap_remove(0);
        let Pdu::C2HData(d) = &pdu else {
            unreachable!("pdus() starts with a C2HData")
        };
        let ptr = d.data.as_ptr();
        let parts = pdu.into_pdu_bytes(Digests {
            header: true,
            data: true,
        });
        assert_eq!(parts.data.as_ptr(), ptr, "the data buffer itself moved");
        let json = serde_json::to_string(&parts).unwrap();
        assert_eq!(json, serde_json::to_string(&parts.to_vec()).unwrap());
        let back: PduBytes = serde_json::from_str(&json).unwrap();
        assert_eq!(back, parts);
    }
}

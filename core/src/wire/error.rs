//! Constructors for `WireError`, the one fatal error type of the wire layer.
//!
//! Owns: the mapping from each malformed-input case to the TermReq fatal error status (FES)
//! and error information (FEI). Invariant: `header` never holds more than 128 bytes (the TermReq
//! limit), so `term_req()` always fits in one 152-byte TermReq PDU.

use super::common_header::TERM_REQ_MAX_DATA;
use super::{FatalErrorStatus, WireError};

impl FatalErrorStatus {
    /// The FES value for a wire value, `None` for reserved values.
    pub fn from_u16(v: u16) -> Option<FatalErrorStatus> {
        use FatalErrorStatus::*;
        [
            InvalidHeaderField,
            PduSequenceError,
            HeaderDigestError,
            DataOutOfRange,
            LimitExceeded,
            UnsupportedParameter,
        ]
        .into_iter()
        .find(|f| *f as u16 == v)
    }
}

impl WireError {
    /// An error with status `fes`, information `fei`, the offending header prefix `header`
    /// (truncated to 128 bytes) and a human `reason`.
    pub fn new(fes: FatalErrorStatus, fei: u32, header: &[u8], reason: impl Into<String>) -> Self {
        WireError {
            fes,
            fei,
            header: header[..header.len().min(TERM_REQ_MAX_DATA)].to_vec(),
            reason: reason.into(),
        }
    }

    /// Invalid PDU header field at byte offset `offset`.
    pub fn bad_field(header: &[u8], offset: usize, reason: impl Into<String>) -> Self {
        WireError::new(
            FatalErrorStatus::InvalidHeaderField,
            offset as u32,
            header,
            reason,
        )
    }

    /// PDU sequence error (a PDU that is legal but not now).
    pub fn sequence(header: &[u8], reason: impl Into<String>) -> Self {
        WireError::new(FatalErrorStatus::PduSequenceError, 0, header, reason)
    }

    /// Data transfer limit exceeded.
    pub fn limit(header: &[u8], reason: impl Into<String>) -> Self {
        WireError::new(FatalErrorStatus::LimitExceeded, 0, header, reason)
    }

    /// Unsupported parameter at byte offset `offset`.
    pub fn unsupported(header: &[u8], offset: usize, reason: impl Into<String>) -> Self {
        WireError::new(
            FatalErrorStatus::UnsupportedParameter,
            offset as u32,
            header,
            reason,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fes_values_and_header_cap() {
        for v in 1..=6u16 {
            assert_eq!(FatalErrorStatus::from_u16(v).map(|f| f as u16), Some(v));
        }
        assert_eq!(FatalErrorStatus::from_u16(0), None);
        assert_eq!(FatalErrorStatus::from_u16(7), None);
        let e = WireError::bad_field(&[7u8; 200], 4, "plen");
        assert_eq!(e.header.len(), 128);
        assert_eq!(e.term_req().fei, 4);
        assert_eq!(e.to_string(), "plen (fes InvalidHeaderField, fei 4)");
    }
}

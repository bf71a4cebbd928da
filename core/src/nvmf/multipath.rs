//! Multipath advertisement in Identify data, as SPDK's `spdk_nvmf_ctrlr_identify_ctrlr` and
//! `nvmf_bdev_ctrlr_identify_ns` set it: CMIC.MPORTS and CMIC.MCTRS (a subsystem may have
//! several ports and several controllers: this target accepts both) and NMIC.SHRNS on every
//! active namespace (it may be attached to several controllers at once). ANA reporting
//! (CMIC.ANARS) stays off: ANA is not modelled. Owns no state; patches encoded structures.

/// Byte offset of CMIC in Identify Controller.
const CMIC: usize = 76;
/// CMIC.MPORTS (bit 0) | CMIC.MCTRS (bit 1).
const CMIC_MPORTS_MCTRS: u8 = 0b11;
/// Byte offset of NMIC in Identify Namespace.
const NMIC: usize = 30;
/// NMIC.SHRNS (bit 0).
const NMIC_SHRNS: u8 = 1;

/// Identify Controller bytes with CMIC as SPDK sets it for NVM subsystems.
pub(super) fn ctrlr(mut bytes: Vec<u8>) -> Vec<u8> {
    if let Some(b) = bytes.get_mut(CMIC) {
        *b |= CMIC_MPORTS_MCTRS;
    }
    bytes
}

/// Identify Namespace bytes with NMIC.SHRNS set, unless the namespace is inactive (all zeros).
pub(super) fn ns(mut bytes: Vec<u8>) -> Vec<u8> {
    let active = bytes.iter().any(|b| *b != 0);
    if let (true, Some(b)) = (active, bytes.get_mut(NMIC)) {
        *b |= NMIC_SHRNS;
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{IdentifyController, IdentifyNamespace};

    #[test]
    fn cmic_and_nmic_are_set_where_hosts_read_them() {
        let c = ctrlr(IdentifyController::default().to_bytes());
        assert_eq!(c[76], 0b11);
        let n = IdentifyNamespace {
            nsze: 8,
            ncap: 8,
            nuse: 8,
            ..IdentifyNamespace::default()
        };
        assert_eq!(ns(n.to_bytes())[30], 1);
        assert!(
            ns(vec![0; 4096]).iter().all(|b| *b == 0),
            "inactive stays zero"
        );
    }
}

//! Identify fields beyond the wire structures, as SPDK's `spdk_nvmf_ctrlr_identify_ctrlr`,
//! `nvmf_bdev_ctrlr_identify_ns` and `nvmf_ctrlr_identify_ns_id_descriptor_list` set them for
//! an NVM subsystem of RAM namespaces: the namespace's NGUID and EUI64, the identification
//! descriptor list (EUI64, NGUID, UUID; an all-zero identifier is left out, as is the NVM
//! command set's CSI 0), and the controller's optional command support: CTRATT.HIDS (the
//! 128-bit host identifier of Get Features 0x81), ONCS Compare | Dataset Management | Write
//! Zeroes, FUSES Compare and Write (fused.rs), VWC present with "flush broadcast not
//! supported" (write_cache.rs: SPDK's malloc bdevs report a write cache), LPA (extended
//! data, the Commands Supported and Effects page, and in v26.05 and master MLPS:
//! log_page.rs),
//! ELPE 127, RAB 6, the IEEE OUI, ACL 3 (abort.rs). Reservations and Copy, which SPDK also
//! advertises, are left out of ONCS: they are not implemented. Owns no state.

use super::NamespaceIds;

/// Identify Controller byte offsets of the fields patched here.
mod ctrl {
    pub const RAB: usize = 72;
    pub const IEEE: usize = 73;
    pub const CTRATT: usize = 96;
    pub const ACL: usize = 258;
    pub const LPA: usize = 261;
    pub const ELPE: usize = 262;
    pub const ONCS: usize = 520;
    pub const FUSES: usize = 522;
    pub const VWC: usize = 525;
}

/// ONCS: Compare (bit 0), Dataset Management (bit 2), Write Zeroes (bit 3).
pub const ONCS: u16 = 1 | 1 << 2 | 1 << 3;

/// FUSES: Compare and Write (bit 0), the TCP transport's default `fuses` option.
pub const FUSES: u16 = 1;

/// LPA: Commands Supported and Effects (bit 1, v24.01's CELP, later CSES), Log Page Extended
/// Data (bit 2), Miscellaneous Log Pages (bit 5, MLPS: the Supported Log Pages page).
const LPA_CSES: u8 = 1 << 1;
const LPA_LPEDS: u8 = 1 << 2;
const LPA_MLPS: u8 = 1 << 5;

/// Identify Controller bytes of an NVM subsystem's controller with SPDK's optional fields.
pub(super) fn ctrlr(mut b: Vec<u8>, spdk: super::Spdk) -> Vec<u8> {
    if b.len() < 4096 {
        return b;
    }
    b[ctrl::RAB] = 6;
    b[ctrl::IEEE..ctrl::IEEE + 3].copy_from_slice(&[0xe4, 0xd2, 0x5c]);
    b[ctrl::CTRATT] |= 1; // HIDS
    b[ctrl::LPA] |= LPA_LPEDS | LPA_CSES;
    if spdk.serves_supported_log_pages() {
        b[ctrl::LPA] |= LPA_MLPS;
    }
    b[ctrl::ELPE] = 127;
    b[ctrl::VWC] = super::write_cache::VWC_PRESENT_NO_BROADCAST;
    b[ctrl::ONCS..ctrl::ONCS + 2].copy_from_slice(&ONCS.to_le_bytes());
    b[ctrl::FUSES..ctrl::FUSES + 2].copy_from_slice(&FUSES.to_le_bytes());
    b[ctrl::ACL] = super::abort::ABORT_COMMAND_LIMIT;
    b
}

/// Identify Namespace bytes with NGUID (offset 104) and EUI64 (offset 120).
pub(super) fn ns(mut b: Vec<u8>, ids: &NamespaceIds) -> Vec<u8> {
    if b.len() >= 128 {
        b[104..120].copy_from_slice(&ids.nguid);
        b[120..128].copy_from_slice(&ids.eui64);
    }
    b
}

/// The Namespace Identification Descriptor list (CNS 03h), zero-terminated in 4096 bytes.
pub(super) fn descriptors(ids: &NamespaceIds) -> Vec<u8> {
    let mut out = vec![0u8; 4096];
    let mut at = 0;
    let list: [(u8, &[u8]); 3] = [(1, &ids.eui64), (2, &ids.nguid), (3, &ids.uuid)];
    for (nidt, value) in list {
        if value.iter().all(|b| *b == 0) {
            continue;
        }
        out[at] = nidt;
        out[at + 1] = value.len() as u8;
        out[at + 4..at + 4 + value.len()].copy_from_slice(value);
        at += 4 + value.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::IdentifyController;

    #[test]
    fn descriptors_skip_zero_identifiers_in_spdks_order() {
        let ids = NamespaceIds {
            nguid: [2; 16],
            eui64: [0; 8],
            uuid: [3; 16],
        };
        let d = descriptors(&ids);
        assert_eq!(&d[0..4], &[2, 16, 0, 0]);
        assert_eq!(&d[4..20], &[2; 16]);
        assert_eq!(&d[20..24], &[3, 16, 0, 0]);
        assert_eq!(&d[24..40], &[3; 16]);
        assert!(d[40..].iter().all(|b| *b == 0), "terminated");
        let with_eui = NamespaceIds {
            eui64: [9; 8],
            ..ids
        };
        assert_eq!(
            &descriptors(&with_eui)[0..12],
            &[1, 8, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9]
        );
        let n = ns(vec![0; 4096], &with_eui);
        assert_eq!(
            (&n[104..120], &n[120..128]),
            (&[2u8; 16][..], &[9u8; 8][..])
        );
    }

    #[test]
    fn controller_advertises_what_is_implemented() {
        let c = ctrlr(
            IdentifyController::default().to_bytes(),
            super::super::Spdk::V26_05,
        );
        assert_eq!(c[96] & 1, 1, "CTRATT.HIDS");
        assert_eq!(c[261], 0b10_0110, "LPA: MLPS, LPEDS, CSES");
        assert_eq!(c[258], 3, "ACL");
        assert_eq!(u16::from_le_bytes([c[520], c[521]]), 0b1101, "ONCS");
        assert_eq!(
            u16::from_le_bytes([c[522], c[523]]),
            1,
            "FUSES: Compare and Write"
        );
        assert_eq!(c[525], 0b101, "VWC present, flush broadcast not supported");
    }

    #[test]
    fn derived_ids_differ_by_subsystem_and_nsid() {
        let a = NamespaceIds::derived("nqn.2016-06.io.spdk:cnode1", 1);
        let b = NamespaceIds::derived("nqn.2016-06.io.spdk:cnode2", 1);
        let c = NamespaceIds::derived("nqn.2016-06.io.spdk:cnode1", 2);
        assert!(a.uuid != b.uuid && a.uuid != c.uuid && b.uuid != c.uuid);
        assert_eq!(a.nguid, a.uuid, "NGUID defaults to the UUID");
        assert_eq!(
            (a.eui64, a.uuid[6] >> 4),
            ([0; 8], 8),
            "no EUI64, version 8"
        );
        assert_eq!(a, NamespaceIds::derived("nqn.2016-06.io.spdk:cnode1", 1));
    }
}

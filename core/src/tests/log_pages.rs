//! Get Log Page on an NVM controller, per profile (log_page.rs): the Commands Supported and
//! Effects page and LPA, the pages only v26.05 and master serve (Supported Log Pages, Feature
//! Identifiers Effects, NVMe-MI Commands Effects), "invalid log page" for the others (v24.01:
//! "invalid field"), the offset rules, and the NSID check of controller-scope pages.

use crate::nvmf::{Spdk, TargetConfig};
use crate::testkit::{config, pdu, World, HOSTNQN};
use crate::wire::{status, IdentifyController, Pdu, Status};

const INVALID_LOG_PAGE: Status = Status::new(1, 0x09);

fn dword(page: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(page[i * 4..i * 4 + 4].try_into().unwrap())
}

/// An enabled admin queue on a target of profile `spdk`.
fn admin(spdk: Spdk) -> (World, crate::nvmf::ConnId) {
    let mut w = World::new(TargetConfig { spdk, ..config() });
    let (a, _) = w.connect_enabled(1, HOSTNQN);
    (w, a)
}

fn with_nsid(mut p: Pdu, nsid: u32) -> Pdu {
    if let Pdu::CapsuleCmd(c) = &mut p {
        c.sqe.nsid = nsid;
    }
    p
}

#[test]
fn commands_supported_and_effects_as_each_version_lists_them() {
    for spdk in Spdk::ALL {
        let (mut w, a) = admin(spdk);
        let (id, cqe) = w.exec(a, &pdu::identify(2, 1, 0));
        assert!(cqe.status.is_success());
        let lpa = id[261];
        let newer = spdk != Spdk::V24_01;
        let want_lpa = if newer { 0b10_0110 } else { 0b110 };
        assert_eq!(lpa, want_lpa, "{spdk}: LPA");
        assert!(IdentifyController::parse(&id).is_some());
        let (page, cqe) = w.exec(a, &pdu::get_log_page(3, 0x05, 4096, 0, false, 0));
        assert!(cqe.status.is_success(), "{spdk}: {cqe:?}");
        let (ns, ctrl) = if newer { (1 << 20, 1 << 21) } else { (0, 0) };
        // Admin: Get Log Page, Identify, Abort, Set/Get Features, AER, Keep Alive.
        assert_eq!(dword(&page, 0x02), 1 | ns | ctrl, "{spdk}: Get Log Page");
        assert_eq!(dword(&page, 0x08), 1 | ctrl, "{spdk}: Abort");
        assert_eq!(dword(&page, 0x18), 1 | ctrl, "{spdk}: Keep Alive");
        let admin: Vec<usize> = (0..256).filter(|i| dword(&page, *i) != 0).collect();
        assert_eq!(admin, [0x02, 0x06, 0x08, 0x09, 0x0A, 0x0C, 0x18], "{spdk}");
        // I/O: Flush, Write, Read, Compare, Write Zeroes, DSM; LBCC for the writers.
        let io = |opc: usize| dword(&page, 256 + opc);
        assert_eq!(io(0x01), 1 | 2 | ns, "{spdk}: Write");
        assert_eq!(io(0x02), 1 | ns, "{spdk}: Read");
        let listed: Vec<usize> = (0..256).filter(|i| io(*i) != 0).collect();
        assert_eq!(listed, [0x00, 0x01, 0x02, 0x05, 0x08, 0x09], "{spdk}");
        assert!(page[2048..].iter().all(|b| *b == 0));
        // An offset past the page: v24.01 copies nothing, later versions refuse it.
        let (past, cqe) = w.exec(a, &pdu::get_log_page(4, 0x05, 8192, 4096, false, 0));
        if newer {
            assert_eq!(cqe.status, status::INVALID_FIELD, "{spdk}");
        } else {
            assert!(
                cqe.status.is_success() && past == [0; 8192],
                "{spdk}: {cqe:?}"
            );
        }
        // v24.01 refuses an offset beyond the transfer's length; later versions copy from it.
        let (tail, cqe) = w.exec(a, &pdu::get_log_page(5, 0x05, 8, 1024, false, 0));
        if newer {
            assert!(cqe.status.is_success(), "{spdk}: {cqe:?}");
            assert_eq!(dword(&tail, 0), 1 | 2 | ns, "{spdk}: Flush");
        } else {
            assert_eq!(cqe.status, status::INVALID_FIELD, "{spdk}");
        }
    }
}

#[test]
fn the_supported_log_pages_and_feature_effects_pages_are_v26_05_s() {
    for spdk in Spdk::ALL {
        let (mut w, a) = admin(spdk);
        let (page, cqe) = w.exec(a, &pdu::get_log_page(3, 0x00, 1024, 0, false, 0));
        let (feats, fcqe) = w.exec(a, &pdu::get_log_page(4, 0x12, 1024, 0, false, 0));
        let (_, mcqe) = w.exec(a, &pdu::get_log_page(5, 0x13, 64, 0, false, 0));
        if spdk == Spdk::V24_01 {
            for st in [cqe.status, fcqe.status, mcqe.status] {
                assert_eq!(
                    st,
                    status::INVALID_FIELD,
                    "{spdk}: v24.01's invalid_log_page"
                );
            }
            continue;
        }
        assert!(cqe.status.is_success() && fcqe.status.is_success() && mcqe.status.is_success());
        let lids: Vec<usize> = (0..256).filter(|i| dword(&page, *i) == 1).collect();
        assert_eq!(
            lids,
            [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x12, 0x13, 0x80],
            "{spdk}"
        );
        // Every page it lists is served.
        for (cid, lid) in lids.iter().enumerate() {
            let get = pdu::get_log_page(10 + cid as u16, *lid as u8, 64, 0, true, 0);
            let (_, cqe) = w.exec(a, &get);
            assert!(cqe.status.is_success(), "{spdk}: LID {lid:#x}: {cqe:?}");
        }
        assert_eq!(
            dword(&feats, 0x0F),
            1 | 1 << 21,
            "{spdk}: KATO, controller scope"
        );
        assert_eq!(
            dword(&feats, 0x05),
            1 | 1 << 20,
            "{spdk}: Error Recovery, namespace scope"
        );
        assert_eq!(
            dword(&feats, 0x16),
            0,
            "{spdk}: Host Behavior Support is not implemented"
        );
    }
}

#[test]
fn an_unserved_page_is_an_invalid_log_page_and_scope_is_checked() {
    for spdk in Spdk::ALL {
        let (mut w, a) = admin(spdk);
        let unserved = if spdk == Spdk::V24_01 {
            status::INVALID_FIELD
        } else {
            INVALID_LOG_PAGE
        };
        for lid in [0x06, 0x0C, 0x70, 0xC0] {
            let (_, cqe) = w.exec(a, &pdu::get_log_page(3, lid, 64, 0, false, 0));
            assert_eq!(cqe.status, unserved, "{spdk}: LID {lid:#x}");
        }
        let firmware = with_nsid(pdu::get_log_page(4, 0x03, 64, 0, false, 0), 1);
        let (_, cqe) = w.exec(a, &firmware);
        if spdk == Spdk::V24_01 {
            assert!(cqe.status.is_success(), "{spdk}: no scope check");
        } else {
            assert_eq!(
                cqe.status,
                status::INVALID_FIELD,
                "{spdk}: firmware page for NSID 1"
            );
        }
        let all = with_nsid(pdu::get_log_page(5, 0x03, 64, 0, false, 0), u32::MAX);
        assert!(
            w.exec(a, &all).1.status.is_success(),
            "{spdk}: NSID FFFFFFFFh"
        );
        let health = with_nsid(pdu::get_log_page(6, 0x02, 64, 0, false, 0), 1);
        assert!(
            w.exec(a, &health).1.status.is_success(),
            "{spdk}: health may name an NSID"
        );
    }
}

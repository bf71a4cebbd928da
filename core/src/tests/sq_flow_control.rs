//! SQ flow control disable and the transport option `c2h_success`, as each profile reads them
//! (docs/spdk-profiles.md). master records the host's CONNECT attribute `dissqfc` in the new
//! controller (`nvmf_ctrlr_create`), answers that CONNECT and every later CONNECT of the
//! controller with SQHD 0xFFFF (`nvmf_ctrlr_send_connect_rsp`), leaves the SQ head alone
//! (`request_transfer_out`) and ends a successful read with C2HData SUCCESS
//! (`_nvmf_tcp_send_c2h_data`, 00c2f8cd49). v24.01 and v26.05 ignore the bit. Neither sends SUCCESS with
//! the transport option off.

use crate::nvmf::{Spdk, TargetConfig};
use crate::testkit::{config_for, pdu, World, HOSTNQN, NQN};
use crate::wire::{Cqe, Pdu, CATTR_DISSQFC};

/// What a connection received, one word per PDU: `C2H+S` (C2HData with SUCCESS), `C2H`, or
/// `Resp(sqhd)`.
fn shape(pdus: &[Pdu]) -> Vec<String> {
    pdus.iter()
        .map(|p| match p {
            Pdu::C2HData(d) if d.success => "C2H+S".to_string(),
            Pdu::C2HData(_) => "C2H".to_string(),
            Pdu::CapsuleResp(r) => format!("Resp({:#x})", r.cqe.sqhd),
            other => format!("{other:?}"),
        })
        .collect()
}

fn last_cqe(pdus: &[Pdu]) -> Cqe {
    match pdus.last() {
        Some(Pdu::CapsuleResp(r)) => r.cqe,
        other => panic!("no CapsuleResp last: {other:?}"),
    }
}

/// A raw peer: accept + ICReq + CONNECT with `cattr` on conn `conn`; returns the CONNECT
/// response.
fn connect(
    w: &mut World,
    conn: u64,
    qid: u16,
    cntlid: u16,
    cattr: u8,
) -> (crate::nvmf::ConnId, Cqe) {
    let c = w.accept(conn);
    w.run_all();
    w.send(c, &pdu::icreq());
    w.send(
        c,
        &pdu::connect_with_cattr(1, qid, NQN, HOSTNQN, cntlid, 0, cattr),
    );
    w.run_all();
    (c, last_cqe(&w.recv(c)))
}

/// An enabled controller whose admin CONNECT carried `cattr`, its I/O qpair (plain CONNECT)
/// and a one-block read on it: (admin CONNECT SQHD, CC write SQHD, I/O CONNECT SQHD, what the
/// read received).
fn read_after_connect(w: &mut World, cattr: u8) -> (u16, u16, u16, Vec<String>) {
    let (admin, cqe) = connect(w, 1, 0, 0xFFFF, cattr);
    assert!(cqe.status.is_success(), "{cqe:?}");
    let cntlid = cqe.cdw0 as u16;
    let cc = w.exec(admin, &pdu::prop_set_cc(2, pdu::CC_ENABLE)).1;
    let (io, io_cqe) = connect(w, 2, 1, cntlid, 0);
    assert!(io_cqe.status.is_success(), "{io_cqe:?}");
    w.send(io, &pdu::read(3, 1, 0, 1));
    w.run_threads();
    w.complete_device();
    let read = shape(&w.recv(io));
    (cqe.sqhd, cc.sqhd, io_cqe.sqhd, read)
}

#[test]
fn master_honours_dissqfc_and_releases_ignore_it() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let got = read_after_connect(&mut w, CATTR_DISSQFC);
        let want = match spdk {
            // One SQ head step per response; the read ends with SUCCESS as the releases always
            // do (v26.05 has no `dissqfc` field either).
            Spdk::V24_01 | Spdk::V26_05 => (1, 2, 1, vec!["C2H+S".to_string()]),
            // SQHD reserved: 0xFFFF on every CONNECT of the controller, 0 (as the handler left
            // it) elsewhere; SUCCESS replaces the CapsuleResp.
            Spdk::Master => (0xFFFF, 0, 0xFFFF, vec!["C2H+S".to_string()]),
        };
        assert_eq!(got, want, "{spdk}");
        w.shutdown_and_check();
    }
}

#[test]
fn without_dissqfc_master_keeps_flow_control_and_the_capsule_resp() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let got = read_after_connect(&mut w, 0);
        let read = match spdk {
            Spdk::V24_01 | Spdk::V26_05 => vec!["C2H+S".to_string()],
            Spdk::Master => vec!["C2H".to_string(), "Resp(0x2)".to_string()],
        };
        assert_eq!(got, (1, 2, 1, read), "{spdk}");
        w.shutdown_and_check();
    }
}

fn no_c2h_success(spdk: Spdk) -> TargetConfig {
    TargetConfig {
        c2h_success: false,
        ..config_for(spdk)
    }
}

/// The transport option off: no SUCCESS in either profile, with or without `dissqfc`. With
/// SQ flow control disabled the read's CapsuleResp still carries SQHD 0.
#[test]
fn c2h_success_option_off_always_sends_the_capsule_resp() {
    for (spdk, mut w) in World::per_profile(no_c2h_success) {
        let (.., read) = read_after_connect(&mut w, CATTR_DISSQFC);
        let sqhd = if spdk == Spdk::Master { 0 } else { 2 };
        assert_eq!(
            read,
            vec!["C2H".to_string(), format!("Resp({sqhd:#x})")],
            "{spdk}"
        );
        w.shutdown_and_check();
    }
}

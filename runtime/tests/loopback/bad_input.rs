//! Malformed input over the socket gets the right C2HTermReq and a closed connection, while a
//! well-behaved host on the same target keeps working.

use super::basic::read_until_eof;
use super::*;
use fabcheck_core::wire::{
    CapsuleCmd, DecoderConfig, Digests, FatalErrorStatus, IcReq, Pdu, PduDecoder, Role, Sqe,
};
use fabcheck_runtime::client::Client;

fn ic_req(digests: Digests) -> Vec<u8> {
    Pdu::IcReq(IcReq {
        pfv: 0,
        hpda: 0,
        digests,
        maxr2t: 0,
    })
    .to_bytes(Digests::default())
}

fn capsule(digests: Digests) -> Vec<u8> {
    let sqe = Sqe {
        opc: 0x18,
        cid: 1,
        ..Sqe::default()
    };
    Pdu::CapsuleCmd(CapsuleCmd { sqe, data: vec![] }).to_bytes(digests)
}

/// Sends `bytes` and returns the PDUs the target answered with before closing.
async fn exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<Pdu> {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let (got, eof) = read_until_eof(&mut s, Duration::from_secs(5)).await;
    assert!(eof, "the target closes the connection");
    let mut dec = PduDecoder::new(DecoderConfig {
        role: Role::Host,
        max_pdu_len: 1 << 20,
        max_data_len: 1 << 20,
        digests: Digests::default(),
    });
    let mut input = &got[..];
    let mut pdus = Vec::new();
    while let Ok(Some(p)) = dec.decode(&mut input) {
        pdus.push(p);
    }
    pdus
}

fn term(pdus: &[Pdu]) -> (FatalErrorStatus, u32) {
    match pdus.last() {
        Some(Pdu::C2HTermReq(t)) => (t.fes, t.fei),
        other => panic!("expected a C2HTermReq last, got {other:?} in {pdus:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_pdus_get_term_req_and_others_are_unaffected() {
    term_req_then_close().await;
}

/// The same on a current-thread runtime, where the driver writes the TermReq to the socket
/// itself before the close (`tcp::ConnHandle`).
#[tokio::test(flavor = "current_thread")]
async fn malformed_pdus_get_term_req_and_others_are_unaffected_on_one_thread() {
    term_req_then_close().await;
}

async fn term_req_then_close() {
    bounded(60, async {
        let h = harness(|_| {}, checked()).await;
        let mut good = Client::new(h.addr, host(1));
        good.connect().await.unwrap();
        good.connect_io(1).await.unwrap();
        let d = data(9, 8);
        assert!(good.write(1, 1, 64, d.clone()).await.unwrap().is_success());

        // Garbage: an unknown PDU type.
        let garbage = [0xEEu8; 16];
        assert_eq!(
            term(&exchange(h.addr, &garbage).await),
            (FatalErrorStatus::InvalidHeaderField, 0)
        );
        // A capsule before ICReq.
        let fes = term(&exchange(h.addr, &capsule(Digests::default())).await).0;
        assert_eq!(fes, FatalErrorStatus::PduSequenceError);
        // An oversized plen after a good ICReq.
        let mut big = capsule(Digests::default());
        big[4..8].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        let mut bytes = ic_req(Digests::default());
        bytes.extend_from_slice(&big);
        let pdus = exchange(h.addr, &bytes).await;
        assert!(matches!(pdus[0], Pdu::IcResp(_)), "{pdus:?}");
        assert_eq!(
            term(&pdus),
            (FatalErrorStatus::InvalidHeaderField, 4),
            "plen is at offset 4"
        );
        // A bad header digest after negotiating HDGST.
        let hd = Digests {
            header: true,
            data: false,
        };
        let mut cap = capsule(hd);
        let n = cap.len();
        cap[n - 1] ^= 0xFF;
        let mut bytes = ic_req(hd);
        bytes.extend_from_slice(&cap);
        let pdus = exchange(h.addr, &bytes).await;
        assert_eq!(term(&pdus).0, FatalErrorStatus::HeaderDigestError);

        assert!(
            h.inspect(|_, s| s.mark(fabcheck_core::nvmf::Mark::TermReqSent))
                .await
                >= 4
        );
        let (st, got) = good.read(1, 1, 64, 8).await.unwrap();
        assert!(st.is_success() && got == d, "the good host is unaffected");
        assert!(good.is_open());
        let s = h.shutdown().await;
        assert!(
            s.clean && s.violation.is_none() && s.stats.invariant_failure.is_none(),
            "{s:?}"
        );
    })
    .await;
}

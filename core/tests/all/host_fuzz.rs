//! Property tests: random bytes never panic the host (in every queue state), every garbage
//! input that kills a queue ends in ProtocolError + H2CTermReq + Close, and a real session
//! split at random byte boundaries gives the same events as whole-PDU delivery.

use fabcheck_core::host::{HostAction, HostEvent, HostInput, HostOutput, QueueState};
use fabcheck_core::testkit::fake::{self, Knobs};
use fabcheck_core::testkit::{host_config, FakeWorld as World, HOSTNQN};
use fabcheck_core::wire::Digests;
use proptest::prelude::*;

/// A world at a given stage: 0 = ICReq sent, 1 = admin live, 2 = ready with I/O queue and a
/// read and an R2T write outstanding.
fn world_at(stage: u8, digests: bool) -> World {
    let mut cfg = host_config(HOSTNQN);
    if digests {
        cfg.digests = Digests {
            header: true,
            data: true,
        };
    }
    let mut w = World::new(cfg, Knobs::default());
    match stage {
        0 => {
            w.target.silent = true;
            w.act(HostAction::OpenAdmin);
        }
        1 => {
            w.act(HostAction::OpenAdmin);
            w.act(HostAction::ConnectAdmin);
            w.target.silent = true;
        }
        _ => {
            w.connect();
            w.act(HostAction::ConnectIo { qid: 1 });
            w.target.silent = true;
            w.act(HostAction::Read {
                tag: 1,
                qid: 1,
                nsid: 1,
                slba: 0,
                nlb: 8,
            });
            w.act(HostAction::Write {
                tag: 2,
                qid: 1,
                nsid: 1,
                slba: 0,
                data: vec![7; 16384],
            });
        }
    }
    w
}

/// Feeds `bytes` (in `chunks`) to the host without the fake target in the loop.
fn feed(w: &mut World, qid: u16, bytes: &[u8], chunk: usize) -> Vec<HostOutput> {
    for piece in bytes.chunks(chunk.max(1)) {
        let now = w.now;
        w.host_mut().handle(
            now,
            HostInput::Bytes {
                qid,
                data: piece.to_vec(),
            },
        );
    }
    std::iter::from_fn(|| w.host_mut().poll_output()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(
        stage in 0u8..3,
        digests in any::<bool>(),
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        chunk in 1usize..64,
    ) {
        let mut w = world_at(stage, digests);
        let qid = if stage == 2 { 1 } else { 0 };
        let outs = feed(&mut w, qid, &bytes, chunk);
        let error = outs.iter().any(|o| matches!(o, HostOutput::Event(HostEvent::ProtocolError { .. })));
        if error {
            // The violation is reported once, with a TermReq and a Close, and the queue is dead.
            let term = outs.iter().any(|o| matches!(o, HostOutput::Send { data, .. } if data.first() == Some(&0x02)));
            let close = outs.iter().any(|o| matches!(o, HostOutput::Close { qid: q } if *q == qid));
            prop_assert!(term && close, "{outs:?}");
            prop_assert_eq!(w.host().queue_state(qid), Some(QueueState::Closed));
        }
        // Whatever happened, more input and timers are still safe.
        let _ = feed(&mut w, qid, &bytes, 7);
        let t = w.host().poll_timeout();
        if let Some(t) = t { w.host_mut().handle_timeout(t); }
    }

    #[test]
    fn prefixed_garbage_after_a_valid_pdu_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        flip in 0usize..24,
        val in any::<u8>(),
    ) {
        // A valid CapsuleResp header with one byte changed, followed by random bytes.
        let mut w = world_at(2, false);
        let mut pdu = fake::resp(1, 0, fabcheck_core::wire::status::SUCCESS, 0, 0)
            .to_bytes(Digests::default());
        pdu[flip] = val;
        pdu.extend_from_slice(&bytes);
        let _ = feed(&mut w, 1, &pdu, 5);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn random_split_points_give_the_same_events(
        cuts in proptest::collection::vec(1usize..200, 1..8),
    ) {
        let run = |split: Option<&[usize]>| {
            let mut w = World::new(host_config(HOSTNQN), Knobs { c2h_chunk: 1000, ..Knobs::default() });
            if let Some(cuts) = split {
                w.split = cuts[0];
            }
            w.connect();
            w.act(HostAction::ConnectIo { qid: 1 });
            w.act(HostAction::Write { tag: 1, qid: 1, nsid: 1, slba: 0, data: vec![3; 8192] });
            w.act(HostAction::Read { tag: 2, qid: 1, nsid: 1, slba: 0, nlb: 16 });
            w.events()
        };
        let whole = run(None);
        for c in &cuts {
            prop_assert_eq!(&run(Some(&[*c])), &whole);
        }
    }
}

/// A structurally valid target PDU with fields drawn near the interesting values.
fn arb_pdu() -> impl Strategy<Value = fabcheck_core::wire::Pdu> {
    use fabcheck_core::wire::{C2HData, CapsuleResp, Cqe, Pdu, Status, R2T};
    let cid = 0u16..4;
    prop_oneof![
        (cid.clone(), 0u8..3, any::<u32>()).prop_map(|(cid, sc, cdw0)| Pdu::CapsuleResp(
            CapsuleResp {
                cqe: Cqe {
                    cdw0,
                    cid,
                    sqid: 1,
                    status: Status {
                        sc,
                        ..Status::default()
                    },
                    ..Cqe::default()
                }
            }
        )),
        (
            cid.clone(),
            0u32..3,
            1usize..3,
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(cid, off, blocks, last, success)| Pdu::C2HData(C2HData {
                cccid: cid,
                datao: off * 1024,
                last: last || success,
                success,
                data: vec![0xAB; blocks * 1024],
            })),
        (cid, 0u32..3, 0u32..3).prop_map(|(cid, off, len)| Pdu::R2T(R2T {
            cccid: cid,
            ttag: 1,
            r2to: off * 8192,
            r2tl: len * 8192,
        })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever valid-looking PDUs the target sends, and then a disconnect, each I/O tag gets
    /// exactly one IoDone and nothing is left in flight.
    #[test]
    fn every_io_completes_exactly_once(pdus in proptest::collection::vec(arb_pdu(), 0..12)) {
        let mut w = world_at(2, false);
        let mut outs: Vec<HostOutput> = Vec::new();
        for pdu in &pdus {
            let bytes = pdu.to_bytes(Digests::default());
            outs.extend(feed(&mut w, 1, &bytes, bytes.len()));
        }
        let now = w.now;
        w.host_mut().handle(now, HostInput::Do(HostAction::DisconnectAll));
        outs.extend(std::iter::from_fn(|| w.host_mut().poll_output()));
        for tag in [1u64, 2] {
            let n = outs
                .iter()
                .filter(|o| matches!(o, HostOutput::Event(HostEvent::IoDone { tag: t, .. }) if *t == tag))
                .count();
            prop_assert_eq!(n, 1, "tag {} in {:?}", tag, outs);
        }
        prop_assert_eq!(w.host().outstanding(1), 0);
        prop_assert_eq!(w.host().outstanding(0), 0);
        // H2CData only ever answers an R2T of the outstanding write, within its 16 KiB.
        for o in &outs {
            if let HostOutput::Send { data, .. } = o {
                if data[0] == 0x06 {
                    let datao = u32::from_le_bytes([data[12], data[13], data[14], data[15]]);
                    let datal = u32::from_le_bytes([data[16], data[17], data[18], data[19]]);
                    prop_assert!(datao + datal <= 16384);
                    prop_assert!(datal <= 8192, "maxh2cdata of the fake target");
                }
            }
        }
    }
}

/// One step of a random host script.
#[derive(Debug, Clone)]
enum Step {
    Do(HostAction),
    /// Let virtual time pass (ms).
    Wait(u64),
    /// The network closes this queue.
    PeerClose(u16),
}

fn arb_step() -> impl Strategy<Value = Step> {
    let qid = 0u16..3;
    prop_oneof![
        Just(Step::Do(HostAction::Connect)),
        Just(Step::Do(HostAction::OpenAdmin)),
        Just(Step::Do(HostAction::ConnectAdmin)),
        Just(Step::Do(HostAction::Initialize)),
        (1u16..3).prop_map(|qid| Step::Do(HostAction::ConnectIo { qid })),
        (qid.clone(), 0u64..8, 1u32..9).prop_map(|(qid, slba, nlb)| Step::Do(HostAction::Read {
            tag: 0,
            qid,
            nsid: 1,
            slba,
            nlb
        })),
        (qid.clone(), 0u64..8, 1usize..33).prop_map(|(qid, slba, blocks)| Step::Do(
            HostAction::Write {
                tag: 0,
                qid,
                nsid: 1,
                slba,
                data: vec![0x5A; blocks * 512],
            }
        )),
        Just(Step::Do(HostAction::KeepAlive)),
        any::<bool>().prop_map(|on| Step::Do(HostAction::SetKeepAlive(on))),
        Just(Step::Do(HostAction::Reset)),
        Just(Step::Do(HostAction::Shutdown)),
        qid.clone()
            .prop_map(|qid| Step::Do(HostAction::Disconnect { qid })),
        Just(Step::Do(HostAction::DisconnectAll)),
        (0u64..12_000).prop_map(Step::Wait),
        qid.prop_map(Step::PeerClose),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Random scripts against the fake target: no panic, no protocol error (the fake target
    /// is well behaved), and every read/write tag completes exactly once by the end.
    #[test]
    fn random_scripts_complete_every_io_once(steps in proptest::collection::vec(arb_step(), 1..40)) {
        let mut w = World::new(host_config(HOSTNQN), Knobs::default());
        let mut tags = 0u64;
        for step in steps {
            match step {
                Step::Do(mut action) => {
                    if let HostAction::Read { tag, .. } | HostAction::Write { tag, .. } = &mut action {
                        tags += 1;
                        *tag = tags;
                    }
                    w.act(action);
                }
                Step::Wait(ms) => w.advance(fabcheck_core::Duration::from_millis(ms)),
                Step::PeerClose(qid) => w.host_input(0, HostInput::Closed { qid }),
            }
        }
        w.act(HostAction::DisconnectAll);
        let events = w.events();
        for tag in 1..=tags {
            let n = events
                .iter()
                .filter(|e| matches!(e, HostEvent::IoDone { tag: t, .. } if *t == tag))
                .count();
            prop_assert_eq!(n, 1, "tag {} in {:?}", tag, events);
        }
        prop_assert!(
            !events.iter().any(|e| matches!(e, HostEvent::ProtocolError { .. })),
            "{:?}", events
        );
        for qid in 0..3 {
            prop_assert_eq!(w.host().outstanding(qid), 0);
        }
        prop_assert_eq!(w.host().poll_timeout(), None);
    }
}

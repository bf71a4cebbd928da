//! The target's public driving API as an embedder (the runtime, the simulator) uses it:
//! `enabled_events`, `poll_timeout` / `handle_timeout`, `poll_output`, spurious inputs, the
//! sticky crash, and the catalogue.

use fabcheck_core::nvmf::{
    catalogue, BugId, ConnId, EnabledEvent, Input, Mark, Output, RpcId, RpcRequest,
    SubsystemConfig, Target, TargetConfig, ThreadId, Timer, Trid,
};
use fabcheck_core::testkit::{trid, HOSTNQN, NQN};
use fabcheck_core::time::{Duration, Instant};
use fabcheck_core::wire::{
    CapsuleCmd, Command, Connect, ConnectData, Digests, IcReq, Pdu, SglDescriptor, SGL_IN_CAPSULE,
};

fn target() -> Target {
    let mut sub = SubsystemConfig::new(NQN);
    sub.listeners.push(trid());
    Target::new(TargetConfig {
        listeners: vec![trid()],
        subsystems: vec![sub],
        ..TargetConfig::default()
    })
}

fn drain(t: &mut Target) -> Vec<Output> {
    std::iter::from_fn(|| t.poll_output()).collect()
}

/// Runs every event that is enabled now.
fn run_now(t: &mut Target, now: Instant) {
    loop {
        let ev: Vec<EnabledEvent> = t
            .enabled_events()
            .into_iter()
            .filter(|e| e.at.is_none())
            .collect();
        let Some(e) = ev.into_iter().next() else {
            return;
        };
        t.handle(now, e.input);
        t.check_invariants().expect("invariants hold");
    }
}

fn connect_bytes(kato_ms: u32) -> Vec<u8> {
    let ic = Pdu::IcReq(IcReq {
        pfv: 0,
        hpda: 0,
        digests: Digests::default(),
        maxr2t: 0,
    });
    let cmd = Command::Connect(Connect {
        recfmt: 0,
        qid: 0,
        sqsize: 31,
        cattr: 0,
        kato_ms,
    });
    let mut sqe = cmd.to_sqe(1);
    sqe.sgl1 = SglDescriptor {
        addr: 0,
        len: 1024,
        kind: SGL_IN_CAPSULE,
    };
    let data = ConnectData {
        hostid: [1; 16],
        cntlid: 0xFFFF,
        subnqn: NQN.into(),
        hostnqn: HOSTNQN.into(),
    }
    .to_bytes();
    let mut out = ic.to_bytes(Digests::default());
    out.extend(Pdu::CapsuleCmd(CapsuleCmd { sqe, data }).to_bytes(Digests::default()));
    out
}

#[test]
fn keep_alive_expires_through_poll_timeout_and_handle_timeout() {
    let mut t = target();
    let conn = ConnId(1);
    let t0 = Instant::ZERO;
    t.handle(t0, Input::Accept { trid: trid(), conn });
    assert_eq!(
        t.enabled_events()[0].input,
        Input::Run(ThreadId::PollGroup(0))
    );
    run_now(&mut t, t0);
    t.handle(
        t0,
        Input::Bytes {
            conn,
            data: connect_bytes(15_000),
        },
    );
    run_now(&mut t, t0);
    let sent = drain(&mut t);
    assert!(sent
        .iter()
        .any(|o| matches!(o, Output::Event(e) if e.mark == Mark::ConnectResponded)));
    let deadline = t.poll_timeout().expect("keep-alive armed");
    // KATO 15 s rounds up to whole KAS units (10 s): 20 s. The poller runs every 20 s from
    // the CONNECT and expires the controller only strictly after last Keep Alive + KATO, so
    // its run at 20 s finds nothing and the one at 40 s expires it.
    assert_eq!(deadline, t0 + Duration::from_secs(40));
    assert!(
        t.enabled_events()
            .iter()
            .any(|e| matches!(e.input, Input::Fire(Timer::KeepAlive { .. }))
                && e.at == Some(deadline))
    );
    t.handle_timeout(deadline - Duration::from_millis(1));
    assert!(drain(&mut t).is_empty(), "a spurious timeout is a no-op");
    t.handle_timeout(deadline);
    run_now(&mut t, deadline);
    let out = drain(&mut t);
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Event(e) if e.mark == Mark::KeepAliveExpired)));
    assert!(out.contains(&Output::Close { conn }));
    assert_eq!((t.qpair_count(), t.ctrlr_count()), (0, 0));
    assert_eq!(t.poll_timeout(), None);
    assert!(t.quiescence_report().is_quiet());
}

#[test]
fn spurious_inputs_are_harmless() {
    let mut t = target();
    let now = Instant::ZERO;
    t.handle(now, Input::Run(ThreadId::PollGroup(7)));
    t.handle(now, Input::Run(ThreadId::App));
    t.handle(
        now,
        Input::Bytes {
            conn: ConnId(9),
            data: vec![1, 2, 3],
        },
    );
    t.handle(now, Input::PeerClosed { conn: ConnId(9) });
    t.handle(now, Input::Complete(fabcheck_core::nvmf::DeviceIoId(5)));
    t.handle(now, Input::Fire(Timer::ConnectRetry { conn: ConnId(9) }));
    t.handle(
        now,
        Input::Accept {
            trid: Trid::tcp("10.0.0.1", 1),
            conn: ConnId(3),
        },
    );
    assert_eq!(drain(&mut t), vec![Output::Close { conn: ConnId(3) }]);
    t.check_invariants().expect("nothing broke");
    t.handle(
        now,
        Input::Rpc {
            id: RpcId(1),
            request: RpcRequest::GetSubsystems,
        },
    );
    t.handle(
        now,
        Input::Rpc {
            id: RpcId(1),
            request: RpcRequest::GetSubsystems,
        },
    );
    let out = drain(&mut t);
    assert_eq!(
        out.len(),
        2,
        "the duplicate id is refused, the first answered: {out:?}"
    );
}

#[test]
fn the_catalogue_lists_spdk_3302() {
    let e = &catalogue()[0];
    assert_eq!(
        (e.id, e.name, e.site),
        (BugId::Spdk3302, "spdk-3302", "free_aer")
    );
    assert!(e.fix_commit.starts_with("6c23277d0a"));
    assert_eq!(
        Mark::StopListenMetQpairWithoutCtrlr.name(),
        "stop_listen_met_qpair_without_ctrlr"
    );
    let names: std::collections::BTreeSet<&str> = Mark::all().iter().map(|m| m.name()).collect();
    assert_eq!(names.len(), Mark::all().len(), "mark names are unique");
    assert!(names
        .iter()
        .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
}

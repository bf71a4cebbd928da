//! Random schedules over a churn scenario: hosts connecting (raw PDU scripts), an operator
//! pausing, resuming, stopping listeners with and without a subsystem, adding namespaces and
//! disconnecting qpairs, all interleaved with thread runs, device completions and timers. The
//! operator is a balanced embedder: it stops only listener references it took itself (a stop
//! that drops a subsystem listener's reference is hazard H-13, which the simulator's
//! random-peers scenario reaches).
//! With every catalogue switch off no invariant may break and a healing phase must reach
//! quiescence; with `spdk-3302` on (retry mode) some schedules must hit `free_aer`.

use crate::nvmf::{BugId, BugSet, ConnId, Input, InvariantId, RpcRequest, Spdk, TargetConfig};
use crate::testkit::pdu;
use crate::testkit::{config, namespace, trid, World, NQN};
use crate::testkit::{HOSTNQN, HOSTNQN_B};

const L1: InvariantId = InvariantId::L1;
use crate::time::Duration;
use crate::wire::Pdu;

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn script(host: &str, io: bool) -> Vec<Pdu> {
    let mut s = vec![pdu::icreq()];
    if io {
        s.push(pdu::connect(1, 1, NQN, host, 1, 0));
        s.push(pdu::write(2, 1, 0, vec![5; 512], true));
        s.push(pdu::read(3, 1, 0, 1));
    } else {
        s.push(pdu::connect(1, 0, NQN, host, 0xFFFF, 10_000));
        s.push(pdu::prop_set_cc(2, pdu::CC_ENABLE));
        s.push(pdu::enable_ns_aen(3));
        s.push(pdu::aer(4));
        s.push(pdu::keep_alive(5));
    }
    s
}

/// The operator's next call; `own` counts the listener references it holds.
fn operator(rng: &mut Rng, n: u32, own: &mut u32) -> RpcRequest {
    let pick = match rng.below(7) {
        2 | 3 if *own == 0 => 6,
        k => k,
    };
    match pick {
        2 | 3 => *own -= 1,
        6 => *own += 1,
        _ => {}
    }
    match pick {
        0 => RpcRequest::PauseSubsystem {
            nqn: NQN.into(),
            nsid: 0,
        },
        1 => RpcRequest::ResumeSubsystem { nqn: NQN.into() },
        2 => RpcRequest::StopListenAsync {
            trid: trid(),
            nqn: None,
        },
        3 => RpcRequest::StopListenAsync {
            trid: trid(),
            nqn: Some(NQN.into()),
        },
        4 => RpcRequest::AddNamespace {
            nqn: NQN.into(),
            ns: namespace(10 + n, 8),
        },
        5 => RpcRequest::DisconnectQpair {
            conn: ConnId(1 + rng.below(4) as u64),
        },
        _ => RpcRequest::TransportListen { trid: trid() },
    }
}

/// One random run; returns the world at the end (crashed or healed).
pub(super) fn run(seed: u64, cfg: TargetConfig) -> World {
    run_with(seed, cfg, |_| {})
}

/// `run`, calling `each` on the world after every step.
fn run_with(seed: u64, cfg: TargetConfig, mut each: impl FnMut(&World)) -> World {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut w = World::new(cfg);
    w.expect_violation = true;
    let mut scripts: Vec<(ConnId, Vec<Pdu>)> = Vec::new();
    let hosts = [
        (HOSTNQN, false),
        (HOSTNQN_B, false),
        (HOSTNQN, true),
        (HOSTNQN_B, false),
    ];
    let mut ops = 0;
    let mut own = 0;
    for _ in 0..120 {
        if w.violation().is_some() {
            return w;
        }
        match rng.below(6) {
            0 if scripts.len() < hosts.len() => {
                let (h, io) = hosts[scripts.len()];
                let c = w.accept(scripts.len() as u64 + 1);
                scripts.push((c, script(h, io)));
            }
            1 if !scripts.is_empty() => {
                let k = rng.below(scripts.len());
                if !scripts[k].1.is_empty() {
                    let p = scripts[k].1.remove(0);
                    let c = scripts[k].0;
                    w.send(c, &p);
                }
            }
            2 if ops < 6 => {
                ops += 1;
                let req = operator(&mut rng, ops, &mut own);
                w.rpc(req);
            }
            3 => {
                if let Some((t, at)) = w.target.armed_timers().first().copied() {
                    w.now = w.now.max(at);
                    w.input(Input::Fire(t));
                }
            }
            _ => {
                let ev = w.target.enabled_events();
                let now: Vec<_> = ev.into_iter().filter(|e| e.at.is_none()).collect();
                if !now.is_empty() {
                    let e = now[rng.below(now.len())].input.clone();
                    w.input(e);
                }
            }
        }
        w.skip(Duration::from_micros(50));
        each(&w);
    }
    w
}

/// Healing: hosts go away, the subsystem resumes, everything runs, the target shuts down.
/// Returns whether L1 broke on the way (only possible with `spdk-3095`, where the world
/// expects violations; L1 is not sticky, the target goes on).
fn heal(w: &mut World) -> bool {
    let conns: Vec<ConnId> = w.peers.keys().copied().collect();
    for c in conns {
        w.input(Input::PeerClosed { conn: c });
    }
    w.settle_until(w.now + Duration::from_secs(3));
    w.rpc(RpcRequest::ResumeSubsystem { nqn: NQN.into() });
    w.run_all();
    let broke = match w.target.check_invariants() {
        Err(v) => {
            assert_eq!(v.invariant, L1, "{v}");
            true
        }
        Ok(()) => false,
    };
    w.shutdown_and_check();
    broke
}

#[test]
fn random_schedules_are_clean_with_every_switch_off() {
    let mut totals = std::collections::BTreeMap::new();
    let mut l1 = 0;
    // v24.01 as released parks on the retry poller (`spdk-3095`); its only possible finding
    // here is that entry's own L1 (a BUSY answer after a pause of more than 1 s).
    let retry = BugSet([BugId::Spdk3095].into_iter().collect());
    let profiles = [
        (Spdk::V24_01, BugSet::default()),
        (Spdk::V24_01, retry),
        (Spdk::Master, BugSet::default()),
    ];
    for (spdk, bugs) in profiles {
        for seed in 0..150 {
            let mut cfg = config();
            cfg.spdk = spdk;
            cfg.bugs = bugs.clone();
            let mut w = run(seed, cfg);
            let retry = bugs.has(BugId::Spdk3095);
            if let Some(v) = w.violation() {
                assert!(retry && v.invariant == L1, "seed {seed} {spdk:?}: {v}");
                l1 += 1;
                continue;
            }
            w.expect_violation = retry;
            l1 += u32::from(heal(&mut w));
            for m in crate::nvmf::Mark::all() {
                *totals.entry(m.name()).or_insert(0) += w.marked(*m);
            }
        }
    }
    // "Sometimes" properties: the sweep must reach the interesting windows.
    for mark in [
        "connect_parked_while_pausing",
        "connect_replayed_on_resume",
        "connect_retry_gave_up",
        "stop_listen_met_qpair_without_ctrlr",
        "disconnect_with_outstanding",
        "free_aer_without_ctrlr",
        "pause_waited_for_drain",
        "keep_alive_expired",
    ] {
        assert!(
            totals.get(mark).copied().unwrap_or(0) > 0,
            "never reached {mark}: {totals:#?}"
        );
    }
    assert!(
        l1 > 0,
        "spdk-3095's L1 never broken in 150 random schedules"
    );
}

#[test]
fn random_schedules_find_spdk_3302_with_the_switch_on() {
    let mut found = 0;
    for seed in 0..150 {
        let mut cfg = config();
        cfg.spdk = Spdk::V24_01;
        cfg.bugs = BugSet([BugId::Spdk3302].into_iter().collect());
        let w = run(seed, cfg);
        // v24.01 as released: spdk-3302 brings the retry parking of spdk-3095 (and its L1).
        if let Some(v) = w.violation() {
            if v.site == "free_aer" {
                found += 1;
            } else {
                assert_eq!(v.site, "nvmf_ctrlr_cmd_connect", "seed {seed}: {v}");
            }
        }
    }
    assert!(found > 0, "spdk-3302 never reached in 150 random schedules");
}

#[test]
fn the_same_seed_gives_the_same_state_and_fingerprint() {
    use std::hash::{Hash, Hasher};
    let fp = |w: &World| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        w.target.hash(&mut h);
        h.finish()
    };
    for seed in [3, 17, 42] {
        let a = run(seed, config());
        let b = run(seed, config());
        assert!(a.target == b.target, "seed {seed} diverged");
        assert_eq!(fp(&a), fp(&b));
        let json = serde_json::to_string(&a.target).expect("the target serializes");
        assert!(json.contains("\"queues\""));
    }
    assert!(run(3, config()).target != run(4, config()).target);
}

/// `push_due_inputs` (the runtime driver's allocation-free view) lists exactly the inputs of
/// `enabled_events()` whose time has come, in the same order, in every state the random
/// schedules reach, at the present, a little later (some keep-alive and retry pollers due) and
/// far in the future (every armed poller due).
#[test]
fn due_inputs_are_the_enabled_events_whose_time_has_come() {
    let (mut checked, mut with_timers, mut several) = (0, 0, 0);
    for spdk in [Spdk::V24_01, Spdk::Master] {
        for seed in 0..40 {
            let mut cfg = config();
            cfg.spdk = spdk;
            run_with(seed, cfg, |w| {
                for later in [0, 100_000, 2_000_000, 60_000_000_000] {
                    let now = w.now + Duration::from_micros(later / 1000);
                    let expected: Vec<Input> = w
                        .target
                        .enabled_events()
                        .into_iter()
                        .filter(|e| e.at.is_none_or(|at| at <= now))
                        .map(|e| e.input)
                        .collect();
                    let mut due = vec![Input::Run(crate::nvmf::ThreadId::App)];
                    w.target.push_due_inputs(now, &mut due);
                    assert_eq!(due[1..], expected[..], "seed {seed} {spdk:?} at {now:?}");
                    checked += 1;
                    let fires = expected
                        .iter()
                        .filter(|i| matches!(i, Input::Fire(_)))
                        .count();
                    with_timers += usize::from(fires > 0);
                    several += usize::from(fires > 1);
                }
            });
        }
    }
    assert!(
        with_timers > checked / 100 && several > 0,
        "of {checked} states {with_timers} had a due timer, {several} more than one"
    );
}

//! The `target_inputs` harness: a fixed-core target set up from a built-in scenario's
//! configuration (subsystems, namespaces, listeners, poll groups, parking mode), driven by
//! arbitrary `Op`s: peer bytes on up to `SLOTS` connections, peer closes, RPCs, thread runs,
//! device completions, timer firings and the passing of time.
//!
//! Oracle, checked after every op: the target records no violation and `check_invariants()`
//! holds; it only talks to connections that are open (no `Send`/`Close` to a connection it
//! never accepted or already closed) and answers each RPC exactly once. A panic in the core is
//! a finding as well (the fuzzer reports it, the corpus test fails).
//!
//! The harness plays the runtime's part faithfully: it never delivers bytes to a connection
//! after either side closed it, never feeds a timer before its deadline, and runs only the
//! events `enabled_events()` offers.

use super::ops::{FuzzInput, Op, SLOTS};
use crate::scenario::Scenario;
use crate::scenario::{builtin, builtin_names};
use fabcheck_core::nvmf::{
    ConnId, Input, Mark, Output, RpcId, Target, TargetConfig, Trid, Violation,
};
use fabcheck_core::time::Duration;
use fabcheck_core::Instant;
use std::collections::BTreeSet;

/// What went wrong on a `target_inputs` input (the fuzz target panics with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The target recorded a violation or broke an invariant.
    Violation { op: usize, violation: Violation },
    /// The target broke the driver contract (named in the text).
    Contract { op: usize, what: String },
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::Violation { op, violation } => write!(f, "after op {op}: {violation}"),
            Finding::Contract { op, what } => write!(f, "after op {op}: {what}"),
        }
    }
}

/// The scenario whose configuration input byte `pick` selects (the fixed core).
pub fn scenario_for(pick: u8) -> Scenario {
    let names = builtin_names();
    let name = names[usize::from(pick) % names.len()];
    builtin(name).expect("built-in names resolve").fixed()
}

/// A target plus the runtime-side bookkeeping the oracle needs.
pub struct Harness {
    pub target: Target,
    /// Listeners ops address: the configured ones, then one nobody listens on.
    pub trids: Vec<Trid>,
    /// Subsystem NQNs ops address: the configured ones, then one that does not exist.
    pub nqns: Vec<String>,
    pub slots: [Option<ConnId>; SLOTS as usize],
    /// Connections accepted and not yet closed by either side.
    open: BTreeSet<ConnId>,
    /// Connections the target closed (it must not send on them again).
    target_closed: BTreeSet<ConnId>,
    /// The first driver-contract breach since the last check.
    contract: Option<String>,
    next_conn: u64,
    rpcs_pending: BTreeSet<RpcId>,
    next_rpc: u64,
    /// Every mark the target emitted (how deep an input got).
    pub marks: BTreeSet<Mark>,
    op: usize,
}

impl Harness {
    pub fn new(config: TargetConfig) -> Self {
        let mut trids = config.listeners.clone();
        trids.push(Trid::tcp("127.0.0.1", 4499));
        let mut nqns: Vec<String> = config.subsystems.iter().map(|s| s.nqn.clone()).collect();
        nqns.push("nqn.2016-06.io.spdk:fuzz-absent".to_string());
        Harness {
            target: Target::new(config),
            trids,
            nqns,
            slots: [None; SLOTS as usize],
            open: BTreeSet::new(),
            target_closed: BTreeSet::new(),
            contract: None,
            next_conn: 1,
            rpcs_pending: BTreeSet::new(),
            next_rpc: 1,
            marks: BTreeSet::new(),
            op: 0,
        }
    }

    fn now(&self) -> Instant {
        self.target.now()
    }

    /// The open connection in `slot`, if any.
    pub fn conn(&self, slot: u8) -> Option<ConnId> {
        self.slots[usize::from(slot % SLOTS)].filter(|c| self.open.contains(c))
    }

    /// Applies one op, then drains the outputs and checks the oracle.
    pub fn apply(&mut self, op: &Op) -> Result<(), Finding> {
        match op {
            Op::Accept { slot, listener } => self.accept(*slot, *listener),
            Op::Bytes { slot, data } => self.peer(*slot, |conn| Input::Bytes {
                conn,
                data: data.clone(),
            }),
            Op::PeerClosed { slot } => self.peer(*slot, |conn| Input::PeerClosed { conn }),
            Op::Rpc { kind, a, b } => {
                if let Some(request) = super::rpc::template(self, *kind, *a, *b) {
                    let id = RpcId(self.next_rpc);
                    self.next_rpc += 1;
                    self.rpcs_pending.insert(id);
                    self.feed(Input::Rpc { id, request });
                }
            }
            Op::Step { pick } => self.step(*pick),
            Op::Wait { ms } => {
                let now = self.now() + Duration::from_millis(u64::from(*ms));
                self.target.handle_timeout(now);
            }
            Op::Settle => self.settle(),
        }
        self.check()
    }

    fn accept(&mut self, slot: u8, listener: u8) {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        let trid = self.trids[usize::from(listener) % self.trids.len()].clone();
        self.slots[usize::from(slot % SLOTS)] = Some(conn);
        self.open.insert(conn);
        self.feed(Input::Accept { trid, conn });
    }

    fn peer(&mut self, slot: u8, input: impl FnOnce(ConnId) -> Input) {
        let Some(conn) = self.conn(slot) else { return };
        let input = input(conn);
        if matches!(input, Input::PeerClosed { .. }) {
            self.open.remove(&conn);
        }
        self.feed(input);
    }

    /// Runs enabled event `pick` (modulo their number), moving time to its deadline.
    fn step(&mut self, pick: u8) {
        let events = self.target.enabled_events();
        if events.is_empty() {
            return;
        }
        let e = &events[usize::from(pick) % events.len()];
        let now = e.at.map_or(self.now(), |at| at.max(self.now()));
        let input = e.input.clone();
        self.feed_at(now, input);
    }

    fn settle(&mut self) {
        for _ in 0..10_000 {
            let events = self.target.enabled_events();
            let Some(e) = events.into_iter().find(|e| e.at.is_none()) else {
                return;
            };
            self.feed(e.input);
            if self.target.violation().is_some() {
                return;
            }
        }
    }

    pub fn feed(&mut self, input: Input) {
        self.feed_at(self.now(), input);
    }

    fn feed_at(&mut self, now: Instant, input: Input) {
        self.target.handle(now, input);
        while let Some(out) = self.target.poll_output() {
            self.observe(out);
        }
    }

    /// Checks one output against the driver contract.
    fn observe(&mut self, out: Output) {
        let accepted = |c: ConnId| c.0 > 0 && c.0 < self.next_conn;
        let bad = match out {
            Output::Send { conn, .. } => (!accepted(conn) || self.target_closed.contains(&conn))
                .then(|| {
                    format!("Send on {conn:?} after the target closed it (or never accepted)")
                }),
            Output::Close { conn } => {
                self.open.remove(&conn);
                self.target_closed.insert(conn);
                (!accepted(conn)).then(|| format!("Close of {conn:?}, which was never accepted"))
            }
            Output::RpcDone { id, .. } => (!self.rpcs_pending.remove(&id))
                .then(|| format!("RPC {id:?} answered twice or never issued")),
            Output::Event(e) => {
                self.marks.insert(e.mark);
                None
            }
        };
        if let Some(what) = bad {
            self.contract.get_or_insert(what);
        }
    }

    fn check(&mut self) -> Result<(), Finding> {
        let op = self.op;
        self.op += 1;
        if let Some(what) = self.contract.take() {
            return Err(Finding::Contract { op, what });
        }
        self.target
            .check_invariants()
            .map_err(|violation| Finding::Violation { op, violation })
    }
}

/// Runs one fuzz input on the fixed core; `Ok` carries the marks it reached.
pub fn run(data: &[u8]) -> Result<BTreeSet<Mark>, Finding> {
    let input = FuzzInput::decode(data);
    let config = scenario_for(input.scenario).target_config();
    let spdk = config.spdk;
    let mut h = Harness::new(config);
    for op in &input.ops {
        match h.apply(op) {
            Ok(()) => {}
            // A recorded hazard is SPDK's own behaviour (docs/hazards.md), not a finding about
            // the model: the input ends there.
            Err(Finding::Violation { ref violation, .. }) if is_hazard(violation, spdk) => break,
            Err(finding) => return Err(finding),
        }
    }
    Ok(h.marks)
}

/// Whether `v`, seen on the fixed core of profile `spdk`, is a confirmed hazard.
fn is_hazard(v: &Violation, spdk: fabcheck_core::nvmf::Spdk) -> bool {
    crate::hazard::known(&crate::Failure::Safety(v.clone()), spdk).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabcheck_core::nvmf::{RpcResponse, TargetConfig};

    fn harness() -> Harness {
        Harness::new(TargetConfig::default())
    }

    /// A fuzz input ends quietly at a recorded hazard (SPDK's behaviour); any other violation
    /// at the same site is still a finding.
    #[test]
    fn a_recorded_hazard_is_not_a_fuzz_finding() {
        use fabcheck_core::nvmf::{InvariantId, Spdk, ThreadId};
        let mut v = Violation {
            invariant: InvariantId::I1,
            site: "_nvmf_subsystem_remove_listener".into(),
            handles: vec![],
            thread: ThreadId::App,
            detail: "reads listener->trid of a freed transport listener".into(),
        };
        assert!(is_hazard(&v, Spdk::Master));
        assert!(is_hazard(&v, Spdk::V24_01));
        v.invariant = InvariantId::I15;
        assert!(!is_hazard(&v, Spdk::Master));
    }

    #[test]
    fn the_oracle_reports_planted_contract_breaches() {
        let mut h = harness();
        h.observe(Output::Send {
            conn: ConnId(7),
            data: vec![0].into(),
        });
        assert!(matches!(h.check(), Err(Finding::Contract { op: 0, .. })));
        h.accept(0, 0);
        h.observe(Output::Close { conn: ConnId(1) });
        assert_eq!(h.check(), Ok(()));
        h.observe(Output::Send {
            conn: ConnId(1),
            data: vec![0].into(),
        });
        assert!(matches!(h.check(), Err(Finding::Contract { op: 2, .. })));
        h.observe(Output::RpcDone {
            id: RpcId(42),
            result: Ok(RpcResponse::Done),
        });
        let Err(Finding::Contract { what, .. }) = h.check() else {
            panic!("an answer to an RPC never issued is a finding")
        };
        assert!(what.contains("answered twice or never issued"));
    }

    #[test]
    fn rpcs_are_answered_once_and_closed_connections_get_no_bytes() {
        let mut h = harness();
        h.apply(&Op::Rpc {
            kind: 16,
            a: 0,
            b: 0,
        })
        .unwrap();
        assert!(
            h.rpcs_pending.is_empty(),
            "GetSubsystems is answered at once"
        );
        h.apply(&Op::Accept {
            slot: 0,
            listener: 0,
        })
        .unwrap();
        assert_eq!(
            h.conn(0),
            None,
            "no listener configured: the target closes it"
        );
        h.apply(&Op::Bytes {
            slot: 0,
            data: vec![1; 8],
        })
        .unwrap();
    }
}

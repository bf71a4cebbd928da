//! What one step touched, for the model checker's partial-order reduction (`fabcheck-models`).
//!
//! A step's footprint is its actor (the chosen event's: a thread, a pipe, a host) and the
//! objects it read and wrote. Objects are 64-bit ids: a group in the high 32 bits, a member in
//! the low 32; member `ALL` stands for every member of its group. Where they come from:
//! - the target's arena slots (subsystems, qpairs, controllers, requests): recorded by the
//!   arenas' accessors while the step runs (`fabcheck_core::nvmf::arena::record`; the
//!   invariant and quiescence oracles do not record);
//! - each target thread queue, each of the target's other fields (`TGLOBAL` member i is
//!   `Target::FOOTPRINT_FIELDS[i]`), each host, each connection's two pipes and its flags, and
//!   the world's control part (time, stage, failure, operator, connection table, counters):
//!   written when their hash changed;
//! - the target's add-only counters (`Target::FOOTPRINT_COUNTERS`, group `COUNTER`): added to
//!   when their hash changed. The core only ever increments them and no step reads them (the
//!   invariant oracle reads them on the state after a step, and that state is the same in both
//!   orders of two adds), so two steps that both bump one commute;
//! - the target's `current` (the thread that ran last) is in no footprint: every entry point
//!   sets it before reading it, so it is dead between steps and not part of the state's
//!   identity (`Target::current_is_live` names the one exception, when it is hashed).
//!
//! Reads not recorded are assumed: every step reads the control part and every connection's
//! flags; a step that feeds the target reads every `TGLOBAL` field; a step reads and writes what
//! its event names (thread queue, pipe, host).
//!
//! Invariant kept (soundness over reduction): a step gets no footprint (it commutes with
//! nothing) when it is not one of those events, when it is a timer or moves time, when a fault
//! struck, or when it changed the control part; a step with a footprint commutes with another
//! only if their actors differ and neither wrote what the other touched.

use super::enabled::Cand;
use super::state::{hash_host, hash_operator};
use super::{Event, WorldState};
use crate::chooser::{Choice, ChoiceKind};
use fabcheck_core::nvmf::arena::record::{Access, Parts};
use fabcheck_core::nvmf::{ConnId, Input, ThreadId};
use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

/// Member id standing for every member of a group.
pub const ALL: u32 = u32::MAX;

const CTRL: u64 = 1;
const HOST: u64 = 2;
const UP: u64 = 3;
const DOWN: u64 = 4;
const FLAGS: u64 = 5;
const TGLOBAL: u64 = 6;
const QUEUE: u64 = 7;
const ARENA: u64 = 8;
/// The target's add-only counters (`Target::FOOTPRINT_COUNTERS`), far from the arena groups
/// (`ARENA + kind`) so that a new arena kind cannot collide.
const COUNTER: u64 = 64;

/// Object id of `member` in `group`.
pub const fn object(group: u64, member: u32) -> u64 {
    group << 32 | member as u64
}

/// A step's actor and footprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touches {
    pub actor: u64,
    pub reads: Vec<u64>,
    pub writes: Vec<u64>,
    /// Add-only counters the step bumped (two adds commute; see `Footprint`).
    pub adds: Vec<u64>,
}

fn hash_of(v: &impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// The world's parts, hashed.
pub(super) struct Snapshot {
    ctrl: u64,
    hosts: Vec<u64>,
    /// Per connection: the pipe to the target, the pipe to the host, the flags.
    conns: BTreeMap<ConnId, (u64, u64, u64)>,
    target: Parts,
}

impl Snapshot {
    pub(super) fn of(s: &WorldState) -> Snapshot {
        let mut h = DefaultHasher::new();
        (s.now, s.stage, s.faults_left, s.next_conn, s.next_rpc).hash(&mut h);
        s.failure.as_ref().map(ToString::to_string).hash(&mut h);
        s.by_queue.hash(&mut h);
        s.waits.hash(&mut h);
        s.conns.keys().for_each(|c| c.hash(&mut h));
        hash_operator(s, &mut h);
        let hosts = s
            .hosts
            .iter()
            .map(|slot| {
                let mut h = DefaultHasher::new();
                hash_host(slot, &mut h);
                h.finish()
            })
            .collect();
        let conns = s
            .conns
            .iter()
            .map(|(c, k)| {
                let flags = (k.host, k.qid, k.host_open, k.target_open);
                (
                    *c,
                    (hash_of(&k.to_target), hash_of(&k.to_host), hash_of(&flags)),
                )
            })
            .collect();
        Snapshot {
            ctrl: h.finish(),
            hosts,
            conns,
            target: s.target.footprint_parts(),
        }
    }
}

fn member(n: impl TryInto<u32>) -> u32 {
    n.try_into().unwrap_or(ALL - 1)
}

fn queue_of(t: ThreadId) -> u32 {
    match t {
        ThreadId::App => 0,
        ThreadId::PollGroup(n) => 1 + u32::from(n),
    }
}

/// The step's footprint, or `None` when it must commute with nothing (see the module docs).
pub(super) fn touches(
    prev: &WorldState,
    before: &Snapshot,
    next: &WorldState,
    cand: &Cand,
    choices: &[Choice],
    accesses: &[Access],
) -> Option<Touches> {
    let struck = choices
        .iter()
        .any(|c| c.kind == ChoiceKind::Fault && c.picked != 0);
    if cand.timer || cand.at > prev.now || struck {
        return None;
    }
    let after = Snapshot::of(next);
    if after.ctrl != before.ctrl {
        return None;
    }
    let mut t = Touches {
        actor: cand.actor,
        reads: vec![object(CTRL, 0), object(FLAGS, ALL)],
        writes: Vec::new(),
        adds: Vec::new(),
    };
    named(prev, &cand.event, &mut t)?;
    diff(before, &after, &mut t);
    for a in accesses {
        let group = ARENA + a.kind as u64;
        let id = object(group, a.idx.unwrap_or(ALL));
        let side = if a.write { &mut t.writes } else { &mut t.reads };
        side.push(id);
    }
    for v in [&mut t.reads, &mut t.writes, &mut t.adds] {
        v.sort_unstable();
        v.dedup();
    }
    Some(t)
}

/// What the event itself reads and writes; `None` for events that get no footprint.
fn named(prev: &WorldState, event: &Event, t: &mut Touches) -> Option<()> {
    let mut both = |id: u64| {
        t.reads.push(id);
        t.writes.push(id);
    };
    match event {
        Event::Target(Input::Run(th)) => both(object(QUEUE, queue_of(*th))),
        Event::Target(Input::Complete(_)) => {}
        Event::ToTarget(c) => both(object(UP, member(c.0))),
        Event::ToHost(c) => {
            both(object(DOWN, member(c.0)));
            both(object(HOST, member(prev.conns.get(c)?.host)));
        }
        Event::HostStep(h) => both(object(HOST, member(*h))),
        _ => return None,
    }
    if matches!(event, Event::Target(_) | Event::ToTarget(_)) {
        t.reads.push(object(TGLOBAL, ALL));
    }
    Some(())
}

/// Every part whose hash changed is written.
fn diff(before: &Snapshot, after: &Snapshot, t: &mut Touches) {
    for (h, (a, b)) in before.hosts.iter().zip(&after.hosts).enumerate() {
        if a != b {
            t.writes.push(object(HOST, member(h)));
        }
    }
    for ((c, a), b) in before.conns.iter().zip(after.conns.values()) {
        let m = member(c.0);
        for (group, x, y) in [(UP, a.0, b.0), (DOWN, a.1, b.1), (FLAGS, a.2, b.2)] {
            if x != y {
                t.writes.push(object(group, m));
            }
        }
    }
    let fields = before.target.fields.iter().zip(&after.target.fields);
    for (i, (a, b)) in fields.enumerate() {
        if a != b {
            t.writes.push(object(TGLOBAL, member(i)));
        }
    }
    let counters = before.target.counters.iter().zip(&after.target.counters);
    for (i, (a, b)) in counters.enumerate() {
        if a != b {
            t.adds.push(object(COUNTER, member(i)));
        }
    }
    let queues = before.target.queues.iter().zip(&after.target.queues);
    for (i, (a, b)) in queues.enumerate() {
        if a != b {
            t.writes.push(object(QUEUE, member(i)));
        }
    }
}

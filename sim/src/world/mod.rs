//! The simulated world (docs/architecture.md): the target, scripted sans-IO hosts speaking bytes through the
//! codec, per-connection in-order pipes (deliveries may split PDUs at any byte), an operator
//! issuing RPCs in time windows, faults, and virtual time.
//!
//! Each step lists the enabled events (target internal events, pipe deliveries both ways, host
//! script steps, host timers, operator actions whose window is open, and the earliest future
//! deadline), asks the chooser for one, applies it, drains every output, then checks the
//! target's invariants (TigerBeetle style). Time jumps to a deadline only when that event is
//! chosen or nothing else is enabled. After the safety phase comes the liveness phase: faults
//! stop, host scripts stop (pending operator actions still run: a scripted resume is not a
//! fault), timers may fire, and the world must reach quiescence within `liveness_steps`.
//!
//! Invariants kept: everything is a function of the scenario and the choices (no wall clock,
//! BTreeMaps only); the chooser is asked only when there is a real choice; the trace records
//! every applied event.

mod apply;
mod drain;
mod enabled;
mod explore;
mod fair;
mod footprint;
mod host;
mod random;
mod state;
mod symmetry;

use crate::chooser::{Chooser, Recorder};
use crate::coverage::Coverage;
use crate::net::Pipe;
use crate::scenario::Scenario;
use crate::trace::stream::StreamView;
use crate::trace::{LineKind, Trace, TraceLine};
use fabcheck_core::nvmf::{ConnId, Input, RpcId, Trid, Violation};
use fabcheck_core::record::RecordLine;
use fabcheck_core::Instant;
use std::collections::BTreeMap;
use std::fmt;

pub use enabled::Event;
pub use explore::Stepped;
pub use footprint::{object as footprint_object, Touches, ALL as FOOTPRINT_ALL};
pub use state::{Stage, WorldState};
pub use symmetry::HostSymmetry;

/// Why a run failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The target crashed or broke a safety invariant.
    Safety(Violation),
    /// A host saw the target break the NVMe/TCP protocol.
    Protocol { host: usize, reason: String },
    /// The world did not reach quiescence in the liveness phase.
    Liveness { stuck: Vec<String> },
}

impl Failure {
    /// What shrinking must preserve: the kind and the site.
    pub fn signature(&self) -> String {
        match self {
            Failure::Safety(v) => format!("safety {:?} at {}", v.invariant, v.site),
            Failure::Protocol { .. } => "safety protocol at host".to_string(),
            Failure::Liveness { stuck } => {
                let mut kinds: Vec<String> = stuck
                    .iter()
                    .map(|l| l.replace(|c: char| c.is_ascii_digit(), ""))
                    .collect();
                kinds.sort();
                kinds.dedup();
                format!("liveness I8: {}", kinds.join("; "))
            }
        }
    }

    /// `fabcheck` exit code: 1 safety, 2 liveness.
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Liveness { .. } => 2,
            _ => 1,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Safety(v) => write!(f, "safety violation: {v}"),
            Failure::Protocol { host, reason } => {
                write!(
                    f,
                    "safety violation: host{host} saw a protocol error: {reason}"
                )
            }
            Failure::Liveness { stuck } => {
                write!(
                    f,
                    "liveness violation (I8): no quiescence: {}",
                    stuck.join("; ")
                )
            }
        }
    }
}

/// One connection (one host queue). Its trace views, when tracing, are `World::views`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Conn {
    host: usize,
    qid: u16,
    to_target: Pipe,
    to_host: Pipe,
    host_open: bool,
    target_open: bool,
}

/// An operator action's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
enum OpState {
    Pending,
    Issued(RpcId),
    Done,
    Skipped,
    Dropped,
}

/// The simulated world. Drive it with `run_safety` then `run_liveness` (see `crate::run`).
/// Its state between steps is one `WorldState` (the keeper of every simulated field); the rest
/// is how the run is driven and observed.
pub struct World<'s> {
    sc: &'s Scenario,
    s: WorldState,
    chooser: Recorder<Box<dyn Chooser>>,
    trace: Option<Trace>,
    /// Every target input with its time, when tracing (a runtime-style recording).
    recording: Option<Vec<RecordLine>>,
    /// Each connection's PDU views for the trace (tracing only).
    views: BTreeMap<ConnId, (StreamView, StreamView)>,
}

impl<'s> World<'s> {
    /// Builds the world; the chooser first decides which items are dropped (shrinking only).
    pub fn new(sc: &'s Scenario, chooser: Box<dyn Chooser>, trace: bool) -> Self {
        let mut w = World {
            sc,
            s: WorldState::new(sc),
            chooser: Recorder::new(chooser),
            trace: trace.then(Trace::default),
            recording: trace.then(|| vec![RecordLine::Config(sc.target_config())]),
            views: BTreeMap::new(),
        };
        w.decide_drops();
        w
    }

    fn decide_drops(&mut self) {
        for i in 0..self.s.ops.len() {
            if self.chooser.pick(crate::chooser::ChoiceKind::Drop, 2) == 1 {
                self.s.ops[i] = OpState::Dropped;
                let text = format!("dropped operator action {i}: {}", self.sc.operator[i].rpc);
                self.note(LineKind::Params, "world", None, text);
            }
        }
        for h in 0..self.s.hosts.len() {
            if self.chooser.pick(crate::chooser::ChoiceKind::Drop, 2) == 1 {
                self.s.hosts[h].kept = false;
                self.note(LineKind::Params, "world", None, format!("dropped host{h}"));
            }
        }
        for h in 0..self.s.hosts.len() {
            for s in 0..self.s.hosts[h].steps.len() {
                if self.chooser.pick(crate::chooser::ChoiceKind::Drop, 2) == 1 {
                    self.s.hosts[h].steps[s].1 = false;
                    let text = format!("dropped host{h} step {s}: {}", self.s.hosts[h].steps[s].0);
                    self.note(LineKind::Params, "world", None, text);
                }
            }
        }
    }

    /// Feeds one input to the target (and to the recording).
    fn feed(&mut self, input: Input) {
        if let Some(r) = &mut self.recording {
            r.push(RecordLine::Input {
                at: self.s.now,
                input: input.clone(),
            });
        }
        self.s.target.handle(self.s.now, input);
    }

    /// The target inputs so far as a recording (`None` when tracing is off).
    pub fn recording(&self) -> Option<&[RecordLine]> {
        self.recording.as_deref()
    }

    /// Adds a trace line (no-op when tracing is off).
    fn note(&mut self, kind: LineKind, actor: &str, to: Option<&str>, text: String) {
        if let Some(t) = &mut self.trace {
            t.push(TraceLine {
                step: self.s.step,
                at: self.s.now,
                kind,
                actor: actor.to_string(),
                to: to.map(str::to_string),
                text,
            });
        }
    }

    /// Whether tracing is on (callers skip building text otherwise).
    fn tracing(&self) -> bool {
        self.trace.is_some()
    }

    /// Records the params line (first line of every trace).
    pub fn note_params(&mut self, text: String) {
        if let Some(t) = &mut self.trace {
            t.lines.insert(
                0,
                TraceLine {
                    step: 0,
                    at: Instant::ZERO,
                    kind: LineKind::Params,
                    actor: "world".into(),
                    to: None,
                    text,
                },
            );
        }
    }

    /// Steps taken so far (both phases).
    pub fn steps(&self) -> u32 {
        self.s.step
    }

    /// The failure, if the run failed.
    pub fn failure(&self) -> Option<&Failure> {
        self.s.failure.as_ref()
    }

    /// Consumes the world into its record, coverage and trace.
    pub fn finish(
        self,
    ) -> (
        Vec<crate::chooser::Choice>,
        Coverage,
        Option<Trace>,
        Option<Failure>,
    ) {
        (
            self.chooser.into_record(),
            self.s.marks,
            self.trace,
            self.s.failure,
        )
    }

    /// The safety phase: steps until the step bound, a failure, or nothing but timers is left.
    pub fn run_safety(&mut self) {
        while self.s.step < self.sc.steps && self.s.failure.is_none() {
            self.inject_faults();
            self.drain();
            // A fault (a connection reset) can crash the target by itself; found here, not
            // hidden behind the liveness report if no step follows.
            self.check();
            if self.s.failure.is_some() {
                break;
            }
            let all = self.enabled();
            if self.safety_done(&all) || !self.step_once(all) {
                break;
            }
        }
    }

    /// The liveness phase: faults, scripts and operator stop; the world must become quiet.
    /// Then a contract breach recorded on the way is reported, if nothing else failed.
    pub fn run_liveness(&mut self) {
        self.liveness_phase();
        self.report_breach();
    }

    fn liveness_phase(&mut self) {
        if self.s.failure.is_some() {
            return;
        }
        self.s.stage = Stage::Liveness;
        self.note(
            LineKind::Phase,
            "world",
            None,
            "liveness phase: faults stop, hosts go quiet".into(),
        );
        let mut persistent = Persistent::default();
        let mut frozen = false;
        for step in 0..u64::from(self.sc.liveness_steps) {
            if self.s.failure.is_some() {
                return;
            }
            let stuck = self.stuck();
            if stuck.is_empty() {
                return;
            }
            persistent.observe(step, stuck);
            let all = self.enabled();
            if !self.step_once(all) {
                frozen = true;
                break;
            }
        }
        if self.s.failure.is_none() {
            let stuck = self.stuck();
            if !stuck.is_empty() {
                let stuck = if frozen {
                    stuck
                } else {
                    persistent.verdict(u64::from(self.sc.liveness_steps), stuck)
                };
                self.fail(Failure::Liveness { stuck });
            }
        }
    }

    /// A contract breach the target recorded without crashing (I13, I14) fails the run at its
    /// end, unless something else failed first.
    fn report_breach(&mut self) {
        if let Some(v) = self.s.target.contract_breach().cloned() {
            self.fail(Failure::Safety(v));
        }
    }

    fn fail(&mut self, failure: Failure) {
        if self.s.failure.is_none() {
            let text = failure.to_string();
            self.note(LineKind::Violation, "world", None, text);
            self.s.failure = Some(failure);
        }
    }

    /// One step out of the `all` enabled events: choose, apply, drain, check. False when
    /// nothing is enabled.
    fn step_once(&mut self, all: Vec<enabled::Cand>) -> bool {
        let due = self.due_actors(&all);
        let cands = match self.s.waits.overdue(&due) {
            Some(must) => self.only(all, &must),
            None => self.candidates(all),
        };
        if cands.is_empty() {
            return false;
        }
        let actors: Vec<u64> = cands.iter().map(|c| c.actor).collect();
        let i = self.chooser.pick_event(&actors) as usize;
        let cand = cands.into_iter().nth(i).expect("chooser answers in range");
        if self.s.stage != Stage::Safety {
            self.s.waits.record(&due, cand.actor);
        }
        self.s.step += 1;
        if cand.at > self.s.now {
            self.s.now = cand.at;
        }
        self.apply(cand.event);
        self.drain();
        self.gc_conns();
        self.check();
        true
    }

    fn check(&mut self) {
        if let Err(v) = self.s.target.check_invariants() {
            self.fail(Failure::Safety(v));
        }
    }

    fn trid_of(&self, h: usize) -> Trid {
        self.sc.hosts[h].trid()
    }
}

#[path = "../faults.rs"]
mod faults;

/// The reasons a liveness window ended stuck, without the passing ones. While the world runs
/// (keep-alives, pollers), a snapshot at the window's last step can catch an exchange in
/// flight ("conn 7 has 24 bytes pending") beside what really never moved. The verdict keeps
/// the lines that held at every one of the window's last `PERSIST_STEPS` steps; when none did,
/// it keeps the whole final snapshot, so nothing stuck is ever dropped for lack of a better one.
#[derive(Default)]
struct Persistent {
    /// Each line of the latest snapshot, with the step since which it held without a break.
    since: std::collections::BTreeMap<String, u64>,
}

/// How long a reason must have held, at the end of the window, to be reported alone.
const PERSIST_STEPS: u64 = 256;

impl Persistent {
    fn observe(&mut self, step: u64, stuck: Vec<String>) {
        let mut next = std::collections::BTreeMap::new();
        for line in stuck {
            let since = self.since.get(&line).copied().unwrap_or(step);
            next.insert(line, since);
        }
        self.since = next;
    }

    fn verdict(self, window: u64, last: Vec<String>) -> Vec<String> {
        let held_from = window.saturating_sub(PERSIST_STEPS);
        let kept: Vec<String> = last
            .iter()
            .filter(|l| self.since.get(*l).is_some_and(|&s| s <= held_from))
            .cloned()
            .collect();
        if kept.is_empty() {
            last
        } else {
            kept
        }
    }
}

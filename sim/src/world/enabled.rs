//! What may happen next: the enabled events, their times and actors, and the phase rules (time
//! jumps only to the earliest future deadline; in the liveness phase timers run only when
//! nothing else can, and an event due for `fair::FAIR_BOUND` steps runs next).

use super::{OpState, Stage, World};
use fabcheck_core::nvmf::{Input, ThreadId};
use fabcheck_core::{Duration, Instant};

/// The longest time jump offered while other work is due now.
const RACE_WINDOW: Duration = Duration::from_millis(1);

/// An event the world can apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A target-internal event (`Run`, `Complete`, `Fire`).
    Target(Input),
    /// Deliver (a prefix of) the bytes pending towards the target, or its FIN.
    ToTarget(fabcheck_core::nvmf::ConnId),
    /// Deliver (a prefix of) the bytes pending towards the host, or its FIN.
    ToHost(fabcheck_core::nvmf::ConnId),
    /// The next script step of host `h`.
    HostStep(usize),
    /// Host `h`'s timer (keep-alive, CSTS polling).
    HostTimer(usize),
    /// Operator action `i`.
    Operator(usize),
}

/// An enabled event, when it may run, who acts, and whether it is a timer.
#[derive(Debug, Clone)]
pub(super) struct Cand {
    pub event: Event,
    pub at: Instant,
    pub actor: u64,
    pub timer: bool,
}

const fn actor(class: u64, id: u64) -> u64 {
    class << 40 | (id & 0xFF_FFFF_FFFF)
}

fn target_actor(input: &Input) -> u64 {
    match input {
        Input::Run(ThreadId::App) => actor(1, 0),
        Input::Run(ThreadId::PollGroup(n)) => actor(1, 1 + u64::from(*n)),
        Input::Complete(io) => actor(2, io.0),
        other => {
            let text = format!("{other:?}");
            actor(
                3,
                crate::trace::fnv1a(text.as_bytes(), crate::trace::FNV_BASIS),
            )
        }
    }
}

impl World<'_> {
    fn target_cands(&self, out: &mut Vec<Cand>) {
        for e in self.s.target.enabled_events() {
            let timer = matches!(e.input, Input::Fire(_));
            out.push(Cand {
                actor: target_actor(&e.input),
                at: e.at.unwrap_or(self.s.now).max(self.s.now),
                event: Event::Target(e.input),
                timer,
            });
        }
    }

    fn pipe_cands(&self, out: &mut Vec<Cand>) {
        for (&c, conn) in &self.s.conns {
            if !conn.to_target.is_empty() {
                let (event, actor) = (Event::ToTarget(c), actor(4, c.0));
                out.push(Cand {
                    event,
                    at: self.s.now,
                    actor,
                    timer: false,
                });
            }
            if !conn.to_host.is_empty() {
                let (event, actor) = (Event::ToHost(c), actor(5, c.0));
                out.push(Cand {
                    event,
                    at: self.s.now,
                    actor,
                    timer: false,
                });
            }
        }
    }

    fn host_cands(&mut self, out: &mut Vec<Cand>) {
        let scripts = self.s.stage == Stage::Safety;
        for (h, slot) in self.s.hosts.iter_mut().enumerate() {
            if !slot.kept {
                continue;
            }
            if scripts {
                if let Some(step) = slot.next_step().cloned() {
                    if slot.gate(&step) {
                        let (event, actor) = (Event::HostStep(h), actor(6, h as u64));
                        out.push(Cand {
                            event,
                            at: slot.wake_at.max(self.s.now),
                            actor,
                            timer: slot.wake_at > self.s.now,
                        });
                    }
                }
            }
            if let Some(t) = slot.host.poll_timeout() {
                let (event, actor) = (Event::HostTimer(h), actor(7, h as u64));
                out.push(Cand {
                    event,
                    at: t.max(self.s.now),
                    actor,
                    timer: true,
                });
            }
        }
    }

    /// Skips actions whose window closed; lists the others that are enabled (maybe later).
    /// The operator keeps going in the liveness phase: a scripted resume is not a fault.
    fn op_cands(&mut self, out: &mut Vec<Cand>) {
        for i in 0..self.s.ops.len() {
            if self.s.ops[i] != OpState::Pending {
                continue;
            }
            let a = &self.sc.operator[i];
            let to = a.to_ms.map(|t| Instant(t.saturating_mul(1_000_000)));
            if to.is_some_and(|t| self.s.now > t) {
                self.s.ops[i] = OpState::Skipped;
                let text = format!("operator action {i} skipped: window closed ({})", a.rpc);
                self.note(crate::trace::LineKind::Rpc, "operator", None, text);
                continue;
            }
            if a.after.is_some_and(|j| self.s.ops[j] != OpState::Done) {
                continue;
            }
            let from = Instant(a.from_ms.saturating_mul(1_000_000));
            let (event, actor) = (Event::Operator(i), actor(8, i as u64));
            out.push(Cand {
                event,
                at: from.max(self.s.now),
                actor,
                timer: from > self.s.now,
            });
        }
    }

    /// Every enabled event, due now or later, in canonical order.
    pub(super) fn enabled(&mut self) -> Vec<Cand> {
        let mut out = Vec::new();
        self.target_cands(&mut out);
        self.pipe_cands(&mut out);
        self.host_cands(&mut out);
        self.op_cands(&mut out);
        out
    }

    /// The events offered to the chooser this step, out of `all` enabled ones.
    ///
    /// Time may jump to the earliest future deadline; while work is due now (a message, a byte,
    /// a script step, or a timer whose deadline has passed) only a jump of at most
    /// `RACE_WINDOW` is offered. Short pollers (the 100 us CONNECT retry) race freely with
    /// messages, but a 10 s keep-alive timeout cannot overtake a Keep Alive that is merely
    /// waiting to be delivered, and a poller whose deadline has passed cannot be overtaken by
    /// a later host timer: messages, bytes and due pollers are taken to run within a
    /// millisecond, as on a live target (SPDK's reactor runs a timed poller on the thread's
    /// next iteration after its deadline). In the liveness phase, which is judged under fair
    /// scheduling, time stands still while anything is due.
    pub(super) fn candidates(&self, all: Vec<Cand>) -> Vec<Cand> {
        let now = self.s.now;
        let next = all.iter().filter(|c| c.at > now).map(|c| c.at).min();
        let (due, later): (Vec<Cand>, Vec<Cand>) = all.into_iter().partition(|c| c.at <= now);
        let busy = due.iter().any(|c| !c.timer);
        if self.s.stage != Stage::Safety && busy {
            return due.into_iter().filter(|c| !c.timer).collect();
        }
        let near = next.is_some_and(|t| t.saturating_since(now) <= RACE_WINDOW);
        let may_jump = due.is_empty() || (near && self.s.stage == Stage::Safety);
        let jump = later.into_iter().filter(|c| Some(c.at) == next && may_jump);
        due.into_iter().chain(jump).collect()
    }

    /// The actors with an event due now, in the liveness phase (fairness, fair.rs); none in
    /// the safety phase.
    pub(super) fn due_actors(&self, all: &[Cand]) -> Vec<u64> {
        if self.s.stage == Stage::Safety {
            return Vec::new();
        }
        let mut due: Vec<u64> = all
            .iter()
            .filter(|c| c.at <= self.s.now)
            .map(|c| c.actor)
            .collect();
        due.sort_unstable();
        due.dedup();
        due
    }

    /// The due events of the actors in `must` (the overdue ones), in canonical order.
    pub(super) fn only(&self, all: Vec<Cand>, must: &[u64]) -> Vec<Cand> {
        let now = self.s.now;
        all.into_iter()
            .filter(|c| c.at <= now && must.contains(&c.actor))
            .collect()
    }

    /// Whether the safety phase has nothing left but timers beyond the scenario's timer
    /// horizon: scripts and operator are done or blocked, and no message, completion or byte is
    /// pending.
    pub(super) fn safety_done(&self, all: &[Cand]) -> bool {
        let horizon = self.s.now + Duration::from_millis(self.sc.timer_horizon_ms);
        all.iter().all(|c| {
            c.timer
                && !matches!(c.event, Event::Operator(_))
                && (c.at > horizon || horizon == self.s.now)
        })
    }

    /// What keeps the world from quiescence (empty = quiet).
    pub(super) fn stuck(&mut self) -> Vec<String> {
        let mut stuck = self.s.target.quiescence_report().stuck;
        for (c, conn) in &self.s.conns {
            if !conn.to_target.is_empty() {
                stuck.push(format!(
                    "conn {} has {} bytes pending to the target",
                    c.0,
                    conn.to_target.len()
                ));
            }
            if !conn.to_host.is_empty() {
                stuck.push(format!(
                    "conn {} has {} bytes pending to host{}",
                    c.0,
                    conn.to_host.len(),
                    conn.host
                ));
            }
        }
        for e in self.s.target.enabled_events() {
            match e.input {
                Input::Run(t) => stuck.push(format!("thread {t} still has messages")),
                Input::Complete(io) => stuck.push(format!("device completion {} pending", io.0)),
                _ => {}
            }
        }
        stuck
    }
}

//! Two-phase commit with a packed state: the same model as `twopc` (same actions in the same
//! order, same transitions, same properties, so the same reachable states and transitions),
//! with the state in two machine words instead of two `Vec`s and a `BTreeSet`. Cloning a
//! state allocates nothing, hashing it is two words. `twopc::TwoPhaseSys` keeps Stateright's
//! state shape for an engine-against-engine comparison; this one shows what a model's own
//! encoding is worth (both are in the benchmark).
//!
//! Invariant kept: a packed state and its `twopc::TwoPhaseState` determine each other
//! (`unpack` is tested against `twopc` step for step), and at most 16 resource managers.

use crate::model::{Model, Property};
use crate::twopc::{Action, Message, RmState, TmState, TwoPhaseState};
use std::hash::{Hash, Hasher};

/// `rms` (at most 16) resource managers and one transaction manager.
#[derive(Debug, Clone)]
pub struct PackedTwoPhase {
    pub rms: usize,
}

/// Two bits of RM state per resource manager, and bit masks for the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packed {
    /// RM `i`'s state in bits `2i..2i+2` (Working 0, Prepared 1, Committed 2, Aborted 3).
    rm: u32,
    /// Bit `i`: the TM saw RM `i` prepared.
    tm_prepared: u16,
    /// Bit `i`: a `Prepared { rm: i }` message is out.
    sent: u16,
    /// The TM state (Init 0, Committed 1, Aborted 2).
    tm: u8,
    commit: bool,
    abort: bool,
}

impl Hash for Packed {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(
            u64::from(self.rm) | u64::from(self.tm_prepared) << 32 | u64::from(self.sent) << 48,
        );
        h.write_u64(u64::from(self.tm) | u64::from(self.commit) << 8 | u64::from(self.abort) << 9);
    }
}

const WORKING: u32 = 0;
const PREPARED: u32 = 1;
const COMMITTED: u32 = 2;
const ABORTED: u32 = 3;

impl Packed {
    fn rm_state(&self, rm: usize) -> u32 {
        self.rm >> (2 * rm) & 3
    }

    fn set_rm(&mut self, rm: usize, v: u32) {
        self.rm = self.rm & !(3 << (2 * rm)) | v << (2 * rm);
    }

    /// The same state in `twopc`'s shape.
    pub fn unpack(&self, rms: usize) -> TwoPhaseState {
        let rm = |v| {
            [
                RmState::Working,
                RmState::Prepared,
                RmState::Committed,
                RmState::Aborted,
            ][v as usize]
        };
        let mut msgs: std::collections::BTreeSet<Message> = (0..rms)
            .filter(|&i| self.sent >> i & 1 == 1)
            .map(|rm| Message::Prepared { rm })
            .collect();
        if self.commit {
            msgs.insert(Message::Commit);
        }
        if self.abort {
            msgs.insert(Message::Abort);
        }
        TwoPhaseState {
            rm_state: (0..rms).map(|i| rm(self.rm_state(i))).collect(),
            tm_state: [TmState::Init, TmState::Committed, TmState::Aborted][self.tm as usize],
            tm_prepared: (0..rms).map(|i| self.tm_prepared >> i & 1 == 1).collect(),
            msgs,
        }
    }
}

impl PackedTwoPhase {
    fn all(&self, s: &Packed, v: u32) -> bool {
        (0..self.rms).all(|i| s.rm_state(i) == v)
    }
}

impl Model for PackedTwoPhase {
    type State = Packed;
    type Action = Action;

    fn init_states(&self) -> Vec<Packed> {
        assert!(self.rms <= 16, "at most 16 resource managers");
        vec![Packed {
            rm: 0,
            tm_prepared: 0,
            sent: 0,
            tm: 0,
            commit: false,
            abort: false,
        }]
    }

    /// `twopc::TwoPhaseSys::actions`, in the same order.
    fn actions(&self, s: &Packed, out: &mut Vec<Action>) {
        let init = s.tm == 0;
        let everyone = (1u32 << self.rms) - 1;
        if init && u32::from(s.tm_prepared) == everyone {
            out.push(Action::TmCommit);
        }
        if init {
            out.push(Action::TmAbort);
        }
        for rm in 0..self.rms {
            if init && s.sent >> rm & 1 == 1 {
                out.push(Action::TmRcvPrepared(rm));
            }
            if s.rm_state(rm) == WORKING {
                out.push(Action::RmPrepare(rm));
                out.push(Action::RmChooseToAbort(rm));
            }
            if s.commit {
                out.push(Action::RmRcvCommitMsg(rm));
            }
            if s.abort {
                out.push(Action::RmRcvAbortMsg(rm));
            }
        }
    }

    fn next_state(&self, last: &Packed, action: &Action) -> Option<Packed> {
        let mut s = *last;
        match *action {
            Action::TmRcvPrepared(rm) => s.tm_prepared |= 1 << rm,
            Action::TmCommit => (s.tm, s.commit) = (1, true),
            Action::TmAbort => (s.tm, s.abort) = (2, true),
            Action::RmPrepare(rm) => {
                s.set_rm(rm, PREPARED);
                s.sent |= 1 << rm;
            }
            Action::RmChooseToAbort(rm) | Action::RmRcvAbortMsg(rm) => s.set_rm(rm, ABORTED),
            Action::RmRcvCommitMsg(rm) => s.set_rm(rm, COMMITTED),
        }
        Some(s)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::<Self>::sometimes("abort agreement", |m, s| m.all(s, ABORTED)),
            Property::<Self>::sometimes("commit agreement", |m, s| m.all(s, COMMITTED)),
            Property::<Self>::always("consistent", |m, s| {
                let has = |v| (0..m.rms).any(|i| s.rm_state(i) == v);
                !(has(ABORTED) && has(COMMITTED))
            }),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twopc::TwoPhaseSys;

    /// Every reachable packed state, walked breadth-first next to the `twopc` model: the same
    /// actions in the same order and the same successor states, unpacked.
    #[test]
    fn the_packed_model_is_twopc_step_for_step() {
        let (p, t) = (PackedTwoPhase { rms: 3 }, TwoPhaseSys { rms: 3 });
        let mut todo = vec![(p.init_states()[0], t.init_states()[0].clone())];
        let mut seen = std::collections::BTreeSet::from([format!("{:?}", todo[0].0)]);
        let (pp, tp) = (p.properties(), t.properties());
        while let Some((ps, ts)) = todo.pop() {
            assert_eq!(ps.unpack(3), ts);
            for (a, b) in pp.iter().zip(&tp) {
                assert_eq!((a.holds)(&p, &ps), (b.holds)(&t, &ts), "{}", a.name);
            }
            let (mut pa, mut ta) = (Vec::new(), Vec::new());
            p.actions(&ps, &mut pa);
            t.actions(&ts, &mut ta);
            assert_eq!(pa, ta);
            for a in pa {
                let (pn, tn) = (
                    p.next_state(&ps, &a).unwrap(),
                    t.next_state(&ts, &a).unwrap(),
                );
                if seen.insert(format!("{pn:?}")) {
                    todo.push((pn, tn));
                }
            }
        }
        assert_eq!(
            seen.len(),
            288,
            "Stateright's count for 3 resource managers"
        );
    }
}
